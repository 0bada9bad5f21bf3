"""Digit bounds of the IR's values, and the rules of a segment that can never fail.

Takes one `ir.Segment`; gives `infallible_rules(segment)`: the names of the rules whose
evaluation raises nothing for any claim the facts reader accepts. The fast Python variant
evaluates such a rule only in the `when` arm that needs it, or not at all when nothing
needs it (`backends/python.py`), and still fails exactly where the reference interpreter,
which evaluates every rule, fails.

A bound (W, F) of a numeric value v says |v| < 10**W and v * 10**F is whole. Values read
from facts are bounded (`runtime.numbers`, `backends/facts.py`; a field's default is held to
the same by the checker, C273), so are the policy's
constants, and exact `+`, `-`, `*` of bounded values are bounded; a value with
W + F <= PRECISION digits is computed by `numbers.EXACT` without rounding, so R408 cannot
happen. Every node lists the codes it may raise (`Expr.fails`); a node is infallible when
its children are and each of its codes is ruled out here: R408 by the bound, R407 by a
bound below 10**18, R403 by a table default or a row for every member of the key's enum.
What this cannot bound (a division, `unlimited`, a date shifted by months) counts as
fallible: the analysis may miss a rule that cannot fail, never the other way round.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from ..check import types as t
from ..runtime import numbers
from . import nodes as ir

Bound = tuple[int, int]  # (W, F): |v| < 10**W, v * 10**F whole

_FEN = Decimal("0.01")  # what `round(x, mode)` quantizes to
_NOT_A_NUMBER: Bound = (0, 0)  # a bool, date, text, enum member, record or list
_WHOLE_DIGITS = len(str(numbers.INT_LIMIT)) - 1  # |int| < 10**18 where one is checked (R407)
_LIST_DIGITS = len(str(sys.maxsize))  # a list holds fewer than sys.maxsize items
_DAY_COUNT_DIGITS = 7  # days, months or years between two dates of 0001-9999: below 10**7
_READ: dict = {  # what the facts reader accepts
    t.MONEY: (len(str(int(numbers.MONEY_LIMIT))) - 1, 2),  # below 10**15, to the fen
    t.INT: (_WHOLE_DIGITS, 0),
    t.MONTHS: (_WHOLE_DIGITS, 0),
    t.NUMBER: (numbers.MAGNITUDE_DIGITS, numbers.FRACTION_DIGITS),
    t.RATIO: (1, numbers.FRACTION_DIGITS + 2),  # 0..1, or a percentage with 40 decimals
}


def infallible_rules(segment: ir.Segment) -> frozenset[str]:
    """The names of the segment's rules that cannot fail (see the module's docstring)."""
    analysis = _Analysis(segment.constants)
    names = set()
    for rule in segment.rules:
        bound, safe = analysis.of(rule.body)
        if rule.bound is not None and (bound is None or bound[0] > _WHOLE_DIGITS):
            safe = False  # the R407 check where the rule is assigned might fire
        analysis.rules[rule.name] = bound
        if safe:
            names.add(rule.name)
    return frozenset(names)


def constant_bound(value) -> Bound | None:
    """The bound of a constant; None for an infinite one (`unlimited`)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return _NOT_A_NUMBER
    if isinstance(value, int):
        return (len(str(abs(value))), 0)
    if not value.is_finite():
        return None
    if value.is_zero():
        return (1, 0)
    _, digits, exponent = value.normalize(numbers.EXACT).as_tuple()
    return (max(1, len(digits) + exponent), max(0, -exponent))


def _widest(bounds) -> Bound | None:
    bounds = list(bounds)
    if any(b is None for b in bounds):
        return None
    return (max(w for w, _ in bounds), max(f for _, f in bounds)) if bounds else _NOT_A_NUMBER


def _exact(bound: Bound | None) -> bool:
    return bound is not None and bound[0] + bound[1] <= numbers.PRECISION


class _Analysis:
    """(bound or None, whether the node cannot fail) of expressions, in rule order."""

    def __init__(self, constants: dict):
        self.constants = constants
        self.rules: dict[str, Bound | None] = {}  # rule name -> its value's bound
        self.lets: dict[int, Bound | None] = {}  # a Let's id -> its value's bound

    def of(self, e: ir.Expr) -> tuple[Bound | None, bool]:  # noqa: C901 - one dispatch over node kinds
        match e:
            case ir.Const(value=value):
                return constant_bound(value), True
            case ir.Input() | ir.Loop():
                return _read_bound(e.type), True
            case ir.Field(record=record):
                return _read_bound(e.type), self.of(record)[1]
            case ir.Ref(kind="rule", name=name):
                return self.rules.get(name), True
            case ir.Ref(kind="param", name=name):
                return constant_bound(self.constants.get(name)), True
            case ir.Ref():
                return _NOT_A_NUMBER, True
            case ir.Local(binding=binding):
                return self.lets.get(binding), True
            case ir.Let(id=node, value=value, body=body):
                bound, safe = self.of(value)
                self.lets[node] = bound
                body_bound, body_safe = self.of(body)
                return body_bound, safe and body_safe
            case ir.Negate(operand=x):
                bound, safe = self.of(x)
                return bound, safe and _exact(bound)
            case ir.Arith(op=op, left=a, right=b) | ir.WholeArith(op=op, left=a, right=b):
                bound, safe = self.combine(op, a, b)
                return bound, safe and (isinstance(e, ir.WholeArith) or _exact(bound))
            case ir.WholeProduct(left=a, right=b) | ir.NumberProduct(left=a, right=b):
                bound, safe = self.combine("*", a, b)
                return bound, safe and bound is not None and bound[0] <= _WHOLE_DIGITS and _exact(bound)
            case ir.Lookup(table=table, key=key):
                rows = self.constants.get(table)
                _, safe = self.of(key)
                values = [*rows.values(), *([] if rows.default is None else [rows.default])]
                covered = rows.default is not None or (
                    isinstance(key.type, t.EnumType) and all(member in rows for member in key.type.members)
                )
                return _widest(constant_bound(v) for v in values), safe and covered
            case ir.Round(value=x, step=step):
                bound, safe = self.of(x)
                if bound is None:
                    return None, False
                digits = max(0, -(_FEN if step is None else step).as_tuple().exponent)
                rounded = (bound[0] + 1, digits)  # rounding away from zero may add a digit
                return rounded, safe and _exact(rounded)
            case ir.Tiers(schedule=schedule, lower=lower, upper=upper):
                return self.tiers(self.constants[schedule], lower, upper)
            case ir.Aggregate(kind=kind, source=source, body=body, where=where):
                safe = all(self.of(part)[1] for part in (source, where) if part is not None)
                if kind in ("any", "all"):
                    return _NOT_A_NUMBER, safe
                if kind == "count":
                    return (_LIST_DIGITS, 0), safe
                bound, body_safe = self.of(body)
                total = None if bound is None else (bound[0] + _LIST_DIGITS, bound[1])
                return total, safe and body_safe and (e.type in t.WHOLE or _exact(total))
            case ir.Choose(branches=branches):
                safe = True
                values = []
                for branch in branches:
                    if branch.condition is not None:
                        safe = self.of(branch.condition)[1] and safe
                    bound, value_safe = self.of(branch.value)
                    values.append(bound)
                    safe = safe and value_safe
                return _widest(values), safe
            case ir.Clamp() | ir.MinMax():
                parts = [self.of(child) for child in ir.children(e)]
                return _widest(bound for bound, _ in parts), all(safe for _, safe in parts)
            case ir.DateCall(args=args):
                safe = all(self.of(arg)[1] for arg in args) and not e.fails
                return ((_DAY_COUNT_DIGITS, 0) if e.type in t.WHOLE else _NOT_A_NUMBER), safe
            case ir.Not() | ir.Logic() | ir.Compare() | ir.Member() | ir.SetOf():
                return _NOT_A_NUMBER, not e.fails and all(self.of(child)[1] for child in ir.children(e))
        return None, False  # a division, a date shifted by months, or a node added later: fallible

    def combine(self, op: str, a: ir.Expr, b: ir.Expr) -> tuple[Bound | None, bool]:
        (ba, sa), (bb, sb) = self.of(a), self.of(b)
        if ba is None or bb is None:
            return None, False
        if op == "*":
            return (ba[0] + bb[0], ba[1] + bb[1]), sa and sb
        return (max(ba[0], bb[0]) + 1, max(ba[1], bb[1])), sa and sb

    def tiers(self, bands, lower: ir.Expr, upper: ir.Expr) -> tuple[Bound | None, bool]:
        """Each band adds (high - low) * rate, high and low being `lower`, `upper` or the
        band's edges: below twice the widest of those times the largest rate."""
        (bl, sl), (bu, su) = self.of(lower), self.of(upper)
        edges = [constant_bound(x) for low, high, _ in bands for x in (low, high) if x is not None]
        rates = [constant_bound(rate) for _, _, rate in bands]
        span, rate = _widest([bl, bu, *edges]), _widest(rates)
        if span is None or rate is None:
            return None, False
        total = (span[0] + 1 + rate[0] + len(str(len(bands))), span[1] + rate[1])
        return total, sl and su and _exact(total)


def _read_bound(type_) -> Bound:
    return _READ.get(type_, _NOT_A_NUMBER)
