"""`policydsl batch --carry` in flat memory: claims/s and peak RSS at N and 10 x N claims.

    python bench/carry_memory.py                    # 100,000 and 1,000,000 claims (a few minutes)
    python bench/carry_memory.py --claims 300000    # 30,000 and 300,000
    python bench/carry_memory.py --policy small     # a small policy (two caps) instead of the example province

Why: `--carry` must group a file's claims by person and order them by date, and a file may
be larger than memory; the run sorts on disk (tools/batch/carrying.py), so its peak memory
should not grow with the number of claims. Each size is generated into a temporary JSON
lines file (claims of N / 20 persons, in no order: ~20 claims a person over two years), run
in a child process (`policydsl batch POLICY FILE -o OUT --carry`), and measured: wall time,
claims/s and the child's peak resident set size -- `ru_maxrss` of the rusage that wait4 gives
for that child (what `RUSAGE_CHILDREN` gives when it is the only child), i.e. the largest of
the batch process and its worker processes. Flat memory: the same order at 10 x the claims.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "policies" / "example" / "resident-2025.policy"
sys.path.insert(0, str(HERE))

import generate_claims  # noqa: E402

SMALL = """\
policy "carry benchmark"
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
accumulator ytd_major: money per person_id opening 0 yuan adds major
accumulator claims_in_year: int per person_id opening 0 adds 1
rule basic: money = min(round(amount * 50%, half_up), max(0 yuan, basic_cap - ytd_basic))
rule major: money = min(round((amount - basic) * 50%, half_up), max(0 yuan, major_cap - ytd_major))
rule patient_pays: money = amount - basic - major
rule claim_number: int = claims_in_year + 1
output basic, major, patient_pays, claim_number
"""


def write_claims(path: Path, count: int, policy: str, seed: int = 1) -> None:
    """`count` claims of count / 20 persons, in random order of person and date."""
    rng = random.Random(seed)
    persons = max(1, count // 20)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    with path.open("w", encoding="utf-8") as out:
        lines = []
        if policy == "example":
            for claim in generate_claims.generate(count, seed):
                for name in ("ytd_basic_paid", "ytd_major_paid", "ytd_major_base"):  # carried now
                    del claim[name]
                claim["person_id"] = f"P{rng.randint(1, persons):07d}"
                claim["service_date"] = f"{rng.choice((2025, 2025, 2026))}{claim['service_date'][4:]}"
                lines.append(dumps(claim) + "\n")
                if len(lines) >= 10_000:
                    out.write("".join(lines))
                    lines = []
        else:
            for number in range(count):
                day = f"{rng.choice((2025, 2026))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                amount = rng.randint(100, 3_000_000)
                lines.append(f'{{"claim_id": "c{number:08d}", "person_id": "P{rng.randint(1, persons):07d}", '
                             f'"service_date": "{day}", "amount": "{amount // 100}.{amount % 100:02d}"}}\n')
                if len(lines) >= 10_000:
                    out.write("".join(lines))
                    lines = []
        out.write("".join(lines))


def measure(policy: Path, source: Path, output: Path, jobs: int | None) -> dict:
    """Run the batch in a child process: seconds, claims/s, its peak RSS (MiB), its summary."""
    command = [sys.executable, "-m", "policydsl", "batch", str(policy), str(source), "-o", str(output), "--carry"]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    stderr = child.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"batch failed ({child.returncode}):\n{stderr}")
    claims = int(stderr.split(" claims in ")[0].split()[-1].replace(",", ""))
    return {"claims": claims, "seconds": seconds, "rate": claims / seconds, "peak_mib": usage.ru_maxrss / 1024, "summary": stderr.splitlines()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000, help="the larger size (default 1,000,000); the smaller is a tenth")
    parser.add_argument("--policy", choices=("example", "small"), default="example", help="the example province (default) or a small policy")
    parser.add_argument("--jobs", type=int, default=None, help="--jobs for the batch (default: the number of cores)")
    args = parser.parse_args(argv)
    if args.claims < 10:
        parser.error("--claims must be at least 10")
    with tempfile.TemporaryDirectory(prefix="policydsl-carry-bench-") as folder:
        folder = Path(folder)
        policy = EXAMPLE
        if args.policy == "small":
            policy = folder / "small.policy"
            policy.write_text(SMALL, encoding="utf-8")
        print(f"policydsl batch --carry, {args.policy} policy, {platform.python_implementation()} {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, jobs {args.jobs or 'default'}")
        results = []
        for count in (args.claims // 10, args.claims):
            source = folder / f"claims-{count}.jsonl"
            made = time.perf_counter()
            write_claims(source, count, args.policy)
            size = source.stat().st_size / 1024 / 1024
            print(f"  {count:>10,} claims ({size:,.0f} MiB, generated in {time.perf_counter() - made:.0f} s) ...", flush=True)
            result = measure(policy, source, folder / "out.jsonl", args.jobs)
            results.append(result)
            print(f"  {count:>10,} claims: {result['seconds']:7.1f} s  {result['rate']:8,.0f} claims/s  peak RSS {result['peak_mib']:6.1f} MiB")
            print(f"      {result['summary']}")
            source.unlink()
        small, large = results
        print(f"  peak RSS at 10x the claims: {large['peak_mib'] / small['peak_mib']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
