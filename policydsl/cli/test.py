"""`policydsl test [PATH...]`: run the tests kept beside policies (X.tests.json next to
X.policy, tools/testing.py) and print a line per file, each failure, coverage, a summary."""

from __future__ import annotations

import sys
from pathlib import Path

from policydsl.cli import exits
from policydsl.tools.claims_io import UsageError
from policydsl.tools.testing import SUFFIX, discover, failure_report, run_files


def register(commands) -> None:
    test = commands.add_parser(
        "test",
        help="run the tests beside each policy (X.tests.json next to X.policy)",
        description="Run the tests kept beside policies: each X.tests.json holds example claims and the outputs "
        "they must give under X.policy. PATH is a folder (searched for *.tests.json), a tests file or a policy "
        "(default: ./policies). A failure shows the policy (file, id, version and digest), the claim, each "
        f"differing output (expected, got) and the explanation lines that computed it. Exits {exits.FINDINGS} when a test fails.",
    )
    test.add_argument("paths", nargs="*", metavar="PATH", help="folders, *.tests.json files or *.policy files (default: policies)")
    test.add_argument("--coverage", action="store_true", help="report the rules, branches, table rows and tier bands the tests exercised")
    test.add_argument("-k", metavar="TEXT", help="run only the tests whose name contains TEXT")
    test.add_argument("--lang", choices=("en", "zh"), default="en", help="the language of the explanation lines (default en)")
    test.set_defaults(run=run)


def run(args) -> int:
    paths = args.paths
    if not paths:
        if not Path("policies").is_dir():
            raise UsageError("give PATH (a folder, a *.tests.json file or a *.policy file); there is no ./policies folder")
        paths = ["policies"]
    files = discover(paths)
    if not files:
        raise UsageError(f"no *{SUFFIX} files under {', '.join(paths)}")
    passed = failed = broken = 0
    reports: list[str] = []
    coverage_reports: list[str] = []
    for test_file, path, results, error, cover in run_files(files, args.coverage, args.k):
        if error is not None:
            broken += 1
            print(f"ERROR {path}")
            reports.append(f"ERROR {path}\n  " + error.replace("\n", "\n  ") + "\n")
            continue
        bad = [r for r in results if not r.passed]
        passed += len(results) - len(bad)
        failed += len(bad)
        status = "FAIL" if bad else "ok  "
        print(f"{status} {path}: {len(results)} test{'s' if len(results) != 1 else ''}" + (f", {len(bad)} failed" if bad else ""))
        reports += [failure_report(r, args.lang) for r in bad]
        if cover is not None:
            coverage_reports.append(cover.report(str(test_file.policy_path)))
    for report in reports + coverage_reports:
        print()
        sys.stdout.write(report)
    summary = f"{passed} passed, {failed} failed"
    if broken:
        summary += f", {broken} file{'s' if broken != 1 else ''} with errors"
    print()
    print(summary)
    return exits.FINDINGS if failed or broken else exits.OK
