"""`policydsl explain POLICY CLAIM`: how each output of each claim was computed (text or JSON),
which policy decided it (id, version, digest) and, for a policy with accumulators, each one
before the claim, what the claim adds and after."""

from __future__ import annotations

import json
import sys

from policydsl.api import load
from policydsl.cli import exits, streams
from policydsl.cli.options import date_argument
from policydsl.diagnostics.model import FactsError, PolicydslError, PolicyError
from policydsl.tools.claims_io import read_dated_claims
from policydsl.tools.decide import claim_id_of, not_an_object

SEPARATOR = "\n" + "=" * 72 + "\n"


def register(commands) -> None:
    explain = commands.add_parser(
        "explain",
        help="explain how a claim's decision was computed",
        description="Evaluate a claim and explain every output: how it was computed, with the numbers, "
        "the reasons and the clauses cited; which policy decided it (id, version, digest); and each "
        "accumulator before the claim, what the claim adds, and after, in its year.",
    )
    explain.add_argument("policy", metavar="POLICY", help="the policy file")
    explain.add_argument("claim", metavar="CLAIM", help="the claim: FILE.json, FILE.jsonl, a tests file X.tests.json (its cases' claims, each as of its `as_of`) or -")
    explain.add_argument("--json", action="store_true", help="print the explanation as JSON data (with the `policy` object that decided)")
    explain.add_argument("--lang", choices=("en", "zh"), default="en", help="the language of labels and reasons (default en)")
    explain.add_argument("--as-of", metavar="DATE", type=date_argument, help="use the values in force on DATE instead of the claim's own date")
    explain.add_argument("--claim", metavar="ID", action="append", dest="claim_ids",
                         help="explain only the claim with this claim_id (repeat for several); a file of many claims otherwise explains each")
    explain.set_defaults(run=run)


def run(args) -> int:
    try:
        policy = load(args.policy)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return exits.of_policy_error(error)
    status = exits.OK
    streams.stdout_for(args.claim)
    wanted = set(args.claim_ids or ())
    found: set[str] = set()
    shown = 0
    for line, claim, as_of in read_dated_claims(args.claim):
        claim_id = claim_id_of(claim)
        if wanted:
            if claim_id is None or str(claim_id) not in wanted:
                continue
            found.add(str(claim_id))
        if shown:
            print(SEPARATOR)
        shown += 1
        if not _explain(policy, claim, claim_id or f"line {line}", args.as_of or as_of, args):
            status = exits.FINDINGS
    streams.write(sys.stdout, None)
    missing = sorted(wanted - found)
    if missing:
        listed = ", ".join(missing)
        print(f"policydsl: error: no claim with claim_id {listed} in {args.claim}", file=sys.stderr)
        return exits.USAGE
    return status


def _explain(policy, claim, label, as_of, args) -> bool:
    """Print the claim's explanation, or why it has none (then False)."""
    if isinstance(claim, Exception):
        print(f"claim {label}: {claim}")
        return False
    if not isinstance(claim, dict):
        print(f"claim {label}: {not_an_object(claim).render()}")
        return False
    try:
        decision = policy.evaluate(claim, as_of=as_of)
    except FactsError as error:
        print(f"claim {label}: invalid facts:")
        for problem in error.errors:
            print(f"  {problem.render()}")
        return False
    except PolicydslError as error:
        print(f"claim {label}: {error}")
        return False
    if args.json:
        print(json.dumps({"claim_id": decision.claim_id, **decision.explanation(args.lang).to_dict()}, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(decision.explain(args.lang))
    return True
