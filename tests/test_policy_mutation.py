"""The bundled policies' rules under mutation (tests/mutate_policies.py, issue 20): a bounded
sample in CI, and the list of equivalent mutants kept true to the policies.

The whole run (`python -m tests.mutate_policies`, about a minute) is docs/mutation.md's.
"""

from __future__ import annotations

from pathlib import Path

from tests import mutate_policies
from tests.mutation_equivalents import EQUIVALENT

ROOT = Path(__file__).resolve().parents[1]


def test_every_listed_equivalent_is_a_mutant_of_the_policies_as_they_are():
    """A policy edit moves or removes places: the list must be brought up to date (a stale entry
    could hide a new survivor at the same line)."""
    mutants = {m.describe() for path in sorted(mutate_policies.POLICIES.glob("**/*.policy")) for m in mutate_policies.mutants_of(path)}
    stale = sorted(set(EQUIVALENT) - mutants)
    assert not stale, f"tests/mutation_equivalents.py lists mutants that no longer exist (re-run python -m tests.mutate_policies): {stale}"


def test_a_sample_of_mutants_is_killed_or_argued_equivalent():
    outcomes = mutate_policies.run(sample=40, seed=20, claims=100)
    assert len(outcomes) == 40
    survivors = [f"{o.mutant.describe()}" + (f" (claim {o.witness.get('claim_id')}: {o.differs})" if o.witness else "")
                 for o in outcomes if o.status == "survived"]
    assert not survivors, f"mutants no test beside the policies catches: {survivors}"
    assert sum(o.status == "killed" for o in outcomes) >= 25  # the sample is mostly real mutants, not stillborn or equivalent


def test_the_runner_kills_a_boundary_mutant_and_names_the_case():
    nanchang = ROOT / "policies" / "jiangxi-nanchang" / "resident-2025.policy"
    (mutant,) = [m for m in mutate_policies.mutants_of(nanchang) if m.original == ">=" and "age_at_care" in nanchang.read_text(encoding="utf-8").splitlines()[m.line - 1]]
    (outcome,) = [o for o in mutate_policies.run([nanchang], claims=50) if o.mutant == mutant]
    assert outcome.status == "killed" and "70th birthday" in outcome.by, outcome
