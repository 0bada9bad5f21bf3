"""Claims in, each decided under both versions, out: chunks of `Pair`s in input order.

Sources: a `.jsonl` / `.ndjson` file (or `-`), `.csv` or `.parquet` as `batch` reads them (its
readers: `claims_io`, `CellReader` through `ChunkWorker.claims`), or a `.json` file or
`*.tests.json` file (its cases' claims, each as of its `as_of`), read whole.

Engines, per side, as `batch` chooses them:

- **columnar** (numpy and pyarrow installed, the policy compiles to columns, its outputs are
  money, bool, date, int or months): each chunk of claims becomes an Arrow table (a Parquet
  file's batch as it is read; JSON and CSV claims through `pyarrow.Table.from_pylist`), read
  by `arrow_facts` and decided by the columnar kernel (`backends/columnar.py`), money kept in
  whole fen. The rows the kernel leaves to the row engine -- and JSON claims holding a `null`,
  which Arrow cannot tell from an absent field -- are decided by the row engine from the
  claim as it was read, so every decision is the row engine's own.
- **row**: `Policy.evaluate` claim by claim, as `batch`'s row engine does (`decide.py`).

With `carry`, each side decides every person's claims in date order with the accumulators
carried from claim to claim (`tools/carry.py`, as `policydsl.carry` and `batch --carry`), so
caps and thresholds move as they would; the claims are held in memory for it.

A side of a `Pair` is a `Side` (the outputs as `values`: money in whole fen, or
`UNLIMITED`; dates ISO text; other values as their JSON; and, with carry, each accumulator's
value before the claim), or the error text of a claim that could not be decided.
"""

from __future__ import annotations

import datetime
import math
import time

import attrs

from policydsl.check import types as t
from policydsl.diagnostics.model import PolicydslError, PolicyError
from policydsl.tools import claims_io
from policydsl.tools.claims_io import UsageError
from policydsl.tools.decide import claim_id_of, error_record, not_an_object
from policydsl.diagnostics.model import FactsError

CHUNK = 20_000
UNLIMITED = math.inf  # an `unlimited` money output, among values in fen
ENGINES = ("auto", "row", "columnar")
_COLUMN_TYPES = (t.MONEY, t.BOOL, t.DATE, t.INT, t.MONTHS)


@attrs.frozen(slots=True)
class Claim:
    """One input record: its place, how the report names it, and the claim read from it
    (a dict, or the exception that stands for a record that is not a claim)."""

    position: int  # 0-based, in input order
    line: int | None
    label: str
    facts: object
    as_of: datetime.date | None = None


@attrs.frozen(slots=True)
class Side:
    """A decision on one side: output values in the policy's output order (see the module's
    docstring); `before`: accumulator name -> its value before the claim (as JSON), or None."""

    values: tuple
    before: dict | None = None
    after: dict | None = None


@attrs.frozen(slots=True)
class Pair:
    claim: Claim
    old: object  # Side, or the error text
    new: object


@attrs.define
class Run:
    """How the claims were decided."""

    engines: dict = attrs.Factory(dict)  # "old"/"new" -> (engine, why)
    carried_per: str | None = None
    persons: int = 0
    claims: int = 0
    seconds: float = 0.0
    by_columns: int = 0  # claim decisions made by the columnar kernel (both sides)
    by_rows: int = 0


def source_kind(spec: str) -> str:
    """tests, json, jsonl, csv or parquet."""
    from policydsl.tools.testing import SUFFIX

    if spec.endswith(SUFFIX):
        return "tests"
    if spec != "-" and spec.lower().endswith(".json"):
        return "json"
    return claims_io.file_format(spec, "claims")


def label_of(claim, line) -> str:
    claim_id = claim_id_of(claim)
    return str(claim_id) if claim_id is not None else f"line {line}"


# ---- reading --------------------------------------------------------------------------------


def read_chunks(spec: str, reader_policy, chunk: int = CHUNK):
    """Chunks of (list of `Claim`, the Arrow batch they were read from or None), in input order."""
    kind = source_kind(spec)
    if kind == "tests":
        from policydsl.tools.testing import TestFileError, read_tests

        try:
            cases = read_tests(spec).cases
        except TestFileError as error:
            raise UsageError(str(error)) from None
        yield [
            Claim(position, position + 1, str(case.claim_id) if case.claim_id is not None else case.name, case.claim, case.as_of)
            for position, case in enumerate(cases)
        ], None
        return
    if kind == "json":
        yield [Claim(position, line, label_of(claim, line), claim) for position, (line, claim) in enumerate(claims_io.read_claims(spec))], None
        return
    from policydsl.tools.batch.worker import ChunkWorker, Spec

    position = 0
    if kind == "parquet":
        _, batches = claims_io.parquet_batches(spec, chunk)
        worker = ChunkWorker(reader_policy, Spec(reader_policy.name, "parquet", "jsonl", None, None))
        first = 1
        for batch in batches:
            claims = []
            for line, claim_id, claim in worker.claims("parquet", (first, batch)):
                claims.append(Claim(position, line, str(claim_id) if claim_id is not None else f"line {line}", claim))
                position += 1
            first += batch.num_rows
            yield claims, batch
        return
    stream = claims_io.open_binary(spec)
    own = spec != "-"
    try:
        if kind == "csv":
            header, chunks = claims_io.csv_chunks(stream, chunk)
            worker = ChunkWorker(reader_policy, Spec(reader_policy.name, "csv", "jsonl", None, tuple(header)))
            tasks = (("csv", rows) for rows, _ in chunks)
        else:
            worker = ChunkWorker(reader_policy, Spec(reader_policy.name, "jsonl", "jsonl", None, None))
            tasks = (("jsonl", payload) for payload, _ in claims_io.jsonl_chunks(stream, chunk))
        for task in tasks:
            claims = []
            for line, claim_id, claim in worker.claims(*task):
                claims.append(Claim(position, line, str(claim_id) if claim_id is not None else f"line {line}", claim))
                position += 1
            yield claims, None
    finally:
        if own:
            stream.close()


# ---- deciding -------------------------------------------------------------------------------


class Decider:
    """Decides claims for one policy with one engine (see the module's docstring)."""

    def __init__(self, policy, engine: str = "auto", as_of: datetime.date | None = None):
        if engine not in ENGINES:
            raise UsageError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
        self.policy = policy
        self.as_of = as_of
        self.types = list(policy.output_types)
        self.names = list(policy.output_names)
        self.money = [type_ == t.MONEY for type_ in self.types]
        self.kernel = None
        self.engine, self.why = "row", "asked for"
        if engine != "row":
            self.engine, self.why = self._columnar()
            if engine == "columnar" and self.engine != "columnar":
                raise UsageError(f"--engine columnar: {self.why}")
        self.by_columns = 0
        self.by_rows = 0

    def _columnar(self) -> tuple[str, str]:
        try:
            import numpy  # noqa: F401
            import pyarrow  # noqa: F401

            from policydsl.backends.columnar import NotColumnar, compile_columnar
        except ImportError as error:
            return "row", f"the columnar engine needs numpy and pyarrow ({error})"
        others = sorted({str(type_) for type_ in self.types if type_ not in _COLUMN_TYPES})
        if others:
            return "row", f"outputs of type {', '.join(others)} are decided by the row engine"
        try:
            self.kernel = compile_columnar(self.policy)
        except NotColumnar as why:
            return "row", f"the policy does not compile to columns: {why}"
        fields = {f.name for f in self.policy.program.ir.record_fields(None)}
        self.drop = () if "claim_id" in fields else ("claim_id",)
        return "columnar", "the policy compiles to columns"

    # -- one claim, by the row engine
    def row(self, claim: Claim, facts=None, as_of=None):
        """The Side of one claim (or its error text), by `Policy.evaluate`."""
        facts = claim.facts if facts is None else facts
        self.by_rows += 1
        if isinstance(facts, Exception):
            return _error_text(error_record(facts))
        if not isinstance(facts, dict):
            return _error_text(error_record(FactsError([not_an_object(facts)])))
        try:
            decision = self.policy.evaluate(facts, as_of=as_of or self.as_of or claim.as_of)
        except PolicyError:
            raise
        except PolicydslError as error:
            return _error_text(error_record(error))
        except Exception as error:  # noqa: BLE001 - a bug must not stop a run of many claims (as batch)
            return f"internal error: {type(error).__name__}: {error} (please report it)"
        return self.side_of(decision)

    def side_of(self, decision) -> Side:
        outputs = decision.outputs
        values = tuple(_value(outputs[name], type_) for name, type_ in zip(self.names, self.types))
        if decision.added is None:
            return Side(values)
        carried = decision.policy.accumulators_json(decision.inputs, decision.added)
        return Side(values, {name: c["before"] for name, c in carried.items()}, {name: c["after"] for name, c in carried.items()})

    # -- a chunk
    def decide(self, chunk: "Chunk") -> list:
        """The Side (or error text) of each claim of the chunk, in order."""
        claims = chunk.claims
        if self.kernel is None or chunk.batch is None:
            return [self.row(claim) for claim in claims]
        import numpy as np

        from policydsl.backends import arrow_facts

        batch, at = chunk.batch, chunk.at
        try:
            columns, unreadable = arrow_facts.read(self.policy.program.ir, batch, self.drop)
            decided = self.kernel.decide(columns, batch.num_rows, unreadable, self.as_of)
        except Exception:  # noqa: BLE001 - an Arrow type the reader does not take: the row engine
            return [self.row(claim) for claim in claims]
        good = np.flatnonzero(~decided.fallback)
        columns_out = []
        for name, type_ in zip(self.names, self.types):
            column = decided.outputs[name][good].tolist()
            if type_ == t.DATE:
                texts = {day: datetime.date.fromordinal(int(day)).isoformat() for day in set(column)}
                column = [texts[day] for day in column]
            elif type_ == t.BOOL:
                column = [bool(v) for v in column]
            columns_out.append(column)
        results: list = [None] * len(claims)
        rows = good.tolist()
        for row, values in zip(rows, zip(*columns_out) if columns_out else [()] * len(rows)):
            results[at[row]] = Side(values)
        self.by_columns += len(rows)
        for index, claim in enumerate(claims):
            if results[index] is None:
                results[index] = self.row(claim)
        return results

    # -- carried person-years
    def carry_sides(self, claims: list[Claim]) -> tuple[list, int]:
        """Every claim decided with its person's accumulators carried (tools/carry.py), in
        input order, and the number of persons (of groups of claims sharing a key, for a
        policy keyed by several fields)."""
        from policydsl.tools.carry import Carrier, Ledger, carrying_order

        carrier = Carrier(self.policy)  # no accumulators: UsageError
        results: list = [None] * len(claims)
        order = []
        for index, claim in enumerate(claims):
            key, alone = carrier.place(claim.facts)
            if key is None:
                results[index] = self.row(claim, facts=alone)
            else:
                order.append((key, index))
        person = ledger = None
        persons = 0
        for (who, day), index in carrying_order(carrier, [claim.facts for claim in claims], order):
            if who != person:
                person, ledger = who, Ledger(carrier)
                persons += 1
            claim = claims[index]
            facts = ledger.facts(claim.facts, day)
            side = self.row(claim, facts=facts)
            if isinstance(side, Side):
                ledger.decided([side.after[name] for name in carrier.names])
            results[index] = side
        return results, persons


@attrs.frozen
class Chunk:
    """Claims to decide, and for the columnar engine the Arrow batch of some of them: row i of
    `batch` is claim `at[i]` (None: no batch, every claim goes to the row engine)."""

    claims: list
    batch: object = None
    at: list = attrs.Factory(list)


def prepare(claims: list[Claim], batch=None, columnar: bool = False) -> Chunk:
    """The chunk both sides decide: a Parquet file's batch as read (its rows are the claims),
    or the JSON / CSV claims without a `null` as an Arrow batch (`Table.from_pylist`)."""
    if not columnar or not claims or any(claim.as_of is not None for claim in claims):
        return Chunk(claims)
    if batch is not None:
        return Chunk(claims, batch, list(range(len(claims))))
    import pyarrow as pa

    at = [i for i, claim in enumerate(claims) if type(claim.facts) is dict and not _has_null(claim.facts)]
    if not at:
        return Chunk(claims)
    try:
        batch = pa.RecordBatch.from_pylist([claims[i].facts for i in at])
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return Chunk(claims)  # values Arrow cannot type as one column: the row engine
    return Chunk(claims, batch, at)


def _has_null(value) -> bool:
    """A `null` anywhere in a JSON claim (Arrow would make it an absent field)."""
    stack = [value]
    pop, push, more = stack.pop, stack.append, stack.extend
    while stack:
        item = pop()
        if item is None:
            return True
        kind = type(item)
        if kind is dict:
            more(item.values())
        elif kind is list:
            more(item)
    return False


def _value(value, type_):
    if type_ == t.MONEY:
        if value.is_infinite():
            return UNLIMITED
        return int(value.scaleb(2))
    if type_ == t.DATE:
        return value.isoformat()
    if type_ in (t.BOOL, t.INT, t.MONTHS):
        return value
    from policydsl.runtime import values

    return values.to_json(value, type_)


def _error_text(record: dict) -> str:
    code = record.get("code")
    if code is None and record.get("errors"):
        code = record["errors"][0].get("code")
    return f"[{code}] {record['error']}" if code else str(record["error"])


# ---- both sides -------------------------------------------------------------------------------


def decide_both(old_policy, new_policy, spec: str, as_of=None, carry: bool = False, engine: str = "auto", chunk: int = CHUNK):
    """(Run, iterator of lists of `Pair`): every claim of `spec` under both versions."""
    run = Run()
    old = Decider(old_policy, engine, as_of)
    new = Decider(new_policy, engine, as_of)
    run.engines = {"old": (old.engine, old.why), "new": (new.engine, new.why)}
    if carry:
        from policydsl.tools.carry import Carrier

        run.carried_per = ", ".join(Carrier(new_policy).per_fields)
        Carrier(old_policy)
        run.engines = {side: ("row", "person-years are carried claim by claim (tools/carry.py)") for side in ("old", "new")}

    def pairs():
        started = time.perf_counter()
        try:
            if carry:
                claims = [claim for found, _ in read_chunks(spec, new_policy, chunk) for claim in found]
                olds, _ = old.carry_sides(claims)
                news, run.persons = new.carry_sides(claims)
                run.claims = len(claims)
                for start in range(0, len(claims), chunk):
                    yield [Pair(c, o, n) for c, o, n in zip(claims[start:start + chunk], olds[start:start + chunk], news[start:start + chunk])]
                return
            columnar = old.kernel is not None or new.kernel is not None
            for claims, batch in read_chunks(spec, new_policy, chunk):
                run.claims += len(claims)
                prepared = prepare(claims, batch, columnar)
                yield [Pair(c, o, n) for c, o, n in zip(claims, old.decide(prepared), new.decide(prepared))]
        finally:
            run.seconds = time.perf_counter() - started
            run.by_columns = old.by_columns + new.by_columns
            run.by_rows = old.by_rows + new.by_rows

    return run, pairs()
