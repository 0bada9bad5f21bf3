"""One diagnostic type for every stage, and the one place that renders it.

Codes are stable (documented in docs/diagnostics.md): P1xx parse, C2xx check,
F3xx claim facts, R4xx evaluation, L5xx loading (files).
"""

from __future__ import annotations

import enum

import attrs

from policydsl.syntax.source import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@attrs.frozen
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def render(self) -> str:
        """`file:line:col: error[CODE]: message`, the source line, a caret, then hint and notes."""
        head = f"{self.severity.value}[{self.code}]: {self.message}"
        if self.span is None:
            lines = [head]
        else:
            lines = [f"{self.span.location}: {head}"]
            # A lone surrogate (possible in text given to `loads`) is shown as U+FFFD: the message must write out.
            source_line = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in self.span.source.line(self.span.line))
            if source_line:
                gutter = str(self.span.line)
                width = (
                    self.span.end_column - self.span.column
                    if self.span.end_line == self.span.line
                    else len(source_line) - self.span.column + 1
                )
                width = max(1, min(width, len(source_line) - self.span.column + 1))
                lines.append(f" {gutter} | {source_line}")
                lines.append(f" {' ' * len(gutter)} | {' ' * (self.span.column - 1)}{'^' * width}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


def render_all(diagnostics: list[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    body = "\n\n".join(d.render() for d in diagnostics)
    summary = f"{errors} error{'s' if errors != 1 else ''}"
    if warnings:
        summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
    return f"{body}\n\n{summary}"


def sort_key(diagnostic: Diagnostic):
    span = diagnostic.span
    return (span.source.name, span.start, diagnostic.code) if span else ("", 0, diagnostic.code)


class PolicydslError(Exception):
    """Base of every error policydsl raises on purpose; never a host exception."""


class PolicyError(PolicydslError):
    """A policy did not parse or check: carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=sort_key)
        super().__init__(render_all(self.diagnostics))


@attrs.frozen
class FactError:
    """One problem with claim facts, named by its field path (`items[2].amount`)."""

    path: str
    message: str
    code: str = "F300"

    def render(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class FactsError(PolicydslError):
    """Claim facts did not match the policy's input schema."""

    def __init__(self, errors: list[FactError]):
        self.errors = errors
        super().__init__("; ".join(e.render() for e in errors))


class EvaluationError(PolicydslError):
    """A claim's facts were valid but a rule could not be computed (e.g. division by zero)."""

    def __init__(self, message: str, rule: str | None = None, span: Span | None = None, code: str = "R400"):
        self.rule = rule
        self.span = span
        self.code = code
        where = f" (rule `{rule}` at {span.location})" if rule and span else (f" (rule `{rule}`)" if rule else "")
        super().__init__(f"{message}{where}")
