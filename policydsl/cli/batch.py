"""`policydsl batch POLICY INPUT -o OUTPUT [--carry]`: a whole file of claims, on several processes.

The run is tools/batch's (`run_batch`); this module gives it the options, shows its
progress (a bar on stderr, only when stderr is a terminal) and prints its summary (claims,
errors, totals of each money output, time) on stderr.
"""

from __future__ import annotations

import collections
import sys
import time

from policydsl.cli import exits, regions
from policydsl.cli.options import date_argument
from policydsl.diagnostics.model import PolicyError
from policydsl.tools.batch import DEFAULT_CHUNK, DEFAULT_RUN_SIZE, MAX_ATTEMPTS, BatchOptions, Summary, default_jobs, run_batch
from policydsl.tools.batch.runner import ENGINES
from policydsl.tools.claims_io import UsageError


def register(commands) -> None:
    batch = commands.add_parser(
        "batch",
        usage="policydsl batch [-h] [options] POLICY INPUT -o OUTPUT\n       policydsl batch [-h] [options] --region CODE [--date DATE] [--policies DIR] INPUT -o OUTPUT",
        help="evaluate a file of claims (JSONL, CSV, Parquet) on several processes",
        description="Evaluate every claim of INPUT with POLICY and write one record per claim to OUTPUT, in "
        "input order, streaming in chunks so that memory stays flat for any size. Formats go by extension: "
        ".jsonl/.ndjson (or -), .csv (one row per claim; nested record fields as dotted columns such as "
        "person.category; list fields such as items as a JSON column), .parquet. A claim that cannot be "
        f"decided gets an error record in its place (or in --errors FILE); the exit code is then {exits.FINDINGS}. "
        "A summary (claims, errors, totals of each money output, time) goes to stderr. "
        "With --carry, a policy's accumulators are carried from claim to claim of each person: claims are grouped "
        "by the accumulators' person field and decided in order of their `as of` date (claims of one day in input "
        "order); each person-year starts at the opening value, or at the value the first claim of that year gives "
        "for an accumulator (an opening balance; later claims' values are replaced by the carried ones). A claim "
        "that cannot be decided adds nothing: the person's next claim goes on from the last decided one. A claim "
        "without a person value cannot be carried (F301). The output is still in input order, and the same bytes "
        "for any --jobs; memory stays flat (the claims are sorted on disk, in the temporary folder: TMPDIR).",
    )
    batch.add_argument("paths", nargs="+", metavar="[POLICY] INPUT",
                       help="the policy file (unless --region) and the claims: FILE.jsonl, FILE.ndjson, FILE.csv, FILE.parquet or - (JSON lines)")
    regions.add_options(batch, "with --region: the day whose policy (and values) apply to every claim; needed when the region has several policies")
    batch.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="decisions: FILE.jsonl, FILE.csv, FILE.parquet or -")
    batch.add_argument("--errors", metavar="FILE", help="write error records to FILE instead of OUTPUT")
    batch.add_argument("-j", "--jobs", type=int, metavar="N", help=f"worker processes (default: the number of cores, {default_jobs()})")
    batch.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, metavar="N", help=f"claims per chunk of work (default {DEFAULT_CHUNK})")
    batch.add_argument("--carry", action="store_true", help="carry each person's accumulators from claim to claim (the claims of many persons, in any order)")
    batch.add_argument("--run-size", type=int, default=DEFAULT_RUN_SIZE, metavar="N",
                       help=f"with --carry: claims sorted in memory at a time before they go to a temporary file (default {DEFAULT_RUN_SIZE:,})")
    batch.add_argument("--as-of", type=date_argument, metavar="DATE", help="evaluate with the values in force on DATE (YYYY-MM-DD), not on each claim's date")
    batch.add_argument("--engine", choices=ENGINES, default="auto",
                       help="row: claim by claim; columnar: whole columns (Parquet in and out); auto (default): columnar where the policy "
                       "compiles to it, and stderr says which ran and why")
    batch.set_defaults(run=run)


def run(args) -> int:
    if args.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.run_size < 1:
        raise UsageError("--run-size must be at least 1")
    policy, root, as_of = _policy(args)
    options = BatchOptions(
        policy, args.paths[-1], args.output, args.errors, args.jobs, args.chunk_size, as_of, carry=args.carry, run_size=args.run_size,
        engine=args.engine, root=root,
    )
    try:
        summary = run_batch(options, progress=ProgressBar)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return exits.of_policy_error(error)
    print(summary_text(summary), file=sys.stderr)
    return exits.FINDINGS if summary.errors or summary.lost else exits.OK


def _policy(args) -> tuple[str, str | None, object]:
    """(policy file, policies folder or None, as-of date): the file given, or the one version
    of `--region` that decides the whole file (cli/regions.py), with `--date` as its as-of
    date unless `--as-of` says otherwise."""
    if args.region is None:
        if len(args.paths) != 2:
            raise UsageError("batch needs POLICY and INPUT (or --region CODE and INPUT)")
        if args.date is not None:
            raise UsageError("--date chooses a region's policy: use it with --region (--as-of sets the values' date)")
        return args.paths[0], None, args.as_of
    if len(args.paths) != 1:
        raise UsageError("with --region, give only INPUT (the policy is chosen from --policies)")
    registry = regions.open_registry(args)
    info = regions.one_version(registry, args)
    regions.say_chosen(info)
    return str(info.path), str(registry.root), args.as_of or args.date


def summary_text(summary: Summary) -> str:
    """What a run did, for stderr: counts and speed, lost workers, money totals."""
    seconds, jobs = summary.seconds, summary.jobs
    rate = summary.claims / seconds if seconds > 0 else 0.0
    lines = [
        f"policydsl batch: {summary.claims:,} claims in {seconds:.1f} s ({rate:,.0f} claims/s, {jobs} job{'s' if jobs != 1 else ''}): "
        f"{summary.decided:,} decided, {summary.errors:,} could not be decided"
    ]
    lines.append(f"engine: {summary.engine} ({summary.engine_note})")
    if summary.carried_per is not None:
        persons = summary.persons
        if "," in summary.carried_per:  # several key fields: claims sharing any key are carried together
            lines.append(f"accumulators carried per {summary.carried_per}: {persons:,} group{'s' if persons != 1 else ''} of claims sharing a key")
        else:
            lines.append(f"accumulators carried per {summary.carried_per}: {persons:,} person{'s' if persons != 1 else ''}")
    if summary.lost:
        kinds = ", ".join(f"{count} {how}" if count > 1 else how for how, count in collections.Counter(summary.lost).items())
        count = len(summary.lost)
        lines.append(
            f"{count} worker process{'es were' if count != 1 else ' was'} lost ({kinds}): each chunk it held was run again "
            f"in a new worker, and a chunk lost {MAX_ATTEMPTS} times was written as error records; the exit code is {exits.FINDINGS}"
        )
    if summary.money:
        width = max(len(name) for name, _ in summary.money)
        lines.append("totals of decided claims:")
        lines += [f"  {name.ljust(width)}  {format(total, ',.2f')}" for name, total in summary.money]
    return "\n".join(lines)


class ProgressBar:
    """A tqdm bar on stderr (claims, claims/s, ETA), only when stderr is a terminal. It runs
    on bytes read (or Parquet rows), which are known in advance, so the ETA is sound."""

    def __init__(self, total, unit: str):
        self.bar = None
        self.started = time.perf_counter()
        if not _is_terminal(sys.stderr):
            return
        from tqdm import tqdm

        class Bar(tqdm):
            monitor_interval = 0  # no monitor thread: worker processes may be forked later
            claims = "0 claims"

            @property
            def format_dict(self):
                return {**super().format_dict, "claims": self.claims}

        shape = "{desc}: {percentage:3.0f}%|{bar}| {claims} [{elapsed}<{remaining}]" if total else "{desc}: {claims} [{elapsed}]"
        self.bar = Bar(total=total, unit=unit, desc="policydsl batch", file=sys.stderr, bar_format=shape,
                       dynamic_ncols=True, leave=False, mininterval=0.2)

    def advance(self, units: int, claims: int) -> None:
        if self.bar is not None:
            rate = claims / max(time.perf_counter() - self.started, 1e-9)
            self.bar.claims = f"{claims:,} claims, {rate:,.0f} claims/s"
            self.bar.update(units)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
