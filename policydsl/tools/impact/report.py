"""The impact report as data: `Impact` holds what `tally.py` counted, the policies' text
changes, the caps and thresholds, and the claims that changed most with their explanation
lines that differ; `to_dict()` is the JSON report. The renderers (render.py, html.py) read it.

JSON money is plain decimal text (`"157125.00"`, a difference signed `"+11205.00"`), as
decision records write money; the text, Markdown and HTML reports group thousands.
"""

from __future__ import annotations

import difflib
from decimal import Decimal

import attrs

from policydsl.tools.impact.tally import money_text, show_value
from policydsl.tools.impact.versions import describe, version_warnings


# ---- numbers --------------------------------------------------------------------------------


def signed_text(fen) -> str:
    """A difference in whole fen as JSON text: +1234.50, -5.00, 0.00."""
    return ("+" if fen > 0 else "") + money_text(fen)


def grouped(text: str) -> str:
    """Money or a count as text with thousands separators: 1234567.50 -> 1,234,567.50."""
    sign = text[0] if text[:1] in "+-" else ""
    body = text[len(sign):]
    whole, dot, cents = body.partition(".")
    if not whole.isdigit():
        return text
    return f"{sign}{int(whole):,}{dot}{cents}"


def money(fen) -> str:
    return grouped(money_text(fen))


def signed(fen) -> str:
    return grouped(signed_text(fen))


def count(number: int) -> str:
    return f"{number:,}"


def _edge_fen(value) -> int:
    """A histogram edge (an exact fraction of a fen) to the nearest fen, for display."""
    from decimal import ROUND_HALF_EVEN

    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def edge(value) -> str:
    """A histogram edge as signed money with separators (to the fen)."""
    return signed(_edge_fen(value))


# ---- the claims that changed most -------------------------------------------------------------


@attrs.frozen
class TopClaim:
    label: str
    delta: int
    changed: tuple
    before: dict  # output -> value as text
    after: dict
    explanation: tuple


class Outcome:
    """Two decisions of one claim (`explanation_diff` reads them)."""

    def __init__(self, old, new):
        self.old = old
        self.new = new


def explanation_diff(outcome, lang: str = "en") -> list[str]:
    """For each computed value that changed, its explanation lines that differ (`-` old,
    `+` new); a `using` line keeps only the values used that changed (see `changed_uses`)."""
    old_steps = {step.name: step for step in outcome.old.explanation(lang).steps}
    new_steps = {step.name: step for step in outcome.new.explanation(lang).steps}
    lines: list[str] = []
    for name in dict.fromkeys([*new_steps, *old_steps]):
        old_step, new_step = old_steps.get(name), new_steps.get(name)
        if old_step is not None and new_step is not None and old_step.value == new_step.value:
            continue
        before = _short_lines(old_step, new_step, lang)
        after = _short_lines(new_step, old_step, lang)
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag != "equal":
                lines += [f"- {line}" for line in before[a0:a1]]
                lines += [f"+ {line}" for line in after[b0:b1]]
    return lines


def changed_uses(step, other) -> tuple:
    """The values `step` used (its `Used` data) whose value differs from `other`'s (every one
    when there is no `other`), each shown as `name = value` only (no citations, no period)."""
    theirs = {u.name: u.value for u in other.uses} if other is not None else {}
    return tuple(attrs.evolve(u, citations=(), in_force=None) for u in step.uses if theirs.get(u.name) != u.value)


def _short_lines(step, other, lang: str) -> list[str]:
    from policydsl.tools.testing import step_lines

    if step is None:
        return []
    return step_lines(step, lang, changed_uses(step, other))


def top_claims(tally, old_policy, new_policy, as_of=None) -> list[TopClaim]:
    """The claims that changed most, each decided again (with the accumulators it was decided
    with) to explain it."""
    found = []
    for candidate in tally.most_changed():
        pair = candidate.pair
        claim = pair.claim
        day = as_of or claim.as_of
        lines: list[str] = []
        try:
            old = old_policy.evaluate({**claim.facts, **(pair.old.before or {})}, as_of=day)
            new = new_policy.evaluate({**claim.facts, **(pair.new.before or {})}, as_of=day)
            lines = explanation_diff(Outcome(old, new))
        except Exception:  # noqa: BLE001 - decided once already: an explanation is a bonus
            lines = []
        before = {name: _value_text(tally, pair.old, name, old_policy) for name in candidate.changed}
        after = {name: _value_text(tally, pair.new, name, new_policy) for name in candidate.changed}
        found.append(TopClaim(claim.label, candidate.delta, tuple(candidate.changed), before, after, tuple(lines)))
    return found


def _value_text(tally, side, name, policy) -> str:
    if name not in policy.output_names:
        return "(none)"
    return show_value(side.values[policy.output_names.index(name)], tally.types[name])


# ---- the report ---------------------------------------------------------------------------------


@attrs.define
class LimitRow:
    limit: object  # limits.Limit
    newly: int
    no_longer: int
    sides: str  # "both", "old" or "new"


@attrs.define
class Impact:
    old_label: str
    new_label: str
    old_policy: object
    new_policy: object
    claims_label: str
    flows: object  # flows.Flows
    tally: object  # tally.Tally
    run: object  # engine.Run
    changes: list = attrs.Factory(list)  # text_changes.Change
    limits: list = attrs.Factory(list)  # LimitRow
    top_claims: list = attrs.Factory(list)  # TopClaim
    notes: list = attrs.Factory(list)
    top: int = 5
    export: dict | None = None  # {"path", "format", "claims"}

    def warnings(self) -> list[str]:
        return version_warnings(self.old_policy, self.new_policy)

    explanation_diff = staticmethod(explanation_diff)

    def text(self) -> str:
        from policydsl.tools.impact import render

        return render.text(self)

    def markdown(self) -> str:
        from policydsl.tools.impact import render

        return render.markdown(self)

    def html(self) -> str:
        from policydsl.tools.impact import html

        return html.page(self)

    # ---- rows the renderers share
    def flow_rows(self, counts=None):
        """(flow, payer, claims changed, before, after, entered, left) per flow, in fen."""
        counts = counts or self.tally.total
        return [
            (name, self.flows.payer(name), counts.flow_changed[i], counts.before[i], counts.after[i], counts.entered[i], counts.left[i])
            for i, name in enumerate(self.tally.flow_names)
        ]

    def breakdowns(self):
        """(grouping, [(key, Counts)] sorted by key) per `--by`."""
        result = []
        for grouping, groups in zip(self.tally.groupings, self.tally.groups):
            result.append((grouping, sorted(groups.items(), key=lambda item: tuple(_sort_key(v) for v in item[0]))))
        return result

    def to_dict(self) -> dict:
        tally = self.tally
        total = tally.total
        funds_before, funds_after = tally.funds()
        patient_before, patient_after = tally.patient()
        distribution = tally.distribution()
        return {
            "old": describe(self.old_label, self.old_policy),
            "new": describe(self.new_label, self.new_policy),
            "warnings": self.warnings(),
            "notes": list(self.notes),
            "claims": {
                "source": self.claims_label,
                "count": total.claims,
                "decided": total.decided,
                "payments_changed": total.payments_changed,
                "changed": total.changed,
                "carried": None if self.run.carried_per is None else {"per": self.run.carried_per, "persons": self.run.persons},
            },
            "flows": self.flows.to_json(),
            "totals": {
                name: {"payer": payer, "claims_changed": changed, **_money_row(before, after), "entered": entered, "left": left}
                for name, payer, changed, before, after, entered, left in self.flow_rows()
            },
            "parts": {part: {"of": whole, "claims_changed": tally.changed_per_output[part], **_money_row(b, a)} for part, whole, b, a in tally.part_rows()},
            "funds": _money_row(funds_before, funds_after),
            "patient": _money_row(patient_before, patient_after),
            "changed_outputs": {name: n for name, n in tally.changed_per_output.items() if n},
            "informational": {
                name: {
                    "claims_changed": tally.changed_per_output[name],
                    "changes": [{"before": a, "after": b, "claims": n} for a, b, n in tally.common_changes(name)],
                }
                for name in tally.informational()
            },
            "limits": {
                "claims_checked": tally.limit_claims,
                "found": [{**row.limit.to_json(), "in": row.sides, "newly": row.newly, "no_longer": row.no_longer} for row in self.limits],
            },
            "breakdowns": [
                {
                    "by": grouping.names,
                    "groups": [
                        {
                            "key": dict(zip(grouping.names, key)),
                            "claims": counts.claims,
                            "decided": counts.decided,
                            "changed": counts.changed,
                            "payments_changed": counts.payments_changed,
                            "flows": {
                                name: {**_money_row(before, after), "entered": entered, "left": left}
                                for name, _, _, before, after, entered, left in self.flow_rows(counts)
                            },
                            "funds": _money_row(*tally.funds(counts)),
                        }
                        for key, counts in groups
                    ],
                }
                for grouping, groups in self.breakdowns()
            ],
            "distribution": None
            if distribution is None
            else {
                "claims": distribution["claims"],
                "method": "nearest-rank",
                **{k: signed_text(distribution[k]) for k in ("min", "q1", "median", "q3", "max")},
                "histogram": [{"from": _edge_json(a), "to": _edge_json(b), "claims": c} for a, b, c in distribution["histogram"]],
            },
            "policy_changes": [change.to_json() for change in self.changes],
            "most_changed": [
                {
                    "claim": top.label,
                    "funds_change": signed_text(top.delta),
                    "outputs": {name: {"before": top.before[name], "after": top.after[name]} for name in top.changed},
                    "explanation": list(top.explanation),
                }
                for top in self.top_claims
            ],
            "undecided_count": tally.undecided_count,
            "undecided": [
                {"claim": p.claim.label, "old": p.old if isinstance(p.old, str) else None, "new": p.new if isinstance(p.new, str) else None}
                for p in tally.undecided
            ],
            "export": self.export,
        }


def _money_row(before: int, after: int) -> dict:
    return {"before": money_text(before), "after": money_text(after), "difference": signed_text(after - before)}


def _edge_json(value) -> str:
    return signed_text(_edge_fen(value))


def _sort_key(value):
    """Groups in a natural order: numbers by value, then text."""
    try:
        return (0, Decimal(value), "")
    except Exception:  # noqa: BLE001
        return (1, Decimal(0), str(value))
