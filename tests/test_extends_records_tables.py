"""Records and tables across `extends` (issue 14, item 9): `override record NAME { fields }`
adds fields to a parent's record; `drop KEY` in an `override table` removes a parent's row."""

from __future__ import annotations

from decimal import Decimal

import pytest

import policydsl
from policydsl.tools.formatter import format_text

from .policy_trees import parent_and_child

BASE = '''policy "base"
enum Level { one, two, three, four }
record Person {
  age: int
}
input {
  person: Person
  level: Level
  cost: money
}
table deductible: Level -> money {
  one: 100 yuan
  two: 200 yuan
  three: 300 yuan
  four: 400 yuan
  default: 500 yuan
}
rule paid: money = max(0 yuan, cost - deductible[level])
output paid
'''

KID = '''override record Person {
  disabled: bool = false
}
override table deductible {
  drop four
  three: 350 yuan
}
rule extra: money = when person.disabled then 10 yuan otherwise 0 yuan
output extra
'''


def tree(tmp_path, child: str):
    return parent_and_child(tmp_path, BASE, child, "base/p", "kid/k")


def test_a_child_adds_a_field_and_drops_a_row(tmp_path):
    policy = policydsl.load(tree(tmp_path, KID))
    three = policy.evaluate({"person": {"age": 30, "disabled": True}, "level": "three", "cost": "1000"}).outputs
    four = policy.evaluate({"person": {"age": 30}, "level": "four", "cost": "1000"}).outputs
    assert (three["paid"], three["extra"]) == (Decimal("650.00"), Decimal("10.00"))
    assert (four["paid"], four["extra"]) == (Decimal("500.00"), Decimal("0.00"))  # the default now applies
    with pytest.raises(policydsl.FactsError):  # the parent's claims without the new field still read; an unknown one does not
        policy.evaluate({"person": {"age": 30, "disabld": True}, "level": "one", "cost": "1"})


@pytest.mark.parametrize(
    "child,code,text",
    [
        ("override record Person {\n  age: int\n}\n", "C242", "already declared by the parent's record `Person`"),
        ("override table deductible {\n  drop five\n}\n", None, None),
        ("override table deductible {\n  drop one\n}\n", None, None),
        ("table other: Level -> money {\n  drop one\n  default: 1 yuan\n}\n", "C208", "only in an `override table`"),
        ("override record Nobody {\n  x: int\n}\n", "C244", "defines no record"),
    ],
)
def test_mistakes_are_named(tmp_path, child, code, text):
    path = tree(tmp_path, child)
    if code is None:
        if "five" in child:
            with pytest.raises(policydsl.PolicyError):
                policydsl.load(path)
        else:
            assert policydsl.load(path).evaluate({"person": {"age": 1}, "level": "one", "cost": "1000"}).outputs["paid"] == Decimal("500.00")
        return
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.load(path)
    assert any(d.code == code and text in d.message for d in raised.value.diagnostics), [(d.code, d.message) for d in raised.value.diagnostics]


def test_the_formatter_prints_them_back():
    text = 'policy "kid"\n  extends "base/p"\n\noverride record Person {\n  disabled: bool = false\n}\n\noverride table deductible {\n  drop four\n  three: 350 yuan\n}\n'
    assert format_text(text) == text
