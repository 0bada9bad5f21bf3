"""`policydsl batch`: evaluate a whole file of claims, streaming, on several processes.

Why: a province settles millions of claims a day and analysts re-run a year of claims for
every policy change (issue 5), so files of any size must go through in bounded memory,
using every core, with the output in input order.

    policydsl batch POLICY INPUT -o OUTPUT [--jobs N] [--errors FILE] [--chunk-size N]

Formats go by extension: `.jsonl`/`.ndjson` (or `-`: JSON lines on stdin/stdout), `.csv`,
`.parquet` (needs pyarrow: `pip install 'policydsl[parquet]'`).

CSV input: one row per claim under a header row of field names. Scalar fields are columns
(`claim_id`, `service_date`), fields of a nested record are dotted columns
(`person.category`), and a list field is one column holding a JSON array
(`items` = `[{"category": "covered", "amount": "120.50"}]`); a whole record may also be one
JSON column. Cells are converted by the policy's input schema (int and months: whole
numbers; bool: true/false; number, ratio: decimals, a ratio also as "75%"; enums whose
members are numbers: numbers; money, date, text: as written). An empty cell is an absent
field. Parquet input: typed columns, nested structs and lists, or columns laid out as in CSV;
a null is an absent field.

Output: JSON lines hold exactly what `policydsl eval` writes. CSV has the columns claim_id,
the outputs, error, line; Parquet the same, typed (money decimal(38, 2), dates, bools, ints).
Every input record gives exactly one output record, in input order: a decision, or an error
record in its place (claim_id, or the line -- the row number for Parquet -- when there is
none). With `--errors FILE` the error records go to FILE instead (CSV/Parquet columns:
claim_id, line, error, details) and OUTPUT holds only decisions.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime
import io
import itertools
import json
import os
import re
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

import attrs

from . import claims_io
from . import types as t
from .claims_io import UsageError, claim_id_of, parse_json_line
from .diagnostics import FactError, FactsError, PolicydslError, PolicyError
from .facts import show
from .policy import error_record, json_line, load

DEFAULT_CHUNK = 2_000
PARQUET_ROWS_PER_GROUP = 50_000
EXIT_OK, EXIT_FINDINGS = 0, 1


def register(commands) -> None:
    batch = commands.add_parser(
        "batch",
        help="evaluate a file of claims (JSONL, CSV, Parquet) on several processes",
        description="Evaluate every claim of INPUT with POLICY and write one record per claim to OUTPUT, in "
        "input order, streaming in chunks so that memory stays flat for any size. Formats go by extension: "
        ".jsonl/.ndjson (or -), .csv (one row per claim; nested record fields as dotted columns such as "
        "person.category; list fields such as items as a JSON column), .parquet. A claim that cannot be "
        "decided gets an error record in its place (or in --errors FILE); the exit code is then 1. "
        "A summary (claims, errors, totals of each money output, time) goes to stderr.",
    )
    batch.add_argument("policy", metavar="POLICY", help="the policy file")
    batch.add_argument("input", metavar="INPUT", help="claims: FILE.jsonl, FILE.ndjson, FILE.csv, FILE.parquet or - (JSON lines)")
    batch.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="decisions: FILE.jsonl, FILE.csv, FILE.parquet or -")
    batch.add_argument("--errors", metavar="FILE", help="write error records to FILE instead of OUTPUT")
    batch.add_argument("-j", "--jobs", type=int, metavar="N", help=f"worker processes (default: the number of cores, {default_jobs()})")
    batch.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, metavar="N", help=f"claims per chunk of work (default {DEFAULT_CHUNK})")
    batch.add_argument("--as-of", type=_date, metavar="DATE", help="evaluate with the values in force on DATE (YYYY-MM-DD), not on each claim's date")
    batch.set_defaults(run=run)


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


# ---- the run --------------------------------------------------------------------------------


@attrs.frozen
class Spec:
    """What a worker needs to know, sent once to each process."""

    policy: str
    input: str
    output: str
    errors: str | None
    header: tuple[str, ...] | None  # CSV column names
    as_of: datetime.date | None = None


@attrs.define
class Totals:
    claims: int = 0
    errors: int = 0
    money: list = attrs.Factory(list)

    def add(self, claims: int, errors: int, money: list) -> None:
        self.claims += claims
        self.errors += errors
        self.money = [a + b for a, b in zip(self.money, money)] if self.money else list(money)


def run(args) -> int:
    if args.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1")
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    formats = (claims_io.file_format(args.input, "input"), claims_io.file_format(args.output, "output"))
    errors_format = claims_io.file_format(args.errors, "errors") if args.errors else None
    _refuse_overwrite(args.input, args.output, args.errors)
    started = time.perf_counter()
    try:
        policy = load(args.policy)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return EXIT_FINDINGS
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    header, tasks, total_units, unit = _open_input(args.input, formats[0], args.chunk_size)
    first = list(itertools.islice(tasks, 2))
    if len(first) < 2:
        jobs = 1  # one chunk of work: starting processes would only cost time
    tasks = itertools.chain(first, tasks)
    spec = Spec(str(args.policy), formats[0], formats[1], errors_format, header, args.as_of)
    totals = Totals(money=[Decimal(0)] * len(_money_outputs(policy)))
    main = _Sink(args.output, formats[1], policy, errors=False, inline_errors=args.errors is None)
    try:
        errors_sink = _Sink(args.errors, errors_format, policy, errors=True) if args.errors else None
        try:
            _process(policy, spec, tasks, jobs, main, errors_sink, totals, total_units, unit)
        finally:
            if errors_sink is not None:
                errors_sink.close()
    finally:
        main.close()
    _summary(policy, totals, time.perf_counter() - started, jobs)
    return EXIT_FINDINGS if totals.errors else EXIT_OK


def _refuse_overwrite(source: str, *targets: str | None) -> None:
    seen = {Path(source).resolve()} if source != "-" else set()
    for target in targets:
        if target is None or target == "-":
            continue
        resolved = Path(target).resolve()
        if resolved in seen:
            raise UsageError(f"{target}: would overwrite another file of this run")
        seen.add(resolved)


def _open_input(spec: str, kind: str, chunk_size: int):
    """(CSV header, tasks, total progress units or None, unit): tasks are (kind, payload, units)."""
    if kind == "parquet":
        rows, batches = claims_io.parquet_batches(spec, chunk_size)

        def parquet_tasks():
            first = 1
            for batch in batches:
                yield ("parquet", (first, batch), batch.num_rows)
                first += batch.num_rows

        return None, parquet_tasks(), rows, "claims"
    stream = claims_io.open_binary(spec)
    total = claims_io.size_of(spec)
    if kind == "csv":
        header, chunks = claims_io.csv_chunks(stream, chunk_size)
        return tuple(header), (("csv", chunk, done) for chunk, done in chunks), total, "bytes"
    return None, (("jsonl", chunk, done) for chunk, done in claims_io.jsonl_chunks(stream, chunk_size)), total, "bytes"


def _process(policy, spec: Spec, tasks, jobs: int, main, errors_sink, totals: Totals, total_units, unit) -> None:
    def write(result, units) -> None:
        main_chunk, errors_chunk, claims, errors, money = result
        main.write(main_chunk)
        if errors_sink is not None:
            errors_sink.write(errors_chunk)
        totals.add(claims, errors, money)
        progress.advance(units, totals.claims)

    if jobs == 1:
        worker = _Worker(policy, spec)
        with _Progress(total_units, unit) as progress:
            for kind, payload, units in tasks:
                write(worker.process(kind, payload), units)
        return
    import multiprocessing

    global _INHERITED
    _INHERITED = (spec.policy, policy)  # a forked worker reuses the loaded policy
    with multiprocessing.Pool(jobs, initializer=_init_worker, initargs=(spec,)) as pool:
        # The bar's thread starts after the fork. At most 2 chunks per worker are in flight,
        # so reading never runs ahead of writing: memory stays flat however big the input.
        pending: collections.deque = collections.deque()
        with _Progress(total_units, unit) as progress:
            for kind, payload, units in tasks:
                pending.append((pool.apply_async(_work, (kind, payload)), units))
                if len(pending) >= 2 * jobs:
                    result, done = pending.popleft()
                    write(result.get(), done)
            while pending:
                result, done = pending.popleft()
                write(result.get(), done)


_INHERITED: tuple[str, object] | None = None
_WORKER: "_Worker | None" = None


def _init_worker(spec: Spec) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    inherited = _INHERITED
    policy = inherited[1] if inherited is not None and inherited[0] == spec.policy else load(spec.policy)
    _WORKER = _Worker(policy, spec)


def _work(kind: str, payload):
    assert _WORKER is not None
    return _WORKER.process(kind, payload)


# ---- one chunk: records in, formatted records out --------------------------------------------


class _Worker:
    """Turns a chunk of raw records into formatted output records, one for each, in order."""

    def __init__(self, policy, spec: Spec):
        self.policy = policy
        self.spec = spec
        self.money = _money_outputs(policy)
        self.main = _formatter(spec.output, policy, errors=False, inline_errors=spec.errors is None)
        self.errors = _formatter(spec.errors, policy, errors=True) if spec.errors else self.main
        self.cells = _CellReader(policy, spec.header) if spec.header is not None else None
        self._parquet_readers: dict[tuple, _CellReader] = {}

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
            reader = self._parquet_readers.get(names) or self._parquet_readers.setdefault(names, _CellReader(self.policy, names))
            for offset, row in enumerate(batch.to_pylist()):
                yield (first + offset, *reader.claim([row[name] for name in names], checked=True))

    def process(self, kind: str, payload):
        """(main output chunk, errors chunk or None, claims, errors, money totals)."""
        main: list = []
        failed: list = [] if self.errors is not self.main else main
        claims = errors = 0
        money = [Decimal(0)] * len(self.money)
        policy = self.policy
        for line, claim_id, claim in self.claims(kind, payload):
            claims += 1
            record, outputs = decide(policy, line, claim_id, claim, self.spec.as_of)
            if outputs is None:
                errors += 1
                failed.append(self.errors.error(record))
            else:
                for index, name in enumerate(self.money):
                    money[index] += outputs[name]
                main.append(self.main.decision(record, outputs))
        errors_chunk = self.errors.chunk(failed) if failed is not main else None
        return self.main.chunk(main), errors_chunk, claims, errors, money


def decide(policy, line: int, claim_id, claim, as_of: datetime.date | None = None) -> tuple[dict, dict | None]:
    """(JSON record, output values) for one claim, as `policydsl eval` writes it; output
    values are None for an error record. Never raises: a record always comes out."""
    if isinstance(claim, Exception):
        return error_record(claim, claim_id, None if claim_id is not None else line), None
    if not isinstance(claim, dict):
        problem = FactError("", f"a claim must be a JSON object, got {show(claim)}", "F302")
        return error_record(FactsError([problem]), None, line), None
    try:
        decision = policy.evaluate(claim, as_of=as_of) if as_of is not None else policy.evaluate(claim)
    except PolicydslError as error:
        return error_record(error, claim_id, None if claim_id is not None else line), None
    except Exception as error:  # noqa: BLE001 - a bug must not lose the record or stop the run
        problem = RuntimeError(f"internal error: {type(error).__name__}: {error} (please report it)")
        return error_record(problem, claim_id, None if claim_id is not None else line), None
    record = decision.to_json()
    if claim_id is not None and "claim_id" not in record:
        record = {"claim_id": claim_id, **record}
    return record, decision.outputs


def _money_outputs(policy) -> list[str]:
    return [name for name, type_ in zip(policy.output_names, policy.output_types) if type_ == t.MONEY]


# ---- CSV cells (and Parquet values) -> claim facts -------------------------------------------

_WHOLE = re.compile(r"-?[0-9]+\Z")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


class _CellReader:
    """Builds a claim dict from a row of cells, converting each by the policy's input schema
    (the facts reader then checks the claim as it checks JSON)."""

    def __init__(self, policy, columns):
        env = policy.env
        self.columns = [(name, tuple(name.split(".")), self._type_of(env, name)) for name in columns]

    @staticmethod
    def _type_of(env, name: str):
        record: str | None = None
        type_ = None
        for part in name.split("."):
            if record is False or (record, part) not in env.field_types:
                return None  # not in the schema: passed on as written, and reported as unknown
            type_ = env.field_types[(record, part)]
            record = type_.name if isinstance(type_, t.RecordType) else False
        return type_

    def claim(self, values, checked: bool = False) -> tuple[object, object]:
        """(claim_id, claim dict or FactsError) for one row."""
        if not checked:
            if len(values) > len(self.columns):
                return None, ValueError(f"the row has {len(values)} cells but the header names {len(self.columns)} columns")
            try:
                "".join(values).encode("utf-8")
            except UnicodeEncodeError:
                return None, ValueError("the row is not UTF-8 text")
        claim: dict = {}
        problems = []
        for (name, parts, type_), value in zip(self.columns, values):
            if value is None or value == "":
                continue
            try:
                value = _convert(value, type_)
                target = claim
                for part in parts[:-1]:
                    target = target.setdefault(part, {})
                    if not isinstance(target, dict):
                        raise ValueError("conflicts with another column for the same field")
                if parts[-1] in target:
                    raise ValueError("the field is given twice")
                target[parts[-1]] = value
            except ValueError as error:
                problems.append(FactError(name, str(error), "F302"))
        claim_id = claim_id_of(claim)
        return claim_id, (FactsError(problems) if problems else claim)


def _convert(value, type_):
    """A cell as the JSON value the schema expects. A cell that does not convert is passed
    on as written, for the facts reader to report with its path, with the row's other
    problems; only malformed JSON in a record or list column is reported here."""
    if not isinstance(value, str):
        return _without_nulls(value)
    if type_ in (t.INT, t.MONTHS) or (isinstance(type_, t.EnumType) and value not in type_.members):
        numbered = type_ in (t.INT, t.MONTHS) or any(type(m) is int for m in type_.members)  # hospital level 1, 2, 3
        return int(value) if numbered and _WHOLE.match(value) and len(value) < 20 else value
    if type_ == t.BOOL:
        return {"true": True, "false": False}.get(value.lower(), value)
    if type_ in (t.NUMBER, t.RATIO):
        return Decimal(value) if _DECIMAL.match(value) and len(value) < 100 else value
    if isinstance(type_, (t.ListType, t.RecordType)):
        parsed = parse_json_line(value)
        if isinstance(parsed, Exception):
            raise ValueError(f"expected JSON ({'a list' if isinstance(type_, t.ListType) else 'an object'}): {parsed}")
        return parsed
    return value  # money, date, text, a ratio written "75%", a column not in the schema


def _without_nulls(value):
    """Parquet structs have every field; a null one is an absent field, as in JSON."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


# ---- output formats ---------------------------------------------------------------------------


def _formatter(kind: str, policy, errors: bool, inline_errors: bool = True):
    return _JsonlFormat() if kind == "jsonl" else _TableFormat(_columns(policy, errors, inline_errors), kind)


def _columns(policy, errors: bool, inline_errors: bool) -> list[tuple[str, object]]:
    """(column, type) pairs; type is None for text columns."""
    if errors:
        return [("claim_id", None), ("line", t.INT), ("error", None), ("details", None)]
    outputs = [(name, type_) for name, type_ in zip(policy.output_names, policy.output_types) if name != "claim_id"]
    return [("claim_id", None), *outputs, *([("error", None), ("line", t.INT)] if inline_errors else [])]


class _JsonlFormat:
    """Lines as `policydsl eval` writes them (`policy.json_line`)."""

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


class _TableFormat:
    """CSV rows (text cells) or Parquet rows (typed values); a chunk is CSV text or an
    Arrow table. Other outputs are written as in JSON (ratios, enums, text)."""

    def __init__(self, columns, kind: str):
        self.columns = columns
        self.parquet = kind == "parquet"
        self.schema = _arrow_schema(columns) if self.parquet else None

    def _value(self, name: str, type_, record: dict, outputs):
        if name in _RECORD_COLUMNS:
            value = record.get(name)
            return value if name == "line" or value is None else _writable(str(value))
        if outputs is None:
            return None
        if self.parquet and type_ in _TYPED:
            return outputs[name]
        value = record.get(name)
        return _writable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))

    def decision(self, record: dict, outputs) -> tuple:
        return tuple(self._value(name, type_, record, outputs) for name, type_ in self.columns)

    def error(self, record: dict) -> tuple:
        rest = {key: value for key, value in record.items() if key not in _RECORD_COLUMNS}
        full = {**record, "details": json.dumps(rest, ensure_ascii=False) if rest else None}
        return tuple(self._value(name, type_, full, None) for name, type_ in self.columns)

    def chunk(self, rows: list[tuple]):
        if not self.parquet:
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(["" if v is None else v for v in row] for row in rows)
            return text.getvalue()
        import pyarrow as pa

        columns = list(zip(*rows)) if rows else [()] * len(self.schema)
        arrays = [pa.array(column, type=field.type) for column, field in zip(columns, self.schema)]
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _arrow_schema(columns):
    try:
        import pyarrow as pa
    except ImportError:
        raise UsageError("Parquet needs pyarrow: pip install 'policydsl[parquet]'") from None
    types = {t.MONEY: pa.decimal128(38, 2), t.BOOL: pa.bool_(), t.DATE: pa.date32(), t.INT: pa.int64(), t.MONTHS: pa.int64()}
    return pa.schema([(name, types.get(type_, pa.string())) for name, type_ in columns])


class _Sink:
    """An output file, written chunk by chunk as results arrive (Parquet: in row groups)."""

    def __init__(self, spec: str, kind: str, policy, errors: bool, inline_errors: bool = True):
        self.kind = kind
        self.spec = spec
        columns = _columns(policy, errors, inline_errors)
        self.stream = None
        if kind == "parquet":
            self._open_parquet(columns)
            return
        self.stream = sys.stdout if spec == "-" else _open_text(spec)
        if kind == "csv":
            self.stream.write(_TableFormat(columns, "csv").chunk([[name for name, _ in columns]]))

    def _open_parquet(self, columns) -> None:
        self.schema = _arrow_schema(columns)
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.tables: list = []
        self.buffered = 0
        try:
            self.writer = pq.ParquetWriter(self.spec, self.schema)
        except (OSError, pa.ArrowException) as error:
            raise UsageError(f"{self.spec}: cannot write: {error}") from None

    def write(self, chunk) -> None:
        if self.kind != "parquet":
            self.stream.write(chunk)
            return
        if chunk.num_rows:
            self.tables.append(chunk)
            self.buffered += chunk.num_rows
            if self.buffered >= PARQUET_ROWS_PER_GROUP:
                self._flush()

    def _flush(self) -> None:
        if self.tables:
            self.writer.write_table(self.pa.concat_tables(self.tables))
            self.tables, self.buffered = [], 0

    def close(self) -> None:
        if self.kind == "parquet":
            self._flush()
            self.writer.close()
        elif self.stream is sys.stdout:
            self.stream.flush()
        elif self.stream is not None:
            self.stream.close()


def _open_text(spec: str):
    try:
        return open(spec, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by _Sink.close
    except OSError as error:
        raise UsageError(f"{spec}: cannot write: {error.strerror or error}") from None


# ---- progress and summary ----------------------------------------------------------------------


class _Progress:
    """A tqdm bar on stderr (claims, claims/s, ETA), only when stderr is a terminal. It runs
    on bytes read (or Parquet rows), which are known in advance, so the ETA is sound."""

    def __init__(self, total, unit: str):
        self.bar = None
        self.started = time.perf_counter()
        if not _is_terminal(sys.stderr):
            return
        from tqdm import tqdm

        class Bar(tqdm):
            monitor_interval = 0  # no monitor thread: worker processes may be forked later
            claims = "0 claims"

            @property
            def format_dict(self):
                return {**super().format_dict, "claims": self.claims}

        shape = "{desc}: {percentage:3.0f}%|{bar}| {claims} [{elapsed}<{remaining}]" if total else "{desc}: {claims} [{elapsed}]"
        self.bar = Bar(total=total, unit=unit, desc="policydsl batch", file=sys.stderr, bar_format=shape,
                       dynamic_ncols=True, leave=False, mininterval=0.2)

    def advance(self, units: int, claims: int) -> None:
        if self.bar is not None:
            rate = claims / max(time.perf_counter() - self.started, 1e-9)
            self.bar.claims = f"{claims:,} claims, {rate:,.0f} claims/s"
            self.bar.update(units)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _summary(policy, totals: Totals, seconds: float, jobs: int) -> None:
    rate = totals.claims / seconds if seconds > 0 else 0.0
    decided = totals.claims - totals.errors
    lines = [
        f"policydsl batch: {totals.claims:,} claims in {seconds:.1f} s ({rate:,.0f} claims/s, {jobs} job{'s' if jobs != 1 else ''}): "
        f"{decided:,} decided, {totals.errors:,} could not be decided"
    ]
    names = _money_outputs(policy)
    if names:
        width = max(len(name) for name in names)
        lines.append("totals of decided claims:")
        lines += [f"  {name.ljust(width)}  {format(total, ',.2f')}" for name, total in zip(names, totals.money)]
    print("\n".join(lines), file=sys.stderr)
