"""Input limits: `age: int in 0..150`, `admission_number: int >= 1`, checked when facts are read.

A value outside a field's limits is a facts error (F302) at the field's path, from the
checking reader, the fast generated reader and the columnar reader alike; the checker
refuses limits that are not literals of the field's type, that admit no value, or that
leave the default outside (C267); the formatter prints them back.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pyarrow as pa
import pytest

import policydsl
from policydsl.tools.batch.tables import decide_table
from policydsl.tools.formatter import format_text

POLICY = '''policy "limits"
input {
  claim_id: text
  age: int in 0..150
  admissions: int >= 1 = 1
  day: date >= 2020-01-01
  items: list of Item
}
record Item {
  amount: money <= 1_000_000 yuan
  share: ratio ≤ 100%
}
rule paid: money = sum(i.amount for i in items)
rule older: bool = age >= 70
output paid, older
'''

COLUMNAR_POLICY = POLICY.replace("  share: ratio ≤ 100%\n", "")


def claim(**changes):
    facts = {"claim_id": "c", "age": 40, "day": "2025-03-01", "items": [{"amount": "10.00", "share": "50%"}]}
    facts.update(changes)
    return facts


@pytest.fixture(scope="module")
def policy():
    return policydsl.loads(POLICY, name="limits.policy")


def test_values_inside_the_limits_are_read(policy):
    assert policy.evaluate(claim(age=0, admissions=1)).outputs == {"paid": Decimal("10.00"), "older": False}
    assert policy.evaluate(claim(age=150, day="2020-01-01")).outputs["older"] is True


@pytest.mark.parametrize(
    "changes,path,message",
    [
        ({"age": 200}, "age", "must be at least 0 and at most 150, got 200"),
        ({"age": -1}, "age", "must be at least 0 and at most 150, got -1"),
        ({"admissions": 0}, "admissions", "must be at least 1, got 0"),
        ({"day": "2019-12-31"}, "day", 'must be at least 2020-01-01, got "2019-12-31"'),
        ({"items": [{"amount": "10.00", "share": "50%"}, {"amount": "1000000.01", "share": "50%"}]}, "items[1].amount", 'must be at most 1000000.00, got "1000000.01"'),
        ({"items": [{"amount": "1.00", "share": 1.5}]}, "items[0].share", None),
    ],
)
def test_a_value_outside_its_limits_is_a_facts_error_at_its_path(policy, changes, path, message):
    with pytest.raises(policydsl.FactsError) as raised:
        policy.evaluate(claim(**changes))
    errors = {(e.path, e.code): e.message for e in raised.value.errors}
    assert (path, "F302") in errors
    if message is not None:
        assert errors[(path, "F302")] == message


def test_the_fast_and_the_checking_reader_agree(policy):
    """The generated reader hands a claim outside the limits to the checking reader, which
    reports it; inside them, both read the same values."""
    fast = policy._read
    assert fast(claim(age=150)) == policy.read_facts(claim(age=150))
    with pytest.raises(Exception):
        policy.read_facts(claim(age=151))


@pytest.mark.parametrize(
    "field,code_message",
    [
        ("age: int in 150..0", "admit no value"),
        ("age: int >= 1 yuan", "must be written out as int"),
        ("age: text >= 1", "has no order to limit"),
        ("age: int >= 1 = 0", "the default of `age` is outside its limits"),
        ("age: int >= 1%", "must be written out as int"),
    ],
)
def test_the_checker_refuses_bad_limits(field, code_message):
    text = f'policy "x"\ninput {{\n  {field}\n}}\nparam cap = 1\nrule r: int = 1\noutput r\n'
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    found = [(d.code, d.message) for d in raised.value.diagnostics]
    assert any(code == "C267" and code_message in message for code, message in found), found


def test_the_formatter_prints_limits_back():
    formatted = format_text(POLICY)
    assert "age: int in 0..150" in formatted and "admissions: int >= 1 = 1" in formatted
    assert "amount: money <= 1_000_000 yuan" in formatted and "share: ratio <= 100%" in formatted
    assert format_text(formatted) == formatted


def test_the_columnar_reader_leaves_rows_outside_the_limits_to_the_row_engine():
    policy = policydsl.loads(COLUMNAR_POLICY, name="limits.policy")
    rows = [
        {"claim_id": "ok", "age": 40, "day": datetime.date(2025, 3, 1), "items": [{"amount": "10.00"}]},
        {"claim_id": "old", "age": 151, "day": datetime.date(2025, 3, 1), "items": [{"amount": "10.00"}]},
        {"claim_id": "early", "age": 40, "day": datetime.date(2019, 1, 1), "items": [{"amount": "10.00"}]},
        {"claim_id": "dear", "age": 40, "day": datetime.date(2025, 3, 1), "items": [{"amount": "1000000.01"}]},
    ]
    table = pa.Table.from_pylist(rows)
    by_columns = decide_table(policy, table, engine="columnar").to_pylist()
    assert by_columns == decide_table(policy, table, engine="row").to_pylist()
    assert [row["error"] is None for row in by_columns] == [True, False, False, False]
    assert "age: must be at least 0 and at most 150, got 151" in by_columns[1]["error"]


def test_a_limit_that_is_not_a_number_written_out_is_a_syntax_error():
    text = 'policy "x"\ninput {\n  age: int >= cap\n}\nparam cap = 1\nrule r: int = 1\noutput r\n'
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    assert [d.code for d in raised.value.diagnostics][0].startswith("P")
    assert raised.value.diagnostics[0].span.line == 3
