"""The public API: `load(path)` -> `Policy`; `policy.evaluate(facts)` -> `Decision`.

Stages: text --syntax.parser--> parse tree --syntax.lower--> AST --link.inherit--> effective
AST --check--> `Checked` --ir.build--> IR --backends.python--> program; facts
--backends.facts--> inputs --program--> decision (+ a typed trace, runtime/trace.py).

A policy file with syntax errors gives every one of them, and the checker's findings on the
definitions that did parse, without those that only follow from the skipped ones
(`follow_on`; syntax/parser.py's docstring says why).

Evaluating a claim answers with a `Decision`, a `FactsError` (bad facts, by field path) or
an `EvaluationError` with a code (R4xx, naming the rule where one failed and, through the
program's line table, the sub-expression that failed), never another exception. Reading the facts, running the program, checking the outputs and building an
explanation all run under `numbers.EXACT`, whatever decimal context the caller has set:
the same claim gets the same decision in any process.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, DecimalException, DivisionByZero, InvalidOperation, getcontext, localcontext, setcontext
from pathlib import Path

import attrs

from policydsl.link import cache
from policydsl.syntax import limits
from policydsl.runtime import numbers
from policydsl.runtime import helpers as runtime
from policydsl.syntax import nodes as n
from policydsl.syntax import printer
from policydsl.check import types as t
from policydsl.runtime import values
from policydsl.check import Checked, check
from policydsl.backends.python import Program, compile_outputs, compile_program, compile_reader
from policydsl.ir.build import from_checked
from policydsl.diagnostics.model import Diagnostic, Related, EvaluationError, FactError, FactsError, PolicyError, Severity, sort_key
from policydsl.backends.facts import claim_id_of, Invalid, build_reader, problems_to_errors
from policydsl.link.inherit import find_root, link, policy_path
from policydsl.syntax.lower import lower
from policydsl.syntax.parser import Skipped, parse
from policydsl.link.files import read_policy_text, unreadable
from policydsl.link.provenance import Provenance, policy_id, provenance_of
from policydsl.check.periods import segment_index, unset
from policydsl.runtime.helpers import FEN, InvariantViolation, RequirementRefused

from policydsl.syntax.source import SourceFile

_EXACT = numbers.EXACT
_ROUNDING = numbers.ROUNDING
_FAILURES = (ArithmeticError, EvaluationError, ValueError, OverflowError)  # what a program may raise

MAX_POLICY_BYTES = limits.MAX_POLICY_CHARS


def parse_source(source: SourceFile) -> tuple[n.PolicyFile | None, list[Diagnostic]]:
    """Text -> AST for one file (the policy itself, or a policy it extends), and every
    diagnostic of its text: each syntax error of the file, not only the first.

    A file with syntax errors still gives the definitions that parsed (an editor's symbols);
    `parse_recovering` also says which definitions were skipped. `limits` keeps every later
    (recursive) stage within its depth; the RecursionError catch is a last resort that those
    limits should make unreachable.
    """
    too_big = limits.check_text(source)
    if too_big:
        return None, too_big
    cached = cache.load_ast(source)
    if cached is not None:
        return cached
    policy_file, diagnostics, _ = _parse_text(source)
    return policy_file, diagnostics


def parse_recovering(source: SourceFile) -> tuple[n.PolicyFile | None, list[Diagnostic], tuple[Skipped, ...]]:
    """`parse_source`, and the definitions skipped for syntax errors (`parser.Skipped`; empty
    when the text parses)."""
    too_big = limits.check_text(source)
    if too_big:
        return None, too_big, ()
    cached = cache.load_ast(source)
    if cached is not None:
        return (*cached, ())
    return _parse_text(source)


def _parse_text(source: SourceFile):
    """Parse, check the limits, lower; only a file without syntax errors goes to the AST cache."""
    parsed = parse(source)
    syntax = list(parsed.diagnostics)
    if parsed.tree is None:
        return None, syntax, parsed.skipped
    too_deep = limits.check_tree(parsed.tree, source)
    if too_deep:
        return None, syntax + too_deep, parsed.skipped
    policy_file, diagnostics = lower(parsed.tree, source)
    if policy_file is None:
        return None, syntax + diagnostics, parsed.skipped
    too_nested = limits.check_policy(policy_file, source)
    if too_nested:
        return None, syntax + diagnostics + too_nested, parsed.skipped
    if syntax:
        return policy_file, sorted(syntax + diagnostics, key=sort_key), parsed.skipped
    cache.store_ast(source, (policy_file, diagnostics))
    return policy_file, diagnostics, ()


# Warnings about what nothing uses: the uses may be in a definition that did not parse.
_USE_WARNINGS = frozenset({"W230", "W232", "W234", "W235", "W238"})
_NAMED = re.compile(r"`([^`]+)`")


def follow_on(diagnostic: Diagnostic, skipped: tuple[Skipped, ...]) -> bool:
    """Whether a link or check diagnostic may only follow from definitions that did not parse.

    With syntax errors, the definitions that parsed are checked, and what the checker says
    about a name a skipped definition would define (undefined name, unknown type or
    function, output not defined, a required value not set: any message naming it), "no
    input" when the input was skipped, "no outputs" when an `output` was, and the warnings
    about unused definitions (their uses may be in the skipped text) are left out: they
    would go away with the syntax error, and would only confuse.
    """
    if not skipped:
        return False
    if diagnostic.code in _USE_WARNINGS:
        return True
    kinds = {s.keyword for s in skipped}
    if diagnostic.code == "C209" and "input" in kinds:
        return True
    if diagnostic.code == "C205" and "no outputs" in diagnostic.message and kinds & {"output", "drop output"}:
        return True
    names = frozenset().union(*(s.names for s in skipped))
    return any(name in names for name in _NAMED.findall(diagnostic.message))


def analyze(source: SourceFile, root: Path | None = None) -> tuple[Checked | None, list[Diagnostic]]:
    """Parse, link (`extends`, resolved inside `root`) and check `source`; every diagnostic found."""
    env, diagnostics, _ = _analyze(source, root)
    return env, diagnostics


def _analyze(source: SourceFile, root: Path | None):
    """`analyze`, and the IR of a policy without errors (None otherwise), which its last check reads."""
    env, found = check_source(source, parent_loader(root) if root is not None else None)
    program = None
    if env is not None and not any(d.is_error for d in found):
        program = from_checked(env)
        found = sorted([*found, *_fen_warnings(env, program)], key=sort_key)
    return env, found, program


def check_source(source: SourceFile, load_parent=None):
    """Parse, link and check one policy text: (the checked environment or None, its diagnostics sorted).

    `load_parent(name, span)` gives the parent of `extends "name"` (see `parent_loader`); None
    refuses every `extends`. A file with syntax errors is checked too, without the definitions
    that did not parse and without the findings that only follow from them (`follow_on`); not
    at all (None) when its header did not parse (without its `extends`, every inherited name
    would be unknown) or when its parent is missing (checking would only cascade).
    """
    policy_file, diagnostics, skipped = parse_recovering(source)
    if policy_file is None or any(s.keyword == "policy" for s in skipped):
        return None, diagnostics
    linked, link_diagnostics = link(policy_file, source, load_parent)
    link_diagnostics = [d for d in link_diagnostics if not follow_on(d, skipped)]
    diagnostics += link_diagnostics
    if any(d.code in ("C240", "C241", "C246", "C247") or d.code.startswith(("P", "L")) for d in link_diagnostics):
        return None, sorted(diagnostics, key=sort_key)
    env = check(linked.policy, source, bounds=linked.bounds, linked=linked)
    found = [*diagnostics, *(d for d in env.diagnostics if not follow_on(d, skipped))]
    return env, sorted(found, key=sort_key)


def _fen_warnings(env, program) -> list[Diagnostic]:
    """W239: a money output (or what a claim adds to a money accumulator) whose value can have
    fractions of a fen by the IR's scale analysis (`cost * 50%` without `round`): it fails
    claims with R404 where it does."""
    found: dict[str, Diagnostic] = {}
    for segment in program.segments:
        for rule in segment.rules:
            if rule.is_output and rule.type == t.MONEY and rule.body.scale is not None and rule.body.scale > 2 and rule.name not in found:
                found[rule.name] = Diagnostic(
                    "W239",
                    f"money output `{rule.name}` can have {rule.body.scale} decimals: a claim where it has fractions of a fen fails (R404)",
                    env.symbols[rule.name].node.span if rule.name in env.symbols else None,
                    hint="round it to the fen, e.g. `round(..., half_up)`",
                    severity=Severity.WARNING,
                )
    return list(found.values())


def parent_loader(root: Path, buffers=None):
    """Load `extends "name"` as <root>/name.policy, and nothing outside the root.

    `buffers` (resolved path -> text, an editor's unsaved files) are read before the disk.
    """

    def load_parent(name: str, span):
        path = policy_path(root, name)
        if path is None:
            return Diagnostic(
                "C246",
                f"`extends \"{name}\"` is not a policy name",
                span,
                hint="name a policy inside the policies folder, e.g. `extends \"national/baseline-2025\"` (no `..`, no absolute paths)",
            )
        text = buffers.get(path.resolve()) if buffers else None
        if text is None and not path.is_file():
            known = sorted(str(p.relative_to(root.resolve()).with_suffix("")) for p in root.resolve().rglob("*.policy"))
            return Diagnostic("C247", f"there is no policy `{name}` in {_display_path(root)}", span, hint=_suggest(name, known))
        if text is None:
            try:
                text = read_policy_text(path)
            except (OSError, UnicodeDecodeError) as error:
                return attrs.evolve(unreadable(path, error), span=span)
        source = SourceFile(_display_path(path), text)
        parent, diagnostics = parse_source(source)
        errors = [d for d in diagnostics if d.is_error]
        if parent is None or errors:
            first = (errors or diagnostics)[0]
            return attrs.evolve(first, related=first.related + (Related("in the policy extended here", span),)) if span else first
        return source, parent

    return load_parent


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _suggest(name: str, known: list[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean `{close[0]}`?" if close else None


def loads(text: str, name: str = "<policy>", root: Path | str | None = None) -> "Policy":
    """Parse, check and compile policy text; raises `PolicyError` with every diagnostic.

    `root` is the policies folder in which `extends` names are looked up.
    """
    source = SourceFile(name, text)
    root = Path(root) if root is not None else None
    env, diagnostics, program = _analyze(source, root)
    errors = [d for d in diagnostics if d.is_error]
    if errors or env is None:
        raise PolicyError(errors or diagnostics)
    provenance = provenance_of(env.linked, policy_id(name, root))
    return Policy(env, compile_program(program), [d for d in diagnostics if not d.is_error], provenance)


def load(path: str | Path, root: str | Path | None = None) -> "Policy":
    """Load a policy file (UTF-8); `extends` resolves inside `root` (default: the enclosing
    `policies` folder). A missing or unreadable file is a `PolicyError` too."""
    path = Path(path)
    try:
        text = read_policy_text(path)
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([unreadable(path, error)]) from None
    return loads(text, str(path), root if root is not None else find_root(path))


class Policy:
    """A checked, compiled policy. Evaluate claims with `evaluate(facts)`.

    `provenance` says which policy this is (id, version, period, digest of its text and of
    every file it extends); every decision record carries it. `accumulators` are what it
    carries from claim to claim of one person (`ir.nodes.Accumulator`).
    """

    def __init__(self, env: Checked, program: Program, warnings: list[Diagnostic], provenance: Provenance | None = None):
        self.env = env
        self.program = program
        self.warnings = warnings
        self.title = env.policy.title
        self.version = env.policy.version
        self.name = env.source.name
        self.provenance = provenance if provenance is not None else provenance_of(env.linked, policy_id(env.source.name, None))
        self._provenance_json = self.provenance.to_json()
        self.accumulators = program.ir.accumulators
        self.accumulator_names = tuple(a.name for a in self.accumulators)
        self._accumulator_plan = [(a.name, a.index, values.json_writer(a.type), a.type in (t.MONEY, t.NUMBER)) for a in self.accumulators]
        self._period_texts: dict = {}  # claim date -> each accumulator's year as text
        self._output_count = len(env.outputs)
        # per segment: the money accumulators whose added amount may hold fractions of a fen
        # (its scale is unknown or above 2), checked at each evaluation (R404); the others need not be
        self._fen_checks = [
            tuple(
                number
                for number, (accumulator, accrual) in enumerate(zip(self.accumulators, segment.accruals))
                if accumulator.type == t.MONEY and (accrual.scale is None or accrual.scale > 2)
            )
            for segment in program.ir.segments
        ]
        self.output_names = [o.name for o in env.outputs]
        self.output_types = [self.type_of(name) for name in self.output_names]
        self._read = compile_reader(program.ir, build_reader(program.ir, program.defaults))
        self._drop_claim_id = "claim_id" not in {f.name for f in env.record_fields(None)}
        self._money_outputs = [i for i, ty in enumerate(self.output_types) if ty == t.MONEY]
        self._money_names = [self.output_names[i] for i in self._money_outputs]
        # money outputs are quantized to the fen by `_finish` (exactly: two decimals), so they are
        # written as they are; every other type by its writer
        self._json_writers = [(name, _fen_text if ty == t.MONEY else values.json_writer(ty)) for name, ty in zip(self.output_names, self.output_types)]
        self._finish_fast = compile_outputs(self.output_names, self.output_types)
        self.explain_cache: dict = {}  # explain.py keeps what does not depend on the claim here
        self._one_segment = len(program.runs) == 1 and program.runs[0] is not None  # what `segment_for` would say for every claim
        self._has_work = any(plan is not None for plan in program.work)  # nested aggregates to bound (R409)

    def type_of(self, name: str):
        symbol = self.env.symbols[name]
        if symbol.kind == "input":
            return self.env.field_types[(None, name)]
        return self.env.def_types[name]

    def read_facts(self, facts) -> tuple:
        """Validate and convert claim facts to input values; `FactsError` names each bad field.

        `claim_id` names a claim in every command's records, so it is accepted at the top
        level even when the policy's input does not declare it.
        """
        if self._drop_claim_id and isinstance(facts, dict) and "claim_id" in facts:
            facts = {key: value for key, value in facts.items() if key != "claim_id"}
        try:
            return self._read(facts)
        except Invalid as invalid:
            raise FactsError(problems_to_errors(invalid)) from None

    def evaluate(self, facts: dict, as_of: datetime.date | None = None, accumulators: dict | None = None) -> "Decision":
        """Evaluate one claim with the values in force on its date (or on `as_of`).

        Each accumulator's value before the claim is given by name, in the claim's facts or
        in `accumulators` (which wins); a missing one is a `FactsError` naming it. The
        decision reports every accumulator before and after the claim.

        Raises `FactsError` (bad facts) or `EvaluationError` (the claim cannot be decided).
        Runs under `numbers.EXACT`; the caller's decimal context is restored after.
        """
        if accumulators:
            facts = self._with_accumulators(facts, accumulators)
        caller = getcontext()
        setcontext(_EXACT)  # not localcontext: it copies the context, twice the cost on the hot path
        try:
            try:
                inputs = self.read_facts(facts) if self._drop_claim_id else self._read(facts)  # `read_facts`, one call fewer
            except Invalid as invalid:
                raise FactsError(problems_to_errors(invalid)) from None
            program = self.program
            segment = 0 if self._one_segment else self.segment_for(inputs, as_of)
            if self._has_work and program.work[segment] is not None:
                runtime.check_work(program.work[segment], inputs)
            try:
                raw = program.runs[segment](inputs)
            except RequirementRefused as refused:
                raise self._requirement_error(refused, inputs) from None
            except InvariantViolation as violation:
                raise self._invariant_error(violation, facts) from None
            except _FAILURES as error:
                raise self._locate_failure(error, inputs, segment) from None
            try:
                outputs = self._finish_fast(raw)  # every money output to the fen in one expression
            except ArithmeticError:
                outputs = self._finish(raw)  # `unlimited`, or R404 / R408 named
            added = None
            if self.accumulators:
                added = raw[self._output_count:]
                if self._fen_checks[segment]:
                    self._check_fen(added, self._fen_checks[segment])
        finally:
            setcontext(caller)
        claim_id = facts.get("claim_id") if type(facts) is dict else None  # what `claim_id_of` gives, its common case inline
        if claim_id is not None and type(claim_id) is not str and type(claim_id) is not int:
            claim_id = claim_id_of(facts)
        return Decision(self, inputs, outputs, claim_id, segment, added)

    def _with_accumulators(self, facts, accumulators: dict) -> dict:
        unknown = [name for name in accumulators if name not in self.accumulator_names]
        if unknown:
            hint = f" (it has {', '.join(f'`{a}`' for a in self.accumulator_names)})" if self.accumulator_names else " (it has none)"
            raise FactsError([FactError(f"accumulators.{name}", f"the policy has no accumulator `{name}`{hint}", "F303") for name in unknown])
        if not isinstance(facts, dict):
            return facts  # the reader reports it
        return {**facts, **accumulators}

    def accumulators_json(self, inputs: tuple, added: tuple) -> dict:
        """The record's `accumulators`: name -> {"before", "after", "period"} as JSON values.
        The same values as `carried` gives, written without making them (it is on the path of
        every batch record): sums under `numbers.EXACT`, the year's text cached by day."""
        day = inputs[self.program.as_of_index]
        periods = self._period_texts.get(day)
        if periods is None:
            if len(self._period_texts) >= 4096:
                self._period_texts.clear()
            periods = self._period_texts[day] = tuple(_year_text(*accumulator.period_of(day)) for accumulator in self.accumulators)
        add = _EXACT.add
        written = {}
        for (name, index, write, money), delta, period in zip(self._accumulator_plan, added, periods):
            before = inputs[index]
            written[name] = {"before": write(before), "after": write(add(before, delta) if money else before + delta), "period": period}
        return written

    def _check_fen(self, added: tuple, which: tuple) -> None:
        """R404 unless the money added to each accumulator in `which` is whole fen, as a money
        output must be (under `numbers.EXACT`, quantize is exact or raises)."""
        for number in which:
            try:
                added[number].quantize(FEN)
            except ArithmeticError:
                accumulator = self.accumulators[number]
                span = accumulator.ast.adds.span if accumulator.ast.adds is not None else accumulator.ast.span
                raise EvaluationError(
                    f"accumulator `{accumulator.name}` would add {added[number]}, which is not a whole number of fen; round it explicitly, e.g. round(x, half_up)",
                    accumulator.name, span, code="R404",
                ) from None

    def carried(self, inputs: tuple, added: tuple) -> dict:
        """name -> `Carried` (before, after, the year) for each accumulator of a claim
        (`inputs`) that added `added` (the amounts were checked when it was evaluated)."""
        day = inputs[self.program.as_of_index]
        carried = {}
        years: dict = {}  # year start -> the year of `day`: accumulators usually share one
        with localcontext(_EXACT):
            for accumulator, delta in zip(self.accumulators, added):
                before = inputs[accumulator.index]
                after = before + delta
                if accumulator.type == t.MONEY:
                    before, after = before.quantize(FEN), after.quantize(FEN)
                year = years.get(accumulator.year_start)
                if year is None:
                    year = years[accumulator.year_start] = accumulator.period_of(day)
                carried[accumulator.name] = Carried(before, after, *year)
        return carried

    def segment_for(self, inputs: tuple, as_of: datetime.date | None = None) -> int:
        """Which time segment's values apply to a claim: by `as_of`, else by its date field."""
        program = self.program
        if len(program.runs) == 1:
            if program.runs[0] is None:
                self._not_in_force(0, as_of)
            return 0
        day = as_of if as_of is not None else (inputs[program.as_of_index] if program.as_of_index is not None else None)
        if day is None:
            raise EvaluationError(
                "this policy has dated values, and its header names no date field to pick them by: add `as of FIELD` to the "
                "header (e.g. `as of service_date`), or give an evaluation date (`--as-of DATE`; `as_of=` in Python)",
                code="R405",
            )
        index = segment_index(program.cuts, day)
        if program.runs[index] is None:
            self._not_in_force(index, day)
        return index

    def _not_in_force(self, index: int, day: datetime.date | None):
        """Raise R405: segment `index` decides no claim (outside the policy's period, a value
        with no variant in force on `day`, or a `required` value the policy leaves unset)."""
        segment = self.program.segments[index]
        if segment.outside:
            effective = self.env.policy.header.effective
            raise EvaluationError(f"the policy is not in force on {day.isoformat()} (it is in force {effective.describe()})", code="R405")
        name = segment.missing[0]
        variants = self.env.variants.get(name, ())
        if variants and all(unset(v) for v in variants):
            raise EvaluationError(
                f"`{name}` is required and this policy does not set it: it is a frame for regions; decide claims with a region that extends it",
                code="R405",
            )
        raise EvaluationError(f"no value of `{name}` is in force" + (f" on {day.isoformat()}" if day else ""), code="R405")

    def run_traced(self, inputs: tuple, segment: int = 0) -> tuple[dict, list]:
        """Run with tracing on: (outputs, steps), each a `runtime.trace.Step` (rule index, value, events).

        Like `evaluate`, under `numbers.EXACT`; a claim that cannot be decided raises
        `EvaluationError` naming the rule.
        """
        with localcontext(_EXACT):
            if self.program.work[segment] is not None:
                runtime.check_work(self.program.work[segment], inputs)
            steps: list = []
            try:
                raw = self.program.traced[segment](inputs, steps)
            except InvariantViolation:
                raise
            except _FAILURES as error:
                raise self._failure(error, *self._traced_place(error, steps)) from None
            return self._finish(raw), steps

    def _finish(self, raw: tuple) -> dict:
        """Outputs by name; money outputs checked to be whole fen (R404) and written to the
        fen, never rounded: quantize under `numbers.EXACT` (set by the caller) raises instead."""
        outputs = dict(zip(self.output_names, raw))
        for name in self._money_names:
            value = outputs[name]
            try:
                outputs[name] = value.quantize(FEN)  # under numbers.EXACT: exact, or it raises
            except ArithmeticError:
                if value == numbers.UNLIMITED:  # `unlimited`: no cap (written "unlimited")
                    continue
                self._not_fen(name, value)
        return outputs

    def _not_fen(self, name: str, value: Decimal):
        """Raise why a money output cannot be written to the fen: R408 if quantizing it
        needs more than `numbers.PRECISION` digits, else R404 (it has fractions of a fen)."""
        span = self.env.symbols[name].node.span
        try:
            value.quantize(FEN, None, _ROUNDING)
        except ArithmeticError:
            raise EvaluationError(f"output `{name}` has more than {numbers.PRECISION} digits to the fen", name, span, code="R408") from None
        raise EvaluationError(
            f"output `{name}` = {value} is not a whole number of fen; round it explicitly, e.g. round(x, half_up)",
            name,
            span,
            code="R404",
        )

    def _requirement_error(self, refused: RequirementRefused, inputs: tuple) -> FactsError:
        """F304 at the field a `require` names: its condition, the values of the input fields
        it reads, and its reason."""
        require = self.env.requires[refused.number]
        fields = [f.name for f in self.env.record_fields(None)]
        read = sorted(name for name in self.env.deps.get(f"require {refused.number}", ()) if name in fields)
        shown = ", ".join(f"{name} is {values.to_text(inputs[fields.index(name)], self.type_of(name))}" for name in read)
        message = f"the policy requires {printer.expression(require.condition)}" + (f" ({shown})" if shown else "")
        reason = n.annotation_texts(require.annotations, "because")
        message += f": {reason[0]}" if reason else ""
        return FactsError([FactError(require.field, message, code="F304")])

    def _invariant_error(self, violation: InvariantViolation, facts) -> EvaluationError:
        invariant = self.env.invariants[violation.number]
        claim_id = claim_id_of(facts)
        reason = n.annotation_texts(invariant.annotations, "because")
        message = f"invariant `{invariant.name}` does not hold" + (f" for claim {claim_id}" if claim_id is not None else "")
        message += f": {printer.expression(invariant.condition)}" + (f" ({reason[0]})" if reason else "")
        return EvaluationError(message, None, invariant.span, code="R406")

    def _locate_failure(self, error: Exception, inputs: tuple, segment: int) -> EvaluationError:
        """The error of the fast path, located: the claim is run again traced, whose helpers
        name the failing node (the fast path keeps no position, to stay fast); if that run
        does not fail, the fast path's own line in the line table says where."""
        steps: list = []
        try:
            self.program.traced[segment](inputs, steps)
        except _FAILURES as again:
            return self._failure(again, *self._traced_place(again, steps))
        return self._failure(error, *self.program.locate(error))

    def _traced_place(self, error: Exception, steps: list):
        """(rule, node) of a traced run that stopped after `len(steps)` rules."""
        rule, node = self.program.locate(error)
        if rule is None and node is None:
            rules = self.program.rule_names
            rule = rules[len(steps)] if len(steps) < len(rules) else None
        return rule, node

    def _failure(self, error: Exception, rule: str | None, node) -> EvaluationError:
        """`error` as an `EvaluationError` naming the rule, at the failing sub-expression
        (`node`, an IR node) when that is narrower than the rule."""
        span = self.env.symbols[rule].node.span if rule else None
        message_suffix = ""
        if node is not None and node.span is not None:
            if not _is_rule_body(self.program.ir, node):
                message_suffix = f" in `{_one_line(node.span.text)}`"
            span = node.span
        if isinstance(error, EvaluationError):
            if error.rule is not None:  # already names its rule
                return error
            # the error's message already ends with its own (absent) location
            return EvaluationError(str(error) + message_suffix, rule, span, code=error.code)
        if isinstance(error, InvalidOperation) and self.program.ir.unlimited:
            # `unlimited` (Decimal infinity) makes operations without an answer: unlimited - unlimited, unlimited * 0
            message = "the value is not a number: `unlimited` minus `unlimited`, or `unlimited` times 0, has no amount"
            return EvaluationError(message + message_suffix, rule, span, code="R408")
        if isinstance(error, DecimalException) and not isinstance(error, DivisionByZero):
            message = (
                f"the exact value needs more than {numbers.PRECISION} significant digits or lies outside "
                f"1E-{numbers.EXPONENT_LIMIT}..1E+{numbers.EXPONENT_LIMIT}; values are never rounded silently"
            )
            return EvaluationError(message + message_suffix, rule, span, code="R408")
        return EvaluationError(f"cannot compute: {type(error).__name__}" + message_suffix, rule, span, code="R400")


def _fen_text(value: Decimal) -> str:
    """A money output as JSON text: `_finish` has quantized it to the fen (`8625.00`), and a
    Decimal of exponent -2 prints without an exponent, so `str` is `format(value, "f")` at a
    third of its cost. `unlimited` is written "unlimited"."""
    return str(value) if value.is_finite() else values.money(value)


def _is_rule_body(program, node) -> bool:
    """Whether `node` is the whole expression of a rule (in any segment): then the rule's
    position says it all. Asked only when a claim fails."""
    return any(rule.body is node for segment in program.segments for rule in segment.rules)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


@attrs.frozen
class Carried:
    """An accumulator around one claim: its value `before` and `after` the claim, in the
    year (`period_start`..`period_end`, both included) that the claim's date falls in."""

    before: object
    after: object
    period_start: datetime.date
    period_end: datetime.date

    @property
    def period(self) -> str:
        """The year as an ISO 8601 interval: `2025-01-01/2025-12-31`."""
        return _year_text(self.period_start, self.period_end)


def _year_text(start: datetime.date, end: datetime.date) -> str:
    """An accumulator's year as the records write it: an ISO 8601 interval."""
    return f"{start.isoformat()}/{end.isoformat()}"


@attrs.define
class Decision:
    """The result of evaluating one claim: exact output values, explainable on demand.

    The explanation re-runs the claim with tracing on (evaluation is deterministic), so
    evaluating stays fast and every decision can still be explained.
    """

    policy: Policy = attrs.field(repr=False)
    inputs: tuple = attrs.field(repr=False)
    outputs: dict
    claim_id: str | int | None
    segment: int = attrs.field(default=0, repr=False)
    added: tuple | None = attrs.field(default=None, repr=False)  # what the claim adds to each accumulator
    _explanations: dict | None = attrs.field(default=None, repr=False, init=False)  # lang -> explanation, made when asked
    _carried: dict | None = attrs.field(default=None, repr=False, init=False)

    @property
    def accumulators(self) -> dict | None:
        """name -> `Carried` (before, after, the year), for a policy with accumulators; else
        None. Made the first time it is asked for: evaluating stays as fast without it."""
        if self._carried is None and self.added is not None:
            self._carried = self.policy.carried(self.inputs, self.added)
        return self._carried

    @property
    def provenance(self) -> Provenance:
        return self.policy.provenance

    def explanation(self, lang: str = "en"):
        """The explanation as data (`explain.Explanation`), with reasons in `lang` (en, zh)."""
        from policydsl.explain.build import build_explanation

        if self._explanations is None:
            self._explanations = {}
        if lang not in self._explanations:
            _, steps = self.policy.run_traced(self.inputs, self.segment)
            with localcontext(_EXACT):  # explaining formats and subtracts values (tier slices)
                self._explanations[lang] = build_explanation(self.policy, self.inputs, self.outputs, steps, self.segment, lang, self.accumulators)
        return self._explanations[lang]

    def explain(self, lang: str = "en") -> str:
        from policydsl.explain.render import render_text

        return render_text(self.explanation(lang), self.claim_id, lang)

    def to_json(self) -> dict:
        """The decision record: `claim_id`, the outputs, `accumulators` (each `before`,
        `after` and `period`, for a policy with any) and `policy` (its provenance)."""
        result = {"claim_id": self.claim_id} if self.claim_id is not None else {}
        outputs = self.outputs
        policy = self.policy
        for name, write in policy._json_writers:
            result[name] = write(outputs[name])
        if self.added is not None:
            result["accumulators"] = policy.accumulators_json(self.inputs, self.added)
        result["policy"] = policy._provenance_json
        return result


from policydsl.tools.decide import error_record, json_line  # noqa: E402 - re-exported: a claim's output record is decide.py's


__all__ = ["Carried", "Decision", "FactError", "Policy", "Provenance", "analyze", "error_record", "json_line", "load", "loads"]
