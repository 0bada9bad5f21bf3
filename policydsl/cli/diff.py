"""`policydsl diff [OLD] NEW CLAIMS`: the impact of a policy change on claims (tools/impact.py),
as text, Markdown or JSON on stdout; on stderr a warning when both versions state the same
version but their digests differ (the report says it too)."""

from __future__ import annotations

import json
import sys

from policydsl.cli import exits
from policydsl.cli.options import date_argument
from policydsl.diagnostics.model import PolicyError
from policydsl.tools.claims_io import UsageError
from policydsl.tools.impact import TOP, impact


def register(commands) -> None:
    diff = commands.add_parser(
        "diff",
        help="the impact of a policy change on claims: what changes, by how much, and why",
        description="Evaluate CLAIMS (.jsonl, .json or a *.tests.json file) under OLD and NEW and report how many "
        "claims changed per output, the totals paid per layer before and after (the fund's cost of the change), "
        "the distribution of the per-claim change (min, quartiles by nearest rank, max, histogram) and the claims "
        "that changed most with the explanation lines that differ; it names each side's policy (id, digest) and warns "
        "when both state the same version over different texts. With --rev REV, OLD is NEW.policy at git "
        "revision REV (with its whole policies folder at REV), and --rev A..B compares the file at A with the file at B.",
    )
    diff.add_argument("paths", nargs="+", metavar="[OLD] NEW CLAIMS", help="OLD.policy NEW.policy CLAIMS, or with --rev: NEW.policy CLAIMS")
    diff.add_argument("--rev", metavar="REV", help="compare NEW.policy at git revision REV (e.g. main, HEAD~1) with the working tree; REV..REV2 compares two revisions")
    diff.add_argument("--json", action="store_true", help="print the report as JSON")
    diff.add_argument("--markdown", action="store_true", help="print the report as Markdown (for a pull request)")
    diff.add_argument("--top", type=int, default=TOP, metavar="N", help=f"how many of the most changed claims to show (default {TOP})")
    diff.add_argument("--layers", metavar="A,B,...", help="the money outputs paid by a fund (default: every money output but the bill, its parts and the patient's share)")
    diff.add_argument("--as-of", metavar="DATE", type=date_argument, help="use the values in force on DATE for every claim")
    diff.set_defaults(run=run)


def run(args) -> int:
    old, new, claims = _compared(args)
    if args.json and args.markdown:
        raise UsageError("choose one of --json and --markdown")
    layers = [name.strip() for name in args.layers.split(",") if name.strip()] if args.layers is not None else None
    try:
        result = impact(old, new, claims, args.rev, layers, args.top, args.as_of)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return exits.of_policy_error(error)
    for warning in result.warnings():
        print(f"policydsl: warning: {warning}", file=sys.stderr)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    elif args.markdown:
        sys.stdout.write(result.markdown())
    else:
        sys.stdout.write(result.text())
    return exits.OK


def _compared(args) -> tuple[str, str, str]:
    """(old policy, new policy, claims) from the paths given (with --rev, old is new at REV)."""
    if args.rev is not None:
        if len(args.paths) != 2:
            raise UsageError("with --rev, give NEW.policy and CLAIMS (the old version is NEW.policy at the revision)")
        return args.paths[0], args.paths[0], args.paths[1]
    if len(args.paths) != 3:
        raise UsageError("give OLD.policy NEW.policy CLAIMS (or --rev REV NEW.policy CLAIMS)")
    old, new, claims = args.paths
    return old, new, claims
