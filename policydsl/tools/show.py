"""`policydsl show`: a loaded policy -> the text of its effective policy after `extends`.

Takes a `Policy` (its `env.linked`: the merged definitions, their origins and the parent
chain); gives policy text, every definition printed by `syntax/printer.py` (the same text
`policydsl fmt` writes, a line per construct) under a comment saying where it comes from:
own, inherited or overridden, the file and line, and the definition it replaces. The text
opens with the policy's provenance (`provenance_lines`): its id, version, period in force and
digest, and the files along `extends` the digest is taken over, in its order (each file's
id and where it was read). `diff_parent_text` gives only what the policy changes against
the policy it extends. The command itself is cli/show.py.
"""

from __future__ import annotations

import difflib

import attrs

from policydsl.syntax import nodes as n
from policydsl.syntax import printer


def _label(definition) -> str:
    kind = type(definition).__name__.removesuffix("Def").lower()
    name = definition.field if isinstance(definition, n.RequireDef) else getattr(definition, "name", None)
    return f"{kind} {name}" if name else kind


def _same(a, b) -> bool:
    """One definition (or the dated values of one name); a requirement has no name: itself only."""
    if isinstance(a, n.RequireDef) or isinstance(b, n.RequireDef):
        return a is b
    return type(a) is type(b) and getattr(a, "name", None) == getattr(b, "name", None)


def _text_of_all(definitions, like) -> str:
    """All definitions of one kind and name (a name may have several dated values), printed
    without `override`: that word says how the change is written, it is not a change."""
    return "\n".join(printer.definition(_plain(d)) for d in definitions if _same(d, like))


def _plain(definition):
    return attrs.evolve(definition, override=False) if getattr(definition, "override", False) else definition


def _where(definition, origin) -> str:
    if origin.at is not None:
        return origin.at.location
    return n.name_span(definition).location if getattr(definition, "name", None) else definition.span.location


@attrs.frozen
class Provenance:
    status: str  # own, inherited, overridden
    where: str  # file:line:column of the text that made the definition what it is
    replaces: str | None  # where the parent's version of it is, for an override


def provenance(linked, definition) -> Provenance:
    """Where `definition` (one of `linked.policy.definitions`) comes from: the linker's origin.

    The linker places a merged definition (a table's rows, the input's fields, the output's
    names) at the text that last changed it and carries that place down the chain, so an
    override replaces the parent's effective version (Nanchang's `deductible` replaces
    Jiangxi's, which replaced the national one).
    """
    origin = linked.origins[n.key(definition)]
    replaces = origin.overrides.location if origin.overrides is not None else None
    return Provenance(origin.status, _where(definition, origin), replaces)


def provenance_lines(policy) -> list[str]:
    """Which policy this is, as comment lines: id, version and period; the digest; and each
    file along `extends`, the policy first (the digest's order, link/provenance.py), by id
    and by the name it was read under."""
    found = policy.provenance
    version = f", version {found.version}" if found.version is not None else ", no version"
    effective = policy.env.linked.policy.header.effective  # the period the provenance states
    period = f"in force {effective.describe()}" if effective is not None else "with no stated period"
    files = [(policy_id, source.name) for policy_id, (_, source) in zip(found.chain, policy.env.linked.sources)]
    width = max(len(policy_id) for policy_id, _ in files)
    lines = [f"# policy {found.id}{version}, {period}", f"# digest {found.digest}", "# chain (extends), in the digest's order:"]
    lines += [f"#   {policy_id:<{width}}  {name}" for policy_id, name in files]
    return lines


def effective_text(policy) -> str:
    linked = policy.env.linked
    lines = [
        f"# Effective policy of {policy.name}",
        *provenance_lines(policy),
        "",
        printer.header(linked.policy.header),
    ]
    for definition in linked.policy.definitions:
        found = provenance(linked, definition)
        note = f"# {found.status}: {found.where}"
        if found.replaces is not None:
            note += f" (replaces {found.replaces})"
        lines += ["", note, printer.definition(definition)]
    return "\n".join(lines) + "\n"


def diff_parent_text(policy) -> str:
    linked = policy.env.linked
    if linked.parent is None:
        return f"# {policy.name} extends no other policy\n"
    lines = [f"# {policy.name} against its parent {linked.parent.chain[0]}"]
    header = linked.policy.header
    parent_header = linked.parent.policy.header
    if printer.header(header) != printer.header(parent_header):
        lines += ["", "@@ header", *_diff(printer.header(parent_header), printer.header(header))]
    changed = 0
    shown: list = []
    parent_definitions = linked.parent.policy.definitions
    for definition in linked.policy.definitions:
        found = provenance(linked, definition)
        if found.status == "inherited" or any(_same(definition, d) for d in shown):
            continue
        shown.append(definition)
        changed += 1
        title = f"@@ {found.status} {_label(definition)}  {found.where}"
        if found.replaces is not None:
            title += f"  (was {found.replaces})"
        lines += ["", title]
        before = _text_of_all(parent_definitions, definition) if found.status == "overridden" else ""
        after = _text_of_all(linked.policy.definitions, definition)
        if not before:
            lines += [f"+ {line}" for line in after.splitlines()]
        else:
            lines += _diff(before, after)
    lines += ["", f"# {changed} definition{'s' if changed != 1 else ''} changed or added"]
    return "\n".join(lines) + "\n"


def _diff(before: str, after: str) -> list[str]:
    out = []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith(("- ", "+ ", "  ")):
            out.append(line)
    return out
