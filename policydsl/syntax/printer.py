"""AST -> canonical policy text for expressions (used in explanations, and by a formatter).

Parenthesises by precedence, so `print(parse(print(e))) == print(e)`.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from policydsl.syntax import nodes as n
from policydsl.runtime import values

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}
_ATOM = 9


def grouped_number(value, group_from: int = 5) -> str:
    """Digits grouped by `_` in threes once the whole part has `group_from` digits: 150_000."""
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    whole, _, fraction = text.partition(".")
    if len(whole) >= group_from and whole.isdigit():
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
            return f"{grouped_number(value)} yuan"
        case "months":
            return f"{value} month" if value == 1 else f"{value} months"
        case "ratio":
            return values.percent(value)  # exact, whatever the caller's decimal context
        case "bool":
            return "true" if value else "false"
        case "text":
            return quote(value)
        case "date":
            assert isinstance(value, datetime.date)
            return value.isoformat()
        case _:
            return grouped_number(value)


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
                    part += "".join(f" {annotation(a)}" for a in branch.annotations)
                parts.append(part)
            return " ".join(parts)
        case _:
            raise AssertionError(e)


# ---- definitions -------------------------------------------------------------------

INDENT = "  "


def quote(text: str) -> str:
    """A string literal that the grammar reads back as exactly `text`."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'



def annotation(a: n.Annotation) -> str:
    if a.kind == "reason":
        return f"reason {a.text}"
    if a.kind == "because" and a.lang != "en":
        return f"because {a.lang} {quote(a.text)}"
    return f"{a.kind} {quote(a.text)}"


def validity(v: n.Validity | None) -> str:
    return f" {v.describe()}" if v is not None else ""


def type_ref(ref) -> str:
    match ref:
        case n.ListType(element=element):
            return f"list of {type_ref(element)}"
        case n.NamedType(name=name):
            return name
        case _:
            raise AssertionError(ref)


def _modifiers(definition) -> str:
    words = [w for w in ("override", "final") if getattr(definition, w, False)]
    return "".join(f"{w} " for w in words)


def _annotation_lines(annotations, depth: int) -> list[str]:
    return [f"{INDENT * depth}{annotation(a)}" for a in annotations]


def _key(key) -> str:
    return "default" if key is None else str(key)


def _field(field: n.Field) -> str:
    default = f" = {expression(field.default)}" if field.default is not None else ""
    return f"{INDENT}{field.name}: {type_ref(field.type)}{default}"


def _block(head: str, annotations, body: list[str]) -> str:
    lines = [head, *_annotation_lines(annotations, 1)]
    lines[-1] += " {"
    return "\n".join([*lines, *body, "}"])


def definition(d) -> str:  # noqa: C901 - one dispatch over definition kinds
    """Canonical text of one definition (multi-line; no trailing newline)."""
    match d:
        case n.EnumDef(name=name, members=members, annotations=annotations):
            head = f"{_modifiers(d)}enum {name}"
            listed = ", ".join(str(m.value) for m in members)
            if annotations:
                return "\n".join([head, *_annotation_lines(annotations, 1), f"{INDENT}{{ {listed} }}"])
            return f"{head} {{ {listed} }}"
        case n.RecordDef(name=name, fields=fields, annotations=annotations):
            return _block(f"record {name}", annotations, [_field(f) for f in fields])
        case n.InputDef(fields=fields, annotations=annotations):
            return _block("input", annotations, [_field(f) for f in fields])
        case n.ParamDef():
            type_part = f": {type_ref(d.type)}" if d.type is not None else ""
            bound = f" {d.bound}" if d.bound else ""
            head = f"{_modifiers(d)}param {d.name}{type_part} = {expression(d.value)}{validity(d.validity)}{bound}"
            return "\n".join([head, *_annotation_lines(d.annotations, 1)])
        case n.TableDef():
            types = f": {type_ref(d.key_type)} -> {type_ref(d.value_type)}" if d.key_type is not None else ""
            lines = [f"{_modifiers(d)}table {d.name}{types}", *_annotation_lines(d.annotations, 1)]
            lines[-1] += " {"
            for row in d.rows:
                lines.append(f"{INDENT}{_key(row.key)}: {expression(row.value)}{validity(row.validity)}")
                lines += _annotation_lines(row.annotations, 2)
            lines.append("}")
            return "\n".join(lines)
        case n.TiersDef():
            lines = [f"{_modifiers(d)}tiers {d.name}{validity(d.validity)}", *_annotation_lines(d.annotations, 1)]
            lines[-1] += " {"
            for band in d.bands:
                bounds = f"from {expression(band.lower)} to {expression(band.upper)}" if band.upper is not None else f"above {expression(band.lower)}"
                lines.append(f"{INDENT}{bounds}: {expression(band.rate)}")
                lines += _annotation_lines(band.annotations, 2)
            lines.append("}")
            return "\n".join(lines)
        case n.RuleDef():
            type_part = f": {type_ref(d.type)}" if d.type is not None else ""
            head = f"{_modifiers(d)}rule {d.name}{type_part}{validity(d.validity)}"
            if isinstance(d.body, n.Conditional):
                lines = [head, *_annotation_lines(d.annotations, 1)]
                lines[-1] += " ="
                for branch in d.body.branches:
                    if branch.condition is None:
                        lines.append(f"{INDENT}otherwise {expression(branch.value)}")
                    else:
                        lines.append(f"{INDENT}when {expression(branch.condition)} then {expression(branch.value)}")
                    lines += _annotation_lines(branch.annotations, 2)
                return "\n".join(lines)
            return "\n".join([f"{head} = {expression(d.body, annotations=True)}", *_annotation_lines(d.annotations, 1)])
        case n.OutputDef(names=names):
            return "output " + ", ".join(o.name for o in names)
        case n.InvariantDef(name=name, condition=condition, annotations=annotations):
            return "\n".join([f"invariant {name}: {expression(condition)}", *_annotation_lines(annotations, 1)])
        case _:
            raise AssertionError(d)


def header_clauses(h: n.Header) -> list[str]:
    """The header as lines: `policy "title"`, then one clause per line (unindented)."""
    lines = [f"policy {quote(h.title or '')}"]
    if h.version is not None:
        lines.append(f"version {quote(h.version)}")
    if h.region is not None:
        lines.append(f"region {quote(h.region)}" + (f" {quote(h.region_name)}" if h.region_name else ""))
    if h.effective is not None:
        lines.append(f"effective {h.effective.describe()}")
    if h.as_of is not None:
        lines.append(f"as of {h.as_of}")
    for document in h.documents:
        text = f"implements {quote(document.title)}"
        if document.number:
            text += f" number {quote(document.number)}"
        if document.issued:
            text += f" issued {document.issued.isoformat()}"
        lines.append(text)
    if h.extends is not None:
        lines.append(f"extends {quote(h.extends)}")
    return lines


def header(h: n.Header) -> str:
    first, *clauses = header_clauses(h)
    return "\n".join([first, *(f"{INDENT}{clause}" for clause in clauses)])
