"""IR (`ir.nodes`) -> whole-column evaluation over NumPy: the columnar backend.

`compile_columnar(policy)` reads the policy's IR once and gives a `Columnar`, or raises
`NotColumnar` naming what it cannot compute as columns. `Columnar.decide(columns, n, as_of)`
takes a batch's input columns (`arrow_facts.read`: one array per input field, with the rows
it could not read for sure marked) and gives every output, accumulator and the rows that
the row engine must decide instead (`fallback`).

Exact, never float: every money, ratio and number value is an int64 array of its value
times 10**scale, with one scale per IR node fixed at compile time (a sum takes its operands'
larger scale, a product the sum of theirs, `round` gives 2); rounding modes are computed on
integers. Each node also gets a bound on its magnitude at compile time, from the bounds the
facts reader here puts on inputs (`MONEY_LIMIT`, `WHOLE_LIMIT`, `ITEM_LIMIT`): a policy
whose bounds could pass int64 is `NotColumnar`, and an input beyond them sends its row to
the row engine. So nothing overflows, and what the row engine would compute with Decimal is
computed here to the same digits.

A row goes to the row engine (`fallback`) when its facts are not plainly valid, when it
would fail as the row engine evaluates it (a table without the row, a date outside the
calendar, an invariant or a requirement that does not hold, a money output with fractions of a fen, a day
outside the segments in force), so that its result or error record is the row engine's
exactly. Failures count only on rows where the row engine evaluates the node (`live`: the
chosen arm of a `when`, the right side of an `and` whose left side held, the items a
`where` keeps).

Enums are codes (the member's index), dates day numbers (`date.toordinal()`), bools bool
arrays, text object arrays; a record is a dict of its fields' columns; a list of records
an `Items` (offsets into item-level columns).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import attrs
import numpy as np

from policydsl.check import types as t
from policydsl.ir import nodes as ir

MONEY_LIMIT = 10**11  # fen: money inputs below 1 billion yuan are read here; larger go to the row engine
WHOLE_LIMIT = 10**6  # ints and months read here: |v| < WHOLE_LIMIT
ITEM_LIMIT = 1_000  # items per list read here
INT64_SAFE = 2**62  # every node's bound stays below this
DECIMAL_TYPES = (t.MONEY, t.RATIO, t.NUMBER)
WHOLE_TYPES = (t.INT, t.MONTHS)
_ROUND_MODES = ("half_up", "half_even", "down", "up")


class NotColumnar(Exception):
    """The policy uses something the columnar backend does not compute; the row engine does."""


@attrs.frozen
class Items:
    """A list of records per row: row r's items are [offsets[r], offsets[r+1]) of `fields`
    (field name -> item-level column); `owner[i]` is item i's row."""

    offsets: np.ndarray
    owner: np.ndarray
    fields: dict


@attrs.frozen
class Context:
    """Where a node is evaluated: per row (`owner` None) or per item of an aggregate
    (`owner`: each item's row; `element`: the loop variable's record of item columns)."""

    owner: np.ndarray | None = None
    element: dict | None = None

    def widen(self, value):
        """A row-level value at this context's level."""
        if self.owner is None or not isinstance(value, np.ndarray):
            return value
        return value[self.owner]


ROWS = Context()


@attrs.frozen
class Decided:
    """What `Columnar.decide` gives for a batch of n rows.

    `fallback`: rows for the row engine; `outputs`: output name -> column (money in fen,
    dates as day numbers); `before` / `after`: accumulator name -> column (money in fen);
    `days`: each row's claim date (the accumulators' years), as day numbers."""

    fallback: np.ndarray
    outputs: dict
    before: dict
    after: dict
    days: np.ndarray | None


def compile_columnar(policy) -> "Columnar":
    """The columnar program of a loaded `Policy`; `NotColumnar` if it has no such program."""
    return Columnar(policy.program.ir, policy.output_names, policy.output_types)


class Columnar:
    """A policy compiled for whole-column evaluation (see the module's docstring)."""

    def __init__(self, program: ir.Program, output_names, output_types):
        self.program = program
        self.output_names = list(output_names)
        self.output_types = list(output_types)
        for name, type_ in zip(self.output_names, self.output_types):
            if not (type_ in (t.MONEY, t.BOOL, t.DATE, *WHOLE_TYPES) or (type_ == t.TEXT and program.definitions[name].kind == "input")):
                raise NotColumnar(f"output `{name}` is {type_}: the columnar backend writes money, bool, date, int and months outputs")
        for accumulator in program.accumulators:
            if accumulator.type not in (t.MONEY, *WHOLE_TYPES):
                raise NotColumnar(f"accumulator `{accumulator.name}` is {accumulator.type}")
        self.scales: dict[int, int] = {}
        self.bounds: dict[int, int] = {}
        self.let_values: dict[int, ir.Expr] = {}  # a `Let`'s id -> its value, which its `Local`s read
        self.segments = [segment for segment in program.segments if segment.in_force]
        for segment in self.segments:
            self._analyse(segment)
        self.cut_days = np.array([cut.toordinal() for cut in program.cuts], dtype=np.int64)

    # ---- compile time: scales and bounds ----------------------------------------------

    def _analyse(self, segment: ir.Segment) -> None:
        rules = {}
        for requirement in segment.requirements:
            self._shape(requirement.condition, segment, rules)
        for rule in segment.rules:
            rules[rule.name] = self._shape(rule.body, segment, rules)
        for invariant in segment.invariants:
            self._shape(invariant.condition, segment, rules)
        for accumulator, accrual in zip(self.program.accumulators, segment.accruals):
            scale, bound = self._shape(accrual, segment, rules)
            if accumulator.type == t.MONEY:
                _check_bound(bound * 10 ** max(0, 2 - scale) + MONEY_LIMIT * 10 ** max(0, scale - 2), accrual)
        segment_rules = {rule.name for rule in segment.rules}
        for name in self.output_names:
            if name not in segment_rules and self.program.definitions[name].kind != "input":
                raise NotColumnar(f"output `{name}` is not a rule of segment {segment.index}")

    def _shape(self, expr: ir.Expr, segment, rules) -> tuple[int, int]:
        """(scale, bound) of a numeric node (0, 1 for others), memoized by node id; raises
        NotColumnar for what is not computed here."""
        if expr.id in self.scales:
            return self.scales[expr.id], self.bounds[expr.id]
        scale, bound = self._shape_of(expr, segment, rules)
        _check_bound(bound, expr)
        self.scales[expr.id], self.bounds[expr.id] = scale, bound
        return scale, bound

    def _shape_of(self, expr, segment, rules):  # noqa: C901 - one dispatch over node kinds
        shape = lambda e: self._shape(e, segment, rules)  # noqa: E731
        match expr:
            case ir.Const(value=value):
                for child in _constant_parts(value):
                    _representable(child, expr)
                return _constant_shape(value)
            case ir.Input():
                return _input_shape(expr.type)
            case ir.Ref(kind="rule", name=name):
                return rules[name]
            case ir.Ref(kind="param", name=name):
                value = segment.constants[name]
                _representable(value, expr)
                return _constant_shape(value)
            case ir.Ref():
                raise NotColumnar(f"`{expr.name}` ({expr.kind}) used as a value")
            case ir.Loop(depth=depth):
                if depth != 1:
                    raise NotColumnar("nested aggregates")
                return 0, 1
            case ir.Field(record=record):
                shape(record)
                while isinstance(record, ir.Local):  # a function's record parameter: what it is bound to
                    record = self.let_values[record.binding]
                if isinstance(record, ir.Loop) or isinstance(record, ir.Input):
                    return _input_shape(expr.type)
                raise NotColumnar("a field of a computed record")
            case ir.Lookup(table=table, key=key):
                shape(key)
                rows = segment.constants[table]
                if not isinstance(key.type, t.EnumType):
                    raise NotColumnar(f"table `{table}` looked up by {key.type}")
                values = list(rows.values()) + ([rows.default] if rows.default is not None else [])
                for value in values:
                    _representable(value, expr)
                shapes = [_constant_shape(v) for v in values] or [(0, 1)]
                scale = max(s for s, _ in shapes)
                return scale, max(b * 10 ** (scale - s) for s, b in shapes)
            case ir.Negate(operand=x):
                return shape(x)
            case ir.Not(operand=x):
                shape(x)
                return 0, 1
            case ir.Logic(left=a, right=b):
                shape(a), shape(b)
                return 0, 1
            case ir.Arith(op=op, left=a, right=b) | ir.WholeArith(op=op, left=a, right=b):
                (sa, ba), (sb, bb) = shape(a), shape(b)
                if op == "*":
                    return sa + sb, ba * bb
                scale = max(sa, sb)
                return scale, ba * 10 ** (scale - sa) + bb * 10 ** (scale - sb)
            case ir.WholeProduct(left=a, right=b):
                (sa, ba), (sb, bb) = shape(a), shape(b)
                if ba * bb > 10**18:
                    raise NotColumnar(f"a whole product may pass 10**18 at {_where(expr)}")
                return 0, ba * bb
            case ir.NumberProduct() | ir.Divide() | ir.SetOf():
                raise NotColumnar(f"{type(expr).__name__} at {_where(expr)}")
            case ir.ShiftDate(date=date, months=months):
                shape(date), shape(months)
                return 0, 1
            case ir.DateCall(args=args):
                for arg in args:
                    shape(arg)
                return 0, 4_000_000  # days in the calendar: bounds days_between, months_between, years_between
            case ir.Compare(op=op, left=a, right=b):
                shape(a), shape(b)
                if op not in ("=", "!=") and not _ordered(a.type):
                    raise NotColumnar(f"`{op}` on {a.type}")
                return 0, 1
            case ir.Member(element=element, container=container):
                shape(element)
                if not isinstance(container, ir.Const) and not (isinstance(container, ir.Ref) and container.kind in ("param", "table")):
                    raise NotColumnar(f"`in` a computed set at {_where(expr)}")
                return 0, 1
            case ir.Round(value=x, mode=mode):
                scale, bound = shape(x)
                if mode not in _ROUND_MODES:
                    raise NotColumnar(f"rounding mode {mode}")
                digits = _round_digits(expr)
                kept = max(0, digits)
                return kept, (bound // 10 ** max(0, scale - digits) + 1) * 10 ** max(0, kept - scale) * 10 ** max(0, -digits)
            case ir.Clamp(value=a, low=b, high=c):
                return _widest([shape(a), shape(b), shape(c)])
            case ir.MinMax(args=args):
                return _widest([shape(a) for a in args])
            case ir.Tiers(schedule=schedule, lower=lower, upper=upper):
                (sl, bl), (su, bu) = shape(lower), shape(upper)
                bands = segment.constants[schedule]
                edges = [x for low, high, _ in bands for x in (low, high) if x is not None]
                if any(_unlimited(x) for x in edges) or any(_unlimited(rate) for _, _, rate in bands):
                    raise NotColumnar(f"tier schedule `{schedule}` has an unlimited edge")
                edge_scale = max([_decimal_scale(x) for x in edges] or [0])
                rate_scale = max([_decimal_scale(rate) for _, _, rate in bands] or [0])
                rate_bound = max([abs(int(rate.scaleb(rate_scale))) for _, _, rate in bands] or [0])
                edge_bound = max([abs(int(x.scaleb(edge_scale))) for x in edges] or [0])
                scale = max(sl, su, edge_scale)
                width = 2 * max(bl * 10 ** (scale - sl), bu * 10 ** (scale - su), edge_bound * 10 ** (scale - edge_scale))
                return scale + rate_scale, width * rate_bound  # the bands do not overlap: at most the width at the top rate
            case ir.Aggregate(kind=kind, depth=depth, source=source, body=body, where=where):
                if depth != 1:
                    raise NotColumnar("nested aggregates")
                if not (isinstance(source, ir.Input) or (isinstance(source, ir.Field) and isinstance(source.record, ir.Input))):
                    raise NotColumnar(f"an aggregate over a computed list at {_where(expr)}")
                if not isinstance(getattr(source.type, "element", None), t.RecordType):
                    raise NotColumnar("an aggregate over a list of plain values")
                if where is not None:
                    shape(where)
                if kind == "sum":
                    scale, bound = shape(body)
                    return scale, bound * ITEM_LIMIT
                if kind == "count":
                    return 0, ITEM_LIMIT
                return 0, 1
            case ir.Let(value=value, body=body):
                self.let_values[expr.id] = value
                shape(value)
                return shape(body)
            case ir.Local(binding=binding):
                return shape(self.let_values[binding])
            case ir.Choose(branches=branches):
                shapes = []
                for branch in branches:
                    if branch.condition is not None:
                        shape(branch.condition)
                    shapes.append(shape(branch.value))
                return _widest(shapes)
        raise NotColumnar(f"{type(expr).__name__} at {_where(expr)}")

    # ---- run time ---------------------------------------------------------------------

    def decide(self, columns: list, n: int, unreadable: np.ndarray, as_of: datetime.date | None = None) -> Decided:
        """Evaluate `n` rows whose input field i is `columns[i]`; `unreadable` marks rows
        the facts reader here could not read for sure (they go to the row engine)."""
        program = self.program
        fallback = unreadable.copy()
        if as_of is not None:
            days = np.full(n, as_of.toordinal(), dtype=np.int64)
        elif program.as_of_index is not None:
            days = columns[program.as_of_index]
        else:
            days = None
        if len(program.segments) == 1:
            chosen = np.zeros(n, dtype=np.int64)
        elif days is None:
            chosen = np.full(n, -1, dtype=np.int64)
        else:
            chosen = np.searchsorted(self.cut_days, days, side="right")
        outputs: dict = {}
        after: dict = {}
        for segment in self.segments:
            rows = chosen == segment.index
            if not rows.any():
                continue
            run = _Run(self, segment, columns, n, rows)
            for name, type_ in zip(self.output_names, self.output_types):
                value = run.output(name, type_)
                outputs[name] = _merge(outputs.get(name), value, rows, n)
            for accumulator, accrual in zip(program.accumulators, segment.accruals):
                value = run.accrued(accumulator, accrual)
                after[accumulator.name] = _merge(after.get(accumulator.name), value, rows, n)
            fallback |= run.bad & rows
        fallback |= ~np.isin(chosen, [segment.index for segment in self.segments])
        before = {}
        for accumulator in program.accumulators:
            before[accumulator.name] = columns[accumulator.index]
            if accumulator.name in after:
                after[accumulator.name] = before[accumulator.name] + after[accumulator.name]
        if not outputs:  # no row in a segment in force
            outputs = {name: np.zeros(n, dtype=np.int64) for name in self.output_names}
            after = {a.name: np.zeros(n, dtype=np.int64) for a in program.accumulators}
        return Decided(fallback, outputs, before, after, columns[program.as_of_index] if program.as_of_index is not None else days)


def _merge(previous, value, rows, n):
    value = np.broadcast_to(value, (n,)) if not isinstance(value, np.ndarray) or value.shape != (n,) else value
    if previous is None:
        return np.array(value, copy=True)
    return np.where(rows, value, previous)


class _Run:
    """One segment's rules evaluated over a batch's rows (all of them: `rows` says which
    are in the segment; failures count only there)."""

    def __init__(self, columnar: Columnar, segment: ir.Segment, columns: list, n: int, rows: np.ndarray):
        self.c = columnar
        self.segment = segment
        self.columns = columns
        self.n = n
        self.bad = np.zeros(n, dtype=bool)
        self.rules: dict = {}
        self.locals: dict = {}  # a `Let`'s id -> its value's column, while its body is evaluated
        for requirement in segment.requirements:  # a row that breaks one is the row engine's (F304)
            holds = self.ev(requirement.condition, ROWS, rows)
            self.fail(ROWS, rows, ~np.asarray(holds, dtype=bool))
        for rule in segment.rules:
            self.rules[rule.name] = self.ev(rule.body, ROWS, rows)
        for invariant in segment.invariants:
            holds = self.ev(invariant.condition, ROWS, rows)
            self.fail(ROWS, rows, ~np.asarray(holds, dtype=bool))

    # -- results

    def output(self, name: str, type_):
        definition = self.c.program.definitions[name]
        if definition.kind == "input":
            index = [field for field, _ in self.c.program.inputs].index(name)
            value, scale = self.columns[index], 2 if type_ == t.MONEY else 0
        else:
            rule = next(rule for rule in self.segment.rules if rule.name == name)
            value, scale = self.rules[name], self.c.scales[rule.body.id]
        if type_ == t.MONEY:
            return self.to_fen(value, scale)
        return value

    def accrued(self, accumulator, accrual):
        value = self.ev(accrual, ROWS, True)
        if accumulator.type == t.MONEY:
            return self.to_fen(value, self.c.scales[accrual.id])
        return value

    def to_fen(self, value, scale: int):
        """Money at `scale` as whole fen; rows with fractions of a fen fail (R404)."""
        value = np.asarray(value, dtype=np.int64)
        if scale <= 2:
            return value * 10 ** (2 - scale)
        step = 10 ** (scale - 2)
        self.bad |= np.broadcast_to(value % step != 0, (self.n,))
        return value // step

    def fail(self, context: Context, live, failed) -> None:
        """Mark as failed the rows where `failed` holds and the node is evaluated (`live`)."""
        failed = failed & live
        if not np.any(failed):
            return
        if context.owner is None:
            self.bad |= np.broadcast_to(failed, (self.n,))
        else:
            self.bad[context.owner[np.broadcast_to(failed, context.owner.shape)]] = True

    # -- expressions

    def ev(self, expr: ir.Expr, context: Context, live):  # noqa: C901 - one dispatch over node kinds
        match expr:
            case ir.Const(value=value):
                if _unlimited(value):
                    self.fail(context, live, True)  # `unlimited` is not an int64: the row engine decides these rows
                return _constant(value, expr.type, self.c.scales[expr.id])
            case ir.Input(index=index):
                return context.widen(self.columns[index])
            case ir.Ref(kind="rule", name=name):
                return context.widen(self.rules[name])
            case ir.Ref(kind="param", name=name):
                value = self.segment.constants[name]
                if _unlimited(value):
                    self.fail(context, live, True)
                return _constant(value, expr.type, self.c.scales[expr.id])
            case ir.Loop():
                return context.element
            case ir.Field(record=record, name=name):
                return self.ev(record, context, live)[name]
            case ir.Lookup(table=table, key=key):
                return self.lookup(expr, self.segment.constants[table], self.ev(key, context, live), context, live)
            case ir.Negate(operand=x):
                return -self.ev(x, context, live)
            case ir.Not(operand=x):
                return ~np.asarray(self.ev(x, context, live), dtype=bool)
            case ir.Logic(op=op, left=a, right=b):
                left = np.asarray(self.ev(a, context, live), dtype=bool)
                right = np.asarray(self.ev(b, context, live & (left if op == "and" else ~left)), dtype=bool)
                return left & right if op == "and" else left | right
            case ir.Arith(op=op, left=a, right=b) | ir.WholeArith(op=op, left=a, right=b):
                x, y = self.ev(a, context, live), self.ev(b, context, live)
                if op == "*":
                    return x * y
                scale = self.c.scales[expr.id]
                x, y = _rescale(x, self.c.scales[a.id], scale), _rescale(y, self.c.scales[b.id], scale)
                return x + y if op == "+" else x - y
            case ir.WholeProduct(left=a, right=b):
                return self.ev(a, context, live) * self.ev(b, context, live)
            case ir.ShiftDate(date=date, months=months, sign=sign):
                day, count = self.ev(date, context, live), self.ev(months, context, live)
                shifted, outside = add_months(day, count if sign > 0 else -count)
                self.fail(context, live, outside)
                return shifted
            case ir.DateCall(func=func, args=args):
                values = [np.asarray(self.ev(a, context, live), dtype=np.int64) for a in args]
                result, outside = date_call(func, *values)
                if outside is not None:
                    self.fail(context, live, outside)
                return result
            case ir.Compare(op=op, left=a, right=b):
                x, y = self.ev(a, context, live), self.ev(b, context, live)
                if a.type in DECIMAL_TYPES or b.type in DECIMAL_TYPES:
                    scale = max(self.c.scales[a.id], self.c.scales[b.id])
                    x, y = _rescale(x, self.c.scales[a.id], scale), _rescale(y, self.c.scales[b.id], scale)
                return _COMPARE[op](x, y)
            case ir.Member(element=element, container=container, negated=negated):
                item = self.ev(element, context, live)
                members = container.value if isinstance(container, ir.Const) else self.segment.constants[container.name]
                codes = [_code(m, element.type) for m in members]
                found = np.isin(item, np.array([c for c in codes if c is not None], dtype=_dtype(element.type)))
                return ~found if negated else found
            case ir.Round(value=x, mode=mode):
                digits = _round_digits(expr)
                rounded = round_to(self.ev(x, context, live), self.c.scales[x.id], digits, mode)
                return rounded * 10 ** (-digits) if digits < 0 else rounded  # to 10 yuan: back at scale 0
            case ir.Clamp(value=a, low=b, high=c):
                scale = self.c.scales[expr.id]
                x, lo, hi = (_rescale(self.ev(e, context, live), self.c.scales[e.id], scale) for e in (a, b, c))
                return np.minimum(np.maximum(x, lo), hi)
            case ir.MinMax(func=func, args=args):
                scale = self.c.scales[expr.id]
                values = [_rescale(self.ev(e, context, live), self.c.scales[e.id], scale) for e in args]
                pick = np.minimum if func == "min" else np.maximum
                result = values[0]
                for value in values[1:]:
                    result = pick(result, value)
                return result
            case ir.Tiers(schedule=schedule, lower=lower, upper=upper):
                return self.tiers(expr, self.segment.constants[schedule], self.ev(lower, context, live), self.ev(upper, context, live), lower, upper)
            case ir.Aggregate():
                return self.aggregate(expr, context, live)
            case ir.Choose(branches=branches):
                return self.choose(expr, branches, context, live)
            case ir.Let(value=value, body=body):
                self.locals[expr.id] = self.ev(value, context, live)
                return self.ev(body, context, live)
            case ir.Local(binding=binding):
                return self.locals[binding]
        raise AssertionError(f"not compiled for columns: {type(expr).__name__}")

    def lookup(self, expr, rows, key, context, live):
        members = expr.key.type.members
        scale = self.c.scales[expr.id]
        values = [rows[m] if m in rows else rows.default for m in members]
        known = np.array([(m in rows or rows.default is not None) and not _unlimited(v) for m, v in zip(members, values)], dtype=bool)
        table = np.array([_constant(v, expr.type, scale) if v is not None else 0 for v in values], dtype=_dtype(expr.type))
        key = np.asarray(key)
        self.fail(context, live, ~known[key])
        return table[key]

    def tiers(self, expr, bands, lower, upper, lower_node, upper_node):
        rate_scale = max([_decimal_scale(rate) for _, _, rate in bands] or [0])
        scale = self.c.scales[expr.id] - rate_scale
        lower = _rescale(lower, self.c.scales[lower_node.id], scale)
        upper = _rescale(upper, self.c.scales[upper_node.id], scale)
        total = np.zeros(np.broadcast(lower, upper).shape, dtype=np.int64)
        if expr.band is not None:
            bands = bands[expr.band : expr.band + 1]
        for band_low, band_high, rate in bands:
            low = np.maximum(lower, int(band_low.scaleb(scale)))
            high = upper if band_high is None else np.minimum(upper, int(band_high.scaleb(scale)))
            total = total + np.where(high > low, (high - low) * int(rate.scaleb(rate_scale)), 0)
        return total

    def aggregate(self, expr: ir.Aggregate, context: Context, live):
        items: Items = self.ev(expr.source, context, live)
        if context.owner is not None:
            raise AssertionError("aggregates nest only at depth 1")
        inner = Context(owner=items.owner, element=items.fields)
        inner_live = np.broadcast_to(live, (self.n,))[items.owner]
        keep = np.ones(len(items.owner), dtype=bool)
        if expr.where is not None:
            keep = np.asarray(self.ev(expr.where, inner, inner_live), dtype=bool)
            keep = np.broadcast_to(keep, items.owner.shape)
        if expr.kind == "sum":
            body = np.broadcast_to(np.asarray(self.ev(expr.body, inner, inner_live & keep), dtype=np.int64), items.owner.shape)
            return _per_row(np.where(keep, body, 0), items.offsets)
        counted = _per_row(keep.astype(np.int64), items.offsets)
        if expr.kind == "count":
            return counted
        if expr.kind == "any":
            return counted > 0
        return counted == np.diff(items.offsets)

    def choose(self, expr, branches, context, live):
        scale = self.c.scales[expr.id]
        numeric = expr.type in DECIMAL_TYPES
        undecided = np.ones(1, dtype=bool) if not isinstance(live, np.ndarray) else np.ones(live.shape, dtype=bool)
        conditions, values = [], []
        for branch in branches:
            if branch.condition is None:
                taken = undecided
            else:
                holds = np.asarray(self.ev(branch.condition, context, live & undecided), dtype=bool)
                taken = undecided & holds
            value = self.ev(branch.value, context, live & taken)
            values.append(_rescale(value, self.c.scales[branch.value.id], scale) if numeric else value)
            conditions.append(taken)
            undecided = undecided & ~taken
            if branch.condition is None:
                break
        return _select(conditions, values)


# ---- helpers -------------------------------------------------------------------------


def _select(conditions, values):
    shape = np.broadcast_shapes(*[np.shape(c) for c in conditions], *[np.shape(v) for v in values])
    result = np.array(np.broadcast_to(values[-1], shape), copy=True)
    for condition, value in reversed(list(zip(conditions[:-1], values[:-1]))):
        result = np.where(condition, value, result)
    return result


def _per_row(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The sum of each row's items (exact: int64 within the bounds)."""
    running = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=running[1:])
    return running[offsets[1:]] - running[offsets[:-1]]


_COMPARE = {
    "=": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def round_to(value, scale: int, target: int, mode: str):
    """Integers at `scale` rounded to `target` digits, by a decimal rounding mode (half_up
    and up away from zero, down toward zero, half_even to the even neighbour on a tie)."""
    value = np.asarray(value, dtype=np.int64)
    if scale <= target:
        return value * 10 ** (target - scale)
    step = 10 ** (scale - target)
    magnitude = np.abs(value)
    quotient, remainder = np.divmod(magnitude, step)
    if mode == "half_up":
        quotient = quotient + (2 * remainder >= step)
    elif mode == "half_even":
        quotient = quotient + ((2 * remainder > step) | ((2 * remainder == step) & (quotient % 2 == 1)))
    elif mode == "up":
        quotient = quotient + (remainder > 0)
    return np.where(value < 0, -quotient, quotient)


_ORDINAL_1970 = datetime.date(1970, 1, 1).toordinal()


def add_months(day, months):
    """(day numbers shifted by calendar months, clamped to the month's end; rows outside
    years 1-9999), as `runtime.add_months` does one day at a time."""
    day = np.asarray(day, dtype=np.int64)
    months = np.asarray(months, dtype=np.int64)
    moment = (day - _ORDINAL_1970).astype("datetime64[D]")
    month = moment.astype("datetime64[M]")
    day_of_month = (moment - month.astype("datetime64[D]")).astype(np.int64)
    index = month.astype(np.int64) + months  # months since 1970-01
    year = index // 12 + 1970
    outside = (year < 1) | (year > 9999)
    index = np.where(outside, 0, index)
    start = index.astype("datetime64[M]").astype("datetime64[D]")
    length = ((index + 1).astype("datetime64[M]").astype("datetime64[D]") - start).astype(np.int64)
    shifted = start.astype(np.int64) + np.minimum(day_of_month, length - 1) + _ORDINAL_1970
    return np.where(months == 0, day, shifted), outside & (months != 0)


def _round_digits(expr: ir.Round) -> int:
    """The digits after the point `round` keeps: 2 for the fen, -1 for 10 yuan, 3 for 0.1%."""
    return 2 if expr.step is None else -expr.step.as_tuple().exponent


_LAST_DAY = datetime.date.max.toordinal()


def date_call(func: str, *args):
    """(result, rows outside the calendar or None) of a date function over day numbers, as
    `runtime.helpers.DATE_FUNCTIONS` computes it one day at a time."""
    if func == "add_days":
        day, count = args
        shifted = day + count
        outside = (shifted < 1) | (shifted > _LAST_DAY)
        return np.where(outside, day, shifted), outside
    if func == "days_between":
        return args[1] - args[0], None
    if func == "year_start":
        years = (args[0] - _ORDINAL_1970).astype("datetime64[D]").astype("datetime64[Y]")
        return years.astype("datetime64[D]").astype(np.int64) + _ORDINAL_1970, None
    start, end = args
    months = _months_between(start, end)
    if func == "months_between":
        return months, None
    return np.where(months >= 0, months // 12, -((-months) // 12)), None  # years_between, age


def _months_between(start, end):
    start, end = np.broadcast_arrays(np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64))
    earlier = end < start
    low, high = np.where(earlier, end, start), np.where(earlier, start, end)
    month_low = (low - _ORDINAL_1970).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    month_high = (high - _ORDINAL_1970).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    count = month_high - month_low
    shifted, _ = add_months(low, count)
    count = np.where((count > 0) & (shifted > high), count - 1, count)
    return np.where(earlier, -count, count)


def _rescale(value, scale: int, target: int):
    return value if scale == target else value * 10 ** (target - scale)


def _unlimited(value) -> bool:
    return isinstance(value, Decimal) and value.is_infinite()


def _decimal_scale(value) -> int:
    if isinstance(value, Decimal) and value.is_finite():
        return max(0, -value.as_tuple().exponent)
    return 0


def _constant_parts(value):
    if isinstance(value, (frozenset, set, tuple)):
        return tuple(value)
    return (value,)


def _representable(value, expr) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, Decimal):
        if value.is_infinite():
            return  # `unlimited`: the rows that evaluate it go to the row engine
        if value.is_nan() or _decimal_scale(value) > 8:
            raise NotColumnar(f"the constant {value} at {_where(expr)}")
        return
    if isinstance(value, (int, str, datetime.date, frozenset, tuple)):
        return
    raise NotColumnar(f"a constant of {type(value).__name__} at {_where(expr)}")


def _constant_shape(value) -> tuple[int, int]:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or _unlimited(value):
        return 0, 1
    scale = _decimal_scale(value)
    return scale, abs(int(Decimal(value).scaleb(scale)))


def _input_shape(type_) -> tuple[int, int]:
    if type_ == t.MONEY:
        return 2, MONEY_LIMIT
    if type_ in WHOLE_TYPES:
        return 0, WHOLE_LIMIT
    if type_ in (t.RATIO, t.NUMBER):
        raise NotColumnar(f"an input of type {type_}")
    return 0, 1


def _widest(shapes):
    scale = max(s for s, _ in shapes)
    return scale, max(b * 10 ** (scale - s) for s, b in shapes)


def _ordered(type_) -> bool:
    return type_ in (*DECIMAL_TYPES, *WHOLE_TYPES, t.DATE)


def _check_bound(bound: int, expr) -> None:
    if bound >= INT64_SAFE:
        raise NotColumnar(f"a value at {_where(expr)} could pass the range of int64 (bound {bound:.3g})")


def _where(expr) -> str:
    span = getattr(expr, "span", None)
    return f"line {span.line}" if span is not None and hasattr(span, "line") else f"node {getattr(expr, 'id', '?')}"


def _dtype(type_):
    if type_ == t.BOOL:
        return bool
    if type_ == t.TEXT:
        return object
    return np.int64


def _code(value, type_):
    """A constant as this backend holds it for `type_`: an enum member's index, a date's day number."""
    if isinstance(type_, t.EnumType):
        return type_.members.index(value) if value in type_.members else None
    if isinstance(value, datetime.date):
        return value.toordinal()
    return value


def _constant(value, type_, scale: int):
    """A constant as a scalar of this backend's representation at `scale`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return 0 if value.is_infinite() else int(value.scaleb(scale))  # `unlimited`: its rows are failed (`_Run.ev`)
    if isinstance(value, int) and type_ in DECIMAL_TYPES:
        return value * 10**scale
    if isinstance(type_, t.EnumType):
        return type_.members.index(value)
    if isinstance(value, datetime.date):
        return value.toordinal()
    return value


__all__ = ["Columnar", "Decided", "Items", "NotColumnar", "add_months", "compile_columnar", "round_to"]
