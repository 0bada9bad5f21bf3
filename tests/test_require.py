"""`require FIELD: CONDITION` (issue 18): what a claim's fields must satisfy together, checked
before any rule; a claim that breaks it is refused at FIELD with F304, by every engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

import policydsl
from policydsl.backends import interpreter
from policydsl.runtime.helpers import RequirementRefused
from policydsl.syntax import printer
from policydsl.tools.formatter import format_text
from policydsl.verify import Request, verify

TEXT = """policy "r"
input {
  claim_id: text = ""
  amount: money
  insured: bool
  limit_days: int = 0
}
param max_days = 30
require insured: insured or amount = 0 yuan
  because "Only an insured person's bill is paid"
require limit_days: limit_days <= max_days
rule paid: money = round(amount * 50%, half_up)
invariant within_bill: paid <= amount
output paid
"""


@pytest.fixture(scope="module")
def policy():
    return policydsl.loads(TEXT)


def codes(text: str) -> list[tuple[str, int, int]]:
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text)
    return [(d.code, d.span.line, d.span.column) for d in raised.value.diagnostics]


def refused(policy, claim) -> tuple[str, str, str]:
    with pytest.raises(policydsl.FactsError) as raised:
        policy.evaluate(claim)
    (error,) = raised.value.errors
    return error.code, error.path, error.message


def test_a_claim_that_keeps_the_requirements_is_decided(policy):
    assert policy.evaluate({"amount": "100.01", "insured": True, "limit_days": 30}).outputs["paid"] == Decimal("50.01")
    # the boundary of each: amount exactly 0 while not insured; limit_days exactly max_days
    assert policy.evaluate({"amount": "0", "insured": False}).outputs["paid"] == Decimal("0.00")


def test_a_claim_that_breaks_one_is_refused_at_its_field(policy):
    assert refused(policy, {"amount": "0.01", "insured": False}) == (
        "F304", "insured", "the policy requires insured or amount = 0 yuan (amount is 0.01, insured is false): Only an insured person's bill is paid",
    )
    assert refused(policy, {"amount": "1", "insured": True, "limit_days": 31}) == (
        "F304", "limit_days", "the policy requires limit_days <= max_days (limit_days is 31)",
    )


def test_the_first_broken_requirement_in_policy_order_is_reported(policy):
    code, path, _ = refused(policy, {"amount": "1", "insured": False, "limit_days": 99})
    assert (code, path) == ("F304", "insured")


def test_the_interpreter_refuses_as_the_compiled_program_does(policy):
    program = policy.program.ir
    for claim, number in (({"amount": "1", "insured": False}, 0), ({"amount": "1", "insured": True, "limit_days": 31}, 1)):
        inputs = policy.read_facts(claim)
        with pytest.raises(RequirementRefused) as by_interpreter:
            interpreter.run(program, 0, inputs)
        with pytest.raises(RequirementRefused) as by_program:
            policy.program.runs[0](inputs)
        assert by_interpreter.value.number == by_program.value.number == number


def test_the_columnar_engine_hands_refused_rows_to_the_row_engine(policy):
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("numpy")
    from policydsl.tools.batch.tables import choose_engine, decide_table

    assert choose_engine(policy)[0] == "columnar"
    table = pa.table({
        "claim_id": ["a", "b", "c", "d"],
        "amount": ["10.00", "10.00", "0.00", "7.00"],
        "insured": [True, False, False, True],
        "limit_days": [3, 3, 3, 31],
    })
    by_columns = decide_table(policy, table, engine="columnar").to_pylist()
    by_rows = decide_table(policy, table, engine="row").to_pylist()
    assert by_columns == by_rows
    assert [None if row["paid"] is None else str(row["paid"]) for row in by_rows] == ["5.00", None, "0.00", None]
    assert "insured: the policy requires insured or amount = 0 yuan" in by_rows[1]["error"]
    assert "limit_days: the policy requires limit_days <= max_days" in by_rows[3]["error"]


def test_verify_proves_what_holds_only_for_claims_that_keep_the_requirements():
    guarded = """policy "g"
input { amount: money  insured: bool }
require insured: insured
rule paid: money = when insured then amount otherwise amount + 1 yuan
invariant within_bill: paid <= amount
output paid
"""
    report = verify(Request(policydsl.loads(guarded), timeout=30))
    assert report.status == "proved", report.text()
    # without the requirement the invariant is false for an uninsured claim: a counterexample
    unguarded = guarded.replace("require insured: insured\n", "")
    assert verify(Request(policydsl.loads(unguarded), timeout=30)).status == "failed"


def test_the_field_must_be_an_input_field_and_the_condition_may_not_read_a_rule():
    assert codes("input { a: money }\nrule r: money = a\nrequire b: a > 0 yuan\noutput r\n") == [("C272", 3, 9)]
    assert codes("input { a: money }\nrule r: money = a\nrequire a: r > 0 yuan\noutput r\n") == [("C272", 3, 9)]
    assert codes("input { a: money }\nrule r: money = a\nrequire a: a\noutput r\n") == [("C203", 3, 12)]
    # an accumulator's value is the claim's too, but it is not a field to correct
    accumulated = "policy \"x\" as of d\ninput { d: date  p: text  a: money }\naccumulator ytd: money per p opening 0 yuan adds a\nrequire ytd: a > 0 yuan\nrule r: money = a\noutput r\n"
    assert ("C272", 4, 9) in codes(accumulated)


def test_a_child_policy_keeps_its_parents_requirements_and_adds_its_own(tmp_path):
    (tmp_path / "parent.policy").write_text(TEXT.replace('policy "r"', 'policy "parent"'), encoding="utf-8")
    child = 'policy "child"\n  extends "parent"\nrequire amount: amount <= 1000 yuan\n'
    (tmp_path / "child.policy").write_text(child, encoding="utf-8")
    policy = policydsl.load(tmp_path / "child.policy")
    assert refused(policy, {"amount": "1", "insured": False})[:2] == ("F304", "insured")
    assert refused(policy, {"amount": "1000.01", "insured": True})[:2] == ("F304", "amount")
    assert policy.evaluate({"amount": "1000", "insured": True}).outputs["paid"] == Decimal("500.00")
    # what the child changes is its own requirement, not the parent's two
    from policydsl.tools.show import diff_parent_text

    diff = diff_parent_text(policy)
    assert "@@ own require amount  " in diff and "+ require amount: amount <= 1_000 yuan" in diff
    assert "insured" not in diff and diff.rstrip().endswith("# 1 definition changed or added")


def test_fmt_writes_a_requirement_that_parses_back_the_same(policy):
    require = next(d for d in policy.env.policy.definitions if type(d).__name__ == "RequireDef")
    assert printer.expression(require.condition) == "insured or amount = 0 yuan"
    formatted = format_text(TEXT)
    assert "require insured: insured or amount = 0 yuan\n  because \"Only an insured person's bill is paid\"\n" in formatted
    assert policydsl.loads(formatted).evaluate({"amount": "3", "insured": True}).outputs["paid"] == Decimal("1.50")


def test_a_broken_requirement_does_not_hide_the_definitions_after_it():
    found = codes("input { a: money }\nrequire a a > 0 yuan\nrule r: money = b\noutput r\n")
    assert found[0][:2] == ("P100", 2)
    assert ("C200", 3, 17) in found  # the rule after it is still checked
