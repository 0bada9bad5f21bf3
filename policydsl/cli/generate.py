"""`policydsl generate POLICY -n N -o FILE [--seed S]`: realistic claims for a policy, drawn
from its input schema (tools/generate.py), as JSON lines; the same seed gives the same claims."""

from __future__ import annotations

import argparse
import sys

from policydsl.api import load
from policydsl.cli import exits
from policydsl.diagnostics.model import PolicyError
from policydsl.tools.generate import generate, write_claims


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def register(commands) -> None:
    command = commands.add_parser(
        "generate",
        help="generate realistic claims for a policy, from its input schema",
        description="Generate N realistic claims that POLICY decides, from its input schema (every enum member, "
        "money as strings with two decimals, dates in the policy's effective period, persons that repeat), "
        "as one JSON object per line. The same --seed gives the same claims.",
    )
    command.add_argument("policy", metavar="POLICY", help="the policy file")
    command.add_argument("-n", type=_count, default=1000, metavar="N", help="how many claims (default 1000)")
    command.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write them: FILE.jsonl, or - for stdout")
    command.add_argument("--seed", type=_seed, default=1, metavar="S", help="the random seed (default 1)")
    command.set_defaults(run=run)


def run(args) -> int:
    try:
        policy = load(args.policy)
    except PolicyError as error:
        print(str(error), file=sys.stderr)
        return exits.of_policy_error(error)
    count = write_claims(generate(policy, args.n, seed=args.seed), args.output)
    if args.output != "-":
        print(f"policydsl: wrote {count} claims to {args.output}", file=sys.stderr)
    return exits.OK
