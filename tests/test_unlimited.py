"""`unlimited`: money with no limit, for a cap that a group or a region does not have.

min(x, unlimited) is x; unlimited minus a payment is still unlimited; a decision writes it
"unlimited" in JSON and CSV, null in Parquet's decimal columns, and explanations say
"unlimited (no cap)". An operation without an answer (unlimited - unlimited) fails the
claim with R408, never a number.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

import policydsl
from policydsl.backends.columnar import compile_columnar
from policydsl.runtime import numbers
from policydsl.tools.batch import BatchOptions, run_batch

POLICY = '''policy "caps by group"
input {
  claim_id: text
  cost: money
  poor: bool
}
param cap: money = 1000 yuan
param poor_cap: money = unlimited
  because "the poor have no cap"
rule cap_here: money =
  when poor then poor_cap
  otherwise cap
rule paid: money = min(cost, cap_here)
rule room: money = cap_here - paid
output paid, cap_here, room
'''


@pytest.fixture(scope="module")
def policy():
    return policydsl.loads(POLICY, name="caps.policy")


def test_min_with_unlimited_is_the_other_operand(policy):
    poor = policy.evaluate({"claim_id": "a", "cost": "5000", "poor": True})
    assert poor.outputs["paid"] == Decimal("5000.00")
    assert poor.outputs["cap_here"] == numbers.UNLIMITED and poor.outputs["room"] == numbers.UNLIMITED
    ordinary = policy.evaluate({"claim_id": "b", "cost": "5000", "poor": False})
    assert ordinary.outputs == {"paid": Decimal("1000.00"), "cap_here": Decimal("1000.00"), "room": Decimal("0.00")}


def test_a_decision_writes_unlimited_and_explains_no_cap(policy):
    decision = policy.evaluate({"claim_id": "a", "cost": "5000", "poor": True})
    record = decision.to_json()
    assert (record["paid"], record["cap_here"], record["room"]) == ("5000.00", "unlimited", "unlimited")
    from policydsl.explain.render import render_text

    text = render_text(decision.explanation())
    assert "cap_here = unlimited (no cap)  [output]" in text
    assert "using cost = 5000.00, cap_here = unlimited (no cap)" in text


def test_unlimited_minus_unlimited_is_an_error_not_a_number():
    text = POLICY.replace("output paid, cap_here, room", "rule twice: money = cap_here - cap_here\noutput paid, cap_here, room, twice")
    policy = policydsl.loads(text, name="caps.policy")
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"claim_id": "a", "cost": "5000", "poor": True})
    assert raised.value.code == "R408"
    assert "`unlimited` minus `unlimited`" in str(raised.value) and "rule `twice`" in str(raised.value)
    assert policy.evaluate({"claim_id": "b", "cost": "5000", "poor": False}).outputs["twice"] == Decimal("0.00")


def test_the_formatter_prints_it_back():
    from policydsl.tools.formatter import format_text

    formatted = format_text(POLICY)
    assert "param poor_cap: money = unlimited" in formatted
    assert format_text(formatted) == formatted


def test_parquet_writes_null_and_jsonl_writes_unlimited(tmp_path):
    (tmp_path / "caps.policy").write_text(POLICY, encoding="utf-8")
    claims = tmp_path / "claims.jsonl"
    claims.write_text(
        json.dumps({"claim_id": "a", "cost": "5000", "poor": True}) + "\n" + json.dumps({"claim_id": "b", "cost": "5000", "poor": False}) + "\n",
        encoding="utf-8",
    )
    run_batch(BatchOptions(str(tmp_path / "caps.policy"), str(claims), str(tmp_path / "out.jsonl"), jobs=1))
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["cap_here"] for line in lines] == ["unlimited", "1000.00"]
    run_batch(BatchOptions(str(tmp_path / "caps.policy"), str(claims), str(tmp_path / "out.parquet"), jobs=1))
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [row["cap_here"] for row in rows] == [None, Decimal("1000.00")]
    assert [row["error"] for row in rows] == [None, None]


def test_the_columnar_engine_leaves_rows_that_meet_unlimited_to_the_row_engine(policy):
    """The policy compiles to columns; the rows whose evaluation reaches `unlimited` (the
    poor, here) are decided by the row engine, and every record is the row engine's."""
    import pyarrow as pa

    from policydsl.tools.batch.tables import chunk_worker, decide_table

    compile_columnar(policy)
    rows = [{"claim_id": f"c{i}", "cost": f"{i * 137}.00", "poor": i % 3 == 0} for i in range(60)]
    table = pa.Table.from_pylist(rows)
    worker = chunk_worker(policy, engine="columnar")
    by_columns = decide_table(policy, table, worker=worker).to_pylist()
    assert by_columns == decide_table(policy, table, engine="row").to_pylist()
    assert (worker.columns.by_rows, worker.columns.by_columns) == (20, 40)
    assert by_columns[0]["cap_here"] is None and by_columns[1]["cap_here"] == Decimal("1000.00")


def test_rounding_unlimited_is_unlimited():
    text = POLICY.replace("rule room: money = cap_here - paid", "rule room: money = round(cap_here - paid, half_up)")
    policy = policydsl.loads(text, name="caps.policy")
    assert policy.evaluate({"claim_id": "a", "cost": "5000", "poor": True}).outputs["room"] == numbers.UNLIMITED
    assert policy.evaluate({"claim_id": "b", "cost": "500", "poor": False}).outputs["room"] == Decimal("500.00")
