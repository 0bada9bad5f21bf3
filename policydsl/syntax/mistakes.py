"""Known mistakes, as data: what authors write by habit, and what to write instead.

Takes what the parser saw where it stopped (`Context`: the text, the tokens of the
definition so far, the token it could not take, what it expected); gives a `Finding`: the
hint, and for an unclosed bracket the code (P105) and the place to report it at. The
parser (parser.py) builds the context from Lark's error; nothing here imports Lark, and
nothing here depends on where the definition is in the file: each definition is parsed
on its own, so a hint fires in the tenth definition as in the first.

`MISTAKES` is the table, tried in order (the first entry that has a hint wins). Each entry
has a name, examples (a definition with the mistake; tests/test_recovery.py puts each one
after another definition and checks its hint) and the function that recognises it.

Full-width punctuation (`，（）：“”％`, the ideographic space U+3000, ...), which Chinese
input methods type, is found before parsing (`full_width`): each is reported with its ASCII
replacement (P124), and the text is parsed with the replacement made, which has the same
length, so every later position is right and the rest of the file is checked too.
"""

from __future__ import annotations

import difflib
import re
from decimal import Decimal, InvalidOperation
from typing import Callable

import attrs

# ---- the tokens the parser saw ----------------------------------------------------------


@attrs.frozen
class Tok:
    """A token as the parser saw it: its terminal (`NAME`, `NUMBER`, `COMPARE`, `$END`, ...;
    "" for a character no token starts with), its text and its offsets in the file."""

    type: str
    text: str
    start: int
    end: int


@attrs.frozen
class Context:
    """Where the parser stopped. `tokens`: the definition's tokens before `token`;
    `expected`: what it would have taken (the text of a keyword or symbol, `then`, `)`, or
    the name of a kind of token, `NAME`); `end`: where the definition's text ends."""

    text: str
    tokens: tuple[Tok, ...]
    token: Tok
    expected: frozenset[str]
    end: int

    @property
    def previous(self) -> Tok | None:
        return self.tokens[-1] if self.tokens else None

    def adjacent(self) -> bool:
        """Whether the token follows the previous one with nothing between them."""
        return self.previous is not None and self.previous.end == self.token.start

    def at_line_start(self, token: Tok | None = None) -> bool:
        token = token or self.token
        line_start = self.text.rfind("\n", 0, token.start) + 1
        return not self.text[line_start : token.start].strip()

    def rest_of_line(self, start: int) -> str:
        end = self.text.find("\n", start)
        return self.text[start : end if end != -1 else len(self.text)]

    def location(self, offset: int) -> str:
        line = self.text.count("\n", 0, offset) + 1
        return f"{line}:{offset - (self.text.rfind(chr(10), 0, offset) + 1) + 1}"


@attrs.frozen
class Finding:
    """What a known mistake says: the hint; and where the mistake is not the token the parser
    stopped at, the message and the token to report it at (`if`; for an unclosed bracket, the
    bracket, with the code P105 and the parser's stop as a related place)."""

    hint: str
    code: str | None = None
    message: str | None = None
    at: Tok | None = None


@attrs.frozen
class Mistake:
    name: str
    examples: tuple[str, ...]
    explain: Callable[[Context], Finding | str | None] = attrs.field(repr=False)


# ---- the mistakes ------------------------------------------------------------------------

# The keywords a definition starts with (after any `override`/`final`), and the words after
# `drop` that start one; tests/test_recovery.py checks them against the grammar.
DEFINITION_KEYWORDS = ("enum", "record", "input", "param", "table", "tiers", "rule", "function", "output", "flows", "invariant", "require", "accumulator")
DROPPED = ("output", "flows")
THEN_HINT = "missing `then` after the condition: write `when CONDITION then VALUE`"
OTHERWISE_HINT = "a conditional needs an `otherwise` branch: `when ... then ... otherwise VALUE`"
KEYWORD_HINT = "a definition starts with a keyword: " + ", ".join(DEFINITION_KEYWORDS[:-1]) + " or " + DEFINITION_KEYWORDS[-1]
_OPEN, _CLOSE = "([{", ")]}"
_BRACKETS = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[()\[\]{}]')
_NAME = re.compile(r"[^\W\d]\w*")
_LITERAL_VALUE = re.compile(r'\s*-?\s*(?:[0-9][0-9_.,]*\s*(?:%|yuan|元|months?|个月)?|\{.*\}|"[^"]*"|[0-9]{4}-[0-9]{2}-[0-9]{2}|unlimited|true|false)(?:\s+(?:because|cite)\b.*)?')

# Chinese multipliers written after digits (`40万`, `1.5万元`): the amount in yuan.
CHINESE_MULTIPLIERS = {"十": 10, "百": 100, "千": 1_000, "万": 10_000, "十万": 100_000, "百万": 1_000_000, "千万": 10_000_000, "亿": 100_000_000}
_CHINESE_AMOUNT = re.compile("(" + "|".join(sorted(CHINESE_MULTIPLIERS, key=len, reverse=True)) + ")(元?)")
THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")  # `400,000`: also parser._split_words
_UNIT_AFTER = re.compile(r"\s*(yuan\b|元|months?\b|个月|%)?")

# Characters no token starts with that are another language's operator.
OPERATOR_CHARACTERS = {
    "&": "write `and`: conditions are joined with `and` and `or`",
    "|": "write `or`: conditions are joined with `and` and `or`",
    "!": "write `not` (and `!=` for \"is not equal to\")",
    ";": "delete it: nothing ends a line or a definition",
    "；": "delete it: nothing ends a line or a definition",
    "'": 'strings are written in double quotes: `"..."`',
    "‘": 'strings are written in ASCII double quotes: `"..."`',
    "’": 'strings are written in ASCII double quotes: `"..."`',
    "。": "delete it: nothing ends a line or a definition",
}


_CHINESE_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1_000}
_CHINESE_SECTIONS = {"万": 10_000, "亿": 100_000_000}


def chinese_number(word: str) -> int | None:
    """The value of a whole number in Chinese numerals (`三千` 3000, `一万五千` 15000, `十二`
    12), a trailing `元` allowed; None for anything else. For hints only."""
    word = word.removesuffix("元")
    if not word or any(c not in _CHINESE_DIGITS and c not in _CHINESE_UNITS and c not in _CHINESE_SECTIONS for c in word):
        return None
    total = section = digit = 0
    for char in word:
        if char in _CHINESE_DIGITS:
            digit = _CHINESE_DIGITS[char]
        elif char in _CHINESE_UNITS:
            section += (digit or 1) * _CHINESE_UNITS[char]
            digit = 0
        else:
            total = (total + section + digit) * _CHINESE_SECTIONS[char]
            section = digit = 0
    return total + section + digit


def _amount_text(value: Decimal) -> str:
    """400000 -> `400_000`, 15000.5 -> `15_000.5`."""
    value = value.normalize()
    whole = int(value)
    if value == whole:
        return f"{whole:_}"
    fraction = format(value - whole, "f")[1:]  # ".5"
    return f"{whole:_}{fraction}"


def _chinese_amount(ctx: Context) -> str | None:
    """`40万`, `40万元`, `1.5千 yuan`: digits with a Chinese multiplier."""
    previous = ctx.previous
    if ctx.token.type != "NAME" or previous is None or previous.type != "NUMBER":
        return None
    match = _CHINESE_AMOUNT.fullmatch(ctx.token.text)
    if match is None:
        return None
    try:
        amount = Decimal(previous.text.replace("_", "")) * CHINESE_MULTIPLIERS[match.group(1)]
    except InvalidOperation:
        return None
    written = ctx.text[previous.start : ctx.token.end]
    return f"`{written}` is {_amount_text(amount).replace('_', ',')} yuan: write the amount in digits with `yuan`, `{_amount_text(amount)} yuan`"


def _chinese_numerals(ctx: Context) -> str | None:
    """`三千 yuan`: a number in Chinese numerals, then a unit."""
    previous = ctx.previous
    if previous is None or previous.type != "NAME" or ctx.token.text not in ("yuan", "元", "months", "month", "个月", "%"):
        return None
    number = chinese_number(previous.text)
    if number is None:
        return None
    unit = "%" if ctx.token.text == "%" else f" {ctx.token.text}"
    return f"numbers are written in digits: `{number:_}{unit}` for `{previous.text}{unit}`"


def _thousands(ctx: Context) -> str | None:
    """`400,000 yuan`: a comma between thousands."""
    previous = ctx.previous
    if ctx.token.text != "," or previous is None or previous.type != "NUMBER" or not ctx.adjacent():
        return None
    match = THOUSANDS.match(ctx.text, previous.start)
    if match is None or match.end() <= ctx.token.end:
        return None
    unit = _UNIT_AFTER.match(ctx.text, match.end()).group(1)
    number = match.group().replace(",", "_")
    written = match.group() + (f" {unit}" if unit and unit != "%" else unit or "")
    fixed = number + (f" {unit}" if unit and unit != "%" else unit or "")
    return f"thousands are separated with `_`, not `,`: write `{fixed}` for `{written}`"


def _double_equals(ctx: Context) -> str | None:
    """`a == b`, and `=>`, `=<` for `>=`, `<=`."""
    previous = ctx.previous
    if previous is None or previous.text != "=" or not ctx.adjacent():
        return None
    if ctx.token.text == "=":
        return "equality is a single `=` (e.g. `person.category = newborn`)"
    if ctx.token.text in ("<", ">"):
        return f"write `{ctx.token.text}=`: the `=` comes second"
    return None


def _if_else(ctx: Context) -> Finding | None:
    """`if ... then ... else ...`: the conditional of other languages (reported at the word)."""
    for token in (*ctx.tokens, ctx.token):
        if token.type != "NAME":
            continue
        if token.text == "if":
            return Finding("conditions are written `when CONDITION then VALUE otherwise VALUE`, not `if`", message="`if` is not a keyword", at=token)
        if token.text in ("else", "elif", "elsif", "elseif"):
            return Finding(
                f"write `otherwise` for the last branch, not `{token.text}`: `when CONDITION then VALUE otherwise VALUE`",
                message=f"`{token.text}` is not a keyword", at=token,
            )
    return None


def _keyword_for(after: str) -> str:
    """The keyword a definition `NAME ...` most likely lacks, from what follows its name:
    `table` before `->`, `param` for a value written out, else `rule`."""
    head, _, value = after.partition("=")
    if "->" in head:
        return "table"
    if value and _LITERAL_VALUE.fullmatch(value.rstrip()):
        return "param"
    return "rule"


def _keywordless(ctx: Context) -> str | None:
    """`basic: money = ...` at the start of a line: a definition without its keyword."""
    token = ctx.token
    if token.type != "NAME" or not ctx.at_line_start():
        return None
    after = ctx.rest_of_line(token.end)
    stripped = after.lstrip()
    close = difflib.get_close_matches(token.text, DEFINITION_KEYWORDS, n=1, cutoff=0.75)
    if close and (_NAME.match(stripped) or stripped.startswith("{")):
        return f"`{token.text}` is not a keyword: did you mean `{close[0]}`?"
    if not stripped.startswith((":", "=")) or stripped.startswith("=="):
        return None
    keyword = _keyword_for(stripped)
    shown = token.text + after.rstrip()
    if len(shown) > 40 and "=" in after:
        shown = token.text + after.split("=", 1)[0].rstrip() + " = ..."
    return f"a definition starts with a keyword: write `{keyword} {shown}`"


def _run_together(ctx: Context) -> Finding | None:
    """`inputs {`, `enums Level`: where only a keyword can be, the lexer reads `input` and then a name `s`."""
    words = [t for t in (*ctx.tokens, ctx.token) if t.text not in ("override", "final")]
    if len(words) >= 2 and words[0].text in DEFINITION_KEYWORDS and words[1].type == "NAME" and words[0].end == words[1].start:
        written = words[0].text + words[1].text
        return Finding(f"did you mean `{words[0].text}`?", message=f"`{written}` is not a keyword", at=Tok("NAME", written, words[0].start, words[1].end))
    return None


def _list_of(ctx: Context) -> str | None:
    if ctx.previous is not None and ctx.previous.text == "list" and "of" in ctx.expected:
        return "a list type is written `list of TYPE`"
    return None


def _rule_equals(ctx: Context) -> str | None:
    """`rule x 1`: the `=` before a rule's value is missing."""
    words = [t.text for t in ctx.tokens if t.text not in ("override", "final")]
    if words[:1] == ["rule"] and "=" in ctx.expected and "=" not in words:
        return "a rule needs `=` before its value: `rule NAME = VALUE` or `rule NAME: TYPE = VALUE`"
    return None


def _then(ctx: Context) -> str | None:
    return THEN_HINT if "then" in ctx.expected else None


def _otherwise(ctx: Context) -> str | None:
    return OTHERWISE_HINT if "otherwise" in ctx.expected and "then" not in ctx.expected else None


def _operator_character(ctx: Context) -> str | None:
    return OPERATOR_CHARACTERS.get(ctx.token.text) if ctx.token.type == "" else None


def _at_line_start(ctx: Context) -> str | None:
    """Anything else that cannot start a definition, at the start of a line where one could."""
    if ctx.at_line_start() and ctx.token.type not in ("", "$END") and ("rule" in ctx.expected or not ctx.tokens):
        return KEYWORD_HINT
    return None


def bracket_depth(text: str, start: int, end: int) -> int:
    """How many brackets text[start:end] leaves open (strings and comments skipped; never below 0)."""
    depth = 0
    for match in _BRACKETS.finditer(text, start, end):
        char = match.group()
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
    return depth


def open_brackets(tokens) -> list[Tok]:
    """The brackets still open after `tokens`, outermost first (a closer closes the innermost)."""
    stack: list[Tok] = []
    for token in tokens:
        if token.text in _OPEN:
            stack.append(token)
        elif token.text in _CLOSE and stack:
            stack.pop()
    return stack


def _never_closed(ctx: Context, stack: list[Tok]) -> Tok | None:
    """The innermost of the brackets open at the stop that the rest of the definition does not close."""
    depth = lowest = len(stack)
    start = ctx.token.start if ctx.token.type not in ("$END",) else ctx.end
    for match in _BRACKETS.finditer(ctx.text, start, max(start, ctx.end)):
        char = match.group()
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            lowest = min(lowest, depth)
    return stack[lowest - 1] if lowest >= 1 else None


def _brackets(ctx: Context) -> Finding | str | None:
    """An unclosed `(`, `[` or `{` (reported at the bracket: P105), or a closer of the wrong kind."""
    stack = open_brackets(ctx.tokens)
    if not stack:
        return None
    token = ctx.token
    if token.text in _CLOSE and _CLOSE.index(token.text) != _OPEN.index(stack[-1].text):
        wanted = _CLOSE[_OPEN.index(stack[-1].text)]
        return f"`{token.text}` does not close the `{stack[-1].text}` at {ctx.location(stack[-1].start)}: write `{wanted}`"
    unclosed = _never_closed(ctx, stack)
    if unclosed is None:
        return None
    ended = token.type == "$END" or token.start >= ctx.end
    later_line = "\n" in ctx.text[unclosed.start : token.start] and ctx.at_line_start()
    if not (ended or later_line):
        return None
    closer = _CLOSE[_OPEN.index(unclosed.text)]
    return Finding(f"close it with `{closer}`", code="P105", message=f"`{unclosed.text}` is never closed", at=unclosed)


MISTAKES: tuple[Mistake, ...] = (
    Mistake("operator character", ("rule x: bool = a && b", "rule x: bool = !a", "rule x: text = 'a'", "param p = 1;"), _operator_character),
    Mistake("bracket", ("rule x: money = min(a, b]", "rule x: money = min(a, b\nrule y: money = a"), _brackets),
    Mistake("thousands separator", ("param cap = 400,000 yuan", "param cap = 1,500,000.50 yuan"), _thousands),
    Mistake("Chinese multiplier", ("param cap = 40万", "param cap = 40万元", "param cap = 1.5万 yuan"), _chinese_amount),
    Mistake("Chinese numerals", ("param cap = 三千 yuan", "param wait = 三 months"), _chinese_numerals),
    Mistake("double equals", ("rule x: bool = a == b", "rule x = a == b", "rule x: bool = a => b"), _double_equals),
    Mistake("if and else", ("rule x = if a then b else c", "rule x: money = if (a) b", "rule x = when a then b else c"), _if_else),
    Mistake("definition without its keyword", ("basic: money = amount", "cap = 150_000 yuan", "rul basic: money = amount"), _keywordless),
    Mistake("keyword run into a word", ("inputs { a: money }", "enums Level { 1, 2 }"), _run_together),
    Mistake("list type", ("input { a: list TYPE }", "input { a: list[ }"), _list_of),
    Mistake("rule without `=`", ("rule x 1", "rule x: money 1", "rule x: money money"), _rule_equals),
    Mistake("missing `then`", ("rule x = when a b", "rule x = when a: b", "rule x = when a = 1 b"), _then),
    Mistake("missing `otherwise`", ("rule x = when a then b\nrule y = 1", "rule x = when a then b\noutput x", "rule x = when a then b"), _otherwise),
    Mistake("no keyword", ("def x", "let x = 1", "x"), _at_line_start),
)


def explain(ctx: Context) -> Finding | None:
    """The first known mistake that fits, or None."""
    for mistake in MISTAKES:
        found = mistake.explain(ctx)
        if found:
            return found if isinstance(found, Finding) else Finding(found)
    return None


# ---- full-width punctuation ----------------------------------------------------------------

# Each character, its ASCII replacement (one character: positions stay the same) and its name.
FULL_WIDTH: dict[str, tuple[str, str]] = {
    "，": (",", "`,`"), "、": (",", "`,`"), "：": (":", "`:`"), "（": ("(", "`(`"), "）": (")", "`)`"),
    "【": ("[", "`[`"), "】": ("]", "`]`"), "［": ("[", "`[`"), "］": ("]", "`]`"), "｛": ("{", "`{`"), "｝": ("}", "`}`"),
    "％": ("%", "`%`"), "＝": ("=", "`=`"), "＋": ("+", "`+`"), "－": ("-", "`-`"), "−": ("-", "`-`"), "＊": ("*", "`*`"),
    "×": ("*", "`*`"), "／": ("/", "`/`"), "＜": ("<", "`<`"), "＞": (">", "`>`"), "．": (".", "`.`"), "＿": ("_", "`_`"),
    "＃": ("#", "`#`"), "＂": ('"', '`"`'), "“": ('"', '`"`'), "”": ('"', '`"`'), "\u3000": (" ", "space"),
}
_QUOTES = "“”＂"
_FULL_WIDTH = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[' + "".join(FULL_WIDTH) + "]")
MAX_FULL_WIDTH_DIAGNOSTICS = 20


@attrs.frozen
class Replaced:
    """Full-width text at [start, end) and what it is replaced with."""

    start: int
    end: int
    original: str
    message: str
    hint: str


def full_width(text: str) -> tuple[str, list[Replaced]]:
    """`text` with full-width punctuation outside strings and comments replaced by ASCII, and
    each replacement (a run of one character, or a string in `“...”`, is one).

    A full-width comma between digits (`400，000`) is a thousands separator: it becomes `_`.
    A string in curly quotes keeps its text; only its quotes are replaced.
    """
    if text.isascii():
        return text, []
    out = list(text)
    found: list[Replaced] = []
    position = 0
    while True:
        match = _FULL_WIDTH.search(text, position)
        if match is None:
            break
        char = match.group()
        position = match.end()
        if len(char) != 1 or char not in FULL_WIDTH:
            continue  # an ASCII string or a comment
        start = match.start()
        if char in _QUOTES:
            end = start + 1
            while end < len(text) and text[end] not in '"“”＂\n':
                end += 1 if text[end] != "\\" else 2
            end = min(end, len(text))
            out[start] = '"'
            if end < len(text) and text[end] in '"“”＂':
                out[end] = '"'
                end += 1
            found.append(Replaced(start, end, text[start:end], "a string in full-width quotes", 'write the string in ASCII quotes `"..."`, not `“...”`'))
            position = end
            continue
        end = start + 1
        while end < len(text) and text[end] == char:
            end += 1
        if char in "，、" and start > 0 and text[start - 1].isdigit() and re.match(r"[0-9]{3}(?![0-9])", text[end:end + 4]):
            out[start] = "_"
            digits = re.match(r"[0-9,，_]*[0-9]", text[_digits_start(text, start):]).group()
            fixed = digits.replace("，", "_").replace(",", "_")
            found.append(Replaced(start, end, char, f"full-width `{char}` in a number", f"thousands are separated with `_`: write `{fixed}`"))
            position = end
            continue
        ascii_char, name = FULL_WIDTH[char]
        for index in range(start, end):
            out[index] = ascii_char
        if name == "space":
            message, hint = "the ideographic space U+3000 in policy text", "use ASCII spaces instead of the ideographic space U+3000"
        else:
            message, hint = f"full-width `{text[start:end]}` in policy text", f"use the ASCII {name} instead of `{char}`"
        found.append(Replaced(start, end, text[start:end], message, hint))
        position = end
    return "".join(out), found


def _digits_start(text: str, offset: int) -> int:
    while offset > 0 and (text[offset - 1].isdigit() or text[offset - 1] in "_,，"):
        offset -= 1
    return offset
