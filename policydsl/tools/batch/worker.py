"""One chunk of work: raw records in, formatted output records out, one for each, in order.

A `ChunkWorker` runs in each worker process (and in the parent, for one job or for the
records of a chunk that was lost): it parses each record (a JSON line, CSV cells, a
Parquet row), decides the claim (tools/decide.py) and formats the record for the output
(formats.py), adding up the money outputs of the decided claims.

With `batch --carry` a chunk ("carry") is instead whole persons' claims, already parsed and
in carry order (tools/carry.py): each is decided with its person's accumulators carried
from the claim before, and the result is (input position, error or not, the formatted
record pickled) for each claim, to be put back in input order (carrying.py).
"""

from __future__ import annotations

import datetime
import decimal
import pickle
from decimal import Decimal

import attrs

from policydsl.check import types as t
from policydsl.runtime import numbers
from policydsl.tools import claims_io
from policydsl.tools.batch.cells import CellReader
from policydsl.tools.batch.formats import Unwritable, formatter_for
from policydsl.tools.carry import Carrier, Ledger
from policydsl.tools.claims_io import parse_json_line
from policydsl.tools.decide import claim_id_of, decide, failure_record


@attrs.frozen
class Spec:
    """What a worker needs to know, sent once to each process."""

    policy: str
    input: str
    output: str
    errors: str | None
    header: tuple[str, ...] | None  # CSV column names
    as_of: datetime.date | None = None
    engine: str = "row"  # "columnar": Parquet chunks by whole columns (tools/batch/columns.py)
    root: str | None = None  # the policies folder the policy is loaded with (None: its enclosing `policies`)


def money_outputs(policy) -> list[str]:
    return [name for name, type_ in zip(policy.output_names, policy.output_types) if type_ == t.MONEY]


class ChunkWorker:
    """Turns a chunk of raw records into formatted output records, one for each, in order."""

    def __init__(self, policy, spec: Spec):
        self.policy = policy
        self.spec = spec
        self.money = money_outputs(policy)
        self.main = formatter_for(spec.output, policy, errors=False, inline_errors=spec.errors is None)
        self.errors = formatter_for(spec.errors, policy, errors=True) if spec.errors else self.main
        self.cells = CellReader(policy, spec.header) if spec.header is not None else None
        self._parquet_readers: dict[tuple, CellReader] = {}
        self._carrier: Carrier | None = None
        self.columns = None
        if spec.engine == "columnar":
            from policydsl.tools.batch.columns import ColumnChunks

            self.columns = ColumnChunks(policy, self)  # NotColumnar: the caller chose wrongly

    def claims(self, kind: str, payload):
        """(line, claim_id, claim or the exception that stands for it) for each record."""
        if kind == "jsonl":
            for line, raw in claims_io.split_lines(*payload):
                claim = parse_json_line(raw)
                yield line, claim_id_of(claim), claim
        elif kind == "csv":
            for line, row in payload:
                if isinstance(row, Exception):
                    yield line, None, row
                else:
                    yield (line, *self.cells.claim(row))
        else:
            first, batch = payload
            names = tuple(batch.schema.names)
            reader = self._parquet_readers.get(names) or self._parquet_readers.setdefault(names, CellReader(self.policy, names))
            for offset, row in enumerate(zip(*claims_io.parquet_columns(batch)) if names else [()] * batch.num_rows):
                yield (first + offset, *reader.claim(row, checked=True))

    def lost(self, kind: str, payload, message: str):
        """Error records for a chunk that could not be evaluated, one per record, in
        order, as `process` would return them."""
        if kind == "carry":
            rows = []
            for (_, _, position), blob in payload:
                line, claim_id, _ = pickle.loads(blob)
                rows.append((position, _pickled(True, self.errors.error(failure_record(RuntimeError(message), claim_id, line)))))
            return rows, len(rows), len(rows), [Decimal(0)] * len(self.money)
        failed = []
        claims = 0
        for line, claim_id in self._records(kind, payload):
            claims += 1
            failed.append(self.errors.error(failure_record(RuntimeError(message), claim_id, line)))
        chunk = self.errors.chunk(failed)
        if self.errors is self.main:
            return chunk, None, claims, claims, [Decimal(0)] * len(self.money)
        return self.main.chunk([]), chunk, claims, claims, [Decimal(0)] * len(self.money)

    def _records(self, kind: str, payload):
        """(line, claim_id or None) of each record of a chunk, without evaluating it."""
        if kind == "jsonl":
            for line, raw in claims_io.split_lines(*payload):
                yield line, claim_id_of(parse_json_line(raw))
        elif kind == "csv":
            for line, row in payload:
                claim_id = None
                if not isinstance(row, Exception):
                    try:
                        claim_id, _ = self.cells.claim(row)
                    except Exception:  # noqa: BLE001 - the line is enough
                        claim_id = None
                yield line, claim_id
        else:
            first, batch = payload
            try:
                ids = batch.column("claim_id").to_pylist() if "claim_id" in batch.schema.names else None
            except Exception:  # noqa: BLE001
                ids = None
            for offset in range(batch.num_rows):
                yield first + offset, claim_id_of({"claim_id": ids[offset]}) if ids is not None else None

    def process(self, kind: str, payload):
        """(main output chunk, errors chunk or None, claims, errors, money totals); for a
        "carry" chunk, `carry`'s answer."""
        if kind == "carry":
            return self.carry(payload)
        if kind == "parquet" and self.columns is not None:
            return self.columns.process(*payload)
        main: list = []
        failed: list = [] if self.errors is not self.main else main
        claims = errors = 0
        money = [Decimal(0)] * len(self.money)
        policy = self.policy
        as_of = self.spec.as_of
        with decimal.localcontext(numbers.ROUNDING):  # the totals add exactly, whatever the caller's context
            for line, claim_id, claim in self.claims(kind, payload):
                claims += 1
                record, outputs = decide(policy, claim, line, as_of, claim_id, keep_going=True)
                if outputs is None:
                    errors += 1
                    failed.append(self.errors.error(record))
                    continue
                try:
                    row = self.main.decision(record, outputs)
                except Unwritable as error:  # a value the output's column cannot hold (Parquet)
                    errors += 1
                    failed.append(self.errors.error(failure_record(error, claim_id, line)))
                    continue
                for index, name in enumerate(self.money):
                    money[index] += outputs[name]
                main.append(row)
        errors_chunk = self.errors.chunk(failed) if failed is not main else None
        return self.main.chunk(main), errors_chunk, claims, errors, money

    def carry(self, payload):
        """Whole persons' claims in carry order -- ((person, date, position), pickled (line,
        claim_id, claim)) -- in; ([(position, pickled (error?, formatted record))], claims,
        errors, money totals) out. A claim that is not decided (or whose decision the output
        cannot hold) adds nothing: the person's next claim goes on from the one before."""
        if self._carrier is None:
            self._carrier = Carrier(self.policy)
        carrier, policy, as_of = self._carrier, self.policy, self.spec.as_of
        names = carrier.names
        rows = []
        errors = 0
        money = [Decimal(0)] * len(self.money)
        person = ledger = None
        with decimal.localcontext(numbers.ROUNDING):  # the totals add exactly, whatever the caller's context
            for (who, day, position), blob in payload:
                line, claim_id, claim = pickle.loads(blob)
                if who != person:
                    person, ledger = who, Ledger(carrier)
                record, outputs = decide(policy, ledger.facts(claim, day), line, as_of, claim_id, keep_going=True)
                if outputs is not None:
                    try:
                        row = self.main.decision(record, outputs)
                    except Unwritable as error:  # a value the output's column cannot hold (Parquet)
                        record, outputs = failure_record(error, claim_id, line), None
                if outputs is None:
                    errors += 1
                    rows.append((position, _pickled(True, self.errors.error(record))))
                    continue
                carried = record["accumulators"]
                ledger.decided([carried[name]["after"] for name in names])
                for index, name in enumerate(self.money):
                    money[index] += outputs[name]
                rows.append((position, _pickled(False, row)))
        return rows, len(rows), errors, money

    def alone(self, line, claim_id, claim):
        """(error?, formatted record, money outputs or None) of a claim decided by itself
        (with --carry: one that cannot be carried, or that could not be read)."""
        record, outputs = decide(self.policy, claim, line, self.spec.as_of, claim_id, keep_going=True)
        if outputs is not None:
            try:
                return False, self.main.decision(record, outputs), outputs
            except Unwritable as error:
                record = failure_record(error, claim_id, line)
        return True, self.errors.error(record), None


def _pickled(error: bool, row) -> bytes:
    return pickle.dumps((error, row), pickle.HIGHEST_PROTOCOL)
