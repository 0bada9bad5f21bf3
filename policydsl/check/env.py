"""What the checker knows about a policy: symbols, resolved names, types, order.

Built up by the passes in `passes.py`; the finished environment is the checked policy
that the compiler reads.
"""

from __future__ import annotations

import difflib

import attrs

from policydsl.syntax import nodes as n
from policydsl.diagnostics.model import Diagnostic, Severity
from policydsl.syntax.source import SourceFile, Span


@attrs.frozen
class Symbol:
    """What a name refers to. `kind` is one of: input, param, rule, table, tiers, enum,
    record, loop (an aggregate's variable), member (an enum member)."""

    kind: str
    name: str
    node: object = attrs.field(eq=False, repr=False)
    index: int = 0
    value: object = None


@attrs.define
class CheckEnv:
    source: SourceFile
    policy: n.PolicyFile
    diagnostics: list[Diagnostic] = attrs.Factory(list)
    symbols: dict[str, Symbol] = attrs.Factory(dict)
    enums: dict[str, n.EnumDef] = attrs.Factory(dict)
    enum_of_member: dict[int | str, list[str]] = attrs.Factory(dict)
    records: dict[str, n.RecordDef] = attrs.Factory(dict)
    input: n.InputDef | None = None
    outputs: list[n.OutputName] = attrs.Factory(list)
    variants: dict[str, list] = attrs.Factory(dict)  # param/rule/tiers name -> its dated definitions
    invariants: list[n.InvariantDef] = attrs.Factory(list)
    requires: list[n.RequireDef] = attrs.Factory(list)  # checked on the facts before any rule
    accumulators: list[n.AccumulatorDef] = attrs.Factory(list)  # read like input fields after the input's own
    bounds: list = attrs.Factory(list)  # (overriding ParamDef, parent ParamDef with floor/ceiling)
    segments: list = attrs.Factory(list)  # periods.Segment, in date order
    cuts: list = attrs.Factory(list)  # the dates where segments start (segments[i+1] starts at cuts[i])
    used: set[str] = attrs.Factory(set)  # names referenced anywhere
    defaults: dict = attrs.Factory(dict)  # (record or None, field) -> default value
    linked: object = None  # inherit.Linked: provenance of each definition (set by analyze)
    # Filled by the passes:
    resolved: dict[tuple, Symbol] = attrs.Factory(dict)  # n.key(Name or Attr) -> symbol
    deps: dict[str, set[str]] = attrs.Factory(dict)  # param/rule name -> global names used
    types: dict[tuple, object] = attrs.Factory(dict)  # n.key(expr) -> type
    field_types: dict[tuple[str | None, str], object] = attrs.Factory(dict)  # (record or None, field) -> type
    field_index: dict[tuple, int] = attrs.Factory(dict)  # n.key(Attr) -> index of the record field
    def_types: dict[str, object] = attrs.Factory(dict)  # param/rule/table name -> type
    order: list[str] = attrs.Factory(list)  # params and rules, dependencies first
    in_cycle: set[str] = attrs.Factory(set)
    ill_typed: set[str] = attrs.Factory(set)  # definitions (and `record.field` defaults) with a type error

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None, notes=(), related=()) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint, notes=tuple(notes), related=tuple(related)))

    def warning(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint, severity=Severity.WARNING))

    def bound_sources(self, parent) -> tuple:
        """The params that a parent's `floor`/`ceiling` value reads in its own policy and that
        an override replaced here (`link.inherit.Linked.bound_sources`), dependencies first:
        the bound is computed from their values there, not from the overrides."""
        if self.linked is None:
            return ()
        effective = {id(definition) for definition in self.policy.definitions}
        return tuple(d for d in self.linked.bound_sources.get(n.key(parent), ()) if id(d) not in effective)

    def moved_bounds(self) -> list[tuple[n.ParamDef, tuple]]:
        """(param, params) for each `floor`/`ceiling` param inherited as it is whose value reads
        params that an override here replaced (in the parent's policy, dependencies first): its
        value may have moved past the parent's without being overridden (W241)."""
        parent = getattr(self.linked, "parent", None)
        if parent is None:
            return []
        from policydsl.link.inherit import params_read  # the linker's reading of a value's params

        inherited = {id(definition) for definition in parent.policy.definitions}
        effective = {id(definition) for definition in self.policy.definitions}
        moved = []
        for definition in self.policy.definitions:
            if isinstance(definition, n.ParamDef) and definition.bound is not None and id(definition) in inherited:
                replaced = tuple(d for d in params_read(parent.policy, definition.value) if id(d) not in effective)
                if replaced:
                    moved.append((definition, replaced))
        return moved

    @staticmethod
    def name_span(definition) -> Span:
        return n.name_span(definition)

    def suggest(self, name: str, candidates) -> str | None:
        close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
        return f"did you mean `{close[0]}`?" if close else None

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def definition(self, name: str):
        symbol = self.symbols.get(name)
        return symbol.node if symbol else None

    def bodies(self, name: str) -> list:
        """The expressions that define `name`: one per dated value (params, rules), or rows."""
        symbol = self.symbols[name]
        match symbol.kind:
            case "param":
                return [d.value for d in self.variants[name] if d.value is not None]  # `required`: no body
            case "rule":
                return [d.body for d in self.variants[name]]
            case "table":
                return [row.value for row in symbol.node.rows if row.value is not None]
            case "tiers":
                return [x for d in self.variants[name] for b in d.bands for x in (b.lower, b.upper, b.rate) if x is not None]
            case "input":
                return [symbol.node.default] if symbol.node.default is not None else []
            case _:
                return []

    def record_fields(self, record: str | None) -> tuple[n.Field, ...]:
        """A record's fields; for the input (None), its own fields, then one per accumulator
        (its value before the claim, given by the claim or carried by `batch --carry`)."""
        if record is None:
            return (self.input.fields if self.input else ()) + tuple(a.field for a in self.accumulators)
        return self.records[record].fields
