"""An external sort: (key, blob) pairs in, in any order and any number; the same pairs out, by key.

`Spill(folder, run_size)` holds at most `run_size` pairs in memory: when it has that many,
it sorts them and writes them to a file of its own in `folder` (a sorted run). `sorted()`
then merges the runs (heapq.merge), reading each a block at a time; when there are more than
`FAN_IN` runs, runs are first merged into longer ones, so that at most `FAN_IN` files are
open and `FAN_IN` blocks are held at once, however many pairs there are. Keys must be
unique (an input position in each), so blobs are never compared. The files are pickles
written and read back by this process alone, in a private temporary folder (carrying.py's).
A temporary file that cannot be written (disk full) is an `OutputError` saying where.
"""

from __future__ import annotations

import heapq
import os
import pickle

from policydsl.tools.claims_io import OutputError, write_problem

FAN_IN = 64  # runs merged at once
BLOCK = 256  # pairs per pickle in a run file: what a merge holds of each run


class Spill:
    """Pairs added with `add(key, blob)`; `sorted()` gives them all back by key, once."""

    def __init__(self, folder: str, run_size: int, name: str = "run"):
        if run_size < 1:
            raise ValueError("run_size must be at least 1")
        self.folder = folder
        self.run_size = run_size
        self.name = name
        self.pairs: list = []
        self.runs: list[str] = []  # files of sorted runs
        self.count = 0
        self.made = 0  # files made, to name the next

    def add(self, key, blob) -> None:
        self.pairs.append((key, blob))
        self.count += 1
        if len(self.pairs) >= self.run_size:
            self._spill()

    def _spill(self) -> None:
        self.pairs.sort()
        self.runs.append(self._write(self.pairs))
        self.pairs = []

    def _write(self, pairs) -> str:
        path = os.path.join(self.folder, f"{self.name}-{self.made:06d}")
        self.made += 1
        try:
            with open(path, "wb") as out:
                block = []
                for pair in pairs:
                    block.append(pair)
                    if len(block) >= BLOCK:
                        pickle.dump(block, out, pickle.HIGHEST_PROTOCOL)
                        block = []
                if block:
                    pickle.dump(block, out, pickle.HIGHEST_PROTOCOL)
        except OSError as error:
            raise OutputError(
                f"{write_problem(error, 'the temporary folder ' + self.folder)}: --carry sorts the claims there "
                "(set TMPDIR to a folder with room for about twice the input); the run stopped"
            ) from None
        return path

    def sorted(self):
        """Every pair added, by key. In memory when they fit in one run."""
        if not self.runs:
            self.pairs.sort()
            pairs, self.pairs = self.pairs, []
            yield from pairs
            return
        if self.pairs:
            self._spill()
        while len(self.runs) > FAN_IN:
            group, self.runs = self.runs[:FAN_IN], self.runs[FAN_IN:]
            self.runs.append(self._write(heapq.merge(*(_read(path) for path in group))))
        yield from heapq.merge(*(_read(path) for path in self.runs))
        self.runs = []


def _read(path: str):
    """The pairs of a run file, a block at a time; the file is removed once read."""
    with open(path, "rb") as run:
        try:
            while True:
                yield from pickle.load(run)
        except EOFError:
            pass
    os.unlink(path)


__all__ = ["BLOCK", "FAN_IN", "Spill"]
