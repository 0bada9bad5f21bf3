"""Exact behaviour of the runtime helpers (policydsl/runtime/helpers.py) that mutation
testing found unpinned (issue 20, docs/mutation.md "Runtime helpers").

Each test calls a helper directly and checks the exact value, or the exact code, message
and IR node of the error: the policies in the other tests reach these helpers but rarely at
the boundaries (year 1 and 9999, ±10**18, the R409 limit itself, ties, empty lists).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

import policydsl
from policydsl.diagnostics.model import EvaluationError
from policydsl.runtime import helpers, numbers
from policydsl.runtime.trace import Slice, Tiers

LIMIT = 10**18


def _raises(code, call, *args, **kwargs) -> EvaluationError:
    with pytest.raises(EvaluationError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    return caught.value


# ---- add_months -------------------------------------------------------------------


def test_add_months_clamps_to_the_end_of_a_shorter_month():
    assert helpers.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert helpers.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert helpers.add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert helpers.add_months(date(2025, 3, 28), -1) == date(2025, 2, 28)


def test_add_months_reaches_year_1_and_year_9999():
    assert helpers.add_months(date(1, 2, 15), -1) == date(1, 1, 15)
    assert helpers.add_months(date(9999, 1, 15), 1) == date(9999, 2, 15)
    assert helpers.add_months(date(9998, 12, 31), 12) == date(9999, 12, 31)


def test_add_months_past_year_9999_is_r402_at_its_node():
    error = _raises("R402", helpers.add_months, date(9999, 12, 15), 1, node=7)
    assert error.message == "9999-12-15 + 1 months is outside the calendar"
    assert error.node == 7


def test_add_months_before_year_1_is_r402():
    error = _raises("R402", helpers.add_months, date(1, 1, 15), -1, node=2)
    assert error.message == "0001-01-15 + -1 months is outside the calendar"
    assert error.node == 2


def test_add_months_error_shows_months_up_to_the_whole_number_limit():
    day = date(2025, 1, 1)
    assert _raises("R402", helpers.add_months, day, LIMIT).message == (
        f"2025-01-01 + {LIMIT} months is outside the calendar")
    assert _raises("R402", helpers.add_months, day, -LIMIT).message == (
        f"2025-01-01 + {-LIMIT} months is outside the calendar")
    assert _raises("R402", helpers.add_months, day, LIMIT + 1).message == (
        "2025-01-01 + too many months is outside the calendar")
    assert _raises("R402", helpers.add_months, day, -LIMIT - 1).message == (
        "2025-01-01 + too many months is outside the calendar")


# ---- add_days ---------------------------------------------------------------------


def test_add_days_past_the_calendar_is_r402_at_its_node():
    error = _raises("R402", helpers.add_days, date(9999, 12, 31), 1, node=4)
    assert error.message == "9999-12-31 + 1 days is outside the calendar"
    assert error.node == 4
    assert helpers.add_days(date(9999, 12, 30), 1) == date(9999, 12, 31)


def test_add_days_error_shows_days_up_to_the_whole_number_limit():
    day = date(2025, 1, 1)
    assert _raises("R402", helpers.add_days, day, LIMIT).message == (
        f"2025-01-01 + {LIMIT} days is outside the calendar")
    assert _raises("R402", helpers.add_days, day, -LIMIT).message == (
        f"2025-01-01 + {-LIMIT} days is outside the calendar")
    assert _raises("R402", helpers.add_days, day, LIMIT + 1).message == (
        "2025-01-01 + too many days is outside the calendar")


# ---- whole-number products ---------------------------------------------------------


def test_int_product_admits_exactly_plus_and_minus_the_limit():
    assert helpers.int_product(10**9, 10**9) == LIMIT
    assert helpers.int_product(-(10**9), 10**9) == -LIMIT


def test_int_product_past_the_limit_is_r407_at_its_node():
    error = _raises("R407", helpers.int_product, 10**10, 10**9, node=5)
    assert error.node == 5
    assert error.message == "a whole number grew beyond 10**18"


def test_number_product_multiplies_ints_and_numbers():
    assert helpers.number_product(2, 3) == 6
    assert helpers.number_product(Decimal("1.5"), 2) == Decimal("3.0")
    assert helpers.number_product(10**9, 10**9) == LIMIT
    assert helpers.number_product(-(10**9), 10**9) == -LIMIT


def test_number_product_bounds_whole_products_only():
    error = _raises("R407", helpers.number_product, 10**10, 10**9, node=6)
    assert error.node == 6
    assert error.message == "a whole number grew beyond 10**18"
    _raises("R407", helpers.number_product, -(10**10), 10**9)
    # a Decimal product is bounded by the decimal context (R408), not here
    assert helpers.number_product(Decimal(10**10), Decimal(10**9)) == Decimal(10**19)


def test_whole_too_big_is_r407_with_its_message_and_node():
    error = _raises("R407", helpers.whole_too_big, 9)
    assert error.message == "a whole number grew beyond 10**18"
    assert str(error) == "a whole number grew beyond 10**18"
    assert error.node == 9


# ---- divide ------------------------------------------------------------------------


def test_divide_rounds_to_fifty_significant_digits():
    assert helpers.divide(7, 2) == Decimal("3.5")
    assert helpers.divide(1, 3) == Decimal("0." + "3" * 50)
    assert helpers.divide(Decimal("2"), Decimal("3")) == Decimal("0." + "6" * 49 + "7")


def test_divide_by_zero_is_r401_at_its_node():
    error = _raises("R401", helpers.divide, 1, 0, node=8)
    assert error.message == "division by zero"
    assert error.node == 8


def test_divide_overflow_keeps_its_node():
    with pytest.raises(ArithmeticError) as caught:
        helpers.divide(Decimal("1E+900"), Decimal("1E-900"), node=11)
    assert caught.value.node == 11


# ---- tiers -------------------------------------------------------------------------

BANDS = (
    (Decimal(0), Decimal(100), Decimal("0.1")),
    (Decimal(100), Decimal(200), Decimal("0.2")),
    (Decimal(200), None, Decimal("0.5")),
)

UNLIMITED_TIERS = '''policy "tiers of unlimited"
input {
  spent: money
}
param cap: money = unlimited
tiers major {
  band first: from 0 yuan to 30_000 yuan: 60%
  band top: above 30_000 yuan: 75%
}
rule none: money = major(from cap to cap)
rule all: money = major(from spent to cap)
output none, all
'''


def test_apply_tiers_charges_each_band_its_part():
    assert helpers.apply_tiers(BANDS, Decimal(150), Decimal(250)) == Decimal(35)
    assert helpers.apply_tiers(BANDS, Decimal(0), Decimal(100)) == Decimal(10)
    assert helpers.apply_tiers(BANDS, Decimal(150), Decimal(250), 1) == Decimal(10)



def test_apply_tiers_from_unlimited_to_unlimited_is_zero():
    # `major(from cap to cap)` with `cap = unlimited`: no band has a part of the range; a
    # band touched at one point must be skipped, not charged (unlimited - unlimited) x rate
    assert helpers.apply_tiers(BANDS, numbers.UNLIMITED, numbers.UNLIMITED) == 0
    assert helpers.apply_tiers(BANDS, Decimal(0), numbers.UNLIMITED) == numbers.UNLIMITED


def test_a_policy_tiers_from_unlimited_to_unlimited_pays_nothing():
    policy = policydsl.loads(UNLIMITED_TIERS, name="unlimited_tiers.policy")
    assert policy.evaluate({"spent": "100"}).outputs == {"none": Decimal("0.00"), "all": numbers.UNLIMITED}

def test_traced_tiers_records_the_slices_inside_the_range():
    events = []
    total = helpers.traced_tiers(events, 3, BANDS, Decimal(150), Decimal(250))
    assert total == Decimal(35)
    assert events == [helpers.new(Tiers, (3, Decimal(150), Decimal(250), (
        helpers.new(Slice, (1, Decimal(150), Decimal(200), Decimal("0.2"), Decimal(10))),
        helpers.new(Slice, (2, Decimal(200), Decimal(250), Decimal("0.5"), Decimal(25))),
    )))]


def test_traced_tiers_records_no_slice_for_a_band_touched_at_one_point():
    events = []
    total = helpers.traced_tiers(events, 1, BANDS, Decimal(100), Decimal(200))
    assert total == Decimal(20)
    (tiers,) = events
    assert tiers == helpers.new(Tiers, (1, Decimal(100), Decimal(200), (
        helpers.new(Slice, (1, Decimal(100), Decimal(200), Decimal("0.2"), Decimal(20))),
    )))


# ---- tables, invariants, requirements ----------------------------------------------


def test_a_missing_table_row_is_r403_naming_the_table_and_key():
    table = helpers.Table({"a": 1}, "fees")
    assert table["a"] == 1
    error = _raises("R403", table.__getitem__, "b")
    assert error.message == "table `fees` has no row for `b`"
    assert helpers.Table({}, "fees", default=Decimal(5))["b"] == Decimal(5)


def test_invariant_violation_is_r406_with_its_number():
    error = _raises("R406", helpers.invariant_violated, 3)
    assert error.number == 3
    assert error.message == "invariant #3 does not hold"


def test_requirement_refused_is_f304_with_its_number():
    error = _raises("F304", helpers.requirement_refused, 2)
    assert error.number == 2
    assert error.message == "requirement #2 does not hold"


# ---- work bounds (R409) ------------------------------------------------------------


def test_list_lengths_of_an_empty_list_path_is_zero():
    assert helpers.list_lengths(([],), (0, helpers.EACH, 0)) == 0
    assert helpers.list_lengths(([[1, 2], [3]],), (0, helpers.EACH)) == 2


SPAN_SMALL, SPAN_BIG, SPAN_TINY = (SimpleNamespace(location=f"line {n}") for n in (1, 2, 3))
INPUTS = ([0] * 5000, [0] * 5000, [0] * 2)


def test_check_work_reports_the_total_and_the_costliest_rule():
    entries = [
        ("small", SPAN_SMALL, [[(2,)]]),
        ("big", SPAN_BIG, [[(0,), (1,)], [(0,)]]),
        ("tiny", SPAN_TINY, [[(2,)]]),
    ]
    error = _raises("R409", helpers.check_work, (entries, ()), INPUTS)
    assert error.message == (
        "this claim needs about 25,005,004 steps over its lists (nested aggregates), more than the "
        "limit of 25,000,000; split the claim or rewrite the nested aggregate")
    assert error.rule == "big"
    assert error.span is SPAN_BIG


def test_check_work_names_the_first_of_equally_costly_rules():
    entries = [("first", SPAN_SMALL, [[(0,), (1,)]]), ("second", SPAN_BIG, [[(0,), (1,)]])]
    error = _raises("R409", helpers.check_work, (entries, ()), INPUTS)
    assert error.rule == "first"
    assert error.span is SPAN_SMALL


def test_check_work_admits_exactly_the_limit():
    assert helpers.WORK_LIMIT == 25_000_000
    assert helpers.check_work(([("r", SPAN_SMALL, [[(0,), (1,)]])], ()), INPUTS) is None


def test_check_work_any_list_path_takes_the_longest_list():
    # path None: any list of `every_list`, costed at the longest (5000, not 2)
    entries = [("r", SPAN_SMALL, [[None, (1,)], [(2,)]])]
    error = _raises("R409", helpers.check_work, (entries, ((2,), (0,))), INPUTS)
    assert error.message.startswith("this claim needs about 25,000,002 steps")
    # with no lists at all, path None costs nothing
    entries = [("r", SPAN_SMALL, [[(0,), (1,)], [None, (0,)], [(2,)]])]
    error = _raises("R409", helpers.check_work, (entries, ()), INPUTS)
    assert error.message.startswith("this claim needs about 25,000,002 steps")
