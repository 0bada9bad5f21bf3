"""`policydsl batch --carry` and `policydsl.carry`: many persons' claims, their accumulators
carried from claim to claim in date order, the records in input order.

The reference numbers are worked by hand on a small policy written here: the basic fund pays
half of a claim up to 10,000 yuan a year, the major-illness fund half of the rest up to
20,000 yuan a year.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl.cli.main import main
from policydsl.diagnostics.model import EvaluationError, FactsError
from policydsl.tools.batch import BatchOptions, run_batch
from policydsl.tools.batch.spill import FAN_IN, Spill

from .conftest import EXAMPLE, EXAMPLE_POLICY
from .processes import HAS_PROC, run_killing_workers

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

POLICY = """\
policy "carry test"
  version "1"
  as of service_date
input {
  claim_id: text
  person_id: text = ""
  service_date: date
  amount: money
}
param basic_cap = 10_000 yuan
param major_cap = 20_000 yuan
accumulator ytd_basic: money per person_id opening 0 yuan adds basic
  because "What the basic fund paid earlier in the year"
accumulator ytd_major: money per person_id opening 0 yuan adds major
  because "What the major-illness fund paid earlier in the year"
accumulator claims_in_year: int per person_id opening 0 adds 1
rule basic_room: money = max(0 yuan, basic_cap - ytd_basic)
rule basic: money = min(round(amount * 50%, half_up), basic_room)
rule major_room: money = max(0 yuan, major_cap - ytd_major)
rule major: money = min(round((amount - basic) * 50%, half_up), major_room)
rule patient_pays: money = amount - basic - major
rule claim_number: int = claims_in_year + 1
output basic, major, patient_pays, claim_number
"""

BENEFIT_YEAR = """\
policy "benefit year"
  as of service_date
input {
  person_id: int
  service_date: date
  amount: money
}
accumulator paid_in_year: money per person_id opening 0 yuan adds amount
accumulator visits: int per person_id over year from 07-01 opening 0 adds 1
rule visit: int = visits + 1
output visit
"""

YEAR_2025 = "2025-01-01/2025-12-31"
YEAR_2026 = "2026-01-01/2026-12-31"

# Person A's claims, worked by hand: (claim, date, amount, basic, major, patient pays, number,
# ytd_basic before -> after, ytd_major before -> after).
PERSON_A = [
    ("a1", "2025-01-10", "8000.00", "4000.00", "2000.00", "2000.00", 1, "0.00", "4000.00", "0.00", "2000.00"),
    ("a2", "2025-03-05", "10000.00", "5000.00", "2500.00", "2500.00", 2, "4000.00", "9000.00", "2000.00", "4500.00"),
    # the basic cap: only 1,000 of its 3,000 is left; major pays half of the other 5,000
    ("a3", "2025-05-20", "6000.00", "1000.00", "2500.00", "2500.00", 3, "9000.00", "10000.00", "4500.00", "7000.00"),
    # the major-illness cap: 13,000 of its 15,000 is left
    ("a4", "2025-08-01", "30000.00", "0.00", "13000.00", "17000.00", 4, "10000.00", "10000.00", "7000.00", "20000.00"),
    ("a5", "2025-11-11", "1000.00", "0.00", "0.00", "1000.00", 5, "10000.00", "10000.00", "20000.00", "20000.00"),
    ("a5b", "2025-11-11", "400.00", "0.00", "0.00", "400.00", 6, "10000.00", "10000.00", "20000.00", "20000.00"),  # same day: after a5
    # a new calendar year starts again from the opening values
    ("a6", "2026-01-05", "2000.00", "1000.00", "500.00", "500.00", 1, "0.00", "1000.00", "0.00", "500.00"),
]


def claim(claim_id: str, person: str | None, day: str, amount: str, **extra) -> dict:
    record = {"claim_id": claim_id, "service_date": day, "amount": amount, **extra}
    if person is not None:
        record["person_id"] = person
    return record


def person_a() -> dict[str, dict]:
    return {row[0]: claim(row[0], "A", row[1], row[2]) for row in PERSON_A}


def shuffled_input() -> list[dict]:
    """A's claims out of date order (a5 before a5b: same day, input order), among others'."""
    a = person_a()
    return [
        claim("b1", "B", "2025-04-01", "30000.00"),
        a["a4"],
        a["a5"],
        claim("c1", "C", "2025-02-02", "100.00"),
        a["a6"],
        a["a2"],
        claim("b2", "B", "2025-02-01", "2000.00"),
        a["a1"],
        a["a5b"],
        claim("c2", "C", "2024-12-31", "50.00"),
        a["a3"],
    ]


@pytest.fixture
def policy_file(tmp_path) -> Path:
    path = tmp_path / "carry.policy"
    path.write_text(POLICY, encoding="utf-8")
    return path


def write_jsonl(path: Path, claims: list) -> Path:
    path.write_text("".join((c if isinstance(c, str) else json.dumps(c)) + "\n" for c in claims), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def batch(capsys, policy: Path, source: Path, output: Path, *options: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["batch", str(policy), str(source), "-o", str(output), "--carry", *options])
    return status, capsys.readouterr().err


def carried(record: dict, name: str) -> tuple:
    value = record["accumulators"][name]
    return value["before"], value["after"], value["period"]


# ---- the acceptance test ------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_shuffled_claims_of_one_person_cross_both_caps_and_restart_next_year(policy_file, tmp_path, capsys, jobs):
    claims = shuffled_input()
    source = write_jsonl(tmp_path / "claims.jsonl", claims)
    status, stderr = batch(capsys, policy_file, source, tmp_path / "out.jsonl", "--jobs", jobs, "--chunk-size", "2")
    assert status == 0, stderr
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["claim_id"] for r in records] == [c["claim_id"] for c in claims]  # input order, one each
    by_id = {r["claim_id"]: r for r in records}
    for cid, day, amount, basic, major, patient, number, basic_before, basic_after, major_before, major_after in PERSON_A:
        record = by_id[cid]
        assert (record["basic"], record["major"], record["patient_pays"], record["claim_number"]) == (basic, major, patient, number), cid
        year = YEAR_2026 if day.startswith("2026") else YEAR_2025
        assert carried(record, "ytd_basic") == (basic_before, basic_after, year), cid
        assert carried(record, "ytd_major") == (major_before, major_after, year), cid
        assert carried(record, "claims_in_year") == (number - 1, number, year), cid
    # B: b2 (February) comes before b1 (April) though it is written after it.
    assert (by_id["b2"]["basic"], by_id["b2"]["major"]) == ("1000.00", "500.00")
    assert (by_id["b1"]["basic"], by_id["b1"]["major"], by_id["b1"]["claim_number"]) == ("9000.00", "10500.00", 2)
    assert carried(by_id["b1"], "ytd_basic") == ("1000.00", "10000.00", YEAR_2025)
    # C: 2024-12-31 and 2025-02-02 are two years, each its first claim.
    assert carried(by_id["c2"], "ytd_basic") == ("0.00", "25.00", "2024-01-01/2024-12-31")
    assert carried(by_id["c1"], "ytd_basic") == ("0.00", "50.00", YEAR_2025)
    assert by_id["a1"]["policy"]["id"] == "carry" and by_id["a1"]["policy"]["version"] == "1"
    assert "11 claims" in stderr and "accumulators carried per person_id: 3 persons" in stderr
    totals = {line.split()[0]: line.split()[1] for line in stderr.splitlines() if line.startswith("  ")}
    assert totals["basic"] == format(sum(Decimal(r["basic"]) for r in records), ",.2f") == "21,075.00"


# ---- opening balances, later values, failures -----------------------------------------------


def test_the_first_claim_of_a_year_gives_the_opening_balance(policy_file, tmp_path, capsys):
    claims = [
        claim("a2", "A", "2025-03-01", "4000.00", ytd_basic="100.00"),  # a later claim: replaced by the carried value
        claim("a1", "A", "2025-01-10", "2000.00", ytd_basic="8500.00", ytd_major="19900.00"),  # the ledger before the file
        claim("a3", "A", "2026-01-02", "2000.00", ytd_basic="300.00"),  # first of 2026: its own opening balance
        claim("a4", "A", "2026-02-02", "2000.00", claims_in_year=40),  # later in 2026: replaced
    ]
    source = write_jsonl(tmp_path / "claims.jsonl", claims)
    status, stderr = batch(capsys, policy_file, source, tmp_path / "out.jsonl")
    assert status == 0, stderr
    a2, a1, a3, a4 = read_jsonl(tmp_path / "out.jsonl")
    # a1: 1,000 half, all of it within the 1,500 left; major 500 but only 100 left
    assert (a1["basic"], a1["major"]) == ("1000.00", "100.00")
    assert carried(a1, "ytd_basic") == ("8500.00", "9500.00", YEAR_2025)
    assert carried(a1, "ytd_major") == ("19900.00", "20000.00", YEAR_2025)
    assert carried(a1, "claims_in_year") == (0, 1, YEAR_2025)  # not given: the opening value
    # a2 said 100.00: the carried 9,500.00 is used instead; 500 of the basic cap left
    assert carried(a2, "ytd_basic") == ("9500.00", "10000.00", YEAR_2025)
    assert (a2["basic"], a2["major"], a2["claim_number"]) == ("500.00", "0.00", 2)
    assert carried(a3, "ytd_basic") == ("300.00", "1300.00", YEAR_2026)
    assert carried(a3, "ytd_major") == ("0.00", "500.00", YEAR_2026)
    assert carried(a4, "claims_in_year") == (1, 2, YEAR_2026) and a4["claim_number"] == 2


def test_a_claim_that_cannot_be_decided_adds_nothing(policy_file, tmp_path, capsys):
    claims = [
        claim("a1", "A", "2025-01-10", "8000.00"),
        claim("a2", "A", "2025-02-10", "12.345"),  # not whole fen: cannot be decided
        "{not json",  # cannot be read: no person to carry it for
        claim("a3", "A", "2025-03-10", "6000.00"),
        claim("a0", "A", "2025-01-01", "2000.00", ytd_basic="abc"),  # the first claim, with an unreadable opening balance
    ]
    source = write_jsonl(tmp_path / "claims.jsonl", claims)
    status, stderr = batch(capsys, policy_file, source, tmp_path / "out.jsonl")
    assert status == 1 and "3 could not be decided" in stderr
    a1, a2, broken, a3, a0 = read_jsonl(tmp_path / "out.jsonl")
    assert a0["errors"] == [{"path": "ytd_basic", "message": 'expected money, got "abc"', "code": "F302"}]
    assert a2["claim_id"] == "a2" and a2["errors"][0]["path"] == "amount" and "accumulators" not in a2
    assert broken == {"line": 3, "error": "malformed JSON at column 2: Expecting property name enclosed in double quotes"}
    # a0 failed, so a1 opens the year; a3 goes on from a1 as if a2 were not there
    assert carried(a1, "ytd_basic") == ("0.00", "4000.00", YEAR_2025)
    assert carried(a3, "ytd_basic") == ("4000.00", "7000.00", YEAR_2025)
    assert carried(a3, "claims_in_year") == (1, 2, YEAR_2025)


@pytest.mark.parametrize("person", [None, "null", ""])
def test_a_claim_without_a_person_is_an_error_at_the_person_field(policy_file, tmp_path, capsys, person):
    lonely = claim("x1", None, "2025-01-10", "100.00")
    if person is not None:
        lonely["person_id"] = None if person == "null" else person
    claims = [claim("a1", "A", "2025-01-10", "100.00"), lonely, claim("a2", "A", "2025-01-11", "100.00")]
    source = write_jsonl(tmp_path / "claims.jsonl", claims)
    status, _ = batch(capsys, policy_file, source, tmp_path / "out.jsonl")
    assert status == 1
    a1, error, a2 = read_jsonl(tmp_path / "out.jsonl")
    what = {None: "missing", "null": "null", "": "empty"}[person]
    message = f"{what}: needed to carry accumulators (`ytd_basic`, `ytd_major`, `claims_in_year` are carried per `person_id`)"
    assert error == {"claim_id": "x1", "error": f"invalid facts: person_id: {message}", "errors": [{"path": "person_id", "message": message, "code": "F301"}]}
    assert a2["claim_number"] == 2


def test_a_claim_without_a_readable_date_gets_an_error_about_the_date(policy_file, tmp_path, capsys):
    claims = [claim("a1", "A", "2025-02-30", "100.00"), {"claim_id": "a2", "person_id": "A", "amount": "1.00"}, claim("a3", "A", "2025-01-01", "10.00")]
    source = write_jsonl(tmp_path / "claims.jsonl", claims)
    status, _ = batch(capsys, policy_file, source, tmp_path / "out.jsonl")
    assert status == 1
    a1, a2, a3 = read_jsonl(tmp_path / "out.jsonl")
    assert a1["errors"] == [{"path": "service_date", "message": '"2025-02-30" is not a calendar date', "code": "F302"}]
    assert a2["errors"] == [{"path": "service_date", "message": "missing (required field)", "code": "F301"}]
    assert a3["claim_number"] == 1


def test_a_benefit_year_from_july_starts_on_its_own(tmp_path, capsys):
    policy = tmp_path / "benefit.policy"
    policy.write_text(BENEFIT_YEAR, encoding="utf-8")
    claims = [
        {"person_id": 7, "service_date": "2025-07-01", "amount": "3.00"},
        {"person_id": 7, "service_date": "2025-06-30", "amount": "2.00"},
        {"person_id": 7, "service_date": "2025-01-15", "amount": "1.00"},
        {"person_id": 7, "service_date": "2026-01-01", "amount": "4.00"},
        {"person_id": 7, "service_date": "2026-06-30", "amount": "5.00"},
        {"person_id": 7, "service_date": "2026-07-01", "amount": "6.00"},
        {"person_id": 8, "service_date": "2025-07-01", "amount": "9.00"},
    ]
    source = write_jsonl(tmp_path / "claims.jsonl", claims)
    status, stderr = batch(capsys, policy, source, tmp_path / "out.jsonl", "--jobs", "2", "--chunk-size", "1")
    assert status == 0, stderr
    records = read_jsonl(tmp_path / "out.jsonl")
    visits = [carried(r, "visits") for r in records]
    paid = [carried(r, "paid_in_year") for r in records]
    assert visits == [
        (0, 1, "2025-07-01/2026-06-30"),
        (1, 2, "2024-07-01/2025-06-30"),
        (0, 1, "2024-07-01/2025-06-30"),
        (1, 2, "2025-07-01/2026-06-30"),
        (2, 3, "2025-07-01/2026-06-30"),
        (0, 1, "2026-07-01/2027-06-30"),
        (0, 1, "2025-07-01/2026-06-30"),  # another person
    ]
    assert paid == [
        ("3.00", "6.00", YEAR_2025),
        ("1.00", "3.00", YEAR_2025),
        ("0.00", "1.00", YEAR_2025),
        ("0.00", "4.00", YEAR_2026),
        ("4.00", "9.00", YEAR_2026),
        ("9.00", "15.00", YEAR_2026),
        ("0.00", "9.00", YEAR_2025),
    ]


def test_a_policy_without_accumulators_is_a_usage_error(tmp_path, capsys):
    policy = tmp_path / "plain.policy"
    policy.write_text('policy "plain"\ninput {\n  amount: money\n}\nrule paid: money = amount\noutput paid\n', encoding="utf-8")
    source = write_jsonl(tmp_path / "claims.jsonl", [{"amount": "1.00"}])
    status, stderr = batch(capsys, policy, source, tmp_path / "out.jsonl")
    assert status == 2 and "declares no accumulator, so there is nothing to carry" in stderr and "batch --carry" in stderr
    assert not (tmp_path / "out.jsonl").exists()


# ---- every format, any jobs, any run size: the same bytes ----------------------------------


def many_claims(count: int = 700, persons: int = 45, seed: int = 3) -> list:
    rng = random.Random(seed)
    claims: list = []
    for index in range(count):
        day = f"202{rng.randint(4, 6)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        record = claim(f"c{index:04d}", f"P{rng.randint(1, persons):02d}", day, f"{rng.randint(1, 4_000_000) / 100:.2f}")
        if rng.random() < 0.05:
            record["ytd_basic"] = f"{rng.randint(0, 900_000) / 100:.2f}"
        claims.append(record)
    claims[50]["amount"] = "12.345"  # cannot be decided
    del claims[120]["person_id"]  # cannot be carried
    claims[300]["service_date"] = "2025-13-01"  # no readable date
    return claims


def write_input(path: Path, claims: list[dict]) -> Path:
    names = ["claim_id", "person_id", "service_date", "amount", "ytd_basic"]
    if path.suffix == ".parquet":  # a null is an absent field
        pq.write_table(pa.Table.from_pylist([{name: c.get(name) for name in names} for c in claims]), path, row_group_size=97)
    elif path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(names)
            writer.writerows([c.get(name, "") for name in names] for c in claims)
    else:
        write_jsonl(path, claims)
    return path


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
def test_jobs_2_writes_the_same_bytes_as_jobs_1(policy_file, tmp_path, capsys, kind):
    claims = many_claims()
    source = write_input(tmp_path / f"claims.{kind}", claims)
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}.{kind}"
        errors = tmp_path / f"errors-{jobs}.{kind}"
        status, stderr = batch(capsys, policy_file, source, out, "--jobs", jobs, "--chunk-size", "40", "--errors", str(errors), "--engine", "row")  # the row engine's carry over worker processes
        assert status == 1 and "697 decided, 3 could not be decided" in stderr and "45 persons" in stderr
        assert ("2 jobs" in stderr) == (jobs == "2")
        outputs[jobs] = (out.read_bytes(), errors.read_bytes())
    assert outputs["1"] == outputs["2"]
    # ... and the records are those of the JSON lines run of the same claims
    reference = write_jsonl(tmp_path / "reference.jsonl", claims)
    batch(capsys, policy_file, reference, tmp_path / "reference-out.jsonl")
    expected = [r for r in read_jsonl(tmp_path / "reference-out.jsonl") if "error" not in r]
    if kind == "jsonl":
        assert read_jsonl(tmp_path / "out-1.jsonl") == expected
        return
    if kind == "csv":
        with (tmp_path / "out-1.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = pq.read_table(tmp_path / "out-1.parquet").to_pylist()
    assert len(rows) == len(expected) == 697
    for row, record in zip(rows, expected):
        assert row["claim_id"] == record["claim_id"]
        assert str(row["basic"]) == record["basic"] and str(row["accumulators.ytd_basic.before"]) == record["accumulators"]["ytd_basic"]["before"]
        assert str(row["accumulators.ytd_major.after"]) == record["accumulators"]["ytd_major"]["after"]
        assert str(row["accumulators.claims_in_year.after"]) == str(record["accumulators"]["claims_in_year"]["after"])
        assert row["accumulators.claims_in_year.period"] == record["accumulators"]["claims_in_year"]["period"]
        assert row["policy.digest"] == record["policy"]["digest"]
    if kind == "parquet":
        schema = pq.read_schema(tmp_path / "out-1.parquet")
        assert str(schema.field("accumulators.ytd_basic.before").type) == "decimal128(38, 2)"
        assert str(schema.field("accumulators.claims_in_year.after").type) == "int64"
        assert str(schema.field("accumulators.ytd_basic.period").type) == "string"


def test_a_tiny_run_size_spills_many_runs_and_writes_the_same_bytes(policy_file, tmp_path, capsys):
    source = write_input(tmp_path / "claims.jsonl", many_claims())
    status, _ = batch(capsys, policy_file, source, tmp_path / "default.csv", "--chunk-size", "40")
    assert status == 1
    # 700 claims in runs of 3: 233 runs, more than FAN_IN, so runs are merged in two levels
    spills = tmp_path / "spills"
    spills.mkdir()
    options = BatchOptions(str(policy_file), str(source), str(tmp_path / "tiny.csv"), jobs=2, chunk_size=40, carry=True, run_size=3, temporary=str(spills))
    summary = run_batch(options)
    assert (summary.claims, summary.errors, summary.persons, summary.carried_per) == (700, 3, 45, "person_id")
    assert (tmp_path / "tiny.csv").read_bytes() == (tmp_path / "default.csv").read_bytes()
    assert list(spills.iterdir()) == []  # the temporary folder is gone


def test_the_external_sort_merges_in_levels():
    import tempfile

    rng = random.Random(11)
    keys = list(range(5_000))
    rng.shuffle(keys)
    with tempfile.TemporaryDirectory() as folder:
        spill = Spill(folder, run_size=7)
        for key in keys:
            spill.add((f"p{key % 13}", key), str(key).encode())
        assert spill.made > FAN_IN  # so `sorted` must merge runs before the last merge
        out = list(spill.sorted())
        assert out == sorted(((f"p{k % 13}", k), str(k).encode()) for k in keys)
        assert list(Path(folder).iterdir()) == []  # each run file removed once read


# ---- the Python API ---------------------------------------------------------------------


def test_the_python_api_carries_in_memory(policy_file, tmp_path, capsys):
    policy = policydsl.load(policy_file)
    claims = shuffled_input() + [claim("a7", "A", "2026-02-01", "12.345"), claim("x", None, "2026-02-01", "1.00")]
    results = policydsl.carry(policy, claims)
    assert len(results) == len(claims)
    *decisions, not_fen, no_person = results
    assert isinstance(not_fen, FactsError) and not_fen.errors[0].path == "amount"
    assert isinstance(no_person, FactsError) and no_person.errors[0].path == "person_id" and no_person.errors[0].code == "F301"
    by_id = {d.claim_id: d for d in decisions}
    assert by_id["a3"].outputs["basic"] == Decimal("1000.00")
    assert by_id["a4"].accumulators["ytd_major"].before == Decimal("7000.00")
    assert by_id["a4"].accumulators["ytd_major"].after == Decimal("20000.00")
    assert by_id["a6"].accumulators["ytd_basic"].period == YEAR_2026
    # the same records as batch --carry
    source = write_jsonl(tmp_path / "claims.jsonl", claims)
    batch(capsys, policy_file, source, tmp_path / "out.jsonl")
    batch_records = read_jsonl(tmp_path / "out.jsonl")
    assert [d.to_json() for d in decisions] == batch_records[: len(decisions)]


def test_the_python_api_an_evaluation_error_adds_nothing_and_int_persons_are_values():
    # 100 / (visits - 1) cannot be computed on a person's second claim of the benefit year
    text = BENEFIT_YEAR.replace("rule visit: int = visits + 1", "rule visit: int = visits + 1\nrule share: number = 100 / (visits - 1)")
    policy = policydsl.loads(text.replace("output visit", "output visit, share"), "benefit.policy")
    day = {"service_date": "2025-08-01", "amount": "1.00"}
    first, second, third, other = policydsl.carry(policy, [
        {"person_id": 7, **day}, {"person_id": Decimal("7.0"), **day}, {"person_id": 7, **day}, {"person_id": 8, **day},
    ])
    assert first.outputs["share"] == Decimal(-100) and first.accumulators["visits"].after == 1
    assert isinstance(second, EvaluationError) and second.code == "R401" and second.rule == "share"
    assert isinstance(third, EvaluationError)  # 7.0 is person 7, and its failed claim added nothing
    assert other.accumulators["visits"].before == 0


def test_the_python_api_refuses_a_policy_without_accumulators():
    plain = policydsl.loads('policy "plain"\ninput {\n  amount: money\n}\nrule paid: money = amount\noutput paid\n', "plain.policy")
    with pytest.raises(policydsl.PolicydslError, match="declares no accumulator") as refused:
        policydsl.carry(plain, [{"amount": "1.00"}])
    assert refused.value.code == "U600"


def test_a_temporary_folder_that_cannot_be_made_is_a_usage_error(policy_file, tmp_path):
    source = write_jsonl(tmp_path / "claims.jsonl", shuffled_input())
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("", encoding="utf-8")
    options = BatchOptions(str(policy_file), str(source), str(tmp_path / "out.jsonl"), carry=True, temporary=str(not_a_folder))
    with pytest.raises(policydsl.PolicydslError, match="cannot make a temporary folder in .* for --carry") as refused:
        run_batch(options)
    assert refused.value.code == "U600"


# ---- lost worker processes ------------------------------------------------------------------


@pytest.mark.skipif(not HAS_PROC, reason="needs /proc to find worker processes")
def test_workers_that_keep_dying_lose_whole_persons_and_nothing_else(policy_file, tmp_path, capsys):
    claims = many_claims(count=3000, persons=200)
    source = write_jsonl(tmp_path / "claims.jsonl", claims)
    batch(capsys, policy_file, source, tmp_path / "reference.jsonl", "--jobs", "1")
    reference = read_jsonl(tmp_path / "reference.jsonl")
    out = tmp_path / "out.jsonl"
    run, err, kills = run_killing_workers(
        [sys.executable, "-m", "policydsl", "batch", str(policy_file), str(source), "-o", str(out), "--carry", "-j", "2", "--chunk-size", "50"], 60, 120
    )
    records = read_jsonl(out)
    assert kills > 0 and run.returncode == 1 and "Traceback" not in err
    assert [r.get("claim_id") for r in records] == [c["claim_id"] for c in claims]  # one each, in input order
    lost = {c.get("person_id") for c, r in zip(claims, records) if r.get("error", "").startswith("not evaluated: the worker process")}
    assert lost  # chunks were lost: every claim of their persons is an error record ...
    for c, record, expected in zip(claims, records, reference):
        if c.get("person_id") in lost:
            assert "error" in record
        else:  # ... and every other claim is what a run without losses gives it
            assert record == expected


# ---- the example province -----------------------------------------------------------------


def test_the_example_province_carries_its_year_to_date_amounts(tmp_path, capsys):
    policy = policydsl.load(EXAMPLE_POLICY)
    if not policy.accumulators:
        pytest.skip("the example province declares no accumulators")
    claims = [json.loads(line) for line in (EXAMPLE / "claims.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    # One person per claim: each claim's own year-to-date amounts open its person's year, so
    # carrying gives what `eval` gives.
    alone = [{**c, "person_id": f"p{index}"} for index, c in enumerate(claims)]
    source = write_jsonl(tmp_path / "alone.jsonl", alone)
    status, _ = batch(capsys, EXAMPLE_POLICY, source, tmp_path / "alone-out.jsonl")
    capsys.readouterr()
    main(["eval", str(EXAMPLE_POLICY), str(source)])
    assert read_jsonl(tmp_path / "alone-out.jsonl") == [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # One person for every claim: in date order, each claim starts where the one before ended
    # (only the first claim's year-to-date amounts are read, as its opening balance).
    together = [{**c, "person_id": "one"} for c in claims]
    source = write_jsonl(tmp_path / "together.jsonl", together)
    status, stderr = batch(capsys, EXAMPLE_POLICY, source, tmp_path / "together-out.jsonl", "--jobs", "2", "--chunk-size", "3")
    records = read_jsonl(tmp_path / "together-out.jsonl")
    assert [r["claim_id"] for r in records] == [c["claim_id"] for c in claims] and "1 person" in stderr
    decided = sorted(
        ((c["service_date"], index, r) for index, (c, r) in enumerate(zip(claims, records)) if "error" not in r),
        key=lambda item: item[:2],
    )
    assert len(decided) >= 10
    first = decided[0][2]
    for name in policy.accumulator_names:
        assert first["accumulators"][name]["before"] == format(Decimal(str(claims[decided[0][1]].get(name, "0"))), ".2f")
    for (_, _, earlier), (day, _, later) in zip(decided, decided[1:]):
        for name in policy.accumulator_names:
            if later["accumulators"][name]["period"] == earlier["accumulators"][name]["period"]:
                assert later["accumulators"][name]["before"] == earlier["accumulators"][name]["after"], (name, day)


def test_the_readme_person_year_example(tmp_path, capsys):
    """The README's worked example: `policies/example/person-year.jsonl`, one person's four
    claims in shuffled order, crossing the basic cap (150,000) on the first claim of 2025 and
    the major-illness cap (400,000) on the third; 2026 starts again from 0."""
    source = EXAMPLE / "person-year.jsonl"
    status, stderr = batch(capsys, EXAMPLE_POLICY, source, tmp_path / "out.jsonl")
    assert status == 0 and "1 person" in stderr
    records = {r["claim_id"]: r for r in read_jsonl(tmp_path / "out.jsonl")}
    assert list(records) == ["p1-c", "p1-a", "p1-d", "p1-b"]  # input order
    paid = {cid: (r["basic"], r["major"], r["patient_pays"]) for cid, r in records.items()}
    assert paid == {
        "p1-a": ("150000.00", "88500.00", "61500.00"),  # (300,000 - 800) x 60% = 179,520, cut to the 150,000 cap
        "p1-b": ("0.00", "210000.00", "90000.00"),  # the basic cap is used up; all 300,000 lies above 100,000 of the year: 70%
        "p1-c": ("0.00", "101500.00", "198500.00"),  # 400,000 - 298,500 left of the major-illness cap
        "p1-d": ("11520.00", "0.00", "8480.00"),  # 2026: (20,000 - 800) x 60%, from 0 again
    }
    assert carried(records["p1-c"], "ytd_major_paid") == ("298500.00", "400000.00", "2025-01-01/2025-12-31")
    assert carried(records["p1-d"], "ytd_basic_paid") == ("0.00", "11520.00", "2026-01-01/2026-12-31")
