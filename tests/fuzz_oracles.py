"""Strict oracles for the fuzzers: what a claim or a policy text must give, judged
independently of the code under test.

`expected_problems` is a reference reader written from the facts reader's documented rules
(facts.py's docstring), not from its code: for every claim it predicts the problems
(path, code) the reader must report, or marks a value it cannot judge as unsure. So a reader
broken to accept negative money or an unknown field fails the fuzzers at once (the
prediction says F302 / F303 at that path and a decision came out).

`check_claim` judges one evaluation:
- a decision: accepted facts (the prediction found no problem), money outputs whole fen
  Decimals, the traced run and the reference interpreter give the same outputs, the fast and the checking facts readers
  agree, the decision is writable as JSON and explainable;
- a FactsError: F301/F302/F303 only, every path present in the claim (F302/F303) or missing
  from it (F301), every predicted problem reported and nothing reported that was predicted fine;
  or a single F304 for facts the prediction found fine, at the field of the first `require` the
  reference interpreter finds false (`broken_requirement`);
- an EvaluationError with an expected code (R406 only when the policy's invariants may fail),
  the reference interpreter failing with the same code where it computes that failure itself;
- anything else -- another exception, a decision for bad facts -- is a failure.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from decimal import Decimal

import policydsl
from policydsl.check import types as t
from policydsl.diagnostics.model import EvaluationError, FactsError, PolicyError
from policydsl.backends.facts import Invalid, NonFinite, build_reader, format_path
from policydsl.api import error_record, json_line

FIELD_CODES = {"F301", "F302", "F303"}
# R400 generic arithmetic, R401 division by zero, R402 calendar, R403 table row, R404 not whole
# fen, R405 not in force, R406 invariant, R407 whole number too large, R408 cannot be computed
# exactly / out of range, R409 too much work for one claim.
EVAL_CODES = {"R400", "R401", "R402", "R403", "R404", "R405", "R407", "R408", "R409"}
UNSURE = "unsure"


class OracleFailure(AssertionError):
    """The code under test did something the oracle forbids; `area` says whose it is."""

    def __init__(self, message: str, area: str = "?"):
        super().__init__(message)
        self.area = area


def fail(message: str, area: str = "?"):
    raise OracleFailure(message, area)


# ---- the reference reader ------------------------------------------------------------------

_ASCII_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?\Z")
_ASCII_PERCENT = re.compile(r"[0-9]+(\.[0-9]+)?%\Z")
_ASCII_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")

# Bounds, with a margin where the project may move its limit: below LOW is fine, at or above
# HIGH is refused, between is unsure.
MONEY_OK, MONEY_REFUSED = Decimal(10) ** 14, Decimal(10) ** 16
INT_OK, INT_REFUSED = 10**17, 10**19
RATIO_DIGITS_OK = 28  # more significant digits than Decimal's default context: accepted exactly or refused


def _decimal_of(value):
    """A number as an exact Decimal, or None for what is not a finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value) if value.bit_length() < 4000 else None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


def _digits(value: Decimal) -> int:
    return len(value.as_tuple().digits)


def _fen_exact(value: Decimal) -> bool:
    sign, digits, exponent = value.as_tuple()
    return exponent >= -2 or not any(digits[max(0, len(digits) + exponent + 2) :])


def _inside_limits(field, type_, value):
    """Whether an accepted value is inside the field's declared limits (`age: int in 0..150`),
    read as the documentation says each type is read; UNSURE for what it cannot tell."""
    import datetime

    from policydsl.check.typing import limit_pairs, limits_hold

    try:
        if type_ == t.DATE:
            number = value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)
        elif type_ == t.RATIO and isinstance(value, str):
            sign, digits, exponent = Decimal(value[:-1]).as_tuple()
            number = Decimal((sign, digits, exponent - 2))
        elif isinstance(value, str):
            number = Decimal(value)
        else:
            number = _decimal_of(value) if isinstance(value, float) else value
    except (ValueError, ArithmeticError):
        return UNSURE
    if number is None:
        return UNSURE
    return limits_hold(limit_pairs(field), number)


def judge_scalar(type_, value):
    """True (accepted), False (refused, F302) or UNSURE."""
    if type_ == t.MONEY:
        if isinstance(value, str):
            if not _ASCII_MONEY.match(value):
                return False
            number = Decimal(value)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
                return False
            if isinstance(value, int) and value.bit_length() > 200:
                return False
            number = _decimal_of(value)
            if number is None:
                return False
        if number.is_signed() and not number.is_zero():
            return False
        if number.adjusted() >= 30:
            return False  # judged by the exponent, never by computing with it
        if not _fen_exact(number):
            return False
        if number >= MONEY_REFUSED:
            return False
        return True if number < MONEY_OK else UNSURE
    if type_ == t.RATIO:
        if isinstance(value, str):
            if not _ASCII_PERCENT.match(value):
                return False
            sign, digits, exponent = Decimal(value[:-1]).as_tuple()
            number = Decimal((sign, digits, exponent - 2))  # exact: scaleb would round to 28 digits
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
                return False
            number = _decimal_of(value)
            if number is None:
                return False
        if not Decimal(0) <= number <= Decimal(1):
            return False
        if not number.is_zero() and number.adjusted() < -30:
            return UNSURE  # 1E-999999999: accepted exactly, or refused as too precise
        return True if _digits(number) <= RATIO_DIGITS_OK else UNSURE
    if type_ in (t.INT, t.MONTHS):
        if isinstance(value, bool):
            return False
        if isinstance(value, float):
            return UNSURE
        if isinstance(value, Decimal):
            if not value.is_finite() or value.adjusted() > 40:
                return False
            if value != value.to_integral_value():
                return False
            return UNSURE  # 3.0: a whole number written with a fraction
        if not isinstance(value, int):
            return False
        if type_ == t.MONTHS and value < 0:
            return False
        if abs(value) >= INT_REFUSED:
            return False
        return True if abs(value) < INT_OK else UNSURE
    if type_ == t.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            return False
        number = _decimal_of(value)
        if number is None:
            return False if not isinstance(value, int) else UNSURE
        if number.adjusted() > 30 or (number.adjusted() < -30 and not number.is_zero()) or _digits(number) > 28:
            return UNSURE
        return True
    if type_ == t.BOOL:
        return value is True or value is False
    if type_ == t.DATE:
        if type(value) is datetime.date:
            return True
        if not isinstance(value, str) or not _ASCII_DATE.match(value):
            return False
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if type_ == t.TEXT:
        return isinstance(value, str) and not _SURROGATE.search(value)
    raise AssertionError(type_)


def expected_problems(env, defaults, claim, drop_claim_id: bool):
    """(problems, unsure): problems is {(path tuple, code)} the reader must report; unsure the
    paths whose values the reference cannot judge (a problem may or may not be reported there)."""
    problems: set = set()
    unsure: set = set()

    def value(type_, item, path):
        if isinstance(type_, t.EnumType):
            if isinstance(item, bool) or type(item) not in (str, int) or item not in type_.members:
                problems.add((path, "F302"))
        elif isinstance(type_, t.ListType):
            if not isinstance(item, (list, tuple)):
                problems.add((path, "F302"))
            else:
                for index, element in enumerate(item):
                    value(type_.element, element, (*path, index))
        elif isinstance(type_, t.RecordType):
            record(type_.name, item, path)
        else:
            verdict = judge_scalar(type_, item)
            if verdict is UNSURE:
                unsure.add(path)
            elif not verdict:
                problems.add((path, "F302"))

    def record(name, item, path):
        if not isinstance(item, dict):
            problems.add((path, "F302"))
            return
        declared = {}
        for field in env.record_fields(name):
            declared[field.name] = field
            type_ = env.field_types[(name, field.name)]
            if field.name in item:
                where = (*path, field.name)
                value(type_, item[field.name], where)
                if field.limits and where not in unsure and (where, "F302") not in problems:
                    inside = _inside_limits(field, type_, item[field.name])
                    if inside is UNSURE:
                        unsure.add(where)
                    elif not inside:
                        problems.add((where, "F302"))
            elif (name, field.name) not in defaults:
                problems.add(((*path, field.name), "F301"))
        for key in item:
            if key in declared or (name is None and drop_claim_id and key == "claim_id"):
                continue
            problems.add(((*path, str(key)), "F303"))

    record(None, claim, ())
    return problems, unsure


# ---- one claim ---------------------------------------------------------------------------


def walk(value, path: str):
    """The value at an error path (`items[2].amount`, `["a.b"]`), or KeyError if there is none."""
    for name, index, quoted in re.findall(r'(?:^|\.)([^.\[\]"]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]', path):
        if quoted:
            name = json.loads(quoted)
        if name or quoted:
            if not isinstance(value, dict) or name not in value:
                raise KeyError(path)
            value = value[name]
        else:
            if not isinstance(value, (list, tuple)) or int(index) >= len(value):
                raise KeyError(path)
            value = value[int(index)]
    return value


def _path_is_there(claim, problem) -> bool:
    """F302/F303 name a value in the claim; F301 a field missing from a record that is there."""
    try:
        if not isinstance(claim, dict):
            return problem.path == ""
        if problem.code == "F301":
            parent, _, name = problem.path.rpartition(".")
            holder = walk(claim, parent) if parent else claim
            return isinstance(holder, dict) and name not in holder
        if problem.path == "":
            return False
        walk(claim, problem.path)
        return True
    except KeyError:
        return False


def _drop(policy, claim):
    if policy._drop_claim_id and isinstance(claim, dict) and "claim_id" in claim:
        return {k: v for k, v in claim.items() if k != "claim_id"}
    return claim


def _slow_reader(policy):
    reader = getattr(policy, "_fuzz_slow_reader", None)
    if reader is None:
        reader = policy._fuzz_slow_reader = build_reader(policy.env, policy.program.defaults)
    return reader


def _readers_agree(policy, claim):
    """The fast facts reader (generated code) and the checking reader give the same answer."""
    facts = _drop(policy, claim)
    outcomes = []
    for read in (policy._read, _slow_reader(policy)):
        try:
            outcomes.append(("ok", read(facts)))
        except Invalid as invalid:
            outcomes.append(("invalid", sorted((tuple(map(str, p)), m, c) for p, m, c in invalid.problems)))
    if outcomes[0] != outcomes[1]:
        fail(f"fast and checking facts readers disagree: {_short(outcomes[0])} vs {_short(outcomes[1])}", "numbers (facts.py)")


def _short(value, size: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


def _writable(record) -> None:
    line = json_line(record)
    line.encode("utf-8")
    if len(line) > 1_000_000:
        fail(f"an output record of {len(line):,} characters for one claim", "numbers")
    json.loads(line)


# Errors the reference interpreter raises itself (R404 and R408 are the outputs' writing, R405
# the choice of segment and R409 the work bound, all before or after it: the same code there).
_INTERPRETER_CODES = {"R401", "R402", "R403", "R406", "R407"}


def _interpreted(policy, inputs: tuple, segment: int) -> dict:
    """The outputs of the reference interpreter (backends/interpreter.py) on the claim's inputs,
    written to the fen as `Policy.evaluate` writes them."""
    from decimal import localcontext

    from policydsl.backends import interpreter
    from policydsl.runtime import numbers

    raw = interpreter.run(policy.program.ir, segment, inputs)
    with localcontext(numbers.EXACT):
        return policy._finish(raw[: len(policy.output_names)])


def _interpreter_refuses(policy, claim, code: str) -> None:
    """The compiled program refused the claim with `code`: the interpreter refuses it alike."""
    inputs = policy.read_facts(claim)
    try:
        outputs = _interpreted(policy, inputs, policy.segment_for(inputs))
    except EvaluationError as error:
        if getattr(error, "code", None) != code:
            fail(f"the compiled program says {code}, the reference interpreter {getattr(error, 'code', None)}: {error}", "numbers (compiler)")
        return
    fail(f"the compiled program says {code}, the reference interpreter decides {_short(outputs)}", "numbers (compiler)")


def broken_requirement(policy, claim) -> str | None:
    """The field of the first `require` that the reference interpreter finds false on the
    claim's facts, in the segment of its date (None: every requirement holds)."""
    from policydsl.backends import interpreter

    inputs = policy.read_facts(claim)
    segment = policy.program.ir.segments[policy.segment_for(inputs)]
    broken = interpreter.broken_requirement(segment, interpreter.Scope(inputs=inputs, values=dict(segment.constants)))
    return broken.field if broken is not None else None


def check_claim(policy, claim, *, invariants_hold: bool = True, explain: bool = False, predict: bool = True) -> str:
    """Evaluate `claim` and judge the outcome (see the module docstring): 'decision', 'facts'
    or 'evaluation'; an OracleFailure (or the unexpected exception itself) otherwise."""
    if predict:
        problems, unsure = expected_problems(policy.env, policy.program.defaults, claim, policy._drop_claim_id) if isinstance(claim, dict) else ({((), "F302")}, set())
    try:
        decision = policy.evaluate(claim)
    except FactsError as error:
        if [problem.code for problem in error.errors] == ["F304"]:
            if predict and problems:
                fail(f"F304 for facts with problems {sorted(problems)}: requirements are checked on valid facts only", "numbers (facts.py)")
            broken = broken_requirement(policy, claim)
            if broken != error.errors[0].path:
                fail(f"F304 at {error.errors[0].path!r}, but the interpreter finds the first broken requirement at {broken!r}", "requirements (runtime/compiler)")
            _writable(error_record(error, "c", None))
            return "facts"
        if not error.errors:
            fail("FactsError without errors", "numbers (facts.py)")
        reported = set()
        for problem in error.errors:
            if problem.code not in FIELD_CODES or not problem.message:
                fail(f"fact error with code {problem.code!r}: {problem}", "numbers (facts.py)")
            reported.add((problem.path, problem.code))
            if not _path_is_there(claim, problem):
                fail(f"fact error at a path that is not in the claim: {problem}", "numbers (facts.py)")
        _writable(error_record(error, "c", None))
        if isinstance(claim, dict):
            _readers_agree(policy, claim)
        if predict:
            want = {(format_path(p), c) for p, c in problems}
            maybe = {format_path(p) for p in unsure}
            missing = want - reported
            if missing:
                fail(f"the reader did not report {sorted(missing)} (reported {sorted(reported)})", "numbers (facts.py)")
            extra = {(p, c) for p, c in reported - want if p not in maybe}
            if extra:
                fail(f"the reader reported {sorted(extra)} for values the rules accept (claim {_short(claim)})", "numbers (facts.py)")
        return "facts"
    except EvaluationError as error:
        code = getattr(error, "code", None)
        if isinstance(claim, dict) and code in _INTERPRETER_CODES:
            _interpreter_refuses(policy, claim, code)
        if code == "R406":
            if invariants_hold:
                fail(f"invariant failed on facts the reader accepted: {error}", "numbers (runtime/compiler)")
        elif code not in EVAL_CODES:
            fail(f"evaluation error with unexpected code {code!r}: {error}", "numbers (runtime/compiler)")
        if not str(error):
            fail("evaluation error without a message")
        _writable(error_record(error, "c", None))
        if predict and problems:
            fail(f"EvaluationError {code} for facts with problems {sorted(problems)}: the reader accepted bad facts", "numbers (facts.py)")
        return "evaluation"
    # a decision
    if predict and problems:
        fail(f"a decision for facts the rules refuse: {sorted((format_path(p), c) for p, c in problems)}", "numbers (facts.py)")
    _readers_agree(policy, claim)
    for name, type_ in zip(policy.output_names, policy.output_types):
        value = decision.outputs[name]
        if type_ == t.MONEY:
            if type(value) is Decimal and value == Decimal("Infinity"):
                continue  # `unlimited`: a cap the policy does not set (written "unlimited")
            if type(value) is not Decimal or not value.is_finite() or value.as_tuple().exponent != -2:
                fail(f"money output `{name}` = {value!r} is not a whole-fen Decimal", "numbers (policy.py)")
    record = decision.to_json()
    for name, type_ in zip(policy.output_names, policy.output_types):
        unlimited = decision.outputs[name] == Decimal("Infinity") and record[name] == "unlimited"
        if type_ == t.MONEY and not unlimited and not re.fullmatch(r"-?[0-9]+\.[0-9]{2}", str(record[name])):
            fail(f"money output `{name}` written as {record[name]!r}", "numbers (values.py)")
    _writable(record)
    traced, _ = policy.run_traced(decision.inputs, decision.segment)
    if traced != decision.outputs:
        fail(f"traced outputs {_short(traced)} != untraced {_short(decision.outputs)}", "numbers (compiler)")
    reference = _interpreted(policy, decision.inputs, decision.segment)
    if reference != decision.outputs:
        fail(f"the reference interpreter gives {_short(reference)}, the compiled program {_short(decision.outputs)}", "numbers (compiler)")
    if explain:
        for lang in ("en", "zh"):
            decision.explain(lang).encode("utf-8")
    return "decision"


# ---- one policy text ---------------------------------------------------------------------

CODE = re.compile(r"[PCLRW]\d{3}")
FILE_LEVEL = {"L500"}
# Text a reader cannot trust as it sees it: digits of other scripts, names mixing scripts,
# bidi controls. A policy holding them must not check without a word (repro 15).
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_WORD = re.compile(r"[^\W\d_][\w]*")


def _scripts(word: str) -> set:
    import unicodedata

    found = set()
    for char in word:
        if char.isascii():
            found.add("LATIN" if char.isalpha() else None)
            continue
        name = unicodedata.name(char, "")
        found.add(name.split(" ")[0] if name else None)
    found.discard(None)
    return found


_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')
_CONFUSABLE = {"LATIN", "CYRILLIC", "GREEK", "FULLWIDTH"}


def deceptive(text: str) -> str | None:
    """Why policy text may not read as it runs, outside strings and comments; None if it reads plainly."""
    code = _STRING_OR_COMMENT.sub(" ", text)
    if _NON_ASCII_DIGIT.search(code):
        return "a digit of another script"
    if _BIDI.search(text):
        return "a bidi control character"
    for word in _WORD.findall(code):
        if len(_scripts(word) & _CONFUSABLE) > 1:
            return f"the name {word!r} mixes scripts"
    return None


def check_diagnostics(error: PolicyError) -> None:
    if not error.diagnostics:
        fail("PolicyError without diagnostics", "policy text (checker)")
    for diagnostic in error.diagnostics:
        if not CODE.fullmatch(diagnostic.code):
            fail(f"diagnostic code {diagnostic.code!r}", "policy text (checker)")
        span = diagnostic.span
        if span is None:
            if diagnostic.code not in FILE_LEVEL:
                fail(f"{diagnostic.code} without a position", "policy text (checker)")
        elif span.line == 0:
            if span.column != 0 or span.location != span.source.name:
                fail(f"whole-file diagnostic at {span.location}", "policy text (checker)")
        else:
            if span.line < 1 or span.column < 1 or span.location != f"{span.source.name}:{span.line}:{span.column}":
                fail(f"diagnostic at {span.location}", "policy text (checker)")
        if not diagnostic.render().startswith(span.location if span else "error["):
            fail("diagnostic renders without its position", "policy text (checker)")
        diagnostic.render().encode("utf-8")
    str(error).encode("utf-8")


def check_policy_text(text: str, name: str, claims, root=None, *, claims_for=None, tools: bool = True) -> str:
    """Load `text`: diagnostics at file:line:col, or a Policy that evaluates `claims` (judged by
    `check_claim`, invariants allowed to fail: the text may have been mutated) and whose
    formatter, printer and explanations work. 'diagnostics' or 'policy'."""
    from policydsl.tools.formatter import FormatError, format_text
    from policydsl.tools.show import effective_text

    why = deceptive(text)
    try:
        policy = policydsl.loads(text, name=name, root=root)
    except PolicyError as error:
        check_diagnostics(error)
        outcome = "diagnostics"
    else:
        outcome = "policy"
        if why and not policy.warnings:
            fail(f"a policy with {why} checks without a diagnostic", "policy text (lower/checker)")
        for warning in policy.warnings:
            if not CODE.fullmatch(warning.code):
                fail(f"warning code {warning.code!r}", "policy text (checker)")
            warning.render().encode("utf-8")
        explained = False
        for claim in list(claims) + (list(claims_for(policy)) if claims_for else []):
            kind = check_claim(policy, claim, invariants_hold=False, explain=not explained, )
            explained = explained or kind == "decision"
        if tools:
            effective_text(policy).encode("utf-8")
    if tools:
        try:
            formatted = format_text(text, name)
        except FormatError as error:
            if "internal error" in str(error) and outcome == "policy":
                fail(f"the formatter fails on a policy that checks: {str(error)[:300]}", "policy text (formatter)")
        else:
            formatted.encode("utf-8")
            if outcome == "policy":
                try:
                    policydsl.loads(formatted, name=name, root=root)
                except PolicyError as error:
                    fail(f"the formatted text of a policy that checks does not check: {str(error)[:300]}", "policy text (formatter)")
    return outcome
