"""The example province's 14 hand-computed claims, through the API and the CLI."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from policydsl.cli.main import main

from .conftest import EXAMPLE, EXAMPLE_POLICY, example_claims, example_expected

CASES = list(zip(example_claims(), example_expected()))


@pytest.mark.parametrize("claim,expected", CASES, ids=[c["claim_id"] for c, _ in CASES])
def test_api_gives_expected_outputs(example_policy, claim, expected):
    decision = example_policy.evaluate(claim)
    assert decision.to_json() == expected
    assert decision.claim_id == expected["claim_id"]


def test_api_values_are_exact(example_policy):
    decision = example_policy.evaluate(example_claims()[11])  # low income, all three layers
    assert decision.outputs["basic"] == Decimal("35520.00")
    assert decision.outputs["assistance"] == Decimal("9654.40")
    assert isinstance(decision.outputs["patient_pays"], Decimal)
    assert decision.outputs["in_waiting"] is False
    layers = sum(decision.outputs[k] for k in ("basic", "major", "assistance", "patient_pays"))
    assert layers == Decimal("60000.00")


def test_cli_eval_jsonl_gives_expected_outputs(capsys):
    assert main(["eval", str(EXAMPLE_POLICY), str(EXAMPLE / "claims.jsonl")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == example_expected()


def test_cli_eval_money_has_exactly_two_decimals(capsys):
    main(["eval", str(EXAMPLE_POLICY), str(EXAMPLE / "claims.jsonl")])
    first = capsys.readouterr().out.splitlines()[0]
    assert '"basic": "8625.00"' in first
    assert '"in_waiting": false' in first


def test_cli_eval_single_json_file(tmp_path, capsys):
    claim_file = tmp_path / "claim.json"
    claim_file.write_text(json.dumps(example_claims()[6], default=str, indent=2), encoding="utf-8")
    assert main(["eval", str(EXAMPLE_POLICY), str(claim_file)]) == 0
    assert json.loads(capsys.readouterr().out) == example_expected()[6]


def test_cli_eval_stdin(monkeypatch, capsys):
    import io

    text = (EXAMPLE / "claims.jsonl").read_text(encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["eval", str(EXAMPLE_POLICY), "-"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == example_expected()


def test_example_policy_checks_clean(capsys):
    assert main(["check", str(EXAMPLE_POLICY)]) == 0
    assert capsys.readouterr().out.strip() == f"{EXAMPLE_POLICY}: ok"
