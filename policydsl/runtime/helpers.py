"""Helpers that compiled policies call at run time (dates, tiers, division, bounds, tracing).

Generated code refers only to these helpers, to constants the compiler put in its
namespace, and to a few builtins (min, max, sum, any, all, enumerate). That keeps the
generated code small and readable; it is not a sandbox: what keeps it safe is that the
compiler writes it from the checked AST through fixed tables only (see compiler.py).

Numbers: the program runs under `numbers.EXACT` (set by `Policy.evaluate` and
`Policy.run_traced`), so `+`, `-`, `*` are exact or raise; `divide` rounds to
`numbers.QUOTIENT`; the compiler passes `numbers.ROUNDING` to `round`'s quantize.
"""

from __future__ import annotations

import calendar
import datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from policydsl.runtime import numbers
from policydsl.runtime.trace import Element, Lookup, Slice, Tiers, new
from policydsl.diagnostics.model import EvaluationError

FEN = Decimal("0.01")
ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}
ZERO = Decimal(0)
# Element steps a claim's aggregates may take, estimated before running (R409): a few
# seconds at most. Admits 5,000 x 5,000 pairwise comparisons (and tests/test_safety.py's
# worst constructs over 2,000 items, estimated at 20 million); refuses 300**3.
WORK_LIMIT = 25_000_000


def _at(error: EvaluationError, node: int | None) -> EvaluationError:
    """`error`, marked with the IR node that raised it (None: unknown); the program's line
    table turns the node into a position in the policy (`Program.locate`)."""
    error.node = node
    return error


def add_months(day: datetime.date, months: int, node: int | None = None) -> datetime.date:
    """Calendar months, clamped to the month's end: 2025-11-30 + 3 months = 2026-02-28."""
    if not months:
        return day
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        shown = months if -INT_LIMIT <= months <= INT_LIMIT else "too many"
        raise _at(EvaluationError(f"{day.isoformat()} + {shown} months is outside the calendar", code="R402"), node)
    if day.day <= 28:  # every month has a 28th: nothing to clamp, no calendar look-up
        return datetime.date(year, month + 1, day.day)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


INT_LIMIT = numbers.INT_LIMIT


def round_unlimited(value, quantum, rounding):
    """`round(x, mode[, step])` where `x` may be unlimited (which stays unlimited) or a number
    holding a Python int (an int rule declared `number`: rounded as its Decimal)."""
    if type(value) is int:
        value = Decimal(value)
    if value.is_infinite():
        return value
    return value.quantize(quantum, rounding, numbers.ROUNDING)


def add_days(day: datetime.date, days: int, node: int | None = None) -> datetime.date:
    """`add_days(d, n)`: n days later (earlier if negative); R402 outside the calendar."""
    try:
        return day + datetime.timedelta(days=days)
    except (OverflowError, ValueError):
        shown = days if -INT_LIMIT <= days <= INT_LIMIT else "too many"
        raise _at(EvaluationError(f"{day.isoformat()} + {shown} days is outside the calendar", code="R402"), node) from None


def days_between(start: datetime.date, end: datetime.date, node: int | None = None) -> int:
    """`days_between(a, b)`: the days from a to b (negative when b is earlier)."""
    return (end - start).days


def months_between(start: datetime.date, end: datetime.date, node: int | None = None) -> int:
    """`months_between(a, b)`: the whole calendar months from a to b, as `add_months`
    counts them (a month from 31 January is 28 or 29 February); negative when b is earlier."""
    if end < start:
        return -months_between(end, start)
    count = (end.year - start.year) * 12 + (end.month - start.month)
    if count and add_months(start, count) > end:
        count -= 1
    return count


def years_between(start: datetime.date, end: datetime.date, node: int | None = None) -> int:
    """`years_between(a, b)` (and `age(birth, day)`): whole years from a to b; a birthday on
    29 February comes on 28 February in other years."""
    months = months_between(start, end)
    return months // 12 if months >= 0 else -((-months) // 12)


def year_start(day: datetime.date, node: int | None = None) -> datetime.date:
    """`year_start(d)`: 1 January of d's year."""
    return datetime.date(day.year, 1, 1)


DATE_FUNCTIONS = {
    "add_days": add_days,
    "days_between": days_between,
    "months_between": months_between,
    "years_between": years_between,
    "age": years_between,
    "year_start": year_start,
}


def int_product(a: int, b: int, node: int | None = None) -> int:
    """Whole numbers (counts, years, months) stay within ±10**18: repeated squaring cannot hang."""
    product = a * b
    if -INT_LIMIT <= product <= INT_LIMIT:
        return product
    whole_too_big(node)


def number_product(a, b, node: int | None = None):
    """`*` of two values typed int or number: a number may hold a Python int (an int rule
    declared `number`), and a product of those is bounded like `int_product`."""
    product = a * b
    if type(product) is int and not -INT_LIMIT <= product <= INT_LIMIT:
        whole_too_big(node)
    return product


def whole_too_big(node: int | None = None):
    """Raise R407: a whole-number value is beyond ±10**18. Called by the products above, and
    by generated code where a rule's whole-number value is assigned (so sums are bounded
    too, and chains of rules cannot grow them)."""
    raise _at(EvaluationError("a whole number grew beyond 10**18", code="R407"), node)


def divide(a, b, node: int | None = None):
    """`a / b`, rounded half-even to `numbers.QUOTIENT_DIGITS` significant digits."""
    if b == 0:
        raise _at(EvaluationError("division by zero", code="R401"), node)
    try:
        return numbers.QUOTIENT.divide(Decimal(a), Decimal(b))
    except ArithmeticError as error:
        error.node = node
        raise


def apply_tiers(bands, lower, upper, only: int | None = None):
    """Marginal tiers: each band's rate applies to the part of [lower, upper] inside it;
    `only`: the amount of band number `only` alone."""
    total = ZERO
    if only is not None:
        bands = bands[only : only + 1]
    for band_low, band_high, rate in bands:
        low = lower if lower > band_low else band_low
        high = upper if band_high is None or upper < band_high else band_high
        if high > low:
            total += (high - low) * rate
    return total


class Table(dict):
    """A policy table: a missing key is an evaluation error naming the table."""

    __slots__ = ("name", "default")

    def __init__(self, rows, name: str, default=None):
        super().__init__(rows)
        self.name = name
        self.default = default

    def __missing__(self, key):
        if self.default is not None:
            return self.default
        raise EvaluationError(f"table `{self.name}` has no row for `{key}`", code="R403")


# ---- tracing helpers: record an event, return the value unchanged ----------------


def traced_lookup(events: list, node_id: int, table: Table, key):
    try:
        value = table[key]
    except EvaluationError as error:  # R403: named by this lookup's node, even beside another of the same table
        raise _at(error, node_id) from None
    events.append(new(Lookup, (node_id, key, value)))
    return value


def traced_tiers(events: list, node_id: int, bands, lower, upper, only: int | None = None):
    slices = []
    total = ZERO
    for band_index, (band_low, band_high, rate) in enumerate(bands):
        if only is not None and band_index != only:
            continue
        low = lower if lower > band_low else band_low
        high = upper if band_high is None or upper < band_high else band_high
        if high > low:
            paid = (high - low) * rate
            total += paid
            slices.append(new(Slice, (band_index, low, high, rate, paid)))
    events.append(new(Tiers, (node_id, lower, upper, tuple(slices))))
    return total


def traced_element(events: list, node_id: int, index: int, value):
    events.append(new(Element, (node_id, index, value)))
    return value


class InvariantViolation(EvaluationError):
    """An invariant of the policy did not hold for a claim (R406)."""

    def __init__(self, number: int):
        self.number = number
        super().__init__(f"invariant #{number} does not hold", code="R406")


def invariant_violated(number: int):
    raise InvariantViolation(number)


class RequirementRefused(EvaluationError):
    """A claim's facts broke the policy's requirement #number (`require FIELD: ...`): the
    caller (api.Policy) turns it into the facts error F304 at that field."""

    def __init__(self, number: int):
        self.number = number
        super().__init__(f"requirement #{number} does not hold", code="F304")


def requirement_refused(number: int):
    raise RequirementRefused(number)


# ---- the work a claim takes: estimated before running (R409) ---------------------

EACH = -1  # a step of a list path: every element of the list reached so far


def list_lengths(inputs: tuple, path: tuple) -> int:
    """The longest list at `path` in a claim's inputs: `(3,)` is input 3; `(3, EACH, 1)`
    is field 1 of every element of input 3."""
    level = [inputs]
    for step in path:
        if step == EACH:
            level = [element for value in level for element in value]
        else:
            level = [value[step] for value in level]
    return max(map(len, level), default=0)


def check_work(plan, inputs: tuple) -> None:
    """Raise R409 if the aggregates of a claim would take more than `WORK_LIMIT` element steps.

    `plan` (from the compiler, for policies with nested aggregates only): `(entries,
    every_list)`, entries being `(rule, span, chains)`; a chain is the list paths of one
    aggregate and those around it, and costs the product of their lengths (a conservative
    bound: `any` may stop early). A path None stands for any list (`every_list` paths).
    """
    entries, every_list = plan
    lengths: dict = {}

    def length(path) -> int:
        if path not in lengths:
            lengths[path] = (
                list_lengths(inputs, path) if path is not None
                else max((length(p) for p in every_list), default=0)
            )
        return lengths[path]

    total = 0
    worst = (0, None, None)
    for rule, span, chains in entries:
        cost = 0
        for chain in chains:
            steps = 1
            for path in chain:
                steps *= length(path)
            cost += steps
        total += cost
        if cost > worst[0]:
            worst = (cost, rule, span)
    if total > WORK_LIMIT:
        raise EvaluationError(
            f"this claim needs about {total:,} steps over its lists (nested aggregates), more than the "
            f"limit of {WORK_LIMIT:,}; split the claim or rewrite the nested aggregate",
            worst[1], worst[2], code="R409",
        )
