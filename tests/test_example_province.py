"""The example province's 14 hand-computed claims, through the API and the CLI.

`expected.jsonl` lists each claim's outputs; a decision record also carries the policy that
decided it (`policy`) and the year-to-date amounts before and after it (`accumulators`),
checked here on their own.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from policydsl.cli.main import main

from .conftest import EXAMPLE, EXAMPLE_POLICY, example_claims, example_expected

CASES = list(zip(example_claims(), example_expected()))
ACCUMULATORS = ("ytd_basic_paid", "ytd_major_paid", "ytd_major_base")


def outputs_of(record: dict) -> dict:
    """A decision record without the keys every record carries besides the outputs."""
    return {key: value for key, value in record.items() if key not in ("policy", "accumulators")}


def example_digest() -> str:
    """The digest of the example's text (it extends nothing), as link/provenance.py defines it."""
    text = EXAMPLE_POLICY.read_text(encoding="utf-8").replace("\r\n", "\n").encode("utf-8")
    return "sha256:" + hashlib.sha256(b"example/resident-2025\0" + str(len(text)).encode() + b"\0" + text).hexdigest()


def assert_example_policy(record: dict) -> None:
    assert record["policy"] == {
        "id": "example/resident-2025",
        "version": "2025.1",
        "effective": {"from": None, "until": None},
        "digest": example_digest(),
    }


@pytest.mark.parametrize("claim,expected", CASES, ids=[c["claim_id"] for c, _ in CASES])
def test_api_gives_expected_outputs(example_policy, claim, expected):
    decision = example_policy.evaluate(claim)
    record = decision.to_json()
    assert outputs_of(record) == expected
    assert decision.claim_id == expected["claim_id"]
    assert_example_policy(record)
    assert list(record["accumulators"]) == list(ACCUMULATORS)
    year = claim["service_date"][:4]
    for name in ACCUMULATORS:
        carried = record["accumulators"][name]
        assert Decimal(carried["before"]) == Decimal(claim[name])  # given with the claim, as before
        assert carried["period"] == f"{year}-01-01/{year}-12-31"
    assert Decimal(record["accumulators"]["ytd_basic_paid"]["after"]) == Decimal(claim["ytd_basic_paid"]) + Decimal(expected["basic"])
    assert Decimal(record["accumulators"]["ytd_major_paid"]["after"]) == Decimal(claim["ytd_major_paid"]) + Decimal(expected["major"])


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
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [outputs_of(record) for record in records] == example_expected()
    for record in records:
        assert_example_policy(record)
        assert set(record["accumulators"]) == set(ACCUMULATORS)


def test_cli_eval_money_has_exactly_two_decimals(capsys):
    main(["eval", str(EXAMPLE_POLICY), str(EXAMPLE / "claims.jsonl")])
    first = capsys.readouterr().out.splitlines()[0]
    assert '"basic": "8625.00"' in first
    assert '"in_waiting": false' in first


def test_cli_eval_single_json_file(tmp_path, capsys):
    claim_file = tmp_path / "claim.json"
    claim_file.write_text(json.dumps(example_claims()[6], default=str, indent=2), encoding="utf-8")
    assert main(["eval", str(EXAMPLE_POLICY), str(claim_file)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert outputs_of(record) == example_expected()[6]
    assert_example_policy(record)


def test_cli_eval_stdin(monkeypatch, capsys):
    import io

    text = (EXAMPLE / "claims.jsonl").read_text(encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["eval", str(EXAMPLE_POLICY), "-"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [outputs_of(record) for record in records] == example_expected()
    assert {record["policy"]["id"] for record in records} == {"example/resident-2025"}


def test_example_policy_checks_clean(capsys):
    assert main(["check", str(EXAMPLE_POLICY)]) == 0
    assert capsys.readouterr().out.strip() == f"{EXAMPLE_POLICY}: ok"
