"""The one renderer of diagnostics: as text for people, as JSON for programs.

Takes `Diagnostic`s (model.py); gives `render_text` (one diagnostic: `file:line:col:
error[CODE]: message`, the source line with carets under the span, notes, related places,
the hint), `render_all` (several, then a count of errors and warnings) and `to_json` (a
dict for JSON output and the language server).

Carets are placed by display width, not by code point: a wide character (CJK, East Asian
width W or F) takes two columns, a combining mark or other zero-width character none; a
tab in the source line is copied into the caret line so it lines up at any tab width.
For ASCII lines without tabs this is one column a character, as it always was.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policydsl.diagnostics.model import Diagnostic, Related
    from policydsl.syntax.source import Span


def render_text(diagnostic: Diagnostic, *, related_source: bool = False) -> str:
    """The diagnostic as text; `related_source` also shows the source line of each related place."""
    message = f"{diagnostic.path}: {diagnostic.message}" if diagnostic.path else diagnostic.message
    head = f"{diagnostic.severity.value}[{diagnostic.code}]: {message}"
    span = diagnostic.span
    lines = [head] if span is None else [f"{span.location}: {head}", *excerpt(span)]
    lines += [f"  note: {note}" for note in diagnostic.notes]
    for related in diagnostic.related:
        lines.append(f"  note: {_related_text(related)}")
        if related_source and related.span is not None:
            lines += [f"    {line}" for line in excerpt(related.span)]
    if diagnostic.hint:
        lines.append(f"  hint: {diagnostic.hint}")
    return "\n".join(lines)


def render_all(diagnostics: list[Diagnostic]) -> str:
    """Every diagnostic, a blank line between, then `N errors, M warnings`."""
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    body = "\n\n".join(render_text(d) for d in diagnostics)
    summary = f"{errors} error{'s' if errors != 1 else ''}"
    if warnings:
        summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
    return f"{body}\n\n{summary}"


def _related_text(related: Related) -> str:
    return f"{related.message} (at {related.span.location})" if related.span is not None else related.message


# ---- the source line and its carets ------------------------------------------------------------


def excerpt(span: Span) -> list[str]:
    """` N | source line` and the caret line under the span ([] when there is no line to show).

    The carets cover the span's first line (to the end of that line if the span goes on)."""
    line = _printable(span.source.line(span.line))
    if not line:
        return []
    start = span.column - 1
    count = span.end_column - span.column if span.end_line == span.line else len(line) - start
    count = max(1, min(count, len(line) - start))
    start = max(0, start)
    lead = _blank(line[:start]) + " " * max(0, start - len(line))
    carets = _carets(line[start : start + count]) or "^"
    gutter = str(span.line)
    return [f" {gutter} | {line}", f" {' ' * len(gutter)} | {lead}{carets}"]


def _printable(line: str) -> str:
    """A lone surrogate (possible in text given to `loads`) is shown as U+FFFD: the message must write out."""
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in line)


def _blank(text: str) -> str:
    """As much blank as `text` takes on screen: tabs kept, each other character its width in spaces."""
    if text.isascii() and "\t" not in text:
        return " " * len(text)
    return "".join("\t" if c == "\t" else " " * width(c) for c in text)


def _carets(text: str) -> str:
    """A caret for every column `text` takes on screen (a tab stays a tab, to keep alignment)."""
    if text.isascii() and "\t" not in text:
        return "^" * len(text)
    return "".join("\t" if c == "\t" else "^" * width(c) for c in text)


def width(char: str) -> int:
    """Columns one character takes on a terminal: 2 wide (East Asian W, F), 0 combining or invisible, else 1."""
    if char.isascii():
        return 1
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 2
    category = unicodedata.category(char)
    if category in ("Mn", "Me") or (category == "Cf" and char != "\u00ad") or "\u1160" <= char <= "\u11ff":
        return 0  # combining marks, zero-width and format characters, Hangul medial vowels and final consonants
    return 1


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal (tabs counted as one)."""
    return sum(width(c) for c in text)


# ---- JSON -------------------------------------------------------------------------------------


def _place(span: Span | None) -> dict:
    """file, line, column, end_line, end_column of a span (1-based; all None but the file for a whole file)."""
    if span is None:
        return {"file": None, "line": None, "column": None, "end_line": None, "end_column": None}
    if span.line == 0:
        return {"file": span.source.name, "line": None, "column": None, "end_line": None, "end_column": None}
    return {"file": span.source.name, "line": span.line, "column": span.column, "end_line": span.end_line, "end_column": span.end_column}


def to_json(diagnostic: Diagnostic) -> dict:
    """The diagnostic as a JSON-ready dict. Columns count characters (code points), 1-based."""
    stage = diagnostic.stage
    return {
        "code": diagnostic.code,
        "severity": diagnostic.severity.value,
        "stage": stage.value if stage is not None else None,
        "message": diagnostic.message,
        **_place(diagnostic.span),
        "hint": diagnostic.hint,
        "notes": list(diagnostic.notes),
        "related": [{"message": r.message, **_place(r.span)} for r in diagnostic.related],
        "path": diagnostic.path,
    }
