"""The printer (syntax/printer.py): one text for every node, and that text parses back.

Round trips: every definition and header of every bundled policy, printed and parsed
again, is the same AST (nodes compare without their spans); `show`'s effective policy
parses to the effective definitions; random expressions (all node kinds, nested, with
annotated branches) print to text that parses back to them, on one line and laid out by
the formatter in a narrow width. And `show`, `fmt` and formulas agree on literals.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import policydsl
from policydsl.api import parse_source
from policydsl.syntax import nodes as n
from policydsl.syntax import printer
from policydsl.syntax.source import SourceFile
from policydsl.tools import formatter
from policydsl.tools.show import effective_text

from .conftest import ROOT, budget

POLICIES = ROOT / "policies"
BUNDLED = sorted(POLICIES.rglob("*.policy"))
IDS = [p.relative_to(POLICIES).as_posix() for p in BUNDLED]


def parse(text: str, name: str = "p.policy") -> n.PolicyFile:
    policy, diagnostics = parse_source(SourceFile(name, text))
    errors = [d.render() for d in diagnostics if d.is_error]
    assert policy is not None and not errors, "\n".join(errors) + "\n--- text:\n" + text
    return policy


def reparsed(definition):
    (again,) = parse(printer.definition(definition) + "\n").definitions
    return again


# ---- every bundled policy ------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED, ids=IDS)
def test_every_definition_of_a_bundled_policy_prints_and_parses_back_the_same(path):
    policy = parse(path.read_text(encoding="utf-8"), str(path))
    assert parse(printer.header(policy.header) + "\n").header == policy.header
    for definition in policy.definitions:
        assert reparsed(definition) == definition, printer.definition(definition)


@pytest.mark.parametrize("path", BUNDLED, ids=IDS)
def test_show_prints_a_policy_that_parses_to_the_effective_definitions(path):
    loaded = policydsl.load(path)
    shown = parse(effective_text(loaded), "shown.policy")
    assert shown.header == loaded.env.linked.policy.header
    assert shown.definitions == loaded.env.linked.policy.definitions


@pytest.mark.parametrize("path", BUNDLED, ids=IDS)
def test_the_formatter_writes_the_printers_text(path):
    """`fmt` breaks lines where they pass its width; with room enough it writes what `show` prints."""
    for definition in parse(path.read_text(encoding="utf-8"), str(path)).definitions:
        assert formatter.format_definition(definition, width=10_000) == printer.definition(definition)


# ---- literals ------------------------------------------------------------------------------


def made(kind):
    """A node kind that needs no span (these nodes were never read from text)."""
    return lambda *fields, **named: kind(*fields, span=None, **named)


Literal, Name, Attr, Index, Unary, Binary, Member, Call, ApplyTiers, Aggregate, SetLiteral, Branch, Conditional, Annotation, ParamDef, RuleDef = map(
    made, (n.Literal, n.Name, n.Attr, n.Index, n.Unary, n.Binary, n.Member, n.Call, n.ApplyTiers, n.Aggregate, n.SetLiteral, n.Branch, n.Conditional, n.Annotation, n.ParamDef, n.RuleDef)
)
literal = Literal


@pytest.mark.parametrize(
    "node,written",
    [
        (literal("money", Decimal("4000")), "4_000 yuan"),
        (literal("money", Decimal("150000")), "150_000 yuan"),
        (literal("money", Decimal("999")), "999 yuan"),
        (literal("money", Decimal("1234.50")), "1_234.50 yuan"),
        (literal("int", 1000), "1_000"),
        (literal("int", 7), "7"),
        (literal("number", Decimal("12.50")), "12.50"),
        (literal("months", 1), "1 month"),
        (literal("months", 3), "3 months"),
        (literal("ratio", Decimal("0.6")), "60%"),
        (literal("ratio", Decimal("0.055")), "5.5%"),
        (literal("date", datetime.date(2025, 7, 1)), "2025-07-01"),
        (literal("bool", True), "true"),
        (literal("text", 'a "b"\n'), '"a \\"b\\"\\n"'),
    ],
)
def test_each_literal_has_one_written_form(node, written):
    assert printer.literal(node) == written
    assert printer.expression(node) == written


def test_show_fmt_and_formulas_write_money_alike(tmp_path):
    text = 'policy "t"\ninput { a: money }\nparam step = 4_000 yuan\nrule r: money = max(a, 4000 yuan)\noutput r\n'
    path = tmp_path / "t.policy"
    path.write_text(text, encoding="utf-8")
    formatted = formatter.format_text(text)
    shown = effective_text(policydsl.load(path))
    rule = parse(text).definitions[2]
    for line in ("param step = 4_000 yuan", "rule r: money = max(a, 4_000 yuan)"):
        assert line in formatted.splitlines() and line in shown.splitlines()
    assert printer.expression(rule.body) == "max(a, 4_000 yuan)"


# ---- what needs parentheses ------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "a and (b and c)",
        "a or b and c",
        "(a or b) and c",
        "x - (x - x)",
        "x - x - x",
        "x * (x + x) / x",
        "--x",
        "-x * x",
        "-(x * x)",
        "not (a and b)",
        "not a = b",
        "(not a) = b",
        "(x in s) = a",
        "x not in s",
        "(-x).f",
        "t[(when a then 1 otherwise 2)]",
        "max((when a then x otherwise x), x)",
        "sum(when a then x otherwise x for i in s where i > 1)",
        "{(when a then 1 otherwise 2), 3}",
        'x + (when a then x because "why" cite "c" otherwise x because zh "原因" reason code)',
        "count(i in s)",
        "any(i in s where i.f = 1)",
        "tiers_of(from x to x + 1 yuan)",
        "round(x, half_up)",
        "{}",
    ],
)
def test_parentheses_are_where_the_tree_needs_them(source):
    value = parse(f"param p = {source}\n").definitions[0].value
    assert printer.expression(value, annotations=True) == source
    assert reparsed(ParamDef("p", None, value, ())) == ParamDef("p", None, value, ())


def test_a_conditional_value_is_written_in_parentheses_and_a_rule_body_without():
    policy = parse("param p = (when a then 1 otherwise 2)\nrule r = when a then (when b then 1 otherwise 2) otherwise 3\n")
    param, rule = policy.definitions
    assert printer.definition(param) == "param p = (when a then 1 otherwise 2)"
    assert printer.definition(rule) == "rule r =\n  when a then (when b then 1 otherwise 2)\n  otherwise 3"
    assert printer.expression(rule.body) == "when a then (when b then 1 otherwise 2) otherwise 3"


def test_annotations_of_nested_branches_are_policy_text_but_not_formula_text():
    (param,) = parse('param p = x + (when a then 1 because "one" otherwise 2)\n').definitions
    assert printer.definition(param) == 'param p = x + (when a then 1 because "one" otherwise 2)'
    assert printer.expression(param.value) == "x + (when a then 1 otherwise 2)"


def test_brief_formulas_shorten_a_sum_over_many_cases():
    (rule,) = parse("rule r = sum((when i = 1 then 1 when i = 2 then 2 otherwise 3) for i in s)\n").definitions
    assert printer.expression(rule.body, brief=True) == "sum((when i = 1 then 1 ... 3 cases) for i in s)"
    assert printer.expression(rule.body) == "sum(when i = 1 then 1 when i = 2 then 2 otherwise 3 for i in s)"


# ---- random expressions ------------------------------------------------------------------


NAMES = st.sampled_from(["a", "b", "x", "amount", "level_ratio"])
ANNOTATIONS = st.lists(
    st.sampled_from(
        [Annotation("because", "why"), Annotation("because", "原因", lang="zh"), Annotation("cite", 'doc "7"'), Annotation("reason", "r1")]
    ),
    max_size=2,
).map(tuple)
LITERALS = st.one_of(
    st.integers(0, 2_000_000).map(lambda v: literal("int", v)),
    st.tuples(st.integers(0, 99_999), st.integers(0, 99)).map(lambda p: literal("number", Decimal(f"{p[0]}.{p[1]:02d}"))),
    st.decimals(0, 10_000_000, places=2).map(lambda v: literal("money", v)),
    st.integers(0, 36).map(lambda v: literal("months", v)),
    st.decimals(0, 2, places=4).map(lambda v: literal("ratio", v)),
    st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)).map(lambda v: literal("date", v)),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cf"]), max_size=6).map(lambda v: literal("text", v)),
    st.booleans().map(lambda v: literal("bool", v)),
)


def _conditional(children):
    whens = st.lists(st.builds(Branch, children, children, ANNOTATIONS), min_size=1, max_size=3)
    otherwise = st.builds(Branch, st.none(), children, ANNOTATIONS)
    return st.builds(lambda w, o: Conditional((*w, o)), whens, otherwise)


def _extend(children):
    sources = st.one_of(NAMES.map(Name), st.lists(children, max_size=3).map(lambda items: SetLiteral(tuple(items))))
    return st.one_of(
        st.builds(Attr, children, NAMES),
        st.builds(Index, children, children),
        st.builds(Unary, st.sampled_from(["-", "not"]), children),
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "and", "or", "=", "!=", "<", "<=", ">", ">="]), children, children),
        st.builds(Member, children, children, st.booleans()),
        st.builds(Call, st.sampled_from(["min", "max", "clamp", "round"]), st.lists(children, max_size=3).map(tuple)),
        st.builds(ApplyTiers, NAMES, children, children),
        st.builds(Aggregate, st.just("sum"), NAMES, sources, st.one_of(children, _conditional(children)), st.none() | children),
        st.builds(Aggregate, st.just("count"), NAMES, sources, st.none(), st.none() | children),
        st.builds(Aggregate, st.sampled_from(["any", "all"]), NAMES, sources, st.none(), children),
        st.lists(children, max_size=3).map(lambda items: SetLiteral(tuple(items))),
        _conditional(children),
    )


def _aggregate_depth(e) -> int:
    below = max((_aggregate_depth(c) for c in n.children(e)), default=0)
    return below + isinstance(e, n.Aggregate)


# within the limits policy text is read with (aggregates at most 3 deep: limits.py, L502)
EXPRESSIONS = st.recursive(st.one_of(LITERALS, NAMES.map(Name)), _extend, max_leaves=12).filter(lambda e: _aggregate_depth(e) <= 3)


@budget(150)
@given(EXPRESSIONS)
def test_any_expression_prints_to_text_that_parses_back_to_it(value):
    param = ParamDef("p", None, value, ())
    assert reparsed(param) == param
    (narrow,) = parse(formatter.format_definition(param, width=24) + "\n").definitions
    assert narrow == param
    rule = RuleDef("r", None, value, (Annotation("cite", "c"),))
    assert reparsed(rule) == rule
