"""Golden tests for what a person reads: check errors, explanations, fact errors.

Update after an intended change with `pytest --snapshot-update` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policydsl.cli.main import main

from .conftest import DATA, EXAMPLE, EXAMPLE_POLICY, SNAPSHOTS, example_claims

BROKEN = sorted((DATA / "broken").glob("*.policy"))


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_policy_report(path, snapshot, capsys, monkeypatch):
    monkeypatch.chdir(path.parent)  # report paths relative, as an author would type them
    assert main(["check", path.name]) == 1
    out = capsys.readouterr().out
    assert "Traceback" not in out
    snapshot.snapshot_dir = SNAPSHOTS / "check"
    snapshot.assert_match(out, f"{path.stem}.txt")


EXPLAINED = ["ex-02-exclusions", "ex-03-waiting", "ex-05-six-month-floor", "ex-07-major-tiers", "ex-08-cross-province", "ex-12-low-income-assistance"]


@pytest.mark.parametrize("claim_id", EXPLAINED)
def test_explanation(claim_id, snapshot, tmp_path, capsys, monkeypatch):
    claim = next(c for c in example_claims() if c["claim_id"] == claim_id)
    (tmp_path / "claim.json").write_text(json.dumps(claim, default=str), encoding="utf-8")
    monkeypatch.chdir(EXAMPLE.parent.parent)
    assert main(["explain", "policies/example/resident-2025.policy", str(tmp_path / "claim.json")]) == 0
    snapshot.snapshot_dir = SNAPSHOTS / "explain"
    snapshot.assert_match(capsys.readouterr().out, f"{claim_id}.txt")


def test_bad_facts_report(snapshot, capsys, monkeypatch):
    monkeypatch.chdir(DATA / "facts")
    status = main(["eval", str(EXAMPLE_POLICY), "bad-claims.jsonl"])
    captured = capsys.readouterr()
    assert status == 1
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert len(records) == len((DATA / "facts" / "bad-claims.jsonl").read_text().splitlines())
    snapshot.snapshot_dir = SNAPSHOTS / "facts"
    snapshot.assert_match(json.dumps(records, indent=1, ensure_ascii=False) + "\n", "bad-claims.json")
