"""AST -> policy text: the one place that knows how each node is written.

Takes AST nodes (`nodes.py`); gives their canonical text. Every literal, unit, type,
annotation, expression and definition that policydsl writes back as policy text comes from
here: `policydsl fmt` (tools/formatter.py), `policydsl show` (tools/show.py), and the
formulas in explanations, warnings and invariant messages. The text parses back to the same
AST (nodes compare without their spans; tests/test_printer.py checks every bundled policy):
parentheses are written where precedence, associativity or the grammar need them, and
nowhere else.

Literals have one form: money `4_000 yuan` (digits grouped by `_` in threes from four digits
on, as `fmt` writes files), `3 months` / `1 month`, ratios `60%`, dates `2025-07-01`, strings
quoted so they read back exactly.

The printer builds a *document*: the text, with the places a line may break (`LINE`,
`SOFTLINE`), what is laid out together (`Group`) and what is indented when broken (`Nest`).
`text(doc)` writes it on the fewest lines it allows (each group on one line unless it holds a
hard line break): that is `definition()`, `header()` and `expression()`. Choosing breaks to
fit a width, and putting comments back, is the formatter's: it lays out the same document
(`formatter.render`) and fills the printer's comment hooks (`Printer.lead` ...).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from policydsl.syntax import nodes as n
from policydsl.runtime import numbers, values

INDENT = 2  # spaces for each level: annotations, block bodies, branches
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}
_ATOM = 9


# ---- documents -----------------------------------------------------------------------------


class Line:
    """A place a line may break: a space (`LINE`) or nothing (`SOFTLINE`) when not broken;
    `HARDLINE` always breaks."""

    __slots__ = ("soft", "hard")

    def __init__(self, soft: bool, hard: bool):
        self.soft = soft
        self.hard = hard


LINE = Line(False, False)
SOFTLINE = Line(True, False)
HARDLINE = Line(False, True)
BREAK_PARENT = object()  # the enclosing groups must break (the formatter: a comment ends the line)


class Nest:
    """`doc`, with `indent` more spaces after each line break inside it."""

    __slots__ = ("indent", "doc")

    def __init__(self, indent: int, doc):
        self.indent = indent
        self.doc = doc


class Group:
    """Laid out on one line if it fits (and holds no hard line break), else broken."""

    __slots__ = ("doc", "hard")

    def __init__(self, *doc):
        self.doc = list(doc)
        self.hard = _has_hard(self.doc)


class Fill:
    """Items separated by `separator`: each separator breaks only if the next item does not fit."""

    __slots__ = ("items", "separator")

    def __init__(self, items: list, separator):
        self.items = items
        self.separator = separator


def _has_hard(doc) -> bool:
    stack = [doc]
    while stack:
        d = stack.pop()
        if d is HARDLINE or d is BREAK_PARENT:
            return True
        if isinstance(d, Group):
            if d.hard:
                return True
        elif isinstance(d, list):
            stack.extend(d)
        elif isinstance(d, Nest):
            stack.append(d.doc)
    return False


def nest(doc, indent: int = INDENT) -> Nest:
    return Nest(indent, doc)


def join(docs: list, separator) -> list:
    out: list = []
    for i, d in enumerate(docs):
        if i:
            out.append(separator)
        out.append(d)
    return out


def text(doc) -> str:
    """`doc` on the fewest lines it allows: every group and fill flat unless it holds a hard break."""
    out: list[str] = []
    stack = [(0, False, doc)]
    while stack:
        indent, flat, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
        elif isinstance(d, list):
            stack.extend((indent, flat, x) for x in reversed(d))
        elif isinstance(d, Nest):
            stack.append((indent + d.indent, flat, d.doc))
        elif isinstance(d, Group):
            stack.append((indent, flat or not d.hard, d.doc))
        elif isinstance(d, Fill):
            stack.append((indent, True, join(d.items, d.separator)))
        elif isinstance(d, Line):
            if flat and not d.hard:
                out.append("" if d.soft else " ")
            else:
                out.append("\n" + " " * indent)
        elif d is not BREAK_PARENT:
            raise AssertionError(d)
    return "\n".join(line.rstrip() for line in "".join(out).split("\n"))


# ---- literals and small pieces -------------------------------------------------------------


def number(value) -> str:
    """Digits grouped by `_` in threes from four digits on: 4_000, 150_000, 12.50, 999."""
    written = format(value, "f") if isinstance(value, Decimal) else str(value)
    whole, _, fraction = written.partition(".")
    if len(whole) >= 4 and whole.isdigit():
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = "_".join([whole, *groups])
    return whole + (f".{fraction}" if fraction else "")


def limits_text(limits: tuple) -> str:
    """A field's limits as written: ` in 0..150`, ` >= 1`, or nothing."""
    if not limits:
        return ""
    if len(limits) == 2 and limits[0][0] == ">=" and limits[1][0] == "<=":
        return f" in {expression(limits[0][1])}..{expression(limits[1][1])}"
    return "".join(f" {op} {expression(bound)}" for op, bound in limits)


def literal(node: n.Literal) -> str:
    value = node.value
    match node.unit:
        case "money":
            return "unlimited" if value == numbers.UNLIMITED else f"{number(value)} yuan"
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
        case _:  # int, number
            return number(value)


def quote(string: str) -> str:
    """A string literal that the grammar reads back as exactly `string`."""
    out = []
    for ch in string:
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
    """` from ... until ...` (with its leading space), or nothing."""
    return f" {v.describe()}" if v is not None else ""


def year_start(start: tuple[int, int] | None) -> str:
    """` over year` (with its leading space), and ` from MM-DD` after it for a year that does
    not start on 1 January. `over year` is always written, though it is the default: it
    says what the accumulator runs over."""
    if start is None or start == (1, 1):
        return " over year"
    month, day = start
    return f" over year from {month:02d}-{day:02d}"


def type_ref(ref) -> str:
    match ref:
        case n.ListType(element=element):
            return f"list of {type_ref(element)}"
        case n.NamedType(name=name):
            return name
        case _:
            raise AssertionError(ref)


def modifiers(definition) -> str:
    """`override ` / `final ` as the definition has them."""
    words = [w for w in ("override", "final") if getattr(definition, w, False)]
    return "".join(f"{w} " for w in words)


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
        case n.Conditional() | n.Let():
            return 0
        case _:
            return _ATOM


# ---- the printer ---------------------------------------------------------------------------


class Printer:
    """AST -> document.

    `annotations`: write the because/cite/reason of the branches of conditionals inside
    expressions (policy text has them; a one-line formula in an explanation leaves them out).
    `brief` (explanations): a `sum` over a conditional of more than two cases shows its first
    case and the count; the explanation lists the case each value took. Brief text is for
    reading, not for parsing.

    The hooks give what goes around a node besides its text (nothing here; the formatter
    gives comments): `lead` before it, on lines of their own; `head` at the end of its first
    line; `trail` at the end of its last line; `tail` before a block's closing `}`.
    """

    def __init__(self, annotations: bool = True, brief: bool = False):
        self.annotations = annotations
        self.brief = brief

    # ---- hooks ---------------------------------------------------------------------
    def lead(self, node) -> list:
        return []

    def head(self, node) -> list:
        return []

    def trail(self, node) -> list:
        return []

    def tail(self, node) -> list:
        return []

    # ---- expressions ---------------------------------------------------------------
    def sub(self, e, minimum: int):
        """`e` as an operand: in parentheses if it binds less tightly than `minimum`."""
        doc = self.expr(e)
        if _precedence(e) < minimum and not isinstance(e, n.Conditional):  # a conditional brings its own
            return ["(", doc, ")"]
        return doc

    def arg(self, e):
        return self.expr(e)  # a nested conditional is parenthesised by expr()

    def expr(self, e):  # noqa: C901 - one dispatch over node kinds
        """An expression inside another construct (a conditional comes in parentheses)."""
        prec = _PRECEDENCE
        match e:
            case n.Literal():
                return literal(e)
            case n.Name(id=name):
                return name
            case n.Attr(obj=obj, field=field):
                return [self.sub(obj, _ATOM), ".", field]
            case n.Index(obj=obj, key=key):
                return [self.sub(obj, _ATOM), "[", self.arg(key), "]"]
            case n.Unary(op="not", operand=operand):
                return ["not ", self.sub(operand, prec["not"])]
            case n.Unary(operand=operand):
                return ["-", self.sub(operand, prec["neg"])]
            case n.Binary(op=op, left=left, right=right) if _precedence(e) == prec["cmp"]:
                level = prec["cmp"]  # not associative: both sides bind tighter
                return Group(self.sub(left, level + 1), nest([LINE, op, " ", self.sub(right, level + 1)]))
            case n.Binary():
                # Left-associative: a chain `a - b + c` is written flat; a right operand at the
                # same level (`a - (b - c)`, `a and (b and c)`) keeps its parentheses.
                level = _precedence(e)
                rest = []
                node = e
                while isinstance(node, n.Binary) and _precedence(node) == level:
                    rest.append((node.op, node.right))
                    node = node.left
                parts = [[LINE, op, " ", self.sub(right, level + 1)] for op, right in reversed(rest)]
                return Group(self.sub(node, level), nest(parts))
            case n.Member(element=element, container=container, negated=negated):
                level = prec["cmp"]
                word = "not in" if negated else "in"
                return Group(self.sub(element, level + 1), nest([LINE, word, " ", self.sub(container, level + 1)]))
            case n.Call(func=func, args=args):
                if not args:
                    return f"{func}()"
                return Group(f"{func}(", nest([SOFTLINE, join([self.arg(a) for a in args], [",", LINE])]), SOFTLINE, ")")
            case n.ApplyTiers(schedule=schedule, lower=lower, upper=upper):
                band = [",", LINE, f"band {e.band}"] if e.band is not None else []
                return Group(f"{schedule}(", nest([SOFTLINE, "from ", self.arg(lower), LINE, "to ", self.arg(upper), *band]), SOFTLINE, ")")
            case n.Aggregate(kind=kind, var=var, source=source, body=body, where=where):
                where_part = [LINE, "where ", self.arg(where)] if where is not None else []
                if kind == "sum":
                    if isinstance(body, n.Conditional):
                        body_doc = self.brief_cases(body) if self.brief and len(body.branches) > 2 else self.branches(body)
                    else:
                        body_doc = self.arg(body)
                    inner = [SOFTLINE, body_doc, LINE, f"for {var} in ", self.arg(source), where_part]
                else:
                    inner = [SOFTLINE, f"{var} in ", self.arg(source), where_part]
                return Group(f"{kind}(", nest(inner), SOFTLINE, ")")
            case n.SetLiteral(items=items):
                if not items:
                    return "{}"
                return Group("{", nest([SOFTLINE, join([self.arg(i) for i in items], [",", LINE])]), SOFTLINE, "}")
            case n.Conditional():
                return Group("(", nest([SOFTLINE, self.branches(e)]), SOFTLINE, ")")
            case n.Let():
                return Group("(", nest([SOFTLINE, self.lets(e)]), SOFTLINE, ")")
            case _:
                raise AssertionError(e)

    def let_head(self, let: n.Let):
        """`let NAME = VALUE in`; a value that is not arithmetic in brackets (as the grammar wants)."""
        return Group(f"let {let.name} =", nest([LINE, self.sub(let.value, _PRECEDENCE["+"])], 2 * INDENT), " in")

    def lets(self, e):
        """`let a = x in let b = y in body`, unparenthesised: on one line, or a `let` per line."""
        docs = []
        while isinstance(e, n.Let):
            docs.append([self.lead(e), self.let_head(e), self.head(e)])
            e = e.body
        docs.append(self.branches(e) if isinstance(e, n.Conditional) else self.arg(e))
        return Group(join(docs, LINE))

    def branches(self, conditional: n.Conditional):
        """`when c then v ... otherwise v`, unparenthesised: one line, or a branch per line."""
        docs = []
        for branch in conditional.branches:
            head = "otherwise" if branch.condition is None else ["when ", self.arg(branch.condition), " then"]
            main = Group(head, nest([LINE, self.arg(branch.value)], 2 * INDENT))
            notes = [[LINE, self.lead(a), annotation(a), self.trail(a)] for a in branch.annotations] if self.annotations else []
            docs.append([self.lead(branch), main, self.head(branch), nest(notes), self.trail(branch)])
        return Group(join(docs, LINE))

    def formula(self, d, head: str) -> list:
        """A rule or a function after its head: `= body` on one line or broken after `=`; a
        `when` chain a branch per line (the annotations before the `=`); each `let` on a line
        of its own, two spaces in."""
        body, lets = d.body, []
        while isinstance(body, n.Let):
            lets.append([HARDLINE, self.lead(body), self.let_head(body), self.head(body), self.trail(body)])
            body = body.body
        if isinstance(body, n.Conditional):
            return [head, self.head(d), nest([self.annotation_lines(d.annotations), " =", lets, self.rule_branches(body)]), self.trail(d)]
        if lets:
            last = [HARDLINE, self.lead(body), self.arg(body), self.head(body), self.trail(body)]
            return [f"{head} =", self.head(d), nest([lets, last, self.annotation_lines(d.annotations)]), self.trail(d)]
        main = self.value(f"{head} =", d.body)
        return [main, self.head(d), nest(self.annotation_lines(d.annotations)), self.trail(d)]

    def rule_branches(self, conditional: n.Conditional) -> list:
        """A rule's top-level `when` chain: a branch per line, its notes two spaces further in."""
        branches = []
        for branch in conditional.branches:
            case = "otherwise" if branch.condition is None else ["when ", self.arg(branch.condition), " then"]
            main = Group(case, nest([LINE, self.arg(branch.value)], 2 * INDENT))
            notes = nest(self.annotation_lines(branch.annotations))
            branches.append([HARDLINE, self.lead(branch), main, self.head(branch), notes, self.trail(branch)])
        return branches

    def brief_cases(self, conditional: n.Conditional) -> str:
        first = conditional.branches[0]
        return f"(when {text(self.arg(first.condition))} then {text(self.arg(first.value))} ... {len(conditional.branches)} cases)"

    # ---- definitions ---------------------------------------------------------------
    def annotation_lines(self, annotations) -> list:
        return [[HARDLINE, self.lead(a), annotation(a), self.trail(a)] for a in annotations]

    def value(self, head, value, after: str = "", indent: int = INDENT):
        """`head value after`: on one line, or broken after the head with the value indented."""
        return Group(head, nest([LINE, self.arg(value)], indent), after)

    def block(self, d, head: str, body: list) -> list:
        """`head` + annotations + ` {`, then the body lines two spaces in, then `}`."""
        return [
            head,
            self.head(d),
            nest([self.annotation_lines(d.annotations), " {"]),
            nest([*body, self.tail(d)]),
            HARDLINE,
            "}",
            self.trail(d),
        ]

    def field(self, field: n.Field):
        written = f"{field.name}: {type_ref(field.type)}" + limits_text(field.limits)
        main = self.value(f"{written} =", field.default) if field.default is not None else written
        return [HARDLINE, self.lead(field), main, self.head(field), self.trail(field)]

    def definition(self, d):  # noqa: C901 - one dispatch over definition kinds
        words = modifiers(d)
        match d:
            case n.EnumDef(name=name, members=members):
                commented = any(self.lead(m) or self.trail(m) for m in members)
                if commented:  # one member per line, each with its comments
                    items = [[self.lead(m), str(m.value), self.trail(m)] for m in members]
                    body = join(items, [",", LINE])
                else:  # as many members on a line as fit
                    body = Fill([f"{m.value}," for m in members[:-1]] + [str(members[-1].value)], LINE)
                force = [BREAK_PARENT] if self.head(d) else []  # a comment after the head needs the braces open
                group = Group(force, "{", nest([LINE, body, self.tail(d)]), LINE, "}")
                return [f"{words}enum {name}", self.head(d), nest(self.annotation_lines(d.annotations)), " ", group, self.trail(d)]
            case n.RecordDef(name=name, fields=fields):
                return self.block(d, f"{words}record {name}", [self.field(f) for f in fields])
            case n.InputDef(fields=fields):
                return self.block(d, "input", [self.field(f) for f in fields])
            case n.ParamDef(value=None):
                return [f"{words}param {d.name}: {type_ref(d.type)} required", self.head(d), nest(self.annotation_lines(d.annotations)), self.trail(d)]
            case n.ParamDef():
                type_part = f": {type_ref(d.type)}" if d.type is not None else ""
                after = validity(d.validity) + (f" {d.bound}" if d.bound else "")
                main = self.value(f"{words}param {d.name}{type_part} =", d.value, after)
                return [main, self.head(d), nest(self.annotation_lines(d.annotations)), self.trail(d)]
            case n.TableDef():
                types = f": {type_ref(d.key_type)} -> {type_ref(d.value_type)}" if d.key_type is not None else ""
                rows = []
                for row in d.rows:
                    key = "default" if row.key is None else str(row.key)
                    if row.value is None:
                        rows.append([HARDLINE, self.lead(row), f"drop {key}", self.head(row), self.trail(row)])
                        continue
                    main = self.value(f"{key}:", row.value, validity(row.validity), 2 * INDENT)
                    rows.append([HARDLINE, self.lead(row), main, self.head(row), nest(self.annotation_lines(row.annotations)), self.trail(row)])
                return self.block(d, f"{words}table {d.name}{types}{' required' if d.required else ''}", rows)
            case n.TiersDef(required=True):
                return [f"{words}tiers {d.name} required", self.head(d), nest(self.annotation_lines(d.annotations)), self.trail(d)]
            case n.TiersDef():
                bands = []
                for band in d.bands:
                    named = f"band {band.name}: " if band.name is not None else ""
                    if band.upper is not None:
                        bounds = [named, "from ", self.arg(band.lower), " to ", self.arg(band.upper), ":"]
                    else:
                        bounds = [named, "above ", self.arg(band.lower), ":"]
                    main = Group(bounds, nest([LINE, self.arg(band.rate)], 2 * INDENT))
                    bands.append([HARDLINE, self.lead(band), main, self.head(band), nest(self.annotation_lines(band.annotations)), self.trail(band)])
                return self.block(d, f"{words}tiers {d.name}{validity(d.validity)}", bands)
            case n.RuleDef():
                type_part = f": {type_ref(d.type)}" if d.type is not None else ""
                return self.formula(d, f"{words}rule {d.name}{type_part}{validity(d.validity)}")
            case n.FunctionDef():
                params = ", ".join(f"{p.name}: {type_ref(p.type)}" for p in d.params)
                return self.formula(d, f"{words}function {d.name}({params}): {type_ref(d.type)}")
            case n.OutputDef(names=names):
                items = [o.name + ("," if i < len(names) - 1 else "") for i, o in enumerate(names)]
                return ["drop output " if d.drop else "output ", nest(Fill(items, LINE)), self.head(d), self.trail(d)]
            case n.FlowsDef(names=names):
                items = [("patient " if f.patient else "") + f.name + ("," if i < len(names) - 1 else "") for i, f in enumerate(names)]
                return ["drop flows " if d.drop else "flows ", nest(Fill(items, LINE)), self.head(d), self.trail(d)]
            case n.InvariantDef(name=name, condition=condition):
                main = self.value(f"{words}invariant {name}:", condition)
                return [main, self.head(d), nest(self.annotation_lines(d.annotations)), self.trail(d)]
            case n.RequireDef(field=field, condition=condition):
                main = self.value(f"require {field}:", condition)
                return [main, self.head(d), nest(self.annotation_lines(d.annotations)), self.trail(d)]
            case n.AccumulatorDef():
                # `accumulator NAME: TYPE per FIELD over year [from MM-DD] opening VALUE`, then
                # `adds EXPR` on the same line, or on the next one two spaces in
                head = f"{words}accumulator {d.name}: {type_ref(d.type)} per {d.per}{year_start(d.year_start)} opening "
                adds = nest([LINE, "adds ", self.arg(d.adds)]) if d.adds is not None else []
                main = Group(head, self.arg(d.opening), adds)
                return [main, self.head(d), nest(self.annotation_lines(d.annotations)), self.trail(d)]
            case _:
                raise AssertionError(d)

    def header(self, h: n.Header):
        first, *clauses = header_clauses(h)
        return [first, self.head(h), nest([[HARDLINE, line] for line in clauses]), self.trail(h)]


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
        clause = f"implements {quote(document.title)}"
        if document.number:
            clause += f" number {quote(document.number)}"
        if document.issued:
            clause += f" issued {document.issued.isoformat()}"
        lines.append(clause)
    if h.extends is not None:
        lines.append(f"extends {quote(h.extends)}")
    return lines


# ---- text ----------------------------------------------------------------------------------

_POLICY_TEXT = Printer()


def expression(e, annotations: bool = False, brief: bool = False) -> str:
    """`e` on one line (a conditional as its bare `when ... otherwise ...`, as a rule body is
    written); `annotations` and `brief` as for `Printer`. Used for formulas in explanations,
    warnings and messages."""
    printer = _POLICY_TEXT if annotations and not brief else Printer(annotations, brief)
    doc = printer.branches(e) if isinstance(e, n.Conditional) else printer.expr(e)
    return text(Group(doc))


def definition(d) -> str:
    """The canonical text of one definition, a line per construct (no trailing newline).
    `fmt` writes the same, broken further where a line passes its width."""
    return text(_POLICY_TEXT.definition(d))


def header(h: n.Header) -> str:
    """The header: `policy "title"`, then a clause per line, two spaces in."""
    return text(_POLICY_TEXT.header(h))
