"""The type pass: infer every expression's unit and report mismatches (C203).

`money + ratio`, `money < months`, `max(0, money)` are errors here, each with a hint
saying how the author probably meant it.

A unit slip is reported at its root: a parameter written as a bare number
(`param special_points = 5`, meant as 5%) whose uses need a ratio, money or months is one
error at the parameter ("param `special_points` is a number; its uses need a ratio: write
`5%`"), with each use as a related place, instead of an error at every use (`unit_error`
keeps them, `_report_unit_slips` decides). So is an override of a `floor`/`ceiling` parent
whose value has a unit. Uses that need different units are reported where they are, as
every other type error is.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from policydsl.syntax import nodes as n
from policydsl.check import types as t
from policydsl.check.env import CheckEnv
from policydsl.diagnostics.model import Related, with_article

_ROUNDING_MODES = ("half_up", "half_even", "down", "up")
UNITS = (t.MONEY, t.RATIO, t.MONTHS)  # what a bare number was likely meant to be
_A = {t.MONEY: "money", t.RATIO: "a ratio", t.MONTHS: "months"}
_SLIP_HINT = {
    t.RATIO: "a number has no unit: a percentage is written with `%`",
    t.MONEY: "a number has no unit: an amount of money is written with `yuan` (or `元`)",
    t.MONTHS: "a number has no unit: a number of months is written with `months`",
}


@attrs.frozen
class _Slip:
    """A use of a bare-number parameter where `needed` is wanted, and the error it would be."""

    needed: object
    use: object  # the expression that reads the parameter
    message: str
    node: object  # where the error would be reported
    hint: str | None
    related: str | None = None


def _describe(type_) -> str:
    return str(type_)


class _Inferrer:
    def __init__(self, env: CheckEnv):
        self.env = env
        self.slips: dict[str, list[_Slip]] = {}  # bare-number param -> its uses that need a unit
        self.deferred = 0  # errors kept in `slips` (each counts as an error where it is)
        self._bare: dict[str, bool] = {}

    def error(self, message: str, node, hint: str | None = None):
        self.env.error("C203", message, node.span, hint=hint)
        return t.ERROR

    def unit_error(self, message: str, node, hint: str | None = None, uses=()):
        """C203 at `node`, unless one of `uses` ((expression, the unit it needs)) reads a bare-number
        parameter where a unit is needed: then the error is kept, to be reported at the parameter."""
        for expr, needed in uses:
            name = self.bare_number(expr) if needed in UNITS else None
            if name is not None:
                self.slips.setdefault(name, []).append(_Slip(needed, expr, message, node, hint))
                self.deferred += 1
                return t.ERROR
        return self.error(message, node, hint)

    def bare_number(self, expr) -> str | None:
        """The parameter `expr` reads (`p` or `-p`) when it is a bare number: no declared type,
        every value a number literal without a unit."""
        if isinstance(expr, n.Unary) and expr.op == "-":
            expr = expr.operand
        if not isinstance(expr, n.Name):
            return None
        symbol = self.env.resolved.get(n.key(expr))
        if symbol is None or symbol.kind != "param":
            return None
        if symbol.name not in self._bare:
            self._bare[symbol.name] = is_bare_number(self.env, symbol.name)
        return symbol.name if self._bare[symbol.name] else None

    def infer(self, expr, scope: dict[str, object]):
        result = self._infer(expr, scope)
        self.env.types[n.key(expr)] = result
        return result

    def expect(self, expr, scope, wanted: tuple, what: str):
        got = self.infer(expr, scope)
        if got is t.ERROR or got in wanted:
            return got
        names = " or ".join(str(w) for w in wanted)
        return self.unit_error(f"{what} must be {names}, not {got}", expr, uses=[(expr, wanted[0])] if len(wanted) == 1 else ())

    def _infer(self, expr, scope):  # noqa: C901 - one dispatch over node kinds
        env = self.env
        match expr:
            case n.Literal(unit=unit):
                return t.BUILTIN_TYPES[unit] if unit in t.BUILTIN_TYPES else t.NUMBER
            case n.Name(id=name):
                if name in scope:
                    return scope[name]
                symbol = env.resolved.get(n.key(expr))
                if symbol is None:
                    return t.ERROR
                return self.symbol_type(symbol, expr)
            case n.Attr(obj=obj, field=field):
                symbol = env.resolved.get(n.key(expr))
                if symbol is not None and symbol.kind == "member":
                    enum_name = obj.id
                    return t.EnumType(enum_name, tuple(m.value for m in env.enums[enum_name].members))
                if isinstance(obj, n.Name) and obj.id in env.enums and obj.id not in scope:
                    return t.ERROR  # unknown member, reported by resolve_names
                obj_type = self.infer(obj, scope)
                if obj_type is t.ERROR:
                    return t.ERROR
                if not isinstance(obj_type, t.RecordType):
                    return self.error(f"{obj_type} has no fields; `.{field}` needs a record", expr)
                fields = [f.name for f in env.records[obj_type.name].fields]
                if field not in fields:
                    return self.error(
                        f"record {obj_type.name} has no field `{field}`",
                        expr,
                        hint=env.suggest(field, fields) or f"fields: {', '.join(fields)}",
                    )
                env.field_index[n.key(expr)] = fields.index(field)
                return env.field_types[(obj_type.name, field)]
            case n.Index(obj=obj, key=key):
                symbol = env.resolved.get(n.key(obj)) if isinstance(obj, n.Name) else None
                key_type = self.infer(key, scope)
                if symbol is None:
                    if not isinstance(obj, n.Name):
                        return self.error("only a table can be indexed with `[...]`", expr)
                    return t.ERROR
                if symbol.kind != "table":
                    return self.error(f"`{obj.id}` is {with_article(symbol.kind)}; only a table can be indexed with `[...]`", expr)
                table_type = self.symbol_type(symbol, obj)
                if table_type is t.ERROR:
                    return t.ERROR
                self.env.types[n.key(obj)] = table_type
                if not self.key_fits(table_type.key, key_type, key):
                    return self.error(
                        f"table `{obj.id}` is keyed by {table_type.key}, not {key_type}", key
                    )
                return table_type.value
            case n.Unary(op="not", operand=operand):
                self.expect(operand, scope, (t.BOOL,), "the operand of `not`")
                return t.BOOL
            case n.Unary(op="-", operand=operand):
                return self.expect(operand, scope, (t.MONEY, t.RATIO, t.INT, t.NUMBER, t.MONTHS), "the operand of `-`")
            case n.Binary(op="and" | "or" as op, left=left, right=right):
                self.expect(left, scope, (t.BOOL,), f"each side of `{op}`")
                self.expect(right, scope, (t.BOOL,), f"each side of `{op}`")
                return t.BOOL
            case n.Binary(op="+" | "-" | "*" | "/" as op, left=left, right=right):
                lt, rt = self.infer(left, scope), self.infer(right, scope)
                if t.ERROR in (lt, rt):
                    return t.ERROR
                result = t.ARITHMETIC.get((op, lt, rt))
                if result is None:
                    verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[op]
                    pair = f"{lt} and {rt}" if op in "+*" else (f"{rt} from {lt}" if op == "-" else f"{lt} by {rt}")
                    uses = _numeric_sides(((left, lt), (right, rt)), dates_move_by_months=True) if op in "+-" else ()
                    return self.unit_error(f"cannot {verb} {pair}", expr, hint=t.arithmetic_hint(op, lt, rt), uses=uses)
                return result
            case n.Binary(op=op, left=left, right=right):  # comparisons
                lt, rt = self.infer(left, scope), self.infer(right, scope)
                if t.ERROR in (lt, rt):
                    return t.BOOL
                uses = _numeric_sides(((left, lt), (right, rt)))
                if op in ("=", "!="):
                    if not self.comparable(lt, rt, left, right):
                        self.unit_error(f"cannot compare {lt} with {rt}", expr, hint=self.compare_hint(lt, rt), uses=uses)
                    return t.BOOL
                if not (t.unify(lt, rt) in t.ORDERED):
                    self.unit_error(
                        f"cannot order {lt} and {rt} with `{op}`",
                        expr,
                        hint=self.compare_hint(lt, rt) or "`<`, `<=`, `>`, `>=` compare two values of the same unit",
                        uses=uses,
                    )
                return t.BOOL
            case n.Member(element=element, container=container):
                et, ct = self.infer(element, scope), self.infer(container, scope)
                if t.ERROR in (et, ct):
                    return t.BOOL
                if isinstance(ct, t.SetType):
                    if not self.comparable(et, ct.element, element, None):
                        self.error(f"{with_article(et)} cannot be in a {ct}", expr)
                    elif isinstance(et, t.EnumType) and isinstance(container, n.SetLiteral):
                        for item in container.items:  # `level in {5}`: as `level = 5`, a number must be a member
                            if isinstance(item, n.Literal) and not self.comparable(et, ct.element, element, item):
                                self.error(f"{item.value} is not a member of {et} ({', '.join(map(str, et.members))})", item)
                elif isinstance(ct, t.TableType):
                    if not self.key_fits(ct.key, et, element):
                        self.error(f"a {et} cannot be a key of a table keyed by {ct.key}", expr)
                else:
                    self.error(f"`in` needs a set or a table, not {ct}", container)
                return t.BOOL
            case n.Call(func=func, args=args):
                return self.call(expr, func, args, scope)
            case n.ApplyTiers(lower=lower, upper=upper):
                self.expect(lower, scope, (t.MONEY,), "the start of a tier band")
                self.expect(upper, scope, (t.MONEY,), "the end of a tier band")
                return t.MONEY
            case n.Aggregate(kind=kind, var=var, source=source, body=body, where=where):
                source_type = self.infer(source, scope)
                if source_type is t.ERROR:
                    element = t.ERROR
                elif not isinstance(source_type, t.ListType):
                    self.error(f"`{kind}` goes over a list, not {source_type}", source)
                    element = t.ERROR
                else:
                    element = source_type.element
                inner = {**scope, var: element}
                if where is not None:
                    self.expect(where, inner, (t.BOOL,), "a `where` condition")
                if kind == "sum":
                    return self.expect(body, inner, t.SUMMABLE, "what `sum` adds up")
                return t.INT if kind == "count" else t.BOOL
            case n.SetLiteral(items=items):
                if not items:
                    return self.error("an empty set has no element type", expr)
                types = [self.infer(item, scope) for item in items]  # each item once: one message each
                if t.ERROR in types:
                    return t.ERROR  # `{a, -b}`: the item's error is reported; the set is not a set of <error>
                common = None
                for item, item_type in zip(items, types):
                    if not isinstance(item_type, (t.Scalar, t.EnumType, t.MemberType)):
                        return self.error(f"a set holds single values (numbers, money, dates, enum members), not a {item_type}", item)
                    merged = item_type if common is None else t.unify(common, item_type)
                    if merged is None:
                        return self.error(f"a set mixes {common} and {item_type}", item)
                    common = merged
                if isinstance(common, t.MemberType):
                    if len(common.candidates) == 1:
                        common = self.enum_type(next(iter(common.candidates)))
                    else:
                        return self.error(
                            f"the members of this set belong to several enums ({', '.join(sorted(common.candidates))})",
                            expr,
                            hint="qualify one member, e.g. `Enum.member`",
                        )
                return t.SetType(common)
            case n.Let(name=name, value=value, body=body):
                return self.infer(body, {**scope, name: self.infer(value, scope)})
            case n.Conditional(branches=branches):
                common = None
                earlier = []  # (value, type) of the branches so far
                for branch in branches:
                    if branch.condition is not None:
                        self.expect(branch.condition, scope, (t.BOOL,), "a `when` condition")
                    value_type = self.infer(branch.value, scope)
                    earlier.append((branch.value, value_type))
                    if common is None:
                        common = value_type
                        continue
                    merged = t.unify(common, value_type)
                    if merged is None:
                        uses = [(branch.value, common)] if value_type in t.NUMERIC else [(v, value_type) for v, vt in earlier[:-1] if vt in t.NUMERIC]
                        self.unit_error(
                            f"this branch gives {value_type} but an earlier one gives {common}",
                            branch.value,
                            hint="every branch of a conditional must give the same unit",
                            uses=uses,
                        )
                        return t.ERROR
                    common = merged
                return common
            case _:
                raise AssertionError(expr)

    # ---- helpers -----------------------------------------------------------
    def enum_type(self, name: str) -> t.EnumType:
        return t.EnumType(name, tuple(m.value for m in self.env.enums[name].members))

    def symbol_type(self, symbol, node):
        env = self.env
        match symbol.kind:
            case "input":
                return env.field_types.get((None, symbol.name), t.ERROR)
            case "param" | "rule" | "table":
                return env.def_types.get(symbol.name, t.ERROR)
            case "tiers":
                return self.error(f"`{symbol.name}` is a tier schedule; apply it with `{symbol.name}(from A to B)`", node)
            case "member":
                candidates = env.enum_of_member[symbol.value]
                if len(candidates) == 1:
                    return self.enum_type(candidates[0])
                return t.MemberType(symbol.value, frozenset(candidates))
            case "loop":
                return t.ERROR
            case _:
                raise AssertionError(symbol)

    def comparable(self, a, b, a_node, b_node) -> bool:
        if t.unify(a, b) is not None:
            return True
        # An enum of whole numbers (hospital level 1, 2, 3) compares with ints; a literal
        # int must be one of its members.
        for enum_side, other, other_node in ((a, b, b_node), (b, a, a_node)):
            if isinstance(enum_side, t.EnumType) and other == t.INT:
                if isinstance(other_node, n.Literal):
                    return other_node.value in enum_side.members
                return all(isinstance(m, int) for m in enum_side.members)
        return False

    def key_fits(self, key_type, got, key_node) -> bool:
        if got is t.ERROR or key_type is t.ERROR:
            return True
        return self.comparable(key_type, got, None, key_node)

    @staticmethod
    def compare_hint(a, b) -> str | None:
        pair = {str(a), str(b)}
        if "money" in pair and pair & {"int", "number"}:
            return "write the number with its unit, e.g. `15000 yuan`"
        if "months" in pair and "int" in pair:
            return "write the number with its unit, e.g. `3 months`"
        if "money" in pair and "months" in pair:
            return "money and months are different units and cannot be compared"
        return None

    def call(self, expr, func, args, scope):
        if func in ("min", "max"):
            if len(args) < 2:
                return self.error(f"`{func}` takes two or more values", expr)
            return self.same_unit(expr, func, args, scope)
        if func == "clamp":
            if len(args) != 3:
                return self.error("`clamp` takes three values: clamp(value, lowest, highest)", expr)
            return self.same_unit(expr, func, args, scope)
        if func == "round":
            if len(args) == 1:
                self.infer(args[0], scope)
                return self.error(
                    "`round` needs a rounding mode",
                    expr,
                    hint="rounding is explicit: round(x, half_up); modes: " + ", ".join(_ROUNDING_MODES),
                )
            if len(args) > 3:
                for arg in args[2:]:
                    self.infer(arg, scope)
                return self.error(
                    f"`round` takes a value, a mode and a step, not {len(args)} values: round(x, half_up) or round(x, half_up, 10 yuan)",
                    expr,
                )
            mode = args[1]
            if not (isinstance(mode, n.Name) and mode.id in _ROUNDING_MODES):
                self.infer(args[0], scope)
                return self.error(
                    f"unknown rounding mode `{mode.span.text}`",
                    mode,
                    hint=self.env.suggest(mode.span.text, _ROUNDING_MODES) or "modes: " + ", ".join(_ROUNDING_MODES),
                )
            if len(args) == 3:
                return self.rounding_step(expr, args[0], args[2], scope)
            return self.expect(args[0], scope, (t.MONEY,), "what `round` rounds to the fen")
        if func in _DATE_SIGNATURES:
            wanted, result = _DATE_SIGNATURES[func]
            if len(args) != len(wanted):
                for arg in args:
                    self.infer(arg, scope)
                return self.error(f"`{func}` takes {len(wanted)} value{'s' if len(wanted) != 1 else ''}: {_DATE_USAGE[func]}", expr)
            for arg, kind in zip(args, wanted):
                if self.expect(arg, scope, (kind,), f"the {'date' if kind == t.DATE else 'number of days'} of `{func}`") is t.ERROR:
                    return t.ERROR
            return result
        symbol = self.env.symbols.get(func)
        if symbol is not None and symbol.kind == "function":
            return self.function_call(expr, symbol.node, args, scope)
        for arg in args:
            self.infer(arg, scope)
        functions = [s for s, sym in self.env.symbols.items() if sym.kind == "function"]
        known = ("min", "max", "clamp", "round", *_DATE_SIGNATURES, *functions)
        return self.error(
            f"unknown function `{func}`",
            expr,
            hint=self.env.suggest(func, known) or f"functions are: {', '.join(known)}; tier schedules are applied as NAME(from A to B)",
        )

    def function_call(self, expr, function: n.FunctionDef, args, scope):
        """`f(a, b)`: as many values as it has parameters, each of its parameter's type."""
        from policydsl.check.passes import resolve_type

        wanted = [(p, resolve_type(self.env, p.type)) for p in function.params]
        types = [self.infer(arg, scope) for arg in args]
        if len(args) != len(wanted):
            listed = ", ".join(f"{p.name}: {kind}" for p, kind in wanted)
            return self.error(f"`{function.name}` takes {len(wanted)} value{'s' if len(wanted) != 1 else ''} ({listed}), not {len(args)}", expr)
        for arg, got, (param, kind) in zip(args, types, wanted):
            if t.ERROR in (got, kind):
                continue
            # `comparable` only for what does not unify (an int for an enum of whole numbers): a number
            # unifies with an int, but is no value for an int parameter
            common = t.unify(kind, got)
            if not (common == kind or _int_is_number(kind, got) or (common is None and self.comparable(kind, got, None, arg))):
                self.unit_error(f"parameter `{param.name}` of `{function.name}` is {kind}, not {got}", arg, uses=[(arg, kind)])
        return resolve_type(self.env, function.type)

    def rounding_step(self, expr, value, step, scope):
        """`round(x, mode, STEP)`: STEP a power of ten written out, of x's type (money to
        10 yuan or 0.1 yuan, a ratio to 0.1%, a number to 0.001)."""
        value_type = self.expect(value, scope, (t.MONEY, t.RATIO, t.NUMBER), "what `round` rounds")
        if value_type is t.ERROR:
            return t.ERROR
        literal = step if isinstance(step, n.Literal) and isinstance(step.value, Decimal | int) and not isinstance(step.value, bool) else None
        step_type = self.infer(step, scope)
        if literal is None or step_type not in (value_type, *((t.INT,) if value_type == t.NUMBER else ())):
            example = {t.MONEY: "10 yuan", t.RATIO: "0.1%", t.NUMBER: "0.001"}[value_type]
            return self.error(f"the step of `round` must be a {value_type} written out, like {example}", step)
        exact = Decimal(literal.value)
        if not exact.is_finite() or exact <= 0 or exact.normalize().as_tuple().digits != (1,):
            return self.error(f"the step of `round` must be a power of ten (10 yuan, 0.1%, 0.001), not {step.span.text}", step)
        if value_type == t.MONEY and exact < Decimal("0.01"):
            return self.error("money is rounded to the fen at most: the step must be 0.01 yuan or more", step)
        return value_type

    def same_unit(self, expr, func, args, scope):
        types = [self.infer(arg, scope) for arg in args]
        if t.ERROR in types:
            return t.ERROR
        common = types[0]
        for index, (arg, arg_type) in enumerate(zip(args[1:], types[1:]), start=1):
            merged = t.unify(common, arg_type)
            if merged is None:
                uses = [(arg, common)] if arg_type in t.NUMERIC else [(a, arg_type) for a, at in zip(args[:index], types[:index]) if at in t.NUMERIC]
                return self.unit_error(
                    f"`{func}` mixes {common} and {arg_type}",
                    arg,
                    hint=self.compare_hint(common, arg_type) or f"all values given to `{func}` must have the same unit",
                    uses=uses,
                )
            common = merged
        if common not in t.ORDERED:
            return self.error(f"`{func}` needs values that can be ordered, not {common}", expr)
        return common


def infer_definitions(env: CheckEnv) -> None:
    """Infer the type of each param, table and rule in dependency order; check declared types.

    Reads `order`, `resolved`, `field_types`, `variants`; adds `types` (by node key),
    `def_types`, `field_index` (by node key), `ill_typed`.
    """
    inferrer = _Inferrer(env)
    from policydsl.check.passes import resolve_type  # the type resolver lives with the passes

    for name in env.order:
        symbol = env.symbols.get(name)
        if symbol is None:
            continue
        node = symbol.node
        before, kept = len(env.diagnostics), inferrer.deferred
        _infer_definition(env, inferrer, name, symbol, node, resolve_type)
        if _errors_since(env, before) or inferrer.deferred > kept:
            env.ill_typed.add(name)  # the constants pass does not compute it (nor what uses it)
    for record in env.records.values():
        for field in record.fields:
            before, kept = len(env.diagnostics), inferrer.deferred
            _check_default(env, inferrer, field, env.field_types.get((record.name, field.name), t.ERROR))
            if _errors_since(env, before) or inferrer.deferred > kept:
                env.ill_typed.add(f"{record.name}.{field.name}")
    for invariant in env.invariants:
        inferrer.expect(invariant.condition, {}, (t.BOOL,), f"invariant `{invariant.name}`")
    for require in env.requires:
        inferrer.expect(require.condition, {}, (t.BOOL,), f"`require {require.field}`")
    before = len(env.diagnostics)  # a parent's floor/ceiling value: typed, judged in the parent
    kept = {name: list(slips) for name, slips in inferrer.slips.items()}
    replaced = [s for _child, parent in env.bounds for s in env.bound_sources(parent)]
    replaced += [s for _param, sources in env.moved_bounds() for s in sources]
    for value in (*(s.value for s in replaced if s.value is not None), *(parent.value for _child, parent in env.bounds)):
        if n.key(value) not in env.types:
            inferrer.infer(value, {})
    del env.diagnostics[before:]
    inferrer.slips = kept  # nor what it would say of a bare number
    _bounded_slips(env, inferrer)
    _report_unit_slips(env, inferrer)


def _numeric_sides(sides, dates_move_by_months: bool = False):
    """For a pair of operands that do not fit: each side that is a number, with the unit the other side has
    (a date moves by months)."""
    (left, lt), (right, rt) = sides
    uses = []
    for (expr, own), other in (((right, rt), lt), ((left, lt), rt)):
        if own in t.NUMERIC:
            uses.append((expr, t.MONTHS if dates_move_by_months and other == t.DATE else other))
    return uses


def is_bare_number(env: CheckEnv, name: str) -> bool:
    """Whether param `name` is written as a bare number: no declared type, each value a number
    literal without a unit (`param special_points = 5`)."""
    variants = env.variants.get(name) or []
    if not variants or env.def_types.get(name) not in t.NUMERIC:
        return False
    for variant in variants:
        value = variant.value
        if isinstance(value, n.Unary) and value.op == "-":
            value = value.operand
        if variant.type is not None or not (isinstance(value, n.Literal) and value.unit in ("int", "number")):
            return False
    return True


def with_unit(value, unit) -> str:
    """A number literal written with `unit`: `5` -> `5%`, `0.05` -> `5%` (a fraction as a ratio), `5 yuan`."""
    text = value.span.text.strip() if value.span is not None else str(value.value)
    if unit == t.RATIO:
        literal = value.operand if isinstance(value, n.Unary) else value
        number = Decimal(literal.value)
        if 0 < abs(number) < 1:  # 0.05 written for 5%
            shown = format((number * 100).normalize(), "f")
            return f"{'-' if isinstance(value, n.Unary) else ''}{shown}%"
        return f"{text}%"
    return f"{text} yuan" if unit == t.MONEY else f"{text} months"


def _bounded_slips(env: CheckEnv, inferrer: _Inferrer) -> None:
    """An override of a `floor`/`ceiling` param written as a bare number where the parent's value has a unit."""
    for child, parent in env.bounds:
        parent_type = env.types.get(n.key(parent.value))
        if parent_type in UNITS and is_bare_number(env, child.name) and child.name not in env.ill_typed:
            slips = inferrer.slips.setdefault(child.name, [])
            slips.append(_Slip(parent_type, parent.value, "", child.value, None, related=f"the value it overrides is {_A[parent_type]} here"))


def _report_unit_slips(env: CheckEnv, inferrer: _Inferrer) -> None:
    """Each bare-number param whose uses need one unit: one C203 at the param, its uses related;
    uses that need different units: the error at each use, as if the param were not bare."""
    for name, slips in inferrer.slips.items():
        needs = {slip.needed for slip in slips}
        if len(needs) != 1:
            for slip in slips:
                if slip.message:
                    env.error("C203", slip.message, slip.node.span, hint=slip.hint)
            continue
        needed = needs.pop()
        value = env.variants[name][0].value
        env.ill_typed.add(name)
        related = [Related(slip.related or f"used as {_A[needed]} here", slip.use.span) for slip in slips]
        env.error(
            "C203",
            f"param `{name}` is a number; its uses need {_A[needed]}: write `{with_unit(value, needed)}`",
            value.span,
            hint=_SLIP_HINT[needed],
            related=related,
        )


def _errors_since(env: CheckEnv, before: int) -> bool:
    """Whether an error was reported after the first `before` diagnostics (diagnostics are only appended)."""
    return any(d.is_error for d in env.diagnostics[before:])


def _infer_definition(env: CheckEnv, inferrer: _Inferrer, name: str, symbol, node, resolve_type) -> None:
    match symbol.kind:
        case "function":
            declared = resolve_type(env, node.type)
            params = {p.name: resolve_type(env, p.type) for p in node.params}
            if isinstance(declared, (t.ListType, t.RecordType)):
                inferrer.error(f"function `{name}` gives {declared}: a function gives one value (money, a ratio, a number, a date, ...)", node.type)
            got = inferrer.infer(node.body, params)
            if t.ERROR not in (got, declared) and t.unify(declared, got) != declared and not _int_is_number(declared, got):
                inferrer.unit_error(f"function `{name}` is declared {declared}, but its body gives {got}", node.body, hint=t.arithmetic_hint("+", declared, got), uses=[(node.body, declared)])
            env.def_types[name] = t.ERROR if name in env.in_cycle else declared
        case "param" | "rule":
            result = None
            for variant in env.variants[name]:
                variant_type = _infer_variant(env, inferrer, name, variant, symbol.kind)
                if result is None or result is t.ERROR:
                    result = variant_type
                elif variant_type is not t.ERROR and t.unify(result, variant_type) is None:
                    inferrer.error(
                        f"the dated values of `{name}` have different units: {result} and {variant_type}",
                        variant.value if symbol.kind == "param" else variant.body,
                    )
            env.def_types[name] = t.ERROR if name in env.in_cycle else result
        case "table":
            key_type = resolve_type(env, node.key_type)
            value_type = resolve_type(env, node.value_type)
            for row in node.rows:
                if row.value is None:  # `drop KEY` outside an override: reported (C208)
                    continue
                got = inferrer.infer(row.value, {})
                if t.ERROR not in (got, value_type) and t.unify(value_type, got) != value_type and not _int_is_number(value_type, got):
                    inferrer.unit_error(f"table `{name}` holds {value_type}, but this row is {got}", row.value, hint=t.arithmetic_hint("+", value_type, got), uses=[(row.value, value_type)])
            env.def_types[name] = t.TableType(key_type, value_type) if t.ERROR not in (key_type, value_type) else t.ERROR
        case "tiers":
            for variant in env.variants[name]:
                for band in variant.bands:
                    inferrer.expect(band.lower, {}, (t.MONEY,), "a tier bound")
                    if band.upper is not None:
                        inferrer.expect(band.upper, {}, (t.MONEY,), "a tier bound")
                    inferrer.expect(band.rate, {}, (t.RATIO,), "a tier rate")
        case "input":
            _check_default(env, inferrer, node, env.field_types.get((None, name), t.ERROR))


def _infer_variant(env: CheckEnv, inferrer: _Inferrer, name: str, node, kind: str):
    from policydsl.check.passes import resolve_type

    expr = node.value if kind == "param" else node.body
    if expr is None:  # `param NAME: TYPE required`: its type is the declared one
        from policydsl.check.passes import resolve_type as _resolve

        return _resolve(env, node.type)
    inferred = inferrer.infer(expr, {})
    declared = resolve_type(env, node.type) if node.type is not None else None
    if declared is not None and inferred is not t.ERROR and declared is not t.ERROR:
        if t.unify(declared, inferred) != declared and not _int_is_number(declared, inferred):
            inferrer.unit_error(
                f"`{name}` is declared {declared} but its value is {inferred}",
                expr,
                hint=t.arithmetic_hint("+", declared, inferred) if {str(declared), str(inferred)} & {"money", "months"} else None,
                uses=[(expr, declared)],
            )
    result = declared if declared is not None else inferred
    if isinstance(result, t.MemberType):
        result = inferrer.enum_type(sorted(result.candidates)[0])
    return result


def _int_is_number(declared, inferred) -> bool:
    return declared == t.NUMBER and inferred == t.INT


_DATE_SIGNATURES = {
    "add_days": ((t.DATE, t.INT), t.DATE),
    "days_between": ((t.DATE, t.DATE), t.INT),
    "months_between": ((t.DATE, t.DATE), t.MONTHS),
    "years_between": ((t.DATE, t.DATE), t.INT),
    "age": ((t.DATE, t.DATE), t.INT),
    "year_start": ((t.DATE,), t.DATE),
}
_DATE_USAGE = {
    "add_days": "add_days(date, days)",
    "days_between": "days_between(from, to)",
    "months_between": "months_between(from, to)",
    "years_between": "years_between(from, to)",
    "age": "age(birth_date, on_day)",
    "year_start": "year_start(date)",
}
_LIMITED = (t.INT, t.MONTHS, t.MONEY, t.RATIO, t.NUMBER, t.DATE)


def _check_limits(env: CheckEnv, field: n.Field, declared) -> None:
    """A field's limits (`age: int in 0..150`): numbers written out, of the field's type,
    on a type with an order (C267); a default outside them is C267 too."""
    if not field.limits or declared is t.ERROR:
        return
    if declared not in _LIMITED:
        env.error("C267", f"field `{field.name}` is {declared}, which has no order to limit", field.limits[0][1].span or field.span,
                  hint="limits are for int, months, money, ratio, number and date fields")
        return
    values = []
    kinds = (declared, *((t.INT,) if declared == t.NUMBER else ()))  # the literals a limit (or a default) of it may be
    for op, bound in field.limits:
        value = limit_value(bound)
        if value is None or _literal_type(bound) not in kinds:
            env.error("C267", f"a limit of `{field.name}` must be written out as {declared}, like {_EXAMPLE[declared]}", bound.span or field.span)
            return
        values.append((op, value))
    if len(values) == 2 and values[0][1] > values[1][1]:
        env.error("C267", f"the limits of `{field.name}` admit no value: {values[0][1]} is above {values[1][1]}", field.limits[0][1].span or field.span)
    # a default of another type is C203 (`_check_default`); a negated literal (`= -1`) is checked too
    default = limit_value(field.default) if field.default is not None else None
    if default is not None and _literal_type(field.default) in kinds and not limits_hold(values, default):
        env.error("C267", f"the default of `{field.name}` is outside its limits", field.default.span or field.span)


_EXAMPLE = {t.INT: "`150`", t.MONTHS: "`3 months`", t.MONEY: "`1_000_000 yuan`", t.RATIO: "`100%`", t.NUMBER: "`1.5`", t.DATE: "`2025-01-01`"}


def _literal_type(bound):
    literal = bound.operand if isinstance(bound, n.Unary) else bound
    return t.BUILTIN_TYPES.get(literal.unit, t.NUMBER) if isinstance(literal, n.Literal) else None


def limit_value(bound):
    """The value of a limit's bound (a literal, or a negated number literal), or None."""
    if isinstance(bound, n.Literal) and not isinstance(bound.value, (bool, str)):
        return bound.value
    if isinstance(bound, n.Unary) and bound.op == "-" and isinstance(bound.operand, n.Literal) and isinstance(bound.operand.value, (int, Decimal)) and not isinstance(bound.operand.value, bool):
        return -bound.operand.value
    return None


def limit_pairs(field: n.Field) -> tuple:
    """A checked field's limits as (op, value) pairs."""
    return tuple((op, limit_value(bound)) for op, bound in field.limits)


def limits_hold(pairs, value) -> bool:
    """Whether `value` is inside every (op, bound) of `pairs`."""
    for op, bound in pairs:
        if not (value >= bound if op == ">=" else value > bound if op == ">" else value <= bound if op == "<=" else value < bound):
            return False
    return True


def _check_default(env: CheckEnv, inferrer: _Inferrer, field: n.Field, declared) -> None:
    _check_limits(env, field, declared)
    if field.default is None:
        return
    got = inferrer.infer(field.default, {})
    if t.ERROR in (got, declared):
        return
    if t.unify(declared, got) != declared and not _int_is_number(declared, got):
        inferrer.unit_error(f"field `{field.name}` is {declared} but its default is {got}", field.default, hint=t.arithmetic_hint("+", declared, got), uses=[(field.default, declared)])
