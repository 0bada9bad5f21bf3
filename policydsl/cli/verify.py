"""`policydsl verify [POLICY]`: proofs of a policy's properties for every claim its input schema
admits (policydsl/verify/, with z3): each declared invariant, and on request `--nonnegative`,
`--monotone OUTPUT --in FIELD` and `--refines OLD NEW OUTPUT`. The report (text, or JSON
with --json) goes to stdout; `--counterexamples DIR` writes one JSON claim per failed property,
which `policydsl eval` then shows breaking it.

Exit codes: 0 every property proved, 1 a counterexample found (the engine confirmed it),
2 usage (bad arguments, a policy that does not load, a property naming what the policy does
not have), 3 unknown (none failed, some unknown: the time limit, or what the encoding cannot
say exactly).
"""

from __future__ import annotations

import json
import sys

from policydsl.api import load
from policydsl.cli import exits
from policydsl.diagnostics.model import PolicyError
from policydsl.tools.claims_io import UsageError

_ALL = "*every money output*"
_EXITS = {"proved": exits.OK, "failed": exits.FINDINGS, "unknown": exits.UNKNOWN}


def register(commands) -> None:
    verify = commands.add_parser(
        "verify",
        usage="policydsl verify [-h] [POLICY] [--nonnegative [OUTPUT]] [--monotone OUTPUT --in FIELD] [--refines OLD NEW OUTPUT]\n"
        "                        [--items N] [--timeout SECONDS] [--counterexamples DIR] [--json] [--no-invariants]",
        help="prove a policy's invariants and properties for every claim, or find a counterexample",
        description="Translate the checked policy into SMT (z3) and prove, for every claim its input schema admits (the facts "
        "reader's own constraints and the declared limits included), each declared invariant and the properties asked for; "
        "or find a counterexample claim, which the engine then decides to confirm it. Money, ratios, rounding, tiers, tables, "
        "dates and `unlimited` are encoded exactly; lists have at most --items elements, so over lists the result is a "
        "bounded check, not a proof (the report says so). A property the solver cannot settle in --timeout seconds, or "
        "one the encoding cannot state exactly, is 'unknown', never 'proved'. Exit codes: 0 all proved, 1 a counterexample "
        f"found, 2 usage, {exits.UNKNOWN} unknown (none failed).",
    )
    verify.add_argument("policy", nargs="?", metavar="POLICY", help="the policy whose invariants (and --nonnegative, --monotone properties) to prove")
    verify.add_argument(
        "--nonnegative", action="append", nargs="?", const=_ALL, default=[], metavar="OUTPUT",
        help="prove OUTPUT is never negative on a claim the engine decides (without OUTPUT: every money output); repeatable",
    )
    verify.add_argument(
        "--monotone", action="append", default=[], metavar="OUTPUT",
        help="prove more of the --in FIELD never lowers OUTPUT (two claims alike but for FIELD); pair each with one --in",
    )
    verify.add_argument(
        "--in", dest="fields", action="append", default=[], metavar="FIELD",
        help="the input field of a --monotone: a dotted path (ytd_basic_paid, person.gap_years); a field of list elements "
        "(items.amount) means one element's",
    )
    verify.add_argument(
        "--refines", action="append", nargs=3, default=[], metavar=("OLD", "NEW", "OUTPUT"),
        help="prove NEW's OUTPUT is at least OLD's on every claim both decide (for 'never more', give them the other way round); repeatable",
    )
    verify.add_argument("--no-invariants", action="store_true", help="do not prove POLICY's declared invariants (only the properties asked for)")
    verify.add_argument("--items", type=int, default=3, metavar="N", help="the most elements a list may have (default 3): over lists the result is a bounded check")
    verify.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS", help="the time limit of each property (default 20)")
    verify.add_argument("--counterexamples", metavar="DIR", help="write one JSON claim per failed property into DIR (created if missing), for `policydsl eval`")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(run=run)


def run(args) -> int:
    try:
        from policydsl.verify import Request, RequestError, verify, write_counterexamples
    except ImportError as error:  # z3 is the `verify` extra
        raise UsageError(f"policydsl verify needs the SMT solver z3 ({error}): pip install 'policydsl[verify]'") from None

    if args.policy is None and not args.refines:
        raise UsageError("verify needs POLICY, or --refines OLD NEW OUTPUT")
    if args.policy is None and (args.nonnegative or args.monotone):
        raise UsageError("--nonnegative and --monotone are properties of POLICY: give it")
    if len(args.monotone) != len(args.fields):
        raise UsageError("give each --monotone OUTPUT one --in FIELD (in the same order)")
    if not 1 <= args.items <= 50:
        raise UsageError("--items must be between 1 and 50")
    if not args.timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    loaded: dict = {}
    try:
        policy = _load(args.policy, loaded) if args.policy is not None else None
        refines = tuple((_load(old, loaded), _load(new, loaded), output) for old, new, output in args.refines)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        print("policydsl: error: verify needs a policy that loads and checks", file=sys.stderr)
        return exits.USAGE
    request = Request(
        policy=policy,
        invariants=not args.no_invariants,
        nonnegative=tuple(None if name == _ALL else name for name in args.nonnegative),
        monotone=tuple(zip(args.monotone, args.fields)),
        refines=refines,
        items=args.items,
        timeout=args.timeout,
    )
    try:
        report = verify(request)
    except RequestError as error:
        raise UsageError(str(error)) from None
    if not report.outcomes:
        raise UsageError(f"{args.policy} declares no invariant: nothing to prove (ask for --nonnegative, --monotone or --refines)")
    if args.counterexamples:
        try:
            report = write_counterexamples(report, args.counterexamples)
        except OSError as error:
            raise UsageError(f"cannot write counterexamples into {args.counterexamples}: {error.strerror or error}") from None
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.text())
    return _EXITS[report.status]


def _load(path: str, loaded: dict):
    if path not in loaded:
        loaded[path] = load(path)
    return loaded[path]
