"""`policydsl show POLICY`: the effective policy after `extends`, opening with its provenance
(id, version, period, digest and the files along `extends`), each definition with its
origin (tools/show.py); `--diff-parent` only what it changes against its parent; `--ir` the
policy's intermediate representation (policydsl.ir.dump)."""

from __future__ import annotations

import sys

from policydsl.api import load
from policydsl.cli import exits
from policydsl.diagnostics.model import PolicyError
from policydsl.tools.claims_io import UsageError
from policydsl.tools.show import diff_parent_text, effective_text


def register(commands) -> None:
    show = commands.add_parser(
        "show",
        help="print the effective policy, with where each definition comes from",
        description="Print the policy in force after `extends`: first which policy it is (its id, version, "
        "period in force and the digest every decision record carries, with the files along `extends` it "
        "covers), then every definition, marked own, inherited or overridden, with the file and line it "
        "comes from. --diff-parent prints only what this policy changes against the policy it extends.",
    )
    show.add_argument("policy", metavar="POLICY", help="the policy file")
    show.add_argument("--diff-parent", action="store_true", help="show only what differs from the parent policy")
    show.add_argument("--ir", action="store_true", help="print the policy's intermediate representation (what the backends compile)")
    show.set_defaults(run=run)


def run(args) -> int:
    if args.ir and args.diff_parent:
        raise UsageError("choose one of --ir and --diff-parent")
    try:
        policy = load(args.policy)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return exits.of_policy_error(error)
    if args.ir:
        from policydsl.ir.dump import render  # the IR's own printer, imported only when asked for

        text = render(policy)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    elif args.diff_parent:
        sys.stdout.write(diff_parent_text(policy))
    else:
        sys.stdout.write(effective_text(policy))
    return exits.OK
