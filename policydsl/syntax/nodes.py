"""The policy AST: small frozen attrs nodes, each carrying a span that equality ignores.

Produced by `lower.py` from the parse tree; read by the checker, compiler and explainer.
Nothing here knows about Lark.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import attrs

from policydsl.syntax.source import Span

node = attrs.frozen(cache_hash=False)


def _span():
    return attrs.field(eq=False, repr=False, kw_only=True)


def _name_span():
    """Where a definition's name is written (kept at lowering: nothing searches the text for it)."""
    return attrs.field(default=None, eq=False, repr=False, kw_only=True)


def _nid():
    """A node's id: numbered by `number_nodes` when the file is lowered, in text order,
    so the same text gives the same ids in any process (and through the AST cache)."""
    return attrs.field(default=0, eq=False, repr=False, kw_only=True)


# ---- annotations and types -------------------------------------------------


@node
class Annotation:
    """`because "..."` (kind 'because', lang 'en'), `because zh "..."` (lang 'zh'),
    `cite "..."` (kind 'cite') or `reason CODE` (kind 'reason': a stable reason code)."""

    kind: str
    text: str
    lang: str = attrs.field(default="en", kw_only=True)
    span: Span = _span()
    nid: int = _nid()


@node
class Validity:
    """`from START [until END]` / `until END`: the days (both ends included) a value is in force."""

    start: datetime.date | None
    end: datetime.date | None
    span: Span = _span()
    nid: int = _nid()

    def covers(self, day: datetime.date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def describe(self) -> str:
        if self.start and self.end:
            return f"from {self.start.isoformat()} until {self.end.isoformat()}"
        if self.start:
            return f"from {self.start.isoformat()}"
        if self.end:
            return f"until {self.end.isoformat()}"
        return "always"


def _modifiers():
    return attrs.field(default=False, kw_only=True)


def _validity():
    return attrs.field(default=None, kw_only=True)


@node
class NamedType:
    """A type by name: a builtin (money, ratio, ...), an enum or a record."""

    name: str
    span: Span = _span()
    nid: int = _nid()


@node
class ListType:
    """`list of T`."""

    element: "TypeRef"
    span: Span = _span()
    nid: int = _nid()


TypeRef = NamedType | ListType


# ---- expressions -----------------------------------------------------------


@node
class Literal:
    """A constant written in the policy. `unit` is 'int', 'number', 'money', 'months',
    'ratio', 'date', 'text' or 'bool'; `value` is the exact Python value."""

    unit: str
    value: int | Decimal | datetime.date | str | bool
    span: Span = _span()
    nid: int = _nid()


@node
class Name:
    """A reference to a definition, an input field, a loop variable or an enum member."""

    id: str
    span: Span = _span()
    nid: int = _nid()


@node
class Attr:
    """`obj.field`: a record field, or `Enum.member`."""

    obj: "Expr"
    field: str
    span: Span = _span()
    nid: int = _nid()


@node
class Index:
    """`table[key]`."""

    obj: "Expr"
    key: "Expr"
    span: Span = _span()
    nid: int = _nid()


@node
class Unary:
    """`-x` (op '-') or `not x` (op 'not')."""

    op: str
    operand: "Expr"
    span: Span = _span()
    nid: int = _nid()


@node
class Binary:
    """Arithmetic (+ - * /), comparison (= != < <= > >=) or logic (and, or)."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()
    nid: int = _nid()


@node
class Member:
    """`x in container` / `x not in container`: a set, or the keys of a table."""

    element: "Expr"
    container: "Expr"
    negated: bool
    span: Span = _span()
    nid: int = _nid()


@node
class Call:
    """A builtin function: min, max, clamp, round."""

    func: str
    args: tuple["Expr", ...]
    span: Span = _span()
    nid: int = _nid()


@node
class ApplyTiers:
    """`schedule(from lower to upper)`: a marginal tier schedule over a band of its axis."""

    schedule: str
    lower: "Expr"
    upper: "Expr"
    span: Span = _span()
    nid: int = _nid()
    band: str | None = attrs.field(default=None, kw_only=True)  # `band NAME`: that band's amount alone


@node
class Aggregate:
    """`sum(body for var in source where filter)`, `count/any/all(var in source where filter)`."""

    kind: str
    var: str
    source: "Expr"
    body: "Expr | Conditional | None"
    where: "Expr | None"
    span: Span = _span()
    nid: int = _nid()


@node
class SetLiteral:
    """`{a, b, c}`."""

    items: tuple["Expr", ...]
    span: Span = _span()
    nid: int = _nid()


@node
class Branch:
    """One arm of a conditional: `when condition then value` (condition None for `otherwise`)."""

    condition: "Expr | None"
    value: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()
    nid: int = _nid()


@node
class Conditional:
    """`when ... then ... [when ...] otherwise ...`: the first true condition's value."""

    branches: tuple[Branch, ...]
    span: Span = _span()
    nid: int = _nid()


@node
class Let:
    """`let NAME = value in body` at the head of a rule: `value` named for `body` (which may
    be a conditional or another `let`); the name is the rule's own, seen nowhere else. Its
    span is the `let NAME = value in` part, the line a comment beside it belongs to."""

    name: str
    value: "Expr"
    body: "Expr"
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)


Expr = Literal | Name | Attr | Index | Unary | Binary | Member | Call | ApplyTiers | Aggregate | SetLiteral | Conditional | Let


# ---- definitions -----------------------------------------------------------


@node
class EnumMember:
    value: int | str
    span: Span = _span()
    nid: int = _nid()


@node
class EnumDef:
    """A closed set of values, named (`ordinary`) or integer (`1`)."""

    name: str
    members: tuple[EnumMember, ...]
    annotations: tuple[Annotation, ...]
    override: bool = _modifiers()
    final: bool = _modifiers()
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()


@node
class Field:
    """A typed field of a record or of the input; required unless it has a default."""

    name: str
    type: TypeRef
    default: "Expr | None"
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()
    # what a claim's value may be: (op, bound) pairs, op one of >= > <= <, each bound a
    # literal (or a negated one) of the field's type; checked when facts are read (F302)
    limits: tuple = ()


@node
class RecordDef:
    """`record NAME { fields }`; `override record NAME { fields }` adds fields to a parent's record."""

    name: str
    fields: tuple[Field, ...]
    annotations: tuple[Annotation, ...]
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()
    override: bool = _modifiers()
    final: bool = _modifiers()


@node
class InputDef:
    """The facts a claim must carry."""

    fields: tuple[Field, ...]
    annotations: tuple[Annotation, ...]
    span: Span = _span()
    nid: int = _nid()


@node
class ParamDef:
    """A named constant, e.g. `param fixed_wait = 3 months`. `bound` is 'floor' or
    'ceiling': a policy that extends this one may override it only upwards / downwards."""

    name: str
    type: TypeRef | None
    value: "Expr | None"  # None: `required`, a value a policy that extends this one must set
    annotations: tuple[Annotation, ...]
    validity: Validity | None = _validity()
    bound: str | None = attrs.field(default=None, kw_only=True)
    override: bool = _modifiers()
    final: bool = _modifiers()
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()


@node
class FunctionParam:
    """A parameter of a function: `item: Item`."""

    name: str
    type: TypeRef
    span: Span = _span()
    nid: int = _nid()


@node
class FunctionDef:
    """`function NAME(PARAM: TYPE, ...): TYPE = body`: a formula named once and used in many
    places; a call is its body with the arguments as the parameters' values."""

    name: str
    params: tuple[FunctionParam, ...]
    type: TypeRef
    body: "Expr"
    annotations: tuple[Annotation, ...]
    override: bool = _modifiers()
    final: bool = _modifiers()
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()


@node
class TableRow:
    """`key: value`; key is an enum member name, an int, or None for `default`."""

    key: int | str | None
    value: "Expr | None"  # None: `drop KEY` in an `override table`, which removes the parent's row
    annotations: tuple[Annotation, ...]
    validity: Validity | None = _validity()
    span: Span = _span()
    nid: int = _nid()
    key_span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)  # where the key is written


@node
class TableDef:
    """A lookup table; an `override table` may omit the types and lists only changed rows."""

    name: str
    key_type: TypeRef | None
    value_type: TypeRef | None
    rows: tuple[TableRow, ...]
    annotations: tuple[Annotation, ...]
    required: bool = attrs.field(default=False, kw_only=True)  # every key needs a row, no default (a region gives them)
    override: bool = _modifiers()
    final: bool = _modifiers()
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()


@node
class TierBand:
    """`from lower to upper: rate` or `above lower: rate` (upper None)."""

    lower: "Expr"
    upper: "Expr | None"
    rate: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()
    nid: int = _nid()
    name: str | None = attrs.field(default=None, kw_only=True)  # `band NAME:`


@node
class TiersDef:
    """A marginal schedule: each band's rate applies only to the slice inside the band."""

    name: str
    bands: tuple[TierBand, ...]  # () when `required`
    annotations: tuple[Annotation, ...]
    validity: Validity | None = _validity()
    required: bool = attrs.field(default=False, kw_only=True)  # `tiers NAME required`: a policy that extends this one gives the bands
    override: bool = _modifiers()
    final: bool = _modifiers()
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()


@node
class RuleDef:
    """A derived value: `rule name[: type] = expr` or a conditional."""

    name: str
    type: TypeRef | None
    body: "Expr"
    annotations: tuple[Annotation, ...]
    validity: Validity | None = _validity()
    override: bool = _modifiers()
    final: bool = _modifiers()
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()


@node
class OutputName:
    name: str
    span: Span = _span()
    nid: int = _nid()


@node
class OutputDef:
    """`output a, b`; `drop output a` (`drop`): a policy that extends another leaves out
    outputs the parent lists."""

    names: tuple[OutputName, ...]
    span: Span = _span()
    nid: int = _nid()
    drop: bool = attrs.field(default=False, kw_only=True)


@node
class FlowName:
    """One name of `flows`: an output paid by the patient (`patient NAME`), or else by a fund."""

    name: str
    span: Span = _span()
    nid: int = _nid()
    patient: bool = attrs.field(default=False, kw_only=True)


@node
class FlowsDef:
    """`flows basic, major, patient patient_pays`: the outputs that are money paid, for impact
    reports (decisions do not read it); `drop flows a` (`drop`): a policy that extends another
    leaves out flows the parent lists."""

    names: tuple[FlowName, ...]
    span: Span = _span()
    nid: int = _nid()
    drop: bool = attrs.field(default=False, kw_only=True)


@node
class InvariantDef:
    """`invariant name: condition`: must hold for every claim, or the evaluation fails."""

    name: str
    condition: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()
    override: bool = _modifiers()  # replaces the parent's invariant of this name
    final: bool = _modifiers()  # a policy that extends this one may not override it


@node
class RequireDef:
    """`require field: condition`: what a claim's facts must satisfy together, checked before
    any rule. A claim that breaks it is a facts error (F304) at the input field `field` (its
    span is `name_span`), with the requirement's reason."""

    field: str
    condition: "Expr"
    annotations: tuple[Annotation, ...]
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()


@node
class AccumulatorDef:
    """`accumulator NAME: TYPE per FIELD [over year [from MM-DD]] opening VALUE [adds EXPR]`:
    a value carried from claim to claim of one person (named by the input field `per`)
    over a year of the policy's `as of` date, starting each year at `opening`; each claim
    adds `adds` (nothing when absent). In a rule, NAME is its value before the claim,
    which the claim's facts give like an input field: `field` is that field (its span is
    the accumulator's name)."""

    name: str
    type: TypeRef
    per: str
    year_start: tuple[int, int] | None  # (month, day) the year starts on; None: 1 January
    opening: "Expr"
    adds: "Expr | None"
    annotations: tuple[Annotation, ...]
    field: Field
    override: bool = _modifiers()
    final: bool = _modifiers()
    span: Span = _span()
    nid: int = _nid()
    name_span: Span | None = _name_span()
    per_span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)
    year_span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)  # where `from MM-DD` is written


Definition = EnumDef | RecordDef | InputDef | ParamDef | TableDef | TiersDef | RuleDef | OutputDef | FlowsDef | InvariantDef | RequireDef | AccumulatorDef | FunctionDef


@node
class Document:
    """A document a policy implements: `implements "title" number "..." issued 2025-02-01`."""

    title: str
    number: str | None
    issued: datetime.date | None
    span: Span = _span()
    nid: int = _nid()


@node
class Header:
    title: str | None = None
    version: str | None = None
    region: str | None = None
    region_name: str | None = None
    effective: Validity | None = None
    as_of: str | None = None  # the input field (a date) that picks the values in force
    documents: tuple[Document, ...] = ()
    extends: str | None = None
    extends_span: Span | None = attrs.field(default=None, eq=False, repr=False)
    as_of_span: Span | None = attrs.field(default=None, eq=False, repr=False)
    clause_spans: tuple = attrs.field(default=(), eq=False, repr=False)  # (clause, span) for each header clause written


@node
class PolicyFile:
    """A whole policy file as written."""

    header: Header
    definitions: tuple[Definition, ...]
    span: Span = _span()
    nid: int = _nid()

    @property
    def title(self) -> str | None:
        return self.header.title

    @property
    def version(self) -> str | None:
        return self.header.version


def number_nodes(policy: "PolicyFile") -> None:
    """Give every node of a freshly lowered file its `nid` (1, 2, ... in text order).

    Ids are per file; `(span.source.name, nid)` names a node across the files of an
    `extends` chain. Set in place once, right after lowering, while nothing else holds the
    nodes (they are frozen for everyone else).
    """
    counter = 0
    stack = [policy]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(reversed(item))
            continue
        if not attrs.has(type(item)) or not hasattr(item, "nid"):
            if isinstance(item, Header):
                stack.extend(reversed(item.documents))
                if item.effective is not None:
                    stack.append(item.effective)
            continue
        counter += 1
        object.__setattr__(item, "nid", counter)
        for field in reversed(attrs.fields(type(item))):
            if field.name != "nid" and not field.name.endswith("span") and field.name != "clause_spans":
                value = getattr(item, field.name)
                if isinstance(value, tuple) or attrs.has(type(value)):
                    stack.append(value)


def key(node) -> tuple:
    """A node's stable name across processes: (its file's name, its `nid`). The checker's
    tables of types and resolved names are keyed by it, never by Python `id()`. A node built
    by hand (nid 0, not lowered from text) is keyed by its identity instead."""
    nid = node.nid
    if nid:
        return (node.span.source.name, nid)
    return ("", id(node))


def annotation_texts(annotations: tuple[Annotation, ...], kind: str, lang: str = "en") -> tuple[str, ...]:
    """The texts of one kind; for reasons, in `lang`, falling back to English per reason group."""
    if kind != "because":
        return tuple(a.text for a in annotations if a.kind == kind)
    wanted = tuple(a.text for a in annotations if a.kind == "because" and a.lang == lang)
    return wanted or tuple(a.text for a in annotations if a.kind == "because" and a.lang == "en")


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
        case Let(value=value, body=body):
            return (value, body)
        case _:
            raise AssertionError(expr)


def walk(expr):
    """Every node of `expr` (nothing for None), depth first, parents before children, left
    to right."""
    stack = [expr] if expr is not None else []
    while stack:
        e = stack.pop()
        yield e
        stack.extend(reversed(children(e)))


def name_span(definition) -> Span:
    """The span of a definition's name: diagnostics about a definition point there. Kept at
    lowering; a node built by hand (no `name_span`) falls back to finding the name in its text."""
    kept = getattr(definition, "name_span", None)
    if kept is not None:
        return kept
    span = definition.span
    name = getattr(definition, "name", None)
    if not name:
        return span
    offset = _find_word(span.text, name)
    if offset < 0:
        return span
    start = span.start + offset
    before = span.source.text[:start]
    line = before.count("\n") + 1
    column = start - (before.rfind("\n") + 1) + 1
    return Span(span.source, line, column, line, column + len(name), start, start + len(name))


def _find_word(text: str, word: str) -> int:
    """Where `word` stands alone in `text` (as `(?<!\\w)word(?!\\w)` finds it), or -1.

    A plain search: compiling a regular expression per definition cost ~5 ms a process."""
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        if (at == 0 or not _word_char(text[at - 1])) and (end == len(text) or not _word_char(text[end])):
            return at
        at = text.find(word, at + 1)
    return -1


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"
