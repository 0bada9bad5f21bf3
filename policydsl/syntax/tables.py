"""Regenerate the parser tables shipped in the package: `python -m policydsl.syntax.tables`.

`policydsl/syntax/grammar_tables.json` is Lark's serialized LALR parser for `grammar/policy.lark`,
written as plain JSON together with the SHA-256 of the grammar text and the Lark version
(see parser.py, which loads it). Run this after changing the grammar or upgrading Lark;
`python -m policydsl.syntax.tables --check` exits 1 while the shipped file does not fit, and
tests/test_reliability_security.py fails too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import lark

from policydsl.syntax.parser import _INT_KEYS, _OPTIONS, TABLES_FILE, TABLES_FORMAT, build_lark, grammar_hash, grammar_text, tables_status


def tables_json(grammar: str) -> str:
    """The shipped-tables file for `grammar`: Lark's serialized parser as JSON."""
    data, memo = build_lark(grammar).memo_serialize([lark.lexer.TerminalDef, lark.grammar.Rule])
    document = {
        "format": TABLES_FORMAT,
        "grammar_sha256": grammar_hash(grammar),
        "lark_version": lark.__version__,
        "options": _OPTIONS,
        "data": _encode(data),
        "memo": _encode(memo),
    }
    return json.dumps(document, ensure_ascii=True, sort_keys=True, separators=(",", ":")) + "\n"


def _encode(value):
    if isinstance(value, dict):
        if value and all(isinstance(k, int) and not isinstance(k, bool) for k in value):
            return {_INT_KEYS: [[k, _encode(v)] for k, v in value.items()]}
        if not all(isinstance(k, str) for k in value) or _INT_KEYS in value:
            raise ValueError(f"cannot write Lark's tables as JSON: keys {list(value)[:5]}")
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"cannot write Lark's tables as JSON: a {type(value).__name__}")


def write_tables(target: Path | None = None) -> Path:
    """Regenerate the shipped tables from the current grammar (atomically); returns the file."""
    target = Path(target) if target is not None else Path(__file__).resolve().parent / TABLES_FILE
    text = tables_json(grammar_text())
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="ascii")
    os.replace(temporary, target)
    return target


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--check"]:
        status = tables_status()
        print(f"{TABLES_FILE}: {status}" + ("" if status == "shipped" else " (run python -m policydsl.syntax.tables)"))
        return 0 if status == "shipped" else 1
    if argv:
        print("usage: python -m policydsl.syntax.tables [--check]", file=sys.stderr)
        return 2
    print(f"wrote {write_tables()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
