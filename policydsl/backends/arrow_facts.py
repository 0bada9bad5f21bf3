"""Arrow columns of claims -> the columnar backend's input columns, and the rows it cannot
read for sure.

`read(program, batch)` gives (columns, unreadable): one column per input field of the
policy (`ir.Program.inputs` order) as `backends/columnar.py` holds values, and a bool array
marking the rows to leave to the row engine's facts reader, whose error messages are the
project's. A row is left to it whenever this reader is not certain the facts reader would
read the same value: a value that is malformed, negative, beyond this backend's bounds, of
an Arrow type not handled here, a null where no default applies, a field the policy does
not declare. So this reader needs no messages of its own, and cannot disagree.

Per type (anything else: the row engine):
- money: text of ASCII digits with at most 2 decimals, a whole number, or decimal(p, s<=2);
- date: date32, or "YYYY-MM-DD" text of a calendar day; int / months: integers; bool: bool;
- enum: text or integers that are members; text: text;
- record: a struct of these; list of records: a list of structs.
Nulls are absent fields: a field's default, or the row engine when it has none.
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policydsl.backends.columnar import ITEM_LIMIT, MONEY_LIMIT, WHOLE_LIMIT, Items
from policydsl.backends.facts import read_date
from policydsl.check import types as t
from policydsl.check.typing import limit_pairs

_MONEY_TEXT = rf"^[0-9]{{1,{len(str(MONEY_LIMIT // 100)) - 1}}}(\.[0-9]{{1,2}})?$"
_DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_ORDINAL_1970 = datetime.date(1970, 1, 1).toordinal()
_LAST_DAY = datetime.date.max.toordinal()


def read(program, batch, drop: tuple[str, ...] = (), apart: tuple[str, ...] = ()) -> tuple[list, np.ndarray] | tuple[list, np.ndarray, dict]:
    """(input columns, unreadable rows) of a record batch; `drop`: top-level columns that
    are not facts (a `claim_id` the policy does not declare). With `apart` (top-level field
    names), the rows those fields fail are left out of `unreadable` and given apart, as a
    third item: name -> (rows the field fails, rows where it is absent)."""
    n = batch.num_rows
    bad = np.zeros(n, dtype=bool)
    names = batch.schema.names
    known = {name for name, _ in program.inputs}
    for index, name in enumerate(names):
        if name not in known and name not in drop:
            bad |= _present(batch.column(index))
    columns = []
    kept = {}
    fields = {field.name: field for field in program.record_fields(None)}
    for name, type_ in program.inputs:
        default = program.defaults.get((None, name), _REQUIRED)
        array = batch.column(names.index(name)) if name in names else None
        value, failed = _field(program, array, type_, default, n, limit_pairs(fields[name]))
        if name in apart:
            kept[name] = (failed, np.ones(n, dtype=bool) if array is None else ~_present(array))
        else:
            bad |= failed
        columns.append(value)
    return (columns, bad, kept) if apart else (columns, bad)


_REQUIRED = object()


def read_field(program, batch, name: str) -> tuple:
    """(values, rows the field fails, rows it is absent) of one top-level input field."""
    n = batch.num_rows
    names = batch.schema.names
    array = batch.column(names.index(name)) if name in names else None
    default = program.defaults.get((None, name), _REQUIRED)
    field = next(field for field in program.record_fields(None) if field.name == name)
    value, failed = _field(program, array, program.field_types[(None, name)], default, n, limit_pairs(field))
    return value, failed, np.ones(n, dtype=bool) if array is None else ~_present(array)


def _present(array) -> np.ndarray:
    return _bools(array.is_valid())


def _bools(array) -> np.ndarray:
    """A boolean Arrow column without nulls as a NumPy bool array, by way of uint8: a boolean
    column's own to_numpy imports pandas (a third of a second at the start of a run)."""
    return _numpy(array.cast(pa.uint8())).astype(bool)


def _numpy(array) -> np.ndarray:
    """An Arrow column as a (writable) NumPy array: a numeric one without nulls by a copy of
    its buffer, since `to_numpy(zero_copy_only=False)` imports pandas."""
    if isinstance(array, pa.Array) and array.null_count == 0 and (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)):
        dtype = np.dtype(array.type.to_pandas_dtype())
        data = np.frombuffer(array.buffers()[1], dtype=dtype, count=array.offset + len(array))
        return data[array.offset:].copy()
    return array.to_numpy(zero_copy_only=False)


def _field(program, array, type_, default, n: int, limits: tuple = ()):
    """(column, rows that fail) of one field; `array` None when the batch has no column;
    `limits`: the field's declared limits as (op, value) pairs (rows outside them fail)."""
    if array is None:
        if default is _REQUIRED:
            return _placeholder(program, type_, n), np.ones(n, dtype=bool)
        return _default_column(program, type_, default, n), np.zeros(n, dtype=bool)
    valid = _present(array)
    if isinstance(type_, t.RecordType):
        value, failed = _record(program, array, type_, n)
    elif isinstance(type_, t.ListType):
        value, failed = _list(program, array, type_, n)
    else:
        value, failed = _scalar(array, type_)
    if limits and not isinstance(value, (dict, Items)):
        failed = failed | (valid & ~_inside(value, limits, type_))
    absent = ~valid
    if absent.any():
        if default is _REQUIRED:
            failed = failed | absent
        elif not isinstance(value, (dict, Items)):
            value = np.where(absent, _default_value(type_, default), value)
        else:
            failed = failed | absent
    return value, failed & True


def _record(program, array, type_, n: int):
    if array is not None and pa.types.is_struct(array.type):
        failed = np.zeros(n, dtype=bool)
        children = {array.type.field(i).name: child for i, child in enumerate(array.flatten())}
    else:  # no such column, or not a struct: the row engine says what is wrong
        failed = np.ones(n, dtype=bool) if array is None else _present(array)
        children = {}
    fields = {}
    for field in program.record_fields(type_.name):
        name = field.name
        field_type = program.field_types[(type_.name, name)]
        default = program.defaults.get((type_.name, name), _REQUIRED)
        value, bad = _field(program, children.get(name), field_type, default, n, limit_pairs(field))
        fields[name] = value
        failed |= bad
    declared = {field.name for field in program.record_fields(type_.name)}
    for name, child in children.items():
        if name not in declared:
            failed |= _present(child)
    return fields, failed


def _list(program, array, type_, n: int):
    element = type_.element
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)) or not isinstance(element, t.RecordType):
        return _placeholder(program, type_, n), _present(array)
    offsets = np.asarray(_numpy(array.offsets), dtype=np.int64)
    start = offsets[0]
    values = array.values.slice(start, offsets[-1] - start)
    offsets = offsets - start
    counts = np.diff(offsets)
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)
    fields, item_failed = _record(program, values, element, len(values))
    failed = counts > ITEM_LIMIT
    if item_failed.any():
        failed[owner[item_failed]] = True
    item_absent = ~_present(values)
    if item_absent.any():
        failed[owner[item_absent]] = True
    return Items(offsets, owner, fields), failed


def _scalar(array, type_):
    n = len(array)
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    integer = pa.types.is_integer(kind)
    if type_ == t.MONEY:
        if text:
            ok = _true(pc.match_substring_regex(array, _MONEY_TEXT))
            parsed = pc.cast(pc.if_else(ok, array, "0"), pa.decimal128(13, 2))
            return _fen(parsed), _present(array) & ~ok
        if integer:
            values = _ints(array)
            ok = (values >= 0) & (values < MONEY_LIMIT // 100)
            return values * 100, _present(array) & ~ok
        if pa.types.is_decimal(kind) and kind.scale <= 2 and kind.precision - kind.scale <= 11:
            values = _fen(array.cast(pa.decimal128(13, 2)))
            ok = (values >= 0) & (values < MONEY_LIMIT)
            return values, _present(array) & ~ok
    elif type_ == t.DATE:
        if pa.types.is_date32(kind):
            days = np.asarray(array.fill_null(0).cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64) + _ORDINAL_1970
            ok = (days >= 1) & (days <= _LAST_DAY)  # Python's calendar: years 1 to 9999
            return np.where(ok, days, _ORDINAL_1970), _present(array) & ~ok
        if text:
            return _dates(array)
    elif type_ in (t.INT, t.MONTHS):
        if integer:
            values = _ints(array)
            low = 0 if type_ == t.MONTHS else -WHOLE_LIMIT
            ok = (values > low - 1) & (values < WHOLE_LIMIT)
            return values, _present(array) & ~ok
    elif type_ == t.BOOL:
        if pa.types.is_boolean(kind):
            return _bools(array.fill_null(False)), np.zeros(n, dtype=bool)
    elif isinstance(type_, t.EnumType):
        members = type_.members
        if text and all(isinstance(m, str) for m in members):
            index = pc.index_in(array, value_set=pa.array(list(members), type=pa.string()))
        elif integer and all(type(m) is int for m in members):
            index = pc.index_in(array.cast(pa.int64()), value_set=pa.array(list(members), type=pa.int64()))
        else:
            index = None
        if index is not None:
            codes = np.asarray(_numpy(index.fill_null(-1)), dtype=np.int64)
            return np.maximum(codes, 0), _present(array) & (codes < 0)
    elif type_ == t.TEXT:
        if text:
            return _texts(array), np.zeros(n, dtype=bool)
    return _placeholder(None, type_, n), _present(array)


def _texts(array) -> np.ndarray:
    """A text column as an object array (None for null), each distinct text made once."""
    encoded = pc.dictionary_encode(array)
    words = encoded.dictionary.to_pylist()
    table = np.empty(len(words) + 1, dtype=object)
    table[: len(words)] = words
    return table[np.asarray(_numpy(encoded.indices.fill_null(len(words))), dtype=np.int64)]


def _dates(array):
    """"YYYY-MM-DD" text -> day numbers: each distinct text read once, as the facts reader
    reads it (`date.fromisoformat` after the same pattern); others fail."""
    encoded = pc.dictionary_encode(array)
    days = []
    for text in encoded.dictionary.to_pylist():
        day = read_date(text) if _DATE_PATTERN.match(text) else None
        days.append(-1 if day is None else day.toordinal())
    found = np.asarray(days + [-1], dtype=np.int64)[np.asarray(encoded.indices.fill_null(len(days)).to_numpy(zero_copy_only=False), dtype=np.int64)]
    return np.where(found < 0, _ORDINAL_1970, found), _present(array) & (found < 0)


def _inside(values, pairs, type_) -> np.ndarray:
    """Rows whose value (as this reader holds it: fen, day numbers) is inside the limits."""
    from policydsl.backends.columnar import _constant

    inside = np.ones(len(values), dtype=bool)
    for op, bound in pairs:
        held = _constant(bound, type_, 2 if type_ == t.MONEY else 0)
        inside &= {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}[op](values, held)
    return inside


def _true(mask) -> np.ndarray:
    return _bools(mask.fill_null(False))


def _ints(array) -> np.ndarray:
    """An integer column as int64 (uint64 beyond int64 clipped: out of bounds anyway)."""
    if pa.types.is_uint64(array.type):
        values = np.asarray(_numpy(array.fill_null(0)))
        return np.minimum(values, np.uint64(2**62)).astype(np.int64)
    return np.asarray(array.fill_null(0).cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _fen(array) -> np.ndarray:
    """decimal128(_, 2) -> int64 fen (the low 64 bits: the values are below MONEY_LIMIT)."""
    array = array.fill_null(0)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    words = np.frombuffer(array.buffers()[1], dtype=np.int64)
    return words[2 * array.offset : 2 * (array.offset + len(array)) : 2].copy()


def _default_value(type_, value):
    from policydsl.backends.columnar import _constant

    return _constant(value, type_, 2 if type_ == t.MONEY else 0)


def _default_column(program, type_, value, n: int):
    if isinstance(type_, (t.RecordType, t.ListType)):
        return _placeholder(program, type_, n)
    return np.full(n, _default_value(type_, value), dtype=object if type_ == t.TEXT else (bool if type_ == t.BOOL else np.int64))


def _placeholder(program, type_, n: int):
    """A column of n values that stand for nothing (their rows go to the row engine)."""
    if isinstance(type_, t.ListType):
        fields = _record(program, None, type_.element, 0)[0] if isinstance(type_.element, t.RecordType) else {}
        return Items(np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), fields)
    if isinstance(type_, t.RecordType):
        return _record(program, None, type_, n)[0]
    if type_ == t.TEXT:
        return np.full(n, None, dtype=object)
    return np.zeros(n, dtype=bool if type_ == t.BOOL else np.int64)
