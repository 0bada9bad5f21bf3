"""policydsl.spark on a real local[2] SparkSession: the rows `policydsl batch` writes, with and
without --carry, and error rows for bad claims. pyspark missing fails this module (CI installs
it through `.[test]`)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from policydsl import spark as policydsl_spark
from policydsl.api import load
from policydsl.diagnostics.model import PolicyError
from policydsl.tools.batch.tables import chunk_worker, decide_table
from policydsl.tools.claims_io import UsageError

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "example" / "resident-2025.policy"
sys.path.insert(0, str(ROOT / "bench"))
from generate_claims import generate  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the executors' Python: this venv's
    session = (
        SparkSession.builder.master("local[2]")
        .appName("policydsl-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.files.maxPartitionBytes", "8192")  # several input partitions
        .config("spark.sql.files.openCostInBytes", "1024")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "40")  # several batches a partition
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _example(name: str) -> list[dict]:
    return [json.loads(line) for line in (ROOT / "policies" / "example" / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _parquet(path: Path, claims: list[dict]) -> Path:
    """The claims as Parquet (every row with every column; small row groups, so that Spark
    reads the file as several partitions)."""
    keys = list(dict.fromkeys(key for claim in claims for key in claim))
    pq.write_table(pa.Table.from_pylist([{key: claim.get(key) for key in keys} for claim in claims]), path, row_group_size=64)
    return path


def _batch(tmp_path: Path, source: Path, *options: str) -> list[dict]:
    out = tmp_path / f"batch{'-'.join(options)}.parquet"
    done = subprocess.run([sys.executable, "-m", "policydsl", "batch", str(POLICY), str(source), "-o", str(out), *options], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr  # 1: some claims were not decided
    return pq.read_table(out).to_pylist()


def _keyed(rows: list[dict]) -> dict:
    keyed = {row["claim_id"] if row["claim_id"] is not None else ("line", row["line"]): row for row in rows}
    assert len(keyed) == len(rows)
    return keyed


def _spark_rows(frame) -> list[dict]:
    return [row.asDict() for row in frame.collect()]


def test_decide_gives_batch_rows(spark, tmp_path):
    claims = list(generate(300, seed=11)) + _example("claims.jsonl")
    nameless = copy.deepcopy(claims[5])
    del nameless["claim_id"]
    nameless["items"][0]["amount"] = "-1.00"  # an error row without a claim_id: named by its line
    claims.append(nameless)
    source = _parquet(tmp_path / "claims.parquet", claims)
    expected = _keyed(_batch(tmp_path, source))
    frame = spark.read.parquet(str(source))
    assert frame.rdd.getNumPartitions() > 1
    for engine in ("auto", "row"):
        got = _keyed(_spark_rows(policydsl_spark.decide(frame, str(POLICY), engine=engine)))
        assert got == expected, engine
    assert expected[("line", len(claims))]["error"]


def _person_year(tmp_path: Path) -> Path:
    claims = _example("person-year.jsonl")
    for number, claim in enumerate(generate(90, seed=5)):
        claim["person_id"] = f"g-{number % 9}"
        if number % 3:
            for name in ("ytd_basic_paid", "ytd_major_paid", "ytd_major_base"):
                del claim[name]  # an opening balance on some claims only
        claims.append(claim)
    for copy_number in range(3):  # one person's claims of one day: carried in input order
        tie = copy.deepcopy(claims[4])
        tie["claim_id"] += f"-tie{copy_number}"
        tie["items"][0]["amount"] = f"{1000 * (copy_number + 1)}.00"
        claims.append(tie)
    bad = copy.deepcopy(claims[6])
    bad["claim_id"] += "-bad"
    bad["items"][0]["amount"] = "-3.00"  # not decided: adds nothing to its person
    claims.insert(7, bad)
    nobody = copy.deepcopy(claims[8])
    nobody["claim_id"] += "-nobody"
    del nobody["person_id"]  # cannot be carried: F301, decided alone
    claims.append(nobody)
    undated = copy.deepcopy(claims[9])
    undated["claim_id"] += "-undated"
    undated["service_date"] = "2025-02-30"  # no readable date: decided alone
    claims.append(undated)
    return _parquet(tmp_path / "person-year.parquet", claims)


def test_carry_gives_batch_carry_rows(spark, tmp_path, monkeypatch):
    source = _person_year(tmp_path)
    expected = _keyed(_batch(tmp_path, source, "--carry"))
    assert expected["p1-c"]["accumulators.ytd_basic_paid.before"] > 0  # carried from p1-a
    frame = spark.read.parquet(str(source))
    for engine, chunk in (("auto", 20_000), ("row", 20_000), ("auto", 7), ("row", 7)):  # 7: persons cut into chunks
        monkeypatch.setattr(policydsl_spark, "_CARRY_CHUNK", chunk)
        got = _keyed(_spark_rows(policydsl_spark.decide(frame, str(POLICY), carry=True, engine=engine)))
        assert got == expected, (engine, chunk)
    nobody = next(row for key, row in expected.items() if str(key).endswith("-nobody"))
    assert "person_id: missing" in nobody["error"]


def test_bad_claims_give_error_rows(spark, tmp_path):
    good, negative, missing = (copy.deepcopy(claim) for claim in _example("claims.jsonl")[:3])
    negative["items"][0]["amount"] = "-12.00"
    del missing["hospital_level"]
    source = _parquet(tmp_path / "bad.parquet", [good, negative, missing])
    policy = load(POLICY)
    row_engine = _keyed(decide_table(policy, pq.read_table(source), worker=chunk_worker(policy, engine="row")).to_pylist())
    got = _keyed(_spark_rows(policydsl_spark.decide(spark.read.parquet(str(source)), str(POLICY))))
    assert len(got) == 3
    assert got[good["claim_id"]]["error"] is None and got[good["claim_id"]]["basic"] is not None
    for claim, field in ((negative, "items[0].amount"), (missing, "hospital_level")):
        row = got[claim["claim_id"]]
        assert row["error"] == row_engine[claim["claim_id"]]["error"]
        assert row["error"].startswith("invalid facts: ") and field in row["error"]
        assert row["basic"] is None and row["policy.id"] is None


def test_usage_mistakes(spark, tmp_path, monkeypatch):
    frame = spark.createDataFrame([("c-1",)], ["claim_id"])
    broken = tmp_path / "policies" / "broken.policy"
    broken.parent.mkdir()
    broken.write_text('policy "broken"\n  version "1"\n\noutput nothing = missing_name\n', encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        policydsl_spark.decide(frame, str(broken))
    assert str(error.value)
    with pytest.raises(PolicyError, match="no-such"):
        policydsl_spark.decide(frame, str(tmp_path / "no-such.policy"))
    with pytest.raises(UsageError, match="unknown engine"):
        policydsl_spark.decide(frame, str(POLICY), engine="fast")
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UsageError, match=r"pip install 'policydsl\[spark\]'"):
        policydsl_spark.decide(frame, str(POLICY))


def test_policy_is_shipped_and_loaded_once_per_process(monkeypatch):
    path = ROOT / "policies" / "jiangxi-nanchang" / "resident-2025.policy"
    policy = load(path)
    texts, main = policydsl_spark._texts(policy, path)
    assert main == "jiangxi-nanchang/resident-2025.policy"
    assert set(texts) == {main, "jiangxi/resident-2025.policy", "national/baseline-2025.policy"}
    monkeypatch.setattr(policydsl_spark, "_LOADED", {})
    monkeypatch.setattr(policydsl_spark, "_WORKERS", {})
    first = policydsl_spark._worker(texts, main, "digest", None, "row", False)
    again = policydsl_spark._worker(texts, main, "digest", None, "row", True)
    assert first[0] is again[0] and first[1] is again[1] and len(policydsl_spark._LOADED) == 1
    assert first[0].provenance == policy.provenance  # the same id and digest as the driver's
