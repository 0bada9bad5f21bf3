"""A region whose structure differs from its parent's: `override invariant`, `final invariant`
and `drop output` (issue 14, item 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

import policydsl
from policydsl.tools.formatter import format_text

from .policy_trees import parent_and_child

BASE = '''policy "base"
input {
  cost: money
}
param cap = 100 yuan
rule paid: money = min(cost, cap)
rule rest: money = cost - paid
invariant within: paid <= cap
final invariant sane: paid >= 0 yuan
output paid, rest, cap
'''


def tree(tmp_path, child: str):
    return parent_and_child(tmp_path, BASE, child, "base/p", "kid/k")


def test_a_child_overrides_an_invariant_its_structure_breaks(tmp_path):
    path = tree(tmp_path, "override rule paid: money = cost\noverride invariant within: paid <= cost\n")
    policy = policydsl.load(path)
    assert policy.evaluate({"cost": "500"}).outputs["paid"] == Decimal("500.00")


def test_without_the_override_the_parents_invariant_still_holds(tmp_path):
    path = tree(tmp_path, "override rule paid: money = cost\n")
    with pytest.raises(policydsl.EvaluationError) as raised:
        policydsl.load(path).evaluate({"cost": "500"})
    assert raised.value.code == "R406" and "`within`" in str(raised.value)


def test_a_final_invariant_cannot_be_overridden(tmp_path):
    path = tree(tmp_path, "override invariant sane: paid >= 1 yuan\n")
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.load(path)
    assert [d.code for d in raised.value.diagnostics] == ["C245"]


def test_a_child_drops_an_inherited_output(tmp_path):
    path = tree(tmp_path, "drop output cap\n")
    policy = policydsl.load(path)
    assert policy.output_names == ["paid", "rest"]
    assert "cap" not in policy.evaluate({"cost": "50"}).to_json()


def test_dropping_an_output_the_parent_does_not_have_is_an_error(tmp_path):
    path = tree(tmp_path, "drop output nothing\n")
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.load(path)
    assert [(d.code, "nothing" in d.message) for d in raised.value.diagnostics] == [("C244", True)]


def test_the_formatter_prints_them_back():
    text = 'policy "kid"\n  extends "base/p"\n\noverride invariant within: paid <= cost\n\ndrop output cap\n'
    assert format_text(text) == text
    assert "final invariant sane: paid >= 0 yuan" in format_text(BASE)
