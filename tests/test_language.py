"""The language's semantics, one construct at a time, on small policies."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

import policydsl
from policydsl.runtime.helpers import add_months, apply_tiers

from .conftest import policy_text


def evaluate(body: str, facts: dict, inputs: str = "amount: money", output: str = "result"):
    policy = policydsl.loads(policy_text(f"{body}\noutput {output}", inputs))
    return policy.evaluate(facts).outputs[output]


def codes(text: str) -> list[str]:
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text)
    return [d.code for d in raised.value.diagnostics]


@pytest.mark.parametrize(
    "start,months,expected",
    [
        ("2025-11-30", 3, "2026-02-28"),
        ("2024-11-30", 3, "2025-02-28"),
        ("2023-11-30", 3, "2024-02-29"),
        ("2025-01-31", 1, "2025-02-28"),
        ("2025-03-31", 4, "2025-07-31"),
        ("2025-01-15", 6, "2025-07-15"),
        ("2025-12-20", 0, "2025-12-20"),
        ("2025-03-31", -1, "2025-02-28"),
        ("2025-10-31", 14, "2026-12-31"),
        # days 29-31: clamped only where the month is shorter
        ("2025-01-29", 1, "2025-02-28"),
        ("2024-01-29", 1, "2024-02-29"),
        ("2025-03-29", 1, "2025-04-29"),
        ("2025-01-30", 1, "2025-02-28"),
        ("2025-05-31", 1, "2025-06-30"),
        ("2025-08-30", 6, "2026-02-28"),
        ("2025-12-29", 2, "2026-02-28"),
    ],
)
def test_add_calendar_months_clamps_to_month_end(start, months, expected):
    assert add_months(datetime.date.fromisoformat(start), months) == datetime.date.fromisoformat(expected)


def test_date_plus_months_in_a_policy():
    result = evaluate("rule result: date = start + 3 months", {"start": "2025-11-30"}, inputs="start: date")
    assert result == datetime.date(2026, 2, 28)


def test_marginal_tiers_pay_each_slice_at_its_rate():
    bands = ((Decimal(15000), Decimal(50000), Decimal("0.6")), (Decimal(50000), Decimal(100000), Decimal("0.65")), (Decimal(100000), None, Decimal("0.7")))
    assert apply_tiers(bands, Decimal(15000), Decimal(55800)) == Decimal("24770.00")
    assert apply_tiers(bands, Decimal(600000), Decimal(900000)) == Decimal("210000.0")
    assert apply_tiers(bands, Decimal(0), Decimal(10000)) == 0
    assert apply_tiers(bands, Decimal(60000), Decimal(40000)) == 0  # empty band


def test_tiers_in_a_policy():
    body = """
tiers schedule { from 1000 yuan to 2000 yuan: 50%  above 2000 yuan: 80% }
rule result: money = schedule(from 0 yuan to amount)
"""
    assert evaluate(body, {"amount": "2500"}) == Decimal("900.00")


@pytest.mark.parametrize(
    "mode,value,expected",
    [("half_up", "10.005", "10.01"), ("half_even", "10.005", "10.00"), ("down", "10.009", "10.00"), ("up", "10.001", "10.01")],
)
def test_rounding_is_explicit_and_to_the_fen(mode, value, expected):
    # money literals may carry more than two decimals; round() brings them to the fen
    policy = policydsl.loads(policy_text(f"param v: money = {value} yuan\nrule result: money = round(v, {mode})\noutput result"))
    assert policy.evaluate({"amount": "0"}).outputs["result"] == Decimal(expected)


def test_unrounded_money_output_is_refused_not_silently_rounded():
    policy = policydsl.loads(policy_text("rule result: money = amount * 33%\noutput result"))
    assert policy.evaluate({"amount": "100"}).outputs["result"] == Decimal("33.00")
    with pytest.raises(policydsl.EvaluationError, match="not a whole number of fen"):
        policy.evaluate({"amount": "0.10"})


def test_conditionals_take_the_first_true_branch():
    body = """
rule result: ratio =
  when amount > 1000 yuan then 50%
  when amount > 100 yuan then 70%
  otherwise 90%
"""
    assert evaluate(body, {"amount": "5000"}) == Decimal("0.5")
    assert evaluate(body, {"amount": "500"}) == Decimal("0.7")
    assert evaluate(body, {"amount": "100"}) == Decimal("0.9")


def test_aggregates_sum_count_any_all():
    inputs = "items: list of Item"
    schema = "enum Kind { a, b }\nrecord Item { kind: Kind  amount: money }\n"
    facts = {"items": [{"kind": "a", "amount": "1.50"}, {"kind": "b", "amount": "2"}, {"kind": "a", "amount": "3"}]}

    def run(expr, type_):
        policy = policydsl.loads(schema + policy_text(f"rule result: {type_} = {expr}\noutput result", inputs))
        return policy.evaluate(facts).outputs["result"]

    assert run("sum(i.amount for i in items)", "money") == Decimal("6.50")
    assert run("sum(i.amount for i in items where i.kind = a)", "money") == Decimal("4.50")
    assert run("count(i in items where i.kind = a)", "int") == 2
    assert run("count(i in items)", "int") == 3
    assert run("any(i in items where i.amount > 2.50 yuan)", "bool") is True
    assert run("all(i in items where i.amount > 2.50 yuan)", "bool") is False
    assert run("sum(i.amount for i in items where i.kind = Kind.b)", "money") == Decimal("2.00")


def test_empty_list_sums_to_zero_of_its_unit():
    schema = "record Item { amount: money }\n"
    policy = policydsl.loads(schema + policy_text("rule result: money = sum(i.amount for i in items)\noutput result", "items: list of Item"))
    assert policy.evaluate({"items": []}).outputs["result"] == Decimal("0.00")


def test_min_max_clamp_membership_and_logic():
    body = """
param allowed = {1, 2}
rule result: bool = clamp(amount, 10 yuan, 20 yuan) = 20 yuan and not (level in allowed) or min(amount, 1 yuan) > 5 yuan
"""
    policy = policydsl.loads("enum L { 1, 2, 3 }\n" + policy_text(f"{body}\noutput result", "amount: money  level: L"))
    assert policy.evaluate({"amount": "50", "level": 3}).outputs["result"] is True
    assert policy.evaluate({"amount": "50", "level": 2}).outputs["result"] is False


def test_table_lookup_and_membership_in_table_keys():
    text = """
enum C { x, y, z }
input { c: C }
table bonus: C -> money { x: 1 yuan  y: 2 yuan  default: 0 yuan }
table listed: C -> money { x: 1 yuan  y: 2 yuan  z: 3 yuan }
rule result: money = when c in bonus then bonus[c] + listed[c] otherwise 0 yuan
output result
"""
    policy = policydsl.loads(text)
    assert [policy.evaluate({"c": c}).outputs["result"] for c in "xyz"] == [Decimal("2.00"), Decimal("4.00"), Decimal("0.00")]


def test_enum_table_must_cover_every_member_or_declare_a_default():
    text = "enum C { x, y, z }\ninput { c: C }\ntable t: C -> money { x: 1 yuan }\nrule r: money = t[c]\noutput r\n"
    assert codes(text) == ["C223"]


def test_table_default_row():
    text = "enum C { x, y }\ninput { c: C }\ntable t: C -> ratio { x: 10%  default: 50% }\nrule result: ratio = t[c]\noutput result\n"
    assert policydsl.loads(text).evaluate({"c": "y"}).outputs["result"] == Decimal("0.5")


def test_defaults_apply_only_when_declared():
    policy = policydsl.loads(policy_text("output paid", "amount: money  paid: money = 0 yuan"))
    assert policy.evaluate({"amount": "1"}).outputs["paid"] == Decimal("0.00")
    with pytest.raises(policydsl.FactsError, match="amount: missing"):
        policy.evaluate({})


def test_unicode_names_and_citations():
    text = """
policy "示例省 城乡居民医保" version "2025"
input { 金额: money }
param 报销比例 = 60% cite "实施意见 第四条"
rule 报销: money = round(金额 * 报销比例, half_up) because "按比例报销"
output 报销
"""
    policy = policydsl.loads(text)
    decision = policy.evaluate({"金额": "100"})
    assert decision.outputs["报销"] == Decimal("60.00")
    explanation = decision.explain()
    assert "实施意见 第四条" in explanation and "按比例报销" in explanation


def test_chinese_units_are_accepted():
    text = policy_text("param cap = 1500 元\nparam wait = 3 个月\nrule result: money = min(amount, cap)\noutput result")
    assert policydsl.loads(text).evaluate({"amount": "2000"}).outputs["result"] == Decimal("1500.00")


def test_division_by_zero_names_the_rule():
    policy = policydsl.loads(policy_text("rule share: number = amount / amount\noutput share"))
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"amount": "0"})
    assert raised.value.rule == "share" and raised.value.code == "R401"
    assert str(raised.value) == "division by zero (rule `share` at <policy>:2:22)"  # at `amount / amount`


@pytest.mark.parametrize(
    "body,code",
    [
        ("rule r: money = amount + 10%", "C203"),
        ("rule r: bool = amount < 3 months", "C203"),
        ("rule r: money = max(0, amount)", "C203"),
        ("rule r: money = round(amount)", "C203"),
        ("rule r: money = round(amount, nearest)", "C203"),
        ("rule r: months = amount", "C203"),
        ("rule r: money = amont", "C200"),
        ("rule r: money = amount\nrule r: money = amount", "C201"),
        ("rule r: money = s\nrule s: money = r", "C202"),
        ("rule r: money = squareroot(amount)", "C203"),
        ("param p = amount", "C207"),
        ("rule r: money = amount\noutput r, q", "C205"),
        ("rule r: money = amount.x", "C203"),
        ("rule r: text = when amount > 0 yuan then 1 yuan otherwise \"no\"", "C203"),
    ],
)
def test_each_check_reports_its_code(body, code):
    text = policy_text(body) + ("" if "output" in body else "output amount\n")
    assert code in codes(text)


def test_all_errors_are_found_in_one_pass():
    text = policy_text("rule a: money = b\nrule c: money = amount + 5%\nparam p = 1\nparam p = 2\noutput a, c, zzz")
    found = codes(text)
    assert {"C200", "C203", "C201", "C205"} <= set(found)


def test_undefined_name_suggests_nearest():
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(policy_text("param deductible = 1 yuan\nrule r: money = amount - deductable\noutput r"))
    diagnostic = raised.value.diagnostics[0]
    assert diagnostic.hint == "did you mean `deductible`?"
    assert (diagnostic.span.line, diagnostic.span.column) == (3, 26)


def test_syntax_error_location_and_hint():
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads("input { a: money }\nrule r = when a > 1 yuan a otherwise a\noutput r", name="p.policy")
    rendered = str(raised.value)
    assert rendered.startswith("p.policy:2:26: error[P100]")
    assert "missing `then`" in rendered


def test_money_ratio_arithmetic_keeps_units():
    assert evaluate("rule result: money = round(amount * 75%, half_up)", {"amount": "11500"}) == Decimal("8625.00")
    assert evaluate("rule result: ratio = 75% - 10%", {"amount": "1"}) == Decimal("0.65")


def test_printed_strings_read_back_exactly():
    """`show` and `fmt` print strings the grammar reads back as the same text (control characters too)."""
    from policydsl.syntax import printer

    text = 'input { a: text }\nrule r: bool = a = "x\\u000dy\\tz\\"q\\\\"\n  because "line\\u000cfeed"\noutput r\n'
    rule = policydsl.loads(text).env.policy.definitions[1]
    again = policydsl.loads("input { a: text }\n" + printer.definition(rule) + "\noutput r\n").env.policy.definitions[1]
    assert again == rule
    assert rule.annotations[0].text == "line\x0cfeed"
