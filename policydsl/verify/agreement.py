"""The encoding on concrete claims: what the SMT terms say a claim's outputs are, to compare
with what the engine decides (tests/test_verify.py's differential check).

`encoded_decision(policy, facts)` fixes every input variable to the claim's values (as the
facts reader reads them), asks z3 for the one model, and reads the outputs and whether the
encoding says the engine refuses the claim (and with which codes). The encoding must agree
with `Policy.evaluate` exactly: the same outputs digit for digit, or a refusal where the
engine refuses (R402, R403, R404, R406, R407, R408).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction

import attrs
import z3

from policydsl.runtime import numbers
from policydsl.verify.smt import Encoding, SymbolicClaim, segment_condition
from policydsl.verify.values import Day, Dec, Member


@attrs.frozen
class Encoded:
    """`refused`: the codes the encoding says the engine would refuse the claim with, at the
    first stage that fails (empty: it decides it); `outputs`: name -> Python value (Decimal, int, bool, date, member),
    meaningful when not refused."""

    refused: tuple
    outputs: dict
    segment: int


def encoded_decision(policy, facts, segment: int | None = None) -> Encoded:
    """The encoding's decision of one claim (`facts` as `Policy.evaluate` takes them)."""
    program = policy.program.ir
    inputs = policy.read_facts(facts)
    index = policy.segment_for(inputs) if segment is None else segment
    seg = program.segments[index]
    longest = max([_longest(value) for value in inputs] + [1])
    claim = SymbolicClaim(program, longest)
    enc = Encoding(program, seg, claim)
    solver = z3.Solver()
    solver.add(*claim.constraints, *claim.pin(inputs), segment_condition(program, seg, claim))
    answer = solver.check()
    if answer != z3.sat:
        raise AssertionError(f"the encoding admits no value for this claim ({answer}): the claim domain is wrong")
    model = solver.model()
    def holding(failures) -> list:
        return sorted({f.code for f in failures if z3.is_true(model.eval(f.condition, model_completion=True))})

    # in the engine's order: the rules, then each invariant (its evaluation, then its value),
    # then the outputs written to the fen
    refused = holding(enc.rule_failures)
    for failures, condition in zip(enc.invariant_failures, enc.invariants):
        if refused:
            break
        refused = holding(failures) or ([] if z3.is_true(model.eval(condition, model_completion=True)) else ["R406"])
    if not refused:
        refused = holding(enc.finish_failures)
    outputs = {name: _value(model, value) for name, value in enc.outputs.items()}
    return Encoded(tuple(refused), outputs, index)


def _longest(value) -> int:
    """The longest tuple in an input value (records are tuples too: an upper bound on every
    list's length, which is all the encoding needs)."""
    if isinstance(value, tuple):
        return max([len(value)] + [_longest(v) for v in value])
    return 0


def _value(model, value):
    if isinstance(value, Dec):
        if value.inf_of(model) != 0:
            return numbers.UNLIMITED if value.inf_of(model) > 0 else -numbers.UNLIMITED
        units = model.eval(value.n, model_completion=True).as_long()
        return Decimal(units).scaleb(-value.scale, numbers.EXACT)
    if isinstance(value, Day):
        return datetime.date.fromordinal(model.eval(value.o, model_completion=True).as_long())
    if isinstance(value, Member):
        return value.enum.members[model.eval(value.i, model_completion=True).as_long()]
    if isinstance(value, z3.BoolRef):
        return z3.is_true(model.eval(value, model_completion=True))
    if isinstance(value, z3.ArithRef):
        return model.eval(value, model_completion=True).as_long()
    if isinstance(value, z3.SeqRef):
        return model.eval(value, model_completion=True).as_string()
    return value


def same(engine_value, encoded_value) -> bool:
    """Whether an engine output and the encoding's agree exactly (Decimals by value)."""
    if isinstance(engine_value, Decimal) and isinstance(encoded_value, Decimal):
        if engine_value.is_infinite() or encoded_value.is_infinite():
            return engine_value == encoded_value
        return Fraction(engine_value) == Fraction(encoded_value)
    return engine_value == encoded_value


__all__ = ["Encoded", "encoded_decision", "same"]
