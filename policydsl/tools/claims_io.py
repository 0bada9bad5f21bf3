"""Reading claims from files: one record per claim, in order, never losing one.

A record that cannot be parsed is yielded as the exception that describes it, at its
position, so the caller can write an error record in its place.
"""

from __future__ import annotations

import collections
import csv
import errno
import io
import itertools
import math
import os
import tempfile
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from policydsl.backends.facts import JSON_DECODER, NonFinite
from policydsl.backends.facts import loads as json_loads
from policydsl.backends.facts import claim_id_of  # noqa: F401 - the one claim-id rule, named here for the readers of claims
from policydsl.diagnostics.model import PolicydslError


class UsageError(PolicydslError):
    """A file the user named cannot be used at all (missing, unreadable), U600."""

    code = "U600"


class OutputError(PolicydslError):
    """The output could not be written (disk full, an I/O error, standard output closed), U601:
    the run stops; the message says what happened and what the output holds."""

    code = "U601"


def write_problem(error: Exception, name: str) -> str:
    """What went wrong writing the output `name`: no space left, a used-up quota, or the error."""
    number = getattr(error, "errno", None)
    if number == errno.ENOSPC:
        return f"no space left on {name}"
    if number == errno.EDQUOT:
        return f"{name}: the disk quota is used up"
    return f"cannot write {name}: {getattr(error, 'strerror', None) or error}"


def same_file(a, b) -> bool:
    """Whether two paths (or open file descriptors) are one file: a hard link, a symlink
    or another name for it. Paths that do not exist are not the same file."""
    try:
        first, second = os.stat(a), os.stat(b)
    except (OSError, ValueError):
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def read_claims(spec: str) -> Iterator[tuple[int, object]]:
    """(line number, parsed claim or the exception that parsing raised), one per record.

    A `.jsonl` file (or stdin, `-`) holds one claim per line; a `.json` file holds one
    claim, or a JSON array of claims. Blank lines are not records. JSON lines are read as
    bytes and decoded one line at a time, so a line that is not UTF-8 is one error record
    and the lines around it are read as they are.
    """
    if spec == "-":
        yield from _lines(_stdin())
        return
    path = Path(spec)
    if path.suffix.lower() in (".csv", ".parquet"):
        raise UsageError(f"{spec}: this command reads JSON claims (.json, .jsonl or -); for {path.suffix.lower()} files use policydsl batch")
    lines = path.suffix.lower() in (".jsonl", ".ndjson")
    handle = _open(spec, "rb" if lines else "r")
    with handle:
        if lines:
            yield from _lines(handle)
            return
        try:
            text = handle.read()
        except UnicodeDecodeError as error:
            raise UsageError(f"{spec}: claims are not UTF-8 text ({error.reason})") from None
        try:
            document = json_loads(text)
        except ValueError as error:
            yield 1, ValueError(_json_problem(error, with_line=True))
            return
        if isinstance(document, list):
            for index, claim in enumerate(document, start=1):
                yield index, claim
        else:
            yield 1, document


def read_dated_claims(spec: str) -> Iterator[tuple[int, object, object]]:
    """As `read_claims`, with the date each claim is to be decided as of (None: its own):
    a `*.tests.json` file gives its cases' claims, numbered from 1, each with its `as_of`;
    any other file gives its records, with None. A tests file that cannot be read is a
    usage error naming what is wrong in it."""
    from policydsl.tools.testing import SUFFIX, TestFileError, read_tests

    if spec.endswith(SUFFIX):
        try:
            tests = read_tests(spec)
        except TestFileError as error:
            raise UsageError(str(error)) from None
        for number, case in enumerate(tests.cases, start=1):
            yield number, case.claim, case.as_of
        return
    for number, claim in read_claims(spec):
        yield number, claim, None


def _stdin():
    """Standard input as bytes, or as text when it has been replaced by a text stream."""
    return getattr(sys.stdin, "buffer", sys.stdin)


def _lines(stream) -> Iterator[tuple[int, object]]:
    for number, line in enumerate(_read_lines(stream), start=1):
        if line.strip():
            yield number, parse_json_line(line)


def parse_json_line(line: str | bytes):
    """One JSON line -> the claim, or the ValueError that describes why it is not one.
    The line break is not part of the JSON (an error's column is on this line)."""
    marker = _TOO_LONG if isinstance(line, bytes) else _TOO_LONG_TEXT
    if line.startswith(marker) and line[len(marker):].strip().isdigit():
        size = int(line[len(marker):])
        return ValueError(f"the line is {size:,} bytes, more than the {_mib(MAX_ROW_BYTES)} a claim may hold; it is skipped whole")
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            return ValueError(f"line is not UTF-8 text ({error.reason})")
    line = line.rstrip("\r\n")
    try:
        return _decode(line)
    except ValueError as error:
        return ValueError(_json_problem(error))
    except RecursionError:  # let facts.loads describe it, as for every other reader
        try:
            return json_loads(line)
        except ValueError as error:
            return ValueError(_json_problem(error))
        except RecursionError:
            return ValueError("malformed JSON: nested too deeply")


# facts.loads' decoder, built once: json.loads builds one per call (a few µs a line)
_decode = JSON_DECODER.decode


def _json_problem(error: ValueError, with_line: bool = False) -> str:
    if isinstance(error, json.JSONDecodeError):
        where = f"line {error.lineno}, column {error.colno}" if with_line else f"column {error.colno}"
        return f"malformed JSON at {where}: {error.msg}"
    return f"malformed JSON: {error}"


# ---- streaming in chunks (policydsl batch) ------------------------------------------------
#
# Readers yield (records, units done): records are raw, cheap to send to a worker process,
# which parses and evaluates them; units measure progress (bytes, or rows for Parquet).

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def file_format(spec: str, role: str) -> str:
    """jsonl, csv or parquet, from the file name's extension (`-` is JSON lines)."""
    if spec == "-":
        return "jsonl"
    found = FORMATS.get(Path(spec).suffix.lower())
    if found is None:
        raise UsageError(f"{spec}: cannot tell the {role} format from the extension (use .jsonl, .ndjson, .csv or .parquet)")
    return found


def open_binary(spec: str):
    """The input as a binary stream; a missing or unreadable file is a `UsageError`."""
    if spec == "-":
        return _stdin()
    return _open(spec, "rb")


def _open(spec: str, mode: str):
    """Open a claims file (closed by the caller); a file that cannot be used is a UsageError."""
    try:
        return open(spec, mode, **({} if "b" in mode else {"encoding": "utf-8"}))  # noqa: SIM115
    except FileNotFoundError:
        raise UsageError(f"{spec}: no such claims file") from None
    except IsADirectoryError:
        raise UsageError(f"{spec}: is a directory, not a claims file") from None
    except OSError as error:
        raise UsageError(f"{spec}: cannot read claims: {error.strerror or error}") from None


def size_of(spec: str) -> int | None:
    try:
        return None if spec == "-" else Path(spec).stat().st_size
    except OSError:
        return None


def jsonl_chunks(stream, chunk_size: int) -> Iterator[tuple[tuple[int, bytes], int]]:
    """Chunks of `chunk_size` lines as ((number of the first line, the lines as one bytes
    object), bytes read). One object per chunk is cheap to send to a worker process;
    the worker splits it, skips blank lines and numbers the rest."""
    first = 1
    lines = _read_lines(stream)
    while True:
        chunk = list(itertools.islice(lines, chunk_size))
        if not chunk:
            return
        if isinstance(chunk[0], str):  # a text stream standing in for stdin
            chunk = [line.encode("utf-8", "surrogatepass") for line in chunk]
        blob = b"".join(chunk)
        yield (first, blob), len(blob)
        first += len(chunk)


def split_lines(first: int, blob: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for the non-blank lines of a chunk from `jsonl_chunks`."""
    for offset, raw in enumerate(blob.split(b"\n")):
        if raw.strip():
            yield first + offset, raw


MAX_ROW_BYTES = 64 * 1024 * 1024  # a CSV row, with the line breaks in its quoted cells; a JSON line
# What stands for a JSON line longer than MAX_ROW_BYTES, which is skipped, never held whole. It
# starts with a NUL, which no JSON text may: no line that could be a claim looks like it.
_TOO_LONG = b"\x00 line too long: "
_TOO_LONG_TEXT = _TOO_LONG.decode("ascii")


def _read_lines(stream) -> Iterator[bytes]:
    """The stream's lines; a line longer than MAX_ROW_BYTES is read past in pieces and given
    as one `_TOO_LONG` marker line (an error record for its line number, memory bounded)."""
    readline = stream.readline
    try:
        while True:
            line = readline(MAX_ROW_BYTES + 1)
            if not line:
                return
            newline = b"\n" if isinstance(line, bytes) else "\n"  # a text stream stands in for stdin
            if len(line) > MAX_ROW_BYTES and not line.endswith(newline):
                size = len(line)
                while True:  # the rest of the line, in pieces
                    piece = readline(MAX_ROW_BYTES)
                    size += len(piece)
                    if not piece or piece.endswith(newline):
                        break
                marker = _TOO_LONG + str(size).encode() + b"\n"
                line = marker if isinstance(line, bytes) else marker.decode("ascii")
            yield line
    except OSError as error:
        raise UsageError(f"cannot read claims: {error.strerror or error}") from None


_OPEN_QUOTE = "unexpected end of data"  # what csv says when a line ends inside a quoted cell


class _Feed:
    """The lines a csv reader gets, one record at a time: when the lines given run out,
    the reader stops (a quoted cell still open is then its "unexpected end of data")."""

    def __init__(self):
        self.lines: collections.deque = collections.deque()

    def __iter__(self):
        return self

    def __next__(self):
        if not self.lines:
            raise StopIteration
        return self.lines.popleft()


class CsvRows:
    """(line number, cells or the ValueError for that row), one per row, in order.

    The rows are found line by line, so that a malformed file can neither invent rows nor
    swallow them:

    - A row starts on a line. If the line ends outside a quoted cell, the row is that line.
    - If it ends inside a quoted cell (a cell may hold line breaks), the row goes on,
      line by line, until that cell closes.
    - If the cell closes properly (its closing quote is followed by a comma or the end of
      the line), the row is every line up to there. A row of more than MAX_ROW_BYTES is an
      error record at the line where it starts, and reading goes on after its last line:
      the lines inside its quoted cell are never read as rows.
    - If the cell never closes properly (the file ends inside it, or a quote is followed by
      anything else), the quote was a stray: the row's first line is an error record, and
      reading goes on at the next line, so every later line is still read as a row.

    Any other malformed line (`"a"b`, a bare carriage return) is an error record by itself.
    Lines are parsed with Python's csv module (strict), so a row means what it means
    there. A line is never scanned more than twice: once a scan from a stray quote has
    shown where (or that never) a quoted cell opened at a line start would close, later
    stray quotes before that point reuse the answer. Lines read during a scan are kept to
    be read again (in memory up to MAX_ROW_BYTES; beyond, the file is read again from
    where the row started, or, when it cannot seek, from a temporary file).
    """

    def __init__(self, stream):
        self.stream = stream
        try:
            self.seekable = bool(stream.seekable())
        except (AttributeError, OSError, ValueError):
            self.seekable = False
        self.sources: list = []  # lines read again (a stack of binary files), before the stream
        self.number = 0  # the line number of the last line read
        self.position = 0  # where the stream is
        self.reached = 0  # the furthest the stream has been read (for progress)
        self.progress = 0  # bytes read since the last chunk
        self.feed, self.cont_feed = _Feed(), _Feed()
        self.reader = csv.reader(self.feed, strict=True)
        self.cont = csv.reader(self.cont_feed, strict=True)  # lines that start inside a quoted cell
        self.stray_until: float = 0  # a quoted cell open at the start of a line <= this never closes properly
        self.stray_end: tuple[int, str] | None = None  # where it failed (None: the end of the file)

    def _raw(self) -> bytes | None:
        while self.sources:
            raw = self.sources[-1].readline()
            if raw:
                self.number += 1
                return raw
            self.sources.pop().close()
        try:
            raw = self.stream.readline()
        except OSError as error:
            raise UsageError(f"cannot read claims: {error.strerror or error}") from None
        if not raw:
            return None
        if isinstance(raw, str):  # a text stream standing in for a file
            raw = raw.encode("utf-8", "surrogateescape")
        self.number += 1
        self.position += len(raw)
        if self.position > self.reached:
            self.progress += self.position - self.reached
            self.reached = self.position
        return raw

    def _text(self, raw: bytes) -> str:
        text = raw.decode("utf-8", "surrogateescape")
        return text.lstrip("\ufeff") if self.number == 1 else text

    def take_progress(self) -> int:
        value, self.progress = self.progress, 0
        return value

    def __iter__(self):
        while True:
            raw = self._raw()
            if raw is None:
                return
            start = self.number
            if len(raw) > MAX_ROW_BYTES:
                yield start, ValueError(f"malformed CSV: the row is {len(raw):,} bytes, more than the {_mib(MAX_ROW_BYTES)} a row may hold")
                continue
            self.feed.lines.append(self._text(raw))
            try:
                row = next(self.reader)
            except csv.Error as error:
                self.feed.lines.clear()
                row = self._quoted(start, raw) if str(error) == _OPEN_QUOTE else ValueError(f"malformed CSV: {error}")
            except StopIteration:
                continue
            if isinstance(row, list) and not any(cell.strip() for cell in row):
                continue  # blank lines are not records
            yield start, row

    def _quoted(self, start: int, first: bytes):
        """The row that starts on line `start`, whose line ends inside a quoted cell."""
        if start + 1 <= self.stray_until:
            return self._stray(start)
        kept: list[bytes] | None = []  # the lines after the first, while they fit in memory
        spool = None  # beyond that, when the stream cannot seek: a temporary file
        resume = self.position if self.seekable and not self.sources else None
        size = len(first)
        closed = False
        failure = None
        while True:
            raw = self._raw()
            if raw is None:
                break
            size += len(raw)
            if kept is not None:
                kept.append(raw)
                if size > MAX_ROW_BYTES:
                    if resume is None:
                        spool = tempfile.TemporaryFile()
                        spool.writelines(kept)
                    kept = None
            elif spool is not None:
                spool.write(raw)
            self.cont_feed.lines.append('"' + raw.decode("utf-8", "surrogateescape"))
            try:
                next(self.cont)
                closed = True
                break
            except csv.Error as error:
                self.cont_feed.lines.clear()
                if str(error) != _OPEN_QUOTE:
                    failure = (self.number, str(error))
                    break
            except StopIteration:
                break
        end = self.number
        if closed:
            if spool is not None:
                spool.close()
            if kept is None:
                return ValueError(
                    f"malformed CSV: the row spans lines {start}-{end} ({size:,} bytes), more than the "
                    f"{_mib(MAX_ROW_BYTES)} a row may hold; it is skipped whole"
                )
            texts = [raw.decode("utf-8", "surrogateescape") for raw in (first, *kept)]
            if start == 1:
                texts[0] = texts[0].lstrip("\ufeff")
            self.feed.lines.extend(texts)
            try:
                return next(self.reader)
            except (csv.Error, StopIteration) as error:
                self.feed.lines.clear()
                return ValueError(f"malformed CSV: {error or 'the row does not end'}")
        # The quoted cell never closes properly: the quote was a stray, the lines after
        # this one are rows. Read them again, from memory, the file or the temporary file.
        self.stray_until, self.stray_end = (end if failure is not None else math.inf), failure
        if kept is not None:
            self.sources.append(io.BytesIO(b"".join(kept)))
        elif spool is not None:
            spool.seek(0)
            self.sources.append(spool)
        else:
            try:
                self.stream.seek(resume)
            except OSError as error:
                raise UsageError(f"cannot read claims again after line {start}: {error.strerror or error}") from None
            self.position = resume
        self.number = start
        return self._stray(start)

    def _stray(self, start: int) -> ValueError:
        if self.stray_end is None:
            why = "is never closed (the file ends inside it)"
        else:
            why = f"is not closed properly (line {self.stray_end[0]}: {self.stray_end[1]})"
        return ValueError(f"malformed CSV: the quoted cell that starts on line {start} {why}; the lines after it are read as rows")


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


def csv_chunks(stream, chunk_size: int) -> tuple[list[str], Iterator[tuple[list, int]]]:
    """The header row, and chunks of (line number, cells or the error for that row).

    Rows are found as `CsvRows` says. Text that is not UTF-8 is kept (as surrogate escapes)
    so that the row can be reported in its place; a row's line number is the line it
    starts on (the header is line 1).
    """
    csv.field_size_limit(max(csv.field_size_limit(), MAX_ROW_BYTES))
    found = CsvRows(stream)
    rows = iter(found)
    first = next(rows, None)
    if first is None:
        raise UsageError("the CSV file is empty: it needs a header row of field names")
    line, header = first
    if isinstance(header, Exception):
        raise UsageError(f"cannot read the CSV header (line {line}): {header}")

    def chunks():
        chunk: list = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= chunk_size:
                yield chunk, found.take_progress()
                chunk = []
        progress = found.take_progress()
        if chunk or progress:
            yield chunk, progress

    return header, chunks()


class Unreadable:
    """A Parquet value that Python cannot hold (a date past year 9999, a timestamp or
    duration out of range): its row gets an error record naming the column."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def parquet_columns(batch) -> list[list]:
    """The batch's columns as Python values, one list per column. A value that does not
    convert is an `Unreadable` in its cell; the batch is never given up."""
    columns = []
    for column in batch.columns:
        try:
            columns.append(column.to_pylist())
            continue
        except Exception:  # noqa: BLE001 - OverflowError, ValueError, ArrowException: one bad cell
            pass
        cells = []
        for index in range(len(column)):
            scalar = column[index]
            try:
                cells.append(scalar.as_py())
            except Exception:  # noqa: BLE001 - this cell only
                raw = getattr(scalar, "value", None)
                shown = f" {raw}" if isinstance(raw, int) else ""
                cells.append(Unreadable(f"the {column.type} value{shown} is out of the range that can be read"))
        columns.append(cells)
    return columns


def parquet_batches(spec: str, chunk_size: int):
    """(number of rows, iterator of Arrow record batches) of a Parquet file."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("reading Parquet needs pyarrow: pip install 'policydsl[parquet]'") from None
    try:
        handle = pq.ParquetFile(spec)
    except FileNotFoundError:
        raise UsageError(f"{spec}: no such claims file") from None
    except Exception as error:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
        raise UsageError(f"{spec}: cannot read Parquet: {error}") from None

    def batches():
        try:
            yield from handle.iter_batches(batch_size=chunk_size)
        except Exception as error:  # noqa: BLE001
            raise UsageError(f"{spec}: cannot read Parquet: {error}") from None

    return handle.metadata.num_rows, batches()
