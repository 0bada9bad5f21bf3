"""Checked policy (`check.Checked`, with its linked provenance) -> IR (`ir.nodes.Program`).

The only code that reads the checker's side tables (resolved names, types, field
indexes) after checking: every operation is resolved here once, from operand and result
types, and the backends read the result. `expression(env, ast)` lowers one expression
on its own (the checker's constants pass evaluates parameters with it, on its scratch
`CheckEnv`, which has the same tables).
"""

from __future__ import annotations

from decimal import Decimal

from policydsl.runtime import numbers
from policydsl.runtime.helpers import DATE_FUNCTIONS

from policydsl.check import types as t
from policydsl.ir import nodes as ir
from policydsl.syntax import nodes as n

_WHOLE = t.WHOLE
_ZERO = {t.MONEY: Decimal(0), t.RATIO: Decimal(0), t.NUMBER: Decimal(0), t.INT: 0, t.MONTHS: 0}
_MONEY_SCALE = 2


class _Builder:
    """Lowers AST expressions of one checked policy; one instance numbers every node."""

    def __init__(self, env, first_id: int = 0):
        self.env = env
        self.next_id = first_id
        self.made: dict[tuple, ir.Expr] = {}  # (AST node key, loops) -> its IR node (each AST node lowered once)
        self.loops: list[str] = []  # aggregate variables around the node being lowered
        self.lets: list[tuple[str, ir.Expr]] = []  # (name, its value's IR) of the `let`s around it, by binding id: see `Local`
        self.let_ids: list[int] = []
        self.rule_scales: dict[str, int | None] = {}
        self.constants: dict = {}

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def expr(self, e) -> ir.Expr:
        key = (n.key(e), tuple(self.loops), tuple(self.let_ids))
        found = self.made.get(key)
        if found is not None:
            return found
        made = self._expr(e)
        self.made[key] = made
        return made

    def function_call(self, nid: int, function, args, common) -> ir.Expr:
        """A call `f(a, b)` is f's body with its parameters bound to the arguments, as `let`s
        (each argument computed once, in order): `let p1 = a in let p2 = b in body`. The body
        is lowered anew for each call and sees only its parameters and the policy's constants:
        the caller's loop variables and `let`s are hidden (not renumbered: a loop inside the
        body is still one level deeper than the caller's)."""
        lowered = [self.expr(arg) for arg in args]
        ids = [nid] + [self.new_id() for _ in function.params[1:]]
        saved = (self.loops, self.lets, self.let_ids)
        self.loops = [None] * len(self.loops)
        self.lets = [(None, value) for _, value in self.lets] + [(p.name, v) for p, v in zip(function.params, lowered)]
        self.let_ids = [*self.let_ids, *ids[: len(function.params)]]
        try:
            body = self.expr(function.body)
        finally:
            self.loops, self.lets, self.let_ids = saved
        for param, value, binding in reversed(list(zip(function.params, lowered, ids))):
            body = ir.Let(id=binding, name=param.name, value=value, body=body, scale=body.scale, type=body.type, ast=common["ast"])
        return body

    def type_of(self, e):
        return self.env.types.get(n.key(e), t.ERROR)

    def accrual(self, accumulator) -> ir.Expr:
        """What a claim adds to `accumulator`: its `adds`, or a zero of its type."""
        if accumulator.adds is not None:
            return self.expr(accumulator.adds)
        type_ = self.env.field_types[(None, accumulator.name)]
        return ir.Const(id=self.new_id(), type=type_, value=_ZERO[type_], scale=0, ast=accumulator)

    def _expr(self, e) -> ir.Expr:  # noqa: C901 - one dispatch over node kinds
        env = self.env
        type_ = self.type_of(e)
        nid = self.new_id()  # ids in pre-order: a node is numbered before what is inside it
        common = {"type": type_, "ast": e}
        match e:
            case n.Literal(value=value):
                return ir.Const(id=nid, value=value, scale=_scale_of(value), **common)
            case n.Name(id=name) if any(bound == name for bound, _ in self.lets):
                index = max(i for i, (bound, _) in enumerate(self.lets) if bound == name)
                value = self.lets[index][1]
                return ir.Local(id=nid, name=name, binding=self.let_ids[index], scale=value.scale, **common)
            case n.Name(id=name):
                if name in self.loops:
                    depth = len(self.loops) - self.loops[::-1].index(name)
                    return ir.Loop(id=nid, depth=depth, name=name, **common)
                symbol = env.resolved[n.key(e)]
                if symbol.kind == "member":
                    return ir.Const(id=nid, value=symbol.value, **common)
                if symbol.kind == "input":
                    return ir.Input(id=nid, index=symbol.index, name=name, scale=_scale_of_fact(type_), **common)
                scale = self.rule_scales.get(name) if symbol.kind == "rule" else _scale_of(self.constants.get(name))
                return ir.Ref(id=nid, kind=symbol.kind, name=name, scale=scale, **common)
            case n.Attr(obj=obj, field=field):
                symbol = env.resolved.get(n.key(e))
                if symbol is not None and symbol.kind == "member":
                    return ir.Const(id=nid, value=symbol.value, **common)
                record = self.expr(obj)
                return ir.Field(id=nid, record=record, index=int(env.field_index[n.key(e)]), name=field, scale=_scale_of_fact(type_), **common)
            case n.Index(obj=obj, key=key):
                table = env.resolved[n.key(obj)].name
                rows = self.constants.get(table)
                scale = _max(*(_scale_of(v) for v in (*rows.values(), rows.default) if v is not None)) if rows else None
                return ir.Lookup(id=nid, table=table, key=self.expr(key), scale=scale, fails=("R403",), **common)
            case n.Unary(op="-", operand=operand):
                x = self.expr(operand)
                return ir.Negate(id=nid, operand=x, scale=x.scale, fails=_arith_fails(type_), **common)
            case n.Unary(op="not", operand=operand):
                return ir.Not(id=nid, operand=self.expr(operand), **common)
            case n.Binary(op="and" | "or" as op, left=left, right=right):
                return ir.Logic(id=nid, op=op, left=self.expr(left), right=self.expr(right), **common)
            case n.Binary(op="+" | "-" as op, left=left, right=right) if t.DATE in (self.type_of(left), self.type_of(right)):
                date, months = (left, right) if self.type_of(left) == t.DATE else (right, left)
                return ir.ShiftDate(
                    id=nid, date=self.expr(date), months=self.expr(months), sign=-1 if op == "-" else 1, fails=("R402",), **common
                )
            case n.Binary(op="/", left=left, right=right):
                return ir.Divide(id=nid, left=self.expr(left), right=self.expr(right), fails=("R401", "R408"), **common)
            case n.Binary(op="*", left=left, right=right) if type_ in _WHOLE:
                return ir.WholeProduct(id=nid, left=self.expr(left), right=self.expr(right), scale=0, fails=("R407",), **common)
            case n.Binary(op="*", left=left, right=right) if type_ == t.NUMBER and {self.type_of(left), self.type_of(right)} <= {t.INT, t.NUMBER}:
                a, b = self.expr(left), self.expr(right)
                return ir.NumberProduct(id=nid, left=a, right=b, scale=_add(a.scale, b.scale), fails=("R407", "R408"), **common)
            case n.Binary(op="+" | "-" | "*" as op, left=left, right=right):
                a, b = self.expr(left), self.expr(right)
                scale = _add(a.scale, b.scale) if op == "*" else _max(a.scale, b.scale)
                if type_ in _WHOLE:
                    return ir.WholeArith(id=nid, op=op, left=a, right=b, scale=0, **common)
                return ir.Arith(id=nid, op=op, left=a, right=b, scale=scale, fails=("R408",), **common)
            case n.Binary(op=op, left=left, right=right):
                return ir.Compare(id=nid, op=op, left=self.expr(left), right=self.expr(right), **common)
            case n.Member(element=element, container=container, negated=negated):
                return ir.Member(id=nid, element=self.expr(element), container=self.expr(container), negated=negated, **common)
            case n.SetLiteral(items=items):
                lowered = tuple(self.expr(item) for item in items)
                if all(isinstance(item, ir.Const) for item in lowered):
                    return ir.Const(id=nid, value=frozenset(item.value for item in lowered), **common)
                return ir.SetOf(id=nid, items=lowered, **common)
            case n.Call(func="round", args=(value, mode)):
                return ir.Round(id=nid, value=self.expr(value), mode=mode.id, scale=_MONEY_SCALE, fails=("R408",), **common)
            case n.Call(func="round", args=(value, mode, step)):
                exact = rounding_step(step)
                return ir.Round(id=nid, value=self.expr(value), mode=mode.id, step=exact, scale=max(0, -exact.as_tuple().exponent), fails=("R408",), **common)
            case n.Call(func=func, args=args) if func in DATE_FUNCTIONS:
                whole = 0 if func in ("days_between", "months_between", "years_between", "age") else None
                fails = ("R402",) if func == "add_days" else ()
                return ir.DateCall(id=nid, func=func, args=tuple(self.expr(a) for a in args), scale=whole, fails=fails, **common)
            case n.Call(func=func, args=args) if func in env.symbols and env.symbols[func].kind == "function":
                return self.function_call(nid, env.symbols[func].node, args, common)
            case n.Call(func="clamp", args=(value, low, high)):
                x, lo, hi = self.expr(value), self.expr(low), self.expr(high)
                return ir.Clamp(id=nid, value=x, low=lo, high=hi, scale=_max(x.scale, lo.scale, hi.scale), **common)
            case n.Call(func="min" | "max" as func, args=args):
                lowered = tuple(self.expr(a) for a in args)
                return ir.MinMax(id=nid, func=func, args=lowered, scale=_max(*(a.scale for a in lowered)), **common)
            case n.ApplyTiers(schedule=schedule, lower=lower, upper=upper, band=band):
                index = None
                if band is not None:  # the band's place in the schedule in force in this segment (checked to exist)
                    index = next(i for i, b in enumerate(self.active[schedule].bands) if b.name == band)
                return ir.Tiers(id=nid, schedule=schedule, lower=self.expr(lower), upper=self.expr(upper), band=index, fails=("R408",), **common)
            case n.Aggregate(kind=kind, var=var, source=source, body=body, where=where):
                lowered_source = self.expr(source)
                self.loops.append(var)
                try:
                    lowered_body = self.expr(body) if body is not None else None
                    lowered_where = self.expr(where) if where is not None else None
                finally:
                    self.loops.pop()
                zero = _ZERO[type_] if kind in ("sum", "count") else None
                scale = (lowered_body.scale if lowered_body is not None else None) if kind == "sum" else 0
                return ir.Aggregate(
                    id=nid, kind=kind, depth=len(self.loops) + 1, var=var, source=lowered_source, body=lowered_body,
                    where=lowered_where, zero=zero, scale=scale if kind in ("sum", "count") else None,
                    fails=("R408",) if kind == "sum" and type_ not in _WHOLE else (), **common,
                )
            case n.Let(name=name, value=value, body=body):
                lowered_value = self.expr(value)
                self.lets.append((name, lowered_value))
                self.let_ids.append(nid)
                try:
                    lowered_body = self.expr(body)
                finally:
                    self.lets.pop()
                    self.let_ids.pop()
                return ir.Let(id=nid, name=name, value=lowered_value, body=lowered_body, scale=lowered_body.scale, fails=(), **common)
            case n.Conditional(branches=branches):
                lowered = tuple(
                    ir.Branch(self.expr(b.condition) if b.condition is not None else None, self.expr(b.value), ast=b) for b in branches
                )
                return ir.Choose(id=nid, branches=lowered, scale=_max(*(b.value.scale for b in lowered)), **common)
        raise AssertionError(f"cannot lower {type(e).__name__} to the IR")


def _bound_of(type_) -> str | None:
    """How a rule's value is bounded where it is assigned (R407): see `ir.nodes.Rule.bound`."""
    if type_ in _WHOLE:
        return "whole"
    if type_ == t.NUMBER:  # an int expression declared `number` stays a Python int
        return "if_whole"
    return None


def _scale_of_fact(type_) -> int | None:
    """The scale of a claim's value: whole numbers 0, money to the fen (the facts reader
    refuses fractions of a fen), anything else unknown."""
    return 0 if type_ in _WHOLE else (_MONEY_SCALE if type_ == t.MONEY else None)


def rounding_step(step) -> Decimal:
    """The Decimal that `round(x, mode, STEP)` quantizes to: the step literal, normalized
    (`10 yuan` -> 1E+1, `0.1%` -> 0.001); the checker has made sure it is a power of ten."""
    return Decimal(step.value).normalize(numbers.EXACT)


def _scale_of(value) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return 0
    if isinstance(value, Decimal) and value.is_finite():
        return max(0, -value.as_tuple().exponent)
    return None


def _add(*scales):
    return None if any(s is None for s in scales) else sum(scales)


def _max(*scales):
    return None if not scales or any(s is None for s in scales) else max(scales)


def _arith_fails(type_) -> tuple[str, ...]:
    return () if type_ in _WHOLE else ("R408",)


def expression(env, ast) -> ir.Expr:
    """One expression of a checked policy, lowered on its own (ids from 1)."""
    return _Builder(env).expr(ast)


# ---- the program ---------------------------------------------------------------------------


def from_checked(env) -> ir.Program:
    """The IR of a checked policy without errors: definitions with provenance, and each
    time segment's requirements, rules and invariants with every operation resolved."""
    builder = _Builder(env)
    rule_order = [name for name in env.order if env.symbols[name].kind == "rule"]
    outputs = tuple(o.name for o in env.outputs)
    segments = []
    for index, segment in enumerate(env.segments):
        if not segment.in_force:
            segments.append(
                ir.Segment(index, segment.start, segment.end, (), (), {}, dict(segment.active), dict(segment.rows), tuple(segment.missing), segment.outside, segment.describe())
            )
            continue
        builder.constants = segment.constants
        builder.active = segment.active
        builder.rule_scales = {}
        rules = []
        for slot, name in enumerate(rule_order):
            definition = segment.active[name]
            body = builder.expr(definition.body)
            builder.rule_scales[name] = body.scale
            annotations = definition.annotations
            rules.append(
                ir.Rule(
                    name, slot, env.def_types[name], body, name in outputs,
                    reasons=n.annotation_texts(annotations, "because"),
                    citations=n.annotation_texts(annotations, "cite"),
                    reason_codes=n.annotation_texts(annotations, "reason"),
                    validity=definition.validity,
                    bound=_bound_of(env.def_types[name]),
                    ast=definition,
                )
            )
        invariants = tuple(
            ir.Invariant(invariant.name, number, builder.expr(invariant.condition), ast=invariant)
            for number, invariant in enumerate(env.invariants)
        )
        accruals = tuple(builder.accrual(accumulator) for accumulator in env.accumulators)
        requirements = tuple(
            ir.Requirement(require.field, env.symbols[require.field].index, number, builder.expr(require.condition), ast=require)
            for number, require in enumerate(env.requires)
        )
        segments.append(
            ir.Segment(
                index, segment.start, segment.end, tuple(rules), invariants, dict(segment.constants), dict(segment.active), dict(segment.rows),
                period=segment.describe(), accruals=accruals, requirements=requirements,
            )
        )
    as_of = env.policy.header.as_of
    records = {None: env.record_fields(None), **{name: record.fields for name, record in env.records.items()}}
    return ir.Program(
        name=env.source.name,
        title=env.policy.title,
        version=env.policy.version,
        inputs=tuple((f.name, env.field_types[(None, f.name)]) for f in env.record_fields(None)),
        outputs=outputs,
        definitions=_definitions(env),
        segments=tuple(segments),
        cuts=tuple(env.cuts),
        as_of_index=env.symbols[as_of].index if as_of and as_of in env.symbols else None,
        records=records,
        field_types=dict(env.field_types),
        defaults=dict(env.defaults),
        accumulators=tuple(_accumulator(env, a) for a in env.accumulators),
        unlimited=_uses_unlimited(segments),
    )


def _uses_unlimited(segments) -> bool:
    """Whether any segment holds `unlimited`: a param, a table row or default, a tier bound or
    rate, or a literal in a rule (where the backends then treat infinity: round, columns, errors)."""

    def infinite(value) -> bool:
        if isinstance(value, Decimal):
            return value.is_infinite()
        if isinstance(value, dict):  # a runtime.Table
            return any(map(infinite, value.values())) or infinite(getattr(value, "default", None))
        if isinstance(value, tuple):  # tier bands
            return any(map(infinite, value))
        return False

    for segment in segments:
        if any(map(infinite, segment.constants.values())):
            return True
        for rule in segment.rules:
            if any(isinstance(node, ir.Const) and infinite(node.value) for node in ir.walk(rule.body)):
                return True
    return False


def _accumulator(env, accumulator) -> ir.Accumulator:
    from policydsl.check.accumulators import opening_value

    type_ = env.field_types[(None, accumulator.name)]
    opening = opening_value(accumulator)
    annotations = accumulator.annotations
    return ir.Accumulator(
        accumulator.name,
        type_,
        env.symbols[accumulator.name].index,
        accumulator.per,
        env.symbols[accumulator.per].index,
        accumulator.year_start or (1, 1),
        Decimal(opening) if type_ in (t.MONEY, t.NUMBER) else int(opening),
        reasons=n.annotation_texts(annotations, "because"),
        citations=n.annotation_texts(annotations, "cite"),
        ast=accumulator,
    )


def _definitions(env) -> dict:
    found = {}
    chain = _Chain(env.linked)
    for name, symbol in env.symbols.items():
        if symbol.kind not in ("input", "param", "table", "tiers", "rule"):
            continue
        type_ = env.field_types.get((None, name)) if symbol.kind == "input" else env.def_types.get(name)
        found[name] = ir.Definition(name, symbol.kind, type_, chain.provenance(name, symbol.kind), ast=symbol.node)
    return found


class _Chain:
    """The linked policies along `extends`, the root first, each with its definitions by name
    (indexed once, so provenance costs one look-up per level and name)."""

    def __init__(self, linked):
        levels = []
        while linked is not None:
            levels.append(linked)
            linked = linked.parent
        self.levels = levels[::-1]
        self.named = []
        for level in self.levels:
            by_name: dict[str, object] = {}
            for definition in level.policy.definitions:
                name = getattr(definition, "name", None)
                if name is not None and not isinstance(definition, (n.InputDef, n.OutputDef)):
                    by_name.setdefault(name, definition)
            self.named.append(by_name)
        self.fields = {}
        if levels:
            for definition in levels[0].policy.definitions:  # the effective input: every field, merged
                if isinstance(definition, n.InputDef):
                    for field in definition.fields:
                        self.fields.setdefault(field.name, field)

    def provenance(self, name: str, kind: str) -> tuple[ir.Origin, ...]:
        """Every policy along `extends`, parent first, that defined or overrode `name`.

        At each level, the definition of `name` whose origin is that level's own file was
        written there (`defines`, or `overrides` when a parent had it). An input field is
        named by its own span (fields of every level are merged into one input).
        """
        if kind == "input":
            field = self.fields.get(name)
            return (ir.Origin(field.span.source.name, "defines", field.span),) if field is not None else ()
        origins: list[ir.Origin] = []
        for level, by_name in zip(self.levels, self.named):
            definition = by_name.get(name)
            if definition is None:
                continue
            origin = level.origins.get(n.key(definition))
            own_file = level.chain[0]
            if origin is None or origin.file != own_file or origin.status == "inherited":
                continue
            role = "overrides" if origin.status == "overridden" else "defines"
            span = origin.at if origin.at is not None else n.name_span(definition)
            origins.append(ir.Origin(own_file, role, span))
        return tuple(origins)


__all__ = ["expression", "from_checked"]
