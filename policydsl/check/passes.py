"""Stage 3: AST -> checked policy. The checker is an ordered list of named passes.

Each pass takes the environment, adds what it learns and reports diagnostics; all
passes run, so one `check` reports every problem it can find. Later passes skip
what earlier ones already reported (an ERROR type never causes a second message).
"""

from __future__ import annotations

from policydsl.runtime.helpers import DATE_FUNCTIONS
from policydsl.syntax import nodes as n
from policydsl.syntax.mistakes import chinese_number
from policydsl.check import types as t
from policydsl.syntax.source import Span
from policydsl.check.constants import compute_constants
from policydsl.check.env import CheckEnv, Symbol
from policydsl.diagnostics.model import Related, with_article
from policydsl.check import periods
from policydsl.check.periods import check_periods
from policydsl.check.accumulators import check_accumulators
from policydsl.check.typing import infer_definitions
from policydsl.check.warnings import warn_unreachable, warn_unused

BUILTIN_FUNCTIONS = ("min", "max", "clamp", "round")
FUNCTION_READS = ("param", "table", "tiers", "function")  # what a function's body may read besides its parameters
ROUNDING_MODES = ("half_up", "half_even", "down", "up")


def collect_definitions(env: CheckEnv) -> None:
    """Gather every definition by name; report duplicates (C201).

    Reads the policy's definitions; adds `symbols`, `enums`, `enum_of_member`, `records`,
    `input`, `outputs`, `variants`, `invariants`, `requires`, `accumulators` (each an input symbol after
    the input's own fields).
    """
    first_span: dict[str, object] = {}
    accumulators: list[n.AccumulatorDef] = []

    def define(name: str, symbol: Symbol, span) -> None:
        if name in env.symbols:
            env.error(
                "C201",
                f"`{name}` is defined twice",
                span,
                related=[Related("first defined here", first_span[name])],
                hint="rename one of them, or delete the duplicate",
            )
            return
        env.symbols[name] = symbol
        first_span[name] = span

    for definition in env.policy.definitions:
        match definition:
            case n.EnumDef(name=name, members=members):
                define(name, Symbol("enum", name, definition), env.name_span(definition))
                env.enums.setdefault(name, definition)
                seen = set()
                for member in members:
                    if member.value in seen:
                        env.error("C201", f"enum `{name}` lists `{member.value}` twice", member.span)
                    seen.add(member.value)
                    env.enum_of_member.setdefault(member.value, [])
                    if name not in env.enum_of_member[member.value]:
                        env.enum_of_member[member.value].append(name)
            case n.RecordDef(name=name):
                define(name, Symbol("record", name, definition), env.name_span(definition))
                env.records.setdefault(name, definition)
            case n.InputDef(fields=fields):
                if env.input is not None:
                    env.error("C201", "the input is declared twice", definition.span, hint="declare all facts in one `input { ... }`")
                    continue
                env.input = definition
                for index, field in enumerate(fields):
                    define(field.name, Symbol("input", field.name, field, index), env.name_span(field))
            case n.ParamDef(name=name) | n.TableDef(name=name) | n.TiersDef(name=name) | n.RuleDef(name=name):
                kind = {n.ParamDef: "param", n.TableDef: "table", n.TiersDef: "tiers", n.RuleDef: "rule"}[type(definition)]
                existing = env.symbols.get(name)
                dated = kind != "table" and definition.validity is not None
                if existing is not None and existing.kind == kind and dated and all(v.validity is not None for v in env.variants[name]):
                    env.variants[name].append(definition)  # another dated value of the same name
                    continue
                if existing is not None and existing.kind == kind and kind != "table" and (dated or definition.validity is None) and any(
                    v.validity is not None for v in env.variants[name]
                ) != dated:
                    env.error(
                        "C211",
                        f"`{name}` has a value without dates beside dated ones",
                        env.name_span(definition),
                        hint="give every value of a dated name a `from`/`until` period",
                    )
                    continue
                if existing is None and kind != "table":
                    env.variants[name] = [definition]
                define(name, Symbol(kind, name, definition), env.name_span(definition))
            case n.FunctionDef(name=name):
                if name in BUILTIN_FUNCTIONS or name in DATE_FUNCTIONS or name in ("sum", "count", "any", "all"):
                    env.error("C201", f"`{name}` is a built-in function", env.name_span(definition), hint="choose another name for the function")
                    continue
                define(name, Symbol("function", name, definition), env.name_span(definition))
            case n.InvariantDef(name=name):
                if any(i.name == name for i in env.invariants):
                    env.error("C201", f"invariant `{name}` is defined twice", env.name_span(definition))
                env.invariants.append(definition)
            case n.RequireDef():
                env.requires.append(definition)
            case n.OutputDef(names=names):
                env.outputs.extend(names)
            case n.FlowsDef():
                pass  # read by check_flows
            case n.AccumulatorDef():
                accumulators.append(definition)  # defined after the input, whose slots come first
            case _:
                raise AssertionError(definition)
    first_slot = len(env.input.fields) if env.input is not None else 0
    for accumulator in accumulators:
        if accumulator.name in env.symbols:
            define(accumulator.name, None, env.name_span(accumulator))  # C201, and not an accumulator
            continue
        define(accumulator.name, Symbol("input", accumulator.name, accumulator.field, first_slot + len(env.accumulators)), env.name_span(accumulator))
        env.accumulators.append(accumulator)
    for record in env.records.values():
        seen_fields: set[str] = set()
        for field in record.fields:
            if field.name in seen_fields:
                env.error("C201", f"record `{record.name}` has field `{field.name}` twice", field.span)
            seen_fields.add(field.name)
    if env.input is None:
        env.error("C209", "the policy declares no input", Span.whole_file(env.source), hint="add `input { field: type ... }` listing the claim facts")


def resolve_type(env: CheckEnv, ref: n.TypeRef | None):
    match ref:
        case None:  # an `override table` with nothing to override (reported by the linker)
            return t.ERROR
        case n.ListType(element=element):
            inner = resolve_type(env, element)
            return t.ERROR if inner is t.ERROR else t.ListType(inner)
        case n.NamedType(name=name):
            if name in t.BUILTIN_TYPES:
                return t.BUILTIN_TYPES[name]
            if name in env.enums:
                return t.EnumType(name, tuple(m.value for m in env.enums[name].members))
            if name in env.records:
                return t.RecordType(name)
            known = [*t.BUILTIN_TYPES, *env.enums, *env.records]
            env.error("C206", f"unknown type `{name}`", ref.span, hint=env.suggest(name, known) or f"types are: {', '.join(known)}")
            return t.ERROR
        case _:
            raise AssertionError(ref)


def resolve_field_types(env: CheckEnv) -> None:
    """Resolve the declared types of input and record fields (C206 unknown type).

    Reads `records`, `input`, `enums`; adds `field_types`.
    """
    for record in [None, *env.records]:
        for field in env.record_fields(record):
            env.field_types[(record, field.name)] = resolve_type(env, field.type)
    for record in env.records.values():
        _check_record_nesting(env, record)


def _contained_records(env: CheckEnv, record: str) -> list[str]:
    """The records a record's fields hold, directly or as list elements, in field order."""
    found = []
    for field in env.records[record].fields:
        field_type = env.field_types.get((record, field.name))
        while isinstance(field_type, t.ListType):
            field_type = field_type.element
        if isinstance(field_type, t.RecordType) and field_type.name in env.records and field_type.name not in found:
            found.append(field_type.name)
    return found


def _check_record_nesting(env: CheckEnv, record: n.RecordDef) -> None:
    """C203 for a record that contains itself, directly or through other records and lists,
    however long the chain (a reader of such facts, and the compiler, would never end)."""
    chain = {record.name: None}  # record -> the record it was reached from
    stack = [record.name]
    while stack:
        current = stack.pop()
        for inner in _contained_records(env, current):
            if inner == record.name:
                path = [current]
                while chain[path[-1]] is not None:
                    path.append(chain[path[-1]])
                shown = " -> ".join([record.name, *reversed(path[:-1]), record.name]) if len(path) > 1 else f"{record.name} -> {record.name}"
                env.error("C203", f"record `{record.name}` contains itself ({shown})", record.span,
                          hint="a record cannot hold itself, even through lists or other records: hold the other's id instead (e.g. `parent_id: text`)")
                return
            if inner not in chain:
                chain[inner] = current
                stack.append(inner)


def _resolve_function(env: CheckEnv, function: n.FunctionDef, visit, deps: set[str]) -> None:
    """A function's body sees its parameters and the policy's constants: a rule or an input
    field it reads is C270 (a call would depend on more than its arguments)."""
    names = [p.name for p in function.params]
    for index, name in enumerate(names):
        if name in names[:index]:
            env.error("C201", f"function `{function.name}` has parameter `{name}` twice", function.params[index].span)
    visit(function.body, frozenset(names), deps)
    for name in sorted(deps):
        kind = env.symbols[name].kind
        if kind not in FUNCTION_READS:
            what = "input field" if kind == "input" else kind
            env.error(
                "C270",
                f"function `{function.name}` reads {what} `{name}`: a function reads only its parameters and the policy's constants",
                env.name_span(function),
                hint=f"give `{name}` to it as a parameter: `function {function.name}(..., {name}: TYPE)`",
            )
    readable = {name for name in deps if env.symbols[name].kind in FUNCTION_READS}
    deps.clear()
    deps.update(readable)


def _reads(expr, name: str) -> bool:
    """Whether `expr` reads the name `name` anywhere inside."""
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, n.Name) and e.id == name:
            return True
        stack += n.children(e)
    return False


def _taken(env: CheckEnv, name: str, scope: frozenset[str]) -> str | None:
    """What else `name` names where a `let` would name it (None: nothing)."""
    if name in scope:
        return "an earlier `let` or a loop variable around it"
    symbol = env.symbols.get(name)
    if symbol is not None:
        return f"{'an input field' if symbol.kind == 'input' else 'a ' + symbol.kind} (`{name}`)"
    if name in env.enum_of_member:
        return f"an enum member (`{name}`)"
    return None


def resolve_names(env: CheckEnv) -> None:
    """Bind every name to its definition (C200 undefined) and record dependencies.

    Reads `symbols`, `enums`; adds `resolved` (by node key), `deps`, `used`.
    """

    def visit(expr, scope: frozenset[str], deps: set[str]) -> None:
        match expr:
            case n.Name(id=name):
                if name in scope:
                    env.resolved[n.key(expr)] = Symbol("loop", name, expr)
                elif name in env.symbols and env.symbols[name].kind not in ("enum", "record"):
                    env.resolved[n.key(expr)] = env.symbols[name]
                    deps.add(name)
                elif name in env.enum_of_member:
                    env.resolved[n.key(expr)] = Symbol("member", name, expr, value=name)
                elif name in env.symbols:
                    env.error("C204", f"`{name}` is a type, not a value", expr.span, hint=f"to name a member write `{name}.member`")
                else:
                    candidates = [s for s, sym in env.symbols.items() if sym.kind not in ("enum", "record")]
                    candidates += [*scope, *(m for m in env.enum_of_member if isinstance(m, str))]
                    number = chinese_number(name)
                    hint = (f"numbers are written in digits: `{number:_}{' yuan' if name.endswith('元') else ''}` for `{name}`"
                            if number is not None else env.suggest(name, candidates))
                    env.error("C200", f"undefined name `{name}`", expr.span, hint=hint)
            case n.Attr(obj=n.Name(id=enum_name), field=member) if (
                enum_name not in scope and enum_name in env.enums and env.symbols[enum_name].kind == "enum"
            ):
                members = [m.value for m in env.enums[enum_name].members]
                if member in members:
                    env.resolved[n.key(expr)] = Symbol("member", member, expr, value=member)
                else:
                    env.error(
                        "C200",
                        f"enum `{enum_name}` has no member `{member}`",
                        expr.span,
                        hint=env.suggest(member, [m for m in members if isinstance(m, str)]) or f"members: {', '.join(map(str, members))}",
                    )
            case n.Call(func="round", args=(value, n.Name(id=mode), *rest)) if mode in ROUNDING_MODES:
                visit(value, scope, deps)  # the mode is a word of `round`, not a name, whatever the arity
                for extra in rest:
                    visit(extra, scope, deps)
            case n.ApplyTiers(schedule=schedule):
                symbol = env.symbols.get(schedule)
                if symbol is None:
                    tiers = [s for s, sym in env.symbols.items() if sym.kind == "tiers"]
                    env.error("C200", f"undefined tier schedule `{schedule}`", expr.span, hint=env.suggest(schedule, tiers))
                elif symbol.kind != "tiers":
                    env.error("C204", f"`{schedule}` is {with_article(symbol.kind)}, not a tier schedule", expr.span)
                else:
                    deps.add(schedule)
                    if expr.band is not None:
                        for variant in env.variants.get(schedule, [symbol.node]):
                            named = [b.name for b in variant.bands if b.name is not None]
                            if expr.band not in named:
                                env.error("C200", f"tier schedule `{schedule}` has no band `{expr.band}`", expr.span,
                                          hint=env.suggest(expr.band, named) or (f"its bands: {', '.join(named)}" if named else "name a band: `band NAME: from A to B: RATE`"))
                                break
                for child in n.children(expr):
                    visit(child, scope, deps)
            case n.Call(func=func, args=args) if func in env.symbols and env.symbols[func].kind == "function":
                deps.add(func)
                for arg in args:
                    visit(arg, scope, deps)
            case n.Let(name=name, value=value, body=body):
                visit(value, scope, deps)
                taken = _taken(env, name, scope)
                if taken is not None:
                    env.error("C269", f"`let {name}` names a value with the name of {taken}", n.name_span(expr), hint="choose another name for the `let`")
                visit(body, scope | {name}, deps)
                if expr.span.source.name == env.source.name and not _reads(body, name):
                    env.warning("W240", f"`let {name}` is never used", n.name_span(expr), hint="use the name, or delete the `let`")
            case n.Aggregate(var=var, source=source, body=body, where=where):
                visit(source, scope, deps)
                inner = scope | {var}
                for part in (body, where):
                    if part is not None:
                        visit(part, inner, deps)
            case _:
                for child in n.children(expr):
                    visit(child, scope, deps)

    for name, symbol in env.symbols.items():
        if symbol.kind in ("enum", "record"):
            continue
        deps: set[str] = set()
        if symbol.kind == "function":
            _resolve_function(env, symbol.node, visit, deps)
        else:
            for body in env.bodies(name):
                visit(body, frozenset(), deps)
        env.deps[name] = deps
        env.used |= deps
    for invariant in env.invariants:
        deps = set()
        visit(invariant.condition, frozenset(), deps)
        env.deps[f"invariant {invariant.name}"] = deps
        env.used |= deps
    for number, require in enumerate(env.requires):
        deps = set()
        visit(require.condition, frozenset(), deps)
        env.deps[f"require {number}"] = deps
        env.used |= deps
    for record in env.records.values():
        for field in record.fields:
            if field.default is not None:
                deps = set()
                visit(field.default, frozenset(), deps)
                env.deps[f"{record.name}.{field.name}"] = deps
    for accumulator in env.accumulators:  # what a claim adds is computed after the rules
        deps = set()
        for part in (accumulator.opening, accumulator.adds):
            if part is not None:
                visit(part, frozenset(), deps)
        env.deps[f"accumulator {accumulator.name}"] = deps
        env.used |= deps
    # A parent's `floor`/`ceiling` value, replaced by an override, is still compared with the
    # override (constants pass): bind its names too. It is judged in the parent, so whatever
    # it would report here is dropped, and it makes nothing "used".
    before = len(env.diagnostics)
    for _child, parent in env.bounds:
        visit(parent.value, frozenset(), set())
        for source in env.bound_sources(parent):  # the parent's own values it is computed from
            if source.value is not None:
                visit(source.value, frozenset(), set())
    for _param, replaced in env.moved_bounds():
        for source in replaced:
            if source.value is not None:
                visit(source.value, frozenset(), set())
    del env.diagnostics[before:]


def find_cycles(env: CheckEnv) -> None:
    """Order definitions so that each comes after what it uses (C202 on a cycle).

    Reads `deps`; adds `order`, `in_cycle`.

    An explicit stack, not recursion: a chain of thousands of rules must not overflow.
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def deps_of(name: str) -> list[str]:
        return [d for d in sorted(env.deps.get(name, ())) if d in env.deps and d in env.symbols]

    for root in list(env.deps):
        if root not in env.symbols or state.get(root) == 2:
            continue
        stack = [(root, iter(deps_of(root)))]
        state[root] = 1
        path.append(root)
        while stack:
            name, pending = stack[-1]
            dep = next(pending, None)
            if dep is None:
                stack.pop()
                path.pop()
                state[name] = 2
                env.order.append(name)
            elif state.get(dep) == 1:
                cycle = path[path.index(dep) :] + [dep]
                env.in_cycle.update(cycle)
                env.error(
                    "C202",
                    f"`{dep}` depends on itself: {' -> '.join(cycle)}",
                    env.name_span(env.symbols[dep].node),
                    hint="a value cannot be computed from itself; break the cycle",
                )
            elif state.get(dep) != 2:
                state[dep] = 1
                path.append(dep)
                stack.append((dep, iter(deps_of(dep))))


def check_claim_independence(env: CheckEnv) -> None:
    """Params, table rows, tier bounds and defaults are fixed by the policy text (C207).

    Reads `symbols`, `deps`; adds diagnostics only.
    """
    for name, symbol in env.symbols.items():
        if symbol.kind in ("param", "table", "tiers", "input"):
            bad = sorted(d for d in env.deps.get(name, ()) if env.symbols[d].kind in ("rule", "input"))
            if bad:
                what = {"param": "parameter", "table": "table", "tiers": "tier schedule", "input": "default"}[symbol.kind]
                env.error(
                    "C207",
                    f"{what} `{name}` uses `{bad[0]}`, which depends on the claim",
                    env.name_span(symbol.node),
                    hint="parameters, tables, tiers and defaults are constants; compute claim-dependent values in a `rule`",
                )


def check_outputs(env: CheckEnv) -> None:
    """Every output names a rule, parameter or input field (C205).

    Reads `outputs`, `symbols`; adds diagnostics only.
    """
    seen: set[str] = set()
    if not env.outputs:
        env.error("C205", "the policy declares no outputs", Span.whole_file(env.source), hint="add `output name, ...` listing what a decision returns")
    for output in env.outputs:
        symbol = env.symbols.get(output.name)
        if output.name in seen:
            env.error("C201", f"output `{output.name}` is listed twice", output.span)
        seen.add(output.name)
        if symbol is None:
            candidates = [s for s, sym in env.symbols.items() if sym.kind in ("rule", "param", "input")]
            env.error("C205", f"output `{output.name}` is not defined", output.span, hint=env.suggest(output.name, candidates))
        elif symbol.kind not in ("rule", "param", "input"):
            env.error("C205", f"output `{output.name}` is {with_article(symbol.kind)}; outputs are rules, parameters or inputs", output.span)
        elif isinstance(env.def_types.get(output.name) or env.field_types.get((None, output.name)), (t.SetType, t.ListType, t.RecordType)):
            kind = env.def_types.get(output.name) or env.field_types.get((None, output.name))
            env.error("C205", f"output `{output.name}` is {with_article(kind)}; a decision's outputs are single values", output.span)


def check_flows(env: CheckEnv) -> None:
    """Each name of `flows` is a money output, listed once (C271); a `drop flows` is left only in
    a policy that extends none (C271).

    Reads the policy's `FlowsDef`s, `outputs`, `def_types`, `field_types`; adds diagnostics only.
    """
    outputs = {o.name for o in env.outputs}
    seen: set[str] = set()
    for definition in env.policy.definitions:
        if not isinstance(definition, n.FlowsDef):
            continue
        if definition.drop:
            env.error("C271", "`drop flows` in a policy that extends none", definition.span, hint="`drop flows` leaves out a flow the parent policy lists")
            continue
        for flow in definition.names:
            if flow.name in seen:
                env.error("C271", f"flow `{flow.name}` is listed twice", flow.span)
                continue
            seen.add(flow.name)
            if flow.name not in outputs:
                env.error("C271", f"flow `{flow.name}` is not an output", flow.span, hint=env.suggest(flow.name, sorted(outputs)) or "a flow is an output: list it in `output` too")
                continue
            type_ = env.def_types.get(flow.name) or env.field_types.get((None, flow.name))
            if type_ is not None and type_ != t.MONEY and type_ != t.ERROR:
                env.error("C271", f"flow `{flow.name}` is {with_article(type_)}; a flow is money paid", flow.span)


def check_tables(env: CheckEnv) -> None:
    """Table keys belong to the key's domain, once each (C208).

    Reads `symbols`, `enums`; adds diagnostics only.
    """
    for symbol in env.symbols.values():
        if symbol.kind != "table":
            continue
        table: n.TableDef = symbol.node
        key_type = resolve_type(env, table.key_type)
        if key_type is not t.ERROR and not isinstance(key_type, t.EnumType) and key_type != t.INT:
            env.error("C203", f"table `{table.name}` is keyed by {key_type}; keys must be an enum or int", table.key_type.span)
            continue
        for row in table.rows:  # a key listed twice is checked with the dated rows (periods.py)
            if row.value is None:
                env.error("C208", f"`drop` removes a parent's row: only in an `override table`, not in table `{table.name}`", row.span)
                continue
            if row.key is None or key_type is t.ERROR:
                continue
            if isinstance(key_type, t.EnumType) and row.key not in key_type.members:
                env.error(
                    "C208",
                    f"`{row.key}` is not a member of {key_type.name}, the key of table `{table.name}`",
                    row.span,
                    hint=env.suggest(str(row.key), [str(m) for m in key_type.members]) or f"members: {', '.join(map(str, key_type.members))}",
                )
            elif key_type == t.INT and not isinstance(row.key, int):
                env.error("C208", f"table `{table.name}` is keyed by int, not `{row.key}`", row.span)


def check_required(env: CheckEnv) -> None:
    """What the frame a policy extends requires it to set: every `param NAME: TYPE required`,
    and a row for every key of a `table ... required` (C268 in a policy with a `region`: it
    decides claims; W237 in a frame without one, which decides no claim until extended).

    Reads `variants`, `symbols`; adds diagnostics only.
    """
    header = env.policy.header
    unset = []  # (what, where it is declared)
    for name, variants in env.variants.items():
        if all(periods.unset(v) for v in variants):
            if isinstance(variants[0], n.TiersDef):
                unset.append((f"tiers `{name}`", n.name_span(variants[0]), f"give its bands: `override tiers {name} {{ from ... to ...: ... }}`"))
            else:
                unset.append((f"param `{name}`", n.name_span(variants[0]), f"set it: `override param {name} = ...`"))
    for symbol in env.symbols.values():
        if symbol.kind != "table" or not symbol.node.required:
            continue
        table: n.TableDef = symbol.node
        key_type = resolve_type(env, table.key_type)
        if not isinstance(key_type, t.EnumType) or any(row.key is None for row in table.rows):
            continue
        given = {row.key for row in table.rows}
        missing = [m for m in key_type.members if m not in given]
        if missing:
            listed = ", ".join(map(str, missing))
            unset.append((f"a row of table `{table.name}` for {listed}", n.name_span(table), f"give every {key_type.name}: `override table {table.name} {{ {missing[0]}: ... }}`"))
    if not unset:
        return
    clauses = dict(header.clause_spans)
    at = clauses.get("region") or (header.clause_spans[0][1] if header.clause_spans else env.policy.span)
    if header.region is None:
        names = "; ".join(what for what, _, _ in unset)
        env.warning("W237", f"this policy is a frame: it leaves required values unset ({names}), so it decides no claim until a policy that extends it sets them", at,
                    hint="a region extends it and sets them (`override param ...`, `override table ...`)")
        return
    for what, declared, hint in unset:
        env.error("C268", f"{what} is required and this policy does not set it", at, hint=hint, related=(Related("required here", declared),))


def check_requires(env: CheckEnv) -> None:
    """C272: a `require` names no input field of the claim, or reads a rule (requirements
    are checked on the facts before any rule is computed). Reads `requires`, `symbols`, `deps`."""
    for number, require in enumerate(env.requires):
        symbol = env.symbols.get(require.field)
        if symbol is None or symbol.kind != "input" or env.input is None or symbol.index >= len(env.input.fields):
            fields = [f.name for f in env.input.fields] if env.input is not None else []
            env.error("C272", f"`require {require.field}`: `{require.field}` is not a field of the claim's input", require.name_span,
                      hint=env.suggest(require.field, fields) or "name the input field a claim that breaks the requirement should be corrected at")
        rules = sorted(name for name in env.deps.get(f"require {number}", ()) if name in env.symbols and env.symbols[name].kind == "rule")
        if rules:
            env.error("C272", f"`require {require.field}` reads rule `{rules[0]}`: a requirement is checked on the claim's facts before any rule",
                      require.name_span, hint="write the condition over the input fields and the policy's constants")


PASSES = (
    collect_definitions,
    resolve_field_types,
    resolve_names,
    find_cycles,
    check_claim_independence,
    infer_definitions,
    check_accumulators,
    check_tables,
    check_required,
    check_requires,
    check_periods,
    compute_constants,
    check_outputs,
    check_flows,
    warn_unused,
    warn_unreachable,
)
