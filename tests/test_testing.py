"""Tests beside each policy: `policydsl test`, its failure report (golden), coverage, and
the pytest plugin that collects `*.tests.json` files.

The deliberately failing tests file is tests/data/testing/clinic.tests.json (a conftest
there keeps pytest's plugin from collecting it when it walks tests/).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

import policydsl
from policydsl.tools import testing
from policydsl.cli.main import main

from .conftest import DATA, EXAMPLE, ROOT, SNAPSHOTS, example_claims, example_expected

CLINIC = DATA / "testing" / "clinic.tests.json"


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---- the example province's tests file ----------------------------------------------------


def test_the_example_tests_file_holds_the_14_claims_and_their_expected_outputs():
    """The 14 claims of claims.jsonl with expected.jsonl's outputs, then the edge cases (rounding
    at half a fen and below, tests/test_audit_mutations.py; the waiting, tier, cap and assistance
    edges tests/mutate_policies.py found untested), which claims.jsonl leaves out."""
    tests = testing.read_tests(EXAMPLE / "resident-2025.tests.json")
    claims = example_claims()
    shared, edges = tests.cases[: len(claims)], tests.cases[len(claims):]
    assert [case.claim for case in shared] == json.loads(json.dumps(claims, default=str))
    expected = [{k: v for k, v in e.items() if k != "claim_id"} for e in example_expected()]
    assert [case.expect for case in shared] == expected
    assert [case.name for case in shared] == [c["claim_id"] for c in claims]
    assert [case.name for case in edges] == [
        "ex-15-half-a-fen-rounds-up", "ex-16-fractions-of-a-fen",
        "ex-17-lapse-of-exactly-4-years", "ex-18-lapse-of-5-years-waits-past-the-floor",
        "ex-19-major-tiers-across-100000", "ex-20-major-half-a-fen-rounds-up",
        "ex-21-zero-claim-years-add-to-the-continuity-raise", "ex-22-assistance-at-its-cap",
        "ex-23-low-income-exactly-at-the-threshold", "ex-24-one-fen-for-an-assistance-object",
    ]
    assert all(case.note for case in tests.cases)


def test_policydsl_test_passes_on_the_example(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run(capsys, "test", "policies/example")
    assert status == 0, out
    assert "ok   policies/example/resident-2025.tests.json: 24 tests" in out
    assert "ok   policies/example/resident-2025-v2.tests.json" in out
    assert out.rstrip().endswith("0 failed")


def test_a_policy_path_finds_its_tests_file(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run(capsys, "test", "policies/example/resident-2025-v2.policy")
    assert status == 0
    assert "resident-2025-v2.tests.json: 7 tests" in out


# ---- a failing test's report (golden) -------------------------------------------------------


def test_failing_report_golden(snapshot, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, err = run(capsys, "test", "tests/data/testing")
    assert status == 1
    assert "Traceback" not in out + err
    snapshot.snapshot_dir = SNAPSHOTS / "testing"
    snapshot.assert_match(out, "clinic-failures.txt")


def test_only_the_named_outputs_are_compared_and_numbers_compare_by_value():
    tests = testing.read_tests(CLINIC)
    policy = testing.load_policy(tests)
    first = testing.run_case(policy, tests, tests.cases[0])
    assert first.passed  # "510" matches "510.00"; only basic and patient_pays are named
    assert testing.same_value("75%", "0.75") and testing.same_value(8625, "8625.00")
    assert not testing.same_value(True, 1) and not testing.same_value("1", "2")


def test_the_failure_names_each_differing_output_and_shows_how_it_was_computed():
    tests = testing.read_tests(CLINIC)
    policy = testing.load_policy(tests)
    result = testing.run_case(policy, tests, tests.cases[1])
    assert not result.passed
    assert [(m.output, m.expected, m.got) for m in result.mismatches if m.got is not testing.MISSING] == [
        ("basic", "1050.00", "1120.00"),
        ("patient_pays", "950.00", "880.00"),
    ]
    report = testing.failure_report(result)
    assert "how basic was computed:" in report and "using amount = 2000.00, level = 3, paid_ratio = 80%" in report
    # the policy that decided, by file and by id, version and the digest of its text
    assert report.splitlines()[1:3] == ["  policy: " + str(tests.policy_path), f"    id clinic, version 1, digest {policy.provenance.digest}"]
    assert result.provenance == policy.provenance


def test_a_claim_that_is_not_decided_still_names_the_policy():
    tests = testing.read_tests(CLINIC)
    policy = testing.load_policy(tests)
    result = testing.run_case(policy, tests, tests.cases[3])
    assert result.decision is None and result.problem.startswith("the claim could not be decided")
    assert f"    id clinic, version 1, digest {policy.provenance.digest}\n" in testing.failure_report(result)


# ---- expecting accumulators --------------------------------------------------------------

CARRYING = """policy "Carrying (test)"
  version "2025.1"
  as of service_date
input {
  person_id: text = ""
  service_date: date
  amount: money
}
param cap = 1_000 yuan
accumulator paid: money per person_id opening 0 yuan adds basic
  because "What the fund paid this year"
accumulator visits: int per person_id over year from 07-01 opening 0 adds 1
rule room: money = max(0 yuan, cap - paid)
rule basic: money = min(amount, room)
output basic
"""


def carrying_tests(tmp_path, *expects) -> Path:
    (tmp_path / "carry.policy").write_text(CARRYING, encoding="utf-8")
    claim = {"claim_id": "k-1", "service_date": "2025-03-01", "amount": "600.00", "paid": "500.00", "visits": 2}
    cases = [{"name": f"t{i}", "claim": claim, "expect": expect} for i, expect in enumerate(expects)]
    (tmp_path / "carry.tests.json").write_text(json.dumps({"tests": cases}), encoding="utf-8")
    return tmp_path / "carry.tests.json"


def test_expect_may_name_accumulators_after_the_claim(tmp_path):
    """500.00 paid before, the claim adds basic = min(600, 1000 - 500) = 500: 1000.00 after;
    one more visit in the benefit year from 1 July: 3."""
    tests = testing.read_tests(carrying_tests(
        tmp_path,
        {"basic": "500.00", "accumulators": {"paid": "1000", "visits": 3}},
        {"accumulators": {"paid": "1100.00", "visits": 3}},
        {"basic": "500.00", "accumulators": {"paid_so_far": "1000.00"}},
    ))
    policy = testing.load_policy(tests)
    passed, wrong, unknown = (testing.run_case(policy, tests, case) for case in tests.cases)
    assert passed.passed, passed.mismatches
    assert not wrong.passed and [(m.output, m.expected, m.got) for m in wrong.mismatches] == [("accumulators.paid", "1100.00", "1000.00")]
    report = testing.failure_report(wrong)
    assert '  accumulators.paid: expected "1100.00" after the claim, got "1000.00" ("500.00" before it, year 2025-01-01/2025-12-31)' in report
    assert "  how basic was computed:" in report  # what `paid` adds
    assert "  how room was computed:" not in report
    assert not unknown.passed
    assert '  accumulators.paid_so_far: expected "1000.00", but the policy has no such accumulator (accumulators: paid, visits)' in testing.failure_report(unknown)


def test_accumulators_in_expect_must_be_an_object(tmp_path, capsys):
    carrying_tests(tmp_path, {"accumulators": []})
    status, out, _ = run(capsys, "test", str(tmp_path))
    assert status == 1
    assert '"expect": "accumulators" must be an object naming at least one accumulator' in out


def test_expected_errors_match_by_code():
    tests = testing.read_tests(CLINIC)
    policy = testing.load_policy(tests)
    refused = testing.run_case(policy, tests, tests.cases[4])
    assert refused.passed
    decided = testing.run_case(policy, tests, tests.cases[2])
    assert not decided.passed and decided.problem == "expected error F302, but the claim was decided"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "malformed JSON"),
        ('{"cases": []}', 'expected an object {"tests": [...]}'),
        ('{"tests": [{"claim": {}, "expect": {"a": 1}}]}', 'every test needs a "name"'),
        ('{"tests": [{"name": "a", "claim": {}}]}', 'give either "expect" (outputs) or "expect_error" (a code)'),
        ('{"tests": [{"name": "a", "claim": {}, "expect": {"a": 1}, "expect_error": "F302"}]}', 'give either "expect"'),
        ('{"tests": [{"name": "a", "claim": {}, "expect": {}}]}', "naming at least one output"),
        ('{"tests": [{"name": "a", "claim": {}, "expect": {"a": 1}, "as_of": "soon"}]}', '"as_of" must be a date'),
        ('{"tests": [{"name": "a", "claim": {}, "expect": {"a": 1}, "expected": {}}]}', "unknown key 'expected'"),
        ('{"tests": [{"name": "a", "claim": {}, "expect": {"a": 1}}, {"name": "a", "claim": {}, "expect": {"a": 1}}]}', "two tests are named 'a'"),
    ],
)
def test_a_malformed_tests_file_is_reported_cleanly(tmp_path, capsys, content, message):
    (tmp_path / "p.policy").write_text("input { a: money }\noutput a\n", encoding="utf-8")
    (tmp_path / "p.tests.json").write_text(content, encoding="utf-8")
    status, out, err = run(capsys, "test", str(tmp_path))
    assert status == 1
    assert message in out
    assert "Traceback" not in out + err


def test_a_policy_that_does_not_load_fails_its_file(tmp_path, capsys):
    (tmp_path / "p.policy").write_text("input { a: money }\nrule r: money = a + b\noutput r\n", encoding="utf-8")
    (tmp_path / "p.tests.json").write_text('{"tests": [{"name": "t", "claim": {"a": "1"}, "expect": {"r": "1"}}]}', encoding="utf-8")
    status, out, _ = run(capsys, "test", str(tmp_path / "p.policy"))
    assert status == 1
    assert "the policy does not load" in out and "undefined name `b`" in out


@pytest.mark.parametrize("argv", [["test", "nowhere"], ["test", "README.md"]])
def test_usage_errors_exit_2(capsys, monkeypatch, argv):
    monkeypatch.chdir(ROOT)
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert "error" in err and "Traceback" not in err


def test_k_selects_tests_by_name(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run(capsys, "test", "-k", "level 2", "tests/data/testing")
    assert status == 0
    assert "1 passed, 0 failed" in out


# ---- coverage ------------------------------------------------------------------------------


def test_coverage_names_what_the_example_tests_never_exercise(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run(capsys, "test", "--coverage", "policies/example/resident-2025.tests.json")
    assert status == 0
    report = out[out.index("Coverage of policies/example/resident-2025.policy") :]
    rules = len(policydsl.load(EXAMPLE / "resident-2025.policy").program.rule_names)  # every one of them
    assert f"rules       {rules:>3} of {rules:<3} 100%" in report
    assert "tier bands    3 of 3   100%" in report
    # nobody in the examples has a work-injury, public-health or abroad item, and only
    # assistance categories look up the assistance threshold
    assert "rule excluded: when item.category = work_injury (nested)" in report
    assert "rule excluded: when item.category = abroad (nested)" in report
    assert "table assistance_threshold[default]" in report
    assert "rule must_wait" not in report  # every branch of must_wait is taken


def test_coverage_counts_branches_rows_and_bands():
    tests = testing.read_tests(CLINIC)
    policy = testing.load_policy(tests)
    cover = testing.Coverage(policy)
    result = testing.run_case(policy, tests, tests.cases[0])  # level 2, not an emergency
    cover.record(result.decision)
    missed = {item.label for item in cover.missed()}
    assert missed == {"rule paid_ratio: when emergency", "table deductible[1]", "table deductible[3]"}
    cover.record(testing.run_case(policy, tests, tests.cases[1]).decision)
    assert {item.label for item in cover.missed()} == {"table deductible[1]"}


# ---- the pytest plugin ---------------------------------------------------------------------


def test_the_plugin_is_registered_by_entry_point():
    from importlib.metadata import entry_points

    assert any(ep.value == "policydsl.tools.pytest_plugin" for ep in entry_points(group="pytest11"))


def test_the_plugin_collects_tests_files_and_reports_like_policydsl_test(tmp_path):
    for name in ("clinic.policy", "clinic.tests.json"):
        shutil.copy(DATA / "testing" / name, tmp_path / name)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", "report.xml", "clinic.tests.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
    )
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "3 failed, 2 passed" in out
    tests = testing.read_tests(tmp_path / "clinic.tests.json")
    policy = testing.load_policy(tests)
    expected = testing.failure_report(testing.run_case(policy, tests, tests.cases[1]))
    assert expected.replace(f"{tmp_path}{os.sep}", "").strip() in out
    assert "clinic.tests.json::an emergency at level 3 (deliberately wrong expectation)" in out
    assert "Traceback" not in out
    # every item, passed or failed, records the policy that decided it
    found = policy.provenance
    cases = ElementTree.parse(tmp_path / "report.xml").getroot().iter("testcase")
    properties = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in cases]
    assert properties == [{"policy_id": "clinic", "policy_version": "1", "policy_digest": found.digest}] * 5


def test_the_plugin_leaves_another_projects_tests_json_alone(tmp_path):
    """An unrelated project with `api.tests.json` (and no `api.policy`) collects as if the
    plugin were not there; a policydsl tests file beside its policy is still collected."""
    import subprocess
    import sys

    (tmp_path / "api.tests.json").write_text('{"input": {"url": "/x"}, "expect": 200}', encoding="utf-8")
    (tmp_path / "test_api.py").write_text("def test_it():\n    assert True\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "error" not in done.stdout.lower()


def test_coverage_of_a_policy_that_extends_another_reports_its_own_apart(tmp_path, capsys):
    """The city's own table row (level 4) apart from the rows and rules it inherits from the
    province and the nation: one level-4 claim exercises its own definitions completely."""
    shutil.copytree(DATA / "inherit" / "policies", tmp_path / "policies")
    city = tmp_path / "policies" / "city"
    claim = {"claim_id": "c-1", "day": "2025-03-01", "amount": "1000", "level": 4}
    (city / "c.tests.json").write_text(json.dumps({"tests": [
        {"name": "level 4", "note": "(1,000 - 800) x 50% = 100", "claim": claim, "expect": {"paid": "100.00"}},
    ]}), encoding="utf-8")
    status, out, _ = run(capsys, "test", "--coverage", str(city / "c.policy"))
    assert status == 0, out
    report = out[out.index("Coverage of") :]
    own, inherited = report.split("  inherited (from ")
    assert "  its own definitions:\n    table rows    1 of 1   100%\n    everything was exercised\n" in own
    assert inherited.startswith(f"{tmp_path / 'policies' / 'national' / 'base.policy'}, {tmp_path / 'policies' / 'province' / 'p-2025.policy'}):")
    assert "table deductible[1]" in inherited and "table deductible[4]" not in inherited
    assert "    rules         5 of 5   100%\n    table rows    0 of 3     0%\n" in inherited  # the nation's 4 rules, the province's with_bonus
    assert "table deductible[3]  (" + str(tmp_path / "policies" / "province" / "p-2025.policy") + ":8:3)" in inherited  # overridden by the province
