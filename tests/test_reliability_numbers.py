"""Numbers at their limits (issue 9): exact arithmetic whatever the caller's decimal context,
bounded facts, bounded whole numbers, bounded work, and a compiler that writes only what its
own tables say. Each test reproduces one of the reliability reproductions in-process."""

from __future__ import annotations

import decimal
import json
import time
from decimal import Decimal

import pytest

import policydsl
from policydsl.backends import python as compiler
from policydsl.ir.build import from_checked
from policydsl.backends import facts
from policydsl.syntax import nodes as n
from policydsl.cli.main import main
from policydsl.diagnostics.model import EvaluationError, FactsError
from policydsl.api import analyze
from policydsl.syntax.source import SourceFile

from .conftest import EXAMPLE_POLICY, example_claims
from tests.records import outputs

HUGE = "1E+1000000000000000000"  # past Decimal's range: the JSON reader makes it OutOfRange

EVERY_TYPE = """
enum Kind { a, b }
record Item { amount: money
  n: int }
input {
  claim_id: text
  m: money
  r: ratio
  x: number
  i: int
  months_: months
  flag: bool
  day: date
  label: text
  kind: Kind
  items: list of Item
}
rule out: money = m
output out
"""
GOOD = {
    "claim_id": "ok", "m": "1.00", "r": "50%", "x": 1, "i": 2, "months_": 3, "flag": True, "day": "2025-01-01",
    "label": "t", "kind": "a", "items": [{"amount": "1.00", "n": 1}],
}


def _claim_text(**raw: str) -> str:
    """GOOD as JSON, with the fields in `raw` written as raw JSON text."""
    text = json.dumps({**GOOD, **{key: "@" + key for key in raw}})
    for key, value in raw.items():
        text = text.replace(json.dumps("@" + key), value)
    return text


def _facts_errors(policy, text: str) -> list[tuple[str, str]]:
    with pytest.raises(FactsError) as caught:
        policy.evaluate(facts.loads(text))
    return [(e.path, e.code) for e in caught.value.errors]


# ---- repro 01: a number past Decimal's range, in any field ---------------------------


@pytest.mark.parametrize("field", ["m", "r", "x", "i", "months_", "flag", "day", "label", "kind"])
def test_out_of_range_number_is_f302_at_its_field(field):
    policy = policydsl.loads(EVERY_TYPE)
    assert _facts_errors(policy, _claim_text(**{field: HUGE})) == [(field, "F302")]


def test_out_of_range_number_in_a_list_element_and_an_unknown_field():
    policy = policydsl.loads(EVERY_TYPE)
    text = _claim_text(items=f'[{{"amount": {HUGE}, "n": 1}}, {{"amount": "1.00", "n": {HUGE}}}]')
    assert _facts_errors(policy, text) == [("items[0].amount", "F302"), ("items[1].n", "F302")]
    assert _facts_errors(policy, _claim_text(extra=HUGE)) == [("extra", "F303")]
    assert _facts_errors(policy, _claim_text(items=HUGE)) == [("items", "F302")]


def test_out_of_range_messages_say_so():
    policy = policydsl.loads(EVERY_TYPE)
    with pytest.raises(FactsError) as caught:
        policy.evaluate(facts.loads(_claim_text(m=HUGE)))
    assert caught.value.errors[0].message == "the number is out of range (too large or too precise to read), got 1E+1000000000000000000"


def test_an_integer_too_long_for_python_is_out_of_range():
    """A JSON integer of 4,400 digits: Python's int() refuses it (ValueError), the reader does not."""
    policy = policydsl.loads(EVERY_TYPE)
    long = "1" + "0" * 4400
    assert isinstance(facts.loads(f'{{"i": {long}}}')["i"], facts.OutOfRange)
    assert _facts_errors(policy, _claim_text(i=long)) == [("i", "F302")]
    assert _facts_errors(policy, _claim_text(extra=long)) == [("extra", "F303")]


def test_eval_writes_one_record_per_claim_around_a_huge_exponent(tmp_path, capsys):
    claims = tmp_path / "in.jsonl"
    lines = [json.dumps(c) for c in example_claims()[:2]]
    claims.write_text("\n".join([lines[0], f'{{"claim_id": "evil", "x": {HUGE}}}', lines[1]]) + "\n", encoding="utf-8")
    assert main(["eval", str(EXAMPLE_POLICY), str(claims)]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("claim_id") for r in records] == [example_claims()[0]["claim_id"], "evil", example_claims()[1]["claim_id"]]
    assert ("x", "F303") in {(e["path"], e["code"]) for e in records[1]["errors"]}
    assert "error" not in records[0] and "error" not in records[2]


# ---- repro 09: exact money --------------------------------------------------------------

ROUNDED = """
input { amount: money
  r: ratio }
rule paid: money = round(amount * r, half_up)
output paid
"""


def test_rounding_happens_only_in_round():
    """1.00 * 0.0049999999999999999999999999999 is 0.0049999...: half_up gives 0.00. Decimal's
    default 28-digit context rounded the product to 0.005 first, and round made it 0.01."""
    policy = policydsl.loads(ROUNDED)
    decision = policy.evaluate({"amount": "1.00", "r": Decimal("0.0049999999999999999999999999999")})
    assert decision.outputs["paid"] == Decimal("0.00")
    assert policy.evaluate({"amount": "1.00", "r": Decimal("0.005")}).outputs["paid"] == Decimal("0.01")


def test_a_product_past_200_digits_is_r408_naming_the_rule():
    text = """
input { r: ratio }
rule big: ratio = r * r * r * r * r * r
rule out: bool = big > 0%
output out
"""
    policy = policydsl.loads(text)
    r = Decimal("0." + "9" * 40)  # 40 digits: the 6th power needs 240
    with pytest.raises(EvaluationError) as caught:
        policy.evaluate({"r": r})
    assert caught.value.code == "R408" and caught.value.rule == "big"
    assert policy.evaluate({"r": Decimal("0.5")}).outputs["out"] is True


def test_a_quotient_keeps_50_digits():
    policy = policydsl.loads("input { a: number\n b: number }\nrule q: number = a / b\noutput q\n")
    assert policy.evaluate({"a": 1, "b": 3}).outputs["q"] == Decimal("0." + "3" * 50)
    assert policy.evaluate({"a": 10, "b": 4}).outputs["q"] == Decimal("2.5")


# ---- repro 10: big values ----------------------------------------------------------------

BIG = """
input { claim_id: text
  amount: money
  n: int }
rule total: money = amount * n
output total
"""


def test_big_products_are_exact_and_later_claims_are_decided(tmp_path, capsys):
    claims = tmp_path / "c.jsonl"
    claims.write_text(
        '{"claim_id": "a", "amount": "100.00", "n": 2}\n'
        '{"claim_id": "b", "amount": "99999999999999.99", "n": 999999999999999999}\n'
        '{"claim_id": "c", "amount": "1.00", "n": 3}\n',
        encoding="utf-8",
    )
    policy_file = tmp_path / "big.policy"
    policy_file.write_text(BIG, encoding="utf-8")
    assert main(["eval", str(policy_file), str(claims)]) == 0
    records = [outputs(json.loads(line)) for line in capsys.readouterr().out.splitlines()]
    assert records == [
        {"claim_id": "a", "total": "200.00"},
        {"claim_id": "b", "total": "99999999999999989900000000000000.01"},
        {"claim_id": "c", "total": "3.00"},
    ]


def test_a_money_output_too_long_for_the_fen_is_r408():
    """199 digits before the point: exact, but quantizing it to the fen needs 201 digits."""
    factors = " * ".join(["n"] * 10)
    policy = policydsl.loads(f"input {{ amount: money\n n: int }}\nrule total: money = amount * {factors} * 100000\noutput total\n")
    with pytest.raises(EvaluationError) as caught:
        policy.evaluate({"amount": "99999999999999", "n": 999999999999999999})
    assert caught.value.code == "R408" and caught.value.rule == "total"


def test_a_ratio_with_a_huge_exponent_is_f302():
    policy = policydsl.loads(ROUNDED)
    for bad in ["1E+9999999999%", "1E-9999999999%", "\uff15\uff10%", "5_0%", " 50%", "-0%"]:
        with pytest.raises(FactsError) as caught:
            policy.evaluate({"amount": "1.00", "r": bad})
        assert [(e.path, e.code) for e in caught.value.errors] == [("r", "F302")], bad
    assert policy.evaluate({"amount": "1.00", "r": "50%"}).outputs["paid"] == Decimal("0.50")
    assert policy.evaluate({"amount": "3.00", "r": "33.3333333333333333333333333333333333%"}).outputs["paid"] == Decimal("1.00")


def test_money_text_is_bounded_like_money_numbers():
    policy = policydsl.loads(ROUNDED)
    with pytest.raises(FactsError) as caught:
        policy.evaluate({"amount": "1" + "0" * 30, "r": "50%"})
    assert caught.value.errors[0].message.startswith("money amount is implausibly large")
    assert outputs(policy.evaluate({"amount": Decimal("0E-999999999"), "r": "50%"}).to_json()) == {"paid": "0.00"}


# ---- repro 11: a tiny claim, a huge output -------------------------------------------------


@pytest.mark.parametrize("number", ["1E-999999999", "1E+999999999", "1E-41", "1" + "0" * 20, "1." + "1" * 40])
def test_numbers_are_bounded_when_read(number):
    policy = policydsl.loads("input { claim_id: text\n x: number }\nrule y: number = max(x, 0)\noutput y\n")
    started = time.perf_counter()
    with pytest.raises(FactsError) as caught:
        policy.evaluate(facts.loads(f'{{"claim_id": "a", "x": {number}}}'))
    assert time.perf_counter() - started < 0.5
    (error,) = caught.value.errors
    assert (error.path, error.code) == ("x", "F302") and len(error.message) < 200
    edge = policy.evaluate(facts.loads('{"claim_id": "a", "x": 0.0000000000000000000000000000000000000001}'))
    assert edge.to_json()["y"] == "0." + "0" * 39 + "1"


# ---- repro 12: whole-number sums --------------------------------------------------------------


def _chain(rules: int, declared: str = "int") -> str:
    lines = ["record Item { n: int }", "input { items: list of Item }", f"rule r1: {declared} = sum(x.n for x in items)"]
    lines += [f"rule r{k}: {declared} = sum(r{k - 1} for x in items)" for k in range(2, rules + 1)]
    return "\n".join([*lines, f"output r{rules}"]) + "\n"


def test_whole_number_sums_stop_at_10_to_the_18():
    """r_k = 1000 ** k: r7 = 10**21 is refused where it is assigned (it once grew past the
    4,300 digits Python writes as text, and the JSON writer raised). A `number` sum starts
    from a Decimal zero, so it is bounded by the exact context instead (R408)."""
    policy = policydsl.loads(_chain(8))
    with pytest.raises(EvaluationError) as caught:
        policy.evaluate({"items": [{"n": 1}] * 1000})
    assert (caught.value.code, caught.value.rule) == ("R407", "r7")
    assert outputs(policy.evaluate({"items": [{"n": 1}] * 10}).to_json()) == {"r8": 10**8}
    assert outputs(policy.evaluate({"items": []}).to_json()) == {"r8": 0}


def test_ten_sums_of_the_largest_int_are_r407():
    policy = policydsl.loads("record Item { n: int }\ninput { items: list of Item }\nrule total: int = sum(x.n for x in items)\noutput total\n")
    with pytest.raises(EvaluationError) as caught:
        policy.evaluate({"items": [{"n": 999999999999999999}] * 10})
    assert (caught.value.code, caught.value.rule) == ("R407", "total")


def test_products_of_ints_declared_number_are_bounded():
    """An int expression declared `number` stays a Python int: squaring it 70 times would
    build a number of 2**70 digits."""
    lines = ["input { n: int }", "rule r0: number = n + 0"]
    lines += [f"rule r{k}: number = r{k - 1} * r{k - 1}" for k in range(1, 71)]
    policy = policydsl.loads("\n".join([*lines, "output r70"]) + "\n")
    started = time.perf_counter()
    with pytest.raises(EvaluationError) as caught:
        policy.evaluate({"n": 10})
    assert time.perf_counter() - started < 0.5
    assert (caught.value.code, caught.value.rule) == ("R407", "r5")  # 10 ** 32
    assert outputs(policy.evaluate({"n": 1}).to_json()) == {"r70": "1"}


# ---- repro 16: nested aggregates ----------------------------------------------------------------

CUBIC = """
record Item { amount: money }
input { claim_id: text
  items: list of Item }
rule c: int = count(a in items where any(b in items where any(x in items where a.amount + b.amount + x.amount > 999999999 yuan)))
output c
"""


def test_cubic_work_is_refused_before_running():
    policy = policydsl.loads(CUBIC)
    started = time.perf_counter()
    with pytest.raises(EvaluationError) as caught:
        policy.evaluate({"claim_id": "n400", "items": [{"amount": "1.00"}] * 400})
    assert time.perf_counter() - started < 0.5
    assert (caught.value.code, caught.value.rule) == ("R409", "c")
    assert "64,160,400" in str(caught.value)
    assert policy.evaluate({"claim_id": "n20", "items": [{"amount": "1.00"}] * 20}).outputs["c"] == 0


def test_nested_aggregates_over_an_elements_own_list_are_estimated_by_that_list():
    """3,000 items with 3 codes each: 9,000 inner steps, not 3,000 squared."""
    text = """
record Item { codes: list of Code }
record Code { value: int }
input { items: list of Item }
rule coded: int = count(i in items where any(c in i.codes where c.value = 7))
output coded
"""
    policy = policydsl.loads(text)
    items = [{"codes": [{"value": 1}, {"value": 2}, {"value": 7 if k % 2 else 3}]} for k in range(3000)]
    assert policy.program.work[0] is not None
    assert policy.evaluate({"items": items}).outputs["coded"] == 1500
    assert policydsl.load(EXAMPLE_POLICY).program.work == [None]  # no nested aggregate: no check


def test_explaining_checks_the_work_too():
    policy = policydsl.loads(CUBIC)
    inputs = policy.read_facts({"claim_id": "n400", "items": [{"amount": "1.00"}] * 400})
    with pytest.raises(EvaluationError) as caught:
        policy.run_traced(inputs)
    assert caught.value.code == "R409"


# ---- the caller's decimal context ------------------------------------------------------------


def _everything(policy) -> list:
    out = []
    for claim in example_claims():
        try:
            decision = policy.evaluate(claim)
        except (FactsError, EvaluationError) as error:
            out.append(str(error))
            continue
        out.append((decision.to_json(), decision.explain(), decision.explain("zh")))
    return out


def test_results_do_not_depend_on_the_callers_decimal_context():
    policy = policydsl.load(EXAMPLE_POLICY)
    expected = _everything(policy)
    with decimal.localcontext() as caller:
        caller.prec = 6
        caller.rounding = decimal.ROUND_DOWN
        caller.capitals = 0
        caller.Emax = 10
        for signal in (decimal.Inexact, decimal.Rounded):
            caller.traps[signal] = True
        caller.traps[decimal.InvalidOperation] = False
        assert _everything(policydsl.load(EXAMPLE_POLICY)) == expected
        assert decimal.getcontext() is caller and caller.prec == 6  # restored
    exact = policydsl.loads(ROUNDED)
    with decimal.localcontext() as caller:
        caller.prec = 6
        r = Decimal("0.0049999999999999999999999999999")
        assert exact.evaluate({"amount": "1.00", "r": r}).outputs["paid"] == Decimal("0.00")
        assert facts.loads('{"x": 1E+1000000000000000000}')["x"].__class__ is facts.OutOfRange


# ---- repro 08: nothing from a node reaches generated source but through fixed tables ------------


def _env(text: str):
    env, diagnostics = analyze(SourceFile("<test>", text))
    assert not [d for d in diagnostics if d.is_error]
    return env


def _first(expr, kind):
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, kind):
            return e
        stack += n.children(e)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "text, kind, field, value",
    [
        ("record I { a: money }\ninput { items: list of I }\nrule r: bool = any(x in items where x.a > 0 yuan)\noutput r\n", n.Aggregate, "kind", "__import__('os').system('true') or any"),
        ("input { a: bool\n b: bool }\nrule r: bool = a and b\noutput r\n", n.Binary, "op", "and __import__('os')"),
        ("input { a: money }\nrule r: money = max(a, 1 yuan)\noutput r\n", n.Call, "func", "__import__"),
        ("input { a: money }\nrule r: money = round(a, half_up)\noutput r\n", n.Name, "id", "exec"),
    ],
    ids=["aggregate kind", "operator", "function", "rounding mode"],
)
def test_node_text_never_reaches_generated_source(text, kind, field, value):
    env = _env(text)
    (rule,) = [d for d in env.policy.definitions if getattr(d, "name", None) == "r"]
    node = _first(rule.body, n.Call if kind is n.Name else kind)
    if kind is n.Name:  # round's mode
        node = node.args[1]
    object.__setattr__(node, field, value)  # what a tampered AST cache entry could hold
    with pytest.raises(AssertionError):
        compiler.compile_program(from_checked(env))
