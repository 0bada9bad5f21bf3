"""Output records in, output rows out: how a decision or an error record is written in
each format, and how a chunk of rows becomes one piece of output.

JSON lines are what `policydsl eval` writes (decide.json_line: `Decision.to_json()`). CSV
has the columns claim_id; the outputs; for each accumulator `accumulators.NAME.before`,
`accumulators.NAME.after` and `accumulators.NAME.period` (`2025-01-01/2025-12-31`); the
policy's provenance `policy.id`, `policy.version`, `policy.effective.from`,
`policy.effective.until`, `policy.digest`; then error, line. Cells are text, kept from
running as spreadsheet formulas. Parquet has the same columns, typed (money decimal(38, 2),
dates, bools, ints; an accumulator's before and after as its type, the period and the
provenance as text), one Arrow table per chunk; an error record leaves the decision's
columns null. Error records written apart (`--errors FILE`) have the columns claim_id,
line, error, details.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

from policydsl.check import types as t
from policydsl.tools.claims_io import UsageError
from policydsl.tools.decide import json_line


PROVENANCE_COLUMNS = ("id", "version", "effective.from", "effective.until", "digest")  # after `policy.`


def formatter_for(kind: str, policy, errors: bool, inline_errors: bool = True):
    """The format of one output: JSON lines, or CSV or Parquet rows of `columns_of`."""
    return JsonlFormat() if kind == "jsonl" else TableFormat(columns_of(policy, errors, inline_errors), kind)


def columns_of(policy, errors: bool, inline_errors: bool) -> list[tuple[str, object]]:
    """(column, type) pairs; type is None for text columns."""
    if errors:
        return [("claim_id", None), ("line", t.INT), ("error", None), ("details", None)]
    outputs = [(name, type_) for name, type_ in zip(policy.output_names, policy.output_types) if name != "claim_id"]
    carried = [
        (f"accumulators.{accumulator.name}.{part}", accumulator.type if part != "period" else None)
        for accumulator in policy.accumulators
        for part in ("before", "after", "period")
    ]
    provenance = [(f"policy.{part}", None) for part in PROVENANCE_COLUMNS]
    errors_columns = [("error", None), ("line", t.INT)] if inline_errors else []
    return [("claim_id", None), *outputs, *carried, *provenance, *errors_columns]



class JsonlFormat:
    """Lines as `policydsl eval` writes them (`decide.json_line`)."""

    @staticmethod
    def decision(record: dict, outputs) -> str:
        return json_line(record)

    @staticmethod
    def error(record: dict) -> str:
        return json_line(record)

    @staticmethod
    def chunk(lines: list[str]) -> str:
        return "".join(lines)


_RECORD_COLUMNS = ("claim_id", "line", "error", "details")


def _writable(text: str) -> str:
    """Text that UTF-8 can encode: a lone surrogate (JSON "\\ud800" in the input) is written
    as its escape rather than failing the run."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


_TYPED = (t.MONEY, t.BOOL, t.DATE, t.INT, t.MONTHS)  # Parquet keeps these typed (money exact)
_FORMULA_START = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
_PARQUET_MONEY_LIMIT = Decimal(10) ** 36  # decimal(38, 2): 36 digits before the point
_PARQUET_INT_LIMIT = 2**63  # int64


def _spreadsheet_safe(text: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP, "CSV injection"):
    text that starts with =, +, -, @, a tab or a carriage return gets a leading '. A plain
    decimal number (-12.50, a money output) is a number, not a formula, and stays as it is."""
    if text and text[0] in _FORMULA_START and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


class Unwritable(ValueError):
    """An output value that the output's column type cannot hold."""


class TableFormat:
    """CSV rows (text cells) or Parquet rows (typed values); a chunk is CSV text or an
    Arrow table. Other outputs are written as in JSON (ratios, enums, text)."""

    def __init__(self, columns, kind: str):
        self.columns = columns
        self.paths = {name: tuple(name.split(".")) for name, _ in columns if "." in name}  # output names have no dots
        self.parquet = kind == "parquet"
        self.schema = arrow_schema(columns) if self.parquet else None

    def _value(self, name: str, type_, record: dict, outputs):
        if name in _RECORD_COLUMNS:
            value = record.get(name)
            if name == "line" or value is None:
                return value
            return _writable(str(value)) if self.parquet else _spreadsheet_safe(_writable(str(value)))
        if outputs is None:
            return None
        path = self.paths.get(name)  # a column of the record's own keys: accumulators.NAME.before, policy.id
        if path is not None:
            value = record
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                return None
            if self.parquet and type_ == t.MONEY:
                value = Decimal(value)  # as the record writes it: "1200.00"
        else:
            value = outputs[name] if self.parquet and type_ in _TYPED else record.get(name)
        if self.parquet and type_ in _TYPED:
            what = "output" if path is None else "column"
            if type_ == t.MONEY and value.is_infinite():
                return None  # `unlimited`: decimal(38, 2) has no such value; JSON and CSV write "unlimited"
            if type_ == t.MONEY and not -_PARQUET_MONEY_LIMIT < value < _PARQUET_MONEY_LIMIT:
                raise Unwritable(f"{what} {name} = {value} does not fit the Parquet column decimal(38, 2)")
            if type_ in (t.INT, t.MONTHS) and not -_PARQUET_INT_LIMIT <= value < _PARQUET_INT_LIMIT:
                raise Unwritable(f"{what} {name} = {value} does not fit the Parquet column int64")
            return value
        text = _writable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        return text if self.parquet else _spreadsheet_safe(text)

    def decision(self, record: dict, outputs) -> tuple:
        return tuple(self._value(name, type_, record, outputs) for name, type_ in self.columns)

    def error(self, record: dict) -> tuple:
        rest = {key: value for key, value in record.items() if key not in _RECORD_COLUMNS}
        full = {**record, "details": json.dumps(rest, ensure_ascii=False) if rest else None}
        return tuple(self._value(name, type_, full, None) for name, type_ in self.columns)

    def chunk(self, rows: list[tuple]):
        if not self.parquet:
            cells = [["" if v is None else v for v in row] for row in rows]
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(cells)
            written = text.getvalue()
            if "\r" not in written:
                return written
            # csv quotes a cell holding a line break only if the break is in its line
            # terminator: with "\n", a lone "\r" would be written bare, and read back as a
            # broken row. Rows with one are written with "\r\n" and end with "\n" again.
            text = io.StringIO()
            plain, careful = csv.writer(text, lineterminator="\n"), csv.writer(row_text := io.StringIO(), lineterminator="\r\n")
            for row in cells:
                if any(isinstance(cell, str) and "\r" in cell for cell in row):
                    row_text.seek(0)
                    row_text.truncate()
                    careful.writerow(row)
                    text.write(row_text.getvalue()[:-2] + "\n")
                else:
                    plain.writerow(row)
            return text.getvalue()
        import pyarrow as pa

        columns = list(zip(*rows)) if rows else [()] * len(self.schema)
        arrays = [pa.array(column, type=field.type) for column, field in zip(columns, self.schema)]
        return pa.Table.from_arrays(arrays, schema=self.schema)


def arrow_schema(columns):
    try:
        import pyarrow as pa
    except ImportError:
        raise UsageError("Parquet needs pyarrow: pip install 'policydsl[parquet]'") from None
    types = {t.MONEY: pa.decimal128(38, 2), t.BOOL: pa.bool_(), t.DATE: pa.date32(), t.INT: pa.int64(), t.MONTHS: pa.int64()}
    return pa.schema([(name, types.get(type_, pa.string())) for name, type_ in columns])
