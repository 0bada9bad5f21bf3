"""Helpers for tests that kill a batch run's worker processes: finding a process's
children (from /proc) and running a command while every worker it starts is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

HAS_PROC = Path("/proc/self/stat").exists()


def children(pid: int) -> list[int]:
    """The live child processes of `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (name) "
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def run_killing_workers(command: list[str], kill_for: float, timeout: float) -> tuple[subprocess.Popen, str, int]:
    """Run `command`, killing every child process as soon as it appears, for at most
    `kill_for` seconds or until the run ends: (the finished process, its stderr, kills)."""
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kills = 0

    def killer():
        nonlocal kills
        deadline = time.monotonic() + kill_for
        while run.poll() is None and time.monotonic() < deadline:
            for worker in children(run.pid):
                try:
                    os.kill(worker, signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.001)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        _, err = run.communicate(timeout=timeout)
    finally:
        run.kill()
        thread.join(timeout=timeout)
    return run, err.decode("utf-8"), kills
