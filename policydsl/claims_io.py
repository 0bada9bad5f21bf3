"""Reading claims from files: one record per claim, in order, never losing one.

A record that cannot be parsed is yielded as the exception that describes it, at its
position, so the caller can write an error record in its place.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

from .facts import loads as json_loads


class UsageError(Exception):
    """A file the user named cannot be used at all (missing, unreadable)."""


def read_claims(spec: str) -> Iterator[tuple[int, object]]:
    """(line number, parsed claim or the exception that parsing raised), one per record.

    A `.jsonl` file (or stdin, `-`) holds one claim per line; a `.json` file holds one
    claim, or a JSON array of claims. Blank lines are not records.
    """
    if spec == "-":
        stream = sys.stdin
        yield from _lines(stream)
        return
    path = Path(spec)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{spec}: no such claims file") from None
    except OSError as error:
        raise UsageError(f"{spec}: cannot read claims: {error.strerror or error}") from None
    with handle:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
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


def _lines(stream) -> Iterator[tuple[int, object]]:
    number = 0
    while True:
        try:
            line = stream.readline()
        except UnicodeDecodeError as error:
            number += 1
            yield number, ValueError(f"line is not UTF-8 text ({error.reason})")
            continue
        if not line:
            return
        number += 1
        if not line.strip():
            continue
        try:
            yield number, json_loads(line)
        except ValueError as error:
            yield number, ValueError(_json_problem(error))


def _json_problem(error: ValueError, with_line: bool = False) -> str:
    if isinstance(error, json.JSONDecodeError):
        where = f"line {error.lineno}, column {error.colno}" if with_line else f"column {error.colno}"
        return f"malformed JSON at {where}: {error.msg}"
    return f"malformed JSON: {error}"


def claim_id_of(claim) -> str | None:
    if isinstance(claim, dict) and isinstance(claim.get("claim_id"), (str, int)) and not isinstance(claim.get("claim_id"), bool):
        return claim["claim_id"]
    return None


