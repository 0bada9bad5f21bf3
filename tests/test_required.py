"""Required values instead of placeholders: `param NAME: TYPE required` and
`table NAME: K -> V required` in a frame; a region (a policy with `region`) that leaves one
unset, or a required table without a row for some key, is refused by the checker (C268);
the frame itself is a warning (W237) and decides no claim (R405, saying why)."""

from __future__ import annotations

from decimal import Decimal

import pytest

import policydsl
from policydsl.tools.formatter import format_text

from .policy_trees import parent_and_child

FRAME = '''policy "frame"
  as of day

enum Level { one, two, three }

input {
  day: date
  level: Level
  cost: money
}

param cap: money required
  because "each region sets its cap"

table deductible: Level -> money required {
}

rule paid: money = min(max(0 yuan, cost - deductible[level]), cap)

output paid
'''

CLAIM = {"day": "2025-01-01", "level": "three", "cost": "5000"}


def tree(tmp_path, region: str):
    return parent_and_child(tmp_path, FRAME, region, "frame/f", "region/r", child_header='  region "100000" "R"\n')


def test_a_region_that_sets_everything_decides(tmp_path):
    path = tree(tmp_path, "override param cap = 1000 yuan\noverride table deductible {\n  one: 100 yuan\n  two: 200 yuan\n  three: 300 yuan\n}\n")
    policy = policydsl.load(path)
    assert policy.warnings == []
    assert policy.evaluate(CLAIM).outputs["paid"] == Decimal("1000.00")


def test_a_region_that_forgets_a_value_or_a_row_is_refused(tmp_path):
    path = tree(tmp_path, "override table deductible {\n  one: 100 yuan\n  two: 200 yuan\n}\n")
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.load(path)
    found = [(d.code, d.message) for d in raised.value.diagnostics]
    assert found == [
        ("C268", "param `cap` is required and this policy does not set it"),
        ("C268", "a row of table `deductible` for three is required and this policy does not set it"),
    ]
    assert all(d.related and "frame" in str(d.related[0].span.source.name) for d in raised.value.diagnostics)


def test_a_default_row_covers_every_key(tmp_path):
    path = tree(tmp_path, "override param cap = 1000 yuan\noverride table deductible {\n  default: 100 yuan\n}\n")
    assert policydsl.load(path).evaluate(CLAIM).outputs["paid"] == Decimal("1000.00")


def test_the_frame_is_a_warning_and_decides_no_claim_saying_why(tmp_path):
    tree(tmp_path, "")
    frame = policydsl.load(tmp_path / "policies" / "frame" / "f.policy")
    assert [w.code for w in frame.warnings] == ["W237"]
    with pytest.raises(policydsl.EvaluationError) as raised:
        frame.evaluate(CLAIM)
    assert raised.value.code == "R405" and "`cap` is required" in str(raised.value) and "frame" in str(raised.value)


def test_the_formatter_prints_required_back():
    formatted = format_text(FRAME)
    assert "param cap: money required" in formatted and "table deductible: Level -> money required {" in formatted
    assert format_text(formatted) == formatted


TIERS_FRAME = '''policy "frame"
  as of day

input {
  day: date
  cost: money
}

tiers schedule required
  because "each region sets its bands"

rule paid: money = round(schedule(from 0 yuan to cost), half_up)

output paid
'''


def tiers_tree(tmp_path, region: str):
    return parent_and_child(tmp_path, TIERS_FRAME, region, "frame/f", "region/r", child_header='  region "100000" "R"\n')


def test_required_tiers_are_set_by_the_region_that_decides(tmp_path):
    path = tiers_tree(tmp_path, "override tiers schedule {\n  from 100 yuan to 200 yuan: 50%\n  above 200 yuan: 80%\n}\n")
    policy = policydsl.load(path)
    assert policy.warnings == []
    assert policy.evaluate({"day": "2025-01-01", "cost": "300"}).outputs["paid"] == Decimal("130.00")  # 100 x 50% + 100 x 80%


def test_a_region_that_leaves_required_tiers_unset_is_refused_and_the_frame_decides_nothing(tmp_path):
    path = tiers_tree(tmp_path, "")
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.load(path)
    (found,) = raised.value.diagnostics
    assert (found.code, found.message) == ("C268", "tiers `schedule` is required and this policy does not set it")
    assert "override tiers schedule {" in found.hint and found.related[0].span.source.name.endswith("f.policy")
    frame = policydsl.load(tmp_path / "policies" / "frame" / "f.policy")
    assert [w.code for w in frame.warnings] == ["W237"] and "tiers `schedule`" in frame.warnings[0].message
    with pytest.raises(policydsl.EvaluationError) as refused:
        frame.evaluate({"day": "2025-01-01", "cost": "300"})
    assert refused.value.code == "R405" and "`schedule` is required" in str(refused.value)


def test_the_formatter_prints_required_tiers_back():
    formatted = format_text(TIERS_FRAME)
    assert 'tiers schedule required\n  because "each region sets its bands"\n' in formatted
    assert format_text(formatted) == formatted
