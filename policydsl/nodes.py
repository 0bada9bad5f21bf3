"""The policy AST: small frozen attrs nodes, each carrying a span that equality ignores.

Produced by `lower.py` from the parse tree; read by the checker, compiler and explainer.
Nothing here knows about Lark.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import attrs

from .source import Span

node = attrs.frozen(cache_hash=False)


def _span():
    return attrs.field(eq=False, repr=False, kw_only=True)


# ---- annotations and types -------------------------------------------------


@node
class Annotation:
    """`because "..."` (kind 'because') or `cite "..."` (kind 'cite')."""

    kind: str
    text: str
    span: Span = _span()


@node
class NamedType:
    """A type by name: a builtin (money, ratio, ...), an enum or a record."""

    name: str
    span: Span = _span()


@node
class ListType:
    """`list of T`."""

    element: "TypeRef"
    span: Span = _span()


TypeRef = NamedType | ListType


# ---- expressions -----------------------------------------------------------


@node
class Literal:
    """A constant written in the policy. `unit` is 'int', 'number', 'money', 'months',
    'ratio', 'date', 'text' or 'bool'; `value` is the exact Python value."""

    unit: str
    value: int | Decimal | datetime.date | str | bool
    span: Span = _span()


@node
class Name:
    """A reference to a definition, an input field, a loop variable or an enum member."""

    id: str
    span: Span = _span()


@node
class Attr:
    """`obj.field`: a record field, or `Enum.member`."""

    obj: "Expr"
    field: str
    span: Span = _span()


@node
class Index:
    """`table[key]`."""

    obj: "Expr"
    key: "Expr"
    span: Span = _span()


@node
class Unary:
    """`-x` (op '-') or `not x` (op 'not')."""

    op: str
    operand: "Expr"
    span: Span = _span()


@node
class Binary:
    """Arithmetic (+ - * /), comparison (= != < <= > >=) or logic (and, or)."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@node
class Member:
    """`x in container` / `x not in container`: a set, or the keys of a table."""

    element: "Expr"
    container: "Expr"
    negated: bool
    span: Span = _span()


@node
class Call:
    """A builtin function: min, max, clamp, round."""

    func: str
    args: tuple["Expr", ...]
    span: Span = _span()


@node
class ApplyTiers:
    """`schedule(from lower to upper)`: a marginal tier schedule over a band of its axis."""

    schedule: str
    lower: "Expr"
    upper: "Expr"
    span: Span = _span()


@node
class Aggregate:
    """`sum(body for var in source where filter)`, `count/any/all(var in source where filter)`."""

    kind: str
    var: str
    source: "Expr"
    body: "Expr | Conditional | None"
    where: "Expr | None"
    span: Span = _span()


@node
class SetLiteral:
    """`{a, b, c}`."""

    items: tuple["Expr", ...]
    span: Span = _span()


@node
class Branch:
    """One arm of a conditional: `when condition then value` (condition None for `otherwise`)."""

    condition: "Expr | None"
    value: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class Conditional:
    """`when ... then ... [when ...] otherwise ...`: the first true condition's value."""

    branches: tuple[Branch, ...]
    span: Span = _span()


Expr = Literal | Name | Attr | Index | Unary | Binary | Member | Call | ApplyTiers | Aggregate | SetLiteral | Conditional


# ---- definitions -----------------------------------------------------------


@node
class EnumMember:
    value: int | str
    span: Span = _span()


@node
class EnumDef:
    """A closed set of values, named (`ordinary`) or integer (`1`)."""

    name: str
    members: tuple[EnumMember, ...]
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class Field:
    """A typed field of a record or of the input; required unless it has a default."""

    name: str
    type: TypeRef
    default: "Expr | None"
    span: Span = _span()


@node
class RecordDef:
    name: str
    fields: tuple[Field, ...]
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class InputDef:
    """The facts a claim must carry."""

    fields: tuple[Field, ...]
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class ParamDef:
    """A named constant, e.g. `param fixed_wait = 3 months`."""

    name: str
    type: TypeRef | None
    value: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class TableRow:
    """`key: value`; key is an enum member name, an int, or None for `default`."""

    key: int | str | None
    value: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class TableDef:
    name: str
    key_type: TypeRef
    value_type: TypeRef
    rows: tuple[TableRow, ...]
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class TierBand:
    """`from lower to upper: rate` or `above lower: rate` (upper None)."""

    lower: "Expr"
    upper: "Expr | None"
    rate: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class TiersDef:
    """A marginal schedule: each band's rate applies only to the slice inside the band."""

    name: str
    bands: tuple[TierBand, ...]
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class RuleDef:
    """A derived value: `rule name[: type] = expr` or a conditional."""

    name: str
    type: TypeRef | None
    body: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()


@node
class OutputName:
    name: str
    span: Span = _span()


@node
class OutputDef:
    names: tuple[OutputName, ...]
    span: Span = _span()


Definition = EnumDef | RecordDef | InputDef | ParamDef | TableDef | TiersDef | RuleDef | OutputDef


@node
class PolicyFile:
    """A whole policy file as written."""

    title: str | None
    version: str | None
    definitions: tuple[Definition, ...]
    span: Span = _span()


def annotation_texts(annotations: tuple[Annotation, ...], kind: str) -> tuple[str, ...]:
    return tuple(a.text for a in annotations if a.kind == kind)


def children(expr) -> tuple:
    """The direct sub-expressions of an expression (the one dispatch on node shape)."""
    match expr:
        case Literal() | Name():
            return ()
        case Attr(obj=obj):
            return (obj,)
        case Index(obj=obj, key=key):
            return (obj, key)
        case Unary(operand=operand):
            return (operand,)
        case Binary(left=left, right=right):
            return (left, right)
        case Member(element=element, container=container):
            return (element, container)
        case Call(args=args):
            return args
        case ApplyTiers(lower=lower, upper=upper):
            return (lower, upper)
        case Aggregate(source=source, body=body, where=where):
            return tuple(x for x in (source, body, where) if x is not None)
        case SetLiteral(items=items):
            return items
        case Conditional(branches=branches):
            return tuple(x for b in branches for x in (b.condition, b.value) if x is not None)
        case _:
            raise AssertionError(expr)
