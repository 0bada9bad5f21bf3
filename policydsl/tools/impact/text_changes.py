"""What changed in the policy text, beside its effect: the definitions of the effective
policies (after `extends`) that differ between OLD and NEW, each with its old and new text
(printed by `syntax/printer.py`, without `override`, every dated value of a name together, as
`policydsl show --diff-parent` prints them: tools/show.py) and where each is written.
"""

from __future__ import annotations

import attrs

from policydsl.syntax import printer
from policydsl.tools import show


@attrs.frozen
class Change:
    status: str  # changed, added, removed
    label: str  # "param major_threshold", "header", "output"
    old_text: str | None
    old_where: str | None
    new_text: str | None
    new_where: str | None

    def lines(self) -> list[str]:
        """The text as a diff: `-` old lines, `+` new lines, `  ` lines both have."""
        return show._diff(self.old_text or "", self.new_text or "")

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "definition": self.label,
            "old": None if self.old_text is None else {"text": self.old_text, "where": self.old_where},
            "new": None if self.new_text is None else {"text": self.new_text, "where": self.new_where},
        }


def policy_changes(old_policy, new_policy, old_place=lambda where: where, new_place=lambda where: where) -> list[Change]:
    """The header and the definitions that differ, in NEW's order, then those only OLD has;
    `old_place` / `new_place` rewrite a side's file:line (a git revision's temporary folder)."""
    old_linked, new_linked = old_policy.env.linked, new_policy.env.linked
    changes: list[Change] = []
    old_header, new_header = printer.header(old_linked.policy.header), printer.header(new_linked.policy.header)
    if old_header != new_header:
        changes.append(Change("changed", "header", old_header, old_place(_header_where(old_policy)), new_header, new_place(_header_where(new_policy))))
    old_definitions, new_definitions = old_linked.policy.definitions, new_linked.policy.definitions
    seen: list = []
    for definition in new_definitions:
        if any(show._same(definition, d) for d in seen):
            continue
        seen.append(definition)
        new_text = show._text_of_all(new_definitions, definition)
        old_like = next((d for d in old_definitions if show._same(d, definition)), None)
        where = new_place(show.provenance(new_linked, definition).where)
        if old_like is None:
            changes.append(Change("added", show._label(definition), None, None, new_text, where))
            continue
        old_text = show._text_of_all(old_definitions, old_like)
        if old_text != new_text:
            changes.append(Change("changed", show._label(definition), old_text, old_place(show.provenance(old_linked, old_like).where), new_text, where))
    for definition in old_definitions:
        if any(show._same(definition, d) for d in seen):
            continue
        seen.append(definition)
        changes.append(Change("removed", show._label(definition), show._text_of_all(old_definitions, definition),
                              old_place(show.provenance(old_linked, definition).where), None, None))
    return changes


def _header_where(policy) -> str:
    spans = policy.env.linked.policy.header.clause_spans
    return spans[0][1].location if spans else policy.env.source.name
