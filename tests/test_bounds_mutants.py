"""Tests that kill mutants of `policydsl/ir/bounds.py` (mutmut, docs/mutation.md): each
asserts which rules `bounds.infallible_rules` lets the fast variant leave uncomputed, or the
digits a bound counts, found where the exactness limit (`numbers.PRECISION`) or the whole
number limit (10**18, R407) falls between two policies that differ by one digit."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

import policydsl
from policydsl.backends import interpreter
from policydsl.backends import python as compiler
from policydsl.ir import bounds
from policydsl.runtime import numbers

INPUTS = """amount: money
  n: int
  m: int
  s: ratio
  x: number
  a: date
  b: date
  g: bool
  xs: list of money
  items: list of Item"""

DEFINITIONS = """record Item {
  n: int
  amount: money
}
table with_default: int -> money {
  1: 5 yuan
  default: 1000000 yuan
}
table empty: int -> money {
}
table small: int -> int {
  1: 5
}
table by_grade: int -> ratio {
  1: 90%
}
tiers schedule {
  from 0 yuan to 1000000 yuan: 7.5%
  above 1000000 yuan: 20%
}
param cap = unlimited
function ninety(v: money): money = v * 90%
"""


def _infallible(*rules: str) -> set[str]:
    """The infallible rules of a policy with `INPUTS`, `DEFINITIONS` and `rules` (`name: type = body`)."""
    body = "\n".join(f"rule {rule}" for rule in rules)
    names = [rule.split(":")[0] for rule in rules]
    text = f'policy "t"\ninput {{\n  {INPUTS}\n}}\n{DEFINITIONS}\noutput {names[-1]}\n{body}\n'
    policy = policydsl.loads(text, "t.policy")
    return set(bounds.infallible_rules(policy.program.ir.segments[0]))


def _safe(body: str) -> bool:
    return "r" in _infallible(f"r: {body}")


def _times(digits: int) -> str:
    """A multiplier of exactly `digits` whole digits and no fraction: int inputs (18 each), a power of ten."""
    factors = ["n"] * (digits // 18) + ([str(10 ** (digits % 18 - 1))] if digits % 18 else [])
    return "".join(f" * {factor}" for factor in factors)


def _fits(money: str, room: int) -> bool:
    return _safe(f"money = ({money}){_times(room)}")


def _digits(money: str) -> int | None:
    """W + F of the bound of the money expression `money`, read from the products with it
    that are infallible: W + F + room <= PRECISION. None when it is never infallible."""
    if not _fits(money, 0):
        return None
    low, high = 0, numbers.PRECISION + 1  # fits with room `low`, not with `high`
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if _fits(money, mid) else (low, mid)
    assert not _fits(money, low + 1)
    return numbers.PRECISION - low


# ---- the probes themselves -----------------------------------------------------------------


def test_a_product_is_infallible_exactly_up_to_the_precision():
    # money is below 10**15, to the fen: 17 digits; 183 more make 200, exact; 184 do not
    assert _fits("amount", 183) is True
    assert _fits("amount", 184) is False
    assert _digits("amount") == 17


def test_the_probe_agrees_with_the_interpreter_at_the_limit():
    """What the probe calls exact is (the largest facts give 200 digits); a product the
    analysis refuses, with more significant digits than the precision, is R408."""
    text = (
        f'policy "t"\ninput {{\n  amount: money\n  n: int\n}}\noutput r, q\n'
        f"rule r: money = amount{_times(183)}\nrule q: money = amount{_times(198)}\n"
    )
    policy = policydsl.loads(text, "t.policy")
    assert bounds.infallible_rules(policy.program.ir.segments[0]) == {"r"}
    facts = {"amount": "999999999999999.99", "n": 10**18 - 1}
    with pytest.raises(policydsl.EvaluationError) as error:
        policy.evaluate(facts)
    assert error.value.code == "R408"
    exact = policydsl.loads(text.replace("output r, q", "output r").split("rule q:")[0], "t.policy")
    expected = Decimal(99999999999999999 * (10**18 - 1) ** 10 * 100).scaleb(-2, numbers.EXACT)
    assert exact.evaluate(facts).outputs["r"] == expected


# ---- constant_bound ---------------------------------------------------------------------


def test_a_decimal_zero_has_one_whole_digit_and_no_fraction():
    assert bounds.constant_bound(Decimal("0.00")) == (1, 0)
    assert bounds.constant_bound(Decimal("-0E-7")) == (1, 0)


def test_a_constant_longer_than_the_default_context_is_counted_exactly():
    # normalize() under Python's default context (28 digits) would round this to (31, 0)
    assert bounds.constant_bound(Decimal("1" * 30 + ".5")) == (30, 1)


# ---- rules, refs, lets ---------------------------------------------------------------------


def test_a_whole_rule_at_the_limit_of_an_int_is_infallible():
    assert _safe("int = n") is True  # |n| < 10**18: the R407 check where it is assigned holds
    assert _safe("int = -n") is True
    assert _safe("int = n * 2") is False  # 19 digits: may pass 10**18
    assert _safe("int = max(n, m) * 2") is False  # the widest operand of min/max counts


def test_a_rule_read_by_a_later_rule_keeps_its_bound():
    assert _infallible("whole: int = n", "r: int = whole * 2") == {"whole"}
    assert _infallible("whole: int = days_between(a, b)", "r: int = whole * 2") == {"whole", "r"}
    assert _digits("ninety(amount)") == 19


def test_reading_a_table_or_a_schedule_as_a_value_cannot_fail():
    assert _safe("bool = n in by_grade") is True


def test_a_let_gives_its_body_the_bound_of_its_value():
    assert _safe("money = let v = amount in v * 90%") is True
    assert _safe(f"money = let v = amount in v{_times(183)}") is True  # (15, 2), like `amount`
    assert _safe(f"money = let v = amount in v{_times(184)}") is False
    assert _safe("money = let v = amount * by_grade[n] in amount") is False  # the value is computed


def test_a_negation_is_as_safe_as_its_operand():
    assert _safe("ratio = -by_grade[n]") is False  # R403
    assert _digits("-amount") == 17


# ---- products of whole numbers -------------------------------------------------------------


def test_a_whole_product_below_10_to_the_18_is_infallible():
    assert _safe("int = days_between(a, b) * 2") is True
    assert _safe("int = days_between(a, b) * 10000000000") is True  # 7 + 11 = 18 digits
    assert _safe("int = days_between(a, b) * 100000000000") is False  # 19 digits
    assert _safe("number = days_between(a, b) * 1.5") is True  # a NumberProduct
    assert _safe("int = days_between(a, b) * days_between(a, b) * days_between(a, b)") is False  # 21 digits


def test_a_whole_product_inside_money_is_still_checked_against_10_to_the_18():
    assert _safe("money = amount * (n * m)") is False  # n * m is R407 past 10**18
    assert _safe("int = small[n] * 2") is False  # R403


# ---- records, rounding, aggregates --------------------------------------------------------


def test_a_field_of_a_record_has_the_bound_of_its_type():
    assert _safe("bool = all(i in items where i.amount > 5 yuan)") is True
    assert _safe("bool = all(i in items where i.n * 2 > 5)") is False  # 19 digits
    assert _digits("sum(i.amount for i in items)") == 36


def test_rounding_adds_a_whole_digit_and_keeps_the_steps_fraction():
    assert _digits("round(amount, half_up)") == 18  # (16, 2)
    assert _digits("round(amount, down, 1 yuan)") == 16  # (16, 0)
    assert _safe("money = round(amount / m, half_up)") is False  # R401
    assert _safe("money = round(cap, half_up)") is False  # unbounded
    assert _safe("money = round(amount * by_grade[n], half_up)") is False  # R403


def test_any_all_and_count_cannot_fail_when_their_parts_cannot():
    assert _safe("bool = any(i in xs where i > 1 yuan)") is True
    assert _safe("bool = all(i in xs where i > 1 yuan)") is True
    assert _safe("bool = count(i in xs where i > 1 yuan) > 2") is True
    assert _safe("bool = any(i in xs where i / m > 1 yuan)") is False
    assert _digits("amount * count(i in xs where i > 1 yuan)") == 17 + 19  # a count: (19, 0)


def test_a_sum_has_the_digits_of_its_body_and_of_the_longest_list():
    assert _digits("sum(i for i in xs)") == 2 + 15 + 19
    assert _safe("money = sum(i * by_grade[n] for i in xs)") is False  # the body may fail
    assert _safe("money = sum(i / m for i in xs)") is False  # unbounded body
    assert _safe("money = sum(i * s * s * s * s for i in xs)") is False  # 189 digits, 208 summed


# ---- when, dates, sums and products --------------------------------------------------------


def test_a_when_is_safe_only_if_every_condition_and_value_is():
    assert _safe("money = when amount / m > 1 yuan then amount otherwise 0 yuan") is False
    assert _safe("money = when amount > 1 yuan then amount / m otherwise 0 yuan") is False
    assert _safe("money = when amount > 1 yuan then amount otherwise 0 yuan") is True
    assert _digits("when g then amount otherwise 0 yuan") == 17


def test_a_day_count_has_seven_whole_digits():
    assert _digits("amount * days_between(a, b)") == 17 + 7


def test_sums_and_products_are_as_safe_as_both_operands():
    assert _safe("money = amount * by_grade[n]") is False
    assert _safe("money = amount + amount * by_grade[n]") is False
    assert _digits("amount + 1 yuan") == 18  # (16, 2): a carry
    assert _digits("1 yuan + amount") == 18


# ---- tiers and tables -----------------------------------------------------------------------


def test_tiers_count_the_span_the_rate_and_the_bands():
    # span (15, 2) from `amount`, rate (1, 3) from 7.5%, 2 bands: (15 + 1 + 1 + 1, 2 + 3)
    assert _digits("schedule(from 0 yuan to amount)") == 23
    # span (7, 0) from the edge 1000000 yuan: (7 + 1 + 1 + 1, 0 + 3)
    assert _digits("schedule(from 0 yuan to 1 yuan)") == 13
    assert _safe("money = schedule(from 0 yuan to cap)") is False
    assert _safe("money = schedule(from 0 yuan to amount * by_grade[n])") is False


def test_a_lookup_has_the_widest_row_or_default():
    assert _digits("with_default[n]") == 7
    assert _safe("money = empty[n]") is False  # no row, no default: R403


def test_the_sink_plan_leaves_a_rule_that_can_fail_in_order():
    text = (
        f'policy "t"\ninput {{\n  {INPUTS}\n}}\n{DEFINITIONS}\noutput r\n'
        "rule safe: int = days_between(a, b) * 2\nrule risky: int = n * 2\n"
        "rule r: int = when g then safe otherwise risky\n"
    )
    policy = policydsl.loads(text, "t.policy")
    assert compiler._sink_plan(policy.program.ir, policy.program.ir.segments[0]) == {"safe": ("r", 0)}


# ---- regression: rounding a number that holds a Python int ------------------------------------

ROUNDED_NUMBER = """policy "t"
input {
  a: date
  b: date
  g: bool
}
output r
rule k: number = days_between(a, b)
rule rk: number = round(k, half_up, 1)
rule r: number = when g then rk otherwise 0
"""


@pytest.mark.parametrize("g", [True, False])
def test_rounding_a_number_that_holds_an_int_is_sunk_and_agrees_with_the_reference(g):
    """`k` is an int declared `number`: it stays a Python int. Rounding it raised AttributeError
    in both variants, so `rk`, called infallible and sunk into `when g`, hid the crash when g
    was false. Mutation testing found it; the runtime now rounds such an int as its Decimal, so
    `rk` cannot fail and is sunk soundly."""
    policy = policydsl.loads(ROUNDED_NUMBER, "t.policy")
    ir = policy.program.ir
    assert bounds.infallible_rules(ir.segments[0]) == {"k", "rk", "r"}
    assert compiler._sink_plan(ir, ir.segments[0]) == {"k": ("r", 0), "rk": ("r", 0)}  # k only for rk
    facts = {"a": "2025-01-01", "b": "2025-02-01", "g": g}
    with decimal.localcontext(numbers.EXACT):
        reference = interpreter.run(ir, 0, policy.read_facts(facts))[:1]
    assert tuple(policy.evaluate(facts).outputs.values()) == reference == ((Decimal("31"),) if g else (0,))


# ---- the facts a bound assumes: a field default is held to what a claim could carry ------------

DEFAULTED_NUMBER = """policy "t"
input {
  amount: money
  x: number = 0.123456789012345678901234567890123457 * 0.123456789012345678901234567890123457
  g: bool
}
output r
rule p: money = amount * x * x * x
rule r: money = when g then p otherwise 0 yuan
"""


def test_a_default_beyond_the_readers_limits_is_refused_so_bounds_hold_for_defaults_too():
    """Found by mutation testing: this default has 72 digits after the point where a read
    number has at most 40, so `p` (bounded as 197 digits) needed 216 and failed with R408 while
    called infallible. The checker now refuses such a default (C273)."""
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(DEFAULTED_NUMBER, "t.policy")
    assert [d.code for d in raised.value.diagnostics] == ["C273"]
    fixed = DEFAULTED_NUMBER.replace(" * 0.123456789012345678901234567890123457\n", "\n")
    policy = policydsl.loads(fixed, "t.policy")
    assert "p" in bounds.infallible_rules(policy.program.ir.segments[0])
    assert policy.evaluate({"amount": "999.99", "g": False}).outputs["r"] == Decimal("0.00")
