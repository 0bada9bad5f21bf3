"""`policydsl lsp`: the language server (lsp/server.py) on stdin and stdout, as an editor
starts it (editors/vscode/ does). Needs the `lsp` extra (`pip install 'policydsl[lsp]'`);
without it the command is a usage error (U600)."""

from __future__ import annotations

from policydsl.tools.claims_io import UsageError

_MISSING = "the lsp command needs its extra dependencies: pip install 'policydsl[lsp]'"


def register(commands) -> None:
    lsp = commands.add_parser(
        "lsp",
        help="run the language server for editors (stdio)",
        description="Run the policydsl language server over stdin and stdout, as an editor starts it: diagnostics "
        "as you type (across `extends`), hover with the value in force, go to definition, references, symbols, "
        "completion, formatting, rename and quick fixes. Needs `pip install 'policydsl[lsp]'`.",
    )
    lsp.add_argument("--as-of", metavar="DATE", help="the day whose values hover shows (default: today; the editor's `policydsl.asOf` setting overrides it)")
    lsp.set_defaults(run=run)


def run(args) -> int:
    try:
        from policydsl.lsp import server
    except ImportError as error:  # pygls missing
        raise UsageError(f"{_MISSING} ({error})") from None
    if args.as_of:
        from policydsl.cli.options import date_argument

        server.server.as_of = date_argument(args.as_of)
    server.main()
    return 0
