"""The bundled policies carry their year-to-date amounts as accumulators, never as silent defaults.

Every policy under policies/: no year-to-date amount or admission count is an input field with
a default; every such amount a rule reads is an accumulator, carried per `person_id` over the
calendar year of `service_date`. A claim that does not give one is refused, naming it (F301),
so two large claims of one person can no longer both be paid as the year's first. The example
province's 14 claims still give their expected outputs with their year-to-date values given
as before, and a single claim needs no `person_id`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl import EvaluationError, FactsError

from .conftest import EXAMPLE_POLICY, ROOT, example_claims, example_expected

POLICIES = ROOT / "policies"
ALL_POLICIES = sorted(POLICIES.rglob("*.policy"))
BASELINE_ACCUMULATORS = ("ytd_basic_paid", "ytd_major_base", "ytd_major_paid", "ytd_assistance_paid")
EXAMPLE_ACCUMULATORS = ("ytd_basic_paid", "ytd_major_paid", "ytd_major_base")

# A name or a field comment that speaks of an amount carried over the year.
CARRIED_NAME = re.compile(r"^ytd_|^admission(s|_number|_count)$", re.IGNORECASE)
CARRIED_COMMENT = re.compile(
    r"year-to-date|already (paid|counted)|this (benefit )?year|number in the (benefit )?year|admissions earlier",
    re.IGNORECASE,
)


def _id(path: Path) -> str:
    return path.relative_to(POLICIES).with_suffix("").as_posix()


@functools.lru_cache(maxsize=None)
def _load(path: Path) -> policydsl.Policy:
    return policydsl.load(path)


def _tests_of(path: Path) -> list[dict]:
    tests_file = path.with_name(path.name.removesuffix(".policy") + ".tests.json")
    return json.loads(tests_file.read_text(encoding="utf-8"))["tests"]


def _is_frame(path: Path) -> bool:
    """The national frame: it leaves `required` values to its regions (W237) and decides no claim."""
    return any(w.code == "W237" for w in _load(path).warnings)


def _decided_claim(path: Path) -> dict:
    """The first claim of the policy's tests that is decided (not an expected error); for a
    frame, which decides none, the first whose facts are complete, refused only as a frame (R405)."""
    if _is_frame(path):
        return copy.deepcopy(next(case["claim"] for case in _tests_of(path) if case.get("expect_error") == "R405" and "as_of" not in case))
    return copy.deepcopy(next(case["claim"] for case in _tests_of(path) if "expect" in case))


def _evaluate_complete(policy: policydsl.Policy, path: Path, claim: dict) -> None:
    """Decide a complete claim; a frame refuses it as a frame (R405 naming a required value)."""
    if not _is_frame(path):
        policy.evaluate(claim)
        return
    with pytest.raises(EvaluationError) as raised:
        policy.evaluate(claim)
    assert raised.value.code == "R405" and "is required and this policy does not set it" in str(raised.value)


def _field_comment(field) -> str:
    line = field.span.source.line(field.span.line)
    return line.split("#", 1)[1] if "#" in line else ""


# ---- no silent defaults, and the amounts rules read are accumulators -------------------------


@pytest.mark.parametrize("path", ALL_POLICIES, ids=_id)
def test_no_carried_amount_is_an_input_with_a_default(path: Path):
    policy = _load(path)
    fields = policy.env.input.fields if policy.env.input else ()
    persons = {a.per for a in policy.accumulators}  # who, not how much: `person_id = ""` is allowed
    defaulted = [
        f.name
        for f in fields
        if f.default is not None
        and f.name not in persons
        and (CARRIED_NAME.search(f.name) or CARRIED_COMMENT.search(_field_comment(f)))
    ]
    assert not defaulted, f"{_id(path)} defaults a year-to-date amount or admission count: {defaulted}"
    # and none is an input field at all: the accumulator of the same name replaces it
    assert not [f.name for f in fields if f.name.startswith("ytd_")]


@pytest.mark.parametrize("path", ALL_POLICIES, ids=_id)
def test_every_carried_amount_a_rule_reads_is_an_accumulator(path: Path):
    policy = _load(path)
    read = set()
    for name, deps in policy.env.deps.items():
        if not name.startswith("accumulator "):
            read |= deps
    carried_read = {name for name in read if name.startswith("ytd_") or name == "admissions"}
    assert carried_read, f"{_id(path)} reads no year-to-date amount"
    assert carried_read <= set(policy.accumulator_names), carried_read - set(policy.accumulator_names)
    for accumulator in policy.accumulators:
        assert accumulator.per in ("person_id", "account_owner_id")  # a personal account: per its owner (issue 18)
        assert accumulator.year_start == (1, 1), "the calendar year of service_date"
        assert accumulator.opening == 0
    assert policy.program.as_of_index is not None
    as_of_field = policy.env.record_fields(None)[policy.program.as_of_index]
    assert as_of_field.name == "service_date"


@pytest.mark.parametrize("path", [p for p in ALL_POLICIES if "example" not in p.parts], ids=_id)
def test_baseline_and_regions_carry_the_four_amounts(path: Path):
    names = _load(path).accumulator_names
    assert tuple(names[:4]) == BASELINE_ACCUMULATORS
    assert ("admissions" in names) == (path.parent.name == "jiangxi-nanchang")


def test_example_province_carries_its_three_amounts():
    policy = _load(EXAMPLE_POLICY)
    assert tuple(policy.accumulator_names) == EXAMPLE_ACCUMULATORS
    field = next(f for f in policy.env.input.fields if f.name == "person_id")
    assert field.default is not None and field.default.value == ""


# ---- a claim missing an accumulator is refused, naming it ------------------------------------


@pytest.mark.parametrize("path", ALL_POLICIES, ids=_id)
def test_missing_accumulator_is_a_facts_error_naming_it(path: Path):
    policy = _load(path)
    claim = _decided_claim(path)
    _evaluate_complete(policy, path, claim)  # complete: decided (a frame: refused only as a frame)
    for name in policy.accumulator_names:
        partial = {key: value for key, value in claim.items() if key != name}
        with pytest.raises(FactsError) as raised:
            policy.evaluate(partial)
        errors = raised.value.errors
        assert [(e.path, e.code) for e in errors] == [(name, "F301")]
        assert f"accumulator `{name}`" in errors[0].message


@pytest.mark.parametrize("path", ALL_POLICIES, ids=_id)
def test_claim_without_any_year_to_date_amount_names_each(path: Path):
    policy = _load(path)
    claim = {k: v for k, v in _decided_claim(path).items() if k not in policy.accumulator_names}
    with pytest.raises(FactsError) as raised:
        policy.evaluate(claim)
    assert sorted(e.path for e in raised.value.errors) == sorted(policy.accumulator_names)
    assert {e.code for e in raised.value.errors} == {"F301"}


# ---- the example province ---------------------------------------------------------------------


CASES = list(zip(example_claims(), example_expected()))


@pytest.mark.parametrize("claim,expected", CASES, ids=[c["claim_id"] for c, _ in CASES])
def test_example_claims_keep_their_expected_outputs(claim, expected):
    policy = _load(EXAMPLE_POLICY)
    assert "person_id" not in claim  # today's claim files, unchanged
    assert set(EXAMPLE_ACCUMULATORS) <= set(claim)  # their year-to-date values, given as today
    record = policy.evaluate(claim).to_json()
    assert {name: record[name] for name in expected} == expected
    for name in EXAMPLE_ACCUMULATORS:
        assert Decimal(record["accumulators"][name]["before"]) == Decimal(str(claim[name]))
    year = claim["service_date"][:4]
    assert record["accumulators"]["ytd_basic_paid"]["period"] == f"{year}-01-01/{year}-12-31"


def test_example_accumulators_add_what_the_layers_paid_and_counted():
    policy = _load(EXAMPLE_POLICY)
    by_id = {c["claim_id"]: c for c in example_claims()}
    decision = policy.evaluate(by_id["ex-07-major-tiers"])
    carried, out = decision.accumulators, decision.outputs
    assert carried["ytd_basic_paid"].after == carried["ytd_basic_paid"].before + out["basic"]
    assert carried["ytd_major_paid"].after == carried["ytd_major_paid"].before + out["major"]
    assert carried["ytd_major_base"].after - carried["ytd_major_base"].before == out["eligible"] - out["basic"]
    assert out["major"] > 0
    # in the waiting period nothing is paid and nothing counts towards major illness
    waiting = policy.evaluate(by_id["ex-03-waiting"])
    assert waiting.outputs["in_waiting"] is True and waiting.outputs["eligible"] == Decimal("20000.00")
    assert waiting.accumulators["ytd_major_base"].after == waiting.accumulators["ytd_major_base"].before == 0


def test_single_claim_without_person_id_still_evaluates():
    policy = _load(EXAMPLE_POLICY)
    claim = example_claims()[0]
    assert "person_id" not in claim
    assert policy.evaluate(claim).outputs["basic"] == Decimal("8625.00")
    with_person = policy.evaluate({**claim, "person_id": "p-1"})
    assert with_person.outputs == policy.evaluate(claim).outputs


def test_example_v2_inherits_the_accumulators():
    v2 = _load(EXAMPLE_POLICY.with_name("resident-2025-v2.policy"))
    assert tuple(v2.accumulator_names) == EXAMPLE_ACCUMULATORS
    claim = next(c for c in example_claims() if c["claim_id"] == "ex-10-major-cap-incentive")
    assert v2.evaluate(claim).accumulators["ytd_major_paid"].before == Decimal("410000.00")


# ---- two large claims of one person ------------------------------------------------------------


def _large_example_claim(claim_id: str) -> dict:
    claim = {k: v for k, v in example_claims()[0].items() if k not in EXAMPLE_ACCUMULATORS}
    return {**claim, "claim_id": claim_id, "person_id": "p-300k", "hospital_level": 3,
            "items": [{"category": "covered", "amount": "300000.00"}]}


def test_two_300000_claims_without_year_to_date_amounts_are_refused():
    policy = _load(EXAMPLE_POLICY)
    for claim in (_large_example_claim("first"), {**_large_example_claim("second"), "service_date": "2025-06-01"}):
        with pytest.raises(FactsError) as raised:
            policy.evaluate(claim)
        assert sorted(e.path for e in raised.value.errors) == sorted(EXAMPLE_ACCUMULATORS)
        assert all("before this claim" in e.message for e in raised.value.errors)


def test_two_300000_claims_carried_pay_the_basic_cap_once():
    policy = _load(EXAMPLE_POLICY)
    zero = {name: "0" for name in EXAMPLE_ACCUMULATORS}
    first = policy.evaluate(_large_example_claim("first"), accumulators=zero)
    assert first.outputs["basic"] == Decimal("150000.00")  # (300,000 - 800) x 60% = 179,520, capped
    carried = {name: str(c.after) for name, c in first.accumulators.items()}
    second = policy.evaluate({**_large_example_claim("second"), "service_date": "2025-06-01"}, accumulators=carried)
    assert second.outputs["basic"] == Decimal("0.00")  # the cap is spent
    # major illness: the first claim's 150,000 out of pocket by tiers (21,000 + 32,500 + 35,000);
    # the second's 300,000 lies wholly above 100,000 of the year's total, at 70%
    assert first.outputs["major"] == Decimal("88500.00")
    assert second.outputs["major"] == Decimal("210000.00")
    assert second.accumulators["ytd_basic_paid"].before == Decimal("150000.00")
    # as if first (the old silent default), the second claim would have been paid the cap again
    as_if_first = policy.evaluate({**_large_example_claim("second"), "service_date": "2025-06-01"}, accumulators=zero)
    assert as_if_first.outputs["basic"] == Decimal("150000.00")


def test_two_300000_claims_in_nanchang_are_refused_without_year_to_date_amounts():
    path = POLICIES / "jiangxi-nanchang" / "resident-2025.policy"
    policy = _load(path)
    base = {k: v for k, v in _decided_claim(path).items() if k not in policy.accumulator_names}
    claim = {**base, "person_id": "p-300k", "hospital_level": 3, "items": [{"category": "covered", "amount": "300000.00"}]}
    with pytest.raises(FactsError) as raised:
        policy.evaluate(claim)
    assert sorted(e.path for e in raised.value.errors) == sorted(policy.accumulator_names)
    zero = {name: 0 if name == "admissions" else "0" for name in policy.accumulator_names}
    first = policy.evaluate(claim, accumulators=zero)
    assert first.outputs["basic"] == Decimal("100000.00")  # Nanchang's basic cap
    second = policy.evaluate(claim, accumulators={name: str(c.after) if name != "admissions" else c.after
                                                   for name, c in first.accumulators.items()})
    assert second.outputs["basic"] == Decimal("0.00")
    assert second.accumulators["admissions"].before == 1


# ---- what the regions count --------------------------------------------------------------------


def _region(name: str) -> Path:
    return POLICIES / name / "resident-2025.policy"


def _case(path: Path, claim_id: str) -> dict:
    return next(case["claim"] for case in _tests_of(path) if case["claim"]["claim_id"] == claim_id)


def test_nanchang_counts_admissions_for_the_4th_admission_waiver():
    path = _region("jiangxi-nanchang")
    policy = _load(path)
    claim = _case(path, "nc-02-elderly-4th")  # aged 73, level 3
    assert claim["admissions"] == 3
    fourth = policy.evaluate(claim)
    assert fourth.outputs["basic_deductible"] == Decimal("0.00")
    assert (fourth.accumulators["admissions"].before, fourth.accumulators["admissions"].after) == (3, 4)
    third = policy.evaluate(claim, accumulators={"admissions": 2})
    assert third.outputs["basic_deductible"] == Decimal("600.00")
    with pytest.raises(FactsError) as raised:
        policy.evaluate({**claim, "admission_number": 4})  # no longer an input
    assert [(e.path, e.code) for e in raised.value.errors] == [("admission_number", "F303")]


def test_chongqing_counts_large_cost_and_tilted_assistance():
    path = _region("chongqing-yubei")
    decision = _load(path).evaluate(_case(path, "yb-01-published"))
    out, carried = decision.outputs, decision.accumulators["ytd_assistance_paid"]
    assert out["tilt_assistance"] > 0 and out["large_cost_assistance"] > 0
    assert carried.after - carried.before == out["large_cost_assistance"] + out["tilt_assistance"] == out["assistance"]


def test_jiangxi_major_base_leaves_out_the_share_paid_first():
    path = _region("jiangxi")
    decision = _load(path).evaluate(_case(path, "jx-10-emergency"))
    out, carried = decision.outputs, decision.accumulators["ytd_major_base"]
    assert out["first_pay"] == Decimal("2000.00")
    assert carried.after - carried.before == out["eligible"] - out["first_pay"] - out["basic"]


def test_jiangxi_hardship_group_counts_the_same_base():
    path = _region("jiangxi")
    policy = _load(path)
    ordinary, hardship = (policy.evaluate(_case(path, cid)) for cid in ("jx-02-major", "jx-03-major-hardship"))
    added = [d.accumulators["ytd_major_base"].after - d.accumulators["ytd_major_base"].before for d in (ordinary, hardship)]
    assert added[0] == added[1] == Decimal("30000.00")
    assert hardship.outputs["major"] > ordinary.outputs["major"]


@pytest.mark.parametrize("path", [p for p in ALL_POLICIES if "example" not in p.parts and not _is_frame(p)], ids=_id)
def test_waiting_period_counts_nothing_towards_major_illness(path: Path):
    policy = _load(path)
    waiting = [case["claim"] for case in _tests_of(path) if "expect" in case and case["expect"].get("in_waiting") is True]
    for claim in waiting:
        decision = policy.evaluate(claim)
        carried = decision.accumulators
        assert all(carried[name].after == carried[name].before for name in BASELINE_ACCUMULATORS)
