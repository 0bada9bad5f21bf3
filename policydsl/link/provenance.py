"""Which policy decided a claim: its id, version, period and a digest of its text.

Takes the linked policy (`inherit.Linked`, whose `sources` are the files along `extends`,
the policy itself first) and the policy's id; gives a `Provenance`, which every decision
record carries as its `policy` object.

The digest is `"sha256:"` and the hex SHA-256 of, for each file along the `extends` chain
from the policy itself to the root (national) policy, in that order:

    the file's policy id, a NUL byte, the length of its text in UTF-8 bytes (decimal
    digits), a NUL byte, and the text in UTF-8

where a file's text is as policydsl reads it (UTF-8, line breaks as `\\n`) and its id is its
path inside the policies folder without `.policy` (`national/baseline-2025`). The lengths
make the encoding unambiguous; the ids make a renamed or re-parented policy a different
one. Nothing about the machine enters the digest, so it is the same everywhere, and a
change to any byte of any file along the chain changes it.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import attrs


@attrs.frozen
class Provenance:
    """`id` (path under the policies folder, no extension), `version` (the header's, or
    None), the period in force (`effective_from`, `effective_until`, None when open) and
    `digest`. `chain`: the ids along `extends`, the policy first."""

    id: str
    version: str | None
    effective_from: datetime.date | None
    effective_until: datetime.date | None
    digest: str
    chain: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "version": self.version,
            "effective": {
                "from": self.effective_from.isoformat() if self.effective_from else None,
                "until": self.effective_until.isoformat() if self.effective_until else None,
            },
            "digest": self.digest,
        }

    def describe(self) -> str:
        """One line for people: `example/resident-2025 2025.1 (sha256:1f2e...)`."""
        version = f" {self.version}" if self.version else ""
        return f"{self.id}{version} ({self.digest[:19]}...)"


def digest(files: list[tuple[str, str]]) -> str:
    """The digest of (policy id, text) pairs, the policy first (see the module's docstring)."""
    hasher = hashlib.sha256()
    for policy_id, text in files:
        data = text.encode("utf-8", "surrogatepass")
        hasher.update(policy_id.encode("utf-8", "surrogatepass") + b"\0" + str(len(data)).encode("ascii") + b"\0")
        hasher.update(data)
    return "sha256:" + hasher.hexdigest()


def policy_id(name: str, root: Path | None) -> str:
    """A policy file's id: its path inside `root` (the policies folder) without `.policy`,
    with `/` between folders; a name outside `root` (or text without a file) is its own id,
    without the extension."""
    path = Path(name)
    if root is not None:
        try:
            relative = path.resolve().relative_to(Path(root).resolve())
            return relative.with_suffix("").as_posix() if relative.suffix == ".policy" else relative.as_posix()
        except (ValueError, OSError):
            pass
    return path.with_suffix("").as_posix() if path.suffix == ".policy" else name


def provenance_of(linked, own_id: str) -> Provenance:
    """The provenance of a linked policy whose own file has id `own_id`."""
    files = [(own_id if name is None else name, source.text) for name, source in linked.sources]
    header = linked.policy.header
    effective = header.effective
    return Provenance(
        own_id,
        header.version,
        effective.start if effective is not None else None,
        effective.end if effective is not None else None,
        digest(files),
        tuple(policy_id for policy_id, _ in files),
    )


__all__ = ["Provenance", "digest", "policy_id", "provenance_of"]
