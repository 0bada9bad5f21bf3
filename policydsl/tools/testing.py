"""Tests beside each policy: `X.tests.json` next to `X.policy`, run by `policydsl test`
(and by plain `pytest`, through `policydsl.tools.pytest_plugin`).

A tests file holds `{"tests": [{"name", "note"?, "as_of"?, "claim", "expect" | "expect_error"}]}`.
`expect` names some outputs and their JSON values (as `decision.to_json()` writes them; only
the named outputs are compared, and numbers compare by value, so `"8625"` matches `"8625.00"`);
its key `"accumulators"` (no output has that name) may name accumulators and the value each
must have after the claim (`{"accumulators": {"ytd_basic_paid": "8625.00"}}`, compared with
the record's `accumulators.NAME.after`). `expect_error` is the code of the error the claim
must raise (`FactsError.errors[0].code`, or `EvaluationError.code`).

A failure report names the test, the policy (its file, and its id, version and digest: the
text that decided) and the claim, lists each differing value (expected and got), and shows
the explanation lines that computed each differing value.

Coverage (`policydsl test --coverage`) replays each decided test with tracing on and counts,
per policy, the rules computed, the conditional branches taken, the table rows read and the
tier bands that paid a slice, over every time segment of the policy; the rest are listed.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import attrs

from policydsl.syntax import nodes as n
from policydsl.runtime import numbers, trace
from policydsl.syntax import printer

from policydsl.diagnostics.model import EvaluationError, FactsError, PolicydslError, PolicyError
from policydsl.backends.facts import claim_id_of

SUFFIX = ".tests.json"
ACCUMULATORS = "accumulators"  # the key of `expect` that names accumulators (never an output: C266)


class TestFileError(PolicydslError):
    """A tests file cannot be read or does not have the expected shape, U603."""

    code = "U603"

    __test__ = False  # not a pytest test class


# ---- reading ---------------------------------------------------------------------------------


@attrs.frozen
class Case:
    name: str
    claim: object
    expect: dict | None
    expect_error: str | None
    as_of: datetime.date | None
    note: str | None
    index: int

    __test__ = False

    @property
    def claim_id(self):
        return claim_id_of(self.claim)


@attrs.frozen
class TestFile:
    path: Path
    policy_path: Path
    cases: tuple[Case, ...]

    __test__ = False


def policy_path_for(tests_path: Path) -> Path:
    return tests_path.with_name(tests_path.name.removesuffix(SUFFIX) + ".policy")


def tests_path_for(policy_path: Path) -> Path:
    return policy_path.with_name(policy_path.name.removesuffix(".policy") + SUFFIX)


def _problem(path: Path, where: str, message: str) -> TestFileError:
    return TestFileError(f"{path}: {where}: {message}" if where else f"{path}: {message}")


def read_tests(path: Path | str) -> TestFile:
    """Read and check a tests file; a `TestFileError` says what is wrong and where."""
    from policydsl.backends.facts import loads as json_loads

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _problem(path, "", "no such tests file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _problem(path, "", f"cannot read: {error}") from None
    try:
        data = json_loads(text)
    except ValueError as error:
        raise _problem(path, "", f"malformed JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise _problem(path, "", 'expected an object {"tests": [...]}')
    cases = []
    names: set[str] = set()
    for index, raw in enumerate(data["tests"]):
        where = f"tests[{index}]"
        if not isinstance(raw, dict):
            raise _problem(path, where, "a test must be an object")
        unknown = sorted(set(raw) - {"name", "note", "as_of", "claim", "expect", "expect_error"})
        if unknown:
            raise _problem(path, where, f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _problem(path, where, 'every test needs a "name"')
        if name in names:
            raise _problem(path, where, f"two tests are named {name!r}")
        names.add(name)
        if "claim" not in raw:
            raise _problem(path, f"{where} ({name})", 'missing "claim"')
        expect, expect_error = raw.get("expect"), raw.get("expect_error")
        if (expect is None) == (expect_error is None):
            raise _problem(path, f"{where} ({name})", 'give either "expect" (outputs) or "expect_error" (a code)')
        if expect is not None and (not isinstance(expect, dict) or not expect):
            raise _problem(path, f"{where} ({name})", '"expect" must be an object naming at least one output')
        carried = expect.get(ACCUMULATORS) if expect is not None else None
        if carried is not None and (not isinstance(carried, dict) or not carried):
            raise _problem(path, f"{where} ({name})", '"expect": "accumulators" must be an object naming at least one accumulator and its value after the claim')
        if expect_error is not None and not isinstance(expect_error, str):
            raise _problem(path, f"{where} ({name})", '"expect_error" must be an error code such as "F302"')
        as_of = raw.get("as_of")
        if as_of is not None:
            try:
                as_of = datetime.date.fromisoformat(as_of) if isinstance(as_of, str) else None
            except ValueError:
                as_of = None
            if as_of is None:
                raise _problem(path, f"{where} ({name})", '"as_of" must be a date, YYYY-MM-DD')
        note = raw.get("note")
        cases.append(Case(name, raw["claim"], expect, expect_error, as_of, note if isinstance(note, str) else None, index))
    return TestFile(path, policy_path_for(path), tuple(cases))


def discover(paths: list[str]) -> list[Path]:
    """Tests files for command-line paths: folders (searched), tests files, or policies."""
    from policydsl.tools.claims_io import UsageError

    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(path.rglob(f"*{SUFFIX}"))
        elif path.name.endswith(SUFFIX):
            if not path.is_file():
                raise UsageError(f"{name}: no such tests file")
            found.append(path)
        elif path.suffix == ".policy":
            if not path.is_file():
                raise UsageError(f"{name}: no such policy file")
            tests = tests_path_for(path)
            if not tests.is_file():
                raise UsageError(f"{name}: no tests file beside it (expected {tests})")
            found.append(tests)
        elif not path.exists():
            raise UsageError(f"{name}: no such file or folder")
        else:
            raise UsageError(f"{name}: give a folder, a *{SUFFIX} file or a *.policy file")
    return list(dict.fromkeys(found))


# ---- running -----------------------------------------------------------------------------------


@attrs.frozen
class Mismatch:
    """`output`: an output's name, or `accumulators.NAME` for an accumulator's value after the claim."""

    output: str
    expected: object
    got: object  # MISSING when the policy has no such output (or accumulator)


MISSING = object()


@attrs.define
class Result:
    file: TestFile
    case: Case
    passed: bool
    mismatches: list = attrs.Factory(list)
    problem: str | None = None  # a failure that is not an output difference
    decision: object = None  # the Decision, when the claim was decided
    provenance: object = None  # the policy's `link.provenance.Provenance`: which text decided

    __test__ = False


def error_code(error: PolicydslError) -> str | None:
    if isinstance(error, FactsError):
        return error.errors[0].code if error.errors else None
    if isinstance(error, EvaluationError):
        return error.code
    return None


def _describe_error(error: PolicydslError) -> str:
    code = error_code(error)
    if isinstance(error, FactsError):
        return f"invalid facts [{code}]: " + "; ".join(e.render() for e in error.errors)
    return f"[{code}] {error}" if code else str(error)


def _as_decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, str) and value.strip().endswith("%"):
            return Decimal(value.strip()[:-1]).scaleb(-2, numbers.ROUNDING)
        return Decimal(str(value)) if isinstance(value, (str, int, float, Decimal)) else None
    except InvalidOperation:
        return None


def same_value(expected, got) -> bool:
    """Equal JSON values; numbers (and money strings, percentages) compare by value."""
    if expected == got and type(expected) is type(got):
        return True
    if isinstance(expected, bool) or isinstance(got, bool):
        return False
    a, b = _as_decimal(expected), _as_decimal(got)
    return a is not None and b is not None and a == b


def run_case(policy, test_file: TestFile, case: Case) -> Result:
    which = policy.provenance
    try:
        decision = policy.evaluate(case.claim, as_of=case.as_of) if isinstance(case.claim, dict) else None
        if decision is None:
            raise FactsError([_not_an_object(case.claim)])
    except PolicydslError as error:
        code = error_code(error)
        if case.expect_error is not None:
            if code == case.expect_error:
                return Result(test_file, case, True, provenance=which)
            return Result(test_file, case, False, problem=f"expected error {case.expect_error}, got {_describe_error(error)}", provenance=which)
        return Result(test_file, case, False, problem=f"the claim could not be decided: {_describe_error(error)}", provenance=which)
    if case.expect_error is not None:
        return Result(test_file, case, False, problem=f"expected error {case.expect_error}, but the claim was decided", decision=decision, provenance=which)
    got = decision.to_json()
    mismatches = []
    for name, expected in case.expect.items():
        if name == ACCUMULATORS:  # never an output's name (C266)
            mismatches += _accumulator_mismatches(policy, expected, got.get(ACCUMULATORS) or {})
        elif name not in policy.output_names:
            mismatches.append(Mismatch(name, expected, MISSING))
        elif not same_value(expected, got.get(name)):
            mismatches.append(Mismatch(name, expected, got.get(name)))
    return Result(test_file, case, not mismatches, mismatches, decision=decision, provenance=which)


def _accumulator_mismatches(policy, expected: dict, carried: dict) -> list[Mismatch]:
    """The accumulators whose value after the claim is not the one expected."""
    found = []
    for name, value in expected.items():
        if name not in policy.accumulator_names:
            found.append(Mismatch(f"{ACCUMULATORS}.{name}", value, MISSING))
        elif not same_value(value, carried[name]["after"]):
            found.append(Mismatch(f"{ACCUMULATORS}.{name}", value, carried[name]["after"]))
    return found


def _not_an_object(claim):
    from policydsl.diagnostics.model import FactError
    from policydsl.backends.facts import show

    return FactError("", f"a claim must be a JSON object, got {show(claim)}", "F302")


def load_policy(test_file: TestFile):
    """The policy a tests file is beside; `PolicyError` if it does not load."""
    from policydsl.api import load

    if not test_file.policy_path.is_file():
        from policydsl.diagnostics.model import Diagnostic

        raise PolicyError([Diagnostic("L500", f"{test_file.policy_path}: no such policy file (the policy of {test_file.path})", None)])
    return load(test_file.policy_path)


# ---- reports -----------------------------------------------------------------------------------


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def step_lines(step, lang: str = "en", uses=None) -> list[str]:
    """One step's lines as `decision.explain` shows them (`explain.render.render_step`; a
    value holding a line break makes two lines), `uses` in place of the step's when given."""
    from policydsl.explain.render import render_step

    return "\n".join(render_step(step, lang, uses)).splitlines()


def step_blocks(decision, lang: str = "en") -> dict[str, list[str]]:
    """The explanation lines of each step, by name: made from the explanation's data, the
    block `decision.explain(lang)` shows for it."""
    return {step.name: step_lines(step, lang) for step in decision.explanation(lang).steps}


def failure_report(result: Result, lang: str = "en") -> str:
    """What a failing test prints: the test, the claim, each difference, how it was computed."""
    case = result.case
    lines = [f"FAIL {result.file.path} :: {case.name}"]
    lines.append(f"  policy: {result.file.policy_path}")
    if result.provenance is not None:
        lines.append(f"    {describe_policy(result.provenance)}")
    when = f" (as of {case.as_of.isoformat()})" if case.as_of else ""
    label = f"claim {case.claim_id}" if case.claim_id is not None else "claim"
    lines.append(f"  {label}{when}: {_json(case.claim)}")
    if case.note:
        lines.append(f"  note: {case.note}")
    if result.problem:
        lines.append(f"  {result.problem}")
    decision = result.decision
    for mismatch in result.mismatches:
        lines.append(f"  {_mismatch_line(mismatch, decision)}")
    if decision is not None:
        shown = _computed(decision, [m.output for m in result.mismatches if m.got is not MISSING])
        if result.problem and not shown:  # decided, but an error was expected: show the outputs
            record = decision.to_json()
            lines.append("  outputs: " + ", ".join(f"{name}={_json(record[name])}" for name in decision.policy.output_names))
        blocks = step_blocks(decision, lang) if shown else {}
        for name in shown:
            if name in blocks:
                lines += ["", f"  how {name} was computed:"]
                lines += [f"    {line}" for line in blocks[name]]
    return "\n".join(lines) + "\n"


def describe_policy(provenance) -> str:
    """`id clinic, version 1, digest sha256:...`: which text decided (the whole digest)."""
    version = f"version {provenance.version}" if provenance.version is not None else "no version"
    return f"id {provenance.id}, {version}, digest {provenance.digest}"


def _mismatch_line(mismatch: Mismatch, decision) -> str:
    expected = f"{mismatch.output}: expected {_json(mismatch.expected)}"
    accumulator = mismatch.output.removeprefix(f"{ACCUMULATORS}.") if mismatch.output.startswith(f"{ACCUMULATORS}.") else None
    if mismatch.got is MISSING:
        if accumulator is not None:
            known = ", ".join(decision.policy.accumulator_names) if decision else ""
            return f"{expected}, but the policy has no such accumulator (accumulators: {known or 'none'})"
        outputs = ", ".join(decision.policy.output_names) if decision else ""
        return f"{expected}, but the policy has no such output (outputs: {outputs})"
    if accumulator is not None:
        carried = decision.to_json()[ACCUMULATORS][accumulator]
        return f"{expected} after the claim, got {_json(mismatch.got)} ({_json(carried['before'])} before it, year {carried['period']})"
    return f"{expected}, got {_json(mismatch.got)}"


def _computed(decision, names: list[str]) -> list[str]:
    """The steps to show for differing values: an output's own step; for an accumulator,
    the rules and outputs its `adds` reads."""
    shown: list[str] = []
    for name in names:
        if name.startswith(f"{ACCUMULATORS}."):
            accumulator = next(a for a in decision.policy.accumulators if a.name == name.removeprefix(f"{ACCUMULATORS}."))
            shown += _names_read(accumulator.ast.adds)
        else:
            shown.append(name)
    return list(dict.fromkeys(shown))


def _names_read(expr) -> list[str]:
    return [e.id for e in n.walk(expr) if isinstance(e, n.Name)]


# ---- coverage ----------------------------------------------------------------------------------


@attrs.frozen
class Item:
    kind: str  # rule | branch | row | band
    label: str
    location: str
    file: str = ""  # the policy file that defines it (the policy's own, or one it extends)


def _version(definition) -> tuple | None:
    """Which dated value of its name (or table key) a definition or row is: its period
    (they never overlap), None when it is not dated."""
    validity = definition.validity
    return None if validity is None else (validity.start, validity.end)


class Coverage:
    """What a policy's tests exercised: rules, branches, table rows and tier bands.

    Items are keyed by what names them in the policy, the same in every run: `("rule",
    name, version)`, `("branch", node, index)` (a compiler's node id of the conditional, as
    trace events give it: the first, should several ids stand for one conditional),
    `("row", table, key, version)`, `("band", schedule, version, index)`; a version is
    `_version`'s period. A definition in force in several time segments counts once.
    """

    KINDS = (("rule", "rules"), ("branch", "branches"), ("row", "table rows"), ("band", "tier bands"))

    def __init__(self, policy):
        self.policy = policy
        self.items: dict[tuple, Item] = {}
        self.hit: set[tuple] = set()
        self.runs = 0
        program = policy.program
        # AST node (by `nodes.key`) -> its first node id in trace events; each node id -> that one
        self.node_ids: dict[tuple, int] = {}
        for nid, node in program.traced_nodes.items():
            self.node_ids.setdefault(n.key(node), nid)
        self.first_id = {nid: self.node_ids[n.key(node)] for nid, node in program.traced_nodes.items()}
        for index, segment in enumerate(program.segments):
            if program.runs[index] is None:
                continue
            for name in program.rule_names:
                rule = segment.active.get(name)
                if rule is None:
                    continue
                self.add(("rule", name, _version(rule)), "rule", f"rule {name}", rule.span)
                self.conditionals(name, rule.body, top=True)
            for symbol in policy.env.symbols.values():
                if symbol.kind == "table":
                    for row in segment.rows.get(symbol.name, ()):
                        key = "default" if row.key is None else row.key
                        self.add(("row", symbol.name, row.key, _version(row)), "row", f"table {symbol.name}[{key}]", row.span)
            for name, definition in segment.active.items():
                if isinstance(definition, n.TiersDef):
                    for band_index, band in enumerate(definition.bands):
                        bounds = (
                            f"from {printer.expression(band.lower)} to {printer.expression(band.upper)}"
                            if band.upper is not None
                            else f"above {printer.expression(band.lower)}"
                        )
                        self.add(("band", name, _version(definition), band_index), "band", f"tiers {name}: {bounds}", band.span)

    def add(self, key, kind, label, span) -> None:
        if key not in self.items:
            self.items[key] = Item(kind, label, span.location if span is not None else "", span.source.name if span is not None else "")

    def conditionals(self, rule: str, expr, top: bool) -> None:
        stack = [(expr, top)]
        while stack:
            e, is_top = stack.pop()
            if e is None:
                continue
            if isinstance(e, n.Let):  # the body of a rule's `let`s is still the rule's top
                stack += [(e.value, False), (e.body, is_top)]
                continue
            if isinstance(e, n.Conditional):
                for index, branch in enumerate(e.branches):
                    case = "otherwise" if branch.condition is None else f"when {printer.expression(branch.condition)}"
                    nested = "" if is_top else " (nested)"
                    self.add(("branch", self.node_ids[n.key(e)], index), "branch", f"rule {rule}: {case}{nested}", branch.span)
                    stack += [(branch.condition, False), (branch.value, False)]
                continue
            stack += [(child, False) for child in n.children(e)]

    def record(self, decision) -> None:
        """Replay a decided claim with tracing on and mark what it exercised."""
        policy = self.policy
        program = policy.program
        segment = program.segments[decision.segment]
        _, steps = policy.run_traced(decision.inputs, decision.segment)
        self.runs += 1
        for step in steps:
            name = program.rule_names[step.rule]
            rule = segment.active.get(name)
            if rule is not None:
                self.hit.add(("rule", name, _version(rule)))
            for event in step.events:
                if type(event) is trace.Branch:
                    self.hit.add(("branch", self.first_id[event.node], event.index))
                elif type(event) is trace.Lookup:
                    node = program.traced_nodes[event.node]
                    table = policy.env.symbols[node.obj.id].node.name
                    rows = segment.rows.get(table, ())
                    row = next((r for r in rows if r.key == event.key), None) or next((r for r in rows if r.key is None), None)
                    if row is not None:
                        self.hit.add(("row", table, row.key, _version(row)))
                elif type(event) is trace.Tiers:
                    schedule_name = program.traced_nodes[event.node].schedule
                    schedule = segment.active.get(schedule_name)
                    if schedule is not None:
                        for part in event.slices:
                            self.hit.add(("band", schedule_name, _version(schedule), part.band))

    def missed(self) -> list[Item]:
        return [item for key, item in self.items.items() if key not in self.hit]

    def report(self, name: str) -> str:
        """The counts and what was never exercised; for a policy that `extends` another, its
        own definitions (overrides included) apart from what it inherits, which its tests
        exercise too but whose gaps are the parent's to fill."""
        lines = [f"Coverage of {name} ({self.runs} decided test{'s' if self.runs != 1 else ''})"]
        own = _same_file(name)
        parts = {True: [], False: []}
        for key, item in self.items.items():
            parts[own(item.file)].append(key)
        if not parts[False]:
            return "\n".join(lines + self._section(parts[True], "  ")) + "\n"
        inherited_from = sorted({self.items[key].file for key in parts[False]})
        lines.append("  its own definitions:" if parts[True] else "  its own definitions: none that the tests could exercise")
        lines += self._section(parts[True], "    ")
        lines.append(f"  inherited (from {', '.join(inherited_from)}):")
        lines += self._section(parts[False], "    ")
        return "\n".join(lines) + "\n"

    def _section(self, keys: list[tuple], indent: str) -> list[str]:
        lines = []
        for kind, title in self.KINDS:
            total = [k for k in keys if self.items[k].kind == kind]
            if total:
                done = sum(1 for k in total if k in self.hit)
                percent = 100 * done // len(total)
                lines.append(f"{indent}{title:<11} {done:>3} of {len(total):<3} {percent:>3}%")
        missed = [self.items[k] for k in keys if k not in self.hit]
        if not keys:
            return lines
        if missed:
            lines.append(f"{indent}never exercised:")
            width = max(len(item.kind) for item in missed)
            lines += [f"{indent}  {item.kind:<{width}}  {item.label}  ({item.location})" for item in missed]
        else:
            lines.append(f"{indent}everything was exercised")
        return lines


def _same_file(name: str):
    """A test of whether a definition's file is the policy file `name` (paths compared resolved)."""
    try:
        mine = Path(name).resolve()
    except (OSError, RuntimeError):
        mine = None

    def own(file: str) -> bool:
        if not file or file == name:
            return True
        try:
            return mine is not None and Path(file).resolve() == mine
        except (OSError, RuntimeError):
            return False

    return own


# ---- running tests files (the command, which prints, is cli/test.py) -----------------------------


def run_files(paths: list[Path], coverage: bool = False, pattern: str | None = None):
    """Yield, per tests file, (file or None, path, results, error text, Coverage or None)."""
    for path in paths:
        try:
            test_file = read_tests(path)
        except TestFileError as error:
            yield None, path, [], str(error), None
            continue
        try:
            policy = load_policy(test_file)
        except PolicyError as error:
            yield test_file, path, [], f"{test_file.policy_path}: the policy does not load:\n{error}", None
            continue
        cover = Coverage(policy) if coverage else None
        results = []
        for case in test_file.cases:
            if pattern and pattern not in case.name:
                continue
            result = run_case(policy, test_file, case)
            results.append(result)
            if cover is not None and result.decision is not None:
                cover.record(result.decision)
        yield test_file, path, results, None, cover


__all__ = ["Case", "Coverage", "Result", "TestFile", "TestFileError", "describe_policy", "discover", "failure_report", "read_tests", "run_case", "same_value", "step_blocks", "step_lines"]


