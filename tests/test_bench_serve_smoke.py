"""The service's load generator runs (bench/serve_load.py --smoke): it starts the real
`policydsl serve` on a free loopback port, every scenario gets only 200s whose results equal
the in-process decisions, and the table and the goals are printed. It checks that it runs,
not how fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

pytest.importorskip("uvicorn", reason="needs the serve extra")
pytest.importorskip("policydsl.serve.app", reason="needs the serve extra")


def test_load_generator_smoke_mode_runs(tmp_path):
    figures = tmp_path / "figures.json"
    env = dict(os.environ, POLICYDSL_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "serve_load.py"), "--smoke", "--json", str(figures)],
        capture_output=True, text=True, timeout=180, env=env, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("machine: ") and " cores " in out.splitlines()[0] and "Python " in out.splitlines()[0]
    assert "started here: policydsl serve --server uvicorn --workers 1" in out
    for needle in ("req/s", "claims/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "client CPU s",
                   "in-process Policy.evaluate", "in-process json->decide()->json",
                   "goal: p99 <= 10 ms at 64 concurrent single-claim clients",
                   "goal: batch endpoint >= 0.5 x in-process evaluate claims/s"):
        assert needle in out, needle
    assert "errors: 0 in " in out

    report = json.loads(figures.read_text(encoding="utf-8"))
    ran = [(row["scenario"], row["clients"]) for row in report["scenarios"]]
    assert ran == [("single claim", 1), ("single claim", 8), ("single claim", 64), ("batch of 1,000", 1), ("batch of 1,000", 8), ("batch of 1,000", 64)]
    for row in report["scenarios"]:
        assert row["requests"] > 0 and row["errors"] == 0, row
        assert row["statuses"] == {"200": row["requests"]}, row
        assert row["p50_ms"] is not None and row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
        line = f"{row['scenario']:<32} {row['clients']:>7,} {row['requests']:>9,}"
        assert line in out, line
    assert [row["scenario"] for row in report["in_process"]] == ["in-process Policy.evaluate", "in-process json->decide()->json"]
    assert all(row["claims_per_s"] > 0 for row in report["in_process"])
    assert len(report["goals"]) == 2 and all(isinstance(goal["holds"], bool) for goal in report["goals"])


def test_load_generator_refuses_a_server_off_loopback():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "serve_load.py"), "--url", "http://192.0.2.1:8080", "--smoke"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert result.returncode != 0
    assert "loopback" in result.stderr
