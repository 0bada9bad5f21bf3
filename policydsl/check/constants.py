"""The constants pass: compute every parameter, table row and tier band, per time segment.

Takes a checked environment (`CheckEnv`: types, resolved names, segments); gives each usable
segment its `constants` and `env.defaults`, and reports what is wrong with the values.

Constants are computed by the reference interpreter (`backends/interpreter.py`) over each
expression lowered to the IR (`ir.build.expression`), never by running generated code, so
they are computed exactly as evaluation computes (`numbers.EXACT`: `+`, `-`, `*` exact or
refused; `/` to 50 digits; `round` in `numbers.ROUNDING`), and the checker can judge the
values: a ratio outside 0-100% (C220), a negative amount of money or months (C221), tier
bands that are not contiguous and increasing (C222), an enum table that misses members
(C223), and an override that goes below a parent's `floor` or above its `ceiling` (C215).

A ratio out of range because it is made from a parameter written as a bare number
(`80% * special_points` with `param special_points = 7`: "tier rate is 560%") is reported
once, at that parameter ("its uses need a ratio: write `7%`"), each value it put out of
range a related place, as the type pass does for a bare number used where a unit is needed.

A value that cannot be held exactly or is out of bounds is C224 at the expression that made
it: the interpreter's per-node hook (`_checked`) bounds every arithmetic result by its type,
and a failure is reported at the node the interpreter names (`error.node`). The pass is
total: whatever goes wrong is a diagnostic (C225 at worst), never an exception. A definition
with a type error is not computed at all (nor anything that uses it).
"""

from __future__ import annotations

import decimal
from decimal import Decimal, DecimalException

from policydsl.syntax import nodes as n
from policydsl.runtime import numbers
from policydsl.runtime import helpers as runtime
from policydsl.check import types as t
from policydsl.diagnostics.model import EvaluationError
from policydsl.syntax.lower import LITERAL_WHAT, literal_problem
from policydsl.check.env import CheckEnv
from policydsl.check.typing import is_bare_number, with_unit
from policydsl.diagnostics.model import Related
from policydsl.backends import facts, interpreter
from policydsl.ir import build
from policydsl.ir import nodes as ir


class _NotConstant(Exception):
    """Not computed, and nothing to report here: a name that is not a constant (an input,
    a rule, a loop variable, a constant that was not computed) or a literal out of bounds
    (P121), reported by an earlier pass."""


class _Refused(Exception):
    """A value that cannot be held exactly or is out of bounds (C224), at the AST node `at`."""

    def __init__(self, at, message: str):
        super().__init__(message)
        self.at = at


_MAGNITUDE = Decimal(10) ** numbers.MAGNITUDE_DIGITS


def _bounded(value, type_, node):
    """`value`, the result of the AST `node`, if it is within the bounds of its type; else C224."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, Decimal) and not value.is_finite():
        raise _Refused(node, f"`{node.span.text}` is not a finite number")
    if type_ == t.MONEY and abs(value) >= numbers.MONEY_LIMIT:
        raise _Refused(node, f"`{node.span.text}` is {_show(value, t.MONEY)} yuan; money must stay below {numbers.MONEY_LIMIT:,.0f} yuan")
    if type_ in t.WHOLE and abs(value) > numbers.INT_LIMIT:
        raise _Refused(node, _beyond_whole(node))
    if type_ in (t.RATIO, t.NUMBER) and abs(value) >= _MAGNITUDE:
        raise _Refused(node, f"`{node.span.text}` is {value:E}; a number must stay below 10^{numbers.MAGNITUDE_DIGITS}")
    return value


def _beyond_whole(node) -> str:
    return f"`{node.span.text}` is beyond ±{numbers.INT_LIMIT:,}, the range of whole numbers"


def _inexact(node, error: ArithmeticError) -> _Refused:
    """C224 at the AST `node` whose own operation raised the decimal signal `error`."""
    if isinstance(error, (decimal.Overflow, decimal.Underflow)):  # before Inexact: both are subclasses of it
        return _Refused(node, f"`{node.span.text}` is too large or too small to compute")
    if isinstance(error, decimal.Inexact):
        return _Refused(node, f"`{node.span.text}` cannot be computed exactly (it needs more than {numbers.PRECISION} significant digits)")
    return _Refused(node, f"`{node.span.text}` is not a number")


_ARITHMETIC = (ir.Negate, ir.Arith, ir.WholeArith, ir.WholeProduct, ir.NumberProduct, ir.Divide, ir.ShiftDate, ir.Compare)


def _checked(node: ir.Expr, value):
    """The interpreter's hook, called with every node's value: literals out of bounds are
    not computed (P121, reported when the text was read); every arithmetic result is bounded
    by its type (C224 at its expression); a set computed item by item is a frozenset, as a
    set of literals is."""
    match node:
        case ir.Const(ast=ast):
            for literal in ast.items if isinstance(ast, n.SetLiteral) else (ast,):
                if isinstance(literal, n.Literal) and literal.unit in LITERAL_WHAT and literal_problem(literal.value, LITERAL_WHAT[literal.unit]) is not None:
                    raise _NotConstant("a literal out of bounds (P121)")
            return value
        case ir.Tiers():
            return _bounded(value, t.MONEY, node.ast)
        case ir.SetOf():
            return frozenset(value)
        case _ if isinstance(node, _ARITHMETIC):
            return _bounded(value, node.type, node.ast)
    return value


def evaluate(expr, env: CheckEnv, values: dict):
    """The value of a constant expression (AST); `values` holds the constants computed so far.

    Lowered to the IR and computed by the reference interpreter, with `_checked` on every node.
    """
    try:
        lowered = build.expression(env, expr)
    except AssertionError:  # a construct the IR cannot hold: ill-typed, reported by an earlier pass
        raise _NotConstant(type(expr).__name__) from None
    try:
        return interpreter.evaluate(lowered, interpreter.Scope(values=values, check=_checked))
    except interpreter.Unbound as unbound:
        raise _NotConstant(str(unbound)) from None
    except (decimal.Inexact, decimal.Overflow, decimal.Underflow, decimal.InvalidOperation) as error:
        failed = _failed_at(lowered, error)
        raise _inexact(failed.ast if failed is not None else expr, error) from None
    except EvaluationError as error:
        failed = _failed_at(lowered, error)
        if error.code == "R407" and isinstance(failed, (ir.WholeProduct, ir.NumberProduct)):  # beyond ±10**18
            raise _Refused(failed.ast, _beyond_whole(failed.ast)) from None
        raise


def _failed_at(lowered: ir.Expr, error: Exception) -> ir.Expr | None:
    """The IR node the interpreter names as where `error` happened (`error.node`), if any."""
    node_id = getattr(error, "node", None)
    return next((node for node in ir.walk(lowered) if node.id == node_id), None)


def compute_constants(env: CheckEnv) -> None:
    """Fill `segment.constants` for every usable segment, then check the values.

    Reads `order`, `symbols`, `types`, `resolved`, `def_types`, `ill_typed`, `deps`, `segments`,
    `bounds`; adds each segment's `constants` and `defaults`. Evaluates with the reference
    interpreter (`backends/interpreter.py`) over the IR of each expression.
    """
    reported: set[tuple] = set()
    out_of_range: dict[str, list] = {}  # bare-number param -> (node, message) of the ratios it put out of range

    def report(code: str, message: str, node, hint: str | None = None) -> None:
        if (n.key(node), code) not in reported:
            reported.add((n.key(node), code))
            bare = _bare_numbers_read(env, node) if code == "C220" else []
            if bare:
                out_of_range.setdefault(bare[0], []).append((node, message))
                return
            if code.startswith("W"):
                env.warning(code, message, node.span, hint=hint)
            else:
                env.error(code, message, node.span, hint=hint)

    with decimal.localcontext(numbers.EXACT):
        for segment in env.segments:
            if not segment.in_force:
                continue
            values: dict = {}
            broken: set[str] = set()  # already reported as wrong (types, names, cycles): not computed
            for name in env.order:
                symbol = env.symbols.get(name)
                if symbol is None or symbol.kind not in ("param", "table", "tiers"):
                    continue
                if env.def_types.get(name) is t.ERROR or name in env.ill_typed or env.deps.get(name, set()) & broken:
                    broken.add(name)
                    continue
                if not _guarded(env, report, symbol.node, f"`{name}`", lambda: values.__setitem__(name, _compute(env, symbol, segment, values, report))):
                    broken.add(name)
            segment.constants = values
            _check_values(env, segment, report)
        _guarded(env, report, env.policy, "the field defaults", lambda: _compute_defaults(env, report))
    for name, uses in out_of_range.items():
        value = env.variants[name][0].value
        env.error(
            "C220",
            f"param `{name}` is a number; its uses need a ratio: write `{with_unit(value, t.RATIO)}`",
            value.span,
            hint="a number has no unit: a percentage is written with `%`",
            related=[Related(f"{message.split(';')[0]} here", node.span) for node, message in uses],
        )


def _bare_numbers_read(env: CheckEnv, node) -> list[str]:
    """The params written as bare numbers (above 1) that the AST `node` multiplies by, directly or
    in the value of a param it reads: `80% * special_points`."""
    found: set[str] = set()
    seen: set[str] = set()
    stack = [node]
    while stack:
        expr = stack.pop()
        if isinstance(expr, n.Binary) and expr.op == "*":
            for side in (expr.left, expr.right):
                symbol = env.resolved.get(n.key(side)) if isinstance(side, n.Name) else None
                if symbol is not None and symbol.kind == "param" and is_bare_number(env, symbol.name):
                    if all(abs(Decimal(_literal(v.value).value)) > 1 for v in env.variants[symbol.name]):
                        found.add(symbol.name)
        elif isinstance(expr, n.Name):
            symbol = env.resolved.get(n.key(expr))
            if symbol is not None and symbol.kind == "param" and symbol.name not in seen:
                seen.add(symbol.name)
                stack.extend(v.value for v in env.variants.get(symbol.name, ()) if v.value is not None)
        stack.extend(n.children(expr))
    return sorted(found)


def _literal(value):
    return value.operand if isinstance(value, n.Unary) else value


def _guarded(env, report, node, what: str, compute) -> bool:
    """Run `compute()`; whatever goes wrong is a diagnostic at `node` (the evaluator is total)."""
    try:
        compute()
        return True
    except (_NotConstant, KeyError):
        return False  # reported by an earlier pass (C207, C200, C202, C203)
    except _Refused as refused:
        report("C224", str(refused), refused.at, hint="policy values are exact; keep amounts below 10^15 yuan and numbers below 10^20")
    except EvaluationError as error:
        report(error.code, f"cannot compute {what}: {error}", node)
    except (DecimalException, ArithmeticError, OverflowError, ValueError) as error:
        report("R400", f"cannot compute {what}: {error}", node)
    except Exception as error:  # noqa: BLE001 - the evaluator is total: never a traceback
        report("C225", f"cannot compute {what}: {type(error).__name__}: {error}", node)
    return False


def _compute_defaults(env: CheckEnv, report) -> None:
    """Field defaults are read before a claim's date is known, so they may not use dated values."""
    usable = [s for s in env.segments if s.in_force and s.constants]
    values = usable[0].constants if usable else {}
    dated = {name for name, variants in env.variants.items() if any(v.validity is not None for v in variants)}
    for record in [None, *env.records]:
        for field in env.record_fields(record):
            if field.default is None:
                continue
            key = field.name if record is None else f"{record}.{field.name}"
            if key in env.ill_typed:
                continue
            uses_dated = sorted(env.deps.get(key, set()) & dated)
            if uses_dated:
                report("C218", f"the default of `{field.name}` uses `{uses_dated[0]}`, which has dated values", field.default, hint="a default must be the same on every day")
                continue
            _guarded(env, report, field.default, f"the default of `{field.name}`", lambda: _set_default(env, record, field, values, report))


def _set_default(env: CheckEnv, record, field, values: dict, report) -> None:
    value = env.defaults[(record, field.name)] = evaluate(field.default, env, values)
    problem = facts.value_problem(env.field_types.get((record, field.name)), value)
    if problem is not None:  # what the reader assures of a field, its default must be too
        report("C273", f"the default of `{field.name}` is not a value a claim could give it: {problem}", field.default)


def _compute(env: CheckEnv, symbol, segment, values: dict, report):
    if symbol.kind == "param":
        return evaluate(segment.active[symbol.name].value, env, values)
    if symbol.kind == "tiers":
        definition = segment.active[symbol.name]
        return tuple(
            (
                evaluate(band.lower, env, values),
                None if band.upper is None else evaluate(band.upper, env, values),
                evaluate(band.rate, env, values),
            )
            for band in definition.bands
        )
    rows = [r for r in segment.rows[symbol.name] if r.value is not None]
    default = next((evaluate(r.value, env, values) for r in rows if r.key is None), None)
    return runtime.Table({r.key: evaluate(r.value, env, values) for r in rows if r.key is not None}, symbol.name, default)


def _check_values(env: CheckEnv, segment, report) -> None:
    for name, value in segment.constants.items():
        symbol = env.symbols[name]
        _guarded(env, report, symbol.node, f"`{name}`", lambda: _check_value(env, segment, report, name, symbol, value))
    _guarded(env, report, env.policy, "the floors and ceilings", lambda: _check_bounds(env, segment, report))
    _guarded(env, report, env.policy, "the floors and ceilings", lambda: _check_moved_bounds(env, segment, report))


def _check_value(env: CheckEnv, segment, report, name: str, symbol, value) -> None:
    if symbol.kind == "param":
        _check_range(env.def_types.get(name), value, segment.active[name].value, f"parameter `{name}`", report)
    elif symbol.kind == "table":
        value_type = env.def_types.get(name)
        for row in segment.rows[name]:
            if row.value is None:
                continue
            row_value = value.default if row.key is None else value[row.key]
            _check_range(getattr(value_type, "value", None), row_value, row.value, f"table `{name}`", report)
        _check_coverage(env, symbol, value, report)
    elif symbol.kind == "tiers":
        _check_tiers(segment.active[name], value, report)


def _check_bounds(env: CheckEnv, segment, report) -> None:
    for child, parent in env.bounds:
        if segment.active.get(child.name) is not child or child.name not in segment.constants:
            continue  # not in force here, or not computed (its error is reported)
        if parent.validity is not None and not _overlaps(parent.validity, segment):
            continue  # a dated bound holds on its own days only
        try:
            floor = _parents_value(env, segment, parent.value, env.bound_sources(parent))
        except Exception:  # noqa: BLE001 - the parent's value is checked in the parent
            continue
        mine = segment.constants[child.name]
        if not _same_kind(mine, floor):
            continue  # `override param p = other_unit`: a type error, reported
        if not _beyond(parent.bound, mine, floor):
            continue
        shown = _show(floor, env.def_types.get(child.name))
        if parent.bound == "floor":
            report("C215", f"`{child.name}` may not be lowered below {shown}, the floor set at {n.name_span(parent).location}", child.value)
        else:
            report("C215", f"`{child.name}` may not be raised above {shown}, the ceiling set at {n.name_span(parent).location}", child.value)


def _beyond(bound: str, value, limit) -> bool:
    """Whether `value` is past `limit` as a `floor` (below it) or a `ceiling` (above it)."""
    return value < limit if bound == "floor" else value > limit


def _parents_value(env: CheckEnv, segment, value, replaced):
    """`value` as the parent computes it: with the parent's own values of the params in
    `replaced` (dependencies first), which overrides here replaced, and this segment's others."""
    values = segment.constants
    if replaced:
        values = dict(values)
        for source in replaced:
            if source.value is not None and (source.validity is None or _overlaps(source.validity, segment)):
                values[source.name] = evaluate(source.value, env, values)
    return evaluate(value, env, values)


def _check_moved_bounds(env: CheckEnv, segment, report) -> None:
    """W241: a `floor`/`ceiling` param this policy does not override, moved past the parent's
    value by an override of a param it is computed from."""
    for param, replaced in env.moved_bounds():
        if segment.active.get(param.name) is not param or param.name not in segment.constants:
            continue
        try:
            theirs = _parents_value(env, segment, param.value, replaced)
        except Exception:  # noqa: BLE001 - the parent's value is checked in the parent
            continue
        mine = segment.constants[param.name]
        if not _same_kind(mine, theirs) or not _beyond(param.bound, mine, theirs):
            continue
        names = {source.name for source in replaced}
        override = next(d for d in env.policy.definitions if isinstance(d, n.ParamDef) and d.name in names)
        type_ = env.def_types.get(param.name)
        way = "below its floor" if param.bound == "floor" else "above its ceiling"
        report(
            "W241",
            f"overriding `{override.name}` moves `{param.name}` to {_show(mine, type_)}, {way} {_show(theirs, type_)} "
            f"set at {n.name_span(param).location}",
            override.value if override.value is not None else override,
            hint=f"keep `{param.name}` at {_show(theirs, type_)} or {'above' if param.bound == 'floor' else 'below'}: "
            f"override it too, or change `{override.name}` less",
        )


def _overlaps(validity, segment) -> bool:
    """Whether the days of `validity` (both ends included) meet the segment's [start, end)."""
    if validity.end is not None and segment.start is not None and validity.end < segment.start:
        return False
    return not (validity.start is not None and segment.end is not None and validity.start >= segment.end)


def _same_kind(a, b) -> bool:
    numeric = (int, Decimal)
    return (isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and not isinstance(b, bool)) or type(a) is type(b)


def _show(value, type_=None) -> str:
    from policydsl.runtime import values as v

    return v.to_text(value, type_)


def _check_range(type_, value, node, what: str, report) -> None:
    if type_ == t.RATIO and not (0 <= value <= 1):
        report("C220", f"{what} is {_show_ratio(value)}; a ratio must be between 0% and 100%", node)
    elif type_ in (t.MONEY, t.MONTHS) and value < 0:
        report("C221", f"{what} is negative ({_show(value, type_)}); it must be 0 or more", node)


def _show_ratio(value: Decimal) -> str:
    from policydsl.runtime import values as v

    return v.percent(Decimal(value)) if isinstance(value, (int, Decimal)) else str(value)


def _check_coverage(env: CheckEnv, symbol, table, report) -> None:
    value_type = env.def_types.get(symbol.name)
    key_type = getattr(value_type, "key", None)
    if not isinstance(key_type, t.EnumType) or table.default is not None:
        return
    missing = [m for m in key_type.members if m not in table]
    if not missing:
        return
    listed = ", ".join(f"`{m}`" for m in missing)
    enum = env.enums.get(key_type.name)
    if symbol.node.span.source.name != env.source.name and enum is not None and enum.span.source.name == env.source.name:
        # The table is inherited but this policy changed its key's members: point here.
        report(
            "C223",
            f"table `{symbol.name}` (inherited from {symbol.node.span.source.name}) has no row for {listed} of {key_type.name}",
            enum,
            hint=f"add `override table {symbol.name} {{ {missing[0]}: ... }}`",
        )
        return
    report("C223", f"table `{symbol.name}` has no row for {listed} of {key_type.name}", symbol.node, hint="add the missing rows, or a `default:` row")


def _check_tiers(definition: n.TiersDef, bands, report) -> None:
    for index, ((low, high, _rate), band) in enumerate(zip(bands, definition.bands)):
        if high is not None and high <= low:
            report("C222", f"tier band ends ({_show(high)}) at or before it starts ({_show(low)})", band)
        if high is None and index != len(bands) - 1:
            report("C222", "only the last tier band may be open-ended (`above`)", band)
        if index + 1 < len(bands):
            next_low = bands[index + 1][0]
            if high is not None and next_low != high:
                gap = "a gap" if next_low > high else "an overlap"
                report(
                    "C222",
                    f"tier bands leave {gap}: this band ends at {_show(high)} but the next starts at {_show(next_low)}",
                    definition.bands[index + 1],
                    hint="each band must start where the previous one ends",
                )
        if not (0 <= _rate <= 1):
            report("C220", f"tier rate is {_show_ratio(_rate)}; a ratio must be between 0% and 100%", band.rate)
