"""Generated code you can debug (issue 10): errors name the failing sub-expression, a long
`when` chain compiles, and results do not depend on the caller's decimal context."""

from __future__ import annotations

import decimal
import linecache

import pytest

import policydsl

from .conftest import EXAMPLE_POLICY, example_claims

DIVISION = """policy "t"
input {
  a: number
  b: number
}
output r
rule r: number = 1 + a / b
"""


def test_a_division_by_zero_names_the_division_not_the_rule():
    policy = policydsl.loads(DIVISION, "t.policy")
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"a": 1, "b": 0})
    error = raised.value
    assert error.code == "R401"
    assert error.rule == "r"
    assert (error.span.line, error.span.column) == (7, 22)
    assert error.span.text == "a / b"
    assert str(error) == "division by zero in `a / b` (rule `r` at t.policy:7:22)"


def test_the_traced_run_names_the_same_sub_expression():
    policy = policydsl.loads(DIVISION, "t.policy")
    inputs = policy.read_facts({"a": 1, "b": 0})
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.run_traced(inputs)
    assert raised.value.span.text == "a / b"


def test_of_two_divisions_on_one_line_the_failing_one_is_named():
    text = DIVISION.replace("rule r: number = 1 + a / b", "rule r: number = a / 2 + 1 / (b - 1)")
    policy = policydsl.loads(text, "t.policy")
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"a": 1, "b": 1})
    assert raised.value.span.text == "1 / (b - 1)"


def test_a_missing_table_row_names_the_lookup():
    text = """policy "t"
input {
  level: int
}
output r
table rate: int -> ratio {
  1: 90%
  2: 80%
}
rule r: ratio = 100% - rate[level]
"""
    policy = policydsl.loads(text, "t.policy")
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"level": 3})
    assert raised.value.code == "R403"
    assert raised.value.span.text == "rate[level]"


def test_generated_source_is_registered_with_linecache():
    policy = policydsl.loads(DIVISION, "t.policy")
    (filename,) = policy.program.lines
    assert any("_divide(" in line for line in linecache.getlines(filename))


@pytest.mark.parametrize("count", [60, 1_000])
def test_a_long_when_chain_compiles_to_if_elif(count):
    branches = "\n".join(f"  when n = {i} then {i * 10}" for i in range(count))
    text = f'policy "c"\ninput {{\n  n: int\n}}\noutput r\nrule r: int =\n{branches}\n  otherwise 0\n'
    policy = policydsl.loads(text, "c.policy")
    assert policy.evaluate({"n": count - 1}).outputs == {"r": (count - 1) * 10}
    assert policy.evaluate({"n": 0}).outputs == {"r": 0}
    assert policy.evaluate({"n": count + 10}).outputs == {"r": 0}
    assert "elif" in policy.program.source
    assert "when n = 41" in policy.evaluate({"n": 41}).explain()


def test_a_long_chain_inside_an_expression_is_still_refused():
    branches = " ".join(f"when n = {i} then {i}" for i in range(60))
    text = f'policy "c"\ninput {{\n  n: int\n}}\noutput r\nrule r: int = 1 + ({branches} otherwise 0)\n'
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, "c.policy")
    assert {d.code for d in raised.value.diagnostics} == {"L502"}


def test_a_callers_six_digit_context_changes_no_result():
    policy = policydsl.load(EXAMPLE_POLICY)
    claims = example_claims()[:500]

    def outcomes():
        found = []
        for claim in claims:
            try:
                decision = policy.evaluate(claim)
                found.append(decision.to_json())
                found.append(decision.explain())
            except policydsl.PolicydslError as error:
                found.append(str(error))
        return found

    expected = outcomes()
    with decimal.localcontext() as caller:
        caller.prec = 6
        caller.traps[decimal.Inexact] = True
        assert outcomes() == expected
        assert decimal.getcontext().prec == 6  # the caller's context is restored


def test_a_failing_rule_body_is_named_by_the_rule_in_every_dated_variant():
    """The whole expression of a rule is not repeated as a sub-expression, in whichever
    dated variant the claim runs."""
    text = """policy "t"
  as of day
input {
  day: date
  a: number
  b: number
}
output r
rule r: number from 2025-01-01 until 2025-06-30 = a / b
rule r: number from 2025-07-01 = a / (b - 1)
"""
    policy = policydsl.loads(text, "t.policy")
    messages = []
    for facts in ({"day": "2025-02-01", "a": 1, "b": 0}, {"day": "2025-08-01", "a": 1, "b": 1}):
        with pytest.raises(policydsl.EvaluationError) as raised:
            policy.evaluate(facts)
        messages.append(str(raised.value))
    assert messages == ["division by zero (rule `r` at t.policy:9:51)", "division by zero (rule `r` at t.policy:10:34)"]


# ---- passes of the fast variant (issue 13): folding constants, one membership test for a chain


FOLDED = """policy "t"
input {
  paid: money
  flag: bool
}
param cap: money = 400000 yuan
param share: ratio = 20%
param nothing: number = 0
output room, odd
rule room: money = max(0 yuan, cap * share - paid)
rule odd: number = when flag then 1 / nothing otherwise 0
"""


def _fast_source(policy) -> str:
    source = policy.program.source
    return source[: source.index("def run_traced")]


def test_a_constant_product_is_computed_once_not_per_claim():
    policy = policydsl.loads(FOLDED, "t.policy")
    fast = _fast_source(policy)
    assert "*" not in fast  # `cap * share` is folded into one constant
    assert "*" in policy.program.source[policy.program.source.index("def run_traced"):]  # the traced variant keeps it
    decision = policy.evaluate({"paid": "1000.00", "flag": False})
    assert decision.outputs["room"] == decimal.Decimal("79000.00")
    assert policy.run_traced(policy.read_facts({"paid": "1000.00", "flag": False}))[0]["room"] == decimal.Decimal("79000.00")


def test_a_constant_expression_that_fails_still_fails_per_claim_where_it_is():
    policy = policydsl.loads(FOLDED, "t.policy")
    assert policy.evaluate({"paid": "0.00", "flag": False}).outputs["odd"] == 0  # not taken: no error
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"paid": "0.00", "flag": True})
    assert raised.value.code == "R401" and raised.value.span.text == "1 / nothing"


CHAIN = """policy "t"
input {
  kind: text
  amount: money
}
output covered
rule covered: money = when kind = "drug" then amount when kind = "exam" then amount when kind = "bed" then amount when kind = "meal" then 0 yuan otherwise round(amount / 2, half_up)
"""


@pytest.mark.parametrize("kind, value, arm", [("drug", "10.00", 0), ("exam", "10.00", 1), ("bed", "10.00", 2), ("meal", "0", 3), ("toy", "5.00", 4)])
def test_a_chain_of_equalities_with_one_value_is_one_membership_test(kind, value, arm):
    policy = policydsl.loads(CHAIN, "t.policy")
    fast = _fast_source(policy)
    assert fast.count(" in k") == 1 and '== ' not in fast.split("if ", 1)[1].split(" in k")[0]
    facts = {"kind": kind, "amount": "10.00"}
    assert policy.evaluate(facts).outputs["covered"] == decimal.Decimal(value)
    outputs, steps = policy.run_traced(policy.read_facts(facts))
    assert outputs["covered"] == decimal.Decimal(value)
    branches = [event for step in steps for event in step.events if type(event).__name__ == "Branch"]
    assert [event.index for event in branches] == [arm]  # the trace still names the arm taken
