"""Invariants: checked at every evaluation; every bundled policy keeps its own over generated claims."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import policydsl
import policydsl.check.types

from .claim_strategies import claims
from .fuzz_oracles import broken_requirement
from .conftest import ROOT

POLICIES = sorted((ROOT / "policies").rglob("*.policy"))
# Claims per policy: 1,000 in CI; POLICYDSL_PROPERTY_EXAMPLES=20000 for a longer local run.
EXAMPLES = int(os.environ.get("POLICYDSL_PROPERTY_EXAMPLES", "1000"))


def test_a_violated_invariant_is_an_error_naming_it_and_the_claim():
    text = """
input { claim_id: text  amount: money }
rule paid: money = round(amount * 110%, half_up)
invariant within_bill: paid <= amount because "the fund never pays more than the bill"
output paid
"""
    policy = policydsl.loads(text)
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"claim_id": "c-7", "amount": "100"})
    assert raised.value.code == "R406"
    assert str(raised.value).startswith("invariant `within_bill` does not hold for claim c-7: paid <= amount")
    assert "the fund never pays more than the bill" in str(raised.value)
    assert policy.evaluate({"claim_id": "c-8", "amount": "0"}).outputs["paid"] == Decimal("0.00")


def test_invariants_must_be_conditions():
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads("input { a: money }\ninvariant i: a\noutput a\n")
    assert [d.code for d in raised.value.diagnostics] == ["C203"]


def _loadable(path: Path):
    try:
        return policydsl.load(path)
    except policydsl.PolicyError:
        return None  # broken fixtures are tested elsewhere


@pytest.mark.parametrize("path", POLICIES, ids=[str(p.relative_to(ROOT)) for p in POLICIES])
def test_bundled_policy_keeps_its_invariants(path):
    policy = _loadable(path)
    if policy is None:
        pytest.fail(f"{path} does not load")
    decided = {"decisions": 0, "refused as a frame": 0}
    frame = any(w.code == "W237" for w in policy.warnings)  # the national frame: its regions set its required values

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(claims(policy))
    def keeps(facts):
        try:
            decision = policy.evaluate(facts)
        except policydsl.FactsError as error:  # generated facts are valid: only a broken `require`
            assert [(e.code, e.path) for e in error.errors] == [("F304", broken_requirement(policy, facts))], str(error)
            decided["refused by a requirement"] = decided.get("refused by a requirement", 0) + 1
            return
        except policydsl.EvaluationError as error:
            assert error.code != "R406", str(error)  # an invariant broke: a policy bug
            assert error.code == "R405", str(error)  # only "not in force on this date" (or, for a frame, "required") is expected
            if "is required and this policy does not set it" in str(error):
                assert frame, str(error)
                decided["refused as a frame"] += 1
            return
        decided["decisions"] += 1
        for name, value in decision.outputs.items():
            if isinstance(value, Decimal) and policy.type_of(name) == policydsl.check.types.MONEY and value.is_finite():  # `unlimited` aside
                assert value == value.quantize(Decimal("0.01"))

    keeps()
    if frame:  # a frame decides no claim; its invariants are kept by each region that extends it
        assert decided["decisions"] == 0 and decided["refused as a frame"] > 0, decided
        return
    assert decided["decisions"] > 0, "no generated claim was decided"


def _paid_in_tests(policy_path: Path, flows) -> set[str]:
    """The fund flows some test beside the policy expects to pay more than 0."""
    from policydsl.tools import testing

    tests = testing.tests_path_for(policy_path)
    if not tests.is_file():
        return set()
    paid = set()
    for case in testing.read_tests(tests).cases:
        for name, value in (case.expect or {}).items():
            if name in flows and isinstance(value, str) and value not in ("0", "0.00") and not value.startswith("-"):
                paid.add(name)
    return paid


@pytest.mark.parametrize("path", POLICIES, ids=[str(p.relative_to(ROOT)) for p in POLICIES])
def test_realistic_claims_reach_the_paying_layers_and_keep_the_invariants(path):
    """Claims drawn like real ones (`policydsl generate`: bills of every size, persons with
    years to date, dates in the policy's period) rather than the strategies' valid extremes: most
    are decided, no invariant breaks, and every fund layer that a test beside the policy sees pay
    is paid on some of them (so the invariants are checked where the money is)."""
    from policydsl.tools.generate import generate
    from policydsl.tools.impact.flows import flows_of

    policy = _loadable(path)
    if any(w.code == "W237" for w in policy.warnings):
        pytest.skip("a frame decides no claim; its invariants are kept by each region that extends it")
    flows = flows_of(policy)
    wanted = _paid_in_tests(path, flows.fund)
    decided, paid = 0, set()
    claims_drawn = list(generate(policy, 400, seed=3))
    for claim in claims_drawn:
        try:
            outputs = policy.evaluate(claim).outputs
        except policydsl.FactsError as error:
            assert [e.code for e in error.errors] == ["F304"], str(error)  # drawn claims are valid but for a `require`
            continue
        except policydsl.EvaluationError as error:
            assert error.code != "R406", str(error)
            continue
        decided += 1
        paid |= {name for name in flows.fund if outputs[name] > 0}
    assert decided >= len(claims_drawn) // 2, f"only {decided} of {len(claims_drawn)} decided"
    assert wanted <= paid, f"layers paid in the tests but on none of {decided} drawn claims: {sorted(wanted - paid)}"
