"""Size and nesting limits, checked before the recursive stages run (codes L501-L504),
and the characters policy text may hold (P118-P120, P122-P123), checked on the text first.

Why: the LALR parser is iterative, but lowering (lark's Transformer), the checker, the
compiler, Python's own `compile()` of the generated code (at most 200 nested brackets),
the printer and explanations all recurse over the tree. A policy that is too big or
nests too deeply must get a clear diagnostic at `file:line:col`, never a RecursionError,
a SyntaxError from generated code, or a parse that takes minutes. Every check here is a
loop with an explicit stack; none of them recurses.

The limits are far above what real policies need (the bundled regions nest at most 13
levels deep, with at most 68 definitions and 1,700 tokens in a file) and safely below what
each stage can take: tests/test_limits.py loads, evaluates and explains policies at every
limit, from 300 frames deep in the caller's stack. Each file is checked on its own,
a policy and every policy it extends.
"""

from __future__ import annotations

import re
import functools
import unicodedata

from policydsl.syntax import nodes as n
from policydsl.diagnostics.model import Diagnostic
from policydsl.syntax.source import SourceFile, Span

MAX_POLICY_CHARS = 1_000_000  # L501: characters in one policy file
MAX_NESTING = 50  # L502: nesting of brackets and of the syntax tree below a definition
MAX_AGGREGATE_NESTING = 3  # L502: sum/count/any/all inside one another (cost is N ** depth)
MAX_RECORD_NESTING = 16  # L502: records containing records
MAX_DEFINITIONS = 2_000  # L503: definitions in one policy
MAX_TOKENS = 50_000  # L504: tokens in one policy (parsing takes ~1 s per 30,000 tokens)

_SPLIT_HINT = "split it into named rules; each rule can use the others by name"

# Strings and comments are skipped (a `(` or `rule` inside them counts for nothing). A string in
# full-width quotes (`“...”`, which the parser reads as a string and reports, P124) is a string too.
_STRING = r'(?:"(?:[^"\\\n]|\\.)*"?|[“”＂](?:[^"“”＂\\\n]|\\.)*["“”＂]?)'
_COMMENT = r"#[^\n]*"
# One match per token; group 1 is set for comments, which are not tokens.
_TOKENS = re.compile(rf"{_STRING}|({_COMMENT})|\d{{4}}-\d{{2}}-\d{{2}}|\d[\w.]*%?|[^\W\d]\w*|[!<>=]=|\S")
_BRACKETS = re.compile(rf"{_STRING}|{_COMMENT}|[()\[\]{{}}]")
# A definition starts a line with its keyword, followed by its name (or `{` for input).
_KEYWORDS = "enum|record|input|param|table|tiers|rule|function|output|flows|invariant|require|accumulator"
_DEFINITION_START = re.compile(rf"^[ \t]*(?:(?:override|final|drop)\s+)*(?:{_KEYWORDS})\b(?=\s*(?:[^\W\d]|\{{))", re.M)
_AGGREGATES = frozenset({"sum_agg", "count_agg", "any_agg", "all_agg"})


def check_text(source: SourceFile) -> list[Diagnostic]:
    """Limits checked on the text before parsing: size, characters, definitions, brackets, tokens."""
    text = source.text
    if len(text) > MAX_POLICY_CHARS:
        return [
            Diagnostic(
                "L501",
                f"policy is larger than {MAX_POLICY_CHARS:,} characters ({len(text):,})",
                _point(source, MAX_POLICY_CHARS),
                hint="split the policy into several files",
            )
        ]
    bad_characters = check_characters(source)
    if bad_characters:
        return bad_characters
    starts = [m.start() for m in _DEFINITION_START.finditer(text)]
    if len(starts) > MAX_DEFINITIONS:
        return [_too_many_definitions(_point(source, _skip_space(text, starts[MAX_DEFINITIONS])), len(starts))]
    too_deep = _bracket_depth(source)
    if too_deep:
        return too_deep
    tokens = _TOKENS.findall(text).count("")
    if tokens > MAX_TOKENS:
        return [
            Diagnostic(
                "L504",
                f"policy has more than {MAX_TOKENS:,} tokens ({tokens:,})",
                _point(source, _nth_token(text, MAX_TOKENS)),
                hint="split the policy into several files",
            )
        ]
    return []


def _bracket_depth(source: SourceFile) -> list[Diagnostic]:
    depth = 0
    for match in _BRACKETS.finditer(source.text):
        char = match.group()
        if char in "([{":
            depth += 1
            if depth > MAX_NESTING:
                return [_too_deep(_point(source, match.start(), 1), f"brackets nested more than {MAX_NESTING} deep")]
        elif char in ")]}":
            depth = max(0, depth - 1)
    return []


def check_tree(tree, source: SourceFile) -> list[Diagnostic]:
    """Limits checked on the parse tree, before lowering: definitions, nesting, aggregates.

    The depth of a node is the number of nodes above it; in a `when` chain inside an
    expression the i-th branch counts i levels more, because such a chain is compiled to
    nested conditional expressions. A chain that is a whole rule is compiled to `if`/`elif`
    statements, so its branches count as one level, however many there are. An
    accumulator's `opening` and `adds` count one level more than their place in the tree,
    as a rule's body does (which sits below its `plain_body`): the same expression is as
    deep in either.
    """
    whole = Span.whole_file(source)
    definitions = [c for c in tree.children if _is_tree(c) and c.data != "header"]
    if len(definitions) > MAX_DEFINITIONS:
        return [_too_many_definitions(_meta_span(source, definitions[MAX_DEFINITIONS], whole), len(definitions))]
    stack = [(tree, 0, 0, whole, None)]  # node, depth, aggregates around it, nearest span, parent rule
    while stack:
        node, depth, aggregates, span, parent = stack.pop()
        span = _meta_span(source, node, span)
        if depth > MAX_NESTING:
            return [_too_deep(span, f"expression nested more than {MAX_NESTING} levels deep")]
        if node.data in _AGGREGATES:
            aggregates += 1
            if aggregates > MAX_AGGREGATE_NESTING:
                return [
                    _too_deep(
                        span,
                        f"aggregates nested more than {MAX_AGGREGATE_NESTING} deep",
                        hint="each level multiplies the work by the length of a list; compute inner totals in their own rules",
                    )
                ]
        chain = node.data == "conditional" and parent != "rule_def"
        step = 2 if node.data == "accumulator_def" else 1
        children = [(index, child) for index, child in enumerate(node.children) if _is_tree(child)]
        for index, child in reversed(children):
            stack.append((child, depth + step + (index if chain else 0), aggregates, span, node.data))
    return []


def check_policy(policy: n.PolicyFile, source: SourceFile) -> list[Diagnostic]:
    """Limits checked on the AST: records nested in records (the facts reader recurses)."""
    records = {d.name: d for d in policy.definitions if isinstance(d, n.RecordDef)}

    def contained(record: n.RecordDef):
        for field in record.fields:
            ref = field.type
            while isinstance(ref, n.ListType):
                ref = ref.element
            if isinstance(ref, n.NamedType) and ref.name in records:
                yield field, records[ref.name]

    height: dict[str, int] = {}  # levels of records below and including this one
    for root in records.values():
        stack = [(root, contained(root), None)]  # record, its fields still to follow, field into it
        visiting = {root.name}
        while stack:
            record, pending, field = stack[-1]
            step = next(pending, None)
            if step is None:
                stack.pop()
                visiting.discard(record.name)
                height[record.name] = 1 + max((height.get(r.name, 0) for _, r in contained(record)), default=0)
                if height[record.name] > MAX_RECORD_NESTING:
                    where = field.span if field is not None else record.span
                    return [_too_deep(where, f"records nested more than {MAX_RECORD_NESTING} deep", hint="flatten the records")]
                continue
            inner_field, inner = step
            if inner.name in visiting or inner.name in height:
                continue  # a cycle is the checker's error (C203); done records are known
            visiting.add(inner.name)
            stack.append((inner, contained(inner), inner_field))
    return []


# ---- characters ----------------------------------------------------------------------
#
# What a reader sees must be what the policy says ("Trojan Source", Unicode TR 36 / TR 39):
# - P118: digits are ASCII 0-9. Python's `\d` and `\w` take every script's digits, so
#   `৪0%` (Bengali four) would read as 40% while looking like 80%.
# - P119: no bidirectional controls anywhere, comments and strings included: they reorder
#   how the text is displayed, so the code shown is not the code run.
# - P120: no lone surrogates (text that cannot be written out as UTF-8).
# - P122: a name keeps to one script, as TR 39's "highly restrictive" profile says: one
#   script, or Latin with Han and Japanese kana, Latin with Han and Bopomofo, or Latin with
#   Han and Hangul (`基本_cap` is fine; a Latin `ratio` with a Cyrillic `а` is not).
# - P123: a name is in Unicode normal form NFKC (full-width `ｃａｐ` is not `cap`).
# Script properties come from the `regex` module's Unicode tables (Script_Extensions).

MAX_CHARACTER_DIAGNOSTICS = 20
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_BIDI_NAMES = {
    "\u202a": "LEFT-TO-RIGHT EMBEDDING", "\u202b": "RIGHT-TO-LEFT EMBEDDING", "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE", "\u202e": "RIGHT-TO-LEFT OVERRIDE", "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE", "\u2068": "FIRST STRONG ISOLATE", "\u2069": "POP DIRECTIONAL ISOLATE",
    "\u200e": "LEFT-TO-RIGHT MARK", "\u200f": "RIGHT-TO-LEFT MARK", "\u061c": "ARABIC LETTER MARK",
}
_ANYWHERE = re.compile(f"[{BIDI_CONTROLS}\ud800-\udfff]")
_QUOTED = re.compile(rf"{_STRING}|{_COMMENT}")  # strings and comments: any digit, any script
_CODE_NAME_OR_DIGIT = re.compile(r"[^\W\d]\w*|\d")  # the grammar's NAME, or a digit outside one

# ISO 15924 codes of Unicode's scripts. A code the installed `regex` does not know is
# skipped; a character in no listed script counts as a script of its own, so a name
# that mixes it with any other script is refused (tests check every \w is covered).
_SCRIPT_CODES = (
    "Adlm Aghb Ahom Arab Armi Armn Avst Bali Bamu Bass Batk Beng Beri Bhks Bopo Brah Brai Bugi Buhd Cakm Cans "
    "Cari Cham Cher Chrs Copt Cpmn Cprt Cyrl Deva Diak Dogr Dsrt Dupl Egyp Elba Elym Ethi Gara Geor Glag Gong "
    "Gonm Goth Gran Grek Gujr Gukh Guru Hang Hani Hano Hatr Hebr Hira Hluw Hmng Hmnp Hung Ital Java Kali Kana "
    "Kawi Khar Khmr Khoj Kits Knda Krai Kthi Lana Laoo Latn Lepc Limb Lina Linb Lisu Lyci Lydi Mahj Maka Mand "
    "Mani Marc Medf Mend Merc Mero Mlym Modi Mong Mroo Mtei Mult Mymr Nagm Nand Narb Nbat Newa Nkoo Nshu Ogam "
    "Olck Onao Orkh Orya Osge Osma Ougr Palm Pauc Perm Phag Phli Phlp Phnx Plrd Prti Rjng Rohg Runr Samr Sarb "
    "Saur Sgnw Shaw Shrd Sidd Sidt Sind Sinh Sogd Sogo Sora Soyo Sund Sunu Sylo Syrc Tagb Takr Tale Talu Taml "
    "Tang Tavt Tayo Telu Tfng Tglg Thaa Thai Tibt Tirh Tnsa Todr Tols Toto Tutg Ugar Vaii Vith Wara Wcho Xpeo "
    "Xsux Yezi Yiii Zanb"
).split()
_SCRIPT_NAMES = {"Latn": "Latin", "Cyrl": "Cyrillic", "Grek": "Greek", "Hani": "Han", "Arab": "Arabic", "Hebr": "Hebrew",
                 "Hira": "Hiragana", "Kana": "Katakana", "Hang": "Hangul", "Bopo": "Bopomofo", "Armn": "Armenian",
                 "Geor": "Georgian", "Cher": "Cherokee", "Beng": "Bengali", "Deva": "Devanagari", "Thai": "Thai"}


@functools.cache
def _script_tables():
    """(scripts as (code, pattern), the Common/Inherited pattern, the allowed mixes), built on
    the first non-ASCII name: `regex` and its ~170 patterns cost ~30 ms, which an ASCII-only
    policy (and `import policydsl`) should not pay."""
    import regex

    def pattern(code: str):
        try:
            return regex.compile(rf"\p{{scx={code}}}")
        except regex.error:  # a script the installed `regex` does not know
            return None

    scripts = tuple((code, found) for code in _SCRIPT_CODES if (found := pattern(code)) is not None)
    common = regex.compile(r"[\p{scx=Zyyy}\p{scx=Zinh}]")  # digits, `_`, marks: go with any script
    # TR 39 highly restrictive: the combinations of scripts a name may mix.
    mixes = tuple(
        regex.compile("[" + "".join(rf"\p{{scx={code}}}" for code in (*mix, "Zyyy", "Zinh")) + "]*")
        for mix in (("Latn", "Hani", "Hira", "Kana"), ("Latn", "Hani", "Bopo"), ("Latn", "Hani", "Hang"))
    )
    return scripts, common, mixes


_scripts_of_char: dict[str, frozenset[str] | None] = {}


def _char_scripts(char: str) -> frozenset[str] | None:
    """The scripts (Script_Extensions) of a character; None for Common and Inherited ones."""
    if char in _scripts_of_char:
        return _scripts_of_char[char]
    scripts, common, _ = _script_tables()
    if common.match(char):
        found = None
    else:
        found = frozenset(code for code, pattern in scripts if pattern.match(char)) or frozenset({f"U+{ord(char):04X}"})
    _scripts_of_char[char] = found
    return found


def mixed_scripts(name: str) -> list[str] | None:
    """The scripts a name mixes when TR 39's highly restrictive profile refuses it, else None."""
    if name.isascii() or any(mix.fullmatch(name) for mix in _script_tables()[2]):
        return None
    common: frozenset[str] | None = None
    seen: list[frozenset[str]] = []
    for char in name:
        scripts = _char_scripts(char)
        if scripts is None:
            continue
        seen.append(scripts)
        common = scripts if common is None else common & scripts
    if common is None or common:
        return None
    names: list[str] = []
    for scripts in seen:  # one script per character, in the order they appear
        label = _SCRIPT_NAMES.get(min(scripts), min(scripts))
        if label not in names:
            names.append(label)
    return names


def check_characters(source: SourceFile) -> list[Diagnostic]:
    """P118, P119, P120, P122, P123: characters that would make the text read otherwise than it runs."""
    text = source.text
    found: list[Diagnostic] = []
    for match in _ANYWHERE.finditer(text):
        char = match.group()
        if char in _BIDI_NAMES:
            found.append(
                Diagnostic(
                    "P119",
                    f"bidirectional control character U+{ord(char):04X} {_BIDI_NAMES[char]} in policy text",
                    _point(source, match.start()),
                    hint="it changes how the text is displayed, so the policy would not read as it runs; delete it",
                )
            )
        else:
            found.append(Diagnostic("P120", f"lone surrogate U+{ord(char):04X} in policy text", _point(source, match.start()), hint="policy text must be valid Unicode (UTF-8)"))
        if len(found) >= MAX_CHARACTER_DIAGNOSTICS:
            return found
    if text.isascii():
        return found
    position = 0
    for quoted in [*_QUOTED.finditer(text), None]:
        end = quoted.start() if quoted is not None else len(text)
        for match in _CODE_NAME_OR_DIGIT.finditer(text, position, end):
            found.extend(_check_word(source, match))
            if len(found) >= MAX_CHARACTER_DIAGNOSTICS:
                return found
        if quoted is not None:
            position = quoted.end()
    return found


def _check_word(source: SourceFile, match: re.Match) -> list[Diagnostic]:
    word = match.group()
    if word.isascii():
        return []
    digit = next((i for i, c in enumerate(word) if c.isdecimal() and not c.isascii()), None)
    if digit is not None:
        char = word[digit]
        return [
            Diagnostic(
                "P118",
                f"digits must be ASCII 0-9, not {char!r} ({unicodedata.name(char, f'U+{ord(char):04X}')})",
                _point(source, match.start() + digit),
                hint=f"write `{unicodedata.decimal(char)}` instead: a digit from another script can look like a different number",
            )
        ]
    if not unicodedata.is_normalized("NFKC", word):
        normal = unicodedata.normalize("NFKC", word)
        return [
            Diagnostic(
                "P123",
                f"name `{word}` is not in Unicode normal form (NFKC): it reads as `{normal}`",
                _point(source, match.start(), len(word)),
                hint=f"write `{normal}`",
            )
        ]
    scripts = mixed_scripts(word)
    if scripts:
        return [
            Diagnostic(
                "P122",
                f"name `{word}` mixes {' and '.join(scripts)} letters",
                _point(source, match.start(), len(word)),
                hint="a name keeps to one script (Latin may be mixed with Chinese, Japanese or Korean); letters of different scripts that look alike would make two names look the same",
            )
        ]
    return []


# ---- helpers -----------------------------------------------------------------------


def _too_deep(span: Span, message: str, hint: str = _SPLIT_HINT) -> Diagnostic:
    return Diagnostic("L502", message, span, hint=hint)


def _too_many_definitions(span: Span, count: int) -> Diagnostic:
    return Diagnostic(
        "L503",
        f"policy has more than {MAX_DEFINITIONS:,} definitions ({count:,})",
        span,
        hint="split the policy into several files, or put many similar values in a table",
    )


def _point(source: SourceFile, offset: int, width: int = 1) -> Span:
    text = source.text
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Span(source, line, column, line, column + width, offset, offset + width)


def _skip_space(text: str, offset: int) -> int:
    while offset < len(text) and text[offset] in " \t":
        offset += 1
    return offset


def _nth_token(text: str, count: int) -> int:
    for index, match in enumerate(m for m in _TOKENS.finditer(text) if m.group(1) is None):
        if index == count:
            return match.start()
    return len(text)


def _is_tree(node) -> bool:
    return hasattr(node, "children") and hasattr(node, "data")  # a lark Tree, not a Token


def _meta_span(source: SourceFile, node, fallback: Span) -> Span:
    meta = getattr(node, "meta", None)
    if meta is None or getattr(meta, "empty", True) or not hasattr(meta, "line"):
        return fallback
    return Span(source, meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos)
