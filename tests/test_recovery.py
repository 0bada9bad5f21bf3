"""Every mistake of a file found at once (issue 15): syntax errors after the first, the hints of
the known mistakes wherever they are, full-width punctuation, unclosed brackets, and unit slips
reported at their root. The rendered reports are golden files (tests/data/broken/, through
test_golden.py); these tests pin what they are made of."""

from __future__ import annotations

import re
import shutil

import pytest

import policydsl
from policydsl import api
from policydsl.diagnostics.model import PolicyError
from policydsl.syntax import mistakes, parser
from policydsl.syntax.source import SourceFile

from .conftest import DATA, EXAMPLE_POLICY, ROOT

BROKEN = DATA / "broken"
# A first definition that parses, so that every mistake below is in a later one.
BEFORE = "enum Level { 1, 2, 3 }\ninput {\n  amount: money\n  level: Level\n  newborn: bool\n  a: bool\n  b: bool\n  c: money\n}\nrule paid: money = amount\n"


def diagnostics_of(text: str, name: str = "p.policy", root=None) -> list:
    with pytest.raises(PolicyError) as caught:
        policydsl.loads(text, name=name, root=root)
    for diagnostic in caught.value.diagnostics:
        diagnostic.render().encode("utf-8")
    return caught.value.diagnostics


def errors_of(text: str, **kwargs) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.column) for d in diagnostics_of(text, **kwargs) if d.is_error]


# ---- every syntax error, once ----------------------------------------------------------------


def test_a_file_with_five_syntax_errors_reports_five():
    text = (BROKEN / "syntax_five_errors.policy").read_text(encoding="utf-8")
    found = diagnostics_of(text)
    assert [(d.code, d.span.line) for d in found] == [("P100", 13), ("P100", 17), ("P100", 20), ("P100", 22), ("P100", 25)]
    assert [d.hint.split(":")[0] for d in found] == [
        "thousands are separated with `_`, not `,`",
        "equality is a single `=` (e.g. `person.category = newborn`)",
        "conditions are written `when CONDITION then VALUE otherwise VALUE`, not `if`",
        "a definition starts with a keyword",
        "missing `then` after the condition",
    ]


def test_an_error_is_reported_once_and_nothing_it_causes_in_its_definition():
    text = BEFORE + "rule r: money =\n  when a then (c + \n  when b then c c c\n  otherwise ) ) )\nrule s: money = c c\noutput paid\n"
    assert errors_of(text) == [("P100", 13, 8), ("P100", 15, 19)]


def test_the_definitions_that_parse_are_checked_and_their_errors_reported():
    text = BEFORE + "rule r: money = when a then c\nrule s: money = amount + 10%\nrule t: money = undefined_here\noutput paid, r, s, t\n"
    assert errors_of(text) == [("P100", 12, 1), ("C203", 12, 17), ("C200", 13, 17)]


def test_no_follow_on_errors_from_a_definition_that_did_not_parse():
    """`r` did not parse: its uses, its output and the unused warnings of what it reads are not reported."""
    text = BEFORE + "param cap = 500 yuan\nrule r: money = min(c,, cap)\nrule s: money = r + paid\noutput paid, r, s\n"
    found = diagnostics_of(text)
    assert [(d.code, d.span.line) for d in found] == [("P100", 12)]


def test_a_skipped_input_or_output_is_not_also_missing():
    assert errors_of("input { a: money b }\nrule r: money = a\noutput r\n") == [("P100", 1, 20)]
    assert errors_of("input { a: money }\nrule r: money = a\noutput r,, a\n") == [("P100", 3, 10)]


def test_a_header_that_does_not_parse_stops_the_check():
    """Without its `extends`, every inherited name would be unknown: only the syntax errors."""
    text = 'policy "x"\n  version 2025\n  extends "national/baseline-2025"\noverride param major_threshold = 1_000 yuan\nrule r: money = nothing\n'
    assert errors_of(text, root=ROOT / "policies") == [("P100", 2, 11)]


def test_a_second_header_is_an_error_of_its_own():
    text = BEFORE + 'policy "again"\n  version "2"\noutput paid\n'
    found = diagnostics_of(text)
    assert [(d.code, d.span.line) for d in found] == [("P100", 11)]
    assert "comes once, at the start of the file" in found[0].hint


def test_a_file_with_syntax_errors_still_gives_the_definitions_that_parsed():
    """For an editor: symbols, hover and completion keep working while the author types."""
    text = (BROKEN / "syntax_five_errors.policy").read_text(encoding="utf-8")
    source = SourceFile("five.policy", text)
    policy_file, diagnostics = api.parse_source(source)
    assert policy_file is not None and policy_file.header.title == "Five syntax errors"
    assert [type(d).__name__ for d in policy_file.definitions] == ["EnumDef", "InputDef", "ParamDef", "OutputDef"]
    assert [d.code for d in diagnostics] == ["P100"] * 5
    _, _, skipped = api.parse_recovering(source)
    assert [(s.keyword, sorted(s.names)) for s in skipped] == [
        ("param", ["cap"]), ("rule", ["top_level"]), ("rule", ["basic"]), (None, ["capped"]), ("rule", ["deductible"]),
    ]
    checked, found = api.analyze(source)
    assert checked is not None and "ratio" in checked.symbols  # the definitions that parsed are checked
    assert [d.code for d in found] == ["P100"] * 5


def test_the_positions_of_definitions_after_an_error_are_right():
    text = BEFORE + "rule r: money = c c\n\n  rule s: money =\n    c + amount\noutput paid, s\n"
    policy_file, _ = api.parse_source(SourceFile("p.policy", text))
    rule = next(d for d in policy_file.definitions if getattr(d, "name", None) == "s")
    assert (rule.span.line, rule.span.column, rule.name_span.line, rule.name_span.column) == (13, 3, 13, 8)
    assert rule.body.span.text == "c + amount" and rule.body.span.start == text.index("c + amount")


def test_parse_tree_still_gives_the_first_error():
    first = parser.parse_tree(SourceFile("p.policy", BEFORE + "rule r = a == b\nrule s = when a b\n"))
    assert first.code == "P100" and first.span.line == 11


def test_a_valid_file_is_parsed_once_without_recovery(monkeypatch):
    def no_recovery(source):
        raise AssertionError("recovery ran on a valid file")

    monkeypatch.setattr(parser, "_recover", no_recovery)
    text = EXAMPLE_POLICY.read_text(encoding="utf-8")
    parsed = parser.parse(SourceFile(str(EXAMPLE_POLICY), text))
    assert parsed.diagnostics == () and parsed.skipped == ()


def test_a_policy_error_lists_every_diagnostic():
    with pytest.raises(PolicyError) as caught:
        policydsl.load(BROKEN / "syntax_known_mistakes.policy")
    assert len(caught.value.diagnostics) == 16
    assert str(caught.value).endswith("16 errors")


@pytest.mark.parametrize("text", ["", "\n", "rule", "@", "((((", "rule r = (\n" * 50, "\u3000" * 30, "，" * 100, "rul\nrul\n", "x: y\n" * 20])
def test_odd_texts_give_diagnostics_not_tracebacks(text):
    try:
        policydsl.loads(text, name="odd.policy")
    except PolicyError as error:
        assert all(d.span is None or d.span.source.name == "odd.policy" for d in error.diagnostics)


# ---- the known mistakes, wherever they are -----------------------------------------------------


EXAMPLES = [(mistake, example) for mistake in mistakes.MISTAKES for example in mistake.examples]


def _first_hint(text: str) -> str | None:
    """The hint of the first syntax error, without the places it names (`at 11:20`)."""
    parsed = parser.parse(SourceFile("p.policy", text))
    hint = parsed.diagnostics[0].hint if parsed.diagnostics else None
    return re.sub(r"at \d+:\d+", "at L:C", hint) if hint else None


@pytest.mark.parametrize("mistake,example", EXAMPLES, ids=[f"{m.name}: {e[:30]}" for m, e in EXAMPLES])
def test_each_known_mistake_has_its_hint_in_a_later_definition(mistake, example, monkeypatch):
    alone = _first_hint(example + "\n")
    later = _first_hint(BEFORE + example + "\n")
    assert later is not None and not later.startswith("expected")
    assert later == alone  # the same hint in the first definition and in a later one
    # ... and it is this entry's: without it, the hint is another
    monkeypatch.setattr(mistakes, "MISTAKES", tuple(m for m in mistakes.MISTAKES if m is not mistake))
    assert _first_hint(BEFORE + example + "\n") != later


@pytest.mark.parametrize(
    "written,hint",
    [
        ("param cap = 400,000 yuan", "write `400_000 yuan` for `400,000 yuan`"),
        ("param cap = 1,500,000.50 yuan", "write `1_500_000.50 yuan`"),
        ("param cap = 40万", "`40万` is 400,000 yuan: write the amount in digits with `yuan`, `400_000 yuan`"),
        ("param cap = 40万元", "`400_000 yuan`"),
        ("param cap = 1.5千元", "`1_500 yuan`"),
        ("param cap = 2亿", "`200_000_000 yuan`"),
        ("basic: money = amount * 60%", "write `rule basic: money = amount * 60%`"),
        ("cap = 150_000 yuan", "write `param cap = 150_000 yuan`"),
        ("deductible: Level -> money { 1: 200 yuan }", "write `table deductible: Level -> money { 1: 200 yuan }`"),
        ("rul basic: money = amount", "did you mean `rule`?"),
        ("rule x: bool = a => b", "write `>=`"),
        ("rule x: text = 'a'", 'double quotes: `"..."`'),
    ],
)
def test_hints_say_what_to_write(written, hint):
    assert hint in _first_hint(BEFORE + written + "\n")


def test_if_and_else_are_reported_at_the_word():
    found = diagnostics_of(BEFORE + "rule x: money =\n  when a then c\n  else amount\noutput paid\n")
    assert (found[0].code, found[0].span.line, found[0].span.column, found[0].message) == ("P100", 13, 3, "`else` is not a keyword")


def test_the_missing_then_and_otherwise_hints_are_kept():
    assert errors_of(BEFORE + "rule x: money =\n  when a c\n  otherwise c\noutput paid\n") == [("P100", 12, 10)]
    found = diagnostics_of(BEFORE + "rule x: money =\n  when a then c\noutput paid\n")
    assert (found[0].span.line, found[0].span.column, found[0].message) == (13, 1, "unexpected `output`")
    assert found[0].hint == mistakes.OTHERWISE_HINT


# ---- full-width punctuation ------------------------------------------------------------------------


@pytest.mark.parametrize("char", sorted(set(mistakes.FULL_WIDTH) - set('“”＂\u3000')))
def test_each_full_width_character_gets_its_ascii_replacement(char):
    ascii_char = mistakes.FULL_WIDTH[char][0]
    found = diagnostics_of(BEFORE + f"rule x: money = c {char} c\noutput paid\n")
    first = next(d for d in found if d.code == "P124")  # the ASCII text may have an error of its own
    assert (first.span.line, first.span.column) == (11, 19)
    assert first.hint == f"use the ASCII `{ascii_char}` instead of `{char}`"


def test_full_width_text_is_read_as_its_replacement_so_later_errors_are_found():
    text = BEFORE + "param ratio = 60％\nrule x： money = round（c * ratio， half_up）\nrule y: money = c + 10%\noutput paid, x, y\n"
    found = diagnostics_of(text)
    assert [(d.code, d.span.line, d.span.column) for d in found] == [
        ("P124", 11, 17), ("P124", 12, 7), ("P124", 12, 22), ("P124", 12, 32), ("P124", 12, 41), ("C203", 13, 17),
    ]


def test_full_width_quotes_and_spaces_and_thousands():
    text = BEFORE + "param　cap = 150，000 yuan because “按比例支付，不超过上限”\noutput paid, cap\n"
    found = diagnostics_of(text)
    assert [(d.code, d.message) for d in found] == [
        ("P124", "the ideographic space U+3000 in policy text"),
        ("P124", "full-width `，` in a number"),
        ("P124", "a string in full-width quotes"),
    ]
    assert found[1].hint == "thousands are separated with `_`: write `150_000`"
    text = text.replace("　", " ").replace("，000", "_000").replace("“", '"').replace("”", '"')
    policy = policydsl.loads(text)  # the full-width comma inside the string is text
    assert str(policy.evaluate({"amount": "1", "level": 1, "newborn": False, "a": True, "b": True, "c": "1"}).outputs["cap"]) == "150000.00"


def test_full_width_text_in_strings_and_comments_is_text():
    policydsl.loads(BEFORE + 'rule r: money = c because "第一条（二）：60％，上限"  # 注：按比例\noutput r\n')


def test_full_width_digits_and_names_are_still_refused_before_parsing():
    """P118 and P123 (limits.py) stay as they were: the file is not parsed at all."""
    assert errors_of(BEFORE + "param cap = ５ yuan\noutput paid\n") == [("P118", 11, 13)]
    assert errors_of(BEFORE + "param ｃａｐ = 5 yuan\noutput paid\n") == [("P123", 11, 7)]


def test_many_full_width_characters_are_summed_up():
    found = [d for d in diagnostics_of(BEFORE + "rule x: money = min(c" + "，c" * 40 + ")\noutput paid\n") if d.code == "P124"]
    assert len(found) == mistakes.MAX_FULL_WIDTH_DIAGNOSTICS
    assert "20 more full-width characters follow" in found[-1].notes[0]


# ---- unclosed brackets ------------------------------------------------------------------------------


def test_an_unclosed_bracket_is_reported_where_it_opens():
    text = BEFORE + "rule r: money = max(0 yuan,\n  c - amount\nrule s: money = c\noutput paid, s\n"
    found = diagnostics_of(text)
    assert len(found) == 1
    (diagnostic,) = found
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.column, diagnostic.message) == ("P105", 11, 20, "`(` is never closed")
    assert diagnostic.hint == "close it with `)`"
    (related,) = diagnostic.related
    assert (related.span.line, related.span.column) == (13, 1)


@pytest.mark.parametrize(
    "text,where",
    [
        ("rule r: money = min(c, amount", (11, 20)),  # at the end of the file
        ("table t: int -> money {\n  1: 2 yuan\noutput paid", (11, 23)),
        ("rule r: bool = a and (b or\n  (a and b)\n  when", (11, 22)),
    ],
)
def test_unclosed_brackets_anywhere(text, where):
    found = [d for d in diagnostics_of(BEFORE + text + "\n") if d.code.startswith("P")]
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("P105", *where)]


def test_a_bracket_closed_later_is_not_called_unclosed():
    """A missing comma on a later line of a call: the call is closed, so it is an unexpected token."""
    found = diagnostics_of(BEFORE + "rule r: money = min(\n  c\n  amount)\noutput paid\n")
    assert (found[0].code, found[0].span.line) == ("P100", 13)


# ---- unit slips, at their root --------------------------------------------------------------------


def _example_with(tmp_path, old: str, new: str):
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies" / "example", policies / "example")
    path = policies / "example" / "resident-2025.policy"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_percentage_written_as_a_number_in_the_example_province(tmp_path):
    """`param cross_province_cut = 10` (10% meant): one error at the parameter, its use related."""
    path = _example_with(tmp_path, "param cross_province_cut = 10%", "param cross_province_cut = 10")
    with pytest.raises(PolicyError) as caught:
        policydsl.load(path)
    (diagnostic,) = caught.value.diagnostics
    line = path.read_text(encoding="utf-8").splitlines().index("param cross_province_cut = 10") + 1
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.text) == ("C203", line, "10")
    assert diagnostic.message == "param `cross_province_cut` is a number; its uses need a ratio: write `10%`"
    assert [r.message for r in diagnostic.related] == ["used as a ratio here"]
    assert diagnostic.related[0].span.text == "cross_province_cut"


def test_a_bare_number_used_as_a_ratio_everywhere_is_one_error():
    text = (BROKEN / "unit_root_cause.policy").read_text(encoding="utf-8")
    found = diagnostics_of(text)
    assert [(d.code, d.span.line) for d in found] == [("C203", 8), ("C203", 22)]
    assert len(found[0].related) == 3
    assert found[1].message == "cannot add money and ratio"  # another type error stays where it is


@pytest.mark.parametrize(
    "definition,use,fix,unit",
    [
        ("param p = 5", "rule r: ratio = 60% + p", "5%", "a ratio"),
        ("param p = 0.05", "rule r: ratio = 60% - p", "5%", "a ratio"),
        ("param p = 200", "rule r: money = amount - p", "200 yuan", "money"),
        ("param p = 200", "rule r: bool = amount > p", "200 yuan", "money"),
        ("param p = 200", "rule r: money = max(p, amount)", "200 yuan", "money"),
        ("param p = 3", "rule r: months = p", "3 months", "months"),
        ("param p = 3", "rule r: bool = when a then 1 months > 0 months otherwise p > 1 months", "3 months", "months"),
        ("param p = 5", "table r: Level -> ratio { default: p }", "5%", "a ratio"),
        ("param p = 5", "tiers r { from 0 yuan to p: 10%  above p: 20% }", "5 yuan", "money"),
        ("param p = 5", "rule r: ratio = when a then p otherwise 10%", "5%", "a ratio"),
    ],
)
def test_bare_numbers_are_reported_at_the_parameter(definition, use, fix, unit):
    outputs = "paid, r" if use.startswith("rule") else "paid"
    found = diagnostics_of(BEFORE + f"{definition}\n{use}\noutput {outputs}\n")
    errors = [d for d in found if d.is_error]
    assert [(d.code, d.span.line) for d in errors] == [("C203", 11)], [d.render() for d in errors]
    assert errors[0].message == f"param `p` is a number; its uses need {unit}: write `{fix}`"


def test_uses_that_need_different_units_are_reported_where_they_are():
    text = BEFORE + "param p = 5\nrule r: ratio = 60% + p\nrule s: money = amount + p\noutput paid, r, s\n"
    assert errors_of(text) == [("C203", 12, 17), ("C203", 13, 17)]


def test_a_declared_or_literal_number_is_not_a_slip():
    """Only a param written as a bare number: literals and declared numbers keep their errors."""
    assert errors_of(BEFORE + "rule r: ratio = 60% + 5\noutput paid, r\n") == [("C203", 11, 17)]
    assert errors_of(BEFORE + "param p: number = 5\nrule r: ratio = 60% + p\noutput paid, r\n") == [("C203", 12, 17)]
    assert errors_of(BEFORE + 'param p = "5"\nrule r: ratio = 60% + p\noutput paid, r\n') == [("C203", 12, 17)]


def test_an_override_of_a_bounded_ratio_with_a_bare_number(tmp_path):
    """jiangxi's `override param referral_cut = 0%` written `= 5`: one error at the override, not a
    C215 against the ceiling and a branch error in the national baseline."""
    (tmp_path / "national").mkdir()
    shutil.copy(ROOT / "policies" / "national" / "baseline-2025.policy", tmp_path / "national")
    (tmp_path / "x").mkdir()
    path = tmp_path / "x" / "cut.policy"
    path.write_text('policy "x"\n  extends "national/baseline-2025"\noverride param referral_cut = 5\n', encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        policydsl.load(path, root=tmp_path)
    errors = [d for d in caught.value.diagnostics if d.is_error]
    assert [(d.code, d.span.line, d.span.column) for d in errors] == [("C203", 3, 31)]
    assert errors[0].message == "param `referral_cut` is a number; its uses need a ratio: write `5%`"
    assert "the value it overrides is a ratio here" in [r.message for r in errors[0].related]


def test_ratios_out_of_range_made_from_a_bare_number_are_one_error():
    found = diagnostics_of((BROKEN / "unit_out_of_range.policy").read_text(encoding="utf-8"))
    assert [(d.code, d.span.line) for d in found] == [("C220", 7)]
    assert [r.message for r in found[0].related] == ["tier rate is 560% here", "tier rate is 630% here"]
    # a ratio out of range for another reason stays where it is
    assert errors_of(BEFORE + "param one = 1\nparam r = 150% * one\noutput paid, r\n") == [("C220", 12, 11)]


def test_the_golden_reports_cover_the_new_files():
    names = {p.stem for p in BROKEN.glob("*.policy")}
    assert {"syntax_five_errors", "syntax_known_mistakes", "syntax_full_width", "syntax_unclosed_bracket", "unit_root_cause", "unit_out_of_range"} <= names
    for name in names:
        assert (ROOT / "tests" / "snapshots" / "check" / f"{name}.txt").is_file(), name


def test_the_hints_of_the_mistakes_are_documented():
    page = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for word in ("`==`", "`if`/`else`", "`400,000 yuan`", "`40万`", "P105", "P124"):
        assert word in page, word
    assert re.search(r"### .*P105: unclosed bracket", page) and re.search(r"### .*P124: full-width punctuation", page)


def test_the_places_to_resume_at_are_the_grammars_definition_keywords():
    """mistakes.DEFINITION_KEYWORDS and DROPPED are what the grammar accepts where a definition starts:
    a keyword added to the grammar must be added there too, or the parser would not resume at it."""

    def accepted(text: str) -> set[str]:
        interactive = parser._lark().parse_interactive(text)
        for _ in interactive.iter_parse():
            pass
        return {parser._terminal_text(t) for t in interactive.accepts()}

    after_a_definition = accepted("input { a: money }\n")
    assert after_a_definition - {"$END", "MODIFIER", "drop"} == set(mistakes.DEFINITION_KEYWORDS)
    assert accepted("drop") == set(mistakes.DROPPED)
    assert accepted("override") - {"MODIFIER", "drop"} <= set(mistakes.DEFINITION_KEYWORDS)
