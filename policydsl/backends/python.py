"""Stage 4: checked policy -> compiled program (a Python function per policy).

The compiler writes Python source from the AST and compiles it once. Nothing taken from a
node reaches the generated source as text: every definition, field and loop variable
becomes a mangled identifier (`r12`, `i3`, `l1`), every literal a constant slot (`k4`)
filled from the checked AST's values (or a Python int written by `int`), and every
operator, function name, aggregate kind and rounding mode is looked up in a fixed table
here (`_known`), anything else being an internal error. Records are tuples indexed by
position.

Numbers: `+`, `-`, `*` are plain operators, exact because the program runs under
`numbers.EXACT`; `round` quantizes with `numbers.ROUNDING`, `/` is `runtime.divide`.
Whole numbers stay within ±10**18 (R407): products through `runtime.int_product`, and
every rule that may hold an int is checked where it is assigned, so sums cannot grow
through chains of rules. For policies with nested aggregates, each segment also gets a
work plan (`Program.work`), checked before a claim runs (`runtime.check_work`, R409).

Two functions are generated from the same AST: `run` (fast, no trace) and `run_traced`
(records which branch, row, tier slice and list element produced each value).
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from policydsl.backends import facts
from policydsl.syntax import nodes as n
from policydsl.runtime import numbers
from policydsl.runtime import helpers as runtime
from policydsl.check import types as t
from policydsl.check import CheckEnv

# The only texts generated code takes from what a node says: a key not in these tables is
# an internal error (`_known`), so an AST from anywhere cannot write its own Python.
_ARITH = {"+": "+", "-": "-", "*": "*"}
_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LOGIC = {"and": "and", "or": "or"}
_FUNCTIONS = {"min": "min", "max": "max"}
_QUANTIFIERS = {"any": "any", "all": "all"}
_WHOLE = (t.INT, t.MONTHS)  # rules of these types hold Python ints; NUMBER rules may
_ZERO = {t.MONEY: Decimal(0), t.RATIO: Decimal(0), t.NUMBER: Decimal(0), t.INT: 0, t.MONTHS: 0}


@attrs.define
class Program:
    """A compiled policy: one pair of functions per time segment (see checker/periods.py).

    `runs[i](inputs)` -> outputs and `traced[i](inputs, steps)` -> outputs for the claims
    dated in segment i; None where no policy value is in force.
    """

    runs: list
    traced: list
    cuts: list  # segment i+1 starts on cuts[i]
    segments: list  # checker Segment objects (what is in force, constants)
    as_of_index: int | None  # the input field that dates a claim
    rule_names: list[str]  # index used in traced steps -> rule name
    traced_nodes: dict[int, object]  # node id used in trace events -> AST node
    defaults: dict[tuple[str | None, str], object]
    source: str  # the generated Python of every segment, for tests and debugging
    work: list = attrs.Factory(list)  # per segment: None, or the plan `runtime.check_work` takes

    @property
    def run(self):
        """The program of the only segment, for policies without dated values."""
        (run,) = [r for r in self.runs if r is not None]
        return run


def _known(table: dict, key, what: str) -> str:
    """The table's own text for `key`; an internal error for anything else."""
    try:
        return table[key]
    except (KeyError, TypeError):
        raise AssertionError(f"unknown {what} in the AST: {key!r}") from None


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
                if type(value) is int and -numbers.INT_LIMIT <= value <= numbers.INT_LIMIT:
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
                return f"({self.expr(left)} {_known(_LOGIC, op, 'operator')} {self.expr(right)})"
            case n.Binary(op="+" | "-" as op, left=left, right=right) if t.DATE in (env.types[id(left)], env.types[id(right)]):
                date, months = (left, right) if env.types[id(left)] == t.DATE else (right, left)
                sign = "-" if op == "-" else ""
                return f"_add_months({self.expr(date)}, {sign}{self.expr(months)})"
            case n.Binary(op="/", left=left, right=right):
                return f"_divide({self.expr(left)}, {self.expr(right)})"
            case n.Binary(op="*", left=left, right=right) if env.types.get(id(e)) in _WHOLE:
                return f"_int_product({self.expr(left)}, {self.expr(right)})"
            case n.Binary(op="*", left=left, right=right) if env.types.get(id(e)) == t.NUMBER and {
                env.types.get(id(left)), env.types.get(id(right))
            } <= {t.INT, t.NUMBER}:  # both may be Python ints
                return f"_number_product({self.expr(left)}, {self.expr(right)})"
            case n.Binary(op=op, left=left, right=right) if op in _ARITH:
                return f"({self.expr(left)} {_known(_ARITH, op, 'operator')} {self.expr(right)})"
            case n.Binary(op=op, left=left, right=right):
                return f"({self.expr(left)} {_known(_COMPARE, op, 'operator')} {self.expr(right)})"
            case n.Member(element=element, container=container, negated=negated):
                return f"({self.expr(element)} {'not in' if negated else 'in'} {self.expr(container)})"
            case n.SetLiteral(items=items):
                values = [self.constant_value(item) for item in items]
                if all(v is not _NOT_CONSTANT for v in values):
                    return self.const(frozenset(values))
                return f"({', '.join(self.expr(item) for item in items)},)"
            case n.Call(func="round", args=(value, mode)):
                rounding = self.const(_known(runtime.ROUNDING, mode.id, "rounding mode"))
                return f"{self.expr(value)}.quantize(_FEN, {rounding}, _ROUND)"
            case n.Call(func="clamp", args=(value, low, high)):
                return f"min(max({self.expr(value)}, {self.expr(low)}), {self.expr(high)})"
            case n.Call(func="min" | "max" as func, args=args):
                return f"{_known(_FUNCTIONS, func, 'function')}({', '.join(self.expr(a) for a in args)})"
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
            quantifier = _known(_QUANTIFIERS, e.kind, "aggregate kind")
            condition = self.expr(e.where)
            return f"{quantifier}({condition} for {var} in {source})"
        finally:
            self.loop_depth -= 1
            if saved is None:
                del self.loop_names[e.var]
            else:
                self.loop_names[e.var] = saved

    def rule_lines(self, target: str, body) -> list[str]:
        """`target = body` as statements. A sum or count that is a whole rule becomes a
        loop: the same additions in the same order, without a generator's overhead."""
        if self.traced or not (isinstance(body, n.Aggregate) and body.kind in ("sum", "count")):
            return [f"    {target} = {self.expr(body)}"]
        self.loop_depth += 1
        var = f"l{self.loop_depth}"
        self.loop_names[body.var] = var
        try:
            zero = _ZERO[self.env.types[id(body)]]
            start = f"({zero})" if type(zero) is int else self.const(zero)
            value = self.expr(body.body) if body.kind == "sum" else "1"
            where = f"if {self.expr(body.where)}: " if body.where is not None else ""
            return [f"    {target} = {start}", f"    for {var} in {self.expr(body.source)}:", f"        {where}{target} = {target} + {value}"]
        finally:
            self.loop_depth -= 1
            del self.loop_names[body.var]

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
    rules = [name for name in env.order if env.symbols[name].kind == "rule"]
    inputs = [mangled[f.name] for f in env.input.fields]
    outputs = [mangled[o.name] for o in env.outputs]
    runs: list = []
    traced: list = []
    work: list = []
    sources: list[str] = []
    every_list = _list_paths(env)
    for index, segment in enumerate(env.segments):
        if not segment.in_force:
            runs.append(None)
            traced.append(None)
            work.append(None)
            continue
        work.append(_work_plan(env, segment, rules, every_list))
        source = _segment_source(env, segment, shared, rules, inputs, outputs)
        namespace = dict(_RUNTIME)
        namespace.update(shared["slots"])
        namespace.update({mangled[name]: value for name, value in segment.constants.items()})
        exec(compile(source, f"<policydsl segment {index}>", "exec"), namespace)  # noqa: S102 - built from the AST only
        runs.append(namespace["run"])
        traced.append(namespace["run_traced"])
        sources.append(f"# segment {index}: {segment.describe()}\n{source}")
    as_of = env.policy.header.as_of
    return Program(
        runs=runs,
        traced=traced,
        cuts=list(env.cuts),
        segments=list(env.segments),
        as_of_index=env.symbols[as_of].index if as_of and as_of in env.symbols else None,
        rule_names=rules,
        traced_nodes=shared["traced_nodes"],
        defaults=dict(env.defaults),
        source="\n".join(sources),
        work=work,
    )


_RUNTIME = {
    "__builtins__": {},
    "min": min,
    "max": max,
    "sum": sum,
    "any": any,
    "all": all,
    "enumerate": enumerate,
    "_FEN": runtime.FEN,
    "_ROUND": numbers.ROUNDING,
    "_INT_LOW": -numbers.INT_LIMIT,
    "_INT_HIGH": numbers.INT_LIMIT,
    "_int": int,
    "_type": type,
    "_add_months": runtime.add_months,
    "_divide": runtime.divide,
    "_int_product": runtime.int_product,
    "_number_product": runtime.number_product,
    "_whole_too_big": runtime.whole_too_big,
    "_tiers": runtime.apply_tiers,
    "_tiers_traced": runtime.traced_tiers,
    "_lookup": runtime.traced_lookup,
    "_element": runtime.traced_element,
    "_violated": runtime.invariant_violated,
}


def _segment_source(env: CheckEnv, segment, shared: dict, rules: list[str], inputs: list[str], outputs: list[str]) -> str:
    mangled = shared["mangled"]
    unpack = f"    ({', '.join(inputs)},) = inputs" if inputs else ""

    def body(traced: bool) -> list[str]:
        writer = _Writer(env, traced=traced, shared=shared)
        lines = []
        for index, name in enumerate(rules):
            expr = segment.active[name].body
            if traced:
                lines.append("    _e = []")
            lines += writer.rule_lines(mangled[name], expr)
            lines += _whole_bound(mangled[name], env.def_types[name])
            if traced:
                lines.append(f"    steps.append(({index}, {mangled[name]}, _e))")
        if traced:
            lines.append("    _e = []")
        for number, invariant in enumerate(env.invariants):
            lines.append(f"    if not {writer.expr(invariant.condition)}: _violated({number})")
        lines.append(f"    return ({', '.join(outputs)},)")
        return lines

    lines = ["def run(inputs):", unpack, *body(False), "", "def run_traced(inputs, steps):", unpack, *body(True)]
    return "\n".join(line for line in lines if line) + "\n"


def _whole_bound(target: str, type_) -> list[str]:
    """The check that a rule's whole-number value is within ±10**18 (R407), where it is
    assigned: sums of bounded values stay small, and chains of rules cannot grow them."""
    if type_ in _WHOLE:
        return [f"    if not _INT_LOW <= {target} <= _INT_HIGH: _whole_too_big()"]
    if type_ == t.NUMBER:  # an int expression declared `number` stays a Python int
        return [f"    if _type({target}) is _int and not _INT_LOW <= {target} <= _INT_HIGH: _whole_too_big()"]
    return []


# ---- the work plan: what a claim's nested aggregates cost (R409) ---------------------


def _list_paths(env: CheckEnv) -> tuple:
    """Every path (see `runtime.list_lengths`) at which the claim's inputs hold a list."""
    found = []

    def walk(type_, path):
        if isinstance(type_, t.ListType):
            found.append(path)
            walk(type_.element, (*path, runtime.EACH))
        elif isinstance(type_, t.RecordType):  # records never contain themselves (checked)
            for index, field in enumerate(env.record_fields(type_.name)):
                walk(env.field_types[(type_.name, field.name)], (*path, index))

    for index, field in enumerate(env.record_fields(None)):
        walk(env.field_types[(None, field.name)], (index,))
    return tuple(found)


def _work_plan(env: CheckEnv, segment, rules: list[str], every_list: tuple):
    """None for a segment without nested aggregates (nothing to check: the work is linear in
    the claim); else `(entries, every_list)` for `runtime.check_work`."""
    entries = []
    nested = False
    named = [(name, env.symbols[name].node.span, segment.active[name].body) for name in rules]
    named += [(None, invariant.span, invariant.condition) for invariant in env.invariants]
    for name, span, expr in named:
        chains: list[tuple] = []
        _aggregate_chains(env, expr, (), {}, chains)
        if chains:
            entries.append((name, span, tuple(chains)))
            nested = nested or any(len(chain) > 1 for chain in chains)
    return (tuple(entries), every_list) if nested else None


def _aggregate_chains(env: CheckEnv, e, chain: tuple, loops: dict, chains: list) -> None:
    """Append, for every aggregate in `e`, the list paths of it and the aggregates around it."""
    if isinstance(e, n.Aggregate):
        _aggregate_chains(env, e.source, chain, loops, chains)
        path = _source_path(env, e.source, loops)
        inner = (*chain, path)
        chains.append(inner)
        inner_loops = {**loops, e.var: (*path, runtime.EACH) if path is not None else None}
        for part in (e.body, e.where):
            if part is not None:
                _aggregate_chains(env, part, inner, inner_loops, chains)
        return
    for child in n.children(e):
        _aggregate_chains(env, child, chain, loops, chains)


def _source_path(env: CheckEnv, e, loops: dict):
    """The input path of a list expression (`items`, `a.codes` for a loop over items), or
    None for any other list expression (it is then bounded by the longest list of all)."""
    match e:
        case n.Name(id=name) if name in loops:
            return loops[name]
        case n.Name():
            symbol = env.resolved.get(id(e))
            return (symbol.index,) if symbol is not None and symbol.kind == "input" else None
        case n.Attr(obj=obj) if id(e) in env.field_index:
            base = _source_path(env, obj, loops)
            return (*base, env.field_index[id(e)]) if base is not None else None
        case _:
            return None


def compile_reader(env: CheckEnv, defaults: dict, slow):
    """The facts reader: source generated by `facts.reader_source` for well-formed claims,
    falling back to `slow` (the checking reader) for anything else."""
    source, namespace = facts.reader_source(env, defaults)
    namespace["_slow"] = slow
    exec(compile(source, "<policydsl facts reader>", "exec"), namespace)  # noqa: S102 - built from the schema only
    return namespace["read"]
