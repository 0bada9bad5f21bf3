"""Parquet -> Parquet `policydsl batch` on the example province: the columnar engine, the row
engine and the I/O floor, in one run.

    python bench/columnar.py               # 1,000,000 claims (about a minute, plus generating them once)
    python bench/columnar.py -n 200000     # fewer
    python bench/columnar.py --smoke       # a few seconds: checks that it runs (CI), not how fast

What it prints (rounds alternate; the median of each):
- batch claims/s with `--engine columnar` and `--engine row`, each a `policydsl batch` run
  in a fresh process as a user runs it (policy load and process start included);
- the I/O floor: pyarrow alone reading the same input file and writing an output of the
  same shape (the columnar run's own output table), in this process; and batch's time as a
  multiple of it (the goal: within 2x);
- the kernel: µs per claim of `Columnar.decide` alone, on columns already read.
The generated claims are cached in the temporary folder by count and seed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLICY = ROOT / "policies" / "example" / "resident-2025.policy"
sys.path.insert(0, str(HERE))

import generate_claims  # noqa: E402


def claims_file(count: int, seed: int, carry: bool = False) -> Path:
    """The generated claims as Parquet; with `carry`, about 20 claims a person, in no order."""
    path = Path(tempfile.gettempdir()) / f"policydsl-bench-claims-{count}-{seed}{'-persons' if carry else ''}.parquet"
    if not path.exists():
        partial = path.with_suffix(".partial")
        claims = generate_claims.generate(count, seed=seed)
        if carry:
            persons = max(1, count // 20)
            claims = ({**claim, "person_id": f"p{(index * 7919) % persons}"} for index, claim in enumerate(claims))
        generate_claims.write_parquet(str(partial), claims)
        partial.replace(path)
    return path


def run_batch(source: Path, target: Path, engine: str, carry: bool = False) -> float:
    command = [sys.executable, "-m", "policydsl", "batch", str(POLICY), str(source), "-o", str(target), "--engine", engine, *(["--carry"] if carry else [])]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"batch --engine {engine} failed ({done.returncode}):\n{done.stderr}")
    if f"engine: {engine}" not in done.stderr:
        raise SystemExit(f"batch did not run the {engine} engine:\n{done.stderr}")
    return seconds


def io_floor(source: Path, output_table, target: Path) -> float:
    import pyarrow.parquet as pq

    started = time.perf_counter()
    pq.read_table(source)
    pq.write_table(output_table, target)
    return time.perf_counter() - started


def kernel_seconds(source: Path) -> tuple[float, int]:
    """Seconds of `Columnar.decide` over the whole file's columns, and the rows it left."""
    import pyarrow.parquet as pq

    import policydsl
    from policydsl.backends import arrow_facts
    from policydsl.backends.columnar import compile_columnar

    policy = policydsl.load(POLICY)
    kernel = compile_columnar(policy)
    batch = pq.read_table(source).combine_chunks().to_batches()[0]
    columns, unreadable = arrow_facts.read(policy.program.ir, batch)
    started = time.perf_counter()
    decided = kernel.decide(columns, batch.num_rows, unreadable)
    return time.perf_counter() - started, int(decided.fallback.sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="a tiny run: checks that it works, not how fast")
    parser.add_argument("--carry", action="store_true", help="batch --carry on claims of many persons (about 20 each); no kernel or floor figures")
    args = parser.parse_args(argv)
    if args.smoke:
        args.count, args.rounds = 2_000, 1
    import pyarrow.parquet as pq

    source = claims_file(args.count, args.seed, args.carry)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, Python {platform.python_version()}")
    print(f"claims: {args.count:,} (seed {args.seed}), {source.stat().st_size / 1e6:.1f} MB Parquet; {args.rounds} rounds")
    columnar, row, floor = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for _ in range(args.rounds):
            columnar.append(run_batch(source, out / "columnar.parquet", "columnar", args.carry))
            row.append(run_batch(source, out / "row.parquet", "row", args.carry))
            floor.append(io_floor(source, pq.read_table(out / "columnar.parquet"), out / "floor.parquet"))
        same = pq.read_table(out / "columnar.parquet").equals(pq.read_table(out / "row.parquet"))
    c, r = statistics.median(columnar), statistics.median(row)
    if args.carry:
        print(f"batch --carry --engine columnar: {args.count / c:>10,.0f} claims/s ({c:.2f} s)")
        print(f"batch --carry --engine row:      {args.count / r:>10,.0f} claims/s ({r:.2f} s); columnar is {r / c:.1f}x the row engine")
        print(f"outputs identical: {same}")
        return 0 if same else 1
    kernel, left = kernel_seconds(source)
    c, r, f = statistics.median(columnar), statistics.median(row), statistics.median(floor)
    print(f"batch --engine columnar: {args.count / c:>10,.0f} claims/s ({c:.2f} s)")
    print(f"batch --engine row:      {args.count / r:>10,.0f} claims/s ({r:.2f} s); columnar is {r / c:.1f}x the row engine")
    print(f"I/O floor (pyarrow read + write): {f:.2f} s; columnar batch takes {c / f:.1f}x the floor (goal: within 2x)")
    print(f"kernel: {kernel / args.count * 1e6:.2f} µs per claim ({left} rows left to the row engine)")
    print(f"outputs identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
