"""Formatted chunks in, an output file out: one output of a batch run, written as results arrive.

`-` is standard output (JSON lines or CSV). A failed write stops the run with an
`OutputError` that says what the output holds; the output is never left with half a record
(a Parquet file, readable only once complete, is removed).
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from policydsl.tools import claims_io
from policydsl.tools.batch.formats import TableFormat, arrow_schema, columns_of
from policydsl.tools.claims_io import OutputError, UsageError

PARQUET_ROWS_PER_GROUP = 50_000


class Sink:
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
        columns = columns_of(policy, errors, inline_errors)
        if kind == "parquet":
            self._open_parquet(columns)
            return
        if spec == "-":
            if sys.stdout is None:
                raise OutputError("standard output is closed: there is nowhere to write the records (use -o FILE)")
        else:
            self.file = _open_output(spec)
        if kind == "csv":
            self._write_text(TableFormat(columns, "csv").chunk([[name for name, _ in columns]]), 0)

    def _open_parquet(self, columns) -> None:
        self.schema = arrow_schema(columns)
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.tables: list = []
        self.buffered = 0
        try:
            # dictionary pages for text columns (ids, years, provenance: few distinct values),
            # plain pages for the typed ones: dictionary-encoding 14 money columns cost a
            # sixth of the whole write (measured), for little
            text = [field.name for field in self.schema if pa.types.is_string(field.type)]
            self.writer = pq.ParquetWriter(self.spec, self.schema, use_dictionary=text)
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
        return open(spec, "wb", buffering=0)  # noqa: SIM115 - closed by Sink.close
    except OSError as error:
        raise UsageError(f"{spec}: cannot write: {error.strerror or error}") from None
