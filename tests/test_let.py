"""`let NAME = VALUE in ...` at the head of a rule: a name for a value, seen only in the rest
of the rule. Checked (C269 a name already taken, W240 unused, types), computed once by every
engine (generated code, the reference interpreter, the columnar backend), explained with a
line per `let`, and written back by `fmt` with each `let` on its own line, comments kept."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

import policydsl
from policydsl.backends import interpreter
from policydsl.tools.formatter import format_text

from .test_columnar import _assert_same, _both

POLICY = '''input {
  claim_id: text
  amount: money
  level: int in 1..3
  items: list of Item
}

record Item {
  cost: money
}

param threshold = 1_000 yuan
  cite "schedule, item 1"

rule paid: money =
  let over = max(0 yuan, amount - threshold) in
  let half = over * 50% in
  when level > 2 then round(half, half_up)
    because "Level 3 pays half of what is above the threshold"
  otherwise round(over, half_up)
    because "Other levels pay all of it"

rule items_total: money =
  let listed = sum(item.cost for item in items) in
  let larger = max(listed, amount) in
  larger - listed

output paid, items_total
'''

CLAIMS = [
    {"claim_id": "a", "amount": "3000.00", "level": 3, "items": [{"cost": "1000.00"}]},
    {"claim_id": "b", "amount": "3000.00", "level": 1, "items": []},
    {"claim_id": "c", "amount": "500.00", "level": 2, "items": [{"cost": "400.00"}, {"cost": "300.00"}]},
    {"claim_id": "d", "amount": "1000.01", "level": 3, "items": []},
]


@pytest.fixture(scope="module")
def policy():
    return policydsl.loads(POLICY, "let.policy")


def test_a_let_names_a_value_for_the_rest_of_the_rule(policy):
    decided = [policy.evaluate(claim).outputs for claim in CLAIMS]
    assert [(d["paid"], d["items_total"]) for d in decided] == [
        (Decimal("1000.00"), Decimal("2000.00")),  # (3,000 - 1,000) x 50%; 3,000 - 1,000 listed
        (Decimal("2000.00"), Decimal("3000.00")),
        (Decimal("0.00"), Decimal("0.00")),  # below the threshold; listed 700 > 500
        (Decimal("0.01"), Decimal("1000.01")),  # 0.01 x 50% = 0.005, half up
    ]
    assert policy.warnings == []


def test_the_interpreter_computes_what_the_generated_code_computes(policy):
    for claim in CLAIMS:
        inputs = policy.read_facts(claim)
        generated = policy.program.runs[0](inputs)
        interpreted = interpreter.run(policy.program.ir, 0, inputs)
        assert [repr(v) for v in interpreted] == [repr(v) for v in generated]


def test_the_columnar_backend_gives_the_row_engines_records(policy):
    expected, got, chunks = _both(policy, pa.Table.from_pylist(CLAIMS))
    _assert_same(expected, got)
    assert chunks.by_columns == len(CLAIMS)


def test_the_explanation_gives_each_let_its_line(policy):
    text = policy.evaluate(CLAIMS[0]).explain()
    paid = text[text.index("paid = 1000.00") : text.index("items_total = ")]
    assert paid == (
        "paid = 1000.00  [output]\n"
        "  when level > 2\n"
        "  = round(half, half_up)\n"
        "  using amount = 3000.00, threshold = 1000.00 [schedule, item 1], over = 2000.00, half = 1000.00, level = 3\n"
        "  because: Level 3 pays half of what is above the threshold\n"
        "  - let over = max(0 yuan, amount - threshold) = 2000.00\n"
        "  - let half = over * 50% = 1000.00\n\n"
    )
    step = next(s for s in policy.evaluate(CLAIMS[0]).explanation().steps if s.name == "paid")
    assert [d.kind for d in step.details] == ["let", "let"]


def test_coverage_counts_the_branches_after_lets_as_the_rules_own():
    from policydsl.tools.testing import Coverage

    policy = policydsl.loads(POLICY, "let.policy")
    cover = Coverage(policy)
    labels = {item.label for item in cover.items.values() if item.kind == "branch"}
    assert labels == {"rule paid: when level > 2", "rule paid: otherwise"}


@pytest.mark.parametrize(
    "rule,code,message",
    [
        ("rule r: money = let threshold = amount in threshold", "C269", "`let threshold` names a value with the name of a param (`threshold`)"),
        ("rule r: money = let amount = 1 yuan in amount", "C269", "`let amount` names a value with the name of an input field (`amount`)"),
        ("rule r: money = let a = amount in let a = 2 yuan in a", "C269", "`let a` names a value with the name of an earlier `let` or a loop variable around it"),
        ("rule r: money = let a = amount + 5% in a", "C203", "cannot add money and ratio"),
        ("rule r: money = let a = amount in a + 1 month", "C203", "cannot add money and months"),
    ],
)
def test_a_let_is_checked(rule, code, message):
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(f"input {{ amount: money }}\nparam threshold = 1 yuan\n{rule}\noutput r, threshold\n", "t.policy")
    assert (code, message) in [(d.code, d.message) for d in raised.value.diagnostics]


def test_an_unused_let_is_a_warning():
    policy = policydsl.loads("input { amount: money }\nrule r: money = let a = amount * 2 in amount\noutput r\n", "t.policy")
    assert [(w.code, w.message, w.span.line, w.span.column) for w in policy.warnings] == [("W240", "`let a` is never used", 2, 21)]


def test_a_comparison_as_a_let_value_goes_in_brackets():
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads("input { amount: money }\nrule r: bool = let big = amount > 5 yuan in big\noutput r\n", "t.policy")
    assert raised.value.diagnostics[0].code.startswith("P")
    bracketed = policydsl.loads("input { amount: money }\nrule r: bool = let big = (amount > 5 yuan) in big and amount < 9 yuan\noutput r\n", "t.policy")
    assert bracketed.evaluate({"amount": "7"}).outputs["r"] is True


FORMATTED = '''input {
  amount: money
  level: int
}

param threshold = 1_000 yuan

rule paid: money =
  # what is above the threshold
  let over = max(0 yuan, amount - threshold) in  # never negative
  let half = over * 50% in
  # level 3 pays half
  when level > 2 then round(half, half_up)
    because "high levels"
  otherwise round(over, half_up)  # the rest
    because "the rest"

rule doubled: money =
  let a = amount * 2 in  # once
  # the sum
  a + a  # twice
  because "double twice"

output paid, doubled
'''


def test_fmt_writes_each_let_on_its_line_and_keeps_the_comments():
    assert format_text(FORMATTED) == FORMATTED
    squeezed = FORMATTED.replace("rule doubled: money =\n  let a = amount * 2 in  # once\n  # the sum\n  a + a  # twice\n", "rule doubled: money = let a = amount * 2 in a + a\n")
    assert "rule doubled: money =\n  let a = amount * 2 in\n  a + a\n  because" in format_text(squeezed)


def test_the_ir_dump_shows_the_let_and_its_uses(policy):
    from policydsl.ir import dump

    text = dump.render(policy.program.ir)
    assert "Let(over) money" in text and "Local(over, of #" in text
