"""IR (`ir.nodes`) -> values: the reference interpreter.

Takes one IR expression and a `Scope` (what names mean: the claim's inputs, the segment's
constants, the rules computed so far, the enclosing aggregates' variables), or a whole
`ir.Program` with a segment index and a claim's inputs; gives the value, or the tuple of
outputs, exactly as the generated code (`backends/python.py`) computes them: the same
runtime helpers (`runtime.divide`, `add_months`, `int_product`, `number_product`,
`apply_tiers`, `Table` lookups), the same operators in the same order, the same decimal
context (`numbers.EXACT`, set here too so it can be used alone), the same result types
(Python ints for whole numbers, Decimals for money, ratios and numbers).

Written to be obviously correct, not fast: one plain recursive match over node kinds.
It is the yardstick of the code generator (tests/test_differential.py) and the checker's
evaluator of constants (`check/constants.py`), which passes a per-node hook (`Scope.check`).

Failures are exceptions of known kinds: `EvaluationError` with a code (R401 division by
zero, R402 calendar, R403 table row, R406 an invariant: `runtime.InvariantViolation`, R407
whole number beyond ±10**18), a `decimal` signal for a value that cannot be computed
exactly (R408), and `Unbound` for a name with no value in the scope (an input, a rule or a
loop variable while computing a constant). The innermost node that failed is named on the
error as `error.node` (its IR id), like the runtime helpers do.
"""

from __future__ import annotations

from decimal import localcontext
from typing import Callable

import attrs

from policydsl.diagnostics.model import EvaluationError
from policydsl.ir import nodes as ir
from policydsl.runtime import helpers as runtime
from policydsl.runtime import numbers


class Unbound(LookupError):
    """A name with no value in the scope: an input, a rule or a loop variable where there is
    no claim (the checker's constants), or a constant that was not computed."""


@attrs.define
class Scope:
    """What names mean while an expression is evaluated.

    `inputs`: the claim's inputs by field index (None: no claim); `values`: param, table,
    tiers and rule name -> value; `loops`: the variables of the enclosing aggregates,
    outermost first; `check(node, value) -> value`: called with every node's value once it
    is computed (the value it returns is used instead), or None.
    """

    inputs: tuple | None = None
    values: dict = attrs.Factory(dict)
    loops: tuple = ()
    check: Callable | None = None
    locals: dict = attrs.Factory(dict)  # a `Let`'s id -> its value, while its body is evaluated

    def value(self, name: str):
        if name not in self.values:
            raise Unbound(name)
        return self.values[name]

    def input(self, index: int, name: str):
        if self.inputs is None or not 0 <= index < len(self.inputs):
            raise Unbound(name)
        return self.inputs[index]

    def loop(self, depth: int, name: str):
        if not 1 <= depth <= len(self.loops):
            raise Unbound(name)
        return self.loops[depth - 1]

    def local(self, binding: int, name: str):
        if binding not in self.locals:
            raise Unbound(name)
        return self.locals[binding]

    def inside(self, depth: int, element) -> "Scope":
        """The scope of the body of an aggregate at `depth`, with `element` as its variable."""
        return attrs.evolve(self, loops=(*self.loops[: depth - 1], element))


def evaluate(expr: ir.Expr, scope: Scope):
    """The value of one IR expression in `scope`, computed under `numbers.EXACT`."""
    with localcontext(numbers.EXACT):
        return _evaluate(expr, scope)


def run(program: ir.Program, segment_index: int, inputs: tuple, check: Callable | None = None, rules: dict | None = None) -> tuple:
    """The outputs of a claim (its `inputs`, as `Policy.read_facts` gives them) with the
    values of segment `segment_index`: every requirement (F304, `runtime.RequirementRefused`),
    every rule in order, each whole-number rule bounded where it is assigned (R407), then every
    invariant (R406), as `Program.runs[i]` does; then what the claim adds to each accumulator.

    `check`: the per-node hook (`Scope.check`); `rules`: a dict to receive every rule's
    value by name as it is computed (what a traced run records in its steps).
    """
    segment = program.segments[segment_index]
    if not segment.in_force:
        raise EvaluationError(f"no policy value is in force in segment {segment_index} ({segment.describe()})", code="R405")
    inputs = tuple(inputs)
    if program.inputs and len(inputs) != len(program.inputs):
        raise ValueError(f"the claim has {len(inputs)} inputs; the policy reads {len(program.inputs)}")
    with localcontext(numbers.EXACT):
        scope = Scope(inputs=inputs, values=dict(segment.constants), check=check)
        broken = broken_requirement(segment, scope)
        if broken is not None:
            runtime.requirement_refused(broken.number)
        for rule in segment.rules:
            value = _evaluate(rule.body, scope)
            _bound_whole(rule.bound, value)
            scope.values[rule.name] = value
            if rules is not None:
                rules[rule.name] = value
        for invariant in segment.invariants:
            if not _evaluate(invariant.condition, scope):
                runtime.invariant_violated(invariant.number)
        outputs = tuple(_output(program, scope, name) for name in program.outputs)
        return outputs + tuple(_evaluate(accrual, scope) for accrual in segment.accruals)


def broken_requirement(segment: ir.Segment, scope: Scope) -> ir.Requirement | None:
    """The first of the segment's requirements that is false in `scope` (None: all hold),
    computed under `numbers.EXACT`."""
    with localcontext(numbers.EXACT):
        for requirement in segment.requirements:
            if not _evaluate(requirement.condition, scope):
                return requirement
    return None


def _output(program: ir.Program, scope: Scope, name: str):
    if program.definitions[name].kind == "input":
        return scope.input([field for field, _ in program.inputs].index(name), name)
    return scope.value(name)


def _bound_whole(bound: str | None, value) -> None:
    """R407 for a rule's whole-number value beyond ±10**18 (`ir.nodes.Rule.bound`)."""
    if bound == "whole":
        if not -numbers.INT_LIMIT <= value <= numbers.INT_LIMIT:
            runtime.whole_too_big()
    elif bound == "if_whole":
        if type(value) is int and not -numbers.INT_LIMIT <= value <= numbers.INT_LIMIT:
            runtime.whole_too_big()


def _evaluate(expr: ir.Expr, scope: Scope):
    try:
        value = _compute(expr, scope)
    except Exception as error:
        if getattr(error, "node", None) is None:  # the innermost node is where it failed
            try:
                error.node = expr.id
            except (AttributeError, TypeError):  # an exception that takes no attributes
                pass
        raise
    if scope.check is not None:
        value = scope.check(expr, value)
    return value


def _compute(expr: ir.Expr, scope: Scope):  # noqa: C901 - one dispatch over node kinds
    """One node: its operands left to right (as the generated Python evaluates them), then
    its own operation."""
    match expr:
        case ir.Const(value=value):
            return value
        case ir.Input(index=index, name=name):
            return scope.input(index, name)
        case ir.Ref(name=name):
            return scope.value(name)
        case ir.Loop(depth=depth, name=name):
            return scope.loop(depth, name)
        case ir.Local(binding=binding, name=name):
            return scope.local(binding, name)
        case ir.Let(value=value, body=body):
            bound = _evaluate(value, scope)
            return _evaluate(body, attrs.evolve(scope, locals={**scope.locals, expr.id: bound}))
        case ir.Field(record=record, index=index):
            return _evaluate(record, scope)[index]
        case ir.Lookup(table=table, key=key):
            rows = scope.value(table)
            return rows[_evaluate(key, scope)]  # a `runtime.Table`: R403 for a missing row without default
        case ir.Negate(operand=operand):
            return -_evaluate(operand, scope)
        case ir.Not(operand=operand):
            return not _evaluate(operand, scope)
        case ir.Logic(op="and", left=left, right=right):
            return _evaluate(left, scope) and _evaluate(right, scope)
        case ir.Logic(op="or", left=left, right=right):
            return _evaluate(left, scope) or _evaluate(right, scope)
        case ir.Arith(op=op, left=left, right=right) | ir.WholeArith(op=op, left=left, right=right):
            a = _evaluate(left, scope)
            b = _evaluate(right, scope)
            return _arith(op, a, b)
        case ir.WholeProduct(left=left, right=right):
            a = _evaluate(left, scope)
            b = _evaluate(right, scope)
            return runtime.int_product(a, b, expr.id)
        case ir.NumberProduct(left=left, right=right):
            a = _evaluate(left, scope)
            b = _evaluate(right, scope)
            return runtime.number_product(a, b, expr.id)
        case ir.Divide(left=left, right=right):
            a = _evaluate(left, scope)
            b = _evaluate(right, scope)
            return runtime.divide(a, b, expr.id)
        case ir.ShiftDate(date=date, months=months, sign=sign):
            day = _evaluate(date, scope)
            count = _evaluate(months, scope)
            return runtime.add_months(day, -count if sign < 0 else count, expr.id)
        case ir.Compare(op=op, left=left, right=right):
            a = _evaluate(left, scope)
            b = _evaluate(right, scope)
            return _compare(op, a, b)
        case ir.Member(element=element, container=container, negated=negated):
            item = _evaluate(element, scope)
            found = item in _evaluate(container, scope)
            return not found if negated else found
        case ir.SetOf(items=items):
            return tuple(_evaluate(item, scope) for item in items)  # the generated code's tuple
        case ir.Round(value=value, mode=mode, step=step):
            quantum = runtime.FEN if step is None else step
            return runtime.round_unlimited(_evaluate(value, scope), quantum, runtime.ROUNDING[mode])
        case ir.Clamp(value=value, low=low, high=high):
            raised = max(_evaluate(value, scope), _evaluate(low, scope))
            return min(raised, _evaluate(high, scope))
        case ir.DateCall(func=func, args=args):
            values = [_evaluate(a, scope) for a in args]
            return runtime.DATE_FUNCTIONS[func](*values, expr.id)
        case ir.MinMax(func="min", args=args):
            return min(*[_evaluate(a, scope) for a in args])
        case ir.MinMax(func="max", args=args):
            return max(*[_evaluate(a, scope) for a in args])
        case ir.Tiers(schedule=schedule, lower=lower, upper=upper):
            bands = scope.value(schedule)
            low = _evaluate(lower, scope)
            high = _evaluate(upper, scope)
            return runtime.apply_tiers(bands, low, high, expr.band)
        case ir.Aggregate():
            return _aggregate(expr, scope)
        case ir.Choose(branches=branches):
            for branch in branches:
                if branch.condition is None or _evaluate(branch.condition, scope):
                    return _evaluate(branch.value, scope)
            raise AssertionError("a `when` chain always ends with `otherwise`")
    raise AssertionError(f"unknown IR node {type(expr).__name__}")


def _arith(op: str, a, b):
    match op:
        case "+":
            return a + b
        case "-":
            return a - b
        case "*":
            return a * b
    raise AssertionError(f"unknown operator in the IR: {op!r}")


def _compare(op: str, a, b) -> bool:
    match op:
        case "=":
            return a == b
        case "!=":
            return a != b
        case "<":
            return a < b
        case "<=":
            return a <= b
        case ">":
            return a > b
        case ">=":
            return a >= b
    raise AssertionError(f"unknown comparison in the IR: {op!r}")


def _aggregate(expr: ir.Aggregate, scope: Scope):
    """`sum` and `count` add from `zero` in list order (`zero + x1 + x2 ...`, as Python's
    `sum` does); `any` and `all` stop at the first element that decides them."""
    elements = _evaluate(expr.source, scope)
    match expr.kind:
        case "sum" | "count":
            total = expr.zero
            for element in elements:
                inner = scope.inside(expr.depth, element)
                if expr.where is not None and not _evaluate(expr.where, inner):
                    continue
                total = total + (_evaluate(expr.body, inner) if expr.kind == "sum" else 1)
            return total
        case "any":
            for element in elements:
                if _evaluate(expr.where, scope.inside(expr.depth, element)):
                    return True
            return False
        case "all":
            for element in elements:
                if not _evaluate(expr.where, scope.inside(expr.depth, element)):
                    return False
            return True
    raise AssertionError(f"unknown aggregate kind in the IR: {expr.kind!r}")


__all__ = ["Scope", "Unbound", "evaluate", "run"]
