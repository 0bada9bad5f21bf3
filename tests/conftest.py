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
