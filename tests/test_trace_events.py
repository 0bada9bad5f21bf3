"""Typed trace events (`runtime.trace`): what a traced run records, and that explanations,
coverage and `policydsl diff` read them (and the explanation) as data, never as text."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

import policydsl
from policydsl.explain import build, render
from policydsl.runtime import trace
from policydsl.syntax import nodes as n
from policydsl.tools import impact, testing

from .conftest import DATA, EXAMPLE, EXAMPLE_POLICY, example_claims

POLICY = """
policy "Trace (test)"
  version "1"

enum Level { 1, 2, 3 }

record Item {
  amount: money
  covered: bool
}

input {
  level: Level
  items: list of Item
  emergency: bool = false
}

table deductible: Level -> money {
  1: 100 yuan
  2: 300 yuan
  3: 600 yuan
}

tiers schedule {
  from 0 yuan to 1_000 yuan: 50%
  above 1_000 yuan: 80%
}

rule total: money = sum(item.amount for item in items where item.covered)
rule share: ratio =
  when emergency then 90%
    because "Emergencies are paid more"
  otherwise 70%
rule above: money = max(0 yuan, total - deductible[level])
rule paid: money = round(schedule(from 0 yuan to above) * share, half_up)

output paid
"""

CLAIM = {
    "level": 2,
    "items": [{"amount": "1000", "covered": True}, {"amount": "50", "covered": False}, {"amount": "800", "covered": True}],
}


@pytest.fixture(scope="module")
def policy():
    return policydsl.loads(POLICY)


def _by_rule(program, steps) -> dict:
    return {program.rule_names[step.rule]: step for step in steps}


def check_trace(program, steps) -> None:
    """The steps and events of CLAIM under POLICY, read by attribute."""
    assert all(type(step) is trace.Step for step in steps)
    assert [program.rule_names[step.rule] for step in steps] == ["total", "share", "above", "paid"]
    by_rule = _by_rule(program, steps)
    nodes = program.traced_nodes

    total = by_rule["total"]
    assert total.value == Decimal("1800")
    assert [(type(e), e.index, e.value) for e in total.events] == [(trace.Element, 0, Decimal("1000")), (trace.Element, 2, Decimal("800"))]
    assert len({e.node for e in total.events}) == 1
    aggregate = nodes[total.events[0].node]
    assert isinstance(aggregate, n.Aggregate) and aggregate.kind == "sum" and aggregate.source.id == "items"

    share = by_rule["share"]
    assert share.value == Decimal("0.70")
    (branch,) = share.events
    assert type(branch) is trace.Branch and branch.index == 1  # `otherwise`
    assert isinstance(nodes[branch.node], n.Conditional) and nodes[branch.node].branches[1].condition is None

    above = by_rule["above"]
    (lookup,) = above.events
    assert type(lookup) is trace.Lookup and (lookup.key, lookup.value) == (2, Decimal("300"))
    assert isinstance(nodes[lookup.node], n.Index) and nodes[lookup.node].obj.id == "deductible"

    paid = by_rule["paid"]
    assert paid.value == Decimal("630.00")
    (tiers,) = paid.events
    assert type(tiers) is trace.Tiers and nodes[tiers.node].schedule == "schedule"
    assert (tiers.lower, tiers.upper) == (0, Decimal("1500"))
    assert tiers.slices == (
        trace.Slice(0, Decimal("0"), Decimal("1000"), Decimal("0.50"), Decimal("500")),
        trace.Slice(1, Decimal("1000"), Decimal("1500"), Decimal("0.80"), Decimal("400")),
    )
    ids = {e.node for step in steps for e in step.events}
    assert len(ids) == 4 and ids <= set(nodes)


def test_a_traced_run_records_typed_events(policy):
    decision = policy.evaluate(CLAIM)
    _, steps = policy.run_traced(decision.inputs, decision.segment)
    check_trace(policy.program, steps)


def test_the_emergency_branch_is_branch_zero(policy):
    decision = policy.evaluate({**CLAIM, "emergency": True})
    _, steps = policy.run_traced(decision.inputs, decision.segment)
    assert [(type(e), e.index) for e in _by_rule(policy.program, steps)["share"].events] == [(trace.Branch, 0)]


def test_generated_code_creates_the_events_by_name(policy):
    source = policy.program.source
    assert "_new(_Branch, (" in source and "_new(_Step, (" in source  # tuple.__new__ of the typed events
    assert "'branch'" not in source  # no tuples tagged by a string


def test_events_are_frozen_slotted_and_compare_by_value():
    event = trace.Lookup(3, "a", Decimal("1"))
    with pytest.raises(AttributeError):
        event.key = "b"
    with pytest.raises(AttributeError):
        del event.node
    assert not hasattr(event, "__dict__")
    assert event == trace.Lookup(3, "a", Decimal("1.0")) and hash(event) == hash(trace.Lookup(3, "a", Decimal("1.0")))
    assert trace.Branch(1, 2) != trace.Element(1, 2, None) and trace.Branch(1, 2) != (1, 2)
    assert repr(trace.Branch(1, 2)) == "Branch(node=1, index=2)"
    assert pickle.loads(pickle.dumps(trace.Step(0, Decimal("2"), [trace.Branch(1, 0)]))) == trace.Step(0, Decimal("2"), [trace.Branch(1, 0)])
    match trace.Element(4, 0, Decimal("7")):
        case trace.Element(node, index, value):
            assert (node, index, value) == (4, 0, Decimal("7"))


# ---- explanation as data ---------------------------------------------------------------------


def _blocks_from_text(decision, lang: str) -> dict[str, list[str]]:
    """How step blocks were found before: by splitting the rendered text (the reference)."""
    names = [step.name for step in decision.explanation(lang).steps]
    chunks = [chunk.splitlines() for chunk in decision.explain(lang).split("\n\n")]
    blocks, position = {}, 0
    for name in names:
        for index in range(position, len(chunks)):
            if chunks[index] and chunks[index][0].startswith(f"{name} = "):
                blocks[name] = chunks[index]
                position = index + 1
                break
    return blocks


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_step_blocks_from_data_are_the_rendered_blocks(lang):
    policy = policydsl.load(EXAMPLE_POLICY)
    for claim in example_claims():
        decision = policy.evaluate(claim)
        assert testing.step_blocks(decision, lang) == _blocks_from_text(decision, lang)


def test_render_text_is_made_of_render_step(policy):
    decision = policy.evaluate(CLAIM)
    explanation = decision.explanation()
    text = render.render_text(explanation)
    for step in explanation.steps:
        assert "\n" + "\n".join(render.render_step(step, "en")) + "\n" in text
    assert build.render_text(explanation) == text == decision.explain()
    share = next(s for s in explanation.steps if s.name == "share")
    assert render.render_step(share, "en", uses=()) == ["share = 70%", "  otherwise", "  = 70%"]


# ---- coverage is keyed by stable things ---------------------------------------------------


def test_coverage_keys_are_the_same_for_two_loads_of_a_policy():
    tests = testing.read_tests(DATA / "testing" / "clinic.tests.json")
    covers = []
    for _ in range(2):
        policy = testing.load_policy(tests)
        cover = testing.Coverage(policy)
        cover.record(testing.run_case(policy, tests, tests.cases[0]).decision)
        covers.append(cover)
    first, second = covers
    assert first.policy is not second.policy
    assert list(first.items) == list(second.items) and first.hit == second.hit
    scalars = (str, int, type(None), tuple)
    assert all(isinstance(part, scalars) for key in first.items for part in key)
    assert ("rule", "paid_ratio", None) in first.hit and ("row", "deductible", 2, None) in first.hit


# ---- diff reads the uses as data ----------------------------------------------------------


def _diff_lines(lang: str = "en") -> list[list[str]]:
    old = policydsl.load(EXAMPLE / "resident-2025.policy")
    new = policydsl.load(EXAMPLE / "resident-2025-v2.policy")
    claims = impact.read_claim_set(str(EXAMPLE / "claims.jsonl"))
    outcomes = impact.compare(old, new, claims)
    return [impact.Impact.explanation_diff(o, lang) for o in outcomes if o.decided and o.changed]


def test_changed_uses_do_not_depend_on_the_using_label(monkeypatch):
    before = _diff_lines()
    assert any("-   using incentive_step = 4000.00" in lines for lines in before)
    monkeypatch.setitem(build.LABELS["en"], "using", "given")
    after = _diff_lines()
    assert after == [[line.replace("   using ", "   given ") for line in lines] for lines in before]
    assert any("+   given incentive_step = 5000.00" in lines for lines in after)


def test_changed_uses_are_the_uses_whose_value_differs():
    old = build.Step("x", "1", False, "a + b", None, (), (), (), (build.Used("a", "1", ("cite",), "2025"), build.Used("b", "2")), (), "here")
    new = build.Step("x", "2", False, "a + b", None, (), (), (), (build.Used("a", "1"), build.Used("b", "3")), (), "here")
    assert impact.changed_uses(new, old) == (build.Used("b", "3"),)
    assert impact.changed_uses(old, None) == (build.Used("a", "1"), build.Used("b", "2"))  # shown without citations


# ---- accumulators --------------------------------------------------------------------------


def test_a_traced_run_returns_what_each_accumulator_adds():
    """The traced and the fast run return the outputs and then the added values; the steps are
    the rules' only (what an `adds` computes is not a step); the explanation reads the same
    added values whether the decision's accumulators are handed to it or computed again."""
    policy = policydsl.load(DATA / "accumulators" / "layout.policy")
    decision = policy.evaluate({"day": "2025-05-01", "amount": "6000", "large_claims": 1, "paid": "0"})
    steps: list = []
    fast = policy.program.runs[decision.segment](decision.inputs)
    traced = policy.program.traced[decision.segment](decision.inputs, steps)
    assert fast == traced == (False, 1, Decimal("600.00"))
    assert [policy.program.rule_names[step.rule] for step in steps] == ["flagged"]
    given = build.build_explanation(policy, decision.inputs, decision.outputs, steps, decision.segment, "en", carried=decision.accumulators)
    assert given == decision.explanation()
    assert [(a.name, a.before, a.added, a.after, a.period) for a in given.accumulators] == [
        ("large_claims", "1", "1", "2", "2025-04-01/2026-03-31"),
        ("paid", "0.00", "600.00", "600.00", "2025-01-01/2025-12-31"),
    ]
    assert given.accumulators[0].adds == "when amount > 5_000 yuan then 1 otherwise 0"  # as a rule's body is written
    assert render.render_accrual(given.accumulators[0]) == [
        "large_claims (2025-04-01 to 2026-03-31): 1 + 1 (when amount > 5_000 yuan then 1 otherwise 0) = 2"
        " -- Large claims earlier in the year [Layout rules, item 1]",
        "  using amount = 6000.00",
    ]
