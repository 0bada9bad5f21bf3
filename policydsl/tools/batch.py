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
import decimal
import errno
import io
import itertools
import json
import os
import re
import selectors
import signal
import stat
import struct
import sys
import time
from decimal import Decimal
from pathlib import Path

import attrs

from policydsl.tools import claims_io
from policydsl.runtime import numbers
from policydsl.check import types as t
from policydsl.tools.claims_io import OutputError, Unreadable, UsageError, claim_id_of, parse_json_line, same_file
from policydsl.diagnostics.model import FactError, FactsError, PolicydslError, PolicyError
from policydsl.backends.facts import show
from policydsl.api import error_record, json_line, load

DEFAULT_CHUNK = 2_000
PARQUET_ROWS_PER_GROUP = 50_000
EXIT_OK, EXIT_FINDINGS = 0, 1
MAX_ATTEMPTS = 2  # a chunk whose worker process was lost is run once more, in a new worker


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
    lost: list = attrs.Factory(list)  # how each lost worker process ended ("killed by signal SIGKILL")

    def add(self, claims: int, errors: int, money: list) -> None:
        self.claims += claims
        self.errors += errors
        add = numbers.ROUNDING.add  # exact for totals of bounded amounts, whatever the caller's context
        self.money = [add(a, b) for a, b in zip(self.money, money)] if self.money else list(money)


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
    _refuse_overwrite(args.input, args.output, args.errors)  # again: just before the outputs are opened
    main = _Sink(args.output, formats[1], policy, errors=False, inline_errors=args.errors is None)
    errors_sink = None
    try:
        errors_sink = _Sink(args.errors, errors_format, policy, errors=True) if args.errors else None
        _process(policy, spec, tasks, jobs, main, errors_sink, totals, total_units, unit)
        main.close()
        if errors_sink is not None:
            errors_sink.close()
    except BaseException:
        main.abandon()
        if errors_sink is not None:
            errors_sink.abandon()
        raise
    _summary(policy, totals, time.perf_counter() - started, jobs)
    return EXIT_FINDINGS if totals.errors or totals.lost else EXIT_OK


def _refuse_overwrite(source: str, *targets: str | None) -> None:
    """An output that is the input (or another output) by any name -- the same path, a
    symlink, a hard link, or standard output sent to it -- is refused before it is opened."""
    seen = [(source, Path(source).resolve())] if source != "-" else []
    stdin, stdout = _fd_file(0), _fd_file(1)
    for target in targets:
        if target is None:
            continue
        if target == "-":
            if source != "-" and stdout is not None and same_file(source, 1):
                raise UsageError(f"standard output is the input file {source}: writing there would overwrite the claims as they are read")
            if source == "-" and stdin is not None and stdout is not None and same_file(0, 1):
                raise UsageError("standard output is the file on standard input: writing there would overwrite the claims as they are read")
            continue
        resolved = Path(target).resolve()
        for name, path in seen:
            if resolved == path or same_file(target, name):
                what = "the input" if name == source else "another output of this run"
                raise UsageError(f"{target}: would overwrite {what} ({name}): it is the same file (a hard link, a symlink or the same path)")
        if source == "-" and stdin is not None and same_file(target, 0):
            raise UsageError(f"{target}: would overwrite the claims on standard input: it is the same file")
        seen.append((target, resolved))


def _fd_file(fd: int):
    """The stat of a file descriptor when it is a regular file (None for a pipe, a terminal)."""
    try:
        info = os.fstat(fd)
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


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
        main.write(main_chunk, claims if errors_sink is None else claims - errors)
        if errors_sink is not None:
            errors_sink.write(errors_chunk, errors)
        totals.add(claims, errors, money)
        progress.advance(units, totals.claims)

    if jobs == 1:
        worker = _Worker(policy, spec)
        with _Progress(total_units, unit) as progress:
            for kind, payload, units in tasks:
                write(worker.process(kind, payload), units)
        return
    global _INHERITED
    _INHERITED = (spec.policy, policy)  # a forked worker reuses the loaded policy
    # The bar has no thread (see _Progress), and the pool none: workers forked at any
    # time (a lost one is replaced) copy a process with one thread.
    with _Progress(total_units, unit) as progress, _Pool(jobs, spec) as pool:
        pool.run(tasks, write, _Worker(policy, spec), totals)


_INHERITED: tuple[str, object] | None = None
_WORKER: "_Worker | None" = None


def _init_worker(spec: Spec) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    inherited = _INHERITED
    policy = inherited[1] if inherited is not None and inherited[0] == spec.policy else load(spec.policy)
    _WORKER = _Worker(policy, spec)


def _worker_main(spec: Spec, tasks, results) -> None:
    """A worker process: chunks in on `tasks`, results out on `results`, in order."""
    try:
        _init_worker(spec)
    except BaseException as error:  # noqa: BLE001 - said to the parent, which gives up this worker's chunks
        results.send((None, "lost", f"it could not start: {type(error).__name__}: {error}"))
        return
    while True:
        try:
            message = tasks.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None:
            return  # no more work
        sequence, kind, payload = message
        try:
            reply = (sequence, "ok", _WORKER.process(kind, payload))
        except Exception as error:  # noqa: BLE001 - a bug must not lose the chunk's records
            reply = (sequence, "failed", f"internal error: {type(error).__name__}: {error} (please report it)")
        try:
            results.send(reply)
        except (OSError, ValueError):
            return


class _Slot:
    """One worker process, its pipes and the chunks it holds (the first is being evaluated)."""

    def __init__(self, context, spec: Spec):
        tasks_in, self.tasks = context.Pipe(duplex=False)
        self.results, results_out = context.Pipe(duplex=False)
        self.process = context.Process(target=_worker_main, args=(spec, tasks_in, results_out), daemon=True)
        self.process.start()
        tasks_in.close()  # the parent's copies: the pipes break when the worker dies
        results_out.close()
        os.set_blocking(self.tasks.fileno(), False)
        for pipe in (self.tasks, self.results):  # a chunk fits in the pipe: the worker reads it alone
            _widen(pipe.fileno())
        self.held: collections.deque = collections.deque()  # sequence numbers sent, not yet answered
        self.outbox = bytearray()  # framed messages not yet written to the worker
        self.dead = False
        self.why: str | None = None  # what the worker said before it ended, if anything

    def send(self, message) -> None:
        from multiprocessing.reduction import ForkingPickler

        data = bytes(ForkingPickler.dumps(message))
        # multiprocessing.Connection's framing, so that the worker's recv() reads it
        header = struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else struct.pack("!i", -1) + struct.pack("!Q", len(data))
        self.outbox += header + data
        self.flush()

    def flush(self) -> None:
        """Write what the pipe takes now; never blocks (a busy worker reads later)."""
        while self.outbox and not self.dead:
            try:
                written = os.write(self.tasks.fileno(), self.outbox)
            except BlockingIOError:
                return
            except OSError:  # EPIPE: the worker is gone; its sentinel says so
                self.outbox.clear()
                return
            del self.outbox[:written]

    def how_it_ended(self) -> str:
        self.process.join(timeout=5)
        if self.why is not None:
            return self.why
        code = self.process.exitcode
        if code is None:
            return "it stopped answering"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"it exited with status {code}"

    def stop(self, now: bool) -> None:
        if not now and not self.dead:
            self.send(None)  # no more work (the pipe's end is no sign: later workers hold copies)
            deadline = time.monotonic() + 5
            while self.outbox and time.monotonic() < deadline and self.process.is_alive():
                time.sleep(0.001)
                self.flush()
            self.process.join(timeout=max(0.0, deadline - time.monotonic()))
        try:
            self.tasks.close()
        except OSError:
            pass
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.results.close()


def _widen(fd: int, size: int = 1024 * 1024) -> None:
    """Make a pipe hold a whole chunk (Linux; 1 MiB is what an unprivileged process may ask)."""
    import fcntl

    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
        except OSError:
            pass


class _Pool:
    """Worker processes that evaluate chunks, watched one by one.

    Each worker has its own pipes and holds at most two chunks (the one it evaluates and
    the next), so the parent knows which chunk a lost worker (killed, out of memory) was
    evaluating: that chunk is run again in a new worker, at most MAX_ATTEMPTS times in
    all, and then its records are written as error records. The others it held are run
    again as they are. At most 2 x jobs chunks are read ahead of the output, so memory
    stays flat, and results are written in input order.
    """

    def __init__(self, jobs: int, spec: Spec):
        import multiprocessing

        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self.spec = spec
        self.jobs = jobs
        self.slots: list[_Slot] = []

    def __enter__(self):
        self.slots = [_Slot(self.context, self.spec) for _ in range(self.jobs)]
        return self

    def __exit__(self, kind, error, traceback) -> None:
        for slot in self.slots:
            slot.stop(now=kind is not None)

    def run(self, tasks, write, fallback: "_Worker", totals: Totals) -> None:
        tasks = iter(tasks)
        chunks: dict[int, tuple] = {}  # sequence -> (kind, payload, units), until written
        results: dict[int, tuple] = {}  # answered, waiting for their turn
        again: list[int] = []  # to run again, oldest first
        attempts: collections.Counter = collections.Counter()
        read = written = 0
        more = True
        while True:
            while written in results:
                write(results.pop(written), chunks.pop(written)[2])
                written += 1
            for slot in sorted(self.slots, key=lambda s: len(s.held)):
                while len(slot.held) < 2:
                    if again:
                        sequence = again.pop(0)
                    elif more and read - written < 2 * self.jobs:
                        task = next(tasks, None)
                        if task is None:
                            more = False
                            break
                        sequence, read = read, read + 1
                        chunks[sequence] = task
                    else:
                        break
                    slot.held.append(sequence)
                    slot.send((sequence, *chunks[sequence][:2]))
            if not more and written == read:
                return
            with self._watch() as selector:
                events = selector.select()
            for key, _ in events:
                slot, what = key.data
                if slot.dead:
                    continue
                if what == "write":
                    slot.flush()
                elif what == "read":
                    self._receive(slot, results, fallback, chunks)
                else:
                    self._lost(slot, results, fallback, chunks, again, attempts, totals)

    def _watch(self):
        """A selector for what the workers may do next: answer, end, take more of a chunk."""
        selector = selectors.DefaultSelector()
        for slot in self.slots:
            selector.register(slot.results, selectors.EVENT_READ, (slot, "read"))
            selector.register(slot.process.sentinel, selectors.EVENT_READ, (slot, "ended"))
            if slot.outbox:
                selector.register(slot.tasks, selectors.EVENT_WRITE, (slot, "write"))
        return selector

    def _receive(self, slot: _Slot, results, fallback, chunks) -> bool:
        """Read one answer; False when the worker is gone (its pipe broke)."""
        try:
            sequence, status, value = slot.results.recv()
        except (EOFError, OSError):
            return False
        if sequence is None:  # it could not start: it ends now
            slot.why = value
            return False
        slot.held.remove(sequence)
        if status == "ok":
            results[sequence] = value
        else:
            results[sequence] = fallback.lost(*chunks[sequence][:2], value)
        return True

    def _lost(self, slot: _Slot, results, fallback, chunks, again, attempts, totals: Totals) -> None:
        """The worker ended: keep its last answers, run its chunks again, replace it."""
        while not slot.dead:
            try:
                if not slot.results.poll(0) or not self._receive(slot, results, fallback, chunks):
                    break
            except (EOFError, OSError):
                break
        slot.dead = True
        how = slot.how_it_ended()
        totals.lost.append(how)
        held = list(slot.held)
        if held:
            current = held[0]  # the chunk it was evaluating; the others waited their turn
            attempts[current] += 1
            if attempts[current] >= MAX_ATTEMPTS:
                message = f"not evaluated: the worker process evaluating it was lost {MAX_ATTEMPTS} times ({how})"
                results[current] = fallback.lost(*chunks[current][:2], message)
                held = held[1:]
        again.extend(held)
        again.sort()
        slot.stop(now=True)
        self.slots[self.slots.index(slot)] = _Slot(self.context, self.spec)


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
            for offset, row in enumerate(zip(*claims_io.parquet_columns(batch)) if names else [()] * batch.num_rows):
                yield (first + offset, *reader.claim(row, checked=True))

    def lost(self, kind: str, payload, message: str):
        """Error records for a chunk that could not be evaluated, one per record, in
        order, as `process` would return them."""
        failed = []
        claims = 0
        for line, claim_id in self._records(kind, payload):
            claims += 1
            failed.append(self.errors.error(error_record(RuntimeError(message), claim_id, None if claim_id is not None else line)))
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
                claim_id = ids[offset] if ids is not None else None
                yield first + offset, claim_id if isinstance(claim_id, (str, int)) and not isinstance(claim_id, bool) else None

    def process(self, kind: str, payload):
        """(main output chunk, errors chunk or None, claims, errors, money totals)."""
        main: list = []
        failed: list = [] if self.errors is not self.main else main
        claims = errors = 0
        money = [Decimal(0)] * len(self.money)
        policy = self.policy
        with decimal.localcontext(numbers.ROUNDING):  # the totals add exactly, whatever the caller's context
            for line, claim_id, claim in self.claims(kind, payload):
                claims += 1
                record, outputs = decide(policy, line, claim_id, claim, self.spec.as_of)
                if outputs is None:
                    errors += 1
                    failed.append(self.errors.error(record))
                    continue
                try:
                    row = self.main.decision(record, outputs)
                except _Unwritable as error:  # a value the output's column cannot hold (Parquet)
                    errors += 1
                    failed.append(self.errors.error(error_record(error, claim_id, None if claim_id is not None else line)))
                    continue
                for index, name in enumerate(self.money):
                    money[index] += outputs[name]
                main.append(row)
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
            if isinstance(value, Unreadable):
                problems.append(FactError(name, value.message, "F302"))
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


class _Unwritable(ValueError):
    """An output value that the output's column type cannot hold."""


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
            if name == "line" or value is None:
                return value
            return _writable(str(value)) if self.parquet else _spreadsheet_safe(_writable(str(value)))
        if outputs is None:
            return None
        if self.parquet and type_ in _TYPED:
            value = outputs[name]
            if type_ == t.MONEY and not -_PARQUET_MONEY_LIMIT < value < _PARQUET_MONEY_LIMIT:
                raise _Unwritable(f"output {name} = {value} does not fit the Parquet column decimal(38, 2)")
            if type_ in (t.INT, t.MONTHS) and not -_PARQUET_INT_LIMIT <= value < _PARQUET_INT_LIMIT:
                raise _Unwritable(f"output {name} = {value} does not fit the Parquet column int64")
            return value
        value = record.get(name)
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


def _arrow_schema(columns):
    try:
        import pyarrow as pa
    except ImportError:
        raise UsageError("Parquet needs pyarrow: pip install 'policydsl[parquet]'") from None
    types = {t.MONEY: pa.decimal128(38, 2), t.BOOL: pa.bool_(), t.DATE: pa.date32(), t.INT: pa.int64(), t.MONTHS: pa.int64()}
    return pa.schema([(name, types.get(type_, pa.string())) for name, type_ in columns])


class _Sink:
    """An output, written chunk by chunk as results arrive (Parquet: in row groups).

    JSON lines and CSV go straight to the file, one write per chunk, so the file always
    ends with a whole record: when a write fails (disk full), the file is cut back to the
    last whole chunk and the run stops with an `OutputError` saying how many records it
    holds. A Parquet file is only readable once complete, so one whose write fails is removed.
    """

    def __init__(self, spec: str, kind: str, policy, errors: bool, inline_errors: bool = True):
        self.kind = kind
        self.spec = spec
        self.name = "standard output" if spec == "-" else spec
        self.records = 0  # whole records written
        self.good = 0  # bytes written, up to the end of the last whole record
        self.file = None
        self.writer = None
        columns = _columns(policy, errors, inline_errors)
        if kind == "parquet":
            self._open_parquet(columns)
            return
        if spec == "-":
            if sys.stdout is None:
                raise OutputError("standard output is closed: there is nowhere to write the records (use -o FILE)")
        else:
            self.file = _open_output(spec)
        if kind == "csv":
            self._write_text(_TableFormat(columns, "csv").chunk([[name for name, _ in columns]]), 0)

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
            if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
                self._remove_parquet()
                raise OutputError(self._problem(error, cut=False)) from None
            raise UsageError(f"{self.spec}: cannot write: {getattr(error, 'strerror', None) or error}") from None

    def write(self, chunk, records: int) -> None:
        if self.kind != "parquet":
            self._write_text(chunk, records)
            return
        if chunk.num_rows:
            self.tables.append(chunk)
            self.buffered += chunk.num_rows
            if self.buffered >= PARQUET_ROWS_PER_GROUP:
                self._flush()

    def _write_text(self, text: str, records: int) -> None:
        if not text:
            return
        if self.file is None:  # standard output
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except BrokenPipeError:
                raise  # the reader went away: the command layer exits as for SIGPIPE
            except (OSError, ValueError, AttributeError) as error:
                raise OutputError(self._problem(error, cut=False)) from None
            self.records += records
            return
        data = memoryview(text.encode("utf-8", "backslashreplace"))
        size = len(data)
        try:
            while data:
                written = self.file.write(data)
                data = data[written:]
        except OSError as error:
            raise OutputError(self._problem(error, cut=self._cut_back())) from None
        self.good += size
        self.records += records

    def _regular(self) -> bool:
        try:
            return stat.S_ISREG(os.fstat(self.file.fileno()).st_mode)
        except OSError:
            return False

    def _cut_back(self) -> bool:
        """Cut the file back to its last whole record; False when it cannot be cut (a device)."""
        if not self._regular():
            return False
        try:
            os.ftruncate(self.file.fileno(), self.good)
            return True
        except OSError:
            return False

    def _problem(self, error: Exception, cut: bool) -> str:
        what = claims_io.write_problem(error, self.name)
        records = f"{self.records:,} record{'s' if self.records != 1 else ''}"
        if self.kind == "parquet":
            return f"{what}; the run stopped, and the incomplete Parquet file was removed"
        if self.file is None or not cut and self.good:
            return f"{what}; the run stopped after {records} (the last one may be cut short)"
        return f"{what}; the run stopped: it holds the first {records}, each whole"

    def _flush(self) -> None:
        if self.tables:
            try:
                self.writer.write_table(self.pa.concat_tables(self.tables))
            except (OSError, self.pa.ArrowException) as error:
                self._remove_parquet()
                raise OutputError(self._problem(error, cut=False)) from None
            self.tables, self.buffered = [], 0

    def _remove_parquet(self) -> None:
        try:
            if self.writer is not None:
                self.writer.close()
        except Exception:  # noqa: BLE001 - the file is removed anyway
            pass
        self.writer = None
        try:
            if stat.S_ISREG(os.lstat(self.spec).st_mode):
                os.unlink(self.spec)
        except OSError:
            pass

    def close(self) -> None:
        if self.kind == "parquet":
            self._flush()
            try:
                self.writer.close()
            except (OSError, self.pa.ArrowException) as error:
                self._remove_parquet()
                raise OutputError(self._problem(error, cut=False)) from None
            self.writer = None
        elif self.file is not None:
            file, self.file = self.file, None
            try:
                file.close()
            except OSError as error:
                raise OutputError(self._problem(error, cut=False)) from None

    def abandon(self) -> None:
        """Close after a failure: nothing more is written (what was written stays whole)."""
        if self.writer is not None:
            self._remove_parquet()
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
            self.file = None


def _open_output(spec: str):
    """The output file, unbuffered: each chunk is one write, so a failed write is one chunk."""
    try:
        return open(spec, "wb", buffering=0)  # noqa: SIM115 - closed by _Sink.close
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
    if totals.lost:
        kinds = ", ".join(f"{count} {how}" if count > 1 else how for how, count in collections.Counter(totals.lost).items())
        count = len(totals.lost)
        lines.append(
            f"{count} worker process{'es were' if count != 1 else ' was'} lost ({kinds}): each chunk it held was run again "
            f"in a new worker, and a chunk lost {MAX_ATTEMPTS} times was written as error records; the exit code is 1"
        )
    names = _money_outputs(policy)
    if names:
        width = max(len(name) for name in names)
        lines.append("totals of decided claims:")
        lines += [f"  {name.ljust(width)}  {format(total, ',.2f')}" for name, total in zip(names, totals.money)]
    print("\n".join(lines), file=sys.stderr)
