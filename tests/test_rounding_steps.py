"""`round(x, mode, STEP)`: money to 10 or 100 yuan or to the jiao, ratios and numbers to a
power of ten, as policies and published figures state them; every mode, in the generated
code, the reference interpreter and the columnar engine alike."""

from __future__ import annotations

import random
from decimal import Decimal

import pyarrow as pa
import pytest

import policydsl
from policydsl.backends import interpreter
from policydsl.tools.batch.tables import decide_table
from policydsl.tools.formatter import format_text

POLICY = '''policy "rounding"
input {
  a: money
  r: ratio = 50%
}
rule ten: money = round(a, half_up, 10 yuan)
rule hundred: money = round(a * 0.75, half_even, 100 yuan)
rule jiao: money = round(a, down, 0.1 yuan)
rule up_ten: money = round(a, up, 10 yuan)
rule share: ratio = round(r * 1.2345, half_even, 0.1%)
rule fen: money = round(a * 0.333, half_up)
output ten, hundred, jiao, up_ten, share, fen
'''


@pytest.fixture(scope="module")
def policy():
    return policydsl.loads(POLICY, name="rounding.policy")


@pytest.mark.parametrize(
    "amount,ten,hundred,jiao,up_ten",
    [
        ("1234.56", "1230.00", "900.00", "1234.50", "1240.00"),
        ("5.00", "10.00", "0.00", "5.00", "10.00"),
        ("15.00", "20.00", "0.00", "15.00", "20.00"),
        ("4.99", "0.00", "0.00", "4.90", "10.00"),
        ("200.00", "200.00", "200.00", "200.00", "200.00"),
        ("66.66", "70.00", "0.00", "66.60", "70.00"),
        ("133.34", "130.00", "100.00", "133.30", "140.00"),
    ],
)
def test_money_to_a_step(policy, amount, ten, hundred, jiao, up_ten):
    outputs = policy.evaluate({"a": amount}).outputs
    assert [str(outputs[k]) for k in ("ten", "hundred", "jiao", "up_ten")] == [ten, hundred, jiao, up_ten]


def test_a_ratio_to_a_tenth_of_a_percent(policy):
    assert policy.evaluate({"a": "1", "r": "50%"}).outputs["share"] == Decimal("0.617")  # 0.61725, half-even
    assert policy.evaluate({"a": "1", "r": "10%"}).outputs["share"] == Decimal("0.123")  # 0.12345


def test_the_interpreter_and_the_generated_code_agree(policy):
    program = policy.program.ir
    chooser = random.Random(7)
    for _ in range(300):
        facts = {"a": f"{chooser.randrange(10**6)}.{chooser.randrange(100):02d}", "r": f"{chooser.randrange(101)}%"}
        inputs = policy.read_facts(facts)
        compiled = policy.evaluate(facts).outputs
        interpreted = dict(zip(program.outputs, interpreter.run(program, 0, inputs)))
        for name in ("ten", "hundred", "jiao", "up_ten", "share"):
            assert compiled[name] == interpreted[name]


def test_the_columnar_engine_rounds_alike():
    text = POLICY.replace("  r: ratio = 50%\n", "").replace("rule share: ratio = round(r * 1.2345, half_even, 0.1%)\n", "").replace("up_ten, share, fen", "up_ten, fen")
    policy = policydsl.loads(text, name="rounding.policy")
    chooser = random.Random(3)
    amounts = [f"{chooser.randrange(10**7)}.{chooser.randrange(100):02d}" for _ in range(2000)] + ["5.00", "15.00", "25.00", "150.00", "250.00", "0.05", "4.95"]
    table = pa.Table.from_pylist([{"a": amount} for amount in amounts])
    assert decide_table(policy, table, engine="columnar").to_pylist() == decide_table(policy, table, engine="row").to_pylist()


@pytest.mark.parametrize(
    "call,message",
    [
        ("round(a, half_up, 3 yuan)", "must be a power of ten"),
        ("round(a, half_up, 0.001 yuan)", "rounded to the fen at most"),
        ("round(a, half_up, 10%)", "must be a money written out"),
        ("round(a, half_up, 10 yuan, 1)", "not 4 values"),
    ],
)
def test_bad_steps_are_refused(call, message):
    text = f'policy "x"\ninput {{\n  a: money\n}}\nrule z: money = {call}\noutput z\n'
    with pytest.raises(policydsl.PolicyError) as raised:
        policydsl.loads(text, name="x.policy")
    assert any(message in d.message for d in raised.value.diagnostics), [d.message for d in raised.value.diagnostics]


def test_the_formatter_prints_steps_back():
    formatted = format_text(POLICY)
    assert "round(a, half_up, 10 yuan)" in formatted and "round(r * 1.2345, half_even, 0.1%)" in formatted
