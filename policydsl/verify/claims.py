"""Symbolic claims <-> claim JSON: a z3 model as a claim `policydsl eval` accepts, a claim
whose one money field is larger (`--monotone`), and a model's blocking clause.

A model of `smt.SymbolicClaim`'s variables is already a valid claim: money is a whole
number of fen, ratios whole numbers of 1E-40, dates calendar ordinals, enums member
indexes. `claim_json` writes it as the facts reader reads claims: money as strings with two
decimals, ratios as percentages, dates ISO, enum members by value, every field present
(the fields with defaults too, and each accumulator's value before the claim by its name).
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import attrs
import z3

from policydsl.check import types as t
from policydsl.runtime import numbers
from policydsl.verify.smt import (
    INT_LIMIT, MONEY_FEN_LIMIT, NUMBER_LIMIT, RATIO_UNIT, Leaf, ListShape, RecordShape, SymbolicClaim, compare, const, path_text, value_of,
)
from policydsl.verify.values import Dec, NotEncodable, b_and


def _model_int(model, term) -> int:
    return model.eval(term, model_completion=True).as_long()


def leaf_json(leaf: Leaf, model):
    """The JSON value of one input in `model`."""
    type_ = leaf.type
    if type_ == t.MONEY:
        fen = _model_int(model, leaf.var)
        return f"{fen // 100}.{fen % 100:02d}"
    if type_ == t.RATIO:
        units = _model_int(model, leaf.var)
        percent = Decimal(units).scaleb(-numbers_fraction() + 2, numbers.EXACT)  # exact: never the caller's 28 digits
        return f"{_plain(percent)}%"
    if type_ == t.NUMBER:
        return _Number(Decimal(_model_int(model, leaf.var)).scaleb(-numbers_fraction(), numbers.EXACT))
    if type_ in (t.INT, t.MONTHS):
        return _model_int(model, leaf.var)
    if type_ == t.BOOL:
        return z3.is_true(model.eval(leaf.var, model_completion=True))
    if type_ == t.DATE:
        y, m, d = (_model_int(model, part) for part in leaf.parts)
        return datetime.date(y, m, d).isoformat()
    if type_ == t.TEXT:
        return model.eval(leaf.var, model_completion=True).as_string()
    if isinstance(type_, t.EnumType):
        return type_.members[_model_int(model, leaf.var)]
    raise NotEncodable(f"an input of type {type_}")


def numbers_fraction() -> int:
    return numbers.FRACTION_DIGITS


def _plain(value: Decimal) -> str:
    return format(value.normalize(numbers.EXACT), "f")


class _Number:
    """A `number` input, written as a JSON number with its exact digits."""

    def __init__(self, value: Decimal):
        self.value = value


def claim_json(claim, model, claim_id: str | None = None) -> dict:
    """The claim of `model` (a `SymbolicClaim` or `BumpedClaim`), every field given; its
    `claim_id` is `claim_id` unless that is None (give None when the policy reads it)."""
    found = _shape_json(claim.shape, model)
    if claim_id is not None:
        found["claim_id"] = claim_id
    return found


def _shape_json(shape, model):
    if isinstance(shape, Leaf):
        return leaf_json(shape, model)
    if isinstance(shape, RecordShape):
        return {name: _shape_json(sub, model) for name, sub in shape.fields}
    length = _model_int(model, shape.length)
    return [_shape_json(sub, model) for sub in shape.items[:length]]


def dumps(claim, indent: int | None = 2) -> str:
    """JSON text of a claim (or a list of claims), `number` inputs as exact JSON numbers."""
    numbers_seen: dict[str, Decimal] = {}

    def default(value):
        if isinstance(value, _Number):
            key = f"@@number{len(numbers_seen)}@@"
            numbers_seen[key] = value.value
            return key
        raise TypeError(type(value).__name__)

    text = json.dumps(claim, ensure_ascii=False, indent=indent, default=default)
    for key, value in numbers_seen.items():
        text = text.replace(f'"{key}"', _plain(value))
    return text


def plain(claim):
    """The claim as JSON data (numbers as Decimals), for `Policy.evaluate`."""
    return json.loads(dumps(claim, None), parse_float=Decimal)


def blocking(claims, model):
    """A clause no model giving the same claims satisfies: the next search finds another."""
    differs = []
    for claim in claims:
        for leaf in claim.leaves:
            differs += [var != model.eval(var, model_completion=True) for var in leaf.variables]
        for length in claim.lengths:
            differs.append(length != model.eval(length, model_completion=True))
        for var in getattr(claim, "choices", ()):
            differs.append(var != model.eval(var, model_completion=True))
    return z3.Or(*differs) if differs else z3.BoolVal(False)


# ---- a claim with more of one field (`--monotone`) ------------------------------------------


_BUMPABLE = (t.MONEY, t.INT, t.MONTHS, t.RATIO, t.NUMBER)


@attrs.define
class BumpedClaim:
    """`base` with more of one field: at `path` (`items.amount`: one element's amount, the
    element chosen by the solver, `choices`), the value is the base's plus `increase` >= 0;
    every other field is the base's. Admitted as the facts reader admits the larger value;
    its constraints are the base's `constraints` (one list: assert it once)."""

    base: SymbolicClaim
    shape: object
    inputs: tuple
    constraints: list
    leaves: list
    lengths: list
    choices: list
    increase: object

    @property
    def numbers(self) -> bool:
        return self.base.numbers


def resolve_field(program, text: str):
    """`items.amount` (or `items[].amount`), `person.gap_years`, `ytd_basic_paid` -> the field's
    steps and type; ValueError saying what is wrong."""
    steps = [part.removesuffix("[]") for part in text.split(".")]
    record = None
    type_ = None
    fields = {name: ty for name, ty in program.inputs}
    for index, step in enumerate(steps):
        if record is not None:
            fields = {f.name: program.field_types[(record, f.name)] for f in program.record_fields(record)}
        if step not in fields:
            where = "the input" if record is None else f"record {record}"
            raise ValueError(f"`{text}`: {where} has no field `{step}` (it has {', '.join(sorted(fields))})")
        type_ = fields[step]
        while isinstance(type_, t.ListType):
            type_ = type_.element
        if isinstance(type_, t.RecordType):
            record = type_.name
            if index == len(steps) - 1:
                raise ValueError(f"`{text}` is a record ({record}): name one of its fields")
        elif index != len(steps) - 1:
            raise ValueError(f"`{text}`: `{step}` is {type_}, which has no fields")
    if type_ not in _BUMPABLE:
        raise ValueError(f"`{text}` is {type_}: monotone needs a money (or int, months, ratio, number) field")
    return tuple(steps), type_


def bumped(base: SymbolicClaim, steps: tuple, prefix: str = "more:") -> BumpedClaim:
    """The claim with more of the field at `steps` (see `BumpedClaim`)."""
    constraints = base.constraints  # the larger claim's domain joins the base's (they are asked together)
    leaves: list = []
    choices: list = []
    increase = z3.Int(f"{prefix}increase")
    constraints.append(increase >= 0)

    def walk(shape, remaining, selected):
        if isinstance(shape, RecordShape):
            fields = []
            for name, sub in shape.fields:
                if remaining and name == remaining[0]:
                    fields.append((name, walk(sub, remaining[1:], selected)))
                else:
                    fields.append((name, sub))
            return RecordShape(shape.name, tuple(fields))
        if isinstance(shape, ListShape):
            choice = z3.Int(f"{prefix}{path_text(shape.path)}#element")
            choices.append(choice)
            constraints.extend([choice >= 0, choice < shape.length])
            items = tuple(walk(sub, remaining, b_and(selected, choice == i)) for i, sub in enumerate(shape.items))
            return ListShape(shape.path, shape.length, items)
        if remaining:
            raise AssertionError(remaining)
        return _bump_leaf(shape, selected, increase, constraints, leaves, base)

    shape = walk(base.shape, list(steps), z3.BoolVal(True))
    return BumpedClaim(base, shape, value_of(shape), constraints, leaves + list(base.leaves), base.lengths, choices, increase)


def _bump_leaf(leaf: Leaf, selected, increase, constraints: list, leaves: list, base: SymbolicClaim) -> Leaf:
    var = leaf.var + z3.If(selected, increase, 0)
    type_ = leaf.type
    if type_ == t.MONEY:
        value = Dec(var, 0, 2)
        domain = [var < MONEY_FEN_LIMIT]
    elif type_ in (t.RATIO, t.NUMBER):
        value = Dec(var, 0, numbers_fraction())
        domain = [var <= RATIO_UNIT] if type_ == t.RATIO else [var < NUMBER_LIMIT * RATIO_UNIT]
    else:
        value = var
        domain = [var < INT_LIMIT]
    for op, bound in base.limits.get(leaf.path, ()):
        domain.append(compare(op, value, const(bound, type_)))
    constraints.extend(domain)
    bumped_leaf = Leaf(leaf.path, type_, var, value)
    leaves.append(bumped_leaf)
    return bumped_leaf


__all__ = ["BumpedClaim", "blocking", "bumped", "claim_json", "dumps", "plain", "resolve_field"]
