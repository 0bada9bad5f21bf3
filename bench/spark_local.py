"""`policydsl.spark.decide` on Spark local[2]: claims/s from Parquet to Parquet.

    python bench/spark_local.py                 # 200,000 generated claims
    python bench/spark_local.py -n 1000000      # more
    python bench/spark_local.py --carry         # with person ids (~20 claims a person), carried
    python bench/spark_local.py --smoke         # 2,000 claims: does it run

The claims (bench/generate_claims.py: nested structs, item lists, money as strings) are
written to a temporary Parquet file first; the figure is the wall time of `decide` over
`spark.read.parquet(...)` with `df.write.parquet(...)` -- reading, deciding on the Python
executors (each loads the policy once), writing -- after a warm-up run on a few claims in two
partitions, so that starting the JVM and both Python workers is not counted (it is printed
apart); each of `--runs` timed runs is printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "policies" / "example" / "resident-2025.policy"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import generate_claims  # noqa: E402
from machine import cpu_name  # noqa: E402


def claims(n: int, seed: int, carry: bool):
    for number, claim in enumerate(generate_claims.generate(n, seed)):
        if carry:
            claim["person_id"] = f"p-{number % max(1, n // 20):07d}"
        yield claim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="policydsl.spark.decide throughput on Spark local[2].")
    parser.add_argument("-n", "--claims", type=int, default=200_000, help="claims (default 200000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--carry", action="store_true", help="carry accumulators per person (adds person ids)")
    parser.add_argument("--engine", default="auto", choices=("auto", "row", "columnar"))
    parser.add_argument("--runs", type=int, default=2, help="timed runs (default 2: the first pays for the JVM's warm-up)")
    parser.add_argument("--smoke", action="store_true", help="a tiny run (2,000 claims)")
    args = parser.parse_args(argv)
    n = 2_000 if args.smoke else args.claims

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from policydsl import spark as policydsl_spark

    print(f"machine: {platform.processor() or cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="policydsl-spark-bench-") as folder:
        source = str(Path(folder, "claims.parquet"))
        started = time.perf_counter()
        generate_claims.write_parquet(source, claims(n, args.seed, args.carry))
        print(f"generated {n:,} claims in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]")
            .appName("policydsl-bench")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        warm = spark.read.parquet(source).limit(400).repartition(2)  # a task on each core: both Python workers start
        policydsl_spark.decide(warm, str(EXAMPLE), carry=args.carry, engine=args.engine).write.mode("overwrite").parquet(str(Path(folder, "warm")))
        print(f"Spark {spark.version} local[2] started, Python workers warm: {time.perf_counter() - started:.1f} s")

        runs = []
        for run in range(1 if args.smoke else args.runs):
            started = time.perf_counter()
            frame = spark.read.parquet(source)
            decided = policydsl_spark.decide(frame, str(EXAMPLE), carry=args.carry, engine=args.engine)
            decided.write.mode("overwrite").parquet(str(Path(folder, "decided")))
            runs.append(time.perf_counter() - started)
        written = spark.read.parquet(str(Path(folder, "decided")))
        rows, errors = written.count(), written.where("error is not null").count()
        spark.stop()
    assert rows == n, (rows, n)
    what = "carried" if args.carry else "decided"
    for number, seconds in enumerate(runs, 1):
        print(f"run {number}: {what} {n:,} claims ({errors:,} error rows), Parquet to Parquet, engine {args.engine}: {seconds:.1f} s = {n / seconds:,.0f} claims/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
