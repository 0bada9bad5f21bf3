"""Reading claims from files: one record per claim, in order, never losing one.

A record that cannot be parsed is yielded as the exception that describes it, at its
position, so the caller can write an error record in its place.
"""

from __future__ import annotations

import csv
import itertools
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from .facts import JSON_DECODER, NonFinite
from .facts import loads as json_loads


class UsageError(Exception):
    """A file the user named cannot be used at all (missing, unreadable)."""


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


def claim_id_of(claim) -> str | None:
    if isinstance(claim, dict) and isinstance(claim.get("claim_id"), (str, int)) and not isinstance(claim.get("claim_id"), bool):
        return claim["claim_id"]
    return None




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


def _read_lines(stream) -> Iterator[bytes]:
    try:
        yield from stream
    except OSError as error:
        raise UsageError(f"cannot read claims: {error.strerror or error}") from None


def csv_chunks(stream, chunk_size: int) -> tuple[list[str], Iterator[tuple[list, int]]]:
    """The header row, and chunks of (line number, cells or the error for that row).

    Text that is not UTF-8 is kept (as surrogate escapes) so that the row can be reported
    in its place; a row's line number is the line it starts on (the header is line 1).
    """
    counted = [0]

    def lines():
        for number, raw in enumerate(_read_lines(stream)):
            counted[0] += len(raw)
            text = raw.decode("utf-8", "surrogateescape")
            yield text.lstrip("\ufeff") if number == 0 else text

    reader = csv.reader(lines(), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise UsageError("the CSV file is empty: it needs a header row of field names") from None
    except csv.Error as error:
        raise UsageError(f"cannot read the CSV header: {error}") from None

    def chunks():
        chunk: list = []
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                row = ValueError(f"malformed CSV: {error}")
            if isinstance(row, list) and not any(cell.strip() for cell in row):
                continue  # blank lines are not records
            chunk.append((start, row))
            if len(chunk) >= chunk_size:
                yield chunk, _take(counted)
                chunk = []
        if chunk or counted[0]:
            yield chunk, _take(counted)

    return header, chunks()


def _take(counter: list) -> int:
    value, counter[0] = counter[0], 0
    return value


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
