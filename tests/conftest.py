from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import policydsl
from policydsl.backends.facts import loads as json_loads

# Tests (and the processes they start) use a cache folder of their own, never the user's.
os.environ.setdefault("POLICYDSL_CACHE_DIR", tempfile.mkdtemp(prefix="policydsl-test-cache-"))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "policies" / "example"
EXAMPLE_POLICY = EXAMPLE / "resident-2025.policy"
DATA = Path(__file__).resolve().parent / "data"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"

# Fuzz and property tests: `ci` (the default) is small and deterministic (derandomized: the
# same examples every run, no example database), to keep the suite within its time budget;
# `HYPOTHESIS_PROFILE=long python3 -m pytest -q tests/test_fuzz_*.py` searches much longer,
# with a random seed that Hypothesis prints on failure (`--hypothesis-seed=N` repeats a run).
# Long campaigns with case counts, time limits and figures: `python bench/fuzz.py --help`.
_FUZZ = dict(print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("ci", max_examples=60, deadline=2000, derandomize=True, database=None, **_FUZZ)
settings.register_profile("long", max_examples=5_000, deadline=5000, **_FUZZ)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def budget(examples: int) -> settings:
    """A slow property's own example count in the `ci` profile; other profiles keep theirs."""
    return settings(max_examples=examples if PROFILE == "ci" else settings.default.max_examples)


def example_claims() -> list[dict]:
    return [json_loads(line) for line in (EXAMPLE / "claims.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def example_expected() -> list[dict]:
    return [json.loads(line) for line in (EXAMPLE / "expected.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def example_policy() -> policydsl.Policy:
    return policydsl.load(EXAMPLE_POLICY)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A private, empty load cache for one test (the AST cache's folder), cleared before and after."""
    from policydsl.link import cache

    path = tmp_path / "policydsl-cache"
    monkeypatch.setenv("POLICYDSL_CACHE_DIR", str(path))
    monkeypatch.delenv("POLICYDSL_NO_CACHE", raising=False)
    cache.clear_memory()
    yield path
    cache.clear_memory()


@pytest.fixture
def claim(example_policy):
    """A fresh copy of the first example claim, to modify in a test."""
    return example_claims()[0]


def policy_text(body: str, inputs: str = "amount: money") -> str:
    """A small policy around `body`, for language tests."""
    return f"input {{ {inputs} }}\n{body}\n"


# Snapshots: pytest-snapshot's `snapshot` fixture, except that an update run passes. With
# `--snapshot-update` the plugin fails every test whose file it wrote, at teardown, so the
# first update after adding a region exited 1; here the files written are listed once, at the
# end of the run, to review (`git diff tests/snapshots`) before committing. Without the option
# a differing or missing snapshot fails as before.
_SNAPSHOTS_WRITTEN: list[str] = []


@pytest.fixture
def snapshot(request):
    from pytest_snapshot.plugin import Snapshot, _get_default_snapshot_dir

    option = request.config.option
    kept = Snapshot(option.snapshot_update, option.allow_snapshot_deletion, _get_default_snapshot_dir(request.node))
    yield kept
    try:
        kept.__exit__(None, None, None)
    except pytest.fail.Exception as written:
        if not option.snapshot_update:
            raise
        _SNAPSHOTS_WRITTEN.append(str(written.msg))


def pytest_terminal_summary(terminalreporter):
    if _SNAPSHOTS_WRITTEN:
        terminalreporter.section("snapshots written")
        for message in _SNAPSHOTS_WRITTEN:
            terminalreporter.write_line(message)
