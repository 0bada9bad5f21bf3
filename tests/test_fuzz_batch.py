"""Fuzzing `policydsl batch`: N records in give N records out, in order, whatever the records.

Files are generated small (a few rows) but hostile: JSON lines with numbers past Decimal's
range and corrupted text, bytes that are not UTF-8; CSV whose cells hold quotes, commas,
line breaks and long text (records split otherwise than by lines), or a stray unclosed quote;
Parquet whose columns hold values at their type's limits (date32's extremes, huge
timestamps, int64's extremes, decimal128 at 38 digits). `eval` and `batch` must write the
same records for JSON lines (a differential oracle).

The generators and `check_*` functions are shared with `bench/fuzz.py batch`.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policydsl
from policydsl.cli.main import main

from .claim_strategies import RAW_NUMBERS, dumps, raw_json
from .conftest import budget, EXAMPLE_POLICY, example_claims

SIMPLE = """input {
  claim_id: text
  amount: money
  note: text = ""
  n: int = 0
}
rule paid: money = amount
rule count: int = n
output paid, count
"""
TYPED = """input {
  claim_id: text
  amount: money
  day: date
  n: int
}
rule paid: money = amount
rule later: date = day
rule count: int = n
output paid, later, count
"""
CLAIMS = example_claims()


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]  # not splitlines: U+2028 is in records


def _check_code(code: int, err: str, what: str) -> None:
    assert code in (0, 1), f"{what}: exit {code}: {err[-500:]}"
    assert "internal error" not in err, f"{what}: {err[-500:]}"


# ---- JSON lines ------------------------------------------------------------------------


@st.composite
def jsonl_lines(draw) -> list[bytes]:
    lines = []
    for index in range(draw(st.integers(1, 8))):
        claim = dict(draw(st.sampled_from(CLAIMS)), claim_id=f"c{index}")
        kind = draw(st.sampled_from(["good", "raw", "raw", "corrupt", "blank", "bytes", "unknown"]))
        if kind == "good":
            text = dumps(claim)
        elif kind == "raw":
            path = draw(st.sampled_from([("items",), ("ytd_basic_paid",), ("person",), ("claim_id",), ("hospital_level",)]))
            text = raw_json(claim, path, draw(st.sampled_from(RAW_NUMBERS)))
        elif kind == "unknown":
            text = raw_json({**claim, "x": 0}, ("x",), draw(st.sampled_from(RAW_NUMBERS)))
        elif kind == "corrupt":
            text = dumps(claim)
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=4)) + text[at + draw(st.integers(0, 4)) :]
        elif kind == "blank":
            text = draw(st.sampled_from(["", "   ", "\t", "\r"]))
        else:
            lines.append(dumps(claim).encode("utf-8")[:30] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + b'"}')
            continue
        lines.append(text.encode("utf-8"))
    return lines


def check_jsonl(lines: list[bytes], policy_path: str = str(EXAMPLE_POLICY)) -> int:
    """batch and eval of `lines`: one record per non-blank line, in order, the same records."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.jsonl"
        source.write_bytes(b"\n".join(lines) + b"\n")
        expected = [number for number, line in enumerate(lines, start=1) if line.strip()]
        out = Path(folder) / "out.jsonl"
        code, _, err = _run(["batch", policy_path, str(source), "-o", str(out), "--jobs", "1", "--chunk-size", "3"])
        _check_code(code, err, "batch")
        records = _records(out)
        assert len(records) == len(expected), f"batch: {len(lines)} lines, {len(expected)} records in, {len(records)} out"
        code, stdout, err = _run(["eval", policy_path, str(source)])
        _check_code(code, err, "eval")
        evaluated = [json.loads(line) for line in stdout.split("\n") if line]
        assert evaluated == records, "eval and batch wrote different records"
        for number, record in zip(expected, records):
            assert record.get("line") == number or "claim_id" in record, (number, record)
        return len(records)


@budget(15)
@given(jsonl_lines())
def test_jsonl_records_are_never_lost(lines):
    check_jsonl(lines)


def test_huge_exponent_line_is_one_error_record():
    """repro 01: one number past Decimal's range, even in an unknown field."""
    lines = [dumps(CLAIMS[0]).encode(), b'{"claim_id": "evil", "x": 1E+1000000000000000000}', dumps(CLAIMS[1]).encode()]
    assert check_jsonl(lines) == 3


# ---- CSV ---------------------------------------------------------------------------------

cell_text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    st.sampled_from(['"', '""', '","', "a\nb", "a\r\nb", "\r", "x,y", '"quoted"', "=1+1", "\ufeff", "\u2028", "", " "]),
    st.integers(1_000, 20_000).map(lambda size: "x" * size),
    st.integers(1, 300).map(lambda size: "line\n" * size),
)


@st.composite
def csv_files(draw) -> tuple[str, list[str], int | None]:
    """(CSV text, claim ids in order, index of the row with an unclosed quote or None)."""
    rows = []
    for index in range(draw(st.integers(1, 8))):
        amount = draw(st.sampled_from(["1.00", "0", "12.345", "-1", "", "1E+1000000000000000000", "99999999999999.99", "abc"]))
        n = draw(st.sampled_from(["0", "7", "", "999999999999999999999999", "-3", "1.5"]))
        rows.append([f"c{index}", amount, draw(cell_text), n])
    buffer = io.StringIO()
    # "\r\n" ends rows so that a cell holding a lone "\r" or "\n" is quoted (with "\n" a bare "\r" is left unquoted)
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    writer.writerow(["claim_id", "amount", "note", "n"])
    broken = draw(st.one_of(st.none(), st.integers(0, len(rows) - 1)))
    for index, row in enumerate(rows):
        if index == broken:
            buffer.write(f'{row[0]},{row[1]},"unclosed note\n')
        else:
            writer.writerow(row)
    return buffer.getvalue(), [row[0] for row in rows], broken


def check_csv(text: str, ids: list[str], broken: int | None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "simple.policy"
        policy.write_text(SIMPLE, encoding="utf-8")
        source = Path(folder) / "in.csv"
        source.write_text(text, encoding="utf-8", newline="")
        out = Path(folder) / "out.jsonl"
        code, _, err = _run(["batch", str(policy), str(source), "-o", str(out), "--jobs", "1", "--chunk-size", "2"])
        _check_code(code, err, "batch")
        records = _records(out)
        decided = [r.get("claim_id") for r in records if "error" not in r]
        assert set(decided) <= set(ids), f"decisions for claims that are not rows: {set(decided) - set(ids)}"
        if broken is None:
            assert len(records) == len(ids), f"{len(ids)} rows in, {len(records)} records out"
            for claim_id, record in zip(ids, records):
                assert record.get("claim_id", claim_id) == claim_id and ("claim_id" in record or "line" in record), (claim_id, record)
        else:
            # rows before the stray quote are read as written; the broken row is an error record;
            # what follows may be swallowed into its quoted field, but then the run says so
            before = ids[:broken]
            assert [r.get("claim_id") for r in records[:broken]] == before, records[: broken + 1]
            assert len(records) > broken and "error" in records[broken], f"no error record for the row with an unclosed quote: {records[broken:broken + 2]}"
            assert code == 1
        return len(records)


@budget(25)
@given(csv_files())
def test_csv_records_split_otherwise_than_by_lines(case):
    check_csv(*case)


def test_csv_unclosed_quote_does_not_swallow_silently():
    """repro 04: a stray opening quote in a text cell."""
    rows = ["claim_id,amount,note", "c1,1.00,ok", 'c2,2.00,"unclosed note'] + [f"c{i},{i}.00,fine" for i in range(3, 50)]
    check_csv("\n".join(rows) + "\n", [f"c{i}" for i in range(1, 50)], 1)


# ---- Parquet -------------------------------------------------------------------------------

DATE32 = [-(2**31), -719_163, -719_162, 0, 20_000, 2_932_896, 2_932_897, 2**31 - 1]  # 0001-01-01 is -719162, 9999-12-31 2932896
INT64 = [-(2**63), -(10**18), -1, 0, 7, 10**17, 10**18, 2**63 - 1]
DECIMALS = [Decimal("0.00"), Decimal("1.00"), Decimal("99999999999999.99"), Decimal("9" * 36 + ".99"), Decimal("-1.00")]
EXTRA = {
    # Parquet keeps timestamps in ms at the coarsest: seconds past int64's range in ms cannot be
    # written at all (pyarrow refuses), so the extremes are those of a timestamp[ms] in seconds.
    "ts_s": ("timestamp[s]", [0, 10**14, -(10**14), (2**63 - 1) // 1000, -((2**63 - 1) // 1000)]),
    "ts_ns": ("timestamp[ns]", [0, 2**63 - 1, -(2**63)]),
    "dur": ("duration[s]", [0, 2**63 - 1]),
    "d64": ("date64", [0, 2**62, -(2**62)]),
    "t32": ("time32[s]", [0, 86_399]),
    "dec": ("decimal128(38, 10)", [Decimal("0"), Decimal("9" * 28 + ".0000000001")]),
}


@st.composite
def parquet_tables(draw):
    rows = draw(st.integers(1, 6))
    table = {
        "claim_id": [f"c{i}" for i in range(rows)],
        "amount": draw(st.lists(st.sampled_from(DECIMALS), min_size=rows, max_size=rows)),
        "day": draw(st.lists(st.sampled_from(DATE32), min_size=rows, max_size=rows)),
        "n": draw(st.lists(st.sampled_from(INT64), min_size=rows, max_size=rows)),
    }
    extra = draw(st.one_of(st.none(), st.sampled_from(sorted(EXTRA))))
    if extra:
        table[extra] = draw(st.lists(st.sampled_from(EXTRA[extra][1]), min_size=rows, max_size=rows))
    return table, extra


def check_parquet(table: dict, extra: str | None) -> int:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    types = {"claim_id": pa.string(), "amount": pa.decimal128(38, 2), "day": pa.date32(), "n": pa.int64()}
    if extra:
        kind = EXTRA[extra][0]
        types[extra] = {
            "timestamp[s]": pa.timestamp("s"), "timestamp[ns]": pa.timestamp("ns"), "duration[s]": pa.duration("s"),
            "date64": pa.date64(), "time32[s]": pa.time32("s"), "decimal128(38, 10)": pa.decimal128(38, 10),
        }[kind]
    arrays = {}
    for name, values in table.items():
        if types[name] == pa.date64():
            arrays[name] = pa.array(values, type=pa.int64()).cast(pa.date64())
        elif types[name] in (pa.date32(),):
            arrays[name] = pa.array(values, type=pa.int32()).cast(pa.date32())
        else:
            arrays[name] = pa.array(values, type=types[name])
    rows = len(table["claim_id"])
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "typed.policy"
        policy.write_text(TYPED, encoding="utf-8")
        source = Path(folder) / "in.parquet"
        pq.write_table(pa.table(arrays), source)
        for output in ("out.jsonl", "out.parquet"):
            out = Path(folder) / output
            code, _, err = _run(["batch", str(policy), str(source), "-o", str(out), "--jobs", "1", "--chunk-size", "2"])
            _check_code(code, err, f"batch to {output}")
            if output.endswith(".jsonl"):
                records = _records(out)
                assert [r.get("claim_id") for r in records] == table["claim_id"], records
            else:
                written = pq.read_table(out).to_pylist()
                assert [r.get("claim_id") for r in written] == table["claim_id"], written
                records = written
            assert len(records) == rows, f"{rows} rows in, {len(records)} records out"
        return rows


@budget(10)
@given(parquet_tables())
def test_parquet_values_at_type_limits(case):
    check_parquet(*case)


def test_parquet_out_of_range_timestamp_and_date():
    """repro 06: out of range values, in a column the policy knows and in one it does not."""
    check_parquet({"claim_id": ["a", "b", "c"], "amount": [Decimal("1.00")] * 3, "day": [0, 2**31 - 1, 5], "n": [1, 2, 3]}, None)
    check_parquet({"claim_id": ["a", "b", "c"], "amount": [Decimal("1.00")] * 3, "day": [0, 1, 5], "n": [1, 2, 3], "ts_s": [0, 10**14, 5]}, "ts_s")


def test_policy_loads():
    assert policydsl.loads(SIMPLE).output_names == ["paid", "count"]
    assert policydsl.loads(TYPED).output_names == ["paid", "later", "count"]
