"""Warnings: definitions nothing uses (W230, W232) and branches that can never be taken (W231).

Only definitions written in the file being checked are reported; a region is not
warned about what its parent policy defines.
"""

from __future__ import annotations

from policydsl.syntax import nodes as n
from policydsl.syntax import printer
from policydsl.check import types as t
from policydsl.check.env import CheckEnv


def _own(env: CheckEnv, node) -> bool:
    return node.span.source.name == env.source.name


def warn_unused(env: CheckEnv) -> None:
    """W230: a parameter, table, tier schedule or function nothing uses; W232: a rule nothing uses or outputs.

    Reads `symbols`, `used`, `linked`; adds warnings only.
    """
    if any(d.code in ("C200", "C205") for d in env.diagnostics):
        return  # a misspelt reference would make its target look unused: fix the error first
    outputs = {o.name for o in env.outputs}
    used = env.used | outputs
    orphans = []
    for name, symbol in env.symbols.items():
        if name in used or symbol.kind not in ("param", "table", "tiers", "rule", "function"):
            continue
        if not _own(env, symbol.node):
            if env.linked is not None and env.linked.chain and symbol.kind == "rule":
                orphans.append(symbol)  # inherited and used by the parent: this policy's overrides left it unused
            continue
        what = {"param": "parameter", "table": "table", "tiers": "tier schedule", "rule": "rule", "function": "function"}[symbol.kind]
        code = "W232" if symbol.kind == "rule" else "W230"
        env.warning(code, f"{what} `{name}` is never used", n.name_span(symbol.node), hint="use it, list it in `output`, or delete it")
    if orphans:
        listed = ", ".join(f"`{symbol.name}`" for symbol in orphans)
        clauses = dict(env.policy.header.clause_spans)
        at = clauses.get("extends") or env.policy.header.extends_span or env.policy.span
        env.warning(
            "W238",
            f"inherited rule{'s' if len(orphans) > 1 else ''} {listed} {'are' if len(orphans) > 1 else 'is'} no longer used: this policy's overrides replaced what used {'them' if len(orphans) > 1 else 'it'}",
            at,
            hint="they are still computed but decide nothing here, and explanations leave them out; override what should use them, or ignore this",
        )


def warn_unreachable(env: CheckEnv) -> None:
    """W231: a `when` whose condition cannot hold after the branches before it, or a dead `otherwise`.

    Reads `symbols`, `variants`, `types`, the segments' constants; adds warnings only.
    """
    constants = next((s.constants for s in env.segments if s.in_force and s.constants), {})
    for name, symbol in env.symbols.items():
        if symbol.kind not in ("rule", "param"):
            continue
        for body in env.bodies(name):
            for conditional in _conditionals(body):
                if _own(env, conditional):
                    _check_conditional(env, conditional, constants)


def _conditionals(expr):
    if isinstance(expr, n.Conditional):
        yield expr
    for child in n.children(expr):
        yield from _conditionals(child)


def _check_conditional(env: CheckEnv, conditional: n.Conditional, constants: dict) -> None:
    remaining: dict[str, set] = {}
    always = False
    for branch in conditional.branches:
        if branch.condition is None:
            if always or any(not values for values in remaining.values()):
                env.warning("W231", "this `otherwise` can never be reached: the branches before it cover every case", branch.span)
            return
        if always:
            env.warning("W231", "this branch can never be taken: an earlier condition is always true", branch.span)
            continue
        condition = branch.condition
        if isinstance(condition, n.Literal) and condition.value is False:
            env.warning("W231", "this branch can never be taken: its condition is `false`", branch.span)
            continue
        if isinstance(condition, n.Literal) and condition.value is True:
            always = True
            continue
        simple = _enum_condition(env, condition, constants)
        if simple is None:
            continue
        subject, domain, values = simple
        left = remaining.setdefault(subject, set(domain))
        if not (left & values):
            env.warning(
                "W231",
                f"this branch can never be taken: `{subject}` cannot be {', '.join(map(str, sorted(values, key=str)))} here",
                branch.span,
                hint="an earlier branch already took these values",
            )
        left -= values


def _enum_condition(env: CheckEnv, condition, constants: dict):
    """(subject text, its enum domain, the values for which `condition` holds), or None."""
    match condition:
        case n.Binary(op="or", left=left, right=right):
            a, b = _enum_condition(env, left, constants), _enum_condition(env, right, constants)
            if a and b and a[0] == b[0]:
                return a[0], a[1], a[2] | b[2]
            return None
        case n.Binary(op="=" | "!=" as op, left=left, right=right):
            for subject, other in ((left, right), (right, left)):
                domain = _domain(env, subject)
                value = _constant_member(env, other)
                if domain is not None and value is not None:
                    values = {value} if op == "=" else set(domain) - {value}
                    return printer.expression(subject), domain, values
            return None
        case n.Member(element=element, container=container, negated=negated):
            domain = _domain(env, element)
            members = _constant_set(env, container, constants)
            if domain is None or members is None:
                return None
            values = set(members) if not negated else set(domain) - set(members)
            return printer.expression(element), domain, values
        case _:
            return None


def _domain(env: CheckEnv, expr):
    expr_type = env.types.get(n.key(expr))
    return expr_type.members if isinstance(expr_type, t.EnumType) else None


def _constant_member(env: CheckEnv, expr):
    symbol = env.resolved.get(n.key(expr))
    if symbol is not None and symbol.kind == "member":
        return symbol.value
    if isinstance(expr, n.Literal) and type(expr.value) is int:
        return expr.value
    return None


def _constant_set(env: CheckEnv, expr, constants: dict):
    if isinstance(expr, n.SetLiteral):
        members = [_constant_member(env, item) for item in expr.items]
        return None if None in members else members
    symbol = env.resolved.get(n.key(expr))
    if symbol is not None and symbol.kind == "param" and isinstance(constants.get(symbol.name), frozenset):
        return constants[symbol.name]
    return None
