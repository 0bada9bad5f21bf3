"""Hypothesis strategies that build claims from any policy's input schema.

`claims(policy)` builds valid claims: every field of the declared type, money with at most
two decimals, dates inside the policy's effective period when it states one. With
`edges=True` the values also reach the limits the reader documents (money just below its
cap, ratios of 28 and 29 significant digits, whole numbers near 10**17, the calendar's first
and last days), which are still valid facts: the policy must decide them or refuse them
with an evaluation error that says why (R4xx), never crash or lose precision.

`typed_mutations(policy, claim)` changes one field of a valid claim *by its type*, to a value
at or beyond a limit (negative money, a 29-digit ratio, 1E+1000000000000000000, an unknown
member, an unknown field...). What the facts reader must answer is judged by
`tests/fuzz_oracles.expected_problems`, independently of the reader.

`raw_json(claim, path, text)` writes a claim as JSON text with the value at `path` replaced
by raw JSON text (a number Python cannot write: `1E-999999999`, 40 digits, `-0`).
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from hypothesis import strategies as st

from policydsl.check import types as t

_MONEY_CAP = 2_000_000_00  # fen


def money(edges: bool = False) -> st.SearchStrategy:
    small = st.integers(0, 50_000_00)
    large = st.integers(0, _MONEY_CAP)
    text = st.one_of(small, small, large).map(lambda fen: f"{fen // 100}.{fen % 100:02d}")
    if not edges:
        return text
    return st.one_of(
        text,
        st.sampled_from(["0", "0.00", "0.0", "0.01", "99999999999999.99", "99999999999999", "12.3", "1.10"]),
        st.integers(0, 10**13),
        st.sampled_from([Decimal("0E-10"), Decimal("1.000"), Decimal("99999999999999.99"), Decimal("-0.00"), Decimal("5E+3")]),
    )


RATIO_EDGES = [
    "0%", "100%", "100.0%", "0.5%", "33.333333333333333333333333333333%", "0.0000000000000000000000000001%",
    Decimal("0.0049999999999999999999999999999"),  # 29 digits: past Decimal's default context
    Decimal("0.1234567890123456789012345678"),  # 28 digits
    Decimal("0.9999999999999999999999999999999999999999"), Decimal("1"), Decimal("0"), Decimal("1.000"), Decimal("1E-40"),
    Decimal("0E+5"), 0, 1, 0.5, 0.1,
]


def ratio(edges: bool = False) -> st.SearchStrategy:
    percent = st.integers(0, 100).map(lambda p: f"{p}%")
    if not edges:
        return percent
    fraction = st.one_of(*(st.decimals(0, 1, places=places) for places in (2, 4, 28, 29, 40)))
    return st.one_of(percent, st.sampled_from(RATIO_EDGES), fraction)


def _dates(policy, edges: bool = False) -> st.SearchStrategy[str]:
    effective = policy.env.policy.header.effective
    low = (effective.start if effective and effective.start else datetime.date(2024, 1, 1))
    high = (effective.end if effective and effective.end else low + datetime.timedelta(days=900))
    inside = st.dates(low - datetime.timedelta(days=400), high).map(datetime.date.isoformat)
    if not edges:
        return inside
    return st.one_of(inside, inside, st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-29", "2025-12-31", "1970-01-01"]))


def value_of(policy, type_, edges: bool = False) -> st.SearchStrategy:
    if type_ == t.MONEY:
        return money(edges)
    if type_ == t.RATIO:
        return ratio(edges)
    if type_ in (t.INT, t.NUMBER):
        if edges:
            return st.one_of(st.integers(0, 40), st.integers(-(10**17) + 1, 10**17 - 1), st.sampled_from([10**17 - 1, -(10**17) + 1, 2**53 + 1]))
        return st.integers(0, 40)
    if type_ == t.MONTHS:
        return st.one_of(st.integers(0, 24), st.sampled_from([1200, 119_988, 10**17 - 1])) if edges else st.integers(0, 24)
    if type_ == t.BOOL:
        return st.booleans()
    if type_ == t.DATE:
        return _dates(policy, edges)
    if type_ == t.TEXT:
        return st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
    if isinstance(type_, t.EnumType):
        return st.sampled_from(type_.members)
    if isinstance(type_, t.ListType):
        return st.lists(value_of(policy, type_.element, edges), min_size=0, max_size=6)
    if isinstance(type_, t.RecordType):
        return record(policy, type_.name, edges)
    raise AssertionError(type_)


def record(policy, name: str | None, edges: bool = False) -> st.SearchStrategy[dict]:
    env = policy.env
    fields = {field.name: value_of(policy, env.field_types[(name, field.name)], edges) for field in env.record_fields(name)}
    return st.fixed_dictionaries(fields)


def claims(policy, edges: bool = False) -> st.SearchStrategy[dict]:
    """Claims for `policy`, with the claim's own date field inside its period."""
    return record(policy, None, edges)


# ---- values at and beyond the limits, by type ------------------------------------------

HUGE = ["1E+1000000000000000000", "-1E+1000000000000000000", "1E+999999999", "1E-999999999", "1e-1000000000000000000", "9" * 45, "-" + "9" * 45]
# Raw JSON number texts: what Python's json cannot write but a claim system can.
RAW_NUMBERS = HUGE + [
    "0", "-0", "-0.0", "0.00", "1.005", "12.345", "1E+2", "1e2", "1.0E+1", "100.00", "5E-1", "0.5", "1E-28", "1E-29",
    "0.0049999999999999999999999999999", "0.1234567890123456789012345678", "1234567890123456789012345678901234567890",
    "99999999999999.99", "99999999999999.999", "100000000000000.00", "999999999999999999", "1000000000000000000",
    "-999999999999999999", "18446744073709551616", "1" + "0" * 4400, "0." + "0" * 40 + "1", "1.7976931348623157e308", "5e-324",
]
BAD_BY_TYPE = {
    t.MONEY: ["-0.01", "-5.00", Decimal("-5"), -1, "12.345", Decimal("0.001"), "1e3", " 12", "\uff11\uff12", "\u0661\u0662", "1_000", "NaN", "Infinity"],
    t.RATIO: ["101%", "-5%", "75", "75 %", "\u0665\u0660%", "\uff15\uff10%", "5_0%", " 50%", "NaN%", "1E+9999999999%", "-0.5", Decimal("1.0000000000000000000000000000001"), 2],
    t.INT: [True, 1.5, "3", Decimal("2.5"), 10**18, -(10**18), 10**40, 2**64],
    t.MONTHS: [-1, True, "3", 10**18],
    t.DATE: ["2025-02-30", "2025-13-01", "0000-01-01", "2025-1-1", "\u0662\u0660\u0662\u0665-\u0660\u0661-\u0660\u0661", "20250101", 20250101, "2025-01-01T00:00"],
    t.BOOL: [0, 1, "true", None],
    t.TEXT: [1, None, "\ud800", "a\udfffb", ["x"]],
    t.NUMBER: [True, "2.5", "NaN"],
}
ANY_BAD = [None, [], {}, "x" * 5000, "", True]


def schema_paths(policy, value, record_name=None, path=()):
    """(path, type) of every scalar or enum field present in a claim built from the schema."""
    env = policy.env
    found = []
    if not isinstance(value, dict):
        return found
    for field in env.record_fields(record_name):
        if field.name not in value:
            continue
        type_ = env.field_types[(record_name, field.name)]
        here = (*path, field.name)
        child = value[field.name]
        if isinstance(type_, t.RecordType):
            found += schema_paths(policy, child, type_.name, here)
        elif isinstance(type_, t.ListType):
            for index, element in enumerate(child[:5] if isinstance(child, list) else []):
                if isinstance(type_.element, t.RecordType):
                    found += schema_paths(policy, element, type_.element.name, (*here, index))
                else:
                    found.append(((*here, index), type_.element))
            found.append((here, type_))
        else:
            found.append((here, type_))
    return found


def _set(claim, path, value):
    holder = claim
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = value


def edge_value(type_) -> st.SearchStrategy:
    """A value for a field of `type_`: a bad one, one at a limit, or junk of another type."""
    bad = BAD_BY_TYPE.get(type_, [])
    options = [st.sampled_from(ANY_BAD), st.sampled_from([Decimal(text) for text in HUGE[2:5]] + [10**5000])]
    if bad:
        options += [st.sampled_from(bad)] * 3
    if type_ == t.MONEY:
        options.append(money(edges=True))
    if type_ == t.RATIO:
        options.append(ratio(edges=True))
    if isinstance(type_, t.EnumType):
        members = list(type_.members)
        options.append(st.sampled_from([str(m).upper() for m in members if isinstance(m, str)] + [str(m) for m in members] + [m + 10 for m in members if type(m) is int] + ["", "\u0430"] ))
    return st.one_of(*options)


@st.composite
def typed_mutations(draw, policy, claim: dict):
    """Change a copy of `claim` by its schema: 1-3 of set a field to an edge value, delete a
    field, add an unknown field (a near-miss of a real name, or anything)."""
    import copy

    claim = copy.deepcopy(claim)
    for _ in range(draw(st.integers(1, 3))):
        fields = schema_paths(policy, claim)
        op = draw(st.sampled_from(["set", "set", "set", "delete", "unknown"]))
        if not fields:
            break
        path, type_ = draw(st.sampled_from(fields))
        if op == "set":
            _set(claim, path, draw(edge_value(type_)))
        elif op == "delete":
            holder = claim
            for part in path[:-1]:
                holder = holder[part]
            del holder[path[-1]]
        else:
            holder = claim
            for part in path[:-1]:
                holder = holder[part]
            if isinstance(holder, dict):
                name = str(path[-1])
                key = draw(st.sampled_from([name[:-1], name.upper(), name + "s", name + " ", "\u0430" + name[1:], "x"])) or "y"
                holder[key] = draw(st.sampled_from(["1.00", 1, None]))
    return claim


def raw_json(claim, path: tuple, text: str) -> str:
    """`claim` as JSON text (Decimals written as numbers), with the value at `path` written as `text`."""
    import copy

    if not path:
        return text
    marker = "\x00raw\x00"
    claim = copy.deepcopy(claim)
    _set(claim, path, marker)
    return dumps(claim).replace(json.dumps(marker), text, 1)


def dumps(value) -> str:
    """JSON text for a claim, with Decimals written as JSON numbers (exactly)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if value.is_finite():
            return str(value)
        return "NaN" if value.is_nan() else ("-Infinity" if value < 0 else "Infinity")
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
        return str(Decimal(value))  # all the digits (json.dumps stops at 4,300)
    if isinstance(value, (datetime.date,)):
        return json.dumps(value.isoformat())
    return json.dumps(value)
