"""Helpers that compiled policies call at run time (dates, tiers, rounding, tracing).

Generated code refers only to these helpers, to constants the compiler put in its
namespace, and to a few builtins (min, max, sum, any, all, enumerate).
"""

from __future__ import annotations

import calendar
import datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from .diagnostics import EvaluationError

FEN = Decimal("0.01")
ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}
ZERO = Decimal(0)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Calendar months, clamped to the month's end: 2025-11-30 + 3 months = 2026-02-28."""
    if not months:
        return day
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise EvaluationError(f"{day.isoformat()} + {months} months is outside the calendar", code="R402")
    if day.day <= 28:  # every month has a 28th: nothing to clamp, no calendar look-up
        return datetime.date(year, month + 1, day.day)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


INT_LIMIT = 10**18


def int_product(a: int, b: int) -> int:
    """Whole numbers (counts, years, months) stay below 10**18: repeated squaring cannot hang."""
    product = a * b
    if -INT_LIMIT <= product <= INT_LIMIT:
        return product
    raise EvaluationError("a whole number grew beyond 10**18", code="R407")


def divide(a, b):
    if b == 0:
        raise EvaluationError("division by zero", code="R401")
    return Decimal(a) / Decimal(b)


def apply_tiers(bands, lower, upper):
    """Marginal tiers: each band's rate applies to the part of [lower, upper] inside it."""
    total = ZERO
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
    value = table[key]
    events.append(("lookup", node_id, key, value))
    return value


def traced_tiers(events: list, node_id: int, bands, lower, upper):
    slices = []
    total = ZERO
    for band_index, (band_low, band_high, rate) in enumerate(bands):
        low = lower if lower > band_low else band_low
        high = upper if band_high is None or upper < band_high else band_high
        if high > low:
            paid = (high - low) * rate
            total += paid
            slices.append((band_index, low, high, rate, paid))
    events.append(("tiers", node_id, lower, upper, tuple(slices)))
    return total


def traced_element(events: list, node_id: int, index: int, value):
    events.append(("element", node_id, index, value))
    return value


class InvariantViolation(EvaluationError):
    """An invariant of the policy did not hold for a claim (R406)."""

    def __init__(self, number: int):
        self.number = number
        super().__init__(f"invariant #{number} does not hold", code="R406")


def invariant_violated(number: int):
    raise InvariantViolation(number)
