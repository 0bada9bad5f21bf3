"""AST -> canonical policy text for expressions (used in explanations, and by a formatter).

Parenthesises by precedence, so `print(parse(print(e))) == print(e)`.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from . import nodes as n

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}
_ATOM = 9


def _number(value) -> str:
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    whole, _, fraction = text.partition(".")
    if len(whole) > 4 and whole.isdigit():
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = "_".join([whole, *groups])
    return whole + (f".{fraction}" if fraction else "")


def literal(node: n.Literal) -> str:
    value = node.value
    match node.unit:
        case "money":
            return f"{_number(value)} yuan"
        case "months":
            return f"{value} month" if value == 1 else f"{value} months"
        case "ratio":
            return f"{format((value * 100).normalize(), 'f')}%"
        case "bool":
            return "true" if value else "false"
        case "text":
            return json.dumps(value, ensure_ascii=False)
        case "date":
            assert isinstance(value, datetime.date)
            return value.isoformat()
        case _:
            return _number(value)


def _precedence(e) -> int:
    match e:
        case n.Binary(op=op):
            return _PRECEDENCE.get(op, _PRECEDENCE["cmp"])
        case n.Member():
            return _PRECEDENCE["cmp"]
        case n.Unary(op="not"):
            return _PRECEDENCE["not"]
        case n.Unary():
            return _PRECEDENCE["neg"]
        case n.Conditional():
            return 0
        case _:
            return _ATOM


def expression(e, annotations: bool = False, brief: bool = False) -> str:
    """Print `e` on one line; `annotations` keeps the because/cite of conditional branches.

    `brief` (for explanations) shortens a conditional nested inside another expression
    to its first case and its count; the explanation lists the case each value took.
    """

    def sub(child, minimum: int) -> str:
        text = expression(child, annotations, brief)
        return f"({text})" if _precedence(child) < minimum else text

    match e:
        case n.Literal():
            return literal(e)
        case n.Name(id=name):
            return name
        case n.Attr(obj=obj, field=field):
            return f"{sub(obj, _ATOM)}.{field}"
        case n.Index(obj=obj, key=key):
            return f"{sub(obj, _ATOM)}[{expression(key, annotations)}]"
        case n.Unary(op="not", operand=operand):
            return f"not {sub(operand, _PRECEDENCE['not'])}"
        case n.Unary(operand=operand):
            return f"-{sub(operand, _PRECEDENCE['neg'])}"
        case n.Binary(op=op, left=left, right=right):
            level = _precedence(e)
            # Left-associative: the right operand needs parentheses at the same level.
            right_min = level + 1 if op not in ("and", "or") else level
            if level == _PRECEDENCE["cmp"]:
                return f"{sub(left, level + 1)} {op} {sub(right, level + 1)}"
            return f"{sub(left, level)} {op} {sub(right, right_min)}"
        case n.Member(element=element, container=container, negated=negated):
            level = _PRECEDENCE["cmp"]
            return f"{sub(element, level + 1)} {'not in' if negated else 'in'} {sub(container, level + 1)}"
        case n.Call(func=func, args=args):
            return f"{func}({', '.join(expression(a, annotations) for a in args)})"
        case n.ApplyTiers(schedule=schedule, lower=lower, upper=upper):
            return f"{schedule}(from {expression(lower, annotations)} to {expression(upper, annotations)})"
        case n.Aggregate(kind="sum", var=var, source=source, body=n.Conditional(branches=branches), where=where) if brief and len(branches) > 2:
            first = branches[0]
            tail = f" where {expression(where)}" if where is not None else ""
            cases = f"(when {expression(first.condition)} then {expression(first.value)} ... {len(branches)} cases)"
            return f"sum({cases} for {var} in {expression(source)}{tail})"
        case n.Aggregate(kind="sum", var=var, source=source, body=body, where=where):
            tail = f" where {expression(where, annotations)}" if where is not None else ""
            return f"sum({expression(body, annotations)} for {var} in {expression(source, annotations)}{tail})"
        case n.Aggregate(kind=kind, var=var, source=source, where=where):
            tail = f" where {expression(where, annotations)}" if where is not None else ""
            return f"{kind}({var} in {expression(source, annotations)}{tail})"
        case n.SetLiteral(items=items):
            return "{" + ", ".join(expression(i, annotations) for i in items) + "}"
        case n.Conditional(branches=branches):
            parts = []
            for branch in branches:
                head = "otherwise" if branch.condition is None else f"when {expression(branch.condition, annotations)} then"
                part = f"{head} {expression(branch.value, annotations)}"
                if annotations:
                    part += "".join(f" {a.kind} {json.dumps(a.text, ensure_ascii=False)}" for a in branch.annotations)
                parts.append(part)
            return " ".join(parts)
        case _:
            raise AssertionError(e)
