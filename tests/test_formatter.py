"""`policydsl fmt`: one canonical layout, comments kept, meaning preserved.

The property test takes policies (every bundled one, the test data, and policies generated
from the grammar by tests/test_fuzz_policy.py), lays their tokens out at random (spaces,
line breaks, blank lines) with comments at line ends and on lines of their own, formats
them, and checks that the AST is unchanged, that every comment is still there and still in
its definition, and that formatting again changes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from policydsl.tools import formatter
from policydsl.cli.main import main
from policydsl.tools.formatter import FormatError, format_text, scan
from policydsl.api import parse_source
from policydsl.syntax.source import SourceFile

from .conftest import DATA, ROOT, budget

POLICIES = ROOT / "policies"
BUNDLED = sorted(POLICIES.rglob("*.policy"))


def parse(text: str):
    policy, diagnostics = parse_source(SourceFile("p.policy", text))
    return policy if policy is not None and not any(d.is_error for d in diagnostics) else None


SOURCES = [p.read_text(encoding="utf-8") for p in [*BUNDLED, *sorted(DATA.rglob("*.policy"))]]
SOURCES = [text for text in SOURCES if parse(text) is not None]

try:  # policies generated from the grammar, when the fuzz tests provide a generator
    from .test_fuzz_policy import generated_policies

    TEXTS = st.one_of(st.sampled_from(SOURCES), generated_policies().map(lambda case: case[0]))
except ImportError:  # pragma: no cover - the fuzz module is optional here
    TEXTS = st.sampled_from(SOURCES)

# `07-01` (an accumulator's year start, MONTH_DAY) is one token, as a date is
TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\d{4}-\d{2}-\d{2}|\d{2}-\d{2}\b|\d[\d_.]*%?|[^\W\d]\w*|->|[!<>=]=|\S')


@st.composite
def laid_out(draw, texts=TEXTS) -> str:
    """A policy's tokens with random spacing, line breaks and comments (unique texts)."""
    text = draw(texts)
    assume(parse(text) is not None)
    tokens = [m.group() for m in TOKEN.finditer(text) if not m.group().startswith("#")]
    out: list[str] = []
    number = 0
    for token in tokens:
        out.append(token)
        choice = draw(st.integers(0, 20))
        if choice < 13:
            out.append(" ")
        elif choice < 15:
            out.append("\n  ")
        elif choice < 16:
            out.append("\n\n")
        elif choice < 18:
            number += 1
            out.append(f"  # t{number}\n")
        else:
            number += 1
            out.append(f"\n{' ' * draw(st.integers(0, 6))}# o{number}\n")
    return "".join(out)


def owners(text: str) -> dict[str, object]:
    """The definition each comment belongs to: the one it is in or ends, else the next one."""
    policy = parse(text)
    comments, code = scan(text)
    spans = []
    if policy.header.title is not None:
        first = policy.definitions[0].span.start if policy.definitions else len(text)
        spans.append(("header", code[0], max(i for i in code if i < first) + 1))
    spans += [(index, d.span.start, d.span.end) for index, d in enumerate(policy.definitions)]
    found = {}
    for comment in comments:
        owner = None
        for key, start, end in spans:
            if start <= comment.start < end or (not comment.own_line and start <= comment.code_before < end):
                owner = key
        if owner is None:
            following = [key for key, start, _ in spans if start > comment.start]
            owner = following[0] if following else "end"
        found[comment.text] = owner
    return found


@given(laid_out())
def test_formatting_keeps_meaning_and_comments_and_is_idempotent(text):
    assert_formats_well(text)


def assert_formats_well(text: str) -> None:
    formatted = format_text(text, "p.policy")
    assert parse(formatted) == parse(text)  # nodes compare without their spans
    assert owners(formatted) == owners(text)
    assert sorted(c.text for c in scan(formatted)[0]) == sorted(c.text for c in scan(text)[0])
    assert format_text(formatted, "p.policy") == formatted


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.relative_to(POLICIES).as_posix())
def test_formatting_a_bundled_policy_twice_changes_nothing(path):
    once = format_text(path.read_text(encoding="utf-8"), str(path))
    assert format_text(once, str(path)) == once
    for line in once.splitlines():  # only strings and comments may pass the width
        assert len(line) <= formatter.WIDTH or '"' in line or "#" in line, line


# ---- the CI check ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.relative_to(POLICIES).as_posix())
def test_bundled_policies_are_formatted(path, capsys):
    status = main(["fmt", "--check", str(path)])
    out = capsys.readouterr().out
    assert status == 0, f"{out}run `policydsl fmt {path.relative_to(ROOT).parent}` and review the change"


# ---- layout ---------------------------------------------------------------------------------


def fmt(text: str) -> str:
    return format_text(text, "p.policy")


def test_canonical_layout():
    text = 'policy "t" version "1" enum L {1,2,3} input{a:money  b : L}\ntable d:L->money cite "c"{1:1_000 元 2:2_000 yuan default:0 yuan}\nparam r=60% cite "x"\nrule p:money= when b=1 then round(a*r,half_up) because "one" otherwise 0 yuan output p'
    assert fmt(text) == (
        'policy "t"\n'
        '  version "1"\n'
        "enum L { 1, 2, 3 }\n"
        "input {\n"
        "  a: money\n"
        "  b: L\n"
        "}\n"
        "table d: L -> money\n"
        '  cite "c" {\n'
        "  1: 1_000 yuan\n"
        "  2: 2_000 yuan\n"
        "  default: 0 yuan\n"
        "}\n"
        "param r = 60%\n"
        '  cite "x"\n'
        "rule p: money =\n"
        "  when b = 1 then round(a * r, half_up)\n"
        '    because "one"\n'
        "  otherwise 0 yuan\n"
        "output p\n"
    )


def test_long_values_break_after_the_head_then_inside():
    names = ", ".join(f"value_number_{i}" for i in range(6))
    text = f"input {{ {' '.join(f'value_number_{i}: money' for i in range(6))} }}\nrule r: money = max({names})\noutput r\n"
    formatted = fmt(text)
    assert "rule r: money =\n  max(\n    value_number_0,\n" in formatted
    assert formatted.endswith("    value_number_5\n  )\noutput r\n")


def test_blank_lines_between_definitions_are_kept_and_collapsed():
    text = "input { a: money }\n\n\n\nrule r = a\nrule s = a\n\n# note\n\nrule t = a\noutput r, s, t\n"
    assert fmt(text) == "input {\n  a: money\n}\n\nrule r = a\nrule s = a\n\n# note\n\nrule t = a\noutput r, s, t\n"


def test_parentheses_that_group_the_ast_are_kept():
    text = "input { a: bool b: bool c: bool x: money }\nrule r: bool = a and (b and c)\nrule s: money = x - (x - x)\noutput r, s\n"
    formatted = fmt(text)
    assert "a and (b and c)" in formatted and "x - (x - x)" in formatted


# ---- comments ---------------------------------------------------------------------------------


def test_comments_stay_with_their_construct():
    text = (
        "# about the input\n"
        "input {   # the facts\n"
        "  # the bill\n"
        "  amount: money      # in yuan\n"
        "  level: int # 1 to 3\n"
        "  # more later\n"
        "}\n"
        "table t: int -> money {\n"
        "  1: 1 yuan  # first\n"
        "  # second row next\n"
        "  2: 2 yuan\n"
        "}  # end of t\n"
        "rule r: money =\n"
        "  when level = 1 then t[1]  # level one\n"
        "    because \"one\"  # why\n"
        "  # the rest\n"
        "  otherwise amount\n"
        "output r  # done\n"
        "# the end\n"
    )
    assert fmt(text) == (
        "# about the input\n"
        "input {  # the facts\n"
        "  # the bill\n"
        "  amount: money  # in yuan\n"
        "  level: int     # 1 to 3\n"
        "  # more later\n"
        "}\n"
        "table t: int -> money {\n"
        "  1: 1 yuan  # first\n"
        "  # second row next\n"
        "  2: 2 yuan\n"
        "}  # end of t\n"
        "rule r: money =\n"
        "  when level = 1 then t[1]  # level one\n"
        '    because "one"  # why\n'
        "  # the rest\n"
        "  otherwise amount\n"
        "output r  # done\n"
        "# the end\n"
    )


def test_a_comment_inside_an_expression_moves_above_its_line():
    text = "input { a: money b: money }\nrule r: money = max(a,\n  # the other one\n  b)  # the larger\n  because \"x\"\noutput r\n"
    assert fmt(text) == 'input {\n  a: money\n  b: money\n}\n# the other one\nrule r: money = max(a, b)  # the larger\n  because "x"\noutput r\n'


def test_a_comment_in_a_nested_conditional_keeps_its_branch():
    text = "input { a: money b: bool }\nrule r: money = sum((when b then a  # yes\n otherwise 0 yuan) for x in {1})\noutput r\n"
    formatted = fmt(text)
    assert "    when b then a  # yes\n    otherwise 0 yuan\n" in formatted
    assert fmt(formatted) == formatted


def test_enum_members_with_comments_go_one_per_line():
    assert fmt("enum K { a, # first\n b }\ninput { k: K }\noutput k\n").startswith("enum K {\n  a,  # first\n  b\n}\n")


def test_crlf_and_a_byte_order_mark_are_read():
    assert fmt("\ufeffinput { a: money }\r\noutput a\r\n") == "input {\n  a: money\n}\noutput a\n"


def test_a_file_that_does_not_parse_is_not_formatted():
    with pytest.raises(FormatError) as caught:
        fmt("rule x = when a then b\noutput x\n")
    assert "p.policy:2:1: error[P100]" in str(caught.value)


def test_strings_are_quoted_so_they_read_back_the_same():
    assert formatter.quote('a "b" \\ c\td\r') == '"a \\"b\\" \\\\ c\\td\\u000d"'
    text = 'input { a: text }\nrule r: bool = a = "x\\"y\\\\z\\u0041"\noutput r\n'
    assert parse(fmt(text)) == parse(text)


# ---- the command ---------------------------------------------------------------------------


def test_fmt_rewrites_checks_and_diffs(tmp_path, capsys):
    path = tmp_path / "p.policy"
    path.write_text("input {a: money}\noutput a\n", encoding="utf-8")
    assert main(["fmt", "--check", str(path)]) == 1
    assert f"would reformat {path}" in capsys.readouterr().out
    assert main(["fmt", "--diff", str(path)]) == 1
    assert "+  a: money" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == "input {a: money}\noutput a\n"  # nothing written yet
    assert main(["fmt", str(tmp_path)]) == 0
    assert f"reformatted {path}" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == "input {\n  a: money\n}\noutput a\n"
    assert main(["fmt", "--check", str(path)]) == 0


def test_fmt_reports_errors_without_a_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.policy"
    bad.write_text("rule x = \n", encoding="utf-8")
    assert main(["fmt", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "error[P103]" in err and "Traceback" not in err
    assert bad.read_text(encoding="utf-8") == "rule x = \n"
    assert main(["fmt", str(tmp_path / "missing.policy")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_format_definition_prints_one_definition():
    policy = parse("param p = 1_000_000 yuan cite \"c\"\ninput { a: money }\noutput a\n")
    assert formatter.format_definition(policy.definitions[0]) == 'param p = 1_000_000 yuan\n  cite "c"'


# ---- accumulators ---------------------------------------------------------------------------

ACCUMULATING = sorted((DATA / "accumulators").glob("*.policy"))


def test_accumulators_layout_and_comments():
    text = (
        'policy "t" as of day\n'
        "input { pid: text = \"\" day: date amount: money }\n"
        "# carried\n"
        "override   final accumulator paid : money per pid over year opening 0 元 adds basic   # what the fund paid\n"
        '  because "Paid earlier"  # the reason\n'
        '  because zh "此前已支付"\n'
        "\n"
        "accumulator visits: int per pid over year from 07-01 opening 0 adds\n"
        "  # one per claim\n"
        "  1\n"
        "accumulator days: number per pid over year from 01-01 opening -1.5 # nothing added\n"
        "rule basic: money = amount  output basic\n"
    )
    assert fmt(text) == (
        'policy "t"\n'
        "  as of day\n"
        "input {\n"
        '  pid: text = ""\n'
        "  day: date\n"
        "  amount: money\n"
        "}\n"
        "# carried\n"
        "override final accumulator paid: money per pid over year opening 0 yuan adds basic  # what the fund paid\n"
        '  because "Paid earlier"  # the reason\n'
        '  because zh "此前已支付"\n'
        "\n"
        "# one per claim\n"
        "accumulator visits: int per pid over year from 07-01 opening 0 adds 1\n"
        "accumulator days: number per pid over year opening -1.5  # nothing added\n"
        "rule basic: money = amount\n"
        "output basic\n"
    )
    assert fmt(fmt(text)) == fmt(text)


def test_a_long_accumulator_breaks_before_adds():
    adds = " + ".join(f"part_number_{i}" for i in range(6))
    text = f"accumulator ytd_amount_carried_forward: money per person_id over year from 07-01 opening 0 yuan adds {adds}  # sum\n"
    formatted = fmt(text)
    assert formatted == (
        "accumulator ytd_amount_carried_forward: money per person_id over year from 07-01 opening 0 yuan\n"
        f"  adds {adds}  # sum\n"  # a comment stays at the end of its construct's last line
    )
    assert fmt(formatted) == formatted


ACCUMULATING_TEXTS = [p.read_text(encoding="utf-8") for p in ACCUMULATING]
ACCUMULATING_TEXTS += [text for text in SOURCES if "accumulator " in text and text not in ACCUMULATING_TEXTS]


@budget(40)
@given(laid_out(st.sampled_from(ACCUMULATING_TEXTS)))
def test_policies_with_accumulators_keep_meaning_and_comments_when_laid_out_at_random(text):
    assert_formats_well(text)


@pytest.mark.parametrize("path", ACCUMULATING, ids=lambda p: p.name)
def test_accumulating_test_policies_are_formatted(path, capsys):
    assert main(["fmt", "--check", str(path)]) == 0, capsys.readouterr().out


def test_a_year_start_that_is_no_day_does_not_format():
    with pytest.raises(FormatError) as caught:
        fmt("accumulator a: int per pid over year from 02-29 opening 0\n")
    assert "p.policy:1:43: error[P111]" in str(caught.value)


def test_the_example_is_formatted_exactly():
    path = Path(POLICIES / "example" / "resident-2025.policy")
    assert format_text(path.read_text(encoding="utf-8"), str(path)) == path.read_text(encoding="utf-8")
