"""IR (`ir.nodes.Program`) -> compiled program: a pair of Python functions per time segment.

The generator writes Python source from the IR and compiles it once. Nothing taken from
the policy reaches the source as text: every definition, field and loop variable becomes
a mangled identifier (`r12`, `i3`, `l1`), every literal a constant slot (`k4`) or a Python
int written by `int`, and every operator, function name, aggregate kind and rounding mode
is looked up in a fixed table here (`_known`), anything else being an internal error.
Records are tuples indexed by position.

Numbers: `+`, `-`, `*` of decimals are plain operators, exact because the program runs
under `numbers.EXACT` (set by the runtime, whatever the caller has set); `round`
quantizes with `numbers.ROUNDING`; `/` is `runtime.divide`. Whole numbers stay within
±10**18 (R407): products through `runtime.int_product`, and every rule that may hold an
int is checked where it is assigned. Policies with nested aggregates get a work plan per
segment (`Program.work`), checked before a claim runs (R409).

Debuggable: a top-level `when` chain becomes `if`/`elif` (any number of branches); the
source of each segment is registered with `linecache` under its own file name, and
`Program.lines` maps each generated line to the IR nodes written on it, so a run-time
error is traced back to the failing sub-expression (`Program.locate`). In the traced
variant, helpers that can fail are given the IR node's id.

Two functions per segment: `run` (fast, no trace) and `run_traced` (records typed events,
`runtime/trace.py`, for each branch, row, tier slice and list element).
"""

from __future__ import annotations

import linecache
from decimal import Decimal, localcontext

import attrs

from policydsl.backends import facts, interpreter
from policydsl.check import types as t
from policydsl.ir import bounds as ir_bounds
from policydsl.ir import nodes as ir
from policydsl.runtime import helpers as runtime
from policydsl.runtime import numbers
from policydsl.runtime import trace

_ARITH = {"+": "+", "-": "-", "*": "*"}
_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LOGIC = {"and": "and", "or": "or"}
_FUNCTIONS = {"min": "min", "max": "max"}
_DATE_HELPERS = {name: f"_date_{name}" for name in runtime.DATE_FUNCTIONS}  # fixed names, never taken from policy text
_QUANTIFIERS = {"any": "any", "all": "all"}


@attrs.define
class Program:
    """A compiled policy: one pair of functions per time segment of the IR.

    `runs[i](inputs)` -> outputs and `traced[i](inputs, steps)` -> outputs for the claims
    dated in segment i, followed by what the claim adds to each accumulator
    (`ir.accumulators`); None where no policy value is in force.
    """

    ir: ir.Program
    runs: list
    traced: list
    rule_names: tuple[str, ...]  # index used in traced steps -> rule name
    traced_nodes: dict[int, object]  # IR node id used in trace events -> AST node
    source: str  # the generated Python of every segment, for tests and debugging
    work: list = attrs.Factory(list)  # per segment: None, or the plan `runtime.check_work` takes
    lines: dict = attrs.Factory(dict)  # file name -> {line number: (rule name or None, the IR expression written there)}
    _nodes: dict = attrs.Factory(dict)  # IR node id -> IR node, filled the first time a claim fails

    @property
    def segments(self) -> tuple:
        """The IR's segments; segment i+1 starts on `cuts[i]`."""
        return self.ir.segments

    @property
    def cuts(self) -> tuple:
        return self.ir.cuts

    @property
    def as_of_index(self) -> int | None:
        """The input field that dates a claim."""
        return self.ir.as_of_index

    @property
    def defaults(self) -> dict:
        return self.ir.defaults

    def node(self, node_id):
        """The IR node with id `node_id` (None for None or an unknown id)."""
        if not self._nodes:
            for segment in self.ir.segments:
                for expr in segment.expressions:
                    self._nodes.update((x.id, x) for x in ir.walk(expr))
        return self._nodes.get(node_id)

    @property
    def run(self):
        """The program of the only segment, for policies without dated values."""
        (run,) = [r for r in self.runs if r is not None]
        return run

    def locate(self, error: BaseException):
        """(rule name or None, IR node or None) where `error`, raised by a segment's
        function, happened: the node named by the helper that raised it, else the
        innermost node on the failing generated line that can fail that way."""
        node_id = getattr(error, "node", None)
        traceback = error.__traceback__
        place = None
        while traceback is not None:
            table = self.lines.get(traceback.tb_frame.f_code.co_filename)
            if table is not None:
                place = table.get(traceback.tb_lineno, place)
            traceback = traceback.tb_next
        named = self.node(node_id) if node_id is not None else None
        if place is None:
            return None, named
        rule, written = place
        if named is not None:
            return rule, named
        candidates = _nodes_of(written)
        code = getattr(error, "code", None) or "R408"
        message = str(error)
        failing = [c for c in candidates if code in c.fails]
        if code == "R403":  # several lookups on a line: the one of the table named
            failing = [c for c in failing if f"`{c.table}`" in message] or failing
        if len(failing) == 1:
            return rule, failing[0]
        return rule, candidates[-1] if candidates else None  # the line's whole expression


def _known(table: dict, key, what: str) -> str:
    """The table's own text for `key`; an internal error for anything else."""
    try:
        return table[key]
    except (KeyError, TypeError):
        raise AssertionError(f"unknown {what} in the IR: {key!r}") from None


class _Writer:
    """Writes one segment's function (fast or traced) as lines of Python."""

    def __init__(self, program: ir.Program, traced: bool, shared: dict, constants: dict | None = None, reuse: bool = False):
        self.program = program
        self.traced = traced
        self.constants = constants or {}  # the segment's param, table and tiers values (folding)
        self.shared = shared  # constant slots, mangled names and traced nodes, shared by both variants
        self.lines: list[str] = []
        self.line_nodes: dict[int, tuple] = {}  # index in self.lines -> (rule, what the line computes)
        self.rule: str | None = None
        self.hosted: dict[tuple[str, int], list[ir.Rule]] = {}  # (rule, arm) -> rules evaluated first in that arm
        # fast variant: the code of each rule computed at the top of the function -> its variable;
        # the same code later (`eligible - basic` again inside `assistance`) reads the variable
        self.computed: dict[str, str] = {}
        self.reuse = reuse

    # ---- lines and the line table

    def emit(self, text: str, node: ir.Expr | None = None) -> None:
        if node is not None:
            self.line_nodes[len(self.lines)] = (self.rule, node)
        self.lines.append(text)

    def const(self, value) -> str:
        slots = self.shared["slots"]
        # Decimals that compare equal may differ in digits (0.1 and 0.10): keyed by their text
        if isinstance(value, Decimal):
            key = (Decimal, str(value))
        elif isinstance(value, (frozenset, tuple)):
            key = (type(value), repr(sorted(map(repr, value))))
        else:
            key = (type(value), value)
        if key not in self.shared["slot_of"]:
            name = f"k{len(slots)}"
            slots[name] = value
            self.shared["slot_of"][key] = name
        return self.shared["slot_of"][key]

    def trace_id(self, e: ir.Expr) -> int:
        self.shared["traced_nodes"][e.id] = e.ast
        return e.id

    def name_of(self, name: str) -> str:
        return self.shared["mangled"][name]

    def at(self, e: ir.Expr) -> str:
        """The node-id argument of a helper that can fail, in the traced variant only: the fast
        variant stays as lean as hand-written code, and a claim that fails there is run again
        traced to be located (`api.Policy._locate_failure`)."""
        return f", {int(e.id)}" if self.traced else ""

    # ---- expressions

    def expr(self, e: ir.Expr) -> str:
        if self.traced:
            return self.expr_of(e)
        folded = self.folded(e)
        if folded is not None:
            return folded
        code = self.expr_of(e)
        return self.computed.get(code, code) if self.reuse else code  # what an earlier rule computed is its variable

    def folded(self, e: ir.Expr) -> str | None:
        """The fast variant's constant folding: an expression of constants and params only
        (`cap * 20%`), computed once here by the reference interpreter rather than for every
        claim. Not when it would fail (it then fails per claim, located as before)."""
        if isinstance(e, (ir.Const, ir.Ref, ir.Input, ir.Loop, ir.Local)):
            return None
        known = self.shared.setdefault("constant", {})  # node id -> whether it reads no claim
        if e.id not in known:
            known[e.id] = _only_constants(e)
        if not known[e.id]:
            return None
        try:
            with localcontext(numbers.EXACT):
                value = interpreter.evaluate(e, interpreter.Scope(values=self.constants))
        except Exception:  # noqa: BLE001 - whatever it raises, it raises per claim instead
            return None
        return self.expr_of(ir.Const(id=e.id, type=e.type, value=value))

    def expr_of(self, e: ir.Expr) -> str:  # noqa: C901 - one dispatch over node kinds
        match e:
            case ir.Const(value=value):
                if isinstance(value, bool):
                    return "True" if value else "False"
                if type(value) is int and -numbers.INT_LIMIT <= value <= numbers.INT_LIMIT:
                    return f"({int(value)})"
                return self.const(value)
            case ir.Input(name=name) | ir.Ref(name=name):
                return self.name_of(name)
            case ir.Loop(depth=depth):
                return f"l{int(depth)}"
            case ir.Local(binding=binding):
                return f"v{int(binding)}"
            case ir.Let(value=value, body=body):  # inside an expression: bound by `:=`, then the body
                bound = f"(v{int(e.id)} := {self.expr(value)})"
                if self.traced:
                    return f"({bound}, _e.append(_new(_Bound, ({self.trace_id(e)}, v{int(e.id)}))), {self.expr(body)})[2]"
                return f"({bound}, {self.expr(body)})[1]"
            case ir.Field(record=record, index=index):
                return f"{self.expr(record)}[{int(index)}]"
            case ir.Lookup(table=table, key=key):
                if self.traced:
                    return f"_lookup(_e, {self.trace_id(e)}, {self.name_of(table)}, {self.expr(key)})"
                return f"{self.name_of(table)}[{self.expr(key)}]"
            case ir.Negate(operand=operand):
                return f"(-{self.expr(operand)})"
            case ir.Not(operand=operand):
                return f"(not {self.expr(operand)})"
            case ir.Logic(op=op, left=left, right=right):
                return f"({self.expr(left)} {_known(_LOGIC, op, 'operator')} {self.expr(right)})"
            case ir.ShiftDate(date=date, months=months, sign=sign):
                return f"_add_months({self.expr(date)}, {'-' if sign < 0 else ''}{self.expr(months)}{self.at(e)})"
            case ir.DateCall(func=func, args=args):
                helper = _known(_DATE_HELPERS, func, "date function")
                return f"{helper}({', '.join(self.expr(a) for a in args)}{self.at(e)})"
            case ir.Divide(left=left, right=right):
                return f"_divide({self.expr(left)}, {self.expr(right)}{self.at(e)})"
            case ir.WholeProduct(left=left, right=right):
                return f"_int_product({self.expr(left)}, {self.expr(right)}{self.at(e)})"
            case ir.NumberProduct(left=left, right=right):
                return f"_number_product({self.expr(left)}, {self.expr(right)}{self.at(e)})"
            case ir.Arith(op=op, left=left, right=right) | ir.WholeArith(op=op, left=left, right=right):
                return f"({self.expr(left)} {_known(_ARITH, op, 'operator')} {self.expr(right)})"
            case ir.Compare(op=op, left=left, right=right):
                return f"({self.expr(left)} {_known(_COMPARE, op, 'operator')} {self.expr(right)})"
            case ir.Member(element=element, container=container, negated=negated):
                return f"({self.expr(element)} {'not in' if negated else 'in'} {self.expr(container)})"
            case ir.SetOf(items=items):
                return f"({', '.join(self.expr(item) for item in items)},)"
            case ir.Round(value=value, mode=mode, step=step):
                rounding = self.const(_known(runtime.ROUNDING, mode, "rounding mode"))
                quantum = "_FEN" if step is None else self.const(step)
                if self.program.unlimited or value.type == t.NUMBER:  # `round(unlimited)` is unlimited; a number may be an int
                    return f"_round_unlimited({self.expr(value)}, {quantum}, {rounding})"
                return f"{self.expr(value)}.quantize({quantum}, {rounding}, _ROUND)"
            case ir.Clamp(value=value, low=low, high=high):
                return f"min(max({self.expr(value)}, {self.expr(low)}), {self.expr(high)})"
            case ir.MinMax(func=func, args=args):
                return f"{_known(_FUNCTIONS, func, 'function')}({', '.join(self.expr(a) for a in args)})"
            case ir.Tiers(schedule=schedule, lower=lower, upper=upper, band=band):
                bands = self.name_of(schedule)
                only = f", {int(band)}" if band is not None else ""
                if self.traced:
                    return f"_tiers_traced(_e, {self.trace_id(e)}, {bands}, {self.expr(lower)}, {self.expr(upper)}{only})"
                return f"_tiers({bands}, {self.expr(lower)}, {self.expr(upper)}{only})"
            case ir.Aggregate():
                return self.aggregate(e)
            case ir.Choose(branches=branches):
                *whens, otherwise = branches
                code = self.branch_value(e, len(whens), otherwise)
                for start, end, members in reversed(self.arm_runs(whens)):
                    if members is not None:  # `when x = a then v when x = b then v`: one membership test
                        code = f"({self.expr(whens[start].value)} if {members} else {code})"
                    else:
                        code = f"({self.branch_value(e, start, whens[start])} if {self.expr(whens[start].condition)} else {code})"
                return code
        raise AssertionError(e)

    def arm_runs(self, whens: list) -> list[tuple[int, int, str | None]]:
        """The `when` arms as runs (start, end, test): in the fast variant, consecutive arms
        that test one element for equality with a text or whole-number member and give the
        same value form one run, whose test is `x in {members}` (the same arm for every
        claim: such a member equals exactly what hashes and compares equal to it); every
        other arm is a run of its own (test None), and so is each in the traced variant,
        which records the arm taken."""
        runs: list[list] = []  # [start, end, (element code, value code) or None, members]
        for index, branch in enumerate(whens):
            equality = None if self.traced else _equality(branch.condition, self.expr)
            shape = None if equality is None else (equality[0], self.expr(branch.value))
            if shape is not None and runs and runs[-1][2] == shape:
                runs[-1][1] = index + 1
                runs[-1][3].add(equality[1])
            else:
                runs.append([index, index + 1, shape, set() if equality is None else {equality[1]}])
        return [(start, end, f"{shape[0]} in {self.const(frozenset(members))}" if end - start > 1 else None)
                for start, end, shape, members in runs]

    def branch_value(self, choose: ir.Choose, index: int, branch: ir.Branch) -> str:
        value = self.expr(branch.value)
        if self.traced:
            return f"(_e.append(_new(_Branch, ({self.trace_id(choose)}, {int(index)}))) or {value})"
        return value

    def zero(self, e: ir.Aggregate) -> str:
        return f"({e.zero})" if type(e.zero) is int else self.const(e.zero)

    def aggregate(self, e: ir.Aggregate) -> str:
        var = f"l{int(e.depth)}"
        source = self.expr(e.source)
        where = f" if {self.expr(e.where)}" if e.where is not None else ""
        if e.kind in ("sum", "count"):
            body = self.expr(e.body) if e.kind == "sum" else "1"
            if self.traced:
                index = f"j{int(e.depth)}"
                return (
                    f"sum((_element(_e, {self.trace_id(e)}, {index}, {body}) "
                    f"for {index}, {var} in enumerate({source}){where}), {self.zero(e)})"
                )
            return f"sum(({body} for {var} in {source}{where}), {self.zero(e)})"
        quantifier = _known(_QUANTIFIERS, e.kind, "aggregate kind")
        return f"{quantifier}({self.expr(e.where)} for {var} in {source})"

    # ---- statements

    def rule_statements(self, rule: ir.Rule, indent: str) -> None:
        """The statements that compute `rule` (and, in the traced variant, record its step)."""
        host, self.rule = self.rule, rule.name
        target = self.name_of(rule.name)
        if self.traced:
            self.emit(f"{indent}_e = []")
        self.assign(target, rule.body, indent, host=rule.name)
        for line in _whole_bound(target, rule.bound):
            self.emit(indent + line, _Whole(rule.body))
        if self.traced:
            self.emit(f"{indent}steps.append(_new(_Step, ({int(rule.slot)}, {target}, _e)))")
        self.rule = host

    def assign(self, target: str, body: ir.Expr, indent: str = "    ", host: str | None = None) -> None:
        """`target = body` as statements. A top-level `when` chain is `if`/`elif`, each arm
        first computing the rules `host` (the rule being written) has sunk into it; a sum or
        count that is a whole rule (fast variant) is a loop: the same additions in the same
        order, without a generator's overhead. A `let` at the head is a statement of its own."""
        if isinstance(body, ir.Let):
            self.emit(f"{indent}v{int(body.id)} = {self.expr(body.value)}", body.value)
            if self.traced:
                self.emit(f"{indent}_e.append(_new(_Bound, ({self.trace_id(body)}, v{int(body.id)})))")
            self.assign(target, body.body, indent, host)
            return
        if isinstance(body, ir.Choose):
            *whens, otherwise = body.branches
            for start, end, members in self.arm_runs(whens):
                branch = whens[start]
                condition = members if members is not None else self.expr(branch.condition)
                self.emit(f"{indent}{'if' if start == 0 else 'elif'} {condition}:", branch.condition)
                if self.traced:
                    self.emit(f"{indent}    _e.append(_new(_Branch, ({self.trace_id(body)}, {int(start)})))")
                for rule in self.hosted.get((host, start), ()):
                    self.rule_statements(rule, indent + "    ")
                self.assign(target, branch.value, indent + "    ")
            self.emit(f"{indent}else:")
            if self.traced:
                self.emit(f"{indent}    _e.append(_new(_Branch, ({self.trace_id(body)}, {len(whens)})))")
            for rule in self.hosted.get((host, len(whens)), ()):
                self.rule_statements(rule, indent + "    ")
            self.assign(target, otherwise.value, indent + "    ")
            return
        if self.traced or not (isinstance(body, ir.Aggregate) and body.kind in ("sum", "count")):
            code = self.expr(body)
            self.emit(f"{indent}{target} = {code}", body)
            # a rule computed at the top of the function, not a name or a folded constant's slot:
            # variables are assigned once, so the same code has the same value further down
            if self.reuse and host is not None and indent == "    " and ir.children(body) and not code.isidentifier():
                self.computed.setdefault(code, target)
            return
        var = f"l{int(body.depth)}"
        value = self.expr(body.body) if body.kind == "sum" else "1"
        where = f"if {self.expr(body.where)}: " if body.where is not None else ""
        self.emit(f"{indent}{target} = {self.zero(body)}")
        self.emit(f"{indent}for {var} in {self.expr(body.source)}:", body.source)
        self.emit(f"{indent}    {where}{target} = {target} + {value}", body)


def _sink_plan(program: ir.Program, segment: ir.Segment) -> dict[str, tuple[str, int] | None]:
    """Where the fast variant computes the rules that cannot fail (`ir.bounds`) and that no
    output, invariant, requirement or accumulator reads: (rule, arm) for the one `when` arm
    of a later rule that needs the value, directly or through rules computed there; None
    for a rule nothing needs. Every other rule is computed in order, as the reference
    interpreter computes them all; one that can fail always is, so a claim fails alike.

    Why: a claim in its waiting period needs none of the layers' tiers and rooms; a
    rule that cannot fail computed for nothing only costs time."""
    infallible = ir_bounds.infallible_rules(segment)
    kept = set(program.outputs)
    for e in (*(i.condition for i in segment.invariants), *(r.condition for r in segment.requirements), *segment.accruals):
        kept.update(_rules_read(e))
    uses: dict[str, list] = {rule.name: [] for rule in segment.rules}
    for rule in segment.rules:
        for name, arm in _reads_by_arm(rule.body):
            uses[name].append((rule.name, arm))
    plan: dict[str, tuple[str, int] | None] = {}
    for rule in reversed(segment.rules):  # users first
        if rule.name in kept or rule.name not in infallible:
            continue
        places = set()
        for user, arm in uses[rule.name]:
            if user in plan and plan[user] is None:
                continue  # a rule nothing needs is not computed: neither is what it reads
            if arm is not None:
                places.add((user, arm))
            else:
                places.add(plan.get(user, "in order"))
        if len(places) <= 1 and "in order" not in places:
            plan[rule.name] = places.pop() if places else None
    return plan


def _rules_read(e: ir.Expr) -> set[str]:
    return {n.name for n in ir.walk(e) if isinstance(n, ir.Ref) and n.kind == "rule"}


def _reads_by_arm(body: ir.Expr):
    """(rule read, arm) for each rule `body` reads: arm i where only the value of the top
    `when` chain's arm i reads it (as `assign` writes that arm), None elsewhere."""
    while isinstance(body, ir.Let):
        yield from ((name, None) for name in _rules_read(body.value))
        body = body.body
    if not isinstance(body, ir.Choose):
        yield from ((name, None) for name in _rules_read(body))
        return
    for index, branch in enumerate(body.branches):
        if branch.condition is not None:
            yield from ((name, None) for name in _rules_read(branch.condition))
        yield from ((name, index) for name in _rules_read(branch.value))


def _only_constants(e: ir.Expr) -> bool:
    """Whether `e` reads nothing of a claim: only literals and params (a table or tiers is
    named by the node that reads it; its key or band must be constant too)."""
    for n in ir.walk(e):
        if isinstance(n, (ir.Input, ir.Loop, ir.Local, ir.Aggregate, ir.SetOf)) or (isinstance(n, ir.Ref) and n.kind != "param"):
            return False
    return True


def _equality(condition: ir.Expr | None, code) -> tuple[str, object] | None:
    """(the code of x, the member) for a condition `x = member` with a text or whole-number
    member, where `x in {members}` means the same as a chain of `=`; else None."""
    if not isinstance(condition, ir.Compare) or condition.op != "=":
        return None
    for element, member in ((condition.left, condition.right), (condition.right, condition.left)):
        if isinstance(member, ir.Const) and type(member.value) in (str, int) and not isinstance(element, ir.Const):
            return code(element), member.value
    return None


class _Whole:
    """A line that checks a rule's whole value (R407): the rule's expression itself, not a
    node inside it, is what failed."""

    __slots__ = ("expr",)

    def __init__(self, expr: ir.Expr):
        self.expr = expr


def _nodes_of(written) -> tuple:
    """The nodes written on one generated line: the expression and what is inside it,
    innermost first (a nested `Choose` is written inline too); for a whole-value check, the
    rule's expression alone."""
    if isinstance(written, _Whole):
        return (written.expr,)
    return tuple(reversed(list(ir.walk(written))))


def _mangle(program: ir.Program) -> dict[str, str]:
    prefix = {"input": "i", "param": "p", "rule": "r", "table": "t", "tiers": "s"}
    return {name: f"{prefix[d.kind]}{index}" for index, (name, d) in enumerate(program.definitions.items())}


def compile_program(program: ir.Program, passes: bool = True) -> Program:
    """Compile the IR of a policy into a `Program`. `passes=False` leaves out the fast
    variant's sinking of rules into the arms that need them and its reuse of what earlier
    rules computed (`bench/ceiling.py` times both ways); the results are the same."""
    shared = {"slots": {}, "slot_of": {}, "traced_nodes": {}, "mangled": _mangle(program)}
    mangled = shared["mangled"]
    inputs = [mangled[name] for name, _ in program.inputs]
    outputs = [mangled[name] for name in program.outputs]
    runs: list = []
    traced: list = []
    work: list = []
    sources: list[str] = []
    lines: dict = {}
    every_list = _list_paths(program)
    for segment in program.segments:
        if not segment.in_force:
            runs.append(None)
            traced.append(None)
            work.append(None)
            continue
        work.append(_work_plan(segment, every_list))
        source, table = _segment_source(program, segment, shared, inputs, outputs, passes)
        filename = f"<policydsl {program.name} segment {segment.index}>"
        namespace = dict(_RUNTIME)
        namespace.update(shared["slots"])
        namespace.update({mangled[name]: value for name, value in segment.constants.items()})
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - written from the IR through fixed tables only
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        lines[filename] = table
        runs.append(namespace["run"])
        traced.append(namespace["run_traced"])
        sources.append(f"# segment {segment.index}: {segment.describe()}\n{source}")
    return Program(
        ir=program,
        runs=runs,
        traced=traced,
        rule_names=program.rule_names,
        traced_nodes=shared["traced_nodes"],
        source="\n".join(sources),
        work=work,
        lines=lines,
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
    "_round_unlimited": runtime.round_unlimited,
    **{f"_date_{name}": helper for name, helper in runtime.DATE_FUNCTIONS.items()},
    "_divide": runtime.divide,
    "_int_product": runtime.int_product,
    "_number_product": runtime.number_product,
    "_whole_too_big": runtime.whole_too_big,
    "_tiers": runtime.apply_tiers,
    "_tiers_traced": runtime.traced_tiers,
    "_lookup": runtime.traced_lookup,
    "_element": runtime.traced_element,
    "_violated": runtime.invariant_violated,
    "_refused": runtime.requirement_refused,
    "_Branch": trace.Branch,
    "_Bound": trace.Bound,
    "_Step": trace.Step,
    "_new": trace.new,
}


def _segment_source(program: ir.Program, segment: ir.Segment, shared: dict, inputs: list[str], outputs: list[str], passes: bool):
    """The segment's source and its line table {line number: (rule, IR nodes)}."""
    table: dict[int, tuple] = {}
    lines: list[str] = []

    def function(header: str, traced: bool) -> None:
        writer = _Writer(program, traced=traced, shared=shared, constants=segment.constants, reuse=passes and not traced)
        writer.emit(header)
        if inputs:
            writer.emit(f"    ({', '.join(inputs)},) = inputs")
        if traced and segment.requirements:
            writer.emit("    _e = []")  # what a requirement's condition traces is not kept
        for requirement in segment.requirements:
            writer.emit(f"    if not {writer.expr(requirement.condition)}: _refused({int(requirement.number)})", requirement.condition)
        plan = _sink_plan(program, segment) if passes and not traced else {}
        for rule in segment.rules:
            if plan.get(rule.name) is not None:
                writer.hosted.setdefault(plan[rule.name], []).append(rule)
        for rule in segment.rules:
            if rule.name not in plan:  # else evaluated in the arm that needs it, or not at all
                writer.rule_statements(rule, "    ")
        writer.rule = None
        if traced:
            writer.emit("    _e = []")
        for invariant in segment.invariants:
            writer.emit(f"    if not {writer.expr(invariant.condition)}: _violated({int(invariant.number)})", invariant.condition)
        added = []
        for number, (accumulator, accrual) in enumerate(zip(program.accumulators, segment.accruals)):
            writer.rule = accumulator.name  # a failure here is named by the accumulator
            writer.emit(f"    a{int(number)} = {writer.expr(accrual)}", accrual)
            added.append(f"a{int(number)}")
        writer.rule = None
        writer.emit(f"    return ({', '.join([*outputs, *added])},)")
        first = len(lines) + 1
        for index, where in writer.line_nodes.items():
            table[first + index] = where
        lines.extend(writer.lines)
        lines.append("")

    function("def run(inputs):", False)
    function("def run_traced(inputs, steps):", True)
    return "\n".join(lines), table


def _whole_bound(target: str, bound: str | None) -> list[str]:
    """The check that a rule's whole-number value is within ±10**18 (R407), where it is
    assigned (`ir.nodes.Rule.bound`): sums of bounded values stay small, and chains of rules
    cannot grow them."""
    if bound == "whole":
        return [f"if not _INT_LOW <= {target} <= _INT_HIGH: _whole_too_big()"]
    if bound == "if_whole":
        return [f"if _type({target}) is _int and not _INT_LOW <= {target} <= _INT_HIGH: _whole_too_big()"]
    return []


# ---- the work plan: what a claim's nested aggregates cost (R409) ---------------------


def _list_paths(program: ir.Program) -> tuple:
    """Every path (see `runtime.list_lengths`) at which the claim's inputs hold a list."""
    found = []

    def walk(type_, path):
        if isinstance(type_, t.ListType):
            found.append(path)
            walk(type_.element, (*path, runtime.EACH))
        elif isinstance(type_, t.RecordType):  # records never contain themselves (checked)
            for index, field in enumerate(program.record_fields(type_.name)):
                walk(program.field_types[(type_.name, field.name)], (*path, index))

    for index, (name, type_) in enumerate(program.inputs):
        walk(type_, (index,))
    return tuple(found)


def _work_plan(segment: ir.Segment, every_list: tuple):
    """None for a segment without nested aggregates (nothing to check: the work is linear in
    the claim); else `(entries, every_list)` for `runtime.check_work`."""
    entries = []
    nested = False
    named = [(None, r.ast.span, r.condition) for r in segment.requirements]
    named += [(rule.name, rule.ast.span, rule.body) for rule in segment.rules]
    named += [(None, invariant.ast.span, invariant.condition) for invariant in segment.invariants]
    for name, span, expr in named:
        chains: list[tuple] = []
        _aggregate_chains(expr, (), {}, chains)
        if chains:
            entries.append((name, span, tuple(chains)))
            nested = nested or any(len(chain) > 1 for chain in chains)
    return (tuple(entries), every_list) if nested else None


def _aggregate_chains(e: ir.Expr, chain: tuple, loops: dict, chains: list) -> None:
    """Append, for every aggregate in `e`, the list paths of it and the aggregates around it."""
    if isinstance(e, ir.Aggregate):
        _aggregate_chains(e.source, chain, loops, chains)
        path = _source_path(e.source, loops)
        inner = (*chain, path)
        chains.append(inner)
        inner_loops = {**loops, e.depth: (*path, runtime.EACH) if path is not None else None}
        for part in (e.body, e.where):
            if part is not None:
                _aggregate_chains(part, inner, inner_loops, chains)
        return
    for child in ir.children(e):
        _aggregate_chains(child, chain, loops, chains)


def _source_path(e: ir.Expr, loops: dict):
    """The input path of a list expression (`items`, `a.codes` for a loop over items), or
    None for any other list expression (it is then bounded by the longest list of all)."""
    match e:
        case ir.Loop(depth=depth):
            return loops.get(depth)
        case ir.Input(index=index):
            return (index,)
        case ir.Field(record=record, index=index):
            base = _source_path(record, loops)
            return (*base, index) if base is not None else None
    return None


def compile_reader(program: ir.Program, slow):
    """The facts reader: source generated by `facts.reader_source` for well-formed claims,
    falling back to `slow` (the checking reader) for anything else."""
    source, namespace = facts.reader_source(program, program.defaults)
    namespace["_slow"] = slow
    exec(compile(source, "<policydsl facts reader>", "exec"), namespace)  # noqa: S102 - built from the schema only
    return namespace["read"]



def compile_outputs(names: list[str], types: list):
    """`raw -> {name: value}` for a program's outputs, each money output quantized to the fen,
    as one generated expression (no loop, no dict built twice): what `Policy._finish` gives for
    a claim whose money outputs are all whole fen, or ArithmeticError (under `numbers.EXACT`)
    for any other, which `_finish` then names. Output names sit in constant slots, never in the
    source."""
    namespace: dict = {"__builtins__": {}, "_FEN": runtime.FEN}
    entries = []
    for index, (name, type_) in enumerate(zip(names, types)):
        namespace[f"k{int(index)}"] = name
        value = f"raw[{int(index)}]"
        entries.append(f"k{int(index)}: {value}.quantize(_FEN)" if type_ == t.MONEY else f"k{int(index)}: {value}")
    source = "def build(raw):\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, "<policydsl outputs>", "exec"), namespace)  # noqa: S102 - built from slot numbers only
    return namespace["build"]
