"""The accumulator pass: what a policy carries from claim to claim of one person.

An accumulator (`accumulator ytd_basic_paid: money per person_id opening 0 yuan adds
basic`) reads in rules as an input field, its value before the claim; the passes before
this one typed it as one. Here: its type adds up (C260), its person field is a text or
int field of the input (C261), its opening value is a number of its type (C262), what a
claim adds has its type (C263), each accumulator is carried per its own key field
(C264 is no longer reported: a balance may be keyed by an account's owner, issue 18), the policy says which date field dates a claim (C265), and no output
takes a name the decision record keeps for itself (C266). Warnings: an accumulator nothing
adds to (W234) or no rule reads (W235).

Reads `accumulators`, `symbols`, `field_types`, `deps`, `invariants`, `outputs`, the header's
`as of`; adds `types` of each opening and `adds` expression, and diagnostics.
"""

from __future__ import annotations

from decimal import Decimal

from policydsl.check import types as t
from policydsl.check.env import CheckEnv
from policydsl.check.typing import _Inferrer
from policydsl.syntax import nodes as n

ADDITIVE = (t.MONEY, t.INT, t.NUMBER, t.MONTHS)
PERSON_TYPES = (t.TEXT, t.INT)
RECORD_KEYS = ("claim_id", "policy", "accumulators")  # the decision record's own keys


def opening_value(accumulator: n.AccumulatorDef):
    """The opening value as written (`0 yuan`, `-1`), or None when it is not a plain number."""
    expr, sign = accumulator.opening, 1
    if isinstance(expr, n.Unary) and expr.op == "-":
        expr, sign = expr.operand, -1
    if isinstance(expr, n.Literal) and isinstance(expr.value, (int, Decimal)) and not isinstance(expr.value, bool):
        return sign * expr.value
    return None


def check_accumulators(env: CheckEnv) -> None:
    """Check every accumulator's declaration, then the warnings about its use."""
    _check_record_keys(env)
    if not env.accumulators:
        return
    inferrer = _Inferrer(env)
    accumulator_names = {a.name for a in env.accumulators}
    own_fields = {f.name: f for f in (env.input.fields if env.input else ())}
    for accumulator in env.accumulators:
        declared = env.field_types.get((None, accumulator.name), t.ERROR)
        if declared is not t.ERROR and declared not in ADDITIVE:
            env.error(
                "C260",
                f"accumulator `{accumulator.name}` is {declared}; an accumulator adds up money, int, number or months",
                accumulator.type.span,
            )
            declared = t.ERROR
        _check_per(env, accumulator, own_fields, accumulator_names)
        _check_opening(env, inferrer, accumulator, declared)
        if accumulator.adds is not None:
            got = inferrer.infer(accumulator.adds, {})
            if t.ERROR not in (got, declared) and t.unify(declared, got) != declared and not (declared == t.NUMBER and got == t.INT):
                env.error(
                    "C263",
                    f"accumulator `{accumulator.name}` adds up {declared}, but its `adds` is {got}",
                    accumulator.adds.span,
                    hint=t.arithmetic_hint("+", declared, got),
                )
    if env.policy.header.as_of is None:
        env.error(
            "C265",
            "this policy carries accumulators but does not say which date field dates a claim",
            env.name_span(env.accumulators[0]),
            hint="add `as of FIELD` to the header (e.g. `as of service_date`): a person's claims are carried in that date's order, and the year is that date's",
        )
    _warn(env)


def _check_record_keys(env: CheckEnv) -> None:
    for output in env.outputs:
        if output.name in RECORD_KEYS[1:]:
            env.error(
                "C266",
                f"output `{output.name}` would clash with the `{output.name}` object of every decision record",
                output.span,
                hint="rename the rule",
            )


def _check_per(env: CheckEnv, accumulator: n.AccumulatorDef, own_fields: dict, accumulator_names: set) -> None:
    name = accumulator.per
    field = own_fields.get(name)
    if field is None:
        kind = "an accumulator" if name in accumulator_names else None
        env.error(
            "C261",
            f"`per {name}`: " + (f"`{name}` is {kind}, not a field of the input" if kind else f"the input has no field `{name}`"),
            accumulator.per_span,
            hint=env.suggest(name, own_fields) or "name the input field that identifies the person, e.g. `person_id: text`",
        )
        return
    type_ = env.field_types.get((None, name), t.ERROR)
    if type_ is not t.ERROR and type_ not in PERSON_TYPES:
        env.error("C261", f"`per {name}`: the person field must be text or int, not {type_}", accumulator.per_span)


def _check_opening(env: CheckEnv, inferrer: _Inferrer, accumulator: n.AccumulatorDef, declared) -> None:
    got = inferrer.infer(accumulator.opening, {})
    if opening_value(accumulator) is None:
        env.error(
            "C262",
            f"the opening value of `{accumulator.name}` must be a number written out, e.g. `0 yuan`",
            accumulator.opening.span,
            hint="an opening balance that differs by person comes with the claims (see `batch --carry`)",
        )
    elif t.ERROR not in (got, declared) and t.unify(declared, got) != declared and not (declared == t.NUMBER and got == t.INT):
        env.error("C262", f"accumulator `{accumulator.name}` is {declared}, but its opening value is {got}", accumulator.opening.span)
    elif declared == t.MONEY and opening_value(accumulator) < 0:
        env.error(
            "C262",
            f"the opening value of `{accumulator.name}` is negative; money a claim gives is never negative",
            accumulator.opening.span,
            hint="a year's amount starts at 0 yuan or above",
        )


def _warn(env: CheckEnv) -> None:
    """W234 nothing is added; W235 no rule, parameter or invariant reads it. Only for
    accumulators written in the file being checked."""
    read: set[str] = set()
    for name, deps in env.deps.items():
        if not name.startswith("accumulator "):
            read |= deps
    outputs = {o.name for o in env.outputs}
    for accumulator in env.accumulators:
        if accumulator.span.source.name != env.source.name:
            continue
        if accumulator.adds is None:
            env.warning(
                "W234",
                f"accumulator `{accumulator.name}` has nothing added to it",
                env.name_span(accumulator),
                hint="say what each claim adds: `adds RULE`",
            )
        if accumulator.name not in read and accumulator.name not in outputs:
            env.warning(
                "W235",
                f"accumulator `{accumulator.name}` is read by no rule",
                env.name_span(accumulator),
                hint="use its value in a rule (it is the value before the claim), or delete it",
            )
