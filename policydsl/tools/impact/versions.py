"""The two sides of a comparison: a policy file, or one at a git revision, and which policy
each side is (its provenance), with a warning when both state one version over two texts.

`load_version(path, rev, workdir)` loads the policy at `path`, or at git revision `rev`
(its whole policies folder taken at REV into `workdir`, so `extends` sees the old parents).
Nothing from the command line reaches git as an option: the revision is looked up after
`--end-of-options`, and only the commit id it resolves to is passed on to `git archive`.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from pathlib import Path

from policydsl.tools.claims_io import UsageError

GIT_TIMEOUT = 30


def load_version(path: str, rev: str | None, workdir: Path | None = None):
    """The policy at `path`, or at git revision `rev` (materialised in `workdir`)."""
    from policydsl.api import load

    if rev is None:
        return load(path)
    from policydsl.link.inherit import find_root

    file = Path(path).resolve()
    if not file.parent.is_dir():
        raise UsageError(f"{path}: no such folder {file.parent}")
    commit = _check_revision(rev)
    toplevel = _git(["rev-parse", "--show-toplevel"], file.parent, f"{path} is not in a git repository (--rev needs git)").decode().strip()
    root = find_root(file)
    rel_root = root.relative_to(Path(toplevel).resolve())
    resolved = _git(["rev-parse", "--verify", "--end-of-options", commit], Path(toplevel), None, rev=rev, what=str(rel_root)).decode().strip()
    if not _COMMIT_ID.fullmatch(resolved):
        raise UsageError(f"--rev {rev!r}: not a revision of this repository")
    archive = _git(["archive", "--format=tar", resolved, "--", rel_root.as_posix() or "."], Path(toplevel), None, rev=rev, what=str(rel_root))
    assert workdir is not None
    target = Path(workdir)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    old_root = target / rel_root
    old_file = old_root / file.relative_to(root)
    if not old_file.is_file():
        raise UsageError(f"{path} does not exist at revision {rev}")
    return load(old_file, root=old_root)


_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _check_revision(rev: str) -> str:
    """`rev` as git should look it up (`REV^{commit}`), or a UsageError: a revision may not start
    with `-` (git would take it as an option) or hold control characters."""
    if not rev or rev.startswith("-") or any(ord(c) < 32 or ord(c) == 127 for c in rev):
        raise UsageError(f"--rev {rev!r}: not a revision (a revision names a commit, e.g. main or HEAD~1, and does not start with '-')")
    return f"{rev}^{{commit}}"


def _git(arguments: list[str], cwd: Path, not_repo: str | None, rev: str | None = None, what: str = "") -> bytes:
    try:
        done = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise UsageError("--rev needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {arguments[0]} took more than {GIT_TIMEOUT}s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if not_repo is not None:
            raise UsageError(not_repo)
        detail = message[-1] if message else f"exit code {done.returncode}"
        raise UsageError(f"cannot read {what or 'the policies'} at revision {rev!r}: {detail}")
    return done.stdout


# ---- which policy each side is -------------------------------------------------------------


def describe(label: str, policy) -> dict:
    return {"path": label, "title": policy.title, "version": policy.version, "policy": policy.provenance.to_json()}


def short_digest(digest: str) -> str:
    return digest[:19] + "..."


def which(policy) -> str:
    """The policy's id and digest: `policy example/resident-2025 (sha256:1f2e3d4c5b6a...)`."""
    return f"policy {policy.provenance.id} ({short_digest(policy.provenance.digest)})"


def title(policy) -> str:
    return (policy.title or policy.name) + (f" (version {policy.version})" if policy.version else "")


def version_warnings(old_policy, new_policy) -> list[str]:
    """A warning when both policies state the same version but their digests differ: the
    texts along their `extends` chains differ (or, the texts being the same, their ids)."""
    old, new = old_policy.provenance, new_policy.provenance
    if old.version is None or old.version != new.version or old.digest == new.digest:
        return []
    digests = f"{short_digest(old.digest)} vs {short_digest(new.digest)}"
    if _texts(old_policy) == _texts(new_policy):
        return [f"both policies say version {old.version} and have the same text, but under other names ({' -> '.join(old.chain)} vs {' -> '.join(new.chain)}), so their digests differ ({digests})"]
    return [f"both policies say version {old.version} but their texts differ ({digests}): give the new text a new version"]


def _texts(policy) -> list[str]:
    return [source.text for _, source in policy.env.linked.sources]
