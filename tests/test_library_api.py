"""The library a service calls, with no command line: choosing a policy by region and date
(link/registry.py) and turning one claim into its output record (tools/decide.py)."""

from __future__ import annotations

import datetime
import json

import pytest

import policydsl
from policydsl import api
from policydsl.diagnostics.model import EvaluationError, FactsError, PolicydslError, PolicyError
from policydsl.link.registry import NoPoliciesFolder, RegionError, Registry
from policydsl.tools import claims_io
from policydsl.tools.decide import claim_id_of, decide, error_record, json_line

from .conftest import DATA

ROOT = DATA / "inherit" / "policies"
CLAIM = {"claim_id": "a", "day": "2025-03-01", "amount": "1000", "level": 3}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry(ROOT)


@pytest.fixture(scope="module")
def p2025() -> policydsl.Policy:
    return policydsl.load(ROOT / "province" / "p-2025.policy")


# ---- choosing a policy by region and date ------------------------------------------------------


def test_the_version_in_force_on_the_day_is_chosen_and_loaded(registry):
    assert registry.policy_for("P1", datetime.date(2025, 12, 31)).name.endswith("p-2025.policy")
    chosen = registry.policy_for("P1", datetime.date(2026, 1, 1))
    assert isinstance(chosen, policydsl.Policy) and chosen.version == "2026.1"
    assert registry.policy_for("C1", datetime.date(2025, 5, 1)).name.endswith("c.policy")


def test_each_policy_is_loaded_once_and_said_once(capsys):
    said = []
    registry = Registry(ROOT, on_load=said.append)
    first = registry.policy_for("P1", datetime.date(2026, 2, 1))
    assert registry.policy_for("P1", datetime.date(2026, 3, 1)) is first
    assert [info.path.name for info in said] == ["p-2026.policy"]
    assert capsys.readouterr() == ("", "")  # a library prints nothing


def test_unknown_region_and_day_out_of_force_are_policydsl_errors(registry):
    with pytest.raises(RegionError, match="no policy for region XX; regions: ") as unknown:
        registry.policy_for("XX", datetime.date(2025, 1, 1))
    assert isinstance(unknown.value, PolicydslError)
    with pytest.raises(RegionError, match="no policy of region P1 is in force on 2024-06-01"):
        registry.policy_for("P1", datetime.date(2024, 6, 1))


def test_a_missing_policies_folder_is_a_region_error(tmp_path):
    with pytest.raises(NoPoliciesFolder, match="no such policies folder") as missing:
        Registry(tmp_path / "nope")
    assert isinstance(missing.value, RegionError) and isinstance(missing.value, PolicydslError)


def test_a_region_policy_chooses_by_each_claims_date(registry):
    region = registry.for_region("P1")
    assert registry.date_field("P1") == "day"
    assert region.evaluate(CLAIM).to_json()["paid"] == "300.00"  # 2025: 50% of (1000 - 400)
    assert region.evaluate({**CLAIM, "day": "2026-03-01"}).to_json()["paid"] == "420.00"  # 2026: 70%


def test_a_claim_whose_date_chooses_nothing_is_that_claims_error(registry):
    with pytest.raises(FactsError) as missing:
        registry.policy_for_claim("P1", {"amount": "1000", "level": 3})
    assert [(e.path, e.code) for e in missing.value.errors] == [("day", "F301")]
    with pytest.raises(FactsError) as malformed:
        registry.policy_for_claim("P1", {**CLAIM, "day": "March"})
    assert [(e.path, e.code) for e in malformed.value.errors] == [("day", "F302")]
    with pytest.raises(EvaluationError, match="no policy of region P1 is in force on 2024-03-01") as early:
        registry.policy_for_claim("P1", {**CLAIM, "day": "2024-03-01"})
    assert early.value.code == "R405"
    with pytest.raises(EvaluationError, match="do not say which date field"):
        registry.policy_for_claim("XX", CLAIM)


# ---- one claim, one record -------------------------------------------------------------------------


def test_a_decided_claim_gives_its_record_and_outputs(p2025):
    record, outputs = decide(p2025, CLAIM, line=1)
    assert list(record)[0] == "claim_id" and record["claim_id"] == "a"
    assert record == p2025.evaluate(CLAIM).to_json() and record["paid"] == "300.00"
    assert outputs is not None and str(outputs["paid"]) == "300.00"
    assert json.loads(json_line(record)) == record


def test_bad_facts_give_an_error_record_named_by_claim_id_or_line(p2025):
    record, outputs = decide(p2025, {**CLAIM, "amount": "lots"}, line=7)
    assert outputs is None
    assert record["claim_id"] == "a" and "line" not in record
    assert record["error"].startswith("invalid facts: ") and record["errors"][0]["path"] == "amount"
    anonymous = {key: value for key, value in CLAIM.items() if key != "claim_id"}
    record, _ = decide(p2025, {**anonymous, "amount": "lots"}, line=7)
    assert "claim_id" not in record and record["line"] == 7


def test_records_that_are_not_claims_get_error_records(p2025):
    record, outputs = decide(p2025, [1, 2], line=3)
    assert outputs is None and record["line"] == 3 and record["errors"][0]["code"] == "F302"
    record, outputs = decide(p2025, ValueError("malformed JSON at column 2"), line=4)
    assert outputs is None and record == {"line": 4, "error": "malformed JSON at column 2"}
    record, _ = decide(p2025, FactsError([]), line=5, claim_id="row-5")  # an id known apart from the claim
    assert record["claim_id"] == "row-5" and "line" not in record


def test_a_region_policy_decides_claims_and_a_date_out_of_force_is_an_error_record(registry):
    record, outputs = decide(registry.for_region("P1"), {**CLAIM, "day": "2024-03-01"}, line=1)
    assert outputs is None and record["claim_id"] == "a" and record["code"] == "R405"


class _Broken:
    def __init__(self, error: Exception):
        self.error = error

    def evaluate(self, facts, as_of=None):
        raise self.error


def test_a_bug_is_raised_or_with_keep_going_an_error_record():
    with pytest.raises(ZeroDivisionError):
        decide(_Broken(ZeroDivisionError("x")), CLAIM, line=1)
    record, outputs = decide(_Broken(ZeroDivisionError("x")), CLAIM, line=1, keep_going=True)
    assert outputs is None and record["claim_id"] == "a" and record["error"].startswith("internal error: ZeroDivisionError")


def test_a_policy_that_does_not_load_is_raised_not_written_as_a_record():
    with pytest.raises(PolicyError):
        decide(_Broken(PolicyError([])), CLAIM, line=1, keep_going=True)


def test_one_claim_id_rule():
    assert claim_id_of({"claim_id": "a"}) == "a"
    assert claim_id_of({"claim_id": 12}) == 12
    for not_an_id in ({"claim_id": True}, {"claim_id": 1.5}, {"claim_id": None}, {"claim_id": ["a"]}, {}, ["claim_id"], None):
        assert claim_id_of(not_an_id) is None, not_an_id
    assert claims_io.claim_id_of is claim_id_of


def test_error_record_and_json_line_are_the_apis_too():
    assert api.error_record is error_record and api.json_line is json_line
    assert error_record(EvaluationError("no", code="R405"), "a", None) == {"claim_id": "a", "error": "no", "code": "R405"}
    assert json_line({"claim_id": "理赔"}) == '{"claim_id": "理赔"}\n'
    assert json_line({"claim_id": "\ud800"}) == '{"claim_id": "\\ud800"}\n'  # not UTF-8: escaped, not a crash
