"""Differential tests: the reference interpreter against the generated code, and the traced
generated code against the fast one, on generated claims.

Takes every bundled policy (`policies/**/*.policy`), `EVERY`, a policy written to use
every IR construct (dated values in four segments, nested aggregates, division, number
products, sets computed per claim, a table that can miss a row, an invariant that can
fail), `ACCUMULATING` (accumulators of every type, years from 1 January, 28 February,
1 July and 31 December, one without `adds`, one whose `adds` can be fractions of a fen, R404)
and the accumulator policies of tests/data/accumulators; gives, for claims that
Hypothesis builds from each policy's input schema (valid
facts, `claim_strategies.value_of`: enums, lists of items, money near the caps, edge
values; dates in every segment, on both sides of every cut and outside the policy's
period; fields with defaults sometimes left out), a verdict from `compare`:

- the interpreter (`backends/interpreter.run`, choosing the segment itself from the IR's
  cuts) and the generated code (`Policy.segment_for`, `Program.runs[segment]`) give the
  same outputs and the same added value for each accumulator (the tail of the tuple): the
  same values of the same types (Python int or Decimal, the same digits), or both fail
  with the same error (kind, code, invariant);
- `Policy.evaluate` reports each accumulator as the interpreter's numbers say: the value
  before the claim (from the facts), before + what the interpreter added, the year of the
  claim's date (computed here on its own, cut at the calendar's ends), or R404 when money
  added is not whole fen;
- the traced generated run (`Program.traced[segment]`) gives what the fast one gives, its
  steps hold every rule's value as the interpreter computed it, and `Policy.run_traced`
  gives what finishing the fast run's outputs gives (money to the fen, R404/R408).

Claims per policy: `POLICYDSL_DIFF_CLAIMS`, else 2,000 in a Hypothesis profile other than
`ci` (`HYPOTHESIS_PROFILE=long`), else `CI_CLAIMS` (the file runs in ~10-20 s).
`python bench/differential.py` runs the full comparison and prints the counts per policy.
"""

from __future__ import annotations

import bisect
import collections
import datetime
import decimal
import os
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policydsl
from policydsl.backends import interpreter
from policydsl.diagnostics.model import EvaluationError, FactsError, PolicyError
from policydsl.ir import nodes as ir
from policydsl.runtime import helpers as runtime
from policydsl.runtime import numbers
from policydsl.check import types as t

from . import claim_strategies as cs
from .conftest import DATA, PROFILE, ROOT

CI_CLAIMS = 200
CLAIMS = int(os.environ.get("POLICYDSL_DIFF_CLAIMS") or (CI_CLAIMS if PROFILE == "ci" else 2_000))

AGREE = "agree"
BOTH_FAILED = "both failed, same code"
REFUSED = "facts refused"

EVERY = """
policy "Every construct" version "1"
  effective from 2024-01-01 until 2026-12-31
  as of day

enum Kind { drug, exam, bed, other }
enum Level { 1, 2, 3 }

record Code {
  n: int
  weight: number
}

record Line {
  kind: Kind
  amount: money
  qty: int
  share: ratio
  codes: list of Code
}

input {
  day: date
  start: date
  level: Level
  lines: list of Line
  factor: number
  wait: months
  urgent: bool = false
  note: text
}

param cap = 10_000 yuan from 2024-01-01 until 2024-06-30
param cap = 12_000 yuan from 2024-07-01
param third = 1 / 3
param kinds = {drug, exam}
param gap: number = 3
param half = cap / 2
table rate: Level -> ratio {
  1: 90%
  2: 75% until 2025-06-30
  2: 80% from 2025-07-01
  3: 60%
}
table fee: Kind -> money { drug: 5 yuan  exam: 10 yuan  bed: 40 yuan  other: 0 yuan }
table bonus: int -> money { 0: 0 yuan  1: 5 yuan  2: 10 yuan  3: 20 yuan }
tiers sched until 2025-12-31 { from 0 yuan to 1_000 yuan: 10%  from 1_000 yuan to 5_000 yuan: 20%  above 5_000 yuan: 30% }
tiers sched from 2026-01-01 { from 0 yuan to 2_000 yuan: 15%  above 2_000 yuan: 25% }

rule total: money = sum(l.amount for l in lines)
rule drugs: int = count(l in lines where l.kind in kinds)
rule any_big: bool = any(l in lines where l.amount > 1_000 yuan)
rule all_shared: bool = all(l in lines where l.share >= 50% or l.kind = other)
rule weighted: number = sum(sum(c.weight * c.n for c in l.codes) for l in lines where l.qty > 0)
rule pairs: int = count(a in lines where any(b in lines where b.amount > a.amount))
rule squares: int = sum(l.qty * l.qty for l in lines)
rule per_drug: money = total / max(1, drugs)
rule scaled: number = factor * gap
rule tripled: number = gap * squares
rule ratioed: number = factor / third
rule back: money = -total
rule due: date = start - wait
rule due_later: date = start + (wait * 2)
rule since: int = days_between(start, day) + years_between(start, day) + age(start, day)
rule spread: months = months_between(day, start)
rule shifted: date = add_days(year_start(day), squares)
rule late: bool = day <= due or not urgent
rule in_set: bool = squares in {drugs, 3, pairs}
rule rated: bool = level in rate
rule fees: money = sum(fee[l.kind] for l in lines where l.kind != other)
rule shared: money = sum(l.amount * l.share for l in lines)
rule by_tiers: money = sched(from 0 yuan to total)
rule paid: money =
  when late and total > cap then round(clamp(by_tiers * rate[level], 0 yuan, half), half_up)
  when drugs >= 2 then round(min(total, cap, shared + fees), down)
  when any_big then round(max(per_drug, 1 yuan, back), up)
  otherwise round(shared, half_even)
rule months_left: months = max(0 months, wait - squares * 1 month)
rule weight_ratio: number = weighted * factor
rule extra: money = bonus[drugs] + bonus[min(squares, 3)]
rule precise: number = when factor > 20 then ratioed * ratioed * ratioed * ratioed * ratioed otherwise ratioed
rule unrounded: money = when urgent and drugs = 1 then shared otherwise round(shared, up)
function line_share(l: Line, at: ratio): money = round(l.amount * (when l.share > at then l.share otherwise at), half_even)
rule shares: money = sum(line_share(l, rate[level]) for l in lines where l.qty > 0)
rule kept: money =
  let over = max(0 yuan, total - cap) in
  let part = over * rate[level] in
  when part > half then round(part, down)
  otherwise round(over - part, up)
invariant paid_within: paid <= total + fees or total = 0 yuan
invariant urgent_waits_less: not urgent or wait < 12 months
output precise, unrounded, tripled, extra, total, drugs, any_big, all_shared, weighted, pairs, squares, scaled, ratioed, back, due, due_later, since, spread, shifted,
  late, in_set, rated, fees, paid, months_left, weight_ratio, cap, note, kept, shares
"""

ACCUMULATING = """
policy "Accumulating" version "1"
  effective from 2024-01-01
  as of day

input {
  pid: int = 0
  day: date
  amount: money
  share: ratio
  nights: int
}

param cap = 5_000 yuan from 2024-01-01 until 2024-12-31
param cap = 6_000 yuan from 2025-01-01
accumulator paid: money per pid over year opening 0 yuan adds paid_now
accumulator raw_share: money per pid over year from 12-31 opening 100 yuan adds (when nights > 35 then amount * share otherwise round(amount * share, down))
accumulator nights_used: int per pid over year from 02-28 opening 0 adds (when nights > 10 then 10 otherwise nights)
accumulator waited: months per pid over year from 07-01 opening 0 months adds 1 month
accumulator score: number per pid over year opening 0.5 adds nights / 3 + nights_used
accumulator idle: int per pid over year from 03-01 opening -2
rule room: money = max(0 yuan, cap - paid)
rule paid_now: money = min(round(amount * share, half_up), room)
rule nights_left: int = max(0, 30 - nights_used - idle)
rule over: bool = raw_share > cap
rule long_wait: bool = waited >= 6 months
rule scored: number = score * 2
output paid_now, nights_left, over, long_wait, scored
"""

BUNDLED = sorted((ROOT / "policies").glob("**/*.policy"))
ACCUMULATOR_DATA = sorted((DATA / "accumulators").glob("*.policy"))


def load_all() -> dict[str, policydsl.Policy]:
    """Every bundled policy by its path under policies/, `EVERY` as "every-construct",
    `ACCUMULATING` as "accumulating" and tests/data/accumulators/NAME as "data/NAME"."""
    found = {path.relative_to(ROOT / "policies").with_suffix("").as_posix(): policydsl.load(path) for path in BUNDLED}
    found["every-construct"] = policydsl.loads(EVERY, name="every-construct.policy")
    found["accumulating"] = policydsl.loads(ACCUMULATING, name="accumulating.policy")
    found.update({f"data/{path.stem}": policydsl.load(path) for path in ACCUMULATOR_DATA})
    return found


POLICIES = load_all()


# ---- the comparison ------------------------------------------------------------------


class Disagreement(AssertionError):
    """The interpreter and the generated code (or the traced and the fast run) differ."""


def error_key(error: BaseException) -> tuple:
    """What must match when both sides fail: the kind of error, its code, the invariant."""
    return (type(error).__name__, getattr(error, "code", None), getattr(error, "number", None))


def code_of(error: BaseException) -> str:
    """The code a decision reports for `error` (as `Policy._failure` maps it)."""
    if isinstance(error, EvaluationError):
        return error.code
    if isinstance(error, decimal.DecimalException) and not isinstance(error, decimal.DivisionByZero):
        return "R408"
    return "R400"


def same(a, b) -> bool:
    """Exactly the same value: the same type and digits (Decimal('1.0') is not Decimal('1.00'),
    nor 1 Decimal('1')), item by item for tuples, records and dicts."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, frozenset):
        return a == b and sorted(map(repr, a)) == sorted(map(repr, b))
    return repr(a) == repr(b)


def _outcome(compute) -> tuple:
    """("ok", value) or ("error", error)."""
    try:
        return ("ok", compute())
    except (EvaluationError, ArithmeticError, ValueError, TypeError, AttributeError, LookupError) as error:
        return ("error", error)


def interpreted_segment(program: ir.Program, inputs: tuple, as_of: datetime.date | None = None) -> int:
    """The segment a claim is dated in, from the IR alone (`Policy.segment_for` is the other side)."""
    if len(program.segments) == 1:
        return 0
    day = as_of if as_of is not None else (inputs[program.as_of_index] if program.as_of_index is not None else None)
    if day is None:
        raise EvaluationError("no evaluation date", code="R405")
    return bisect.bisect_right(program.cuts, day)


def _check_work(policy, segment: int, inputs: tuple) -> None:
    plan = policy.program.work[segment] if segment < len(policy.program.work) else None
    if plan is not None:
        runtime.check_work(plan, inputs)


def _generated(policy, inputs, as_of):
    segment = policy.segment_for(inputs, as_of)
    _check_work(policy, segment, inputs)
    return segment, policy.program.runs[segment](inputs)


def _interpreted(policy, inputs, as_of, rules: dict):
    segment = interpreted_segment(policy.program.ir, inputs, as_of)
    _check_work(policy, segment, inputs)
    return segment, interpreter.run(policy.program.ir, segment, inputs, rules=rules)


def _traced(policy, segment, inputs, steps: list):
    return segment, policy.program.traced[segment](inputs, steps)


def _describe(outcome) -> str:
    kind, value = outcome
    if kind == "error":
        return f"{type(value).__name__} {getattr(value, 'code', '')}: {value}"
    return repr(value)


def _agree(first, second, what: str, facts) -> None:
    if first[0] != second[0] or (first[0] == "ok" and not same(first[1], second[1])) or (
        first[0] == "error" and error_key(first[1]) != error_key(second[1])
    ):
        raise Disagreement(f"{what} differ for {facts!r}:\n  {_describe(first)}\n  {_describe(second)}")


def compare(policy: policydsl.Policy, facts, as_of: datetime.date | None = None) -> tuple[str, str | None]:
    """(verdict, code): AGREE, BOTH_FAILED with the code a decision would report, or REFUSED
    for facts the reader refuses; raises `Disagreement` for anything else."""
    try:
        inputs = policy.read_facts(facts)
    except FactsError:
        return REFUSED, None
    rules: dict = {}
    steps: list = []
    with localcontext(numbers.EXACT):
        generated = _outcome(lambda: _generated(policy, inputs, as_of))
        interpreted = _outcome(lambda: _interpreted(policy, inputs, as_of, rules))
        _agree(generated, interpreted, "the generated code and the interpreter", facts)
        if generated[0] == "ok":
            segment, raw = generated[1]
            outputs = len(policy.output_names)
            added = interpreted[1][1][outputs:]
            if len(raw) != outputs + len(policy.accumulators):
                raise Disagreement(f"the generated code returned {len(raw)} values for {outputs} outputs and {len(policy.accumulators)} accumulators")
            _agree(("ok", raw[outputs:]), ("ok", added), "what the claim adds to each accumulator (generated, interpreter)", facts)
            traced = _outcome(lambda: _traced(policy, segment, inputs, steps))
            _agree(generated, traced, "the fast and the traced runs", facts)
            names = policy.program.rule_names
            traced_rules = {names[step.rule]: step.value for step in steps}
            _agree(("ok", rules), ("ok", traced_rules), "every rule's value (interpreter, traced run)", facts)
            finished = _outcome(lambda: policy._finish(raw))
    if generated[0] == "error":
        return BOTH_FAILED, code_of(generated[1])
    explained = _outcome(lambda: policy.run_traced(inputs, segment)[0])
    if finished[0] != explained[0] or (finished[0] == "ok" and not same(finished[1], explained[1])) or (
        finished[0] == "error" and code_of(finished[1]) != code_of(explained[1])
    ):
        raise Disagreement(f"finished outputs differ from Policy.run_traced for {facts!r}:\n  {_describe(finished)}\n  {_describe(explained)}")
    if finished[0] == "error":
        return BOTH_FAILED, code_of(finished[1])
    if policy.accumulators:
        return _compare_carried(policy, facts, as_of, inputs, added)
    return AGREE, None


def _compare_carried(policy, facts, as_of, inputs: tuple, added: tuple) -> tuple[str, str | None]:
    """`Policy.evaluate`'s accumulators against the interpreter's added values and a year
    computed here (`year_of`)."""
    with localcontext(numbers.EXACT):
        expected = _expected_carried(policy, inputs, added)
    decided = _outcome(lambda: policy.evaluate(facts, as_of=as_of).accumulators)
    if expected is None:
        if decided[0] != "error" or code_of(decided[1]) != "R404":
            raise Disagreement(f"an accumulator adds fractions of a fen, but evaluate gave {_describe(decided)} for {facts!r}")
        return BOTH_FAILED, "R404"
    got = {name: (c.before, c.after, c.period_start, c.period_end) for name, c in decided[1].items()} if decided[0] == "ok" else None
    if got is None or not same(got, expected):
        raise Disagreement(f"the accumulators differ for {facts!r}:\n  evaluate: {_describe(decided)}\n  expected: {expected!r}")
    return AGREE, None


def _expected_carried(policy, inputs: tuple, added: tuple):
    """name -> (before, after, first day, last day); None for money added in fractions of a fen."""
    day = inputs[policy.program.ir.as_of_index]
    expected = {}
    for accumulator, delta in zip(policy.accumulators, added):
        period = year_of(day, accumulator.year_start)
        before = inputs[accumulator.index]
        after = before + delta
        if accumulator.type == t.MONEY:
            if after % Decimal("0.01"):
                return None
            before, after = before.quantize(Decimal("0.01")), after.quantize(Decimal("0.01"))
        expected[accumulator.name] = (before, after, *period)
    return expected


def year_of(day: datetime.date, start: tuple[int, int]) -> tuple[datetime.date, datetime.date]:
    """The first and last day of the year from `start` (month, day) that holds `day`, cut at
    the calendar's ends (0001-01-01, 9999-12-31)."""
    month, first = start
    year = day.year if (day.month, day.day) >= (month, first) else day.year - 1
    begin = datetime.date(year, month, first) if year >= datetime.MINYEAR else datetime.date.min
    end = datetime.date(year + 1, month, first) - datetime.timedelta(days=1) if year < datetime.MAXYEAR else datetime.date.max
    return begin, end


# ---- claims --------------------------------------------------------------------------

def claim_days(program: ir.Program) -> st.SearchStrategy[str]:
    """Days for the field that dates a claim: inside every segment in force, on both sides
    of every cut, anywhere in a few decades (outside the policy's period too), and the
    calendar's first and last days."""
    # a frame has no segment in force (each misses a `required` value): its claims are dated
    # in its period all the same, where it refuses them as a frame
    inside = [st.dates(*_days_of(s)) for s in program.segments if s.in_force] or [
        st.dates(*_days_of(s)) for s in program.segments if not s.outside
    ]
    options = [st.dates(datetime.date(2015, 1, 1), datetime.date(2035, 12, 31))]
    if program.cuts:
        options.append(st.builds(lambda cut, shift: cut + datetime.timedelta(days=shift), st.sampled_from(program.cuts), st.integers(-3, 2)))
    days = st.one_of(*inside).map(datetime.date.isoformat)
    anywhere = st.one_of(*options).map(datetime.date.isoformat)
    first_and_last = st.sampled_from(["0001-01-01", "9999-12-31"])
    return _weighted((16, days), (3, anywhere), (1, first_and_last))


def _days_of(segment: ir.Segment) -> tuple[datetime.date, datetime.date]:
    """The first and last day of a segment, an open end ~800 days past the other one (both
    open: 2015 to 2035)."""
    span = datetime.timedelta(days=800)
    first = segment.start or (segment.end - span if segment.end else datetime.date(2015, 1, 1))
    last = segment.end - datetime.timedelta(days=1) if segment.end else (segment.start + span if segment.start else datetime.date(2035, 12, 31))
    return first, last


def _weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each with its weight (`st.one_of(a, a, b)` is `st.one_of(a, b)`)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda roll: table[roll])


def claim_facts(policy: policydsl.Policy, edges: bool = False) -> st.SearchStrategy[dict]:
    """Valid facts for `policy`: every field by its type (`claim_strategies.value_of`), the
    claim's own date by `claim_days`; top-level fields with a default are sometimes left out."""
    env, program = policy.env, policy.program.ir
    dated_by = program.inputs[program.as_of_index][0] if program.as_of_index is not None else None
    required, optional = {}, {}
    for field in env.record_fields(None):
        type_ = env.field_types[(None, field.name)]
        value = claim_days(program) if field.name == dated_by else cs.value_of(policy, type_, edges)
        (optional if field.default is not None else required)[field.name] = value
    return st.fixed_dictionaries(required, optional=optional)


def claims_for(policy: policydsl.Policy) -> st.SearchStrategy[dict]:
    """Mostly ordinary claims, one in five with values at the limits the reader documents."""
    return _weighted((4, claim_facts(policy)), (1, claim_facts(policy, edges=True)))


# ---- the tests -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(POLICIES))
def test_the_interpreter_and_the_generated_code_agree(name):
    policy = POLICIES[name]
    verdicts: collections.Counter = collections.Counter()

    @settings(max_examples=CLAIMS, deadline=None)
    @given(claims_for(policy))
    def check(facts):
        verdicts[compare(policy, facts)[0]] += 1

    if is_frame(policy):  # a frame decides no claim: both sides refuse each claim it reads, as a frame (R405)
        codes: collections.Counter = collections.Counter()

        @settings(max_examples=CLAIMS, deadline=None)
        @given(claims_for(policy))
        def refused(facts):
            verdict, code = compare(policy, facts)
            codes[(verdict, code)] += 1

        refused()
        assert set(codes) <= {(BOTH_FAILED, "R405"), (REFUSED, None)}, codes
        assert codes[(BOTH_FAILED, "R405")] >= sum(codes.values()) // 3, codes
        return
    check()
    assert verdicts[AGREE] >= sum(verdicts.values()) // 3, verdicts  # most claims are decided: the comparison is not vacuous


def is_frame(policy: policydsl.Policy) -> bool:
    """A frame (the national baseline): it leaves `required` values to the policies that extend
    it, warns W237 and decides no claim (R405)."""
    return any(w.code == "W237" for w in policy.warnings)


def corpus(name: str):
    """(facts, as_of) of the policy's own tests file and claims.jsonl, when it has them."""
    from policydsl.backends.facts import loads as json_loads
    from policydsl.tools import testing

    path = ROOT / "policies" / f"{name}.policy"
    found = []
    tests = testing.tests_path_for(path)
    if tests.is_file():
        found += [(case.claim, case.as_of) for case in testing.read_tests(tests).cases]
    jsonl = path.parent / "claims.jsonl"
    if jsonl.is_file():
        found += [(json_loads(line), None) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
    return found


@pytest.mark.parametrize("name", [path.relative_to(ROOT / "policies").with_suffix("").as_posix() for path in BUNDLED])
def test_the_bundled_test_claims_agree(name):
    claims = corpus(name)
    assert claims
    if is_frame(POLICIES[name]):  # its tests expect errors only: both sides give each the same
        outcomes = collections.Counter(compare(POLICIES[name], facts, as_of) for facts, as_of in claims)
        assert outcomes[(BOTH_FAILED, "R405")] and set(outcomes) <= {(BOTH_FAILED, "R405"), (REFUSED, None)}, outcomes
        return
    verdicts = collections.Counter(compare(POLICIES[name], facts, as_of)[0] for facts, as_of in claims)
    assert verdicts[AGREE], verdicts


def test_equal_literals_keep_their_own_digits():
    """`10%` is 0.10 even where `0.1`, an equal literal, is written first: in the IR, the
    interpreter and the generated code (whose constant slots once shared equal Decimals)."""
    policy = policydsl.loads('policy "slots"\ninput { n: number }\nrule x: number = n * 0.1\nrule r: ratio = 10%\noutput x, r\n')
    inputs = policy.read_facts({"n": 1})
    with localcontext(numbers.EXACT):
        generated = policy.program.runs[0](inputs)
    interpreted = interpreter.run(policy.program.ir, 0, inputs)
    assert [repr(v) for v in interpreted] == [repr(v) for v in generated] == ["Decimal('0.1')", "Decimal('0.10')"]


def test_every_construct_uses_every_node_kind():
    """`EVERY` exercises each kind of IR node, in several segments."""
    program = POLICIES["every-construct"].program.ir
    seen = {type(node) for segment in program.segments for rule in segment.rules for node in ir.walk(rule.body)}
    kinds = {cls for cls in vars(ir).values() if isinstance(cls, type) and issubclass(cls, ir.Expr) and cls is not ir.Expr}
    assert kinds - seen == set()
    assert sum(segment.in_force for segment in program.segments) == 4


def _every(facts: dict) -> dict:
    base = {"day": "2025-03-01", "start": "2025-01-31", "level": 2, "lines": [], "factor": 2, "wait": 1, "note": "x"}
    return {**base, **facts}


def _line(kind="drug", amount="10.00", qty=1, share="50%", codes=()):
    return {"kind": kind, "amount": amount, "qty": qty, "share": share, "codes": list(codes)}


@pytest.mark.parametrize(
    "facts,code",
    [
        (_every({"lines": [_line()] * 4}), "R403"),  # bonus[4]: no such row, no default
        (_every({"lines": [_line(share="0%")] * 5 + [_line(kind="exam")]}), "R403"),
        (_every({"wait": 10**17 - 1}), "R402"),  # start - wait months is before year 1
        (_every({"lines": [_line(qty=4_000_000)]}), "R402"),  # add_days: 1.6E13 days after 2025
        (_every({"lines": [_line(qty=10**17 - 1)]}), "R407"),  # squares: qty * qty
        (_every({"lines": [_line(qty=600_000_000)]}), "R407"),  # tripled: 3 * 3.6E17, a number holding an int
        (_every({"factor": 21}), "R408"),  # ratioed ** 5: 250 digits
        (_every({"urgent": True, "wait": 12}), "R406"),
        (_every({"urgent": True, "lines": [_line(amount="0.01", share="50%")]}), "R404"),
        (_every({"day": "2023-12-31"}), "R405"),
    ],
)
def test_both_fail_with_the_same_code(facts, code):
    assert compare(POLICIES["every-construct"], facts) == (BOTH_FAILED, code)


def _accumulating(**facts) -> dict:
    base = {"day": "2025-03-01", "amount": "100.00", "share": "50%", "nights": 4, "paid": "0", "raw_share": "0", "nights_used": 0, "waited": 0, "score": 0, "idle": 0}
    return {**base, **facts}


def test_both_sides_add_the_same_to_each_accumulator():
    policy = POLICIES["accumulating"]
    assert [a.year_start for a in policy.accumulators] == [(1, 1), (12, 31), (2, 28), (7, 1), (1, 1), (3, 1)]
    facts = _accumulating(nights=12, paid="5980.00")
    assert compare(policy, facts) == (AGREE, None)
    inputs = policy.read_facts(facts)
    with localcontext(numbers.EXACT):
        added = interpreter.run(policy.program.ir, interpreted_segment(policy.program.ir, inputs), inputs)[len(policy.output_names):]
    # paid_now is capped by what is left of 6,000; 12 nights count as 10; 12 / 3 + 0 nights before; nothing for `idle`
    assert [str(value) for value in added] == ["20.00", "50.00", "10", "1", "4", "0"]
    carried = policy.evaluate(facts).accumulators
    assert (carried["raw_share"].period, carried["nights_used"].period) == ("2024-12-31/2025-12-30", "2025-02-28/2026-02-27")


def test_money_added_in_fractions_of_a_fen_fails_on_both_sides():
    assert compare(POLICIES["accumulating"], _accumulating(nights=36, amount="100.01")) == (BOTH_FAILED, "R404")


def test_the_interpreter_names_the_failing_node():
    policy = POLICIES["every-construct"]
    inputs = policy.read_facts(_every({"lines": [_line()] * 4}))
    with pytest.raises(EvaluationError) as raised:
        interpreter.run(policy.program.ir, interpreted_segment(policy.program.ir, inputs), inputs)
    failed = policy.program.node(raised.value.node)
    assert isinstance(failed, ir.Lookup) and failed.table == "bonus" and failed.span.text == "bonus[drugs]"


def test_evaluate_sets_the_exact_context_itself():
    """Usable alone: under a caller's 3-digit context, sums stay exact and `/` has 50 digits."""
    policy = POLICIES["every-construct"]
    segment = next(s for s in policy.program.ir.segments if s.in_force)
    facts = _every({"factor": Decimal("1.5"), "lines": [_line(amount="12345.67"), _line(amount="1.01")]})
    scope = interpreter.Scope(inputs=policy.read_facts(facts), values=dict(segment.constants))
    with localcontext(decimal.Context(prec=3)):
        total = interpreter.evaluate(_rule_body(policy, "total"), scope)
        ratioed = interpreter.evaluate(_rule_body(policy, "ratioed"), scope)
    assert total == Decimal("12346.68")
    with localcontext(numbers.EXACT):
        assert same(ratioed, runtime.divide(Decimal("1.5"), segment.constants["third"]))
    assert len(ratioed.as_tuple().digits) == numbers.QUOTIENT_DIGITS


def _rule_body(policy, name: str) -> ir.Expr:
    segment = next(s for s in policy.program.ir.segments if s.in_force)
    return next(rule.body for rule in segment.rules if rule.name == name)


def test_a_name_without_a_value_is_unbound():
    body = _rule_body(POLICIES["every-construct"], "total")
    with pytest.raises(interpreter.Unbound):
        interpreter.evaluate(body, interpreter.Scope())


# ---- the checker's constants are computed by the same interpreter --------------------


def test_a_parents_floor_that_names_a_parameter_still_holds(tmp_path):
    """The floor is the parent's expression, computed with the values in force (C215)."""
    (tmp_path / "national").mkdir()
    (tmp_path / "province").mkdir()
    (tmp_path / "national" / "base.policy").write_text(
        'policy "n"\ninput { amount: money }\nparam base = 1_000 yuan\nparam step = base * 2 floor\nrule paid: money = amount + step\noutput paid\n'
    )
    (tmp_path / "province" / "p.policy").write_text('policy "p" extends "national/base"\noverride param step = 500 yuan\n')
    with pytest.raises(PolicyError) as raised:
        policydsl.load(tmp_path / "province" / "p.policy", root=tmp_path)
    assert [(d.code, "below 2000.00" in d.message) for d in raised.value.diagnostics] == [("C215", True)]
