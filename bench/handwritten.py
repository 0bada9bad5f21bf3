"""The yardstick: the example province's rules written by hand in plain Python.

Why: issue 5 asks the compiled engine to reach at least half the throughput of code a
competent engineer would write for this one policy. This is that code: `decimal.Decimal`
money, `datetime.date` dates, dict lookups for the tables, a loop for the tiers, and the
plain checks such code would make (known categories and levels, no negative money). It
takes the same claim dicts as `policy.evaluate` (money as strings, dates as ISO strings)
and returns the same output values. It gives no field paths in its errors.

Rules: policies/example/resident-2025.policy (2025 implementing opinions, items 4-7).
"""

from __future__ import annotations

import calendar
import datetime
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
FEN = Decimal("0.01")

EXCLUDED = frozenset({"work_injury", "third_party", "public_health", "abroad", "wellness"})
ITEM_CATEGORIES = EXCLUDED | {"covered"}
WAITING_EXEMPT = frozenset({"newborn", "assistance_object", "worker_transfer", "retired_military"})
PERSON_CATEGORIES = WAITING_EXEMPT | {"ordinary", "low_income"}
FIXED_WAIT = 3
LONG_GAP_YEARS = 4
LONG_GAP_MIN_WAIT = 6

DEDUCTIBLE = {1: Decimal(200), 2: Decimal(500), 3: Decimal(800)}
LEVEL_RATIO = {1: Decimal("0.90"), 2: Decimal("0.75"), 3: Decimal("0.60")}
CROSS_PROVINCE_CUT = Decimal("0.10")
BASIC_ANNUAL_CAP = Decimal(150_000)

MAJOR_THRESHOLD = Decimal(15_000)
MAJOR_BANDS = ((MAJOR_THRESHOLD, Decimal(50_000), Decimal("0.60")),
               (Decimal(50_000), Decimal(100_000), Decimal("0.65")),
               (Decimal(100_000), None, Decimal("0.70")))
MAJOR_BASE_CAP = Decimal(400_000)
INCENTIVE_STEP = Decimal(4_000)
INCENTIVE_AFTER_YEARS = 4
INCENTIVE_LIMIT = MAJOR_BASE_CAP * Decimal("0.20")

ASSISTANCE_THRESHOLD = {"assistance_object": ZERO, "low_income": Decimal(5_000)}
ASSISTANCE_RATIO = Decimal("0.70")
ASSISTANCE_CAP = Decimal(60_000)


def money(text) -> Decimal:
    value = Decimal(text)
    if value < 0:
        raise ValueError(f"negative money: {text}")
    return value


def add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


def major_tiers(lower: Decimal, upper: Decimal) -> Decimal:
    total = ZERO
    for low, high, rate in MAJOR_BANDS:
        low = max(lower, low)
        high = upper if high is None else min(upper, high)
        if high > low:
            total += (high - low) * rate
    return total


def evaluate(claim: dict) -> dict:
    """The decision for one claim: the policy's outputs, money as Decimal to the fen."""
    person = claim["person"]
    category = person["category"]
    if category not in PERSON_CATEGORIES:
        raise ValueError(f"unknown person category {category!r}")
    level = claim["hospital_level"]
    if level not in DEDUCTIBLE:
        raise ValueError(f"unknown hospital level {level!r}")

    # 1. the bill and its exclusions
    total = excluded = ZERO
    for item in claim["items"]:
        amount = money(item["amount"])
        item_category = item["category"]
        if item_category not in ITEM_CATEGORIES:
            raise ValueError(f"unknown item category {item_category!r}")
        total += amount
        if item_category in EXCLUDED:
            excluded += amount
    eligible = total - excluded

    # 2. waiting period
    gap_years = person["gap_years"]
    if category in WAITING_EXEMPT:
        waiting = 0
    elif not person["enrolled_in_concentrated_period"] or gap_years > 0:
        variable = max(0, gap_years - 1 - person["repaired_months"])
        waiting = FIXED_WAIT + variable
        if gap_years >= LONG_GAP_YEARS:
            waiting = max(LONG_GAP_MIN_WAIT, waiting)
    else:
        waiting = 0
    benefit_start = add_months(datetime.date.fromisoformat(person["enrollment_date"]), waiting)
    in_waiting = datetime.date.fromisoformat(claim["service_date"]) < benefit_start

    ytd_basic = money(claim["ytd_basic_paid"])
    ytd_major = money(claim["ytd_major_paid"])
    ytd_base = money(claim["ytd_major_base"])
    if in_waiting:
        basic = major = assistance = ZERO
    else:
        # 3. basic fund
        ratio = LEVEL_RATIO[level]
        if claim["cross_province_unregistered"]:
            ratio -= CROSS_PROVINCE_CUT
        room = max(ZERO, BASIC_ANNUAL_CAP - ytd_basic)
        basic = min(max(ZERO, eligible - DEDUCTIBLE[level]) * ratio, room).quantize(FEN, ROUND_HALF_UP)

        # 4. major-illness insurance
        by_tiers = major_tiers(max(ytd_base, MAJOR_THRESHOLD), ytd_base + eligible - basic)
        incentive = min(
            INCENTIVE_STEP * max(0, person["continuous_years"] - INCENTIVE_AFTER_YEARS)
            + INCENTIVE_STEP * person["zero_claim_years"],
            INCENTIVE_LIMIT,
        )
        major_room = max(ZERO, MAJOR_BASE_CAP + incentive - ytd_major)
        major = min(by_tiers, major_room).quantize(FEN, ROUND_HALF_UP)

        # 5. medical assistance
        threshold = ASSISTANCE_THRESHOLD.get(category)
        if threshold is None:
            assistance = ZERO
        else:
            remaining = (eligible - basic - major - threshold) * ASSISTANCE_RATIO
            assistance = min(max(remaining, ZERO), ASSISTANCE_CAP).quantize(FEN, ROUND_HALF_UP)

    return {
        "eligible": eligible.quantize(FEN),
        "excluded": excluded.quantize(FEN),
        "in_waiting": in_waiting,
        "benefit_start": benefit_start,
        "basic": basic.quantize(FEN),
        "major": major.quantize(FEN),
        "assistance": assistance.quantize(FEN),
        "patient_pays": (total - basic - major - assistance).quantize(FEN),
    }
