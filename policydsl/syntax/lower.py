"""Stage 1b: Lark parse tree -> AST (`nodes.py`), every node numbered (`nodes.number_nodes`).

The second and last module that knows the grammar's tree shape. Literal values are
read exactly here (money and percentages as Decimal, dates as datetime.date); a
malformed literal becomes a diagnostic, not an exception.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import attrs
import lark
from lark import Token, Transformer, v_args

from policydsl.syntax import limits
from policydsl.runtime import numbers
from policydsl.syntax import nodes as n
from policydsl.diagnostics.model import Diagnostic
from policydsl.syntax.source import SourceFile, Span

LANGUAGES = ("en", "zh")
MAX_NUMBER_DIGITS = 40
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")
_SURROGATE_PAIR = re.compile("([\ud800-\udbff])([\udc00-\udfff])")
_BAD_TEXT = re.compile(f"[\ud800-\udfff{limits.BIDI_CONTROLS}]")


def _unescape_text(body: str) -> str:
    def replace(match: re.Match) -> str:
        escape = match.group(1)
        if escape[0] == "u" and len(escape) == 5:
            return chr(int(escape[1:], 16))
        return _ESCAPES.get(escape, escape)

    text = _ESCAPE.sub(replace, body)
    # `\ud83d\ude00` is one character written as a UTF-16 pair, as in JSON.
    return _SURROGATE_PAIR.sub(lambda m: chr(0x10000 + ((ord(m.group(1)) - 0xD800) << 10) + (ord(m.group(2)) - 0xDC00)), text)


def _unescape(token: Token) -> str:
    return _unescape_text(str(token)[1:-1])


def literal_problem(value, what: str) -> str | None:
    """Why a number literal (`what`: number, money, ratio, number of months) is out of bounds, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    exact = Decimal(value)
    if what == "money" and exact == numbers.UNLIMITED:
        return None  # `unlimited`
    if what == "money" and abs(exact) >= numbers.MONEY_LIMIT:
        return f"an amount of money must be below {numbers.MONEY_LIMIT:,.0f} yuan"
    if isinstance(value, int) and abs(value) > numbers.INT_LIMIT:
        return f"a whole {what} must be within ±{numbers.INT_LIMIT:,}"
    return numbers.problem(exact, what)


LITERAL_WHAT = {"money": "money", "ratio": "ratio", "months": "number of months", "int": "number", "number": "number"}


class _Lower(Transformer):
    def __init__(self, source: SourceFile):
        super().__init__()
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    # ---- positions ---------------------------------------------------------
    def _span(self, meta) -> Span:
        if getattr(meta, "empty", False) or not hasattr(meta, "line"):
            return Span.whole_file(self.source)
        return Span(self.source, meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos)

    def _tspan(self, token: Token) -> Span:
        return Span(self.source, token.line, token.column, token.end_line, token.end_column, token.start_pos, token.end_pos)

    def _error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint))

    def _text(self, token: Token) -> str:
        """A string token's value; a lone surrogate or a bidi control in it is an error (P120, P119)."""
        value = _unescape(token)
        bad = _BAD_TEXT.search(value)
        if bad is not None:
            char = bad.group()
            if "\ud800" <= char <= "\udfff":
                self._error("P120", f"the string holds a lone surrogate U+{ord(char):04X}", self._tspan(token), hint="a `\\u` escape of a character above U+FFFF is a pair: `\\ud83d\\ude00`")
            else:
                self._error("P119", f"the string holds the bidirectional control character U+{ord(char):04X}", self._tspan(token), hint="it changes how the text around it is displayed; delete it")
            value = _BAD_TEXT.sub("\ufffd", value)
        return value

    # ---- literals ----------------------------------------------------------
    def _number(self, token: Token) -> int | Decimal:
        digits = str(token).replace("_", "")
        if len(digits) > MAX_NUMBER_DIGITS:
            self._error("P117", f"a number with {len(digits):,} digits is longer than policies need ({MAX_NUMBER_DIGITS} at most)", self._tspan(token))
            return 0
        return Decimal(digits) if "." in digits else int(digits)

    def _bounded(self, value, what: str, span: Span):
        """`value`, reporting P121 if it is outside the bounds numbers read from policy text keep to.

        The same bounds as numbers read from claim facts (`numbers.problem`): 40 significant
        digits, 40 after the point, below 10^20; money below 10^15 yuan; whole numbers within
        10^18. Evaluation is exact (`numbers.EXACT`) only because its inputs are bounded. The
        value is kept: the constants pass does not compute a literal out of bounds (so an
        override is not also said to break a floor).
        """
        reason = literal_problem(value, what)
        if reason is not None:
            self._error("P121", f"{span.text} is out of bounds: {reason}", span)
        return value

    @v_args(meta=True)
    def number(self, meta, children):
        span = self._span(meta)
        value = self._bounded(self._number(children[0]), "number", span)
        return n.Literal("number" if isinstance(value, Decimal) else "int", value, span=span)

    @v_args(meta=True)
    def money(self, meta, children):
        span = self._span(meta)
        return n.Literal("money", self._bounded(Decimal(self._number(children[0])), "money", span), span=span)

    @v_args(meta=True)
    def months(self, meta, children):
        value = self._number(children[0])
        span = self._span(meta)
        if not isinstance(value, int):
            self._error("P110", f"a number of months must be whole, not {children[0]}", span)
            value = int(value)
        return n.Literal("months", self._bounded(value, "number of months", span), span=span)

    @v_args(meta=True)
    def percent(self, meta, children):
        digits = str(children[0])[:-1]
        span = self._span(meta)
        if len(digits) > MAX_NUMBER_DIGITS:
            self._error("P117", f"a percentage with {len(digits):,} digits is longer than policies need", span)
            digits = "0"
        # Exact: Decimal's default context has 28 digits, and `scaleb` in it rounds
        # 0.4999999999999999999999999999999999999% to 0.005.
        value = Decimal(digits).scaleb(-2, context=numbers.EXACT)
        return n.Literal("ratio", self._bounded(value, "ratio", span), span=span)

    @v_args(meta=True)
    def date(self, meta, children):
        span = self._span(meta)
        try:
            value = datetime.date.fromisoformat(str(children[0]))
        except ValueError:
            self._error("P111", f"{children[0]} is not a valid date", span, hint="dates are written YYYY-MM-DD")
            value = datetime.date(1970, 1, 1)
        return n.Literal("date", value, span=span)

    @v_args(meta=True)
    def text(self, meta, children):
        return n.Literal("text", self._text(children[0]), span=self._span(meta))

    @v_args(meta=True)
    def unlimited(self, meta, children):
        """`unlimited`: money with no limit, for a cap that a group or region does not have."""
        return n.Literal("money", numbers.UNLIMITED, span=self._span(meta))

    @v_args(meta=True)
    def true(self, meta, children):
        return n.Literal("bool", True, span=self._span(meta))

    @v_args(meta=True)
    def false(self, meta, children):
        return n.Literal("bool", False, span=self._span(meta))

    # ---- expressions -------------------------------------------------------
    @v_args(meta=True)
    def name(self, meta, children):
        return n.Name(str(children[0]), span=self._span(meta))

    @v_args(meta=True)
    def attr(self, meta, children):
        return n.Attr(children[0], str(children[1]), span=self._span(meta))

    @v_args(meta=True)
    def index(self, meta, children):
        return n.Index(children[0], children[1], span=self._span(meta))

    @v_args(meta=True)
    def neg(self, meta, children):
        return n.Unary("-", children[0], span=self._span(meta))

    @v_args(meta=True)
    def not_op(self, meta, children):
        return n.Unary("not", children[0], span=self._span(meta))

    def _binary(op):  # noqa: N805 - builds transformer methods
        @v_args(meta=True)
        def method(self, meta, children):
            return n.Binary(op, children[0], children[-1], span=self._span(meta))

        return method

    add, sub, mul, div = _binary("+"), _binary("-"), _binary("*"), _binary("/")
    and_op, or_op = _binary("and"), _binary("or")

    @v_args(meta=True)
    def compare(self, meta, children):
        op = {"≠": "!=", "≤": "<=", "≥": ">="}.get(str(children[1]), str(children[1]))
        return n.Binary(op, children[0], children[2], span=self._span(meta))

    @v_args(meta=True)
    def member(self, meta, children):
        return n.Member(children[0], children[1], False, span=self._span(meta))

    @v_args(meta=True)
    def not_member(self, meta, children):
        return n.Member(children[0], children[1], True, span=self._span(meta))

    @v_args(meta=True)
    def call(self, meta, children):
        args = tuple(c for c in children[1:] if c is not None)
        return n.Call(str(children[0]), args, span=self._span(meta))

    @v_args(meta=True)
    def apply_tiers(self, meta, children):
        band = children[3] if len(children) > 3 else None
        return n.ApplyTiers(str(children[0]), children[1], children[2], span=self._span(meta), band=str(band) if band is not None else None)

    @v_args(meta=True)
    def sum_agg(self, meta, children):
        body, var, source, where = children
        return n.Aggregate("sum", str(var), source, body, where, span=self._span(meta))

    def _aggregate(kind):  # noqa: N805
        @v_args(meta=True)
        def method(self, meta, children):
            var, source, where = children
            return n.Aggregate(kind, str(var), source, None, where, span=self._span(meta))

        return method

    count_agg, any_agg, all_agg = _aggregate("count"), _aggregate("any"), _aggregate("all")

    @v_args(meta=True)
    def set_lit(self, meta, children):
        return n.SetLiteral(tuple(c for c in children if c is not None), span=self._span(meta))

    # ---- conditionals ------------------------------------------------------
    @v_args(meta=True)
    def when_clause(self, meta, children):
        return n.Branch(children[0], children[1], tuple(children[2:]), span=self._span(meta))

    @v_args(meta=True)
    def otherwise_clause(self, meta, children):
        return n.Branch(None, children[0], tuple(children[1:]), span=self._span(meta))

    @v_args(meta=True)
    def conditional(self, meta, children):
        return n.Conditional(tuple(children), span=self._span(meta))

    @v_args(meta=True)
    def because(self, meta, children):
        return n.Annotation("because", self._text(children[0]), span=self._span(meta))

    @v_args(meta=True)
    def cite(self, meta, children):
        return n.Annotation("cite", self._text(children[0]), span=self._span(meta))

    @v_args(meta=True)
    def because_lang(self, meta, children):
        lang = str(children[0])
        if lang not in LANGUAGES:
            self._error("P113", f"unknown language `{lang}` for a reason", self._tspan(children[0]), hint=f"languages: {', '.join(LANGUAGES)}")
        return n.Annotation("because", self._text(children[1]), lang=lang, span=self._span(meta))

    @v_args(meta=True)
    def reason_code(self, meta, children):
        return n.Annotation("reason", str(children[0]), span=self._span(meta))

    # ---- validity and header -----------------------------------------------
    def _date_token(self, token: Token):
        try:
            return datetime.date.fromisoformat(str(token))
        except ValueError:
            self._error("P111", f"{token} is not a valid date", self._tspan(token), hint="dates are written YYYY-MM-DD")
            return None

    @v_args(meta=True)
    def validity(self, meta, children):
        start = self._date_token(children[0])
        end = self._date_token(children[1]) if children[1] is not None else None
        span = self._span(meta)
        if start and end and end < start:
            self._error("P114", f"the period ends ({end}) before it starts ({start})", span)
        return n.Validity(start, end, span=span)

    @v_args(meta=True)
    def validity_until(self, meta, children):
        return n.Validity(None, self._date_token(children[0]), span=self._span(meta))

    # ---- types -------------------------------------------------------------
    @v_args(meta=True)
    def named_type(self, meta, children):
        return n.NamedType(str(children[0]), span=self._span(meta))

    @v_args(meta=True)
    def list_type(self, meta, children):
        return n.ListType(children[0], span=self._span(meta))

    # ---- definitions -------------------------------------------------------
    @staticmethod
    def _split(children):
        annotations = tuple(c for c in children if isinstance(c, n.Annotation))
        rest = [c for c in children if not isinstance(c, n.Annotation)]
        return rest, annotations

    @v_args(meta=True)
    def enum_member(self, meta, children):
        token = children[0]
        if token.type == "NUMBER":
            value = self._number(token)
            if not isinstance(value, int):
                self._error("P112", f"an enum member must be a name or a whole number, not {token}", self._tspan(token))
                value = int(value)
            return n.EnumMember(value, span=self._tspan(token))
        return n.EnumMember(str(token), span=self._tspan(token))

    @v_args(meta=True)
    def enum_def(self, meta, children):
        rest, annotations = self._split(children)
        return n.EnumDef(str(rest[0]), tuple(rest[1:]), annotations, span=self._span(meta), name_span=self._tspan(rest[0]))

    @v_args(meta=True)
    def field(self, meta, children):
        name, type_ref, limits, default = children
        return n.Field(str(name), type_ref, default, span=self._span(meta), name_span=self._tspan(name), limits=limits or ())

    @v_args(meta=True)
    def limit_neg(self, meta, children):
        return n.Unary("-", children[0], span=self._span(meta))

    def limit_range(self, children):
        low, high = children
        return ((">=", low), ("<=", high))

    def limit_bound(self, children):
        op, bound = children
        return ({"≥": ">=", "≤": "<="}.get(str(op), str(op)), bound),

    @v_args(meta=True)
    def record_def(self, meta, children):
        rest, annotations = self._split(children)
        return n.RecordDef(str(rest[0]), tuple(rest[1:]), annotations, span=self._span(meta), name_span=self._tspan(rest[0]))

    @v_args(meta=True)
    def input_def(self, meta, children):
        rest, annotations = self._split(children)
        return n.InputDef(tuple(rest), annotations, span=self._span(meta))

    @v_args(meta=True)
    def param_def(self, meta, children):
        rest, annotations = self._split(children)
        name, type_ref, value, validity, bound = rest
        return n.ParamDef(
            str(name), type_ref, value, annotations, validity=validity, bound=str(bound) if bound else None, span=self._span(meta),
            name_span=self._tspan(name),
        )

    @v_args(meta=True)
    def required_param(self, meta, children):
        rest, annotations = self._split(children)
        name, type_ref = rest
        return n.ParamDef(str(name), type_ref, None, annotations, span=self._span(meta), name_span=self._tspan(name))

    @v_args(meta=True)
    def table_key(self, meta, children):
        token = children[0]
        if token.type == "DEFAULT":
            return (None, self._tspan(token))
        if token.type == "NUMBER":
            value = self._number(token)
            if not isinstance(value, int):
                self._error("P112", f"a table key must be a name or a whole number, not {token}", self._tspan(token))
                value = int(value)
            return (value, self._tspan(token))
        return (str(token), self._tspan(token))

    @v_args(meta=True)
    def table_row(self, meta, children):
        rest, annotations = self._split(children)
        (key, key_span), value, validity = rest
        return n.TableRow(key, value, annotations, validity=validity, span=self._span(meta), key_span=key_span)

    @v_args(meta=True)
    def dropped_row(self, meta, children):
        key, key_span = children[0]
        return n.TableRow(key, None, (), span=self._span(meta), key_span=key_span)

    @v_args(meta=True)
    def table_def(self, meta, children):
        rest, annotations = self._split(children)
        name, key_type, value_type, required, *rows = rest
        return n.TableDef(str(name), key_type, value_type, tuple(rows), annotations, required=required is not None, span=self._span(meta), name_span=self._tspan(name))

    @v_args(meta=True)
    def bounded_band(self, meta, children):
        rest, annotations = self._split(children)
        name, lower, upper, rate = rest
        return n.TierBand(lower, upper, rate, annotations, span=self._span(meta), name=name)

    @v_args(meta=True)
    def open_band(self, meta, children):
        rest, annotations = self._split(children)
        name, lower, rate = rest
        return n.TierBand(lower, None, rate, annotations, span=self._span(meta), name=name)

    def band_name(self, children):
        return str(children[0])

    @v_args(meta=True)
    def tiers_def(self, meta, children):
        rest, annotations = self._split(children)
        return n.TiersDef(str(rest[0]), tuple(rest[2:]), annotations, validity=rest[1], span=self._span(meta), name_span=self._tspan(rest[0]))

    @v_args(meta=True)
    def required_tiers(self, meta, children):
        rest, annotations = self._split(children)
        return n.TiersDef(str(rest[0]), (), annotations, required=True, span=self._span(meta), name_span=self._tspan(rest[0]))

    @v_args(meta=True)
    def plain_body(self, meta, children):
        return children  # [expr, *annotations]; rule_def splits them

    @v_args(meta=True)
    def function_param(self, meta, children):
        name, type_ref = children
        return n.FunctionParam(str(name), type_ref, span=self._span(meta))

    @v_args(meta=True)
    def function_def(self, meta, children):
        *head, body = children
        rest, annotations = self._split(head)
        name, *params, type_ref = rest
        params = tuple(p for p in params if p is not None)  # `f()`: the optional list is None
        if isinstance(body, list):  # a plain body: [expr, *annotations], as a rule's
            body, *trailing = body
            annotations += tuple(trailing)
        return n.FunctionDef(str(name), params, type_ref, body, annotations, span=self._span(meta), name_span=self._tspan(name))

    @v_args(meta=True)
    def let_body(self, meta, children):
        let, name, _, value, word_in, body = children  # `!let_body` keeps its words: the span ends at `in`
        trailing = []
        if isinstance(body, list):  # a plain body: [expr, *annotations], the annotations the rule's
            body, *trailing = body
        head = Span(self.source, let.line, let.column, word_in.end_line, word_in.end_column, let.start_pos, word_in.end_pos)
        made = n.Let(str(name), value, body, span=head, name_span=self._tspan(name))
        return [made, *trailing] if trailing else made

    @v_args(meta=True)
    def rule_def(self, meta, children):
        name, type_ref, validity, *rest = children
        body = rest[-1]
        annotations = tuple(rest[:-1])
        if isinstance(body, list):
            expr, *trailing = body
            annotations += tuple(trailing)
            body = expr
        return n.RuleDef(str(name), type_ref, body, annotations, validity=validity, span=self._span(meta), name_span=self._tspan(name))

    @v_args(meta=True)
    def invariant_def(self, meta, children):
        rest, annotations = self._split(children)
        name, condition = rest
        return n.InvariantDef(str(name), condition, annotations, span=self._span(meta), name_span=self._tspan(name))

    @v_args(meta=True)
    def require_def(self, meta, children):
        rest, annotations = self._split(children)
        field, condition = rest
        return n.RequireDef(str(field), condition, annotations, span=self._span(meta), name_span=self._tspan(field))

    @v_args(meta=True)
    def accumulator_def(self, meta, children):
        rest, annotations = self._split(children)
        name, type_ref, per, period, opening, adds = rest
        year_start, year_span = period if period is not None else (None, None)
        field = n.Field(str(name), _copy_type(type_ref), None, span=self._tspan(name), name_span=self._tspan(name))
        return n.AccumulatorDef(
            str(name), type_ref, str(per), year_start, opening, adds, annotations, field,
            span=self._span(meta), name_span=self._tspan(name), per_span=self._tspan(per), year_span=year_span,
        )

    @v_args(meta=True)
    def accumulator_period(self, meta, children):
        """`over year [from MM-DD]` -> ((month, day) or None, where the day is written)."""
        token = children[0]
        if token is None:
            return None, self._span(meta)
        month, day = (int(part) for part in str(token).split("-"))
        try:
            datetime.date(2001, month, day)  # not a leap year: 02-29 starts no year
        except ValueError:
            self._error("P111", f"{token} is not a day of the year a period can start on", self._tspan(token), hint="write MM-DD, e.g. 07-01 (02-29 is not allowed)")
            return None, self._tspan(token)
        return ((month, day) if (month, day) != (1, 1) else None), self._tspan(token)

    @v_args(meta=True)
    def modified(self, meta, children):
        *modifiers, definition = children
        names = [str(m) for m in modifiers]
        span = self._span(meta)
        for name in sorted(set(names)):
            if names.count(name) > 1:
                self._error("P115", f"`{name}` is written twice", span)
        if not isinstance(definition, (n.ParamDef, n.TableDef, n.TiersDef, n.RuleDef, n.FunctionDef, n.EnumDef, n.AccumulatorDef, n.InvariantDef, n.RecordDef)):
            kind = type(definition).__name__.removesuffix("Def").lower()
            self._error("P115", f"`{names[0]}` applies to enum, record, param, table, tiers, rule, function, accumulator and invariant definitions, not to {kind}", span)
            return definition
        return attrs.evolve(definition, override="override" in names, final="final" in names, span=span)

    @v_args(meta=True)
    def output_def(self, meta, children):
        names = tuple(n.OutputName(str(t), span=self._tspan(t)) for t in children if t is not None)
        return n.OutputDef(names, span=self._span(meta))

    @v_args(meta=True)
    def drop_output(self, meta, children):
        names = tuple(n.OutputName(str(t), span=self._tspan(t)) for t in children if t is not None)
        return n.OutputDef(names, span=self._span(meta), drop=True)

    @v_args(meta=True)
    def flows_def(self, meta, children):
        return n.FlowsDef(tuple(c for c in children if c is not None), span=self._span(meta))

    @v_args(meta=True)
    def drop_flows(self, meta, children):
        names = tuple(n.FlowName(str(t), span=self._tspan(t)) for t in children if t is not None)
        return n.FlowsDef(names, span=self._span(meta), drop=True)

    def fund_flow(self, children):
        return n.FlowName(str(children[0]), span=self._tspan(children[0]))

    def patient_flow(self, children):
        return n.FlowName(str(children[0]), span=self._tspan(children[0]), patient=True)

    # Header clauses lower to (field, value) pairs that `header` gathers.
    @v_args(meta=True)
    def version(self, meta, children):
        return ("version", self._text(children[0]), None, self._span(meta))

    @v_args(meta=True)
    def region(self, meta, children):
        return ("region", self._text(children[0]), self._text(children[1]) if children[1] is not None else None, self._span(meta))

    @v_args(meta=True)
    def effective(self, meta, children):
        return ("effective", children[0], None, self._span(meta))

    @v_args(meta=True)
    def as_of(self, meta, children):
        return ("as_of", str(children[0]), self._tspan(children[0]), self._span(meta))

    @v_args(meta=True)
    def implements(self, meta, children):
        title, number, issued = children
        document = n.Document(
            self._text(title),
            self._text(number) if number is not None else None,
            self._date_token(issued) if issued is not None else None,
            span=self._span(meta),
        )
        return ("documents", document, None, self._span(meta))

    @v_args(meta=True)
    def extends(self, meta, children):
        return ("extends", self._text(children[0]), self._span(meta), self._span(meta))

    @v_args(meta=True)
    def header(self, meta, children):
        fields: dict = {"title": self._text(children[0]), "documents": ()}
        clauses = [("title", self._tspan(children[0]))]
        for field, value, extra, clause_span in children[1:]:
            clauses.append((field, clause_span))
            if field == "documents":
                fields["documents"] += (value,)
                continue
            if field in fields:
                self._error("P116", f"the header states `{field.replace('_', ' ')}` twice", clause_span)
            fields[field] = value
            if field == "region":
                fields["region_name"] = extra
            elif field == "extends":
                fields["extends_span"] = extra
            elif field == "as_of":
                fields["as_of_span"] = extra
        fields["clause_spans"] = tuple(clauses)
        return fields

    @v_args(meta=True)
    def start(self, meta, children):
        header = n.Header()
        definitions = []
        for child in children:
            if isinstance(child, dict):
                header = n.Header(**child)
            elif child is not None:
                definitions.append(child)
        return n.PolicyFile(header, tuple(definitions), span=Span.whole_file(self.source))


def _copy_type(ref: n.TypeRef) -> n.TypeRef:
    """A type written once, as a node of its own (each node has its own id): the type of an
    accumulator is also the type of the input field its value before the claim is read from."""
    if isinstance(ref, n.ListType):
        return n.ListType(_copy_type(ref.element), span=ref.span)
    return n.NamedType(ref.name, span=ref.span)


def lower(tree: lark.Tree, source: SourceFile) -> tuple[n.PolicyFile | None, list[Diagnostic]]:
    """Turn a parse tree into a `PolicyFile` (its nodes numbered), with any literal errors
    found on the way; None and P104 if the tree is too deep to lower (a last resort: the
    limits checked on the tree before should make it unreachable)."""
    lowering = _Lower(source)
    try:
        policy = lowering.transform(tree)
    except (RecursionError, lark.exceptions.VisitError) as error:
        if isinstance(error, lark.exceptions.VisitError) and not isinstance(error.orig_exc, RecursionError):
            raise
        return None, [Diagnostic("P104", "the policy nests expressions too deeply", Span.whole_file(source), hint="split deep expressions into named rules")]
    n.number_nodes(policy)
    return policy, lowering.diagnostics
