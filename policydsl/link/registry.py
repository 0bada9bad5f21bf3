"""Choosing a policy by region and date: a policies folder in, a loaded `Policy` out.

    registry = Registry("policies")
    policy = registry.policy_for("P1", datetime.date(2026, 2, 1))  # the version in force that day
    decision = registry.for_region("P1").evaluate(claim)            # by the claim's own date

The folder is indexed once (link/regions.py); each policy chosen is loaded once and kept.
Nothing is printed: files left out of the index are in `skipped`, and `on_load` is told of
each policy the first time it is loaded (`loaded(info)` then gives it, with its provenance).
Each policy is loaded with the folder as its root, so its id (link/provenance.py) is its
path inside the folder, whatever the folder is called; every decision carries the
provenance of the version that decided it. Errors are policydsl errors: `RegionError` (no
policies folder, no such region, no version in force on the day), `PolicyError` (the policy
chosen does not load). Choosing by a claim's date raises what makes an error record for
that claim: `FactsError` (its date field is missing or not a date) or `EvaluationError`
(R405: no version is in force on its date).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Callable

from policydsl.api import Decision, Policy, load
from policydsl.diagnostics.model import EvaluationError, FactError, FactsError
from policydsl.backends.facts import read_date, show
from policydsl.link import regions
from policydsl.link.regions import PolicyInfo, RegionError


class NoPoliciesFolder(RegionError):
    """The policies folder named does not exist (or is not a folder)."""


class Registry:
    """The policies of one folder, by region and date."""

    def __init__(self, root: str | Path, on_load: Callable[[PolicyInfo], None] | None = None):
        root = Path(root)
        if not root.is_dir():
            raise NoPoliciesFolder(f"{root}: no such policies folder")
        self.root = root
        self.index = regions.index(root)
        self.on_load = on_load
        self._loaded: dict[Path, Policy] = {}

    @property
    def skipped(self) -> list[str]:
        """One message per file left out of the index ("FILE: skipped[CODE]: REASON")."""
        return self.index.skipped

    def choose(self, region: str, day: datetime.date) -> PolicyInfo:
        """The version of `region` in force on `day` (the one that took effect last)."""
        return regions.select(self.index, region, day)

    def policy_for(self, region: str, day: datetime.date) -> Policy:
        """The policy of `region` in force on `day`, loaded (once)."""
        info = self.choose(region, day)
        policy = self._loaded.get(info.path)
        if policy is None:
            policy = self._loaded[info.path] = load(info.path, root=self.root)
            if self.on_load is not None:
                self.on_load(info)
        return policy

    def loaded(self, info: PolicyInfo) -> Policy | None:
        """The policy of `info`, if it has been loaded."""
        return self._loaded.get(info.path)

    def date_field(self, region: str) -> str | None:
        """The claim field whose date picks the region's version (its headers' `as_of`,
        inherited through `extends`); the first by name if versions name different ones."""
        fields = {info.as_of for info in self.index if info.region == region and info.as_of}
        return min(fields) if fields else None

    def policy_for_claim(self, region: str, claim: dict) -> Policy:
        """The policy of `region` in force on the claim's date (its `date_field`)."""
        field = self.date_field(region)
        if field is None:
            raise EvaluationError(f"the policies of region {region} do not say which date field picks them; use --date")
        day = claim_day(claim, field, region)
        try:
            return self.policy_for(region, day)
        except RegionError as error:
            raise EvaluationError(str(error), code="R405") from None

    def for_region(self, region: str) -> "RegionPolicy":
        """The region's policies as one, each claim decided by the version in force on its date;
        `RegionError` at once for a region no policy has (not once per claim)."""
        regions.of_region(self.index, region)
        return RegionPolicy(self, region)


class RegionPolicy:
    """A region's policies as one: each claim is evaluated with the version in force on its date."""

    def __init__(self, registry: Registry, region: str):
        self.registry = registry
        self.region = region

    def evaluate(self, facts: dict, as_of: datetime.date | None = None) -> Decision:
        """As `Policy.evaluate`, with the policy chosen by the claim's date (`as_of` then
        says only which values apply)."""
        return self.registry.policy_for_claim(self.region, facts).evaluate(facts, as_of=as_of)


def claim_day(claim, field: str, region: str) -> datetime.date:
    """The date in the claim's `field`, read as the facts reader reads dates; a `FactsError`
    when it is missing or not a date. Used wherever a region's version is chosen by a claim
    (here, and by the service's catalog)."""
    if not isinstance(claim, dict) or field not in claim:
        raise FactsError([FactError(field, f"missing (required to choose the policy of region {region})", "F301")])
    raw = claim[field]
    day = read_date(raw)
    if day is None:
        raise FactsError([FactError(field, f"needed to choose the policy of region {region}: expected a date (YYYY-MM-DD), got {show(raw)}", "F302")])
    return day


__all__ = ["NoPoliciesFolder", "RegionError", "RegionPolicy", "Registry", "claim_day"]
