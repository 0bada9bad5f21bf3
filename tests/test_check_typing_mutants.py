"""The checker's type pass (`policydsl.check.typing`) and its types (`policydsl.check.types`),
pinned where mutation testing found gaps.

Each test names a behaviour of the type pass: the C203 / C267 diagnostic it reports (code,
line:col span, message, hint, related places), the type it infers for a definition, the
definitions it marks ill-typed, and the values of the small helpers other stages import
(`limit_value`, `limits_hold`, `with_unit`, the arithmetic table, `unify`).
docs/mutation.md says how these were found and what is left.

Policies are checked inside each test, never at import: mutmut switches mutants per call, so
a policy checked at import would be checked by the unmutated code.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from policydsl.check import CheckEnv
from policydsl.check import types as t
from policydsl.check import typing as ty
from policydsl.check.passes import PASSES
from policydsl.diagnostics.model import sort_key
from policydsl.link.inherit import link
from policydsl.api import parent_loader, parse_recovering
from policydsl.syntax import nodes as n
from policydsl.syntax.source import SourceFile

OWN = ("C203", "C267")  # the codes the type pass reports


def checked(text: str, root: Path | None = None, name: str = "p.policy") -> CheckEnv:
    """Parse, link and run every check pass over `text`; the scratch environment, kept whole
    (`ill_typed` is not in the frozen `Checked`)."""
    source = SourceFile(name, text)
    policy, diagnostics, _ = parse_recovering(source)
    assert policy is not None and not diagnostics, diagnostics
    linked, link_diagnostics = link(policy, source, parent_loader(root) if root is not None else None)
    assert not link_diagnostics, link_diagnostics
    env = CheckEnv(source, linked.policy, bounds=list(linked.bounds))
    env.linked = linked
    for check_pass in PASSES:
        check_pass(env)
    return env


def _span(span) -> str:
    return f"{span.line}:{span.column}-{span.end_line}:{span.end_column}"


def rows(env: CheckEnv, codes=OWN) -> list[tuple]:
    """The errors of `codes` (all errors when None): (code, span, message, hint), then one
    (message, file, span) per related place."""
    out = []
    for d in sorted(env.diagnostics, key=sort_key):
        if not d.is_error or (codes is not None and d.code not in codes):
            continue
        row = (d.code, _span(d.span), d.message, d.hint)
        if d.related:
            row += tuple((r.message, Path(r.span.source.name).name, _span(r.span)) for r in d.related)
        out.append(row)
    return out


def found(text: str, codes=OWN) -> list[tuple]:
    return rows(checked(text), codes)


def types_of(text: str, *names: str) -> dict[str, str]:
    env = checked(text)
    assert not rows(env, None), rows(env, None)
    return {name: str(env.def_types[name]) for name in names}



# ---- regression: a field's default checked against its limits --------------------------------
def test_a_default_against_the_limits_negated_or_of_another_type():
    # a negated default (`= -1`) was not checked against the limits; a default of another type
    # (`= "x"` for an int, `= 5` for a date) crashed the checker (TypeError comparing it with
    # the bounds) instead of being the C203 it is
    assert found("input { a: int in 0..10 = -1  b: money in 0 yuan..1 yuan = -(1 yuan)  c: int in -5..-1 = -1 }\nrule r = a\noutput r\n") == [
        ("C267", "1:27-1:29", "the default of `a` is outside its limits", None),
        ("C267", "1:60-1:69", "the default of `b` is outside its limits", None),
    ]
    assert found('input { a: date >= 2025-01-01 = 5  b: int in 0..10 = "x"  c: number in 0..10 = 1.5  d: number in 0..10 = 11 }\nrule r = a\noutput r\n') == [
        ("C203", "1:33-1:34", "field `a` is date but its default is int", "dates move by months: `date + 3 months`"),
        ("C203", "1:54-1:57", "field `b` is int but its default is text", None),
        ("C267", "1:106-1:108", "the default of `d` is outside its limits", None),
    ]


# ---- regression: a function's argument must be of its parameter's type -------------------------
def test_a_number_is_no_argument_for_an_int_parameter():
    # `comparable` (an int for an enum of whole numbers) accepted any pair that unifies, so
    # `f(1.5)` passed for `x: int`, and an int rule gave Decimal('3.0')
    text = (
        "function f(x: int): int = x * 2\nenum L { 1, 2 }\nfunction h(x: L): int = 1\nfunction g(x: int): int = x\n"
        "function k(x: number): number = x\ninput { l: L }\nrule r = f(1.5) + h(1) + h(3) + g(l) + k(1) + f(2)\noutput r\n"
    )
    assert found(text) == [
        ("C203", "7:12-7:15", "parameter `x` of `f` is int, not number", None),
        ("C203", "7:28-7:29", "parameter `x` of `h` is L, not int", None),
    ]
