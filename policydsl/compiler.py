"""Stage 4: checked policy -> compiled program (a Python function per policy).

The compiler writes Python source from the AST and compiles it once. Policy text never
reaches the generated source: every definition, field and loop variable becomes a
mangled identifier (`r12`, `i3`, `l1`), and every literal becomes a constant slot
(`k4`) filled from the checked AST's values. Records are tuples indexed by position.

Two functions are generated from the same AST: `run` (fast, no trace) and `run_traced`
(records which branch, row, tier slice and list element produced each value).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import attrs

from . import nodes as n
from . import runtime
from . import types as t
from .checker import CheckEnv
from .diagnostics import Diagnostic, EvaluationError, PolicyError

_ARITH = {"+": "+", "-": "-", "*": "*"}
_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ZERO = {t.MONEY: Decimal(0), t.RATIO: Decimal(0), t.NUMBER: Decimal(0), t.INT: 0, t.MONTHS: 0}


@attrs.define
class Program:
    """A compiled policy: `run(inputs) -> outputs`, `run_traced(inputs) -> (outputs, steps)`."""

    run: object
    run_traced: object
    rule_names: list[str]  # index used in traced steps -> rule name
    traced_nodes: dict[int, object]  # node id used in trace events -> AST node
    constants: dict[str, object]  # param / table name -> value
    defaults: dict[tuple[str | None, str], object]
    source: str  # the generated Python, for debugging and tests


class _Writer:
    def __init__(self, env: CheckEnv, traced: bool, shared: dict):
        self.env = env
        self.traced = traced
        self.shared = shared  # constant slots and node ids, shared by both variants
        self.loop_depth = 0
        self.loop_names: dict[str, str] = {}

    def const(self, value) -> str:
        slots = self.shared["slots"]
        key = (type(value), value if not isinstance(value, (frozenset, tuple)) else repr(sorted(map(repr, value))))
        if key not in self.shared["slot_of"]:
            name = f"k{len(slots)}"
            slots[name] = value
            self.shared["slot_of"][key] = name
        return self.shared["slot_of"][key]

    def node_id(self, node) -> int:
        ids = self.shared["node_ids"]
        if id(node) not in ids:
            ids[id(node)] = len(ids)
            self.shared["traced_nodes"][ids[id(node)]] = node
        return ids[id(node)]

    def name_of(self, symbol) -> str:
        return self.shared["mangled"][symbol.name]

    def expr(self, e) -> str:  # noqa: C901 - one dispatch over node kinds
        env = self.env
        match e:
            case n.Literal(value=value):
                if isinstance(value, bool):
                    return "True" if value else "False"
                if type(value) is int:
                    return f"({int(value)})"
                return self.const(value)
            case n.Name(id=name):
                if name in self.loop_names:
                    return self.loop_names[name]
                symbol = env.resolved[id(e)]
                if symbol.kind == "member":
                    return self.const(symbol.value)
                return self.name_of(symbol)
            case n.Attr(obj=obj):
                symbol = env.resolved.get(id(e))
                if symbol is not None and symbol.kind == "member":
                    return self.const(symbol.value)
                return f"{self.expr(obj)}[{int(env.field_index[id(e)])}]"
            case n.Index(obj=obj, key=key):
                table = self.name_of(env.resolved[id(obj)])
                if self.traced:
                    return f"_lookup(_e, {self.node_id(e)}, {table}, {self.expr(key)})"
                return f"{table}[{self.expr(key)}]"
            case n.Unary(op="-", operand=operand):
                return f"(-{self.expr(operand)})"
            case n.Unary(op="not", operand=operand):
                return f"(not {self.expr(operand)})"
            case n.Binary(op="and" | "or" as op, left=left, right=right):
                return f"({self.expr(left)} {op} {self.expr(right)})"
            case n.Binary(op="+" | "-" as op, left=left, right=right) if t.DATE in (env.types[id(left)], env.types[id(right)]):
                date, months = (left, right) if env.types[id(left)] == t.DATE else (right, left)
                sign = "-" if op == "-" else ""
                return f"_add_months({self.expr(date)}, {sign}{self.expr(months)})"
            case n.Binary(op="/", left=left, right=right):
                return f"_divide({self.expr(left)}, {self.expr(right)})"
            case n.Binary(op=op, left=left, right=right) if op in _ARITH:
                return f"({self.expr(left)} {_ARITH[op]} {self.expr(right)})"
            case n.Binary(op=op, left=left, right=right):
                return f"({self.expr(left)} {_COMPARE[op]} {self.expr(right)})"
            case n.Member(element=element, container=container, negated=negated):
                return f"({self.expr(element)} {'not in' if negated else 'in'} {self.expr(container)})"
            case n.SetLiteral(items=items):
                values = [self.constant_value(item) for item in items]
                if all(v is not _NOT_CONSTANT for v in values):
                    return self.const(frozenset(values))
                return f"({', '.join(self.expr(item) for item in items)},)"
            case n.Call(func="round", args=(value, mode)):
                return f"{self.expr(value)}.quantize(_FEN, {self.const(runtime.ROUNDING[mode.id])})"
            case n.Call(func="clamp", args=(value, low, high)):
                return f"min(max({self.expr(value)}, {self.expr(low)}), {self.expr(high)})"
            case n.Call(func="min" | "max" as func, args=args):
                return f"{func}({', '.join(self.expr(a) for a in args)})"
            case n.ApplyTiers(schedule=schedule, lower=lower, upper=upper):
                bands = self.shared["mangled"][schedule]
                if self.traced:
                    return f"_tiers_traced(_e, {self.node_id(e)}, {bands}, {self.expr(lower)}, {self.expr(upper)})"
                return f"_tiers({bands}, {self.expr(lower)}, {self.expr(upper)})"
            case n.Aggregate():
                return self.aggregate(e)
            case n.Conditional(branches=branches):
                *whens, otherwise = branches
                code = self.branch_value(e, len(whens), otherwise)
                for index in range(len(whens) - 1, -1, -1):
                    branch = whens[index]
                    code = f"({self.branch_value(e, index, branch)} if {self.expr(branch.condition)} else {code})"
                return code
            case _:
                raise AssertionError(e)

    def branch_value(self, conditional, index: int, branch: n.Branch) -> str:
        value = self.expr(branch.value)
        if self.traced:
            return f"(_e.append(('branch', {self.node_id(conditional)}, {index})) or {value})"
        return value

    def aggregate(self, e: n.Aggregate) -> str:
        self.loop_depth += 1
        var = f"l{self.loop_depth}"
        saved = self.loop_names.get(e.var)
        self.loop_names[e.var] = var
        try:
            source = self.expr(e.source)
            where = f" if {self.expr(e.where)}" if e.where is not None else ""
            if e.kind in ("sum", "count"):
                body = self.expr(e.body) if e.kind == "sum" else "1"
                zero = _ZERO[self.env.types[id(e)]]
                start = f"({zero})" if type(zero) is int else self.const(zero)
                if self.traced:
                    index = f"j{self.loop_depth}"
                    return (
                        f"sum((_element(_e, {self.node_id(e)}, {index}, {body}) "
                        f"for {index}, {var} in enumerate({source}){where}), {start})"
                    )
                return f"sum(({body} for {var} in {source}{where}), {start})"
            condition = self.expr(e.where)
            return f"{e.kind}({condition} for {var} in {source})"
        finally:
            self.loop_depth -= 1
            if saved is None:
                del self.loop_names[e.var]
            else:
                self.loop_names[e.var] = saved

    def constant_value(self, e):
        match e:
            case n.Literal(value=value):
                return value
            case n.Name() | n.Attr() if self.env.resolved.get(id(e)) is not None and self.env.resolved[id(e)].kind == "member":
                return self.env.resolved[id(e)].value
            case _:
                return _NOT_CONSTANT


_NOT_CONSTANT = object()


def _mangle(env: CheckEnv) -> dict[str, str]:
    prefix = {"input": "i", "param": "p", "rule": "r", "table": "t", "tiers": "s"}
    mangled = {}
    for index, (name, symbol) in enumerate(env.symbols.items()):
        if symbol.kind in prefix:
            mangled[name] = f"{prefix[symbol.kind]}{index}"
    return mangled


def compile_policy(env: CheckEnv) -> Program:
    """Compile a checked policy (no errors) into a `Program`."""
    shared = {"slots": {}, "slot_of": {}, "node_ids": {}, "traced_nodes": {}, "mangled": _mangle(env)}
    mangled = shared["mangled"]
    namespace: dict[str, object] = {
        "__builtins__": {},
        "min": min,
        "max": max,
        "sum": sum,
        "any": any,
        "all": all,
        "enumerate": enumerate,
        "_FEN": runtime.FEN,
        "_add_months": runtime.add_months,
        "_divide": runtime.divide,
        "_tiers": runtime.apply_tiers,
        "_tiers_traced": runtime.traced_tiers,
        "_lookup": runtime.traced_lookup,
        "_element": runtime.traced_element,
    }
    constants = _evaluate_constants(env, shared, namespace)

    inputs = [mangled[f.name] for f in env.input.fields]
    rules = [name for name in env.order if env.symbols[name].kind == "rule"]
    outputs = [mangled[o.name] for o in env.outputs]
    unpack = f"    ({', '.join(inputs)},) = inputs\n" if inputs else ""

    fast = _Writer(env, traced=False, shared=shared)
    lines = ["def run(inputs):", unpack.rstrip("\n")]
    for name in rules:
        lines.append(f"    {mangled[name]} = {fast.expr(env.symbols[name].node.body)}")
    lines.append(f"    return ({', '.join(outputs)},)")

    slow = _Writer(env, traced=True, shared=shared)
    lines += ["", "def run_traced(inputs, steps):", unpack.rstrip("\n")]
    for index, name in enumerate(rules):
        lines.append("    _e = []")
        lines.append(f"    {mangled[name]} = {slow.expr(env.symbols[name].node.body)}")
        lines.append(f"    steps.append(({index}, {mangled[name]}, _e))")
    lines.append(f"    return ({', '.join(outputs)},)")
    source = "\n".join(line for line in lines if line) + "\n"

    namespace.update(shared["slots"])
    exec(compile(source, "<policydsl compiled policy>", "exec"), namespace)  # noqa: S102 - source built from AST only
    return Program(
        run=namespace["run"],
        run_traced=namespace["run_traced"],
        rule_names=rules,
        traced_nodes=shared["traced_nodes"],
        constants=constants["by_name"],
        defaults=constants["defaults"],
        source=source,
    )


def _evaluate_constants(env: CheckEnv, shared: dict, namespace: dict) -> dict:
    """Compute params, table rows, tier bands and field defaults once, at load time."""
    writer = _Writer(env, traced=False, shared=shared)
    mangled = shared["mangled"]
    by_name: dict[str, object] = {}

    def value_of(expr, owner):
        code = writer.expr(expr)
        scope = {**namespace, **shared["slots"]}
        try:
            return eval(compile(code, "<policydsl constant>", "eval"), scope)  # noqa: S307 - code built from AST only
        except EvaluationError as error:
            raise PolicyError([Diagnostic(error.code, f"{owner}: {error}", expr.span)]) from None
        except ArithmeticError as error:
            raise PolicyError([Diagnostic("R400", f"{owner}: {error}", expr.span)]) from None

    for name in env.order:
        symbol = env.symbols[name]
        node = symbol.node
        match symbol.kind:
            case "param":
                value = value_of(node.value, f"parameter `{name}`")
            case "table":
                rows = {row.key: value_of(row.value, f"table `{name}`") for row in node.rows if row.key is not None}
                default = next((value_of(r.value, f"table `{name}`") for r in node.rows if r.key is None), None)
                value = runtime.Table(rows, name, default)
            case "tiers":
                value = tuple(
                    (
                        value_of(band.lower, f"tiers `{name}`"),
                        None if band.upper is None else value_of(band.upper, f"tiers `{name}`"),
                        value_of(band.rate, f"tiers `{name}`"),
                    )
                    for band in node.bands
                )
            case _:
                continue
        namespace[mangled[name]] = value
        by_name[name] = value
    defaults: dict[tuple[str | None, str], object] = {}
    for record in [None, *env.records]:
        for field in env.record_fields(record):
            if field.default is not None:
                defaults[(record, field.name)] = value_of(field.default, f"default of `{field.name}`")
    return {"by_name": by_name, "defaults": defaults}


def is_fen(value) -> bool:
    return isinstance(value, Decimal) and value == value.quantize(runtime.FEN)


def describe_date(value: datetime.date) -> str:
    return value.isoformat()
