"""The standard streams of a run: stderr for messages, stdout for records.

Messages go to stderr only, never to stdout, which carries the records: when stderr is
closed or a broken pipe, they are dropped (`QuietStream`), and the exit code stays what it
would be. Records go to stdout, which is refused when it is closed or is the input
(`stdout_for`); a failed write stops the run with an `OutputError` (`write`).
"""

from __future__ import annotations

import os
import sys

from policydsl.tools.claims_io import OutputError, UsageError, same_file, write_problem


def stdout_for(claims: str):
    """Standard output, where records go; refused when it is closed or is the claims file
    (`eval P in.jsonl >> in.jsonl` would read its own output for ever)."""
    if sys.stdout is None:
        raise OutputError("standard output is closed: there is nowhere to write the records")
    if claims != "-" and same_file(claims, 1):
        raise UsageError(f"standard output is the claims file {claims}: writing there would overwrite the claims as they are read")
    return sys.stdout


def write(out, text: str | None) -> None:
    """Write a record (None: flush at the end); a failed write stops the run with a message."""
    try:
        if text is None:
            out.flush()
        else:
            out.write(text)
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as error:
        raise OutputError(f"{write_problem(error, 'standard output')}; the run stopped (the last record may be cut short)") from None


class QuietStream:
    """stderr for messages: when it is closed (`2>&-`: sys.stderr is None) or fails (a
    broken pipe), messages are dropped. They never fall back to stdout, where print()
    would send them when given file=None, and a failing stderr never changes the exit code."""

    def __init__(self, stream):
        self.stream = stream
        self.broken = stream is None

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self.stream.write(text)
            except (OSError, ValueError):
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self.broken = True

    def isatty(self) -> bool:
        try:
            return not self.broken and bool(self.stream.isatty())
        except (AttributeError, OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self.stream is None:
            raise OSError("stderr is closed")
        return self.stream.fileno()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def reserve_standard_descriptors() -> None:
    """A closed descriptor 0, 1 or 2 is opened on /dev/null, so that no file this run
    opens (an output, a policy) lands on it and receives what is meant for stdout or stderr."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
                if opened != fd:
                    os.dup2(opened, fd)
                    os.close(opened)
            except OSError:
                pass


def settle(stream) -> None:
    """When a standard stream cannot take what it still buffers (a broken pipe, a full
    disk), point its descriptor at /dev/null: Python's own flush at exit then succeeds
    instead of turning the exit code into 120."""
    if stream is None:
        return
    try:
        stream.flush()
        return
    except (OSError, ValueError):
        pass
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass
