"""A Parquet chunk decided by the columnar backend: an Arrow record batch of claims in, the
chunk's output tables out, as the row engine's `ChunkWorker.process` gives them.

The rows the columnar backend leaves (`Decided.fallback`: facts it could not read for sure,
claims that fail) are decided one by one by the row engine, with their own line numbers,
and put back in input order: every record, result or error, is the row engine's. Outputs
are built as Arrow arrays from the int64 columns (money as decimal128(38, 2) straight from
fen), never a Python object per cell.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa

from policydsl.api import _year_text
from policydsl.backends import arrow_facts
from policydsl.backends.columnar import compile_columnar
from policydsl.tools.batch.formats import PROVENANCE_COLUMNS

_ORDINAL_1970 = 719163  # datetime.date(1970, 1, 1).toordinal()


class ColumnChunks:
    """Decides Parquet chunks of one policy by whole columns (see the module's docstring);
    `worker` is the `ChunkWorker` whose formats and row engine it shares."""

    def __init__(self, policy, worker):
        self.policy = policy
        self.worker = worker
        self.kernel = compile_columnar(policy)  # NotColumnar: the caller uses the row engine
        self.program = policy.program.ir
        self.drop = ("claim_id",) if policy._drop_claim_id else ()
        self.money_types = dict(zip(policy.output_names, policy.output_types))
        provenance = policy._provenance_json
        self.provenance = {
            f"policy.{part}": _dig(provenance, part.split(".")) for part in PROVENANCE_COLUMNS
        }
        self._periods: dict[int, tuple[str, ...]] = {}
        self.by_columns = 0  # rows decided by whole columns so far
        self.by_rows = 0  # rows left to the row engine so far

    def process(self, first: int, batch):
        """(main table, errors chunk or None, claims, errors, money totals) of a chunk whose
        first row is line `first`."""
        n = batch.num_rows
        columns, unreadable = arrow_facts.read(self.program, batch, self.drop)
        ids, unreadable_ids = self._claim_ids(batch)
        decided = self.kernel.decide(columns, n, unreadable | unreadable_ids, self.worker.spec.as_of)
        good = np.flatnonzero(~decided.fallback)
        table = self._table(decided, ids, good)
        money = [Decimal(int(decided.outputs[name][good].sum())).scaleb(-2) for name in self.worker.money]
        left = np.flatnonzero(decided.fallback)
        self.by_columns += len(good)
        self.by_rows += len(left)
        if not len(left):
            errors_chunk = self.worker.errors.chunk([]) if self.worker.errors is not self.worker.main else None
            return table, errors_chunk, n, 0, money
        main_rows, main_at, failed, errors, extra = self._by_rows(first, batch, left)
        for index, value in enumerate(extra):
            money[index] += value
        rest = self.worker.main.chunk(main_rows)
        order = np.argsort(np.concatenate([good, np.asarray(main_at, dtype=np.int64)]), kind="stable")
        table = pa.concat_tables([table, rest.cast(table.schema)]).take(pa.array(order))
        if self.worker.errors is self.worker.main:
            return table, None, n, errors, money
        return table, self.worker.errors.chunk(failed), n, errors, money

    def _by_rows(self, first: int, batch, left):
        """The row engine's records for rows `left` of the batch: (main rows, their row
        numbers, error rows written apart, errors, money totals of the decided ones)."""
        worker = self.worker
        inline = worker.errors is worker.main
        part = batch.take(pa.array(left))
        main_rows, main_at, failed = [], [], []
        errors = 0
        money = [Decimal(0)] * len(worker.money)
        for (_, claim_id, claim), row in zip(worker.claims("parquet", (first, part)), left):
            error, written, outputs = worker.alone(first + int(row), claim_id, claim)  # the row engine's record
            if error:
                errors += 1
                if not inline:
                    failed.append(written)
                    continue
            else:
                for index, name in enumerate(worker.money):
                    money[index] += outputs[name]
            main_rows.append(written)
            main_at.append(row)
        return main_rows, main_at, failed, errors, money

    def _claim_ids(self, batch):
        """(claim ids as text or None, rows whose id the row engine must read)."""
        n = batch.num_rows
        if "claim_id" not in batch.schema.names:
            return pa.nulls(n, pa.string()), np.zeros(n, dtype=bool)
        column = batch.column("claim_id")
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            return column.cast(pa.string()), np.zeros(n, dtype=bool)
        return pa.nulls(n, pa.string()), np.ones(n, dtype=bool)

    def _table(self, decided, ids, good):
        schema = self.worker.main.schema
        take = pa.array(good)
        periods = self._period_columns(decided.days[good]) if self.program.accumulators else {}
        arrays = []
        for field in schema:
            name = field.name
            if name == "claim_id":
                arrays.append(ids.take(take))
            elif name in decided.outputs:
                arrays.append(_arrow(decided.outputs[name][good], self.money_types[name], field.type))
            elif name.startswith("accumulators."):
                _, accumulator, part = name.split(".")
                if part == "period":
                    arrays.append(periods[accumulator])
                else:
                    source = decided.before if part == "before" else decided.after
                    arrays.append(_arrow(source[accumulator][good], None, field.type))
            elif name in self.provenance:
                arrays.append(pa.repeat(pa.scalar(self.provenance[name], type=pa.string()), len(good)))
            else:  # error, line: null on a decision
                arrays.append(pa.nulls(len(good), field.type))
        return pa.Table.from_arrays(arrays, schema=schema)

    def _period_columns(self, days) -> dict:
        """Each accumulator's year of each row, as the records write it (`2025-01-01/2025-12-31`):
        each distinct day's years made once (and kept), every accumulator's column from them."""
        unique, inverse = np.unique(days, return_inverse=True)
        texts = []
        for day in unique.tolist():
            periods = self._periods.get(day)
            if periods is None:
                date = datetime.date.fromordinal(day)
                periods = self._periods[day] = tuple(_year_text(*a.period_of(date)) for a in self.program.accumulators)
            texts.append(periods)
        at = pa.array(inverse.reshape(-1))
        return {
            accumulator.name: pa.array([periods[number] for periods in texts], type=pa.string()).take(at)
            for number, accumulator in enumerate(self.program.accumulators)
        }


def _arrow(values, type_, arrow_type):
    """An int64 / bool column as the output's Arrow type (money: fen -> decimal128(38, 2))."""
    values = np.ascontiguousarray(values)
    if pa.types.is_decimal(arrow_type):
        words = np.empty((len(values), 2), dtype=np.int64)
        words[:, 0] = values
        words[:, 1] = np.where(values < 0, -1, 0)
        return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(words.tobytes())])
    if pa.types.is_date32(arrow_type):
        return pa.array((values - _ORDINAL_1970).astype(np.int32), type=pa.int32()).cast(pa.date32())
    if pa.types.is_boolean(arrow_type):
        return pa.array(values.astype(bool), type=pa.bool_())
    if pa.types.is_string(arrow_type):
        return pa.array(values.tolist(), type=pa.string())
    return pa.array(values.astype(np.int64), type=arrow_type)


def _dig(value, path):
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return None if value is None else str(value)


__all__ = ["ColumnChunks"]
