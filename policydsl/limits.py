"""Size and nesting limits, checked before the recursive stages run (codes L501-L504).

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

from . import nodes as n
from .diagnostics import Diagnostic
from .source import SourceFile, Span

MAX_POLICY_CHARS = 1_000_000  # L501: characters in one policy file
MAX_NESTING = 50  # L502: nesting of brackets and of the syntax tree below a definition
MAX_AGGREGATE_NESTING = 3  # L502: sum/count/any/all inside one another (cost is N ** depth)
MAX_RECORD_NESTING = 16  # L502: records containing records
MAX_DEFINITIONS = 2_000  # L503: definitions in one policy
MAX_TOKENS = 50_000  # L504: tokens in one policy (parsing takes ~1 s per 30,000 tokens)

_SPLIT_HINT = "split it into named rules; each rule can use the others by name"

# Strings and comments are skipped (a `(` or `rule` inside them counts for nothing).
_STRING = r'"(?:[^"\\\n]|\\.)*"?'
_COMMENT = r"#[^\n]*"
# One match per token; group 1 is set for comments, which are not tokens.
_TOKENS = re.compile(rf"{_STRING}|({_COMMENT})|\d{{4}}-\d{{2}}-\d{{2}}|\d[\w.]*%?|[^\W\d]\w*|[!<>=]=|\S")
_BRACKETS = re.compile(rf"{_STRING}|{_COMMENT}|[()\[\]{{}}]")
# A definition starts a line with its keyword, followed by its name (or `{` for input).
_KEYWORDS = "enum|record|input|param|table|tiers|rule|output|invariant"
_DEFINITION_START = re.compile(rf"^[ \t]*(?:(?:override|final)\s+)*(?:{_KEYWORDS})\b(?=\s*(?:[^\W\d]|\{{))", re.M)
_AGGREGATES = frozenset({"sum_agg", "count_agg", "any_agg", "all_agg"})


def check_text(source: SourceFile) -> list[Diagnostic]:
    """Limits checked on the text before parsing: size, definitions, brackets, tokens."""
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

    The depth of a node is the number of nodes above it; in a `when` chain the i-th branch
    counts i levels more, because the chain is compiled to nested conditional expressions.
    """
    whole = Span.whole_file(source)
    definitions = [c for c in tree.children if _is_tree(c) and c.data != "header"]
    if len(definitions) > MAX_DEFINITIONS:
        return [_too_many_definitions(_meta_span(source, definitions[MAX_DEFINITIONS], whole), len(definitions))]
    stack = [(tree, 0, 0, whole)]  # node, depth, aggregates around it, nearest span
    while stack:
        node, depth, aggregates, span = stack.pop()
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
        chain = node.data == "conditional"
        children = [(index, child) for index, child in enumerate(node.children) if _is_tree(child)]
        for index, child in reversed(children):
            stack.append((child, depth + 1 + (index if chain else 0), aggregates, span))
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
