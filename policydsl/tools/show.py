"""`policydsl show`: the effective policy after `extends`, each definition with its origin.

`--diff-parent` shows only what the policy changes against the policy it extends.
"""

from __future__ import annotations

import difflib
import sys

import attrs

from policydsl.syntax import nodes as n
from policydsl.syntax import printer
from policydsl.diagnostics.model import PolicyError


def _label(definition) -> str:
    kind = type(definition).__name__.removesuffix("Def").lower()
    name = getattr(definition, "name", None)
    return f"{kind} {name}" if name else kind


def _same(a, b) -> bool:
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


def effective_text(policy) -> str:
    linked = policy.env.linked
    lines = [
        f"# Effective policy of {policy.name}",
        f"# chain: {' -> '.join(linked.chain)}",
        "",
        printer.header(linked.policy.header),
    ]
    for definition in linked.policy.definitions:
        origin = linked.origins[id(definition)]
        note = f"# {origin.status}: {_where(definition, origin)}"
        if origin.overrides is not None:
            note += f" (replaces {origin.overrides.location})"
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
        origin = linked.origins[id(definition)]
        if origin.status == "inherited" or any(_same(definition, d) for d in shown):
            continue
        shown.append(definition)
        changed += 1
        title = f"@@ {origin.status} {_label(definition)}  {_where(definition, origin)}"
        if origin.overrides is not None:
            title += f"  (was {origin.overrides.location})"
        lines += ["", title]
        before = _text_of_all(parent_definitions, definition) if origin.status == "overridden" else ""
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


def cmd_show(args) -> int:
    from policydsl.api import load

    try:
        policy = load(args.policy)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return 1
    sys.stdout.write(diff_parent_text(policy) if args.diff_parent else effective_text(policy))
    return 0


def register(commands) -> None:
    show = commands.add_parser(
        "show",
        help="print the effective policy, with where each definition comes from",
        description="Print the policy in force after `extends`: every definition, marked own, inherited "
        "or overridden, with the file and line it comes from. --diff-parent prints only what this policy "
        "changes against the policy it extends.",
    )
    show.add_argument("policy", metavar="POLICY", help="the policy file")
    show.add_argument("--diff-parent", action="store_true", help="show only what differs from the parent policy")
    show.set_defaults(run=cmd_show)
