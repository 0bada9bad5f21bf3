"""One diagnostic type for every stage, and the errors policydsl raises.

Takes spans (syntax/source.py); gives `Diagnostic` (a code, a message, where, a hint, notes,
related places as data, a facts field path), `Related`, and the errors: `PolicyError`
(a policy did not parse or check), `FactsError` of `FactError`s (claim facts), and
`EvaluationError` (a claim could not be computed). Each error gives its diagnostics
(`.diagnostics`; one `.diagnostic` for a FactError or an EvaluationError), so renderers
and JSON output treat them alike. Rendering is render.py's; `render_all` is importable here.

Codes are stable and registered in codes.py (docs/diagnostics.md is written from it):
P1xx parse, C2xx check, W2xx warnings, F3xx claim facts, R4xx evaluation, L5xx loading.
"""

from __future__ import annotations

import enum

import attrs

from policydsl.diagnostics.render import render_all, render_text, to_json
from policydsl.syntax.source import Span


def with_article(word) -> str:
    """`a param`, `an input`: a kind, type or noun named in a message, with its article."""
    text = str(word)
    return f"{'an' if text[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {text}"


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@attrs.frozen
class Related:
    """Another place a diagnostic points at, as data: "the parent's definition is here"."""

    message: str
    span: Span | None


@attrs.frozen
class Diagnostic:
    """One finding of any stage. `path`: the facts field it is about (`items[2].amount`)."""

    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    notes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    related: tuple[Related, ...] = attrs.field(default=(), converter=tuple)
    path: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def stage(self):
        """The `codes.Stage` the code's letter names (None for a code of no known letter)."""
        from policydsl.diagnostics.codes import stage_of

        return stage_of(self.code)

    def render(self) -> str:
        """`file:line:col: error[CODE]: message`, the source line, carets, then notes, related places and hint."""
        return render_text(self)

    def to_json(self) -> dict:
        return to_json(self)


def sort_key(diagnostic: Diagnostic):
    span = diagnostic.span
    return (span.source.name, span.start, diagnostic.code) if span else ("", 0, diagnostic.code)


class PolicydslError(Exception):
    """Base of every error policydsl raises on purpose; never a host exception.

    `code` is the registered code of an error that carries no diagnostics of its own (usage
    errors): `diagnostics_of` turns it into one `Diagnostic`, so every error can be rendered
    and written as JSON the same way.
    """

    code = "U600"


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

    @property
    def diagnostic(self) -> Diagnostic:
        """The problem as a Diagnostic: no span, the field path in `path`."""
        return Diagnostic(self.code, self.message, path=self.path or None)


class FactsError(PolicydslError):
    """Claim facts did not match the policy's input schema."""

    def __init__(self, errors: list[FactError]):
        self.errors = errors
        super().__init__("; ".join(e.render() for e in errors))

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [e.diagnostic for e in self.errors]


class EvaluationError(PolicydslError):
    """A claim's facts were valid but a rule could not be computed (e.g. division by zero)."""

    def __init__(self, message: str, rule: str | None = None, span: Span | None = None, code: str = "R400"):
        self.message = message  # without the rule and place that str() adds
        self.rule = rule
        self.span = span
        self.code = code
        where = f" (rule `{rule}` at {span.location})" if rule and span else (f" (rule `{rule}`)" if rule else "")
        super().__init__(f"{message}{where}")

    @property
    def diagnostic(self) -> Diagnostic:
        """The error as a Diagnostic: at the rule's span (or the invariant's), naming the rule in a note."""
        notes = (f"while computing rule `{self.rule}`",) if self.rule else ()
        return Diagnostic(self.code, getattr(self, "message", str(self)), self.span, notes=notes)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [self.diagnostic]


def diagnostics_of(error: PolicydslError) -> list[Diagnostic]:
    """The diagnostics an error carries: a PolicyError's, a FactsError's problems, an EvaluationError;
    any other PolicydslError has none."""
    if isinstance(error, (PolicyError, FactsError, EvaluationError)):
        return list(error.diagnostics)
    if isinstance(error, PolicydslError):
        return [Diagnostic(error.code, str(error), getattr(error, "span", None))]
    return []
