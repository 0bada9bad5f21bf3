"""Limits (policydsl/limits.py): too big or too deep is a diagnostic at file:line:col.

Each case is checked from both sides: one step past the limit gives the L5xx
diagnostic quickly (never a RecursionError, a SyntaxError from generated code or a long
parse), and the deepest legal policy still loads, evaluates and explains -- also when
policydsl is called from deep inside an application's own call stack.
"""

from __future__ import annotations

import time

import pytest

import policydsl
from policydsl.syntax import limits
from policydsl.diagnostics.model import PolicyError
from policydsl.api import analyze
from policydsl.syntax.source import SourceFile

from .conftest import EXAMPLE_POLICY

D = limits.MAX_NESTING
CALLER_FRAMES = 300  # an application's own stack around policydsl (web framework, test runner ...)
FACTS = {"amount": "12.50", "items": [{"amount": "1.00", "parts": [{"amount": "0.50"}]}, {"amount": "2.00", "parts": []}]}
HEAD = "record Part { amount: money }\nrecord Item { amount: money\n parts: list of Part }\ninput { amount: money\n items: list of Item }\n"


def at_depth(frames: int, function, *args):
    """Call `function` with `frames` more Python frames on the stack."""
    if frames <= 0:
        return function(*args)
    return at_depth(frames - 1, function, *args)


def diagnostics_of(text: str, name: str = "deep.policy"):
    started = time.perf_counter()
    with pytest.raises(PolicyError) as caught:
        policydsl.loads(text, name=name)
    assert time.perf_counter() - started < 3, "a limit must be found quickly"
    for diagnostic in caught.value.diagnostics:
        diagnostic.render()
    return caught.value.diagnostics


def only(text: str, code: str, name: str = "deep.policy"):
    diagnostics = diagnostics_of(text, name)
    assert [d.code for d in diagnostics] == [code], str(diagnostics)
    (diagnostic,) = diagnostics
    assert diagnostic.span is not None and diagnostic.span.line >= 1 and diagnostic.span.column >= 1
    assert diagnostic.render().startswith(f"{name}:{diagnostic.span.line}:{diagnostic.span.column}: error[{code}]")
    return diagnostic


def rule(expr: str, type_: str = "money") -> str:
    return f"{HEAD}rule r: {type_} =\n  {expr}\noutput r\n"


# Each construct as a function of its nesting depth k: (policy text, expected output of r).
CONSTRUCTS = {
    "parentheses": lambda k: (rule("(" * k + "amount" + ")" * k), "12.50"),
    "negation": lambda k: (rule("- " * (2 * (k // 2)) + "amount"), "12.50"),
    "negated brackets": lambda k: (rule("-(" * (2 * (k // 2)) + "amount" + ")" * (2 * (k // 2))), "12.50"),
    "not": lambda k: (rule("not " * (2 * (k // 2)) + "amount > 1 yuan", "bool"), True),
    "sum chain": lambda k: (rule(" + ".join(["amount"] * k) + " - " + " - ".join(["amount"] * (k - 1))), "12.50"),
    "max": lambda k: (rule("max(" * k + "amount" + ", 1 yuan)" * k), "12.50"),
    "clamp": lambda k: (rule("clamp(" * k + "amount" + ", 0 yuan, 100 yuan)" * k), "12.50"),
    "round": lambda k: (rule("round(" * k + "amount" + ", half_up)" * k), "12.50"),
    "when in brackets": lambda k: (rule("(when amount > 1 yuan then " * k + "amount" + " otherwise 0 yuan)" * k), "12.50"),
    # a chain inside an expression compiles to nested conditional expressions (a whole
    # rule's chain is `if`/`elif`, unlimited: tests/test_generated_code.py)
    "when chain": lambda k: (
        rule("0 yuan + (" + " ".join(f"when amount > {1000 + i} yuan then {i} yuan" for i in range(k)) + " otherwise amount)"),
        "12.50",
    ),
    "mixed": lambda k: (
        rule(
            "".join(
                ["clamp(", "(when amount < 0 yuan then 0 yuan otherwise ", "max(1 yuan, ", "round(", "-(-"][i % 5]
                for i in range(k)
            )
            + "amount"
            + "".join(
                [", 0 yuan, 100 yuan)", ")", ")", ", half_up)", ")"][i % 5] for i in reversed(range(k))
            )
        ),
        None,
    ),
}


def deepest(build) -> int:
    """The largest k for which `build(k)` loads (depth limits are monotone in k)."""
    low, high = 1, 4 * D
    while low < high:
        middle = (low + high + 1) // 2
        try:
            policydsl.loads(build(middle)[0])
            low = middle
        except PolicyError as error:
            assert {d.code for d in error.diagnostics} == {"L502"}, str(error)
            high = middle - 1
    return low


@pytest.mark.parametrize("kind", sorted(CONSTRUCTS))
def test_just_below_the_limit_loads_evaluates_and_explains(kind):
    build = CONSTRUCTS[kind]
    k = deepest(build)
    assert k >= 20, f"{kind}: only {k} levels allowed; real policies need about 12"
    text, expected = build(k)
    policy = at_depth(CALLER_FRAMES, policydsl.loads, text)
    decision = at_depth(CALLER_FRAMES, policy.evaluate, FACTS)
    if expected is not None:
        got = decision.outputs["r"]
        assert (str(got) if not isinstance(got, bool) else got) == expected
    assert "r = " in at_depth(CALLER_FRAMES, decision.explain)
    # one step further is a clear L502 (not a check error, not a crash)
    assert only(build(k + 2)[0], "L502").message


@pytest.mark.parametrize("kind", sorted(CONSTRUCTS))
def test_ten_thousand_deep_is_a_clear_error(kind):
    text = CONSTRUCTS[kind](10_000)[0]
    diagnostic = diagnostics_of(text)[0]
    assert diagnostic.code in ("L502", "L504")
    assert diagnostic.span.line >= 1 and diagnostic.span.column >= 1


def test_ten_thousand_parentheses_point_where_the_limit_is_crossed():
    text = "input { amount: money }\nrule r: money =\n  " + "(" * 10_000 + "amount" + ")" * 10_000 + "\noutput r\n"
    diagnostic = only(text, "L502", "parens.policy")
    assert (diagnostic.span.line, diagnostic.span.column) == (3, 3 + D)
    assert "nested more than 50" in diagnostic.message and diagnostic.hint


@pytest.mark.parametrize(
    "expr",
    ["- " * 10_000 + "amount", "-(" * 10_000 + "amount" + ")" * 10_000, "not " * 10_000 + "true", " + ".join(["amount"] * 10_000)],
    ids=["minus", "minus-brackets", "not", "plus"],
)
def test_long_chains_without_recursion_error(expr):
    diagnostic = only(f"input {{ amount: money }}\nrule r =\n  {expr}\noutput r\n", "L502")
    assert diagnostic.span.line == 3


def test_deep_when_in_brackets():
    text = rule("(when amount > 1 yuan then " * 10_000 + "amount" + " otherwise 0 yuan)" * 10_000)
    assert only(text, "L502").span.line == 7


def test_aggregates_nested_at_the_limit_and_past_it():
    three = rule("sum(sum(sum(p.amount for p in i.parts) for i in items) for x in items)")
    decision = policydsl.loads(three).evaluate(FACTS)
    assert str(decision.outputs["r"]) == "1.00"  # 2 items x the 0.50 of parts
    decision.explain()
    four = rule("sum(sum(sum(sum(p.amount for p in i.parts) for i in items) for x in items) for y in items)")
    diagnostic = only(four, "L502")
    assert "aggregates nested more than 3" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.column) == (7, 15)


def _records(depth: int) -> tuple[str, dict, str]:
    defs = [f"record R{i} {{ next: R{i + 1} }}" for i in range(depth - 1)] + [f"record R{depth - 1} {{ amount: money }}"]
    facts: dict = {"amount": "3.00"}
    for _ in range(depth - 1):
        facts = {"next": facts}
    path = ".".join(["r"] + ["next"] * (depth - 1) + ["amount"])
    text = "\n".join(defs) + f"\ninput {{ r: R0 }}\nrule x: money = {path}\noutput x\n"
    return text, {"r": facts}, path


def test_records_nested_at_the_limit_and_past_it():
    text, facts, _ = _records(limits.MAX_RECORD_NESTING)
    policy = at_depth(CALLER_FRAMES, policydsl.loads, text)
    assert str(at_depth(CALLER_FRAMES, policy.evaluate, facts).outputs["x"]) == "3.00"
    diagnostic = only(_records(limits.MAX_RECORD_NESTING + 1)[0], "L502")
    assert "records nested more than" in diagnostic.message and diagnostic.span.line == 1


def test_records_that_contain_each_other_are_a_check_error():
    text = "record A { b: list of B }\nrecord B { a: A }\nrecord C { c: C }\ninput { a: A }\nrule r: int = 1\noutput r\n"
    assert "C203" in {d.code for d in diagnostics_of(text)}


def test_deep_list_types_and_facts():
    text = "input { m: " + "list of " * 40 + "money }\nrule r: int = 1\noutput r\n"
    policy = at_depth(CALLER_FRAMES, policydsl.loads, text)
    value: object = ["1.00"]
    for _ in range(39):
        value = [value]
    assert at_depth(CALLER_FRAMES, policy.evaluate, {"m": value}).outputs["r"] == 1
    with pytest.raises(policydsl.FactsError) as caught:
        policy.evaluate({"m": [[["x"]]]})
    assert caught.value.errors[0].path == "m[0][0][0]"
    only("input { m: " + "list of " * 10_000 + "money }\n", "L502")


def test_a_long_chain_of_definitions_loads():
    """A dependency chain as long as the limit allows (checked from its far end) is safe."""
    count = limits.MAX_DEFINITIONS - 2  # r0 uses r1 ... uses amount: checked from r0, the deepest way
    rules = [f"rule r{i}: money = r{i + 1}" for i in range(count - 1)] + [f"rule r{count - 1}: money = amount"]
    text = "input { amount: money }\n" + "\n".join(rules) + "\noutput r0\n"
    policy = at_depth(CALLER_FRAMES, policydsl.loads, text)
    assert str(policy.evaluate({"amount": "4.00"}).outputs["r0"]) == "4.00"


def test_too_many_definitions():
    text = "input { amount: money }\n" + "".join(f"param p{i} = {i}\n" for i in range(limits.MAX_DEFINITIONS + 10))
    diagnostic = only(text, "L503", "many.policy")
    assert diagnostic.span.line == limits.MAX_DEFINITIONS + 1


def test_too_many_definitions_on_one_line():
    """The count before parsing looks at line starts; the parse tree catches the rest."""
    text = "input { amount: money } " + " ".join(f"param p{i} = {i}" for i in range(limits.MAX_DEFINITIONS + 1))
    diagnostic = only(text, "L503")
    assert diagnostic.span.line == 1 and diagnostic.span.column > 1


def test_a_hundred_thousand_definitions():
    text = "input { a: money }\n" + "output a\n" * 100_000  # 900 kB: under the size limit
    diagnostic = only(text, "L503", "huge.policy")
    assert "(100,001)" in diagnostic.message


def test_too_many_tokens():
    body = ", ".join(f"{i}" for i in range(30_000))
    diagnostic = only(f"input {{ amount: money }}\nparam s = {{{body}}}\n", "L504")
    assert diagnostic.span.line == 2


def test_huge_file():
    text = "# " + "x" * limits.MAX_POLICY_CHARS + "\n"
    diagnostic = only(text, "L501", "huge.policy")
    assert "larger than 1,000,000 characters" in diagnostic.message


def test_huge_file_through_load(tmp_path):
    path = tmp_path / "huge.policy"
    path.write_text("input { a: money }\n" + "# filler\n" * 200_000, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        policydsl.load(path)
    assert [d.code for d in caught.value.diagnostics] == ["L501"]
    assert caught.value.diagnostics[0].span.location.startswith(str(path))


def test_long_number_literal():
    """Python's int() refuses 4,300+ digits: a long literal must be a diagnostic (P117, lower.py)."""
    diagnostics = diagnostics_of(f"input {{ a: int }}\nrule r: int = a + {'9' * 5_000}\noutput r\n")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("P117", 2, 19)]
    policydsl.loads("input { a: int }\nrule r: int = a + " + "9" * 18 + "\noutput r\n")
    # Within 40 digits but past the bounds numbers keep to (numbers.py): P121, not P117.
    diagnostics = diagnostics_of("input { a: int }\nrule r: int = a + " + "9" * 30 + "\noutput r\n")
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("P121", 2, 19)]


def test_brackets_in_strings_and_comments_do_not_count():
    text = 'input { amount: money }\n# ' + "(" * 500 + '\nrule r: money = amount because "' + "[" * 500 + '"\noutput r\n'
    assert str(policydsl.loads(text).evaluate({"amount": "1"}).outputs["r"]) == "1.00"


def test_the_example_is_far_below_every_limit():
    source = SourceFile(str(EXAMPLE_POLICY), EXAMPLE_POLICY.read_text(encoding="utf-8"))
    _, diagnostics = analyze(source)
    assert not [d for d in diagnostics if d.is_error]
