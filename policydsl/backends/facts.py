"""Claim facts -> typed input values, validated against the policy's input schema.

Every problem is reported with its field path (`items[2].amount: expected money, got
"abc"`); nothing is silently defaulted except fields that declare a default.

What the reader accepts, per type:
- money: a JSON string or number with at most 2 decimals, not negative, below 10**15 yuan,
  read exactly (a Python float is read through its shortest repr, so 0.1 is 0.10, never
  0.1000000000000000055). A string is ASCII digits with an optional point: "12.30".
- ratio: a number (0.75) or a string of ASCII digits with a percent sign ("75%", "7.5%"),
  between 0% and 100%.
- number: a JSON number.
- ratio and number are bounded by `numbers.problem`: at most 40 significant digits, at most
  40 digits after the point (1E-41 is refused), below 10**20; read exactly, never rounded.
- int / months: a whole number (JSON integer) within ±10**18; months may not be negative.
- bool: JSON true or false (not 0/1). date: "YYYY-MM-DD". text: a string.
- enum: one of the declared members, exactly. list: a JSON array. record: a JSON object;
  a field the schema does not declare is an error (a typo must not silently fall back
  to a default).

Whatever the facts hold, the reader answers with `Invalid` (a path and a message per
problem), never another exception and never a long computation: digits are ASCII only,
numbers are judged by their digits before any arithmetic, a JSON number past Decimal's
range (`OutOfRange`) is refused at its field (F302) or as an unknown field (F303), and JSON
nested too deeply for Python is a `ValueError`. No result depends on the caller's decimal
context: the one computation (a percentage's scaleb) passes `numbers.EXACT`.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import re
from decimal import Decimal, InvalidOperation

from policydsl.runtime import numbers
from policydsl.check import types as t
from policydsl.check.typing import limit_pairs, limits_hold
from policydsl.diagnostics.model import FactError

_MONEY_TEXT = re.compile(r"\d{1,15}(\.\d{1,2})?\Z", re.ASCII)  # below 10**15: no other check
_LONG_MONEY_TEXT = re.compile(r"\d+(\.\d{1,2})?\Z", re.ASCII)
_PERCENT_TEXT = re.compile(r"\d+(\.\d+)?%\Z", re.ASCII)
_NUMBER_TEXT = re.compile(r"-?\d+(\.\d+)?\Z", re.ASCII)
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_FEN = Decimal("0.01")
_ZERO_FEN = Decimal("0.00")
_MAX_INT = numbers.INT_LIMIT  # ints are counts and years; larger is a mistake (and would slow arithmetic)
# JSON can write lone surrogates ("\ud800"), which no output can encode: never echo them.
_SURROGATE = re.compile("[\ud800-\udfff]")


def value_problem(type_, value) -> str | None:
    """Why the facts reader would refuse `value` for a field of scalar type `type_` (its
    message), or None. The checker holds field defaults to it (C273): a default is a value
    the field takes, and every later stage may assume what the reader assures."""
    convert = _SCALARS.get(type_)
    if convert is None:
        return None
    try:
        convert(value)
    except Invalid as invalid:
        return invalid.problems[0][1]
    return None


def _escape_surrogates(text: str) -> str:
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class NonFinite:
    """What the JSON reader makes of NaN / Infinity, so the field path can be reported."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class OutOfRange:
    """What the JSON reader makes of a number Decimal cannot hold (`1E+1000000000000000000`):
    a marker that the field's converter reports (F302), or that is dropped with an unknown
    field; reading it never raises."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 40 else self.text[:37] + "..."


def parse_number(text: str):
    """A JSON number with a fraction or exponent, read exactly; `OutOfRange` past Decimal's range
    (a caller's context that does not trap InvalidOperation gives NaN instead: the same)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return OutOfRange(text)
    return value if value.is_finite() else OutOfRange(text)


def parse_integer(text: str):
    """A JSON integer; `OutOfRange` past what Python converts from text (4,300 digits)."""
    try:
        return int(text)
    except ValueError:
        return OutOfRange(text)


class _Decoder(json.JSONDecoder):
    """Python's decoder with exact decimals; a JSON integer too long for `int` (a plain
    ValueError, not a JSONDecodeError) is read again by a decoder that makes it `OutOfRange`
    (not the common path: a reader of its own for every integer costs ~0.5 µs a claim)."""

    def decode(self, s, *args, **kwargs):
        try:
            return super().decode(s, *args, **kwargs)
        except json.JSONDecodeError:
            raise
        except ValueError:
            return _LONG_INTEGERS.decode(s, *args, **kwargs)


_LONG_INTEGERS = json.JSONDecoder(parse_float=parse_number, parse_int=parse_integer, parse_constant=NonFinite)
JSON_DECODER = _Decoder(parse_float=parse_number, parse_constant=NonFinite)


def loads(text: str):
    """Parse JSON with exact decimals; NaN and Infinity become `NonFinite` markers, a number
    too long or too large to read an `OutOfRange` marker.

    Malformed JSON is a `ValueError` (`json.JSONDecodeError`), and so is JSON nested too
    deeply for Python's parser (which would otherwise raise RecursionError).
    """
    try:
        return JSON_DECODER.decode(text)
    except RecursionError:
        depth, position = _deepest(text)
        raise json.JSONDecodeError(f"nested too deeply ({depth:,} levels)", text, position) from None


_JSON_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _deepest(text: str) -> tuple[int, int]:
    """(maximum nesting, offset of the first bracket past 100 levels or at the maximum)."""
    depth = deepest = 0
    position = crossed = None
    for match in _JSON_BRACKETS.finditer(text):
        char = match.group()
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest, position = depth, match.start()
            if depth == 101 and crossed is None:
                crossed = match.start()
        elif char in "]}":
            depth -= 1
    return deepest, crossed if crossed is not None else (position or 0)


class Invalid(Exception):
    """Raised by a converter; carries (path parts, message, code) for every problem found.

    Codes: F301 missing required field, F302 wrong type or value, F303 unknown field.
    """

    def __init__(self, problems: list[tuple[tuple, str]]):
        self.problems = problems


def show(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = _escape_surrogates(json.dumps(value, ensure_ascii=False))
        return text if len(text) <= 60 else text[:57] + '..."'
    if isinstance(value, int) and value.bit_length() > 128:
        return "a very large number"
    if isinstance(value, (int, Decimal, NonFinite, OutOfRange)):
        text = str(value)
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _fail(message: str):
    raise Invalid([((), message, "F302")])


def _expected(what: str, value):
    """Fail for a value that is not a `what` at all (or a number past Decimal's range)."""
    if isinstance(value, OutOfRange):
        _fail(f"the number is out of range (too large or too precise to read), got {show(value)}")
    _fail(f"expected {what}, got {show(value)}")


def _bounded(value: Decimal, what: str, shown) -> Decimal:
    why = numbers.problem(value, what)
    if why is not None:
        _fail(f"{why}, got {show(shown)}")
    return value


def _money(value):
    if isinstance(value, str):
        return Decimal(value) if _MONEY_TEXT.match(value) else _money_text(value)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        _expected("money", value)
    if isinstance(value, int) and value.bit_length() > 128:
        _fail(f"money amount is implausibly large, got {show(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            _fail(f"expected money, got {show(value)}")
        value = Decimal(repr(value))
    elif isinstance(value, int):
        value = Decimal(value)
    elif not value.is_finite():
        _fail(f"expected money, got {show(value)}")
    if value < 0:
        _fail(f"money may not be negative, got {show(value)}")
    if _more_than_2_decimals(value):
        _fail(f"money has at most 2 decimals (fen), got {show(value)}")
    if value.adjusted() > 14:
        _fail(f"money amount is implausibly large, got {show(value)}")
    if value.is_zero():  # -0.00 is 0.00; 0E-999999999 (no fen to speak of) is 0.00 too
        return value.copy_abs() if value.as_tuple().exponent >= -2 else _ZERO_FEN
    return value


def _money_text(value: str) -> Decimal:
    """Money text that is not plainly below 10**15: leading zeros, or a problem to report."""
    if _LONG_MONEY_TEXT.match(value):
        result = Decimal(value)
        if result.adjusted() > 14:
            _fail(f"money amount is implausibly large, got {show(value)}")
        return result
    if _NUMBER_TEXT.match(value.strip()) and value.strip().startswith("-"):
        _fail(f"money may not be negative, got {show(value)}")
    if re.fullmatch(r"\d+\.\d{3,}", value, re.ASCII):
        _fail(f"money has at most 2 decimals (fen), got {show(value)}")
    _fail(f"expected money, got {show(value)}")


def _more_than_2_decimals(value: Decimal) -> bool:
    """Read from the digits (no arithmetic: quantize fails on values past 28 digits)."""
    _, digits, exponent = value.as_tuple()
    if exponent >= -2:
        return False
    return any(digits[max(0, len(digits) + exponent + 2) :])


_HUNDRED = Decimal(100)


def _ratio(value):
    if isinstance(value, str):
        if not _PERCENT_TEXT.match(value):
            _fail(f"expected ratio (0.75 or \"75%\"), got {show(value)}")
        percent = Decimal(value[:-1])
        if percent > _HUNDRED:
            _fail(f"a ratio must be between 0% and 100%, got {show(value)}")
        return _bounded(percent, "percentage", value).scaleb(-2, numbers.EXACT)  # exact: bounded
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, float) and math.isfinite(value):
        result = Decimal(repr(value))
    else:
        _expected("ratio (0.75 or \"75%\")", value)
    if not result.is_finite() or not 0 <= result <= 1:
        _fail(f"a ratio must be between 0% and 100%, got {show(value)}")
    return _bounded(result, "ratio", value)


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        _expected("number", value)
    if isinstance(value, int) and value.bit_length() > 128:
        _fail(f"a number must be below 10^{numbers.MAGNITUDE_DIGITS}, got {show(value)}")
    result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not result.is_finite():
        _fail(f"expected number, got {show(value)}")
    return _bounded(result, "number", value)


def _int(value):
    if type(value) is int or (
        isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value() and not isinstance(value, bool)
    ):
        if not -_MAX_INT < value < _MAX_INT:
            _fail(f"int is implausibly large, got {show(value)}")
        return int(value)
    _expected("int", value)


def _months(value):
    value = _int(value)
    if value < 0:
        _fail(f"months may not be negative, got {value}")
    return value


def _bool(value):
    if value is True or value is False:
        return value
    _fail(f"expected true or false, got {show(value)}")


def _date(value):
    if type(value) is datetime.date:
        return value
    if isinstance(value, str) and _DATE_TEXT.match(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            _fail(f"{show(value)} is not a calendar date")
    _fail(f"expected date (YYYY-MM-DD), got {show(value)}")


def read_date(value) -> datetime.date | None:
    """The date the facts reader reads from `value` (a date, or "YYYY-MM-DD" text of a calendar
    day), or None for anything else: for code that needs a claim's date before the claim is
    read (choosing a region's version, ordering a person's claims)."""
    try:
        return _date(value)
    except Invalid:
        return None


def _text(value):
    if isinstance(value, str):
        if _SURROGATE.search(value):
            _fail(f"text is not valid Unicode (a lone surrogate), got {show(value)}")
        return value
    _fail(f"expected text, got {show(value)}")


_SCALARS = {
    t.MONEY: _money,
    t.RATIO: _ratio,
    t.NUMBER: _number,
    t.INT: _int,
    t.MONTHS: _months,
    t.BOOL: _bool,
    t.DATE: _date,
    t.TEXT: _text,
}
# The generated reader's names for the converters: fixed here, never taken from a type.
_CONVERTER_NAMES = {
    t.MONEY: "_to_money", t.RATIO: "_to_ratio", t.NUMBER: "_to_number", t.INT: "_to_int",
    t.MONTHS: "_to_months", t.BOOL: "_to_bool", t.DATE: "_to_date", t.TEXT: "_to_text",
}


def _enum(enum_type: t.EnumType):
    members = frozenset(enum_type.members)
    listing = ", ".join(map(str, enum_type.members))

    def convert(value):
        if not isinstance(value, bool) and type(value) in (str, int) and value in members:
            return value
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, [m for m in members if isinstance(m, str)], n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
        _fail(f"expected one of {enum_type.name} ({listing}), got {show(value)}{hint}")

    return convert


def _list(element):
    def convert(value):
        if not isinstance(value, (list, tuple)):
            _fail(f"expected a list, got {show(value)}")
        out = []
        problems = []
        for index, item in enumerate(value):
            try:
                out.append(element(item))
            except Invalid as invalid:
                problems.extend(((index, *path), message, code) for path, message, code in invalid.problems)
        if problems:
            raise Invalid(problems)
        return tuple(out)

    return convert


def _record(fields: list[tuple[str, object, object]], what: str, missing: dict | None = None):
    """fields: (name, converter, default or _REQUIRED). Produces a tuple in field order.
    `missing`: the message for a required field that is absent, by name, where it is not
    the usual one (an accumulator's value before the claim)."""
    names = [name for name, _, _ in fields]
    missing = missing or {}
    known = frozenset(names)

    def convert(value):
        if not isinstance(value, dict):
            _fail(f"expected {what}, got {show(value)}")
        out = []
        problems = []
        found = 0
        for name, converter, default in fields:
            if name in value:
                found += 1
                try:
                    out.append(converter(value[name]))
                except Invalid as invalid:
                    problems.extend(((name, *path), message, code) for path, message, code in invalid.problems)
            elif default is _REQUIRED:
                problems.append(((name,), missing.get(name, "missing (required field)"), "F301"))
            else:
                out.append(default)
        if found < len(value):
            for extra in value:
                if extra not in known:
                    close = difflib.get_close_matches(str(extra), names, n=1)
                    hint = f' (did you mean "{close[0]}"?)' if close else ""
                    problems.append(((str(extra),), f"unknown field{hint}", "F303"))
        if problems:
            raise Invalid(problems)
        return tuple(out)

    return convert


_REQUIRED = object()


_PLAIN_NAME = re.compile(r'[^.\[\]"\x00-\x1f\ud800-\udfff]+\Z')


def format_path(parts: tuple) -> str:
    """`items[2].amount`; a name that would be ambiguous there is quoted: `[""]`, `["a.b"]`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _PLAIN_NAME.match(part):
            text += f"[{_escape_surrogates(json.dumps(part, ensure_ascii=False))}]"
        else:
            text += f".{part}" if text else part
    return text


def claim_id_of(claim) -> str | int | None:
    """The one rule for a claim's id: its `claim_id` when that is text or a whole number
    (not true or false), else None. Every record and message names a claim by it."""
    value = claim.get("claim_id") if isinstance(claim, dict) else None
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def build_reader(env, defaults: dict[tuple[str | None, str], object]):
    """A function facts(dict) -> tuple of input values, raising `Invalid` on bad facts.

    `defaults` maps (record or None, field) to the already-evaluated default value. Each
    record's converter is built once, however many fields hold that record (else a record
    used by two fields at each of n levels would cost 2**n converters).
    """
    built: dict[str, object] = {}

    def converter(type_):
        if type_ in _SCALARS:
            return _SCALARS[type_]
        if isinstance(type_, t.EnumType):
            return _enum(type_)
        if isinstance(type_, t.ListType):
            return _list(converter(type_.element))
        if isinstance(type_, t.RecordType):  # records never contain themselves (checked)
            if type_.name not in built:
                built[type_.name] = record(type_.name, f"a {type_.name} object")
            return built[type_.name]
        raise AssertionError(type_)

    def record(name: str | None, what: str):
        fields = []
        for field in env.record_fields(name):
            default = defaults.get((name, field.name), _REQUIRED)
            convert = converter(env.field_types[(name, field.name)])
            if field.limits:
                convert = _limited(convert, limit_pairs(field), env.field_types[(name, field.name)])
            fields.append((field.name, convert, default))
        return _record(fields, what, _accumulator_messages(env) if name is None else None)

    return record(None, "a claim (a JSON object)")


def _limited(convert, pairs, type_):
    """`convert`, then the field's declared limits (`age: int in 0..150`): F302 outside them."""

    def limited(value):
        read = convert(value)
        if not limits_hold(pairs, read):
            _fail(f"must be {describe_limits(pairs, type_)}, got {show(value)}")
        return read

    return limited


_LIMIT_WORDS = {">=": "at least", ">": "above", "<=": "at most", "<": "below"}


def describe_limits(pairs, type_) -> str:
    """`in 0..150` as people read it: "at least 0 and at most 150" (money "at most 1000000.00")."""
    from policydsl.runtime.values import to_text

    return " and ".join(f"{_LIMIT_WORDS[op]} {to_text(bound, type_)}" for op, bound in pairs)


def _accumulator_messages(env) -> dict:
    return {
        accumulator.name: (
            f"missing: the value of accumulator `{accumulator.name}` before this claim "
            "(give it with the claim, or decide the person's claims together with `batch --carry`)"
        )
        for accumulator in getattr(env, "accumulators", ())
    }


def problems_to_errors(invalid: Invalid) -> list[FactError]:
    return [FactError(format_path(path), message, code) for path, message, code in invalid.problems]


# ---- the fast path ------------------------------------------------------------------


class _Fallback(Exception):
    """The fast reader met something it leaves to the checking reader."""


_ABSENT = object()


# The inline forms of `reader_source`: each the converter's own first test and result for
# the common form of a value (`_money`, `_int`, `_months`, `_bool`, `_date`, `_text` above),
# the converter itself for anything else. A calendar error of `_fromiso` raises, and the
# reader's `except` hands the claim to the checking reader, which reports it.
_INLINE = {
    t.MONEY: "{target} = _Decimal({x}) if _type({x}) is _str and _money_text({x}) else {convert}({x})",
    t.INT: "{target} = {x} if _type({x}) is _int and -_INT_LIMIT < {x} < _INT_LIMIT else {convert}({x})",
    t.MONTHS: "{target} = {x} if _type({x}) is _int and 0 <= {x} < _INT_LIMIT else {convert}({x})",
    t.BOOL: "{target} = {x} if {x} is True or {x} is False else {convert}({x})",
    t.DATE: "{target} = _days_read.get({x}) if _type({x}) is _str else None\nif {target} is None: {target} = _read_day({x})",
    t.TEXT: "{target} = {x} if _type({x}) is _str and ({x}.isascii() or not _surrogate({x})) else {convert}({x})",
}
_DAYS_READ: dict[str, datetime.date] = {}  # date texts read so far (a claim file has few distinct days)
_DAYS_KEPT = 4096
_INLINE_DEPTH = 12  # records nested deeper than this are read by functions of their own


def _read_day(value) -> datetime.date:
    """A date as `_date` reads it; "YYYY-MM-DD" texts are remembered (bounded), so that a
    file of claims reads each distinct day once."""
    day = datetime.date.fromisoformat(value) if type(value) is str and _DATE_TEXT.match(value) else _date(value)
    if type(value) is str:
        if len(_DAYS_READ) >= _DAYS_KEPT:
            _DAYS_READ.clear()
        _DAYS_READ[value] = day
    return day


def reader_source(env, defaults: dict) -> tuple[str, dict]:
    """Python source of a fast facts reader for well-formed claims, and its namespace
    (the compiler runs it: `compiler.compile_reader`).

    Why: walking records and lists through generic closures, collecting problems as it
    goes, cost about half of each evaluation (issue 5). The generated `read(v)` walks the
    claim's structure in straight-line code, converts each value with the checking reader's
    own converters, and hands anything else -- a wrong type, an unknown or missing field, a
    bad value -- to `_slow`, the checking reader of `build_reader`, which returns the same
    values or raises `Invalid` with every problem by field path; so both accept exactly the
    same claims. Field names sit in constant slots, never in the generated source.
    """
    namespace: dict[str, object] = {
        "__builtins__": {}, "_type": type, "_len": len, "_tuple": tuple, "_dict": dict, "_list": list,
        "_str": str, "_int": int, "_Fallback": _Fallback, "_Exception": Exception, "_ABSENT": _ABSENT,
        "_Decimal": Decimal, "_money_text": _MONEY_TEXT.match, "_date_text": _DATE_TEXT.match,
        "_fromiso": datetime.date.fromisoformat, "_surrogate": _SURROGATE.search, "_INT_LIMIT": _MAX_INT,
        "_days_read": _DAYS_READ, "_read_day": _read_day,
    }
    for scalar, convert in _SCALARS.items():
        namespace[_CONVERTER_NAMES[scalar]] = convert
    lines: list[str] = []
    functions: dict[str | None, str] = {}
    # A record held by more than one field is read by a function of its own: inlined at each
    # use, a record used twice at each of n levels would be written 2**n times.
    uses: dict[str, int] = {}
    for record in env.records:  # the claim's input (None) and every record
        for field in env.record_fields(record):
            type_ = env.field_types[(record, field.name)]
            while isinstance(type_, t.ListType):
                type_ = type_.element
            if isinstance(type_, t.RecordType):
                uses[type_.name] = uses.get(type_.name, 0) + 1

    def inlined(record: str, depth: int) -> bool:
        return depth < _INLINE_DEPTH and uses.get(record, 0) <= 1

    def const(value) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        return name

    def value_code(type_, target: str, depth: int = 0) -> list[str]:
        """Statements that set `target` from `x{depth}`, the JSON value, or raise. The common
        form of a value (money as text, an int, a known enum member) is taken inline, with
        exactly the tests of the checking reader's converter for that form; any other value
        goes to the converter itself, so both readers accept the same values. A record, or a
        list of records, is read inline too (straight-line code, no call per record)."""
        x = f"x{int(depth)}"
        inline = _INLINE.get(type_)
        if inline is not None:
            return inline.format(target=target, convert=_CONVERTER_NAMES[type_], x=x).split("\n")
        if type_ in _SCALARS:
            return [f"{target} = {_CONVERTER_NAMES[type_]}({x})"]
        if isinstance(type_, t.EnumType):
            convert = const(_enum(type_))
            kinds = {type(member) for member in type_.members}
            if len(kinds) == 1 and kinds <= {str, int}:  # never bool: `True in {1}` holds
                members = const(frozenset(type_.members))
                kind = "_str" if kinds == {str} else "_int"
                return [f"{target} = {x} if _type({x}) is {kind} and {x} in {members} else {convert}({x})"]
            return [f"{target} = {convert}({x})"]
        if isinstance(type_, t.ListType):
            if isinstance(type_.element, t.RecordType) and inlined(type_.element.name, depth):
                inner = f"x{int(depth) + 1}"
                item = f"y{int(depth)}"
                body = record_body(type_.element.name, inner, item, depth + 2)
                return [f"if _type({x}) is not _list: raise _Fallback", f"{target} = []",
                        f"for {inner} in {x}:", *("    " + line for line in body), f"    {target}.append({item})",
                        f"{target} = _tuple({target})"]
            element = callable_for(type_.element)
            return [f"if _type({x}) is not _list: raise _Fallback", f"{target} = _tuple([{element}(e) for e in {x}])"]
        if isinstance(type_, t.RecordType):
            if inlined(type_.name, depth):
                return record_body(type_.name, x, target, depth + 1)
            return [f"{target} = {record_function(type_.name)}({x})"]
        raise AssertionError(type_)

    def limit_test(field, target: str) -> str:
        """The field's limits as a Python test of `target` (bounds in constant slots)."""
        return " and ".join(f"{target} {op} {const(bound)}" for op, bound in limit_pairs(field))

    def callable_for(type_) -> str:
        """The name of a function converting one list element of `type_`."""
        if type_ in _SCALARS:
            return _CONVERTER_NAMES[type_]
        if isinstance(type_, t.EnumType):
            return const(_enum(type_))
        if isinstance(type_, t.RecordType):
            return record_function(type_.name)
        name = const(None)  # a list of lists: a function of its own
        body = value_code(type_, "y")
        lines.append(f"def {name}(x0):")
        lines.extend("    " + line for line in [*body, "return y"])
        return name

    def record_body(record: str | None, v: str, result: str, depth: int) -> list[str]:
        """Statements that set `result` to the record read from the JSON object `v`, reading
        each field from `x{depth}` into `a{depth}_{index}`, or raise."""
        x = f"x{int(depth)}"
        count = f"n{int(depth)}"
        body = [f"if _type({v}) is not _dict: raise _Fallback"]
        targets = []
        required = 0
        for index, field in enumerate(env.record_fields(record)):
            target = f"a{int(depth)}_{int(index)}"
            targets.append(target)
            key = const(field.name)
            type_ = env.field_types[(record, field.name)]
            default = defaults.get((record, field.name), _ABSENT)
            checks = [f"if not ({limit_test(field, target)}): raise _Fallback"] if field.limits else []
            if default is _ABSENT:
                required += 1
                body += [f"{x} = {v}[{key}]", *value_code(type_, target, depth), *checks]
            else:
                body += [f"{x} = {v}.get({key}, _ABSENT)", f"if {x} is _ABSENT: {target} = {const(default)}", "else:", f"    {count} += 1"]
                body += ["    " + line for line in [*value_code(type_, target, depth), *checks]]
        body.insert(1, f"{count} = {required}")
        body += [f"if _len({v}) != {count}: raise _Fallback", f"{result} = ({', '.join(targets)},)"]  # n != len: an unknown field
        return body

    def record_function(record: str | None) -> str:
        if record in functions:
            return functions[record]
        name = functions[record] = f"f{len(functions)}"
        body = record_body(record, "v", "r", 0)
        lines.append(f"def {name}(v):")
        lines.extend("    " + line for line in [*body, "return r"])
        return name

    top = record_function(None)
    lines += ["def read(v):", "    try:", f"        return {top}(v)", "    except _Exception:", "        return _slow(v)"]
    return "\n".join(lines) + "\n", namespace
