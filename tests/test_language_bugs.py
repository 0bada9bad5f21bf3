"""Regression tests of bugs that encoding published regional cases found (issue 14)."""

from __future__ import annotations

import pytest

import policydsl


def diagnostics(text: str):
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    return [(d.code, d.message, d.hint) for d in raised.value.diagnostics]


def test_effective_dates_without_as_of_are_warned_by_check_and_named_when_a_claim_fails():
    policy = policydsl.loads('policy "x"\n  effective from 2025-01-01\ninput {\n  a: money\n}\nrule r: money = a\noutput r\n', name="x.policy")
    [warning] = policy.warnings
    assert warning.code == "W236" and "`effective`" in warning.message and "`as of FIELD`" in warning.hint and "--as-of" in warning.hint
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"a": "1"})
    assert raised.value.code == "R405" and "`as of FIELD`" in str(raised.value) and "--as-of" in str(raised.value)
    import datetime

    assert policy.evaluate({"a": "1"}, as_of=datetime.date(2025, 3, 1)).outputs["r"] == 1


def test_dated_values_without_a_date_name_the_header_clause_and_as_of_when_evaluated():
    text = 'policy "x"\ninput {\n  a: money\n}\nparam p = 1 yuan from 2025-01-01\nrule r: money = a + p\noutput r\n'
    assert [code for code, _, _ in diagnostics(text)] == ["C216"]


def test_round_with_too_many_values_reports_its_arity_and_not_its_mode():
    found = diagnostics('policy "x"\ninput {\n  a: money\n}\nrule r: money = round(a, half_up, 10 yuan, 2)\noutput r\n')
    assert [code for code, _, _ in found] == ["C203"]
    assert "not 4 values" in found[0][1] and "undefined" not in found[0][1]


def test_round_with_an_unknown_mode_still_names_the_mode():
    found = diagnostics('policy "x"\ninput {\n  a: money\n}\nrule r: money = round(a, half_upp)\noutput r\n')
    assert any("unknown rounding mode `half_upp`" in message for _, message, _ in found)


def test_explain_in_chinese_has_no_english_periods_or_months():
    import json
    from pathlib import Path

    from policydsl.explain.render import render_text

    root = Path(__file__).resolve().parents[1]
    policy = policydsl.load(root / "policies/jiangxi/resident-2025.policy")
    cases = json.loads((root / "policies/jiangxi/resident-2025.tests.json").read_text(encoding="utf-8"))["tests"]
    claim = next(case["claim"] for case in cases if "expect" in case and case["claim"]["service_date"].startswith("2025"))
    text = render_text(policy.evaluate(claim).explanation(lang="zh"))
    assert "适用的政策期间: 2025-01-01 至 2025-12-31" in text
    assert "0 个月" in text and " to " not in text.split("各项计算过程")[0]
    assert "further notice" not in text


def test_unlimited_in_chinese_says_no_cap():
    from policydsl.runtime import numbers, values
    from policydsl.check import types as t

    assert values.to_text(numbers.UNLIMITED, t.MONEY, "zh") == "不封顶 (unlimited)"
    assert values.to_text(3, t.MONTHS, "zh") == "3 个月"


def test_explanations_show_table_rows_read_inside_a_sum():
    from policydsl.explain.render import render_text

    text = '''policy "x"
enum Kind { a, b }
record Item {
  kind: Kind
  amount: money
}
input {
  items: list of Item
}
table share: Kind -> ratio {
  a: 50%
    because "a pays half"
  b: 20%
}
rule paid: money = round(sum(i.amount * share[i.kind] for i in items), half_up)
output paid
'''
    policy = policydsl.loads(text, name="x.policy")
    explained = render_text(policy.evaluate({"items": [{"kind": "a", "amount": "100"}, {"kind": "b", "amount": "10"}]}).explanation())
    assert "items[0] (kind=a, amount=100.00): 50.00 (using share[a] = 50%) -- a pays half" in explained
    assert "items[1] (kind=b, amount=10.00): 2.00 (using share[b] = 20%)" in explained


def test_explain_json_gives_tier_slices_as_numbers():
    import json
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    policy = here / "data" / "tour" / "policies" / "region" / "city.policy"
    claim = '{"person": {"birth_date": "1970-02-28"}, "service_date": "2025-06-30", "level": "one", "items": [{"amount": "100000.00"}]}'
    done = subprocess.run([sys.executable, "-m", "policydsl", "explain", "--json", str(policy), "-"], input=claim, capture_output=True, text=True, check=True)
    explanation = json.loads(done.stdout)
    explanation = explanation[0] if isinstance(explanation, list) else explanation
    slices = [d["numbers"] for step in explanation["steps"] for d in step["details"] if d["kind"] == "tier-slice"]
    assert slices[0] == {"band": "low", "from": "0.00", "to": "30000.00", "amount": "30000.00", "rate": "0.60", "paid": "18000.00"}
    assert slices[1]["band"] == "high" and slices[1]["rate"] == "0.70"


def test_an_inherited_rule_an_override_leaves_unused_is_warned_and_not_explained(tmp_path):
    from policydsl.explain.render import render_text

    (tmp_path / "policies" / "base").mkdir(parents=True)
    (tmp_path / "policies" / "kid").mkdir()
    (tmp_path / "policies" / "base" / "p.policy").write_text('policy "base"\ninput {\n  c: money\n}\nrule a: money = c * 2\nrule b: money = a + c\noutput b\n', encoding="utf-8")
    kid = tmp_path / "policies" / "kid" / "k.policy"
    kid.write_text('policy "kid"\n  extends "base/p"\noverride rule b: money = c\n', encoding="utf-8")
    policy = policydsl.load(kid)
    [warning] = policy.warnings
    assert warning.code == "W238" and "`a`" in warning.message
    text = render_text(policy.evaluate({"c": "1"}).explanation())
    assert "\na = " not in text and "b = 1.00  [output]" in text


def test_a_money_output_without_its_round_is_warned_at_check():
    policy = policydsl.loads('policy "x"\ninput {\n  a: money\n}\nrule half: money = a * 50%\nrule fine: money = round(a * 50%, half_up)\noutput half, fine\n', name="x.policy")
    assert [(w.code, "`half`" in w.message) for w in policy.warnings] == [("W239", True)]
    with pytest.raises(policydsl.EvaluationError) as raised:
        policy.evaluate({"a": "0.01"})
    assert raised.value.code == "R404"


@pytest.mark.parametrize(
    "text,word,line,column,hint",
    [
        ("input { a: money }\nrulex: money = a\noutput a\n", "rulex", 2, 1, "`rule x`"),
        ("input { a: money }\nrule r: money = a\noutputr\n", "outputr", 3, 1, "`output r`"),
        ("input { a: money }\nparamp = 1 yuan\nrule r: money = a + p\noutput r\n", "paramp", 2, 1, "`param p`"),
        ("input { a: money }\nrule r: money = a\n  becausex\noutput r\n", None, None, None, None),  # a name there: another error
    ],
)
def test_a_keyword_run_into_a_word_is_an_error_not_two_words(text, word, line, column, hint):
    """Where only a keyword can come, the lexer took `rule` out of `rulex` and the policy checked
    as `rule x` (or, after a syntax error, `outputr` recovered as `output r`) without a word."""
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    found = [(d.code, d.message, d.span.line, d.span.column, d.hint) for d in raised.value.diagnostics]
    if word is None:
        assert found and all("is not a keyword" not in message for _, message, *_ in found), found
        return
    assert ("P100", f"`{word}` is not a keyword", line, column, f"a space goes after the keyword: {hint}") in found, found


def test_names_and_numbers_that_start_a_word_are_not_cut():
    policy = policydsl.loads("input { rules: money  output_a: money }\nrule r2: money = rules + output_a\noutput r2\n")
    assert policy.evaluate({"rules": "1", "output_a": "2"}).outputs["r2"] == 3


@pytest.mark.parametrize(
    "call,written,count,column",
    [("min(400,000 yuan, cap)", "400,000", 2, 21), ("max(cap, 1,500,000 yuan)", "1,500,000", 3, 26)],
)
def test_thousands_with_commas_inside_a_call_are_an_error(call, written, count, column):
    """`min(400,000 yuan, cap)` parsed as min(400, 000 yuan, cap) and checked only when the
    types happened to clash; a number with a leading zero right after `digit,` is the mark."""
    text = f"input {{ a: money }}\nparam cap = 5 yuan\nrule r: money = {call}\noutput r\n"
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    first = next(d for d in raised.value.diagnostics if d.code == "P100")
    assert (first.code, first.message, first.span.line, first.span.column) == ("P100", f"`{written}` reads as {count} numbers: a comma separates arguments", 3, column)
    assert first.hint == f"thousands are separated with `_`, not `,`: write `{written.replace(',', '_')}`"


def test_numbers_separated_by_commas_without_spaces_are_arguments():
    policy = policydsl.loads("input { a: money }\nrule r: money = clamp(a,100 yuan,200 yuan)\noutput r\n")
    assert policy.evaluate({"a": "500"}).outputs["r"] == 200


@pytest.mark.parametrize(
    "value,code,hint",
    [
        ("三千 yuan", "P100", "numbers are written in digits: `3_000 yuan` for `三千 yuan`"),
        ("一万五千元", "C200", "numbers are written in digits: `15_000 yuan` for `一万五千元`"),
        ("四十万", "C200", "numbers are written in digits: `400_000` for `四十万`"),
    ],
)
def test_numbers_in_chinese_numerals_get_the_number_in_digits(value, code, hint):
    text = f"input {{ a: money }}\nparam cap = {value}\nrule r: money = min(a, cap)\noutput r\n"
    found = [(c, h) for c, _, h in diagnostics(text)]
    assert (code, hint) in found, found


def test_a_record_cycle_of_any_length_is_c203_not_a_crash():
    """A record holding itself through two others crashed loading (RecursionError in the
    compiler); only a record holding itself directly or through one other was C203."""
    text = "record A { b: B }\nrecord B { c: list of C }\nrecord C { a: A }\ninput { r: A  m: money }\nrule x: money = m\noutput x\n"
    found = [(code, message) for code, message, _ in diagnostics(text)]
    assert found == [("C203", "record `A` contains itself (A -> B -> C -> A)"), ("C203", "record `B` contains itself (B -> C -> A -> B)"),
                     ("C203", "record `C` contains itself (C -> A -> B -> C)")]


def test_a_record_used_by_two_fields_at_every_level_loads_in_linear_work():
    """Fifteen levels of records each held by two fields built 2**15 converters and inlined the
    fast reader 2**12 times (5 s, 770 kB of source); each record is now built and written once."""
    import time

    from policydsl.backends import facts

    levels = 15
    records = [f"record R{i} {{ a: R{i + 1}  b: R{i + 1} }}" for i in range(levels)] + [f"record R{levels} {{ x: money }}"]
    text = "\n".join(records) + "\ninput { r: R0  m: money }\nrule y: money = m\noutput y\n"
    started = time.perf_counter()
    policy = policydsl.loads(text)
    assert time.perf_counter() - started < 2
    source, _ = facts.reader_source(policy.program.ir, policy.program.ir.defaults)
    assert len(source) < 20_000
    leaf = {"x": "1.00"}
    claim = {"m": "3"}
    value = leaf
    for _ in range(levels):
        value = {"a": value, "b": value}
    claim["r"] = value
    assert policy.evaluate(claim).outputs["y"] == 3


ENUM_SET = 'policy "x"\nenum Level { 1, 2, 3 }\ninput {\n  level: Level\n}\nrule r: bool = CONDITION\noutput r\n'


@pytest.mark.parametrize("condition, column", [("level in {5}", 26), ("level in {1, 5}", 29), ("level not in {4}", 30)])
def test_a_number_in_a_set_tested_against_an_int_enum_must_be_a_member(condition, column):
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(ENUM_SET.replace("CONDITION", condition), name="x.policy")
    [found] = raised.value.diagnostics
    assert (found.code, found.message) == ("C203", f"{condition.split('{')[1].split(', ')[-1].rstrip('}')} is not a member of Level (1, 2, 3)")
    assert (found.span.line, found.span.column) == (6, column)


def test_members_in_a_set_tested_against_an_int_enum_are_accepted():
    policy = policydsl.loads(ENUM_SET.replace("CONDITION", "level in {1, 3}"), name="x.policy")
    assert [policy.evaluate({"level": level}).outputs["r"] for level in (1, 2, 3)] == [True, False, True]


@pytest.mark.parametrize("message, text", [
    ("`a` is an input; only a table can be indexed with `[...]`", 'policy "x"\ninput {\n  a: int\n}\nrule r: int = a[1]\noutput r\n'),
    ("output `L` is an enum; outputs are rules, parameters or inputs", 'policy "x"\nenum L { x }\ninput {\n  a: int\n}\noutput L\n'),
])
def test_messages_name_a_kind_with_its_article(message, text):
    assert message in [m for _, m, _ in diagnostics(text)]


def test_rounding_a_number_that_holds_a_whole_value_gives_its_decimal_not_a_crash():
    """An int rule declared `number` keeps a Python int; `round` used to call `.quantize` on it
    (AttributeError out of `evaluate`). Found by mutation testing of `ir/bounds.py`."""
    from decimal import Decimal

    text = ('policy "x"\ninput {\n  a: date\n  b: date\n}\noutput r, s\nrule k: number = days_between(a, b)\n'
            "rule r: number = round(k, half_up, 1)\nrule s: number = round(k * 1.5, half_even, 1)\n")
    policy = policydsl.loads(text, name="x.policy")
    facts = {"a": "2025-01-01", "b": "2025-02-01"}
    assert policy.evaluate(facts).outputs == {"r": Decimal("31"), "s": Decimal("46")}
    outputs, _steps = policy.run_traced(policy.read_facts(facts))
    assert outputs == {"r": Decimal("31"), "s": Decimal("46")}
    assert policy.evaluate({"a": "2025-01-01", "b": "2025-01-01"}).outputs["r"] == Decimal("0")


@pytest.mark.parametrize("field, column, problem", [
    ("x: money = 0 yuan - 5 yuan", 14, "money may not be negative, got -5"),
    ("x: money = 1.005 yuan * 1", 14, "money has at most 2 decimals (fen), got 1.005"),
    ("x: ratio = 60% + 60%", 14, "a ratio must be between 0% and 100%, got 1.20"),
    ("x: months = 0 months - 1 month", 15, "months may not be negative, got -1"),
])
def test_a_default_no_claim_could_carry_is_c273(field, column, problem):
    text = f'policy "x"\ninput {{\n  a: money\n  {field}\n}}\noutput r\nrule r: money = a\n'
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    [found] = raised.value.diagnostics
    assert (found.code, found.message) == ("C273", f"the default of `x` is not a value a claim could give it: {problem}")
    assert (found.span.line, found.span.column) == (4, column)


def test_a_record_fields_default_is_held_to_the_reader_too_and_a_good_one_is_taken():
    text = 'policy "x"\nrecord Item {\n  amount: money = 0 yuan - 1 yuan\n}\ninput {\n  items: list of Item\n}\noutput r\nrule r: money = sum(i.amount for i in items)\n'
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    assert [d.code for d in raised.value.diagnostics] == ["C273"]
    policy = policydsl.loads(text.replace("0 yuan - 1 yuan", "2 yuan - 1 yuan"), name="x.policy")
    assert str(policy.evaluate({"items": [{}, {"amount": "5.00"}]}).outputs["r"]) == "6.00"
