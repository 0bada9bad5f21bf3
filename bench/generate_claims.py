"""Seeded generator of realistic claims for the example province (policies/example).

Why: the benchmark and the batch tests need many claims that exercise every rule of the
example policy (all person categories, hospital levels, waiting periods, exclusions,
year-to-date amounts near the caps, 1-5 items) and that are the same on every run.

    python bench/generate_claims.py -n 1000000 --seed 1 -o claims.jsonl   # streams, flat memory
    python bench/generate_claims.py -n 1000 -o claims.csv        # or .parquet: batch's layouts
    from generate_claims import generate; claims = list(generate(1000, seed=1))

Money is written as strings with two decimals, dates as ISO strings, like real input.
Its claims are the example's schema only, kept fixed so that benchmark figures compare across
runs; for any other policy, `policydsl generate POLICY -n N -o FILE` makes claims from the
policy's own input schema (tools/generate.py).
"""

from __future__ import annotations

import argparse
import datetime
import random
import sys
from typing import Iterator

from policydsl.tools import generate as generated
from policydsl.tools.generate import flatten  # noqa: F401 - one CSV row; tests/test_batch.py uses it

CATEGORIES = ("ordinary", "newborn", "assistance_object", "worker_transfer", "retired_military", "low_income")
CATEGORY_WEIGHTS = (78, 3, 5, 3, 2, 9)
ITEM_CATEGORIES = ("covered", "work_injury", "third_party", "public_health", "abroad", "wellness")
ITEM_WEIGHTS = (86, 3, 3, 2, 1, 5)
LEVELS = (1, 2, 3)
LEVEL_WEIGHTS = (40, 35, 25)

_EPOCH_2025 = datetime.date(2025, 1, 1).toordinal()


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _amount_cents(rng: random.Random) -> int:
    """Mostly outpatient-sized bills, some stays, a few catastrophic ones (for the tiers)."""
    roll = rng.random()
    if roll < 0.55:
        yuan = rng.lognormvariate(6.0, 1.0)  # ~400 yuan
    elif roll < 0.92:
        yuan = rng.lognormvariate(8.8, 0.8)  # ~6,600 yuan
    else:
        yuan = rng.lognormvariate(10.9, 0.7)  # ~54,000 yuan
    return max(1, min(int(yuan * 100), 90_000_000))


def _person(rng: random.Random, service: datetime.date) -> dict:
    category = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
    concentrated = rng.random() < 0.8
    gap_years = 0 if rng.random() < 0.75 else rng.randint(1, 8)
    repaired = rng.randint(0, gap_years) if gap_years and rng.random() < 0.4 else 0
    if category == "newborn":
        enrollment = service - datetime.timedelta(days=rng.randint(0, 120))
        continuous = rng.randint(0, 1)
    elif concentrated and gap_years == 0:
        enrollment = datetime.date(service.year - 1, rng.randint(9, 12), rng.randint(1, 28))
        continuous = rng.randint(1, 30)
    else:  # enrolled late or after a lapse: some claims fall in the waiting period
        enrollment = service - datetime.timedelta(days=rng.randint(0, 400))
        continuous = rng.randint(0, 5)
    zero_claim = rng.randint(0, min(continuous, 8)) if rng.random() < 0.3 else 0
    return {
        "category": category,
        "enrolled_in_concentrated_period": concentrated,
        "enrollment_date": enrollment.isoformat(),
        "gap_years": gap_years,
        "repaired_months": repaired,
        "continuous_years": continuous,
        "zero_claim_years": zero_claim,
    }


def _ytd(rng: random.Random) -> tuple[str, str, str]:
    """Year-to-date amounts: mostly nothing yet, some near or past the caps."""
    roll = rng.random()
    if roll < 0.7:
        return "0.00", "0.00", "0.00"
    if roll < 0.95:
        basic = rng.randint(0, 12_000_000)
        base = rng.randint(0, 6_000_000)
        return _money(basic), _money(base // 2 if base > 1_500_000 else 0), _money(base)
    basic = rng.randint(14_000_000, 16_000_000)  # at or over the basic cap
    base = rng.randint(40_000_000, 80_000_000)
    return _money(basic), _money(rng.randint(35_000_000, 50_000_000)), _money(base)


def claim(rng: random.Random, number: int) -> dict:
    """One claim; `number` makes its claim_id."""
    service = datetime.date.fromordinal(_EPOCH_2025 + rng.randint(0, 364))
    items = []
    for _ in range(rng.choices((1, 2, 3, 4, 5), (45, 25, 15, 10, 5))[0]):
        items.append({"category": rng.choices(ITEM_CATEGORIES, ITEM_WEIGHTS)[0], "amount": _money(_amount_cents(rng))})
    ytd_basic, ytd_major, ytd_base = _ytd(rng)
    return {
        "claim_id": f"c-{number:08d}",
        "person": _person(rng, service),
        "service_date": service.isoformat(),
        "hospital_level": rng.choices(LEVELS, LEVEL_WEIGHTS)[0],
        "cross_province_unregistered": rng.random() < 0.05,
        "items": items,
        "ytd_basic_paid": ytd_basic,
        "ytd_major_paid": ytd_major,
        "ytd_major_base": ytd_base,
    }


def generate(n: int, seed: int = 1) -> Iterator[dict]:
    """`n` claims, the same ones for the same seed; a generator, so any `n` fits in memory."""
    rng = random.Random(seed)
    for number in range(1, n + 1):
        yield claim(rng, number)


# Writers: policydsl's generator's (`policydsl generate`), in rows of 10,000 claims.
def write_jsonl(stream, claims) -> None:
    generated.write_jsonl(stream, claims, 10_000)


def write_csv(stream, claims) -> None:
    generated.write_csv(stream, claims, 10_000)


def write_parquet(path: str, claims) -> None:
    """Nested structs and lists, money as strings (exact), dates as ISO strings."""
    generated.write_parquet(path, claims, 10_000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate seeded claims for the example policy (the benchmarks' fixed corpus). For any other policy use: policydsl generate POLICY -n N -o FILE.")
    parser.add_argument("-n", "--count", type=int, default=10_000, help="number of claims (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("-o", "--output", default="-", help="output file: .jsonl, .csv or .parquet; - for JSON lines on stdout (default)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must not be negative")
    claims = generate(args.count, args.seed)
    if args.output == "-":
        write_jsonl(sys.stdout, claims)
    elif args.output.endswith(".parquet"):
        write_parquet(args.output, claims)
    else:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            (write_csv if args.output.endswith(".csv") else write_jsonl)(out, claims)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
