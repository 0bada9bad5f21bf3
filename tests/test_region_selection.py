"""`policydsl eval --region CODE [--date DATE]` picks the policy in force and says which."""

from __future__ import annotations

import datetime
import json

import pytest

from policydsl.link import regions
from policydsl.cli.main import main

from .conftest import DATA

ROOT = DATA / "inherit" / "policies"


def test_selects_the_latest_version_in_force():
    infos = regions.index(ROOT)
    assert regions.select(infos, "P1", datetime.date(2025, 12, 31)).path.name == "p-2025.policy"
    assert regions.select(infos, "P1", datetime.date(2026, 1, 1)).path.name == "p-2026.policy"
    assert regions.select(infos, "C1", datetime.date(2025, 5, 1)).path.name == "c.policy"


def test_unknown_region_and_date_out_of_force():
    infos = regions.index(ROOT)
    with pytest.raises(regions.RegionError, match="no policy for region XX; regions: "):
        regions.select(infos, "XX", datetime.date(2025, 1, 1))
    with pytest.raises(regions.RegionError, match="no policy of region P1 is in force on 2024-06-01"):
        regions.select(infos, "P1", datetime.date(2024, 6, 1))


def test_cli_region_with_date(tmp_path, capsys):
    claims = tmp_path / "c.jsonl"
    claims.write_text('{"day": "2025-03-01", "amount": "1000", "level": 3}\n')
    assert main(["eval", "--region", "P1", "--date", "2026-02-01", "--policies", str(ROOT), str(claims)]) == 0
    captured = capsys.readouterr()
    assert "region P1: using" in captured.err and "p-2026.policy (version 2026.1, in force from 2026-01-01)" in captured.err
    assert json.loads(captured.out)["paid"] == "420.00"  # 2026 policy: 70% of (1000 - 400)


def test_cli_region_by_each_claims_date(tmp_path, capsys):
    claims = tmp_path / "c.jsonl"
    lines = [
        {"claim_id": "a", "day": "2025-03-01", "amount": "1000", "level": 3},
        {"claim_id": "b", "day": "2026-03-01", "amount": "1000", "level": 3},
        {"claim_id": "c", "day": "2024-03-01", "amount": "1000", "level": 3},
        {"claim_id": "d", "amount": "1000", "level": 3},
    ]
    claims.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert main(["eval", "--region", "P1", "--policies", str(ROOT), str(claims)]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["claim_id"] for r in records] == ["a", "b", "c", "d"]
    assert records[0]["paid"] == "300.00" and records[1]["paid"] == "420.00"
    assert "no policy of region P1 is in force on 2024-03-01" in records[2]["error"]
    assert records[3]["errors"][0]["path"] == "day"
    assert captured.err.count("using") == 2


def test_cli_region_usage_errors(capsys):
    assert main(["eval", "--region", "P1", "--policies", str(ROOT), "a.policy", "b.jsonl"]) == 2
    assert main(["eval", "--region", "P1", "--policies", str(ROOT / "nope"), "b.jsonl"]) == 2


def test_batch_region_with_date(tmp_path, capsys):
    claims = tmp_path / "c.jsonl"
    claims.write_text('{"claim_id": "a", "day": "2025-03-01", "amount": "1000", "level": 3}\n')
    out = tmp_path / "out.jsonl"
    assert main(["batch", "--region", "P1", "--date", "2026-02-01", "--policies", str(ROOT), str(claims), "-o", str(out)]) == 0
    assert "region P1: using" in capsys.readouterr().err
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["paid"] == "420.00"  # the 2026 policy, its values as of --date: 70% of (1000 - 400)
    assert record["policy"]["id"] == "province/p-2026"  # its id inside --policies, as `eval --region` names it


def test_batch_region_with_one_version_needs_no_date(tmp_path, capsys):
    claims = tmp_path / "c.jsonl"
    claims.write_text('{"claim_id": "a", "day": "2025-03-01", "amount": "1000", "level": 3}\n')
    out = tmp_path / "out.jsonl"
    assert main(["batch", "--region", "C1", "--policies", str(ROOT), str(claims), "-o", str(out)]) == 0
    assert "c.policy" in capsys.readouterr().err
    assert json.loads(out.read_text())["policy"]["id"] == "city/c"


def test_batch_region_usage_errors(tmp_path, capsys):
    claims = tmp_path / "c.jsonl"
    claims.write_text('{"claim_id": "a"}\n')
    out = str(tmp_path / "out.jsonl")
    assert main(["batch", "--region", "P1", "--policies", str(ROOT), str(claims), "-o", out]) == 2
    err = capsys.readouterr().err
    assert "region P1 has 2 policies (" in err and "give --date DATE" in err
    assert main(["batch", "--region", "XX", "--policies", str(ROOT), str(claims), "-o", out]) == 2
    assert "no policy for region XX; regions: " in capsys.readouterr().err
    assert main(["batch", "--region", "P1", "--date", "2024-01-01", "--policies", str(ROOT), str(claims), "-o", out]) == 2
    assert "no policy of region P1 is in force on 2024-01-01" in capsys.readouterr().err
    assert main(["batch", "--region", "P1", "--date", "2026-01-01", "--policies", str(ROOT), "a.policy", str(claims), "-o", out]) == 2
    assert main(["batch", "--date", "2026-01-01", str(ROOT / "city" / "c.policy"), str(claims), "-o", out]) == 2
    assert "--date chooses a region's policy" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()
