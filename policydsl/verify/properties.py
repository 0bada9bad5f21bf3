"""What `policydsl verify` proves, and how: each property, segment by segment, as one
satisfiability question to z3 whose answer is a proof (unsat), a counterexample claim that
the engine then decides (sat), or an honest "unknown".

Properties (`Request`):
- each declared `invariant`, in every segment in force: no claim whose rules evaluate makes
  it false (the engine would refuse it with R406);
- `nonnegative OUTPUT` (every money output when no name is given): no claim the engine
  decides gives OUTPUT < 0;
- `monotone OUTPUT in FIELD`: for two claims that differ only in FIELD (the second larger;
  for a field of list elements, one element's), both decided, OUTPUT is not lower for the
  second;
- `refines OLD NEW OUTPUT`: for every claim both policies decide, NEW's OUTPUT >= OLD's.

A model the solver finds is turned into a claim (`claims.claim_json`) and decided by the
engine (`Policy.evaluate`); only when the engine confirms it (R406 naming the invariant, a
negative output, NEW below OLD) is the property "failed". A model the engine does not
confirm is excluded and the solver asked again (a few times): it would mean the encoding
and the engine disagree, and the property is then "unknown", saying so. "proved" needs the
solver's unsat on an exact encoding of every segment in force; over lists it is a bounded
check (lists of at most `items` elements), which the report says.
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal

import attrs
import z3

from policydsl.backends import interpreter
from policydsl.check import types as t
from policydsl.diagnostics.model import EvaluationError, FactsError
from policydsl.ir import nodes as ir
from policydsl.runtime import numbers
from policydsl.verify import claims as claim_io
from policydsl.verify.report import Outcome, Report, SegmentOutcome
from policydsl.verify.report import slug as _slug
from policydsl.verify.smt import Encoding, SymbolicClaim, segment_condition
from policydsl.verify.values import Day, Dec, ListVal, Member, NotEncodable, SetVal, as_dec, b_and, b_not, d_lt

_DEBUG = bool(os.environ.get("POLICYDSL_VERIFY_DEBUG"))
ATTEMPTS = 4  # models tried against the engine before a property is "unknown"


@attrs.frozen
class Request:
    """What to verify. `policy`: its invariants (when `invariants`), `nonnegative` (output
    names; None for every money output), `monotone` ((output, field) pairs); `refines`:
    (old policy, new policy, output) triples. `items`: the length lists may have; `timeout`:
    seconds per property."""

    policy: object = None
    invariants: bool = True
    nonnegative: tuple = ()
    monotone: tuple = ()
    refines: tuple = ()
    items: int = 3
    timeout: float = 20.0


class RequestError(ValueError):
    """A request that names what the policy does not have (an output, a field): a usage error."""


def verify(request: Request) -> Report:
    """Every property of `request`, each within its time limit: a `Report`."""
    outcomes: list[Outcome] = []
    policies = []
    if request.policy is not None:
        policies.append(request.policy)
        if request.invariants:
            outcomes += [_invariant(request, name) for name in _invariant_names(request.policy)]
        for output in _nonnegative_outputs(request):
            outcomes.append(_nonnegative(request, output))
        for output, field in request.monotone:
            outcomes.append(_monotone(request, output, field))
    for old, new, output in request.refines:
        policies += [p for p in (old, new) if p not in policies]
        outcomes.append(_refines(request, old, new, output))
    return Report(tuple(p.name for p in policies), tuple(_assumptions(request, policies)), tuple(outcomes), request.items)


# ---- the properties ------------------------------------------------------------------------------


def _invariant_names(policy) -> list[str]:
    """The invariants the policy declares (inherited ones too), in order."""
    names: list[str] = [invariant.name for invariant in getattr(policy.env, "invariants", ())]
    for segment in policy.program.ir.segments:
        for invariant in segment.invariants:
            if invariant.name not in names:
                names.append(invariant.name)
    return names


def _nonnegative_outputs(request: Request) -> list[str]:
    program = request.policy.program.ir
    found: list[str] = []
    for name in request.nonnegative:
        if name is None:
            found += [o for o in program.outputs if program.definitions[o].type == t.MONEY and o not in found]
            continue
        _check_output(program, name, request.policy.name, money=True)
        if name not in found:
            found.append(name)
    return found


def _check_output(program, name, policy_name, money=False):
    if name not in program.outputs:
        raise RequestError(f"{policy_name} has no output `{name}` (its outputs: {', '.join(program.outputs)})")
    type_ = program.definitions[name].type
    if money and type_ != t.MONEY:
        raise RequestError(f"output `{name}` is {type_}, not money")
    if type_ not in (t.MONEY, t.RATIO, t.NUMBER, t.INT, t.MONTHS):
        raise RequestError(f"output `{name}` is {type_}: the property compares amounts")


def _invariant(request: Request, name: str) -> Outcome:
    policy = request.policy
    program = policy.program.ir
    label = f"invariant {name}"

    def one(segment, deadline):
        number = next((k for k, inv in enumerate(segment.invariants) if inv.name == name), None)
        if number is None:
            return SegmentOutcome(segment.period, "proved", 0.0, "the invariant is not in force in this segment")
        claim = SymbolicClaim(program, request.items)
        enc = Encoding(program, segment, claim)
        lean = [*claim.constraints, segment_condition(program, segment, claim)]
        full = [enc.rules_evaluate(), enc.invariants_evaluate(number)]
        broken = b_not(enc.invariants[number])
        earlier = b_and(*enc.invariants[:number])  # a counterexample that keeps them: the engine names this one

        def confirm(model):
            facts = claim_io.claim_json(claim, model, _claim_id(program, enc, f"verify-{_slug(label)}"))
            try:
                policy.evaluate(claim_io.plain(facts))
            except EvaluationError as error:
                if error.code == "R406" and _invariant_is_false(policy, facts, segment.index, number):
                    return facts, f"R406: {error}"
                _debug_claim("refused otherwise", facts, error)
                return None
            except FactsError as error:
                _debug_claim("not read", facts, error)
                return None
            _debug_claim("decided", facts)
            return None

        return _search(segment, lean, full, broken, deadline, confirm, [claim], enc.inexact, nice=[earlier, *plain_values([claim])])

    return _over_segments(request, policy, label, "invariant", one)


def _invariant_is_false(policy, facts, segment_index: int, number: int) -> bool:
    """The reference interpreter's value of invariant `number` on the claim (False: broken)."""
    try:
        inputs = policy.read_facts(claim_io.plain(facts))
    except FactsError:
        return False
    segment = policy.program.ir.segments[segment_index]
    scope = interpreter.Scope(inputs=inputs, values=dict(segment.constants))
    try:
        for rule in segment.rules:
            scope.values[rule.name] = interpreter.evaluate(rule.body, scope)
        return not interpreter.evaluate(segment.invariants[number].condition, scope)
    except (EvaluationError, ArithmeticError):
        return False


def _nonnegative(request: Request, output: str) -> Outcome:
    policy = request.policy
    program = policy.program.ir
    label = f"nonnegative {output}"

    def one(segment, deadline):
        claim = SymbolicClaim(program, request.items)
        enc = Encoding(program, segment, claim)
        lean = [*claim.constraints, segment_condition(program, segment, claim)]
        value = as_dec(enc.outputs[output])
        negative = d_lt(value, Dec(z3.IntVal(0), 0, 0))

        def confirm(model):
            facts = claim_io.claim_json(claim, model, _claim_id(program, enc, f"verify-{_slug(label)}"))
            decided = _decide(policy, facts)
            if decided is not None and decided[output] < 0:
                return facts, f"{output} = {_shown(decided[output])}"
            return None

        return _search(segment, lean, [enc.decided()], negative, deadline, confirm, [claim], enc.inexact, nice=plain_values([claim]))

    return _over_segments(request, policy, label, "nonnegative", one)


def _monotone(request: Request, output: str, field: str) -> Outcome:
    policy = request.policy
    program = policy.program.ir
    _check_output(program, output, policy.name)
    try:
        steps, _ = claim_io.resolve_field(program, field)
    except ValueError as error:
        raise RequestError(str(error)) from None
    label = f"monotone {output} in {field}"

    def one(segment, deadline):
        less = SymbolicClaim(program, request.items)
        more = claim_io.bumped(less, steps)
        enc_less = Encoding(program, segment, less, "less:")
        enc_more = Encoding(program, segment, more, "more:")
        lean = [*less.constraints, segment_condition(program, segment, less)]  # `more`'s are among them
        lower = d_lt(as_dec(enc_more.outputs[output]), as_dec(enc_less.outputs[output]))
        slug = _slug(label)

        def confirm(model):
            first = claim_io.claim_json(less, model, _claim_id(program, enc_less, f"verify-{slug}-less"))
            second = claim_io.claim_json(more, model, _claim_id(program, enc_more, f"verify-{slug}-more"))
            a, b = _decide(policy, first), _decide(policy, second)
            if a is not None and b is not None and b[output] < a[output]:
                return [first, second], f"{output} = {_shown(a[output])} with less {field}, {_shown(b[output])} with more"
            return None

        full = [enc_less.decided(), enc_more.decided()]
        extra = [(more.increase, z3.IntVal(100)), *[(choice, z3.IntVal(0)) for choice in more.choices]]
        def lemmas():
            return relational_lemmas(enc_less, enc_more, lean, deadline, [[*a, *extra] for a in _samples(policy, less)])

        return _search(
            segment, lean, full, lower, deadline, confirm, [less, more], enc_less.inexact + enc_more.inexact,
            nice=plain_values([less]), lemmas=lemmas,
        )

    return _over_segments(request, policy, label, "monotone", one)


def _refines(request: Request, old, new, output: str) -> Outcome:
    label = f"refines {old.name} {new.name} {output}"
    for policy in (old, new):
        _check_output(policy.program.ir, output, policy.name)
    problem = _schema_difference(old.program.ir, new.program.ir)
    if problem:
        raise RequestError(f"--refines compares claims both policies read, and their inputs differ: {problem}")
    started = time.monotonic()
    deadline = started + request.timeout
    results: list[SegmentOutcome] = []
    counterexample = engine = None
    pairs = _segment_pairs(old.program.ir, new.program.ir)
    if not pairs:
        return Outcome(label, "refines", "unknown", 0.0, (), _no_claims(old) or _no_claims(new) or "the two policies are in force on no common day", None, None, False)
    bounded = _has_aggregate(old.program.ir) or _has_aggregate(new.program.ir)
    for old_segment, new_segment, period in pairs:
        segment_started = time.monotonic()
        try:
            claim = SymbolicClaim(old.program.ir, request.items)
            # NEW reads the same claim (the schemas are the same): its own limits are added
            new_claim = SymbolicClaim(new.program.ir, request.items)  # the same variables, by name
            enc_old = Encoding(old.program.ir, old_segment, claim, "old:")
            enc_new = Encoding(new.program.ir, new_segment, claim, "new:")
        except NotEncodable as error:
            results.append(SegmentOutcome(period, "unknown", time.monotonic() - segment_started, f"not encodable: {error}"))
            continue
        lean = [
            *claim.constraints, *new_claim.constraints,
            segment_condition(old.program.ir, old_segment, claim), segment_condition(new.program.ir, new_segment, claim),
        ]
        full = [enc_old.decided(), enc_new.decided()]
        lower = d_lt(as_dec(enc_new.outputs[output]), as_dec(enc_old.outputs[output]))

        def confirm(model, enc_old=enc_old, enc_new=enc_new, claim=claim):
            claim_id = f"verify-refines-{_slug(output)}" if _claim_id(old.program.ir, enc_old, "x") and _claim_id(new.program.ir, enc_new, "x") else None
            facts = claim_io.claim_json(claim, model, claim_id)
            a, b = _decide(old, facts), _decide(new, facts)
            if a is not None and b is not None and b[output] < a[output]:
                return facts, f"{output} = {_shown(a[output])} by {old.name}, {_shown(b[output])} by {new.name}"
            return None

        def lemmas(enc_old=enc_old, enc_new=enc_new, lean=lean, claim=claim):
            return relational_lemmas(enc_old, enc_new, lean, deadline, _samples(old, claim))

        outcome = _search(
            period, lean, full, lower, deadline, confirm, [claim, new_claim], enc_old.inexact + enc_new.inexact,
            nice=plain_values([claim]), lemmas=lemmas, started_at=segment_started,
        )
        results.append(outcome.segment)
        if outcome.counterexample is not None:
            counterexample, engine = outcome.counterexample, outcome.engine
            break
    outcome = _combine(label, "refines", results, time.monotonic() - started, counterexample, engine, bounded)
    return attrs.evolve(outcome, stem=_slug(f"refines {_policy_id(old)} {_policy_id(new)} {output}"))


# ---- segments ------------------------------------------------------------------------------


def _over_segments(request: Request, policy, label: str, kind: str, one) -> Outcome:
    program = policy.program.ir
    started = time.monotonic()
    deadline = started + request.timeout
    in_force = [s for s in program.segments if s.in_force]
    if not in_force:
        return Outcome(label, kind, "unknown", 0.0, (), _no_claims(policy), None, None, False)
    results: list[SegmentOutcome] = []
    counterexample = engine = None
    for segment in in_force:
        segment_started = time.monotonic()
        try:
            found = one(segment, deadline)
        except NotEncodable as error:
            results.append(SegmentOutcome(segment.period, "unknown", time.monotonic() - segment_started, f"not encodable: {error}"))
            continue
        if isinstance(found, SegmentOutcome):
            results.append(found)
            continue
        results.append(found.segment)
        if found.counterexample is not None:
            counterexample, engine = found.counterexample, found.engine
            break
    return _combine(label, kind, results, time.monotonic() - started, counterexample, engine, _has_aggregate(program))


def _combine(label, kind, results, seconds, counterexample, engine, bounded) -> Outcome:
    statuses = {r.status for r in results}
    status = "failed" if "failed" in statuses else "unknown" if "unknown" in statuses or not results else "proved"
    reason = next((r.reason for r in results if r.status == status and r.reason), None) if status != "proved" else None
    return Outcome(label, kind, status, seconds, tuple(results), reason, counterexample, engine, bounded)


def _segment_pairs(old: ir.Program, new: ir.Program):
    """(old segment, new segment, period text) for the days both are in force on."""
    pairs = []
    for a in old.segments:
        if not a.in_force:
            continue
        for b in new.segments:
            if not b.in_force:
                continue
            single = len(old.segments) == 1 or len(new.segments) == 1
            start = max((d for d in (a.start, b.start) if d is not None), default=None)
            end = min((d for d in (a.end, b.end) if d is not None), default=None)
            if single or start is None or end is None or start < end:
                pairs.append((a, b, a.period if a.period == b.period else f"{a.period} (old) with {b.period} (new)"))
    return pairs


def _no_claims(policy) -> str | None:
    """Why a policy decides no claim (no segment in force), or None."""
    program = policy.program.ir
    if any(s.in_force for s in program.segments):
        return None
    missing = sorted({name for s in program.segments for name in s.missing})
    if missing:
        frame = any(w.code == "W237" for w in policy.warnings)
        named = ", ".join(f"`{m}`" for m in missing)
        what = "it is a frame whose regions set them (W237)" if frame else "no value of them is in force"
        return (
            f"the policy decides no claim: {named} {'is' if len(missing) == 1 else 'are'} required and unset ({what}); "
            "every claim is refused with R405, so there is nothing to prove here: verify a policy that extends it"
        )
    return "the policy decides no claim: it is in force on no day (every claim is refused with R405)"


# ---- one question to the solver ------------------------------------------------------------------


@attrs.frozen
class _Found:
    segment: SegmentOutcome
    counterexample: object = None
    engine: str | None = None


# Each question is asked with these solver seeds in turn, each given this share of the time
# left (the last all of it): a search that one seed sends astray another often finishes at once.
_PORTFOLIO = ((0, 0.4), (1, 0.5), (2, 1.0))
NICE_SECONDS = 2.0  # at most this long looking again for a counterexample with plain values
QUICK_SECONDS, QUICK_SHARE = 2.0, 0.15  # the first, brief look among claims with plain values


def _check(assertions: list, deadline: float, portfolio=_PORTFOLIO):
    """(answer, solver, reason) for the conjunction of `assertions`, within `deadline`."""
    reason = "the time limit ran out"
    for seed, share in portfolio:
        remaining = deadline - time.monotonic()
        if remaining <= 0.01:
            break
        solver = z3.Solver()
        solver.set("random_seed", seed)
        solver.set("timeout", max(1, int(remaining * share * 1000)))
        solver.add(*assertions)
        started = time.monotonic()
        answer = solver.check()
        if _DEBUG:
            print(f"  question ({len(assertions)} assertions), seed {seed}: {answer} in {time.monotonic() - started:.2f} s", file=sys.stderr)
        if answer != z3.unknown:
            return answer, solver, None
        why = solver.reason_unknown()
        if why not in ("timeout", "canceled"):
            return answer, solver, f"the solver gave up ({why})"
    return z3.unknown, None, reason


def _search(
    segment, lean: list, full: list, goal, deadline: float, confirm, claims: list, inexact: list,
    nice: list = (), lemmas=None, started_at=None,
) -> _Found:
    """Is there a claim satisfying `goal` (the property broken)?

    1. briefly, among claims with plain values (`nice`: amounts up to a million yuan, dates
       in 1950..2050, small counts) that the engine decides (`full`): most counterexamples
       are found at once, and they are the ones people read best;
    2. then `lemmas()` (facts proved about two encodings side by side, for `refines` and
       `monotone`) join `lean`;
    3. among every claim the facts reader admits (`lean`: a superset of those the engine
       decides, so unsat proves the property);
    4. among those the engine decides (`lean` and `full`), a model the engine does not
       confirm being excluded and the question asked again.

    A model counts only when `confirm(model)` (the engine) says so."""
    period = segment if isinstance(segment, str) else segment.period
    started = started_at if started_at is not None else time.monotonic()

    def done(status, reason=None, found=None, nicer=True):
        if found is not None:
            found = _nicer(found, [*lean, *full, goal, *nice], deadline, confirm) if nice and nicer else found
            return _Found(SegmentOutcome(period, "failed", time.monotonic() - started, None), *found)
        return _Found(SegmentOutcome(period, status, time.monotonic() - started, reason))

    def confirmed_by_engine(model, what):
        found = confirm(model)
        if _DEBUG:
            print(f"  {what} model {'confirmed' if found else 'not confirmed'} by the engine", file=sys.stderr)
        return found

    if nice:
        quick = time.monotonic() + min(QUICK_SECONDS, (deadline - time.monotonic()) * QUICK_SHARE)
        answer, solver, _ = _check([*lean, *full, goal, *nice], quick, portfolio=_PORTFOLIO[:1])
        if answer == z3.sat:
            found = confirmed_by_engine(solver.model(), "plain")
            if found is not None:
                return done("failed", found=found, nicer=False)
    if lemmas is not None:
        lean = [*lean, *lemmas()]
    answer, solver, reason = _check([*lean, goal], deadline)
    if answer == z3.unsat:
        return done("proved") if not inexact else done("unknown", _inexact(inexact))
    if answer == z3.sat:
        found = confirmed_by_engine(solver.model(), "lean")
        if found is not None:
            return done("failed", found=found)
    answer, solver, reason = _check([*lean, *full, goal], deadline)
    narrowed = False  # `number` inputs kept to what the reader surely reads (see `readable_numbers`)
    for _ in range(ATTEMPTS):
        if answer == z3.unsat and narrowed:
            return done("unknown", "no counterexample whose `number` inputs have at most 20 decimals; the encoding admits more digits than the reader")
        if answer == z3.unsat:
            return done("proved") if not inexact else done("unknown", _inexact(inexact))
        if answer == z3.unknown:
            return done("unknown", reason)
        model = solver.model()
        found = confirmed_by_engine(model, "full")
        if found is not None:
            return done("failed", found=found)
        solver.add(claim_io.blocking(claims, model))
        if not narrowed and any(claim.numbers for claim in claims):
            solver.add(*readable_numbers(claims))
            narrowed = True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return done("unknown", "the time limit ran out")
        solver.set("timeout", max(1, int(remaining * 1000)))
        answer = solver.check()
        reason = "the time limit ran out" if answer == z3.unknown else None
    return done(
        "unknown",
        f"the solver's {ATTEMPTS} counterexamples were not confirmed by the engine (the encoding and the engine disagree; please report it)",
    )


def _nicer(found, assertions: list, deadline: float, confirm):
    """A counterexample with plain values in place of `found`, if one is found quickly."""
    limit = min(time.monotonic() + NICE_SECONDS, deadline + NICE_SECONDS)
    answer, solver, _ = _check(assertions, limit)
    if answer == z3.sat:
        confirmed = confirm(solver.model())
        if confirmed is not None:
            return confirmed
    return found


def _inexact(inexact: list) -> str:
    return f"no counterexample, but the encoding is not exact: {sorted(set(inexact))[0]}"


def readable_numbers(claims: list) -> list:
    """`number` inputs with at most 20 decimals below 10^20: at most 40 significant digits,
    which the facts reader always reads (the claim domain admits up to 40 decimals, a
    superset, so that proofs cover every number the reader reads)."""
    return [
        z3.And(leaf.var % 10**20 == 0)
        for claim in claims for leaf in claim.leaves if leaf.type == t.NUMBER
    ]


def plain_values(claims: list) -> list:
    """Constraints that keep a claim's values plain (for a counterexample people read):
    money up to 1,000,000 yuan, dates in 1950..2050 (before the segment's own bounds),
    whole numbers within ±100."""
    found = []
    for claim in claims:
        for leaf in claim.leaves:
            if leaf.type == t.MONEY:
                found.append(leaf.var <= 100_000_000)
            elif leaf.type == t.DATE:
                found += [leaf.parts[0] >= 1950, leaf.parts[0] <= 2050]
            elif leaf.type in (t.INT, t.MONTHS):
                found += [leaf.var <= 100, leaf.var >= -100]
            elif leaf.type == t.NUMBER:
                found += [leaf.var % 10**20 == 0, leaf.var <= 10**44, leaf.var >= -(10**44)]
    return found


# ---- relational lemmas (two encodings side by side) -------------------------------------------


LEMMA_SHARE = 0.5  # at most this share of a property's time goes to lemmas
LEMMA_SECONDS = 0.5  # each candidate lemma is given at most this long
SAMPLES = 24  # generated claims that refute candidate lemmas before the solver is asked


def relational_lemmas(first: Encoding, second: Encoding, lean: list, deadline: float, samples: list = ()) -> list:
    """Facts relating the rules of two encodings over the same claim variables (`refines`:
    OLD and NEW on one claim; `monotone`: one policy on the claim and on the claim with
    more): for each rule both have, in evaluation order, whichever of `first <= second`,
    `first >= second` (both: equal) z3 proves over every claim of `lean`, given the lemmas
    proved before it. Each is a theorem of the claim domain, so asserting them changes no
    answer; they let the final question reason rule by rule, which it rarely finds alone
    (a reform that raises one layer and so lowers the next). A candidate refuted by a model
    is dropped for every later rule that model also refutes."""
    stop = time.monotonic() + max(0.0, deadline - time.monotonic()) * LEMMA_SHARE
    lemmas: list = []
    refuted: set = set()
    pairs = []
    for name, a in first.rules.items():
        parts = sorted((key for key in first.parts if key[0] == name), key=lambda key: (-len(key[1]), key[1]))
        for key in [*parts, name]:
            a = first.parts.get(key) if isinstance(key, tuple) else first.rules[key]
            b = second.parts.get(key) if isinstance(key, tuple) else second.rules.get(key)
            if b is None or type(a) is not type(b) or isinstance(a, (tuple, ListVal, SetVal)):
                continue
            if _same_term(a, b):
                continue  # the same term in both: nothing to learn
            pairs.append((key, a, b))
    for assignment in samples:  # concrete claims refute most false candidates at once
        for key, a, b in pairs:
            for relation, holds in _relations(a, b):
                if (key, relation) not in refuted and z3.is_false(z3.simplify(z3.substitute(holds, *assignment))):
                    refuted.add((key, relation))
    for name, a, b in pairs:
        candidates = _relations(a, b)
        for relation, holds in candidates:
            if (name, relation) in refuted:
                continue
            remaining = stop - time.monotonic()
            if remaining <= 0.01:
                return lemmas
            solver = z3.Solver()
            solver.set("random_seed", 0)
            solver.set("timeout", max(1, int(min(LEMMA_SECONDS, remaining) * 1000)))
            solver.add(*lean, *lemmas, b_not(holds))
            answer = solver.check()
            if _DEBUG:
                print(f"lemma {name} {relation}: {answer}", file=sys.stderr)
            if answer == z3.unsat:
                lemmas.append(holds)
                if relation == "=":
                    break
            elif answer == z3.sat:
                model = solver.model()
                for other, x, y in pairs:
                    for other_relation, other_holds in _relations(x, y):
                        if z3.is_false(model.eval(other_holds, model_completion=True)):
                            refuted.add((other, other_relation))
    return lemmas


def _same_term(a, b) -> bool:
    if isinstance(a, Dec):
        return a.scale == b.scale and a.n.eq(b.n) and (a.inf is b.inf or (not isinstance(a.inf, int) and not isinstance(b.inf, int) and a.inf.eq(b.inf)))
    if isinstance(a, Day):
        return a.o.eq(b.o)
    if isinstance(a, Member):
        return a.enum == b.enum and a.i.eq(b.i)
    if isinstance(a, z3.ExprRef):
        return a.eq(b)
    return False


def _samples(policy, claim: SymbolicClaim) -> list:
    """Assignments of `claim`'s variables from generated claims of `policy` (tools/generate.py,
    a fixed seed): concrete points of the claim domain, to refute candidate lemmas with."""
    from policydsl.tools.generate import generate

    found = []
    try:
        for facts in generate(policy, SAMPLES, seed=1):
            try:
                found.append(claim.assignment(policy.read_facts(facts)))
            except (FactsError, ValueError):
                continue
    except Exception:  # noqa: BLE001 - samples only speed the search up; none is fine
        return found
    return found


def _relations(a, b) -> list:
    """[(name, condition)] of the relations tried between two values of one rule: equality,
    then each order (numbers, dates); equality alone for the other kinds."""
    from policydsl.verify.smt import compare, equal

    if isinstance(a, (Dec, Day)) or (isinstance(a, z3.ArithRef) and a.is_int()):
        return [("=", equal(a, b)), ("<=", compare("<=", a, b)), (">=", compare(">=", a, b))]
    if isinstance(a, (Member, z3.BoolRef)):
        return [("=", equal(a, b))]
    return []


# ---- helpers ---------------------------------------------------------------------------------------


def _decide(policy, facts) -> dict | None:
    """The outputs the engine decides for `facts`, or None when it refuses the claim."""
    try:
        return policy.evaluate(claim_io.plain(facts)).outputs
    except (EvaluationError, FactsError) as error:
        _debug_claim("refused", facts, error)
        return None


def _debug_claim(what: str, facts, error=None) -> None:
    """With POLICYDSL_VERIFY_DEBUG set: a model the engine did not confirm, on stderr."""
    if _DEBUG:
        print(f"  engine: {what}{f' ({error})' if error else ''}: {claim_io.dumps(facts, None)}", file=sys.stderr)


def _policy_id(policy) -> str:
    """A policy's id (`example/resident-2025`), for file names."""
    provenance = getattr(policy, "provenance", None)
    return getattr(provenance, "id", None) or str(policy.name)


def _shown(value) -> str:
    if isinstance(value, Decimal):
        return "unlimited" if value == numbers.UNLIMITED else format(value, "f")
    return str(value)


def _claim_id(program, enc: Encoding, wanted: str) -> str | None:
    """`wanted` as the claim's id, unless the policy reads its `claim_id` input (then the
    model's value stays)."""
    names = [name for name, _ in program.inputs]
    if "claim_id" in names and names.index("claim_id") in enc.used_inputs:
        return None
    return wanted


def _has_aggregate(program: ir.Program) -> bool:
    for segment in program.segments:
        for expr in segment.expressions:
            if any(isinstance(node, ir.Aggregate) for node in ir.walk(expr)):
                return True
    return False


def _schema(program: ir.Program):
    def describe(type_):
        if isinstance(type_, t.EnumType):
            return ("enum", type_.name, tuple(type_.members))
        if isinstance(type_, t.ListType):
            return ("list", describe(type_.element))
        return str(type_)

    records = {
        name: tuple((f.name, describe(program.field_types[(name, f.name)])) for f in program.record_fields(name))
        for name in program.records if name is not None
    }
    return tuple((name, describe(type_)) for name, type_ in program.inputs), records


def _schema_difference(old: ir.Program, new: ir.Program) -> str | None:
    (old_inputs, old_records), (new_inputs, new_records) = _schema(old), _schema(new)
    if old_inputs != new_inputs:
        a, b = dict(old_inputs), dict(new_inputs)
        names = [n for n in {**a, **b} if a.get(n) != b.get(n)]
        return f"input field `{names[0]}`" if names else "the order of the input fields"
    for name in {**old_records, **new_records}:
        if old_records.get(name) != new_records.get(name):
            return f"record {name}"
    return None


def _assumptions(request: Request, policies: list) -> list[str]:
    found: list[str] = [
        "claims: every claim the facts reader admits: money >= 0 in whole fen below 10^15 yuan, ratios 0%..100% with at most "
        "40 decimals, ints within ±10^18 (months >= 0), any calendar date 0001-01-01..9999-12-31, enums by member, "
        "text any string, and each field's declared limits; a field with a default may also hold its default",
    ]
    for policy in policies:
        program = policy.program.ir
        label = f"{policy.name}: " if len(policies) > 1 else ""
        limits = _limit_texts(program)
        if limits:
            found.append(f"{label}declared limits: {', '.join(limits)}")
        if program.accumulators:
            names = ", ".join(a.name for a in program.accumulators)
            found.append(f"{label}accumulators' values before the claim ({names}): inputs, admitted as facts are (money >= 0 in whole fen)")
        in_force = [s for s in program.segments if s.in_force]
        if not in_force:
            found.append(f"{label}no segment is in force: {_no_claims(policy)}")
        elif len(program.segments) == 1:
            found.append(f"{label}one segment ({in_force[0].period}): every claim")
        else:
            date = dict(enumerate(name for name, _ in program.inputs)).get(program.as_of_index, "the evaluation date")
            for segment in in_force:
                found.append(f"{label}segment {segment.index} ({segment.period}): the claims whose {date} falls in it")
            refused = [s for s in program.segments if not s.in_force]
            if refused:
                found.append(f"{label}claims dated outside those segments are refused (R405) and not considered")
        lists = _list_fields(program)
        if lists and _has_aggregate(program):
            found.append(
                f"{label}lists ({', '.join(lists)}): at most {request.items} elements each; over lists the result is a "
                f"bounded check, not a proof"
            )
        if any(type_ == t.NUMBER for type_ in program.field_types.values()):
            found.append(f"{label}`number` inputs: any value with at most 40 decimals below 10^20 (a superset of what the reader admits)")
    found.append(
        "invariants speak of the claims whose rules evaluate; nonnegative, monotone and refines of the claims the engine decides "
        "(a claim refused with R401-R408 has no outputs)"
    )
    return found


def _limit_texts(program: ir.Program) -> list[str]:
    from policydsl.check.typing import limit_pairs

    texts = []
    for record, fields in program.records.items():
        for field in fields:
            if field.limits:
                where = f"{record}.{field.name}" if record else field.name
                texts.append(f"{where} " + " and ".join(f"{op} {bound}" for op, bound in limit_pairs(field)))
    return texts


def _list_fields(program: ir.Program) -> list[str]:
    return [
        (f"{record}." if record else "") + name
        for (record, name), type_ in program.field_types.items()
        if isinstance(type_, t.ListType)
    ]


__all__ = ["Request", "RequestError", "verify"]
