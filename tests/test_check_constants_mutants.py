"""The checker's value passes, pinned where mutation testing found gaps (docs/mutation.md).

Covered: the constants pass (`policydsl.check.constants`: the bounds of computed values,
C224 and where it is reported, C215 floors and ceilings, C218 dated defaults, C220-C223
ranges, coverage and tier bands, the bare-number C220 at its param), the accumulator pass
(`check.accumulators`: C260-C266, W234, W235), the warnings (`check.warnings`: W230, W231,
W232, W238) and the periods pass (`check.periods`: C210, C211, C216, C217, W236 and the
segments it cuts). Each test asserts the diagnostic's code, its line:col span and the words
of its message that matter, or the value the pass computes (a segment's constants, a field
default, the days of a segment).

Policies are checked inside each test, never at import: mutmut switches mutants per call.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from policydsl.api import analyze
from policydsl.syntax.source import SourceFile

HEAD = 'policy "t"\nenum Kind { a, b, c }\ninput {\n  cost: money\n  kind: Kind\n}\n'  # definitions start on line 7
A39 = "1." + "0" * 37 + "1"  # 39 significant digits: its 6th power needs more than 200


def check(text: str, name: str = "t.policy", root: Path | None = None):
    """(the checked environment, its diagnostics as (code, 'line:col-line:col', message))."""
    env, found = analyze(SourceFile(name, text), root)
    return env, [(d.code, _span(d.span), d.message) for d in found]


def _span(span) -> str:
    return f"{span.line}:{span.column}-{span.end_line}:{span.end_column}"


def found(text: str, name: str = "t.policy", root: Path | None = None) -> list[tuple]:
    return check(text, name, root)[1]


def errors(text: str, name: str = "t.policy", root: Path | None = None) -> list[tuple]:
    return [d for d in found(text, name, root) if not d[0].startswith("W")]


def diagnostics(text: str, name: str = "t.policy", root: Path | None = None) -> list:
    return analyze(SourceFile(name, text), root)[1]


def constants(text: str, index: int = 0) -> dict:
    env, _ = check(text)
    return env.segments[index].constants


HINT_C224 = "policy values are exact; keep amounts below 10^15 yuan and numbers below 10^20"


# ---- constants: C224, the bounds of every computed value ----------------------------------


def test_money_is_refused_at_the_limit_and_allowed_one_fen_below():
    text = HEAD + (
        "param m1 = 999_999_999_999_999.99 yuan + 0 yuan\n"
        "param m2 = -999_999_999_999_999.99 yuan - 0.01 yuan\n"
        "param m3 = 999_999_999_999_999.99 yuan + 0.01 yuan\n"
        "rule r: money = cost + m1 + m2 + m3\noutput r\n"
    )
    env, got = check(text)
    assert got == [
        ("C224", "8:12-8:52", "`-999_999_999_999_999.99 yuan - 0.01 yuan` is -1000000000000000.00 yuan; money must stay below 1,000,000,000,000,000 yuan"),
        ("C224", "9:12-9:51", "`999_999_999_999_999.99 yuan + 0.01 yuan` is 1000000000000000.00 yuan; money must stay below 1,000,000,000,000,000 yuan"),
    ]
    assert [d.hint for d in diagnostics(text)] == [HINT_C224, HINT_C224]
    assert env.segments[0].constants == {"m1": Decimal("999999999999999.99")}


def test_whole_numbers_are_refused_past_ten_to_the_eighteen_and_allowed_at_it():
    text = HEAD + (
        "param i1 = 999_999_999_999_999_999 + 1\n"
        "param i2 = -999_999_999_999_999_999 - 1\n"
        "param i3 = -999_999_999_999_999_999 - 2\n"
        "param mo = 999_999_999_999_999_999 months + 1 month\n"
        "param mo2 = 999_999_999_999_999_999 months + 2 months\n"
        "rule r: money = cost * i1 * i2 * i3\nrule r2: months = mo + mo2\noutput r, r2\n"
    )
    env, got = check(text)
    assert got == [
        ("C224", "9:12-9:40", "`-999_999_999_999_999_999 - 2` is beyond ±1,000,000,000,000,000,000, the range of whole numbers"),
        ("C224", "11:13-11:54", "`999_999_999_999_999_999 months + 2 months` is beyond ±1,000,000,000,000,000,000, the range of whole numbers"),
    ]
    assert env.segments[0].constants == {"i1": 10**18, "i2": -(10**18), "mo": 10**18}


def test_numbers_are_refused_at_ten_to_the_twenty():
    text = HEAD + (
        "param n1: number = 99_999_999_999_999_999_999.9 + 0.09\n"
        "param n2: number = 0 - 99_999_999_999_999_999_999.9 - 0.1\n"
        "param n3: number = 99_999_999_999_999_999_999.5 + 0.5\n"
        "rule r: money = cost * n1 * n2 * n3\noutput r\n"
    )
    env, got = check(text)
    assert got == [
        ("C224", "8:20-8:58", "`0 - 99_999_999_999_999_999_999.9 - 0.1` is -1.000000000000000000000E+20; a number must stay below 10^20"),
        ("C224", "9:20-9:54", "`99_999_999_999_999_999_999.5 + 0.5` is 1.000000000000000000000E+20; a number must stay below 10^20"),
    ]
    assert env.segments[0].constants == {"n1": Decimal("99999999999999999999.99")}


def test_a_ratio_past_ten_to_the_twenty_is_c224_not_only_c220():
    text = HEAD + (
        "param ra: ratio = 1% * 99_999_999_999_999_999_999.9 * 1000\n"
        "param rb: ratio = 1% * 99_999_999_999_999_999_999.9 * 10\n"
        "rule r: money = cost * ra * rb\noutput r\n"
    )
    got = errors(text)
    assert got == [
        ("C224", "7:19-7:59", "`1% * 99_999_999_999_999_999_999.9 * 1000` is 9.99999999999999999999000E+20; a number must stay below 10^20"),
        ("C220", "8:19-8:57", "parameter `rb` is 999999999999999999999%; a ratio must be between 0% and 100%"),
    ]


def test_unlimited_arithmetic_and_tiers_are_refused_as_not_finite():
    text = HEAD + (
        "tiers s {\n  from 0 yuan to 10 yuan: 50%\n  above 10 yuan: 100%\n}\n"
        "param q: money = s(from 0 yuan to unlimited)\n"
        "param w: money = 2 yuan + s(from 0 yuan to 20 yuan)\n"
        "param u: money = 1 yuan + (unlimited + 1 yuan)\n"
        "param cap: money = unlimited\n"
        "rule r: money = cost + q + w + u + cap\noutput r\n"
    )
    env, got = check(text)
    assert got == [
        ("C224", "11:18-11:45", "`s(from 0 yuan to unlimited)` is not a finite number"),
        ("C224", "13:28-13:46", "`unlimited + 1 yuan` is not a finite number"),
    ]
    values = env.segments[0].constants
    assert values["w"] == Decimal("17.00") and values["cap"] == Decimal("Infinity")
    assert "q" not in values and "u" not in values


def test_a_tiers_result_past_the_money_limit_is_refused_at_the_call():
    text = HEAD + (
        "tiers s {\n  from -999_999_999_999_999 yuan to 0 yuan: 100%\n  above 0 yuan: 100%\n}\n"
        "param q: money = s(from -999_999_999_999_999 yuan to 999_999_999_999_999 yuan) - 999_999_999_999_999 yuan\n"
        "rule r: money = cost + q\noutput r\n"
    )
    got = [d for d in errors(text) if d[0] == "C224"]
    assert got == [("C224", "11:18-11:79", "`s(from -999_999_999_999_999 yuan to 999_999_999_999_999 yuan)` is 1999999999999998.00 yuan; money must stay below 1,000,000,000,000,000 yuan")]


def test_an_inexact_product_is_refused_at_the_product_not_the_whole_value():
    text = HEAD + (
        f"param a: number = {A39}\n"
        "param b: number = 2 + a * a * a * a * a * a\n"
        "param f: ratio = 1% * a * a * a * a * a * a\n"
        "param g: money = 1 yuan * a * a * a * a * a * a + 1 yuan\n"
        "rule r: money = cost * a * b * f + g\noutput r\n"
    )
    env, got = check(text)
    assert got == [
        ("C224", "8:23-8:44", "`a * a * a * a * a * a` cannot be computed exactly (it needs more than 200 significant digits)"),
        ("C224", "9:18-9:44", "`1% * a * a * a * a * a * a` cannot be computed exactly (it needs more than 200 significant digits)"),
        ("C224", "10:18-10:48", "`1 yuan * a * a * a * a * a * a` cannot be computed exactly (it needs more than 200 significant digits)"),
    ]
    assert [d.hint for d in diagnostics(text)] == [HINT_C224] * 3
    assert env.segments[0].constants == {"a": Decimal(A39)}


def test_no_answer_is_not_a_number_at_the_operation():
    text = HEAD + "param u: money = 1 yuan + (unlimited - unlimited)\nrule r: money = cost + u\noutput r\n"
    assert found(text) == [("C224", "7:28-7:49", "`unlimited - unlimited` is not a number")]


def test_an_underflow_is_too_small_to_compute_at_the_product():
    t32 = " * ".join(["t"] * 32)
    text = HEAD + (
        "param t: number = 0.00000000000000000000000000000000000001\n"
        f"param u: number = 1 + {t32}\n"
        "rule r: money = cost * u\noutput r\n"
    )
    assert found(text) == [("C224", f"8:23-8:{23 + len(t32)}", f"`{t32}` is too large or too small to compute")]


def test_a_whole_product_beyond_range_is_refused_at_the_product():
    text = HEAD + (
        "param e = 1 + 2 * 500_000_000_000_000_000 * 2\n"
        "param big: number = 1_000_000_000_000\n"
        "param f: number = 1 + big * big\n"
        "param g = 2 * 500_000_000_000_000_000\n"
        "rule r: money = cost * e * f * g\noutput r\n"
    )
    env, got = check(text)
    assert got == [
        ("C224", "7:15-7:46", "`2 * 500_000_000_000_000_000 * 2` is beyond ±1,000,000,000,000,000,000, the range of whole numbers"),
        ("C224", "9:23-9:32", "`big * big` is beyond ±1,000,000,000,000,000,000, the range of whole numbers"),
    ]
    assert [d.hint for d in diagnostics(text)] == [HINT_C224] * 2
    assert env.segments[0].constants == {"big": 10**12, "g": 10**18}


def test_a_division_by_zero_is_reported_at_the_param_with_its_runtime_code():
    text = HEAD + "param f = 1 + 1 / 0\nparam g: number = 1 / 4\nrule r: money = cost * f * g\noutput r\n"
    env, got = check(text)
    assert got == [("R401", "7:1-7:20", "cannot compute `f`: division by zero")]
    assert env.segments[0].constants == {"g": Decimal("0.25")}


def test_a_literal_out_of_bounds_is_not_computed_and_not_reported_again():
    text = HEAD + (
        "param g = 99_999_999_999_999_999_999\n"
        "param s = {1, 99_999_999_999_999_999_999}\n"
        "param h = g + 1\n"
        "param k = 7\n"
        "rule r: money = cost * h * k\nrule r2: bool = 1 in s\noutput r, r2\n"
    )
    env, got = check(text)
    assert [(code, span) for code, span, _ in got] == [("P121", "7:11-7:37"), ("P121", "8:15-8:41")]
    assert env.segments[0].constants == {"k": 7}


def test_a_set_computed_item_by_item_is_a_frozenset():
    text = HEAD + (
        "param x = b\nparam ks = {a, x}\nparam ns = {1, 1 + 1}\n"
        "rule r: money =\n  when kind in ks then 1 yuan\n  when kind = b then 2 yuan\n  otherwise cost\n"
        "rule r2: bool = 2 in ns\noutput r, r2\n"
    )
    env, got = check(text)
    values = env.segments[0].constants
    assert values["ks"] == frozenset({"a", "b"}) and type(values["ks"]) is frozenset
    assert values["ns"] == frozenset({1, 2}) and type(values["ns"]) is frozenset
    assert got == [("W231", "12:3-12:28", "this branch can never be taken: `kind` cannot be b here")]


def test_a_table_and_tiers_are_computed_per_row_and_band():
    text = HEAD + (
        "param base = 100 yuan\n"
        "table t: Kind -> money { a: base * 2  b: base + 1 yuan  default: base }\n"
        "tiers s {\n  from 0 yuan to base: 50%\n  above base: 40% + 10%\n}\n"
        "rule r: money = t[kind] + s(from 0 yuan to cost)\noutput r\n"
    )
    env, got = check(text)
    assert got == []
    values = env.segments[0].constants
    table = values["t"]
    assert (table["a"], table["b"], table.default) == (Decimal("200"), Decimal("101"), Decimal("100"))
    assert values["s"] == ((Decimal("0"), Decimal("100"), Decimal("0.50")), (Decimal("100"), None, Decimal("0.50")))


# ---- warnings: W230, W232, W238 unused; W231 unreachable branches -------------------------

WHEAD = 'policy "t"\nenum Kind { a, b, c }\nenum Level { 1, 2, 3 }\ninput {\n  cost: money\n  kind: Kind\n  level: Level\n}\n'  # line 9 on
USE_HINT = "use it, list it in `output`, or delete it"


def test_every_kind_of_unused_definition_is_named_at_its_name():
    text = HEAD + (
        "table t: Kind -> money { a: 1 yuan  default: 2 yuan }\n"
        "tiers s {\n  from 0 yuan to 10 yuan: 50%\n  above 10 yuan: 100%\n}\n"
        "function f(x: money): money = x\n"
        "param p = 3 yuan\n"
        "rule used: money = cost\nrule unused: money = cost\noutput used\n"
    )
    assert found(text) == [
        ("W230", "7:7-7:8", "table `t` is never used"),
        ("W230", "8:7-8:8", "tier schedule `s` is never used"),
        ("W230", "12:10-12:11", "function `f` is never used"),
        ("W230", "13:7-13:8", "parameter `p` is never used"),
        ("W232", "15:6-15:12", "rule `unused` is never used"),
    ]
    assert [d.hint for d in diagnostics(text)] == [USE_HINT] * 5


@pytest.mark.parametrize("tail, code", [("rule used: money = cost + nope\noutput used\n", "C200"), ("rule used: money = cost\noutput used, nope\n", "C205")])
def test_no_unused_warning_while_a_name_is_misspelt(tail, code):
    assert [d[0] for d in found(HEAD + "param p = 3 yuan\n" + tail)] == [code]


@pytest.fixture
def orphan_root(tmp_path):
    (tmp_path / "base.policy").write_text(
        'policy "base"\ninput {\n  cost: money\n}\nparam unused_later = 1 yuan\n'
        "rule helper: money = cost * 50%\nrule helper2: money = cost * 20%\n"
        "rule paid: money = helper + helper2 + unused_later\noutput paid\n",
        encoding="utf-8",
    )
    return tmp_path


ORPHAN_HINT = "they are still computed but decide nothing here, and explanations leave them out; override what should use them, or ignore this"


def test_inherited_rules_left_unused_are_one_w238_at_the_extends_clause(orphan_root):
    child = str(orphan_root / "child.policy")
    both = diagnostics('policy "child"\n  extends "base"\noverride rule paid: money = cost\n', child, orphan_root)
    assert [(d.code, _span(d.span), d.message, d.hint) for d in both] == [
        ("W238", "2:3-2:17", "inherited rules `helper`, `helper2` are no longer used: this policy's overrides replaced what used them", ORPHAN_HINT)
    ]
    one = found('policy "child"\n  extends "base"\noverride rule paid: money = round(cost + helper2 + unused_later, half_up)\n', child, orphan_root)
    assert one == [("W238", "2:3-2:17", "inherited rule `helper` is no longer used: this policy's overrides replaced what used it")]


def test_branches_that_can_never_be_taken():
    text = WHEAD + (
        "param p: ratio = (when true then 10% when false then 20% otherwise 30%)\n"
        "rule r0: money =\n  when false then 10 yuan\n  when cost > 1 yuan then 20 yuan\n"
        "  when true then 30 yuan\n  when kind = a then 40 yuan\n  otherwise 50 yuan\n"
        "rule r5: money =\n  when true then 1 yuan\n  otherwise round(cost * p, half_up)\n"
        "rule r6: money =\n  when level = 1 or level = 3 then 1 yuan\n  when level != 2 then 2 yuan\n  otherwise cost\n"
        "rule r7: money =\n  when kind = a then 1 yuan\n  when kind = a or level = 1 then 2 yuan\n"
        "  when level = 1 or kind = b then 3 yuan\n  otherwise cost\n"
        "output r0, r5, r6, r7\n"
    )
    got = diagnostics(text)
    assert [(d.code, _span(d.span), d.message) for d in got] == [
        ("W231", "9:38-9:57", "this branch can never be taken: an earlier condition is always true"),
        ("W231", "9:58-9:71", "this `otherwise` can never be reached: the branches before it cover every case"),
        ("W231", "11:3-11:26", "this branch can never be taken: its condition is `false`"),
        ("W231", "14:3-14:29", "this branch can never be taken: an earlier condition is always true"),
        ("W231", "15:3-15:20", "this `otherwise` can never be reached: the branches before it cover every case"),
        ("W231", "18:3-18:37", "this `otherwise` can never be reached: the branches before it cover every case"),
        ("W231", "21:3-21:30", "this branch can never be taken: `level` cannot be 1, 3 here"),
    ]
    assert [d.hint for d in got] == [None] * 6 + ["an earlier branch already took these values"]


def test_enum_conditions_narrow_what_is_left():
    text = WHEAD + (
        "param ks = {a, b}\n"
        "rule r1: money =\n  when kind = a or kind = b then 1 yuan\n  when kind != c then 2 yuan\n  otherwise cost\n"
        "rule r2: money =\n  when kind not in {a} then 1 yuan\n  when kind = b or level = 2 then 3 yuan\n"
        "  when level = 2 then 4 yuan\n  when kind = a then 2 yuan\n  otherwise cost\n"
        "rule r3: money =\n  when level in {1, 2} then 1 yuan\n  when 3 = level then 2 yuan\n  otherwise cost\n"
        "rule r4: money =\n  when kind in ks then 1 yuan\n  when kind = b or kind = a then 2 yuan\n"
        "  when kind = c then 3 yuan\n  otherwise cost\n"
        "rule r8: money =\n  when kind in {a, b} then 1 yuan\n  when kind not in {c} then 2 yuan\n  otherwise cost\n"
        "output r1, r2, r3, r4, r8\n"
    )
    assert found(text) == [
        ("W231", "12:3-12:29", "this branch can never be taken: `kind` cannot be a, b here"),
        ("W231", "19:3-19:17", "this `otherwise` can never be reached: the branches before it cover every case"),
        ("W231", "23:3-23:17", "this `otherwise` can never be reached: the branches before it cover every case"),
        ("W231", "26:3-26:40", "this branch can never be taken: `kind` cannot be a, b here"),
        ("W231", "28:3-28:17", "this `otherwise` can never be reached: the branches before it cover every case"),
        ("W231", "31:3-31:35", "this branch can never be taken: `kind` cannot be a, b here"),
    ]


def test_a_param_compared_or_listed_is_not_a_constant_member_so_nothing_is_warned():
    text = WHEAD + (
        "param x = b\n"
        "rule r: money =\n  when kind = a then 1 yuan\n  when kind = x then 2 yuan\n  when kind in {a, x} then 3 yuan\n"
        "  when level = 1 then 4 yuan\n  when level in {2} then 5 yuan\n  otherwise cost\n"
        "output r\n"
    )
    assert found(text) == []


# ---- periods: C208, C210, C211, C216, C217, W236 and the segments -------------------------

PINPUT = "enum Kind { a, b }\ninput {\n  day: date\n  cost: money\n  kind: Kind\n}\n"
D = datetime.date


def test_dated_values_overlaps_gaps_and_the_effective_period():
    text = 'policy "t"\n  as of day\n  effective from 2025-01-01 until 2025-12-31\n' + PINPUT + (
        "param mixed = 1 yuan\nparam mixed = 2 yuan from 2025-01-01\n"
        "param same = 1 yuan from 2025-01-01 until 2025-06-30\nparam same = 2 yuan from 2025-06-30\n"
        "param ok = 1 yuan from 2025-01-01 until 2025-06-30\nparam ok = 2 yuan from 2025-07-01\n"
        "param gap = 1 yuan from 2025-01-01 until 2025-06-29\nparam gap = 2 yuan from 2025-07-01\n"
        "param late = 1 yuan from 2025-01-02\n"
        "param early = 1 yuan from 2025-01-01 until 2025-12-30\n"
        "param open = 1 yuan until 2025-12-31\n"
        "table t: Kind -> money { a: 1 yuan  a: 2 yuan  b: 1 yuan from 2025-01-01 until 2025-05-31  b: 2 yuan from 2025-06-02 }\n"
        "rule r: money = cost + mixed + same + ok + gap + late + early + open + t[kind]\noutput r\n"
    )
    env, _ = check(text)
    got = diagnostics(text)
    assert [(d.code, _span(d.span), d.message, d.hint) for d in got] == [
        ("C211", "11:7-11:12", "`mixed` has a value without dates beside dated ones", "give every value of a dated name a `from`/`until` period"),
        ("C211", "13:21-13:36", "the dated values of `same` overlap: from 2025-01-01 until 2025-06-30 and from 2025-06-30", None),
        ("C210", "17:20-17:35", "the dated values of `gap` leave a gap from 2025-06-30 to 2025-06-30", "every day needs exactly one value: move a `from` or `until`"),
        ("C210", "18:21-18:36", "`late` has no value from 2025-01-01 (when the policy takes effect) to 2025-01-01", None),
        ("C210", "19:22-19:54", "`early` has no value after 2025-12-30, but the policy is in force until 2025-12-31", None),
        ("C223", "21:1-21:119", "table `t` has no row for `b` of Kind", "add the missing rows, or a `default:` row"),
        ("C208", "21:37-21:46", "table `t` has key `a` twice", None),
        ("C210", "21:102-21:117", "the dated values of row `b` of table `t` leave a gap from 2025-06-01 to 2025-06-01", "every day needs exactly one value: move a `from` or `until`"),
    ]
    assert [(r.message, r.span.location) for r in got[1].related] == [("the earlier value", "t.policy:12:21")]
    assert [(s.start, s.end, s.in_force, s.outside, s.missing, s.describe()) for s in env.segments] == [
        (None, D(2025, 1, 1), False, True, ["same", "ok", "gap", "late", "early"], "the beginning to 2024-12-31"),
        (D(2025, 1, 1), D(2025, 1, 2), False, False, ["late"], "2025-01-01 to 2025-01-01"),
        (D(2025, 1, 2), D(2025, 6, 1), True, False, [], "2025-01-02 to 2025-05-31"),
        (D(2025, 6, 1), D(2025, 6, 2), True, False, [], "2025-06-01 to 2025-06-01"),
        (D(2025, 6, 2), D(2025, 6, 30), True, False, [], "2025-06-02 to 2025-06-29"),
        (D(2025, 6, 30), D(2025, 7, 1), False, False, ["gap"], "2025-06-30 to 2025-06-30"),
        (D(2025, 7, 1), D(2025, 12, 31), True, False, [], "2025-07-01 to 2025-12-30"),
        (D(2025, 12, 31), D(2026, 1, 1), False, False, ["early"], "2025-12-31 to 2025-12-31"),
        (D(2026, 1, 1), None, False, True, ["early", "open"], "2026-01-01 to further notice"),
    ]
    assert list(env.cuts) == [D(2025, 1, 1), D(2025, 1, 2), D(2025, 6, 1), D(2025, 6, 2), D(2025, 6, 30), D(2025, 7, 1), D(2025, 12, 31), D(2026, 1, 1)]
    third = env.segments[2]
    assert (third.active["ok"].validity.start, third.active["same"].validity.end) == (D(2025, 1, 1), D(2025, 6, 30))
    assert [r.key for r in third.rows["t"]] == ["a", "a", "b"]


def test_a_policy_in_force_until_further_notice_needs_values_to_the_end():
    text = 'policy "t"\n  as of day\n  effective from 2025-01-01\n' + PINPUT + "param p = 1 yuan from 2025-01-01 until 2025-12-31\nrule r: money = cost + p\noutput r\n"
    assert found(text) == [("C210", "10:18-10:50", "`p` has no value after 2025-12-31, but the policy is in force until further notice")]
    adjacent = 'policy "t"\n  as of day\n' + PINPUT + (
        "param p = 1 yuan from 2025-01-01 until 2025-06-30\nparam p = 2 yuan from 2025-07-01\nrule r: money = cost + p\noutput r\n"
    )
    env, got = check(adjacent)
    assert got == []
    assert [(s.start, s.end, s.in_force, s.constants.get("p")) for s in env.segments] == [
        (None, D(2025, 1, 1), False, None),
        (D(2025, 1, 1), D(2025, 7, 1), True, Decimal("1")),
        (D(2025, 7, 1), None, True, Decimal("2")),
    ]


def test_which_date_picks_the_values():
    w236 = found('policy "t"\n  effective from 2025-01-01\n' + PINPUT + "param p = 1 yuan\nrule r: money = cost + p\noutput r\n")
    assert w236 == [("W236", "2:13-2:28", "this policy is in force only for a period (`effective`) but does not say which date of a claim decides it")]
    (hint,) = [d.hint for d in diagnostics('policy "t"\n  effective from 2025-01-01\n' + PINPUT + "param p = 1 yuan\nrule r: money = cost + p\noutput r\n")]
    assert hint == ("add `as of FIELD` to the policy header, naming the claim's date field (e.g. `as of service_date`); "
                    "without it every claim needs an evaluation date (`--as-of DATE`)")
    c216 = diagnostics('policy "t"\n' + PINPUT + "param p = 1 yuan from 2025-01-01\nrule r: money = cost + p\noutput r\n")
    assert [(d.code, _span(d.span), d.message) for d in c216] == [("C216", "8:18-8:33", "this policy has dated values but does not say which date picks them")]
    assert c216[0].hint == "add `as of FIELD` to the policy header, naming the claim's date field (e.g. `as of service_date`)"
    both = found('policy "t"\n  effective from 2025-01-01\n' + PINPUT + "param p = 1 yuan from 2025-01-01\nrule r: money = cost + p\noutput r\n")
    assert both == [("C216", "9:18-9:33", "this policy has dated values but does not say which date picks them")]
    typo = diagnostics('policy "t"\n  as of dya\n' + PINPUT + "param p = 1 yuan from 2025-01-01\nrule r: money = cost + p\noutput r\n")
    assert [(d.code, _span(d.span), d.message, d.hint) for d in typo] == [("C217", "2:9-2:12", "`as of dya`: the input has no field `dya`", "did you mean `day`?")]
    money = found('policy "t"\n  as of cost\n' + PINPUT + "param p = 1 yuan from 2025-01-01\nrule r: money = cost + p\noutput r\n")
    assert money == [("C217", "2:9-2:13", "`as of cost`: the field is money, not a date")]
    assert found('policy "t"\n  as of day\n' + PINPUT + "param p = 1 yuan from 2025-01-01\nrule r: money = cost + p\noutput r\n") == []


# ---- accumulators: C260-C263, C265, C266, W234, W235 --------------------------------------

AHEAD = 'policy "t"\n  as of day\ninput {\n  day: date\n  person_id: text\n  flag: bool\n  cost: money\n  n: number\n}\n'  # line 10 on
READ_HINT = "use its value in a rule (it is the value before the claim), or delete it"


def test_every_accumulator_declaration_error_at_its_place():
    from policydsl.check.accumulators import opening_value

    text = AHEAD + (
        "accumulator a1: bool per person_id opening 0 adds flag\n"
        "accumulator a2: money per persn_id opening 0 yuan adds paid\n"
        "accumulator a3: money per flag opening 0 yuan adds paid\n"
        "accumulator a4: money per a1 opening 0 yuan adds paid\n"
        "accumulator a5: money per person_id opening cost adds paid\n"
        "accumulator a6: money per person_id opening 5 adds paid\n"
        "accumulator a7: money per person_id opening -1 yuan adds paid\n"
        "accumulator a8: money per person_id opening 0 yuan adds n\n"
        "accumulator a9: number per person_id opening 1 adds 2\n"
        "accumulator a10: number per person_id opening -2.5 adds n\n"
        "accumulator a11: months per person_id opening 0 months\n"
        "accumulator a12: int per person_id opening 3 adds 1\n"
        "rule paid: money = cost + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 * 1 yuan + a10 * 1 yuan\n"
        "rule policy: money = cost\nrule claim_id: money = cost\noutput paid, policy, claim_id\n"
    )
    env, _ = analyze(SourceFile("t.policy", text))
    got = diagnostics(text)
    assert [(d.code, _span(d.span), d.message, d.hint) for d in got] == [
        ("W235", "10:13-10:15", "accumulator `a1` is read by no rule", READ_HINT),
        ("C260", "10:17-10:21", "accumulator `a1` is bool; an accumulator adds up money, int, number or months", None),
        ("C261", "11:27-11:35", "`per persn_id`: the input has no field `persn_id`", "did you mean `person_id`?"),
        ("C261", "12:27-12:31", "`per flag`: the person field must be text or int, not bool", None),
        ("C261", "13:27-13:29", "`per a1`: `a1` is an accumulator, not a field of the input", "name the input field that identifies the person, e.g. `person_id: text`"),
        ("C262", "14:45-14:49", "the opening value of `a5` must be a number written out, e.g. `0 yuan`", "an opening balance that differs by person comes with the claims (see `batch --carry`)"),
        ("C262", "15:45-15:46", "accumulator `a6` is money, but its opening value is int", None),
        ("C262", "16:45-16:52", "the opening value of `a7` is negative; money a claim gives is never negative", "a year's amount starts at 0 yuan or above"),
        ("C263", "17:57-17:58", "accumulator `a8` adds up money, but its `adds` is number", "write the number with its unit, e.g. `0 yuan`"),
        ("W234", "20:13-20:16", "accumulator `a11` has nothing added to it", "say what each claim adds: `adds RULE`"),
        ("W235", "20:13-20:16", "accumulator `a11` is read by no rule", READ_HINT),
        ("W235", "21:13-21:16", "accumulator `a12` is read by no rule", READ_HINT),
        ("C266", "25:14-25:20", "output `policy` would clash with the `policy` object of every decision record", "rename the rule"),
    ]
    openings = {a.name: opening_value(a) for a in env.accumulators}
    assert openings == {"a1": 0, "a2": 0, "a3": 0, "a4": 0, "a5": None, "a6": 5, "a7": -1, "a8": 0, "a9": 1, "a10": Decimal("-2.5"), "a11": 0, "a12": 3}


def test_an_accumulator_needs_the_date_that_orders_claims():
    text = 'policy "t"\ninput {\n  person_id: int\n  cost: money\n}\naccumulator paid_so_far: money per person_id opening 0 yuan adds r\nrule r: money = cost + paid_so_far\nrule accumulators: money = cost\noutput r, accumulators\n'
    got = diagnostics(text)
    assert [(d.code, _span(d.span), d.message) for d in got] == [
        ("C265", "6:13-6:24", "this policy carries accumulators but does not say which date field dates a claim"),
        ("C266", "9:11-9:23", "output `accumulators` would clash with the `accumulators` object of every decision record"),
    ]
    assert got[0].hint.startswith("add `as of FIELD` to the header (e.g. `as of service_date`)")


def test_an_accumulator_read_by_an_output_or_a_parameter_is_not_w235():
    text = AHEAD + (
        "accumulator a1: money per person_id opening 0 yuan adds r\n"
        "accumulator a2: int per person_id opening 0 adds 1\n"
        "rule r: money = cost\noutput r, a1, a2\n"
    )
    assert found(text) == []


# ---- constants: C215 floors and ceilings, C218 defaults, C220-C223 ------------------------

BASE = """policy "base"
  as of day
enum Kind { a, b }
input {
  day: date
  cost: money
  kind: Kind
}
param step = 1_000 yuan floor
param limit = 20% ceiling
param wait = 3 months floor
param dated = 100 yuan from 2025-01-01 until 2025-06-30 floor
param dated = 200 yuan from 2025-07-01 floor
param unit = 5 yuan floor
table share: Kind -> ratio { a: 50%  b: 60% }
rule r: money = round(cost * limit * share[kind], half_up) + step + dated + unit + (when wait > 1 month then 1 yuan otherwise 0 yuan)
output r
"""


@pytest.fixture
def bounds_root(tmp_path):
    (tmp_path / "base.policy").write_text(BASE, encoding="utf-8")
    return tmp_path


def _child(root: Path, body: str) -> list[tuple]:
    return [d for d in found('policy "child"\n  extends "base"\n' + body, str(root / "child.policy"), root) if d[0] == "C215"]


def test_c215_past_each_kind_of_floor_and_ceiling(bounds_root):
    base = bounds_root / "base.policy"
    got = _child(bounds_root, (
        "override param step = 999.99 yuan\noverride param limit = 20.01%\noverride param wait = 2 months\n"
        "override param dated = 150 yuan from 2025-01-01 until 2025-06-30\noverride param dated = 199 yuan from 2025-07-01\n"
    ))
    assert got == [
        ("C215", "3:23-3:34", f"`step` may not be lowered below 1000.00, the floor set at {base}:9:7"),
        ("C215", "4:24-4:30", f"`limit` may not be raised above 20%, the ceiling set at {base}:10:7"),
        ("C215", "5:23-5:31", f"`wait` may not be lowered below 3 months, the floor set at {base}:11:7"),
        ("C215", "7:24-7:32", f"`dated` may not be lowered below 200.00, the floor set at {base}:13:7"),
    ]
    assert _child(bounds_root, "override param step = 1_000 yuan\noverride param limit = 19.99%\noverride param wait = 3 months\noverride param unit = 5 yuan\n") == []


def test_c215_a_dated_floor_holds_on_its_own_days_to_the_day(bounds_root):
    base = bounds_root / "base.policy"
    got = _child(bounds_root, (
        "override param dated = 150 yuan until 2025-06-29\n"
        "override param dated = 99 yuan from 2025-06-30 until 2025-06-30\n"
        "override param dated = 150 yuan from 2025-07-01\n"
    ))
    assert got == [
        ("C215", "4:24-4:31", f"`dated` may not be lowered below 100.00, the floor set at {base}:12:7"),
        ("C215", "5:24-5:32", f"`dated` may not be lowered below 200.00, the floor set at {base}:13:7"),
    ]
    assert _child(bounds_root, "override param dated = 100 yuan until 2025-06-30\noverride param dated = 200 yuan from 2025-07-01\n") == []


def test_c215_an_override_of_another_unit_is_a_type_error_not_c215(bounds_root):
    got = found('policy "child"\n  extends "base"\noverride param unit = 3\noverride param step = 1 yuan\n', str(bounds_root / "child.policy"), bounds_root)
    assert [d for d in got if d[0] == "C215"] == [("C215", "4:23-4:29", f"`step` may not be lowered below 1000.00, the floor set at {bounds_root / 'base.policy'}:9:7")]
    assert [d[:2] for d in got] == [("C203", "3:23-3:24"), ("C215", "4:23-4:29")]


def test_field_defaults_are_computed_from_constants_and_may_not_be_dated():
    head = (
        'policy "t"\n  as of day\nrecord Item {\n  amount: money = base * 2\n  share: ratio = 50%\n  note: text\n}\n'
        "input {\n  day: date\n  cost: money = base + 1 yuan\n  n: int = 1 + 2\n  d: money = dated\n  item: Item\n}\n"
    )
    tail = "rule r: money = cost + item.amount * item.share + d * n\noutput r\n"
    env, got = check(head + "param base = 10 yuan\nparam dated = 1 yuan from 2025-01-01\n" + tail)
    assert got == [("C218", "12:14-12:19", "the default of `d` uses `dated`, which has dated values")]
    assert [d.hint for d in diagnostics(head + "param base = 10 yuan\nparam dated = 1 yuan from 2025-01-01\n" + tail)] == ["a default must be the same on every day"]
    assert dict(env.defaults) == {(None, "cost"): Decimal("11"), (None, "n"): 3, ("Item", "amount"): Decimal("20"), ("Item", "share"): Decimal("0.50")}
    env, got = check(head + "param base = 10 yuan\nparam dated = 1 yuan\n" + tail)
    assert got == []
    assert dict(env.defaults)[(None, "d")] == Decimal("1")


def test_a_default_that_cannot_be_computed_is_reported_at_the_default():
    text = HEAD.replace("  kind: Kind\n", "  kind: Kind\n  n: number = 1 / 0\n  big: money = 999_999_999_999_999 yuan + 1 yuan\n") + "rule r: money = cost * n + big\noutput r\n"
    env, got = check(text)
    assert got == [
        ("R401", "6:15-6:20", "cannot compute the default of `n`: division by zero"),
        ("C224", "7:16-7:49", "`999_999_999_999_999 yuan + 1 yuan` is 1000000000000000.00 yuan; money must stay below 1,000,000,000,000,000 yuan"),
    ]
    assert dict(env.defaults) == {}


def test_table_values_out_of_range_are_reported_per_row():
    text = HEAD + (
        "table t: Kind -> ratio { a: 150%  b: -1%  default: 101% }\n"
        "table m: Kind -> money { a: -1 yuan  default: 0 yuan }\n"
        "table w: Kind -> months { a: -1 month  b: 0 months  c: 1 month }\n"
        "table u: Kind -> money { a: 1 yuan  b: 2 yuan }\n"
        "table ok: Kind -> ratio { a: 0%  b: 100%  c: 50% }\n"
        "rule r: money = cost * t[kind] * ok[kind] + m[kind] + u[kind]\nrule r2: months = w[kind]\noutput r, r2\n"
    )
    assert found(text) == [
        ("C220", "7:29-7:33", "table `t` is 150%; a ratio must be between 0% and 100%"),
        ("C220", "7:38-7:41", "table `t` is -1%; a ratio must be between 0% and 100%"),
        ("C220", "7:52-7:56", "table `t` is 101%; a ratio must be between 0% and 100%"),
        ("C221", "8:29-8:36", "table `m` is negative (-1.00); it must be 0 or more"),
        ("C221", "9:30-9:38", "table `w` is negative (-1 months); it must be 0 or more"),
        ("C223", "10:1-10:48", "table `u` has no row for `c` of Kind"),
    ]


def test_an_inherited_table_missing_new_members_is_reported_at_the_enum(tmp_path):
    (tmp_path / "cov.policy").write_text(
        'policy "cov"\nenum Kind { a, b }\ninput {\n  cost: money\n  kind: Kind\n}\n'
        "table share: Kind -> ratio { a: 50%  b: 60% }\nrule r: money = round(cost * share[kind], half_up)\noutput r\n",
        encoding="utf-8",
    )
    got = diagnostics('policy "child"\n  extends "cov"\noverride enum Kind { a, b, c, d }\n', str(tmp_path / "child.policy"), tmp_path)
    assert [(d.code, _span(d.span), d.message, d.hint) for d in got] == [
        ("C223", "3:1-3:34", f"table `share` (inherited from {tmp_path / 'cov.policy'}) has no row for `c`, `d` of Kind", "add `override table share { c: ... }`")
    ]
    assert diagnostics('policy "child"\n  extends "cov"\noverride enum Kind { a, b, c }\noverride table share { c: 10% }\n', str(tmp_path / "child.policy"), tmp_path) == []


def test_tier_bands_must_be_contiguous_increasing_and_end_open_only_last():
    text = HEAD + (
        "tiers s {\n  from 0 yuan to 10 yuan: 50%\n  from 10 yuan to 10 yuan: 60%\n  from 20 yuan to 30 yuan: -1%\n"
        "  above 20 yuan: 70%\n  above 40 yuan: 80%\n}\n"
        "tiers s3 {\n  from 0 yuan to 10 yuan: 0%\n  above 10 yuan: 100%\n  above 10 yuan: 101%\n}\n"
        "tiers ok {\n  from 0 yuan to 10 yuan: 0%\n  from 10 yuan to 11 yuan: 100%\n}\n"
        "rule r: money = s(from 0 yuan to cost) + s3(from 0 yuan to cost) + ok(from 0 yuan to cost)\noutput r\n"
    )
    got = diagnostics(text)
    assert [(d.code, _span(d.span), d.message) for d in got] == [
        ("C222", "9:3-9:31", "tier band ends (10.00) at or before it starts (10.00)"),
        ("C222", "10:3-10:31", "tier bands leave a gap: this band ends at 10.00 but the next starts at 20.00"),
        ("C220", "10:28-10:31", "tier rate is -1%; a ratio must be between 0% and 100%"),
        ("C222", "11:3-11:21", "tier bands leave an overlap: this band ends at 30.00 but the next starts at 20.00"),
        ("C222", "16:3-16:22", "only the last tier band may be open-ended (`above`)"),
        ("C220", "17:18-17:22", "tier rate is 101%; a ratio must be between 0% and 100%"),
    ]
    assert [d.hint for d in got] == [None, "each band must start where the previous one ends", None, "each band must start where the previous one ends", None, None]


def test_a_bare_number_param_that_puts_ratios_out_of_range_is_reported_once_at_the_param():
    text = HEAD + (
        "param points = 7\nparam p: ratio = 80% * points\nparam q: ratio = points * 20%\n"
        "param via: ratio = p * 1\n"
        "param small = 0.5\nparam k: ratio = 80% * small * 3\n"
        "param minus = -3\nparam j: ratio = 50% * minus\n"
        "rule r: money = cost * p + cost * q + cost * k + cost * via + cost * j\noutput r\n"
    )
    got = diagnostics(text)
    assert [(d.code, _span(d.span), d.message) for d in got] == [
        ("C220", "7:16-7:17", "param `points` is a number; its uses need a ratio: write `7%`"),
        ("C220", "12:18-12:33", "parameter `k` is 120%; a ratio must be between 0% and 100%"),
        ("C220", "13:15-13:17", "param `minus` is a number; its uses need a ratio: write `-3%`"),
    ]
    assert got[0].hint == "a number has no unit: a percentage is written with `%`"
    assert [(r.message, r.span.location) for r in got[0].related] == [("parameter `p` is 560% here", "t.policy:8:18"), ("parameter `q` is 140% here", "t.policy:9:18"), ("parameter `via` is 560% here", "t.policy:10:20")]
    assert [(r.message, r.span.location) for r in got[2].related] == [("parameter `j` is -150% here", "t.policy:14:18")]


# ---- found by the second run -------------------------------------------------------------


def test_a_param_of_two_is_a_bare_number_above_one():
    text = HEAD + "param two = 2\nparam p: ratio = 80% * two\nrule r: money = cost * p\noutput r\n"
    got = diagnostics(text)
    assert [(d.code, _span(d.span), d.message) for d in got] == [("C220", "7:13-7:14", "param `two` is a number; its uses need a ratio: write `2%`")]
    assert [(r.message, r.span.location) for r in got[0].related] == [("parameter `p` is 160% here", "t.policy:8:18")]


def test_a_missing_table_row_read_by_a_param_names_the_table():
    text = HEAD + "table u: Kind -> money { a: 1 yuan  b: 2 yuan }\nparam p = u[c]\nrule r: money = cost + p\noutput r\n"
    assert found(text) == [
        ("C223", "7:1-7:48", "table `u` has no row for `c` of Kind"),
        ("R403", "8:1-8:15", "cannot compute `p`: table `u` has no row for `c`"),
    ]


def test_a_tier_gap_between_the_last_two_bands():
    text = HEAD + "tiers g {\n  from 0 yuan to 10 yuan: 50%\n  from 20 yuan to 30 yuan: 60%\n}\nrule r: money = g(from 0 yuan to cost)\noutput r\n"
    assert found(text) == [("C222", "9:3-9:31", "tier bands leave a gap: this band ends at 10.00 but the next starts at 20.00")]


def test_c215_a_floor_read_from_a_param_and_a_date_floor(tmp_path):
    (tmp_path / "base.policy").write_text(
        'policy "base"\ninput {\n  cost: money\n}\n'
        "param base_step = 500 yuan\nparam step: money = base_step * 2 floor\nparam start = 2025-01-01 floor\n"
        "rule r: money = cost + step + base_step\noutput r, start\n",
        encoding="utf-8",
    )
    child = str(tmp_path / "child.policy")
    base = tmp_path / "base.policy"
    got = found('policy "child"\n  extends "base"\noverride param step = 200 yuan\noverride param start = 2024-12-31\n', child, tmp_path)
    assert got == [
        ("C215", "3:23-3:31", f"`step` may not be lowered below 1000.00, the floor set at {base}:6:7"),
        ("C215", "4:24-4:34", f"`start` may not be lowered below 2025-01-01, the floor set at {base}:7:7"),
    ]
    assert found('policy "child"\n  extends "base"\noverride param start = 2025-01-01\n', child, tmp_path) == []
    # the floor is computed from the parent's own base_step, so an override of it in error hides nothing
    got = found('policy "child"\n  extends "base"\noverride param base_step = 1 yuan * (1 / 0)\noverride param step = 200 yuan\noverride param start = 2024-12-31\n', child, tmp_path)
    assert got == [
        ("R401", "3:1-3:44", "cannot compute `base_step`: division by zero"),
        ("C215", "4:23-4:31", f"`step` may not be lowered below 1000.00, the floor set at {base}:6:7"),
        ("C215", "5:24-5:34", f"`start` may not be lowered below 2025-01-01, the floor set at {base}:7:7"),
    ]


def test_c215_every_bound_is_checked_after_one_that_does_not_hold_on_these_days(bounds_root):
    base = bounds_root / "base.policy"
    got = _child(bounds_root, "override param dated = 100 yuan until 2025-06-30\noverride param dated = 200 yuan from 2025-07-01\noverride param step = 1 yuan\n")
    assert got == [("C215", "5:23-5:29", f"`step` may not be lowered below 1000.00, the floor set at {base}:9:7")]
    # a floor that ended before these days is not held: 99 from July is below July's 200 only
    got = _child(bounds_root, "override param dated = 100 yuan until 2025-06-30\noverride param dated = 99 yuan from 2025-07-01\n")
    assert got == [("C215", "4:24-4:31", f"`dated` may not be lowered below 200.00, the floor set at {base}:13:7")]


def test_dated_values_may_be_written_in_any_order():
    text = 'policy "t"\n  as of day\n' + PINPUT + (
        "param p = 2 yuan from 2025-07-01\nparam p = 1 yuan from 2025-01-01 until 2025-06-30\nrule r: money = cost + p\noutput r\n"
    )
    env, got = check(text)
    assert got == []
    assert [s.constants.get("p") for s in env.segments] == [None, Decimal("1"), Decimal("2")]


def test_a_number_accumulator_may_not_open_with_money():
    text = AHEAD + "accumulator a1: number per person_id opening 5 yuan adds n\nrule r: money = cost * a1\noutput r\n"
    assert found(text) == [("C262", "10:46-10:52", "accumulator `a1` is number, but its opening value is money")]


def test_an_accumulator_read_only_by_another_accumulator_is_read_by_no_rule():
    text = AHEAD + (
        "accumulator a1: money per person_id opening 0 yuan adds r\n"
        "accumulator a2: money per person_id opening 0 yuan adds a1\n"
        "rule r: money = cost + a2\noutput r\n"
    )
    assert found(text) == [("W235", "10:13-10:15", "accumulator `a1` is read by no rule")]


def test_w231_lists_text_and_number_members_together_and_reads_sets_inside_or():
    text = 'policy "t"\nenum Kind { a, b, c }\nenum Mixed { 1, a }\ninput {\n  cost: money\n  kind: Kind\n  m: Mixed\n}\n' + (
        "param ks = {a, b}\n"
        "table t: Kind -> money { a: 1 yuan  b: 2 yuan  default: 0 yuan }\n"
        "rule r: money =\n  when kind = c or kind in ks then 1 yuan\n  when kind = a then 2 yuan\n  otherwise cost\n"
        "rule r2: money =\n  when m = 1 or m = a then 1 yuan\n  when m = a or m = 1 then 2 yuan\n  otherwise cost\n"
        "rule r3: money =\n  when kind in t then 1 yuan\n  when kind = a then 2 yuan\n  otherwise cost + t[kind]\n"
        "output r, r2, r3\n"
    )
    assert found(text) == [
        ("W231", "13:3-13:28", "this branch can never be taken: `kind` cannot be a here"),
        ("W231", "14:3-14:17", "this `otherwise` can never be reached: the branches before it cover every case"),
        ("W231", "17:3-17:34", "this branch can never be taken: `m` cannot be 1, a here"),
        ("W231", "18:3-18:17", "this `otherwise` can never be reached: the branches before it cover every case"),
    ]


def test_the_default_row_is_named_default_in_c208_and_c210():
    text = 'policy "t"\n  as of day\n' + PINPUT + (
        "table t: Kind -> money { default: 1 yuan  default: 2 yuan }\n"
        "table u: Kind -> money { default: 1 yuan until 2025-01-31  default: 2 yuan from 2025-02-02 }\n"
        "rule r: money = cost + t[kind] + u[kind]\noutput r\n"
    )
    got = found(text)
    assert [(code, message) for code, _, message in got] == [
        ("C208", "table `t` has key `default` twice"),
        ("C223", "table `u` has no row for `a`, `b` of Kind"),  # none is in force on 1 February
        ("C210", "the dated values of row `default` of table `u` leave a gap from 2025-02-01 to 2025-02-01"),
    ]


def test_a_number_accumulator_may_not_add_money():
    text = AHEAD + "accumulator a1: number per person_id opening 0 adds cost\nrule r: money = cost * a1\noutput r\n"
    assert [(code, message) for code, _, message in found(text)] == [("C263", "accumulator `a1` adds up number, but its `adds` is money")]


def test_w231_reads_a_set_param_on_the_left_of_or():
    text = HEAD + "param ks = {a, b}\nrule r: money =\n  when kind in ks or kind = c then 1 yuan\n  when kind = a then 2 yuan\n  otherwise cost\noutput r\n"
    assert found(text) == [
        ("W231", "10:3-10:28", "this branch can never be taken: `kind` cannot be a here"),
        ("W231", "11:3-11:17", "this `otherwise` can never be reached: the branches before it cover every case"),
    ]


# ---- survivors of the third pass: the loops that skip one item and go on ------------------
def test_defaults_after_a_dated_or_an_ill_typed_default_are_still_computed():
    head = 'policy "t"\n  as of day\nrecord Item {\n  late: money = dated\n  bad: money = true\n  amount: money = base * 2\n}\n'
    tail = "  e: money = base\n  item: Item\n}\nparam base = 10 yuan\nparam dated = 1 yuan from 2025-01-01\nrule r: money = d + e + item.amount + item.late + item.bad\noutput r\n"
    env, got = check(head + "input {\n  day: date\n  d: money = dated\n" + tail)
    assert [d[:2] for d in got if d[0] != "C203"] == [("C218", "4:17-4:22"), ("C218", "10:14-10:19")]
    assert ("C218", "4:17-4:22", "the default of `late` uses `dated`, which has dated values") in got
    assert [d[:2] for d in got if d[0] == "C203"] == [("C203", "5:16-5:20")]
    assert dict(env.defaults) == {(None, "e"): Decimal("10"), ("Item", "amount"): Decimal("20")}
    env, got = check(head + "input {\n  day: date\n  d: money = true\n" + tail)
    assert dict(env.defaults) == {(None, "e"): Decimal("10"), ("Item", "amount"): Decimal("20")}


def test_table_rows_after_a_dropped_row_are_still_range_checked():
    text = HEAD + "table t: Kind -> ratio { drop a  b: 150%  default: 10% }\nrule r: money = cost * t[kind]\noutput r\n"
    assert errors(text) == [
        ("C208", "7:26-7:32", "`drop` removes a parent's row: only in an `override table`, not in table `t`"),
        ("C220", "7:37-7:41", "table `t` is 150%; a ratio must be between 0% and 100%"),
    ]


def test_a_value_until_the_last_day_of_the_calendar_cuts_no_segment():
    text = 'policy "t"\n  as of day\ninput {\n  day: date\n  cost: money\n}\nparam p = 1 yuan until 9999-12-31\nparam q = 2 yuan from 2025-01-01\nrule r: money = cost + p + q\noutput r\n'
    env, got = check(text)
    assert got == []
    assert list(env.cuts) == [datetime.date(2025, 1, 1)]
    assert [(s.start, s.end) for s in env.segments] == [(None, datetime.date(2025, 1, 1)), (datetime.date(2025, 1, 1), None)]
    assert env.segments[1].constants == {"p": Decimal("1"), "q": Decimal("2")}


def test_accumulators_in_a_policy_without_input_are_still_checked():
    text = 'policy "t"\n  as of day\naccumulator x: money per person_id opening 0 yuan adds 1 yuan\nrule r: money = x\noutput r\n'
    assert errors(text) == [
        ("C209", "0:0-0:0", "the policy declares no input"),
        ("C217", "2:9-2:12", "`as of day`: the input has no field `day`"),
        ("C261", "3:26-3:35", "`per person_id`: the input has no field `person_id`"),
    ]


def test_w231_with_no_constant_computed_anywhere():
    text = HEAD + "param ks = {a, 1}\nrule r: money =\n  when kind in ks then 1 yuan\n  when kind = a then 2 yuan\n  when kind in {a, b} then 3 yuan\n  when kind = b then 4 yuan\n  otherwise cost\noutput r\n"
    env, got = check(text)
    assert all(not s.constants for s in env.segments)
    assert got == [
        ("C203", "7:16-7:17", "a set mixes Kind and int"),
        ("W231", "12:3-12:28", "this branch can never be taken: `kind` cannot be b here"),
    ]


def test_an_input_field_named_like_an_enum_does_not_stop_the_defaults():
    text = 'policy "t"\nenum Kind { a, b, c }\ninput {\n  cost: money\n  kind: Kind\n  Kind: money = 1 yuan\n  n: int = 2\n}\nrule r: money = cost * n\noutput r\n'
    env, got = check(text)
    assert got == [("C201", "6:3-6:7", "`Kind` is defined twice")]
    assert dict(env.defaults)[(None, "n")] == 2


def test_a_param_in_a_cycle_is_not_computed_even_where_its_value_reads_no_cycle():
    text = 'policy "t"\n  as of day\ninput {\n  day: date\n  cost: money\n}\nparam b = a\nparam a = 50% from 2025-01-01\nparam a = b until 2024-12-31\nparam c = 20%\nrule r: money = cost * a * b * c\noutput r\n'
    env, got = check(text)
    assert got == [("C202", "7:7-7:8", "`b` depends on itself: b -> a -> b")]
    assert [s.constants for s in env.segments] == [{"c": Decimal("0.20")}, {"c": Decimal("0.20")}]


@pytest.fixture
def accumulator_root(tmp_path):
    (tmp_path / "base.policy").write_text(
        'policy "base"\n  as of day\ninput {\n  day: date\n  person_id: int\n  cost: money\n}\n'
        "accumulator paid: money per person_id opening 0 yuan adds r\nrule r: money = cost\noutput r\n",
        encoding="utf-8",
    )
    return tmp_path


def test_w234_and_w235_for_a_childs_own_accumulator_after_an_inherited_one(accumulator_root):
    child = str(accumulator_root / "child.policy")
    got = found('policy "child"\n  extends "base"\naccumulator extra: money per person_id opening 0 yuan\n', child, accumulator_root)
    assert [d for d in got if d[0] in ("W234", "W235")] == [
        ("W234", "3:13-3:18", "accumulator `extra` has nothing added to it"),
        ("W235", "3:13-3:18", "accumulator `extra` is read by no rule"),
    ]
