"""The result of `policydsl verify` as data (`Report`, `Outcome`), as text and as JSON, and
the counterexample files (`write_counterexamples`: one JSON claim per failed property).

Statuses: "proved" (the solver's unsat, on an exact encoding, in every segment in force;
over lists a bounded check, `bounded`), "failed" (a counterexample claim the engine
confirmed), "unknown" (the time limit, a solver that gave up, an encoding that is not exact,
a policy that decides no claim: `reason` says which).
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from policydsl.verify import claims as claim_io


def slug(text: str) -> str:
    """A property's name as a file name: `nonnegative patient_pays` -> `nonnegative-patient_pays`."""
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in text)
    while "--" in keep:
        keep = keep.replace("--", "-")
    return keep.strip("-")[:120]


@attrs.frozen
class SegmentOutcome:
    period: str
    status: str
    seconds: float
    reason: str | None = None


@attrs.frozen
class Outcome:
    """One property: `name` (`invariant layers_add_up`, `nonnegative basic`, ...), its
    status, the time it took, each segment's outcome, why it is not proved (`reason`), the
    counterexample (a claim, or for `monotone` the two claims) and what the engine said of it."""

    name: str
    kind: str
    status: str
    seconds: float
    segments: tuple
    reason: str | None
    counterexample: object
    engine: str | None
    bounded: bool
    file: str | None = None  # where the counterexample was written
    stem: str | None = None  # the counterexample file's name (without .json), else from `name`

    @property
    def slug(self) -> str:
        return self.stem or slug(self.name)

    def to_json(self) -> dict:
        found = {"property": self.name, "kind": self.kind, "status": self.status, "seconds": round(self.seconds, 3)}
        if self.status == "proved" and self.bounded:
            found["bounded"] = True
        if self.reason:
            found["reason"] = self.reason
        if self.counterexample is not None:
            found["counterexample"] = _jsonable(self.counterexample)
            found["engine"] = self.engine
        if self.file:
            found["file"] = self.file
        found["segments"] = [
            {"period": s.period, "status": s.status, "seconds": round(s.seconds, 3), **({"reason": s.reason} if s.reason else {})}
            for s in self.segments
        ]
        return found


def _jsonable(claim):
    import json

    return json.loads(claim_io.dumps(claim, None))


@attrs.frozen
class Report:
    policies: tuple
    assumptions: tuple
    outcomes: tuple
    items: int

    @property
    def status(self) -> str:
        """"failed" if any property failed, else "unknown" if any is unknown, else "proved"."""
        statuses = {o.status for o in self.outcomes}
        return "failed" if "failed" in statuses else "unknown" if "unknown" in statuses else "proved"

    def with_files(self, files: dict) -> "Report":
        return attrs.evolve(self, outcomes=tuple(attrs.evolve(o, file=files.get(o.name, o.file)) for o in self.outcomes))

    def to_json(self) -> dict:
        counts = {status: sum(1 for o in self.outcomes if o.status == status) for status in ("proved", "failed", "unknown")}
        return {
            "policies": list(self.policies),
            "status": self.status,
            "counts": counts,
            "items": self.items,
            "assumptions": list(self.assumptions),
            "properties": [o.to_json() for o in self.outcomes],
        }

    def text(self) -> str:
        lines = [f"verify {' '.join(self.policies)}", "assumed:"]
        lines += [f"  - {a}" for a in self.assumptions]
        lines.append("properties:")
        width = max((len(o.name) for o in self.outcomes), default=0)
        for o in self.outcomes:
            shown = {"proved": "proved", "failed": "FAILED", "unknown": "unknown"}[o.status]
            if o.status == "proved" and o.bounded:
                shown = "proved*"
            lines.append(f"  {shown:<8} {o.name:<{width}}  {o.seconds:.2f} s")
            if o.status == "unknown" and o.reason:
                lines.append(f"           {o.reason}")
            segments = [s for s in o.segments if s.status != o.status or (o.status == "unknown" and len(o.segments) > 1)]
            for s in segments if len(o.segments) > 1 else ():
                lines.append(f"           segment {s.period}: {s.status}" + (f" ({s.reason})" if s.reason else ""))
            if o.status == "failed":
                if o.file:
                    lines.append(f"           counterexample: {o.file}")
                else:
                    lines.append(f"           counterexample: {claim_io.dumps(o.counterexample, None)}")
                lines.append(f"           engine: {o.engine}")
        counts = {status: sum(1 for o in self.outcomes if o.status == status) for status in ("proved", "failed", "unknown")}
        summary = f"{counts['proved']} proved, {counts['failed']} failed, {counts['unknown']} unknown"
        if any(o.status == "proved" and o.bounded for o in self.outcomes):
            summary += f" (* over lists of at most {self.items} elements: a bounded check, not a proof)"
        lines.append(summary)
        return "\n".join(lines)


def write_counterexamples(report: Report, folder: str | os.PathLike) -> Report:
    """Write one JSON file per failed property into `folder` (created if missing), named
    after the property (`invariant-no_negative_layer.json`); for `monotone` the file holds
    the two claims, less and more. The report, with each outcome's file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for outcome in report.outcomes:
        if outcome.status != "failed" or outcome.counterexample is None:
            continue
        path = folder / f"{outcome.slug}.json"
        path.write_text(claim_io.dumps(outcome.counterexample) + "\n", encoding="utf-8")
        files[outcome.name] = str(path)
    return report.with_files(files)


__all__ = ["Outcome", "Report", "SegmentOutcome", "write_counterexamples"]
