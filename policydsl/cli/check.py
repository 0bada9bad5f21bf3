"""`policydsl check FILE...`: every error and warning of each policy, as file:line:col."""

from __future__ import annotations

import sys
from pathlib import Path

from policydsl.api import analyze
from policydsl.cli import exits
from policydsl.diagnostics.model import render_all
from policydsl.link.files import file_problem_text, read_policy_text, unreadable
from policydsl.link.inherit import find_root
from policydsl.syntax.source import SourceFile


def register(commands) -> None:
    check = commands.add_parser(
        "check",
        help="check policy files and report every error",
        description="Parse and check policy files. Prints every error and warning as file:line:col "
        "with the source line; exits 0 when all files are clean, 1 otherwise.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="policy files to check")
    check.set_defaults(run=run)


def run(args) -> int:
    status = exits.OK
    for name in args.files:
        text = _read(name)
        if text is None:
            status = exits.FINDINGS
            continue
        _, diagnostics = analyze(SourceFile(name, text), find_root(Path(name)))
        errors = [d for d in diagnostics if d.is_error]
        if diagnostics:
            print(render_all(diagnostics))
        if errors:
            status = exits.FINDINGS
        else:
            print(f"{name}: ok")
    return status


def _read(name: str) -> str | None:
    """The policy's text, or None when it cannot be read (said on stderr)."""
    try:
        return read_policy_text(name)
    except (OSError, UnicodeDecodeError) as error:
        print(file_problem_text(unreadable(name, error)), file=sys.stderr)
    return None
