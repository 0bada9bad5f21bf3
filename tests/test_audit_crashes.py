"""Issue 20: the audit's checker crashes are diagnostics now, with their code and place."""

from __future__ import annotations

import pytest

import policydsl

from .conftest import ROOT

POLICIES = ROOT / "policies"


def _diagnostics(text: str, **where) -> list[tuple[str, int, int]]:
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text, **where)
    return [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics]


def test_a_ratio_param_without_percent_is_c203():
    text = "input { a: money }\nparam p: ratio = 2\nrule r: money = a * p\noutput r\n"
    assert _diagnostics(text) == [("C203", 2, 18)]


def test_a_ratio_table_row_without_percent_is_c203():
    text = "input { k: int\n  a: money }\ntable t: int -> ratio { 1: 9\n  2: 10% }\nrule r: money = a * t[k]\noutput r\n"
    assert _diagnostics(text) == [("C203", 3, 28)]


def test_overriding_a_money_param_with_a_bare_unit_is_c200():
    text = 'policy "x" extends "national/baseline-2025"\noverride param zero_claim_step = yuan\n'
    assert _diagnostics(text, name=str(POLICIES / "x.policy"), root=POLICIES) == [("C200", 2, 34)]


def test_overriding_a_money_param_with_a_number_is_c203_at_the_override():
    text = 'policy "x" extends "national/baseline-2025"\noverride param zero_claim_step = 5\n'
    assert _diagnostics(text, name=str(POLICIES / "x.policy"), root=POLICIES)[0] == ("C203", 2, 34)
