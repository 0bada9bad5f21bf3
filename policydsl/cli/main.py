"""The `policydsl` command: arguments in, a command run, an exit code out.

Only the cli package parses arguments, prints or exits; each command is one module here
(`register(commands)` adds its subparser and sets `run`, a function(args) -> exit code), and
drives library functions that print nothing. This module wires the commands together and
turns what a run raises into a message on stderr and an exit code (cli/exits.py). Messages
go to stderr only, never to stdout, which carries the records (cli/streams.py).
"""

from __future__ import annotations

import argparse
import os
import sys

from policydsl.cli import batch, check, diff, evaluate, exits, explain, fmt, generate, lsp, serve, show, streams, test, verify
from policydsl.diagnostics.model import PolicydslError
from policydsl.tools.claims_io import OutputError, UsageError

# In the order `policydsl --help` lists them.
COMMANDS = (check, evaluate, explain, show, batch, test, fmt, diff, serve, generate, lsp, verify)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with a one-line hint, never a traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(exits.USAGE)


def _version() -> str:
    """The installed package's version (pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("policydsl")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="policydsl",
        description="Check health-insurance policies written as text, and evaluate claims with them.",
        epilog=exits.HELP,
    )
    parser.add_argument("--version", action="version", version=f"policydsl {_version()}", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    streams.reserve_standard_descriptors()
    stderr = sys.stderr
    sys.stderr = streams.QuietStream(stderr)
    try:
        return _main(argv)
    finally:
        sys.stderr = stderr
        streams.settle(stderr)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return exits.USAGE
    try:
        return args.run(args)
    except UsageError as error:
        print(f"policydsl: error: {error}", file=sys.stderr)
        return exits.USAGE
    except OutputError as error:
        streams.settle(sys.stdout)  # what stdout still buffers must not fail again at exit
        print(f"policydsl: error: {error}", file=sys.stderr)
        return exits.OUTPUT
    except PolicydslError as error:
        print(f"policydsl: {error}", file=sys.stderr)
        return exits.FINDINGS
    except KeyboardInterrupt:
        return exits.INTERRUPTED
    except BrokenPipeError:
        # Standard output went to a pipe whose reader stopped: the output is incomplete.
        # Exit as a program killed by SIGPIPE would, without a traceback.
        streams.settle(sys.stdout)
        return exits.BROKEN_PIPE
    except Exception as error:  # noqa: BLE001 - a bug must not show users a traceback
        if os.environ.get("POLICYDSL_DEBUG"):
            raise
        print(f"policydsl: internal error: {type(error).__name__}: {error} (set POLICYDSL_DEBUG=1 for details; please report it)", file=sys.stderr)
        return exits.INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
