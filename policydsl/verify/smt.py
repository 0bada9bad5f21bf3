"""IR (`ir.nodes`) -> z3: a segment of a checked policy as SMT terms over a symbolic claim.

Takes an `ir.Program`, one segment of it and a `SymbolicClaim` (z3 variables for every
input field, constrained to what the facts reader admits: `claim_domain`); gives an
`Encoding`: every rule's value, each invariant's condition, the outputs and what the claim
adds to each accumulator, as terms over the claim's variables, and the conditions under
which the engine would refuse the claim instead of deciding it (R402 a date off the
calendar, R403 a missing table row, R404 an output in fractions of a fen, R407 a whole
number beyond 10**18, R408 `unlimited - unlimited` or `unlimited * 0`). Not modelled, so a
proof covers those claims too (a superset: still sound) and a model that meets one is not
confirmed by the engine: R408 for an exact result past 200 digits (the reader's bounds keep
values far below) and R409 (nested aggregates over lists far longer than `--items`).

The encoding follows the reference interpreter (`backends/interpreter.py`) node by node,
and is exact for every node it encodes; division (`a / b`, rounded by the engine to 50
significant digits) is not encoded: a policy that divides gets "unknown", never "proved":

- money, ratios and numbers are exact decimals n / 10**scale with n a z3 Int (`values.Dec`):
  a money input is a whole number of fen, a ratio input a whole number of 1E-40 (what the
  reader admits: at most 40 decimals), so every model is already a valid claim, and the
  whole problem is linear integer arithmetic;
- `round(x, mode[, step])` is integer division (floor) of x's units by the step's, per
  mode and sign, as Decimal's quantize rounds: half_up and up away from zero, down towards
  zero, half_even to the even neighbour (a value already a multiple of the step is kept);
- tier schedules are the sum over their bands of max(0, min(upper, high) - max(lower, low))
  * rate, as `runtime.apply_tiers` computes them;
- tables are If-chains over their key (the default, or R403, last); enums are member indexes;
- dates are day ordinals; calendar months and years go through (year, month, day), which a
  date's ordinal determines exactly by the Gregorian calendar's linear constraints (leap
  years by divisibility), over the whole calendar 0001-01-01..9999-12-31;
- lists have a symbolic length of at most `SymbolicClaim.items` elements (a bounded check);
  aggregates are sums, counts and disjunctions over the slots that exist;
- `when` chains, `and`/`or` and `any`/`all` are Ifs, with the path condition under which
  each node is evaluated, so a failure counts only where the engine would reach it.

Policy text never reaches Python as code here: every operator, aggregate kind and
rounding mode passes through the fixed dispatch below.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction

import attrs
import z3

from policydsl.check import types as t
from policydsl.check.typing import limit_pairs
from policydsl.ir import nodes as ir
from policydsl.runtime import numbers
from policydsl.verify.values import (
    Day, Dec, Definitions, ListVal, Member, NotEncodable, SetVal, as_dec, b_and, b_not, b_or, d_add, d_eq, d_lt, d_max, d_min,
    d_mul, d_neg, d_sub, dec_const, is_false, is_int_term, is_true, ite, mul, to_bool,
)

MAX_ORDINAL = datetime.date.max.toordinal()
INT_LIMIT = numbers.INT_LIMIT
MONEY_FEN_LIMIT = numbers.MONEY_LIMIT * 100  # money read from facts is below 10**15 yuan
RATIO_UNIT = 10**numbers.FRACTION_DIGITS  # a ratio or number read from facts has at most 40 decimals
NUMBER_LIMIT = 10**numbers.MAGNITUDE_DIGITS
_CUMULATIVE = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


# ---- the calendar ----------------------------------------------------------------------------


def _leap(y, defs):
    return z3.And(defs.mod(y, 4) == 0, z3.Or(defs.mod(y, 100) != 0, defs.mod(y, 400) == 0))


def month_length(y, m, defs):
    return z3.If(m == 2, z3.If(_leap(y, defs), 29, 28), z3.If(z3.Or(m == 4, m == 6, m == 9, m == 11), 30, 31))


def ordinal_of(y, m, d, defs):
    """The ordinal of (year, month, day), as `date(y, m, d).toordinal()`, for year >= 1."""
    y1 = y - 1
    before_month = z3.IntVal(_CUMULATIVE[-1])
    for month in range(11, 0, -1):
        before_month = z3.If(m == month, _CUMULATIVE[month - 1], before_month)
    return 365 * y1 + defs.div(y1, 4) - defs.div(y1, 100) + defs.div(y1, 400) + before_month + z3.If(z3.And(m > 2, _leap(y, defs)), 1, 0) + d


def _python_int(x):
    """The Python int of a numeral Int term, else None."""
    s = z3.simplify(x) if isinstance(x, z3.ExprRef) else x
    if isinstance(s, int):
        return s
    return s.as_long() if isinstance(s, z3.IntNumRef) else None


# ---- the claim -------------------------------------------------------------------------------


@attrs.define
class Leaf:
    """A scalar input: its path in the claim, its type, its z3 variable (a date's ordinal,
    computed from `parts`, its year, month and day variables) and its value."""

    path: tuple
    type: object
    var: object
    value: object
    parts: tuple | None = None

    @property
    def variables(self) -> tuple:
        return self.parts if self.parts is not None else (self.var,)


@attrs.define
class RecordShape:
    name: str | None
    fields: tuple  # (field name, shape)


@attrs.define
class ListShape:
    path: tuple
    length: object
    items: tuple


def path_text(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class SymbolicClaim:
    """z3 variables for every field of a claim the facts reader admits, with lists of at most
    `items` elements; `inputs` is the tuple of input values in slot order (as
    `Policy.read_facts` gives them), `constraints` what the reader admits (`claim_domain`):
    money >= 0 in whole fen below 10**15 yuan, ratios 0..100% with at most 40 decimals, ints
    within ±10**18 (months >= 0), dates of the calendar, enum members, the declared limits
    (`in LOW..HIGH`, `>=`, ...), or the field's default where it has one.

    Variables are named by path (`items[0].amount`), with `prefix`: two claims of the same
    policies with the same prefix share them (`--refines`)."""

    def __init__(self, program: ir.Program, items: int, prefix: str = ""):
        self.program = program
        self.items = items
        self.prefix = prefix
        self.constraints = Definitions()  # the claim's domain, and the date arithmetic it defines
        self.leaves: list[Leaf] = []
        self.lengths: list = []  # each list's length variable
        self.limits: dict = {}  # path -> the field's declared limits, (op, bound) pairs
        self.numbers = False  # a `number` input: admitted as a superset (any 40 decimals below 10**20)
        fields = {field.name: field for field in program.record_fields(None)}
        shapes = []
        for name, type_ in program.inputs:
            shapes.append((name, self._shape(type_, (name,), fields.get(name), program.defaults.get((None, name), _NONE))))
        self.shape = RecordShape(None, tuple(shapes))
        self.inputs = value_of(self.shape)

    def _shape(self, type_, path, field, default):
        if isinstance(type_, t.RecordType):
            fields = self.program.record_fields(type_.name)
            return RecordShape(
                type_.name,
                tuple(
                    (f.name, self._shape(self.program.field_types[(type_.name, f.name)], (*path, f.name), f, self.program.defaults.get((type_.name, f.name), _NONE)))
                    for f in fields
                ),
            )
        if isinstance(type_, t.ListType):
            length = z3.Int(f"{self.prefix}{path_text(path)}#length")
            self.constraints += [length >= 0, length <= self.items]
            self.lengths.append(length)
            items = tuple(self._shape(type_.element, (*path, i), None, _NONE) for i in range(self.items))
            return ListShape(path, length, items)
        return self._leaf(type_, path, field, default)

    def _leaf(self, type_, path, field, default) -> Leaf:
        name = self.prefix + path_text(path)
        domain: list = []
        parts = None
        if type_ == t.MONEY:
            var = z3.Int(f"{name}#fen")
            value = Dec(var, 0, 2)
            domain = [var >= 0, var < MONEY_FEN_LIMIT]
        elif type_ == t.RATIO:
            var = z3.Int(f"{name}#e-40")
            value = Dec(var, 0, numbers.FRACTION_DIGITS)
            domain = [var >= 0, var <= RATIO_UNIT]
        elif type_ == t.NUMBER:
            var = z3.Int(f"{name}#e-40")
            value = Dec(var, 0, numbers.FRACTION_DIGITS)
            domain = [var > -NUMBER_LIMIT * RATIO_UNIT, var < NUMBER_LIMIT * RATIO_UNIT]
            self.numbers = True
        elif type_ == t.INT:
            var = value = z3.Int(name)
            domain = [var > -INT_LIMIT, var < INT_LIMIT]
        elif type_ == t.MONTHS:
            var = value = z3.Int(name)
            domain = [var >= 0, var < INT_LIMIT]
        elif type_ == t.BOOL:
            var = value = z3.Bool(name)
        elif type_ == t.DATE:
            y, m, d = z3.Int(f"{name}#year"), z3.Int(f"{name}#month"), z3.Int(f"{name}#day")
            var = ordinal_of(y, m, d, self.constraints)
            value = Day(var, (y, m, d))
            parts = (y, m, d)
            domain = [y >= 1, y <= 9999, m >= 1, m <= 12, d >= 1, d <= month_length(y, m, self.constraints)]
        elif type_ == t.TEXT:
            var = value = z3.String(name)
        elif isinstance(type_, t.EnumType):
            var = z3.Int(f"{name}#member")
            value = Member(var, type_)
            domain = [var >= 0, var < len(type_.members)]
        else:
            raise NotEncodable(f"an input of type {type_}")
        if field is not None and field.limits:
            self.limits[path] = limit_pairs(field)
            for op, bound in self.limits[path]:
                domain.append(compare(op, value, const(bound, type_)))
        admitted = b_and(*domain)
        if default is not _NONE:
            _check_default(type_, default, path)
            admitted = b_or(admitted, equal(value, const(default, type_)))
        if not is_true(admitted):
            self.constraints.append(admitted)
        leaf = Leaf(path, type_, var, value, parts)
        self.leaves.append(leaf)
        return leaf

    def pin(self, inputs: tuple) -> list:
        """Constraints that fix the claim to `inputs` (a claim as `Policy.read_facts` reads it)."""
        found: list = []
        _pin(self.shape, inputs, found)
        return found


    def assignment(self, inputs: tuple) -> list:
        """(variable, value) pairs that fix the claim to `inputs`, for `z3.substitute`: a
        concrete claim's values of any term, without asking the solver. A list longer than
        the encoding's is cut to its first elements; slots past a list's length get zeros
        (nothing reads them)."""
        found: list = []
        _assign(self.shape, inputs, found)
        return found


_NONE = object()


def _assign(shape, value, found: list):
    if isinstance(shape, RecordShape):
        for (_, sub), part in zip(shape.fields, value if value is not None else [None] * len(shape.fields)):
            _assign(sub, part, found)
        return
    if isinstance(shape, ListShape):
        value = tuple(value or ())[: len(shape.items)]  # a longer list: its first elements (still a claim)
        found.append((shape.length, z3.IntVal(len(value))))
        for index, sub in enumerate(shape.items):
            _assign(sub, value[index] if index < len(value) else None, found)
        return
    leaf, type_ = shape, shape.type
    if type_ == t.DATE:
        day = value if value is not None else datetime.date(2000, 1, 1)
        found += [(v, z3.IntVal(x)) for v, x in zip(leaf.parts, (day.year, day.month, day.day))]
    elif type_ == t.MONEY:
        found.append((leaf.var, z3.IntVal(int(Fraction(value or 0) * 100))))
    elif type_ in (t.RATIO, t.NUMBER):
        found.append((leaf.var, z3.IntVal(int(Fraction(value or 0) * RATIO_UNIT))))
    elif type_ in (t.INT, t.MONTHS):
        found.append((leaf.var, z3.IntVal(value or 0)))
    elif type_ == t.BOOL:
        found.append((leaf.var, z3.BoolVal(bool(value))))
    elif type_ == t.TEXT:
        found.append((leaf.var, z3.StringVal(value or "")))
    elif isinstance(type_, t.EnumType):
        found.append((leaf.var, z3.IntVal(type_.members.index(value) if value is not None else 0)))


def _check_default(type_, default, path):
    """A default the variable cannot hold would be a claim the encoding misses."""
    if type_ == t.MONEY and (Fraction(default) * 100).denominator != 1:
        raise NotEncodable(f"the default of `{path_text(path)}` is not a whole number of fen")
    if type_ in (t.RATIO, t.NUMBER) and (Fraction(default) * RATIO_UNIT).denominator != 1:
        raise NotEncodable(f"the default of `{path_text(path)}` has more than 40 decimals")


def value_of(shape):
    if isinstance(shape, Leaf):
        return shape.value
    if isinstance(shape, RecordShape):
        return tuple(value_of(s) for _, s in shape.fields)
    return ListVal(shape.length, [value_of(s) for s in shape.items])


def _pin(shape, value, found: list):
    if isinstance(shape, RecordShape):
        for (_, sub), part in zip(shape.fields, value):
            _pin(sub, part, found)
        return
    if isinstance(shape, ListShape):
        if len(value) > len(shape.items):
            raise ValueError(f"{path_text(shape.path)} has {len(value)} elements; the encoding has {len(shape.items)}")
        found.append(shape.length == len(value))
        for sub, part in zip(shape.items, value):
            _pin(sub, part, found)
        return
    leaf = shape
    found.append(equal(leaf.value, const(value, leaf.type)))


# ---- constants and comparisons -------------------------------------------------------------


def const(value, type_):
    """A value known before any claim (a literal, a parameter, a table row), by its type."""
    if isinstance(type_, t.EnumType):
        if value not in type_.members:
            raise NotEncodable(f"`{value}` is not a member of {type_.name}")
        return Member(z3.IntVal(type_.members.index(value)), type_)
    if isinstance(type_, t.SetType):
        return SetVal([const(v, type_.element) for v in sorted(value, key=repr)])
    if type_ in (t.MONEY, t.RATIO, t.NUMBER):
        return dec_const(value)
    if type_ in (t.INT, t.MONTHS):
        if isinstance(value, int) and not isinstance(value, bool):
            return z3.IntVal(value)
        return dec_const(value)  # a decimal where a whole number is typed: kept exact
    if type_ == t.BOOL:
        return z3.BoolVal(bool(value))
    if type_ == t.DATE:
        return Day(z3.IntVal(value.toordinal()), (z3.IntVal(value.year), z3.IntVal(value.month), z3.IntVal(value.day)))
    if type_ == t.TEXT:
        return z3.StringVal(value)
    raise NotEncodable(f"a constant of type {type_}")


def equal(a, b):
    if isinstance(a, Dec) or isinstance(b, Dec):
        return d_eq(as_dec(a), as_dec(b))
    if isinstance(a, Day):
        if a.ymd is not None and b.ymd is not None:
            return z3.And(*[x == y for x, y in zip(a.ymd, b.ymd)])
        return a.o == b.o
    if isinstance(a, Member):
        if not isinstance(b, Member):
            raise NotEncodable("an enum member compared with another kind of value")
        if a.enum == b.enum:
            return a.i == b.i
        pairs = [(i, b.enum.members.index(m)) for i, m in enumerate(a.enum.members) if m in b.enum.members]
        return b_or(*[b_and(a.i == i, b.i == j) for i, j in pairs])
    if isinstance(a, (tuple, ListVal, SetVal)):
        raise NotEncodable("a comparison of records, lists or sets")
    return a == b


def compare(op: str, a, b):
    if op == "=":
        return equal(a, b)
    if op == "!=":
        return b_not(equal(a, b))
    if isinstance(a, Dec) or isinstance(b, Dec):
        a, b = as_dec(a), as_dec(b)
        less = {"<": lambda: d_lt(a, b), ">": lambda: d_lt(b, a), "<=": lambda: b_not(d_lt(b, a)), ">=": lambda: b_not(d_lt(a, b))}
        return less[op]()
    if isinstance(a, Day):
        a, b = a.o, b.o
    elif isinstance(a, (Member, tuple, ListVal, SetVal, z3.SeqRef)) or isinstance(a, z3.BoolRef):
        raise NotEncodable(f"`{op}` on values that have no order")
    return {"<": lambda: a < b, ">": lambda: a > b, "<=": lambda: a <= b, ">=": lambda: a >= b}[op]()


# ---- the encoding of one segment ----------------------------------------------------------------


@attrs.frozen
class Ctx:
    """Where a node is evaluated: the path condition under which the engine reaches it, the
    enclosing aggregates' elements (outermost first) and the `let`s in scope."""

    path: object
    loops: tuple = ()
    locals: dict = attrs.field(factory=dict)

    def under(self, condition) -> "Ctx":
        return attrs.evolve(self, path=b_and(self.path, condition))


@attrs.define
class Failure:
    condition: object
    code: str
    node: int | None


class Encoding:
    """One segment of a program over one symbolic claim.

    After construction: `rules` (name -> value), `invariants` (conditions, in order), the
    failures of rules (`rule_failures`) and of each invariant's evaluation
    (`invariant_failures[k]`), `outputs` (name -> value), `accruals`, `definitions` (the
    calendar's defining constraints, to assert with the claim's domain), `inexact` (why the
    encoding is not exact, if it is not) and `nonlinear` (a product of two variable terms).
    """

    def __init__(self, program: ir.Program, segment: ir.Segment, claim: SymbolicClaim, tag: str = ""):
        self.program = program
        self.segment = segment
        self.claim = claim
        self.tag = tag  # keeps the auxiliary variables of two encodings apart
        self.constants = segment.constants
        # the claim's Definitions: two encodings of one claim (refines, monotone) share their
        # auxiliary variables, so the same date arithmetic is the same term in both
        self.definitions = claim.constraints
        self.inexact: list[str] = []
        self.nonlinear: list = []
        self.used_inputs: set[int] = set()
        self._failures: list[Failure] = []
        self.rules: dict = {}
        self.parts: dict = {}  # (rule, path) -> the value of a sum or difference inside a rule (`_spine`)
        self._watch: dict = {}
        top = Ctx(z3.BoolVal(True))
        # the claim's requirements (`require`): a claim that breaks one is refused (F304) before
        # any rule, so what the engine decides keeps them all
        self.requirements = [to_bool(self.expr(requirement.condition, top)) for requirement in segment.requirements]
        for rule in segment.rules:
            self._watch = {id(node): (rule.name, path) for node, path in _spine(rule.body)}
            value = self.expr(rule.body, top)
            self._bound_whole(rule.bound, value, top, rule.body.id)
            self.rules[rule.name] = value
        self.rule_failures = list(self._failures)
        self.invariants: list = []
        self.invariant_failures: list[list[Failure]] = []
        reached = z3.BoolVal(True)
        for invariant in segment.invariants:
            self._failures = []
            condition = to_bool(self.expr(invariant.condition, Ctx(reached)))
            self.invariants.append(condition)
            self.invariant_failures.append(list(self._failures))
            reached = b_and(reached, condition)
        self._failures = []
        self.outputs = {name: self._output(name) for name in program.outputs}
        self.accruals = [self.expr(accrual, top) for accrual in segment.accruals]
        # after the invariants, as the engine does: what the claim adds (its evaluation), then
        # the outputs and those additions written to the fen
        self.finish_failures = list(self._failures) + self._finish_failures()

    # -- what the engine refuses ----------------------------------------------------------------

    def fail(self, ctx: Ctx, condition, code: str, node: int | None = None) -> None:
        if is_false(condition):
            return
        self._failures.append(Failure(b_and(ctx.path, condition), code, node))

    @staticmethod
    def any_failure(failures) -> object:
        return b_or(*[f.condition for f in failures])

    def rules_evaluate(self):
        """Every requirement holds and every rule evaluates without an error (the invariants
        are then checked)."""
        return b_and(*self.requirements, b_not(self.any_failure(self.rule_failures)))

    def invariants_evaluate(self, upto: int | None = None):
        """Invariants 0..upto (all by default) evaluate without an error where reached."""
        failures = [f for fs in self.invariant_failures[: None if upto is None else upto + 1] for f in fs]
        return b_not(self.any_failure(failures))

    def decided(self):
        """The engine decides the claim: every rule and invariant evaluates, every invariant
        holds, money outputs are whole fen (R404) and so is what it adds to a money
        accumulator that the engine checks."""
        return b_and(self.rules_evaluate(), self.invariants_evaluate(), *self.invariants, b_not(self.any_failure(self.finish_failures)))

    def _finish_failures(self) -> list[Failure]:
        top = Ctx(z3.BoolVal(True))
        found: list[Failure] = []
        for name in self.program.outputs:
            definition = self.program.definitions[name]
            if definition.type != t.MONEY or definition.kind == "input":
                continue
            found += self._not_fen(self.outputs[name], top, allow_unlimited=True)
        for accumulator, accrual, expr in zip(self.program.accumulators, self.accruals, self.segment.accruals):
            if accumulator.type == t.MONEY and (expr.scale is None or expr.scale > 2):
                found += self._not_fen(accrual, top, allow_unlimited=False)
        return found

    def _not_fen(self, value, ctx, allow_unlimited: bool) -> list[Failure]:
        value = as_dec(value)
        if value.finite and value.scale <= 2:
            return []  # whole fen by construction
        fractions = self.definitions.mod(value.n, 10 ** (value.scale - 2)) != 0 if value.scale > 2 else z3.BoolVal(False)
        if value.finite:
            return [Failure(fractions, "R404", None)]
        finite = value.inf == 0
        condition = b_or(b_and(finite, fractions), value.inf == -1 if allow_unlimited else b_not(finite))
        return [Failure(condition, "R404", None)]

    def _bound_whole(self, bound, value, ctx, node):
        if bound == "whole" or (bound == "if_whole" and is_int_term(value)):
            if is_int_term(value):
                self.fail(ctx, z3.Or(value > INT_LIMIT, value < -INT_LIMIT), "R407", node)

    def _output(self, name):
        if self.program.definitions[name].kind == "input":
            index = [field for field, _ in self.program.inputs].index(name)
            self.used_inputs.add(index)
            return self.claim.inputs[index]
        return self.rules[name]

    # -- the calendar -------------------------------------------------------------------------

    def fresh(self, what: str, sort=z3.IntSort()):
        return z3.FreshConst(sort, f"{self.tag}{what}")

    def ymd(self, day: Day):
        """(year, month, day) of a date: fresh variables defined by the day's ordinal (where
        the ordinal is a calendar day; a date off the calendar has failed before)."""
        if day.ymd is not None:
            return day.ymd
        o = day.o
        known = _python_int(o)
        if known is not None and 1 <= known <= MAX_ORDINAL:
            date = datetime.date.fromordinal(known)
            return z3.IntVal(date.year), z3.IntVal(date.month), z3.IntVal(date.day)
        key = o.get_id()
        if key not in self.definitions.days:
            y, m, d = self.fresh("year"), self.fresh("month"), self.fresh("day")
            calendar_day = z3.And(o >= 1, o <= MAX_ORDINAL)
            self.definitions.append(z3.Implies(calendar_day, z3.And(
                y >= 1, y <= 9999, m >= 1, m <= 12, d >= 1, d <= month_length(y, m, self.definitions), o == ordinal_of(y, m, d, self.definitions),
                # redundant bounds that help the solver find the year quickly
                365 * (y - 1) < o, o <= 366 * y,
            )))
            self.definitions.days[key] = (o, (y, m, d))  # the term is kept, so its id is not reused
        return self.definitions.days[key][1]

    def add_months(self, day: Day, months, ctx: Ctx, node: int) -> Day:
        """`runtime.add_months`: calendar months, clamped to the month's end; R402 off the calendar."""
        known = _python_int(months)
        if known == 0:
            return day
        y, m, d = self.ymd(day)
        index = y * 12 + (m - 1) + months
        year, month = self.definitions.div(index, 12), self.definitions.mod(index, 12) + 1
        self.fail(ctx, b_and(b_not(months == 0) if known is None else True, z3.Or(year < 1, year > 9999)), "R402", node)
        length = month_length(year, month, self.definitions)
        day_of = z3.If(d <= length, d, length)
        shifted = ordinal_of(year, month, day_of, self.definitions)
        if known is not None:
            return Day(shifted, (year, month, day_of))
        same = months == 0
        return Day(z3.If(same, day.o, shifted), (z3.If(same, y, year), z3.If(same, m, month), z3.If(same, d, day_of)))

    def months_between(self, a: Day, b: Day):
        def forward(start: Day, end: Day):
            ys, ms, ds = self.ymd(start)
            ye, me, de = self.ymd(end)
            count = (ye - ys) * 12 + (me - ms)
            length = month_length(ye, me, self.definitions)
            landed = z3.If(ds <= length, ds, length)  # add_months(start, count)'s day
            return count - z3.If(z3.And(count != 0, landed > de), 1, 0)

        return z3.If(b.o >= a.o, forward(a, b), -forward(b, a))

    # -- expressions ---------------------------------------------------------------------------

    def expr(self, e: ir.Expr, ctx: Ctx):
        value = self._expr(e, ctx)
        if self._watch and id(e) in self._watch and not ctx.loops and not ctx.locals:
            self.parts[self._watch[id(e)]] = value
        return value

    def _expr(self, e: ir.Expr, ctx: Ctx):  # noqa: C901 - one dispatch over node kinds, as the interpreter's
        match e:
            case ir.Const(value=value):
                return const(value, e.type)
            case ir.Input(index=index):
                self.used_inputs.add(index)
                return self.claim.inputs[index]
            case ir.Ref(kind="rule", name=name):
                return self.rules[name]
            case ir.Ref(name=name):
                if name not in self.constants:
                    raise NotEncodable(f"`{name}` has no value in this segment")
                return const(self.constants[name], e.type)
            case ir.Loop(depth=depth):
                return ctx.loops[depth - 1]
            case ir.Local(binding=binding):
                return ctx.locals[binding]
            case ir.Let(value=value, body=body):
                bound = self.expr(value, ctx)
                return self.expr(body, attrs.evolve(ctx, locals={**ctx.locals, e.id: bound}))
            case ir.Field(record=record, index=index):
                return self.expr(record, ctx)[index]
            case ir.Lookup():
                return self._lookup(e, ctx)
            case ir.Negate(operand=operand):
                x = self.expr(operand, ctx)
                return d_neg(x) if isinstance(x, Dec) else -x
            case ir.Not(operand=operand):
                return b_not(to_bool(self.expr(operand, ctx)))
            case ir.Logic(op=op, left=left, right=right):
                a = to_bool(self.expr(left, ctx))
                if op == "and":
                    return b_and(a, to_bool(self.expr(right, ctx.under(a))))
                return b_or(a, to_bool(self.expr(right, ctx.under(b_not(a)))))
            case ir.Arith(op=op, left=left, right=right):
                return self._arith(op, self.expr(left, ctx), self.expr(right, ctx), ctx, e.id)
            case ir.WholeArith(op=op, left=left, right=right):
                return self._arith(op, self.expr(left, ctx), self.expr(right, ctx), ctx, e.id)
            case ir.WholeProduct(left=left, right=right) | ir.NumberProduct(left=left, right=right):
                a, b = self.expr(left, ctx), self.expr(right, ctx)
                product = self._arith("*", a, b, ctx, e.id)
                if is_int_term(product):  # a Python int: bounded (runtime.int_product, number_product)
                    self.fail(ctx, z3.Or(product > INT_LIMIT, product < -INT_LIMIT), "R407", e.id)
                return product
            case ir.Divide(left=left, right=right):
                return self._divide(self.expr(left, ctx), self.expr(right, ctx), ctx, e.id)
            case ir.ShiftDate(date=date, months=months, sign=sign):
                day = self.expr(date, ctx)
                count = self.expr(months, ctx)
                return self.add_months(day, -count if sign < 0 else count, ctx, e.id)
            case ir.DateCall(func=func, args=args):
                return self._date_call(func, [self.expr(a, ctx) for a in args], ctx, e.id)
            case ir.Compare(op=op, left=left, right=right):
                return compare(op, self.expr(left, ctx), self.expr(right, ctx))
            case ir.Member(element=element, container=container, negated=negated):
                found = self._member(self.expr(element, ctx), container, ctx)
                return b_not(found) if negated else found
            case ir.SetOf(items=items):
                return SetVal([self.expr(item, ctx) for item in items])
            case ir.Round(value=value, mode=mode, step=step):
                return self._round(self.expr(value, ctx), mode, Decimal("0.01") if step is None else step)
            case ir.Clamp(value=value, low=low, high=high):
                v, lo, hi = self.expr(value, ctx), self.expr(low, ctx), self.expr(high, ctx)
                return self._minmax("min", [self._minmax("max", [v, lo]), hi])
            case ir.MinMax(func=func, args=args):
                return self._minmax(func, [self.expr(a, ctx) for a in args])
            case ir.Tiers():
                return self._tiers(e, ctx)
            case ir.Aggregate():
                return self._aggregate(e, ctx)
            case ir.Choose(branches=branches):
                return self._choose(branches, ctx)
        raise NotEncodable(f"the IR node {type(e).__name__}")

    def _arith(self, op, a, b, ctx, node):
        if isinstance(a, Day) or isinstance(b, Day):
            raise NotEncodable("arithmetic on dates outside the date functions")
        if is_int_term(a) and is_int_term(b):
            return a + b if op == "+" else a - b if op == "-" else self._int_mul(a, b)
        a, b = as_dec(a), as_dec(b)
        if op == "+":
            result, failure = d_add(a, b)
        elif op == "-":
            result, failure = d_sub(a, b)
        elif op == "*":
            result, failure = d_mul(a, b, self.nonlinear)
        else:
            raise NotEncodable(f"the operator {op!r}")
        self.fail(ctx, failure, "R408", node)
        return result

    def _int_mul(self, a, b):
        return mul(a, b, self.nonlinear)

    def _divide(self, a, b, ctx, node):
        raise NotEncodable("division (the engine rounds a / b to 50 significant digits, which the encoding does not model)")

    def _date_call(self, func, args, ctx, node):
        if func == "add_days":
            day, count = args
            shifted = day.o + count
            self.fail(ctx, z3.Or(shifted < 1, shifted > MAX_ORDINAL), "R402", node)
            return Day(shifted)
        if func == "days_between":
            return args[1].o - args[0].o
        if func == "months_between":
            return self.months_between(*args)
        if func in ("years_between", "age"):
            months = self.months_between(*args)
            return z3.If(months >= 0, self.definitions.div(months, 12), -self.definitions.div(-months, 12))
        if func == "year_start":
            y, _, _ = self.ymd(args[0])
            return Day(ordinal_of(y, z3.IntVal(1), z3.IntVal(1), self.definitions), (y, z3.IntVal(1), z3.IntVal(1)))
        raise NotEncodable(f"the date function {func}")

    def _member(self, item, container: ir.Expr, ctx):
        if isinstance(container, ir.Ref) and container.kind == "table":
            table = self.constants[container.name]
            key_type = container.type.key if isinstance(container.type, t.TableType) else None
            return b_or(*[equal(item, const(key, key_type)) for key in table])  # a row, not the default (dict `in`)
        found = self.expr(container, ctx)
        if not isinstance(found, SetVal):
            raise NotEncodable("`in` on something that is not a set or a table")
        return b_or(*[equal(item, x) for x in found.items])

    def _lookup(self, e: ir.Lookup, ctx):
        table = self.constants[e.table]
        key = self.expr(e.key, ctx)
        key_type = e.key.type
        rows = [(equal(key, const(k, key_type)), const(v, e.type)) for k, v in table.items()]
        if table.default is not None:
            result = const(table.default, e.type)
        else:
            self.fail(ctx, b_not(b_or(*[c for c, _ in rows])), "R403", e.id)
            if not rows:
                raise NotEncodable(f"table `{e.table}` has no rows")
            result = rows[-1][1]
            rows = rows[:-1]
        for condition, value in reversed(rows):
            result = ite(condition, value, result)
        return result

    def _round(self, value, mode: str, step):
        if is_int_term(value):
            raise NotEncodable("round() of a whole number")
        x = as_dec(value)
        sign_, digits, exponent = step.normalize().as_tuple()
        if sign_ or digits != (1,) or not isinstance(exponent, int):
            raise NotEncodable(f"rounding to {step}, which is not a power of ten")
        k = x.scale + exponent  # x is n / 10**scale; the step is 10**exponent: x / step = n / 10**k
        if k <= 0:
            return x  # already a multiple of the step: quantize keeps the value
        n, unit, div = x.n, 10**k, self.definitions.div
        if mode == "half_up":
            q = z3.If(n >= 0, div(n + unit // 2, unit), -div(-n + unit // 2, unit))
        elif mode == "down":
            q = z3.If(n >= 0, div(n, unit), -div(-n, unit))
        elif mode == "up":
            q = z3.If(n >= 0, -div(-n, unit), div(n, unit))
        elif mode == "half_even":
            f = div(n, unit)
            rest = n - unit * f
            q = z3.If(2 * rest > unit, f + 1, z3.If(2 * rest < unit, f, z3.If(self.definitions.mod(f, 2) == 0, f, f + 1)))
        else:
            raise NotEncodable(f"the rounding mode {mode}")
        if exponent >= 0:
            return Dec(q * 10**exponent if exponent else q, x.inf, 0)  # round(unlimited) is unlimited
        return Dec(q, x.inf, -exponent)

    def _minmax(self, func: str, values: list):
        """Python's min/max over the values: the first least (greatest) one."""
        if any(isinstance(v, Dec) for v in values):
            values = [as_dec(v) for v in values]
            result = values[0]
            for v in values[1:]:
                result = d_min(result, v) if func == "min" else d_max(result, v)
            return result
        if isinstance(values[0], Day):
            result = values[0]
            for v in values[1:]:
                result = ite(v.o < result.o if func == "min" else v.o > result.o, v, result)
            return result
        result = values[0]
        for v in values[1:]:
            result = z3.If(v < result, v, result) if func == "min" else z3.If(v > result, v, result)
        return result

    def _tiers(self, e: ir.Tiers, ctx):
        bands = self.constants[e.schedule]
        lower = as_dec(self.expr(e.lower, ctx))
        upper = as_dec(self.expr(e.upper, ctx))
        if e.band is not None:
            bands = bands[e.band : e.band + 1]
        total = Dec(z3.IntVal(0), 0, 0)
        for band_low, band_high, rate in bands:
            low = d_max(lower, dec_const(band_low))
            high = upper if band_high is None else d_min(upper, dec_const(band_high))
            inside = d_lt(low, high)
            width, failure = d_sub(high, low)
            self.fail(ctx.under(inside), failure, "R408", e.id)
            paid, failure = d_mul(width, dec_const(rate), self.nonlinear)
            self.fail(ctx.under(inside), failure, "R408", e.id)
            added, failure = d_add(total, paid)
            self.fail(ctx.under(inside), failure, "R408", e.id)
            total = ite(inside, added, total)
        return total

    def _aggregate(self, e: ir.Aggregate, ctx):
        source = self.expr(e.source, ctx)
        if not isinstance(source, ListVal):
            raise NotEncodable("an aggregate over something that is not a list")

        def inside(i, element, path):
            return Ctx(path, (*ctx.loops[: e.depth - 1], element), ctx.locals)

        if e.kind in ("sum", "count"):
            total = const(e.zero, e.type) if e.zero is not None else z3.IntVal(0)
            for i, element in enumerate(source.items):
                present = source.length > i
                scope = inside(i, element, b_and(ctx.path, present))
                keep = present if e.where is None else b_and(present, to_bool(self.expr(e.where, scope)))
                if e.kind == "count":
                    total = z3.If(keep, total + 1, total)
                    continue
                body = self.expr(e.body, attrs.evolve(scope, path=b_and(ctx.path, keep)))
                total = ite(keep, self._arith("+", total, body, attrs.evolve(scope, path=b_and(ctx.path, keep)), e.id), total)
            return total
        if e.kind in ("any", "all"):
            decided = z3.BoolVal(False)  # `any`: an earlier element held; `all`: an earlier element failed
            for i, element in enumerate(source.items):
                present = source.length > i
                scope = inside(i, element, b_and(ctx.path, present, b_not(decided)))
                holds = to_bool(self.expr(e.where, scope))
                decided = b_or(decided, b_and(present, holds if e.kind == "any" else b_not(holds)))
            return decided if e.kind == "any" else b_not(decided)
        raise NotEncodable(f"the aggregate {e.kind}")

    def _choose(self, branches, ctx):
        arms = []
        rest = ctx
        otherwise = None
        for branch in branches:
            if branch.condition is None:
                otherwise = self.expr(branch.value, rest)
                break
            condition = to_bool(self.expr(branch.condition, rest))
            arms.append((condition, self.expr(branch.value, rest.under(condition))))
            rest = rest.under(b_not(condition))
        if otherwise is None:
            raise NotEncodable("a `when` chain without `otherwise`")
        result = otherwise
        for condition, value in reversed(arms):
            result = ite(condition, value, result)
        return result


def _spine(body: ir.Expr):
    """The sums and differences a rule's value is made of (`total - basic - major` inside
    `total - basic - major - assistance`), with their path from the rule's root ("l", "lr"):
    named the same in two versions of a policy, so facts about them can be paired."""
    found = []
    stack = [(body, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, ir.Arith) and node.op in "+-":
            if path:
                found.append((node, path))
            stack += [(node.left, path + "l"), (node.right, path + "r")]
    return found


def segment_condition(program: ir.Program, segment: ir.Segment, claim: SymbolicClaim):
    """The claims that `Policy.segment_for` decides with `segment`: all of them when the
    policy has one segment; else those whose `as of` date falls in the segment's days."""
    if len(program.segments) == 1 or program.as_of_index is None:
        return z3.BoolVal(True)
    day = claim.inputs[program.as_of_index]
    parts = []
    if segment.start is not None:
        parts.append(day.o >= segment.start.toordinal())
    if segment.end is not None:
        parts.append(day.o < segment.end.toordinal())
    return b_and(*parts)


__all__ = ["Encoding", "NotEncodable", "SymbolicClaim", "const", "segment_condition"]
