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

import attrs
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

from .conftest import DATA, ROOT, budget

POLICIES = ROOT / "policies"
BUNDLED = sorted(POLICIES.rglob("*.policy"))
IDS = [p.relative_to(POLICIES).as_posix() for p in BUNDLED]
ACCUMULATING = sorted((DATA / "accumulators").glob("*.policy"))


def parse(text: str, name: str = "p.policy") -> n.PolicyFile:
    policy, diagnostics = parse_source(SourceFile(name, text))
    errors = [d.render() for d in diagnostics if d.is_error]
    assert policy is not None and not errors, "\n".join(errors) + "\n--- text:\n" + text
    return policy


def reparsed(definition):
    (again,) = parse(printer.definition(definition) + "\n").definitions
    return again


# ---- every bundled policy ------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED + ACCUMULATING, ids=IDS + [p.name for p in ACCUMULATING])
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


Literal, Name, Attr, Index, Unary, Binary, Member, Call, ApplyTiers, Aggregate, SetLiteral, Branch, Conditional, Annotation, ParamDef, RuleDef, NamedType, Field = map(
    made,
    (n.Literal, n.Name, n.Attr, n.Index, n.Unary, n.Binary, n.Member, n.Call, n.ApplyTiers, n.Aggregate, n.SetLiteral, n.Branch, n.Conditional, n.Annotation, n.ParamDef, n.RuleDef, n.NamedType, n.Field),
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


# ---- accumulators --------------------------------------------------------------------------


def accumulator(name="ytd", type_="money", per="person_id", year_start=None, opening=None, adds=None, annotations=(), **modifiers):
    """An AccumulatorDef built by hand, as the lowering builds one (its `field` is the name's)."""
    opening = opening if opening is not None else literal("money", Decimal("0"))
    field = Field(name, NamedType(type_), None)
    return n.AccumulatorDef(name, NamedType(type_), per, year_start, opening, adds, annotations, field, span=None, **modifiers)


@pytest.mark.parametrize(
    "source,written",
    [
        (
            "accumulator ytd_basic_paid: money per person_id opening 0 yuan adds basic",
            "accumulator ytd_basic_paid: money per person_id over year opening 0 yuan adds basic",
        ),
        (
            "accumulator ytd: money per person_id over year opening 0 yuan adds basic",
            "accumulator ytd: money per person_id over year opening 0 yuan adds basic",
        ),
        (  # a year from 1 January is the calendar year: written as the default
            "accumulator ytd: money per person_id over year from 01-01 opening 0 yuan adds basic",
            "accumulator ytd: money per person_id over year opening 0 yuan adds basic",
        ),
        ("accumulator n: int per pid over year from 07-01 opening 0 adds 1", "accumulator n: int per pid over year from 07-01 opening 0 adds 1"),
        ("accumulator m: months per pid opening 0 months", "accumulator m: months per pid over year opening 0 months"),
        ("accumulator x: number per pid opening -1.5 adds -x", "accumulator x: number per pid over year opening -1.5 adds -x"),
        (
            "override  final accumulator ytd: money per pid opening 1000 yuan adds basic + major cite \"c\" because \"why\" because zh \"原因\" reason acc1",
            'override final accumulator ytd: money per pid over year opening 1_000 yuan adds basic + major\n  cite "c"\n  because "why"\n  because zh "原因"\n  reason acc1',
        ),
        (
            "accumulator a: money per pid opening 0 yuan adds (when x then basic otherwise 0 yuan)",
            "accumulator a: money per pid over year opening 0 yuan adds (when x then basic otherwise 0 yuan)",
        ),
    ],
)
def test_an_accumulator_is_written_in_one_canonical_form(source, written):
    (definition,) = parse(source + "\n").definitions
    assert printer.definition(definition) == written
    assert reparsed(definition) == definition
    assert formatter.format_definition(definition) == written  # short enough not to break


def test_a_long_accumulator_breaks_before_adds_then_inside_it():
    source = (
        "accumulator ytd_major_illness_insurance_base: money per person_id over year from 07-01 opening 0 yuan "
        "adds max(0 yuan, eligible_costs_after_the_basic_fund - deductible_left) + extra_costs_paid"
    )
    (definition,) = parse(source + ' because "b"\n').definitions
    assert formatter.format_definition(definition) == (
        "accumulator ytd_major_illness_insurance_base: money per person_id over year from 07-01 opening 0 yuan\n"
        "  adds max(0 yuan, eligible_costs_after_the_basic_fund - deductible_left) + extra_costs_paid\n"
        '  because "b"'
    )
    narrow = formatter.format_definition(definition, width=40)
    assert narrow.splitlines()[1] == "  adds max("
    (again,) = parse(narrow + "\n").definitions
    assert again == definition


def test_the_year_start_is_written_with_two_digits():
    assert printer.definition(accumulator(year_start=(7, 1))) == "accumulator ytd: money per person_id over year from 07-01 opening 0 yuan"
    assert printer.definition(accumulator(year_start=(12, 31))).endswith("over year from 12-31 opening 0 yuan")
    assert printer.year_start(None) == printer.year_start((1, 1)) == " over year"


YEAR_STARTS = st.none() | st.dates(datetime.date(2001, 1, 1), datetime.date(2001, 12, 31)).map(lambda d: (d.month, d.day))
OPENINGS = st.one_of(
    st.decimals(0, 1_000_000, places=2).map(lambda v: literal("money", v)),
    st.integers(0, 10_000).map(lambda v: literal("int", v)),
    st.integers(1, 10_000).map(lambda v: Unary("-", literal("int", v))),
)


@budget(100)
@given(
    st.sampled_from(["ytd", "ytd_basic_paid", "累计支付"]),
    st.sampled_from(["money", "int", "number", "months"]),
    YEAR_STARTS,
    OPENINGS,
    st.none() | EXPRESSIONS,
    ANNOTATIONS,
    st.booleans(),
    st.booleans(),
)
def test_any_accumulator_prints_to_text_that_parses_back_to_it(name, type_, year_start, opening, adds, annotations, override, final):
    made_here = accumulator(name, type_, "person_id", year_start, opening, adds, annotations, override=override, final=final)
    expected = attrs.evolve(made_here, year_start=None) if year_start == (1, 1) else made_here  # 01-01 reads as the default
    assert reparsed(made_here) == expected
    (narrow,) = parse(formatter.format_definition(made_here, width=24) + "\n").definitions
    assert narrow == expected
