"""A batch run: a policy, an input and outputs in; every record written, and a `Summary` out.

`run_batch(options, progress)` loads the policy, reads the input in chunks, has them
evaluated (on worker processes when there are several jobs and chunks) and writes each
result in input order. It prints nothing: `progress(total units, unit)` makes the progress
display (cli/batch.py's bar; none by default), and the summary is the caller's to show.
Problems the user can fix are `UsageError`s (formats, an output that is the input, `carry`
with a policy that has no accumulators), a failed write an `OutputError`, a policy that
does not load a `PolicyError`. With `carry`, each person's accumulators are carried from
claim to claim (carrying.py).
"""

from __future__ import annotations

import collections
import csv
import datetime
import itertools
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import attrs

from policydsl.api import load
from policydsl.runtime import numbers
from policydsl.tools import claims_io
from policydsl.tools.batch import carrying, pool, tables
from policydsl.tools.batch.sink import Sink
from policydsl.tools.batch.worker import ChunkWorker, Spec, money_outputs
from policydsl.tools.carry import Carrier
from policydsl.tools.claims_io import UsageError, same_file

DEFAULT_CHUNK = 2_000
COLUMNAR_CHUNK = 50_000  # the columnar engine's chunk unless one is asked for: NumPy's cost per call is paid per chunk


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


@attrs.frozen
class BatchOptions:
    """What to run: file names (`-` for standard input or output) and how."""

    policy: str
    input: str
    output: str
    errors: str | None = None  # error records go here instead of `output`
    jobs: int | None = None  # worker processes (None: default_jobs())
    chunk_size: int = DEFAULT_CHUNK
    as_of: datetime.date | None = None
    carry: bool = False  # carry each person's accumulators from claim to claim (carrying.py)
    run_size: int = carrying.DEFAULT_RUN_SIZE  # with carry: records sorted in memory at a time
    temporary: str | None = None  # with carry: where the sorts spill (None: the system's temporary folder)
    engine: str = "auto"  # "row", "columnar" (Parquet in and out), or "auto": columnar where it can be
    root: str | None = None  # the policies folder `extends` resolves in (None: the policy's enclosing `policies`)


@attrs.frozen
class Summary:
    """What a run did: claims read, how many could not be decided, the total of each money
    output over the decided claims, how each lost worker process ended; with carry, the
    person field and how many persons the claims were carried for."""

    claims: int
    errors: int
    money: tuple[tuple[str, Decimal], ...]
    lost: tuple[str, ...]
    seconds: float
    jobs: int
    carried_per: str | None = None
    persons: int = 0
    engine: str = "row"
    engine_note: str = ""  # why this engine

    @property
    def decided(self) -> int:
        return self.claims - self.errors


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


class NoProgress:
    """The progress display of a run nobody watches."""

    def __init__(self, total, unit: str):
        pass

    def advance(self, units: int, claims: int) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def run_batch(options: BatchOptions, progress=NoProgress) -> Summary:
    """Evaluate every claim of the input and write one record for each, in input order.

    `progress(total, unit)` is a context manager with `advance(units, claims)`: `total` is
    the input's size in `unit`s ("bytes", or "claims" for Parquet; None when unknown). It
    must start no thread: worker processes are forked while it is open.
    """
    if options.chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if options.run_size < 1:
        raise ValueError("run_size must be at least 1")
    jobs = default_jobs() if options.jobs is None else options.jobs
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    formats = (claims_io.file_format(options.input, "input"), claims_io.file_format(options.output, "output"))
    errors_format = claims_io.file_format(options.errors, "errors") if options.errors else None
    _refuse_overwrite(options.input, options.output, options.errors)
    started = time.perf_counter()
    policy = load(options.policy, root=options.root)
    carried_per = ", ".join(Carrier(policy).per_fields) if options.carry else None  # no accumulators: UsageError
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    engine, engine_note = choose_engine(options, formats, policy)
    chunk_size = options.chunk_size
    if engine == "columnar" and chunk_size == DEFAULT_CHUNK:
        chunk_size = COLUMNAR_CHUNK
    header, tasks, total_units, unit = _open_input(options.input, formats[0], chunk_size)
    if not options.carry:
        first = list(itertools.islice(tasks, 2))
        if len(first) < 2:
            jobs = 1  # one chunk of work: starting processes would only cost time
        tasks = itertools.chain(first, tasks)
    spec = Spec(str(options.policy), formats[0], formats[1], errors_format, header, options.as_of, engine, options.root)
    money = money_outputs(policy)
    totals = Totals(money=[Decimal(0)] * len(money))
    _refuse_overwrite(options.input, options.output, options.errors)  # again: just before the outputs are opened
    main = Sink(options.output, formats[1], policy, errors=False, inline_errors=options.errors is None)
    errors_sink = None
    persons = 0
    try:
        errors_sink = Sink(options.errors, errors_format, policy, errors=True) if options.errors else None
        if options.carry and engine == "columnar":
            jobs, persons = 1, _carry_by_columns(policy, spec, options.input, main, errors_sink, totals)
        elif options.carry:
            jobs, persons = carrying.run_carry(
                policy, spec, tasks, jobs, main, errors_sink, totals, progress, total_units, unit,
                options.chunk_size, options.run_size, options.temporary,
            )
        else:
            _process(policy, spec, tasks, jobs, main, errors_sink, totals, progress(total_units, unit))
        main.close()
        if errors_sink is not None:
            errors_sink.close()
    except BaseException:
        main.abandon()
        if errors_sink is not None:
            errors_sink.abandon()
        raise
    seconds = time.perf_counter() - started
    return Summary(totals.claims, totals.errors, tuple(zip(money, totals.money)), tuple(totals.lost), seconds, jobs, carried_per, persons, engine, engine_note)


ENGINES = ("auto", "row", "columnar")


def choose_engine(options: BatchOptions, formats: tuple[str, str], policy) -> tuple[str, str]:
    """("row" or "columnar", why) for a run; `--engine columnar` where it cannot be is a
    `UsageError` saying why."""
    if options.engine not in ENGINES:
        raise UsageError(f"unknown engine {options.engine!r}: use one of {', '.join(ENGINES)}")
    if options.engine == "row":
        return "row", "asked for"
    if formats != ("parquet", "parquet"):
        why = "the columnar engine reads and writes Parquet"
    else:
        engine, why = tables.choose_engine(policy)  # "row" when numpy is not installed
        if engine == "columnar" and options.carry:
            from policydsl.tools.batch import column_carry

            if _parquet_rows(options.input) > column_carry.MAX_ROWS:
                engine, why = "row", f"with --carry the columnar engine holds the input in memory: up to {column_carry.MAX_ROWS:,} claims"
            elif Carrier(policy).shared:
                engine, why = "row", "with --carry the columnar engine carries accumulators per one key field; these are keyed by several (a shared account)"
        if engine == "columnar":
            return engine, why
    if options.engine == "columnar":
        raise UsageError(f"--engine columnar: {why}")
    return "row", why


def _parquet_rows(spec: str) -> int:
    try:
        import pyarrow.parquet as pq

        return pq.ParquetFile(spec).metadata.num_rows
    except Exception:  # noqa: BLE001 - unreadable: the run reports it
        return 0


def _carry_by_columns(policy, spec: Spec, source: str, main: Sink, errors_sink: Sink | None, totals: Totals) -> int:
    """`--carry` by whole columns (column_carry.py), the input held in memory; the number of persons."""
    import pyarrow as pa

    from policydsl.tools.batch import column_carry

    _, batches = claims_io.parquet_batches(source, 1 << 20)
    batches = list(batches)
    if not batches:
        return 0
    table = pa.Table.from_batches(batches)
    worker = ChunkWorker(policy, spec)
    main_table, errors_chunk, claims, errors, money, persons = column_carry.ColumnCarry(policy, worker).run(table)
    main.write(main_table, claims if errors_sink is None else claims - errors)
    if errors_sink is not None:
        errors_sink.write(errors_chunk, errors)
    totals.add(claims, errors, money)
    return persons


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


def _process(policy, spec: Spec, tasks, jobs: int, main: Sink, errors_sink: Sink | None, totals: Totals, display) -> None:
    """Run every task, writing each result as it comes (in input order); `display` is the
    progress context manager, entered here."""

    def write(result, units) -> None:
        main_chunk, errors_chunk, claims, errors, money = result
        main.write(main_chunk, claims if errors_sink is None else claims - errors)
        if errors_sink is not None:
            errors_sink.write(errors_chunk, errors)
        totals.add(claims, errors, money)
        shown.advance(units, totals.claims)

    if jobs == 1:
        worker = ChunkWorker(policy, spec)
        with display as shown:
            for kind, payload, units in tasks:
                write(worker.process(kind, payload), units)
        return
    if spec.engine == "columnar":
        # Whole-column chunks on threads of this process: NumPy and Arrow release the GIL
        # while they work, and Arrow tables need not be copied to another process and back
        # (measured: processes made a run slower than one thread). `jobs` chunks are in
        # flight while the results before them are written, in input order.
        worker = ChunkWorker(policy, spec)
        with display as shown, ThreadPoolExecutor(jobs, thread_name_prefix="policydsl-columns") as threads:
            pending: collections.deque = collections.deque()
            for kind, payload, units in tasks:
                pending.append((threads.submit(worker.process, kind, payload), units))
                while len(pending) > jobs:
                    future, done = pending.popleft()
                    write(future.result(), done)
            while pending:
                future, done = pending.popleft()
                write(future.result(), done)
        return
    pool.inherit(spec.policy, policy)  # a forked worker reuses the loaded policy
    # The progress display starts no thread, and the pool none: workers forked at any
    # time (a lost one is replaced) copy a process with one thread.
    with display as shown, pool.Pool(jobs, spec) as workers:
        workers.run(tasks, write, ChunkWorker(policy, spec), totals.lost)
