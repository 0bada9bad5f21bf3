"""Stage 2b: policy files -> one effective policy (resolving `extends`).

A policy may `extends "national/baseline-2025"`: the name is looked up as
`<policies root>/national/baseline-2025.policy` and nowhere else (no absolute paths,
no `..`, no links out of the root). The child's definitions are merged over the
parent's: `override` replaces a parameter, rule or tier schedule (all of its dated
values) or individual table rows; anything else the child defines is added. Every
definition remembers where it came from, for `policydsl show` and for diagnostics.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Callable

import attrs

from policydsl.syntax import nodes as n
from policydsl.diagnostics.model import Diagnostic, Related, Severity, with_article
from policydsl.syntax.source import SourceFile, Span

POLICY_NAME = re.compile(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*\Z")
MAX_CHAIN = 16


@attrs.frozen
class Origin:
    """Where an effective definition comes from: its file, and own / inherited / overridden."""

    status: str
    file: str
    overrides: Span | None = None  # the parent's definition this one replaced
    at: Span | None = None  # where the overriding text is, when the definition is a merge (tables)


@attrs.define
class Linked:
    """The effective policy and its provenance."""

    policy: n.PolicyFile
    origins: dict[tuple, Origin]  # nodes.key(definition) -> origin
    chain: list[str]  # file names, child first
    parent: "Linked | None" = None
    bounds: list = attrs.Factory(list)  # (overriding ParamDef, parent ParamDef with floor/ceiling)
    # n.key(a bounded parent ParamDef) -> the params it is computed from in its own policy,
    # dependencies first: its floor or ceiling is that policy's value, whatever overrides them later
    bound_sources: dict = attrs.Factory(dict)
    # (extends name, source) of each file along the chain, child first; the child's name is
    # None (the caller knows its id): what the policy's digest is made of (provenance.py)
    sources: list = attrs.Factory(list)


Loader = Callable[[str, Span | None], "tuple[SourceFile, n.PolicyFile] | Diagnostic"]


def policy_path(root: Path, name: str) -> Path | None:
    """The file for policy `name` inside `root`, or None if the name could escape it."""
    if not POLICY_NAME.match(name) or ".." in name.split("/"):
        return None
    root = root.resolve()
    path = (root / f"{name}.policy").resolve()
    try:
        path.relative_to(root)
    except ValueError:
        return None
    return path


def find_root(path: Path) -> Path:
    """The policies root for a file: the nearest enclosing folder named `policies`, else its folder."""
    for folder in path.resolve().parents:
        if folder.name == "policies":
            return folder
    return path.resolve().parent


def _definition_name(definition) -> str | None:
    return getattr(definition, "name", None)


def link(policy: n.PolicyFile, source: SourceFile, load_parent: Loader | None, _seen: tuple[str, ...] = ()) -> tuple[Linked, list[Diagnostic]]:
    """Resolve the `extends` chain of `policy` and merge it into one effective policy."""
    own = {n.key(d): Origin("own", source.name) for d in policy.definitions}
    header = policy.header
    if header.extends is None:
        orphans = [
            Diagnostic("C244", f"`override {_kind(d)} {d.name}`: this policy extends no other policy", _name_span(d), hint="add `extends \"parent\"` to the header, or drop `override`")
            for d in policy.definitions
            if getattr(d, "override", False)
        ]
        return Linked(policy, own, [source.name], sources=[(None, source)]), orphans
    span = header.extends_span
    if load_parent is None:
        return Linked(policy, own, [source.name], sources=[(None, source)]), [
            Diagnostic("C240", f"cannot resolve `extends \"{header.extends}\"` here", span, hint="load the policy from a file inside a policies folder")
        ]
    if header.extends in _seen or len(_seen) >= MAX_CHAIN:
        chain = " -> ".join((*_seen, header.extends))
        return Linked(policy, own, [source.name], sources=[(None, source)]), [Diagnostic("C241", f"`extends` goes round in a circle: {chain}", span)]
    loaded = load_parent(header.extends, span)
    if isinstance(loaded, Diagnostic):
        return Linked(policy, own, [source.name], sources=[(None, source)]), [loaded]
    parent_source, parent_file = loaded
    parent, diagnostics = link(parent_file, parent_source, load_parent, (*_seen, header.extends))
    merged, origins, bounds, merge_diagnostics = _merge(parent, policy, source)
    sources = [(None, source), (header.extends, parent_source), *parent.sources[1:]]
    bound_sources = dict(parent.bound_sources)
    for _child, bounded in bounds:
        if n.key(bounded) not in bound_sources:  # replaced here: computed from the parent's params
            bound_sources[n.key(bounded)] = params_read(parent.policy, bounded.value)
    linked = Linked(merged, origins, [source.name, *parent.chain], parent, bounds, sources=sources, bound_sources=bound_sources)
    return linked, diagnostics + merge_diagnostics


def params_read(policy: n.PolicyFile, value) -> tuple[n.ParamDef, ...]:
    """The params of `policy` that the expression `value` reads, directly or through one
    another, dependencies first (each dated value of a name)."""
    if value is None:
        return ()
    params: dict[str, list] = {}
    for definition in policy.definitions:
        if isinstance(definition, n.ParamDef):
            params.setdefault(definition.name, []).append(definition)
    found: list[n.ParamDef] = []
    seen: set[str] = set()
    stack = [(value, False)]  # (expression, its params' values are read), depth first
    pending: list[list] = []
    while stack:
        expr, done = stack.pop()
        if done:
            found.extend(pending.pop())
            continue
        names = [e.id for e in n.walk(expr) if isinstance(e, n.Name) and e.id in params and e.id not in seen]
        for name in dict.fromkeys(names):
            seen.add(name)
            stack.append((None, True))
            pending.append(params[name])
            stack.extend((d.value, False) for d in params[name] if d.value is not None)
    return tuple(found)


def _merge(parent: Linked, child: n.PolicyFile, source: SourceFile):
    diagnostics: list[Diagnostic] = []
    definitions = list(parent.policy.definitions)
    origins: dict[int, Origin] = {}
    bounds: list[tuple[n.ParamDef, n.ParamDef]] = list(parent.bounds)
    for definition in definitions:
        previous = parent.origins[n.key(definition)]
        origins[n.key(definition)] = Origin("inherited", previous.file, previous.overrides, previous.at)

    def by_name(name: str) -> list[int]:
        return [i for i, d in enumerate(definitions) if _definition_name(d) == name and not isinstance(d, (n.InputDef, n.OutputDef))]

    def add(definition) -> None:
        definitions.append(definition)
        origins[n.key(definition)] = Origin("own", source.name)

    replaced: set[str] = set()
    for definition in child.definitions:
        match definition:
            case n.InputDef(fields=fields):
                index = next((i for i, d in enumerate(definitions) if isinstance(d, n.InputDef)), None)
                if index is None:
                    add(definition)
                    continue
                inherited = definitions[index]
                names = {f.name for f in inherited.fields}
                for field in fields:
                    if field.name in names:
                        diagnostics.append(Diagnostic("C242", f"input field `{field.name}` is already declared by the parent policy", field.span, related=(Related("the parent declares it here", next(f for f in inherited.fields if f.name == field.name).span),)))
                merged = attrs.evolve(inherited, fields=inherited.fields + tuple(f for f in fields if f.name not in names))
                definitions[index] = merged
                origins[n.key(merged)] = (
                    Origin("overridden", source.name, origins[n.key(inherited)].at or inherited.span, definition.span)
                    if fields
                    else origins[n.key(inherited)]  # an empty `input {}`: still the parent's input
                )
            case n.OutputDef() | n.FlowsDef():
                if not _merge_names(definition, definitions, origins, source, diagnostics):
                    add(definition)
            case n.ParamDef() | n.TableDef() | n.TiersDef() | n.RuleDef() | n.FunctionDef() | n.EnumDef() | n.AccumulatorDef() | n.InvariantDef() | n.RecordDef() if definition.override:
                _override(definition, definitions, origins, by_name, replaced, source, diagnostics, bounds)
            case _:
                name = _definition_name(definition)
                existing = by_name(name) if name else []
                if existing and name not in replaced:
                    first = definitions[existing[0]]
                    kind = _kind(first)
                    can_override = isinstance(first, (n.ParamDef, n.TableDef, n.TiersDef, n.RuleDef, n.FunctionDef, n.EnumDef, n.AccumulatorDef, n.InvariantDef, n.RecordDef))
                    diagnostics.append(
                        Diagnostic(
                            "C243",
                            f"`{name}` is already defined by the parent policy",
                            _name_span(definition),
                            hint=f"write `override {kind} {name} ...` to change it" if can_override else "choose another name",
                            related=(Related("the parent's definition", _name_span(first)),),
                        )
                    )
                    continue
                add(definition)
    header = child.header
    diagnostics += _check_period_within(header, parent.policy.header, parent.chain[0])
    if header.effective is None and parent.policy.header.effective is not None:
        header = attrs.evolve(header, effective=parent.policy.header.effective)  # bounded by the parent's period
    if header.as_of is None and parent.policy.header.as_of is not None:
        header = attrs.evolve(header, as_of=parent.policy.header.as_of, as_of_span=parent.policy.header.as_of_span)
    return n.PolicyFile(header, tuple(definitions), span=child.span), origins, bounds, diagnostics


def _check_period_within(header: n.Header, parent: n.Header, parent_file: str) -> list[Diagnostic]:
    """W233: a policy in force on days its parent is not. Allowed (a 2026 version may extend the
    2025 one), but the parent's rules are then applied on days they were not written for."""
    mine, theirs = header.effective, parent.effective
    if mine is None or theirs is None:
        return []
    early = theirs.start is not None and (mine.start is None or mine.start < theirs.start)
    late = theirs.end is not None and (mine.end is None or mine.end > theirs.end)
    if not (early or late):
        return []
    return [
        Diagnostic(
            "W233",
            f"this policy is in force {mine.describe()}, outside its parent's period ({theirs.describe()} in {parent_file})",
            mine.span,
            hint="the parent's rules will be applied on those days too; check that they hold then",
            severity=Severity.WARNING,
        )
    ]



# `output a, b` / `drop output a` and `flows a, patient b` / `drop flows a` in a child policy:
# the words for the C244 message of each kind.
_NAME_LISTS = {n.OutputDef: ("output", "output"), n.FlowsDef: ("flows", "flow")}


def _merge_names(definition, definitions, origins, source, diagnostics) -> bool:
    """Merge a child's name list (outputs or flows) into the parent's list of the same kind.

    `drop` removes the names it lists (C244 for a name the parent does not list); otherwise the
    names are added, and a name listed again takes the child's entry (for flows, the payer the
    child gives). Gives False when the parent has no such list and a non-drop definition must be
    added as it is.
    """
    kind = type(definition)
    keyword, noun = _NAME_LISTS[kind]
    index = next((i for i, d in enumerate(definitions) if isinstance(d, kind) and not d.drop), None)
    inherited = definitions[index] if index is not None else None
    if definition.drop:
        present = {entry.name for entry in inherited.names} if inherited is not None else set()
        for entry in definition.names:
            if entry.name not in present:
                diagnostics.append(Diagnostic("C244", f"`drop {keyword} {entry.name}`: the parent policy has no {noun} `{entry.name}`", entry.span,
                                              hint=f"`drop {keyword}` leaves out {with_article(noun)} the parent lists"))
        if inherited is None:
            return True
        dropped = {entry.name for entry in definition.names}
        names = tuple(entry for entry in inherited.names if entry.name not in dropped)
    else:
        if inherited is None:
            return False
        given = {entry.name: entry for entry in definition.names}
        kept = tuple(given.pop(entry.name, entry) for entry in inherited.names)
        names = kept + tuple(entry for entry in definition.names if entry.name in given)
    merged = attrs.evolve(inherited, names=names)
    definitions[index] = merged
    origins[n.key(merged)] = Origin("overridden", source.name, origins[n.key(inherited)].at or inherited.span, definition.span)
    return True

def _override(definition, definitions, origins, by_name, replaced, source, diagnostics, bounds) -> None:
    name = definition.name
    kind = _kind(definition)
    indexes = by_name(name)
    if name in replaced:  # a further dated value of an override already applied
        definitions.append(definition)
        origins[n.key(definition)] = Origin("overridden", source.name)
        for parent_def, bounded in [(p, b) for p, b in bounds if p.name == name]:
            bounds.append((definition, bounded))
        return
    if not indexes:
        candidates = [_definition_name(d) for d in definitions if isinstance(d, type(definition))]
        close = difflib.get_close_matches(name, [c for c in candidates if c], n=1)
        diagnostics.append(
            Diagnostic(
                "C244",
                f"`override {kind} {name}`: the parent policy defines no {kind} `{name}`",
                _name_span(definition),
                hint=f"did you mean `{close[0]}`?" if close else "drop `override` to add a new definition",
            )
        )
        return
    first = definitions[indexes[0]]
    if not isinstance(first, type(definition)):
        diagnostics.append(Diagnostic("C244", f"`{name}` is a {_kind(first)} in the parent policy, not a {kind}", _name_span(definition), related=(Related("the parent's definition", _name_span(first)),)))
        return
    final = next((definitions[i] for i in indexes if getattr(definitions[i], "final", False)), None)
    if final is not None:
        diagnostics.append(
            Diagnostic(
                "C245",
                f"`{name}` is final in {origins[n.key(final)].file} and cannot be overridden",
                _name_span(definition),
                related=(Related("declared final here", _name_span(final)),),
                hint="a `final` value may not be changed by a policy that extends it",
            )
        )
        return
    if isinstance(definition, n.TableDef):
        table = first
        changed = {row.key for row in definition.rows}
        inherited_keys = {row.key for row in table.rows}
        for row in definition.rows:
            if row.value is None and row.key not in inherited_keys:
                shown = "default" if row.key is None else row.key
                diagnostics.append(Diagnostic("C244", f"`drop {shown}`: table `{name}` has no such row in the parent policy", row.span))
        rows = tuple(r for r in table.rows if r.key not in changed) + tuple(r for r in definition.rows if r.value is not None)
        merged = attrs.evolve(table, rows=rows, annotations=table.annotations + definition.annotations, override=False)
        definitions[indexes[0]] = merged
        origins[n.key(merged)] = Origin("overridden", source.name, origins[n.key(first)].at or _name_span(first), _name_span(definition))
        replaced.add(name)
        return
    if isinstance(definition, n.RecordDef):
        record = first
        known = {field.name: field for field in record.fields}
        for field in definition.fields:
            if field.name in known:
                diagnostics.append(Diagnostic("C242", f"field `{field.name}` is already declared by the parent's record `{name}`", field.span,
                                              related=(Related("the parent declares it here", known[field.name].span),)))
        merged = attrs.evolve(record, fields=record.fields + tuple(f for f in definition.fields if f.name not in known), override=False)
        definitions[indexes[0]] = merged
        origins[n.key(merged)] = Origin("overridden", source.name, origins[n.key(first)].at or _name_span(first), _name_span(definition))
        replaced.add(name)
        return
    position = indexes[0]
    replaced_values = [definitions[index] for index in indexes]  # every dated value of the name
    for index in reversed(indexes):
        del definitions[index]
    definitions.insert(position, definition)
    origins[n.key(definition)] = Origin("overridden", source.name, _name_span(first))
    replaced.add(name)
    if isinstance(definition, n.ParamDef):
        # `floor` / `ceiling` are compared once the values are known (the checker's constants pass).
        # A bound set higher up still holds when a middle policy overrode the value in between.
        # Each dated value with a bound binds the override on its own days (checker, per segment).
        inherited = [bounded for child, bounded in bounds if child.name == name]
        own = [value for value in replaced_values if isinstance(value, n.ParamDef) and value.bound is not None]
        for bounded in own + inherited:
            bounds.append((definition, bounded))


def _kind(definition) -> str:
    return type(definition).__name__.removesuffix("Def").lower().replace("params", "param")


def _name_span(definition) -> Span:
    return n.name_span(definition)
