"""The columnar backend against the row engine: the same output records, row for row.

For every bundled policy, tables of generated claims (ordinary ones, values at the reader's
limits, and hostile ones: a field made negative, malformed, unknown, missing or too large)
are decided by both engines through `tables.decide_table`, and every column of every row
must be equal: a decision's values, an error record's message and line. The columnar
engine must also decide most ordinary claims itself (not leave them all to the row engine).

Bounded in CI (`budget`); for a longer local run: `HYPOTHESIS_PROFILE=long pytest tests/test_columnar.py`.
"""

from __future__ import annotations

import copy
import datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policydsl.backends import columnar
from policydsl.backends.columnar import NotColumnar, add_months, compile_columnar, round_to
from policydsl.runtime import helpers
from policydsl.tools.batch.tables import choose_engine, chunk_worker, decide_table

from . import claim_strategies as cs
from .conftest import budget
from .test_differential import BUNDLED, POLICIES, claim_facts, claims_for, is_frame

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import generate_claims  # noqa: E402

BUNDLED_NAMES = [path.relative_to(ROOT / "policies").with_suffix("").as_posix() for path in BUNDLED]
# the bundled policies and the test policies that compile to columns (every-construct
# uses ratio and number outputs, which the columnar engine leaves to the row engine)
COLUMNAR = [name for name in POLICIES if choose_engine(POLICIES[name])[0] == "columnar"]

_HOSTILE_TEXT = ["-0.01", "12.345", "1e3", " 12", "\uff11\uff12", "", "abc", "99999999999999.99", "2025-02-30", "2025-1-1", "0000-01-01", "unknown_member", "\ud800"]
_HOSTILE_INT = [-1, 10**6, 10**18, -(10**18), 2**62]


@st.composite
def hostile(draw, policy):
    """A valid claim with one field changed to a value of the same Arrow type that may be
    wrong for the policy (or removed, or an unknown field added)."""
    claim = copy.deepcopy(draw(claims_for(policy)))
    paths = _scalar_paths(claim)
    how = draw(st.sampled_from(["change", "change", "remove", "unknown"]))
    if how == "unknown" or not paths:
        claim["surprise_field"] = "x"
        return claim
    path = draw(st.sampled_from(paths))
    target = claim
    for key in path[:-1]:
        target = target[key]
    old = target[path[-1]]
    if how == "remove":
        del target[path[-1]]
    elif isinstance(old, bool):
        target[path[-1]] = not old
    elif isinstance(old, int):
        target[path[-1]] = draw(st.sampled_from(_HOSTILE_INT))
    else:
        target[path[-1]] = draw(st.sampled_from(_HOSTILE_TEXT))
    return claim


def _scalar_paths(value, path=()):
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _scalar_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _scalar_paths(item, (*path, index))]
    return [path]


def _table(claims):
    """The claims as an Arrow table; a field written as text in some claims and as a whole
    number in others (money "12.00" and 12) is made text throughout; None if still mixed."""
    for attempt in (claims, _as_text_where_mixed(claims)):
        try:
            return pa.Table.from_pylist(attempt)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeEncodeError):
            continue
    return None


def _as_text_where_mixed(claims):
    kinds: dict = {}

    def visit(value, path, change=None):
        if isinstance(value, dict):
            return {key: visit(item, (*path, key), change) for key, item in value.items()}
        if isinstance(value, list):
            return [visit(item, (*path, "[]"), change) for item in value]
        if change is None:
            kinds.setdefault(path, set()).add(type(value))
            return value
        return str(value) if type(value) is int and path in change else value

    for claim in claims:
        visit(claim, ())
    mixed = {path for path, types in kinds.items() if str in types and int in types}
    return [visit(claim, (), mixed) for claim in claims]


def _both(policy, table):
    worker = chunk_worker(policy, engine="columnar")
    by_columns = decide_table(policy, table, worker=worker)
    by_rows = decide_table(policy, table, engine="row")
    assert by_columns.schema == by_rows.schema
    return by_rows.to_pylist(), by_columns.to_pylist(), worker.columns


def _assert_same(expected, got):
    assert len(expected) == len(got)
    for line, (want, have) in enumerate(zip(expected, got), start=1):
        assert have == want, f"row {line}: " + ", ".join(f"{k}: {want[k]!r} != {have[k]!r}" for k in want if want[k] != have.get(k))


@pytest.mark.parametrize("name", BUNDLED_NAMES)
def test_every_bundled_policy_compiles_to_columns(name):
    assert choose_engine(POLICIES[name]) == ("columnar", "the policy compiles to columns")


@pytest.mark.parametrize("name", COLUMNAR)
@settings(budget(25), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(data=st.data())
def test_columns_and_rows_give_the_same_records(name, data):
    policy = POLICIES[name]
    claims = data.draw(st.lists(st.one_of(claims_for(policy), claims_for(policy), hostile(policy)), min_size=1, max_size=25))
    table = _table(claims)
    assume(table is not None)
    expected, got, _ = _both(policy, table)
    _assert_same(expected, got)


@pytest.mark.parametrize("name", COLUMNAR)
def test_ordinary_claims_are_decided_by_columns(name):
    """Generated valid claims (a fixed sample, no values at the reader's limits): identical records, and most of them decided
    by whole columns, not handed to the row engine."""
    policy = POLICIES[name]
    claims = _sample(policy, 60)
    table = _table(claims)
    assert table is not None
    expected, got, chunks = _both(policy, table)
    _assert_same(expected, got)
    decided = sum(1 for row in expected if row["error"] is None)
    if is_frame(policy):  # a frame decides no claim: each row is its R405 record, in both engines
        frame = [row for row in expected if row["error"] and "is required and this policy does not set it" in row["error"]]
        outside = [row for row in expected if row["error"] and row["error"].startswith("the policy is not in force on")]
        assert decided == 0 and len(frame) + len(outside) == len(expected) and len(frame) >= len(expected) // 2, expected[:2]
        return
    if policy.program.ir.unlimited:  # rows whose evaluation reaches `unlimited` are the row engine's (exact, slower)
        assert chunks.by_columns + chunks.by_rows == len(expected)
        return
    assert chunks.by_columns >= decided * 0.9, (chunks.by_columns, chunks.by_rows, decided)


def _sample(policy, count):
    found = []

    @settings(max_examples=count, database=None, derandomize=True, suppress_health_check=list(HealthCheck), deadline=None)
    @given(claim_facts(policy))
    def collect(claim):
        found.append(claim)

    collect()
    return found[:count]


def test_the_example_provinces_generated_claims_agree_and_are_all_columnar():
    policy = POLICIES["example/resident-2025"]
    table = pa.Table.from_pylist(list(generate_claims.generate(3000, seed=11)))
    expected, got, chunks = _both(policy, table)
    _assert_same(expected, got)
    assert chunks.by_rows == 0 and chunks.by_columns == 3000


def test_line_numbers_and_order_survive_the_row_engine():
    """Bad rows in the middle are decided by the row engine and put back where they were,
    with their own line numbers (a record without a claim id names its line)."""
    policy = POLICIES["example/resident-2025"]
    claims = list(generate_claims.generate(50, seed=5))
    claims[7]["items"][0]["amount"] = "-3.00"
    claims[30]["hospital_level"] = 9
    del claims[41]["service_date"]
    claims[41]["claim_id"] = None  # an error record without a claim id names its line
    table = pa.Table.from_pylist(claims)
    expected, got, chunks = _both(policy, table)
    _assert_same(expected, got)
    assert [index for index, row in enumerate(got) if row["error"]] == [7, 30, 41]
    assert got[41]["line"] == 42 and got[41]["claim_id"] is None
    assert "money may not be negative" in got[7]["error"]
    assert chunks.by_rows == 3


def test_rounding_modes_match_decimal():
    values = np.array([-25, -15, -5, 5, 15, 25, 14, 16, -14, -16, 0, 1234567], dtype=np.int64)  # at scale 3
    for mode, rounding in helpers.ROUNDING.items():
        expected = [int(Decimal(int(v)).scaleb(-3).quantize(Decimal("0.01"), rounding).scaleb(2)) for v in values]
        assert round_to(values, 3, 2, mode).tolist() == expected, mode


def test_months_added_as_the_row_engine_adds_them():
    days = [datetime.date(2025, 1, 31), datetime.date(2024, 2, 29), datetime.date(2025, 11, 30), datetime.date(1, 1, 1), datetime.date(9999, 12, 31)]
    shifts = [1, 12, 3, -1, 1]
    got, outside = add_months(np.array([d.toordinal() for d in days]), np.array(shifts))
    for day, shift, value, out in zip(days, shifts, got.tolist(), outside.tolist()):
        if out:
            with pytest.raises(Exception):
                helpers.add_months(day, shift)
        else:
            assert datetime.date.fromordinal(value) == helpers.add_months(day, shift)
    assert outside.tolist() == [False, False, False, True, True]


def test_a_policy_beyond_int64_is_refused_at_compile_time(tmp_path):
    text = (ROOT / "policies/example/resident-2025.policy").read_text(encoding="utf-8")
    import policydsl

    squared = text + "\nrule squared: money = round(eligible * 1000000.12345678, half_up)\n  because \"a test\"\n"
    path = tmp_path / "policies" / "example" / "squared.policy"
    path.parent.mkdir(parents=True)
    path.write_text(squared, encoding="utf-8")
    policy = policydsl.load(path)
    with pytest.raises(NotColumnar, match="range of int64"):
        compile_columnar(policy)
    assert choose_engine(policy)[0] == "row"


# ---- person-years: --carry by columns ----------------------------------------------------


def _carry_both(policy_path, claims, tmp_path, errors_apart=False):
    import pyarrow.parquet as pq

    from policydsl.tools.batch import BatchOptions, run_batch

    source = tmp_path / "claims.parquet"
    table = _table(claims)
    if table is None:
        return None
    pq.write_table(table, source)
    found = {}
    for engine in ("row", "columnar"):
        out = tmp_path / f"{engine}.parquet"
        errors = tmp_path / f"{engine}-errors.parquet" if errors_apart else None
        summary = run_batch(BatchOptions(str(policy_path), str(source), str(out), errors=str(errors) if errors else None, jobs=1, carry=True, engine=engine))
        assert summary.engine == engine
        found[engine] = (pq.read_table(out).to_pylist(), pq.read_table(errors).to_pylist() if errors else None, summary)
    (rows, row_errors, by_rows), (cols, col_errors, by_cols) = found["row"], found["columnar"]
    _assert_same(rows, cols)
    assert row_errors == col_errors
    assert (by_rows.claims, by_rows.errors, by_rows.money, by_rows.persons) == (by_cols.claims, by_cols.errors, by_cols.money, by_cols.persons)
    return rows


@st.composite
def _persons_claims(draw, policy):
    """Claims of a few persons in no order, some without their accumulators (carried or opened),
    some hostile, one person's claims spread over a year's end."""
    claims = draw(st.lists(st.one_of(claims_for(policy), claims_for(policy), hostile(policy)), min_size=1, max_size=30))
    field = policy.accumulators[0].per
    for claim in claims:
        if isinstance(claim.get(field), str) or field not in claim:
            claim[field] = draw(st.sampled_from(["a", "b", "c", "", "d"]))
        for accumulator in policy.accumulators:
            if draw(st.booleans()):
                claim.pop(accumulator.name, None)
    return claims


# Carried by one key field (the person); a policy carried by several (a shared account) is
# refused by the columnar carry (tests/test_family_account.py).
@pytest.mark.parametrize("name", [n for n in COLUMNAR if POLICIES[n].accumulators and n in BUNDLED_NAMES and len({a.per for a in POLICIES[n].accumulators}) == 1])
@settings(budget(10), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_carried_person_years_by_columns_are_the_row_engines(name, data, tmp_path_factory):
    policy = POLICIES[name]
    path = ROOT / "policies" / f"{name}.policy"
    claims = data.draw(_persons_claims(policy))
    assume(_table(claims) is not None)
    _carry_both(path, claims, tmp_path_factory.mktemp("carry"), errors_apart=data.draw(st.booleans()))


def test_the_example_person_year_carried_by_columns(tmp_path):
    """The README's person-year claims, and 2,000 generated claims of 60 persons, shuffled:
    the same records, caps crossed as the row engine crosses them."""
    import json
    import random

    path = ROOT / "policies" / "example" / "resident-2025.policy"
    person_year = [json.loads(line) for line in (ROOT / "policies/example/person-year.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    (tmp_path / "one").mkdir()
    rows = _carry_both(path, person_year, tmp_path / "one")
    carried = [row["accumulators.ytd_basic_paid.before"] for row in rows]
    assert carried[0] == Decimal("150000.00")  # p1-c comes after p1-a and p1-b, which reached the basic cap
    generated = list(generate_claims.generate(2000, seed=21))
    chooser = random.Random(3)
    for claim in generated:
        claim["person_id"] = f"p{chooser.randrange(60)}"
        if chooser.random() < 0.5:
            for accumulator in ("ytd_basic_paid", "ytd_major_paid", "ytd_major_base"):
                claim.pop(accumulator, None)
    chooser.shuffle(generated)
    (tmp_path / "two").mkdir()
    rows = _carry_both(path, generated, tmp_path / "two")
    assert sum(1 for row in rows if row["accumulators.ytd_basic_paid.before"] not in (None, Decimal("0.00"))) > 1000


def test_an_empty_claim_id_is_text_in_parquet_for_both_engines():
    """Parquet's "" is the empty string (a CSV cell's "" is an absent field): both engines
    decide a claim whose claim_id is "" as the JSON claim is decided."""
    policy = POLICIES["sichuan/resident-2025"]  # a region that extends the national frame (the frame decides no claim)
    claim = _sample(policy, 1)[0]
    claim["claim_id"] = ""
    table = _table([claim])
    expected, got, _ = _both(policy, table)
    _assert_same(expected, got)
    assert expected[0]["error"] is None or "claim_id" not in expected[0]["error"]
