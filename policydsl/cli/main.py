"""The `policydsl` command: check, eval, explain.

Only this module prints or exits. Exit codes: 0 ok; 1 findings (a policy has errors,
or a claim could not be decided, or a batch worker process was lost); 2 usage (bad
arguments, unreadable files, an output that cannot be created or is the input);
70 internal error (a bug in policydsl: please report it); 74 the output could not be
written (disk full, an I/O error, standard output closed): the message says what the
output holds; 141 standard output was a pipe that the reader closed (as a program
killed by SIGPIPE).

Messages go to stderr only, never to stdout, which carries the records: when stderr is
closed or a broken pipe, they are dropped, and the exit code stays what it would be.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import sys
from pathlib import Path

from policydsl.tools.claims_io import OutputError, UsageError, read_claims, same_file, write_problem
from policydsl.tools.claims_io import claim_id_of as _claim_id
from policydsl.link import regions
from policydsl.link.files import PolicyFileError, read_policy_text
from policydsl.diagnostics.model import EvaluationError, FactError, FactsError, PolicydslError, PolicyError, render_all
from policydsl.backends.facts import show
from policydsl.link.inherit import find_root
from policydsl.api import analyze, error_record, json_line, load
from policydsl.syntax.source import SourceFile

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL, EXIT_OUTPUT, EXIT_BROKEN_PIPE = 0, 1, 2, 70, 74, 141


# ---- commands ------------------------------------------------------------------------


def cmd_check(args) -> int:
    status = EXIT_OK
    for name in args.files:
        try:
            text = read_policy_text(name)
        except FileNotFoundError:
            print(f"{name}: error[L500]: no such policy file", file=sys.stderr)
            status = max(status, EXIT_FINDINGS)
            continue
        except PolicyFileError as error:
            print(f"{name}: error[{error.code}]: cannot read policy: it {error}", file=sys.stderr)
            status = max(status, EXIT_FINDINGS)
            continue
        except (OSError, UnicodeDecodeError) as error:
            print(f"{name}: error[L500]: cannot read policy: {error}", file=sys.stderr)
            status = max(status, EXIT_FINDINGS)
            continue
        _, diagnostics = analyze(SourceFile(name, text), find_root(Path(name)))
        errors = [d for d in diagnostics if d.is_error]
        if diagnostics:
            print(render_all(diagnostics))
        if errors:
            status = EXIT_FINDINGS
        else:
            print(f"{name}: ok")
    return status


def _load(policy_path: str):
    try:
        return load(policy_path)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return None


def _date_option(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


class _PolicyChooser:
    """The policy for each claim: one given file, or by region and date from a policies folder."""

    def __init__(self, args):
        self.fixed = None
        self.region = args.region
        self.date = args.date
        self.loaded: dict = {}
        if args.region is None:
            if len(args.paths) != 2:
                raise UsageError("eval needs POLICY and CLAIMS (or --region CODE and CLAIMS)")
            self.fixed = _load(args.paths[0])
            self.policy_label = args.paths[0]
        else:
            if len(args.paths) != 1:
                raise UsageError("with --region, give only CLAIMS (the policy is chosen from --policies)")
            root = Path(args.policies)
            if not root.is_dir():
                raise UsageError(f"{root}: no such policies folder")
            self.infos = regions.index(root)
            for message in getattr(self.infos, "skipped", ()):
                print(f"policydsl: warning: {message}", file=sys.stderr)
            if args.date is not None:
                self.fixed = self._policy_for(args.date)

    def _policy_for(self, day: datetime.date):
        info = regions.select(self.infos, self.region, day)
        if info.path not in self.loaded:
            self.loaded[info.path] = _load(str(info.path))
            print(f"policydsl: region {self.region}: using {info.describe()}", file=sys.stderr)
        return self.loaded[info.path]

    def policy_for(self, claim: dict):
        if self.fixed is not None or self.region is None:
            return self.fixed
        fields = {i.as_of for i in self.infos if i.region == self.region and i.as_of}
        field = next(iter(sorted(fields)), None)
        if field is None:
            raise EvaluationError(f"the policies of region {self.region} do not say which date field picks them; use --date")
        raw = claim.get(field)
        try:
            day = datetime.date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            day = None
        if field not in claim:
            raise FactsError([FactError(field, f"missing (required to choose the policy of region {self.region})", "F301")])
        if day is None:
            raise FactsError([FactError(field, f"needed to choose the policy of region {self.region}: expected a date (YYYY-MM-DD), got {show(raw)}", "F302")])
        try:
            return self._policy_for(day)
        except regions.RegionError as error:
            raise EvaluationError(str(error), code="R405") from None


def cmd_eval(args) -> int:
    try:
        chooser = _PolicyChooser(args)
    except regions.RegionError as error:
        print(f"policydsl: {error}", file=sys.stderr)
        return EXIT_FINDINGS
    if chooser.region is None and chooser.fixed is None:
        return EXIT_FINDINGS
    claims = args.paths[-1]
    as_of = args.as_of or args.date
    failed = 0
    out = _stdout_for(claims)
    for line, claim in read_claims(claims):
        claim_id = _claim_id(claim)
        if isinstance(claim, Exception):
            record = error_record(claim, None, line)
        elif not isinstance(claim, dict):
            record = error_record(FactsError([_not_an_object(claim)]), None, line)
        else:
            try:
                policy = chooser.policy_for(claim)
                if policy is None:
                    return EXIT_FINDINGS  # the policy did not load; its errors are printed
                record = policy.evaluate(claim, as_of=as_of).to_json()
                if claim_id is not None and "claim_id" not in record:
                    record = {"claim_id": claim_id, **record}
            except PolicydslError as error:
                record = error_record(error, claim_id, None if claim_id is not None else line)
        if "error" in record:
            failed += 1
        _write(out, json_line(record))
    _write(out, None)
    if failed:
        print(f"policydsl: {failed} claim{'s' if failed != 1 else ''} could not be decided", file=sys.stderr)
    return EXIT_FINDINGS if failed else EXIT_OK


def _stdout_for(claims: str):
    """Standard output, where records go; refused when it is closed or is the claims file
    (`eval P in.jsonl >> in.jsonl` would read its own output for ever)."""
    if sys.stdout is None:
        raise OutputError("standard output is closed: there is nowhere to write the records")
    if claims != "-" and same_file(claims, 1):
        raise UsageError(f"standard output is the claims file {claims}: writing there would overwrite the claims as they are read")
    return sys.stdout


def _write(out, text: str | None) -> None:
    """Write a record (None: flush at the end); a failed write stops the run with a message."""
    try:
        if text is None:
            out.flush()
        else:
            out.write(text)
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as error:
        raise OutputError(f"{write_problem(error, 'standard output')}; the run stopped (the last record may be cut short)") from None


def _not_an_object(claim):
    return FactError("", f"a claim must be a JSON object, got {show(claim)}", "F302")


def cmd_explain(args) -> int:
    policy = _load(args.policy)
    if policy is None:
        return EXIT_FINDINGS
    status = EXIT_OK
    first = True
    _stdout_for(args.claim)
    for line, claim in read_claims(args.claim):
        if not first:
            print("\n" + "=" * 72 + "\n")
        first = False
        label = _claim_id(claim) or f"line {line}"
        if isinstance(claim, Exception):
            print(f"claim {label}: {claim}")
            status = EXIT_FINDINGS
            continue
        if not isinstance(claim, dict):
            print(f"claim {label}: {_not_an_object(claim).render()}")
            status = EXIT_FINDINGS
            continue
        try:
            decision = policy.evaluate(claim, as_of=args.as_of)
        except FactsError as error:
            print(f"claim {label}: invalid facts:")
            for problem in error.errors:
                print(f"  {problem.render()}")
            status = EXIT_FINDINGS
            continue
        except PolicydslError as error:
            print(f"claim {label}: {error}")
            status = EXIT_FINDINGS
            continue
        if args.json:
            print(json.dumps({"claim_id": decision.claim_id, **decision.explanation(args.lang).to_dict()}, ensure_ascii=False, indent=2))
        else:
            sys.stdout.write(decision.explain(args.lang))
    _write(sys.stdout, None)
    return status


# ---- the parser --------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with a one-line hint, never a traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="policydsl",
        description="Check health-insurance policies written as text, and evaluate claims with them.",
        epilog="Exit codes: 0 ok, 1 findings (policy errors or undecided claims), 2 usage, 70 internal error.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser(
        "check",
        help="check policy files and report every error",
        description="Parse and check policy files. Prints every error and warning as file:line:col "
        "with the source line; exits 0 when all files are clean, 1 otherwise.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="policy files to check")
    check.set_defaults(run=cmd_check)

    evaluate = commands.add_parser(
        "eval",
        help="evaluate claims and print one JSON decision per claim",
        description="Evaluate claims with a policy. CLAIMS is a .json file (one claim, or an array), "
        "a .jsonl file (one claim per line) or - for JSON lines on stdin. Writes one JSON object per claim "
        "to stdout: claim_id and the outputs (money as strings with two decimals, dates ISO). A claim that "
        "cannot be decided gives an error object in its place, and the run goes on; the exit code is then 1.",
    )
    evaluate.add_argument("paths", nargs="+", metavar="[POLICY] CLAIMS", help="the policy file (unless --region) and the claims: FILE.json, FILE.jsonl or -")
    evaluate.add_argument("--region", metavar="CODE", help="choose the policy of this region (its header's `region`) from --policies, by --date or by each claim's date")
    evaluate.add_argument("--date", metavar="DATE", type=_date_option, help="with --region: the day whose policy (and values) apply to every claim")
    evaluate.add_argument("--as-of", metavar="DATE", type=_date_option, help="use the values in force on DATE instead of each claim's own date")
    evaluate.add_argument("--policies", metavar="DIR", default="policies", help="the policies folder for --region (default: ./policies)")
    evaluate.set_defaults(run=cmd_eval)

    explain = commands.add_parser(
        "explain",
        help="explain how a claim's decision was computed",
        description="Evaluate a claim and explain every output: how it was computed, with the numbers, "
        "the reasons and the clauses cited.",
    )
    explain.add_argument("policy", metavar="POLICY", help="the policy file")
    explain.add_argument("claim", metavar="CLAIM", help="the claim: FILE.json, FILE.jsonl or -")
    explain.add_argument("--json", action="store_true", help="print the explanation as JSON data")
    explain.add_argument("--lang", choices=("en", "zh"), default="en", help="the language of labels and reasons (default en)")
    explain.add_argument("--as-of", metavar="DATE", type=_date_option, help="use the values in force on DATE instead of the claim's own date")
    explain.set_defaults(run=cmd_explain)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


# Commands that live beside the stage they drive: each module has `register(commands)`,
# which adds its subparser and sets `run` to a function(args) -> exit code.
COMMAND_MODULES: tuple[str, ...] = ("policydsl.tools.show", "policydsl.tools.batch", "policydsl.tools.testing", "policydsl.tools.formatter", "policydsl.tools.impact")


def main(argv: list[str] | None = None) -> int:
    _reserve_standard_descriptors()
    stderr = sys.stderr
    sys.stderr = _QuietStream(stderr)
    try:
        return _main(argv)
    finally:
        sys.stderr = stderr
        _settle(stderr)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.run(args)
    except UsageError as error:
        print(f"policydsl: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OutputError as error:
        _settle(sys.stdout)  # what stdout still buffers must not fail again at exit
        print(f"policydsl: error: {error}", file=sys.stderr)
        return EXIT_OUTPUT
    except PolicydslError as error:
        print(f"policydsl: {error}", file=sys.stderr)
        return EXIT_FINDINGS
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Standard output went to a pipe whose reader stopped: the output is incomplete.
        # Exit as a program killed by SIGPIPE would (141), without a traceback.
        _settle(sys.stdout)
        return EXIT_BROKEN_PIPE
    except Exception as error:  # noqa: BLE001 - a bug must not show users a traceback
        if os.environ.get("POLICYDSL_DEBUG"):
            raise
        print(f"policydsl: internal error: {type(error).__name__}: {error} (set POLICYDSL_DEBUG=1 for details; please report it)", file=sys.stderr)
        return EXIT_INTERNAL


class _QuietStream:
    """stderr for messages: when it is closed (`2>&-`: sys.stderr is None) or fails (a
    broken pipe), messages are dropped. They never fall back to stdout, where print()
    would send them when given file=None, and a failing stderr never changes the exit code."""

    def __init__(self, stream):
        self.stream = stream
        self.broken = stream is None

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self.stream.write(text)
            except (OSError, ValueError):
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self.broken = True

    def isatty(self) -> bool:
        try:
            return not self.broken and bool(self.stream.isatty())
        except (AttributeError, OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.stream is None:
            raise OSError("stderr is closed")
        return self.stream.fileno()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def _reserve_standard_descriptors() -> None:
    """A closed descriptor 0, 1 or 2 is opened on /dev/null, so that no file this run
    opens (an output, a policy) lands on it and receives what is meant for stdout or stderr."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
                if opened != fd:
                    os.dup2(opened, fd)
                    os.close(opened)
            except OSError:
                pass


def _settle(stream) -> None:
    """When a standard stream cannot take what it still buffers (a broken pipe, a full
    disk), point its descriptor at /dev/null: Python's own flush at exit then succeeds
    instead of turning the exit code into 120."""
    if stream is None:
        return
    try:
        stream.flush()
        return
    except (OSError, ValueError):
        pass
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
