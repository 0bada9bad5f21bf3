"""What an editor asks of a policy, answered from the checker: a buffer's text in, facts out.

`Analyzer.analyze(path, text)` parses, links and checks an (unsaved) buffer, resolving
`extends` inside the file's policies folder (`link.inherit.find_root`) and reading a parent
from its open buffer when it has one, else from disk. It gives an `Analysis`: the
diagnostics, and the checked policy (`Checked`), or the last one that checked for this path
when the text has errors, so that hover, completion and symbols keep working while the
author types. The queries (`target_at`, `definition_of`, `references`, `symbols`,
`completions`, `hover`, `rename_edits`) take and give character offsets and `Span`s; the
server (lsp/server.py) turns them into LSP positions. Nothing here prints, and nothing here
knows the protocol.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import attrs

from policydsl.api import check_source, parent_loader
from policydsl.check import types as t
from policydsl.diagnostics.model import Diagnostic
from policydsl.link.inherit import find_root
from policydsl.runtime import values
from policydsl.syntax import nodes as n
from policydsl.syntax.source import SourceFile, Span

KEYWORDS = (
    "policy", "version", "region", "effective", "from", "until", "as", "of", "implements", "number", "issued", "extends",
    "enum", "record", "input", "param", "table", "tiers", "rule", "function", "output", "flows", "invariant", "require", "accumulator",
    "override", "final", "drop", "required", "default", "band", "above", "to", "per", "over", "year", "opening", "adds",
    "when", "then", "otherwise", "let", "in", "not", "and", "or", "for", "where", "true", "false", "unlimited",
    "because", "cite", "reason", "list",
)
BUILTINS = ("sum", "count", "any", "all", "min", "max", "clamp", "round", "add_days", "days_between", "months_between",
            "years_between", "age", "year_start", "half_up", "half_even", "down", "up")
TYPES = ("money", "ratio", "percent", "int", "number", "bool", "date", "months", "text")
_KINDS = {n.EnumDef: "enum", n.RecordDef: "record", n.ParamDef: "param", n.TableDef: "table", n.TiersDef: "tiers",
          n.RuleDef: "rule", n.FunctionDef: "function", n.InvariantDef: "invariant", n.AccumulatorDef: "accumulator"}


@attrs.frozen
class Analysis:
    """One buffer, analysed: its source, every diagnostic, and a checked policy (None when
    no version of the buffer has checked yet; `stale` when it is an earlier version's)."""

    source: SourceFile
    diagnostics: tuple[Diagnostic, ...]
    checked: object | None
    stale: bool = False


@attrs.frozen
class Target:
    """What is at an offset: a name read (or defined) there, what it means, its span."""

    name: str
    kind: str  # input, param, rule, table, tiers, function, enum, record, member, field, local
    span: Span
    definition: object | None  # the AST node that defines it (None: unknown)
    definition_span: Span | None


@attrs.frozen
class Symbol:
    name: str
    kind: str
    span: Span  # the whole definition
    name_span: Span
    children: tuple = ()


class Analyzer:
    """Buffers by path (what the editor has open) and the last good analysis of each."""

    def __init__(self):
        self.buffers: dict[Path, str] = {}
        self.good: dict[Path, object] = {}

    def open(self, path: Path, text: str) -> None:
        self.buffers[Path(path).resolve()] = text

    def close(self, path: Path) -> None:
        self.buffers.pop(Path(path).resolve(), None)

    def analyze(self, path: Path, text: str | None = None) -> Analysis:
        path = Path(path)
        if text is None:
            text = self.buffers.get(path.resolve())
            if text is None:
                text = path.read_text(encoding="utf-8")
        source = SourceFile(str(path), text)
        checked, diagnostics = check_source(source, parent_loader(find_root(path), self.buffers))
        key = path.resolve()
        if checked is not None and not any(d.is_error for d in diagnostics):
            self.good[key] = checked
        if checked is not None:
            return Analysis(source, tuple(diagnostics), checked)
        return Analysis(source, tuple(diagnostics), self.good.get(key), stale=key in self.good)


# ---- walking the AST ---------------------------------------------------------------------


def _expressions(definition):
    """The expressions written in a definition (values, rows, bands, bodies, defaults)."""
    match definition:
        case n.ParamDef(value=value):
            return [value] if value is not None else []
        case n.TableDef(rows=rows):
            return [row.value for row in rows if row.value is not None]
        case n.TiersDef(bands=bands):
            return [x for b in bands for x in (b.lower, b.upper, b.rate) if x is not None]
        case n.RuleDef(body=body) | n.FunctionDef(body=body):
            return [body]
        case n.InvariantDef(condition=condition) | n.RequireDef(condition=condition):
            return [condition]
        case n.AccumulatorDef(opening=opening, adds=adds):
            return [x for x in (opening, adds) if x is not None]
        case n.RecordDef(fields=fields) | n.InputDef(fields=fields):
            return [f.default for f in fields if f.default is not None]
    return []


def _own(checked, source: SourceFile) -> list:
    return [d for d in checked.policy.definitions if d.span.source.name == source.name]


def _contains(span: Span | None, offset: int) -> bool:
    return span is not None and span.start <= offset <= span.end


def _call_span(call: n.Call) -> Span:
    """The span of a call's function name (the text before its `(`)."""
    span = call.span
    return Span(span.source, span.line, span.column, span.line, span.column + len(call.func), span.start, span.start + len(call.func))


def _attr_field_span(attr: n.Attr) -> Span:
    span = attr.span
    start = span.end - len(attr.field)
    return Span(span.source, span.end_line, span.end_column - len(attr.field), span.end_line, span.end_column, start, span.end)


def _definition_span(node) -> Span | None:
    return n.name_span(node) if getattr(node, "span", None) is not None else None


def _field_node(checked, attr: n.Attr):
    """The record field an `a.b` reads (its `Field` node), or None."""
    record_type = checked.types.get(n.key(attr.obj))
    index = checked.field_index.get(n.key(attr))
    if isinstance(record_type, t.RecordType) and index is not None and record_type.name in checked.records:
        return checked.records[record_type.name].fields[index]
    return None


def _member_node(checked, value):
    for enum in checked.enums.values():
        for member in enum.members:
            if member.value == value:
                return enum, member
    return None, None


def _local_binding(definition, name: str, offset: int):
    """The `let` or function parameter named `name` that is in scope at `offset`."""
    if isinstance(definition, n.FunctionDef):
        for param in definition.params:
            if param.name == name:
                return param
    for expr in _expressions(definition):
        for e in n.walk(expr):
            if isinstance(e, n.Let) and e.name == name:
                return e
    return None


def target_at(checked, source: SourceFile, offset: int) -> Target | None:
    """The name at `offset` in the buffer (a use or a definition), and what it means."""
    for definition in _own(checked, source):
        if not _contains(definition.span, offset):
            continue
        name_span = getattr(definition, "name_span", None)
        kind = _KINDS.get(type(definition))
        if kind and _contains(name_span, offset):
            return Target(definition.name, kind, name_span, definition, name_span)
        if isinstance(definition, (n.RecordDef, n.InputDef)):
            for field in definition.fields:
                if _contains(field.name_span, offset):
                    return Target(field.name, "input" if isinstance(definition, n.InputDef) else "field", field.name_span, field, field.name_span)
        if isinstance(definition, n.EnumDef):
            for member in definition.members:
                if _contains(member.span, offset):
                    return Target(str(member.value), "member", member.span, member, member.span)
        if isinstance(definition, n.OutputDef):
            for output in definition.names:
                if _contains(output.span, offset):
                    node = checked.symbols.get(output.name)
                    node = node.node if node is not None else None
                    return Target(output.name, "rule", output.span, node, _definition_span(node) if node is not None else None)
        if isinstance(definition, n.FunctionDef):
            for param in definition.params:
                if _contains(param.span, offset):
                    return Target(param.name, "local", param.span, param, param.span)
        found = None
        for expr in _expressions(definition):
            for e in n.walk(expr):
                if isinstance(e, n.Let) and _contains(e.name_span, offset):
                    return Target(e.name, "local", e.name_span, e, e.name_span)
                if isinstance(e, n.Name) and _contains(e.span, offset):
                    found = _name_target(checked, definition, e, offset)
                elif isinstance(e, n.Attr) and _contains(_attr_field_span(e), offset):
                    found = _attr_target(checked, e)
                elif isinstance(e, n.Call) and _contains(_call_span(e), offset):
                    symbol = checked.symbols.get(e.func)
                    if symbol is not None and symbol.kind == "function":
                        found = Target(e.func, "function", _call_span(e), symbol.node, _definition_span(symbol.node))
                elif isinstance(e, n.ApplyTiers) and _contains(_call_span_named(e), offset):
                    symbol = checked.symbols.get(e.schedule)
                    if symbol is not None:
                        found = Target(e.schedule, "tiers", _call_span_named(e), symbol.node, _definition_span(symbol.node))
        if found is not None:
            return found
    return None


def _call_span_named(apply: n.ApplyTiers) -> Span:
    span = apply.span
    size = len(apply.schedule)
    return Span(span.source, span.line, span.column, span.line, span.column + size, span.start, span.start + size)


def _name_target(checked, definition, name: n.Name, offset: int) -> Target | None:
    symbol = checked.resolved.get(n.key(name))
    if symbol is None:
        return None
    if symbol.kind == "loop":
        binding = _local_binding(definition, name.id, offset)
        span = getattr(binding, "name_span", None) or getattr(binding, "span", None)
        return Target(name.id, "local", name.span, binding, span)
    if symbol.kind == "member":
        enum, member = _member_node(checked, symbol.value)
        return Target(name.id, "member", name.span, member, member.span if member is not None else None)
    node = symbol.node
    span = node.name_span if isinstance(node, n.Field) else _definition_span(node)
    return Target(name.id, symbol.kind, name.span, node, span)


def _attr_target(checked, attr: n.Attr) -> Target | None:
    symbol = checked.resolved.get(n.key(attr))
    if symbol is not None and symbol.kind == "member":  # `Enum.member`
        enum, member = _member_node(checked, symbol.value)
        return Target(attr.field, "member", _attr_field_span(attr), member, member.span if member is not None else None)
    field = _field_node(checked, attr)
    if field is None:
        return None
    return Target(attr.field, "field", _attr_field_span(attr), field, field.name_span)


# ---- queries -------------------------------------------------------------------------------


def references(checked, target: Target, include_definition: bool = True) -> list[Span]:
    """Every place in the linked policy (this file and the ones it extends) that names what
    `target` names: uses, the definition, outputs that list it."""
    found: list[Span] = []
    if include_definition and target.definition_span is not None:
        found.append(target.definition_span)
    definition = target.definition
    for policy_definition in checked.policy.definitions:
        if isinstance(policy_definition, n.OutputDef) and target.kind == "rule":
            found += [o.span for o in policy_definition.names if o.name == target.name]
        for expr in _expressions(policy_definition):
            for e in n.walk(expr):
                if isinstance(e, n.Name) and e.id == target.name:
                    symbol = checked.resolved.get(n.key(e))
                    if symbol is None:
                        continue
                    if target.kind == "local":
                        if symbol.kind == "loop" and _local_binding(policy_definition, e.id, e.span.start) is definition:
                            found.append(e.span)
                    elif symbol.kind == target.kind or (target.kind == "member" and symbol.kind == "member"):
                        found.append(e.span)
                elif isinstance(e, n.Attr) and e.field == target.name and target.kind in ("field", "member"):
                    hit = _attr_target(checked, e)
                    if hit is not None and hit.definition is definition:
                        found.append(hit.span)
                elif isinstance(e, n.Call) and e.func == target.name and target.kind == "function":
                    found.append(_call_span(e))
                elif isinstance(e, n.ApplyTiers) and e.schedule == target.name and target.kind == "tiers":
                    found.append(_call_span_named(e))
    unique = {}
    for span in found:
        unique[(span.source.name, span.start, span.end)] = span
    return sorted(unique.values(), key=lambda s: (s.source.name, s.start))


def symbols(checked, source: SourceFile) -> list[Symbol]:
    """The definitions written in this buffer, records and enums with their fields and members."""
    found = []
    for definition in _own(checked, source):
        kind = _KINDS.get(type(definition))
        if isinstance(definition, n.InputDef):
            fields = tuple(Symbol(f.name, "field", f.span, f.name_span or f.span) for f in definition.fields)
            found.append(Symbol("input", "input", definition.span, definition.span, fields))
        elif isinstance(definition, n.OutputDef):
            continue
        elif kind is not None:
            children = ()
            if isinstance(definition, n.RecordDef):
                children = tuple(Symbol(f.name, "field", f.span, f.name_span or f.span) for f in definition.fields)
            elif isinstance(definition, n.EnumDef):
                children = tuple(Symbol(str(m.value), "member", m.span, m.span) for m in definition.members)
            found.append(Symbol(definition.name, kind, definition.span, n.name_span(definition), children))
    return found


@attrs.frozen
class Completion:
    label: str
    kind: str  # keyword, function, field, member, or a definition's kind
    detail: str = ""


_DOTTED = re.compile(r"([^\W\d]\w*(?:\.[^\W\d]\w*)*)\.(\w*)\Z")


def completions(checked, text: str, offset: int) -> list[Completion]:
    """What may be written at `offset`: after `x.`, the fields of x's record (or the members
    of enum x); elsewhere names, enum members, functions, keywords and types."""
    line = text[text.rfind("\n", 0, offset) + 1 : offset]
    dotted = _DOTTED.search(line)
    if checked is not None and dotted is not None:
        return _after_dot(checked, dotted.group(1).split("."), offset)
    found: list[Completion] = []
    if checked is not None:
        for name, symbol in checked.symbols.items():
            detail = str(checked.def_types.get(name) or checked.field_types.get((None, name)) or "")
            found.append(Completion(name, symbol.kind, detail))
        for enum in checked.enums.values():
            found += [Completion(str(m.value), "member", enum.name) for m in enum.members if isinstance(m.value, str)]
        for definition in checked.policy.definitions:
            if _contains(definition.span, offset):
                found += [Completion(name, "local", "") for name in _locals_of(definition)]
    found += [Completion(word, "function") for word in BUILTINS]
    found += [Completion(word, "keyword") for word in KEYWORDS]
    found += [Completion(word, "type") for word in TYPES]
    unique = {}
    for item in found:
        unique.setdefault(item.label, item)
    return list(unique.values())


def _locals_of(definition) -> list[str]:
    names = [p.name for p in definition.params] if isinstance(definition, n.FunctionDef) else []
    for expr in _expressions(definition):
        for e in n.walk(expr):
            if isinstance(e, n.Let):
                names.append(e.name)
            elif isinstance(e, n.Aggregate):
                names.append(e.var)
    return names


def _after_dot(checked, path: list[str], offset: int) -> list[Completion]:
    first, rest = path[0], path[1:]
    if first in checked.enums and not rest:
        return [Completion(str(m.value), "member", first) for m in checked.enums[first].members]
    type_ = _type_of_name(checked, first, offset)
    for field in rest:
        if not isinstance(type_, t.RecordType):
            return []
        type_ = checked.field_types.get((type_.name, field))
    while isinstance(type_, t.ListType):
        type_ = type_.element
    if not isinstance(type_, t.RecordType) or type_.name not in checked.records:
        return []
    return [Completion(f.name, "field", str(checked.field_types.get((type_.name, f.name), ""))) for f in checked.records[type_.name].fields]


def _type_of_name(checked, name: str, offset: int):
    if (None, name) in checked.field_types:
        return checked.field_types[(None, name)]
    if name in checked.def_types:
        return checked.def_types[name]
    for definition in checked.policy.definitions:  # a loop variable, a `let` or a parameter here
        if not _contains(definition.span, offset):
            continue
        if isinstance(definition, n.FunctionDef):
            for param in definition.params:
                if param.name == name and isinstance(param.type, n.NamedType):
                    if param.type.name in checked.records:
                        return t.RecordType(param.type.name)
        for expr in _expressions(definition):
            for e in n.walk(expr):
                if isinstance(e, n.Aggregate) and e.var == name:
                    source_type = checked.types.get(n.key(e.source))
                    if isinstance(source_type, t.ListType):
                        return source_type.element
                if isinstance(e, n.Let) and e.name == name:
                    return checked.types.get(n.key(e.value))
    return None


def hover(checked, target: Target, day: datetime.date) -> str:
    """Markdown for a name: what it is and its type, the value in force on `day`, its
    reasons and citations, and the policies along `extends` that set it."""
    kind = {"input": "input field", "field": "record field", "member": "enum member", "local": "local name", "tiers": "tier schedule"}.get(target.kind, target.kind)
    lines = [f"**{kind} `{target.name}`**" + _type_text(checked, target)]
    value = _value_text(checked, target, day)
    if value is not None:
        lines.append(f"value in force on {day.isoformat()}: `{value}`")
    node = target.definition
    annotations = getattr(node, "annotations", ()) or ()
    for text in n.annotation_texts(annotations, "because"):
        lines.append(f"because: {text}")
    for text in n.annotation_texts(annotations, "cite"):
        lines.append(f"cite: {text}")
    chain = _chain_text(checked, target)
    if chain:
        lines.append(chain)
    return "\n\n".join(lines)


def _type_text(checked, target: Target) -> str:
    if target.kind in ("param", "rule", "table", "function"):
        type_ = checked.def_types.get(target.name)
    elif target.kind == "input":
        type_ = checked.field_types.get((None, target.name))
    elif target.kind == "field" and isinstance(target.definition, n.Field):
        type_ = next((checked.field_types[key] for key in checked.field_types if key[1] == target.name and _field_of(checked, key, target.definition)), None)
    elif target.kind == "local" and isinstance(target.definition, n.Let):
        type_ = checked.types.get(n.key(target.definition.value))
    else:
        type_ = None
    return f": {type_}" if type_ is not None else ""


def _field_of(checked, key, field: n.Field) -> bool:
    record, name = key
    fields = checked.input.fields if record is None and checked.input is not None else (checked.records[record].fields if record in checked.records else ())
    return any(f is field for f in fields)


def _value_text(checked, target: Target, day: datetime.date) -> str | None:
    if target.kind not in ("param", "table"):
        return None
    for segment in checked.segments:
        starts = segment.start is None or segment.start <= day
        ends = segment.end is None or day < segment.end
        if starts and ends:
            if target.name not in segment.constants:
                return None
            value = segment.constants[target.name]
            type_ = checked.def_types.get(target.name)
            if target.kind == "table":
                rows = [f"{'default' if key is None else key}: {values.to_text(v, getattr(type_, 'value', None))}" for key, v in _rows(value)]
                return ", ".join(rows)
            if isinstance(type_, t.SetType):
                return "{" + ", ".join(sorted(map(str, value))) + "}"
            return values.to_text(value, type_)
    return None


def _rows(table) -> list:
    rows = list(table.items()) if hasattr(table, "items") else []
    default = getattr(table, "default", None)
    return rows + ([(None, default)] if default is not None else [])


def _chain_text(checked, target: Target) -> str | None:
    """Which policies along `extends` set the definition: the file that defines it, and each
    one that overrode it."""
    if target.kind not in _KINDS.values():
        return None
    files = []
    linked = checked.linked
    while linked is not None:
        for definition in linked.policy.definitions:
            if getattr(definition, "name", None) == target.name and _KINDS.get(type(definition)) == target.kind:
                origin = linked.origins.get(n.key(definition))
                if origin is not None and origin.status in ("own", "overridden") and definition.span.source.name not in files:
                    files.append(definition.span.source.name)
        linked = linked.parent
    if not files:
        return None
    if len(files) == 1:
        return f"set in {files[0]}"
    return "set in " + files[0] + ", overriding " + ", ".join(files[1:])


def rename_edits(checked, source: SourceFile, target: Target, new_name: str) -> list[Span] | str:
    """The spans to replace to rename `target` in this policy, or why it cannot be."""
    if not re.fullmatch(r"[^\W\d]\w*", new_name):
        return f"`{new_name}` is not a name"
    if target.kind in ("input", "param", "rule", "table", "tiers", "function", "enum", "record") and target.definition_span is not None:
        if target.definition_span.source.name != source.name:
            return f"`{target.name}` is defined in {target.definition_span.source.name}: rename it there"
        if new_name in checked.symbols:
            return f"`{new_name}` is already defined"
    spans = [s for s in references(checked, target) if s.source.name == source.name]
    return spans


def find_definition(checked, node_span: Span):
    """The definition (of the linked policy) whose name is at `node_span`."""
    for definition in checked.policy.definitions:
        if getattr(definition, "name_span", None) is not None and definition.name_span.start == node_span.start and definition.span.source.name == node_span.source.name:
            return definition
    return None
