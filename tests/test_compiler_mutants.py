"""The compiler from the IR to Python (`policydsl.backends.python`), pinned where mutation
testing found gaps (issue 20, docs/mutation.md "The compiler").

Each test builds a small policy inline and checks what the compiled program gives: the
outputs (hand-computed, with their Python type and Decimal digits), the events of the
traced variant (branch taken, row read, tier slices, list elements, `let` values, by
IR node and index), the error of a claim that cannot be decided (code, rule, span text),
the work plan of nested aggregates (R409) and the output finisher (money to the fen).
`run_all` also runs the fast variant, the traced variant and the reference interpreter
(`backends.interpreter.run`) on the same claim and requires the same values, of the same
types and digits, from all three, and the traced steps to hold what the interpreter
computed for each rule.

Policies are loaded inside each test, never at import: mutmut switches mutants per call,
so a program compiled at import would be the unmutated one.
"""

from __future__ import annotations

import datetime
import linecache
from decimal import Decimal, InvalidOperation, localcontext

import attrs
import pytest

import policydsl
from policydsl.backends import interpreter
from policydsl.backends import python as compiler
from policydsl.check import types as t
from policydsl.ir import nodes as ir
from policydsl.runtime import helpers as runtime
from policydsl.runtime import numbers
from policydsl.runtime.trace import Bound, Branch, Element, Lookup, Step, Tiers


def _shape(value):
    """A value with its type and digits: Decimal('1.0') and Decimal('1.00') differ here."""
    if isinstance(value, tuple):
        return tuple(_shape(v) for v in value)
    return (type(value).__name__, repr(value))


def run_all(text: str, facts: dict, as_of: datetime.date | None = None):
    """(policy, outputs by name, raw tail after the outputs, traced steps) of one claim, after
    checking that the fast variant, the traced variant and the interpreter agree exactly."""
    policy = policydsl.loads(text, "t.policy")
    inputs = policy.read_facts(facts)
    segment = policy.segment_for(inputs, as_of)
    program = policy.program
    with localcontext(numbers.EXACT):
        fast = program.runs[segment](inputs)
        steps: list = []
        traced = program.traced[segment](inputs, steps)
    rules: dict = {}
    reference = interpreter.run(program.ir, segment, inputs, rules=rules)
    assert _shape(fast) == _shape(traced) == _shape(reference)
    assert all(type(step) is Step for step in steps)
    assert [program.rule_names[step.rule] for step in steps] == list(rules)
    assert [_shape(step.value) for step in steps] == [_shape(v) for v in rules.values()]
    count = len(policy.output_names)
    return policy, dict(zip(policy.output_names, fast[:count])), fast[count:], steps


def shapes(outputs: dict) -> dict:
    return {name: _shape(value) for name, value in outputs.items()}


def events(policy, steps, rule: str) -> list:
    (step,) = [s for s in steps if policy.program.rule_names[s.rule] == rule]
    return list(step.events)


def node_text(policy, node_id) -> str:
    return policy.program.traced_nodes[node_id].span.text


def evaluation_error(policy, facts) -> policydsl.EvaluationError:
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate(facts)
    return raised.value


def traced_error(policy, facts) -> policydsl.EvaluationError:
    inputs = policy.read_facts(facts)
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.run_traced(inputs, policy.segment_for(inputs))
    return raised.value


# ---- values: each IR node kind ---------------------------------------------------------

ARITH = """policy "arith"
input {
  amount: money
  n: int
  m: int
  factor: number
  flag: bool = false
}
rule plus: money = amount + 1.5 yuan
rule minus: money = amount - 0.25 yuan
rule times: money = amount * 3
rule neg: money = -amount
rule whole_plus: int = n + m
rule whole_minus: int = n - m
rule product: int = n * m
rule nprod: number = factor * factor
rule quotient: number = factor / 4
rule lo: money = min(amount, 7 yuan, 100 yuan)
rule hi: money = max(amount, 7 yuan, 1 yuan)
rule clamped_low: money = clamp(amount, 20 yuan, 30 yuan)
rule clamped_high: money = clamp(amount, 1 yuan, 5 yuan)
rule t: bool = true
rule f: bool = false
rule both: bool = flag and n > 1
rule either: bool = flag or n > 1
rule negated: bool = not flag
output plus, minus, times, neg, whole_plus, whole_minus, product, nprod, quotient, lo, hi, clamped_low, clamped_high, t, f, both, either, negated
"""


def test_arithmetic_logic_and_functions_give_hand_computed_values():
    _, out, _, _ = run_all(ARITH, {"amount": "10.10", "n": 7, "m": 3, "factor": 2.5})
    assert shapes(out) == shapes({
        "plus": Decimal("11.60"), "minus": Decimal("9.85"), "times": Decimal("30.30"), "neg": Decimal("-10.10"),
        "whole_plus": 10, "whole_minus": 4, "product": 21, "nprod": Decimal("6.25"), "quotient": Decimal("0.625"),
        "lo": Decimal("7"), "hi": Decimal("10.10"), "clamped_low": Decimal("20"), "clamped_high": Decimal("5"),
        "t": True, "f": False, "both": False, "either": True, "negated": True,
    })
    _, out, _, _ = run_all(ARITH, {"amount": "10.10", "n": 1, "m": 3, "factor": 2.5, "flag": True})
    assert (out["both"], out["either"], out["negated"]) == (False, True, False)
    _, out, _, _ = run_all(ARITH, {"amount": "10.10", "n": 2, "m": 3, "factor": 2.5, "flag": True})
    assert (out["both"], out["either"], out["negated"]) == (True, True, False)
    _, out, _, _ = run_all(ARITH, {"amount": "10.10", "n": 0, "m": 3, "factor": 2.5})
    assert (out["both"], out["either"]) == (False, False)


COMPARE = """policy "compare"
input {
  a: int
  b: int
}
rule eq: bool = a = b
rule ne: bool = a != b
rule lt: bool = a < b
rule le: bool = a <= b
rule gt: bool = a > b
rule ge: bool = a >= b
output eq, ne, lt, le, gt, ge
"""


@pytest.mark.parametrize(
    "a,b,expected",
    [(1, 2, (False, True, True, True, False, False)), (2, 2, (True, False, False, True, False, True)), (3, 2, (False, True, False, False, True, True))],
)
def test_every_comparison(a, b, expected):
    _, out, _, _ = run_all(COMPARE, {"a": a, "b": b})
    assert tuple(out.values()) == expected


DATES = """policy "dates"
input {
  day: date
  born: date
  wait: months
  k: int
}
rule later: date = day + 3 months
rule later_wait: date = day + wait
rule earlier: date = day - wait
rule plus_days: date = add_days(day, k)
rule days: int = days_between(born, day)
rule months: months = months_between(born, day)
rule years: int = years_between(born, day)
rule old: int = age(born, day)
rule start: date = year_start(day)
output later, later_wait, earlier, plus_days, days, months, years, old, start
"""


def test_date_shifts_and_date_functions():
    _, out, _, _ = run_all(DATES, {"day": "2025-03-31", "born": "2000-04-01", "wait": 1, "k": -31})
    assert out == {
        "later": datetime.date(2025, 6, 30),
        "later_wait": datetime.date(2025, 4, 30),
        "earlier": datetime.date(2025, 2, 28),
        "plus_days": datetime.date(2025, 2, 28),
        "days": 9130,
        "months": 299,
        "years": 24,
        "old": 24,
        "start": datetime.date(2025, 1, 1),
    }


def test_a_date_shift_out_of_the_calendar_is_r402_at_the_shift():
    policy = policydsl.loads(DATES, "t.policy")
    facts = {"day": "9999-12-01", "born": "2000-04-01", "wait": 0, "k": 0}
    for error in (evaluation_error(policy, facts), traced_error(policy, facts)):
        assert (error.code, error.rule, error.span.text) == ("R402", "later", "day + 3 months")
    facts = {"day": "0001-01-15", "born": "0001-01-01", "wait": 1, "k": 0}
    error = evaluation_error(policy, facts)
    assert (error.code, error.rule, error.span.text) == ("R402", "earlier", "day - wait")
    facts = {"day": "9999-12-31", "born": "2000-04-01", "wait": 0, "k": 1}
    error = evaluation_error(policy, facts)
    assert (error.code, error.rule, error.span.text) == ("R402", "later", "day + 3 months")


def test_add_days_out_of_the_calendar_is_r402_at_its_call():
    text = DATES.replace("rule later: date = day + 3 months\n", "").replace("output later, ", "output ")
    policy = policydsl.loads(text, "t.policy")
    facts = {"day": "9999-12-31", "born": "2000-04-01", "wait": 0, "k": 1}
    for error in (evaluation_error(policy, facts), traced_error(policy, facts)):
        assert (error.code, error.rule, error.span.text) == ("R402", "plus_days", "add_days(day, k)")


ROUNDING = """policy "rounding"
input { amount: money }
param bit: money = 0.005 yuan
rule up: money = round(amount + bit, up)
rule down: money = round(amount + bit, down)
rule half_up: money = round(amount + bit, half_up)
rule half_even: money = round(amount + bit, half_even)
rule ten: money = round(amount + bit, half_up, 10 yuan)
rule jiao: money = round(amount + bit, down, 0.1 yuan)
output up, down, half_up, half_even, ten, jiao
"""


def test_rounding_modes_and_steps():
    _, out, _, _ = run_all(ROUNDING, {"amount": "15"})
    assert shapes(out) == shapes({
        "up": Decimal("15.01"), "down": Decimal("15.00"), "half_up": Decimal("15.01"), "half_even": Decimal("15.00"),
        "ten": Decimal("2E+1"), "jiao": Decimal("15.0"),
    })


# ---- tables and tiers, with their trace events -----------------------------------------

TABLES = """policy "tables"
enum Kind { a, b, c }
input {
  kind: Kind
  level: int
}
table rate: Kind -> ratio { a: 90%  b: 70%  default: 10% }
table fee: int -> money { 1: 5 yuan  2: 10 yuan }
table extra: int -> money { 1: 1 yuan  7: 2 yuan }
rule r: ratio = rate[kind]
rule both: money = fee[level] + fee[level + 1]
rule two: money = fee[level] + extra[level]
output r, both, two
"""


def test_table_lookups_and_their_trace():
    policy, out, _, steps = run_all(TABLES, {"kind": "c", "level": 1})
    assert shapes(out) == shapes({"r": Decimal("0.10"), "both": Decimal("15"), "two": Decimal("6")})
    (lookup,) = events(policy, steps, "r")
    assert lookup == Lookup(lookup.node, "c", Decimal("0.10"))
    assert node_text(policy, lookup.node) == "rate[kind]"
    first, second = events(policy, steps, "both")
    assert (first.key, first.value, second.key, second.value) == (1, Decimal("5"), 2, Decimal("10"))
    assert (node_text(policy, first.node), node_text(policy, second.node)) == ("fee[level]", "fee[level + 1]")


def test_a_missing_row_names_the_lookup_of_the_table_in_the_message():
    policy = policydsl.loads(TABLES, "t.policy")
    # two lookups of `fee` on one line: the one that failed (the traced lookup names its node)
    for error in (evaluation_error(policy, {"kind": "a", "level": 2}), traced_error(policy, {"kind": "a", "level": 2})):
        assert (error.code, error.rule, error.span.text) == ("R403", "both", "fee[level + 1]")
        assert str(error) == "table `fee` has no row for `3` in `fee[level + 1]` (rule `both` at t.policy:11:33)"
    # lookups of two tables on one line: the one of the table named
    policy = policydsl.loads(TABLES.replace("rule both: money = fee[level] + fee[level + 1]\n", "").replace("r, both, two", "r, two"), "t.policy")
    error = evaluation_error(policy, {"kind": "a", "level": 2})
    assert (error.code, error.rule, error.span.text) == ("R403", "two", "extra[level]")
    assert str(error) == "table `extra` has no row for `2` in `extra[level]` (rule `two` at t.policy:11:32)"
    error = evaluation_error(policy, {"kind": "a", "level": 7})
    assert (error.code, error.rule, error.span.text) == ("R403", "two", "fee[level]")


TIERS = """policy "tiers"
input { spent: money }
tiers schedule {
  band first: from 0 yuan to 1000 yuan: 50%
  band second: from 1000 yuan to 3000 yuan: 70%
  band top: above 3000 yuan: 90%
}
rule all_bands: money = schedule(from 500 yuan to spent)
rule second: money = schedule(from 0 yuan to spent, band second)
output all_bands, second
"""


def test_tiers_with_and_without_a_band_and_their_trace():
    policy, out, _, steps = run_all(TIERS, {"spent": "4000"})
    # 500..1000 at 50% = 250, 1000..3000 at 70% = 1400, 3000..4000 at 90% = 900
    assert out == {"all_bands": Decimal("2550"), "second": Decimal("1400")}
    (tiers,) = events(policy, steps, "all_bands")
    assert type(tiers) is Tiers
    assert (tiers.lower, tiers.upper) == (Decimal(500), Decimal(4000))
    assert [(s.band, s.low, s.high, s.rate, s.paid) for s in tiers.slices] == [
        (0, 500, 1000, Decimal("0.50"), 250), (1, 1000, 3000, Decimal("0.70"), 1400), (2, 3000, 4000, Decimal("0.90"), 900)
    ]
    assert node_text(policy, tiers.node) == "schedule(from 500 yuan to spent)"
    (only,) = events(policy, steps, "second")
    assert [s.band for s in only.slices] == [1]
    assert node_text(policy, only.node) == "schedule(from 0 yuan to spent, band second)"


# ---- aggregates ------------------------------------------------------------------------

AGGREGATES = """policy "aggregates"
enum Kind { a, b, c }
record Code { n: int }
record Item {
  kind: Kind
  amount: money
  codes: list of Code
}
input { items: list of Item }
rule total: money = sum(i.amount for i in items)
rule not_c: money = sum(i.amount for i in items where i.kind != c)
rule big: int = count(i in items where i.amount > 10 yuan)
rule every: int = count(i in items)
rule any_big: bool = any(i in items where i.amount > 500 yuan)
rule all_coded: bool = all(i in items where count(x in i.codes) > 0)
rule nested: int = sum(sum(c.n for c in i.codes where c.n > 1) for i in items)
rule inline: money = 1 yuan + sum(i.amount for i in items where i.kind = a)
output total, not_c, big, every, any_big, all_coded, nested, inline
"""

ITEMS = [
    {"kind": "a", "amount": "600", "codes": [{"n": 1}, {"n": 5}]},
    {"kind": "c", "amount": "5.5", "codes": []},
    {"kind": "b", "amount": "20", "codes": [{"n": 2}]},
]


def test_aggregates_sum_count_any_all_with_filters():
    _, out, _, _ = run_all(AGGREGATES, {"items": ITEMS})
    assert shapes(out) == shapes({
        "total": Decimal("625.5"), "not_c": Decimal("620"), "big": 2, "every": 3, "any_big": True,
        "all_coded": False, "nested": 7, "inline": Decimal("601"),
    })


def test_aggregates_over_an_empty_list_give_their_zero():
    _, out, _, _ = run_all(AGGREGATES, {"items": []})
    assert shapes(out) == shapes({
        "total": Decimal("0"), "not_c": Decimal("0"), "big": 0, "every": 0, "any_big": False,
        "all_coded": True, "nested": 0, "inline": Decimal("1"),
    })


def test_any_and_all_on_one_element_each_way():
    _, out, _, _ = run_all(AGGREGATES, {"items": ITEMS[:1]})
    assert (out["any_big"], out["all_coded"]) == (True, True)
    _, out, _, _ = run_all(AGGREGATES, {"items": ITEMS[1:2]})
    assert (out["any_big"], out["all_coded"]) == (False, False)


def test_a_sum_traces_each_element_it_adds_with_its_index():
    policy, _, _, steps = run_all(AGGREGATES, {"items": ITEMS})
    added = events(policy, steps, "not_c")
    assert [(type(e), e.index, e.value) for e in added] == [(Element, 0, Decimal("600")), (Element, 2, Decimal("20"))]
    assert node_text(policy, added[0].node) == "sum(i.amount for i in items where i.kind != c)"
    counted = events(policy, steps, "big")
    assert [(e.index, e.value) for e in counted] == [(0, 1), (2, 1)]
    nested = events(policy, steps, "nested")
    # the inner sum's elements come just before the outer element they make up
    inner = node_text(policy, nested[0].node)
    assert inner == "sum(c.n for c in i.codes where c.n > 1)"
    assert [(node_text(policy, e.node) == inner, e.index, e.value) for e in nested] == [
        (True, 1, 5), (False, 0, 5), (False, 1, 0), (True, 0, 2), (False, 2, 2)
    ]
    assert [(e.index, e.value) for e in events(policy, steps, "inline")] == [(0, Decimal("600"))]


# ---- when chains -----------------------------------------------------------------------

CHOOSE = """policy "choose"
enum Kind { a, b, c, d }
input {
  n: int
  kind: Kind
  note: text
  flag: bool = false
}
rule share: ratio =
  when flag then 100%
  when n = 1 then 90%
  when 2 = n then 90%
  when n = 3 then 80%
  when n = 4 then 90%
  otherwise 10%
rule by_kind: int =
  when kind = a then 1
  when kind = b then 1
  when kind = c then 1
  otherwise 4
rule by_note: int =
  when note = "x" then 7
  when note = "y" then 7
  otherwise 0
rule mixed: int =
  when n = 1 then 5
  when kind = b then 5
  otherwise 6
rule inline: int = 100 + (when n = 1 then 1 when n = 2 then 1 when n = 3 then 3 otherwise 9)
output share, by_kind, by_note, mixed, inline
"""


@pytest.mark.parametrize(
    "facts,expected",
    [
        ({"n": 1, "kind": "a", "note": "x"}, (Decimal("0.90"), 1, 7, 5, 101)),
        ({"n": 2, "kind": "b", "note": "y"}, (Decimal("0.90"), 1, 7, 5, 101)),
        ({"n": 3, "kind": "c", "note": "z"}, (Decimal("0.80"), 1, 0, 6, 103)),
        ({"n": 4, "kind": "d", "note": "xy"}, (Decimal("0.90"), 4, 0, 6, 109)),
        ({"n": 5, "kind": "b", "note": ""}, (Decimal("0.10"), 1, 0, 5, 109)),
        ({"n": 1, "kind": "d", "note": "y", "flag": True}, (Decimal("1.00"), 4, 7, 5, 101)),
    ],
)
def test_when_chains_take_the_first_true_arm(facts, expected):
    _, out, _, _ = run_all(CHOOSE, facts)
    assert shapes(out) == shapes(dict(zip(["share", "by_kind", "by_note", "mixed", "inline"], expected)))


def test_the_traced_run_records_the_arm_taken_by_index():
    policy, _, _, steps = run_all(CHOOSE, {"n": 2, "kind": "c", "note": "q"})
    (share,) = events(policy, steps, "share")
    assert share == Branch(share.node, 2)
    assert node_text(policy, share.node).startswith("when flag then 100%")
    assert events(policy, steps, "by_kind") == [Branch(events(policy, steps, "by_kind")[0].node, 2)]
    assert [e.index for e in events(policy, steps, "by_note")] == [2]  # otherwise: len(whens)
    (inline,) = events(policy, steps, "inline")
    assert inline.index == 1 and node_text(policy, inline.node).startswith("when n = 1 then 1")
    policy, _, _, steps = run_all(CHOOSE, {"n": 9, "kind": "a", "note": "q"})
    assert [e.index for e in events(policy, steps, "share")] == [5]
    assert [e.index for e in events(policy, steps, "inline")] == [3]
    policy, _, _, steps = run_all(CHOOSE, {"n": 1, "kind": "a", "note": "q", "flag": True})
    assert [e.index for e in events(policy, steps, "share")] == [0]
    assert [e.index for e in events(policy, steps, "inline")] == [0]


# ---- let, functions, sets --------------------------------------------------------------

LET = """policy "let"
record Item { amount: money }
input {
  amount: money
  items: list of Item
}
param cap = 100 yuan
function half_of(x: money): money = round(x * 50%, half_up)
rule kept: money =
  let over = max(0 yuan, amount - cap) in
  let part = over * 30% in
  when part > 10 yuan then round(part, down)
  otherwise round(over - part, up)
rule halves: money = sum(half_of(i.amount) for i in items)
output kept, halves
"""


def test_let_at_the_head_and_a_function_inside_an_aggregate():
    policy, out, _, steps = run_all(LET, {"amount": "150.10", "items": [{"amount": "3.33"}, {"amount": "1"}]})
    # over = 50.10, part = 15.03 > 10: round(15.030, down) = 15.03; halves: 1.665 -> 1.67, 0.5 -> 0.50
    assert shapes(out) == shapes({"kept": Decimal("15.03"), "halves": Decimal("2.17")})
    bound = events(policy, steps, "kept")
    assert [(type(e), e.value) for e in bound[:2]] == [(Bound, Decimal("50.10")), (Bound, Decimal("15.0300"))]
    assert [node_text(policy, e.node).split(" = ")[0] for e in bound[:2]] == ["let over", "let part"]
    assert type(bound[2]) is Branch and bound[2].index == 0
    halves = events(policy, steps, "halves")
    assert [(type(e).__name__, e.value) for e in halves] == [
        ("Bound", Decimal("3.33")), ("Element", Decimal("1.67")), ("Bound", Decimal("1")), ("Element", Decimal("0.50"))
    ]
    _, out, _, _ = run_all(LET, {"amount": "120", "items": []})
    # over = 20, part = 6.0: round(14.0, up) = 14.00
    assert shapes(out) == shapes({"kept": Decimal("14.00"), "halves": Decimal("0")})


SETS = """policy "sets"
enum Kind { a, b, c }
input {
  n: int
  m: int
  kind: Kind
}
param kinds = {a, b}
rule listed: bool = kind in kinds
rule unlisted: bool = kind not in kinds
rule computed: bool = n in {m, 3, m + 1}
rule not_computed: bool = n not in {m, 3}
output listed, unlisted, computed, not_computed
"""


def test_membership_in_constant_and_computed_sets():
    _, out, _, _ = run_all(SETS, {"n": 3, "m": 1, "kind": "c"})
    assert out == {"listed": False, "unlisted": True, "computed": True, "not_computed": False}
    _, out, _, _ = run_all(SETS, {"n": 2, "m": 1, "kind": "a"})
    assert out == {"listed": True, "unlisted": False, "computed": True, "not_computed": True}
    _, out, _, _ = run_all(SETS, {"n": 5, "m": 1, "kind": "b"})
    assert (out["computed"], out["not_computed"]) == (False, True)


# ---- requirements, invariants, whole-number bounds, division ---------------------------

CHECKS = """policy "checks"
record Item { n: int }
input {
  claim_id: text = ""
  amount: money
  insured: bool
  n: int
  items: list of Item
}
require insured: insured or amount = 0 yuan
  because "Only an insured person's bill is paid"
require n: n >= 0
rule paid: money = round(amount * 50%, half_up)
rule total: int = sum(x.n for x in items)
rule part: number = n / 2
invariant not_seven: n != 7
invariant small: n < 1000
output paid, total, part
"""


def test_a_claim_that_passes_the_requirements_and_invariants():
    _, out, _, _ = run_all(CHECKS, {"amount": "9.99", "insured": True, "n": 3, "items": [{"n": 2}, {"n": 5}]})
    assert shapes(out) == shapes({"paid": Decimal("5.00"), "total": 7, "part": Decimal("1.5")})


def test_a_broken_requirement_is_f304_at_its_field_in_order():
    policy = policydsl.loads(CHECKS, "t.policy")
    with pytest.raises(policydsl.FactsError) as raised:
        policy.evaluate({"amount": "10", "insured": False, "n": -1, "items": []})
    (error,) = raised.value.errors
    assert (error.code, error.path) == ("F304", "insured")
    with pytest.raises(policydsl.FactsError) as raised:
        policy.evaluate({"amount": "10", "insured": True, "n": -1, "items": []})
    (error,) = raised.value.errors
    assert (error.code, error.path) == ("F304", "n")
    inputs = policy.read_facts({"amount": "10", "insured": True, "n": -1, "items": []})
    with pytest.raises(runtime.RequirementRefused) as refused:
        policy.program.traced[0](inputs, [])
    assert refused.value.number == 1


def test_a_broken_invariant_is_r406_naming_it():
    policy = policydsl.loads(CHECKS, "t.policy")
    error = evaluation_error(policy, {"amount": "10", "insured": True, "n": 1000, "items": []})
    assert error.code == "R406" and "invariant `small` does not hold" in str(error)
    inputs = policy.read_facts({"amount": "10", "insured": True, "n": 1000, "items": []})
    with pytest.raises(runtime.InvariantViolation) as violated:
        policy.run_traced(inputs)
    assert violated.value.number == 1
    inputs = policy.read_facts({"amount": "10", "insured": True, "n": 7, "items": []})
    with pytest.raises(runtime.InvariantViolation) as violated:
        policy.program.runs[0](inputs)
    assert violated.value.number == 0


def test_a_whole_number_rule_past_10_to_the_18_is_r407_where_it_is_assigned():
    policy = policydsl.loads(CHECKS, "t.policy")
    limit = 10**18
    fine = {"amount": "1", "insured": True, "n": 1, "items": [{"n": limit - 1}, {"n": 1}]}
    assert policy.evaluate(fine).outputs["total"] == limit
    fine["items"] = [{"n": -limit + 1}, {"n": -1}]
    assert policy.evaluate(fine).outputs["total"] == -limit
    for items in ([{"n": limit - 1}, {"n": 2}], [{"n": -limit + 1}, {"n": -2}]):
        facts = {"amount": "1", "insured": True, "n": 1, "items": items}
        for error in (evaluation_error(policy, facts), traced_error(policy, facts)):
            assert (error.code, error.rule, error.span.text) == ("R407", "total", "sum(x.n for x in items)")
            assert str(error).startswith("a whole number grew beyond 10**18 (rule `total`")


def test_a_number_rule_holding_an_int_is_bounded_and_a_decimal_is_not():
    text = """policy "if whole"
input {
  n: int
  m: int
  x: number
  flag: bool = false
}
rule both: number = when flag then x * 1000 + m otherwise n * 1000 + m
output both
"""
    policy = policydsl.loads(text, "t.policy")
    assert policy.program.ir.segments[0].rules[0].bound == "if_whole"
    assert _shape(policy.evaluate({"n": 10**15, "m": 0, "x": 0}).outputs["both"]) == _shape(10**18)
    assert _shape(policy.evaluate({"n": -(10**15), "m": 0, "x": 0}).outputs["both"]) == _shape(-(10**18))
    big = {"n": 0, "m": 1, "x": 10**15, "flag": True}  # a Decimal past 10**18 is not bounded by R407
    assert _shape(policy.evaluate(big).outputs["both"]) == _shape(Decimal(10**18 + 1))
    for n, m in ((10**15, 1), (-(10**15), -1)):
        for error in (evaluation_error(policy, {"n": n, "m": m, "x": 0}), traced_error(policy, {"n": n, "m": m, "x": 0})):
            assert (error.code, error.rule) == ("R407", "both")


def test_a_division_by_zero_is_r401_at_the_division():
    policy = policydsl.loads(CHECKS.replace("rule part: number = n / 2", "rule part: number = 1 + n / (n - 3)"), "t.policy")
    facts = {"amount": "1", "insured": True, "n": 3, "items": []}
    for error in (evaluation_error(policy, facts), traced_error(policy, facts)):
        assert (error.code, error.rule, error.span.text) == ("R401", "part", "n / (n - 3)")
        assert str(error) == "division by zero in `n / (n - 3)` (rule `part` at t.policy:15:25)"


def test_products_past_10_to_the_18_are_r407_at_the_product():
    text = """policy "products"
input {
  n: int
  x: number
}
rule whole: int = n * n - 1
rule mixed: number = x * n
output whole, mixed
"""
    policy = policydsl.loads(text, "t.policy")
    _, out, _, _ = run_all(text, {"n": 10**9, "x": 2})
    assert shapes(out) == shapes({"whole": 10**18 - 1, "mixed": Decimal(2 * 10**9)})
    for error in (evaluation_error(policy, {"n": 10**9 + 1, "x": 0}), traced_error(policy, {"n": 10**9 + 1, "x": 0})):
        assert (error.code, error.rule, error.span.text) == ("R407", "whole", "n * n")


# ---- accumulators and dated segments ---------------------------------------------------

ACCUMULATING = """policy "acc"
  effective from 2024-01-01
  as of day
input {
  pid: int = 0
  day: date
  amount: money
  nights: int
}
param cap = 5_000 yuan from 2024-01-01 until 2024-12-31
param cap = 6_000 yuan from 2025-01-01
accumulator paid: money per pid over year opening 0 yuan adds paid_now
accumulator nights_used: int per pid over year opening 0 adds nights
accumulator idle: int per pid over year opening 3
rule room: money = max(0 yuan, cap - paid)
rule paid_now: money = min(round(amount * 50%, half_up), room)
rule nights_left: int = max(0, 30 - nights_used - nights)
output room, paid_now, nights_left
"""


def test_accumulators_add_after_the_outputs_in_each_segment():
    facts = {"day": "2024-05-01", "amount": "3000", "nights": 4, "paid": "4000", "nights_used": 20, "idle": 3}
    policy, out, added, _ = run_all(ACCUMULATING, facts)
    assert shapes(out) == shapes({"room": Decimal("1000"), "paid_now": Decimal("1000"), "nights_left": 6})
    assert _shape(added) == _shape((Decimal("1000"), 4, 0))
    facts["day"] = "2025-05-01"
    policy, out, added, _ = run_all(ACCUMULATING, facts)
    assert shapes(out) == shapes({"room": Decimal("2000"), "paid_now": Decimal("1500.00"), "nights_left": 6})
    assert _shape(added) == _shape((Decimal("1500.00"), 4, 0))
    decision = policy.evaluate(facts)
    assert {name: (c.before, c.after) for name, c in decision.accumulators.items()} == {
        "paid": (Decimal("4000.00"), Decimal("5500.00")), "nights_used": (20, 24), "idle": (3, 3)
    }


def test_a_segment_with_no_value_in_force_has_no_program():
    policy = policydsl.loads(ACCUMULATING, "t.policy")
    program = policy.program
    assert [run is None for run in program.runs] == [True, False, False]
    assert [run is None for run in program.traced] == [True, False, False]
    assert program.work == [None, None, None]
    assert program.cuts == (datetime.date(2024, 1, 1), datetime.date(2025, 1, 1))
    assert program.segments is program.ir.segments and len(program.segments) == 3
    assert program.as_of_index == 1
    assert program.defaults is program.ir.defaults and program.defaults == {(None, "pid"): 0}
    assert "# segment 1: " in program.source and "# segment 2: " in program.source and "# segment 0" not in program.source
    with pytest.raises(ValueError):
        program.run  # noqa: B018 - two segments in force
    error = evaluation_error(policy, {"day": "2023-12-31", "amount": "1", "nights": 0, "paid": "0", "nights_used": 0, "idle": 0})
    assert error.code == "R405"


def test_a_policy_without_dated_values_has_one_run():
    policy = policydsl.loads(CHECKS, "t.policy")
    program = policy.program
    assert program.run is program.runs[0]
    inputs = policy.read_facts({"amount": "4", "insured": True, "n": 3, "items": []})
    with localcontext(numbers.EXACT):
        assert program.run(inputs) == (Decimal("2.00"), 0, Decimal("1.5"))
    assert program.as_of_index is None


# ---- the work plan of nested aggregates (R409) ------------------------------------------

WORK = """policy "work"
record Code { v: int }
record Item {
  amount: money
  codes: list of Code
}
input {
  items: list of Item
  more: list of Item
  flag: bool = false
}
function coded(xs: list of Code): int = count(c in xs where c.v = 7)
require flag: not flag or any(i in items where any(c in i.codes where c.v = 1))
rule flat: money = sum(i.amount for i in items)
rule pairs: int = count(a in items where any(b in more where b.amount > a.amount))
rule inner: int = sum(coded(i.codes) for i in items)
invariant few: count(a in more where all(c in a.codes where c.v > 0)) >= 0
output flat, pairs, inner
"""


def test_the_work_plan_lists_every_aggregate_chain_by_list_path():
    policy = policydsl.loads(WORK, "t.policy")
    (plan,) = policy.program.work
    entries, every_list = plan
    each = runtime.EACH
    assert every_list == ((0,), (0, each, 1), (1,), (1, each, 1))
    assert [(name, span.line, chains) for name, span, chains in entries] == [
        (None, 13, (((0,),), ((0,), (0, each, 1)))),
        ("flat", 14, (((0,),),)),
        ("pairs", 15, (((0,),), ((0,), (1,)))),
        ("inner", 16, (((0,),), ((0,), None))),
        (None, 17, (((1,),), ((1,), (1, each, 1)))),
    ]
    assert [span.column for _, span, _ in entries] == [1, 1, 1, 1, 1]


def test_the_work_plan_refuses_a_claim_too_big_and_names_the_costliest_rule():
    policy = policydsl.loads(WORK, "t.policy")
    item = {"amount": "1", "codes": []}
    error = evaluation_error(policy, {"items": [item] * 5001, "more": [item] * 5001})
    assert (error.code, error.rule) == ("R409", "pairs")
    # require 5001 + 5001 * 0, flat 5001, pairs 5001 + 5001 * 5001, inner the same (its list of codes is
    # not an input path: bounded by the longest list, 5001), invariant 5001 + 5001 * 0; pairs comes first
    assert "needs about 50,045,007 steps" in str(error)
    _, out, _, _ = run_all(WORK, {"items": [item] * 3, "more": [{"amount": "2", "codes": [{"v": 7}]}] * 2})
    assert out == {"flat": Decimal("3"), "pairs": 3, "inner": 0}


def test_a_policy_without_nested_aggregates_has_no_work_plan():
    policy = policydsl.loads(AGGREGATES.replace("rule nested: int = sum(sum(c.n for c in i.codes where c.n > 1) for i in items)\n", "")
                             .replace("rule all_coded: bool = all(i in items where count(x in i.codes) > 0)\n", "")
                             .replace(", all_coded, nested", ""), "t.policy")
    assert policy.program.work == [None]
    assert policydsl.loads(AGGREGATES, "t.policy").program.work != [None]


# ---- locating a failure of the fast variant from its line table --------------------------

LOCATE = """policy "locate"
  as of day
input {
  day: date
  n: int
  m: int
  big: int = 0
}
accumulator spent: number per n over year opening 0 adds 10 / m
require m: 100 / (m + 1) != 0
rule part: number = 1 + n / m
rule kept: number =
  let share = 3 / (m - 1) in
  share + 1
rule whole: int = big * 1000
invariant ok: 1 / (m + 2) > 0
output part, kept, whole
"""


def _fast_failure(policy, facts):
    inputs = policy.read_facts(facts)
    with localcontext(numbers.EXACT), pytest.raises(Exception) as raised:
        policy.program.runs[0](inputs)
    return raised.value


def test_the_line_table_of_the_fast_variant_names_rule_and_node():
    policy = policydsl.loads(LOCATE, "t.policy")
    day = "2025-01-01"
    cases = [
        ({"day": day, "n": 1, "m": -1, "spent": 0}, None, "100 / (m + 1)"),
        ({"day": day, "n": 1, "m": 0, "spent": 0}, "part", "n / m"),
        ({"day": day, "n": 1, "m": 1, "spent": 0}, "kept", "3 / (m - 1)"),
        ({"day": day, "n": 1, "m": -2, "spent": 0}, None, "1 / (m + 2)"),
    ]
    for facts, rule, text in cases:
        error = _fast_failure(policy, facts)
        assert getattr(error, "node", None) is None  # the fast variant passes no node ids
        found_rule, node = policy.program.locate(error)
        assert (error.code, found_rule, node.span.text) == ("R401", rule, text)
        assert node is policy.program.node(node.id)
    error = _fast_failure(policy, {"day": day, "n": 1, "m": 3, "big": 10**17, "spent": 0})
    rule, node = policy.program.locate(error)
    assert (error.code, rule, node.span.text) == ("R407", "whole", "big * 1000")


def test_a_failing_accumulator_is_named_by_the_accumulator():
    policy = policydsl.loads(LOCATE
                             .replace("adds 10 / m", "adds 10 / (m - 5)"), "t.policy")
    error = _fast_failure(policy, {"day": "2025-01-01", "n": 1, "m": 5, "spent": 0})
    rule, node = policy.program.locate(error)
    assert (rule, node.span.text) == ("spent", "10 / (m - 5)")
    error = evaluation_error(policy, {"day": "2025-01-01", "n": 1, "m": 5, "spent": 0})
    assert (error.code, error.rule, error.span.text) == ("R401", "spent", "10 / (m - 5)")


def test_a_whole_value_check_names_the_rule_expression():
    text = """policy "whole"
record Item { n: int }
input { items: list of Item }
rule total: int = sum(x.n for x in items) + 0
output total
"""
    policy = policydsl.loads(text, "t.policy")
    error = _fast_failure(policy, {"items": [{"n": 10**18 - 1}, {"n": 2}]})
    rule, node = policy.program.locate(error)
    assert (rule, node.span.text) == ("total", "sum(x.n for x in items) + 0")
    assert node is policy.program.ir.segments[0].rules[0].body


def test_an_error_outside_the_generated_code_is_not_located():
    policy = policydsl.loads(LOCATE, "t.policy")
    assert policy.program.locate(ValueError("elsewhere")) == (None, None)
    error = ValueError("named")
    error.node = policy.program.ir.segments[0].rules[0].body.id
    assert policy.program.locate(error) == (None, policy.program.ir.segments[0].rules[0].body)
    assert policy.program.node(None) is None and policy.program.node(10**6) is None


UNLIMITED = """policy "unlimited"
input {
  amount: money
  capped: bool = false
}
param cap: money = unlimited
rule limit: money = when capped then 100 yuan otherwise cap
rule room: money = round(limit - amount, half_up)
rule spare: money = round(min(amount, limit) * 1.005, down)
rule gap: money = max(0 yuan, limit - cap)
output room, spare, gap
"""


def test_round_keeps_unlimited_and_unlimited_minus_unlimited_is_r408():
    policy = policydsl.loads(UNLIMITED, "t.policy")
    assert policy.program.ir.unlimited
    inputs = policy.read_facts({"amount": "10", "capped": True})
    with localcontext(numbers.EXACT):
        raw = policy.program.runs[0](inputs)
    assert _shape(raw) == _shape((Decimal("90.00"), Decimal("10.05"), Decimal("0")))
    error = _fast_failure(policy, {"amount": "10"})
    rule, node = policy.program.locate(error)
    assert (rule, node.span.text) == ("gap", "limit - cap")  # the node that can fail with R408, not the max
    assert isinstance(error, InvalidOperation) and getattr(error, "code", None) is None  # a decimal signal: no code, taken as R408
    error = evaluation_error(policy, {"amount": "10"})
    assert (error.code, error.rule) == ("R408", "gap")
    text = UNLIMITED.replace("rule gap: money = max(0 yuan, limit - cap)\n", "").replace(", gap", "")
    _, out, _, _ = run_all(text, {"amount": "10"})
    assert _shape(out) == _shape({"room": Decimal("Infinity"), "spare": Decimal("10.05")})


# ---- constants: slots and folding --------------------------------------------------------


def test_decimals_equal_in_value_keep_their_own_digits():
    text = """policy "digits"
input { x: number }
rule a: number = x + 0.1
rule b: number = x + 0.10
rule c: number = x + 0.100
output a, b, c
"""
    _, out, _, _ = run_all(text, {"x": 1})
    assert shapes(out) == shapes({"a": Decimal("1.1"), "b": Decimal("1.10"), "c": Decimal("1.100")})


def test_sets_of_members_each_keep_their_own_slot():
    text = """policy "sets"
input { n: int }
rule one: int =
  when n = 1 then 5
  when n = 2 then 5
  otherwise 0
rule two: int =
  when n = 3 then 6
  when n = 4 then 6
  otherwise 0
rule three: int =
  when n = 2 then 7
  when n = 1 then 7
  otherwise 0
output one, two, three
"""
    results = [tuple(run_all(text, {"n": n})[1].values()) for n in (1, 2, 3, 4, 5)]
    assert results == [(5, 0, 7), (5, 0, 7), (0, 6, 0), (0, 6, 0), (0, 0, 0)]


def test_constant_expressions_are_folded_in_the_fast_variant_only():
    text = """policy "fold"
input { amount: money }
param cap = 1000 yuan
param rate = 30%
rule part: money = min(amount, cap * rate)
rule odd: money = when amount > 1000 yuan then cap / (rate - 30%) otherwise 0 yuan
output part, odd
"""
    policy = policydsl.loads(text, "t.policy")
    fast, traced = policy.program.source.split("def run_traced")
    assert "* " not in fast and "min(i0, k" in fast  # cap * rate is 300 once, not per claim
    assert "(p1 * p2)" in traced
    assert "_divide(p1, k" in fast  # a division by zero is not folded (its divisor is): it fails per claim
    error = evaluation_error(policy, {"amount": "1000.01"})
    assert (error.code, error.rule, error.span.text) == ("R401", "odd", "cap / (rate - 30%)")
    inputs = policy.read_facts({"amount": "500"})
    with localcontext(numbers.EXACT):
        assert policy.program.runs[0](inputs)[0] == Decimal("300")


def test_whole_numbers_are_written_inline_and_other_constants_in_slots():
    text = """policy "inline"
input { n: int  flag: bool = false }
rule a: int = n + 123456789
rule b: bool = flag or true
rule c: bool = flag and false
rule d: text = "hi"
output a, b, c, d
"""
    policy = policydsl.loads(text, "t.policy")
    assert "(123456789)" in policy.program.source and "True" in policy.program.source and "False" in policy.program.source
    _, out, _, _ = run_all(text, {"n": 1})
    assert out == {"a": 123456790, "b": True, "c": False, "d": "hi"}


# ---- the output finisher and the facts reader ---------------------------------------------


def test_compile_outputs_quantizes_money_to_the_fen_and_leaves_the_rest():
    build = compiler.compile_outputs(["paid", "share", "count", "when"], [t.MONEY, t.RATIO, t.INT, t.DATE])
    day = datetime.date(2025, 1, 1)
    result = build((Decimal("1.5"), Decimal("0.125"), 3, day))
    assert list(result) == ["paid", "share", "count", "when"]
    assert shapes(result) == shapes({"paid": Decimal("1.50"), "share": Decimal("0.125"), "count": 3, "when": day})
    with localcontext(numbers.EXACT), pytest.raises(ArithmeticError):
        build((Decimal("1.005"), Decimal(0), 0, day))
    assert compiler.compile_outputs([], [])(()) == {}


def test_compile_reader_reads_well_formed_facts_and_hands_the_rest_to_the_slow_reader():
    policy = policydsl.loads(CHECKS, "t.policy")
    seen = []

    def slow(facts):
        seen.append(facts)
        return ("slow",)

    read = compiler.compile_reader(policy.program.ir, slow)
    facts = {"amount": "1.5", "insured": True, "n": 2, "items": [{"n": 3}]}
    assert read(facts) == ("", Decimal("1.5"), True, 2, ((3,),))
    assert seen == []
    assert read({"amount": "x"}) == ("slow",) and seen == [{"amount": "x"}]


# ---- IR the compiler does not know: an internal error naming what -------------------------

MALFORMED = """policy "malformed"
record Item { amount: money }
input {
  day: date
  amount: money
  n: int
  flag: bool = false
  items: list of Item
}
rule logic: bool = flag and n > 1
rule arith: money = amount + 1 yuan
rule compare: bool = n < 3
rule date_call: int = days_between(day, day)
rule rounded: money = round(amount, half_up)
rule smallest: money = min(amount, 1 yuan)
rule quantified: bool = any(i in items where i.amount > 1 yuan)
output logic, arith, compare, date_call, rounded, smallest, quantified
"""


@pytest.mark.parametrize(
    "rule,field,value,message",
    [
        ("logic", "op", "xor", "unknown operator in the IR: 'xor'"),
        ("arith", "op", "^", "unknown operator in the IR: '^'"),
        ("compare", "op", "<>", "unknown operator in the IR: '<>'"),
        ("date_call", "func", "weekday", "unknown date function in the IR: 'weekday'"),
        ("rounded", "mode", "sideways", "unknown rounding mode in the IR: 'sideways'"),
        ("smallest", "func", "avg", "unknown function in the IR: 'avg'"),
        ("quantified", "kind", "none", "unknown aggregate kind in the IR: 'none'"),
    ],
)
def test_an_unknown_operator_function_or_kind_is_an_internal_error_naming_it(rule, field, value, message):
    program = policydsl.loads(MALFORMED, "t.policy").program.ir
    (segment,) = program.segments
    rules = tuple(attrs.evolve(r, body=attrs.evolve(r.body, **{field: value})) if r.name == rule else r for r in segment.rules)
    broken = attrs.evolve(program, segments=(attrs.evolve(segment, rules=rules),))
    with pytest.raises(AssertionError) as raised:
        compiler.compile_program(broken)
    assert str(raised.value) == message
    assert compiler.compile_program(program).run is not None


# ---- the fast variant's loops, branches and line table ------------------------------------

LOOPS = """policy "loops"
record Code { v: int }
record Item {
  n: int
  codes: list of Code
}
input {
  n: int
  m: int
  flag: bool = false
  items: list of Item
  more: list of Item
}
function half(k: int): int = k * 2
function coded(i: Item): int = count(c in i.codes where c.v > 1)
rule picked: int = count(x in (when 10 / n > 1 then items otherwise more))
rule shares: number = sum(10 / x.n for x in items)
rule chosen: int =
  when 10 / m > 1 then half(n)
  when flag then half(m)
  otherwise 0
rule same: int =
  when n = m then 1
  when n = m + 1 then 1
  otherwise 0
rule inner: int = sum(coded(x) for x in items)
rule nested_source: int = count(x in (when count(y in more) > 1 then items otherwise more))
output picked, shares, chosen, same, inner, nested_source
"""


def _item(n, *codes):
    return {"n": n, "codes": [{"v": v} for v in codes]}


def test_loops_over_computed_lists_and_functions_in_branches():
    facts = {"n": 2, "m": 3, "items": [_item(4, 1, 2, 3), _item(5)], "more": [_item(1)]}
    _, out, _, _ = run_all(LOOPS, facts)
    # picked: 10 / 2 > 1, so items (2); shares 10/4 + 10/5 = 4.5; chosen: 10/3 > 1, half(2) = 4;
    # same: 2 != 3, 2 != 4; inner: codes above 1 = 2 + 0; nested_source: one in more, so more (1)
    assert shapes(out) == shapes({"picked": 2, "shares": Decimal("4.5"), "chosen": 4, "same": 0, "inner": 2, "nested_source": 1})
    facts = {"n": 20, "m": 19, "flag": True, "items": [_item(1)], "more": [_item(1), _item(2)]}
    _, out, _, _ = run_all(LOOPS, facts)
    assert shapes(out) == shapes({"picked": 2, "shares": Decimal("10"), "chosen": 38, "same": 1, "inner": 0, "nested_source": 1})
    facts["m"], facts["flag"] = 20, False
    _, out, _, _ = run_all(LOOPS, facts)
    assert (out["chosen"], out["same"]) == (0, 1)


def test_the_fast_line_table_names_failures_in_loops_and_branch_conditions():
    policy = policydsl.loads(LOOPS, "t.policy")
    base = {"n": 2, "m": 3, "items": [_item(4)], "more": []}
    cases = [
        ({**base, "n": 0}, "picked", "10 / n"),  # the list a loop runs over
        ({**base, "items": [_item(4), _item(0)]}, "shares", "10 / x.n"),  # the body of a sum written as a loop
        ({**base, "m": 0}, "chosen", "10 / m"),  # the condition of an `if`
    ]
    for facts, rule, text in cases:
        error = _fast_failure(policy, facts)
        found_rule, node = policy.program.locate(error)
        assert (found_rule, node.span.text) == (rule, text)
        error = evaluation_error(policy, facts)
        assert (error.code, error.rule, error.span.text) == ("R401", rule, text)


def test_a_sum_or_count_that_is_a_whole_rule_is_a_plain_loop_in_the_fast_variant():
    policy = policydsl.loads(LOOPS, "t.policy")
    fast, traced = policy.program.source.split("def run_traced")
    mangled = compiler._mangle(policy.program.ir)
    shares, picked = mangled["shares"], mangled["picked"]
    assert f"    {shares} = k" in fast and f"    {picked} = (0)" in fast
    assert f"        {shares} = {shares} + _divide(" in fast and f"        {picked} = {picked} + 1" in fast
    assert "_e" not in fast and "_element" not in fast  # the fast variant records nothing
    assert f"{shares} = sum((_element(_e," in traced


def test_the_work_plan_of_an_aggregate_whose_list_is_computed_by_one():
    policy = policydsl.loads(LOOPS, "t.policy")
    (plan,) = policy.program.work
    entries, every_list = plan
    each = runtime.EACH
    assert every_list == ((3,), (3, each, 1), (4,), (4, each, 1))
    assert [(name, chains) for name, _, chains in entries] == [
        ("picked", ((None,),)),
        ("shares", (((3,),),)),
        ("inner", (((3,),), ((3,), None))),
        ("nested_source", (((4,),), (None,))),
    ]


def test_a_requirement_and_an_invariant_with_aggregates_trace_into_no_rule():
    text = """policy "traced checks"
record Item { n: int }
input { items: list of Item }
require items: count(i in items where i.n > 0) >= 1
rule total: int = sum(i.n for i in items)
invariant some: count(i in items where i.n > 1) >= 0
output total
"""
    policy, out, _, steps = run_all(text, {"items": [{"n": 1}, {"n": 2}]})
    assert out == {"total": 3}
    assert [(type(e), e.index, e.value) for e in events(policy, steps, "total")] == [(Element, 0, 1), (Element, 1, 2)]
    inputs = policy.read_facts({"items": [{"n": 1}, {"n": 2}]})
    outputs, steps = policy.run_traced(inputs)
    assert outputs == {"total": 3} and len(steps) == 1 and len(steps[0].events) == 2
    fast = policy.program.source.split("def run_traced")[0]
    assert "_refused(0)" in fast and "_violated(0)" in fast and "_e" not in fast  # the fast variant records nothing


def test_the_generated_source_is_registered_for_debuggers_and_joined_by_segment():
    policy = policydsl.loads(ACCUMULATING, "t.policy")
    names = sorted(policy.program.lines)
    assert names == ["<policydsl t.policy segment 1>", "<policydsl t.policy segment 2>"]
    assert linecache.getline(names[0], 1) == "def run(inputs):\n"
    assert linecache.getline(names[0], 2) == "    (i0, i1, i2, i3, i8, i9, i10,) = inputs\n"  # the accumulators are read last
    lines = policy.program.source.splitlines()
    assert [line for line in lines if line.startswith("# segment")] == [
        "# segment 1: 2024-01-01 to 2024-12-31", "# segment 2: 2025-01-01 to further notice"
    ]
    assert policy.program.runs[1].__code__.co_filename == names[0]


def test_the_generated_outputs_and_reader_have_no_builtins_and_their_own_file_names():
    build = compiler.compile_outputs(["paid"], [t.MONEY])
    assert build.__globals__["__builtins__"] == {} and build.__code__.co_filename == "<policydsl outputs>"
    policy = policydsl.loads(CHECKS, "t.policy")
    read = compiler.compile_reader(policy.program.ir, lambda facts: facts)
    assert read.__code__.co_filename == "<policydsl facts reader>"


def test_an_unknown_node_kind_is_an_internal_error_showing_it():
    program = policydsl.loads(MALFORMED, "t.policy").program.ir
    (segment,) = program.segments
    unknown = ir.Expr(id=10**6, type=t.MONEY)  # a node the dispatch has no case for
    rules = tuple(attrs.evolve(r, body=unknown) if r.name == "arith" else r for r in segment.rules)
    broken = attrs.evolve(program, segments=(attrs.evolve(segment, rules=rules),))
    with pytest.raises(AssertionError) as raised:
        compiler.compile_program(broken)
    assert str(raised.value) == repr(unknown)
