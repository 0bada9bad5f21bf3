"""Caps and thresholds of the money flows, found in the IR, and whether a claim reaches them.

What counts (read from each flow's formula, in every period in force, and from the rules it
reads that are not outputs themselves, through `when` branches and `let`s, but not into
aggregates):

- a **cap**: the last operand of a `min(...)`, or the upper bound of a `clamp(x, low, high)`.
  A claim *hits* the cap when the value being capped (the other operands' minimum, or `x`) is
  greater than the cap, so that the cap is what is paid. An `unlimited` cap is never hit.
- a **threshold**: `T` in `max(0, A - T)`, `clamp(A - T, 0, ...)`, or either of them with the
  difference multiplied (`(A - T) * ratio`). A claim is *above* the threshold when `A > T`.
  A `T` that is a year-to-date accumulator is not a threshold (`max(0, cap - ytd_paid)` is the
  room left under a cap).

Each is named by its flow, the rule it is written in and its text (`basic: basic_room in
basic`). Its status on a claim counts only when the `when` branches that lead to it are
taken: a cap inside `otherwise` of `when in_waiting then 0 yuan` is not hit by a claim in its
waiting period. A status that cannot be computed (a failing table lookup on a path the claim
does not take) is unknown and not counted.

Statuses are computed for one claim at a time (`Limits.statuses`): one run of the policy's
compiled program that returns every rule's value, then the reference interpreter for the
operands (small expressions). The report counts, over the claims whose outputs changed, those
that newly hit a cap or are newly above a threshold, and those that no longer are.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, localcontext

import attrs

from policydsl.backends import interpreter
from policydsl.check import types as t
from policydsl.diagnostics.model import PolicydslError
from policydsl.ir import nodes as ir
from policydsl.runtime import numbers
from policydsl.tools.impact.flows import sum_of_outputs

CAP = "cap"
THRESHOLD = "threshold"


@attrs.frozen
class Limit:
    """One cap or threshold of a flow; `key` identifies it across the two versions."""

    flow: str
    kind: str  # CAP or THRESHOLD
    rule: str  # the rule it is written in
    text: str  # the cap or threshold as written
    where: str  # file:line:column of it

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.flow, self.kind, self.rule, self.text)

    def to_json(self) -> dict:
        return {"flow": self.flow, "kind": self.kind, "rule": self.rule, "text": self.text, "where": self.where}


@attrs.frozen
class _Site:
    limit: Limit
    guards: tuple  # ("let", Let) or ("when", condition, expected) in evaluation order
    values: tuple  # the value capped (a min's other operands) or the amount A
    bound: object  # the cap or the threshold T


class Limits:
    """The caps and thresholds of `flows` in `policy`; `statuses(facts, as_of)` for one claim."""

    def __init__(self, policy, flows):
        self.policy = policy
        program = policy.program.ir
        self.program = program
        outputs = set(policy.output_names)
        money = [name for name, type_ in zip(policy.output_names, policy.output_types) if type_ == t.MONEY]
        accumulator_slots = {a.index for a in program.accumulators}
        self.sites: dict[int, list[_Site]] = {}
        found: dict[tuple, Limit] = {}
        for segment in program.segments:
            if not segment.in_force:
                continue
            rules = {rule.name: rule for rule in segment.rules}
            sites: list[_Site] = []
            for flow in flows:
                rule = rules.get(flow)
                if rule is None:
                    continue
                parts = sum_of_outputs(policy, flow, money) or ()
                _Walker(flow, rules, outputs, accumulator_slots, sites, found, parts).rule(rule, ())
            self.sites[segment.index] = sites
        self.limits = list(found.values())
        self._all_rules = None

    def __bool__(self) -> bool:
        return bool(self.limits)

    def _runner(self):
        """A compiled program of the policy that returns every rule's value, in rule order."""
        if self._all_rules is None:
            from policydsl.backends.python import compile_program

            names = self.program.rule_names
            self._all_rules = (names, compile_program(attrs.evolve(self.program, outputs=names)))
        return self._all_rules

    def statuses(self, facts: dict, as_of: datetime.date | None = None) -> dict[tuple, bool]:
        """limit key -> hit (cap) / above (threshold), for the limits whose status on this claim
        is known; {} for a claim that cannot be decided."""
        policy = self.policy
        with localcontext(numbers.EXACT):
            try:
                inputs = policy.read_facts(facts)
                index = policy.segment_for(inputs, as_of)
            except PolicydslError:
                return {}
            sites = self.sites.get(index)
            if not sites:
                return {}
            names, compiled = self._runner()
            try:
                computed = compiled.runs[index](inputs)
            except Exception:  # noqa: BLE001 - the claim does not decide: no status
                return {}
            segment = self.program.segments[index]
            scope = interpreter.Scope(inputs=inputs, values={**segment.constants, **dict(zip(names, computed))})
            conditions: dict = {}  # a `when` condition's value on this claim, by node
            result: dict[tuple, bool] = {}
            for site in sites:
                try:
                    status = _status(site, scope, conditions)
                except Exception:  # noqa: BLE001 - not computable on this claim: unknown
                    continue
                if status is not None:
                    key = site.limit.key
                    result[key] = result.get(key, False) or status
            return result


def _value(expr, scope):
    """An IR expression's value on the claim: names and constants read directly, anything
    else by the reference interpreter (under the caller's exact context)."""
    kind = type(expr)
    if kind is ir.Ref:
        return scope.values[expr.name]
    if kind is ir.Const:
        return expr.value
    if kind is ir.Input:
        return scope.inputs[expr.index]
    return interpreter.evaluate(expr, scope)


def _status(site: _Site, scope, conditions: dict) -> bool | None:
    scope.locals = {}
    plain = True  # no `let` yet: a condition's value is the same for every site
    for guard in site.guards:
        if guard[0] == "let":
            node = guard[1]
            scope.locals = {**scope.locals, node.id: _value(node.value, scope)}
            plain = False
            continue
        _, condition, expected = guard
        known = conditions.get(condition.id) if plain else None
        if known is None:
            known = bool(_value(condition, scope))
            if plain:
                conditions[condition.id] = known
        if known != expected:
            return None  # the path to it is not taken
    bound = _value(site.bound, scope)
    values = [_value(value, scope) for value in site.values]
    if site.limit.kind == CAP:
        if isinstance(bound, Decimal) and bound.is_infinite():
            return False
        return min(values) > bound
    return values[0] > bound


class _Walker:
    def __init__(self, flow, rules, outputs, accumulator_slots, sites, found, parts=()):
        self.flow = flow
        self.parts = set(parts)  # outputs whose sum is the flow: read through, as its own formula
        self.rules = rules
        self.outputs = outputs
        self.accumulator_slots = accumulator_slots
        self.sites = sites
        self.found = found
        self.visited: set = set()
        self.current = flow

    def rule(self, rule, guards) -> None:
        # a rule read in several branches is looked at under each branch's conditions
        if (rule.name, guards) in self.visited or len(self.visited) > 10_000:
            return
        self.visited.add((rule.name, guards))
        previous, self.current = self.current, rule.name
        self.walk(rule.body, guards)
        self.current = previous

    def add(self, kind, values, bound, guards) -> None:
        text = _text(bound)
        where = _where(bound, self.rules[self.current])
        limit = self.found.setdefault((self.flow, kind, self.current, text), Limit(self.flow, kind, self.current, text, where))
        self.sites.append(_Site(limit, guards, tuple(values), bound))

    def walk(self, expr, guards) -> None:  # noqa: C901 - one dispatch over node kinds
        match expr:
            case ir.Choose(branches=branches):
                earlier: list = []
                for branch in branches:
                    taken = tuple(("when", condition, False) for condition in earlier)
                    if branch.condition is not None:
                        taken += (("when", branch.condition, True),)
                        earlier.append(branch.condition)
                    self.walk(branch.value, guards + taken)
                return
            case ir.Let(value=value, body=body):
                self.walk(value, guards)
                self.walk(body, guards + (("let", expr),))
                return
            case ir.Aggregate():
                return  # loop variables: no status outside the loop
            case ir.Ref(kind="rule", name=name):
                rule = self.rules.get(name)
                if rule is not None and (name not in self.outputs or name in self.parts):
                    self.rule(rule, guards)
                return
            case ir.MinMax(func="min", args=args) if len(args) >= 2 and expr.type == t.MONEY:
                self.add(CAP, args[:-1], args[-1], guards)
            case ir.MinMax(func="max", args=(first, second)) if expr.type == t.MONEY:
                amount = _threshold(second) if _is_zero(first) else _threshold(first) if _is_zero(second) else None
                if amount is not None and not self._ytd(amount[1]):
                    self.add(THRESHOLD, (amount[0],), amount[1], guards)
            case ir.Clamp(value=value, low=low, high=high) if expr.type == t.MONEY:
                self.add(CAP, (value,), high, guards)
                amount = _threshold(value) if _is_zero(low) else None
                if amount is not None and not self._ytd(amount[1]):
                    self.add(THRESHOLD, (amount[0],), amount[1], guards)
        for child in _children(expr):
            self.walk(child, guards)

    def _ytd(self, expr) -> bool:
        return isinstance(expr, ir.Input) and expr.index in self.accumulator_slots


def _threshold(expr):
    """(A, T) of `A - T`, or of it multiplied by something; else None."""
    if isinstance(expr, ir.Arith) and expr.op == "-":
        return expr.left, expr.right
    if isinstance(expr, (ir.Arith, ir.NumberProduct)) and getattr(expr, "op", "*") == "*":
        return _threshold(expr.left) or _threshold(expr.right)
    return None


def _is_zero(expr) -> bool:
    return isinstance(expr, ir.Const) and isinstance(expr.value, (int, Decimal)) and not isinstance(expr.value, bool) and expr.value == 0


def _children(expr):
    for field in attrs.fields(type(expr)):
        if field.name == "ast":
            continue
        value = getattr(expr, field.name)
        if isinstance(value, ir.Expr):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, ir.Expr):
                    yield item
                elif isinstance(item, ir.Branch):
                    if item.condition is not None:
                        yield item.condition
                    yield item.value


def _text(expr) -> str:
    from policydsl.syntax import printer

    if expr.ast is not None:
        try:
            return printer.expression(expr.ast)
        except Exception:  # noqa: BLE001 - a node the printer does not know: its IR form
            pass
    if isinstance(expr, ir.Ref):
        return expr.name
    return type(expr).__name__


def _where(expr, rule) -> str:
    span = getattr(expr.ast, "span", None)
    if span is not None:
        return span.location
    span = getattr(rule.ast, "span", None)
    return span.location if span is not None else ""
