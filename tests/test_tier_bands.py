"""Named bands of a tier schedule: `band second: from A to B: 65%`, and
`schedule(from a to b, band second)` for the amount paid in that band alone, as published
cases give it (issue 14, item 5)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

import policydsl
from policydsl.explain.render import render_text
from policydsl.tools.batch.tables import decide_table
from policydsl.tools.formatter import format_text

POLICY = '''policy "bands"
input {
  spent: money
}
tiers major {
  band first: from 0 yuan to 30_000 yuan: 60%
    because "first band"
  band second: from 30_000 yuan to 80_000 yuan: 65%
  band top: above 80_000 yuan: 75%
}
rule total: money = major(from 0 yuan to spent)
rule in_first: money = major(from 0 yuan to spent, band first)
rule in_second: money = major(from 0 yuan to spent, band second)
rule in_top: money = major(from 0 yuan to spent, band top)
invariant bands_add_up: in_first + in_second + in_top = total
output total, in_first, in_second, in_top
'''


@pytest.fixture(scope="module")
def policy():
    return policydsl.loads(POLICY, name="bands.policy")


@pytest.mark.parametrize(
    "spent,first,second,top",
    [("100000", "18000.00", "32500.00", "15000.00"), ("30000", "18000.00", "0.00", "0.00"), ("30000.01", "18000.00", "0.0065", "0.00"), ("0", "0.00", "0.00", "0.00")],
)
def test_each_band_alone_and_together(policy, spent, first, second, top):
    if spent == "30000.01":  # 0.01 x 65%: fractions of a fen in an unrounded output
        with pytest.raises(policydsl.EvaluationError):
            policy.evaluate({"spent": spent})
        return
    outputs = policy.evaluate({"spent": spent}).outputs
    assert [str(outputs[k]) for k in ("in_first", "in_second", "in_top")] == [first, second, top]
    assert outputs["total"] == sum((outputs[k] for k in ("in_first", "in_second", "in_top")), Decimal(0))


def test_the_explanation_names_the_band(policy):
    text = render_text(policy.evaluate({"spent": "100000"}).explanation())
    assert "major (band second) over 0.00 to 100000.00" in text
    assert "- 30000.00 to 80000.00: 50000.00 x 65% = 32500.00" in text


def test_columns_and_rows_agree(policy):
    table = pa.Table.from_pylist([{"spent": f"{amount}.00"} for amount in range(0, 200_000, 1_000)])
    assert decide_table(policy, table, engine="columnar").to_pylist() == decide_table(policy, table, engine="row").to_pylist()


def test_an_unknown_band_is_refused_with_the_bands_it_has():
    text = POLICY.replace("band second)", "band secnd)")
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="bands.policy")
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.code == "C200" and "no band `secnd`" in diagnostic.message and "second" in (diagnostic.hint or "")


def test_the_formatter_prints_bands_back():
    formatted = format_text(POLICY)
    assert "band second: from 30_000 yuan to 80_000 yuan: 65%" in formatted
    assert "major(from 0 yuan to spent, band second)" in formatted
    assert format_text(formatted) == formatted
