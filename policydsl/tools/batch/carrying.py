"""`batch --carry`: a file of many people's claims in, each decided with its person's
accumulators carried from claim to claim (tools/carry.py says how), out in input order.

Bounded memory, by two external sorts (spill.py) in a private temporary folder:

1. Read: the input is read in chunks, each record parsed (worker.py's readers) and placed by
   `Carrier.place`: a claim that can be carried goes to the first sort under its key
   (person, as-of date, input position); one that cannot (unreadable, no person, no
   readable date) is decided alone now and its record goes to the second sort.
2. Carry: the claims come out of the first sort person by person, in date order, and are
   cut into chunks of about `chunk_size` claims that never split a person. Each chunk is
   decided (on worker processes with `--jobs`, pool.py), carrying the accumulators from
   claim to claim; each formatted record goes to the second sort under its input position.
3. Write: the records come out of the second sort in input order and are written in
   chunks of `chunk_size` records, whatever the jobs, so `--jobs N` writes the same bytes
   as `--jobs 1`.

Memory holds at most one run of each sort (`run_size` records), a block of each run being
merged, and the chunks in flight -- plus one person's claims when they are more than a
chunk. The temporary files hold about the input and the output once each.
"""

from __future__ import annotations

import itertools
import pickle
import tempfile
from decimal import Decimal

from policydsl.runtime import numbers
from policydsl.tools.batch import pool
from policydsl.tools.batch.spill import Spill
from policydsl.tools.batch.worker import ChunkWorker, Spec
from policydsl.tools.carry import Carrier, Components
from policydsl.tools.claims_io import UsageError

DEFAULT_RUN_SIZE = 50_000  # records sorted in memory at a time, per sort


def run_carry(policy, spec: Spec, tasks, jobs: int, main, errors_sink, totals, progress, total, unit: str,
              chunk_size: int, run_size: int = DEFAULT_RUN_SIZE, folder: str | None = None) -> tuple[int, int]:
    """Run every task (the input's chunks, as runner.py reads them) carried; write the
    records to `main` (and `errors_sink`). Gives (jobs used, persons)."""
    carrier = Carrier(policy)
    reader = ChunkWorker(policy, spec)
    zero = [Decimal(0)] * len(reader.money)
    try:
        place = tempfile.TemporaryDirectory(prefix="policydsl-carry-", dir=folder)
    except OSError as error:
        raise UsageError(f"cannot make a temporary folder in {folder or tempfile.gettempdir()} for --carry to sort the claims in: {error.strerror or error}") from None
    with place as temporary:
        claims = Spill(temporary, run_size, "claims")
        records = Spill(temporary, run_size, "records")
        with progress(total, unit) as reading:  # reading and sorting
            groups = _read(reader, carrier, tasks, claims, records, totals, zero, reading)
        if carrier.shared:  # keyed by more than one field: regroup by connected components of the keys
            claims = _components(groups, claims, Spill(temporary, run_size, "components"))
        chunks = _person_chunks(claims.sorted(), chunk_size)
        first = [next(chunks, None), next(chunks, None)]
        if first[1] is None:
            jobs = 1  # one chunk of work: starting processes would only cost time
        persons = _Count()
        tasks = (("carry", chunk, len(chunk)) for chunk in _chained(first, chunks, persons))

        def collect(result, units) -> None:
            rows, count, errors, money = result
            for position, blob in rows:
                records.add(position, blob)
            totals.add(count, errors, money)
            deciding.advance(units, records.count)

        with progress(claims.count, "claims") as deciding:
            if jobs == 1:
                for kind, payload, units in tasks:
                    collect(reader.process(kind, payload), units)
            else:
                pool.inherit(spec.policy, policy)  # a forked worker reuses the loaded policy
                with pool.Pool(jobs, spec) as workers:
                    workers.run(tasks, collect, ChunkWorker(policy, spec), totals.lost)
        _write(records.sorted(), reader, main, errors_sink, chunk_size)
    return jobs, persons.value


def _read(reader: ChunkWorker, carrier: Carrier, tasks, claims: Spill, records: Spill, totals, zero, shown) -> None:
    position = 0
    groups = Components()
    dumps, highest = pickle.dumps, pickle.HIGHEST_PROTOCOL
    for kind, payload, units in tasks:
        alone = errors = 0
        money = list(zero)
        for line, claim_id, claim in reader.claims(kind, payload):
            key, stand_in = carrier.place(claim)
            if key is None:
                failed, row, outputs = reader.alone(line, claim_id, stand_in)
                records.add(position, dumps((failed, row), highest))
                alone += 1
                if failed:
                    errors += 1
                else:
                    money = [numbers.ROUNDING.add(total, outputs[name]) for total, name in zip(money, reader.money)]
            elif carrier.shared:
                groups.join(carrier.keys(claim))
                claims.add((position, key[1]), dumps((carrier.keys(claim)[0], line, claim_id, claim), highest))
            else:
                claims.add((*key, position), dumps((line, claim_id, claim), highest))
            position += 1
        if alone:
            totals.add(alone, errors, money)
        shown.advance(units, position)
    return groups


def _components(groups: Components, claims: Spill, regrouped: Spill) -> Spill:
    """The claims again, under (component, date, position): every claim that draws on one
    balance (an account relatives share) is carried with the others, in date order. The
    union-find holds every key once (not the claims)."""
    dumps, loads, highest = pickle.dumps, pickle.loads, pickle.HIGHEST_PROTOCOL
    for (position, day), blob in claims.sorted():
        first_key, line, claim_id, claim = loads(blob)
        regrouped.add((groups.find(first_key), day, position), dumps((line, claim_id, claim), highest))
    return regrouped


class _Count:
    value = 0


def _person_chunks(pairs, size: int):
    """Chunks of about `size` (key, blob) pairs that never split a person's claims."""
    chunk: list = []
    last = None
    for pair in pairs:
        person = pair[0][0]
        if person != last and len(chunk) >= size:
            yield chunk
            chunk = []
        chunk.append(pair)
        last = person
    if chunk:
        yield chunk


def _chained(first: list, rest, persons: _Count):
    """The chunks (the first two already taken), counting the persons in them."""
    for chunk in itertools.chain((c for c in first if c is not None), rest):
        last = None
        for (person, _, _), _ in chunk:
            if person != last:
                persons.value += 1
                last = person
        yield chunk


def _write(pairs, reader: ChunkWorker, main, errors_sink, chunk_size: int) -> None:
    """The records in input order, in chunks of `chunk_size` records."""
    decided: list = []
    failed: list = []
    count = 0
    loads = pickle.loads
    for _, blob in pairs:
        error, row = loads(blob)
        (failed if error and errors_sink is not None else decided).append(row)
        count += 1
        if count == chunk_size:
            _flush(reader, main, errors_sink, decided, failed)
            decided, failed, count = [], [], 0
    _flush(reader, main, errors_sink, decided, failed)


def _flush(reader: ChunkWorker, main, errors_sink, decided: list, failed: list) -> None:
    main.write(reader.main.chunk(decided), len(decided))
    if errors_sink is not None:
        errors_sink.write(reader.errors.chunk(failed), len(failed))
