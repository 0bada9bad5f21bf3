"""Symbolic values of the SMT encoding, and the exact operations on them.

What a policy value is in z3 (`verify/smt.py` builds them from the IR):

- money, ratio, number: `Dec(n, scale, inf)`: the exact value n / 10**scale, `n` a z3 Int
  term and `scale` a Python int (money inputs 2, ratio inputs 40, a product the sum of its
  factors' scales, `round` its step's): every decimal is a whole number of its unit, so the
  whole problem stays in linear integer arithmetic (no Reals, no ToInt), and a strict
  comparison is as tight as it can be (a < b is a <= b - 0.01 in fen). `inf` is -1, 0 or +1
  for `unlimited` (Decimal infinity; a Python 0 when the value is known to be finite, so a
  policy without `unlimited` never pays for it). The arithmetic of infinities is
  Decimal's: unlimited - x is unlimited, min(x, unlimited) is x, unlimited - unlimited and
  unlimited * 0 fail the claim (R408): those failures are returned to the caller.
- int, months: z3 Int terms (Python ints in the engine).
- bool: z3 Bool terms. text: z3 String terms.
- date: `Day(o, ymd)`: the proleptic Gregorian ordinal (`date.toordinal()`, 0001-01-01 is 1),
  and its (year, month, day) where known: an input date is its year, month and day
  (variables), its ordinal computed from them, which the solver finds far more easily
  than the other way round.
- an enum member: `Member(i, enum)`: `i` the member's index in the enum's members.
- a set: `SetVal(items)`; a record: a Python tuple of its fields' values; a list: `ListVal`
  (a length term and `items` element slots, of which the first `length` exist).

Products keep to linear arithmetic where the engine's values allow: a factor that takes
finitely many constant values (a table row, a `when` chain of constants) is distributed
over, so `amount * level_ratio[level]` is an If-chain of `amount * 9`, ... (`mul`).
"""

from __future__ import annotations

from fractions import Fraction

import z3

from policydsl.check import types as t


class NotEncodable(Exception):
    """An IR construct the encoding cannot express; the property is "unknown" with this reason."""


class Dec:
    """The decimal n / 10**scale (`scale` a Python int >= 0); `inf`: -1, 0, +1 (unlimited;
    `n` is then meaningless)."""

    __slots__ = ("n", "inf", "scale")

    def __init__(self, n, inf=0, scale=0):
        self.n = n
        self.inf = inf
        self.scale = scale

    @property
    def finite(self) -> bool:
        """Known to be finite (no `unlimited` can reach it)."""
        return isinstance(self.inf, int) and self.inf == 0

    def at(self, scale: int):
        """`n` at a larger scale (the same value in smaller units)."""
        if scale == self.scale:
            return self.n
        return self.n * (10 ** (scale - self.scale))

    def fraction_of(self, model) -> Fraction | None:
        """The value in `model` (None: unlimited, either sign)."""
        if not isinstance(self.inf, int) and model.eval(self.inf, model_completion=True).as_long() != 0:
            return None
        if isinstance(self.inf, int) and self.inf != 0:
            return None
        return Fraction(model.eval(self.n, model_completion=True).as_long(), 10**self.scale)

    def inf_of(self, model) -> int:
        return self.inf if isinstance(self.inf, int) else model.eval(self.inf, model_completion=True).as_long()


class Day:
    """A date: `o` its ordinal; `ymd` its (year, month, day) terms where they are known
    without solving for them (inputs, calendar months, constants), else None."""

    __slots__ = ("o", "ymd")

    def __init__(self, o, ymd=None):
        self.o = o
        self.ymd = ymd


class Member:
    __slots__ = ("i", "enum")

    def __init__(self, i, enum: t.EnumType):
        self.i = i
        self.enum = enum


class SetVal:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = tuple(items)


class ListVal:
    __slots__ = ("length", "items")

    def __init__(self, length, items):
        self.length = length
        self.items = tuple(items)


# ---- integer division -------------------------------------------------------------------


class Definitions(list):
    """Constraints that define auxiliary variables (asserted with every question), and the
    integer divisions by constants they define: `div(a, c)` is floor(a / c) as a fresh
    variable q with c*q <= a <= c*q + c - 1 (one q for each a and c), which the solver
    handles far better than its own `div` and `mod` (each defined for every a: asserting it
    excludes no claim)."""

    def __init__(self, *args):
        super().__init__(*args)
        self._quotients: dict = {}
        self.days: dict = {}  # a date ordinal's id -> (ordinal, its (year, month, day) variables)

    def div(self, a, c: int):
        if not isinstance(a, z3.ExprRef):
            return a // c
        simple = z3.simplify(a)
        if z3.is_int_value(simple):
            return z3.IntVal(simple.as_long() // c)
        key = (a.get_id(), c)
        if key not in self._quotients:
            q = z3.FreshInt("q")
            self.append(z3.And(c * q <= a, a <= c * q + (c - 1)))
            self._quotients[key] = (a, q)  # `a` is kept, so its id is not reused
        return self._quotients[key][1]

    def mod(self, a, c: int):
        return a - c * self.div(a, c)


# ---- constants -----------------------------------------------------------------------


def digits_after_point(value) -> int:
    """How many digits after the point a Decimal or int constant has (0 for 10, 1E+1)."""
    if isinstance(value, int):
        return 0
    if not value:
        return 0
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def dec_const(value) -> Dec:
    if hasattr(value, "is_infinite") and value.is_infinite():
        return Dec(z3.IntVal(0), 1 if value > 0 else -1, 0)
    scale = digits_after_point(value)
    units = Fraction(value) * 10**scale
    assert units.denominator == 1, value
    return Dec(z3.IntVal(units.numerator), 0, scale)


# ---- small helpers that fold Python values -----------------------------------------------


def is_true(x) -> bool:
    return x is True or (isinstance(x, z3.BoolRef) and z3.is_true(x))


def is_false(x) -> bool:
    return x is False or (isinstance(x, z3.BoolRef) and z3.is_false(x))


def b_and(*xs):
    parts = []
    for x in xs:
        if is_false(x):
            return z3.BoolVal(False)
        if not is_true(x):
            parts.append(x)
    if not parts:
        return z3.BoolVal(True)
    return parts[0] if len(parts) == 1 else z3.And(*parts)


def b_or(*xs):
    parts = []
    for x in xs:
        if is_true(x):
            return z3.BoolVal(True)
        if not is_false(x):
            parts.append(x)
    if not parts:
        return z3.BoolVal(False)
    return parts[0] if len(parts) == 1 else z3.Or(*parts)


def b_not(x):
    if is_true(x):
        return z3.BoolVal(False)
    if is_false(x):
        return z3.BoolVal(True)
    return z3.Not(x)


def to_bool(x):
    if isinstance(x, bool):
        return z3.BoolVal(x)
    return x


def i_ite(c, a, b):
    """If over inf markers (Python ints or z3 Int terms), folded when possible."""
    if isinstance(a, int) and isinstance(b, int) and a == b:
        return a
    if is_true(c):
        return a
    if is_false(c):
        return b
    return z3.If(c, _iv(a), _iv(b))


def _iv(x):
    return z3.IntVal(x) if isinstance(x, int) else x


def i_eq(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return z3.BoolVal(a == b)
    return _iv(a) == _iv(b)


def i_lt(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return z3.BoolVal(a < b)
    return _iv(a) < _iv(b)


def i_neg(a):
    return -a if isinstance(a, int) else -a


def i_nonzero(a):
    if isinstance(a, int):
        return z3.BoolVal(a != 0)
    return a != 0


# ---- generic If over any value -------------------------------------------------------------


def ite(c, a, b):
    """`c ? a : b` over values of the same kind (the engine's `when` chains)."""
    if is_true(c):
        return a
    if is_false(c):
        return b
    if isinstance(a, Dec) or isinstance(b, Dec):
        a, b = as_dec(a), as_dec(b)
        scale = max(a.scale, b.scale)
        return Dec(z3.If(c, a.at(scale), b.at(scale)), i_ite(c, a.inf, b.inf), scale)
    if isinstance(a, Day):
        ymd = None if a.ymd is None or b.ymd is None else tuple(z3.If(c, x, y) for x, y in zip(a.ymd, b.ymd))
        return Day(z3.If(c, a.o, b.o), ymd)
    if isinstance(a, Member):
        if a.enum != b.enum:
            raise NotEncodable("a `when` chain whose branches are members of different enums")
        return Member(z3.If(c, a.i, b.i), a.enum)
    if isinstance(a, tuple):
        return tuple(ite(c, x, y) for x, y in zip(a, b))
    if isinstance(a, ListVal):
        return ListVal(z3.If(c, a.length, b.length), [ite(c, x, y) for x, y in zip(a.items, b.items)])
    if isinstance(a, SetVal):
        raise NotEncodable("a `when` chain whose value is a set")
    return z3.If(c, a, b)


# ---- numbers ----------------------------------------------------------------------------------


def is_int_term(x) -> bool:
    return isinstance(x, z3.ArithRef) and x.is_int()


def as_dec(x) -> Dec:
    if isinstance(x, Dec):
        return x
    if isinstance(x, z3.ArithRef) and x.is_int():
        return Dec(x, 0, 0)
    if isinstance(x, int):
        return Dec(z3.IntVal(x), 0, 0)
    raise NotEncodable(f"a {type(x).__name__} where a number was expected")


def _numeral(x) -> bool:
    return z3.is_int_value(x)


def numeral_value(x) -> int:
    """The value of a numeral Int term."""
    return z3.simplify(x).as_long()


_CASES_LIMIT = 64


class Cases:
    """The finitely many constant values an Int term can take, when it can take only such:
    `cases(term)` -> [(guard, numeral)] or None. Cached by term id."""

    def __init__(self):
        self.cache: dict[int, list | None] = {}

    def __call__(self, x):
        key = x.get_id()  # the term is kept with its entry, so its id is never reused for another
        if key not in self.cache:
            if len(self.cache) > 200_000:
                self.cache.clear()
            self.cache[key] = (x, self._cases(x))
        return self.cache[key][1]

    def _cases(self, x):
        if _numeral(x):
            return [(z3.BoolVal(True), x)]
        if z3.is_app_of(x, z3.Z3_OP_ITE):
            c, a, b = x.children()
            ca, cb = self(a), self(b)
            if ca is None or cb is None or len(ca) + len(cb) > _CASES_LIMIT:
                return None
            return [(b_and(c, g), v) for g, v in ca] + [(b_and(b_not(c), g), v) for g, v in cb]
        kind = x.decl().kind() if z3.is_app(x) else None
        if kind in (z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_MUL) and x.num_args() >= 2:
            found = self(x.arg(0))
            for index in range(1, x.num_args()):
                other = self(x.arg(index))
                if found is None or other is None or len(found) * len(other) > _CASES_LIMIT:
                    return None
                op = {z3.Z3_OP_ADD: lambda p, q: p + q, z3.Z3_OP_SUB: lambda p, q: p - q, z3.Z3_OP_MUL: lambda p, q: p * q}[kind]
                found = [(b_and(g, h), z3.simplify(op(v, w))) for g, v in found for h, w in other]
            return found
        if kind == z3.Z3_OP_UMINUS:
            ca = self(x.arg(0))
            return None if ca is None else [(g, z3.simplify(-v)) for g, v in ca]
        return None


CASES = Cases()


def mul(x, y, nonlinear: list):
    """`x * y` of Int terms, distributed over a factor that takes finitely many constant
    values, so that the product stays linear; a product of two genuinely variable terms is
    kept as it is (nonlinear arithmetic, which the solver may not decide) and noted in
    `nonlinear`."""
    if _numeral(x) or _numeral(y):
        return x * y
    cy = CASES(y)
    if cy is not None:
        return _chain(cy, lambda k: x * k)
    cx = CASES(x)
    if cx is not None:
        return _chain(cx, lambda k: k * y)
    nonlinear.append(True)
    return x * y


def _chain(cases, make):
    result = make(cases[-1][1])
    for guard, value in reversed(cases[:-1]):
        result = z3.If(guard, make(value), result)
    return result


def _sign_of(n):
    if _numeral(n):
        value = numeral_value(n)
        return (value > 0) - (value < 0)
    return z3.If(n > 0, z3.IntVal(1), z3.If(n < 0, z3.IntVal(-1), z3.IntVal(0)))


def sign(x: Dec):
    """-1, 0, 1 (a z3 Int term, or a Python int for a numeral)."""
    finite = _sign_of(x.n)
    if x.finite:
        return finite
    return z3.If(_iv(x.inf) != 0, _iv(x.inf), _iv(finite))


def d_add(a: Dec, b: Dec):
    """(sum, failure condition)."""
    scale = max(a.scale, b.scale)
    n = a.at(scale) + b.at(scale)
    if a.finite and b.finite:
        return Dec(n, 0, scale), z3.BoolVal(False)
    fail = b_and(i_nonzero(a.inf), i_nonzero(b.inf), b_not(i_eq(a.inf, b.inf)))
    if isinstance(a.inf, int) and isinstance(b.inf, int):
        inf = a.inf if a.inf != 0 else b.inf
    else:
        inf = i_ite(i_nonzero(a.inf), a.inf, b.inf)
    return Dec(n, inf, scale), fail


def d_neg(a: Dec) -> Dec:
    return Dec(-a.n, i_neg(a.inf), a.scale)


def d_sub(a: Dec, b: Dec):
    return d_add(a, d_neg(b))


def d_mul(a: Dec, b: Dec, nonlinear: list):
    n = mul(a.n, b.n, nonlinear)
    scale = a.scale + b.scale
    if a.finite and b.finite:
        return Dec(n, 0, scale), z3.BoolVal(False)
    sa, sb = sign(a), sign(b)
    either = b_or(i_nonzero(a.inf), i_nonzero(b.inf))
    product = sa * sb if isinstance(sa, int) and isinstance(sb, int) else _iv(sa) * _iv(sb)
    inf = i_ite(either, product, 0)
    fail = b_and(either, i_eq(product, 0))  # unlimited * 0
    return Dec(n, inf, scale), fail


def _less(a: Dec, b: Dec):
    scale = max(a.scale, b.scale)
    return a.at(scale) < b.at(scale)


def d_lt(a: Dec, b: Dec):
    if a.finite and b.finite:
        return _less(a, b)
    return b_or(i_lt(a.inf, b.inf), b_and(i_eq(a.inf, 0), i_eq(b.inf, 0), _less(a, b)))


def d_eq(a: Dec, b: Dec):
    scale = max(a.scale, b.scale)
    same = a.at(scale) == b.at(scale)
    if a.finite and b.finite:
        return same
    return b_and(i_eq(a.inf, b.inf), b_or(i_nonzero(a.inf), same))


def d_min(a: Dec, b: Dec) -> Dec:
    return ite(d_lt(b, a), b, a)


def d_max(a: Dec, b: Dec) -> Dec:
    return ite(d_lt(a, b), b, a)
