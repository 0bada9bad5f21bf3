"""Accumulators: what a policy carries from claim to claim of one person over a year.

The checker's codes (C260-C266, W234, W235, each with its message and `file:line:col`),
a name clash with an input field (C201), year starts that are no day (P111), accumulators
across `extends` (override, `final`, added by a child), evaluation (the value before the
claim read in a rule, what `adds` computes, R404, a benefit year from 1 July), the limits
on deep `opening`/`adds` expressions, and explanations: golden text in English and Chinese
(`tests/snapshots/accumulators/`, update with `pytest --snapshot-update`) and their data.
"""

from __future__ import annotations

import datetime
import json
import time
from decimal import Decimal

import pytest

import policydsl
from policydsl.api import analyze
from policydsl.cli.main import main
from policydsl.diagnostics.model import EvaluationError, PolicyError
from policydsl.explain import render
from policydsl.syntax import limits
from policydsl.syntax.source import SourceFile

from .conftest import DATA, SNAPSHOTS

HEAD = 'policy "t"\n  as of day\ninput {\n  pid: text = ""\n  day: date\n  amount: money\n}\n'  # definitions start on line 8
CARRIED = DATA / "accumulators" / "carried.policy"


def diagnostics(text: str, name: str = "t.policy") -> list:
    _, found = analyze(SourceFile(name, text))
    return found


def only(text: str, code: str):
    """The one diagnostic of `text`, which has `code`."""
    found = diagnostics(text)
    assert [d.code for d in found] == [code], [d.render() for d in found]
    return found[0]


def where(diagnostic) -> tuple:
    span = diagnostic.span
    return span.location, span.end_line, span.end_column


# ---- the checker: one test per code ----------------------------------------------------------


def test_c260_an_accumulator_that_does_not_add_up():
    d = only(HEAD + "accumulator a: bool per pid over year opening 0 adds true\nrule r: bool = a\noutput r\n", "C260")
    assert d.message == "accumulator `a` is bool; an accumulator adds up money, int, number or months"
    assert where(d) == ("t.policy:8:16", 8, 20)  # the type


def test_c261_a_person_field_the_input_lacks():
    d = only(HEAD + "accumulator a: money per person over year opening 0 yuan adds amount\nrule r: money = a\noutput r\n", "C261")
    assert d.message == "`per person`: the input has no field `person`"
    assert where(d) == ("t.policy:8:26", 8, 32)
    assert d.hint == "name the input field that identifies the person, e.g. `person_id: text`"


def test_c261_a_person_field_that_is_neither_text_nor_int():
    d = only(HEAD + "accumulator a: money per day over year opening 0 yuan adds amount\nrule r: money = a\noutput r\n", "C261")
    assert d.message == "`per day`: the person field must be text or int, not date"
    assert where(d) == ("t.policy:8:26", 8, 29)


def test_c262_an_opening_value_that_is_not_written_out():
    d = only(HEAD + "accumulator a: money per pid over year opening amount adds amount\nrule r: money = a\noutput r\n", "C262")
    assert d.message == "the opening value of `a` must be a number written out, e.g. `0 yuan`"
    assert where(d) == ("t.policy:8:48", 8, 54)


def test_c262_an_opening_value_of_another_type():
    d = only(HEAD + "accumulator a: money per pid over year opening 0 adds amount\nrule r: money = a\noutput r\n", "C262")
    assert d.message == "accumulator `a` is money, but its opening value is int"
    assert where(d) == ("t.policy:8:48", 8, 49)


def test_c262_a_negative_money_opening_value():
    # money a claim gives is never negative (the facts reader refuses it), so a carried
    # year could never start below 0
    d = only(HEAD + "accumulator a: money per pid over year opening -100 yuan adds amount\nrule r: money = a\noutput r\n", "C262")
    assert d.message == "the opening value of `a` is negative; money a claim gives is never negative"
    assert where(d) == ("t.policy:8:48", 8, 57)


def test_c263_adds_of_the_wrong_type():
    d = only(HEAD + "accumulator a: money per pid over year opening 0 yuan adds 1\nrule r: money = a\noutput r\n", "C263")
    assert d.message == "accumulator `a` adds up money, but its `adds` is int"
    assert where(d) == ("t.policy:8:60", 8, 61)
    assert d.hint == "write the number with its unit, e.g. `0 yuan`"


def test_accumulators_per_different_fields_are_allowed():
    """C264 is lifted (issue 18): a balance may be keyed by an account's owner."""
    text = (
        'policy "t"\n  as of day\ninput {\n  pid: text = ""\n  other: int = 0\n  day: date\n  amount: money\n}\n'
        "accumulator a: money per pid over year opening 0 yuan adds amount\n"
        "accumulator b: int per other over year opening 0 adds 1\n"
        "rule r: money = a\nrule s: int = b\noutput r, s\n"
    )
    assert [d.code for d in diagnostics(text)] == []


def test_c265_accumulators_without_a_claim_date():
    text = 'policy "t"\ninput {\n  pid: text = ""\n  day: date\n  amount: money\n}\naccumulator a: money per pid over year opening 0 yuan adds amount\nrule r: money = a\noutput r\n'
    d = only(text, "C265")
    assert d.message == "this policy carries accumulators but does not say which date field dates a claim"
    assert where(d) == ("t.policy:7:13", 7, 14)  # the first accumulator's name
    assert d.hint.startswith("add `as of FIELD` to the header")


@pytest.mark.parametrize("name,column", [("policy", 8), ("accumulators", 8)])
def test_c266_an_output_named_like_a_key_of_the_decision_record(name, column):
    d = only(HEAD + f"rule {name}: money = amount\noutput {name}\n", "C266")
    assert d.message == f"output `{name}` would clash with the `{name}` object of every decision record"
    assert where(d) == (f"t.policy:9:{column}", 9, column + len(name))


def test_w234_an_accumulator_nothing_adds_to():
    d = only(HEAD + "accumulator a: money per pid over year opening 0 yuan\nrule r: money = a\noutput r\n", "W234")
    assert not d.is_error
    assert d.message == "accumulator `a` has nothing added to it"
    assert where(d) == ("t.policy:8:13", 8, 14)
    assert d.hint == "say what each claim adds: `adds RULE`"


def test_w235_an_accumulator_no_rule_reads():
    d = only(HEAD + "accumulator a: money per pid over year opening 0 yuan adds amount\nrule r: money = amount\noutput r\n", "W235")
    assert not d.is_error
    assert d.message == "accumulator `a` is read by no rule"
    assert where(d) == ("t.policy:8:13", 8, 14)


def test_c201_an_accumulator_named_like_an_input_field():
    d = only(HEAD + "accumulator amount: money per pid over year opening 0 yuan adds r\nrule r: money = amount\noutput r\n", "C201")
    assert d.message == "`amount` is defined twice"
    assert where(d) == ("t.policy:8:13", 8, 19)


@pytest.mark.parametrize("day", ["13-45", "02-29", "00-10", "04-31"])
def test_p111_a_year_cannot_start_on_a_day_that_is_no_day_of_every_year(day):
    d = only(HEAD + f"accumulator a: money per pid over year from {day} opening 0 yuan adds amount\nrule r: money = a\noutput r\n", "P111")
    assert d.message == f"{day} is not a day of the year a period can start on"
    assert where(d) == ("t.policy:8:45", 8, 50)
    assert d.hint == "write MM-DD, e.g. 07-01 (02-29 is not allowed)"


# ---- across `extends` --------------------------------------------------------------------------

BASE = """policy "base"
  as of day
input {
  pid: text = ""
  day: date
  amount: money
}
param cap = 1_000 yuan
accumulator paid: money per pid over year opening 0 yuan adds basic
  because "Paid earlier in the year"
final accumulator visits: int per pid over year opening 0 adds 1
rule room: money = max(0 yuan, cap - paid)
rule basic: money = min(amount, room)
rule visit_number: int = visits + 1
output basic, visit_number
"""


@pytest.fixture
def policies(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "base.policy").write_text(BASE, encoding="utf-8")

    def child(text: str, name: str = "child"):
        path = folder / f"{name}.policy"
        path.write_text('policy "child"\n  extends "base"\n' + text, encoding="utf-8")
        return path

    return child


def test_a_child_overrides_an_accumulator(policies):
    policy = policydsl.load(policies("override accumulator paid: money per pid over year from 07-01 opening 0 yuan adds basic + basic\n"))
    (paid,) = [a for a in policy.accumulators if a.name == "paid"]
    assert paid.year_start == (7, 1) and paid.reasons == ()  # the child's definition, whole
    decision = policy.evaluate({"day": "2025-03-01", "amount": "600", "paid": "100", "visits": 0})
    assert decision.outputs["basic"] == Decimal("600.00")  # the parent's rules read the child's accumulator
    carried = decision.accumulators["paid"]
    assert (carried.before, carried.after, carried.period) == (Decimal("100.00"), Decimal("1300.00"), "2024-07-01/2025-06-30")


def test_a_final_accumulator_cannot_be_overridden(policies):
    path = policies("override accumulator visits: int per pid over year opening 0 adds 2\n")
    with pytest.raises(PolicyError) as caught:
        policydsl.load(path)
    (d,) = caught.value.diagnostics
    assert d.code == "C245"
    assert d.message == f"`visits` is final in {path.parent / 'base.policy'} and cannot be overridden"
    assert (d.span.location, d.span.end_column) == (f"{path}:3:22", 28)
    assert [(r.message, r.span.line, r.span.column) for r in d.related] == [("declared final here", 11, 19)]


def test_a_child_adds_an_accumulator(policies):
    policy = policydsl.load(
        policies(
            "accumulator large: int per pid over year opening 0 adds (when amount > 500 yuan then 1 otherwise 0)\n"
            "rule large_number: int = large + 1\noutput large_number\n"
        )
    )
    assert policy.accumulator_names == ("paid", "visits", "large")
    decision = policy.evaluate({"day": "2025-03-01", "amount": "600", "paid": "0", "visits": 2, "large": 4})
    assert decision.outputs["large_number"] == 5
    assert {name: (c.before, c.after) for name, c in decision.accumulators.items()} == {
        "paid": (Decimal("0.00"), Decimal("600.00")),
        "visits": (2, 3),
        "large": (4, 5),
    }


def test_a_child_cannot_add_an_accumulator_per_another_person(policies):
    with pytest.raises(PolicyError) as caught:
        policydsl.load(policies("accumulator n: int per day over year opening 0 adds 1\nrule m: int = n\noutput m\n"))
    assert [(d.code, d.span.line) for d in caught.value.diagnostics] == [("C261", 3)]  # C264 lifted (issue 18)


# ---- evaluation --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def carried():
    return policydsl.load(CARRIED)


def claim(**facts) -> dict:
    return {"claim_id": "c", "person_id": "p1", "service_date": "2025-03-01", "amount": "12000", **facts}


def test_a_rule_reads_the_value_before_the_claim(carried):
    fresh = carried.evaluate(claim(ytd_basic_paid="0", ytd_deductible="0", admissions=0))
    assert fresh.outputs == {"basic": Decimal("8625.00"), "deductible_taken": Decimal("500.00"), "admission_number": 1}
    later = carried.evaluate(claim(ytd_basic_paid="9000", ytd_deductible="500", admissions=3))
    # the deductible is met, and only 1,000.00 of the cap is left
    assert later.outputs == {"basic": Decimal("1000.00"), "deductible_taken": Decimal("0.00"), "admission_number": 4}


def test_adds_is_computed_and_reported_before_and_after(carried):
    decision = carried.evaluate(claim(ytd_basic_paid="1200.50", ytd_deductible="200", admissions=1))
    assert {name: (c.before, c.after) for name, c in decision.accumulators.items()} == {
        "ytd_basic_paid": (Decimal("1200.50"), Decimal("1200.50") + Decimal("8775.00")),
        "ytd_deductible": (Decimal("200.00"), Decimal("500.00")),
        "admissions": (1, 2),
    }
    assert decision.to_json()["accumulators"]["ytd_basic_paid"] == {"before": "1200.50", "after": "9975.50", "period": "2025-01-01/2025-12-31"}


def test_the_values_before_can_be_given_apart_from_the_facts(carried):
    decision = carried.evaluate(claim(ytd_basic_paid="5"), accumulators={"ytd_basic_paid": "9000", "ytd_deductible": "0", "admissions": 0})
    assert decision.accumulators["ytd_basic_paid"].before == Decimal("9000.00")  # the mapping wins


def test_a_benefit_year_from_1_july(carried):
    def period(day: str) -> tuple:
        c = carried.evaluate(claim(service_date=day, ytd_basic_paid="0", ytd_deductible="0", admissions=0)).accumulators["admissions"]
        return c.period_start, c.period_end

    assert period("2025-03-01") == (datetime.date(2024, 7, 1), datetime.date(2025, 6, 30))
    assert period("2025-06-30") == (datetime.date(2024, 7, 1), datetime.date(2025, 6, 30))
    assert period("2025-07-01") == (datetime.date(2025, 7, 1), datetime.date(2026, 6, 30))
    c = carried.evaluate(claim(service_date="2025-07-01", ytd_basic_paid="0", ytd_deductible="0", admissions=0)).accumulators["ytd_basic_paid"]
    assert c.period == "2025-01-01/2025-12-31"  # the calendar year beside it


@pytest.mark.parametrize("day", ["9999-12-31", "9999-07-01"])
def test_a_year_that_runs_past_the_calendar_ends_on_its_last_day(carried, day):
    accumulators = carried.evaluate(claim(service_date=day, ytd_basic_paid="0", ytd_deductible="0", admissions=0)).accumulators
    assert accumulators["ytd_basic_paid"].period == "9999-01-01/9999-12-31"
    assert accumulators["admissions"].period == "9999-07-01/9999-12-31"


def test_a_year_that_starts_before_the_calendar_starts_on_its_first_day():
    accumulator = policydsl.load(DATA / "accumulators" / "layout.policy").accumulators[0]  # the year from 1 April
    assert accumulator.year_start == (4, 1)
    assert accumulator.period_of(datetime.date(1, 1, 1)) == (datetime.date(1, 1, 1), datetime.date(1, 3, 31))


def test_r404_when_adds_money_is_not_whole_fen():
    policy = policydsl.loads(HEAD + "accumulator tenth: money per pid over year opening 0 yuan adds amount * 10%\nrule r: money = tenth\noutput r\n", name="t.policy")
    assert policy.evaluate({"day": "2025-01-01", "amount": "10.00", "tenth": "0"}).accumulators["tenth"].after == Decimal("1.00")
    with pytest.raises(EvaluationError) as caught:
        policy.evaluate({"day": "2025-01-01", "amount": "10.05", "tenth": "0"})
    error = caught.value
    assert error.code == "R404" and error.rule == "tenth"
    assert str(error).startswith("accumulator `tenth` would add 1.0050, which is not a whole number of fen; round it explicitly")
    assert (error.span.location, error.span.end_column) == ("t.policy:8:64", 76)  # the `adds` expression


# ---- limits ------------------------------------------------------------------------------------

LIMIT_HEAD = 'policy "deep"\n  as of day\ninput {\n  pid: int = 0\n  day: date\n  amount: money\n}\n'


def negated(k: int, operand: str) -> str:
    """`operand` under 2 * (k // 2) minus signs: as deep in the syntax tree, the same value
    (and no brackets, which the text check counts on its own)."""
    return "- " * (2 * (k // 2)) + operand


def deep_rule(k: int) -> str:
    return LIMIT_HEAD + f"rule r: money =\n  {negated(k, 'amount')}\noutput r\n"


def deep_adds(k: int) -> str:
    return LIMIT_HEAD + f"accumulator a: money per pid over year opening 0 yuan adds\n  {negated(k, 'amount')}\nrule r: money = a\noutput r\n"


def deep_opening(k: int) -> str:
    return LIMIT_HEAD + f"accumulator a: money per pid over year opening\n  {negated(k, '0 yuan')} adds amount\nrule r: money = a\noutput r\n"


def deepest(build) -> int:
    """The largest k for which `build(k)` passes the limits (L502 is monotone in k)."""
    low, high = 1, 4 * limits.MAX_NESTING
    while low < high:
        middle = (low + high + 1) // 2
        if any(d.code == "L502" for d in diagnostics(build(middle), "deep.policy")):
            high = middle - 1
        else:
            low = middle
    return low


def test_a_deep_adds_or_opening_is_limited_as_a_deep_rule_body_is():
    k = deepest(deep_rule)
    assert deepest(deep_adds) == deepest(deep_opening) == k
    rule_error = [d for d in diagnostics(deep_rule(k + 2), "deep.policy") if d.code == "L502"]
    adds_error = [d for d in diagnostics(deep_adds(k + 2), "deep.policy") if d.code == "L502"]
    assert [(d.message, d.hint, d.span.column) for d in adds_error] == [(d.message, d.hint, d.span.column) for d in rule_error]
    assert adds_error[0].message == f"expression nested more than {limits.MAX_NESTING} levels deep"
    policy = policydsl.loads(deep_adds(k), name="deep.policy")  # the deepest allowed loads, evaluates and explains
    decision = policy.evaluate({"day": "2025-01-01", "amount": "7.50", "a": "1"})
    assert decision.accumulators["a"].after == Decimal("8.50")
    assert "a (2025-01-01 to 2025-12-31): 1.00 + 7.50" in decision.explain()


@pytest.mark.parametrize("build", [deep_adds, deep_opening], ids=["adds", "opening"])
def test_ten_thousand_deep_is_a_clear_error(build):
    started = time.perf_counter()
    with pytest.raises(PolicyError) as caught:
        policydsl.loads(build(10_000), name="deep.policy")
    assert time.perf_counter() - started < 3
    (d,) = caught.value.diagnostics
    assert d.code == "L502" and d.span.line == 9


def test_too_many_accumulators_are_counted_in_the_text():
    count = limits.MAX_DEFINITIONS  # and the input: one definition too many
    text = LIMIT_HEAD + "".join(f"accumulator a{i}: int per pid over year opening 0 adds 1\n" for i in range(count))
    (found,) = limits.check_text(SourceFile("t.policy", text))  # found in the text, before parsing
    d = only(text, "L503")
    assert (found.code, found.message, found.span.line) == (d.code, d.message, d.span.line)
    assert d.message == f"policy has more than {limits.MAX_DEFINITIONS:,} definitions ({count + 1:,})"
    assert (d.span.line, d.span.column) == (7 + limits.MAX_DEFINITIONS, 1)  # the first one too many: a1999


# ---- explanations ------------------------------------------------------------------------------

CLAIMS = [
    claim(claim_id="first-claim", ytd_basic_paid="0", ytd_deductible="0", admissions=0),
    claim(claim_id="near-the-cap", service_date="2025-07-15", amount="3000", ytd_basic_paid="9000", ytd_deductible="500", admissions=2),
]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explanation_of_accumulators_snapshot(lang, snapshot, tmp_path, capsys, monkeypatch):
    path = tmp_path / "claims.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CLAIMS), encoding="utf-8")
    monkeypatch.chdir(CARRIED.parent)  # the policy's id as an author would load it
    assert main(["explain", "--lang", lang, "carried.policy", str(path)]) == 0
    snapshot.snapshot_dir = SNAPSHOTS / "accumulators"
    snapshot.assert_match(capsys.readouterr().out, f"explain-carried-{lang}.txt")


def test_the_explanation_data_of_accumulators(carried):
    decision = carried.evaluate(CLAIMS[1])
    explanation = decision.explanation()
    by_name = {a.name: a for a in explanation.accumulators}
    basic_paid = by_name["ytd_basic_paid"]
    assert (basic_paid.period, basic_paid.before, basic_paid.added, basic_paid.after) == ("2025-01-01/2025-12-31", "9000.00", "1000.00", "10000.00")
    assert basic_paid.adds == "basic" and basic_paid.reasons == ("What the basic fund paid earlier in the year",)
    assert basic_paid.citations == ("Example rules, item 3",) and basic_paid.location == f"{CARRIED}:21:1"
    admissions = by_name["admissions"]
    assert (admissions.period, admissions.before, admissions.added, admissions.after) == ("2025-07-01/2026-06-30", "2", "1", "3")
    # each agrees with the decision's own record of the accumulator
    for name, held in decision.accumulators.items():
        assert by_name[name].period == held.period
    assert render.render_accrual(basic_paid) == [
        "ytd_basic_paid (2025-01-01 to 2025-12-31): 9000.00 + 1000.00 (basic) = 10000.00 -- What the basic fund paid earlier in the year [Example rules, item 3]"
    ]
    assert decision.explanation("zh").accumulators[0].reasons == ("本年度基本医保基金此前已支付的金额",)


def test_accumulators_the_rules_read_are_the_values_before_this_claim(carried):
    decision = carried.evaluate(CLAIMS[1])
    room = next(s for s in decision.explanation().steps if s.name == "room")
    (ytd,) = [u for u in room.uses if u.name == "ytd_basic_paid"]
    assert ytd.before_claim and ytd.value == "9000.00"
    assert render.render_used(ytd) == "ytd_basic_paid (before this claim) = 9000.00"
    assert render.render_used(ytd, "zh") == "ytd_basic_paid (本次理赔前) = 9000.00"
    assert not any(u.before_claim for u in room.uses if u.name != "ytd_basic_paid")


def test_what_an_adds_of_several_values_used_is_listed():
    policy = policydsl.loads(
        HEAD + "param share = 10%\naccumulator part: money per pid over year opening 0 yuan adds round(amount * share, half_up)\n"
        'rule r: money = part\noutput r\n', name="t.policy",
    )
    (accrual,) = policy.evaluate({"day": "2025-05-05", "amount": "20", "part": "3"}).explanation().accumulators
    assert render.render_accrual(accrual) == [
        "part (2025-01-01 to 2025-12-31): 3.00 + 2.00 (round(amount * share, half_up)) = 5.00",
        "  using amount = 20.00, share = 10%",
    ]


def test_an_accumulator_without_adds_says_nothing_is_added():
    policy = policydsl.loads(HEAD + "accumulator a: int per pid over year opening 0\nrule r: int = a\noutput r\n", name="t.policy")
    (accrual,) = policy.evaluate({"day": "2025-05-05", "amount": "1", "a": 4}).explanation("zh").accumulators
    assert render.render_accrual(accrual, "zh") == ["a (2025-01-01 至 2025-12-31): 4 + 0 (本次不增加) = 4"]


def test_the_explanation_names_the_policy_that_decided(carried, tmp_path, capsys):
    decision = carried.evaluate(CLAIMS[0])
    explanation = decision.explanation()
    assert explanation.policy == decision.to_json()["policy"] == carried.provenance.to_json()
    lines = decision.explain().splitlines()
    assert lines[:3] == [
        "Decision for claim first-claim",
        "Policy: Carried amounts example (version 2025.1)",
        f"Decided by: carried 2025.1 ({carried.provenance.digest[:19]}...)",
    ]
    assert decision.explain("zh").splitlines()[2] == f"作出结算的政策: carried 2025.1 ({carried.provenance.digest[:19]}...)"
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(CLAIMS[0]), encoding="utf-8")
    assert main(["explain", "--json", str(CARRIED), str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["policy"] == {
        "id": "carried",
        "version": "2025.1",
        "effective": {"from": "2025-01-01", "until": None},
        "digest": carried.provenance.digest,
    }
    assert data["claim_id"] == "first-claim" and data["title"] == "Carried amounts example"
    assert [(a["name"], a["before"], a["added"], a["after"], a["period"]) for a in data["accumulators"]] == [
        ("ytd_basic_paid", "0.00", "8625.00", "8625.00", "2025-01-01/2025-12-31"),
        ("ytd_deductible", "0.00", "500.00", "500.00", "2025-01-01/2025-12-31"),
        ("admissions", "0", "1", "1", "2024-07-01/2025-06-30"),
    ]


def test_an_explanation_without_accumulators_has_no_such_part(example_policy):
    from .conftest import example_claims

    decision = example_policy.evaluate(example_claims()[0])
    if example_policy.accumulators:  # the example province may carry some; a policy without any:
        decision = policydsl.loads("input { a: money }\nrule r: money = a\noutput r\n").evaluate({"a": "1"})
    explanation = decision.explanation()
    assert explanation.accumulators == ()
    assert "Accumulators" not in decision.explain() and "before this claim" not in decision.explain()
