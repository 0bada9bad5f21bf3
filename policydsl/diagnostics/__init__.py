"""Diagnostics: the one error model (model.py), its renderer (render.py), the code registry (codes.py).

Takes nothing itself; gives the public names of model.py and render.py. The registry is
imported only by who needs it (`from policydsl.diagnostics import codes`): loading a
policy never does.
"""

from policydsl.diagnostics.model import (
    Diagnostic,
    EvaluationError,
    FactError,
    FactsError,
    PolicyError,
    PolicydslError,
    Related,
    Severity,
    diagnostics_of,
    sort_key,
)
from policydsl.diagnostics.render import render_all, render_text, to_json

__all__ = [
    "Diagnostic",
    "EvaluationError",
    "FactError",
    "FactsError",
    "PolicyError",
    "PolicydslError",
    "Related",
    "Severity",
    "diagnostics_of",
    "render_all",
    "render_text",
    "sort_key",
    "to_json",
]
