"""An Arrow table (or record batch) of claims in, an Arrow table of output records out:
one row for each claim, in order, as `policydsl batch` writes Parquet (formats.py).

`decide_table(policy, claims)` is what the Parquet path of `batch` and `policydsl.spark`
call for each piece of input. The claims' columns are the policy's input fields (dotted
names or structs for records, lists for item lists); `claim_id` is kept. A claim that
cannot be decided gets a row with the decision's columns null and `error` and `line` set
(`line` counts from `first_line`).
"""

from __future__ import annotations

import datetime

from policydsl.tools.batch.formats import arrow_schema, columns_of
from policydsl.tools.batch.worker import ChunkWorker, Spec


def output_schema(policy):
    """The Arrow schema of `decide_table`'s answer (`batch`'s Parquet output, errors inline)."""
    return arrow_schema(columns_of(policy, errors=False, inline_errors=True))


def decide_table(policy, claims, as_of: datetime.date | None = None, first_line: int = 1, engine: str = "auto", worker: ChunkWorker | None = None):
    """The output records of `claims` (a pyarrow Table or RecordBatch) as one pyarrow Table
    of `output_schema(policy)`. `worker` reuses a `chunk_worker(policy, as_of, engine)`."""
    if worker is None:
        worker = chunk_worker(policy, as_of, engine)
    import pyarrow as pa

    batches = [claims] if isinstance(claims, pa.RecordBatch) else claims.to_batches()

    tables = []
    for batch in batches:
        tables.append(worker.process("parquet", (first_line, batch))[0])
        first_line += batch.num_rows
    if not tables:
        return output_schema(policy).empty_table()
    return pa.concat_tables(tables)


def chunk_worker(policy, as_of: datetime.date | None = None, engine: str = "auto") -> ChunkWorker:
    """A worker that decides tables of claims for `policy` (kept to decide many)."""
    if engine == "auto":
        engine = choose_engine(policy)[0]
    return ChunkWorker(policy, Spec(getattr(policy, "name", "<policy>"), "parquet", "parquet", None, None, as_of, engine))


def choose_engine(policy) -> tuple[str, str]:
    """("columnar" or "row", why) for deciding Arrow tables of claims with `policy`."""
    try:
        from policydsl.backends.columnar import NotColumnar, compile_columnar
    except ImportError as error:  # numpy missing
        return "row", f"the columnar engine needs numpy ({error})"
    if not hasattr(policy, "program"):
        return "row", "a region's policies are chosen claim by claim"
    try:
        compile_columnar(policy)
    except NotColumnar as why:
        return "row", f"the policy does not compile to columns: {why}"
    return "columnar", "the policy compiles to columns"
