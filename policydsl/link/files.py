"""Reading a policy file: a regular file only, of bounded size, and never a hang.

`Path.read_text` opens whatever the path names: a FIFO blocks until someone writes to it,
`/dev/zero` or a huge file is read into memory until it runs out. `read_policy_text` opens
the path without blocking (O_NONBLOCK), checks what it opened (fstat on the descriptor, so
nothing can be swapped in between), refuses anything but a regular file, and reads at most
what a policy may hold (limits.MAX_POLICY_CHARS characters of UTF-8). Text is decoded like
`read_text` (UTF-8, universal newlines), so a caller can use it in its place; its errors are
`OSError`s (a `PolicyFileError` says what was refused) and `UnicodeDecodeError`, which
`unreadable` turns into the one diagnostic every command and `policydsl.load` give.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from policydsl.diagnostics.model import Diagnostic
from policydsl.syntax.limits import MAX_POLICY_CHARS

MAX_POLICY_BYTES = 4 * MAX_POLICY_CHARS  # UTF-8 takes at most 4 bytes a character

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


NOT_A_POLICY_FILE = "L505"  # not a regular file (FIFO, device, folder, a refused link), or too big
LINK_OUT_OF_FOLDER = "L506"  # a `*.policy` link in a policies folder that leads out of it: skipped


class PolicyFileError(OSError):
    """A path that is not read as a policy (code L505): not a regular file, or too big."""

    code = NOT_A_POLICY_FILE

    def __init__(self, path, reason: str):
        super().__init__(reason)
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def kind_of(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def read_policy_text(path: str | Path, *, follow_links: bool = True) -> str:
    """The text of the policy file at `path`. `follow_links=False` refuses a symbolic link."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        handle = os.open(path, flags)
    except OSError as error:
        if not follow_links and os.path.islink(path):
            raise PolicyFileError(path, "is a symbolic link") from None
        raise error from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise PolicyFileError(path, f"is {kind_of(info.st_mode)}, not a regular file")
        if info.st_size > MAX_POLICY_BYTES:
            raise PolicyFileError(path, f"is larger than a policy may be ({info.st_size:,} bytes; at most {MAX_POLICY_BYTES:,})")
    except BaseException:
        os.close(handle)
        raise
    with os.fdopen(handle, "rb") as stream:
        data = stream.read(MAX_POLICY_BYTES + 1)  # the file may have grown since fstat
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyFileError(path, f"is larger than a policy may be (at most {MAX_POLICY_BYTES:,} bytes)")
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()


def unreadable(path, error: Exception) -> Diagnostic:
    """Why the policy file at `path` cannot be read, as one diagnostic (`path` is the file):
    `no such policy file` (L500), `cannot read policy: it is a FIFO ...` (a refusal, L505),
    or `cannot read policy: REASON` (L500)."""
    if isinstance(error, FileNotFoundError):
        code, reason = "L500", "no such policy file"
    elif isinstance(error, PolicyFileError):
        code, reason = error.code, f"cannot read policy: it {error}"
    else:
        code, reason = "L500", f"cannot read policy: {error}"
    return Diagnostic(code, reason, None, path=str(path))


def file_problem_text(diagnostic: Diagnostic) -> str:
    """`FILE: error[CODE]: reason`: how a command reports a file it cannot read."""
    return f"{diagnostic.path}: {diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"
