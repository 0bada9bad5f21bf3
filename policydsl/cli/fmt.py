"""`policydsl fmt FILE|FOLDER...`: rewrite policies in the canonical layout (tools/formatter.py),
or with `--check`/`--diff` only say which would change (and how)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from policydsl.cli import exits
from policydsl.link.files import file_problem_text, read_policy_text, unreadable
from policydsl.tools.claims_io import UsageError
from policydsl.tools.formatter import FormatError, format_text


def register(commands) -> None:
    fmt = commands.add_parser(
        "fmt",
        help="rewrite policy files in the canonical layout (comments kept)",
        description="Rewrite policy files in one canonical layout, keeping every comment. A FOLDER means "
        "every *.policy under it. The result is parsed again and must mean the same policy, or the file is "
        f"left alone. --check writes nothing and exits {exits.FINDINGS} when a file is not formatted; --diff prints the change.",
    )
    fmt.add_argument("files", nargs="+", metavar="FILE", help="policy files or folders")
    fmt.add_argument("--check", action="store_true", help=f"do not write; exit {exits.FINDINGS} if a file would change")
    fmt.add_argument("--diff", action="store_true", help="do not write; print a unified diff of the changes")
    fmt.set_defaults(run=run)


def run(args) -> int:
    status = exits.OK
    changed = 0
    files = policy_files(args.files)
    for path in files:
        text = _read(path)
        if text is None:
            status = exits.FINDINGS
            continue
        try:
            formatted = format_text(text, str(path))
        except FormatError as error:
            print(str(error), file=sys.stderr)
            status = exits.FINDINGS
            continue
        if formatted == text:
            continue
        changed += 1
        if args.check or args.diff:
            if args.diff:
                sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), formatted.splitlines(True), f"{path}", f"{path} (formatted)"))
            else:
                print(f"would reformat {path}")
            status = exits.FINDINGS
        else:
            path.write_text(formatted, encoding="utf-8")
            print(f"reformatted {path}")
    if not args.check and not args.diff:
        print(f"{changed} file{'s' if changed != 1 else ''} reformatted, {len(files) - changed} unchanged", file=sys.stderr)
    return status


def policy_files(names: list[str]) -> list[Path]:
    """The files named, and every *.policy under each folder named."""
    found: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found += sorted(path.rglob("*.policy"))
        elif path.is_file():
            found.append(path)
        elif path.exists():  # a FIFO or a device: never opened (it could block or never end)
            raise UsageError(f"{name}: not a policy file (a FIFO, a device or another special file)")
        else:
            raise UsageError(f"{name}: no such file or folder")
    return found


def _read(path: Path) -> str | None:
    """The policy's text, or None when it cannot be read (said on stderr)."""
    try:
        return read_policy_text(path)
    except (OSError, UnicodeDecodeError) as error:
        print(file_problem_text(unreadable(path, error)), file=sys.stderr)
    return None
