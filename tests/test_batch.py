"""`policydsl batch`: every format in and out, bad records in place, order, totals, --jobs.

The reference is `policydsl eval` on the same claims: batch must write the same records,
one for each input record, in input order, and its summary totals must match.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl.cli.main import main

from .conftest import EXAMPLE_POLICY, ROOT

sys.path.insert(0, str(ROOT / "bench"))
import generate_claims  # noqa: E402

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

MONEY = ["eligible", "excluded", "basic", "major", "assistance", "patient_pays"]
GOOD = 240


def good_claims() -> list[dict]:
    return list(generate_claims.generate(GOOD, seed=5))


def bad_facts() -> list[dict]:
    """Claims that parse but cannot be decided, at the same positions in every format."""
    claims = list(generate_claims.generate(3, seed=9))
    claims[0]["claim_id"] = "bad-amount"
    claims[0]["items"][0]["amount"] = "12.345"
    claims[1]["claim_id"] = "bad-level"
    claims[1]["hospital_level"] = 9
    del claims[2]["claim_id"]  # no id: the error record carries the line instead
    claims[2]["items"][0]["category"] = "cosmetic"
    return claims


def interleave(good: list, bad: list, every: int = 50) -> list:
    out = list(good)
    for index, record in enumerate(bad):
        out.insert(7 + index * every, record)
    return out


def run_eval(capsys, path: Path) -> list[dict]:
    capsys.readouterr()
    main(["eval", str(EXAMPLE_POLICY), str(path)])
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def run_batch(capsys, source: Path, output: Path, *options: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["batch", str(EXAMPLE_POLICY), str(source), "-o", str(output), *options])
    return status, capsys.readouterr().err


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_jsonl(path: Path, claims: list, extra_lines: dict[int, str] | None = None) -> None:
    lines = [json.dumps(claim) for claim in claims]
    for position, text in sorted((extra_lines or {}).items()):
        lines.insert(position, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def flat(record: dict, prefix: str = "") -> dict:
    """A record with its nested keys as the dotted columns of CSV and Parquet: `policy.id`."""
    cells = {}
    for key, value in record.items():
        if isinstance(value, dict):
            cells.update(flat(value, f"{prefix}{key}."))
        else:
            cells[prefix + key] = value
    return cells


def cell(value) -> str:
    """A JSON record's value as a CSV cell holds it."""
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def summary_totals(stderr: str) -> dict[str, Decimal]:
    totals = {}
    for line in stderr.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in MONEY:
            totals[parts[0]] = Decimal(parts[1].replace(",", ""))
    return totals


def expected_totals(records: list[dict]) -> dict[str, Decimal]:
    decided = [r for r in records if "error" not in r]
    return {name: sum((Decimal(r[name]) for r in decided), Decimal(0)) for name in MONEY}


# ---- JSON lines ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jsonl_input(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "claims.jsonl"
    claims = interleave(good_claims(), bad_facts())
    # Malformed lines, a claim that is not an object, and a blank line (not a record).
    write_jsonl(path, claims, {3: "{not json", 120: "[1, 2]", 200: "", 201: '{"claim_id": "only-an-id"}'})
    return path


@pytest.mark.parametrize("options", [["--jobs", "1"], ["--jobs", "2", "--chunk-size", "37"]])
def test_jsonl_batch_writes_what_eval_writes(jsonl_input, tmp_path, capsys, options):
    expected = run_eval(capsys, jsonl_input)
    status, stderr = run_batch(capsys, jsonl_input, tmp_path / "out.jsonl", *options)
    records = read_jsonl(tmp_path / "out.jsonl")
    assert status == 1  # some claims could not be decided
    assert records == expected  # same records, same order, one per input record
    assert len(records) == GOOD + 3 + 3  # good, bad facts, and 3 malformed lines (the blank one is no record)
    errors = [r for r in records if "error" in r]
    assert len(errors) == 6
    assert f"{len(records):,} claims" in stderr and "6 could not be decided" in stderr
    assert summary_totals(stderr) == expected_totals(expected)


def test_errors_go_to_their_own_file(jsonl_input, tmp_path, capsys):
    expected = run_eval(capsys, jsonl_input)
    status, _ = run_batch(capsys, jsonl_input, tmp_path / "out.jsonl", "--errors", str(tmp_path / "errors.jsonl"), "--chunk-size", "50")
    assert status == 1
    assert read_jsonl(tmp_path / "out.jsonl") == [r for r in expected if "error" not in r]
    errors = read_jsonl(tmp_path / "errors.jsonl")
    assert errors == [r for r in expected if "error" in r]
    assert [e.get("claim_id") or e.get("line") for e in errors] == [4, "bad-amount", "bad-level", 109, 121, "only-an-id"]


def test_clean_input_exits_0_and_errors_file_is_empty(tmp_path, capsys):
    source = tmp_path / "good.jsonl"
    write_jsonl(source, good_claims()[:30])
    status, stderr = run_batch(capsys, source, tmp_path / "out.csv", "--errors", str(tmp_path / "errors.csv"), "--as-of", "2025-06-01")
    assert status == 0 and "30 decided, 0 could not be decided" in stderr
    assert (tmp_path / "errors.csv").read_text(encoding="utf-8") == "claim_id,line,error,details\n"


# ---- CSV ----------------------------------------------------------------------------------


def test_csv_in_and_out(tmp_path, capsys):
    good, bad = good_claims(), bad_facts()
    claims = interleave(good, bad)
    rows = [generate_claims.flatten(claim) for claim in claims]
    header = list(generate_claims.flatten(good[0]))
    source = tmp_path / "claims.csv"
    with source.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(name, "") for name in header])
    text = source.read_text(encoding="utf-8").splitlines()
    # Bad rows that only CSV can have: a cell that is not an int, broken JSON in `items`,
    # and a row with more cells than the header.
    not_int = text[10].replace(",0,0,", ",x,0,", 1)
    assert not_int != text[10]
    broken_json = text[20].replace('"[{', '"[{{', 1)
    too_long = text[30] + ",extra"
    text[10], text[20], text[30] = not_int, broken_json, too_long
    source.write_text("\n".join(text) + "\n", encoding="utf-8")

    reference = tmp_path / "reference.jsonl"
    write_jsonl(reference, claims)
    expected = run_eval(capsys, reference)

    status, stderr = run_batch(capsys, source, tmp_path / "out.csv", "--jobs", "2", "--chunk-size", "64")
    assert status == 1
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        out = list(csv.DictReader(handle))
    assert len(out) == len(claims)  # one record per row, in order
    accumulators = [f"accumulators.{name}.{part}" for name in policydsl.load(EXAMPLE_POLICY).accumulator_names for part in ("before", "after", "period")]
    assert list(out[0]) == [
        "claim_id", "eligible", "excluded", "in_waiting", "benefit_start", "basic", "major", "assistance", "patient_pays",
        *accumulators,
        "policy.id", "policy.version", "policy.effective.from", "policy.effective.until", "policy.digest",
        "error", "line",
    ]
    changed = {9, 19, 29}  # rows 10, 20, 30 of the file (after the header)
    for index, (row, record) in enumerate(zip(out, expected)):
        if index in changed:
            assert row["error"], row
            continue
        if "error" in record:
            assert row["error"] == record["error"] and row["claim_id"] == record.get("claim_id", "")
            continue
        assert row["error"] == "" and row["claim_id"] == record["claim_id"]
        cells = flat(record)
        assert {name: row[name] for name in cells} == {name: cell(value) for name, value in cells.items()}
        assert set(row) - set(cells) == {"error", "line"}
    assert 'person.gap_years: expected int, got "x"' in out[9]["error"]
    assert "items: expected JSON (a list)" in out[19]["error"]
    assert out[29]["line"] == "31" and "cells but the header names" in out[29]["error"]
    decided = [record for index, record in enumerate(expected) if index not in changed]
    assert summary_totals(stderr) == expected_totals(decided)


# ---- Parquet ------------------------------------------------------------------------------


def test_parquet_in_and_out(tmp_path, capsys):
    claims = interleave(good_claims(), bad_facts()[:2])
    claims[100]["person"]["category"] = None  # a null is an absent field
    source = tmp_path / "claims.parquet"
    pq.write_table(pa.Table.from_pylist(claims), source, row_group_size=70)

    reference_claims = json.loads(json.dumps(claims))
    del reference_claims[100]["person"]["category"]
    reference = tmp_path / "reference.jsonl"
    write_jsonl(reference, reference_claims)
    expected = run_eval(capsys, reference)

    status, stderr = run_batch(capsys, source, tmp_path / "out.parquet", "--jobs", "2", "--chunk-size", "50")
    assert status == 1
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == len(claims)
    assert str(table.schema.field("basic").type) == "decimal128(38, 2)"
    assert str(table.schema.field("policy.digest").type) == "string"
    for name in policydsl.load(EXAMPLE_POLICY).accumulator_names:  # the example's are money
        assert [str(table.schema.field(f"accumulators.{name}.{part}").type) for part in ("before", "after", "period")] == ["decimal128(38, 2)", "decimal128(38, 2)", "string"]
    rows = table.to_pylist()
    for row, record in zip(rows, expected):
        assert row["claim_id"] == record.get("claim_id")
        if "error" in record:
            assert row["error"] == record["error"] and row["basic"] is None and row["policy.id"] is None
        else:
            assert row["error"] is None
            assert {name: str(row[name]) for name in MONEY} == {name: record[name] for name in MONEY}
            assert row["benefit_start"].isoformat() == record["benefit_start"]
            cells = flat(record)
            assert {name: row[name] for name in cells if name.startswith("policy.")} == {name: v for name, v in cells.items() if name.startswith("policy.")}
            carried = {name: str(row[name]) for name in cells if name.startswith("accumulators.")}
            assert carried == {name: str(v) for name, v in cells.items() if name.startswith("accumulators.")}
    assert "person.category: missing (required field)" in rows[100]["error"]
    assert summary_totals(stderr) == expected_totals(expected)

    # And Parquet out of a Parquet run equals JSON lines out of the same input.
    status, _ = run_batch(capsys, source, tmp_path / "out.jsonl")
    assert read_jsonl(tmp_path / "out.jsonl") == expected


# ---- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,message",
    [
        (["claims.txt", "-o", "out.jsonl"], "cannot tell the input format"),
        (["missing.jsonl", "-o", "out.jsonl"], "no such claims file"),
        (["{input}", "-o", "out.xlsx"], "cannot tell the output format"),
        (["{input}", "-o", "{input}"], "would overwrite"),
        (["{input}", "-o", "out.jsonl", "--jobs", "0"], "--jobs must be at least 1"),
        (["{input}", "-o", "no/such/dir/out.jsonl"], "cannot write"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "in.jsonl", good_claims()[:2])
    status = main(["batch", str(EXAMPLE_POLICY), *[a.format(input="in.jsonl") for a in args]])
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err


def test_a_broken_policy_exits_1(tmp_path, capsys):
    policy = tmp_path / "broken.policy"
    policy.write_text("rule x = undefined_thing\n", encoding="utf-8")
    write_jsonl(tmp_path / "in.jsonl", good_claims()[:2])
    assert main(["batch", str(policy), str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl")]) == 1
    assert "undefined_thing" in capsys.readouterr().err


def test_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    source = tmp_path / "in.jsonl"
    write_jsonl(source, good_claims()[:50])

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["batch", str(EXAMPLE_POLICY), str(source), "-o", str(tmp_path / "out.jsonl"), "--chunk-size", "10"]) == 0
    assert "claims/s" in terminal.getvalue() and "policydsl batch: 50 claims" in terminal.getvalue()
    monkeypatch.undo()
    _, stderr = run_batch(capsys, source, tmp_path / "out2.jsonl")
    assert "\r" not in stderr and stderr.startswith("policydsl batch: 50 claims")
