"""One claim in, one output record out: what `policydsl eval` writes for each claim and
every batch record holds.

`decide(policy, claim, line)` reads the claim's facts and evaluates them; it gives the
record of the decision (`claim_id` first, then the outputs as JSON values) with the output
values, or an error record in its place (the claim named by its `claim_id`, or by its line
when it has none) and None. `claim_id_of` is the one rule for a claim's id; `json_line`
writes a record as one JSON line.
"""

from __future__ import annotations

import datetime
import json

from policydsl.backends.facts import claim_id_of, show
from policydsl.diagnostics.model import EvaluationError, FactError, FactsError, PolicydslError, PolicyError


def decide(policy, claim, line: int | None = None, as_of: datetime.date | None = None, claim_id=None, keep_going: bool = False) -> tuple[dict, dict | None]:
    """(record, output values) for one claim; the values are None for an error record.

    `claim` is the parsed claim, or the exception that stands for a record that could not
    be read (it gets an error record). `policy` is anything with `evaluate(facts, as_of)`:
    a `Policy`, or a `registry.RegionPolicy` that chooses one by the claim's date. `claim_id`
    is the claim's id when it is known without the claim (a CSV row that did not convert);
    by default `claim_id_of(claim)`.

    A claim that cannot be decided (bad facts, a rule that cannot be computed) gets an
    error record. A policy that does not load (`PolicyError`, when one is chosen by the
    claim) is raised: it is not the claim's fault. Any other exception is a bug in
    policydsl: raised, or with `keep_going` an error record, so that one bug does not stop
    a run of many claims (batch).
    """
    if claim_id is None:
        claim_id = claim_id_of(claim)
    if isinstance(claim, Exception):
        return failure_record(claim, claim_id, line), None
    if not isinstance(claim, dict):
        return error_record(FactsError([not_an_object(claim)]), None, line), None
    try:
        decision = policy.evaluate(claim, as_of=as_of)
    except PolicyError:
        raise
    except PolicydslError as error:
        return failure_record(error, claim_id, line), None
    except Exception as error:  # noqa: BLE001 - with keep_going, a bug must not lose the record or stop the run
        if not keep_going:
            raise
        problem = RuntimeError(f"internal error: {type(error).__name__}: {error} (please report it)")
        return failure_record(problem, claim_id, line), None
    return decision_record(decision, claim_id), decision.outputs


def decision_record(decision, claim_id=None) -> dict:
    """The decision as JSON values, `claim_id` first (also when the policy's input does not declare it)."""
    record = decision.to_json()
    if claim_id is not None and "claim_id" not in record:
        record = {"claim_id": claim_id, **record}
    return record


def not_an_object(claim) -> FactError:
    """The problem of a claim that is JSON but not an object (a number, a list)."""
    return FactError("", f"a claim must be a JSON object, got {show(claim)}", "F302")


def failure_record(error: Exception, claim_id=None, line: int | None = None) -> dict:
    """The error record of a claim that failed, named by its `claim_id`, or by its line when it has none."""
    return error_record(error, claim_id, None if claim_id is not None else line)


def error_record(error: Exception, claim_id=None, line: int | None = None) -> dict:
    """The JSON record written in place of a decision for a claim that failed."""
    record: dict = {}
    if claim_id is not None:
        record["claim_id"] = claim_id
    if line is not None:
        record["line"] = line
    if isinstance(error, FactsError):
        record["error"] = "invalid facts: " + str(error)
        record["errors"] = [{"path": e.path, "message": e.message, "code": e.code} for e in error.errors]
    elif isinstance(error, EvaluationError):
        record["error"] = str(error)
        record["code"] = error.code
    else:
        record["error"] = str(error)
    return record


def json_line(record: dict) -> str:
    """One output record as a JSON line. Text is written as UTF-8; a string that UTF-8 cannot
    encode (a lone surrogate from `\\ud800` in the input) is escaped instead of breaking the run."""
    text = json.dumps(record, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(record)
    return text + "\n"


__all__ = ["claim_id_of", "decide", "decision_record", "error_record", "failure_record", "json_line", "not_an_object"]
