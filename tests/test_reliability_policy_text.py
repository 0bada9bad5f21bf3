"""Policy text that used to pass `check` wrongly or crash a command (issue 9; repros 09, 10, 14, 15, 19).

Each bad text must be a diagnostic at file:line:col, never a traceback: lone surrogates
(P120), bidi controls (P119), non-ASCII digits (P118), mixed-script and non-NFKC names
(P122, P123), literals out of bounds (P121), constants that cannot be held exactly or are
out of bounds (C224), and type confusions that reached the constants pass (C203, not a
TypeError). The operator matrix at the end checks every operator against every kind of
operand: `loads` succeeds or raises PolicyError, nothing else.
"""

from __future__ import annotations

import re
import shutil
from decimal import Decimal

import pytest

import policydsl
from policydsl.syntax import limits
from policydsl.diagnostics.model import PolicyError

from .conftest import ROOT

CLAIM = 'input { claim_id: text\n  amount: money }\n'
FACTS = {"claim_id": "a", "amount": "1.00"}


def codes_of(text: str, name: str = "p.policy", **kwargs) -> list[tuple[str, int, int]]:
    with pytest.raises(PolicyError) as caught:
        policydsl.loads(text, name=name, **kwargs)
    for diagnostic in caught.value.diagnostics:
        diagnostic.render().encode("utf-8")  # every message can be written out
    return [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics if d.is_error]


# ---- repro 14: lone surrogates ------------------------------------------------------------


def test_surrogate_escapes_in_strings_are_diagnostics():
    text = 'policy "surrogates \\ud800"\n' + CLAIM + 'rule paid: money = amount\n  because "pays \\udfff all"\noutput paid\n'
    assert codes_of(text) == [("P120", 1, 8), ("P120", 5, 11)]
    assert codes_of(CLAIM + 'rule t: bool = "x\\ud800" = "y"\nrule paid: money = amount\noutput paid, t\n') == [("P120", 3, 16)]


def test_a_surrogate_pair_escape_is_one_character_and_writes_out():
    policy = policydsl.loads(CLAIM + 'rule paid: money = amount\n  because "smile \\ud83d\\ude00"\noutput paid\n')
    explanation = policy.evaluate(FACTS).explain()
    assert "smile \U0001f600" in explanation
    explanation.encode("utf-8")


def test_raw_surrogates_in_text_are_diagnostics():
    assert codes_of(CLAIM + "# a comment \ud800\nrule paid: money = amount\noutput paid\n") == [("P120", 3, 13)]


# ---- repro 15: digits, bidi controls, scripts ----------------------------------------------


def test_non_ascii_digits_are_refused_where_they_would_be_numbers():
    text = CLAIM + "param ratio = 90%\nparam r = \u09ea0%\nparam cap = \uff18\uff10\uff10 yuan\nrule paid: money = amount\noutput paid\n"
    found = codes_of(text)
    assert found[0] == ("P118", 4, 11)
    assert ("P118", 5, 13) in found
    with pytest.raises(PolicyError, match=r"digits must be ASCII 0-9, not '৪' \(BENGALI DIGIT FOUR\)"):
        policydsl.loads(text)
    assert codes_of(CLAIM + "rule paid\u0661: money = amount\noutput paid\u0661\n")[0] == ("P118", 3, 10)


def test_non_ascii_digits_in_strings_and_comments_are_text():
    policy = policydsl.loads(CLAIM + '# 第１条 ৪০\nrule paid: money = amount because "第１条"\noutput paid\n')
    assert str(policy.evaluate(FACTS).outputs["paid"]) == "1.00"


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u2069", "\u200f", "\u061c"])
def test_bidi_controls_are_refused_anywhere(char):
    assert codes_of(CLAIM + f"# access{char}granted\nrule paid: money = amount\noutput paid\n") == [("P119", 3, 9)]
    assert codes_of(CLAIM + f'rule paid: money = amount because "a{char}b"\noutput paid\n') == [("P119", 3, 37)]
    assert codes_of(CLAIM + f"rule paid: money = amount {char}\noutput paid\n") == [("P119", 3, 27)]
    escaped = f"\\u{ord(char):04x}"
    assert codes_of(CLAIM + f'rule paid: money = amount because "a{escaped}b"\noutput paid\n') == [("P119", 3, 35)]


def test_the_trojan_policy_of_repro_15_is_refused():
    text = CLAIM + "param ratio = 90%\nparam r\u0430tio = 80%\nrule paid: money = round(amount * r\u0430tio, half_up)\noutput paid\n"
    with pytest.raises(PolicyError, match="name `r\u0430tio` mixes Latin and Cyrillic letters") as caught:
        policydsl.loads(text, name="trojan.policy")
    assert [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics] == [("P122", 4, 7), ("P122", 5, 35)]


@pytest.mark.parametrize("name", ["r\u0430tio", "c\u0430p", "\u03b1lpha_cap", "\u0430b\u03b3"])
def test_mixed_script_names_are_refused(name):
    assert limits.mixed_scripts(name)
    assert [c for c, _, _ in codes_of(CLAIM + f"param {name} = 1 yuan\nrule paid: money = amount + {name}\noutput paid\n")] == ["P122", "P122"]


@pytest.mark.parametrize("name", ["基本_cap", "起付线", "cap_2025", "上限_かな", "한도_cap", "ㄅ_cap_上", "лимит", "όριο", "_x1"])
def test_single_script_and_cjk_names_stay_allowed(name):
    assert limits.mixed_scripts(name) is None
    policy = policydsl.loads(CLAIM + f"param {name} = 1 yuan\nrule paid: money = amount + {name}\noutput paid\n")
    assert str(policy.evaluate(FACTS).outputs["paid"]) == "2.00"


def test_names_not_in_normal_form_are_refused():
    assert codes_of(CLAIM + "param \uff43\uff41\uff50 = 1 yuan\nrule paid: money = amount\noutput paid\n") == [("P123", 3, 7)]
    assert codes_of(CLAIM + "param \ufb01ne = 1 yuan\nrule paid: money = amount\noutput paid\n") == [("P123", 3, 7)]


def test_every_word_character_has_a_script():
    """The script table the mixed-script check uses covers every character a name may hold."""
    import regex

    words = "".join(re.findall(r"\w", "".join(map(chr, range(0x110000))).replace("\ud800", "")))
    known = "".join(rf"\p{{scx={code}}}" for code, _ in limits._script_tables()[0])
    missing = regex.findall(rf"[^{known}\p{{scx=Zyyy}}\p{{scx=Zinh}}]", words)
    assert not missing


# ---- repro 19 and issue 20: type confusions that crashed the checker ----------------------


@pytest.mark.parametrize(
    "body,where",
    [
        ("enum E { a, b }\ninput { e: E }\nparam s = {a, -b}\nrule r: bool = e in s\noutput r\n", (3, 16)),
        ("enum E { a, b }\ninput { e: E }\nparam s = {a - b}\nrule r: bool = e in s\noutput r\n", (3, 12)),
        ("enum E { a, b }\ninput { e: E }\nparam s = {a * b}\nrule r: bool = e in s\noutput r\n", (3, 12)),
        ("input { amount: money }\ntiers s { from 0 yuan to 10 yuan: {1, 2} above 10 yuan: 50% }\nrule r: money = s(from 0 yuan to amount)\noutput r\n", (2, 35)),
        ('input { amount: money }\nparam r = 65% in "some text"\nrule x: money = amount\noutput x\n', (2, 18)),
        ("input { amount: money }\nparam p: ratio = 2\nrule x: money = amount * p\noutput x\n", (2, 18)),
        ("input { amount: money }\ntable t: int -> ratio { 1: 9 }\nrule x: money = amount * t[1]\noutput x\n", (2, 28)),
        ("input { amount: money }\nparam p: ratio = 2 yuan\nrule x: money = amount * p\noutput x\n", (2, 18)),
        ("enum E { a, b }\ninput { amount: money }\nparam p: money = {a}\nrule x: money = amount + p\noutput x\n", (3, 18)),
    ],
)
def test_type_confusions_are_type_errors_not_crashes(body, where):
    assert codes_of(body) == [("C203", *where)]


@pytest.fixture
def national(tmp_path):
    (tmp_path / "national").mkdir()
    shutil.copy(ROOT / "policies" / "national" / "baseline-2025.policy", tmp_path / "national")
    (tmp_path / "x").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "override,expected",
    [
        ("override param continuity_step = nothing_here", [("C200", 3, 34)]),  # the KeyError of repro 19
        ("override param zero_claim_step = yuan", [("C200", 3, 34)]),  # issue 20
        ("override param continuity_step = 1000000000000000000 yuan", [("P121", 3, 34)]),
    ],
)
def test_overrides_of_bounded_parameters_that_cannot_be_computed(national, override, expected):
    path = national / "x" / "floor.policy"
    path.write_text(f'policy "x"\n  extends "national/baseline-2025"\n{override}\n', encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        policydsl.load(path, root=national)
    assert [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics if d.is_error] == expected


@pytest.mark.parametrize("value", ['"text"', "{1, 2}", "true", "2025-01-01"])
def test_overrides_of_bounded_parameters_with_another_type(national, value):
    """The parent's rules that use the parameter get the type error; the floor is not compared."""
    path = national / "x" / "floor.policy"
    path.write_text(f'policy "x"\n  extends "national/baseline-2025"\noverride param continuity_step = {value}\n', encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        policydsl.load(path, root=national)
    assert {d.code for d in caught.value.diagnostics if d.is_error} == {"C203"}


@pytest.mark.parametrize(
    "module,function,definitions,line",
    [
        ("runtime", "apply_tiers", "tiers s { from 0 yuan to 10 yuan: 50% above 10 yuan: 10% }\nparam p = s(from 0 yuan to 5 yuan)\n", 4),
        ("runtime", "divide", "param p = 10 yuan / 4\n", 3),
        ("interpreter", "_arith", "param p = 10 yuan + 4 yuan\n", 3),
    ],
)
def test_the_constant_evaluator_is_total(monkeypatch, module, function, definitions, line):
    """Whatever goes wrong inside the evaluator (the reference interpreter over the IR, and
    the runtime helpers it calls) is a diagnostic at the definition (C225)."""
    from policydsl.backends import interpreter
    from policydsl.runtime import helpers as runtime

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr({"runtime": runtime, "interpreter": interpreter}[module], function, broken)
    text = CLAIM + definitions + "rule paid: money = amount + p\noutput paid\n"
    assert codes_of(text) == [("C225", line, 1)]


# ---- repros 09 and 10: literals are exact and bounded; constants are computed exactly ------


def test_percent_literals_are_exact():
    policy = policydsl.loads(CLAIM + "param r = 0.4999999999999999999999999999999999999%\nrule paid: money = amount\noutput paid, r\n")
    assert policy.env.segments[0].constants["r"] == Decimal("0.004999999999999999999999999999999999999")


@pytest.mark.parametrize(
    "literal,column",
    [
        ("9999999999999999999999999999999999999999 yuan", 13),
        ("1000000000000000 yuan", 13),
        ("1000000000000000000000", 13),
        ("100000000000000000000000%", 13),
        ("-1000000000000000 yuan", 14),
        ("1000000000000000000000 months", 13),
    ],
)
def test_literals_out_of_bounds_are_diagnostics(literal, column):
    assert codes_of(CLAIM + f"param big = {literal}\nrule paid: money = amount\noutput paid, big\n") == [("P121", 3, column)]


def test_literals_at_the_bounds_are_fine():
    text = CLAIM + "param m = 999999999999999.99 yuan\nparam n = 999999999999999999\nparam r = 0.0000000000000000000000000000000000001%\nrule paid: money = amount\noutput paid, m, n, r\n"
    policy = policydsl.loads(text)
    assert policy.env.segments[0].constants["m"] == Decimal("999999999999999.99")


@pytest.mark.parametrize(
    "expression,column",
    [
        ("999999999999 yuan * 999999", 13),  # money past 10^15
        ("999999999999999999 * 999999999999999999", 13),  # a whole number past 10^18 (R407 in evaluation)
        ("(1 / 3) * (1 / 3) * (1 / 3) * (1 / 3) * (1 / 3)", 13),  # 250 digits: not exact
        ("1 yuan + (99999999999999 yuan * 100)", 23),  # at the inner expression
    ],
)
def test_constants_that_cannot_be_held_are_diagnostics_at_the_expression(expression, column):
    found = codes_of(CLAIM + f"param big = {expression}\nrule paid: money = amount\noutput paid\n")
    assert found == [("C224", 3, column)]


def test_constant_division_and_rounding_still_work():
    text = CLAIM + "param third = 100 yuan / 3\nparam paid_third = round(third, half_up)\nrule paid: money = amount + paid_third\noutput paid\n"
    assert str(policydsl.loads(text).evaluate(FACTS).outputs["paid"]) == "34.33"


# ---- every operator against every kind of operand ---------------------------------------

PRELUDE = """enum E { a, b }
enum L { 1, 2, 3 }
record Item { cost: money  kind: E }
input { amount: money  n: int  day: date  e: E  label: text  flag: bool  items: list of Item  level: L  m: months }
param pm = 10 yuan
table tm: E -> money { a: 1 yuan  b: 2 yuan }
tiers ts { from 0 yuan to 10 yuan: 50% above 10 yuan: 10% }
output amount
"""
OPERANDS = ["1", "1.5", "2 yuan", "50%", "3 months", "2025-01-01", '"t"', "true", "a", "{a, b}", "{}", "tm", "ts", "E", "amount", "items"]
BINARY = ["+", "-", "*", "/", "=", "<", "and", "in"]


def _matrix():
    for op in BINARY:
        yield op, [f"{x} {op} {y}" for x in OPERANDS for y in OPERANDS]
    yield "other", (
        [f"-{x}" for x in OPERANDS] + [f"not {x}" for x in OPERANDS] + [f"{{{x}}}" for x in OPERANDS] + [f"{x} not in {{a}}" for x in OPERANDS]
        + [f"min({x}, {y})" for x in OPERANDS for y in OPERANDS[:8]] + [f"round({x}, half_up)" for x in OPERANDS]
        + [f"tm[{x}]" for x in OPERANDS] + [f"ts(from {x} to {x})" for x in OPERANDS] + [f"sum({x} for i in items)" for x in OPERANDS]
        + [f"count(i in {x} where true)" for x in OPERANDS] + [f"(when {x} then {x} otherwise 1)" for x in OPERANDS]
    )


_CASES = [(g, e, c) for g, e in _matrix() for c in (["param", "rule", "table", "tiers"] if g == "other" else ["param"])]


@pytest.mark.parametrize("group,expressions,context", _CASES, ids=[f"{g}-{c}" for g, _, c in _CASES])
def test_every_operator_on_every_operand_kind_is_checked_or_refused(group, expressions, context):
    """Params are what the constants pass computes; rules, table rows and tier bands share its typing."""
    for start in range(0, len(expressions), 400):
        chunk = expressions[start : start + 400]
        if context == "param":
            body = "".join(f"param p{i} = {e}\n" for i, e in enumerate(chunk))
        elif context == "rule":
            body = "".join(f"rule q{i} = {e}\n" for i, e in enumerate(chunk))
        elif context == "table":
            body = "".join(f"table t{i}: E -> ratio {{ a: {e}  default: {e} }}\n" for i, e in enumerate(chunk))
        else:
            body = "".join(f"tiers s{i} {{ from {e} to 10 yuan: {e} above 10 yuan: 1% }}\n" for i, e in enumerate(chunk))
        try:
            policydsl.loads(PRELUDE + body)
        except PolicyError as error:
            assert not [d for d in error.diagnostics if d.code.startswith(("P", "L"))], error  # the text itself is fine
            assert all(d.span is not None for d in error.diagnostics)
