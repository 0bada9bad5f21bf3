"""Which policy is in force for a region on a date, from the files under a policies folder.

Each policy's header names its region and effective period; when several versions of
one region are in force on a day, the one that took effect last wins.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import attrs

from .inherit import policy_path
from .policy import parse_source
from .source import SourceFile


@attrs.frozen
class PolicyInfo:
    path: Path
    region: str
    region_name: str | None
    version: str | None
    title: str | None
    effective: object  # nodes.Validity | None
    as_of: str | None

    def describe(self) -> str:
        period = self.effective.describe() if self.effective is not None else "with no stated period"
        version = f"version {self.version}, " if self.version else ""
        return f"{self.path} ({version}in force {period})"


class RegionError(LookupError):
    pass


def index(root: Path) -> list[PolicyInfo]:
    """Every policy under `root` that names its region (files that do not parse are skipped)."""
    headers = {}
    for path in sorted(root.rglob("*.policy")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        policy_file, _ = parse_source(SourceFile(str(path), text))
        if policy_file is not None:
            headers[path.resolve()] = policy_file.header
    infos = []
    for path, header in headers.items():
        if header.region is None:
            continue
        as_of = _inherited_as_of(root, header, headers)
        infos.append(PolicyInfo(_shown(path), header.region, header.region_name, header.version, header.title, header.effective, as_of))
    return sorted(infos, key=lambda i: str(i.path))


def _inherited_as_of(root: Path, header, headers: dict) -> str | None:
    """The date field a policy picks its values by, following `extends` (at most 16 steps)."""
    for _ in range(16):
        if header.as_of is not None or header.extends is None:
            return header.as_of
        parent = policy_path(root, header.extends)
        header = headers.get(parent) if parent is not None else None
        if header is None:
            return None
    return None


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def select(infos: list[PolicyInfo], region: str, day: datetime.date) -> PolicyInfo:
    mine = [i for i in infos if i.region == region]
    if not mine:
        known = sorted({f"{i.region} ({i.region_name})" if i.region_name else i.region for i in infos})
        raise RegionError(f"no policy for region {region}; regions: {', '.join(known) or 'none'}")
    in_force = [i for i in mine if i.effective is None or i.effective.covers(day)]
    if not in_force:
        periods = "; ".join(i.describe() for i in mine)
        raise RegionError(f"no policy of region {region} is in force on {day.isoformat()}: {periods}")
    return max(in_force, key=lambda i: (i.effective.start or datetime.date.min) if i.effective is not None else datetime.date.min)
