"""The VS Code extension in editors/vscode: its TextMate grammar passes its tests (the
assertions of editors/vscode/tests/grammar with vscode-tmgrammar-test, the snapshots of
editors/vscode/tests/snap with vscode-tmgrammar-snap, and `node --test`, which runs the client
against a stand-in VS Code, every policy file of the repository through the grammar, and
`policydsl lsp` over stdio as the extension starts it), and,
without Node.js, that the grammar has every keyword of grammar/policy.lark and the manifest says
what VS Code needs. The npm tests are skipped only when node or npm is not installed; their tools
come from editors/vscode/package-lock.json (`npm ci` here when node_modules is missing, as
.ci/run does first)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import lark
import pytest

from .conftest import ROOT

EXTENSION = ROOT / "editors" / "vscode"
GRAMMAR_FILE = EXTENSION / "syntaxes" / "policydsl.tmLanguage.json"
GRAMMAR = json.loads(GRAMMAR_FILE.read_text(encoding="utf-8"))
MANIFEST = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
UNIT_TESTS = sorted((EXTENSION / "tests" / "grammar").glob("*.policy"))
SNAPSHOT_TESTS = sorted((EXTENSION / "tests" / "snap").glob("*.policy"))
TOOLS = ("node", "npm", "npx")
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
needs_node = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{', '.join(MISSING)} not installed: the VS Code grammar tests need Node.js and npm (npm ci in editors/vscode)",
)
NAME = re.compile(r"[^\W\d]\w*")


# ---- without Node.js ------------------------------------------------------------------

def lark_keywords() -> set[str]:
    """The words of grammar/policy.lark: every quoted literal that is a name (`"rule"`, `"元"`),
    as Lark reads the grammar, also inside a terminal of alternatives (`MODIFIER: "override" | "final"`)."""
    parser = lark.Lark((ROOT / "grammar" / "policy.lark").read_text(encoding="utf-8"), parser="lalr")
    words = set()
    for terminal in parser.terminals:
        pattern = terminal.pattern
        if pattern.type == "str":
            words.add(pattern.value)
        else:
            alternatives = re.fullmatch(r"\(\?:((?:[^()|\\\[\]*+?.]+\|)*[^()|\\\[\]*+?.]+)\)", pattern.value)
            if alternatives:
                words.update(alternatives.group(1).split("|"))
    return {word for word in words if NAME.fullmatch(word)}


def regexes(node=GRAMMAR):
    """Every regular expression of the TextMate grammar, with the scope names of its rule."""
    if isinstance(node, dict):
        if any(key in node for key in ("match", "begin", "end")):
            scopes = []
            for key in ("name", "captures", "beginCaptures", "endCaptures"):
                scopes.append(json.dumps(node.get(key, "")))
            for key in ("match", "begin", "end"):
                if key in node:
                    yield node[key], " ".join(scopes)
        for value in node.values():
            yield from regexes(value)
    elif isinstance(node, list):
        for value in node:
            yield from regexes(value)


def words_of(regex: str) -> set[str]:
    """The words a regular expression spells out (`\\b(?:when|then)\\b` -> when, then)."""
    return set(NAME.findall(re.sub(r"\\[A-Za-z]|\\.|\[[^\]]*\]|\(\?[<!=:]*", " ", regex)))


def words_scoped(scope: str) -> set[str]:
    """The words of the rules that give `scope`."""
    return set().union(*(words_of(regex) for regex, scopes in regexes() if scope in scopes))


def test_the_grammar_highlights_every_keyword_of_the_lark_grammar():
    keywords = lark_keywords()
    assert {"policy", "rule", "function", "let", "when", "otherwise", "because", "元", "个月", "unlimited"} <= keywords
    assert len(keywords) > 60, sorted(keywords)
    spelled = set().union(*(words_of(regex) for regex, _ in regexes()))
    missing = sorted(keywords - spelled)
    assert missing == [], f"keywords of grammar/policy.lark that {GRAMMAR_FILE.relative_to(ROOT)} does not highlight: {missing}"


def test_the_grammar_knows_every_built_in_function_type_and_rounding_mode():
    from policydsl.check.types import BUILTIN_TYPES
    from policydsl.runtime.helpers import DATE_FUNCTIONS, ROUNDING

    assert {"min", "max", "clamp", "round", *DATE_FUNCTIONS} <= words_scoped("support.function.builtin")
    assert {"sum", "count", "any", "all"} <= words_scoped("support.function.aggregate")
    assert set(ROUNDING) <= words_scoped("support.constant.rounding-mode")
    assert set(BUILTIN_TYPES) <= words_scoped("support.type.primitive")


def test_the_manifest_contributes_the_language_grammar_and_server_settings():
    assert MANIFEST["name"] == "policydsl" and MANIFEST["publisher"]
    assert MANIFEST["engines"]["vscode"].startswith("^1.")
    assert MANIFEST["activationEvents"] == ["onLanguage:policydsl"]
    assert (EXTENSION / MANIFEST["main"]).is_file()
    [language] = MANIFEST["contributes"]["languages"]
    assert language["id"] == "policydsl" and language["extensions"] == [".policy"]
    configuration = json.loads((EXTENSION / language["configuration"]).read_text(encoding="utf-8"))
    assert configuration["comments"]["lineComment"] == "#"
    assert {'"', "(", "[", "{"} <= {pair["open"] for pair in configuration["autoClosingPairs"]}
    [grammar] = MANIFEST["contributes"]["grammars"]
    assert grammar["language"] == "policydsl"
    assert (EXTENSION / grammar["path"]).resolve() == GRAMMAR_FILE.resolve()
    assert grammar["scopeName"] == GRAMMAR["scopeName"] == "source.policydsl"
    settings = MANIFEST["contributes"]["configuration"]["properties"]
    assert settings["policydsl.server.command"]["default"] == "policydsl"
    assert settings["policydsl.server.args"]["default"] == ["lsp"]
    major = re.match(r"\^?(\d+)", MANIFEST["dependencies"]["vscode-languageclient"]).group(1)
    assert int(major) >= 9
    lock = json.loads((EXTENSION / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["dependencies"] == MANIFEST["dependencies"]
    assert lock["packages"][""]["devDependencies"] == MANIFEST["devDependencies"]
    assert "node_modules/" in (EXTENSION / ".gitignore").read_text(encoding="utf-8").split()


def test_the_grammar_tests_are_in_the_tools_format():
    assert len(UNIT_TESTS) >= 8 and len(SNAPSHOT_TESTS) >= 1
    for test in UNIT_TESTS + SNAPSHOT_TESTS:
        first = test.read_text(encoding="utf-8").splitlines()[0]
        if test in UNIT_TESTS:
            assert first.startswith('# SYNTAX TEST "source.policydsl"'), test
        assert (test.parent / (test.name + ".snap")).is_file() or test in UNIT_TESTS, f"{test} has no snapshot"
    assert "example-resident-2025.policy" in [test.name for test in SNAPSHOT_TESTS]


# ---- with Node.js -----------------------------------------------------------------------

def _run(*command: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0", "npm_config_update_notifier": "false",
           "npm_config_fund": "false", "npm_config_audit": "false"}
    installed = Path(sys.executable).parent / ("policydsl.exe" if os.name == "nt" else "policydsl")
    if installed.is_file() and "POLICYDSL_COMMAND" not in env:
        env["POLICYDSL_COMMAND"] = str(installed)  # the policydsl of this test run, for tests/server.test.js
    return subprocess.run(command, cwd=EXTENSION, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def node_modules():
    """editors/vscode/node_modules with the locked tools, installed with `npm ci` when missing."""
    wanted = [*MANIFEST["dependencies"], *MANIFEST["devDependencies"]]
    if not all((EXTENSION / "node_modules" / name / "package.json").is_file() for name in wanted):
        done = _run("npm", "ci", "--no-audit", "--no-fund", timeout=600)
        assert done.returncode == 0, f"npm ci in editors/vscode failed:\n{done.stdout}\n{done.stderr}"
    return EXTENSION / "node_modules"


def _assertions(files) -> int:
    return sum(1 for test in files for line in test.read_text(encoding="utf-8").splitlines()[1:]
               if re.match(r"#\s*(\^|<~*-)", line))


@needs_node
def test_the_grammar_passes_its_assertions(node_modules, tmp_path):
    """vscode-tmgrammar-test on tests/grammar/*.policy, and on the example of editors/vscode/README.md."""
    readme = (EXTENSION / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```\n(rule total.*?)\n```", readme, re.S).group(1)
    (tmp_path / "readme-example.policy").write_text('# SYNTAX TEST "source.policydsl"\n' + example + "\n", encoding="utf-8")
    done = _run("npx", "--no", "vscode-tmgrammar-test", "tests/grammar/*.policy", str(tmp_path / "readme-example.policy"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("run successfuly") == len(UNIT_TESTS) + 1, done.stdout
    assert _assertions(UNIT_TESTS) > 400


@needs_node
def test_the_grammar_matches_its_snapshots(node_modules):
    """vscode-tmgrammar-snap on tests/snap/*.policy (the example province's policy among them);
    after a deliberate change, `npm run test:snap:update` in editors/vscode rewrites them."""
    done = _run("npx", "--no", "vscode-tmgrammar-snap", "tests/snap/*.policy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("run successfully") == len(SNAPSHOT_TESTS), done.stdout


@needs_node
def test_the_client_and_every_policy_file(node_modules):
    """`node --test tests/`: extension.js against a stand-in VS Code (what it starts, the message
    when `policydsl` is missing), every policy file of the repository through the grammar, and
    this installation's `policydsl lsp` spoken to as the client speaks to it."""
    done = _run("node", "--test", "tests/")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^# fail 0$", done.stdout, re.M) and not re.search(r"^# pass 0$", done.stdout, re.M), done.stdout
