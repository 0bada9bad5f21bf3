"""The audit's mutations (issue 20), re-run: each edit of the engine or of a bundled policy that
an audit of the suite found uncaught must now fail a test that checks a value or an error code
(a test beside the policy, a unit test, a fuzz oracle), never only a snapshot of explanation text.

Each mutation is made in a copy of the repository (policies, package, tests), and the tests
named for it are run there in a fresh interpreter: they must fail, and the failure must be in
those tests. The three checker crashes of the audit are inputs, not edits: they are pinned by
tests/test_audit_crashes.py (their codes and places). This is the bounded sample CI runs; the
whole mutation run is docs/mutation.md's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import attrs
import pytest

from .conftest import ROOT


@attrs.frozen
class Mutation:
    name: str
    path: str
    edits: tuple[tuple[str, str], ...]  # (text, replacement), each found exactly once
    tests: tuple[str, ...]  # what pytest runs; the first is where the failure must be
    why: str


EXAMPLE = "policies/example/resident-2025.policy"
EXAMPLE_TESTS = "policies/example/resident-2025.tests.json"

MUTATIONS = [
    Mutation(
        "nanchang-70th-birthday", "policies/jiangxi-nanchang/resident-2025.policy",
        (("age_at_care >= elderly_age", "age_at_care > elderly_age"),),
        ("policies/jiangxi-nanchang/resident-2025.tests.json",),
        "a patient aged exactly 70 at the 4th admission pays no deductible (0.00, not 600.00)",
    ),
    Mutation(
        "shandong-lapse-of-one-year", "policies/shandong/resident-2025.policy",
        (("when person.gap_years > 0 then lapse_cap_cut", "when person.gap_years > 1 then lapse_cap_cut"),),
        ("policies/shandong/resident-2025.tests.json",),
        "a lapse of one year lowers the major-illness cap by 3,000 yuan",
    ),
    Mutation(
        "example-basic-not-rounded", EXAMPLE,
        (("      round(\n        min(max(0 yuan, eligible - deductible[hospital_level]) * basic_ratio, basic_room),\n        half_up\n      )",
          "      min(max(0 yuan, eligible - deductible[hospital_level]) * basic_ratio, basic_room)"),),
        (EXAMPLE_TESTS,),
        "a basic payment with fractions of a fen is rounded half up (375.0075 -> 375.01; 0.045 -> 0.05)",
    ),
    Mutation(
        "add-months-day-29-like-28", "policydsl/runtime/helpers.py",
        (("    if day.day <= 28:  # every month has a 28th", "    if day.day <= 29:  # every month has a 28th"),),
        ("tests/test_language.py::test_add_calendar_months_clamps_to_month_end",),
        "2025-01-29 + 1 month is 2025-02-28",
    ),
    Mutation(
        "reader-accepts-negative-money", "policydsl/backends/facts.py",
        (("    if value < 0:\n        _fail(f\"money may not be negative", "    if value < -10**20:\n        _fail(f\"money may not be negative"),
         ("    if _NUMBER_TEXT.match(value.strip()) and value.strip().startswith(\"-\"):\n        _fail(f\"money may not be negative, got {show(value)}\")",
          "    if _NUMBER_TEXT.match(value.strip()) and value.strip().startswith(\"-\"):\n        return Decimal(value.strip())")),
        ("tests/test_fuzz_facts.py::test_each_kind_of_mutation_predicts_its_error",),
        "negative money is F302 at its field",
    ),
    Mutation(
        "reader-accepts-unknown-fields", "policydsl/backends/facts.py",
        (("        if found < len(value):\n            for extra in value:", "        if False:\n            for extra in value:"),
         ("body += [f\"if _len({v}) != {count}: raise _Fallback\"", "body += [f\"if _len({v}) < {count}: raise _Fallback\"")),
        ("tests/test_fuzz_facts.py::test_each_kind_of_mutation_predicts_its_error",),
        "an unknown field is F303 at its name",
    ),
    Mutation(
        "example-level-rows-swapped", EXAMPLE,
        (("  1: 90%\n  2: 75%\n", "  1: 75%\n  2: 90%\n"),),
        (EXAMPLE_TESTS,),
        "level 1 pays 90% and level 2 75% of eligible costs above the deductible",
    ),
    Mutation(
        "example-exemption-skipped", EXAMPLE,
        (("  when person.category in waiting_exempt then false", "  when false then false"),),
        (EXAMPLE_TESTS,),
        "a newborn late enrollee is exempt from the waiting period",
    ),
    Mutation(
        "example-cross-province-ignored", EXAMPLE,
        (("  when cross_province_unregistered then level_ratio[hospital_level] - cross_province_cut",
          "  when false then level_ratio[hospital_level] - cross_province_cut"),),
        (EXAMPLE_TESTS,),
        "unregistered cross-province treatment is paid 10 points less",
    ),
    Mutation(
        "example-year-opens-above-zero", EXAMPLE,
        (("accumulator ytd_basic_paid: money per person_id over year opening 0 yuan adds basic",
          "accumulator ytd_basic_paid: money per person_id over year opening 1 yuan adds basic"),),
        ("tests/test_carry.py::test_the_readme_person_year_example",),
        "a person's year starts with nothing paid (no test beside a policy can see it: a single claim gives every value before it)",
    ),
    Mutation(
        "impact-counts-parts-of-a-flow", "policydsl/tools/impact/flows.py",
        (("    return Flows(fund, patient, parts_of(policy, fund + patient), \"declared\"",
          "    return Flows(fund + tuple(p for p, _ in parts_of(policy, fund + patient)), patient, parts_of(policy, fund + patient), \"declared\""),),
        ("tests/test_impact_report.py::test_yubei_assistance_is_counted_once",),
        "Yubei's assistance is counted once, not with its parts (+156.30, not +312.60)",
    ),
]

_COPIED = ("policydsl", "policies", "tests", "grammar", "pyproject.toml", "bench")


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """A copy of what the tests read, where mutations are made one at a time."""
    root = tmp_path_factory.mktemp("mutated")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in _COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, root / name)
    return root


def run_tests(root, tests) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root), "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-o", "addopts=", *tests]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def test_the_copy_is_what_the_tests_import(copy):
    found = subprocess.run([sys.executable, "-c", "import policydsl; print(policydsl.__file__)"], cwd=copy,
                           env={**os.environ, "PYTHONPATH": str(copy)}, capture_output=True, text=True, check=True)
    assert found.stdout.strip().startswith(str(copy)), found.stdout


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_the_mutation_is_caught_by_a_test_of_values_or_codes(copy, mutation):
    path = copy / mutation.path
    original = path.read_text(encoding="utf-8")
    mutated = original
    for text, replacement in mutation.edits:
        assert mutated.count(text) == 1, f"{mutation.path} no longer has exactly one {text!r}: update the mutation"
        mutated = mutated.replace(text, replacement)
    path.write_text(mutated, encoding="utf-8")
    try:
        done = run_tests(copy, mutation.tests)
    finally:
        path.write_text(original, encoding="utf-8")
    output = done.stdout + done.stderr
    assert done.returncode == 1, f"{mutation.name} ({mutation.why}) was not caught (exit {done.returncode}):\n{output[-3000:]}"
    where = mutation.tests[0].split("::")[0]
    assert f"FAILED {where}" in output, f"{mutation.name} failed elsewhere than {where}:\n{output[-3000:]}"
