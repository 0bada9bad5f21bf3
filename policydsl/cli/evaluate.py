"""`policydsl eval [POLICY] CLAIMS`: one JSON record per claim on stdout, in order.

The policy is the file given, or with `--region` the region's version chosen from the
policies folder (link/registry.py), by `--date` or by each claim's own date; stderr says
which file each version chosen is, and its id, version and digest. Each claim is decided by
tools/decide.py; its record's `policy` names the version that decided it. A claim that
cannot be decided gets an error record in its place and the run goes on (exit 1).
"""

from __future__ import annotations

import sys

from policydsl.api import load
from policydsl.cli import exits, regions, streams
from policydsl.cli.options import date_argument
from policydsl.diagnostics.model import PolicyError
from policydsl.link.regions import RegionError
from policydsl.tools.claims_io import UsageError, read_dated_claims
from policydsl.tools.decide import decide, json_line


def register(commands) -> None:
    evaluate = commands.add_parser(
        "eval",
        usage="policydsl eval [-h] [--as-of DATE] POLICY CLAIMS\n       policydsl eval [-h] --region CODE [--date DATE] [--as-of DATE] [--policies DIR] CLAIMS",
        help="evaluate claims and print one JSON decision per claim",
        description="Evaluate claims with a policy. CLAIMS is a .json file (one claim, or an array), "
        "a .jsonl file (one claim per line) or - for JSON lines on stdin. Writes one JSON object per claim "
        "to stdout: claim_id, the outputs (money as strings with two decimals, dates ISO), the accumulators before "
        "and after the claim (for a policy that carries any) and the policy that decided it (id, version, period, "
        "digest). A claim that "
        f"cannot be decided gives an error object in its place, and the run goes on; the exit code is then {exits.FINDINGS}.",
    )
    evaluate.add_argument("paths", nargs="+", metavar="[POLICY] CLAIMS", help="the policy file (unless --region) and the claims: FILE.json, FILE.jsonl, a tests file X.tests.json (its cases' claims, each as of its `as_of`) or -")
    regions.add_options(evaluate, "with --region: the day whose policy (and values) apply to every claim (default: each claim's own date chooses)")
    evaluate.add_argument("--as-of", metavar="DATE", type=date_argument, help="use the values in force on DATE instead of each claim's own date")
    evaluate.set_defaults(run=run)


def run(args) -> int:
    try:
        policy = _policy(args)
        return _evaluate_all(policy, args.paths[-1], args.as_of or args.date)
    except PolicyError as error:  # the policy (or the one a claim's date chose) does not load
        print(str(error), file=sys.stderr)
        return exits.of_policy_error(error)


def _policy(args):
    """The policy given, or the region's: one version (`--date`), or a `RegionPolicy`
    that chooses by each claim's date."""
    if args.region is None:
        if len(args.paths) != 2:
            raise UsageError("eval needs POLICY and CLAIMS (or --region CODE and CLAIMS)")
        return load(args.paths[0])
    if len(args.paths) != 1:
        raise UsageError("with --region, give only CLAIMS (the policy is chosen from --policies)")
    registry = regions.open_registry(args)
    try:
        if args.date is not None:
            return registry.policy_for(args.region, args.date)
        return registry.for_region(args.region)
    except RegionError as error:  # a region (or day) the command line names that no policy has: usage
        raise UsageError(str(error)) from None


def _evaluate_all(policy, claims: str, as_of) -> int:
    out = streams.stdout_for(claims)
    failed = 0
    for line, claim, own_as_of in read_dated_claims(claims):
        record, outputs = decide(policy, claim, line, as_of or own_as_of)
        if outputs is None:
            failed += 1
        streams.write(out, json_line(record))
    streams.write(out, None)
    if failed:
        print(f"policydsl: {failed} claim{'s' if failed != 1 else ''} could not be decided", file=sys.stderr)
    return exits.FINDINGS if failed else exits.OK
