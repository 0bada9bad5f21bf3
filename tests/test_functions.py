"""Named functions over records and values: `function item_paid(item: Item): money = ...`,
called like a built-in (`sum(item_paid(i) for i in items)`). A call is the function's body
with its parameters bound to the arguments, computed once each, by every engine; the body
reads only its parameters and the policy's constants (C270); explanations give the
definition of each function a formula calls, with its reasons."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

import policydsl
from policydsl.backends import interpreter
from policydsl.tools.formatter import format_text

from .policy_trees import parent_and_child
from .test_columnar import _assert_same, _both

POLICY = '''enum Kind { drug, exam, bed }

record Item {
  kind: Kind
  amount: money
  quantity: int
}

input {
  claim_id: text
  items: list of Item
  level: int
}

table share: Kind -> ratio {
  drug: 80%
  exam: 60%
  bed: 50%
}

param bed_cap = 100 yuan
  cite "schedule, item 3"

function item_paid(item: Item): money =
  round(min(item.amount, capped(item)) * share[item.kind], half_up)
  because "Each item at its kind's share, a bed within its daily cap"
  cite "schedule, item 2"

function capped(item: Item): money =
  when item.kind = bed then bed_cap * item.quantity
  otherwise item.amount

function bonus(amount: money, level: int): money =
  let tenth = round(amount * 10%, down) in
  when level > 2 then tenth
  otherwise 0 yuan

param welcome = bonus(1_000 yuan, 3)

rule paid: money = sum(item_paid(item) for item in items)
rule extra: money = bonus(paid, level) + welcome

output paid, extra
'''

CLAIMS = [
    {"claim_id": "a", "level": 3, "items": [{"kind": "drug", "amount": "100.00", "quantity": 1}, {"kind": "bed", "amount": "500.00", "quantity": 2}]},
    {"claim_id": "b", "level": 1, "items": [{"kind": "exam", "amount": "33.33", "quantity": 1}]},
    {"claim_id": "c", "level": 2, "items": []},
]


@pytest.fixture(scope="module")
def policy():
    return policydsl.loads(POLICY, "functions.policy")


def test_a_call_is_the_functions_body_with_its_arguments(policy):
    decided = [policy.evaluate(claim).outputs for claim in CLAIMS]
    assert [(d["paid"], d["extra"]) for d in decided] == [
        (Decimal("180.00"), Decimal("118.00")),  # 100 x 80% + min(500, 100 x 2) x 50%; 10% of 180 + welcome 100
        (Decimal("20.00"), Decimal("100.00")),  # 33.33 x 60% = 19.998, half up; level 1: no bonus
        (Decimal("0"), Decimal("100.00")),
    ]
    assert policy.warnings == []


def test_every_engine_computes_the_same(policy):
    for claim in CLAIMS:
        inputs = policy.read_facts(claim)
        assert [repr(v) for v in interpreter.run(policy.program.ir, 0, inputs)] == [repr(v) for v in policy.program.runs[0](inputs)]
    expected, got, chunks = _both(policy, pa.Table.from_pylist(CLAIMS))
    _assert_same(expected, got)
    assert chunks.by_columns == len(CLAIMS)


def test_the_explanation_gives_each_function_called_its_definition(policy):
    text = policy.evaluate(CLAIMS[0]).explain()
    paid = text[text.index("paid = 180.00") : text.index("extra = ")]
    assert paid == (
        "paid = 180.00  [output]\n"
        "  = sum(item_paid(item) for item in items)\n"
        "  - items[0] (kind=drug, amount=100.00, quantity=1): 80.00 (using share[drug] = 80%)\n"
        "  - items[1] (kind=bed, amount=500.00, quantity=2): 100.00 (using share[bed] = 50%)\n"
        "  - item_paid(item) = round(min(item.amount, capped(item)) * share[item.kind], half_up)"
        " -- Each item at its kind's share, a bed within its daily cap [schedule, item 2]\n"
        "  - capped(item) = when item.kind = bed then bed_cap * item.quantity otherwise item.amount\n\n"
    )


@pytest.mark.parametrize(
    "text,code,message",
    [
        ("function f(x: money): money = x + amount\nrule r: money = f(amount)", "C270", "function `f` reads input field `amount`: a function reads only its parameters and the policy's constants"),
        ("rule base: money = amount\nfunction f(x: money): money = x + base\nrule r: money = f(amount)", "C270", "function `f` reads rule `base`: a function reads only its parameters and the policy's constants"),
        ("function f(x: money): money = x\nrule r: money = f(amount, amount)", "C203", "`f` takes 1 value (x: money), not 2"),
        ("function f(x: money): money = x\nrule r: money = f(5%)", "C203", "parameter `x` of `f` is money, not ratio"),
        ("function f(x: money): ratio = x\nrule r: ratio = f(amount)", "C203", "function `f` is declared ratio, but its body gives money"),
        ("function f(x: money): money = f(x)\nrule r: money = f(amount)", "C202", "`f` depends on itself: f -> f"),
        ("function round(x: money): money = x\nrule r: money = amount", "C201", "`round` is a built-in function"),
        ("function f(x: money, x: money): money = x\nrule r: money = f(amount, amount)", "C201", "function `f` has parameter `x` twice"),
    ],
)
def test_a_function_is_checked(text, code, message):
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(f"input {{ amount: money }}\n{text}\noutput r\n", "t.policy")
    assert (code, message) in [(d.code, d.message) for d in raised.value.diagnostics]


def test_an_unused_function_is_a_warning():
    policy = policydsl.loads("input { amount: money }\nfunction twice(x: money): money = x * 2\nrule r: money = amount\noutput r\n", "t.policy")
    assert [(w.code, w.message) for w in policy.warnings] == [("W230", "function `twice` is never used")]


def test_a_region_overrides_a_function_unless_it_is_final(tmp_path):
    frame = (
        'policy "frame"\n\ninput {\n  amount: money\n}\n\n'
        "function share(x: money): money = round(x * 50%, half_up)\n"
        "final function floor_of(x: money): money = max(0 yuan, x)\n\n"
        "rule paid: money = share(floor_of(amount))\n\noutput paid\n"
    )
    path = parent_and_child(tmp_path / "a", frame, "override function share(x: money): money = round(x * 70%, half_up)\n", "frame/f", "region/r")
    assert policydsl.load(path).evaluate({"amount": "100"}).outputs["paid"] == Decimal("70.00")
    path = parent_and_child(tmp_path / "b", frame, "override function floor_of(x: money): money = x\n", "frame/f", "region/r")
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.load(path)
    assert [d.code for d in raised.value.diagnostics] == ["C245"]


def test_fmt_writes_functions_back():
    assert format_text(POLICY) == POLICY
