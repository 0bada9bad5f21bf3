"""`policydsl check FILE...`: every error and warning of each policy, as file:line:col
(or, with `--json`, one JSON line per file with its diagnostics as data: diagnostics/render.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from policydsl.api import analyze
from policydsl.cli import exits
from policydsl.diagnostics.model import render_all
from policydsl.diagnostics.render import to_json
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
    check.add_argument(
        "--json", action="store_true",
        help='one JSON line per file on stdout: {"file", "ok", "diagnostics": [{"code", "severity", "message", "line", "column", ...}]}',
    )
    check.set_defaults(run=run)


def run(args) -> int:
    status = exits.OK
    for name in args.files:
        try:
            text = read_policy_text(name)
        except (OSError, UnicodeDecodeError) as error:
            problem = unreadable(name, error)
            status = max(status, exits.USAGE)  # a file that cannot be read is a usage problem, as for every command
            if args.json:
                print(json.dumps({"file": name, "ok": False, "diagnostics": [to_json(problem)]}, ensure_ascii=False))
            else:
                print(file_problem_text(problem), file=sys.stderr)
            continue
        _, diagnostics = analyze(SourceFile(name, text), find_root(Path(name)))
        errors = [d for d in diagnostics if d.is_error]
        if errors:
            status = max(status, exits.FINDINGS)
        if args.json:
            print(json.dumps({"file": name, "ok": not errors, "diagnostics": [to_json(d) for d in diagnostics]}, ensure_ascii=False))
            continue
        if diagnostics:
            print(render_all(diagnostics))
        if not errors:
            print(f"{name}: ok")
    return status
