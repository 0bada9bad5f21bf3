"""The public API: `load(path)` -> `Policy`; `policy.evaluate(facts)` -> `Decision`.

Stages: text --parser--> parse tree --lower--> AST --checker--> checked policy
--compiler--> program; facts --facts reader--> inputs --program--> decision (+ trace).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs

from . import types as t
from . import values
from .checker import CheckEnv, check
from .compiler import Program, compile_policy
from .diagnostics import Diagnostic, EvaluationError, FactError, FactsError, PolicyError, sort_key
from .facts import Invalid, build_reader, problems_to_errors
from .lower import lower
from .parser import parse_tree
from .runtime import FEN
from .source import SourceFile

MAX_POLICY_BYTES = 1_000_000


def analyze(source: SourceFile) -> tuple[CheckEnv | None, list[Diagnostic]]:
    """Parse and check `source`; every diagnostic found (errors and warnings)."""
    if len(source.text) > MAX_POLICY_BYTES:
        return None, [Diagnostic("L501", f"policy is larger than {MAX_POLICY_BYTES:,} characters", None)]
    tree = parse_tree(source)
    if isinstance(tree, Diagnostic):
        return None, [tree]
    try:
        policy_file, diagnostics = lower(tree, source)
    except RecursionError:
        return None, [Diagnostic("P104", "the policy nests expressions too deeply", None, hint="split deep expressions into named rules")]
    env = check(policy_file, source)
    return env, sorted(diagnostics + env.diagnostics, key=sort_key)


def loads(text: str, name: str = "<policy>") -> "Policy":
    """Parse, check and compile policy text; raises `PolicyError` with every diagnostic."""
    source = SourceFile(name, text)
    env, diagnostics = analyze(source)
    errors = [d for d in diagnostics if d.is_error]
    if errors or env is None:
        raise PolicyError(errors or diagnostics)
    return Policy(env, compile_policy(env), [d for d in diagnostics if not d.is_error])


def load(path: str | Path) -> "Policy":
    """Load a policy file (UTF-8). A missing or unreadable file is a `PolicyError` too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError([Diagnostic("L500", f"{path}: no such policy file", None)]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([Diagnostic("L500", f"{path}: cannot read policy: {error}", None)]) from None
    return loads(text, str(path))


class Policy:
    """A checked, compiled policy. Evaluate claims with `evaluate(facts)`."""

    def __init__(self, env: CheckEnv, program: Program, warnings: list[Diagnostic]):
        self.env = env
        self.program = program
        self.warnings = warnings
        self.title = env.policy.title
        self.version = env.policy.version
        self.name = env.source.name
        self.output_names = [o.name for o in env.outputs]
        self.output_types = [self.type_of(name) for name in self.output_names]
        self._read = build_reader(env, program.defaults)
        self._money_outputs = [i for i, ty in enumerate(self.output_types) if ty == t.MONEY]

    def type_of(self, name: str):
        symbol = self.env.symbols[name]
        if symbol.kind == "input":
            return self.env.field_types[(None, name)]
        return self.env.def_types[name]

    def read_facts(self, facts) -> tuple:
        """Validate and convert claim facts to input values; `FactsError` names each bad field."""
        try:
            return self._read(facts)
        except Invalid as invalid:
            raise FactsError(problems_to_errors(invalid)) from None

    def evaluate(self, facts: dict) -> "Decision":
        """Evaluate one claim. Raises `FactsError` (bad facts) or `EvaluationError`."""
        inputs = self.read_facts(facts)
        try:
            raw = self.program.run(inputs)
        except (ArithmeticError, EvaluationError, ValueError, OverflowError):
            raise self._locate_failure(inputs) from None
        outputs = self._finish(raw)
        claim_id = facts.get("claim_id") if isinstance(facts, dict) else None
        return Decision(self, inputs, outputs, claim_id if isinstance(claim_id, str) else None)

    def run_traced(self, inputs: tuple) -> tuple[dict, list]:
        steps: list = []
        raw = self.program.run_traced(inputs, steps)
        return self._finish(raw), steps

    def _finish(self, raw: tuple) -> dict:
        for index in self._money_outputs:
            value = raw[index]
            if value != value.quantize(FEN):
                name = self.output_names[index]
                raise EvaluationError(
                    f"output `{name}` = {value} is not a whole number of fen; round it explicitly, e.g. round(x, half_up)",
                    name,
                    self.env.symbols[name].node.span,
                    code="R404",
                )
        return {
            name: (value.quantize(FEN) if ty == t.MONEY else value)
            for name, value, ty in zip(self.output_names, raw, self.output_types)
        }

    def _locate_failure(self, inputs: tuple) -> EvaluationError:
        """Re-run with tracing to name the rule that failed (the fast path keeps no position)."""
        steps: list = []
        try:
            self.program.run_traced(inputs, steps)
        except (ArithmeticError, EvaluationError, ValueError, OverflowError) as error:
            rules = self.program.rule_names
            rule = rules[len(steps)] if len(steps) < len(rules) else None
            span = self.env.symbols[rule].node.span if rule else None
            message = str(error) if isinstance(error, EvaluationError) else _arithmetic_message(error)
            code = error.code if isinstance(error, EvaluationError) else "R400"
            return EvaluationError(message, rule, span, code=code)
        return EvaluationError("evaluation failed")


def _arithmetic_message(error: Exception) -> str:
    from decimal import DecimalException

    if isinstance(error, DecimalException):
        return "a value is too large or too precise to compute exactly"
    return f"cannot compute: {error}"


@attrs.define
class Decision:
    """The result of evaluating one claim: exact output values, explainable on demand.

    The explanation re-runs the claim with tracing on (evaluation is deterministic), so
    evaluating stays fast and every decision can still be explained.
    """

    policy: Policy = attrs.field(repr=False)
    inputs: tuple = attrs.field(repr=False)
    outputs: dict
    claim_id: str | None
    _explanation: object = attrs.field(default=None, repr=False)

    def explanation(self):
        from .explain import build_explanation

        if self._explanation is None:
            _, steps = self.policy.run_traced(self.inputs)
            self._explanation = build_explanation(self.policy, self.inputs, self.outputs, steps)
        return self._explanation

    def explain(self) -> str:
        from .explain import render_text

        return render_text(self.explanation(), self.claim_id)

    def to_json(self) -> dict:
        result = {"claim_id": self.claim_id} if self.claim_id is not None else {}
        for name, type_ in zip(self.policy.output_names, self.policy.output_types):
            result[name] = values.to_json(self.outputs[name], type_)
        return result


def error_record(error: Exception, claim_id=None, line: int | None = None) -> dict:
    """The JSON record written in place of a decision for a claim that failed."""
    record: dict = {}
    if claim_id is not None:
        record["claim_id"] = claim_id
    if line is not None:
        record["line"] = line
    if isinstance(error, FactsError):
        record["error"] = "invalid facts: " + str(error)
        record["errors"] = [{"path": e.path, "message": e.message, "code": e.code} for e in error.errors]
    elif isinstance(error, EvaluationError):
        record["error"] = str(error)
        record["code"] = error.code
    else:
        record["error"] = str(error)
    return record


__all__ = ["Decision", "FactError", "Policy", "analyze", "error_record", "load", "loads", "Decimal"]
