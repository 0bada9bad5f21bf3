"""`diff --export FILE`: one record per changed claim, each output before and after.

The format follows the extension, as for `batch` (.jsonl / .ndjson, .csv, .parquet), and the
records are written by batch's formats (tools/batch/formats.py): CSV cells kept from running
as spreadsheet formulas, Parquet typed (money decimal(38, 2), dates, bools, ints).

A record: `claim_id` (the claim's id, or `line N`), `line` (its line, or row, in the input),
`payments_changed`, `funds_change` (the change of what the funds pay), then for every output
`NAME.before` and `NAME.after` (JSON lines: `"NAME": {"before": ..., "after": ...}`), and
`error.before` / `error.after` for a claim decided under one version only. A changed claim is
one decided under both versions with any output changed, or decided under one of them only.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from policydsl.check import types as t
from policydsl.tools import claims_io
from policydsl.tools.batch.formats import JsonlFormat, TableFormat, arrow_schema
from policydsl.tools.claims_io import OutputError, UsageError
from policydsl.tools.impact.engine import UNLIMITED, Side
from policydsl.tools.impact.tally import MISSING, money_text

ROWS_PER_WRITE = 5_000
_TYPED = (t.MONEY, t.BOOL, t.DATE, t.INT, t.MONTHS)


class Export:
    def __init__(self, path: str, outputs: list[str], types: dict, old_policy, new_policy):
        self.path = path
        self.kind = claims_io.file_format(path, "export")
        if path == "-":
            raise UsageError("--export needs a file name (.jsonl, .csv or .parquet)")
        self.outputs = outputs
        self.types = types
        self.old_at = {name: index for index, name in enumerate(old_policy.output_names)}
        self.new_at = {name: index for index, name in enumerate(new_policy.output_names)}
        columns = [("claim_id", None), ("line", t.INT), ("payments_changed", t.BOOL), ("funds_change", t.MONEY)]
        for name in outputs:
            type_ = types[name] if types[name] in _TYPED else None
            columns += [(f"{name}.before", type_), (f"{name}.after", type_)]
        columns += [("error.before", None), ("error.after", None)]
        self.columns = columns
        self.format = JsonlFormat() if self.kind == "jsonl" else TableFormat(columns, self.kind)
        self.rows: list = []
        self.claims = 0
        self.file = None
        self.writer = None
        try:
            if self.kind == "parquet":
                import pyarrow.parquet as pq

                self.writer = pq.ParquetWriter(path, arrow_schema(columns))
            else:
                self.file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by close()
                if self.kind == "csv":
                    self.file.write(self.format.chunk([[name for name, _ in columns]]))
        except OSError as error:
            raise UsageError(f"--export {path}: cannot write: {error.strerror or error}") from None

    def write(self, pair, delta: int | None, paid: bool | None) -> None:
        """One changed claim: `delta` (fen) and `paid` (its payments changed) are None for a
        claim decided under one version only."""
        parquet = self.kind == "parquet"
        old, new = pair.old, pair.new
        record: dict = {"claim_id": pair.claim.label, "line": pair.claim.line, "payments_changed": paid}
        typed: dict = {"payments_changed": paid}
        if delta is None:
            record["funds_change"] = None
            typed["funds_change"] = Decimal("Infinity")  # formats.py writes null for it in a decimal column
        else:
            typed["funds_change"] = Decimal(delta).scaleb(-2)
            record["funds_change"] = money_text(delta)
        for name in self.outputs:
            type_ = self.types[name]
            record[name] = {"before": self._value(old, self.old_at, name, type_, parquet), "after": self._value(new, self.new_at, name, type_, parquet)}
        record["error"] = {"before": old if isinstance(old, str) else None, "after": new if isinstance(new, str) else None}
        if self.kind == "jsonl":
            record = {key: value for key, value in record.items() if not (key == "error" and value == {"before": None, "after": None})}
            self.rows.append(self.format.decision(record, None))
        else:
            self.rows.append(self.format.decision(record, typed))
        self.claims += 1
        if len(self.rows) >= ROWS_PER_WRITE:
            self._flush()

    def _value(self, side, at: dict, name: str, type_, parquet: bool):
        if not isinstance(side, Side) or name not in at:
            return None
        value = side.values[at[name]]
        if value is MISSING:
            return None
        if type_ == t.MONEY:
            if parquet:
                return Decimal("Infinity") if value == UNLIMITED else Decimal(value).scaleb(-2)
            return money_text(value)
        if type_ == t.DATE and parquet:
            return datetime.date.fromisoformat(value)
        return value

    def _flush(self) -> None:
        if not self.rows:
            return
        chunk = self.format.chunk(self.rows)
        self.rows = []
        try:
            if self.writer is not None:
                self.writer.write_table(chunk)
            else:
                self.file.write(chunk)
        except OSError as error:
            raise OutputError(f"--export {self.path}: {error.strerror or error}") from None

    def close(self) -> None:
        self._flush()
        if self.writer is not None:
            self.writer.close()
        if self.file is not None:
            self.file.close()

    def abandon(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
            if self.file is not None:
                self.file.close()
        except Exception:  # noqa: BLE001
            pass
