"""The checker's passes (`policydsl.check.passes`), its environment (`check.env`) and its
answer (`check.result.Checked`), pinned where mutation testing found gaps.

Each test names a behaviour of one pass: the diagnostic it reports (code, `line:col` span,
message, hint, related places), the symbol or type it records, or what the frozen `Checked`
hands to the later stages. docs/mutation.md says how these were found and what is left
(the report of this part: the equivalent mutants, each argued).

Policies are checked inside each test, never at import: mutmut switches mutants per call,
so a policy checked at import would be checked by the unmutated code.
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

import pytest

import policydsl
from policydsl.api import check_source
from policydsl.check import CheckEnv, Checked, check
from policydsl.check import passes
from policydsl.check import types as t
from policydsl.check.env import Symbol
from policydsl.diagnostics.model import Diagnostic, Severity
from policydsl.syntax import nodes as n
from policydsl.syntax.source import SourceFile, Span

H = "input {\n  a: money\n  b: int\n}\n"  # definitions after it start on line 5


def where(span) -> str | None:
    if span is None:
        return None
    return f"{span.line}:{span.column}-{span.end_line}:{span.end_column}"


def diagnostics(text: str, name: str = "t.policy") -> list[Diagnostic]:
    _, found = check_source(SourceFile(name, text))
    return found


def found(text: str, name: str = "t.policy") -> list[tuple]:
    """(code, span, message) of every diagnostic, warnings included, in source order."""
    return [(d.code, where(d.span), d.message) for d in diagnostics(text, name)]


def errors(text: str) -> list[tuple]:
    return [(d.code, where(d.span), d.message) for d in diagnostics(text) if d.is_error]


def checked(text: str, name: str = "t.policy") -> Checked:
    env, found_ = check_source(SourceFile(name, text))
    assert not [d for d in found_ if d.is_error], found_
    return env


def only(text: str, code: str) -> Diagnostic:
    [diagnostic] = [d for d in diagnostics(text) if d.code == code]
    return diagnostic


# --- collect_definitions -------------------------------------------------------------------


def test_a_name_defined_twice_is_c201_at_the_second_with_the_first_related():
    d = only(H + "rule r: money = a\nrule r: money = a\noutput r\n", "C201")
    assert (where(d.span), d.message) == ("6:6-6:7", "`r` is defined twice")
    assert d.hint == "rename one of them, or delete the duplicate"
    [related] = d.related
    assert (related.message, where(related.span)) == ("first defined here", "5:6-5:7")
    assert d.severity is Severity.ERROR and d.notes == ()


def test_a_duplicate_keeps_the_first_definition():
    env, _ = check_source(SourceFile("t.policy", H + "rule r: money = a\nrule r: int = b\noutput r\n"))
    assert env.symbols["r"].kind == "rule" and env.symbols["r"].node.span.line == 5


def test_an_enum_member_listed_twice_is_c201_at_the_member():
    assert errors("enum K { x, y, x }\n" + H + "rule r: money = a\noutput r\n") == [("C201", "1:16-1:17", "enum `K` lists `x` twice")]


def body_type(env, rule: str):
    return env.types[n.key(env.symbols[rule].node.body)]


def test_a_member_of_one_enum_is_of_that_enum_even_when_listed_twice_and_of_two_enums_is_either():
    text = "enum K { x, y, x }\nenum L { x, z }\n" + H + "rule r: K = y\nrule q: L = x\noutput r, q\n"
    env, _ = check_source(SourceFile("t.policy", text))
    assert body_type(env, "r") == t.EnumType("K", ("x", "y", "x"))
    assert body_type(env, "q") == t.MemberType("x", frozenset({"K", "L"}))
    env, _ = check_source(SourceFile("t.policy", "enum K { x, x }\n" + H + "rule r: K = x\noutput r\n"))
    assert body_type(env, "r") == t.EnumType("K", ("x", "x"))


def test_the_input_declared_twice_is_c201_over_the_second_and_its_fields_are_not_defined():
    d = only(H + "input {\n  c: int\n}\nrule r: money = a + c\noutput r\n", "C201")
    assert (where(d.span), d.message, d.hint) == ("5:1-7:2", "the input is declared twice", "declare all facts in one `input { ... }`")
    assert ("C200", "8:21-8:22", "undefined name `c`") in errors(H + "input {\n  c: int\n}\nrule r: money = a + c\noutput r\n")


@pytest.mark.parametrize("name", ["min", "add_days", "sum", "count", "any", "all", "round"])
def test_a_function_with_a_built_in_name_is_c201(name):
    text = H + f"function {name}(x: int): int = x\nrule r: money = a\noutput r\n"
    d = only(text, "C201")
    assert (where(d.span), d.message, d.hint) == (f"5:10-5:{10 + len(name)}", f"`{name}` is a built-in function", "choose another name for the function")
    assert not any(code == "W230" for code, _, _ in found(text))  # not defined, so not "never used"
    assert [code for code, _, _ in errors(text)] == ["C201"]  # and what follows it is still collected


def test_an_invariant_defined_twice_is_c201_and_both_are_kept():
    text = H + "invariant i: a >= 0 yuan\ninvariant i: b >= 0\nrule r: money = a\noutput r\n"
    assert errors(text) == [("C201", "6:11-6:12", "invariant `i` is defined twice")]
    assert [str(i.condition.span.line) for i in check_source(SourceFile("t.policy", text))[0].invariants] == ["5", "6"]


def test_a_record_field_listed_twice_is_c201_at_the_field():
    text = "record R { x: int\n  x: int }\nrecord S { y: int  z: int }\n" + H + "rule r: money = a\noutput r\n"
    assert errors(text) == [("C201", "2:3-2:9", "record `R` has field `x` twice")]


def test_a_policy_without_input_is_c209_over_the_whole_file():
    d = only("rule r: int = 1\noutput r\n", "C209")
    assert (d.span.line, d.span.start, d.message) == (0, 0, "the policy declares no input")
    assert d.hint == "add `input { field: type ... }` listing the claim facts"


def test_a_dated_value_beside_an_undated_one_is_c211_either_way_round():
    later = H + "param p: money = 1 yuan from 2025-01-01\nparam p: money = 2 yuan\nrule r: money = a + p\noutput r\n"
    earlier = H + "param p: money = 2 yuan\nparam p: money = 1 yuan from 2025-01-01\nrule r: money = a + p\noutput r\n"
    for text in (later, earlier):
        d = only(text, "C211")
        assert (where(d.span), d.message) == ("6:7-6:8", "`p` has a value without dates beside dated ones")
        assert d.hint == "give every value of a dated name a `from`/`until` period"


def test_two_undated_values_of_one_name_are_c201_not_c211():
    text = H + "param p: money = 2 yuan\nparam p: money = 1 yuan\nrule r: money = a + p\noutput r\n"
    assert [code for code, _, _ in errors(text)] == ["C201"]


def test_a_rule_and_a_param_of_one_name_are_c201_even_when_dated():
    text = 'policy "t"\n  as of day\ninput {\n  day: date\n  a: money\n}\nparam p: money = 1 yuan from 2025-01-01\nrule p: money from 2025-01-01 = a\nrule r: money = a\noutput r\n'
    assert [(code, span) for code, span, _ in errors(text)] == [("C201", "8:6-8:7")]


def test_dated_values_of_one_name_are_its_variants_in_order():
    text = ('policy "t"\n  as of day\ninput {\n  day: date\n  a: money\n}\n'
            "param p: money = 1 yuan until 2025-06-30\nparam p: money = 2 yuan from 2025-07-01\n"
            "tiers s until 2025-06-30 { above 0 yuan: 10% }\ntiers s from 2025-07-01 { above 0 yuan: 20% }\n"
            "rule r: money = a + p + s(from 0 yuan to a)\noutput r\n")
    env = checked(text)
    assert [v.span.line for v in env.variants["p"]] == [7, 8]
    assert [v.span.line for v in env.variants["s"]] == [9, 10]
    policy = policydsl.loads(text)
    assert policy.evaluate({"day": "2025-01-01", "a": "100"}).outputs["r"] == 111
    assert policy.evaluate({"day": "2025-08-01", "a": "100"}).outputs["r"] == 122


def test_a_table_has_no_variants_and_a_second_table_of_its_name_is_c201():
    text = "enum K { x }\n" + H + "table t: K -> int { x: 1 }\ntable t: K -> int { x: 2 }\nrule r: int = t[K.x]\noutput r\n"
    assert [(code, span) for code, span, _ in errors(text)] == [("C201", "7:7-7:8")]
    env, _ = check_source(SourceFile("t.policy", text))
    assert "t" not in env.variants


def test_the_kinds_of_symbols():
    text = ("enum K { x }\nrecord R { v: int }\n" + H
            + "param p: int = 1\ntable tb: K -> int { x: 1 }\ntiers s { above 0 yuan: 10% }\nfunction f(v: int): int = v\n"
            "rule r: int = f(b) + p + tb[K.x]\nrule m: money = s(from 0 yuan to a)\noutput r, m\n")
    env = checked(text)
    kinds = {name: (s.kind, s.name, s.index) for name, s in env.symbols.items()}
    assert kinds == {"K": ("enum", "K", 0), "R": ("record", "R", 0), "a": ("input", "a", 0), "b": ("input", "b", 1),
                     "p": ("param", "p", 0), "tb": ("table", "tb", 0), "s": ("tiers", "s", 0), "f": ("function", "f", 0),
                     "r": ("rule", "r", 0), "m": ("rule", "m", 0)}
    assert env.symbols["b"].node is env.input.fields[1]
    assert env.enums["K"] is env.symbols["K"].node and env.records["R"] is env.symbols["R"].node


ACC_HEAD = 'policy "t"\n  as of day\ninput {\n  pid: text = ""\n  day: date\n  amount: money\n}\n'


def test_accumulators_take_the_input_slots_after_the_input_fields():
    text = ACC_HEAD + ("accumulator s1: money per pid over year opening 0 yuan adds amount\n"
                       "accumulator s2: int per pid over year opening 0 adds 1\n"
                       "rule r: money = s1 + amount\nrule k: int = s2\noutput r, k\n")
    env = checked(text)
    assert [(env.symbols[x].kind, env.symbols[x].index) for x in ("s1", "s2")] == [("input", 3), ("input", 4)]
    assert env.symbols["s2"].node is env.accumulators[1].field
    assert [a.name for a in env.accumulators] == ["s1", "s2"]
    assert [f.name for f in env.record_fields(None)] == ["pid", "day", "amount", "s1", "s2"]
    policy = policydsl.loads(text)
    decision = policy.evaluate({"pid": "p", "day": "2025-01-01", "amount": "10"}, accumulators={"s1": "5", "s2": 7})
    assert decision.outputs == {"r": 15, "k": 7}


def test_an_accumulator_with_a_taken_name_is_c201_and_not_an_accumulator():
    text = ACC_HEAD + "accumulator amount: money per pid over year opening 0 yuan adds amount\nrule r: money = amount\noutput r\n"
    d = only(text, "C201")
    assert (where(d.span), d.message) == ("8:13-8:19", "`amount` is defined twice")
    assert where(d.related[0].span) == "6:3-6:9"
    env, _ = check_source(SourceFile("t.policy", text))
    assert env.accumulators == () and env.symbols["amount"].node is env.input.fields[2]


# --- resolve_type, resolve_field_types, _check_record_nesting --------------------------------


def test_field_types_of_the_input_and_of_records():
    text = ("enum K { x, y }\nrecord R { k: K  n: list of list of int  s: S }\nrecord S { v: money }\n"
            "input {\n  a: money\n  r: R\n  ks: list of K\n}\nrule q: money = a\noutput q\n")
    env = checked(text)
    assert env.field_types == {
        (None, "a"): t.MONEY, (None, "r"): t.RecordType("R"), (None, "ks"): t.ListType(t.EnumType("K", ("x", "y"))),
        ("R", "k"): t.EnumType("K", ("x", "y")), ("R", "n"): t.ListType(t.ListType(t.INT)), ("R", "s"): t.RecordType("S"),
        ("S", "v"): t.MONEY,
    }


def test_an_unknown_type_is_c206_with_a_suggestion_or_the_known_types():
    d = only("record A { b: list of Monee }\n" + H + "rule r: money = a\noutput r\n", "C206")
    assert (where(d.span), d.message, d.hint) == ("1:23-1:28", "unknown type `Monee`", "did you mean `money`?")
    d = only("enum K { x }\nrecord A { b: Nope }\n" + H + "rule r: money = a\noutput r\n", "C206")
    assert (where(d.span), d.message) == ("2:15-2:19", "unknown type `Nope`")
    assert d.hint == "types are: money, ratio, percent, int, number, bool, date, months, text, K, A"


def test_a_list_of_an_unknown_type_is_an_error_type_not_a_list():
    env, _ = check_source(SourceFile("t.policy", "input {\n  a: money\n  xs: list of Nope\n}\nrule r: money = a\noutput r\n"))
    assert env.field_types[(None, "xs")] is t.ERROR


def test_a_record_holding_itself_is_c203_over_the_record():
    d = only("record A { n: int  b: A }\n" + H + "rule r: money = a\noutput r\n", "C203")
    assert (where(d.span), d.message) == ("1:1-1:26", "record `A` contains itself (A -> A)")
    assert d.hint == "a record cannot hold itself, even through lists or other records: hold the other's id instead (e.g. `parent_id: text`)"


def test_a_record_cycle_through_lists_names_the_chain_from_each_record():
    text = "record A { b: list of list of B }\nrecord B { c: C  d: C }\nrecord C { a: list of A }\nrecord D { a: A }\n" + H + "rule r: money = a\noutput r\n"
    assert errors(text) == [
        ("C203", "1:1-1:34", "record `A` contains itself (A -> B -> C -> A)"),
        ("C203", "2:1-2:24", "record `B` contains itself (B -> C -> A -> B)"),
        ("C203", "3:1-3:26", "record `C` contains itself (C -> A -> B -> C)"),
    ]


def test_records_that_share_a_record_without_a_cycle_are_fine():
    text = "record A { b: B  c: C }\nrecord B { d: D }\nrecord C { d: D  e: list of D }\nrecord D { v: int }\n" + H + "rule r: money = a\noutput r\n"
    assert errors(text) == []
    assert passes._contained_records(checked(text), "C") == ["D"]


def test_a_record_cycle_seen_from_the_second_branch_is_found():
    # A holds B (no cycle) and C, and C holds A: the search must follow every branch, not the first.
    text = "record A { b: B  c: C }\nrecord B { v: int }\nrecord C { a: A }\n" + H + "rule r: money = a\noutput r\n"
    assert errors(text) == [("C203", "1:1-1:24", "record `A` contains itself (A -> C -> A)"), ("C203", "3:1-3:18", "record `C` contains itself (C -> A -> C)")]


# --- resolve_names, _resolve_function -------------------------------------------------------


def test_a_function_with_a_parameter_twice_is_c201_at_the_second():
    text = H + "function f(x: int, y: int, x: int): int = x + y\nrule r: int = f(1, 2, 3)\noutput r\n"
    assert errors(text) == [("C201", "5:28-5:34", "function `f` has parameter `x` twice")]


def test_a_function_reading_a_rule_or_an_input_field_is_c270_and_constants_are_allowed():
    text = (H + "param p: int = 2\ntable tb: int -> int { 1: 5 }\ntiers s { above 0 yuan: 10% }\nrule q: int = 1\n"
            "function g(x: int): money = a\nfunction h(x: int): int = q + x + b\n"
            "function k(x: int): int = p + tb[x]\nfunction m(x: money): money = s(from 0 yuan to x)\nfunction u(x: int): int = k(x)\n"
            "rule r: int = g(1) + h(1) + u(2) + q\nrule w: money = m(a)\noutput r, w\n")
    found_ = diagnostics(text)
    c270 = [(where(d.span), d.message, d.hint) for d in found_ if d.code == "C270"]
    assert c270 == [
        ("9:10-9:11", "function `g` reads input field `a`: a function reads only its parameters and the policy's constants", "give `a` to it as a parameter: `function g(..., a: TYPE)`"),
        ("10:10-10:11", "function `h` reads input field `b`: a function reads only its parameters and the policy's constants", "give `b` to it as a parameter: `function h(..., b: TYPE)`"),
        ("10:10-10:11", "function `h` reads rule `q`: a function reads only its parameters and the policy's constants", "give `q` to it as a parameter: `function h(..., q: TYPE)`"),
    ]
    env, _ = check_source(SourceFile("t.policy", text))
    assert env.deps["g"] == frozenset() and env.deps["h"] == frozenset()
    assert env.deps["k"] == {"p", "tb"} and env.deps["m"] == {"s"} and env.deps["u"] == {"k"}


def test_a_function_using_a_constant_is_ordered_after_it_and_computes():
    text = H + "param p: int = 2\nfunction k(x: int): int = p * x\nrule r: int = k(b)\noutput r\n"
    env = checked(text)
    assert env.order.index("p") < env.order.index("k") < env.order.index("r")
    assert policydsl.loads(text).evaluate({"a": "1", "b": 21}).outputs["r"] == 42


def test_names_resolve_to_their_symbols_and_deps_record_what_each_definition_uses():
    text = ("enum K { x, y }\n" + H + "param p: int = 3\ninvariant i: a >= 0 yuan\nrequire b: b >= p\n"
            "rule r: int = b + p\nrule s: bool = K.x = y\noutput r, s\n")
    env = checked(text)
    assert env.deps["r"] == {"b", "p"} and env.deps["s"] == frozenset() and env.deps["p"] == frozenset()
    assert env.deps["invariant i"] == {"a"} and env.deps["require 0"] == {"b", "p"}
    assert env.used == {"a", "b", "p"}
    body = env.symbols["r"].node.body
    assert env.resolved[n.key(body.left)] is env.symbols["b"] and env.resolved[n.key(body.right)] is env.symbols["p"]
    member = env.symbols["s"].node.body
    assert env.resolved[n.key(member.left)] == Symbol("member", "x", None, value="x")
    assert env.resolved[n.key(member.right)] == Symbol("member", "y", None, value="y")


def test_record_defaults_and_accumulators_have_their_own_deps():
    text = ACC_HEAD + ("param p: int = 3\nparam q: money = 2 yuan\nrecord R { n: int = p  m: money }\n"
                       "accumulator s1: money per pid over year opening 0 yuan adds amount + q\nrule r: money = s1 + amount\noutput r\n")
    env = checked(text)
    assert env.deps["R.n"] == {"p"} and "R.m" not in env.deps
    assert env.deps["accumulator s1"] == {"q", "amount"}
    assert {"q", "amount", "s1"} <= env.used and "p" not in env.used


def test_an_undefined_name_is_c200_with_a_suggestion_from_values_loop_variables_and_members():
    text = ("enum K { north, south }\ninput {\n  a: money\n  xs: list of int\n}\nrule total: money = a\n"
            "rule r: money = totl + sum(v * 1 yuan for v in xs where vv > 0)\nrule s: bool = K.north = nort\noutput r, s\n")
    found_ = [(where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C200"]
    assert found_ == [
        ("7:17-7:21", "undefined name `totl`", "did you mean `total`?"),
        ("7:57-7:59", "undefined name `vv`", "did you mean `v`?"),
        ("8:26-8:30", "undefined name `nort`", "did you mean `north`?"),
    ]


def test_an_undefined_name_never_suggests_a_type_and_a_chinese_number_gets_digits():
    text = "enum Kind { x }\n" + H + "rule r: int = Kinds\nrule s: money = 三百元\noutput r, s\n"
    found_ = [(where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C200"]
    assert found_ == [("6:15-6:20", "undefined name `Kinds`", None),
                      ("7:17-7:20", "undefined name `三百元`", "numbers are written in digits: `300 yuan` for `三百元`")]
    d = only("enum Kind { x }\n" + H + "rule r: int = 一千\noutput r\n", "C200")
    assert d.hint == "numbers are written in digits: `1_000` for `一千`"


def test_a_type_used_as_a_value_is_c204():
    text = "enum K { x, y }\nrecord R { v: int }\n" + H + "rule r: bool = K = K.x\nrule s: int = R\noutput r, s\n"
    found_ = [(code, where(d.span), d.message, d.hint) for d in diagnostics(text) for code in [d.code] if code == "C204"]
    assert found_ == [("C204", "7:16-7:17", "`K` is a type, not a value", "to name a member write `K.member`"),
                      ("C204", "8:15-8:16", "`R` is a type, not a value", "to name a member write `R.member`")]


def test_an_enum_without_the_member_is_c200_with_a_suggestion_or_its_members():
    text = ("enum K { north, south }\nenum L { 1, 2 }\nenum M { 1, apple }\n" + H
            + "rule r: bool = K.x = K.sout\nrule s: bool = L.x = L.x\nrule u: bool = M.aple = M.apple\noutput r, s, u\n")
    found_ = [(where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C200"]
    assert found_ == [("8:16-8:19", "enum `K` has no member `x`", "members: north, south"),
                      ("8:22-8:28", "enum `K` has no member `sout`", "did you mean `south`?"),
                      ("9:16-9:19", "enum `L` has no member `x`", "members: 1, 2"),
                      ("9:22-9:25", "enum `L` has no member `x`", "members: 1, 2"),
                      ("10:16-10:22", "enum `M` has no member `aple`", "did you mean `apple`?")]


def test_a_loop_variable_named_like_an_enum_reads_the_record_field():
    text = ("enum K { x }\nrecord R { x: money }\ninput {\n  a: money\n  rs: list of R\n}\n"
            "rule r: money = sum(K.x for K in rs)\noutput r\n")
    policy = policydsl.loads(text)
    assert policy.evaluate({"a": "1", "rs": [{"x": "2"}, {"x": "3"}]}).outputs["r"] == 5


def test_a_record_and_an_enum_of_one_name_is_c201_and_the_name_is_the_record():
    text = "record K { v: int }\nenum K { x }\n" + H + "rule r: bool = K.x = K.x\noutput r\n"
    codes = [(code, span) for code, span, _ in errors(text)]
    assert codes == [("C201", "2:6-2:7"), ("C204", "7:16-7:17"), ("C204", "7:22-7:23")]


def test_the_mode_of_round_is_a_word_not_a_name_at_any_arity():
    text = H + "param half_up: int = 1\nrule r: money = round(a * 50%, half_up)\nrule s: money = round(a * 50%, down, zz)\noutput r, s\n"
    found_ = errors(text)
    assert ("C200", "7:38-7:40", "undefined name `zz`") in found_
    env, _ = check_source(SourceFile("t.policy", text))
    assert env.deps["r"] == {"a"} and env.deps["s"] == {"a"}
    text = H + "rule r: money = round(a * 50%, half_up)\noutput r\n"
    assert policydsl.loads(text).evaluate({"a": "0.03", "b": 1}).outputs["r"] == Decimal("0.02")


def test_tier_schedules_undefined_or_of_another_kind():
    text = H + "tiers t { above 0 yuan: 10% }\nrule r: money = a\nrule s: money = tt(from 0 yuan to zz)\nrule u: money = r(from 0 yuan to a)\noutput r, s, u\n"
    found_ = [(d.code, where(d.span), d.message, d.hint) for d in diagnostics(text) if d.is_error]
    assert found_ == [("C200", "7:17-7:38", "undefined tier schedule `tt`", "did you mean `t`?"),
                      ("C200", "7:35-7:37", "undefined name `zz`", None),
                      ("C204", "8:17-8:36", "`r` is a rule, not a tier schedule", None)]


def test_a_band_of_a_tier_schedule_is_checked_in_every_dated_variant():
    head = 'policy "t"\n  as of day\ninput {\n  day: date\n  a: money\n}\n'
    text = head + ("tiers s until 2025-06-30 { band low: from 0 yuan to 10 yuan: 10%  band top: above 10 yuan: 20% }\n"
                   "tiers s from 2025-07-01 { band low: from 0 yuan to 10 yuan: 10%  above 10 yuan: 30% }\n"
                   "rule r: money = s(from 0 yuan to a, band top)\nrule q: money = s(from 0 yuan to a, band lo)\noutput r, q\n")
    found_ = [(d.code, where(d.span), d.message, d.hint) for d in diagnostics(text) if d.is_error]
    assert found_ == [("C200", "9:17-9:46", "tier schedule `s` has no band `top`", "its bands: low"),
                      ("C200", "10:17-10:45", "tier schedule `s` has no band `lo`", "did you mean `low`?")]
    text = H + "tiers s { from 0 yuan to 10 yuan: 10%  above 10 yuan: 20% }\nrule r: money = s(from 0 yuan to a, band x)\noutput r\n"
    d = only(text, "C200")
    assert (d.message, d.hint) == ("tier schedule `s` has no band `x`", "name a band: `band NAME: from A to B: RATE`")


def test_a_named_band_computes_its_slice_and_the_schedule_is_a_dependency():
    text = H + "tiers s { band low: from 0 yuan to 10 yuan: 10%  band top: above 10 yuan: 20% }\nrule r: money = s(from 0 yuan to a, band top)\noutput r\n"
    env = checked(text)
    assert env.deps["r"] == {"s", "a"}
    assert policydsl.loads(text).evaluate({"a": "30", "b": 1}).outputs["r"] == 4


def test_let_with_a_taken_name_is_c269_and_an_unused_let_is_w240():
    text = ("enum K { north }\n" + H + "param p: int = 1\n"
            "rule r: int = let p = 2 in let north = 3 in let b = 4 in let z = 5 in let z = 6 in z + p + north + b\n"
            "rule s: int = let y = 1 in 2\nrule u: int = sum(let v = 1 in v for v in [1])\noutput r, s\n")
    found_ = [(d.code, where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code in ("C269", "W240")]
    taken = "choose another name for the `let`"
    assert found_ == [
        ("C269", "7:19-7:20", "`let p` names a value with the name of a param (`p`)", taken),
        ("C269", "7:32-7:37", "`let north` names a value with the name of an enum member (`north`)", taken),
        ("C269", "7:49-7:50", "`let b` names a value with the name of an input field (`b`)", taken),
        ("C269", "7:75-7:76", "`let z` names a value with the name of an earlier `let` or a loop variable around it", taken),
        ("W240", "8:19-8:20", "`let y` is never used", "use the name, or delete the `let`"),
    ]


def test_a_let_is_seen_in_its_body_only_and_computes():
    text = H + "rule r: int = let z = b * 2 in z + 1 + b\noutput r\n"
    assert policydsl.loads(text).evaluate({"a": "1", "b": 5}).outputs["r"] == 16
    text = H + "rule r: int = let z = z in z\noutput r\n"
    assert ("C200", "5:23-5:24", "undefined name `z`") in errors(text)


def test_a_loop_variable_is_seen_in_the_body_and_the_where_but_not_the_source():
    text = "input {\n  a: money\n  xs: list of int\n}\nrule r: int = sum(v * 2 for v in xs where v > 1)\nrule s: int = count(w in xs where w > 2)\noutput r, s\n"
    assert policydsl.loads(text).evaluate({"a": "1", "xs": [1, 2, 3]}).outputs == {"r": 10, "s": 1}
    env = checked(text)
    assert env.deps["r"] == {"xs"}
    text = "input {\n  a: money\n  xs: list of int\n}\nrule r: int = sum(v for v in v)\noutput r\n"
    assert ("C200", "5:30-5:31", "undefined name `v`") in errors(text)


def test_a_parents_floor_is_bound_in_the_child_and_its_lets_are_not_warned_there(tmp_path):
    from .policy_trees import parent_and_child

    parent = ('policy "base"\ninput {\n  cost: money\n}\nparam base: money = 500 yuan\n'
              "param step: money = base * 2 floor\nrule r: money = let unused = 1 in cost + step\noutput r\n")
    path = parent_and_child(tmp_path, parent, "override param step = 999 yuan\n")
    root = tmp_path / "policies"
    from policydsl.api import parent_loader

    _, found_ = check_source(SourceFile(str(path), path.read_text()), parent_loader(root))
    assert [(d.code, d.message.split(",")[0]) for d in found_] == [("C215", "`step` may not be lowered below 1000.00")]
    path.write_text(path.read_text().replace("999 yuan", "1000 yuan"))
    _, found_ = check_source(SourceFile(str(path), path.read_text()), parent_loader(root))
    assert found_ == []


# --- find_cycles -----------------------------------------------------------------------------


def test_a_cycle_is_c202_at_the_name_it_closes_on_and_every_name_in_it_is_marked():
    text = H + "rule r: money = r2 + a\nrule r2: money = r3\nrule r3: money = r\nrule ok: money = a\noutput r, ok\n"
    found_ = [(d.code, where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C202"]
    assert found_ == [("C202", "5:6-5:7", "`r` depends on itself: r -> r2 -> r3 -> r", "a value cannot be computed from itself; break the cycle")]
    env, _ = check_source(SourceFile("t.policy", text))
    assert set(env.order) >= {"ok", "a"} and env.def_types["r2"] is t.ERROR and env.def_types["ok"] == t.MONEY


def test_a_rule_reading_itself_is_c202():
    assert ("C202", "5:6-5:7", "`r` depends on itself: r -> r") in errors(H + "rule r: money = r + a\noutput r\n")


def test_definitions_are_ordered_dependencies_first_across_a_shared_dependency():
    text = H + "rule z: money = y + x\nrule y: money = x + w\nrule x: money = w\nrule w: money = a\nparam p: int = 1\noutput z, p\n"
    env = checked(text)
    order = [name for name in env.order]
    assert order.index("w") < order.index("x") < order.index("y") < order.index("z")
    assert sorted(order) == sorted(set(order)) and set(order) == {"a", "b", "z", "y", "x", "w", "p"}
    assert policydsl.loads(text).evaluate({"a": "1", "b": 1}).outputs["z"] == 3


# --- check_claim_independence -----------------------------------------------------------------


def test_constants_that_read_the_claim_are_c207():
    text = (H + "rule q: money = a\nparam p: money = a\nparam p2: money = q\nparam ok: int = 1\ntable tb: int -> money { 1: q }\n"
            "tiers s { above q: 10% }\nrecord R { v: money = a }\ninput2\nrule r: money = a + p + p2 + tb[b] + s(from 0 yuan to a)\noutput r\n").replace("record R { v: money = a }\ninput2\n", "")
    hint = "parameters, tables, tiers and defaults are constants; compute claim-dependent values in a `rule`"
    found_ = [(where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C207"]
    assert found_ == [("6:7-6:8", "parameter `p` uses `a`, which depends on the claim", hint),
                      ("7:7-7:9", "parameter `p2` uses `q`, which depends on the claim", hint),
                      ("9:7-9:9", "table `tb` uses `q`, which depends on the claim", hint),
                      ("10:7-10:8", "tier schedule `s` uses `q`, which depends on the claim", hint)]


def test_an_input_default_that_reads_another_field_is_c207_and_a_constant_is_fine():
    text = "input {\n  a: money\n  b: money = a\n  c: money = k\n}\nparam k: money = 3 yuan\nrule r: money = a + b + c\noutput r\n"
    assert [(where(d.span), d.message) for d in diagnostics(text) if d.code == "C207"] == [("3:3-3:4", "default `b` uses `a`, which depends on the claim")]


# --- check_outputs, check_flows ----------------------------------------------------------------


def test_no_outputs_is_c205_over_the_whole_file():
    d = only(H + "rule r: money = a\n", "C205")
    assert (d.span.line, d.message, d.hint) == (0, "the policy declares no outputs", "add `output name, ...` listing what a decision returns")


def test_outputs_listed_twice_undefined_or_of_the_wrong_kind_are_c201_and_c205():
    text = ("enum K { x }\nrecord R { v: int }\ninput {\n  a: money\n  b: int\n  rs: list of R\n  one: R\n}\n"
            "rule total: money = a\nparam p: int = 1\nfunction f(x: int): int = x\ntiers s { above 0 yuan: 10% }\n"
            "rule r: money = total + s(from 0 yuan to a)\nrule c: int = f(1)\n"
            "output r, r, totl, K, f, rs, one, b, p, c\n")
    found_ = [(d.code, where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code in ("C201", "C205")]
    assert found_ == [
        ("C201", "15:11-15:12", "output `r` is listed twice", None),
        ("C205", "15:14-15:18", "output `totl` is not defined", "did you mean `total`?"),
        ("C205", "15:20-15:21", "output `K` is an enum; outputs are rules, parameters or inputs", None),
        ("C205", "15:23-15:24", "output `f` is a function; outputs are rules, parameters or inputs", None),
        ("C205", "15:26-15:28", "output `rs` is a list of R; a decision's outputs are single values", None),
        ("C205", "15:30-15:33", "output `one` is a R; a decision's outputs are single values", None),
    ]


def test_an_undefined_output_suggests_rules_params_and_inputs_only():
    text = "enum Kinds { x }\n" + H + "rule r: money = a\noutput r, Kind\n"
    assert only(text, "C205").hint is None
    text = H + "param limit: int = 1\nrule r: money = a\noutput r, limt\n"
    assert only(text, "C205").hint == "did you mean `limit`?"


def test_flows_are_money_outputs_listed_once():
    text = (H + "rule r: money = a\nrule x: bool = true\nrule m: money = a\noutput r, b, x, m\n"
            "flows r, r, zz, rr, b, x\n")
    found_ = [(where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C271"]
    assert found_ == [
        ("9:10-9:11", "flow `r` is listed twice", None),
        ("9:13-9:15", "flow `zz` is not an output", "a flow is an output: list it in `output` too"),
        ("9:17-9:19", "flow `rr` is not an output", "did you mean `r`?"),
        ("9:21-9:22", "flow `b` is an int; a flow is money paid", None),
        ("9:24-9:25", "flow `x` is a bool; a flow is money paid", None),
    ]
    assert not [d for d in diagnostics(H + "rule r: money = a\noutput r, a\nflows r, a\n") if d.is_error]


def test_a_flow_of_an_ill_typed_output_is_not_reported_again():
    assert errors(H + "rule r = a + b\noutput r\nflows r\n") == [("C203", "5:10-5:15", "cannot add money and int")]


def test_drop_flows_without_a_parent_is_c271_and_its_names_are_not_flows():
    d = only(H + "rule r: money = a\noutput r\ndrop flows r\nflows r\n", "C271")
    assert (where(d.span), d.message, d.hint) == ("7:1-7:13", "`drop flows` in a policy that extends none", "`drop flows` leaves out a flow the parent policy lists")
    assert errors(H + "rule r: money = a\noutput r\nflows r\nflows r\n") == [("C271", "8:7-8:8", "flow `r` is listed twice")]
    assert [m for _, _, m in errors(H + "rule r: money = a\noutput r\ndrop flows r\nflows zz\n")] == [
        "`drop flows` in a policy that extends none", "flow `zz` is not an output"]


# --- check_tables ------------------------------------------------------------------------------


def test_table_keys_must_be_an_enum_or_int_and_rows_members_of_it():
    text = ("enum K { north, south }\n" + H + "table tm: money -> int { default: 1 }\ntable tk: K -> int { north: 1  sout: 2  south: 3  east: 4 }\n"
            "table ti: int -> int { 1: 1  north: 2 }\ntable tx: Nope -> int { 1: 1 }\n"
            "rule r: int = tm[a] + tk[K.north] + ti[b] + tx[b]\noutput r\n")
    found_ = [(d.code, where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code in ("C203", "C208", "C206")]
    assert found_ == [
        ("C203", "6:11-6:16", "table `tm` is keyed by money; keys must be an enum or int", None),
        ("C208", "7:32-7:39", "`sout` is not a member of K, the key of table `tk`", "did you mean `south`?"),
        ("C208", "7:51-7:58", "`east` is not a member of K, the key of table `tk`", "members: north, south"),
        ("C208", "8:30-8:38", "table `ti` is keyed by int, not `north`", None),
        ("C206", "9:11-9:15", "unknown type `Nope`", "types are: money, ratio, percent, int, number, bool, date, months, text, K"),
    ]


def test_a_table_of_an_int_enum_and_a_drop_row():
    text = "enum L { 1, 2 }\n" + H + "table tl: L -> int { 1: 1  2: 2  3: 3 }\ntable td: L -> int { 1: 1  drop 2 }\nrule r: int = tl[L.x]\noutput r\n"
    text = text.replace("tl[L.x]", "tl[b] + td[b]")
    found_ = [(d.code, where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C208"]
    assert found_ == [
        ("C208", "6:34-6:38", "`3` is not a member of L, the key of table `tl`", "members: 1, 2"),
        ("C208", "7:28-7:34", "`drop` removes a parent's row: only in an `override table`, not in table `td`", None),
    ]


def test_a_table_with_a_default_row_is_fine():
    text = "enum K { north, south }\n" + H + "table tk: K -> int { north: 1  default: 5 }\nrule r: int = tk[K.south]\noutput r\n"
    assert policydsl.loads(text).evaluate({"a": "1", "b": 1}).outputs["r"] == 5


# --- check_required ----------------------------------------------------------------------------

REGION = 'policy "p"\n  region "100000" "R"\n  as of day\n'


def test_a_region_leaving_required_values_unset_is_c268_at_its_region_clause():
    text = (REGION + "enum K { x, y, z }\ninput {\n  day: date\n  a: money\n}\n"
            "param p: money required\ntable t: K -> money required { y: 1 yuan }\ntiers s required\n"
            "table full: K -> money required { x: 1 yuan  y: 1 yuan  z: 1 yuan }\ntable opt: K -> money { default: 1 yuan }\n"
            "rule r: money = a + p + t[K.x] + s(from 0 yuan to a) + full[K.x] + opt[K.x]\noutput r\n")
    found_ = [(d.code, where(d.span), d.message, d.hint, [(r.message, where(r.span)) for r in d.related]) for d in diagnostics(text) if d.code == "C268"]
    assert found_ == [
        ("C268", "2:3-2:22", "param `p` is required and this policy does not set it", "set it: `override param p = ...`", [("required here", "9:7-9:8")]),
        ("C268", "2:3-2:22", "tiers `s` is required and this policy does not set it", "give its bands: `override tiers s { from ... to ...: ... }`", [("required here", "11:7-11:8")]),
        ("C268", "2:3-2:22", "a row of table `t` for x, z is required and this policy does not set it", "give every K: `override table t { x: ... }`", [("required here", "10:7-10:8")]),
    ]


def test_a_required_table_of_an_int_enum_names_the_missing_keys():
    text = REGION + "enum L { 1, 2, 3 }\ninput {\n  day: date\n  a: money\n}\ntable t: L -> money required { 2: 1 yuan }\nrule r: money = a + t[L.x]\noutput r\n"
    text = text.replace("t[L.x]", "t[2]")
    d = only(text, "C268")
    assert (d.message, d.hint) == ("a row of table `t` for 1, 3 is required and this policy does not set it", "give every L: `override table t { 1: ... }`")


def test_a_frame_leaving_required_values_unset_is_w237_at_its_first_clause_or_the_policy():
    body = "enum K { x, y, z }\ninput {\n  day: date\n  a: money\n}\nparam p: money required\ntable t: K -> money required { y: 1 yuan }\nrule r: money = a + p + t[K.x]\noutput r\n"
    for head, at in (('policy "p"\n  as of day\n', "1:8-1:11"), ('policy "p"\n', "1:8-1:11"), ("", "0:0-0:0")):
        d = only(head + body, "W237")
        assert d.severity is Severity.WARNING
        assert d.message == ("this policy is a frame: it leaves required values unset (param `p`; a row of table `t` for x, z), "
                             "so it decides no claim until a policy that extends it sets them")
        assert d.hint == "a region extends it and sets them (`override param ...`, `override table ...`)"
        assert where(d.span) == at
    assert not [d for d in diagnostics('policy "p"\n' + body.replace(" required { y: 1 yuan }", " { default: 1 yuan }").replace("money required", "money = 1 yuan")) if d.code in ("W237", "C268")]


# --- check_requires ----------------------------------------------------------------------------


def test_a_require_names_an_input_field_and_reads_no_rule():
    text = (ACC_HEAD + "rule q: money = amount\naccumulator acc: money per pid over year opening 0 yuan adds amount\n"
            "require zz: amount > 0 yuan\nrequire amount: q > 0 yuan\nrequire q: amount > 0 yuan\nrequire acc: amount > 0 yuan\nrequire day: amount > 0 yuan\n"
            "rule r: money = amount + acc\noutput r\n")
    found_ = [(where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C272"]
    name_it = "name the input field a claim that breaks the requirement should be corrected at"
    assert found_ == [
        ("10:9-10:11", "`require zz`: `zz` is not a field of the claim's input", name_it),
        ("11:9-11:15", "`require amount` reads rule `q`: a requirement is checked on the claim's facts before any rule",
         "write the condition over the input fields and the policy's constants"),
        ("12:9-12:10", "`require q`: `q` is not a field of the claim's input", name_it),
        ("13:9-13:12", "`require acc`: `acc` is not a field of the claim's input", name_it),
    ]
    d = only(ACC_HEAD + "require amout: amount > 0 yuan\nrule r: money = amount\noutput r\n", "C272")
    assert d.hint == "did you mean `amount`?"


def test_an_unknown_key_type_of_a_table_is_reported_once():
    """It was C206 twice (the typing pass, then check_tables), three times for a required
    table (check_required too)."""
    for required in ("", " required"):
        text = H + f"table tx: Nope -> int{required} {{ 1: 1 }}\nrule r: int = tx[b]\noutput r\n"
        assert errors(text) == [("C206", "5:11-5:15", "unknown type `Nope`")]


def test_an_unknown_parameter_type_of_a_function_is_reported_once():
    """The typing pass resolves a function's parameter types twice (for its body and for each
    call); the checked result keeps one finding once (`Checked.from_env`)."""
    text = H + "function f(x: Nope): int = 1\nrule r: int = f(b)\noutput r\n"
    assert errors(text) == [("C206", "5:15-5:19", "unknown type `Nope`")]


# --- check.check and Checked.from_env ------------------------------------------------------------

FULL = ('policy "full"\n  as of day\nenum K { x, y }\nrecord R { v: int = 2  w: money }\n'
        'input {\n  pid: text = ""\n  day: date\n  amount: money\n  k: K = x\n  rs: list of R\n}\n'
        "param p: money = 1 yuan until 2025-06-30\nparam p: money = 2 yuan from 2025-07-01\n"
        "invariant i: r >= 0 yuan\nrequire amount: amount >= 0 yuan\n"
        "accumulator acc: money per pid over year opening 0 yuan adds amount\n"
        "rule r: money = amount + p + acc + sum(e.w for e in rs)\noutput r, k\n")


def test_checked_hands_on_every_table_of_the_passes():
    source = SourceFile("full.policy", FULL)
    env, found_ = check_source(source)
    assert [d.code for d in found_] == []
    assert env.source is source and env.policy.header.title == "full"
    assert env.linked is not None and env.linked.policy is env.policy
    assert env.diagnostics == () and isinstance(env.diagnostics, tuple)
    assert set(env.symbols) == {"K", "R", "pid", "day", "amount", "k", "rs", "p", "acc", "r"}
    assert list(env.enums) == ["K"] and list(env.records) == ["R"]
    assert [f.name for f in env.input.fields] == ["pid", "day", "amount", "k", "rs"]
    assert [o.name for o in env.outputs] == ["r", "k"] and isinstance(env.outputs, tuple)
    assert {name: [v.span.line for v in variants] for name, variants in env.variants.items()} == {"p": [12, 13], "r": [17]}
    assert isinstance(env.variants["p"], tuple)
    assert [i.name for i in env.invariants] == ["i"] and [r.field for r in env.requires] == ["amount"]
    assert [a.name for a in env.accumulators] == ["acc"]
    assert len(env.segments) == 2 and [str(c) for c in env.cuts] == ["2025-07-01"]
    assert env.defaults[(None, "pid")] == "" and env.defaults[(None, "k")] == "x" and env.defaults[("R", "v")] == 2
    body = env.symbols["r"].node.body
    assert env.types[n.key(body)] == t.MONEY and env.resolved[n.key(body.left.left.left)] is env.symbols["amount"]
    assert env.field_types[("R", "w")] == t.MONEY and env.def_types["r"] == t.MONEY and env.def_types["p"] == t.MONEY
    assert len(env.field_index) == 1 and list(env.field_index.values()) == [1]
    assert env.order.index("p") < env.order.index("r") and isinstance(env.order, tuple)
    assert env.deps["r"] == {"amount", "p", "acc", "rs"} and isinstance(env.deps["r"], frozenset)
    assert env.used >= {"amount", "p", "acc", "rs", "r"} and isinstance(env.used, frozenset)
    for table in (env.symbols, env.enums, env.records, env.variants, env.defaults, env.resolved, env.types,
                  env.field_types, env.field_index, env.def_types, env.deps):
        assert isinstance(table, MappingProxyType)
    assert [f.name for f in env.record_fields(None)] == ["pid", "day", "amount", "k", "rs", "acc"]
    assert [f.name for f in env.record_fields("R")] == ["v", "w"]


def test_a_checked_policy_computes_with_all_of_it():
    policy = policydsl.loads(FULL, name="full.policy")
    facts = {"pid": "a", "day": "2025-08-01", "amount": "10", "rs": [{"w": "3"}, {"w": "4"}]}
    assert policy.evaluate(facts, accumulators={"acc": "5"}).outputs == {"r": Decimal("24.00"), "k": "x"}


def test_check_runs_every_pass_and_keeps_the_bounds_and_provenance():
    from policydsl.api import parse_source

    source = SourceFile("t.policy", H + "rule r: money = a\nrule r: money = a\n")
    policy, _ = parse_source(source)
    result = check(policy, source, linked="provenance")
    assert result.linked == "provenance" and result.policy is policy and result.source is source
    assert [d.code for d in result.diagnostics] == ["C201", "C205"]
    assert result.record_fields(None)[0].name == "a"


def test_a_checked_policy_without_input_has_no_input_fields():
    env, _ = check_source(SourceFile("t.policy", "rule r: int = 1\noutput r\n"))
    assert env.input is None and env.record_fields(None) == ()


# --- CheckEnv ----------------------------------------------------------------------------------


def scratch(text: str) -> CheckEnv:
    """A CheckEnv after the passes up to and including resolve_names."""
    from policydsl.api import parse_source

    source = SourceFile("t.policy", text)
    policy, _ = parse_source(source)
    env = CheckEnv(source, policy)
    for check_pass in passes.PASSES[:3]:
        check_pass(env)
    return env


def test_the_environment_records_errors_and_warnings_with_their_parts():
    env = scratch(H + "rule r: money = a\noutput r\n")
    span = Span.point(env.source, 5, 6, 40)
    env.error("C999", "an error", span, hint="do this", notes=["one", "two"], related=[("x", span)])
    env.warning("W999", "a warning", None, hint="maybe")
    error, warning = env.diagnostics
    assert (error.code, error.message, error.span, error.hint, error.notes, error.related) == ("C999", "an error", span, "do this", ("one", "two"), (("x", span),))
    assert error.severity is Severity.ERROR and error.is_error
    assert (warning.code, warning.message, warning.span, warning.hint, warning.severity) == ("W999", "a warning", None, "maybe", Severity.WARNING)
    env.error("C998", "bare", None)
    assert (env.diagnostics[-1].hint, env.diagnostics[-1].notes, env.diagnostics[-1].related) == (None, (), ())


def test_has_errors_counts_errors_not_warnings():
    env = scratch(H + "rule r: money = a\noutput r\n")
    assert env.diagnostics == [] and not env.has_errors
    env.warning("W999", "a warning", None)
    assert not env.has_errors
    env.error("C999", "an error", None)
    assert env.has_errors


def test_suggest_names_the_closest_candidate_only_when_close():
    env = scratch(H + "rule r: money = a\noutput r\n")
    assert env.suggest("totl", ["total", "tot", "other"]) == "did you mean `total`?"
    assert env.suggest("amount", ["amount_paid", "amounts"]) == "did you mean `amounts`?"
    assert env.suggest("ab", ["abcdef"]) is None and env.suggest("x", []) is None
    assert env.suggest("abcd", ("abce" for _ in range(1))) == "did you mean `abce`?"  # any iterable of names


def test_definition_gives_a_names_node_or_none():
    env = scratch(H + "rule r: money = a\noutput r\n")
    assert env.definition("r") is env.symbols["r"].node and env.definition("a") is env.input.fields[0]
    assert env.definition("zz") is None
    assert env.name_span(env.definition("r")).line == 5


def test_bodies_of_each_kind_of_definition():
    text = ("enum K { x }\n" + H.replace("  b: int\n", "  b: int = 7\n  c: int\n")
            + "param p: money = 1 yuan\ntable tb: K -> int { x: 2  default: 3 }\ntiers s { from 0 yuan to 10 yuan: 10%  above 10 yuan: 20% }\n"
            "rule r: money = a\nfunction f(v: int): int = v\noutput r\n")
    env = scratch(text)
    shown = lambda name: [e.span.text for e in env.bodies(name)]  # noqa: E731
    assert shown("p") == ["1 yuan"] and shown("r") == ["a"]
    assert shown("tb") == ["2", "3"]
    assert shown("s") == ["0 yuan", "10 yuan", "10%", "10 yuan", "20%"]
    assert shown("b") == ["7"] and shown("c") == [] and shown("K") == [] and shown("f") == []


def test_bodies_of_a_required_param_are_none():
    env = scratch('policy "p"\n' + H + "param p: money required\nrule r: money = a + p\noutput r\n")
    assert env.bodies("p") == []


def test_record_fields_of_the_environment_are_the_inputs_then_the_accumulators_or_a_records():
    env = scratch(ACC_HEAD + "record R { v: int  w: int }\naccumulator s1: money per pid over year opening 0 yuan adds amount\nrule r: money = s1\noutput r\n")
    assert [f.name for f in env.record_fields(None)] == ["pid", "day", "amount", "s1"]
    assert [f.name for f in env.record_fields("R")] == ["v", "w"]
    assert scratch("rule r: int = 1\noutput r\n").record_fields(None) == ()


def test_an_override_table_with_nothing_to_override_has_the_error_type():
    text = "enum K { x }\n" + H + "override table t { x: 1 }\nrule r: int = 1\noutput r\n"
    env, found_ = check_source(SourceFile("t.policy", text))
    assert [(d.code, where(d.span)) for d in found_ if d.is_error] == [("C244", "6:16-6:17")]
    assert env.def_types["t"] is t.ERROR


def test_an_accumulator_of_a_policy_without_input_takes_the_first_slot():
    env, found_ = check_source(SourceFile("t.policy", "accumulator acc: money per pid over year opening 0 yuan adds 1 yuan\nrule r: money = acc\noutput r\n"))
    assert "C209" in [d.code for d in found_]
    assert (env.symbols["acc"].kind, env.symbols["acc"].index) == ("input", 0)


def test_the_linker_provenance_reaches_the_passes(tmp_path):
    """warn_unused reads it: an inherited rule an override leaves unused is W238."""
    from policydsl.api import parent_loader

    from .policy_trees import parent_and_child

    parent = 'policy "base"\ninput {\n  cost: money\n}\nrule q: money = cost\nrule r: money = q\noutput r\n'
    path = parent_and_child(tmp_path, parent, "override rule r: money = cost + 1 yuan\n")
    env, found_ = check_source(SourceFile(str(path), path.read_text()), parent_loader(tmp_path / "policies"))
    assert [(d.code, d.message) for d in found_] == [("W238", "inherited rule `q` is no longer used: this policy's overrides replaced what used it")]
    assert env.linked.chain


def test_every_kind_of_name_defined_twice_points_at_the_first():
    text = ("enum K { x }\nenum K { y }\nrecord R { v: int }\nrecord R { w: int }\nfunction f(v: int): int = v\nfunction f(v: int): int = v\n"
            "record a { v: int }\ninput {\n  a: money\n  b: int\n  b: int\n}\nrule r: money = 1 yuan + f(b)\noutput r\n")
    found_ = [(where(d.span), d.message, [(r.message, where(r.span)) for r in d.related]) for d in diagnostics(text) if d.code == "C201"]
    assert found_ == [
        ("2:6-2:7", "`K` is defined twice", [("first defined here", "1:6-1:7")]),
        ("4:8-4:9", "`R` is defined twice", [("first defined here", "3:8-3:9")]),
        ("6:10-6:11", "`f` is defined twice", [("first defined here", "5:10-5:11")]),
        ("9:3-9:4", "`a` is defined twice", [("first defined here", "7:8-7:9")]),
        ("11:3-11:4", "`b` is defined twice", [("first defined here", "10:3-10:4")]),
    ]
    env, _ = check_source(SourceFile("t.policy", text))
    assert [m.value for m in env.enums["K"].members] == ["x"] and [f.name for f in env.records["R"].fields] == ["v"]
    assert (env.symbols["b"].index, env.symbols["f"].node.span.line) == (1, 5)


def test_a_set_output_is_c205_and_a_set_flow_c271():
    text = H + "rule s = {1, 2}\nrule r: money = a\noutput r, s\nflows r, s\n"
    assert errors(text) == [("C205", "7:11-7:12", "output `s` is a set of int; a decision's outputs are single values"),
                            ("C271", "8:10-8:11", "flow `s` is a set of int; a flow is money paid")]


def test_a_flow_of_an_output_without_a_type_is_not_reported_again():
    text = "enum K { x }\n" + H + "rule r: money = a\noutput r, K\nflows r, K\n"
    assert errors(text) == [("C205", "7:11-7:12", "output `K` is an enum; outputs are rules, parameters or inputs")]


def test_a_required_table_with_a_default_row_lacks_no_key():
    text = REGION + "enum K { x, y }\ninput {\n  day: date\n  a: money\n}\ntable t: K -> money required { x: 1 yuan  default: 2 yuan }\nrule r: money = a + t[K.y]\noutput r\n"
    assert errors(text) == []
    assert policydsl.loads(text).evaluate({"day": "2025-01-01", "a": "1"}).outputs["r"] == 3


def test_a_require_in_a_policy_without_input_is_c272():
    d = only("require x: 1 > 0\nrule r: int = 1\noutput r\n", "C272")
    assert (where(d.span), d.message, d.hint) == ("1:9-1:10", "`require x`: `x` is not a field of the claim's input",
                                                  "name the input field a claim that breaks the requirement should be corrected at")


def test_an_undefined_name_beside_an_enum_of_numbers_is_c200():
    assert errors("enum L { 1, 2 }\n" + H + "rule r: money = amout\noutput r\n") == [("C200", "6:17-6:22", "undefined name `amout`")]


def test_what_a_parents_floor_would_report_in_the_child_is_dropped(tmp_path):
    from policydsl.api import parent_loader

    from .policy_trees import parent_and_child

    parent = ('policy "base"\ninput {\n  cost: money\n}\n'
              "tiers s { band x: above 0 yuan: 10% }\nparam step: money = s(from 0 yuan to 10_000 yuan, band x) floor\nrule r: money = cost + step\noutput r\n")
    path = parent_and_child(tmp_path, parent, "override tiers s { above 0 yuan: 20% }\noverride param step = 999 yuan\n")
    _, found_ = check_source(SourceFile(str(path), path.read_text()), parent_loader(tmp_path / "policies"))
    # the parent's floor names band `x`, which the child's `s` lacks: judged in the parent, not here
    assert [(d.code, d.message) for d in found_] == [("W230", "tier schedule `s` is never used")]


def test_enums_and_records_are_not_ordered_definitions():
    env = checked("enum K { x }\nrecord R { v: int }\n" + H + "rule r: bool = K.x = K.x\noutput r\n")
    assert sorted(env.order) == ["a", "b", "r"] and sorted(env.deps) == ["a", "b", "r"]


def test_loop_variables_and_bare_members_resolve_to_symbols_of_their_own_node():
    text = "enum K { x, y }\ninput {\n  a: money\n  xs: list of int\n}\nrule r: int = sum(v for v in xs)\nrule s: K = y\noutput r, s\n"
    env = checked(text)
    loop = env.symbols["r"].node.body.body
    symbol = env.resolved[n.key(loop)]
    assert (symbol.kind, symbol.name, symbol.value) == ("loop", "v", None) and symbol.node is loop
    member = env.symbols["s"].node.body
    symbol = env.resolved[n.key(member)]
    assert (symbol.kind, symbol.name, symbol.value) == ("member", "y", "y") and symbol.node is member


def test_a_let_whose_body_reads_only_other_names_is_w240():
    d = only(H + "rule r: int = let y = 1 in b\noutput r\n", "W240")
    assert (where(d.span), d.message) == ("5:19-5:20", "`let y` is never used")


def test_a_cycle_that_does_not_pass_through_the_first_definition_is_c202():
    text = H + "rule r: money = x\nrule x: money = y\nrule y: money = x + a\noutput r\n"
    assert [(code, span, m) for code, span, m in errors(text) if code == "C202"] == [("C202", "6:6-6:7", "`x` depends on itself: x -> y -> x")]


def test_an_undefined_output_suggests_an_input_field():
    text = "input {\n  amount: money\n}\nrule r: money = amount\noutput r, amout\n"
    assert only(text, "C205").hint == "did you mean `amount`?"


def test_rows_after_a_drop_row_or_a_default_row_are_still_checked():
    text = ("enum K { x, y }\n" + H + "table t1: K -> int { x: 1  drop y  z: 2 }\ntable t2: K -> int { default: 1  w: 2 }\n"
            "rule r: int = t1[K.x] + t2[K.x]\noutput r\n")
    assert [(span, m) for code, span, m in errors(text) if code == "C208"] == [
        ("6:28-6:34", "`drop` removes a parent's row: only in an `override table`, not in table `t1`"),
        ("6:36-6:40", "`z` is not a member of K, the key of table `t1`"),
        ("7:34-7:38", "`w` is not a member of K, the key of table `t2`"),
    ]


def test_a_required_table_after_one_with_a_default_row_is_still_checked():
    text = (REGION + "enum K { x, y }\ninput {\n  day: date\n  a: money\n}\n"
            "table t: K -> money required { default: 2 yuan }\ntable u: K -> money required { x: 1 yuan }\n"
            "rule r: money = a + t[K.y] + u[K.x]\noutput r\n")
    assert [m for code, _, m in errors(text) if code == "C268"] == ["a row of table `u` for y is required and this policy does not set it"]


def test_an_accumulator_defined_twice_points_at_the_first_and_one_after_a_clash_is_kept():
    text = ACC_HEAD + ("accumulator s1: money per pid over year opening 0 yuan adds amount\n"
                       "accumulator s1: money per pid over year opening 0 yuan adds amount\n"
                       "accumulator amount: money per pid over year opening 0 yuan adds amount\n"
                       "accumulator s2: int per pid over year opening 0 adds 1\n"
                       "rule r: money = s1 + amount\nrule k: int = s2\noutput r, k\n")
    found_ = [(where(d.span), d.message, [where(r.span) for r in d.related]) for d in diagnostics(text) if d.code == "C201"]
    assert found_ == [("9:13-9:15", "`s1` is defined twice", ["8:13-8:15"]), ("10:13-10:19", "`amount` is defined twice", ["6:3-6:9"])]
    env, _ = check_source(SourceFile("t.policy", text))
    assert [a.name for a in env.accumulators] == ["s1", "s2"] and env.symbols["s2"].index == 4


def test_an_undefined_name_is_never_suggested_a_record_and_an_enum_member_resolves_to_its_attr():
    text = "record Item { v: int }\n" + H + "rule r: int = Items\noutput r\n"
    assert [(span, m) for code, span, m in errors(text)] == [("6:15-6:20", "undefined name `Items`")]
    assert only(text, "C200").hint is None
    env = checked("enum K { x }\n" + H + "rule r: K = K.x\noutput r\n")
    attr = env.symbols["r"].node.body
    symbol = env.resolved[n.key(attr)]
    assert (symbol.kind, symbol.name, symbol.value) == ("member", "x", "x") and symbol.node is attr


def test_the_extra_values_of_round_are_bound_and_recorded():
    env, found_ = check_source(SourceFile("t.policy", H + "rule r: money = round(a * 50%, down, b)\noutput r\n"))
    assert env.deps["r"] == {"a", "b"}
    assert [(d.code, where(d.span), d.message) for d in found_] == [("C203", "5:38-5:39", "the step of `round` must be a money written out, like 10 yuan")]


def test_a_missing_band_names_every_band_and_the_values_around_it_are_still_checked():
    text = (H + "tiers s { band low: from 0 yuan to 10 yuan: 10%  band top: above 10 yuan: 20% }\n"
            "rule r: money = s(from 0 yuan to zz, band mid)\noutput r\n")
    found_ = [(where(d.span), d.message, d.hint) for d in diagnostics(text) if d.code == "C200"]
    assert found_ == [("6:17-6:47", "tier schedule `s` has no band `mid`", "its bands: low, top"),
                      ("6:34-6:36", "undefined name `zz`", None)]


def test_what_an_aggregates_body_and_where_read_are_dependencies():
    text = "input {\n  a: money\n  xs: list of int\n}\nparam p: int = 3\nparam q: int = 1\nrule r: int = sum(v * p for v in xs where v > q)\noutput r\n"
    env = checked(text)
    assert env.deps["r"] == {"xs", "p", "q"} and env.order.index("p") < env.order.index("r")
    assert policydsl.loads(text).evaluate({"a": "1", "xs": [1, 2, 3]}).outputs["r"] == 15
