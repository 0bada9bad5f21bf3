"""Real regions: every policy under policies/ checks clean, every region extends the national
baseline, and every `*.tests.json` case beside a policy is documented (its outputs are checked
once, by the pytest plugin's items for those files).

The national baseline is a frame: it declares `required` what the nation does not set
(deductibles, ratios, caps, major-illness tiers, assistance), so it warns W237 and decides no
claim (R405); every region sets each of those values itself, with a reason and a citation.

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
from policydsl.syntax import nodes as n

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
    policy = _load(path)  # raises PolicyError with every diagnostic (C268 for a region that leaves a required value unset)
    if path == BASELINE:  # the frame: its one warning says it leaves required values unset
        assert [w.code for w in policy.warnings] == ["W237"], "\n".join(str(w) for w in policy.warnings)
        return
    assert not policy.warnings, "\n".join(str(w) for w in policy.warnings)


# ---- the national frame and what it requires of each region --------------------------------


def _required(frame: policydsl.Policy) -> tuple[list[str], dict[str, set]]:
    """The frame's required params and tiers, and each required table with the keys the frame
    gives itself (a region must give the others)."""
    env = frame.env
    values = [name for name, variants in env.variants.items() if all(
        (isinstance(v, n.ParamDef) and v.value is None) or (isinstance(v, n.TiersDef) and v.required) for v in variants)]
    tables = {name: {row.key for row in symbol.node.rows} for name, symbol in env.symbols.items() if symbol.kind == "table" and symbol.node.required}
    return values, tables


REQUIRED_VALUES = ["basic_annual_cap", "major_threshold", "major_schedule", "major_base_cap", "assistance_annual_cap"]
REQUIRED_TABLES = {"deductible": set(), "level_ratio": set(), "assistance_threshold": set(), "assistance_ratio": {"extreme_poor", "subsistence"}}


def test_the_national_frame_requires_what_the_nation_does_not_set():
    frame = _load(BASELINE)
    assert frame.env.policy.header.region is None, "a frame has no region: it is not a region's policy"
    values, tables = _required(frame)
    assert values == REQUIRED_VALUES
    assert tables == REQUIRED_TABLES  # assistance_ratio keeps the national 70% floors for 特困 and 低保
    (warning,) = frame.warnings
    assert warning.code == "W237"
    for name in REQUIRED_VALUES:
        assert f"`{name}`" in warning.message
    for name in REQUIRED_TABLES:
        assert f"a row of table `{name}` for" in warning.message


def test_the_national_frame_decides_no_claim_and_says_why():
    frame = _load(BASELINE)
    tests = json.loads(BASELINE.with_name("baseline-2025.tests.json").read_text(encoding="utf-8"))["tests"]
    assert not [case["name"] for case in tests if "expect" in case], "the frame decides no claim"
    as_frame = [case for case in tests if case.get("expect_error") == "R405" and "as_of" not in case]
    assert as_frame
    for case in as_frame:
        with pytest.raises(policydsl.EvaluationError) as raised:
            frame.evaluate(case["claim"])
        assert raised.value.code == "R405"
        assert str(raised.value).startswith("`basic_annual_cap` is required and this policy does not set it: it is a frame for regions")


def _sets(definition, frame_file: Path) -> bool:
    return Path(definition.span.source.name).resolve() != frame_file.resolve()


def _kinds(annotations) -> set:
    return {a.kind for a in annotations}


def _zero(expr) -> bool:
    """A literal 0 yuan or 0% (what an unknown is set to: it pays nothing)."""
    return isinstance(expr, n.Literal) and expr.unit in ("money", "ratio") and expr.value == 0


@pytest.mark.parametrize("path", [p for p in ALL_POLICIES if p != BASELINE and "example" not in p.parts], ids=_relative)
def test_region_sets_each_required_value_itself_with_its_reason(path: Path):
    """Each value the frame requires is set along the region's own chain (never by the frame),
    with a citation, and a zero (an unknown that pays nothing, or a known zero) says why."""
    policy = _load(path)
    env = policy.env
    for name in REQUIRED_VALUES:
        variants = env.variants[name]
        assert variants and all(_sets(v, BASELINE) for v in variants), f"{name} is not set by {_relative(path)}"
        for definition in variants:
            kinds = _kinds(definition.annotations)
            if isinstance(definition, n.TiersDef):  # each band cites its source (or the schedule does); a 0% band says why
                for band in definition.bands:
                    assert "cite" in kinds | _kinds(band.annotations), f"{_relative(path)}: a band of {name} has no cite"
                    if _zero(band.rate):
                        assert "because" in _kinds(band.annotations), f"{_relative(path)}: a 0% band of {name} without a reason"
                continue
            assert "cite" in kinds, f"{_relative(path)}: {name} has no cite"
            if _zero(definition.value):
                assert "because" in kinds, f"{_relative(path)}: {name} = 0 without a reason"
    for name, national in REQUIRED_TABLES.items():
        table = env.symbols[name].node
        own = [row for row in table.rows if _sets(row, BASELINE)]
        frame_keys = {row.key for row in table.rows if not _sets(row, BASELINE)}
        assert frame_keys <= national, (name, frame_keys)
        assert own, f"{_relative(path)} gives table {name} no row"
        for row in own:
            assert "cite" in _kinds(row.annotations), f"{_relative(path)}: {name}[{row.key}] has no cite"
            if _zero(row.value):
                assert "because" in _kinds(row.annotations), f"{_relative(path)}: {name}[{row.key}] = 0 without a reason"


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
