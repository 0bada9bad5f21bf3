"""`policydsl verify` (issue 17): proofs over every claim a policy's schema admits, with z3.

- every bundled policy's invariants are proved (bounded over lists of 3 items), and the
  national frame, which decides no claim, says so;
- seeded bugs in the example province (a removed cap, a wrong tier edge, a missing
  exclusion, a ratio above 100% in a computed value) are each found with a counterexample
  that the engine confirms: R406 naming the invariant, or NEW's output below OLD's;
- `--refines` on the example's two versions: `basic` is proved, `patient_pays` reversed (a
  patient never pays more under the second) is proved, `major` has a real counterexample;
- `--monotone` and `--nonnegative`;
- the differential safety net: the SMT encoding evaluated on concrete claims (every input
  fixed) gives the engine's outputs digit for digit, or refuses what the engine refuses with
  the same code, on generated claims of every bundled policy and of tests/data/verify/
  features.policy (every construct the encoding handles: rounding modes on negative amounts
  and on ties, steps, tiers and bands, tables, `unlimited`, dates, aggregates, `let`);
- the command: exit codes 0, 1, 2, 3, `--counterexamples DIR` files that `policydsl eval`
  reads and shows breaking the property, `--json`.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl.cli.main import main
from policydsl.tools.generate import generate
from policydsl.verify import Request, verify, write_counterexamples
from policydsl.verify.agreement import encoded_decision, same

from .conftest import DATA, ROOT

EXAMPLE = ROOT / "policies" / "example" / "resident-2025.policy"
EXAMPLE_V2 = ROOT / "policies" / "example" / "resident-2025-v2.policy"
NATIONAL = ROOT / "policies" / "national" / "baseline-2025.policy"
BUNDLED = sorted((ROOT / "policies").rglob("*.policy"))
FEATURES = DATA / "verify" / "features.policy"
NO_CAP = DATA / "verify" / "no-cap.policy"
ITEMS = 3

_LOADED: dict = {}


def load(path: Path) -> policydsl.Policy:
    if path not in _LOADED:
        _LOADED[path] = policydsl.load(path)
    return _LOADED[path]


def decides_claims(policy) -> bool:
    return any(segment.in_force for segment in policy.program.ir.segments)


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


# ---- every bundled policy -----------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED, ids=[_id(p) for p in BUNDLED])
def test_every_bundled_policy_has_its_invariants_proved_or_says_why(path):
    policy = load(path)
    report = verify(Request(policy, items=ITEMS, timeout=30))
    declared = [invariant.name for invariant in policy.env.invariants]
    assert declared, "every bundled policy declares invariants"
    assert [o.name for o in report.outcomes] == [f"invariant {name}" for name in declared]
    if decides_claims(policy):
        assert report.status == "proved", report.text()
        assert all(o.bounded for o in report.outcomes)  # lists of items: a bounded check, and the report says so
        assert "bounded check, not a proof" in report.text()
    else:  # the national frame: its required values are set by regions
        assert {o.status for o in report.outcomes} == {"unknown"}
        for outcome in report.outcomes:
            assert "decides no claim" in outcome.reason and "required and unset" in outcome.reason, outcome.reason


def test_the_national_frame_decides_no_claim_and_the_command_says_so(capsys):
    policy = load(NATIONAL)
    assert any(w.code == "W237" for w in policy.warnings)
    assert not decides_claims(policy)
    assert main(["verify", str(NATIONAL)]) == 3
    out = capsys.readouterr().out
    assert "the policy decides no claim" in out and "it is a frame whose regions set them (W237)" in out
    assert f"0 proved, 0 failed, {len(policy.env.invariants)} unknown" in out


# ---- seeded bugs -------------------------------------------------------------------------


SEEDED = {
    # the basic fund's annual cap left out: its invariant basic_within_cap catches it
    "a removed cap": (
        "min(max(0 yuan, eligible - deductible[hospital_level]) * basic_ratio, basic_room)",
        "max(0 yuan, eligible - deductible[hospital_level]) * basic_ratio",
        ("invariant", "basic_within_cap"),
    ),
    # 100_000 written 1_000_000 in two bands (contiguous, increasing: the checker accepts it):
    # the 70% band starts ten times too late, so a variant pays less major-illness insurance
    "a wrong tier edge": (
        "from 50_000 yuan to 100_000 yuan: 65%\n  above 100_000 yuan: 70%",
        "from 50_000 yuan to 1_000_000 yuan: 65%\n  above 1_000_000 yuan: 70%",
        ("refines", "major"),
    ),
    # wellness items no longer excluded: the variant excludes less than the original
    "a missing exclusion": (
        '    when item.category = wellness then item.amount\n'
        '      because "Wellness, fitness and check-ups are not medical treatment"\n'
        '      cite "2024 national guidance; implementing opinions, exclusions"\n',
        "",
        ("refines", "excluded"),
    ),
    # a computed ratio above 100% (level 1: 90% + 15%): the fund pays more than the bill
    "a ratio above 100% in a computed value": (
        "level_ratio[hospital_level] - cross_province_cut",
        "level_ratio[hospital_level] + 15%",
        ("invariant", "no_negative_layer"),
    ),
}


def seeded(name: str) -> policydsl.Policy:
    old, new, _ = SEEDED[name]
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the example no longer has the text the seeded bug {name!r} replaces"
    return policydsl.loads(text.replace(old, new), name="seeded.policy")


@pytest.mark.parametrize("name", list(SEEDED))
def test_a_seeded_bug_is_found_with_a_counterexample_the_engine_confirms(name, tmp_path):
    policy = seeded(name)
    kind, what = SEEDED[name][2]
    original = load(EXAMPLE)
    if kind == "invariant":
        report = verify(Request(policy, items=ITEMS, timeout=30))
    else:
        report = verify(Request(None, refines=((original, policy, what),), items=ITEMS, timeout=30))
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert report.status == "failed" and len(failed) == 1, report.text()
    outcome = failed[0]
    report = write_counterexamples(report, tmp_path)
    written = [o for o in report.outcomes if o.status == "failed"][0].file
    claim = json.loads(Path(written).read_text(encoding="utf-8"), parse_float=Decimal)
    if kind == "invariant":
        assert outcome.name == f"invariant {what}"
        with pytest.raises(policydsl.EvaluationError) as raised:
            policy.evaluate(claim)
        assert raised.value.code == "R406" and f"invariant `{what}` does not hold" in str(raised.value)
        original.evaluate(claim)  # the unseeded policy decides the same claim
    else:
        assert policy.evaluate(claim).outputs[what] < original.evaluate(claim).outputs[what]


def test_the_readme_counterexample_file_is_the_removed_cap(tmp_path, capsys):
    """tests/data/verify/no-cap.policy (the README's worked example) is the removed cap, and
    `policydsl eval` shows its counterexample breaking the invariant (R406)."""
    assert main(["verify", str(NO_CAP), "--counterexamples", str(tmp_path / "cx")]) == 1
    out = capsys.readouterr().out
    assert "FAILED   invariant basic_within_cap" in out and "2 proved, 1 failed, 0 unknown" in out
    written = tmp_path / "cx" / "invariant-basic_within_cap.json"
    assert sorted(p.name for p in (tmp_path / "cx").iterdir()) == [written.name]
    assert main(["eval", str(NO_CAP), str(written)]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["code"] == "R406" and record["claim_id"] == "verify-invariant-basic_within_cap"
    assert main(["eval", str(EXAMPLE), str(written)]) == 0  # the example, with its cap, decides it
    capsys.readouterr()


# ---- refines: the example's two versions ---------------------------------------------------


def test_the_second_version_never_pays_less_basic():
    report = verify(Request(None, refines=((load(EXAMPLE), load(EXAMPLE_V2), "basic"),), items=ITEMS, timeout=40))
    assert report.status == "proved", report.text()
    assert report.outcomes[0].bounded


def test_under_the_second_version_a_patient_never_pays_more():
    """`--refines V2 V1 patient_pays`: V1's patient_pays >= V2's on every claim both decide."""
    report = verify(Request(None, refines=((load(EXAMPLE_V2), load(EXAMPLE), "patient_pays"),), items=ITEMS, timeout=40))
    assert report.status == "proved", report.text()


def test_the_second_version_can_pay_less_major_illness_insurance():
    """A higher basic ratio leaves less out of pocket, so major illness pays less: a real
    counterexample, the engine deciding both versions on it (the README's example)."""
    old, new = load(EXAMPLE), load(EXAMPLE_V2)
    report = verify(Request(None, refines=((old, new, "major"),), items=ITEMS, timeout=40))
    assert report.status == "failed", report.text()
    claim = json.loads(json.dumps(report.to_json()["properties"][0]["counterexample"]), parse_float=Decimal)
    assert new.evaluate(claim).outputs["major"] < old.evaluate(claim).outputs["major"]
    assert claim["hospital_level"] == 3  # the only level whose ratio changed
    assert report.outcomes[0].stem == "refines-example-resident-2025-example-resident-2025-v2-major"


def test_refines_needs_the_same_inputs():
    with pytest.raises(policydsl.verify.RequestError, match="their inputs differ"):
        verify(Request(None, refines=((load(EXAMPLE), load(ROOT / "policies" / "sichuan" / "resident-2025.policy"), "basic"),)))


# ---- nonnegative, monotone ---------------------------------------------------------------------


def test_every_money_output_of_the_example_is_never_negative():
    report = verify(Request(load(EXAMPLE), invariants=False, nonnegative=(None,), items=ITEMS))
    assert [o.name for o in report.outcomes] == [
        "nonnegative eligible", "nonnegative excluded", "nonnegative basic", "nonnegative major",
        "nonnegative assistance", "nonnegative patient_pays",
    ]
    assert report.status == "proved", report.text()


def test_monotone_more_bill_never_lowers_basic_but_more_paid_this_year_does():
    policy = load(EXAMPLE)
    report = verify(Request(policy, invariants=False, monotone=(("basic", "items.amount"), ("basic", "ytd_basic_paid")), items=2, timeout=30))
    proved, failed = report.outcomes
    assert proved.status == "proved", report.text()
    assert failed.status == "failed", report.text()
    less, more = (json.loads(json.dumps(c), parse_float=Decimal) for c in report.to_json()["properties"][1]["counterexample"])
    assert Decimal(more["ytd_basic_paid"]) > Decimal(less["ytd_basic_paid"])
    assert {k: v for k, v in more.items() if k not in ("ytd_basic_paid", "claim_id")} == {k: v for k, v in less.items() if k not in ("ytd_basic_paid", "claim_id")}
    assert policy.evaluate(more).outputs["basic"] < policy.evaluate(less).outputs["basic"]


def test_the_incentive_is_proved_nonnegative_once_counts_cannot_be_negative(tmp_path):
    """Once a real finding in the bundled regions: `zero_claim_years` had no `>= 0` limit in the
    national schema, so a negative count made the incentive (the raise of the major-illness
    cap) negative. With the limits, the property is proved; without them it fails with a claim
    the engine confirms."""
    policy = load(ROOT / "policies" / "shandong" / "resident-2025.policy")
    person = {field.name: field for field in policy.program.ir.record_fields("Person")}
    assert person["zero_claim_years"].limits and person["continuous_years"].limits
    report = verify(Request(policy, invariants=False, nonnegative=("incentive",), items=1, timeout=30))
    assert report.status == "proved", report.text()

    for region in ("national", "shandong"):
        shutil.copytree(ROOT / "policies" / region, tmp_path / "policies" / region)
    frame = tmp_path / "policies" / "national" / "baseline-2025.policy"
    limited = "  zero_claim_years: int >= 0 = 0"
    assert limited in frame.read_text(encoding="utf-8")
    frame.write_text(frame.read_text(encoding="utf-8").replace(limited, "  zero_claim_years: int = 0"), encoding="utf-8")
    unlimited = load(tmp_path / "policies" / "shandong" / "resident-2025.policy")
    report = verify(Request(unlimited, invariants=False, nonnegative=("incentive",), items=1, timeout=30))
    assert report.status == "failed", report.text()
    claim = json.loads(json.dumps(report.to_json()["properties"][0]["counterexample"]), parse_float=Decimal)
    assert unlimited.evaluate(claim).outputs["incentive"] < 0


def test_a_policy_that_divides_is_unknown_never_proved():
    policy = policydsl.loads(
        "input { claim_id: text  amount: money  people: int >= 1 }\n"
        "rule share: money = round(amount / people, half_up)\n"
        "invariant within: share <= amount\n"
        "output share\n"
    )
    report = verify(Request(policy))
    assert report.status == "unknown"
    assert "division" in report.outcomes[0].reason


# ---- the differential safety net ----------------------------------------------------------------


def _agrees(policy, claim) -> str:
    """"decided", "refused" or "facts" (the reader refused the claim); fails on any disagreement."""
    try:
        decision = policy.evaluate(claim)
    except policydsl.FactsError:
        return "facts"
    except policydsl.EvaluationError as error:
        if error.code == "R405":
            return "R405"
        encoded = encoded_decision(policy, claim)
        assert error.code in encoded.refused, f"engine {error.code} ({error}); encoding {encoded.refused}: {claim}"
        return "refused"
    encoded = encoded_decision(policy, claim)
    assert not encoded.refused, f"the engine decides the claim, the encoding refuses it ({encoded.refused}): {claim}"
    for name, value in decision.outputs.items():
        assert same(value, encoded.outputs[name]), f"{name}: engine {value!r}, encoding {encoded.outputs[name]!r}: {claim}"
    return "decided"


@pytest.mark.parametrize("path", BUNDLED, ids=[_id(p) for p in BUNDLED])
def test_the_encoding_agrees_with_the_engine_on_generated_claims(path):
    policy = load(path)
    outcomes = [_agrees(policy, claim) for claim in generate(policy, 4, seed=17)]
    if decides_claims(policy):
        assert "decided" in outcomes
    else:
        assert set(outcomes) == {"R405"}


def test_the_encoding_agrees_on_every_construct():
    policy = load(FEATURES)
    outcomes = [_agrees(policy, claim) for claim in generate(policy, 40, seed=2)]
    assert outcomes.count("decided") >= 10 and "refused" in outcomes


def _edge(credit: str, amount: str, share: str = "0%", day: str = "2025-03-31", **more) -> dict:
    claim = {
        "claim_id": "edge", "day": day, "start": "2024-01-31", "birth": "1960-02-29", "level": 2,
        "lines": [{"kind": "other", "amount": amount, "qty": 1, "share": share}],
        "factor": Decimal("-2.5"), "wait": 1, "credit": credit, "used": "0.00",
    }
    claim.update(more)
    return claim


EDGES = [
    # signed = credit - amount: negative and positive, ties for half_even (x * 0.125 ends in 5),
    # multiples of 5 yuan for the 10-yuan steps, values just past them
    *[_edge(credit, amount) for credit, amount in [
        ("0.00", "0.04"), ("0.04", "0.00"), ("0.00", "0.12"), ("0.12", "0.00"), ("0.00", "0.20"), ("0.20", "0.00"),
        ("0.00", "5.00"), ("5.00", "0.00"), ("0.00", "15.00"), ("15.00", "0.00"), ("0.00", "150.00"), ("150.00", "0.00"),
        ("0.00", "5.01"), ("0.03", "0.00"), ("0.00", "0.03"), ("1.50", "0.00"), ("0.00", "1.50"), ("0.00", "0.00"),
    ]],
    # month ends and leap days through `start - wait`, `start + wait * 2`, months_between, age
    _edge("0.00", "0.00", start="2024-03-31", wait=1),
    _edge("0.00", "0.00", start="2024-02-29", wait=12, urgent=False),
    _edge("0.00", "0.00", day="2026-02-28", start="2024-02-29", birth="2000-02-29"),
    _edge("0.00", "0.00", day="2024-02-28", start="2025-03-31", birth="2023-03-01"),
    # urgent with a long wait breaks an invariant (R406); a share with fractions of a fen is R404
    _edge("0.00", "1.00", urgent=True, wait=12),
    _edge("0.00", "1.01", share="33.3%", urgent=True),
    # the tiers' bands, the cap, a lookup that misses (bonus[drugs] with 4 drugs: R403)
    _edge("0.00", "20000.00", share="50%"),
    _edge("0.00", "4999.99", share="100%", day="2026-06-30"),
    _edge("0.00", "0.00", lines=[{"kind": "drug", "amount": "1.00", "qty": 0, "share": "0%"}] * 4),
]


@pytest.mark.parametrize("number", range(len(EDGES)))
def test_the_encoding_agrees_on_edges(number):
    assert _agrees(load(FEATURES), EDGES[number]) in ("decided", "refused")


def test_the_edges_reach_what_they_are_for():
    policy = load(FEATURES)
    outputs = policy.evaluate(EDGES[0]).outputs
    assert outputs["signed"] == Decimal("-0.04") and outputs["r_half_even"] == Decimal("-0.00")
    assert policy.evaluate(EDGES[6]).outputs["r_ten"] == Decimal("-10")
    codes = set()
    for claim in EDGES:
        try:
            policy.evaluate(claim)
        except policydsl.EvaluationError as error:
            codes.add(error.code)
    assert {"R403", "R404", "R406"} <= codes


# ---- the command ----------------------------------------------------------------------------


def test_the_command_proves_the_example(capsys):
    assert main(["verify", str(EXAMPLE), "--nonnegative", "patient_pays", "--items", "2"]) == 0
    out = capsys.readouterr().out
    assert "proved*  invariant layers_add_up" in out and "proved*  nonnegative patient_pays" in out
    assert "4 proved, 0 failed, 0 unknown (* over lists of at most 2 elements: a bounded check, not a proof)" in out
    assert "lists (items): at most 2 elements each" in out


def test_the_command_writes_json(capsys):
    assert main(["verify", str(EXAMPLE), "--json", "--items", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "proved" and report["counts"] == {"proved": 3, "failed": 0, "unknown": 0}
    assert [p["property"] for p in report["properties"]] == ["invariant layers_add_up", "invariant no_negative_layer", "invariant basic_within_cap"]
    assert all(p["bounded"] for p in report["properties"]) and report["items"] == 1


def test_the_command_writes_a_refines_counterexample_eval_reads(tmp_path, capsys):
    folder = tmp_path / "cx"
    assert main(["verify", "--refines", str(EXAMPLE), str(EXAMPLE_V2), "major", "--counterexamples", str(folder), "--items", "1"]) == 1
    capsys.readouterr()
    (written,) = folder.iterdir()
    assert written.name == "refines-example-resident-2025-example-resident-2025-v2-major.json"
    paid = {}
    for path in (EXAMPLE, EXAMPLE_V2):
        assert main(["eval", str(path), str(written)]) == 0
        paid[path] = Decimal(json.loads(capsys.readouterr().out)["major"])
    assert paid[EXAMPLE_V2] < paid[EXAMPLE]


def test_a_time_limit_is_unknown_never_proved(capsys):
    assert main(["verify", str(EXAMPLE), "--timeout", "0.001"]) == 3
    out = capsys.readouterr().out
    assert "the time limit ran out" in out and "0 proved" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        ([], "verify needs POLICY, or --refines OLD NEW OUTPUT"),
        ([str(EXAMPLE), "--monotone", "basic"], "give each --monotone OUTPUT one --in FIELD"),
        ([str(EXAMPLE), "--nonnegative", "nothing"], "has no output `nothing`"),
        ([str(EXAMPLE), "--nonnegative", "in_waiting"], "is bool, not money"),
        ([str(EXAMPLE), "--monotone", "basic", "--in", "items.price"], "record Item has no field `price`"),
        ([str(EXAMPLE), "--monotone", "basic", "--in", "service_date"], "monotone needs a money"),
        ([str(EXAMPLE), "--items", "0"], "--items must be between 1 and 50"),
        ([str(EXAMPLE), "--timeout", "0"], "--timeout must be a positive number"),
        (["--refines", str(EXAMPLE), str(ROOT / "policies" / "sichuan" / "resident-2025.policy"), "basic"], "their inputs differ"),
        ([str(EXAMPLE), "--no-invariants"], "nothing to prove"),
        ([str(ROOT / "tests" / "data" / "broken" / "undefined_name.policy")], "verify needs a policy that loads and checks"),
        ([str(ROOT / "no-such.policy")], "verify needs a policy that loads and checks"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys):
    assert main(["verify", *argv]) == 2
    assert message in capsys.readouterr().err
