"""What issue 13's per-claim goal would take: the example rules written by hand three more ways,
timed against the yardstick (bench/handwritten.py) and the engine in one run.

    python bench/ceiling.py            # ~1 minute: 10,000 generated claims, 7 interleaved rounds
    python bench/ceiling.py --smoke    # a few seconds

Why: the goal is `policy.evaluate` at >= 1.0x the yardstick. An engine can at best emit what
a careful programmer writes by hand, so this writes it by hand twice, both with money as int
fen from the text to the last step and `Decimal` only for the outputs (what an integer-fen
compiler pass would emit):
- `checked`: reads the claim with the checks the engine's reader makes on the fast path
  (every value's type, money as `\\d{1,15}(\\.\\d{1,2})?` text, ints and months in range,
  enum members, no unknown field) and the policy's invariants;
- `lean`: the yardstick's checks only (known categories and levels, no negative money).
And `checked_decimal`: the engine's checks with `Decimal` money, as the engine computes. Each
must give the yardstick's outputs on every claim. `checked_decimal` against the engine shows
what is left to gain by better generated code; `checked` what integer fen adds; `checked`
against the yardstick is the ceiling of an engine that checks what this one checks. The engine
is also timed compiled without its IR passes (`compile_program(passes=False)`: no rules sunk
into the arms that need them, no reuse of what an earlier rule computed), to show what they buy.
"""

from __future__ import annotations

import argparse
import calendar
import datetime
import gc
import re
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate_claims  # noqa: E402
import handwritten  # noqa: E402
from machine import cpu_name  # noqa: E402

EXCLUDED = handwritten.EXCLUDED
ITEM_CATEGORIES = handwritten.ITEM_CATEGORIES
WAITING_EXEMPT = handwritten.WAITING_EXEMPT
PERSON_CATEGORIES = handwritten.PERSON_CATEGORIES
DEDUCTIBLE = {level: int(value * 100) for level, value in handwritten.DEDUCTIBLE.items()}  # fen
LEVEL_RATIO = {level: int(value * 100) for level, value in handwritten.LEVEL_RATIO.items()}  # percent
CROSS_CUT = int(handwritten.CROSS_PROVINCE_CUT * 100)
BASIC_CAP = int(handwritten.BASIC_ANNUAL_CAP * 100)
MAJOR_THRESHOLD = int(handwritten.MAJOR_THRESHOLD * 100)
BANDS = tuple((int(low * 100), None if high is None else int(high * 100), int(rate * 100)) for low, high, rate in handwritten.MAJOR_BANDS)
MAJOR_CAP = int(handwritten.MAJOR_BASE_CAP * 100)
STEP = int(handwritten.INCENTIVE_STEP * 100)
STEP_LIMIT = int(handwritten.INCENTIVE_LIMIT * 100)
ASSISTANCE_THRESHOLD = {category: int(value * 100) for category, value in handwritten.ASSISTANCE_THRESHOLD.items()}
ASSISTANCE_RATIO = int(handwritten.ASSISTANCE_RATIO * 100)
ASSISTANCE_CAP = int(handwritten.ASSISTANCE_CAP * 100)
MONEY_TEXT = re.compile(r"\d{1,15}(\.\d{1,2})?\Z", re.ASCII).match
INT_LIMIT = 10**6
DAYS: dict = {}


class Refused(ValueError):
    """The claim is not read here (the engine would report it, with its field path)."""


def _refuse():
    raise Refused


def _day(text) -> datetime.date:
    day = DAYS.get(text)
    if day is None:
        day = DAYS[text] = datetime.date.fromisoformat(text)
    return day


def _fen(x) -> int:
    """Checked money text to int fen."""
    if type(x) is not str or not MONEY_TEXT(x):
        _refuse()
    point = x.find(".")
    return int(x) * 100 if point < 0 else int(x.replace(".", "")) * (10 if len(x) - point == 2 else 1)


def _lean_fen(x: str) -> int:
    point = x.find(".")
    value = int(x) * 100 if point < 0 else int(x.replace(".", "")) * (10 if len(x) - point == 2 else 1)
    if value < 0:
        _refuse()
    return value


def _whole(x) -> int:
    if type(x) is not int or not 0 <= x < INT_LIMIT:
        _refuse()
    return x


def _add_months(day: datetime.date, months: int) -> datetime.date:
    if not months:
        return day
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    if day.day <= 28:
        return datetime.date(year, month + 1, day.day)
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _half_up(value: int, digits: int) -> int:
    """`value` / 10**digits rounded half away from zero, as Decimal's ROUND_HALF_UP."""
    unit = 10**digits
    half = unit // 2
    return (value + half) // unit if value >= 0 else -((-value + half) // unit)


def _tiers(lower: int, upper: int) -> int:  # fen in, fen x percent out
    total = 0
    for low, high, rate in BANDS:
        low = max(lower, low)
        high = upper if high is None else min(upper, high)
        if high > low:
            total += (high - low) * rate
    return total


def _rules(category, concentrated, enrolled, gap, repaired, continuous, zero_years, service, level, cross, total, excluded, ytd_basic, ytd_major, ytd_base):
    eligible = total - excluded
    if category in WAITING_EXEMPT:
        waits = False
    else:
        waits = not concentrated or gap > 0
    variable = max(0, gap - 1 - repaired)
    wait = 0 if not waits else (max(6, 3 + variable) if gap >= 4 else 3 + variable)
    start = _add_months(enrolled, wait)
    in_waiting = service < start
    if in_waiting:
        basic = major = assistance = 0
    else:
        ratio = LEVEL_RATIO[level] - CROSS_CUT if cross else LEVEL_RATIO[level]
        room = max(0, BASIC_CAP - ytd_basic)
        basic = _half_up(min(max(0, eligible - DEDUCTIBLE[level]) * ratio, room * 100), 2)
        by_tiers = _tiers(max(ytd_base, MAJOR_THRESHOLD), ytd_base + eligible - basic)
        incentive = min(STEP * max(0, continuous - 4) + STEP * zero_years, STEP_LIMIT)
        major = _half_up(min(by_tiers, max(0, MAJOR_CAP + incentive - ytd_major) * 100), 2)
        threshold = ASSISTANCE_THRESHOLD.get(category)
        if threshold is None:
            assistance = 0
        else:
            assistance = _half_up(min(max((eligible - basic - major - threshold) * ASSISTANCE_RATIO, 0), ASSISTANCE_CAP * 100), 2)
    patient = total - basic - major - assistance
    return eligible, excluded, in_waiting, start, basic, major, assistance, patient


def _decision(eligible, excluded, in_waiting, start, basic, major, assistance, patient) -> dict:
    return {
        "eligible": Decimal(eligible).scaleb(-2), "excluded": Decimal(excluded).scaleb(-2), "in_waiting": in_waiting,
        "benefit_start": start, "basic": Decimal(basic).scaleb(-2), "major": Decimal(major).scaleb(-2),
        "assistance": Decimal(assistance).scaleb(-2), "patient_pays": Decimal(patient).scaleb(-2),
    }


def _read_checked(claim, money, zero) -> tuple:
    """The claim's values, with the checks the engine's fast reader makes; `money` converts
    a money text (checked) to fen or Decimal, `zero` is that kind's 0."""
    if type(claim) is not dict or len(claim) != 9 or type(claim["claim_id"]) is not str:
        _refuse()
    person = claim["person"]
    if type(person) is not dict or len(person) != 7:
        _refuse()
    category = person["category"]
    if type(category) is not str or category not in PERSON_CATEGORIES:
        _refuse()
    concentrated = person["enrolled_in_concentrated_period"]
    if concentrated is not True and concentrated is not False:
        _refuse()
    enrolled = _day(person["enrollment_date"])
    gap, repaired = _whole(person["gap_years"]), _whole(person["repaired_months"])
    continuous, zero_years = _whole(person["continuous_years"]), _whole(person["zero_claim_years"])
    service = _day(claim["service_date"])
    level = claim["hospital_level"]
    if type(level) is not int or level not in DEDUCTIBLE:
        _refuse()
    cross = claim["cross_province_unregistered"]
    if cross is not True and cross is not False:
        _refuse()
    items = claim["items"]
    if type(items) is not list:
        _refuse()
    total = excluded = zero
    for item in items:
        if type(item) is not dict or len(item) != 2:
            _refuse()
        kind = item["category"]
        if type(kind) is not str or kind not in ITEM_CATEGORIES:
            _refuse()
        amount = money(item["amount"])
        total += amount
        if kind in EXCLUDED:
            excluded += amount
    return (category, concentrated, enrolled, gap, repaired, continuous, zero_years, service, level, cross, total, excluded,
            money(claim["ytd_basic_paid"]), money(claim["ytd_major_paid"]), money(claim["ytd_major_base"]))


def _invariants(total, basic, major, assistance, patient) -> None:
    if basic + major + assistance + patient != total or min(basic, major, assistance, patient) < 0:
        _refuse()


def checked(claim) -> dict:
    """The engine's fast-path checks, money as int fen."""
    values = _read_checked(claim, _fen, 0)
    out = _rules(*values)
    _invariants(values[10], *out[4:])
    return _decision(*out)


def _money(x) -> Decimal:
    if type(x) is not str or not MONEY_TEXT(x):
        _refuse()
    return Decimal(x)


def checked_decimal(claim) -> dict:
    """The engine's fast-path checks, money as Decimal (the yardstick's arithmetic)."""
    values = _read_checked(claim, _money, handwritten.ZERO)
    category, concentrated, enrolled, gap, repaired, continuous, zero_years, service, level, cross, total, excluded, ytd_basic, ytd_major, ytd_base = values
    eligible = total - excluded
    waits = False if category in WAITING_EXEMPT else (not concentrated or gap > 0)
    variable = max(0, gap - 1 - repaired)
    wait = 0 if not waits else (max(handwritten.LONG_GAP_MIN_WAIT, handwritten.FIXED_WAIT + variable) if gap >= handwritten.LONG_GAP_YEARS else handwritten.FIXED_WAIT + variable)
    start = _add_months(enrolled, wait)
    in_waiting = service < start
    if in_waiting:
        basic = major = assistance = handwritten.ZERO
    else:
        ratio = handwritten.LEVEL_RATIO[level] - handwritten.CROSS_PROVINCE_CUT if cross else handwritten.LEVEL_RATIO[level]
        room = max(handwritten.ZERO, handwritten.BASIC_ANNUAL_CAP - ytd_basic)
        basic = min(max(handwritten.ZERO, eligible - handwritten.DEDUCTIBLE[level]) * ratio, room).quantize(handwritten.FEN, handwritten.ROUND_HALF_UP)
        by_tiers = handwritten.major_tiers(max(ytd_base, handwritten.MAJOR_THRESHOLD), ytd_base + eligible - basic)
        incentive = min(handwritten.INCENTIVE_STEP * max(0, continuous - handwritten.INCENTIVE_AFTER_YEARS) + handwritten.INCENTIVE_STEP * zero_years, handwritten.INCENTIVE_LIMIT)
        major = min(by_tiers, max(handwritten.ZERO, handwritten.MAJOR_BASE_CAP + incentive - ytd_major)).quantize(handwritten.FEN, handwritten.ROUND_HALF_UP)
        threshold = handwritten.ASSISTANCE_THRESHOLD.get(category)
        if threshold is None:
            assistance = handwritten.ZERO
        else:
            assistance = min(max((eligible - basic - major - threshold) * handwritten.ASSISTANCE_RATIO, handwritten.ZERO), handwritten.ASSISTANCE_CAP).quantize(handwritten.FEN, handwritten.ROUND_HALF_UP)
    patient = total - basic - major - assistance
    _invariants(total, basic, major, assistance, patient)
    return {"eligible": eligible.quantize(handwritten.FEN), "excluded": excluded.quantize(handwritten.FEN), "in_waiting": in_waiting, "benefit_start": start,
            "basic": basic.quantize(handwritten.FEN), "major": major.quantize(handwritten.FEN), "assistance": assistance.quantize(handwritten.FEN), "patient_pays": patient.quantize(handwritten.FEN)}


def lean(claim) -> dict:
    """The yardstick's checks only, money as int fen."""
    person = claim["person"]
    category = person["category"]
    if category not in PERSON_CATEGORIES:
        _refuse()
    level = claim["hospital_level"]
    if level not in DEDUCTIBLE:
        _refuse()
    total = excluded = 0
    for item in claim["items"]:
        kind = item["category"]
        if kind not in ITEM_CATEGORIES:
            _refuse()
        amount = _lean_fen(item["amount"])
        total += amount
        if kind in EXCLUDED:
            excluded += amount
    return _decision(*_rules(
        category, person["enrolled_in_concentrated_period"], datetime.date.fromisoformat(person["enrollment_date"]),
        person["gap_years"], person["repaired_months"], person["continuous_years"], person["zero_claim_years"],
        datetime.date.fromisoformat(claim["service_date"]), level, claim["cross_province_unregistered"], total, excluded,
        _lean_fen(claim["ytd_basic_paid"]), _lean_fen(claim["ytd_major_paid"]), _lean_fen(claim["ytd_major_base"])))


def _per_claim_us(function, claims) -> float:
    start = time.process_time()
    for claim in claims:
        function(claim)
    return (time.process_time() - start) / len(claims) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds: checks that it runs, not how fast")
    parser.add_argument("-n", "--claims", type=int, help="generated claims per round (default 10000; smoke 300)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 7; smoke 1)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    count = args.claims or (300 if args.smoke else 10_000)
    rounds = args.rounds or (1 if args.smoke else 7)
    import policydsl

    from policydsl.api import Policy
    from policydsl.backends.python import compile_program

    policy = policydsl.load(HERE.parent / "policies" / "example" / "resident-2025.policy")
    unoptimized = Policy(policy.env, compile_program(policy.program.ir, passes=False), policy.warnings, policy.provenance)
    claims = list(generate_claims.generate(count, seed=args.seed))
    for claim in claims:
        expected = {key: str(value) for key, value in handwritten.evaluate(claim).items()}
        for version in (checked, checked_decimal, lean):
            got = {key: str(value) for key, value in version(claim).items()}
            if got != expected:
                print(f"{version.__name__} disagrees with the yardstick on {claim['claim_id']}: {got} != {expected}", file=sys.stderr)
                return 1
        if unoptimized.evaluate(claim).outputs != policy.evaluate(claim).outputs:
            print(f"the engine without its IR passes disagrees on {claim['claim_id']}", file=sys.stderr)
            return 1
    print(f"machine: {cpu_name()}, Python {sys.version.split()[0]}")
    print(f"workload: example province policy, {count:,} generated claims (seed {args.seed}), facts as dicts, {rounds} interleaved rounds, CPU time")
    print(f"checked, checked_decimal and lean agree with the yardstick on {count:,} of {count:,} claims,"
          " and the engine with its IR passes with the engine without them")
    gc.collect()
    gc.freeze()
    versions = {"engine (policy.evaluate)": policy.evaluate, "engine without its IR passes": unoptimized.evaluate,
                "yardstick (handwritten.py)": handwritten.evaluate,
                "Decimal, the engine's checks": checked_decimal, "int fen, the engine's checks": checked, "int fen, the yardstick's checks": lean}
    times: dict[str, list[float]] = {name: [] for name in versions}
    for _ in range(rounds):
        for name, function in versions.items():
            times[name].append(_per_claim_us(function, claims))
    yardstick = times["yardstick (handwritten.py)"]
    for name, values in times.items():
        ratios = [y / v for y, v in zip(yardstick, values)]
        print(f"  {name:34} {statistics.median(values):6.2f} µs/claim   yardstick / it: {statistics.median(ratios):.2f}x"
              f"  (rounds {min(ratios):.2f}-{max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
