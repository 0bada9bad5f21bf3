"""Date functions: add_days, days_between, months_between, years_between, age, year_start —
by hand at the calendar's edges, in a policy, and alike in the columnar engine."""

from __future__ import annotations

import datetime
import random

import numpy as np
import pyarrow as pa
import pytest

import policydsl
from policydsl.backends.columnar import date_call
from policydsl.runtime import helpers
from policydsl.tools.batch.tables import decide_table

D = datetime.date.fromisoformat

POLICY = '''policy "dates"
input {
  birth: date
  day: date
}
rule newborn: bool = days_between(birth, day) <= 90
rule years: int = age(birth, day)
rule months: months = months_between(birth, day)
rule first: date = year_start(day)
rule later: date = add_days(day, 30)
output newborn, years, months, first, later
'''


@pytest.mark.parametrize(
    "start,end,months,years",
    [
        ("2000-02-29", "2025-02-28", 300, 25),  # a 29 February birthday comes on 28 February
        ("2000-02-29", "2025-02-27", 299, 24),
        ("2025-01-31", "2025-02-28", 1, 0),  # a month from 31 January is 28 February
        ("2025-01-31", "2025-02-27", 0, 0),
        ("2025-03-15", "2025-03-15", 0, 0),
        ("2025-03-15", "2026-03-14", 11, 0),
        ("2025-03-15", "2026-03-15", 12, 1),
        ("2026-03-15", "2025-03-16", -11, 0),  # earlier: negative
        ("2026-03-15", "2025-03-15", -12, -1),
    ],
)
def test_whole_months_and_years(start, end, months, years):
    assert helpers.months_between(D(start), D(end)) == months
    assert helpers.years_between(D(start), D(end)) == years
    got_months, _ = date_call("months_between", np.array([D(start).toordinal()]), np.array([D(end).toordinal()]))
    got_years, _ = date_call("years_between", np.array([D(start).toordinal()]), np.array([D(end).toordinal()]))
    assert (int(got_months[0]), int(got_years[0])) == (months, years)


def test_days_and_year_start_and_add_days():
    assert helpers.days_between(D("2025-01-01"), D("2025-03-31")) == 89
    assert helpers.year_start(D("2025-07-09")) == D("2025-01-01")
    assert helpers.add_days(D("2024-02-28"), 1) == D("2024-02-29")
    with pytest.raises(policydsl.EvaluationError) as raised:
        helpers.add_days(D("9999-12-31"), 1)
    assert raised.value.code == "R402"


def test_in_a_policy_and_by_columns_alike():
    policy = policydsl.loads(POLICY, name="dates.policy")
    outputs = policy.evaluate({"birth": "2025-01-01", "day": "2025-03-31"}).outputs
    assert outputs == {"newborn": True, "years": 0, "months": 2, "first": D("2025-01-01"), "later": D("2025-04-30")}
    chooser = random.Random(2)
    low, high = D("1990-01-01").toordinal(), D("2030-01-01").toordinal()
    rows = [{"birth": datetime.date.fromordinal(chooser.randrange(low, high)).isoformat(), "day": datetime.date.fromordinal(chooser.randrange(low, high)).isoformat()} for _ in range(2000)]
    rows += [{"birth": "2000-02-29", "day": "2025-02-28"}, {"birth": "9999-12-01", "day": "9999-12-15"}]
    table = pa.Table.from_pylist(rows)
    by_rows = decide_table(policy, table, engine="row").to_pylist()
    assert decide_table(policy, table, engine="columnar").to_pylist() == by_rows
    assert "outside the calendar" in by_rows[-1]["error"]


@pytest.mark.parametrize(
    "expr,message",
    [("days_between(birth)", "takes 2 values"), ("add_days(birth, 1 yuan)", "must be int"), ("age(birth, 3)", "must be date"), ("year_starts(birth)", "unknown function")],
)
def test_misuse_is_refused(expr, message):
    text = f'policy "x"\ninput {{\n  birth: date\n}}\nrule z: int = {expr}\noutput z\n'
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    assert any(message in d.message for d in raised.value.diagnostics), [d.message for d in raised.value.diagnostics]
