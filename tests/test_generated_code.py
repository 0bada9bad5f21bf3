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
