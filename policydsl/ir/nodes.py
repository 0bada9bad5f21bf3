"""The IR: a typed, resolved program per time segment, which every backend reads.

Made from a checked policy by `ir.build.from_checked`; read by the Python code generator
(`backends/python.py`), the reference interpreter (`backends/interpreter.py`), the facts
reader, explanations and `policydsl show --ir` (`ir/dump.py`).

Every expression node is frozen and carries:
- `id`: dense and stable for one policy text (numbered in definition order, depth first),
  the key of trace events, the generated code's line table and run-time error positions;
- `type`: its checked type (`check/types.py`);
- `scale`: for money and numbers, the most digits after the point its value can have
  (None when unknown, e.g. after a division);
- `fails`: the codes evaluating this node itself can raise (R401 division by zero, ...);
- `ast`: the AST node it was made from (its span, and what explanations print).

Operations are resolved: there is no `+` whose meaning depends on operand types. A
date plus months is `ShiftDate`, a whole-number product `WholeProduct` (checked against
±10**18), an exact decimal product `Arith('*')`, and so on.
"""

from __future__ import annotations

import datetime

import attrs

node = attrs.frozen(slots=True, cache_hash=False)


def _ast():
    return attrs.field(eq=False, repr=False, kw_only=True, default=None)


@node
class Expr:
    """Base of every IR expression (never built itself)."""

    id: int = attrs.field(kw_only=True)
    type: object = attrs.field(kw_only=True)
    scale: int | None = attrs.field(kw_only=True, default=None)
    fails: tuple[str, ...] = attrs.field(kw_only=True, default=())
    ast: object = _ast()

    @property
    def span(self):
        return getattr(self.ast, "span", None)


@node
class Const(Expr):
    """A value known before any claim: a literal, an enum member, a set of those."""

    value: object = attrs.field(kw_only=True)


@node
class Input(Expr):
    """Field `index` of the claim's input (`name` for people)."""

    index: int = attrs.field(kw_only=True)
    name: str = attrs.field(kw_only=True)


@node
class Ref(Expr):
    """A definition: `kind` param, table, tiers (constants of the segment) or rule (an
    earlier rule of the same segment); `name` is its name."""

    kind: str = attrs.field(kw_only=True)
    name: str = attrs.field(kw_only=True)


@node
class Loop(Expr):
    """The variable of the enclosing aggregate at `depth` (1 = outermost)."""

    depth: int = attrs.field(kw_only=True)
    name: str = attrs.field(kw_only=True)


@node
class Field(Expr):
    """Field `index` (named `name`) of a record value."""

    record: Expr = attrs.field(kw_only=True)
    index: int = attrs.field(kw_only=True)
    name: str = attrs.field(kw_only=True)


@node
class Lookup(Expr):
    """`table[key]`: fails R403 when the table has no such row and no default."""

    table: str = attrs.field(kw_only=True)
    key: Expr = attrs.field(kw_only=True)


@node
class Negate(Expr):
    operand: Expr = attrs.field(kw_only=True)


@node
class Not(Expr):
    operand: Expr = attrs.field(kw_only=True)


@node
class Logic(Expr):
    """`and` / `or`, short-circuit."""

    op: str = attrs.field(kw_only=True)
    left: Expr = attrs.field(kw_only=True)
    right: Expr = attrs.field(kw_only=True)


@node
class Arith(Expr):
    """Exact `+`, `-`, `*` of decimals (money, ratio, number) or of a whole number and a
    decimal; R408 if the exact result needs more digits than `numbers.PRECISION`."""

    op: str = attrs.field(kw_only=True)
    left: Expr = attrs.field(kw_only=True)
    right: Expr = attrs.field(kw_only=True)


@node
class WholeArith(Expr):
    """`+`, `-` of whole numbers (int, months): Python ints, bounded where a rule is assigned."""

    op: str = attrs.field(kw_only=True)
    left: Expr = attrs.field(kw_only=True)
    right: Expr = attrs.field(kw_only=True)


@node
class WholeProduct(Expr):
    """`*` whose result is a whole number: checked to stay within ±10**18 (R407)."""

    left: Expr = attrs.field(kw_only=True)
    right: Expr = attrs.field(kw_only=True)


@node
class NumberProduct(Expr):
    """`*` of two values typed int or number: either may hold a Python int, so a whole
    product is bounded like `WholeProduct` (R407)."""

    left: Expr = attrs.field(kw_only=True)
    right: Expr = attrs.field(kw_only=True)


@node
class Divide(Expr):
    """`a / b`, rounded half-even to `numbers.QUOTIENT_DIGITS`; R401 when `b` is zero."""

    left: Expr = attrs.field(kw_only=True)
    right: Expr = attrs.field(kw_only=True)


@node
class ShiftDate(Expr):
    """`date + months` or `date - months` (`sign` -1): calendar months clamped to the
    month's end; R402 outside the calendar."""

    date: Expr = attrs.field(kw_only=True)
    months: Expr = attrs.field(kw_only=True)
    sign: int = attrs.field(kw_only=True)


@node
class DateCall(Expr):
    """A date function (`runtime.helpers.DATE_FUNCTIONS`): add_days(d, n), days_between(a, b),
    months_between(a, b), years_between(a, b), age(birth, day), year_start(d)."""

    func: str = attrs.field(kw_only=True)
    args: tuple[Expr, ...] = attrs.field(kw_only=True)


@node
class Compare(Expr):
    """`=`, `!=`, `<`, `<=`, `>`, `>=`."""

    op: str = attrs.field(kw_only=True)
    left: Expr = attrs.field(kw_only=True)
    right: Expr = attrs.field(kw_only=True)


@node
class Member(Expr):
    """`element in container` (a set, or a table's keys); `negated` for `not in`."""

    element: Expr = attrs.field(kw_only=True)
    container: Expr = attrs.field(kw_only=True)
    negated: bool = attrs.field(kw_only=True)


@node
class SetOf(Expr):
    """A set whose items are computed per claim (a constant set is a `Const`)."""

    items: tuple[Expr, ...] = attrs.field(kw_only=True)


@node
class Round(Expr):
    """`round(x, mode)` to the fen, or `round(x, mode, STEP)` to a power of ten (`10 yuan`,
    `0.1%`, `0.001`), with `mode` one of half_up, half_even, down, up; `step` is the Decimal
    it quantizes to (0.01 for the fen)."""

    value: Expr = attrs.field(kw_only=True)
    mode: str = attrs.field(kw_only=True)
    step: object = attrs.field(kw_only=True, default=None)  # None: the fen


@node
class Clamp(Expr):
    value: Expr = attrs.field(kw_only=True)
    low: Expr = attrs.field(kw_only=True)
    high: Expr = attrs.field(kw_only=True)


@node
class MinMax(Expr):
    """`min(...)` / `max(...)` (`func`)."""

    func: str = attrs.field(kw_only=True)
    args: tuple[Expr, ...] = attrs.field(kw_only=True)


@node
class Tiers(Expr):
    """`schedule(from lower to upper)`: the marginal tiers of a schedule over a band."""

    schedule: str = attrs.field(kw_only=True)
    lower: Expr = attrs.field(kw_only=True)
    upper: Expr = attrs.field(kw_only=True)
    band: int | None = attrs.field(kw_only=True, default=None)  # `band NAME`: only that band (its index)


@node
class Aggregate(Expr):
    """`sum` / `count` / `any` / `all` over a list; the variable is `Loop(depth)`.

    `zero` is the start of a sum or count (an int 0 or a Decimal 0 of the result type).
    """

    kind: str = attrs.field(kw_only=True)
    depth: int = attrs.field(kw_only=True)
    var: str = attrs.field(kw_only=True)
    source: Expr = attrs.field(kw_only=True)
    body: Expr | None = attrs.field(kw_only=True)
    where: Expr | None = attrs.field(kw_only=True)
    zero: object = attrs.field(kw_only=True, default=None)


@node
class Branch:
    """One arm of a `Choose`: `condition` None for `otherwise`."""

    condition: Expr | None
    value: Expr
    ast: object = _ast()


@node
class Choose(Expr):
    """`when ... then ... otherwise ...`: the value of the first arm whose condition holds."""

    branches: tuple[Branch, ...] = attrs.field(kw_only=True)


@node
class Let(Expr):
    """`let name = value in body`: `value` is computed once, before `body`, which reads it
    as `Local(binding=<this node's id>)`."""

    name: str = attrs.field(kw_only=True)
    value: Expr = attrs.field(kw_only=True)
    body: Expr = attrs.field(kw_only=True)


@node
class Local(Expr):
    """The value of the enclosing `Let` whose id is `binding`."""

    name: str = attrs.field(kw_only=True)
    binding: int = attrs.field(kw_only=True)


# ---- definitions, segments, the program ---------------------------------------------------


@node
class Origin:
    """One policy along `extends` that defined (`defines`) or overrode (`overrides`) a
    definition, with the span of its text there."""

    file: str
    role: str
    span: object = attrs.field(eq=False, default=None)


@node
class Rule:
    """A rule in force in a segment: computed in `order` (dependencies first)."""

    name: str
    slot: int  # the rule's index in the segment's order, the same in every segment
    type: object
    body: Expr
    is_output: bool
    reasons: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    reason_codes: tuple[str, ...] = ()
    validity: object = None  # the dated period of this variant, if any
    # R407 where the rule is assigned: "whole" (its value is an int), "if_whole" (a number
    # that may hold an int), None (a decimal, a date, ...): sums and chains of rules stay bounded
    bound: str | None = None
    ast: object = _ast()  # the RuleDef


@node
class Invariant:
    name: str
    number: int
    condition: Expr
    ast: object = _ast()


@node
class Requirement:
    """`require field: condition`, checked on a claim's inputs before any rule: when
    `condition` is false the claim is refused at input slot `index` (`field`), F304."""

    field: str
    index: int
    number: int
    condition: Expr
    ast: object = _ast()  # the RequireDef (its reasons)


@node
class Accumulator:
    """A value carried from claim to claim of one person over a year.

    Its value before the claim is input slot `index` (the claim gives it, or a carry run
    sets it); each segment's `accruals[i]` is what a claim adds to accumulator i. The person
    is input slot `per_index` (`per`); the year starts on `year_start` (month, day) of the
    year of the claim's `as of` date (`period_of`); each year starts at `opening`.
    """

    name: str
    type: object
    index: int
    per: str
    per_index: int
    year_start: tuple[int, int]
    opening: object
    reasons: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()
    ast: object = _ast()  # the AccumulatorDef

    def period_of(self, day: datetime.date) -> tuple[datetime.date, datetime.date]:
        """The first and last day of the year that `day` falls in (cut at the calendar's
        ends: a year that would start before 0001-01-01 or end after 9999-12-31)."""
        month, first = self.year_start
        start = datetime.date(day.year, month, first)
        if day < start:
            if day.year == datetime.MINYEAR:
                return datetime.date.min, start - datetime.timedelta(days=1)
            start = datetime.date(day.year - 1, month, first)
        if start.year == datetime.MAXYEAR:
            return start, datetime.date.max
        return start, datetime.date(start.year + 1, month, first) - datetime.timedelta(days=1)


@node
class Segment:
    """Days [start, end) (None: unbounded) and what is in force on them. Not `in_force`
    when a value is missing (`missing`) or the days are `outside` the policy's period;
    then `rules` is empty."""

    index: int
    start: datetime.date | None
    end: datetime.date | None
    rules: tuple[Rule, ...]
    invariants: tuple[Invariant, ...]
    constants: dict = attrs.field(eq=False)  # param / table / tiers name -> value
    active: dict = attrs.field(eq=False)  # param / rule / tiers name -> the AST definition in force
    rows: dict = attrs.field(eq=False)  # table name -> the AST rows in force
    missing: tuple[str, ...] = ()
    outside: bool = False
    period: str = ""
    accruals: tuple[Expr, ...] = ()  # what a claim adds to each of `Program.accumulators`
    requirements: tuple[Requirement, ...] = ()  # checked on the inputs before the rules

    @property
    def in_force(self) -> bool:
        return not self.missing and not self.outside

    @property
    def expressions(self) -> tuple[Expr, ...]:
        """Every expression the segment evaluates, in order: requirements, rules, invariants,
        what a claim adds to each accumulator."""
        return (*(r.condition for r in self.requirements), *(rule.body for rule in self.rules),
                *(i.condition for i in self.invariants), *self.accruals)

    def describe(self) -> str:
        return self.period


@node
class Definition:
    """What a name is, across every segment: kind, type, where it comes from."""

    name: str
    kind: str  # input (an accumulator too: its value before the claim), param, table, tiers, rule
    type: object
    provenance: tuple[Origin, ...]
    ast: object = _ast()


@node
class Program:
    """A whole checked policy, resolved: the IR every backend reads."""

    name: str
    title: str | None
    version: str | None
    inputs: tuple[tuple[str, object], ...]  # (field name, type) in slot order
    outputs: tuple[str, ...]
    definitions: dict = attrs.field(eq=False)  # name -> Definition
    segments: tuple[Segment, ...]
    cuts: tuple  # segment i+1 starts on cuts[i]
    as_of_index: int | None
    records: dict = attrs.field(eq=False)  # record name (None: the input) -> its AST fields
    field_types: dict = attrs.field(eq=False)  # (record or None, field) -> type
    defaults: dict = attrs.field(eq=False)  # (record or None, field) -> default value
    accumulators: tuple[Accumulator, ...] = ()
    unlimited: bool = False  # an `unlimited` value somewhere (a constant, a table row, a literal)

    def record_fields(self, record: str | None) -> tuple:
        """The fields of a record (None: of the claim's input), in slot order."""
        return self.records[record]

    @property
    def rule_names(self) -> tuple[str, ...]:
        """Rules in evaluation order (the same in every segment that is in force)."""
        for segment in self.segments:
            if segment.in_force:
                return tuple(rule.name for rule in segment.rules)
        return ()


def children(expr: Expr) -> tuple:
    """The direct sub-expressions of an IR expression (the one dispatch on node shape)."""
    match expr:
        case Const() | Input() | Ref() | Loop() | Local():
            return ()
        case Field(record=record):
            return (record,)
        case Lookup(key=key):
            return (key,)
        case Negate(operand=x) | Not(operand=x):
            return (x,)
        case Logic(left=a, right=b) | Arith(left=a, right=b) | WholeArith(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case WholeProduct(left=a, right=b) | NumberProduct(left=a, right=b) | Divide(left=a, right=b):
            return (a, b)
        case ShiftDate(date=a, months=b):
            return (a, b)
        case Member(element=a, container=b):
            return (a, b)
        case SetOf(items=items) | MinMax(args=items) | DateCall(args=items):
            return items
        case Round(value=x):
            return (x,)
        case Clamp(value=a, low=b, high=c):
            return (a, b, c)
        case Tiers(lower=a, upper=b):
            return (a, b)
        case Aggregate(source=source, body=body, where=where):
            return tuple(x for x in (source, body, where) if x is not None)
        case Choose(branches=branches):
            return tuple(x for b in branches for x in (b.condition, b.value) if x is not None)
        case Let(value=value, body=body):
            return (value, body)
    raise AssertionError(expr)


def walk(expr: Expr):
    """Every node of `expr`, depth first, parents before children."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        stack.extend(reversed(children(e)))
