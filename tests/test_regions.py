"""Real regions: every policy under policies/ checks clean, every region extends the national
baseline, and every `*.tests.json` case beside a policy is documented (its outputs are checked
once, by the pytest plugin's items for those files).

A tests file `<stem>.tests.json` sits beside `<stem>.policy` and holds
`{"tests": [{"name", "note", "as_of"?, "claim", "expect" | "expect_error"}]}`:
`expect` maps output names to their JSON values (`decision.to_json()`), `expect_error` is the
code of the error the claim must raise (a fact error or an evaluation error).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

import policydsl

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
BASELINE = POLICIES / "national" / "baseline-2025.policy"
MIN_TESTS_PER_REGION = 4


def _relative(path: Path) -> str:
    return path.relative_to(POLICIES).as_posix()


ALL_POLICIES = sorted(POLICIES.rglob("*.policy"))
TEST_FILES = sorted(POLICIES.rglob("*.tests.json"))


def _policy_for(tests_file: Path) -> Path:
    return tests_file.with_name(tests_file.name.removesuffix(".tests.json") + ".policy")


@functools.lru_cache(maxsize=None)
def _load(path: Path) -> policydsl.Policy:
    return policydsl.load(path)


def _cases():
    for tests_file in TEST_FILES:
        data = json.loads(tests_file.read_text(encoding="utf-8"))
        for index, case in enumerate(data["tests"]):
            case_id = f"{_relative(tests_file).removesuffix('.tests.json')}::{case.get('name', index)}"
            yield pytest.param(tests_file, case, id=case_id)


def _region_policies() -> list[Path]:
    """Policies that declare a region (the national baseline itself aside)."""
    found = []
    for path in ALL_POLICIES:
        if path == BASELINE:
            continue
        if _load(path).env.policy.header.region is not None:
            found.append(path)
    return found


# ---- every policy checks clean ----------------------------------------------------------


@pytest.mark.parametrize("path", ALL_POLICIES, ids=_relative)
def test_policy_checks_clean(path: Path):
    policy = _load(path)  # raises PolicyError with every diagnostic
    assert not policy.warnings, "\n".join(str(w) for w in policy.warnings)


def test_there_are_five_regions_and_a_baseline():
    assert BASELINE.is_file()
    assert len(_region_policies()) >= 5


# ---- each region really extends the national baseline -------------------------------------


@pytest.mark.parametrize("path", [p for p in ALL_POLICIES if p != BASELINE and "example" not in p.parts], ids=_relative)
def test_region_extends_national_baseline(path: Path):
    policy = _load(path)
    header = policy.env.policy.header
    chain = [Path(name).resolve() if Path(name).is_absolute() else (Path.cwd() / name).resolve() for name in policy.env.linked.chain]
    assert chain[0] == path.resolve(), chain
    assert chain[-1] == BASELINE.resolve(), f"{_relative(path)} does not end its chain at the national baseline: {chain}"
    assert len(chain) in (2, 3), "a region extends the baseline directly or through its province"
    assert header.extends is not None
    assert header.region and header.region_name, "a region names its code and name"
    assert header.version, "a region states its version"
    assert header.effective is not None, "a region states when it is in force"
    assert header.documents, "a region names the documents it implements"


@pytest.mark.parametrize("path", [p for p in ALL_POLICIES if "example" not in p.parts], ids=_relative)
def test_policy_has_enough_tests(path: Path):
    tests_file = path.with_name(path.name.removesuffix(".policy") + ".tests.json")
    assert tests_file.is_file(), f"{_relative(path)} has no tests file beside it"
    tests = json.loads(tests_file.read_text(encoding="utf-8"))["tests"]
    assert len(tests) >= MIN_TESTS_PER_REGION
    names = [t["name"] for t in tests]
    assert len(names) == len(set(names)), "test names are unique within a file"


# ---- the hand-computed cases ----------------------------------------------------------------


@pytest.mark.parametrize(("tests_file", "case"), list(_cases()))
def test_region_case_says_how_it_was_computed(tests_file: Path, case: dict):
    """Each hand-computed case shows its arithmetic and expects either outputs or an error.
    The cases themselves run once each, as the plugin's items (`policies/**/*.tests.json`
    under pytest, what `policydsl test` runs): not again here, so a wrong expectation is
    one failure, not two."""
    assert case.get("note"), "every case says how its numbers were computed"
    assert ("expect" in case) != ("expect_error" in case), "a case has either `expect` or `expect_error`"
