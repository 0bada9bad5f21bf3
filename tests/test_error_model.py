"""One error model (issue 10): carets by display width, JSON, related places, the code registry."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata

import pytest

import policydsl
from policydsl.diagnostics import (
    Diagnostic,
    EvaluationError,
    FactError,
    FactsError,
    PolicyError,
    Related,
    Severity,
    diagnostics_of,
    render_all,
    render_text,
    to_json,
)
from policydsl.diagnostics import codes, model
from policydsl.diagnostics.codes import Stage
from policydsl.syntax.source import SourceFile, Span

from .conftest import ROOT


def columns(text: str) -> int:
    """Display width, worked out here independently of render.py."""
    total = 0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            total += 2
        elif not unicodedata.combining(char):
            total += 1
    return total


def excerpt_of(rendered: str, line: int) -> tuple[str, str]:
    """The source line and the caret line shown for `line`, without their gutters."""
    lines = rendered.splitlines()
    gutter = f" {line} | "
    at = next(i for i, text in enumerate(lines) if text.startswith(gutter))
    assert lines[at + 1].startswith(f" {' ' * len(str(line))} | ")
    return lines[at][len(gutter) :], lines[at + 1][len(gutter) :]


def only_diagnostic(text: str) -> Diagnostic:
    with pytest.raises(PolicyError) as raised:
        policydsl.loads(text, "t.policy")
    (diagnostic,) = raised.value.diagnostics
    return diagnostic


# ---- carets by display width --------------------------------------------------------------------


def test_carets_under_chinese_names_and_strings():
    text = 'input { 金额: money  day: date }\nrule 结果: money = 金额 + "中文说明" + day\noutput 结果\n'
    diagnostic = only_diagnostic(text)
    assert diagnostic.code == "C203"
    source, carets = excerpt_of(diagnostic.render(), 2)
    assert source == 'rule 结果: money = 金额 + "中文说明" + day'
    before = source[: diagnostic.span.column - 1]
    spanned = source[diagnostic.span.column - 1 : diagnostic.span.end_column - 1]
    assert spanned == '金额 + "中文说明"'
    assert carets == " " * columns(before) + "^" * columns(spanned)
    assert columns(before) == len(before) + 2  # `结果` is two characters but four columns


def test_caret_after_a_chinese_string_on_the_same_line():
    text = 'input { 金额: money }\nrule 说明: text = when 金额 > 0 yuan then "已经支付" otherwise 3\noutput 说明\n'
    diagnostic = only_diagnostic(text)
    source, carets = excerpt_of(diagnostic.render(), 2)
    assert source[diagnostic.span.column - 1] == "3"
    assert carets == " " * columns(source[: source.index(" 3") + 1]) + "^"
    # the caret sits under the `3` as a terminal shows it: 8 columns right of the code point count
    assert len(carets) - 1 == diagnostic.span.column - 1 + 8


def test_combining_marks_take_no_column():
    text = 'input { a: money }\nrule r: text = when a > 0 yuan then "cafe\u0301 ok" otherwise 3\noutput r\n'
    diagnostic = only_diagnostic(text)
    source, carets = excerpt_of(diagnostic.render(), 2)
    assert carets.index("^") == diagnostic.span.column - 2  # one code point before the caret takes no column


def test_wide_characters_in_the_span_get_two_carets_each():
    text = 'input { a: money }\nrule r: money = a + "😀😀" # 中文注释\noutput r\n'
    diagnostic = only_diagnostic(text)
    _, carets = excerpt_of(diagnostic.render(), 2)
    assert carets == " " * 16 + "^" * len('a + ""') + "^" * 4


def test_tabs_are_copied_into_the_caret_line():
    """Tabs before the span and inside it stay tabs, so the carets line up at any tab width."""
    text = 'input { a: money }\nrule r: money =\ta +\t"x"\noutput r\n'
    diagnostic = only_diagnostic(text)
    source, carets = excerpt_of(diagnostic.render(), 2)
    assert carets == " " * len("rule r: money =") + "\t" + "^^^\t^^^"
    for tab in (4, 8):
        assert carets.expandtabs(tab).index("^") == source.expandtabs(tab).index("a +")
        assert carets.expandtabs(tab).rindex("^") == source.expandtabs(tab).rindex('"')


def test_ascii_lines_render_as_before():
    """One column a character: the shape every snapshot of check output has."""
    source = SourceFile("x.policy", "param cap = 200_000 yuan\nrule r: money = cap + 1\n")
    span = Span(source, 2, 17, 2, 24, 41, 48)
    rendered = render_text(Diagnostic("C203", "cannot add", span, hint="h", notes=("n",)))
    assert rendered == (
        "x.policy:2:17: error[C203]: cannot add\n"
        " 2 | rule r: money = cap + 1\n"
        "   |                 ^^^^^^^\n"
        "  note: n\n"
        "  hint: h"
    )


def test_span_past_the_end_of_its_line_and_over_lines():
    source = SourceFile("x.policy", "中文 abc\nnext\n")
    at_end = render_text(Diagnostic("P103", "end", Span(source, 1, 7, 1, 8, 6, 7)))
    assert excerpt_of(at_end, 1)[1] == " " * 8 + "^"  # after the line's 8 columns
    over_lines = render_text(Diagnostic("C203", "x", Span(source, 1, 1, 2, 3, 0, 9)))
    assert excerpt_of(over_lines, 1)[1] == "^" * 8  # to the end of the first line


# ---- related places, paths, notes ----------------------------------------------------------------


def _spans():
    parent = SourceFile("base.policy", "param cap = 1 yuan\n")
    child = SourceFile("child.policy", "param cap = 2 yuan\n")
    return Span(parent, 1, 7, 1, 10, 6, 9), Span(child, 1, 7, 1, 10, 6, 9)


def test_related_places_render_as_notes():
    there, here = _spans()
    diagnostic = Diagnostic(
        "C243", "`cap` is already defined by the parent policy", here,
        hint="write `override param cap ...`", notes=("a note",), related=[Related("the parent's definition", there), Related("no place", None)],
    )
    assert diagnostic.related == (Related("the parent's definition", there), Related("no place", None))
    assert render_text(diagnostic).splitlines()[3:] == [
        "  note: a note",
        "  note: the parent's definition (at base.policy:1:7)",
        "  note: no place",
        "  hint: write `override param cap ...`",
    ]
    with_source = render_text(diagnostic, related_source=True).splitlines()
    assert with_source[5:7] == ["     1 | param cap = 1 yuan", "       |       ^^^"]
    assert diagnostic.render() == render_text(diagnostic)


def test_to_json_fields():
    there, here = _spans()
    diagnostic = Diagnostic("C243", "defined twice", here, hint="h", notes=["n"], related=(Related("there", there),))
    assert to_json(diagnostic) == {
        "code": "C243", "severity": "error", "stage": "check", "message": "defined twice",
        "file": "child.policy", "line": 1, "column": 7, "end_line": 1, "end_column": 10,
        "hint": "h", "notes": ["n"],
        "related": [{"message": "there", "file": "base.policy", "line": 1, "column": 7, "end_line": 1, "end_column": 10}],
        "path": None,
    }
    whole = to_json(Diagnostic("C209", "no input", Span.whole_file(there.source), severity=Severity.WARNING))
    assert (whole["file"], whole["line"], whole["column"], whole["severity"]) == ("base.policy", None, None, "warning")
    assert to_json(Diagnostic("L500", "gone"))["file"] is None
    assert diagnostic.to_json() == to_json(diagnostic)


def test_stage_comes_from_the_code_letter():
    stages = {"P100": Stage.PARSE, "C200": Stage.CHECK, "W230": Stage.CHECK, "F302": Stage.FACTS, "R401": Stage.EVALUATION, "L500": Stage.LOADING}
    for code, stage in stages.items():
        assert Diagnostic(code, "m").stage is stage
    assert Diagnostic("X999", "m").stage is None


def test_fact_error_gives_a_diagnostic_and_keeps_its_text():
    problem = FactError("items[2].amount", 'expected money, got "abc"', "F302")
    assert problem.render() == 'items[2].amount: expected money, got "abc"'
    assert problem.diagnostic == Diagnostic("F302", 'expected money, got "abc"', path="items[2].amount")
    assert render_text(problem.diagnostic) == 'error[F302]: items[2].amount: expected money, got "abc"'
    assert to_json(problem.diagnostic)["path"] == "items[2].amount"
    assert FactError("", "a claim must be a JSON object").diagnostic.path is None
    error = FactsError([problem, FactError("day", "missing (required field)", "F301")])
    assert str(error) == 'items[2].amount: expected money, got "abc"; day: missing (required field)'
    assert [d.code for d in error.diagnostics] == ["F302", "F301"] == [d.code for d in diagnostics_of(error)]


def test_evaluation_error_gives_a_diagnostic_and_keeps_its_text():
    _, here = _spans()
    error = EvaluationError("division by zero", "paid", here, code="R401")
    assert str(error) == "division by zero (rule `paid` at child.policy:1:7)"
    assert (error.rule, error.span, error.code) == ("paid", here, "R401")
    assert error.diagnostic == Diagnostic("R401", "division by zero", here, notes=("while computing rule `paid`",))
    assert str(EvaluationError("x")) == "x" and EvaluationError("x").diagnostic == Diagnostic("R400", "x")
    assert str(EvaluationError("x", "r")) == "x (rule `r`)"
    assert diagnostics_of(error) == [error.diagnostic]
    assert diagnostics_of(PolicyError([Diagnostic("L500", "gone")])) == [Diagnostic("L500", "gone")]
    assert diagnostics_of(policydsl.PolicydslError("other")) == [Diagnostic("U600", "other")]


def test_usage_errors_are_diagnostics_too():
    from policydsl.link.regions import RegionError
    from policydsl.tools.claims_io import OutputError, UsageError

    for error, code in [(UsageError("x.jsonl: no such file"), "U600"), (OutputError("disk full"), "U601"), (RegionError("no policy"), "U602")]:
        (diagnostic,) = diagnostics_of(error)
        assert (diagnostic.code, diagnostic.message, diagnostic.stage.value) == (code, str(error), "usage")
        assert to_json(diagnostic)["code"] == code


def test_evaluation_errors_from_a_real_claim():
    policy = policydsl.loads("input { a: money  b: int }\nrule r: money = round(a / b, half_up)\noutput r\n", "d.policy")
    with pytest.raises(EvaluationError) as raised:
        policy.evaluate({"a": "1", "b": 0})
    diagnostic = raised.value.diagnostic
    assert diagnostic.code == "R401" and diagnostic.stage is Stage.EVALUATION
    rendered = render_text(diagnostic)
    assert rendered.startswith(f"{diagnostic.span.location}: error[R401]: division by zero")
    assert diagnostic.span.line == 2 and "\n 2 | rule r: money = round(a / b, half_up)\n" in rendered
    assert rendered.endswith("\n  note: while computing rule `r`")


def test_model_keeps_its_names_and_delegates_rendering():
    assert model.render_all is render_all and model.render_text is render_text
    diagnostics = [Diagnostic("C200", "undefined"), Diagnostic("W230", "unused", severity=Severity.WARNING)]
    assert render_all(diagnostics) == "error[C200]: undefined\n\nwarning[W230]: unused\n\n1 error, 1 warning"
    assert str(PolicyError(diagnostics)) == render_all(diagnostics)


# ---- the registry ---------------------------------------------------------------------------------

# A code quoted ("C224", 'R401') or in brackets (`error[L500]`); `noqa: C901` is neither.
USED = re.compile(r"""["'\[]([PCFRLWU]\d{3})["'\]]""")


def used_codes() -> dict[str, list[str]]:
    """Every code written in the package's source, outside the registry itself: code -> files."""
    used: dict[str, list[str]] = {}
    for path in sorted((ROOT / "policydsl").rglob("*.py")):
        if path == ROOT / "policydsl" / "diagnostics" / "codes.py":
            continue
        for code in set(USED.findall(path.read_text(encoding="utf-8"))):
            used.setdefault(code, []).append(str(path.relative_to(ROOT)))
    return used


def test_every_used_code_is_registered():
    used = used_codes()
    assert len(used) > 70  # the scan sees the codes
    missing = {code: files for code, files in used.items() if code not in codes.CODES}
    assert not missing, f"codes used but not registered in policydsl/diagnostics/codes.py: {missing}"


def test_every_registered_code_is_used_or_reserved():
    used = used_codes()
    unused = sorted(code for code, entry in codes.CODES.items() if code not in used and not entry.reserved)
    assert not unused, f"registered codes that nothing gives (mark them reserved=True, or remove them): {unused}"
    assert codes.CODES["F300"].reserved  # the FactError default


def test_registry_entries_are_complete():
    for code, entry in codes.CODES.items():
        assert re.fullmatch(r"[PCFRLWU]\d{3}", code) and entry.code == code
        assert entry.stage is not None and entry.stage is codes.stage_of(code)
        assert entry.title and entry.title == entry.title.strip() and not entry.title.endswith(".")
        assert entry.explanation.endswith((".", ")")), code
        assert entry.hint is None or not entry.hint.endswith("."), code
    letters = [s.letter for s in codes.SECTIONS]
    assert len(set(letters)) == len(letters)
    assert list(codes.CODES) == sorted(codes.CODES, key=lambda c: (letters.index(c[0]), c))


def test_tests_files_expect_registered_codes():
    for path in [*(ROOT / "policies").rglob("*.tests.json"), *(ROOT / "tests").rglob("*.tests.json")]:
        for code in re.findall(r'"expect_error"\s*:\s*"([^"]*)"', path.read_text(encoding="utf-8")):
            assert code in codes.CODES, f"{path}: {code}"


def test_docs_page_is_generated_from_the_registry():
    page = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert page == codes.page(), "docs/diagnostics.md is stale: run `python -m policydsl.diagnostics.codes`"
    for code, entry in codes.CODES.items():
        assert f"{code}: {entry.title}" in page and entry.explanation in page


def test_generator_check_mode(tmp_path):
    stale = tmp_path / "diagnostics.md"
    stale.write_text("# old\n", encoding="utf-8")
    command = [sys.executable, "-m", "policydsl.diagnostics.codes"]
    assert subprocess.run([*command, "--check"], cwd=ROOT, capture_output=True, timeout=60).returncode == 0
    checked = subprocess.run([*command, "--check", "--output", str(stale)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1 and "stale" in checked.stderr
    assert subprocess.run([*command, "--output", str(stale)], cwd=ROOT, capture_output=True, timeout=60).returncode == 0
    assert stale.read_text(encoding="utf-8") == codes.page()
