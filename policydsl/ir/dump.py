"""IR (`ir.nodes.Program`, or a loaded `Policy`) -> a readable text dump, for `policydsl show --ir`.

`render(policy_or_program)` gives: the program's header (title, version, inputs by slot,
outputs, the field that dates a claim, the cuts between segments, the accumulators: name,
type, input slot, person field and its slot, the day the year starts, the opening value,
where each is defined); every definition with its kind, type and provenance (each policy
along `extends` that defines or overrides it, with line:col); then each time segment: its
days, the constants in force, every rule in order (slot, name, type, where its definition
is) with its resolved expression tree, the invariants, and what a claim adds to each
accumulator (its accrual's tree). A tree is one node per line, indented under its parent, with a role where
the parent has several kinds of operand (`when:`, `then:`, `source:`, ...):

    #12 Divide number scale=? fails R401,R408

that is: node id, operation (with what resolves it, e.g. `Ref(param cap)`, `Arith(-)`),
type, scale (numbers only; `?` when unknown), the codes the node itself can fail with.

Stable for a policy text (no Python ids, no addresses, sets sorted), so it can be golden
tested; file names are as the policy was loaded (load with relative paths for goldens).
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from policydsl.check import types as t
from policydsl.ir import nodes as ir
from policydsl.syntax import nodes as n

_NUMERIC = (t.MONEY, t.RATIO, t.NUMBER, t.INT, t.MONTHS)
_INDENT = "  "


def render(policy_or_program) -> str:
    """The text dump of a policy's IR (a `Policy`: its `.program.ir`; or an `ir.Program`)."""
    program = policy_or_program
    if not isinstance(program, ir.Program):
        program = policy_or_program.program.ir
    lines: list[str] = []
    _header(program, lines)
    lines.append("")
    lines.append("definitions")
    accumulators = frozenset(a.name for a in program.accumulators)
    for definition in program.definitions.values():
        _definition(definition, lines, accumulators)
    for segment in program.segments:
        lines.append("")
        _segment(program, segment, lines)
    return "\n".join(lines) + "\n"


# ---- the program and its definitions ----------------------------------------------------


def _header(program: ir.Program, lines: list[str]) -> None:
    title = f" {json.dumps(program.title, ensure_ascii=False)}" if program.title else ""
    version = f" version {json.dumps(program.version, ensure_ascii=False)}" if program.version else ""
    lines.append(f"program {program.name}{title}{version}")
    lines.append("inputs")
    for slot, (name, type_) in enumerate(program.inputs):
        lines.append(f"{_INDENT}{slot} {name}: {type_}")
    lines.append(f"outputs {', '.join(program.outputs) if program.outputs else '(none)'}")
    if program.as_of_index is not None:
        lines.append(f"dated by {program.inputs[program.as_of_index][0]}")
    if program.cuts:
        lines.append(f"cuts {', '.join(day.isoformat() for day in program.cuts)}")
    if program.accumulators:
        lines.append("accumulators")
        for number, accumulator in enumerate(program.accumulators):
            month, day = accumulator.year_start
            lines.append(
                f"{_INDENT}{number} {accumulator.name}: {accumulator.type}, slot {accumulator.index}, "
                f"per {accumulator.per} (slot {accumulator.per_index}), year from {month:02d}-{day:02d}, "
                f"opening {_value(accumulator.opening)} at {_at(accumulator.ast)}"
            )


def _definition(definition: ir.Definition, lines: list[str], accumulators: frozenset = frozenset()) -> None:
    shown = _type_of_definition(definition)
    lines.append(f"{_INDENT}{definition.kind} {definition.name}{': ' + shown if shown else ''}")
    if definition.name in accumulators and definition.kind == "input":
        lines.append(f"{_INDENT * 2}the value before the claim of accumulator {definition.name}")
    for origin in definition.provenance:
        lines.append(f"{_INDENT * 2}{origin.role} {origin.file} {_line_col(origin.span)}")


def _type_of_definition(definition: ir.Definition) -> str:
    if definition.type is None:
        return ""
    shown = str(definition.type)
    return shown.removeprefix(f"{definition.kind} ")  # `table deductible: HospitalLevel -> money`


def _line_col(span) -> str:
    return f"{span.line}:{span.column}" if span is not None else "?:?"


def _at(ast) -> str:
    """`file line:col` of a definition's name."""
    try:
        span = n.name_span(ast)
    except Exception:  # noqa: BLE001 - a hand-built AST without spans
        span = getattr(ast, "span", None)
    return _place(span)


def _place(span) -> str:
    return f"{span.source.name} {_line_col(span)}" if span is not None else "?"


# ---- segments -----------------------------------------------------------------------


def _segment(program: ir.Program, segment: ir.Segment, lines: list[str]) -> None:
    lines.append(f"segment {segment.index}: {segment.period or segment.describe()}")
    if segment.outside:
        lines.append(f"{_INDENT}not in force: outside the policy's period")
        return
    if segment.missing:
        lines.append(f"{_INDENT}not in force: no value of {', '.join(segment.missing)}")
        return
    if segment.constants:
        lines.append(f"{_INDENT}constants")
        for name, value in segment.constants.items():
            kind = program.definitions[name].kind if name in program.definitions else "constant"
            lines.append(f"{_INDENT * 2}{kind} {name} = {_constant(value, kind)}")
    for requirement in segment.requirements:
        lines.append(f"{_INDENT}require {requirement.number} {requirement.field} (input {requirement.index}) at {_at(requirement.ast)}")
        _tree(requirement.condition, 2, "", lines)
    for rule in segment.rules:
        flags = " output" if rule.is_output else ""
        validity = f" {rule.validity.describe()}" if rule.validity is not None else ""
        lines.append(f"{_INDENT}rule {rule.slot} {rule.name}: {rule.type}{flags}{validity} at {_at(rule.ast)}")
        _tree(rule.body, 2, "", lines)
    for invariant in segment.invariants:
        lines.append(f"{_INDENT}invariant {invariant.number} {invariant.name} at {_at(invariant.ast)}")
        _tree(invariant.condition, 2, "", lines)
    for number, (accumulator, accrual) in enumerate(zip(program.accumulators, segment.accruals)):
        adds = getattr(accumulator.ast, "adds", None)
        where = f"adds at {_place(adds.span)}" if adds is not None else "nothing added"
        lines.append(f"{_INDENT}accrual {number} {accumulator.name}: {accumulator.type} {where}")
        _tree(accrual, 2, "", lines)


def _constant(value, kind: str) -> str:
    if kind == "table":
        rows = [f"{_member(key)}: {_value(row)}" for key, row in value.items()]
        if getattr(value, "default", None) is not None:
            rows.append(f"default: {_value(value.default)}")
        return "{" + ", ".join(rows) + "}"
    if kind == "tiers":
        return "[" + ", ".join(f"from {_value(low)} {'to ' + _value(high) if high is not None else 'up'}: {_value(rate)}" for low, high, rate in value) + "]"
    return _value(value)


def _value(value) -> str:
    """A value as stable text: Decimals with their digits, sets sorted, texts quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (frozenset, set)):
        return "{" + ", ".join(sorted(_member(item) for item in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_value(item) for item in value) + ")"
    if value is None:
        return "none"
    return type(value).__name__


def _member(value) -> str:
    """An enum member (a name, unquoted), a table key, or a set of those."""
    if isinstance(value, str):
        return value
    return _value(value)


# ---- expression trees -----------------------------------------------------------------


def _tree(expr: ir.Expr, depth: int, role: str, lines: list[str]) -> None:
    lines.append(f"{_INDENT * depth}{role}{_node(expr)}")
    for child_role, child in _parts(expr):
        _tree(child, depth + 1, child_role, lines)


def _node(expr: ir.Expr) -> str:
    """`#id Operation(details) type scale=N fails CODES`."""
    details = _details(expr)
    text = f"#{expr.id} {type(expr).__name__}{f'({details})' if details else ''} {expr.type}"
    if expr.type in _NUMERIC:
        text += f" scale={'?' if expr.scale is None else expr.scale}"
    if expr.fails:
        text += f" fails {','.join(expr.fails)}"
    return text


def _details(expr: ir.Expr) -> str:  # noqa: C901 - one dispatch over node kinds
    match expr:
        case ir.Const(value=value):
            return _member(value) if isinstance(expr.type, (t.EnumType, t.SetType)) else _value(value)
        case ir.Input(name=name, index=index):
            return f"{name}, slot {index}"
        case ir.Ref(kind=kind, name=name):
            return f"{kind} {name}"
        case ir.Loop(name=name, depth=depth):
            return f"{name}, depth {depth}"
        case ir.Let(name=name):
            return name
        case ir.Local(name=name, binding=binding):
            return f"{name}, of #{binding}"
        case ir.Field(name=name, index=index):
            return f".{name}, field {index}"
        case ir.Lookup(table=table):
            return table
        case ir.Logic(op=op) | ir.Arith(op=op) | ir.WholeArith(op=op) | ir.Compare(op=op):
            return op
        case ir.ShiftDate(sign=sign):
            return "-" if sign < 0 else "+"
        case ir.Member(negated=negated):
            return "not in" if negated else "in"
        case ir.DateCall(func=func):
            return func
        case ir.Round(mode=mode, step=step):
            return mode if step is None else f"{mode} to {step}"
        case ir.MinMax(func=func):
            return func
        case ir.Tiers(schedule=schedule):
            return schedule
        case ir.Aggregate(kind=kind, var=var, depth=depth, zero=zero):
            start = f", from {_value(zero)}" if zero is not None else ""
            return f"{kind} {var}, depth {depth}{start}"
    return ""


def _parts(expr: ir.Expr) -> list[tuple[str, ir.Expr]]:
    """The operands of a node with their roles ("" where the operation says it all)."""
    match expr:
        case ir.Lookup(key=key):
            return [("key: ", key)]
        case ir.ShiftDate(date=date, months=months):
            return [("date: ", date), ("months: ", months)]
        case ir.Member(element=element, container=container):
            return [("element: ", element), ("in: ", container)]
        case ir.Clamp(value=value, low=low, high=high):
            return [("value: ", value), ("low: ", low), ("high: ", high)]
        case ir.Tiers(lower=lower, upper=upper):
            return [("from: ", lower), ("to: ", upper)]
        case ir.Aggregate(source=source, body=body, where=where):
            parts = [("source: ", source)]
            if body is not None:
                parts.append(("each: ", body))
            if where is not None:
                parts.append(("where: ", where))
            return parts
        case ir.Let(value=value, body=body):
            return [("value: ", value), ("in: ", body)]
        case ir.Choose(branches=branches):
            parts = []
            for branch in branches:
                if branch.condition is None:
                    parts.append(("otherwise: ", branch.value))
                else:
                    parts += [("when: ", branch.condition), ("then: ", branch.value)]
            return parts
    return [("", child) for child in ir.children(expr)]


__all__ = ["render"]
