"""Batch runs: a whole file of claims evaluated, streaming, on several processes.

Why: a province settles millions of claims a day and analysts re-run a year of claims for
every policy change (issue 5), so files of any size must go through in bounded memory,
using every core, with the output in input order.

    policydsl batch POLICY INPUT -o OUTPUT [--jobs N] [--errors FILE] [--chunk-size N] [--carry]

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
the outputs, each accumulator's before, after and period, the policy's provenance
(`policy.id` ... `policy.digest`), error, line; Parquet the same, typed (money
decimal(38, 2), dates, bools, ints); formats.py lists them.
Every input record gives exactly one output record, in input order: a decision, or an error
record in its place (claim_id, or the line -- the row number for Parquet -- when there is
none). With `--errors FILE` the error records go to FILE instead (CSV/Parquet columns:
claim_id, line, error, details) and OUTPUT holds only decisions.

The run (runner.py: `run_batch(BatchOptions(...)) -> Summary`) reads chunks of records,
has worker processes (pool.py) turn each chunk into formatted records (worker.py, with
cells.py for CSV and Parquet rows and formats.py for the output rows) and writes them in
input order (sink.py). With `--carry` (carrying.py), each person's claims are decided in
date order with their accumulators carried from claim to claim (tools/carry.py), by way of
two external sorts on disk (spill.py), and still written in input order. Parquet in and out
with `--engine columnar` (the default where the policy compiles to it): chunks are decided by
whole columns (columns.py over backends/columnar.py), on threads, and `--carry` rank by rank
(column_carry.py); tables.py decides an Arrow table for Python and Spark callers. The command,
its progress bar and its summary are cli/batch.py's.
"""

from policydsl.tools.batch.carrying import DEFAULT_RUN_SIZE
from policydsl.tools.batch.pool import MAX_ATTEMPTS
from policydsl.tools.batch.runner import DEFAULT_CHUNK, BatchOptions, Summary, default_jobs, run_batch

__all__ = ["DEFAULT_CHUNK", "DEFAULT_RUN_SIZE", "MAX_ATTEMPTS", "BatchOptions", "Summary", "default_jobs", "run_batch"]
