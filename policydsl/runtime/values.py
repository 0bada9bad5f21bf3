"""How policy values are written out: to JSON (settlement systems) and to text (people).

Money is written with exactly two decimals (`"8625.00"`); a money output that is not a
whole number of fen is refused at evaluation, so no rounding ever happens here. Every
operation passes its decimal context (`numbers.ROUNDING`), so what is written does not
depend on the caller's context; a value too long for it is written as it is.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from policydsl.runtime import numbers
from policydsl.check import types as t

FEN = Decimal("0.01")
UNLIMITED_TEXT = "unlimited"  # money with no limit (`unlimited`), in JSON and CSV; in Parquet, null
_CONTEXT = numbers.ROUNDING


def percent(value: Decimal) -> str:
    return f"{format(value.scaleb(2, _CONTEXT).normalize(_CONTEXT), 'f')}%"


def money(value: Decimal) -> str:
    if value.is_infinite():
        return UNLIMITED_TEXT if value > 0 else "-" + UNLIMITED_TEXT
    try:
        fen = value.quantize(FEN, None, _CONTEXT)  # positional: a keyword costs ~0.4 µs
    except ArithmeticError:
        return format(value, "f")
    # a Decimal of exponent -2 prints without an exponent: `str` is `format(fen, "f")`, faster
    return str(fen) if fen == value else format(value, "f")


def _same(value):
    return value


def json_writer(type_):
    """`to_json` for values of `type_`, with the type dispatch done once per policy output
    rather than for every value of every decision."""
    if type_ == t.MONEY:
        return money
    if type_ in (t.BOOL, t.INT, t.MONTHS, t.TEXT) or isinstance(type_, t.EnumType):
        return _same
    return lambda value: to_json(value, type_)


def to_json(value, type_):
    """A JSON-ready value: money and ratios as strings, dates ISO, months and ints as numbers."""
    if type_ == t.MONEY:
        return money(value)
    if type_ in (t.RATIO, t.NUMBER):
        value = Decimal(value)  # an int is a number too (`param q: number = 2`)
        if value == value.to_integral_value(context=_CONTEXT):
            return format(value.normalize(_CONTEXT), "f")
        return format(value, "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return [to_json(v, None) for v in value]
    return value


def to_text(value, type_=None, lang: str = "en") -> str:
    """A short human rendering: 8625.00, 75%, 4 months, 2025-07-31, true; `unlimited`
    money is "unlimited (no cap)". `lang` "zh": 4 个月, 不封顶."""
    if type_ == t.MONEY or (type_ is None and isinstance(value, Decimal)):
        if isinstance(value, Decimal) and value == numbers.UNLIMITED:
            return "不封顶 (unlimited)" if lang == "zh" else "unlimited (no cap)"
        return money(value)
    if type_ == t.MONTHS and lang == "zh":
        return f"{value} 个月"
    if type_ == t.RATIO:
        return percent(value)
    if type_ == t.MONTHS:
        return f"{value} month{'s' if value != 1 else ''}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return f"{len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, str) and type_ == t.TEXT:
        return f'"{value}"'
    return str(value)
