"""Fuzzing claim facts: whatever a claim system sends, the answer is a decision or errors
that name the field, never a traceback and never a hang.

Claims start from the example province's valid claims and are mutated: fields removed,
values replaced by wrong types, null, NaN/Infinity, huge, negative or over-precise
amounts, impossible dates, unknown enum members, unknown fields, deep nesting and very
long lists. They reach the policy as Python values and as JSON text (through
`policydsl.backends.facts.loads`, the reader the CLI uses).
"""

from __future__ import annotations

import copy
import json
import re
import reprlib
import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import policydsl
from policydsl.cli.main import main
from policydsl.diagnostics.model import EvaluationError, FactsError
from policydsl.backends.facts import NonFinite
from policydsl.backends.facts import loads as json_loads
from policydsl.backends.facts import format_path
from policydsl.check import types as t
from pathlib import Path
from hypothesis import settings

from .claim_strategies import RAW_NUMBERS, claims, dumps, raw_json, schema_paths, typed_mutations
from .conftest import budget, EXAMPLE_POLICY, ROOT, example_claims
from .fuzz_oracles import OracleFailure, check_claim, expected_problems

POLICY = policydsl.load(EXAMPLE_POLICY)
CLAIMS = example_claims()
ITEMS = [item for claim in CLAIMS for item in claim["items"]]


# ---- the property --------------------------------------------------------------------

BUNDLED = {path: policydsl.load(path) for path in sorted((ROOT / "policies").glob("**/*.policy"))}


def check_outcome(claim, policy=POLICY) -> str:
    """The strict oracle: tests/fuzz_oracles.check_claim (the example's invariants must hold)."""
    return check_claim(policy, claim, invariants_hold=True)


# ---- strategies ----------------------------------------------------------------------

ODD_DECIMALS = [
    "12.345", "-5.00", "-0.00", "0.001", "1E+999999999", "-1E+999999999", "1E-999999999", "99999999999999.99",
    "100000000000000", "123456789012345678901234567890.001", "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "2.50", "1.000",
]
ODD_TEXT = [
    "2025-02-30", "2025-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "2025-1-1", "2025-01-01T00:00", "\u0662\u0660\u0662\u0665-\u0660\u0661-\u0660\u0661",
    "12.345", "-5.00", "-0", "1e3", "1_000", " 12", "12 ", "\uff11\uff12", "75%", "150%", "-5%", "NaN%", "sNaN%", "1E+999999%", "abc", "",
    "wellnes", "ordinary", "covered", "Ordinary", "newborn", "2", "true", "null", "\ud800", "\x00", "x" * 10_000,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.integers(),
    st.sampled_from([10**17, 10**18, -(10**18), 10**40, 2**64]),
    st.floats(),
    st.decimals(),
    st.sampled_from([Decimal(text) for text in ODD_DECIMALS]),
    st.sampled_from([NonFinite("NaN"), NonFinite("Infinity"), NonFinite("-Infinity")]),
    st.text(max_size=20),
    st.sampled_from(ODD_TEXT),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
field_names = st.one_of(st.sampled_from(["claim_id", "items", "amount", "category", "person", "hospitl_level", "Items"]), st.text(max_size=12))


def deep(depth: int, kind: str):
    value: object = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def paths(value, limit: int = 20) -> list[tuple]:
    """Paths to every value (lists: their first `limit` elements), iteratively."""
    found: list[tuple] = [()]
    stack = [((), value)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, dict):
            children = list(current.items())
        elif isinstance(current, list):
            children = list(enumerate(current[:limit]))
        else:
            continue
        for key, child in children:
            found.append((*path, key))
            if len(path) < 6:
                stack.append(((*path, key), child))
    return found


def _parent(claim, path):
    holder = claim
    for key in path[:-1]:
        holder = holder[key]
    return holder


class Claim(dict):
    """A generated claim whose repr stays short: Hypothesis prints (and turns into a patch)
    every failing example, and a 3,000-item or 5,000-deep claim would swamp both."""

    def __repr__(self) -> str:
        return f"Claim({SHORT.repr(dict(self))})"


SHORT = reprlib.Repr()
SHORT.maxlevel, SHORT.maxdict, SHORT.maxlist, SHORT.maxstring, SHORT.maxother = 8, 20, 12, 80, 80


@st.composite
def mutated_claims(draw, python_only: bool = True):
    claim = Claim(copy.deepcopy(draw(st.sampled_from(CLAIMS))))
    big = False  # at most one long list or deep value per claim: they would multiply
    for _ in range(draw(st.integers(1, 4))):
        targets = [p for p in paths(claim) if p]
        ops = ["delete", "replace", "replace", "add"] + (["long", "deep"] if not big else []) + ["root"]
        op = draw(st.sampled_from(ops if python_only else [o for o in ops if o not in ("deep", "root")]))
        big = big or op in ("long", "deep")
        path = draw(st.sampled_from(targets)) if targets else None
        if op == "root":
            claim = draw(junk)
            break
        if path is None:
            continue
        holder = _parent(claim, path)
        if op == "delete":
            del holder[path[-1]]
        elif op == "replace":
            holder[path[-1]] = draw(junk)
        elif op == "add":
            target = holder if isinstance(holder, dict) else claim
            target[draw(field_names)] = draw(junk)
        elif op == "long":
            item = copy.deepcopy(draw(st.one_of(st.sampled_from(ITEMS), scalars)))  # not from `claim`: no cycles
            holder[path[-1]] = [item] * draw(st.integers(0, 3_000))  # one object, many times: cheap
        elif op == "deep":
            holder[path[-1]] = deep(draw(st.integers(1, 5_000)), draw(st.sampled_from(["list", "dict"])))
    return claim


def to_json(value) -> str:
    """JSON text for a claim, with Decimals written as numbers and NaN/Infinity as JSON extensions."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else ("NaN" if value.is_nan() else ("-Infinity" if value < 0 else "Infinity"))
    if isinstance(value, NonFinite):
        return value.text
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
        return str(Decimal(value))  # all the digits (json.dumps stops at 4,300)
    return json.dumps(value)


# ---- tests ---------------------------------------------------------------------------


def test_every_example_claim_is_decided():
    assert {check_outcome(claim) for claim in CLAIMS} == {"decision"}


@given(mutated_claims())
def test_mutated_claims_as_python_values(claim):
    check_outcome(claim)


@given(mutated_claims(python_only=False), st.data())
def test_mutated_claims_as_json_text(claim, data):
    text = to_json(claim)
    if data.draw(st.booleans()):  # and corrupt the text itself
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.text(max_size=3)) + text[at + data.draw(st.integers(0, 3)) :]
    try:
        parsed = json_loads(text)
    except ValueError:
        return  # malformed JSON: the CLI writes an error record for the line (test_nothing_lost)
    check_outcome(parsed)


@given(junk)
def test_anything_at_all_as_a_claim(value):
    check_outcome(value)


# ---- schema-aware: valid claims at the limits, typed mutations, raw JSON numbers ------------

POLICY_LIST = list(BUNDLED.items())
policies = st.sampled_from(range(len(POLICY_LIST)))


@budget(50)
@given(st.data())
def test_valid_claims_at_the_limits_on_every_bundled_policy(data):
    """Valid facts (by the reference reader) must be decided, or refused with an evaluation
    error that says why; a bundled policy's invariants hold on every claim it accepts."""
    path, policy = POLICY_LIST[data.draw(policies, label="policy")]
    claim = data.draw(claims(policy, edges=True), label="claim")
    check_claim(policy, claim, invariants_hold=True)


@budget(50)
@given(st.data())
def test_typed_mutations_on_every_bundled_policy(data):
    path, policy = POLICY_LIST[data.draw(policies, label="policy")]
    claim = data.draw(typed_mutations(policy, data.draw(claims(policy, edges=True))), label="mutated")
    check_claim(policy, claim, invariants_hold=True)


@budget(50)
@given(st.data())
def test_raw_json_numbers_anywhere(data):
    """A number written in the JSON text itself (1E+1000000000000000000, 1E-999999999, 40 digits,
    -0) at a field of any type or in an unknown field: read without raising, judged strictly."""
    path, policy = POLICY_LIST[data.draw(policies, label="policy")]
    claim = data.draw(claims(policy, edges=True), label="claim")
    targets = [p for p, _ in schema_paths(policy, claim)] + [("unknown_field",)]
    at = data.draw(st.sampled_from(targets), label="path")
    number = data.draw(st.sampled_from(RAW_NUMBERS), label="number")
    text = raw_json({**claim, "unknown_field": 0} if at == ("unknown_field",) else claim, at, number)
    from policydsl.tools.claims_io import parse_json_line

    started = time.perf_counter()
    parsed = json_loads(text)
    line = parse_json_line(text.encode("utf-8"))
    assert time.perf_counter() - started < 1, "reading one JSON line took over a second"
    assert not isinstance(line, Exception), line
    check_claim(policy, parsed, invariants_hold=True)


@pytest.mark.parametrize("name", sorted({str(p) for p in BUNDLED}), ids=lambda p: p.split("policies/")[-1])
def test_each_kind_of_mutation_predicts_its_error(name):
    """Deterministic: for every field of the first claim each policy accepts, negative money,
    a field removed and an unknown field next to it must give F302 / F301 / F303 at that path.
    A reader broken to accept negative money or unknown fields fails here."""
    policy = BUNDLED[Path(name)]
    claim = _first_valid_claim(policy)
    checked = 0
    for path, type_ in schema_paths(policy, claim):
        cases = []
        if type_ == t.MONEY:
            cases.append(("set", "-0.01", "F302"))
            cases.append(("set", -1, "F302"))
        cases.append(("unknown", None, "F303"))
        if len(path) == 1 and (None, path[0]) not in policy.program.defaults:
            cases.append(("delete", None, "F301"))
        for op, value, code in cases:
            mutated = copy.deepcopy(claim)
            holder = mutated
            for part in path[:-1]:
                holder = holder[part]
            if op == "set":
                holder[path[-1]] = value
                where = format_path(path)
            elif op == "delete":
                del holder[path[-1]]
                where = format_path(path)
            elif isinstance(holder, dict):
                holder[f"{path[-1]}_x"] = 1
                where = format_path((*path[:-1], f"{path[-1]}_x"))
            else:
                continue
            with pytest.raises(FactsError) as caught:
                policy.evaluate(mutated)
            assert (where, code) in {(e.path, e.code) for e in caught.value.errors}, (op, path, caught.value.errors)
            checked += 1
    assert checked >= 3


def _first_valid_claim(policy):
    """The first generated claim the policy decides; for a frame (the national baseline, which
    decides no claim, W237), the first it refuses only as a frame (R405: a required value
    unset), after reading its facts: a mutation of it must still be a facts error."""
    found = []
    frame = any(w.code == "W237" for w in policy.warnings)

    @settings(max_examples=50, database=None, derandomize=True)
    @given(claims(policy))
    def collect(claim):
        if not found and not expected_problems(policy.env, policy.program.defaults, claim, policy._drop_claim_id)[0]:
            try:
                policy.evaluate(claim)
            except EvaluationError as error:
                if not (frame and error.code == "R405" and "is required and this policy does not set it" in str(error)):
                    return
            else:
                assert not frame, "a frame decided a claim"
            found.append(claim)

    collect()
    assert found, "no generated claim is decided" + (" (or refused as a frame)" if frame else "")
    return found[0]


def test_the_oracle_catches_a_lenient_reader():
    """The oracle itself can fail: a reader that accepts negative money and ignores unknown
    fields (the audit of issue 20 broke the reader so; every old fuzz test still passed)."""
    lenient = policydsl.load(EXAMPLE_POLICY)
    strict = lenient._read

    def read(facts):
        facts = copy.deepcopy(facts)
        facts.pop("hospitl_level", None)
        for item in facts.get("items", []):
            if isinstance(item.get("amount"), str) and item["amount"].startswith("-"):
                item["amount"] = item["amount"][1:]
        return strict(facts)

    lenient._read = read
    negative = copy.deepcopy(CLAIMS[0])
    negative["items"][0]["amount"] = "-5.00"
    unknown = {**copy.deepcopy(CLAIMS[0]), "hospitl_level": 2}
    for claim in (negative, unknown):
        assert check_claim(POLICY, claim) == "facts"
        with pytest.raises(OracleFailure, match="a decision for facts the rules refuse"):
            check_claim(lenient, claim)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("amount", "12.345", "money has at most 2 decimals (fen), got \"12.345\""),
        ("amount", Decimal("12.345"), "money has at most 2 decimals (fen), got 12.345"),
        ("amount", "-5.00", "money may not be negative, got \"-5.00\""),
        ("amount", Decimal("-5"), "money may not be negative, got -5"),
        ("amount", NonFinite("NaN"), "expected money, got NaN"),
        ("amount", float("inf"), "expected money, got inf"),
        ("amount", Decimal("123456789012345678901234567890.001"), "money has at most 2 decimals (fen), got 123456789012345678901234567890.001"),
        ("amount", 10**5000, "money amount is implausibly large, got a very large number"),
        ("amount", "\uff11\uff12", "expected money, got \"\uff11\uff12\""),
        ("category", ["covered"], "expected one of ItemCategory (covered, work_injury, third_party, public_health, abroad, wellness), got a list"),
        ("category", Decimal("sNaN"), "expected one of ItemCategory (covered, work_injury, third_party, public_health, abroad, wellness), got sNaN"),
    ],
    ids=lambda value: None if not isinstance(value, int) else "int",
)
def test_item_values(field, value, message):
    claim = copy.deepcopy(CLAIMS[0])
    claim["items"][0][field] = value
    with pytest.raises(FactsError) as caught:
        POLICY.evaluate(claim)
    assert [(e.path, e.message) for e in caught.value.errors] == [(f"items[0].{field}", message)]


@pytest.mark.parametrize("value", [Decimal("1E+999999999"), 10**5000, -(10**40), Decimal("-1E+30")], ids=["dec", "int", "neg", "negdec"])
def test_huge_ints_are_refused_at_once(value):
    """int(Decimal("1E+999999999")) would build a billion-digit number: refuse it instead."""
    claim = copy.deepcopy(CLAIMS[0])
    claim["person"]["gap_years"] = value
    started = time.perf_counter()
    with pytest.raises(FactsError) as caught:
        POLICY.evaluate(claim)
    assert time.perf_counter() - started < 1
    assert caught.value.errors[0].path == "person.gap_years"
    assert caught.value.errors[0].message.startswith("int is implausibly large")


def test_minus_zero_money_is_zero():
    claim = copy.deepcopy(CLAIMS[0])
    claim["items"][0]["amount"] = Decimal("-0.00")
    assert POLICY.evaluate(claim).to_json()["eligible"] == "0.00"


def test_very_long_lists():
    claim = copy.deepcopy(CLAIMS[0])
    claim["items"] = [{"category": "covered", "amount": "0.01"}] * 200_000
    started = time.perf_counter()
    assert POLICY.evaluate(claim).to_json()["eligible"] == "2000.00"
    claim["items"] = claim["items"][:1000] + [None] + claim["items"][:1000]
    with pytest.raises(FactsError) as caught:
        POLICY.evaluate(claim)
    assert [e.path for e in caught.value.errors] == ["items[1000]"]
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_deep_nesting_as_python_values(kind):
    claim = copy.deepcopy(CLAIMS[0])
    claim["items"] = deep(100_000, kind)
    claim["extra"] = deep(100_000, kind)
    with pytest.raises(FactsError) as caught:
        POLICY.evaluate(claim)
    assert {e.path for e in caught.value.errors} <= {"items", "items[0]", "extra"}


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"a": ' * 100_000 + "1" + "}" * 100_000, "[" * 100_000], ids=["lists", "objects", "open"]
)
def test_deep_json_is_a_value_error(text):
    with pytest.raises(ValueError) as caught:
        json_loads(text)
    assert not isinstance(caught.value, RecursionError)
    assert "nested too deeply" in str(caught.value)


def test_deep_json_line_through_the_cli(tmp_path, capsys):
    good = json.dumps(to_json_ready(CLAIMS[0]))
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join([good, "[" * 100_000 + "]" * 100_000, good]) + "\n", encoding="utf-8")
    assert main(["eval", str(EXAMPLE_POLICY), str(path)]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 3
    assert records[1]["line"] == 2 and "nested too deeply" in records[1]["error"]
    assert "error" not in records[0] and "error" not in records[2]


def to_json_ready(claim):
    return json.loads(to_json(claim))
