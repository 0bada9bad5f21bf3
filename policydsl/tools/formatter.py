"""`policydsl fmt`: one canonical layout for policy files, comments kept.

Takes policy text; gives the same policy in the canonical layout, with its comments. The
text of every construct (literals such as `4_000 yuan`, expressions, definitions, the header)
is `printer.py`'s, and so the same as `policydsl show` prints; what is the formatter's own is
the layout in `WIDTH` columns, the comments, the blank lines and the check that formatting
changed nothing but the layout. The command (`fmt`, `--check`, `--diff`) is cli/fmt.py.

The layout is printed from the AST (so formatting cannot change meaning: the result is
parsed again and must give the same AST and the same comments, or nothing is written):

* a header clause per line; definitions as `printer.definition` lays them out: annotations
  (`because`, `cite`, `reason`) on their own lines two spaces in, block bodies (`{ ... }`)
  two spaces in, `when`/`otherwise` branches two spaces in with their annotations at four;
* blank lines between top-level definitions and comments are kept (at most one); there are
  none inside a definition;
* lines are wrapped at 100 columns (`WIDTH`). What does not fit breaks after `=` (or after
  `then` / `otherwise` / a row's `:`, or before an accumulator's `adds`), with the value
  indented; then, outermost first,
  inside calls and aggregates (one argument per line, closing parenthesis on its own line),
  before the operators of a `+ -`, `* /`, `and` or `or` chain, and between the branches of a
  nested conditional. Strings are never split, so a long reason may pass 100 columns;
* enum members go on one line if they fit, else one per line.

Comments are lexed from the text (the grammar ignores them) and re-attached:

* a comment at the end of a line belongs to the construct that ends on that line (a field,
  row, band, branch, annotation, enum member or definition) and stays at the end of its
  last line; a comment that ends a line in the middle of a construct (inside a multi-line
  expression, or after a block's `{`) goes to the end of that construct's first line
  (after `{` or `=`, or after its value);
* a comment on a line of its own belongs to the next construct at the same level (the next
  field, row, branch, annotation, or definition) and stays above it; one before a block's
  closing `}` stays there; one inside an expression moves above the line that holds it.

So a comment never leaves its definition, and formatting twice changes nothing.
"""

from __future__ import annotations

import bisect

import attrs

from policydsl.syntax import nodes as n
from policydsl.syntax import printer
from policydsl.syntax.printer import BREAK_PARENT, HARDLINE, Fill, Group, Line, Nest, join
from policydsl.diagnostics.model import PolicydslError
from policydsl.syntax.source import SourceFile

WIDTH = 100


class FormatError(PolicydslError):
    """A file cannot be formatted (it does not parse), or formatting would change it (a bug), U604."""

    code = "U604"


# ---- laying documents out: a small Wadler/Prettier pretty printer ---------------------------
#
# The documents are the printer's (`printer.Group`, `LINE`, ...): it says what the text is and
# where a line may break. Here they are laid out in `WIDTH` columns, with the comments.


class _Suffix:
    """A trailing comment: written at the end of the line it falls on."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _fits(doc, rest: list, width: int) -> bool:
    todo = [(True, doc)]
    index = len(rest)
    while width >= 0:
        if not todo:
            if index == 0:
                return True
            index -= 1
            _, flat, d = rest[index]
            todo.append((flat, d))
            continue
        flat, d = todo.pop()
        if isinstance(d, str):
            width -= len(d)
        elif isinstance(d, list):
            todo.extend((flat, x) for x in reversed(d))
        elif isinstance(d, Nest):
            todo.append((flat, d.doc))
        elif isinstance(d, Group):
            todo.append((flat and not d.hard, d.doc))
        elif isinstance(d, Fill):
            todo.append((flat, join(d.items, d.separator)))
        elif isinstance(d, Line):
            if not flat or d.hard:
                return True
            width -= 0 if d.soft else 1
    return False


def render(doc, width: int = WIDTH) -> list[tuple[str, str | None]]:
    """Lay `doc` out: a list of (code, trailing comment or None) lines."""
    lines: list[tuple[str, str | None]] = []
    current: list[str] = []
    position = 0
    suffixes: list[str] = []
    stack = [(0, False, doc)]
    while stack:
        indent, flat, d = stack.pop()
        if isinstance(d, str):
            current.append(d)
            position += len(d)
        elif isinstance(d, list):
            stack.extend((indent, flat, x) for x in reversed(d))
        elif isinstance(d, Nest):
            stack.append((indent + d.indent, flat, d.doc))
        elif isinstance(d, Group):
            fits = flat or (not d.hard and _fits(d.doc, stack, width - position))
            stack.append((indent, fits, d.doc))
        elif isinstance(d, Line):
            if flat and not d.hard:
                if not d.soft:
                    current.append(" ")
                    position += 1
            else:
                lines.append(_finish_line(current, suffixes))
                current, suffixes = [" " * indent], []
                position = indent
        elif isinstance(d, Fill):
            parts: list = [d.items[0]] if d.items else []
            width_left = width - position - _flat_width(d.items[0]) if d.items else 0
            for item in d.items[1:]:
                needed = _flat_width([d.separator, item])
                if flat or needed <= width_left:
                    parts.append(_Flat([d.separator, item]))
                    width_left -= needed
                else:
                    parts += [HARDLINE, item]
                    width_left = width - indent - _flat_width(item)
            stack.append((indent, flat, parts))
        elif isinstance(d, _Flat):
            stack.append((indent, True, d.doc))
        elif isinstance(d, _Suffix):
            suffixes.append(d.text)
    lines.append(_finish_line(current, suffixes))
    return lines


class _Flat:
    __slots__ = ("doc",)

    def __init__(self, doc):
        self.doc = doc


def _flat_width(doc) -> int:
    total = 0
    stack = [doc]
    while stack:
        d = stack.pop()
        if isinstance(d, str):
            total += len(d)
        elif isinstance(d, list):
            stack.extend(d)
        elif isinstance(d, (Nest, _Flat)):
            stack.append(d.doc)
        elif isinstance(d, Group):
            stack.extend(d.doc)
        elif isinstance(d, Fill):
            stack.append(join(d.items, d.separator))
        elif isinstance(d, Line) and not d.soft:
            total += 1
    return total


def _finish_line(parts: list[str], suffixes: list[str]) -> tuple[str, str | None]:
    if len(suffixes) > 1:  # the attachment rules prevent this; never merge two comments silently
        raise FormatError("internal: two comments fell on one line")
    return "".join(parts).rstrip(), (suffixes[0] if suffixes else None)


def _align(lines: list[tuple[str, str | None]]) -> list[str]:
    """Trailing comments of consecutive lines at the same indentation share a column."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        code, comment = lines[i]
        if comment is None:
            out.append(code)
            i += 1
            continue
        j = i
        indent = len(code) - len(code.lstrip(" "))
        while j < len(lines) and lines[j][1] is not None and len(lines[j][0]) - len(lines[j][0].lstrip(" ")) == indent and lines[j][0].strip():
            j += 1
        j = max(j, i + 1)
        column = max(len(c) for c, _ in lines[i:j]) + 2
        for c, m in lines[i:j]:
            out.append(f"{c.ljust(column)}{m}" if c.strip() else f"{c}{m}")
        i = j
    return out


# ---- comments in the text ------------------------------------------------------------------


@attrs.frozen
class Comment:
    text: str  # from `#`, trailing spaces removed
    start: int  # offset of `#`
    line: int
    own_line: bool  # nothing but spaces before it on its line
    code_before: int  # offset of the last code character before it (-1 if none)


def scan(text: str) -> tuple[list[Comment], list[int]]:
    """The comments of a policy, and the offsets of its code characters (strings skipped whole).

    Strings are `"..."` on one line with backslash escapes, exactly as the grammar's STRING;
    `#` outside a string starts a comment that runs to the end of the line.
    """
    comments: list[Comment] = []
    code: list[int] = []
    i, size, line = 0, len(text), 1
    line_has_code = False
    while i < size:
        ch = text[i]
        if ch == "\n":
            line += 1
            line_has_code = False
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            end = size if end == -1 else end
            comments.append(Comment(text[i:end].rstrip(), i, line, not line_has_code, code[-1] if code else -1))
            i = end
        elif ch == '"':
            j = i + 1
            while j < size and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            j = min(j, size - 1)
            code.extend((i, j))  # the ends are enough to find "the last code before"
            line_has_code = True
            i = j + 1
        elif ch.isspace():
            i += 1
        else:
            code.append(i)
            line_has_code = True
            i += 1
    return comments, code


# ---- anchors: the constructs comments attach to ---------------------------------------------


@attrs.define(eq=False)
class Anchor:
    node: object
    start: int
    end: int
    end_line: int
    children: list = attrs.Factory(list)
    open: int | None = None  # where the inner region (a block body, a rule's branches) starts
    closing: bool = False  # ends with `}` on its own line: comments may stay before it
    head_is_end: bool = False  # its first line is its last (no separate head position)
    depth: int = 0
    leading: list = attrs.Factory(list)
    heads: list = attrs.Factory(list)
    trailing: str | None = None
    tail: list = attrs.Factory(list)


_BLOCKS = (n.EnumDef, n.RecordDef, n.InputDef, n.TableDef, n.TiersDef)


class _Anchors:
    def __init__(self, policy: n.PolicyFile, text: str, code: list[int]):
        self.text = text
        self.code = code
        self.by_id: dict[int, Anchor] = {}
        self.all: list[Anchor] = []
        self.top: list[Anchor] = []
        header = policy.header
        if header.title is not None and code:
            first_def = policy.definitions[0].span.start if policy.definitions else len(text)
            end = self.last_code_before(first_def) + 1
            anchor = Anchor(header, code[0], end, self.line_of(end - 1))
            self.register(anchor, 0)
            anchor.head_is_end = _header_lines(header) == 1
            self.top.append(anchor)
        for definition in policy.definitions:
            self.top.append(self.definition(definition))

    def line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def last_code_before(self, offset: int) -> int:
        index = bisect.bisect_left(self.code, offset) - 1
        return self.code[index] if index >= 0 else -1

    def first_code_char(self, char: str, start: int, end: int) -> int | None:
        index = bisect.bisect_left(self.code, start)
        while index < len(self.code) and self.code[index] < end:
            if self.text[self.code[index]] == char:
                return self.code[index]
            index += 1
        return None

    def register(self, anchor: Anchor, depth: int) -> Anchor:
        anchor.depth = depth
        anchor.children.sort(key=lambda a: a.start)
        self.by_id[id(anchor.node)] = anchor
        self.all.append(anchor)
        return anchor

    def make(self, node, children: list, depth: int, **extra) -> Anchor:
        span = node.span
        anchor = Anchor(node, span.start, span.end, span.end_line, children, **extra)
        if anchor.open is None:
            # a leaf (field, row, band, branch, param, rule, ...): its main part ends where its
            # first annotation starts; comments after that go with the annotations
            notes = [a for a in children if isinstance(a.node, n.Annotation)]
            if notes:
                anchor.open = self.last_code_before(min(a.start for a in notes))
        anchor.head_is_end = anchor.open is None and not anchor.closing
        return self.register(anchor, depth)

    def annotations(self, annotations, depth: int) -> list[Anchor]:
        return [self.make(a, [], depth) for a in annotations]

    def nested(self, expr, depth: int) -> list[Anchor]:
        """Anchors for the branches of conditionals nested inside an expression."""
        found: list[Anchor] = []
        stack = [expr]
        while stack:
            e = stack.pop()
            if e is None:
                continue
            if isinstance(e, n.Conditional):
                found += [self.branch(b, depth) for b in e.branches]
                continue
            stack.extend(n.children(e))
        return found

    def branch(self, branch: n.Branch, depth: int) -> Anchor:
        children = self.nested(branch.condition, depth + 1) + self.nested(branch.value, depth + 1)
        children += self.annotations(branch.annotations, depth + 1)
        return self.make(branch, children, depth)

    def definition(self, d) -> Anchor:  # noqa: C901 - one dispatch over definition kinds
        depth = 1
        kids = depth + 1
        children = self.annotations(getattr(d, "annotations", ()), kids)
        extra: dict = {}
        if isinstance(d, _BLOCKS):
            extra = {"open": self.first_code_char("{", d.span.start, d.span.end), "closing": True}
        match d:
            case n.EnumDef():
                children += [self.make(m, [], kids) for m in d.members]
            case n.RecordDef() | n.InputDef():
                for field in d.fields:
                    children.append(self.make(field, self.nested(field.default, kids + 1), kids))
            case n.ParamDef():
                children += self.nested(d.value, kids) if d.value is not None else []
            case n.TableDef():
                for row in d.rows:
                    row_children = (self.nested(row.value, kids + 1) if row.value is not None else []) + self.annotations(row.annotations, kids + 1)
                    children.append(self.make(row, row_children, kids))
            case n.TiersDef():
                for band in d.bands:
                    band_children = []
                    for part in (band.lower, band.upper, band.rate):
                        band_children += self.nested(part, kids + 1)
                    band_children += self.annotations(band.annotations, kids + 1)
                    children.append(self.make(band, band_children, kids))
            case n.RuleDef() | n.FunctionDef():
                body, lets = d.body, []
                while isinstance(body, n.Let):  # each `let` line, then what follows them
                    lets.append(body)
                    children.append(self.make(body, self.nested(body.value, kids + 1), kids))
                    body = body.body
                if isinstance(body, n.Conditional):
                    children += [self.branch(b, kids) for b in body.branches]
                    extra = {"open": self.last_code_before((lets or body.branches)[0].span.start)}
                elif lets:  # the formula after them has a line of its own too
                    children.append(self.make(body, self.nested(body, kids + 1), kids))
                    extra = {"open": self.last_code_before(lets[0].span.start)}
                else:
                    children += self.nested(body, kids)
            case n.InvariantDef() | n.RequireDef():
                children += self.nested(d.condition, kids)
            case n.AccumulatorDef():
                children += self.nested(d.opening, kids) + self.nested(d.adds, kids)
        return self.make(d, children, depth, **extra)

    # ---- attaching -----------------------------------------------------------------
    def containing(self, offset: int) -> list[Anchor]:
        """The anchors whose text contains `offset`, outermost first."""
        path: list[Anchor] = []
        level = self.top
        while True:
            inside = [a for a in level if a.start <= offset < a.end]
            if not inside:
                return path
            path.append(inside[0])
            level = inside[0].children

    def attach(self, comments: list[Comment]) -> list[Comment]:
        """Attach each comment to an anchor; return those after everything (end of file)."""
        at_end: list[Comment] = []
        for comment in comments:
            if comment.own_line:
                target = self.attach_own_line(comment)
                if target is None:
                    at_end.append(comment)
            else:
                self.attach_trailing(comment)
        for anchor in self.all:
            # annotations written before a rule's `=` or an invariant's `:` are printed after
            # the value: a comment that ended the value stays after the value
            notes = [a for a in anchor.children if isinstance(a.node, n.Annotation)]
            if anchor.trailing is not None and notes and not anchor.closing and max(a.end for a in notes) < anchor.end and not _conditional_rule(anchor.node):
                anchor.heads.insert(0, anchor.trailing)
                anchor.trailing = None
            # one comment per line: where the head position is the end of the anchor, a head
            # comment becomes its trailing comment; any more move above the anchor
            if anchor.head_is_end and anchor.heads and anchor.trailing is None:
                anchor.trailing = anchor.heads.pop(0)
            keep = [] if anchor.head_is_end else anchor.heads[:1]
            if len(anchor.heads) > len(keep):
                anchor.leading = sorted(anchor.leading + anchor.heads[len(keep):], key=lambda c: c.start)
                anchor.heads = keep
        return at_end

    def attach_own_line(self, comment: Comment) -> Anchor | None:
        c = comment.start
        path = self.containing(c)
        if not path:
            following = [a for a in self.top if a.start > c]
            if not following:
                return None
            following[0].leading.append(comment)
            return following[0]
        anchor = path[-1]
        kids = anchor.children
        after = [i for i, a in enumerate(kids) if a.start > c]
        if after:
            k = after[0]
            if self.last_code_before(kids[k].start) < c or (k > 0 and c >= kids[k - 1].end):
                kids[k].leading.append(comment)  # just before a child, or between two children
            else:
                anchor.leading.append(comment)  # inside the head or an expression: above it
        elif anchor.closing and anchor.open is not None and c > anchor.open:
            anchor.tail.append(comment)  # before the closing `}`
        else:
            anchor.leading.append(comment)
        return anchor

    def attach_trailing(self, comment: Comment) -> None:
        p = comment.code_before
        q = p
        while q >= 0 and self.text[q] in ",{=":  # `a,  # c`, `cite "x" {  # c`, `because "r" =  # c`
            q = self.last_code_before(q)
        candidates = [a for a in self.all if a.end - 1 == q]
        if candidates:
            best = max(candidates, key=lambda a: a.depth)
            if best.trailing is None:
                best.trailing = comment
                return
        path = self.containing(p)
        if path:
            path[-1].heads.append(comment)
        else:  # not reachable: all code is in the header or a definition
            self.top[0].leading.append(comment)


def _conditional_rule(node) -> bool:
    """A rule or function whose body is a `when` chain (after any `let`s): its annotations come before its `=`."""
    if not isinstance(node, (n.RuleDef, n.FunctionDef)):
        return False
    body = node.body
    while isinstance(body, n.Let):
        body = body.body
    return isinstance(body, n.Conditional)


def _header_lines(header: n.Header) -> int:
    return 1 + sum(x is not None for x in (header.version, header.region, header.effective, header.as_of, header.extends)) + len(header.documents)


# ---- layout --------------------------------------------------------------------------------


quote = printer.quote


class _Layout(printer.Printer):
    """AST -> document: the printer's, with the comments attached to each anchor."""

    def __init__(self, anchors: _Anchors | None):
        super().__init__(annotations=True)
        self.anchors = anchors.by_id if anchors is not None else {}

    def _anchor(self, node) -> Anchor | None:
        return self.anchors.get(id(node))

    def lead(self, node) -> list:
        anchor = self._anchor(node)
        return [[c.text, HARDLINE] for c in anchor.leading] if anchor else []

    def head(self, node) -> list:
        anchor = self._anchor(node)
        return [[_Suffix(c.text), BREAK_PARENT] for c in anchor.heads] if anchor else []

    def trail(self, node) -> list:
        anchor = self._anchor(node)
        return [_Suffix(anchor.trailing.text), BREAK_PARENT] if anchor and anchor.trailing else []

    def tail(self, node) -> list:
        anchor = self._anchor(node)
        return [[HARDLINE, c.text] for c in anchor.tail] if anchor else []


# ---- whole files ---------------------------------------------------------------------------


def _parse(text: str, name: str) -> n.PolicyFile:
    from policydsl.api import parse_source

    policy_file, diagnostics = parse_source(SourceFile(name, text))
    errors = [d for d in diagnostics if d.is_error]
    if policy_file is None or errors:
        raise FormatError("\n\n".join(d.render() for d in (errors or diagnostics)))
    return policy_file


def _lines_of(doc) -> list[str]:
    return _align(render(doc))


def format_policy(policy: n.PolicyFile, text: str) -> str:
    """The canonical text of a parsed policy, with the comments of its `text`."""
    comments, code = scan(text)
    anchors = _Anchors(policy, text, code)
    at_end = anchors.attach(comments)
    layout = _Layout(anchors)
    items: list[tuple[bool, list[str]]] = []  # (blank line before, lines)
    previous_end = None

    def add(lines: list[str], first_line: int, last_line: int) -> None:
        nonlocal previous_end
        blank = previous_end is not None and first_line - previous_end > 1
        items.append((blank, lines))
        previous_end = last_line

    for anchor in anchors.top:
        # comments above the anchor in the text keep their blank lines; comments moved out of
        # it (from inside an expression) go just above it
        outside = [c for c in anchor.leading if c.start < anchor.start]
        moved = [c for c in anchor.leading if c.start >= anchor.start]
        for comment in outside:
            add([comment.text], comment.line, comment.line)
        node = anchor.node
        body = layout.header(node) if isinstance(node, n.Header) else layout.definition(node)
        lines = [c.text for c in moved] + _lines_of(body)
        add(lines, anchors.line_of(anchor.start), anchor.end_line)
    for comment in at_end:
        add([comment.text], comment.line, comment.line)
    out: list[str] = []
    for blank, lines in items:
        if blank and out:
            out.append("")
        out += lines
    return "\n".join(out) + "\n" if out else ""


def format_text(text: str, name: str = "<policy>") -> str:
    """Format policy text; raises `FormatError` for text that does not parse.

    The result is checked: it must parse to the same AST and hold the same comments, in
    the same definitions. A failure there is a bug and nothing is written.
    """
    text = text.replace("\r\n", "\n").removeprefix("\ufeff")
    policy = _parse(text, name)
    formatted = format_policy(policy, text)
    try:
        again = _parse(formatted, name)
    except FormatError as error:
        raise FormatError(f"{name}: internal error: the formatted text does not parse ({error}); the file is left as it is") from None
    if again != policy:
        raise FormatError(f"{name}: internal error: formatting would change the policy; the file is left as it is")
    if sorted(c.text for c in scan(formatted)[0]) != sorted(c.text for c in scan(text)[0]):
        raise FormatError(f"{name}: internal error: formatting would lose a comment; the file is left as it is")
    return formatted


def format_definition(definition, width: int = WIDTH) -> str:
    """One definition in the canonical layout (no comments): `printer.definition`, broken to `width`."""
    return "\n".join(code for code, _ in render(printer.Printer().definition(definition), width))


__all__ = ["FormatError", "WIDTH", "format_definition", "format_policy", "format_text", "quote", "scan"]

