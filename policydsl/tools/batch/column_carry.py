"""`batch --carry` by whole columns: a Parquet table of many persons' claims in, every
claim decided with its person's accumulators carried, out, as the row engine's carry
(tools/carry.py) decides them.

The claims are put in carry order (person, then the claim's date, then input position)
with one sort, and decided rank by rank: first every person's first claim, at once, then
every person's second, each with the accumulators its person's claim before left (or the
opening balance, as `carry.Ledger` says: the carried value in the same year, else the
claim's own, else the accumulator's opening). A row the columnar backend leaves is decided
by the row engine with the same carried values, and what it adds is carried on; a claim
that is not decided adds nothing. Claims without a person or a readable date are decided
alone, as the row engine's carry decides them.

It holds the table in memory (the row engine's carry sorts on disk instead): the runner
chooses it for inputs up to `MAX_ROWS` claims.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policydsl.backends import arrow_facts
from policydsl.check import types as t
from policydsl.tools.batch.columns import ColumnChunks
from policydsl.tools.batch.formats import Unwritable
from policydsl.tools.carry import Carrier
from policydsl.tools.claims_io import UsageError
from policydsl.tools.decide import decide, failure_record

MAX_ROWS = 20_000_000


class ColumnCarry:
    """Carries a whole table of claims by columns; `worker` is the `ChunkWorker` whose
    formats, row engine and columnar chunks it uses."""

    def __init__(self, policy, worker):
        self.policy = policy
        self.worker = worker
        self.chunks: ColumnChunks = worker.columns
        self.carrier = Carrier(policy)
        if self.carrier.shared:
            raise UsageError(
                f"{policy.name}: the columnar carry carries accumulators per one key field, these are keyed by "
                + ", ".join(f"`{f}`" for f in self.carrier.per_fields) + ": use --engine row (or auto)"
            )
        self.program = policy.program.ir
        self.accumulators = self.program.accumulators
        self.names = tuple(a.name for a in self.accumulators)
        self.openings = [_fen(a.opening) if a.type == t.MONEY else int(a.opening) for a in self.accumulators]

    def run(self, table):
        """(main table, errors chunk or None, claims, errors, money totals, persons)."""
        worker = self.worker
        batch = _one_batch(table)
        n = batch.num_rows
        first = 1
        person, carried = self._persons(batch)
        dates, date_failed, _ = arrow_facts.read_field(self.program, batch, self.carrier.date_field)
        carried &= ~date_failed
        positions = np.arange(n, dtype=np.int64)
        chain = positions[carried]
        order = chain[np.lexsort((chain, dates[chain], person[chain]))]
        ranks = _ranks(person[order])
        persons = len(np.unique(person[order])) if len(order) else 0
        state = _Held(len(self.accumulators), int(person.max()) + 1 if n else 0)
        pieces: list = []  # (positions, Arrow table) decided by columns
        rows: list = []  # (position, formatted row) decided by the row engine
        apart: list = []  # (position, error row) when errors are written apart
        errors = 0
        money = [Decimal(0)] * len(worker.money)
        for rank in range(int(ranks.max()) + 1 if len(ranks) else 0):
            at = order[ranks == rank]
            errors += self._rank(batch, at, person[at], first, state, pieces, rows, apart, money)
        alone = positions[~carried]
        if len(alone):
            errors += self._alone(batch, alone, first, rows, apart, money)
        tables = [table for _, table in pieces]
        placed = [at for at, _ in pieces]
        if rows:
            rows.sort(key=lambda item: item[0])
            tables.append(worker.main.chunk([row for _, row in rows]).cast(worker.main.schema))
            placed.append(np.asarray([at for at, _ in rows], dtype=np.int64))
        main = pa.concat_tables(tables) if tables else worker.main.schema.empty_table()
        if placed:
            main = main.take(pa.array(np.argsort(np.concatenate(placed), kind="stable")))
        if worker.errors is worker.main:
            return main, None, n, errors, money, persons
        apart.sort(key=lambda item: item[0])
        return main, worker.errors.chunk([row for _, row in apart]), n, errors, money, persons

    # ---- one rank of every person's claims -----------------------------------------

    def _rank(self, batch, at, persons, first, state, pieces, rows, apart, money) -> int:
        part = batch.take(pa.array(at))
        chunks = self.chunks
        columns, unreadable, fields = arrow_facts.read(self.program, part, chunks.drop, apart=self.names)
        ids, unreadable_ids = chunks._claim_ids(part)
        unreadable |= unreadable_ids
        day_of_claim = columns[self.program.as_of_index]
        starts = [self._starts(day_of_claim, a) for a in self.accumulators]
        held = []
        for number, accumulator in enumerate(self.accumulators):
            same_year = state.has[number][persons] & (state.start[number][persons] == starts[number])
            failed, absent = fields[accumulator.name]
            given = ~same_year & ~absent
            unreadable |= given & failed
            value = np.where(same_year, state.value[number][persons], np.where(absent, self.openings[number], columns[accumulator.index]))
            columns[accumulator.index] = value
            held.append(same_year)
        decided = chunks.kernel.decide(columns, len(at), unreadable, self.worker.spec.as_of)
        good = np.flatnonzero(~decided.fallback)
        chunks.by_columns += len(good)
        for number, accumulator in enumerate(self.accumulators):
            who = persons[good]
            state.has[number][who] = True
            state.start[number][who] = starts[number][good]
            state.value[number][who] = decided.after[accumulator.name][good]
        if len(good):
            pieces.append((at[good], chunks._table(decided, ids, good)))
            for index, name in enumerate(self.worker.money):
                money[index] += Decimal(int(decided.outputs[name][good].sum())).scaleb(-2)
        left = np.flatnonzero(decided.fallback)
        chunks.by_rows += len(left)
        errors = 0
        for (line, claim_id, claim), index in zip(self._claims(part, left, first, at), left):
            if isinstance(claim, dict):
                claim = {**claim, **self._carried_values(state, persons[index], [h[index] for h in held], claim)}
            error, row, outputs, record = self._decide(line, claim_id, claim)
            if error:
                errors += 1
                (rows if self.worker.errors is self.worker.main else apart).append((int(at[index]), row))
                continue
            rows.append((int(at[index]), row))
            for number, name in enumerate(self.names):
                after = record["accumulators"][name]["after"]
                state.has[number][persons[index]] = True
                state.start[number][persons[index]] = starts[number][index]
                state.value[number][persons[index]] = _fen(Decimal(after)) if isinstance(after, str) else int(after)
            for number, name in enumerate(self.worker.money):
                money[number] += outputs[name]
        return errors

    def _carried_values(self, state, person, same_year, claim) -> dict:
        """The accumulator values `carry.Ledger.facts` gives a claim, as facts."""
        values = {}
        for number, accumulator in enumerate(self.accumulators):
            if same_year[number]:
                values[accumulator.name] = _value(state.value[number][person], accumulator.type)
            elif claim.get(accumulator.name) is None:
                values[accumulator.name] = accumulator.opening
        return values

    def _decide(self, line, claim_id, claim):
        """(error?, formatted row, outputs, record) of one claim decided by the row engine."""
        worker = self.worker
        record, outputs = decide(self.policy, claim, line, worker.spec.as_of, claim_id, keep_going=True)
        if outputs is not None:
            try:
                return False, worker.main.decision(record, outputs), outputs, record
            except Unwritable as error:
                record = failure_record(error, claim_id, line)
        return True, worker.errors.error(record), None, record

    def _alone(self, batch, alone, first, rows, apart, money) -> int:
        """Claims that cannot be carried (no person, no readable date), as `carry` decides them."""
        errors = 0
        for (line, claim_id, claim), position in zip(self._claims(batch, alone, first, None), alone):
            _, instead = self.carrier.place(claim) if isinstance(claim, dict) else (None, claim)
            error, row, outputs = self.worker.alone(line, claim_id, instead)
            if error:
                errors += 1
                (rows if self.worker.errors is self.worker.main else apart).append((int(position), row))
                continue
            rows.append((int(position), row))
            for number, name in enumerate(self.worker.money):
                money[number] += outputs[name]
        return errors

    # ---- helpers -------------------------------------------------------------------

    def _claims(self, batch, which, first, at):
        """(line, claim_id, claim) of rows `which` of `batch` (rows `at[which]` of the input)."""
        part = batch.take(pa.array(which))
        lines = (at[which] if at is not None else which) + first
        for (_, claim_id, claim), line in zip(self.worker.claims("parquet", (first, part)), lines.tolist()):
            yield line, claim_id, claim

    def _persons(self, batch):
        """(a code per row for its person, rows that are carried). A person the facts reader
        reads plainly (text, or an int for an int field) is its value; any other value is
        grouped by `Carrier.person_text`, as the row engine's carry groups it."""
        n = batch.num_rows
        name = self.carrier.person_field
        if name not in batch.schema.names:
            return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        column = batch.column(name)
        present = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if self.carrier.person_is_int and pa.types.is_integer(column.type):
            encoded = pc.dictionary_encode(column)
        elif not self.carrier.person_is_int and pa.types.is_string(column.type):
            encoded = pc.dictionary_encode(column)
            present &= np.asarray(pc.not_equal(column, "").fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        else:
            texts = [self.carrier.person_text(value) if value not in (None, "") else None for value in column.to_pylist()]
            encoded = pc.dictionary_encode(pa.array(texts, type=pa.string()))
            present &= np.asarray([text is not None for text in texts], dtype=bool)
        codes = np.asarray(encoded.indices.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return codes, present

    def _starts(self, days, accumulator):
        """The first day (as a day number) of each claim's year of `accumulator`."""
        unique, inverse = np.unique(days, return_inverse=True)
        starts = np.asarray([accumulator.period_of(datetime.date.fromordinal(int(day)))[0].toordinal() for day in unique.tolist()], dtype=np.int64)
        return starts[inverse.reshape(-1)] if len(unique) else np.zeros(0, dtype=np.int64)


class _Held:
    """Each person's accumulators after their last decided claim: per accumulator, whether
    there is one, the first day of its year, and its value (money in fen)."""

    def __init__(self, count: int, persons: int):
        self.has = [np.zeros(persons, dtype=bool) for _ in range(count)]
        self.start = [np.zeros(persons, dtype=np.int64) for _ in range(count)]
        self.value = [np.zeros(persons, dtype=np.int64) for _ in range(count)]


def _ranks(persons: np.ndarray) -> np.ndarray:
    """For persons in sorted order, each claim's rank within its person (0, 1, 2, ...)."""
    if not len(persons):
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], persons[1:] != persons[:-1]]))
    first_of = np.repeat(starts, np.diff(np.concatenate([starts, [len(persons)]])))
    return np.arange(len(persons), dtype=np.int64) - first_of


def _one_batch(table):
    if isinstance(table, pa.RecordBatch):
        return table
    combined = table.combine_chunks()
    batches = combined.to_batches()
    if not batches:
        return pa.RecordBatch.from_pylist([], schema=table.schema)
    return batches[0] if len(batches) == 1 else pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _fen(value) -> int:
    return int(Decimal(value).scaleb(2))


def _value(number, type_):
    return Decimal(int(number)).scaleb(-2) if type_ == t.MONEY else int(number)


__all__ = ["MAX_ROWS", "ColumnCarry"]
