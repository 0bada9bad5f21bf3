"""What the checker knows about a policy: symbols, resolved names, types, order.

Built up by the passes in `passes.py`; the finished environment is the checked policy
that the compiler reads.
"""

from __future__ import annotations

import difflib
import re

import attrs

from .. import nodes as n
from ..diagnostics import Diagnostic, Severity
from ..source import SourceFile, Span


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
    # Filled by the passes:
    resolved: dict[int, Symbol] = attrs.Factory(dict)  # id(Name or Attr) -> symbol
    deps: dict[str, set[str]] = attrs.Factory(dict)  # param/rule name -> global names used
    types: dict[int, object] = attrs.Factory(dict)  # id(expr) -> type
    field_types: dict[tuple[str | None, str], object] = attrs.Factory(dict)  # (record or None, field) -> type
    field_index: dict[int, int] = attrs.Factory(dict)  # id(Attr) -> index of the record field
    def_types: dict[str, object] = attrs.Factory(dict)  # param/rule/table name -> type
    order: list[str] = attrs.Factory(list)  # params and rules, dependencies first
    in_cycle: set[str] = attrs.Factory(set)

    def error(self, code: str, message: str, span: Span | None, hint: str | None = None, notes=()) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint, notes=tuple(notes)))

    def warning(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint, severity=Severity.WARNING))

    def name_span(self, definition) -> Span:
        """The span of a definition's name (diagnostics about a definition point there)."""
        span = definition.span
        text = span.text
        match = re.search(rf"(?<!\w){re.escape(definition.name)}(?!\w)", text)
        if match is None:
            return span
        start = span.start + match.start()
        before = span.source.text[:start]
        line = before.count("\n") + 1
        column = start - (before.rfind("\n") + 1) + 1
        return Span(span.source, line, column, line, column + len(definition.name), start, start + len(definition.name))

    def suggest(self, name: str, candidates) -> str | None:
        close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
        return f"did you mean `{close[0]}`?" if close else None

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def definition(self, name: str):
        symbol = self.symbols.get(name)
        return symbol.node if symbol else None

    def record_fields(self, record: str | None) -> tuple[n.Field, ...]:
        if record is None:
            return self.input.fields if self.input else ()
        return self.records[record].fields
