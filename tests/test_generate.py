"""`policydsl generate`: claims drawn from any policy's input schema, that every bundled
policy decides (no facts error, no evaluation error), the same for the same seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import policydsl
from policydsl.api import EvaluationError, FactsError
from policydsl.cli.main import main
from policydsl.tools.generate import generate

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted(ROOT.glob("policies/**/*.policy"))
EXAMPLE = ROOT / "policies" / "example" / "resident-2025.policy"

_loaded: dict = {}


def _load(path: Path):
    if path not in _loaded:
        _loaded[path] = policydsl.load(str(path))
    return _loaded[path]


def test_there_are_policies_to_generate_for():
    assert len(POLICIES) >= 2 and EXAMPLE in POLICIES


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: str(p.relative_to(ROOT / "policies")))
def test_every_bundled_policy_decides_every_generated_claim(path):
    policy = _load(path)
    claims = list(generate(policy, 200, seed=7))
    assert len(claims) == 200
    assert len({c["claim_id"] for c in claims}) == 200
    frame = any(w.code == "W237" for w in policy.warnings)
    if frame:  # a frame decides no claim until a policy extends it: its facts must still read, and each is refused as a frame
        for claim in claims:
            policy.read_facts(claim)
            with pytest.raises(EvaluationError) as raised:
                policy.evaluate(claim)
            assert raised.value.code == "R405" and "is required and this policy does not set it" in str(raised.value), claim["claim_id"]
        return
    for claim in claims:
        try:
            policy.evaluate(claim)
        except FactsError as error:
            pytest.fail(f"{path.name}: facts error on {claim['claim_id']}: {error}\n{json.dumps(claim)}")
        except EvaluationError as error:
            pytest.fail(f"{path.name}: evaluation error on {claim['claim_id']}: {error}\n{json.dumps(claim)}")


def test_persons_repeat_and_accumulators_vary():
    policy = _load(EXAMPLE)
    claims = list(generate(policy, 300, seed=1))
    per = policy.accumulators[0].per
    persons = [c[per] for c in claims]
    assert len(set(persons)) < len(persons)
    ytd = [c[policy.accumulators[0].name] for c in claims]
    assert "0.00" in ytd and any(float(v) > 50_000 for v in ytd)
    assert all(1 <= len(c["items"]) <= 5 for c in claims)
    assert all(len(c["items"][0]["amount"].split(".")[1]) == 2 for c in claims)


def test_same_seed_same_claims_other_seed_other_claims():
    policy = _load(EXAMPLE)
    first = list(generate(policy, 50, seed=3))
    assert first == list(generate(policy, 50, seed=3))
    assert first != list(generate(policy, 50, seed=4))


def test_every_member_of_hospital_level_appears():
    policy = _load(EXAMPLE)
    members = set(policy.program.ir.field_types[(None, "hospital_level")].members)
    seen = {c.get("hospital_level") for c in generate(policy, 500, seed=1)}
    assert members <= seen


def test_dates_fall_in_the_effective_period():
    for path in POLICIES:
        policy = _load(path)
        effective = policy.env.policy.header.effective
        if effective is None or effective.start is None:
            continue
        program = policy.program.ir
        as_of = program.inputs[program.as_of_index][0]
        for claim in generate(policy, 50, seed=2):
            day = claim[as_of]
            assert day >= effective.start.isoformat()
            if effective.end is not None:
                assert day <= effective.end.isoformat()


def test_cli_writes_n_lines(tmp_path, capsys):
    out = tmp_path / "claims.jsonl"
    assert main(["generate", str(EXAMPLE), "-n", "25", "-o", str(out), "--seed", "5"]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25
    claims = [json.loads(line) for line in lines]
    assert claims == list(generate(_load(EXAMPLE), 25, seed=5))


def test_cli_writes_to_stdout(capsys):
    assert main(["generate", str(EXAMPLE), "-n", "4", "-o", "-"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


@pytest.mark.parametrize(
    "args,message",
    [
        (["generate", "missing.policy", "-o", "-"], "no such policy file"),
        (["generate", str(EXAMPLE), "-n", "x", "-o", "-"], "not a whole number"),
        (["generate", str(EXAMPLE), "-n", "-1", "-o", "-"], "must not be negative"),
        (["generate", str(EXAMPLE)], "-o"),
    ],
)
def test_cli_usage_errors_exit_2(args, message, capsys):
    try:
        code = main(args)
    except SystemExit as exited:
        code = exited.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_writes_csv_in_batch_layout(tmp_path):
    out = tmp_path / "claims.csv"
    assert main(["generate", str(EXAMPLE), "-n", "10", "-o", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 11 and "person.category" in lines[0].split(",")


def test_cli_writes_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "claims.parquet"
    assert main(["generate", str(EXAMPLE), "-n", "12", "-o", str(out)]) == 0
    assert pq.ParquetFile(str(out)).metadata.num_rows == 12
