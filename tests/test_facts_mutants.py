"""The facts reader (`policydsl.backends.facts`), pinned where mutation testing found gaps.

Each test names a behaviour of the reader: the value it reads or the error (code, field
path, message) it reports, for the checking reader (`build_reader`) and the generated fast
reader (`reader_source`) alike, and that a well-formed claim is read by the fast reader
alone (it hands nothing to the checking reader, and its common forms need no converter
call). docs/mutation.md says how these were found and what is left.

Readers are built inside each test, never at import: mutmut switches mutants per call, so
a reader generated at import would be the unmutated one.
"""

from __future__ import annotations

import datetime
import decimal
import json
import types
from decimal import Decimal

import pytest

import policydsl
from policydsl.backends import facts
from policydsl.diagnostics.model import FactsError
from policydsl.runtime import numbers

from .conftest import EXAMPLE_POLICY, example_claims

TEXT = """policy "facts reader"
enum Kind { covered, wellness }
enum Level { 1, 2, 3 }
enum Mixed { 1, a }
record Item {
  kind: Kind
  amount: money <= 1_000_000 yuan
  share: ratio <= 80% = 50%
}
record Person {
  waiting: months <= 24 months
  age: int in 0..150
  name: text = "anon"
}
input {
  claim_id: text
  day: date
  urgent: bool
  level: Level
  mixed: Mixed = a
  factor: number = 1
  person: Person
  items: list of Item
  tags: list of text
  kinds: list of Kind
  grid: list of list of int
}
rule r: bool = urgent
output r
"""

# Only the forms the fast reader takes inline (no ratio, number or list of scalars).
INLINE_TEXT = """policy "inline forms"
enum Kind { covered, wellness }
enum Level { 1, 2, 3 }
record Item {
  kind: Kind
  amount: money
}
input {
  claim_id: text
  day: date
  urgent: bool
  level: Level
  waiting: months
  count: int in 0..150
  items: list of Item
}
rule r: bool = urgent
output r
"""

DEPTH = 15  # records nested deeper than facts._INLINE_DEPTH: read by functions of their own
ROWS = 8  # lists of records nested so deep that the innermost are read by functions of their own


def _deep_text() -> str:
    records = [f"record R{depth} {{\n  v: int\n  next: R{depth + 1}\n}}" for depth in range(DEPTH)]
    records.append(f"record R{DEPTH} {{\n  v: int\n  grid: list of list of int\n}}")
    records += [f"record L{depth} {{\n  v: int\n  more: list of L{depth + 1}\n}}" for depth in range(ROWS)]
    records.append(f"record L{ROWS} {{\n  kinds: list of Kind\n  last: R{DEPTH}\n}}")
    return ('policy "deep"\nenum Kind { covered, wellness }\n' + "\n".join(records)
            + "\ninput {\n  top: R0\n  rows: list of L0\n}\nrule r: int = top.v\noutput r\n")


POLICY = policydsl.loads(TEXT, name="facts-reader.policy")
INLINE = policydsl.loads(INLINE_TEXT, name="inline-forms.policy")
DEEP = policydsl.loads(_deep_text(), name="deep.policy")
EXAMPLE = policydsl.load(EXAMPLE_POLICY)


# ---- helpers -----------------------------------------------------------------------------


def checking_reader(policy):
    return facts.build_reader(policy.program.ir, policy.program.defaults)


def _no_fallback(value):
    raise AssertionError(f"the fast reader handed a well-formed claim to the checking reader: {value!r}")


def fast_reader(policy, slow, forbid=lambda name, value: False):
    """The generated reader; a namespace entry for which `forbid(name, value)` holds fails when called."""
    source, namespace = facts.reader_source(policy.program.ir, policy.program.defaults)
    for name, value in list(namespace.items()):
        if forbid(name, value):
            namespace[name] = _forbidden(name)
    namespace["_slow"] = slow
    exec(compile(source, "<test reader>", "exec"), namespace)  # noqa: S102 - generated from the schema
    return namespace["read"]


def _forbidden(name):
    def call(*args):
        raise AssertionError(f"the fast reader called {name} for a value it should read inline: {args!r}")

    return call


def read(policy, claim):
    """What both readers read from `claim` (the same values, of the same types); the fast
    reader reads it alone."""
    expected = checking_reader(policy)(claim)
    assert repr(fast_reader(policy, _no_fallback)(claim)) == repr(expected)
    return expected


def problems(policy, claim) -> list[tuple[str, str, str]]:
    """(path, message, code) of every problem, from the fast reader (which hands the claim
    to the checking reader) and from the checking reader directly: the same."""
    with pytest.raises(facts.Invalid) as fast:
        fast_reader(policy, checking_reader(policy))(claim)
    with pytest.raises(facts.Invalid) as slow:
        checking_reader(policy)(claim)
    found = [(e.path, e.message, e.code) for e in facts.problems_to_errors(fast.value)]
    assert found == [(e.path, e.message, e.code) for e in facts.problems_to_errors(slow.value)]
    return found


def one_problem(policy, claim) -> tuple[str, str, str]:
    (found,) = problems(policy, claim)
    return found


def claim(**changes):
    facts_ = {
        "claim_id": "c1", "day": "2025-03-01", "urgent": True, "level": 2,
        "person": {"waiting": 3, "age": 40}, "items": [{"kind": "covered", "amount": "10.00"}],
        "tags": ["a"], "kinds": ["wellness"], "grid": [[1, 2], []],
    }
    facts_.update(changes)
    return facts_


def item(**changes):
    return claim(items=[{"kind": "covered", "amount": "10.00", **changes}])


def person(**changes):
    return claim(person={"waiting": 3, "age": 40, **changes})


# ---- the fast reader reads well-formed claims alone ---------------------------------------


def test_a_well_formed_claim_is_read_with_its_defaults_by_the_fast_reader_alone():
    assert read(POLICY, claim()) == (
        "c1", datetime.date(2025, 3, 1), True, 2, "a", Decimal(1), (3, 40, "anon"),
        (("covered", Decimal("10.00"), Decimal("0.50")),), ("a",), ("wellness",), ((1, 2), ()),
    )


@pytest.mark.parametrize(
    "changes, index, value",
    [
        ({"mixed": 1}, 4, 1),
        ({"mixed": "a", "factor": Decimal("2.5")}, 5, Decimal("2.5")),
        ({"factor": 0.1}, 5, Decimal("0.1")),
        ({"level": 3}, 3, 3),
        ({"day": datetime.date(2024, 2, 29)}, 1, datetime.date(2024, 2, 29)),
        ({"claim_id": "理赔-1"}, 0, "理赔-1"),
        ({"person": {"waiting": 0, "age": 150, "name": "李"}}, 6, (0, 150, "李")),
        ({"items": []}, 7, ()),
        ({"items": [{"kind": "wellness", "amount": 7, "share": "80%"}]}, 7, (("wellness", Decimal(7), Decimal("0.80")),)),
        ({"items": [{"kind": "covered", "amount": Decimal("1000000.00"), "share": Decimal("0.25")}]}, 7, (("covered", Decimal("1000000.00"), Decimal("0.25")),)),
        ({"items": [{"kind": "covered", "amount": 2.5, "share": 0}]}, 7, (("covered", Decimal("2.5"), Decimal(0)),)),
        ({"tags": []}, 8, ()),
        ({"kinds": []}, 9, ()),
        ({"kinds": ["covered", "wellness", "covered"]}, 9, ("covered", "wellness", "covered")),
        ({"grid": [[], [3], [4, 5, 6]]}, 10, ((), (3,), (4, 5, 6))),
    ],
)
def test_other_well_formed_values_are_read_by_the_fast_reader_alone(changes, index, value):
    assert read(POLICY, claim(**changes))[index] == value


def test_deeply_nested_records_and_lists_of_records_are_read_by_the_fast_reader_alone():
    def record(depth):
        if depth == DEPTH:
            return {"v": depth, "grid": [[depth], []]}
        return {"v": depth, "next": record(depth + 1)}

    def expected_record(depth):
        return (depth, ((depth,), ())) if depth == DEPTH else (depth, expected_record(depth + 1))

    def row(depth):
        if depth == ROWS:
            return {"kinds": ["wellness", "covered"], "last": record(DEPTH)}
        return {"v": depth, "more": [row(depth + 1), row(depth + 1)] if depth >= ROWS - 3 else [row(depth + 1)]}

    def expected_row(depth):
        if depth == ROWS:
            return (("wellness", "covered"), expected_record(DEPTH))
        return (depth, (expected_row(depth + 1),) * (2 if depth >= ROWS - 3 else 1))

    assert read(DEEP, {"top": record(0), "rows": [row(0), row(0)]}) == (expected_record(0), (expected_row(0),) * 2)
    assert read(DEEP, {"top": record(0), "rows": []}) == (expected_record(0), ())


def _converter(name, value):
    return isinstance(value, types.FunctionType) and name != "_read_day"


def test_common_forms_are_read_inline_without_calling_a_converter():
    read_inline = fast_reader(INLINE, _no_fallback, forbid=_converter)
    facts_ = {"claim_id": "c", "day": "2025-03-02", "urgent": False, "level": 1, "waiting": 0, "count": 150,
              "items": [{"kind": "wellness", "amount": "0.01"}, {"kind": "covered", "amount": "999999999999999.99"}]}
    assert read_inline(facts_) == ("c", datetime.date(2025, 3, 2), False, 1, 0, 150,
                                   (("wellness", Decimal("0.01")), ("covered", Decimal("999999999999999.99"))))
    assert read_inline(facts_) == checking_reader(INLINE)(facts_)


def test_a_value_out_of_the_fast_path_is_read_by_its_converter_not_the_checking_reader():
    """Money as a number, non-ASCII text, a date object: the converter reads them, in place."""
    facts_ = {"claim_id": "理赔", "day": datetime.date(2025, 3, 2), "urgent": True, "level": 3, "waiting": 2, "count": 0,
              "items": [{"kind": "covered", "amount": 12}]}
    assert fast_reader(INLINE, _no_fallback)(facts_) == ("理赔", datetime.date(2025, 3, 2), True, 3, 2, 0, (("covered", Decimal(12)),))


@pytest.mark.parametrize(
    "facts_, expected",
    [
        ({"items": [{"kind": "covered", "amount": "1.00", "amonut": "2.00"}]}, [("items[0].amonut", 'unknown field (did you mean "amount"?)', "F303")]),
        ({"person": {"waiting": 1, "age": 2, "zzz": 3}}, [("person.zzz", "unknown field", "F303")]),
        ({"extra": 1}, [("extra", "unknown field", "F303")]),
        ({"person": {"waiting": 1}}, [("person.age", "missing (required field)", "F301")]),
        ({"items": [{"amount": "1.00"}]}, [("items[0].kind", "missing (required field)", "F301")]),
        ({"person": [1]}, [("person", "expected a Person object, got a list", "F302")]),
        ({"items": [None]}, [("items[0]", "expected a Item object, got null", "F302")]),
        ({"items": {"kind": "covered"}}, [("items", "expected a list, got an object", "F302")]),
        ({"grid": [[1], "x"]}, [("grid[1]", 'expected a list, got "x"', "F302")]),
        ({"kinds": ["covered", "wellnes"]}, [("kinds[1]", 'expected one of Kind (covered, wellness), got "wellnes" (did you mean "wellness"?)', "F302")]),
    ],
)
def test_structure_problems_name_their_field(facts_, expected):
    assert problems(POLICY, claim(**facts_)) == expected


def test_a_claim_that_is_not_an_object_is_refused_as_a_whole():
    assert one_problem(POLICY, ["c1"]) == ("", "expected a claim (a JSON object), got a list", "F302")


def test_several_problems_are_all_reported_in_field_order():
    facts_ = claim(level=7, person={"waiting": -1, "age": 40}, items=[{"kind": "x", "amount": "1"}, {"kind": "covered", "amount": -1}])
    del facts_["day"]
    assert problems(POLICY, facts_) == [
        ("day", "missing (required field)", "F301"),
        ("level", "expected one of Level (1, 2, 3), got 7", "F302"),
        ("person.waiting", "months may not be negative, got -1", "F302"),
        ("items[0].kind", 'expected one of Kind (covered, wellness), got "x"', "F302"),
        ("items[1].amount", "money may not be negative, got -1", "F302"),
    ]


def test_a_policy_reports_each_bad_field_as_a_fact_error_with_its_code_and_path():
    with pytest.raises(FactsError) as caught:
        POLICY.read_facts(claim(items=[{"kind": "covered", "amount": "1.234"}], bogus=1))
    assert [(e.code, e.path, e.message) for e in caught.value.errors] == [
        ("F302", "items[0].amount", 'money has at most 2 decimals (fen), got "1.234"'),
        ("F303", "bogus", "unknown field"),
    ]


def test_a_missing_accumulator_says_how_to_give_it():
    facts_ = dict(example_claims()[0])
    del facts_["ytd_basic_paid"]
    assert one_problem(EXAMPLE, facts_) == (
        "ytd_basic_paid",
        "missing: the value of accumulator `ytd_basic_paid` before this claim "
        "(give it with the claim, or decide the person's claims together with `batch --carry`)",
        "F301",
    )


CARRIED_TEXT = """policy "carried"
  as of day
record Item {
  spent: money
}
input {
  person_id: text
  day: date
  items: list of Item
}
rule total: money = sum(i.spent for i in items)
accumulator spent: money per person_id over year opening 0 yuan adds total
output total
"""


def test_only_a_claims_own_field_is_missing_as_an_accumulator():
    """A record field named like an accumulator is an ordinary required field."""
    carried = policydsl.loads(CARRIED_TEXT, name="carried.policy")
    assert problems(carried, {"person_id": "p", "day": "2025-01-01", "items": [{}]}) == [
        ("items[0].spent", "missing (required field)", "F301"),
        ("spent", "missing: the value of accumulator `spent` before this claim "
         "(give it with the claim, or decide the person's claims together with `batch --carry`)", "F301"),
    ]
    assert read(carried, {"person_id": "p", "day": "2025-01-01", "items": [{"spent": "1.50"}], "spent": "3.00"}) == (
        "p", datetime.date(2025, 1, 1), ((Decimal("1.50"),),), Decimal("3.00"))


def test_the_generated_reader_runs_without_builtins():
    """Its namespace holds only what it uses: no `__import__`, `eval` or `open` to reach."""
    read_claim = fast_reader(POLICY, _no_fallback)
    assert read_claim.__globals__["__builtins__"] == {}
    assert "__import__" not in read_claim.__globals__


# ---- values: enums -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"level": True}, ("level", "expected one of Level (1, 2, 3), got true", "F302")),
        ({"level": "2"}, ("level", 'expected one of Level (1, 2, 3), got "2"', "F302")),
        ({"level": 2.0}, ("level", "expected one of Level (1, 2, 3), got 2.0", "F302")),
        ({"mixed": "b"}, ("mixed", 'expected one of Mixed (1, a), got "b"', "F302")),
        ({"mixed": True}, ("mixed", "expected one of Mixed (1, a), got true", "F302")),
    ],
)
def test_an_enum_member_is_matched_exactly(changes, expected):
    assert one_problem(POLICY, claim(**changes)) == expected


def test_a_near_miss_enum_member_gets_a_hint():
    assert one_problem(POLICY, item(kind="wellnes")) == (
        "items[0].kind", 'expected one of Kind (covered, wellness), got "wellnes" (did you mean "wellness"?)', "F302")
    assert one_problem(POLICY, item(kind="zzz")) == ("items[0].kind", 'expected one of Kind (covered, wellness), got "zzz"', "F302")
    assert one_problem(POLICY, item(kind=5)) == ("items[0].kind", "expected one of Kind (covered, wellness), got 5", "F302")


# ---- values: money -----------------------------------------------------------------------


@pytest.mark.parametrize("amount", [Decimal("0.001"), Decimal("0.0001"), Decimal("12.345"), 0.125])
def test_money_past_the_fen_is_refused(amount):
    assert one_problem(POLICY, item(amount=amount)) == ("items[0].amount", f"money has at most 2 decimals (fen), got {facts.show(amount)}", "F302")


@pytest.mark.parametrize("amount, value", [(Decimal("12.340"), Decimal("12.34")), (Decimal("5.000000"), Decimal(5)), (Decimal("1E+2"), Decimal(100))])
def test_money_with_trailing_zeros_past_the_fen_is_read(amount, value):
    assert read(POLICY, item(amount=amount))[7][0][1] == value


def test_money_over_its_limit_names_the_limit():
    assert one_problem(POLICY, item(amount="1000000.01")) == ("items[0].amount", 'must be at most 1000000.00, got "1000000.01"', "F302")


# ---- values: ratios ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "share, value",
    [("0%", Decimal("0.00")), ("80%", Decimal("0.80")), ("7.5%", Decimal("0.075")), (0, Decimal(0)), (Decimal("0.8"), Decimal("0.8")), (0.25, Decimal("0.25"))],
)
def test_a_ratio_is_read_exactly(share, value):
    read_value = read(POLICY, item(share=share))[7][0][2]
    assert read_value == value and str(read_value) == str(value)


def test_a_ratio_of_100_percent_is_read_where_no_limit_refuses_it():
    ratio = facts._SCALARS[policydsl.check.types.RATIO]
    assert ratio("100%") == Decimal(1) and ratio(1) == Decimal(1) and ratio(Decimal("1.0")) == Decimal(1)


def test_a_percentage_is_read_exactly_whatever_the_callers_context():
    ratio = facts._SCALARS[policydsl.check.types.RATIO]
    with decimal.localcontext() as context:
        context.prec = 3
        context.traps[decimal.Inexact] = True
        assert str(ratio("12.3456%")) == "0.123456"


@pytest.mark.parametrize(
    "share, message",
    [
        ("101%", 'a ratio must be between 0% and 100%, got "101%"'),
        ("100.01%", 'a ratio must be between 0% and 100%, got "100.01%"'),
        (Decimal("1.5"), "a ratio must be between 0% and 100%, got 1.5"),
        (1.01, "a ratio must be between 0% and 100%, got 1.01"),
        (2, "a ratio must be between 0% and 100%, got 2"),
        (Decimal("-0.1"), "a ratio must be between 0% and 100%, got -0.1"),
        (-1, "a ratio must be between 0% and 100%, got -1"),
        (Decimal("NaN"), "a ratio must be between 0% and 100%, got NaN"),
        ("75", 'expected ratio (0.75 or "75%"), got "75"'),
        ("-5%", 'expected ratio (0.75 or "75%"), got "-5%"'),
        (True, 'expected ratio (0.75 or "75%"), got true'),
        (None, 'expected ratio (0.75 or "75%"), got null'),
        (float("nan"), 'expected ratio (0.75 or "75%"), got nan'),
        (facts.OutOfRange("1E+99999999999"), "the number is out of range (too large or too precise to read), got 1E+99999999999"),
        ("0." + "1" * 41 + "%", f'a percentage may have at most 40 significant digits, got "0.{"1" * 41}%"'),
        (Decimal("0." + "1" * 41), f"a ratio may have at most 40 significant digits, got {('0.' + '1' * 41)[:37]}..."),
        (Decimal("1E-41"), "a ratio may have at most 40 digits after the decimal point, got 1E-41"),
        ("90%", 'must be at most 80%, got "90%"'),
    ],
)
def test_a_bad_ratio_is_refused_with_the_reason(share, message):
    assert one_problem(POLICY, item(share=share)) == ("items[0].share", message, "F302")


# ---- values: numbers, ints, months -------------------------------------------------------


@pytest.mark.parametrize(
    "factor, message",
    [
        (float("inf"), "expected number, got inf"),
        (Decimal("NaN"), "expected number, got NaN"),
        (Decimal("-Infinity"), "expected number, got -Infinity"),
        ("1.5", 'expected number, got "1.5"'),
        (None, "expected number, got null"),
        (True, "expected number, got true"),
        (facts.OutOfRange("1E+99999999999"), "the number is out of range (too large or too precise to read), got 1E+99999999999"),
        (10**30, "a number must be below 10^20, got 1000000000000000000000000000000"),
        (2**200, "a number must be below 10^20, got a very large number"),
        (Decimal("1E+20"), "a number must be below 10^20, got 1E+20"),
        (Decimal("1." + "1" * 40), f"a number may have at most 40 significant digits, got {('1.' + '1' * 40)[:37]}..."),
        (Decimal("1E-41"), "a number may have at most 40 digits after the decimal point, got 1E-41"),
    ],
)
def test_a_bad_number_is_refused_with_the_reason(factor, message):
    assert one_problem(POLICY, claim(factor=factor)) == ("factor", message, "F302")


@pytest.mark.parametrize("factor, value", [(0.1, "0.1"), (1e-5, "0.00001"), (-2.5, "-2.5"), (2**64, "18446744073709551616"), (Decimal("1E-40"), "1E-40")])
def test_a_number_is_read_exactly(factor, value):
    read_value = read(POLICY, claim(factor=factor))[5]
    assert read_value == Decimal(value)


@pytest.mark.parametrize(
    "factor, value",
    [
        (Decimal("1.0E-40"), Decimal("1E-40")),  # a trailing zero is not a digit after the point
        (Decimal("1.200E-39"), Decimal("1.2E-39")),
        (Decimal("1.0E+19"), Decimal(10) ** 19),  # nor a digit before it
        (Decimal("0E+30"), Decimal(0)),
    ],
)
def test_trailing_zeros_do_not_count_against_a_numbers_bounds(factor, value):
    assert read(POLICY, claim(factor=factor))[5] == value


@pytest.mark.parametrize(
    "factor, message",
    [
        (Decimal("1.0E-41"), "a number may have at most 40 digits after the decimal point, got 1.0E-41"),
        (Decimal("0E-41"), "a number may have at most 40 digits after the decimal point, got 0E-41"),
        (Decimal("10.0E+19"), "a number must be below 10^20, got 1.00E+20"),
    ],
)
def test_the_digits_a_number_writes_count_against_its_bounds(factor, message):
    assert one_problem(POLICY, claim(factor=factor)) == ("factor", message, "F302")


def test_a_bound_problem_names_a_number_unless_told_otherwise():
    assert numbers.problem(Decimal("1E+30")) == "a number must be below 10^20"
    assert numbers.problem(Decimal("1E+30"), "ratio") == "a ratio must be below 10^20"
    assert numbers.problem(Decimal("-99999999999999999999")) is None


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"waiting": 30}, ("person.waiting", "must be at most 24 months, got 30", "F302")),
        ({"age": 151}, ("person.age", "must be at least 0 and at most 150, got 151", "F302")),
        ({"age": 10**18}, ("person.age", "int is implausibly large, got 1000000000000000000", "F302")),
        ({"age": "40"}, ("person.age", 'expected int, got "40"', "F302")),
        ({"name": 5}, ("person.name", "expected text, got 5", "F302")),
    ],
)
def test_bad_person_values_name_their_field(changes, expected):
    assert one_problem(POLICY, person(**changes)) == expected


# ---- values: dates -----------------------------------------------------------------------


@pytest.mark.parametrize("day", ["20250301", "2025-03-01T00:00", "2025-3-1", 20250301, None])
def test_a_date_is_only_yyyy_mm_dd(day):
    assert one_problem(POLICY, claim(day=day)) == ("day", f"expected date (YYYY-MM-DD), got {facts.show(day)}", "F302")


def test_an_impossible_calendar_day_is_refused():
    assert one_problem(POLICY, claim(day="2025-02-29")) == ("day", '"2025-02-29" is not a calendar date', "F302")


def test_date_texts_are_remembered_so_each_day_is_read_once():
    facts._DAYS_READ.pop("2031-05-06", None)
    assert facts._read_day("2031-05-06") == datetime.date(2031, 5, 6)
    assert facts._DAYS_READ["2031-05-06"] == datetime.date(2031, 5, 6)
    assert facts._read_day(datetime.date(2031, 5, 7)) == datetime.date(2031, 5, 7)
    assert datetime.date(2031, 5, 7) not in facts._DAYS_READ


def test_the_remembered_days_stay_within_their_bound():
    start = datetime.date(1000, 1, 1)
    largest = 0
    for offset in range(facts._DAYS_KEPT + 10):
        facts._read_day((start + datetime.timedelta(days=offset)).isoformat())
        largest = max(largest, len(facts._DAYS_READ))
    assert largest == facts._DAYS_KEPT


def test_read_date_reads_what_the_facts_reader_reads():
    assert facts.read_date("2025-03-01") == datetime.date(2025, 3, 1)
    assert facts.read_date(datetime.date(2025, 3, 1)) == datetime.date(2025, 3, 1)
    assert facts.read_date("2025-02-30") is None and facts.read_date("20250301") is None and facts.read_date(None) is None


# ---- JSON text ---------------------------------------------------------------------------


def test_nan_in_json_text_is_reported_at_its_field():
    facts_ = facts.loads(json.dumps(claim(factor=1.5)).replace("1.5", "NaN"))
    assert one_problem(POLICY, facts_) == ("factor", "expected number, got NaN", "F302")
    assert repr(facts.loads("[-Infinity]")[0]) == "-Infinity"


def test_a_json_number_past_decimals_range_is_out_of_range_whatever_the_callers_context():
    text = "1E+1000000000000000000"
    with decimal.localcontext() as context:
        context.traps[decimal.InvalidOperation] = False  # Decimal(text) is NaN here, not an error
        value = facts.loads(f'{{"x": {text}}}')["x"]
    assert isinstance(value, facts.OutOfRange) and value.text == text
    assert isinstance(facts.loads(f"[{text}]")[0], facts.OutOfRange)


def test_a_long_out_of_range_number_is_shown_shortened():
    text = "1E+" + "9" * 60
    assert repr(facts.OutOfRange(text)) == text[:37] + "..."
    assert repr(facts.OutOfRange(text[:40])) == text[:40]
    assert repr(facts.OutOfRange(text[:41])) == text[:37] + "..."
    assert facts.show(facts.OutOfRange(text)) == text[:37] + "..."


def test_json_nested_too_deeply_says_how_deep_and_where():
    prefix = '{"s": "[{]]", "v": '
    text = prefix + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ValueError) as caught:
        facts.loads(text)
    assert isinstance(caught.value, json.JSONDecodeError)
    assert caught.value.msg == "nested too deeply (100,001 levels)"
    assert caught.value.pos == len(prefix) + 99  # the 101st bracket (the object's is the first)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", (0, 0)),
        ("[]", (1, 0)),
        ("[[]]", (2, 1)),
        ("[][[[]]]", (3, 4)),
        ("[[]][[]]", (2, 1)),
        ('{"a": "[[[", "b": [{}]}', (3, 19)),
        ('["\\"[["]', (1, 0)),
        ("[" * 150 + "]" * 150, (150, 100)),
        ("[]" * 200 + "[" * 120, (120, 500)),
    ],
)
def test_the_deepest_nesting_and_where_it_crosses_100_levels(text, expected):
    assert facts._deepest(text) == expected


# ---- claim ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [({"claim_id": "c-1"}, "c-1"), ({"claim_id": 7}, 7), ({"claim_id": True}, None), ({"claim_id": 1.5}, None),
     ({"claim_id": None}, None), ({}, None), (["claim_id"], None)],
)
def test_a_claim_id_is_text_or_a_whole_number(value, expected):
    assert facts.claim_id_of(value) == expected and type(facts.claim_id_of(value)) is type(expected)


def test_a_record_held_by_one_field_is_read_inline_and_one_held_by_two_by_one_function():
    """The fast reader writes a record's reading where its one field is; a record that several
    fields hold (here directly and as list elements) is read by one function of its own, so the
    source grows with the schema, not with the number of paths through it (2**n for n levels)."""
    text = ("record Leaf { x: money }\nrecord Once { y: money }\n"
            "input { once: Once  a: Leaf  b: list of Leaf  m: money }\nrule r: money = m\noutput r\n")
    policy = policydsl.loads(text)
    source, _ = facts.reader_source(policy.program.ir, policy.program.ir.defaults)
    functions = sorted(line for line in source.splitlines() if line.startswith("def f"))
    assert functions == ["def f0(v):", "def f1(v):"]  # the claim, and Leaf once for both its fields
    assert source.count("f1(") == 3  # its definition, and a call for `a` and for each element of `b`
    claim = {"once": {"y": "1"}, "a": {"x": "2"}, "b": [{"x": "3"}, {"x": "4"}], "m": "5"}
    slow = checking_reader(policy)
    assert fast_reader(policy, _no_fallback)(claim) == slow(claim)
    # one field each: every record inline, no function but the claim's
    single = policydsl.loads("record Leaf { x: money }\nrecord Once { y: money }\ninput { once: Once  a: Leaf  m: money }\nrule r: money = m\noutput r\n")
    source, _ = facts.reader_source(single.program.ir, single.program.ir.defaults)
    assert [line for line in source.splitlines() if line.startswith("def f")] == ["def f0(v):"]
