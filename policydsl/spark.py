"""Spark: a DataFrame of claims in, a DataFrame of output records out -- `policydsl batch`'s
Parquet rows (errors inline), one for each claim, decided on the executors.

    from policydsl import spark as policydsl_spark
    claims = session.read.parquet("claims-2025/")
    policydsl_spark.decide(claims, "policies/example/resident-2025.policy").write.parquet("decided/")

`decide(df, policy, as_of=None, carry=False, engine="auto")` takes a DataFrame whose columns
are the policy's input fields (structs for records, arrays of structs for item lists, money
and dates as strings or typed), as `batch` reads Parquet, and gives a DataFrame of
`tables.output_schema(policy)`: claim_id, the outputs, accumulators.NAME.before/after/period,
policy.id/version/effective.from/effective.until/digest, error, line (money decimal(38,2)).
A claim that cannot be decided gets its error row (decision columns null); `line`, set on
an error row without a claim_id, is the row's number in the DataFrame (1-based, in partition
order: a file's row number when one Parquet file is read), which costs one counting pass.

The policy (a file; `extends` resolve in its `policies` folder) is loaded on the driver, to
check it and make the schema, and its texts -- the file and every file it extends -- are
shipped with the task. Each executor Python process writes them to a private temporary
folder the first time, loads them, and keeps the policy (and its worker) in `_LOADED`,
keyed by a digest of the texts: once per process, not per batch.

With `carry=True` each person's accumulators are carried from claim to claim as `batch
--carry` does: the rows are repartitioned by the person field (the accumulators' `per`)
and sorted within partitions by person, date and input position (added before the shuffle),
so each person's claims meet in one partition; chunks of whole persons are then carried by
the batch code (ChunkWorker.carry / ColumnCarry, Carrier, Ledger).
"""

from __future__ import annotations

import datetime
import hashlib
import pickle
import tempfile
from pathlib import Path

from policydsl.tools.claims_io import UsageError

POSITION = "__policydsl_position__"  # the row's monotonically_increasing_id, dropped before deciding
_ROW_BITS = 33  # monotonically_increasing_id: the partition above bit 33, the row in it below
_CARRY_CHUNK = 20_000  # rows gathered (whole persons) before a chunk is carried
_LOADED: dict = {}  # (digest of the texts, policy file) -> Policy, in each executor process
_WORKERS: dict = {}  # (digest, policy file, as_of, engine) -> (ChunkWorker, carry helper or None)


def decide(df, policy, *, as_of: datetime.date | None = None, carry: bool = False, engine: str = "auto"):
    """The output records of the claims in `df` (a pyspark DataFrame), one row per claim, as a
    DataFrame; `policy` is the path of a policy file. `as_of` evaluates with the values in
    force on that day; `carry` carries each person's accumulators (see the module); `engine`
    is batch's: "row", "columnar" or "auto". Raises `UsageError` (pyspark missing, an engine
    that cannot run, carry without accumulators) and `PolicyError` (the policy does not load)."""
    try:
        from pyspark.sql import functions as F
    except ImportError:
        raise UsageError("policydsl.spark needs pyspark: pip install 'policydsl[spark]'") from None
    from policydsl.api import load
    from policydsl.tools.batch import tables
    from policydsl.tools.carry import Carrier

    loaded = load(policy)  # PolicyError: its message says what is wrong
    texts, main = _texts(loaded, Path(policy))
    engine = _engine(loaded, engine)
    person = date = None
    if carry:
        carrier = Carrier(loaded)  # UsageError when there is nothing to carry
        if carrier.shared:
            raise UsageError(
                "policydsl.spark carries accumulators per one key field; these are keyed by "
                + ", ".join(f"`{f}`" for f in carrier.per_fields) + " (a shared account): use `policydsl batch --carry`"
            )
        person, date = carrier.person_field, carrier.date_field
    counts = df.select(F.spark_partition_id().alias("p")).groupBy("p").count().collect()
    offsets, total = {}, 0
    for partition, count in sorted((row[0], row[1]) for row in counts):
        offsets[partition], total = total, total + count
    frame = df.withColumn(POSITION, F.monotonically_increasing_id())
    if person is not None and person in df.columns:
        order = [F.col(f"`{person}`"), *([F.col(f"`{date}`")] if date in df.columns else []), F.col(POSITION)]
        frame = frame.repartition(F.col(f"`{person}`")).sortWithinPartitions(*order)
    else:
        person = None  # no person column: every claim is decided alone (F301), as batch does
    digest = hashlib.sha256(pickle.dumps(sorted(texts.items()))).hexdigest()
    task = _Task(texts, main, digest, as_of, engine, carry, person, offsets, _CARRY_CHUNK)
    return frame.mapInArrow(task, _spark_schema(tables.output_schema(loaded)))


def _texts(policy, path: Path) -> tuple[dict[str, str], str]:
    """({path inside the policies folder: text} of the policy and every file it extends, the
    policy's own path there), as the driver read them."""
    from policydsl.link.inherit import find_root

    root = find_root(path)
    main = path.resolve().relative_to(root).as_posix()
    texts = {}
    for name, source in policy.env.linked.sources:
        texts[main if name is None else f"{name}.policy"] = source.text
    return texts, main


def _engine(policy, engine: str) -> str:
    """"row" or "columnar", chosen on the driver so that every executor runs the same."""
    from policydsl.tools.batch import tables

    if engine not in ("auto", "row", "columnar"):
        raise UsageError(f"unknown engine {engine!r}: use one of auto, row, columnar")
    if engine == "row":
        return engine
    chosen, why = tables.choose_engine(policy)
    if engine == "columnar" and chosen != "columnar":
        raise UsageError(f"engine columnar: {why}")
    return chosen


def _spark_schema(schema):
    from pyspark.sql import types as T
    import pyarrow as pa

    def spark_type(type_):
        if pa.types.is_decimal(type_):
            return T.DecimalType(type_.precision, type_.scale)
        return {pa.date32(): T.DateType(), pa.bool_(): T.BooleanType(), pa.int64(): T.LongType()}.get(type_, T.StringType())

    return T.StructType([T.StructField(field.name, spark_type(field.type), True) for field in schema])


def _worker(texts: dict, main: str, digest: str, as_of, engine: str, carry: bool):
    """(policy, ChunkWorker, carry helper) of this process, loaded the first time."""
    from policydsl.api import load
    from policydsl.tools.batch.tables import chunk_worker

    key = (digest, main)
    policy = _LOADED.get(key)
    if policy is None:
        with tempfile.TemporaryDirectory(prefix="policydsl-spark-") as folder:
            for name, text in texts.items():
                target = Path(folder, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8", newline="")
            policy = _LOADED[key] = load(Path(folder, main), root=folder)
    cached = _WORKERS.get((*key, as_of, engine))
    if cached is None:
        worker = chunk_worker(policy, as_of, engine)
        cached = _WORKERS[(*key, as_of, engine)] = [worker, None]
    if carry and cached[1] is None:
        if engine == "columnar":
            from policydsl.tools.batch.column_carry import ColumnCarry

            cached[1] = ColumnCarry(policy, cached[0])
        else:
            from policydsl.tools.carry import Carrier

            cached[1] = Carrier(policy)
    return policy, cached[0], cached[1]


class _Task:
    """What each executor runs on its partitions (pickled with the texts)."""

    def __init__(self, texts, main, digest, as_of, engine, carry, person, offsets, chunk):
        self.texts, self.main, self.digest, self.chunk = texts, main, digest, chunk
        self.as_of, self.engine, self.carry, self.person, self.offsets = as_of, engine, carry, person, offsets

    def __call__(self, batches):
        import numpy as np
        import pyarrow as pa

        self.policy, self.worker, self.helper = _worker(self.texts, self.main, self.digest, self.as_of, self.engine, self.carry)
        self.starts = np.zeros(max(self.offsets, default=-1) + 1, dtype=np.int64)
        for partition, start in self.offsets.items():
            self.starts[partition] = start
        if not self.carry:
            for batch in batches:
                if batch.num_rows:
                    yield from self._decided(pa.Table.from_batches([batch])).to_batches()
            return
        pending: list = []
        count = cut = 0  # rows pending; where the last person's rows start in them
        last = object()
        for batch in batches:
            if not batch.num_rows:
                continue
            if self.person is not None:
                people = batch.column(self.person).to_pylist()
                start = len(people) - 1
                while start > 0 and people[start - 1] == people[-1]:
                    start -= 1
                if start > 0 or people[0] != last:
                    cut = count + start
                last = people[-1]
            else:
                cut = count + batch.num_rows  # nobody to keep together
            pending.append(batch)
            count += batch.num_rows
            if count >= self.chunk and cut > 0:
                table = pa.Table.from_batches(pending)
                yield from self._decided(table.slice(0, cut)).to_batches()
                pending, count, cut = table.slice(cut).to_batches(), count - cut, 0
        if count:
            yield from self._decided(pa.Table.from_batches(pending)).to_batches()

    def _decided(self, table):
        """The output rows of a chunk of rows (with carry: whole persons), in its order;
        `line` set from each row's position in the DataFrame."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from policydsl.tools.batch.tables import decide_table

        if self.carry:
            table = table.sort_by(POSITION)  # input order: the carry's ties go by it
        ids = table.column(POSITION).to_numpy()
        positions = self.starts[ids >> _ROW_BITS] + (ids & ((1 << _ROW_BITS) - 1))
        claims = table.select([name for name in table.column_names if name != POSITION]).combine_chunks()
        batch = claims.to_batches()[0] if claims.num_rows else None
        try:
            out = self._carried(batch) if self.carry else decide_table(self.policy, batch, worker=self.worker)
        except Exception as error:  # noqa: BLE001 - a bug: error rows, not a failed job
            message = f"internal error: {type(error).__name__}: {error} (please report it)"
            out = self.worker.lost("parquet", (1, batch), message)[0]
        line = out.column("line")
        fixed = pc.if_else(pc.is_valid(line), pa.array(positions + 1, pa.int64()), pa.nulls(len(line), pa.int64()))
        return out.set_column(out.schema.get_field_index("line"), "line", fixed)

    def _carried(self, batch):
        """Whole persons' claims (in input order) carried as `batch --carry` carries them."""
        from policydsl.tools.carry import Carrier

        worker, helper = self.worker, self.helper
        if not isinstance(helper, Carrier):
            return helper.run(batch)[0]  # ColumnCarry
        rows: list = [None] * batch.num_rows
        chain = []
        for offset, (line, claim_id, claim) in enumerate(worker.claims("parquet", (1, batch))):
            key, stand_in = helper.place(claim)
            if key is None:
                rows[offset] = worker.alone(line, claim_id, stand_in)[1]
            else:
                chain.append(((*key, offset), pickle.dumps((line, claim_id, claim), pickle.HIGHEST_PROTOCOL)))
        chain.sort(key=lambda pair: pair[0])
        for offset, blob in worker.carry(chain)[0]:
            rows[offset] = pickle.loads(blob)[1]
        return worker.main.chunk(rows)


__all__ = ["decide"]
