"""Stage 1: policy text -> Lark parse tree, and a friendly diagnostic for every syntax error.

`parse(source)` gives a `Parsed`: the tree, the diagnostics, the definitions skipped. A text
that parses costs one Lark parse and nothing more. After an error the text is parsed again
piece by piece: a piece starts where a definition does (its keyword at the start of a line:
`enum`, `record`, `input`, `param`, `table`, `tiers`, `rule`, `function`, `output`, `flows`,
`drop output`, `drop flows`, `invariant`, `require`, `accumulator`, after any `override`/`final`), each
is parsed alone, and
a piece that does not parse is one diagnostic (its first error; nothing that follows from it
inside the same definition) and is skipped, so the tree holds every definition that parsed.
Two more places to resume at: a line that starts a definition without its keyword
(`basic: money = ...`, `rul basic ...`, outside brackets), and the line where a definition
that parses alone ended and the next line could not go on with it. The hints come from the
table of known mistakes (mistakes.py), which sees the definition's tokens, so they fire in any
definition. Full-width punctuation is reported and replaced by ASCII first (same length, so
positions hold), and the rest is read as if it had been typed so.

Checking a file with syntax errors (policydsl/api.py, `_analyze` and `follow_on`): the
definitions that parsed are checked, so an editor gets their symbols and the author their
other errors in the same run; what the checker would say only because a definition was
skipped (an undefined name it would define, an unknown type or function, an output not
defined, "no input", "no outputs", unused warnings) is left out. A header that does not
parse stops the check: without its `extends`, every inherited name would be unknown.

Only this module, `tables.py` (which writes the shipped tables) and `lower.py` import Lark.
The grammar lives in `grammar/policy.lark` at the top of the repository;
`policydsl/syntax/policy.lark` links to it so that an installed wheel carries a copy.

The LALR tables are built ahead of time and shipped in the package as plain JSON data,
`policydsl/grammar_tables.json` (Lark's own serialized form, with the SHA-256 of the grammar
text and the Lark version they were made with). Loading them takes ~13 ms and reads no
cache folder and no pickle: JSON cannot run code. If they do not match the grammar text
or the installed Lark, they are not used and the tables are built in memory (~110 ms).
Regenerate them after changing the grammar (a test fails until you do):

    python -m policydsl.syntax.tables
"""

from __future__ import annotations

import bisect
import difflib
import functools
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import attrs
import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from policydsl.diagnostics.model import Diagnostic, Related
from policydsl.syntax import mistakes
from policydsl.syntax.source import SourceFile, Span

TABLES_FILE = "grammar_tables.json"
TABLES_FORMAT = "policydsl-lark-tables 1"
_OPTIONS = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": True}
_INT_KEYS = "#int"  # JSON keys are strings: a dict keyed by ints is written {"#int": [[k, v], ...]}


def grammar_text() -> str:
    """The grammar, from the installed package or else from the source tree."""
    packaged = resources.files("policydsl.syntax").joinpath("policy.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "grammar" / "policy.lark").read_text(encoding="utf-8")


def grammar_hash(grammar: str) -> str:
    return hashlib.sha256(grammar.encode("utf-8")).hexdigest()


def build_lark(grammar: str) -> lark.Lark:
    """Lark built from the grammar text: what the shipped tables must be equivalent to."""
    return lark.Lark(grammar, **_OPTIONS)


def _decode_object(obj: dict):
    pairs = obj.get(_INT_KEYS)
    if pairs is not None and len(obj) == 1:
        return {int(k): v for k, v in pairs}
    return obj


def _read_tables_document(grammar: str) -> dict | None:
    """The shipped tables if they were made from `grammar` by this Lark, else None."""
    try:
        raw = resources.files("policydsl.syntax").joinpath(TABLES_FILE).read_bytes()
        document = json.loads(raw, object_hook=_decode_object)
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    expected = {"format": TABLES_FORMAT, "grammar_sha256": grammar_hash(grammar), "lark_version": lark.__version__, "options": _OPTIONS}
    if any(document.get(key) != value for key, value in expected.items()):
        return None
    return document


def tables_status(grammar: str | None = None) -> str:
    """'shipped' when the packaged tables fit the grammar and Lark, else 'stale' or 'missing'."""
    grammar = grammar_text() if grammar is None else grammar
    if not resources.files("policydsl.syntax").joinpath(TABLES_FILE).is_file():
        return "missing"
    return "shipped" if _read_tables_document(grammar) is not None else "stale"


def _load_shipped(grammar: str) -> lark.Lark | None:
    document = _read_tables_document(grammar)
    if document is None:
        return None
    try:
        return lark.Lark._load_from_dict(document["data"], document["memo"])
    except Exception:  # noqa: BLE001 - unusable tables: build them instead (correct, slower)
        return None


@functools.cache
def _lark() -> lark.Lark:
    grammar = grammar_text()
    return _load_shipped(grammar) or build_lark(grammar)


# ---- parsing, and every syntax error of a file ----------------------------------------------

_TOKEN_NAMES = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a string ("...")',
    "PERCENT": "a percentage",
    "DATE": "a date (YYYY-MM-DD)",
    "COMPARE": "a comparison (=, !=, <, <=, >, >=)",
    "YUAN": "`yuan`",
    "MONTHS": "`months`",
    "$END": "the end of the file",
}
_GOT_NAMES = {"NAME": "name", "NUMBER": "number", "STRING": "string", "PERCENT": "percentage", "DATE": "date"}
# The examples of the known mistakes (mistakes.py), by name: tests parse each with the shipped tables.
_EXAMPLES: dict[str, list[str]] = {m.name: list(m.examples) for m in mistakes.MISTAKES}

# Where a definition starts: a keyword at the start of a line (after any `override`/`final`).
# Inside a definition no line starts with one (a table's `drop KEY` is not `drop output`), and
# strings and comments end at the line's end, so these are the places to resume at.
_KEYWORDS = "|".join(mistakes.DEFINITION_KEYWORDS)
_DROPPED = "|".join(mistakes.DROPPED)
_DEFINITION_START = re.compile(rf"^[ \t]*(?:(?:override|final)\s+)*(?:{_KEYWORDS}|drop[ \t]+(?:{_DROPPED}))\b", re.M)
_SKIPPED_HEAD = re.compile(rf"\s*(?:(?:override|final)\s+)*({_KEYWORDS}|drop\s+(?:{_DROPPED})|policy)?\b\s*([^\W\d]\w*)?")
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')  # closed strings and comments (an open one may be the error)
_DEFINED = re.compile(rf"\b(?:{'|'.join(k for k in mistakes.DEFINITION_KEYWORDS if k not in mistakes.DROPPED)})\s+([^\W\d]\w*)")
_FIELD_NAME = re.compile(r"([^\W\d]\w*)\s*:")
_WORD = re.compile(r"[^\W\d]\w*")


@attrs.frozen
class Skipped:
    """A definition that did not parse: its keyword (`rule`, `input`, `policy` for the header,
    None when it has none), the names it would define (an input's fields, an enum's members
    too), and where its text is. The rest of the file is parsed without it."""

    keyword: str | None
    names: frozenset[str]
    span: Span


@attrs.frozen
class Parsed:
    """A file parsed: the tree of every definition that parsed (None only if nothing could be
    made of it), a diagnostic for each syntax error, and the definitions skipped for them."""

    tree: lark.Tree | None
    diagnostics: tuple[Diagnostic, ...] = ()
    skipped: tuple[Skipped, ...] = ()


def parse(source: SourceFile) -> Parsed:
    """Parse `source`: one Lark parse when the text is right (no recovery cost), else every error.

    After an error the parser resumes at the next definition (`_pieces`): each definition is
    parsed on its own, so an error is reported once, nothing it causes later in the same
    definition is reported, and the definitions that parse are kept (`Parsed.tree`).
    """
    try:
        tree = _lark().parse(source.text)
    except UnexpectedInput as error:
        first = _error_offset(error)
        return _recover(source, len(source.text) if first is None else first)
    return Parsed(tree, tuple(_split_words(source, tree)))


_SPLIT_TOKENS = frozenset({"NAME", "NUMBER", "PERCENT", "DATE"})
_WORD_CHAR = re.compile(r"\w")
_WORD_BEFORE = re.compile(r"\w+\Z")
_LEADING_ZERO = re.compile(r"0\d")  # no number is written so, but the thousands of `400,000` are
_DIGITS_BEFORE = re.compile(r"[\d,]*\d\Z")


def _split_words(source: SourceFile, tree: lark.Tree) -> list[Diagnostic]:
    """P100 for a word the lexer cut after a keyword (`rulex: money = ...` read as `rule x`,
    `outputa` as `output a`): where only a keyword can come, Lark's contextual lexer takes the
    keyword out of the front of a longer word. In text as written a name or number never starts
    right after a letter, digit or `_`, so such a token is the rest of a cut word. And for
    thousands written with commas where a comma separates arguments (`min(400,000 yuan, cap)`
    is min(400, 000 yuan, cap)): a number with a leading zero right after `digit,`."""
    text = source.text
    found = []
    stack = [tree]  # iteratively: a long chain of `+` is a deep tree
    while stack:
        node = stack.pop()
        if isinstance(node, lark.Tree):
            stack.extend(child for child in node.children if child is not None)
            continue
        if not isinstance(node, lark.Token) or node.type not in _SPLIT_TOKENS:
            continue
        token = node
        start = token.start_pos
        if token.type == "NUMBER" and _LEADING_ZERO.match(str(token)) and start >= 2 and text[start - 1] == "," and text[start - 2].isdigit():
            first = _DIGITS_BEFORE.search(text, 0, start - 1).start()
            written = mistakes.THOUSANDS.match(text, first).group()
            found.append(Diagnostic("P100", f"`{written}` reads as {written.count(',') + 1} numbers: a comma separates arguments",
                                    _span(source, first, first + len(written)),
                                    hint=f"thousands are separated with `_`, not `,`: write `{written.replace(',', '_')}`"))
            continue
        if start and _WORD_CHAR.match(text, start - 1):
            keyword = _WORD_BEFORE.search(text, 0, start).group()
            word = keyword + str(token)
            found.append(Diagnostic("P100", f"`{word}` is not a keyword", _span(source, start - len(keyword), token.end_pos),
                                    hint=f"a space goes after the keyword: `{keyword} {token}`"))
    return sorted(found, key=lambda d: d.span.start)


def parse_tree(source: SourceFile) -> lark.Tree | Diagnostic:
    """Parse `source` into a Lark tree, or return its first syntax error as a diagnostic."""
    parsed = parse(source)
    if parsed.diagnostics:
        return min(parsed.diagnostics, key=lambda d: d.span.start if d.span else 0)
    return parsed.tree


def _recover(source: SourceFile, first_error: int) -> Parsed:
    """Every error of a text that does not parse; the first is at `first_error` (an offset)."""
    text, replaced = mistakes.full_width(source.text)
    diagnostics = _full_width_diagnostics(source, replaced)
    children: list = []
    skipped: list[Skipped] = []
    pieces = _pieces(text)
    # The definitions before the piece of the first error parsed: parse them again at once.
    before_error = max(index for index, (start, _) in enumerate(pieces) if start <= first_error)
    if before_error > 0:
        try:
            children.extend(_lark().parse(text[: pieces[before_error][0]]).children)
            pieces = pieces[before_error:]
        except UnexpectedInput:
            pass  # piece by piece from the start, then
    for index, (start, end) in enumerate(pieces):
        following = pieces[index + 1][0] if index + 1 < len(pieces) else None
        while start < end:
            tree, seen, error = _attempt(text, start, end)
            if error is None:
                if start > 0 and _has_header(tree):
                    error = _header_not_first(text, start, seen)
                else:
                    _shift(tree, _line_of(text, start) - 1, start)
                    children.extend(tree.children)
                    break
            # A line the definition cannot go on with: keep what came before it, if it parses alone.
            split = _line_split(text, start, seen, error)
            if split is not None:
                before, _, problem = _attempt(text, start, split)
                if problem is None and (start == 0 or not _has_header(before)):
                    _shift(before, _line_of(text, start) - 1, start)
                    children.extend(before.children)
                    start = split
                    continue
            diagnostics.append(_syntax_error(source, text, start, end, seen, error, following))
            offset = _error_offset(error)
            resume = _resume_at(text, start + offset, start, end) if offset is not None else None
            skipped.append(_skipped(source, text, start, resume or end, first=not children and not skipped))
            if resume is None:
                break
            start = resume
    tree = lark.Tree("start", children)
    diagnostics += _split_words(source, tree)
    return Parsed(tree, tuple(sorted(diagnostics, key=lambda d: d.span.start if d.span else 0)), tuple(skipped))


def _has_header(tree: lark.Tree) -> bool:
    return any(isinstance(c, lark.Tree) and c.data == "header" for c in tree.children)


def _pieces(text: str) -> list[tuple[int, int]]:
    """The text cut where definitions start: (start, end) offsets, each piece whole lines."""
    starts = [m.start() for m in _DEFINITION_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return list(zip(starts, [*starts[1:], len(text)]))


def _attempt(text: str, start: int, end: int):
    """Parse text[start:end] alone: (tree, tokens, None), or (None, the tokens before the error, error)."""
    interactive = _lark().parse_interactive(text[start:end])
    seen: list = []
    try:
        for token in interactive.iter_parse():
            seen.append(token)
        tree = interactive.feed_eof(seen[-1] if seen else None)
    except UnexpectedInput as error:
        token = getattr(error, "token", None)
        if seen and token is not None and seen[-1] is token:
            seen.pop()  # the parser refused it: it is the error's token, not one before
        return None, seen, error
    return tree, seen, None


_SOFT_START = re.compile(r"^([^\W\d]\w*)[ \t]*(:|=(?!=)|[^\W\d])", re.M)


def _resume_at(text: str, after: int, start: int, end: int) -> int | None:
    """A line after the error, in the rest of the piece, that starts a definition without its keyword:
    `basic: money = ...` or `rul basic ...` at the start of a line, outside brackets. The parser goes
    on there, so that mistake is reported too (the rest of a piece is otherwise skipped)."""
    line = text.find("\n", after, end)
    while line != -1:
        match = _SOFT_START.match(text, line + 1, end)
        if match is not None:
            word, follows = match.group(1), match.group(2)
            keywordless = follows in (":", "=") or bool(difflib.get_close_matches(word, mistakes.DEFINITION_KEYWORDS, n=1, cutoff=0.75))
            if keywordless and word not in _NOT_DEFINITIONS and mistakes.bracket_depth(text, start, match.start()) == 0:
                return match.start()
        line = text.find("\n", line + 1, end)
    return None


_NOT_DEFINITIONS = frozenset({"when", "otherwise", "then", "let", "because", "cite", "reason", "from", "until", "above", "band", "default"})


def _error_offset(error: UnexpectedInput) -> int | None:
    """Where in its piece the error is (None: at the end)."""
    token = getattr(error, "token", None)
    if isinstance(token, lark.Token):
        return None if token.type == "$END" else token.start_pos
    return error.pos_in_stream


def _line_split(text: str, start: int, seen: list, error: UnexpectedInput) -> int | None:
    """The start of the error's line when the error is the first token on it and the piece has
    tokens before it: the definition may have ended on the line before."""
    offset = _error_offset(error)
    if offset is None or not seen:
        return None
    offset += start
    line_start = text.rfind("\n", 0, offset) + 1
    if line_start <= start or text[line_start:offset].strip():
        return None
    return line_start


_MODIFIED_HEADER = "the header (`policy \"...\"`, its clauses) comes once, at the start of the file"


def _header_not_first(text: str, start: int, seen: list) -> UnexpectedInput:
    first = next(t for t in seen if t.type == "POLICY")
    error = UnexpectedToken(first, {"RULE"})
    error.header_not_first = True
    return error


def _shift(tree: lark.Tree, lines: int, offset: int) -> None:
    """Move the positions of a piece's tree (parsed alone) to where the piece is in the file.

    Pieces start at the start of a line, so columns stay as they are."""
    if not lines and not offset:
        return
    done: set[int] = set()
    stack: list = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, lark.Token):
            target = node
        elif isinstance(node, lark.Tree):
            stack.extend(node.children)
            target = node._meta
            if target is None or getattr(target, "empty", True):
                continue
        else:
            continue
        if id(target) in done:
            continue
        done.add(id(target))
        for name in ("line", "end_line", "container_line", "container_end_line"):
            value = getattr(target, name, None)
            if isinstance(value, int):
                setattr(target, name, value + lines)
        for name in ("start_pos", "end_pos", "container_start_pos", "container_end_pos"):
            value = getattr(target, name, None)
            if isinstance(value, int):
                setattr(target, name, value + offset)


# ---- diagnostics ---------------------------------------------------------------------------


def _describe(terminal: str) -> str:
    if terminal in _TOKEN_NAMES:
        return _TOKEN_NAMES[terminal]
    text = _terminal_text(terminal)
    return f"`{text}`" if text != terminal else terminal.lower()


@functools.cache
def _terminal_text(terminal: str) -> str:
    """The text of a keyword or symbol terminal (`then`, `)`); else the terminal's name."""
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal
    return pattern.value if isinstance(pattern, lark.lexer.PatternStr) else terminal


def _expected_list(expected) -> str:
    names = sorted({_describe(t) for t in expected})
    if len(names) > 8:
        names = names[:8] + [f"... and {len(names) - 8} more"]
    return ", ".join(names)


@functools.lru_cache(maxsize=8)
def _newlines(text: str) -> tuple[int, ...]:
    return tuple(match.start() for match in re.finditer("\n", text))


def _line_of(text: str, offset: int) -> int:
    """The 1-based line of `offset` (a line index per text: a file with many errors is not counted over and over)."""
    return bisect.bisect_left(_newlines(text), offset) + 1


def _span(source: SourceFile, start: int, end: int) -> Span:
    text = source.text
    end = max(start, min(end, len(text)))
    line = _line_of(text, start)
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    end_line = _line_of(text, end)
    end_column = end - (text.rfind("\n", 0, end) + 1) + 1
    return Span(source, line, column, end_line, end_column, start, end)


def _point(source: SourceFile, offset: int) -> Span:
    return _span(source, offset, offset + 1) if offset < len(source.text) else Span.point(
        source, source.text.count("\n") + 1, len(source.text) - (source.text.rfind("\n") + 1) + 1, len(source.text)
    )


def _tok(token: lark.Token, start: int) -> mistakes.Tok:
    return mistakes.Tok(token.type, str(token), token.start_pos + start, token.end_pos + start)


def _first_token(text: str, start: int, end: int) -> mistakes.Tok | None:
    """The first token of text[start:end] (the keyword a piece starts with)."""
    try:
        token = next(iter(_lark().lex(text[start:end])), None)
    except UnexpectedInput:
        return None
    return _tok(token, start) if token is not None else None


def _syntax_error(source: SourceFile, text: str, start: int, end: int, seen: list, error: UnexpectedInput, following: int | None) -> Diagnostic:
    """The diagnostic of the error that stopped the piece text[start:end]; `following`: where the next piece starts."""
    tokens = tuple(_tok(t, start) for t in seen)
    if getattr(error, "header_not_first", False):
        token = _tok(error.token, start)
        return Diagnostic("P100", "unexpected `policy`", _span(source, token.start, token.end), hint=_MODIFIED_HEADER)
    if isinstance(error, UnexpectedCharacters):
        offset = start + error.pos_in_stream
        token = mistakes.Tok("", text[offset : offset + 1], offset, offset + 1)
        expected = frozenset(_terminal_text(t) for t in (error.allowed or ()))
    else:
        got = error.token
        if got.type == "$END":
            ahead = _first_token(text, following, min(len(text), following + 200)) if following is not None else None
            last = tokens[-1].end if tokens else start
            token = ahead or mistakes.Tok("$END", "", last, last)
        else:
            token = _tok(got, start)
        expected = frozenset(_terminal_text(t) for t in (error.expected or ()))
    try:
        found = mistakes.explain(mistakes.Context(text, tokens, token, expected, end))
    except Exception:  # noqa: BLE001 - a hint that fails to build only loses the hint
        found = None
    hint = found.hint if found else None
    where = _span(source, token.start, max(token.end, token.start + 1)) if token.type != "$END" else _point(source, token.start)
    if found is not None and found.code is None and found.at is not None:
        return Diagnostic("P100", found.message or "unexpected token", _span(source, found.at.start, found.at.end), hint=hint)
    if found is not None and found.code is not None and found.at is not None:
        noticed = "noticed here, where the definition ends" if token.type == "$END" or token.start >= end else "noticed here"
        return Diagnostic(
            found.code, found.message or "unclosed bracket", _span(source, found.at.start, found.at.end), hint=hint,
            related=(Related(noticed, where),),
        )
    if token.type == "":
        if token.text == '"':
            return Diagnostic("P102", "unterminated string", where, hint="close the string with `\"` on the same line")
        return Diagnostic("P101", f"unexpected character {token.text!r}", where, hint=hint)
    if token.type == "$END":
        return Diagnostic("P103", "unexpected end of file", where, hint=hint or f"expected {_expected_list(error.expected)}")
    what = f"{_GOT_NAMES[token.type]} `{token.text}`" if token.type in _GOT_NAMES else f"`{token.text}`"
    return Diagnostic("P100", f"unexpected {what}", where, hint=hint or f"expected {_expected_list(error.expected)}")


def _full_width_diagnostics(source: SourceFile, replaced: list) -> list[Diagnostic]:
    found = []
    for item in replaced[: mistakes.MAX_FULL_WIDTH_DIAGNOSTICS]:
        found.append(Diagnostic("P124", item.message, _span(source, item.start, item.end), hint=item.hint))
    more = len(replaced) - len(found)
    if more > 0:
        found[-1] = attrs.evolve(found[-1], notes=(f"{more:,} more full-width characters follow; each is read as its ASCII replacement",))
    return found


def _skipped(source: SourceFile, text: str, start: int, end: int, first: bool) -> Skipped:
    """What the piece text[start:end], which did not parse, would have defined (`first`: nothing
    comes before it, so a `policy` it starts with is the file's header)."""
    piece = _QUOTED.sub(lambda m: " " * len(m.group()), text[start:end])
    head = _SKIPPED_HEAD.match(piece)
    keyword = " ".join(head.group(1).split()) if head and head.group(1) else None
    name = head.group(2) if head else None
    if keyword == "policy" and not first:
        keyword, name = None, None  # a second header: it defines nothing
        names: set[str] = set()
    elif keyword is None and first:
        keyword, names = "policy", set()  # what comes before the first definition is the header, if anything
    elif keyword is None:
        first = _WORD.search(piece)
        names = {first.group()} if first else set()
    elif keyword in ("input", "record"):
        names = set(_FIELD_NAME.findall(piece)) | ({name} if keyword == "record" and name else set())
    elif keyword == "enum":
        names = set(_WORD.findall(piece)) - {"enum", "override", "final"}
    elif keyword in ("output", "flows", "require", "policy") or keyword.startswith("drop "):
        names = set()
    else:
        names = {name} if name else set()
    if keyword not in (None, "policy", "input", "record", "enum"):
        names |= set(_DEFINED.findall(piece)) - set(mistakes.DEFINITION_KEYWORDS)  # definitions run together on a line
    trimmed = len(text[start:end].rstrip())
    return Skipped(keyword, frozenset(names), _span(source, start, start + trimmed))
