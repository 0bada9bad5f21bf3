"""Snapshots of every bundled policy's decisions and explanations over its claims corpus.

For each `policies/<path>.policy` with a tests file beside it, the corpus is the claims of
its `*.tests.json` (with their `as_of`) and, when the folder has one, `claims.jsonl`. The
snapshot `tests/snapshots/decisions/<path>.txt` has one block per claim, in corpus order:
the decision as sorted `key: JSON value` lines (money as strings) and the explanation text.

A policy change that alters any decision or explanation fails here with the diff; after
reviewing it, `pytest --snapshot-update` accepts the change, and the snapshot's diff in
the pull request shows exactly which claims changed and how.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import policydsl
from policydsl.tools import testing
from policydsl.diagnostics.model import PolicydslError
from policydsl.backends.facts import loads as json_loads

from .conftest import ROOT, SNAPSHOTS

POLICIES = ROOT / "policies"
SNAPSHOTTED = sorted(p for p in POLICIES.rglob("*.policy") if testing.tests_path_for(p).is_file())


def corpus(policy_path: Path) -> list[tuple[str, object, object]]:
    """(label, claim, as_of) for the policy's tests, then its folder's claims.jsonl."""
    claims = []
    seen = set()
    for case in testing.read_tests(testing.tests_path_for(policy_path)).cases:
        claims.append((f"test {case.name!r}", case.claim, case.as_of))
        seen.add(json.dumps(case.claim, sort_keys=True, default=str))
    jsonl = policy_path.parent / "claims.jsonl"
    if jsonl.is_file():
        for number, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            claim = json_loads(line)
            if json.dumps(claim, sort_keys=True, default=str) in seen:
                continue
            label = claim.get("claim_id", f"line {number}") if isinstance(claim, dict) else f"line {number}"
            claims.append((f"{jsonl.name} {label}", claim, None))
    return claims


def snapshot_text(policy_path: Path) -> str:
    policy = policydsl.load(policy_path)
    blocks = [f"# Decisions of {policy_path.relative_to(ROOT).as_posix()} ({policy.title}, version {policy.version})\n"]
    for label, claim, as_of in corpus(policy_path):
        head = f"=== {label}" + (f" (as of {as_of.isoformat()})" if as_of else "")
        try:
            decision = policy.evaluate(claim, as_of=as_of)
        except PolicydslError as error:
            blocks.append(f"{head}\nerror [{testing.error_code(error)}]: {error}\n")
            continue
        record = decision.to_json()
        lines = [head, "decision:"]
        lines += [f"  {key}: {json.dumps(record[key], ensure_ascii=False)}" for key in sorted(record)]
        lines += ["explanation:"]
        lines += [f"  {line}" if line else "" for line in decision.explain().splitlines()]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


@pytest.mark.parametrize("policy_path", SNAPSHOTTED, ids=[p.relative_to(POLICIES).with_suffix("").as_posix() for p in SNAPSHOTTED])
def test_decisions_snapshot(policy_path, snapshot):
    relative = policy_path.relative_to(POLICIES)
    snapshot.snapshot_dir = SNAPSHOTS / "decisions" / relative.parent
    snapshot.assert_match(snapshot_text(policy_path), relative.with_suffix(".txt").name)


def test_the_example_snapshot_covers_every_test_beside_it():
    text = snapshot_text(POLICIES / "example" / "resident-2025.policy")
    tests = json.loads((POLICIES / "example" / "resident-2025.tests.json").read_text(encoding="utf-8"))["tests"]
    assert len(tests) == 24 and text.count("\n=== ") == len(tests)
    assert '  basic: "8625.00"' in text


def test_adding_a_region_takes_one_snapshot_update(tmp_path):
    """A new region's policy and tests, in a copy of the repository: plain pytest fails on its
    missing snapshot and says how to make it; `pytest --snapshot-update` writes it, passes and
    lists it; pytest then passes."""
    import shutil
    import subprocess
    import sys

    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("tests", "policies"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    new = tmp_path / "policies" / "zz-new"
    new.mkdir()
    for name in ("resident-2025.policy", "resident-2025.tests.json"):
        shutil.copy(POLICIES / "sichuan" / name, new / name)

    def pytest_run(*extra):
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_decision_snapshots.py", "-k", "zz-new", *extra]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    missing = pytest_run()
    assert missing.returncode == 1 and "--snapshot-update" in missing.stdout, missing.stdout
    update = pytest_run("--snapshot-update")
    assert update.returncode == 0, update.stdout
    assert "snapshots written" in update.stdout and "Created snapshots:\n    resident-2025.txt" in update.stdout
    written = tmp_path / "tests" / "snapshots" / "decisions" / "zz-new" / "resident-2025.txt"
    assert written.read_text(encoding="utf-8").startswith("# Decisions of policies/zz-new/resident-2025.policy")
    again = pytest_run()
    assert again.returncode == 0 and "1 passed" in again.stdout and "snapshots written" not in again.stdout, again.stdout
