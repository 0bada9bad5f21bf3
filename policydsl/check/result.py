"""The checker's answer: a frozen `Checked` policy, made from the passes' scratch `CheckEnv`.

`check.check` runs the passes over a `CheckEnv` and returns this. Everything after the
checker (the IR builder, explanations, tools) reads a `Checked`: its tables cannot change
under them, and every per-node table is keyed by `nodes.key` (file name, node id), never by
Python `id()`, so the keys mean the same in another process or after the AST cache.
"""

from __future__ import annotations

from types import MappingProxyType

import attrs

from policydsl.syntax import nodes as n


def _frozen(mapping) -> MappingProxyType:
    return MappingProxyType(dict(mapping))


@attrs.frozen(eq=False)
class Checked:
    """A checked policy: symbols, types and resolved names, dated segments, diagnostics."""

    source: object  # syntax.source.SourceFile
    policy: n.PolicyFile  # the effective (linked) policy
    linked: object  # link.inherit.Linked: provenance of each definition
    diagnostics: tuple
    symbols: MappingProxyType  # name -> env.Symbol
    enums: MappingProxyType  # name -> EnumDef
    records: MappingProxyType  # name -> RecordDef
    input: n.InputDef | None
    outputs: tuple  # OutputName nodes
    variants: MappingProxyType  # param / rule / tiers name -> its dated definitions
    invariants: tuple
    requires: tuple  # RequireDef nodes, in policy order
    accumulators: tuple  # AccumulatorDef nodes, in input-slot order
    segments: tuple  # periods.Segment, in date order
    cuts: tuple  # segments[i+1] starts on cuts[i]
    defaults: MappingProxyType  # (record or None, field) -> default value
    resolved: MappingProxyType  # nodes.key(Name or Attr) -> Symbol
    types: MappingProxyType  # nodes.key(expr) -> type
    field_types: MappingProxyType  # (record or None, field) -> type
    field_index: MappingProxyType  # nodes.key(Attr) -> index of the record field
    def_types: MappingProxyType  # param / rule / table / tiers name -> type
    order: tuple  # params and rules, dependencies first
    deps: MappingProxyType  # definition name -> the global names it uses
    used: frozenset  # names referenced anywhere

    @classmethod
    def from_env(cls, env, linked) -> "Checked":
        return cls(
            source=env.source,
            policy=env.policy,
            linked=linked,
            diagnostics=tuple(dict.fromkeys(env.diagnostics)),  # a finding two passes reach is reported once
            symbols=_frozen(env.symbols),
            enums=_frozen(env.enums),
            records=_frozen(env.records),
            input=env.input,
            outputs=tuple(env.outputs),
            variants=_frozen({name: tuple(v) for name, v in env.variants.items()}),
            invariants=tuple(env.invariants),
            requires=tuple(env.requires),
            accumulators=tuple(env.accumulators),
            segments=tuple(env.segments),
            cuts=tuple(env.cuts),
            defaults=_frozen(env.defaults),
            resolved=_frozen(env.resolved),
            types=_frozen(env.types),
            field_types=_frozen(env.field_types),
            field_index=_frozen(env.field_index),
            def_types=_frozen(env.def_types),
            order=tuple(env.order),
            deps=_frozen({name: frozenset(d) for name, d in env.deps.items()}),
            used=frozenset(env.used),
        )

    def record_fields(self, record: str | None) -> tuple[n.Field, ...]:
        """As `CheckEnv.record_fields`: the input's fields, then one per accumulator."""
        if record is None:
            return (self.input.fields if self.input else ()) + tuple(a.field for a in self.accumulators)
        return self.records[record].fields
