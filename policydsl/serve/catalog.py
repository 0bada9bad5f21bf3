"""The policies a server answers with: a policies folder in, an immutable `Snapshot` out,
swapped for a new one when a file changes.

    catalog = Catalog("policies")          # loads and compiles every policy (off any request)
    snapshot = catalog.snapshot            # one attribute read: no lock on the request path
    entry = snapshot.by_id["example/resident-2025"]
    catalog.start(interval=0.5)            # polls the folder's files in a background thread

A reload reloads each file whose (mtime, size, inode) changed, and each policy whose
`extends` chain names one; a file that no longer loads keeps its last good version serving
and its diagnostics are kept in `Snapshot.errors` (shown by /v1/policies). A file removed is
dropped. Choosing by region uses the header of each version serving (link/regions.select):
the version in force on the day, the one that took effect last winning.
"""

from __future__ import annotations

import datetime
import os
import threading
from pathlib import Path

import attrs

from policydsl.api import Policy, load
from policydsl.diagnostics.model import EvaluationError, PolicyError
from policydsl.link import regions
from policydsl.link.regions import PolicyInfo, RegionError
from policydsl.link.registry import claim_day


@attrs.frozen
class Entry:
    """One policy serving: the policy, its region header (`info`, path = its id) and the
    file's stat it was loaded from."""

    policy: Policy
    info: PolicyInfo
    stat: tuple
    schema: dict | None = attrs.field(default=None, eq=False)


@attrs.frozen
class Snapshot:
    by_id: dict  # id -> Entry
    infos: tuple  # PolicyInfo of each policy that names a region
    date_fields: dict  # region -> the claim field whose date picks its version
    errors: dict  # file id -> list of diagnostics (JSON) of the last failed load
    time: str  # when this snapshot was made (UTC, ISO 8601)
    generation: int

    def policy_id_known(self) -> list[str]:
        return sorted(self.by_id)

    def regions_known(self) -> list[str]:
        return sorted({f"{i.region} ({i.region_name})" if i.region_name else i.region for i in self.infos})

    def for_region(self, region: str, claim, day: datetime.date | None) -> Entry:
        """The entry of `region` in force on `day`, or on the claim's date. `RegionError` for an
        unknown region; `FactsError` / `EvaluationError` (R405) as a registry raises them."""
        if not any(i.region == region for i in self.infos):
            raise RegionError(f"no policy for region {region}; regions: {', '.join(self.regions_known()) or 'none'}")
        if day is None:
            field = self.date_fields.get(region)
            if field is None:
                raise EvaluationError(f"the policies of region {region} do not say which date field picks them; give `date`", code="R405")
            day = claim_day(claim, field, region)
        try:
            info = regions.select(self.infos, region, day)
        except RegionError as error:
            raise EvaluationError(str(error), code="R405") from None
        return self.by_id[str(info.path)]


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


class Catalog:
    """The policies of a folder, as a `snapshot` replaced whole on each reload."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise RegionError(f"{root}: no such policies folder")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict = {}
        self.snapshot = self._build(None, self._scan())

    # -- scanning and loading (never on the request path) --

    def _scan(self) -> dict:
        """file id -> (mtime_ns, size, inode) of each regular `*.policy` file under the folder."""
        found = {}
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            dirs.sort()
            for name in files:
                if not name.endswith(".policy"):
                    continue
                path = Path(folder) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                if not path.is_file():
                    continue
                found[path.relative_to(self.root).with_suffix("").as_posix()] = (st.st_mtime_ns, st.st_size, st.st_ino)
        return found

    def _build(self, old: Snapshot | None, stats: dict) -> Snapshot:
        previous = old.by_id if old is not None else {}
        errors = dict(old.errors) if old is not None else {}
        seen = self._seen
        changed = {pid for pid, st in stats.items() if seen.get(pid) != st}
        changed |= {pid for pid in seen if pid not in stats}
        by_id = {}
        for pid, st in stats.items():
            entry = previous.get(pid)
            stale = entry is None or pid in changed or any(parent in changed for parent in entry.policy.provenance.chain)
            if not stale:
                by_id[pid] = entry
                continue
            try:
                policy = load(self.root / f"{pid}.policy", root=self.root)
            except PolicyError as error:
                errors[pid] = [d.to_json() for d in error.diagnostics]
                if entry is not None:
                    by_id[pid] = entry  # the last good version keeps serving
                continue
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the server
                errors[pid] = [{"code": "L500", "message": f"{type(error).__name__}: {error}"}]
                if entry is not None:
                    by_id[pid] = entry
                continue
            errors.pop(pid, None)
            by_id[pid] = Entry(policy, _info(pid, policy), st, None)
        for pid in list(errors):
            if pid not in stats:
                del errors[pid]
        infos = tuple(e.info for e in by_id.values() if e.info.region is not None)
        date_fields: dict = {}
        for info in infos:
            if info.as_of:
                date_fields[info.region] = min(info.as_of, date_fields.get(info.region, info.as_of))
        self._seen = stats
        generation = old.generation + 1 if old is not None else 1
        return Snapshot(by_id, infos, date_fields, errors, _now(), generation)

    def reload(self) -> bool:
        """Reload what changed; True when a new snapshot was swapped in."""
        stats = self._scan()
        if stats == self._seen:
            return False
        self.snapshot = self._build(self.snapshot, stats)  # one assignment: readers see the old or the new
        return True

    def start(self, interval: float = 0.5) -> None:
        if interval <= 0 or self._thread is not None:
            return

        def poll():
            while not self._stop.wait(interval):
                try:
                    self.reload()
                except Exception:  # noqa: BLE001 - keep polling whatever one scan met
                    pass

        self._thread = threading.Thread(target=poll, name="policydsl-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _info(pid: str, policy: Policy) -> PolicyInfo:
    header = policy.env.policy.header
    ir = policy.program.ir
    as_of = ir.inputs[ir.as_of_index][0] if ir.as_of_index is not None else None
    return PolicyInfo(Path(pid), header.region, header.region_name, header.version, header.title, header.effective, as_of)
