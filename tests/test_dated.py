"""Dated values: the value in force on the exact day, gaps and overlaps, --as-of."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

import policydsl
from policydsl.cli.main import main

from .conftest import DATA, SNAPSHOTS

BASE = DATA / "inherit" / "policies" / "national" / "base.policy"


@pytest.fixture(scope="module")
def base():
    return policydsl.load(BASE)


@pytest.mark.parametrize(
    "day,paid",
    [("2025-01-01", "350.00"), ("2025-06-30", "350.00"), ("2025-07-01", "420.00"), ("2030-12-31", "420.00")],
)
def test_value_in_force_on_the_boundary_days(base, day, paid):
    assert base.evaluate({"day": day, "amount": "1000", "level": 3}).outputs["paid"] == Decimal(paid)


def test_before_the_policy_takes_effect_is_an_evaluation_error(base):
    with pytest.raises(policydsl.EvaluationError) as raised:
        base.evaluate({"day": "2024-12-31", "amount": "1000", "level": 3})
    assert raised.value.code == "R405"
    assert "not in force on 2024-12-31" in str(raised.value)


def test_as_of_overrides_the_claims_own_date(base):
    facts = {"day": "2025-03-01", "amount": "1000", "level": 3}
    assert base.evaluate(facts, as_of=datetime.date(2025, 8, 1)).outputs["paid"] == Decimal("420.00")


def test_cli_as_of(tmp_path, capsys):
    claims = tmp_path / "c.jsonl"
    claims.write_text('{"day": "2025-03-01", "amount": "1000", "level": 3}\n')
    assert main(["eval", str(BASE), str(claims), "--as-of", "2025-07-01"]) == 0
    assert '"paid": "420.00"' in capsys.readouterr().out


def test_dated_table_rows():
    text = """
policy "rows" as of day
enum L { 1, 2 }
input { day: date  amount: money  level: L }
table ratio: L -> ratio {
  1: 90%
  2: 70% until 2025-06-30
  2: 75% from 2025-07-01
}
rule paid: money = round(amount * ratio[level], half_up)
output paid
"""
    policy = policydsl.loads(text)
    assert policy.evaluate({"day": "2025-06-30", "amount": "100", "level": 2}).outputs["paid"] == Decimal("70.00")
    assert policy.evaluate({"day": "2025-07-01", "amount": "100", "level": 2}).outputs["paid"] == Decimal("75.00")
    assert policy.evaluate({"day": "2020-01-01", "amount": "100", "level": 1}).outputs["paid"] == Decimal("90.00")


def test_dated_rule_bodies_and_tiers():
    text = """
policy "rules" as of day
input { day: date  amount: money }
tiers s until 2025-12-31 { from 0 yuan to 100 yuan: 10%  above 100 yuan: 20% }
tiers s from 2026-01-01 { above 0 yuan: 50% }
rule paid: money until 2025-12-31 = s(from 0 yuan to amount)
rule paid: money from 2026-01-01 = s(from 0 yuan to amount) + 1 yuan
output paid
"""
    policy = policydsl.loads(text)
    assert policy.evaluate({"day": "2025-12-31", "amount": "200"}).outputs["paid"] == Decimal("30.00")
    assert policy.evaluate({"day": "2026-01-01", "amount": "200"}).outputs["paid"] == Decimal("101.00")


@pytest.mark.parametrize("name", ["dated", "no-as-of", "ranges", "warnings"])
def test_check_reports(name, snapshot, capsys, monkeypatch):
    monkeypatch.chdir(DATA / "checks")
    status = main(["check", f"{name}.policy"])
    assert status == (0 if name == "warnings" else 1)
    snapshot.snapshot_dir = SNAPSHOTS / "checks"
    snapshot.assert_match(capsys.readouterr().out, f"{name}.txt")


@pytest.mark.parametrize(
    "name,codes",
    [
        ("dated", ["C210", "C211", "C211", "C210", "C210"]),
        ("no-as-of", ["C216"]),
        ("ranges", ["C220", "C221", "C221", "C223", "C222", "C220"]),
    ],
)
def test_check_codes(name, codes):
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.load(DATA / "checks" / f"{name}.policy")
    assert [d.code for d in raised.value.diagnostics] == codes


def test_warnings_do_not_stop_loading():
    policy = policydsl.load(DATA / "checks" / "warnings.policy")
    assert sorted(w.code for w in policy.warnings) == ["W230", "W231", "W231", "W232"]
