"""The fast variant computes a rule that cannot fail only where its value is needed (issue
13): `ir.bounds` says which rules cannot fail, `backends/python.py` sinks them into the
`when` arm that reads them. A claim must still fail exactly where the reference
interpreter, which computes every rule, fails."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

import policydsl
from policydsl.backends import interpreter
from policydsl.backends import python as compiler
from policydsl.ir import bounds
from policydsl.runtime import numbers

from .conftest import example_claims

SINKING = """policy "t"
enum Level { 1, 2, 3 }
input {
  waiting: bool
  amount: money
  level: Level
  grade: int
  n: int
  d: number
}
table every_level: Level -> ratio {
  1: 90%
  2: 75%
  3: 60%
}
table by_grade: int -> ratio {
  1: 90%
  2: 75%
}
param cap = 1000 yuan
output paid
rule share: ratio = every_level[level]
rule capped: money = min(amount * share, cap)
rule partial_share: ratio = by_grade[grade]
rule partial: money = amount * partial_share
rule per_item: number = d / n
rule doubled: money = amount * 2
rule paid: money = when waiting then 0 yuan when level = 3 then round(partial, half_up) otherwise round(capped, half_up)
"""


def _policy():
    return policydsl.loads(SINKING, "t.policy")


def _fast_lines(policy) -> list[str]:
    source = policy.program.source
    return source[: source.index("def run_traced")].splitlines()


def _reference(policy, facts: dict):
    """The reference interpreter's outputs, or the code of the error it raises."""
    inputs = policy.read_facts(facts)
    try:
        with decimal.localcontext(numbers.EXACT):
            return interpreter.run(policy.program.ir, 0, inputs)[: len(policy.output_names)]
    except policydsl.EvaluationError as error:
        return error.code


def _fast(policy, facts: dict):
    try:
        return tuple(policy.evaluate(facts).outputs.values())
    except policydsl.EvaluationError as error:
        return error.code


def test_which_rules_cannot_fail():
    segment = _policy().program.ir.segments[0]
    # by_grade has no row for every int (R403), a division may fail (R401); `partial` reads
    # the value of `partial_share`, which is bounded whether or not it was computed
    assert bounds.infallible_rules(segment) == {"share", "capped", "partial", "doubled", "paid"}


def _assigned(policy) -> list[tuple[int, str]]:
    """(indent, rule name) of each rule assignment of the fast variant, in order."""
    names = {mangled: name for name, mangled in compiler._mangle(policy.program.ir).items()}
    found = []
    for line in _fast_lines(policy):
        target = line.strip().split(" = ")[0]
        if " = " in line and target in names and names[target] in policy.program.ir.definitions:
            found.append((len(line) - len(line.lstrip()), names[target]))
    return found


def test_rules_that_cannot_fail_are_computed_in_the_arm_that_reads_them_or_not_at_all():
    assert _assigned(_policy()) == [
        (4, "partial_share"),  # can fail: computed in order, as the interpreter does
        (4, "per_item"),
        (8, "paid"),  # when waiting: nothing else
        (8, "partial"),  # when level = 3
        (8, "paid"),
        (8, "share"),  # otherwise: share, then capped, then paid
        (8, "capped"),
        (8, "paid"),
    ]  # `doubled` is read by nothing: not computed


def test_what_an_output_or_an_invariant_reads_is_computed_in_order():
    text = SINKING.replace("output paid", "output paid, doubled").replace(
        "rule paid:", "invariant within_cap: capped <= cap\nrule paid:"
    )
    assert [name for indent, name in _assigned(policydsl.loads(text, "t.policy")) if indent == 4][:5] == [
        "share", "capped", "partial_share", "per_item", "doubled",
    ]


@pytest.mark.parametrize(
    "facts",
    [
        {"waiting": False, "amount": "500.00", "level": 1, "grade": 1, "n": 2, "d": 1},
        {"waiting": False, "amount": "5000.00", "level": 2, "grade": 2, "n": 2, "d": 1},
        {"waiting": True, "amount": "500.00", "level": 1, "grade": 1, "n": 2, "d": 1},
        {"waiting": True, "amount": "500.00", "level": 1, "grade": 3, "n": 2, "d": 1},  # by_grade has no row 3: R403
        {"waiting": True, "amount": "500.00", "level": 1, "grade": 1, "n": 0, "d": 1},  # d / n: R401, unread but computed
        {"waiting": False, "amount": "500.00", "level": 3, "grade": 2, "n": 1, "d": 1},
        {"waiting": False, "amount": "999999999.99", "level": 2, "grade": 1, "n": 3, "d": 1},
    ],
)
def test_fast_results_and_failures_are_the_reference_interpreters(facts):
    policy = _policy()
    assert _fast(policy, facts) == _reference(policy, facts)


def test_a_claim_in_waiting_still_fails_on_a_rule_that_can_fail():
    policy = _policy()
    assert _fast(policy, {"waiting": True, "amount": "1.00", "level": 1, "grade": 3, "n": 1, "d": 1}) == "R403"
    assert _fast(policy, {"waiting": True, "amount": "1.00", "level": 1, "grade": 1, "n": 0, "d": 1}) == "R401"
    assert _fast(policy, {"waiting": True, "amount": "1.00", "level": 1, "grade": 1, "n": 1, "d": 1}) == (Decimal("0"),)


def test_the_traced_variant_computes_every_rule():
    policy = _policy()
    inputs = policy.read_facts({"waiting": True, "amount": "500.00", "level": 1, "grade": 1, "n": 2, "d": 1})
    outputs, steps = policy.run_traced(inputs)
    assert outputs["paid"] == Decimal("0")
    assert [policy.program.rule_names[step.rule] for step in steps] == [
        "share", "capped", "partial_share", "partial", "per_item", "doubled", "paid",
    ]


def _infallible(body: str, inputs: str = "amount: money", extra: str = "") -> bool:
    text = f'policy "t"\ninput {{\n  {inputs}\n}}\n{extra}\noutput r\nrule r: {body}\n'
    policy = policydsl.loads(text, "t.policy")
    return "r" in bounds.infallible_rules(policy.program.ir.segments[0])


@pytest.mark.parametrize(
    "body, inputs, extra, expected",
    [
        ("money = amount + amount * 90%", "amount: money", "", True),
        ("money = amount * s * s * s", "amount: money\n  s: ratio", "", True),  # 18 + 128 digits of 200
        ("money = amount * s * s * s * s * s", "amount: money\n  s: ratio", "", False),  # 20 + 212: may be inexact
        ("number = x * x", "x: number", "", False),  # a product of numbers may be of Python ints (R407)
        ("money = cap - amount", "amount: money", "param cap = unlimited", False),  # unbounded
        ("money = min(amount, cap)", "amount: money", "param cap = unlimited", True),  # comparisons cannot fail
        ("money = min(amount, cap) - amount", "amount: money", "param cap = 10 yuan", True),
        ("int = n * m", "n: int\n  m: int", "", False),  # a product may pass 10**18 (R407)
        ("int = n + m", "n: int\n  m: int", "", False),  # a sum may too, where it is assigned
        ("int = days_between(a, b)", "a: date\n  b: date", "", True),
        ("date = add_days(a, n)", "a: date\n  n: int", "", False),  # R402 outside the calendar
        ("date = a + m", "a: date\n  m: months", "", False),
        ("bool = amount > 5 yuan and amount / 2 > 1 yuan", "amount: money", "", False),
        ("money = round(amount * 33%, half_up)", "amount: money", "", True),
        ("money = sum(i for i in xs)", "xs: list of money", "", True),
        ("int = count(i in xs where i > 1 yuan)", "xs: list of money", "", False),  # a count is below 10**19, not 10**18
    ],
)
def test_bounds_rule_out_a_failure_only_when_they_prove_it(body, inputs, extra, expected):
    assert _infallible(body, inputs, extra) is expected


def test_a_constant_bound_counts_digits_not_representation():
    assert bounds.constant_bound(Decimal("1.000")) == (1, 0)
    assert bounds.constant_bound(Decimal("0.075")) == (1, 3)
    assert bounds.constant_bound(Decimal("12345.6")) == (5, 1)
    assert bounds.constant_bound(Decimal("1E+3")) == (4, 0)
    assert bounds.constant_bound(0) == (1, 0)
    assert bounds.constant_bound(-250) == (3, 0)
    assert bounds.constant_bound(Decimal("Infinity")) is None
    assert bounds.constant_bound(True) == (0, 0)


COMMON = """policy "t"
input {
  total: money
  paid: money
  low: bool
}
output left, extra
rule left: money = total - paid
rule extra: money = when low then round((total - paid) * 70%, half_up) otherwise 0 yuan
"""


def test_an_expression_an_earlier_rule_computed_reads_its_variable():
    policy = policydsl.loads(COMMON, "t.policy")
    lines = [line.strip() for line in _fast_lines(policy)]
    mangled = compiler._mangle(policy.program.ir)
    left, total, paid = mangled["left"], mangled["total"], mangled["paid"]
    assert f"{left} = ({total} - {paid})" in lines
    assert sum(f"({total} - {paid})" in line for line in lines) == 1  # `extra` reads `left`
    assert any(f"({left} * " in line for line in lines)
    traced = policy.program.source[policy.program.source.index("def run_traced"):]
    assert traced.count(f"({total} - {paid})") == 2  # the traced variant writes what the policy says
    facts = {"total": "1000.00", "paid": "100.01", "low": True}
    assert policy.evaluate(facts).outputs == {"left": Decimal("899.99"), "extra": Decimal("629.99")}
    assert _reference(policy, facts) == (Decimal("899.99"), Decimal("629.99"))


def test_the_example_computes_its_tiers_and_rooms_only_for_a_claim_out_of_its_waiting_period(example_policy):
    assert compiler._sink_plan(example_policy.program.ir, example_policy.program.ir.segments[0]) == {
        "basic_ratio": ("basic", 1),
        "major_by_tiers": ("major", 1),
        "incentive": ("major", 1),
        "major_room": ("major", 1),
    }  # not `major_base_added` (what the claim adds to an accumulator), nor the outputs
    unoptimized = compiler.compile_program(example_policy.program.ir, passes=False)

    def tiers_indent(source: str) -> int:
        (line,) = [line for line in source.split("def run_traced")[0].splitlines() if "_tiers(" in line]
        return len(line) - len(line.lstrip())

    assert (tiers_indent(unoptimized.source), tiers_indent(example_policy.program.source)) == (4, 8)
    for claim in example_claims():
        inputs = example_policy.read_facts(claim)
        with decimal.localcontext(numbers.EXACT):
            assert example_policy.program.runs[0](inputs) == unoptimized.runs[0](inputs)
