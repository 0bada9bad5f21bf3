"""`policydsl diff [OLD] NEW CLAIMS`: the impact of a policy change on claims (tools/impact/),
as text, Markdown or JSON on stdout, and with `--html FILE` one self-contained page; `--export
FILE` writes every changed claim. On stderr: a warning when both versions state the same
version but their digests differ (the report says it too), and how the claims were decided."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from policydsl.cli import exits
from policydsl.cli.options import date_argument
from policydsl.diagnostics.model import PolicyError
from policydsl.tools.claims_io import UsageError, same_file
from policydsl.tools.impact import TOP, impact
from policydsl.tools.impact.engine import ENGINES


def register(commands) -> None:
    diff = commands.add_parser(
        "diff",
        help="the impact of a policy change on claims: what changes, by how much, and why",
        description="Decide CLAIMS (.jsonl, .csv, .parquet, .json or a *.tests.json file) under OLD and NEW and report "
        "the claims whose payments changed and the money flows (what each layer pays and what the patient pays, as the "
        "policy's `flows` declares them) before and after, with the fund's cost of the change; informational outputs "
        "(the bill, deductibles, caps) apart and never summed; claims that newly enter or leave a flow, or reach a cap "
        "or threshold; --by breakdowns; the distribution of the per-claim change (min, quartiles by nearest rank, max, "
        "histogram); what changed in the policy text; and the claims that changed most with the explanation lines that "
        "differ. It names each side's policy (id, digest) and warns when both state the same version over different "
        "texts. With --rev REV, OLD is NEW.policy at git revision REV (with its whole policies folder at REV), and "
        "--rev A..B compares the file at A with the file at B.",
    )
    diff.add_argument("paths", nargs="+", metavar="[OLD] NEW CLAIMS", help="OLD.policy NEW.policy CLAIMS, or with --rev: NEW.policy CLAIMS")
    diff.add_argument("--rev", metavar="REV", help="compare NEW.policy at git revision REV (e.g. main, HEAD~1) with the working tree; REV..REV2 compares two revisions")
    diff.add_argument("--json", action="store_true", help="print the report as JSON")
    diff.add_argument("--markdown", action="store_true", help="print the report as Markdown (for a pull request)")
    diff.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML page (charts as inline SVG; it loads nothing)")
    diff.add_argument("--export", metavar="FILE", help="write every changed claim, each output before and after (.jsonl, .csv or .parquet)")
    diff.add_argument("--by", metavar="FIELD[,FIELD]", action="append", default=[],
                      help="break the figures down by an input field (a dotted path: person.category) or an output; "
                      "a,b groups by the pair; repeat --by for several breakdowns")
    diff.add_argument("--carry", action="store_true", help="decide each person's claims in date order with the accumulators carried from claim to claim, on both sides (caps and thresholds move as they would)")
    diff.add_argument("--top", type=int, default=TOP, metavar="N", help=f"how many of the most changed claims to show (default {TOP})")
    diff.add_argument("--layers", metavar="A,B,...", help="the money outputs paid by a fund (default: the policy's `flows`, or the money outputs but the bill, its parts and the patient's share)")
    diff.add_argument("--as-of", metavar="DATE", type=date_argument, help="use the values in force on DATE for every claim")
    diff.add_argument("--engine", choices=ENGINES, default="auto", help="how claims are decided: by whole columns where the policy compiles to them (auto, the default), or claim by claim (row)")
    diff.set_defaults(run=run)


def run(args) -> int:
    old, new, claims = _compared(args)
    if args.json and args.markdown:
        raise UsageError("choose one of --json and --markdown")
    if args.top < 0:
        raise UsageError("--top must be 0 or more")
    layers = [name.strip() for name in args.layers.split(",") if name.strip()] if args.layers is not None else None
    by = [[name.strip() for name in spec.split(",") if name.strip()] for spec in args.by]
    if any(not names for names in by):
        raise UsageError("--by needs a field name")
    if args.html is not None:
        _refuse_overwrite(args.html, "--html", claims, old, new)
    if args.export is not None:
        _refuse_overwrite(args.export, "--export", claims, old, new)
    try:
        result = impact(old, new, claims, args.rev, layers, args.top, args.as_of, by=by, carry=args.carry, export=args.export, engine=args.engine)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return exits.of_policy_error(error)
    for warning in result.warnings():
        print(f"policydsl: warning: {warning}", file=sys.stderr)
    if _is_terminal(sys.stderr):  # as batch's progress: not in a pipeline's logs
        run_ = result.run
        engines = sorted({engine for engine, _ in run_.engines.values()})
        print(
            f"policydsl diff: {run_.claims:,} claim{'s' if run_.claims != 1 else ''} decided under both versions in {run_.seconds:.1f} s "
            f"(engine: {', '.join(engines)}; {run_.by_columns:,} decisions by whole columns, {run_.by_rows:,} claim by claim)",
            file=sys.stderr,
        )
    if args.html is not None:
        _write(args.html, result.html())
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    elif args.markdown:
        sys.stdout.write(result.markdown())
    else:
        sys.stdout.write(result.text())
    return exits.OK


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _refuse_overwrite(target: str, option: str, *inputs: str) -> None:
    for source in inputs:
        if source != "-" and (Path(target).resolve() == Path(source).resolve() or same_file(target, source)):
            raise UsageError(f"{option} {target}: would overwrite {source}")


def _write(path: str, text: str) -> None:
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise UsageError(f"--html {path}: cannot write: {error.strerror or error}") from None


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
