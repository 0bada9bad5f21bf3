"""Nothing lost in batch: N claim records in give N records out, in the same order.

A claims file from a real system mixes good claims, malformed JSON, blank lines, JSON
that is not an object, facts that do not match the schema, claims that fail at
evaluation, and bytes that are not UTF-8. Every command that takes many claims
(`eval`, `explain`, and `batch` when it exists) must answer each record, in order: a
decision or an error record naming the claim (claim_id) or, without one, its line.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys

import pytest

from policydsl.cli.main import main

from .conftest import EXAMPLE_POLICY, example_claims

SEPARATOR = "=" * 72


def _claim(claim_id, **changes):
    claim = copy.deepcopy(example_claims()[0])
    if claim_id is None:
        del claim["claim_id"]
    else:
        claim["claim_id"] = claim_id
    for path, value in changes.items():
        holder = claim
        *parents, last = path.split(".")
        for part in parents:
            holder = holder[int(part)] if part.isdigit() else holder[part]
        holder[last] = value
    return json.dumps(claim, ensure_ascii=False).encode("utf-8")


# (line bytes, what its record must be: ("decision"|"error", claim_id or None))
RECORDS = [
    (_claim("good-1"), ("decision", "good-1")),
    (b'{"claim_id": "broken", "items": [', ("error", None)),
    (b"", None),
    (b"[1, 2]", ("error", None)),
    (b'"just text"', ("error", None)),
    (b"null", ("error", None)),
    (_claim("bad-amount", **{"items.0.amount": "abc"}), ("error", "bad-amount")),
    (_claim(None, **{"items.0.amount": "12.345"}), ("error", None)),
    (_claim("too-late", **{"person.enrollment_date": "9999-12-20", "person.enrolled_in_concentrated_period": False}), ("error", "too-late")),
    (_claim(17), ("error", 17)),
    (b"   \t ", None),
    (b"[" * 100_000 + b"]" * 100_000, ("error", None)),
    (_claim("nan-amount").replace(b'"12000.00"', b"NaN"), ("error", "nan-amount")),
    (_claim("good-2"), ("decision", "good-2")),
    (_claim("good-1"), ("decision", "good-1")),  # the same claim twice is two records
    (b'{"claim_id": "trailing"} garbage', ("error", None)),
    (_claim("\u75c5\u4eba-\U0001f600"), ("decision", "\u75c5\u4eba-\U0001f600")),
    (_claim("extra-field", **{"hospitl_level": 2}), ("error", "extra-field")),
    (_claim("last"), ("decision", "last")),
]
EXPECTED = [(number, want) for number, (_, want) in enumerate(RECORDS, start=1) if want is not None]


@pytest.fixture
def claims_file(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in RECORDS) + b"\n")
    return path


def check_records(records: list[dict]) -> None:
    assert len(records) == len(EXPECTED), [r.get("claim_id", r.get("line")) for r in records]
    for record, (number, (kind, claim_id)) in zip(records, EXPECTED):
        assert ("error" in record) == (kind == "error"), (number, record)
        if claim_id is not None:
            assert record.get("claim_id") == claim_id, (number, record)
        else:
            assert record.get("line") == number and "claim_id" not in record, (number, record)
        if kind == "error":
            assert isinstance(record["error"], str) and record["error"]


def test_eval_gives_one_record_per_claim_in_order(claims_file, capsys):
    assert main(["eval", str(EXAMPLE_POLICY), str(claims_file)]) == 1
    out, err = capsys.readouterr()
    check_records([json.loads(line) for line in out.splitlines()])
    assert f"{sum(1 for _, (kind, _) in EXPECTED if kind == 'error')} claims could not be decided" in err


def test_explain_gives_one_section_per_claim_in_order(claims_file, capsys):
    assert main(["explain", str(EXAMPLE_POLICY), str(claims_file)]) == 1
    sections = [s.strip() for s in capsys.readouterr().out.split(SEPARATOR)]
    assert len(sections) == len(EXPECTED)
    for section, (number, (kind, claim_id)) in zip(sections, EXPECTED):
        label = str(claim_id) if claim_id is not None else f"line {number}"
        if kind == "error":
            assert section.startswith(f"claim {label}:"), (number, section[:200])
        else:
            assert label in section.splitlines()[0] or label in section[:300], (number, section[:200])


def test_explain_json_gives_one_object_per_decision(claims_file, capsys):
    assert main(["explain", "--json", str(EXAMPLE_POLICY), str(claims_file)]) == 1
    sections = [s.strip() for s in capsys.readouterr().out.split(SEPARATOR)]
    assert len(sections) == len(EXPECTED)
    for section, (_, (kind, claim_id)) in zip(sections, EXPECTED):
        if kind == "decision":
            assert json.loads(section)["claim_id"] == claim_id


def test_a_json_array_file_gives_one_record_per_element(tmp_path, capsys):
    elements = [json.loads(_claim("a")), [1], None, json.loads(_claim("b", **{"items.0.amount": -1})), json.loads(_claim("c"))]
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(elements), encoding="utf-8")
    assert main(["eval", str(EXAMPLE_POLICY), str(path)]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r.get("claim_id"), r.get("line"), "error" in r) for r in records] == [
        ("a", None, False), (None, 2, True), (None, 3, True), ("b", None, True), ("c", None, False),
    ]




@pytest.mark.parametrize(
    "command",
    [["eval"], ["batch", "-o", "-", "-j", "1"]],
    ids=["eval", "batch"],
)
def test_a_claim_id_that_cannot_be_written_loses_nothing(tmp_path, command):
    path = tmp_path / "surrogate.jsonl"  # valid JSON; the id has a lone surrogate, which UTF-8 cannot encode
    path.write_bytes(_claim("first") + b"\n" + _claim("x").replace(b'"x"', b'"\\ud800x"') + b"\n" + _claim("after") + b"\n")
    argv = [sys.executable, "-m", "policydsl", command[0], str(EXAMPLE_POLICY), str(path), *command[1:]]
    done = subprocess.run(argv, capture_output=True, timeout=60)
    records = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert done.returncode == 1 and len(records) == 3, done.stderr
    assert records[0]["claim_id"] == "first" and "error" in records[1] and records[2]["claim_id"] == "after"


NOT_UTF8 = [_claim("before"), b'{"claim_id": "latin-1 caf\xe9"}', _claim("after")]


def _not_utf8_records(tmp_path, command: list[str], capsys) -> list[dict]:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b"\n".join(NOT_UTF8 * 300) + b"\n")  # more than one read buffer
    out = tmp_path / "out.jsonl"
    main([command[0], str(EXAMPLE_POLICY), str(path), *(["-o", str(out), *command[1:]] if command[0] == "batch" else [])])
    text = out.read_text(encoding="utf-8") if command[0] == "batch" else capsys.readouterr().out
    return [json.loads(line) for line in text.splitlines()]


def test_eval_a_line_that_is_not_utf8_loses_nothing(tmp_path, capsys):
    records = _not_utf8_records(tmp_path, ["eval"], capsys)
    assert [r.get("claim_id", r.get("line")) for r in records] == [x for i in range(300) for x in ("before", 3 * i + 2, "after")]


def test_eval_a_truncated_line_reports_its_column(tmp_path, capsys):
    path = tmp_path / "truncated.jsonl"
    path.write_text('{"claim_id": "broken", "items": [\n', encoding="utf-8")
    main(["eval", str(EXAMPLE_POLICY), str(path)])
    assert json.loads(capsys.readouterr().out)["error"] == "malformed JSON at column 34: Expecting value"


HAVE_BATCH = importlib.util.find_spec("policydsl.tools.batch") is not None


@pytest.mark.skipif(not HAVE_BATCH, reason="no batch command")
def test_batch_a_line_that_is_not_utf8_loses_nothing(tmp_path, capsys):
    records = _not_utf8_records(tmp_path, ["batch", "-j", "1"], capsys)
    assert [r.get("claim_id", r.get("line")) for r in records] == [x for i in range(300) for x in ("before", 3 * i + 2, "after")]


@pytest.mark.skipif(not HAVE_BATCH, reason="no batch command")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batch_gives_one_record_per_claim_in_order(claims_file, tmp_path, jobs):
    out = tmp_path / "out.jsonl"
    status = main(["batch", str(EXAMPLE_POLICY), str(claims_file), "-o", str(out), "-j", jobs, "--chunk-size", "3"])
    assert status == 1
    check_records([json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])
