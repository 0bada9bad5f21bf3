"""Policy text can never run Python or touch the system, and evaluation always ends.

Why each test: the compiler turns policies into Python source and runs it, so the one way
a policy could run code is through that source. The tests show (a) hostile names and
strings load and evaluate correctly while the generated source holds none of them, only
mangled names and integers; (b) the generated functions have no builtins; (c) eval/exec
appear only in the compiler, on generated source; (d) loading and evaluating every
bundled policy opens no file, socket or process; (e) evaluation terminates: the language
has no loops or recursion (a cycle is C202) and aggregates only walk finite input lists.
"""

from __future__ import annotations

import builtins
import io
import keyword
import os
import re
import socket
import subprocess
import sys
import time
import tokenize
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl.diagnostics.model import PolicyError

from .conftest import DATA, ROOT, example_claims
from tests.records import outputs

PACKAGE = ROOT / "policydsl"
POLICIES = ROOT / "policies"
HOSTILE = DATA / "fuzz" / "hostile.policy"
HOSTILE_TEXT = HOSTILE.read_text(encoding="utf-8")
TEXTS = {path: path.read_text(encoding="utf-8") for path in sorted(POLICIES.glob("**/*.policy"))}
CLAIMS = example_claims()
HOSTILE_FACTS = {
    "__builtins__": "5.00",
    "exec": "'); import os; ('",
    "items": [{"open": "os", "__class__": "1.50"}, {"open": "eval", "__class__": "2.00"}, {"open": "exec", "__class__": "0.25"}],
    "self": "os",
}
# Names and texts of hostile.policy that must never reach generated code.
HOSTILE_WORDS = [
    "__import__", "os", "exec", "eval", "__builtins__", "__class__", "open", "self", "system", "subprocess", "lambda",
    "print", "globals", "import", "Kind", "Item", "\uff45\uff58\uff45\uff43", "\u0435x\u0435\u0441",
]
HOSTILE_TEXTS = ["'); import os; ('", '"\\', "{__builtins__}", "echo pwned", "\t"]
MANGLED = re.compile(r"[a-z]{1,2}\d+\Z")  # r12, i3, k4, l1, j1, p17, t8, s9 ...
HELPER_ATTRIBUTES = {"inputs", "steps", "_e", "append", "quantize"}


def namespace_of(policy) -> dict:
    return next(f for f in policy.program.runs if f is not None).__globals__


def generated_tokens(policy) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(policy.program.source).readline))


def assert_only_generated(policy, words=(), texts=()):
    """The generated source: mangled names, helpers, keywords, ints, and lowercase event tags."""
    allowed = set(keyword.kwlist) | set(namespace_of(policy)) | HELPER_ATTRIBUTES
    words = [w for w in words if not keyword.iskeyword(w)]  # `def`, `return`: written by the compiler too
    for token in generated_tokens(policy):
        if token.type == tokenize.NAME:
            assert MANGLED.match(token.string) or token.string in allowed, token
            assert token.string not in words or MANGLED.match(token.string), token
        elif token.type == tokenize.NUMBER:
            assert token.string.isdigit(), token  # every other literal is a constant slot
        elif token.type == tokenize.STRING:
            assert re.fullmatch(r"'[a-z_]+'", token.string), token  # trace event tags
        elif token.type == tokenize.COMMENT:
            assert not any(w in token.string for w in [*words, *texts] if len(w) > 2), token
    for text in texts:
        assert text not in policy.program.source


# ---- (a) hostile names and strings ------------------------------------------------------


def test_hostile_names_and_strings_load_and_evaluate():
    policy = policydsl.load(HOSTILE)
    decision = policy.evaluate(HOSTILE_FACTS)
    assert outputs(decision.to_json()) == {"lambda": "107.00", "print": True, "globals": "1.75", "import": "102.00"}
    explanation = decision.explain()
    assert "'); import os; ('" in explanation and "__import__" in explanation  # shown, never run
    assert_only_generated(policy, HOSTILE_WORDS, HOSTILE_TEXTS)


@pytest.mark.parametrize(
    "text",
    [
        '\\"); __import__(\\"os\\").system(\\"x\\"); (\\"',
        "'); import os; ('",
        "\\\\",
        "\\n#",
        "\\u0027\\u0029",
        "{0.__class__}",
        "%s%s%(x)s",
        "\\\"\\\"\\\"",
    ],
)
def test_hostile_text_literals(text):
    policy = policydsl.loads(f'input {{ t: text }}\nrule same: bool = t = "{text}"\noutput same\n')
    value = policy.env.symbols["same"].node.body.right.value  # the literal, as the policy means it
    assert policy.evaluate({"t": value}).outputs["same"] is True
    assert policy.evaluate({"t": value + "x"}).outputs["same"] is False
    assert_only_generated(policy, texts=[value])


@pytest.mark.parametrize("name", ["__import__", "exec", "eval", "os", "__builtins__", "print", "None", "True", "class", "def", "return", "yield", "r1", "k0", "_e", "inputs"])
def test_python_names_as_policy_names(name):
    text = f"input {{ {name}: money }}\nparam k1 = 1 yuan\nrule {name}_2: money = {name} + k1\noutput {name}_2\n"
    policy = policydsl.loads(text)
    assert str(policy.evaluate({name: "2.00"}).outputs[f"{name}_2"]) == "3.00"
    assert_only_generated(policy, [name] if not MANGLED.match(name) and name not in HELPER_ATTRIBUTES else [])


def test_a_name_that_reads_as_a_python_name_is_refused():
    """`ｅｘｅｃ` (full-width) is not in NFKC form: it reads as `exec`, and is refused (P123)."""
    name = "\uff45\uff58\uff45\uff43"
    with pytest.raises(PolicyError) as caught:
        policydsl.loads(f"input {{ {name}: money }}\nrule r: money = {name}\noutput r\n")
    assert {d.code for d in caught.value.diagnostics} == {"P123"}


def test_every_bundled_policy_generates_only_mangled_code():
    checked = 0
    for path in sorted(POLICIES.glob("**/*.policy")):
        policy = policydsl.load(path)
        if all(run is None for run in policy.program.runs):
            continue  # a frame with required values unset (W237) generates no code to check
        names = {name for name in policy.env.symbols if not MANGLED.match(name)} - set(namespace_of(policy))
        assert_only_generated(policy, sorted(names))
        checked += 1
    assert checked >= 12


# ---- (b) no builtins in generated code -------------------------------------------------


def test_generated_functions_have_no_builtins():
    policy = policydsl.load(HOSTILE)
    for function in [*policy.program.runs, *policy.program.traced]:
        if function is None:
            continue
        namespace = function.__globals__
        assert namespace["__builtins__"] == {}
        callables = {k for k, v in namespace.items() if callable(v) and not MANGLED.match(k)}
        assert callables <= {"min", "max", "sum", "any", "all", "enumerate", "run", "run_traced"} | {k for k in callables if k.startswith("_")}
        for name in ("open", "__import__", "eval", "exec", "getattr", "compile", "globals", "type", "object"):
            assert name not in namespace


# ---- (c) eval and exec only in the compiler ------------------------------------------------


def test_eval_and_exec_only_in_the_compiler_on_generated_source():
    calls = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"(?<![.\w])(eval|exec|__import__)\s*\(", code):
                calls[f"{path.relative_to(ROOT)}:{number}"] = code.strip()
    assert calls, "the compiler runs its generated source with exec"
    for where, code in calls.items():
        assert where.startswith("policydsl/backends/python.py:"), where
        assert re.fullmatch(r"(exec|eval)\(compile\((source|code), .*\), (namespace|scope)\)", code), code


def test_compile_sees_only_generated_source(monkeypatch):
    """Record what reaches Python's compile(): only generated code, never policy text."""
    import policydsl.explain.build  # noqa: F401 - imported first: attrs compiles the methods of its classes
    import policydsl.explain.render  # noqa: F401

    seen: list[str] = []
    real = builtins.compile

    def recording(source, *args, **kwargs):
        seen.append(source if isinstance(source, str) else "")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", recording)
    policy = policydsl.load(HOSTILE)
    policy.evaluate(HOSTILE_FACTS).explain()
    assert seen
    for source in seen:
        assert source in policy.program.source or source.startswith("def ")
        for text in HOSTILE_TEXTS:
            assert text not in source
        names = set(re.findall(r"[^\W\d]\w*", source))
        assert not names & {"os", "exec", "eval", "__import__", "system", "subprocess", "open", "__class__"}, names


# ---- (d) no files, sockets or processes --------------------------------------------------


def _forbidden(name):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} called with {args!r:.200}")

    return refuse


@pytest.fixture
def sealed(monkeypatch):
    """Files (other than .policy files under policies/), sockets and processes all fail."""
    for path in sorted(POLICIES.glob("**/*.policy")):  # warm up: Lark's tables, lazy imports
        policydsl.load(path)
    monkeypatch.setenv("POLICYDSL_NO_CACHE", "1")
    real_open = builtins.open
    opened: list[str] = []

    descriptors: set[int] = set()  # opened read-only by guarded_os_open below

    def guarded_open(file, mode="r", *args, **kwargs):
        if isinstance(file, int) and file in descriptors and mode == "rb":  # os.fdopen
            descriptors.discard(file)
            return real_open(file, mode, *args, **kwargs)
        path = Path(os.fspath(file)) if isinstance(file, (str, os.PathLike)) else None
        if path is None or "r" not in mode or any(c in mode for c in "wax+") or path.suffix != ".policy":
            raise AssertionError(f"open({file!r}, {mode!r})")
        assert POLICIES in path.resolve().parents, path
        opened.append(str(path))
        return real_open(file, mode, *args, **kwargs)

    real_os_open = os.open

    def guarded_os_open(file, flags, *args, **kwargs):  # policy_files.read_policy_text
        path = Path(os.fspath(file))
        writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        if flags & writing or path.suffix != ".policy" or kwargs.get("dir_fd") is not None:
            raise AssertionError(f"os.open({file!r}, {flags:#o})")
        assert POLICIES in path.resolve().parents, path
        opened.append(str(path))
        handle = real_os_open(file, flags, *args, **kwargs)
        descriptors.add(handle)
        return handle

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    monkeypatch.setattr(socket, "socket", _forbidden("socket.socket"))
    monkeypatch.setattr(socket, "create_connection", _forbidden("socket.create_connection"))
    monkeypatch.setattr(subprocess, "Popen", _forbidden("subprocess.Popen"))
    for name in ("system", "popen", "execv", "execve", "spawnv", "fork", "remove", "unlink", "rmdir", "mkdir", "rename"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _forbidden(f"os.{name}"))
    modules = set(sys.modules)
    yield opened
    assert set(sys.modules) == modules, set(sys.modules) - modules


@pytest.fixture
def own_claims():
    """Claims of each bundled policy's own schema (generated before the engine is sealed)."""
    import policydsl.explain.build  # noqa: F401 - imported before the seal, as the engine imports it lazily
    import policydsl.explain.render  # noqa: F401
    from policydsl.tools.generate import generate

    return {path: list(generate(policydsl.loads(text, name=str(path), root=POLICIES), 12, seed=7)) for path, text in TEXTS.items()}


def test_load_and_evaluate_touch_nothing(own_claims, sealed):
    for path, text in TEXTS.items():  # the caller reads the policy; the engine only computes
        policy = policydsl.loads(text, name=str(path), root=POLICIES)
        decided = 0
        frame = path.parent.name == "national"  # a frame for regions: its required values are unset
        for claim in own_claims[path]:
            if frame:
                with pytest.raises(policydsl.EvaluationError, match="is required and this policy does not set it"):
                    policy.evaluate(claim)
                continue
            decision = policy.evaluate(claim)  # claims of its own schema: every one is decided
            assert decision.explain(), path
            decided += 1
        assert decided == (0 if frame else len(own_claims[path])) and own_claims[path], path
    hostile = policydsl.loads(HOSTILE_TEXT, name="hostile.policy")
    hostile.evaluate(HOSTILE_FACTS).explain()
    assert all(name.endswith(".policy") for name in sealed)  # only `extends` parents, inside policies/


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "..", "example/../../../etc/passwd", "~/x", "C:\\\\x", "\\u0000"])
def test_extends_outside_the_root_is_an_error(sealed, target):
    text = f'policy "p" extends "{target}"\ninput {{ a: money }}\nrule r: money = a\noutput r\n'
    with pytest.raises(PolicyError) as caught:
        policydsl.loads(text, name=str(POLICIES / "x.policy"), root=POLICIES)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code.startswith("C24") and diagnostic.span.line == 1
    assert not sealed


# ---- (e) evaluation terminates -------------------------------------------------------------


def test_a_rule_cannot_use_itself():
    """No recursion: a definition that depends on itself, directly or not, is C202."""
    for body in ["rule a: money = a + 1 yuan", "rule a: money = b\nrule b: money = c\nrule c: money = a"]:
        with pytest.raises(PolicyError) as caught:
            policydsl.loads(f"input {{ x: money }}\n{body}\noutput a\n")
        assert "C202" in {d.code for d in caught.value.diagnostics}


def test_generated_code_has_no_loops_but_comprehensions_over_inputs():
    policy = policydsl.load(HOSTILE)
    names = [t.string for t in generated_tokens(policy) if t.type == tokenize.NAME]
    assert not {"while", "lambda", "yield", "class", "import", "global", "nonlocal", "try"} & set(names)
    assert names.count("def") == 2 * sum(1 for f in policy.program.runs if f is not None)
    body = "\n".join(line for line in policy.program.source.splitlines() if not line.startswith("def "))
    assert not re.search(r"\brun(_traced)?\b", body), "a generated function never calls another"


WORST = f"""
record Part {{ amount: money }}
record Item {{ amount: money
  parts: list of Part }}
input {{ items: list of Item
  amount: money }}
tiers big {{ {" ".join(f"from {i} yuan to {i + 1} yuan: {i % 100}%" for i in range(2000))} above 2000 yuan: 100% }}
rule nested: money = sum(sum(sum(p.amount for p in i.parts) for i in items where i.amount > 0 yuan) for x in items where x.amount > 1000 yuan)
rule pairs: int = sum(count(y in items where y.amount = x.amount) for x in items)
rule chain: money = {" ".join(f"when amount > {5000 - i} yuan then {i} yuan" for i in range(40))} otherwise amount
rule tiered: money = round(big(from 0 yuan to amount), half_up)
{chr(10).join(f"rule r{i}: money = r{i - 1} + chain" if i else "rule r0: money = tiered" for i in range(400))}
output nested, pairs, chain, tiered, r399
"""


def test_the_worst_constructs_end_in_bounded_time():
    """3 nested aggregates, a pairwise count over 2,000 items, a 40-branch chain, a 2,000-band
    schedule and 400 chained rules: the work is bounded by the input's size (N ** 3 at most)."""
    started = time.perf_counter()
    policy = policydsl.loads(WORST)
    items = [{"amount": f"{i % 7}.00", "parts": [{"amount": "0.01"}] * 3} for i in range(2_000)]
    items[0]["amount"] = "1500.00"
    decision = policy.evaluate({"items": items, "amount": "1999.99"})
    amounts = [item["amount"] for item in items]
    positive = sum(1 for a in amounts if a != "0.00")
    assert decision.outputs["nested"] == Decimal("0.03") * positive
    assert decision.outputs["pairs"] == sum(amounts.count(a) for a in amounts)
    assert str(decision.outputs["chain"]) == "1999.99"
    assert time.perf_counter() - started < 10
    assert "pairs = " in policy.evaluate({"items": items[:200], "amount": "1999.99"}).explain()  # traces every pair


def _squares(count: int, first: str) -> str:
    """r(i) = r(i-1) * r(i-1): an int with 2 ** count times the digits of `first`."""
    rules = "".join(f"rule r{i}: int = r{i - 1} * r{i - 1}\n" for i in range(1, count))
    return f"input {{ n: int }}\nrule r0: int = {first}\n{rules}output r{count - 1}\n"


def test_int_growth_is_an_evaluation_error_not_a_hang():
    """Repeated squaring would build a number of millions of digits; ints stop at 10**18 (R407).
    Decimal values are bounded by their context (R400)."""
    policy = policydsl.loads(_squares(30, "n"))
    started = time.perf_counter()
    with pytest.raises(policydsl.EvaluationError) as caught:
        policy.evaluate({"n": 10**17})
    assert caught.value.code == "R407" and time.perf_counter() - started < 1


def test_int_growth_in_constants_is_a_diagnostic():
    params = "".join(f"param p{i} = p{i - 1} * p{i - 1}\n" for i in range(1, 40))
    started = time.perf_counter()
    with pytest.raises(PolicyError) as caught:
        policydsl.loads(f"input {{ n: int }}\nparam p0 = 99999\n{params}rule r: bool = n > p39\noutput r\n")
    (diagnostic,) = caught.value.diagnostics
    # C224 (the checker's bound on constants) since the numbers work of issue 9; R400/R407 before.
    assert diagnostic.code in ("C224", "R400", "R407") and ("grew beyond" in diagnostic.message or "is beyond" in diagnostic.message)
    assert diagnostic.span.line == 4 and time.perf_counter() - started < 2
