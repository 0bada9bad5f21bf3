"""`--region CODE [--date DATE] [--policies DIR]`, shared by `eval` and `batch`: the options
in, the registry (link/registry.py) and the version chosen out; stderr says which file was
chosen, and warns of each file the index skipped. A region or day that no policy has, or a
missing policies folder, is a usage error (exit 2), said once, not once per claim."""

from __future__ import annotations

import sys

from policydsl.cli.options import date_argument
from policydsl.link import regions
from policydsl.link.registry import NoPoliciesFolder, Registry
from policydsl.link.regions import PolicyInfo, RegionError
from policydsl.tools.claims_io import UsageError


def add_options(command, date_help: str) -> None:
    command.add_argument("--region", metavar="CODE", help="choose the policy of this region (its header's `region`) from --policies")
    command.add_argument("--date", metavar="DATE", type=date_argument, help=date_help)
    command.add_argument("--policies", metavar="DIR", default="policies", help="the policies folder for --region (default: ./policies)")


def open_registry(args) -> Registry:
    """The registry of `--policies`; with `on_load`, stderr names each version as it is loaded."""
    try:
        registry = Registry(args.policies, on_load=lambda info: say_chosen(info, registry.loaded(info)))
    except NoPoliciesFolder as error:
        raise UsageError(str(error)) from None
    for message in registry.skipped:
        print(f"policydsl: warning: {message}", file=sys.stderr)
    return registry


def one_version(registry: Registry, args) -> PolicyInfo:
    """The one version of `--region` a whole file is decided with: the one in force on
    `--date`, or the region's only version; a region with several needs `--date`."""
    try:
        if args.date is not None:
            return registry.choose(args.region, args.date)
        versions = regions.of_region(registry.index, args.region)
    except RegionError as error:
        raise UsageError(str(error)) from None
    if len(versions) > 1:
        listed = "; ".join(info.describe() for info in sorted(versions, key=lambda info: str(info.path)))
        raise UsageError(f"region {args.region} has {len(versions)} policies ({listed}): give --date DATE to choose the one in force that day")
    return versions[0]


def say_chosen(info: PolicyInfo, policy=None) -> None:
    said = f" as {policy.provenance.describe()}" if policy is not None else ""
    print(f"policydsl: region {info.region}: using {info.describe()}{said}", file=sys.stderr)
