"""`policydsl batch` (and `eval`) when things go wrong around them (issue 9).

A lost worker process, an output that is the input by another name, malformed CSV,
Parquet values Python cannot hold, closed or broken stdout/stderr, a full disk. Every
input record still gives one output record, in order, or the run stops with a clear
message and an exit code that says so. The processes are real (killed with SIGKILL,
writing to /dev/full, under RLIMIT_FSIZE); every wait is bounded by a timeout.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from policydsl.cli.main import main

from .conftest import EXAMPLE_POLICY, ROOT
from .processes import HAS_PROC, children, run_killing_workers

sys.path.insert(0, str(ROOT / "bench"))
import generate_claims  # noqa: E402

SIMPLE = """input {
  claim_id: text
  amount: money
  note: text = ""
}
rule paid: money = amount
rule back: money = amount - 100 yuan
output paid
output back
"""
TIMEOUT = 60  # no test here waits longer for anything


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "policydsl", *args]


def run(*args: str, **options) -> subprocess.CompletedProcess:
    if "stdout" not in options and "stderr" not in options:
        options["capture_output"] = True
    return subprocess.run(command(*args), timeout=TIMEOUT, **options)


@pytest.fixture
def simple(tmp_path) -> Path:
    path = tmp_path / "simple.policy"
    path.write_text(SIMPLE, encoding="utf-8")
    return path


def generated(path: Path, count: int, seed: int = 1) -> list[str]:
    claims = list(generate_claims.generate(count, seed=seed))
    path.write_text("".join(json.dumps(claim) + "\n" for claim in claims), encoding="utf-8")
    return [claim["claim_id"] for claim in claims]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---- a lost worker process ------------------------------------------------------------------


pytestmark_proc = pytest.mark.skipif(not HAS_PROC, reason="needs /proc to find worker processes")


@pytestmark_proc
def test_a_killed_worker_is_noticed_and_its_chunk_is_run_again(tmp_path):
    ids = generated(tmp_path / "in.jsonl", 6000)
    out = tmp_path / "out.jsonl"
    batch = subprocess.Popen(
        command("batch", str(EXAMPLE_POLICY), str(tmp_path / "in.jsonl"), "-o", str(out), "-j", "2", "--chunk-size", "100"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        killed = None
        while killed is None and time.monotonic() < deadline and batch.poll() is None:
            workers = children(batch.pid)
            if workers and out.exists() and out.stat().st_size > 0:  # the run is under way
                killed = workers[0]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.005)
        _, err = batch.communicate(timeout=TIMEOUT)
    finally:
        batch.kill()
    err = err.decode("utf-8")
    assert killed is not None, "the run ended before a worker could be killed"
    records = read_jsonl(out)
    assert [r["claim_id"] for r in records] == ids  # one record per claim, in input order
    assert not [r for r in records if "error" in r]  # its chunks were run again, in a new worker
    assert batch.returncode == 1, err  # but the run says a worker was lost
    assert "1 worker process was lost (killed by signal SIGKILL)" in err and "Traceback" not in err


@pytestmark_proc
def test_a_batch_whose_workers_keep_dying_still_ends_with_a_record_per_claim(tmp_path):
    ids = generated(tmp_path / "in.jsonl", 600)
    out = tmp_path / "out.jsonl"
    batch, err, kills = run_killing_workers(
        command("batch", str(EXAMPLE_POLICY), str(tmp_path / "in.jsonl"), "-o", str(out), "-j", "2", "--chunk-size", "50"), 30, TIMEOUT
    )
    records = read_jsonl(out)
    assert kills > 0
    assert [r["claim_id"] for r in records] == ids, err
    lost = [r for r in records if "error" in r]
    assert lost and all(r["error"].startswith("not evaluated: the worker process evaluating it was lost 2 times") for r in lost)
    assert batch.returncode == 1 and "Traceback" not in err


# ---- an output that is the input ------------------------------------------------------------


@pytest.mark.parametrize("how", ["hard link", "symlink", "errors hard link", "stdout appends to the input"])
def test_an_output_that_is_the_input_by_another_name_is_refused(tmp_path, how):
    source = tmp_path / "in.jsonl"
    generated(source, 50)
    before = source.read_bytes()
    target = tmp_path / "out.jsonl"
    if how == "symlink":
        target.symlink_to(source)
    elif how != "stdout appends to the input":
        os.link(source, target)
    if how == "stdout appends to the input":
        with open(source, "ab") as stdout:
            done = run("batch", str(EXAMPLE_POLICY), str(source), "-o", "-", stdout=stdout, stderr=subprocess.PIPE)
    elif how == "errors hard link":
        done = run("batch", str(EXAMPLE_POLICY), str(source), "-o", str(tmp_path / "decided.jsonl"), "--errors", str(target))
    else:
        done = run("batch", str(EXAMPLE_POLICY), str(source), "-o", str(target))
    assert done.returncode == 2, done.stderr
    assert b"would overwrite" in done.stderr and b"Traceback" not in done.stderr
    assert source.read_bytes() == before


def test_eval_refuses_to_append_its_output_to_the_claims_it_reads(tmp_path):
    source = tmp_path / "in.jsonl"
    generated(source, 5)
    before = source.read_bytes()
    with open(source, "ab") as stdout:
        done = run("eval", str(EXAMPLE_POLICY), str(source), stdout=stdout, stderr=subprocess.PIPE)
    assert done.returncode == 2 and b"would overwrite the claims" in done.stderr
    assert source.read_bytes() == before


# ---- malformed CSV: never more or fewer records than rows --------------------------------------


def csv_batch(policy: Path, text: str | bytes, tmp_path: Path, *options: str) -> tuple[int, list[dict], str]:
    source = tmp_path / "in.csv"
    source.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    out = tmp_path / "out.jsonl"
    done = run("batch", str(policy), str(source), "-o", str(out), *options)
    return done.returncode, read_jsonl(out) if out.exists() else [], done.stderr.decode("utf-8")


def test_a_stray_quote_is_one_error_record_and_the_rows_after_it_are_read(simple, tmp_path):
    rows = ["claim_id,amount,note", "c1,1.00,ok", 'c2,2.00,"unclosed note'] + [f"c{i},{i}.00,fine" for i in range(3, 1001)]
    status, records, err = csv_batch(simple, "\n".join(rows) + "\n", tmp_path)
    assert status == 1 and len(records) == 1000, err
    assert records[1] == {"line": 3, "error": records[1]["error"]} and "never closed" in records[1]["error"]
    assert [r["claim_id"] for r in records[2:]] == [f"c{i}" for i in range(3, 1001)]
    assert "999 decided, 1 could not be decided" in err


def test_a_quote_that_closes_badly_is_a_stray_too(simple, tmp_path):
    text = 'claim_id,amount,note\nc1,1.00,"stray\nc2,2.00,"a "quoted" word"\nc3,3.00,ok\n'
    status, records, _ = csv_batch(simple, text, tmp_path)
    assert [(r.get("claim_id"), r.get("line"), "error" in r) for r in records] == [
        (None, 2, True), (None, 3, True), ("c3", None, False),
    ]
    assert "not closed properly (line 3" in records[0]["error"]


def test_quoted_cells_may_hold_line_breaks(simple, tmp_path):
    text = 'claim_id,amount,note\r\nc1,1.00,"two\r\nlines"\r\nc2,2.00,"a ""quoted""\n\nword, and more"\nc3,3.00,x\n'
    status, records, err = csv_batch(simple, text, tmp_path)
    assert status == 0, err
    assert [r["claim_id"] for r in records] == ["c1", "c2", "c3"]


def test_a_row_over_the_size_limit_is_one_error_record_and_its_lines_are_never_rows(simple, tmp_path):
    text = io.StringIO()
    text.write('claim_id,amount,note\nc1,1.00,ok\nc2,2.00,"')
    line = "x" * 1023 + "\n"
    for _ in range(65 * 1024):  # 65 MiB inside one quoted cell
        text.write(line)
    text.write('phantom-1,5000.00,injected\nend of note"\nc3,3.00,fine\n')
    status, records, err = csv_batch(simple, text.getvalue(), tmp_path, "-j", "1")
    assert status == 1 and len(records) == 3, err
    assert records[0]["claim_id"] == "c1" and records[2]["claim_id"] == "c3"
    assert records[1]["line"] == 3 and "more than the 64 MiB a row may hold" in records[1]["error"]
    assert "phantom" not in json.dumps(records)


def test_many_stray_quotes_take_linear_time(simple, tmp_path):
    # Each line opens a quoted cell, read alone or inside a quoted cell: a scan from any of
    # them would run to the end of the file.
    rows = ["claim_id,amount,note"] + [f'c{i}",1.00,"x' for i in range(20_000)]
    started = time.monotonic()
    status, records, _ = csv_batch(simple, "\n".join(rows) + "\n", tmp_path, "-j", "1")
    assert time.monotonic() - started < 20
    assert status == 1 and [r["line"] for r in records] == list(range(2, 20_002))


def test_a_stray_quote_in_a_csv_from_a_pipe_loses_nothing(simple, tmp_path):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    text = "claim_id,amount,note\nc1,1.00,\"stray\n" + "".join(f"c{i},{i}.00,fine\n" for i in range(2, 2000))

    def feed():
        with open(fifo, "w", encoding="utf-8") as pipe:
            pipe.write(text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    out = tmp_path / "out.jsonl"
    done = run("batch", str(simple), str(fifo), "-o", str(out))
    writer.join(timeout=TIMEOUT)
    records = read_jsonl(out)
    assert done.returncode == 1 and len(records) == 1999, done.stderr
    assert records[0]["line"] == 2 and [r["claim_id"] for r in records[1:]] == [f"c{i}" for i in range(2, 2000)]


def test_a_header_with_an_unclosed_quote_is_a_usage_error(simple, tmp_path):
    status, records, err = csv_batch(simple, 'claim_id,"amount,note\nc1,1.00,x\n', tmp_path)
    assert status == 2 and "cannot read the CSV header (line 1)" in err and "Traceback" not in err


def test_eval_and_explain_refuse_a_csv_file_instead_of_reading_it_as_one_json_claim(simple, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("claim_id,amount\nc1,1.00\nc2,2.00\n", encoding="utf-8")
    for name in ("eval", "explain"):
        done = run(name, str(simple), str(source))
        assert done.returncode == 2 and b"use policydsl batch" in done.stderr and done.stdout == b""


# ---- Parquet values Python cannot hold --------------------------------------------------------


def test_parquet_values_out_of_range_are_error_records_for_their_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    policy = tmp_path / "day.policy"
    policy.write_text("input {\n  claim_id: text\n  amount: money\n  day: date = 2025-01-01\n  n: int = 0\n}\nrule paid: money = amount\noutput paid\noutput n\n", encoding="utf-8")
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({
        "claim_id": ["a", "b", "c", "d", "e", "f"],
        "amount": pa.array([Decimal("1.00"), Decimal("2.00"), Decimal("3.00"), Decimal("4.00"), Decimal("9" * 36 + ".00"), Decimal("6.00")], type=pa.decimal128(38, 2)),
        "day": pa.array([0, 2**31 - 1, 5, -(2**31), 7, 8], type=pa.date32()),
        "n": pa.array([1, 2, 2**63 - 1, 4, 5, -(2**63)], type=pa.int64()),
    }), source)
    out = tmp_path / "out.jsonl"
    done = run("batch", str(policy), str(source), "-o", str(out))
    records = read_jsonl(out)
    assert [r["claim_id"] for r in records] == ["a", "b", "c", "d", "e", "f"], done.stderr
    assert done.returncode == 1 and b"internal error" not in done.stderr
    assert "error" not in records[0]
    assert "day: the date32[day] value 2147483647 is out of the range that can be read" in records[1]["error"]
    assert "day: the date32[day] value -2147483648" in records[3]["error"]
    assert "internal error" not in json.dumps(records)


@pytest.mark.parametrize("column", ["timestamp", "date64", "duration"])
def test_an_unreadable_value_in_a_column_the_policy_does_not_know_does_not_stop_the_batch(tmp_path, simple, column):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    arrow_type = {"timestamp": pa.timestamp("s"), "date64": pa.date64(), "duration": pa.duration("s")}[column]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"claim_id": ["a", "b", "c"], "amount": ["1.00", "2.00", "3.00"],
                             "when": pa.array([0, 10**14 if column == "timestamp" else 10**18, 5], type=arrow_type)}), source)
    out = tmp_path / "out.jsonl"
    done = run("batch", str(simple), str(source), "-o", str(out), "--jobs", "2", "--chunk-size", "1")
    records = read_jsonl(out)
    assert [r["claim_id"] for r in records] == ["a", "b", "c"] and done.returncode == 1, done.stderr
    assert "is out of the range that can be read" in records[1]["error"]


# ---- CSV cells a spreadsheet would run ----------------------------------------------------------


def test_csv_output_neutralises_formulas_but_keeps_numbers(tmp_path, simple):
    ids = ["=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "-5", "plain"]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"claim_id": i, "amount": "1.00"}) + "\n" for i in ids), encoding="utf-8")
    for suffix in ("csv", "jsonl"):
        done = run("batch", str(simple), str(source), "-o", str(tmp_path / f"out.{suffix}"))
        assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_bytes().decode("utf-8"), newline="")))
    assert [row["claim_id"] for row in rows] == ["'=cmd|' /C calc'!A0", "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "-5", "plain"]
    assert {row["back"] for row in rows} == {"-99.00"}  # a negative amount is a number, not a formula
    assert [r["claim_id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ids  # JSON lines keep values as they are


# ---- stdout and stderr closed or broken --------------------------------------------------------


def bad_claims(tmp_path) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"claim_id": "bad-1"}\n{"claim_id": "bad-2"}\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["batch", "eval"])
def test_with_stderr_closed_messages_never_reach_stdout(tmp_path, name):
    extra = "-o - " if name == "batch" else ""
    script = f'exec {sys.executable} -m policydsl {name} {EXAMPLE_POLICY} {bad_claims(tmp_path)} {extra}2>&-'
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=TIMEOUT)
    lines = done.stdout.decode("utf-8").splitlines()
    assert done.returncode == 1 and len(lines) == 2
    assert [json.loads(line)["claim_id"] for line in lines] == ["bad-1", "bad-2"]


@pytest.mark.parametrize("name", ["batch", "eval"])
def test_a_broken_stderr_does_not_change_the_exit_code(tmp_path, name):
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads stderr: every write to it fails with EPIPE
    out = tmp_path / "out.jsonl"
    try:
        args = ["batch", str(EXAMPLE_POLICY), str(bad_claims(tmp_path)), "-o", str(out)] if name == "batch" else ["eval", str(EXAMPLE_POLICY), str(bad_claims(tmp_path))]
        with open(out, "wb") if name == "eval" else open(os.devnull, "wb") as stdout:
            done = subprocess.run(command(*args), stdout=stdout, stderr=write_end, timeout=TIMEOUT)
    finally:
        os.close(write_end)
    assert done.returncode == 1
    assert len(read_jsonl(out)) == 2


@pytest.mark.parametrize("name", ["batch", "eval"])
def test_a_reader_that_stops_reading_stdout_gives_the_sigpipe_status(tmp_path, name):
    source = tmp_path / "in.jsonl"
    generated(source, 3000)
    args = ["batch", str(EXAMPLE_POLICY), str(source), "-o", "-"] if name == "batch" else ["eval", str(EXAMPLE_POLICY), str(source)]
    process = subprocess.Popen(command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        process.stdout.readline()
        process.stdout.close()  # the reader goes away, like `| head -1`
        err = process.stderr.read()
        process.wait(timeout=TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == 141 and b"Traceback" not in err and b"internal error" not in err, err


@pytest.mark.parametrize("name", ["batch", "eval"])
def test_with_stdout_closed_the_run_says_so(tmp_path, name):
    extra = "-o -" if name == "batch" else ""
    script = f"exec {sys.executable} -m policydsl {name} {EXAMPLE_POLICY} {bad_claims(tmp_path)} {extra} >&-"
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=TIMEOUT)
    assert done.returncode == 74 and b"standard output is closed" in done.stderr and b"Traceback" not in done.stderr


# ---- a full disk, an output that cannot be written ---------------------------------------------


needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")


@needs_dev_full
@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet", "errors"])
def test_a_full_disk_is_said_plainly(tmp_path, suffix):
    if suffix == "parquet":
        pytest.importorskip("pyarrow")
    source = tmp_path / "in.jsonl"
    generated(source, 200)
    full = tmp_path / f"full.{'jsonl' if suffix == 'errors' else suffix}"
    full.symlink_to("/dev/full")
    if suffix == "errors":
        with open(source, "a", encoding="utf-8") as extra:
            extra.write('{"claim_id": "bad"}\n')
        done = run("batch", str(EXAMPLE_POLICY), str(source), "-o", str(tmp_path / "ok.jsonl"), "--errors", str(full))
    else:
        done = run("batch", str(EXAMPLE_POLICY), str(source), "-o", str(full))
    err = done.stderr.decode("utf-8")
    assert done.returncode == 74, err
    assert f"no space left on {full}" in err and "internal error" not in err and "Traceback" not in err


def _limit_file_size(size: int):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_an_output_that_cannot_grow_keeps_only_whole_records(tmp_path, suffix):
    source = tmp_path / "in.jsonl"
    ids = generated(source, 2000)
    out = tmp_path / f"out.{suffix}"
    done = subprocess.run(
        command("batch", str(EXAMPLE_POLICY), str(source), "-o", str(out), "-j", "1", "--chunk-size", "100"),
        capture_output=True, timeout=TIMEOUT, preexec_fn=_limit_file_size(200_000),  # records of ~700 bytes: some chunks fit
    )
    err = done.stderr.decode("utf-8")
    assert done.returncode == 74, err
    held = int(re.search(r"it holds the first ([0-9,]+) records, each whole", err).group(1).replace(",", ""))
    assert 0 < held < 2000 and held % 100 == 0
    if suffix == "jsonl":
        assert [r["claim_id"] for r in read_jsonl(out)] == ids[:held]
    else:
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert [row["claim_id"] for row in rows] == ids[:held]
    assert out.read_bytes().endswith(b"\n")


@needs_dev_full
def test_eval_on_a_full_disk_says_so(tmp_path):
    source = tmp_path / "in.jsonl"
    generated(source, 200)
    with open("/dev/full", "wb") as stdout:
        done = run("eval", str(EXAMPLE_POLICY), str(source), stdout=stdout, stderr=subprocess.PIPE)
    assert done.returncode == 74 and b"no space left on standard output" in done.stderr and b"Traceback" not in done.stderr


@pytest.mark.parametrize("where", ["a folder", "inside a file", "a missing folder"])
def test_an_output_that_cannot_be_created_is_a_usage_error(tmp_path, where):
    source = tmp_path / "in.jsonl"
    generated(source, 5)
    before = source.read_bytes()
    target = {"a folder": tmp_path / "dir.jsonl", "inside a file": tmp_path / "in.jsonl" / "out.jsonl",
              "a missing folder": tmp_path / "nowhere" / "out.jsonl"}[where]
    if where == "a folder":
        target.mkdir()
    done = run("batch", str(EXAMPLE_POLICY), str(source), "-o", str(target))
    assert done.returncode == 2 and f"{target}: cannot write".encode() in done.stderr and b"Traceback" not in done.stderr
    assert source.read_bytes() == before


def test_in_process_a_full_disk_is_exit_74(tmp_path, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    source = tmp_path / "in.jsonl"
    generated(source, 20)
    full = tmp_path / "full.csv"
    full.symlink_to("/dev/full")
    assert main(["batch", str(EXAMPLE_POLICY), str(source), "-o", str(full)]) == 74
    assert "no space left on" in capsys.readouterr().err


# ---- totals are exact, past 28 digits ---------------------------------------------------------


BIG = """input {
  claim_id: text
  amount: money
  n: int
}
rule total: money = amount * n
output total
"""


def test_summary_totals_are_exact_past_decimals_default_precision(tmp_path):
    """Each claim pays 99999999999999.99 x 999999999999999999 (32 digits); Decimal's default
    28-digit context would round their sum. The summary adds them exactly."""
    policy = tmp_path / "big.policy"
    policy.write_text(BIG, encoding="utf-8")
    claims = tmp_path / "in.jsonl"
    claims.write_text("".join(json.dumps({"claim_id": f"c{i}", "amount": "99999999999999.99", "n": 999999999999999999}) + "\n" for i in range(3)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run("batch", str(policy), str(claims), "-o", str(out), "--jobs", "1")
    assert result.returncode == 0, result.stderr
    each = Decimal("99999999999999989900000000000000.01")  # exact, by hand: 10**14 * 10**18 - ...
    assert [Decimal(r["total"]) for r in read_jsonl(out)] == [each] * 3
    assert "299,999,999,999,999,969,700,000,000,000,000.03" in result.stderr.decode()


# ---- a JSON line too long to hold ---------------------------------------------------------------


def test_a_json_line_longer_than_the_row_limit_is_one_error_record(tmp_path, simple):
    """A 65 MiB line is read past in pieces (never held whole) and is one error record at its
    line; the lines around it are decided, by eval and by batch with 2 jobs."""
    claims = tmp_path / "in.jsonl"
    with claims.open("w", encoding="utf-8") as out:
        out.write('{"claim_id": "a", "amount": "1.00"}\n')
        out.write('{"claim_id": "huge", "amount": "1.00", "note": "')
        block = "x" * (1024 * 1024)
        for _ in range(65):
            out.write(block)
        out.write('"}\n{"claim_id": "c", "amount": "3.00"}\n')
    evaluated = run("eval", str(simple), str(claims))
    records = [json.loads(line) for line in evaluated.stdout.decode().splitlines()]
    assert evaluated.returncode == 1
    assert [r.get("claim_id") for r in records] == ["a", None, "c"]
    assert records[1]["line"] == 2 and "more than the 64 MiB a claim may hold" in records[1]["error"]
    out = tmp_path / "out.jsonl"
    batched = run("batch", str(simple), str(claims), "-o", str(out), "--jobs", "2")
    assert batched.returncode == 1, batched.stderr
    assert read_jsonl(out) == records
