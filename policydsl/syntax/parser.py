"""Stage 1: policy text -> Lark parse tree, or a friendly syntax diagnostic.

Only this module, `tables.py` (which writes the shipped tables) and `lower.py` import Lark.
The grammar lives in `grammar/policy.lark` at the top of the repository;
`policydsl/syntax/policy.lark` links to it so that an installed wheel carries a copy.

The LALR tables are built ahead of time and shipped in the package as plain JSON data,
`policydsl/grammar_tables.json` (Lark's own serialized form, with the SHA-256 of the grammar
text and the Lark version they were made with). Loading them takes ~13 ms and reads no
cache folder and no pickle: JSON cannot run code. If they do not match the grammar text
or the installed Lark, they are not used and the tables are built in memory (~110 ms).
Regenerate them after changing the grammar (a test fails until you do):

    python -m policydsl.syntax.tables
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import resources
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policydsl.diagnostics.model import Diagnostic
from policydsl.syntax.source import SourceFile, Span

TABLES_FILE = "grammar_tables.json"
TABLES_FORMAT = "policydsl-lark-tables 1"
_OPTIONS = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": True}
_INT_KEYS = "#int"  # JSON keys are strings: a dict keyed by ints is written {"#int": [[k, v], ...]}


def grammar_text() -> str:
    """The grammar, from the installed package or else from the source tree."""
    packaged = resources.files("policydsl.syntax").joinpath("policy.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "grammar" / "policy.lark").read_text(encoding="utf-8")


def grammar_hash(grammar: str) -> str:
    return hashlib.sha256(grammar.encode("utf-8")).hexdigest()


def build_lark(grammar: str) -> lark.Lark:
    """Lark built from the grammar text: what the shipped tables must be equivalent to."""
    return lark.Lark(grammar, **_OPTIONS)


def _decode_object(obj: dict):
    pairs = obj.get(_INT_KEYS)
    if pairs is not None and len(obj) == 1:
        return {int(k): v for k, v in pairs}
    return obj


def _read_tables_document(grammar: str) -> dict | None:
    """The shipped tables if they were made from `grammar` by this Lark, else None."""
    try:
        raw = resources.files("policydsl.syntax").joinpath(TABLES_FILE).read_bytes()
        document = json.loads(raw, object_hook=_decode_object)
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    expected = {"format": TABLES_FORMAT, "grammar_sha256": grammar_hash(grammar), "lark_version": lark.__version__, "options": _OPTIONS}
    if any(document.get(key) != value for key, value in expected.items()):
        return None
    return document


def tables_status(grammar: str | None = None) -> str:
    """'shipped' when the packaged tables fit the grammar and Lark, else 'stale' or 'missing'."""
    grammar = grammar_text() if grammar is None else grammar
    if not resources.files("policydsl.syntax").joinpath(TABLES_FILE).is_file():
        return "missing"
    return "shipped" if _read_tables_document(grammar) is not None else "stale"


def _load_shipped(grammar: str) -> lark.Lark | None:
    document = _read_tables_document(grammar)
    if document is None:
        return None
    try:
        return lark.Lark._load_from_dict(document["data"], document["memo"])
    except Exception:  # noqa: BLE001 - unusable tables: build them instead (correct, slower)
        return None


@functools.cache
def _lark() -> lark.Lark:
    grammar = grammar_text()
    return _load_shipped(grammar) or build_lark(grammar)


_OTHERWISE_HINT = "a conditional needs an `otherwise` branch: `when ... then ... otherwise VALUE`"
_THEN_HINT = "missing `then` after the condition: write `when CONDITION then VALUE`"


# Malformed snippets mapped to what the author most likely meant (lark's match_examples).
_EXAMPLES: dict[str, list[str]] = {
    _THEN_HINT: [
        "rule x = when a b",
        "rule x = when a: b",
        "rule x = when a = 1 b",
    ],
    _OTHERWISE_HINT: [
        "rule x = when a then b rule",
        "rule x = when a then b output",
        "rule x = when a then b",
        "rule x = when a then b param",
        "rule x = when a then b table",
    ],
    "equality is a single `=` (e.g. `person.category = newborn`)": [
        "rule x = a == b",
        "rule x = a = = b",
    ],
    "conditions are written `when CONDITION then VALUE otherwise VALUE`, not `if`": [
        "rule x = if a",
        "rule x = if (a)",
    ],
    "a definition starts with a keyword: enum, record, input, param, table, tiers, rule or output": [
        "x = 1",
        "let x = 1",
        "def x",
    ],
    "a rule needs `=` before its value: `rule NAME = VALUE` or `rule NAME: TYPE = VALUE`": [
        "rule x 1",
        "rule x: money 1",
        "rule x: money money",
    ],
    "a list type is written `list of TYPE`": [
        "input { a: list TYPE }",
        "input { a: list[",
    ],
}

_TOKEN_NAMES = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a string ("...")',
    "PERCENT": "a percentage",
    "DATE": "a date (YYYY-MM-DD)",
    "COMPARE": "a comparison (=, !=, <, <=, >, >=)",
    "YUAN": "`yuan`",
    "MONTHS": "`months`",
    "$END": "the end of the file",
}
_GOT_NAMES = {"NAME": "name", "NUMBER": "number", "STRING": "string", "PERCENT": "percentage", "DATE": "date"}


def _describe(terminal: str) -> str:
    if terminal in _TOKEN_NAMES:
        return _TOKEN_NAMES[terminal]
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal
    if isinstance(pattern, lark.lexer.PatternStr):
        return f"`{pattern.value}`"
    return terminal.lower()


def _expected_list(expected) -> str:
    names = sorted({_describe(t) for t in expected})
    if len(names) > 8:
        names = names[:8] + [f"... and {len(names) - 8} more"]
    return ", ".join(names)


def _error_span(source: SourceFile, error: UnexpectedInput) -> Span:
    token = getattr(error, "token", None)
    if isinstance(token, lark.Token) and token.type != "$END" and token.line is not None:
        return Span(source, token.line, token.column, token.end_line, token.end_column, token.start_pos, token.end_pos)
    # End of file or an unlexable character: point at the position itself.
    offset = error.pos_in_stream if error.pos_in_stream is not None else len(source.text)
    line = getattr(error, "line", None)
    column = getattr(error, "column", None)
    if not isinstance(line, int) or line < 1:
        text = source.text[:offset]
        line = text.count("\n") + 1
        column = offset - (text.rfind("\n") + 1) + 1
    return Span.point(source, line, column, offset)


def _friendly(error: UnexpectedInput, source: SourceFile) -> str | None:
    try:
        matched = error.match_examples(_lark().parse, _EXAMPLES, use_accepts=True)
    except Exception:  # noqa: BLE001 - a failed match only loses the friendly hint
        matched = None
    if matched:
        return matched
    # The examples match exact parser states; these cover the same mistakes in any state.
    expected = set(getattr(error, "expected", ()) or ())
    if "OTHERWISE" in expected and "THEN" not in expected:
        return _OTHERWISE_HINT
    if "THEN" in expected:
        return _THEN_HINT
    return None


def syntax_diagnostic(source: SourceFile, error: UnexpectedInput) -> Diagnostic:
    span = _error_span(source, error)
    hint = _friendly(error, source)
    if isinstance(error, UnexpectedCharacters):
        char = source.text[error.pos_in_stream] if error.pos_in_stream < len(source.text) else ""
        if char == '"':
            return Diagnostic("P102", "unterminated string", span, hint="close the string with `\"` on the same line")
        return Diagnostic("P101", f"unexpected character {char!r}", span, hint=hint)
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        return Diagnostic(
            "P103", "unexpected end of file", span, hint=hint or f"expected {_expected_list(error.expected)}"
        )
    assert isinstance(error, UnexpectedToken), error
    got = error.token
    what = f"{_GOT_NAMES[got.type]} `{got}`" if got.type in _GOT_NAMES else f"`{got}`"
    return Diagnostic("P100", f"unexpected {what}", span, hint=hint or f"expected {_expected_list(error.expected)}")


def parse_tree(source: SourceFile) -> lark.Tree | Diagnostic:
    """Parse `source` into a Lark tree, or return the first syntax error as a diagnostic."""
    try:
        return _lark().parse(source.text)
    except UnexpectedInput as error:
        return syntax_diagnostic(source, error)
