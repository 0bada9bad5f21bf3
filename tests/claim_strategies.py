"""Hypothesis strategies that build valid claims from any policy's input schema.

Valid means: every field of the declared type, money with at most two decimals, dates
inside the policy's effective period when it states one. What the policy then decides
is up to the policy; the property tests check its invariants and that nothing crashes.
"""

from __future__ import annotations

import datetime

from hypothesis import strategies as st

from policydsl import types as t

_MONEY_CAP = 2_000_000_00  # fen


def money() -> st.SearchStrategy[str]:
    small = st.integers(0, 50_000_00)
    large = st.integers(0, _MONEY_CAP)
    return st.one_of(small, small, large).map(lambda fen: f"{fen // 100}.{fen % 100:02d}")


def _dates(policy) -> st.SearchStrategy[str]:
    effective = policy.env.policy.header.effective
    low = (effective.start if effective and effective.start else datetime.date(2024, 1, 1))
    high = (effective.end if effective and effective.end else low + datetime.timedelta(days=900))
    return st.dates(low - datetime.timedelta(days=400), high).map(datetime.date.isoformat)


def value_of(policy, type_) -> st.SearchStrategy:
    if type_ == t.MONEY:
        return money()
    if type_ == t.RATIO:
        return st.integers(0, 100).map(lambda p: f"{p}%")
    if type_ in (t.INT, t.NUMBER):
        return st.integers(0, 40)
    if type_ == t.MONTHS:
        return st.integers(0, 24)
    if type_ == t.BOOL:
        return st.booleans()
    if type_ == t.DATE:
        return _dates(policy)
    if type_ == t.TEXT:
        return st.text(min_size=1, max_size=12)
    if isinstance(type_, t.EnumType):
        return st.sampled_from(type_.members)
    if isinstance(type_, t.ListType):
        return st.lists(value_of(policy, type_.element), min_size=0, max_size=6)
    if isinstance(type_, t.RecordType):
        return record(policy, type_.name)
    raise AssertionError(type_)


def record(policy, name: str | None) -> st.SearchStrategy[dict]:
    env = policy.env
    fields = {field.name: value_of(policy, env.field_types[(name, field.name)]) for field in env.record_fields(name)}
    return st.fixed_dictionaries(fields)


def claims(policy) -> st.SearchStrategy[dict]:
    """Claims for `policy`, with the claim's own date field inside its period."""
    return record(policy, None)
