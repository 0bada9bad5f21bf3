"""Which policy is in force for a region on a date, from the files under a policies folder.

Each policy's header names its region and effective period; when several versions of
one region are in force on a day, the one that took effect last wins.

Only regular files inside the folder are read: the walk does not follow links to folders,
a `*.policy` link is read only when it leads to a regular file inside the folder (it is
then the same policy as that file), and every file is opened without blocking and checked
on the opened descriptor (link/files.read_policy_text). A FIFO, a device, a link out of
the folder, an unreadable or oversized file is skipped, and `index(...).skipped` says which
and why, so that the command can warn and go on.

This module finds and selects; link/registry.py loads the policy selected.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import attrs

from policydsl.link.inherit import policy_path
from policydsl.api import parse_source
from policydsl.diagnostics.model import PolicydslError
from policydsl.link.files import LINK_OUT_OF_FOLDER, PolicyFileError, read_policy_text
from policydsl.syntax.source import SourceFile


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


class RegionError(PolicydslError, LookupError):
    """No policy of a region is in force on a day (or there is no such region), U602."""

    code = "U602"


class RegionIndex(list):
    """The policies found (a list of PolicyInfo), and `skipped`: one message per file left out
    ("FILE: skipped[CODE]: REASON"), for the command to show as a warning."""

    def __init__(self, infos=(), skipped=()):
        super().__init__(infos)
        self.skipped: list[str] = list(skipped)


def index(root: Path) -> RegionIndex:
    """Every policy under `root` that names its region (files that do not parse are skipped
    silently: they are not policies of a region; files that cannot be read are in `.skipped`)."""
    headers = {}
    skipped: list[str] = []
    for path in _policy_files(Path(root), skipped):
        try:
            text = read_policy_text(path, follow_links=False)
        except (OSError, UnicodeDecodeError) as error:
            code = f"[{error.code}]" if isinstance(error, PolicyFileError) else "[L500]"
            skipped.append(f"{_shown(path)}: skipped{code}: {_reason(error)}")
            continue
        policy_file, _ = parse_source(SourceFile(str(path), text))
        if policy_file is not None:
            headers[path] = policy_file.header
    infos = []
    for path, header in headers.items():
        if header.region is None:
            continue
        as_of = _inherited_as_of(root, header, headers)
        infos.append(PolicyInfo(_shown(path), header.region, header.region_name, header.version, header.title, header.effective, as_of))
    return RegionIndex(sorted(infos, key=lambda i: str(i.path)), skipped)


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(error, PolicyFileError) or not getattr(error, "strerror", None):
        return str(error)
    return error.strerror.lower()


def _policy_files(root: Path, skipped: list[str]) -> list[Path]:
    """The resolved paths of the `*.policy` files under `root`: regular files inside it, and
    links to them; links out of the folder and links to folders are not followed."""
    top = root.resolve()
    found: set[Path] = set()
    for folder, dirs, files in os.walk(top, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".policy"):
                continue
            path = Path(folder) / name
            if not path.is_symlink():
                found.add(path)
                continue
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                skipped.append(f"{_shown(path)}: skipped[L500]: a broken or looping link")
                continue
            if not target.is_relative_to(top):
                skipped.append(f"{_shown(path)}: skipped[{LINK_OUT_OF_FOLDER}]: a link to {target}, outside {_shown(top)}")
                continue
            found.add(target)  # the same policy as the file it names (read once)
    return sorted(found)


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


def of_region(infos: list[PolicyInfo], region: str) -> list[PolicyInfo]:
    """The policies of `region`; `RegionError` naming the known regions when it has none."""
    mine = [i for i in infos if i.region == region]
    if not mine:
        known = sorted({f"{i.region} ({i.region_name})" if i.region_name else i.region for i in infos})
        raise RegionError(f"no policy for region {region}; regions: {', '.join(known) or 'none'}")
    return mine


def select(infos: list[PolicyInfo], region: str, day: datetime.date) -> PolicyInfo:
    mine = of_region(infos, region)
    in_force = [i for i in mine if i.effective is None or i.effective.covers(day)]
    if not in_force:
        periods = "; ".join(i.describe() for i in mine)
        raise RegionError(f"no policy of region {region} is in force on {day.isoformat()}: {periods}")
    return max(in_force, key=lambda i: (i.effective.start or datetime.date.min) if i.effective is not None else datetime.date.min)
