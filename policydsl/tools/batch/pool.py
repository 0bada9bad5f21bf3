"""Worker processes for a batch run: chunks of raw records in, formatted chunks out, in order.

`Pool(jobs, spec).run(tasks, write, fallback, lost)` sends each chunk to a worker process
(a `ChunkWorker` in it) and gives `write` the results in input order. A worker that is lost
(killed, out of memory) is replaced and the chunks it held are run again; how it ended is
appended to `lost`. `inherit(path, policy)` lets forked workers reuse the parent's loaded
policy instead of loading it again.
"""

from __future__ import annotations

import collections
import os
import selectors
import signal
import struct
import time

from policydsl.api import load
from policydsl.tools.batch.worker import ChunkWorker, Spec

MAX_ATTEMPTS = 2  # a chunk whose worker process was lost is run once more, in a new worker

_INHERITED: tuple[str, object] | None = None
_WORKER: ChunkWorker | None = None


def inherit(path: str, policy) -> None:
    """Workers forked from now on use `policy` for the policy file `path` (no load of their own)."""
    global _INHERITED
    _INHERITED = (path, policy)


def _init_worker(spec: Spec) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    inherited = _INHERITED
    policy = inherited[1] if inherited is not None and inherited[0] == spec.policy else load(spec.policy, root=spec.root)
    _WORKER = ChunkWorker(policy, spec)


def _worker_main(spec: Spec, tasks, results) -> None:
    """A worker process: chunks in on `tasks`, results out on `results`, in order."""
    try:
        _init_worker(spec)
    except BaseException as error:  # noqa: BLE001 - said to the parent, which gives up this worker's chunks
        results.send((None, "lost", f"it could not start: {type(error).__name__}: {error}"))
        return
    while True:
        try:
            message = tasks.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None:
            return  # no more work
        sequence, kind, payload = message
        try:
            reply = (sequence, "ok", _WORKER.process(kind, payload))
        except Exception as error:  # noqa: BLE001 - a bug must not lose the chunk's records
            reply = (sequence, "failed", f"internal error: {type(error).__name__}: {error} (please report it)")
        try:
            results.send(reply)
        except (OSError, ValueError):
            return


class _Slot:
    """One worker process, its pipes and the chunks it holds (the first is being evaluated)."""

    def __init__(self, context, spec: Spec):
        tasks_in, self.tasks = context.Pipe(duplex=False)
        self.results, results_out = context.Pipe(duplex=False)
        self.process = context.Process(target=_worker_main, args=(spec, tasks_in, results_out), daemon=True)
        self.process.start()
        tasks_in.close()  # the parent's copies: the pipes break when the worker dies
        results_out.close()
        os.set_blocking(self.tasks.fileno(), False)
        for pipe in (self.tasks, self.results):  # a chunk fits in the pipe: the worker reads it alone
            _widen(pipe.fileno())
        self.held: collections.deque = collections.deque()  # sequence numbers sent, not yet answered
        self.outbox = bytearray()  # framed messages not yet written to the worker
        self.dead = False
        self.why: str | None = None  # what the worker said before it ended, if anything

    def send(self, message) -> None:
        from multiprocessing.reduction import ForkingPickler

        data = bytes(ForkingPickler.dumps(message))
        # multiprocessing.Connection's framing, so that the worker's recv() reads it
        header = struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else struct.pack("!i", -1) + struct.pack("!Q", len(data))
        self.outbox += header + data
        self.flush()

    def flush(self) -> None:
        """Write what the pipe takes now; never blocks (a busy worker reads later)."""
        while self.outbox and not self.dead:
            try:
                written = os.write(self.tasks.fileno(), self.outbox)
            except BlockingIOError:
                return
            except OSError:  # EPIPE: the worker is gone; its sentinel says so
                self.outbox.clear()
                return
            del self.outbox[:written]

    def how_it_ended(self) -> str:
        self.process.join(timeout=5)
        if self.why is not None:
            return self.why
        code = self.process.exitcode
        if code is None:
            return "it stopped answering"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"it exited with status {code}"

    def stop(self, now: bool) -> None:
        if not now and not self.dead:
            self.send(None)  # no more work (the pipe's end is no sign: later workers hold copies)
            deadline = time.monotonic() + 5
            while self.outbox and time.monotonic() < deadline and self.process.is_alive():
                time.sleep(0.001)
                self.flush()
            self.process.join(timeout=max(0.0, deadline - time.monotonic()))
        try:
            self.tasks.close()
        except OSError:
            pass
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.results.close()


def _widen(fd: int, size: int = 1024 * 1024) -> None:
    """Make a pipe hold a whole chunk (Linux; 1 MiB is what an unprivileged process may ask)."""
    import fcntl

    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
        except OSError:
            pass


class Pool:
    """Worker processes that evaluate chunks, watched one by one.

    Each worker has its own pipes and holds at most two chunks (the one it evaluates and
    the next), so the parent knows which chunk a lost worker (killed, out of memory) was
    evaluating: that chunk is run again in a new worker, at most MAX_ATTEMPTS times in
    all, and then its records are written as error records. The others it held are run
    again as they are. At most 2 x jobs chunks are read ahead of the output, so memory
    stays flat, and results are written in input order.
    """

    def __init__(self, jobs: int, spec: Spec):
        import multiprocessing

        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self.spec = spec
        self.jobs = jobs
        self.slots: list[_Slot] = []

    def __enter__(self):
        self.slots = [_Slot(self.context, self.spec) for _ in range(self.jobs)]
        return self

    def __exit__(self, kind, error, traceback) -> None:
        for slot in self.slots:
            slot.stop(now=kind is not None)

    def run(self, tasks, write, fallback: ChunkWorker, lost: list[str]) -> None:
        """Run every task (kind, payload, units); `write(result, units)` each result in input
        order. `fallback` writes the error records of a chunk that cannot be run."""
        tasks = iter(tasks)
        chunks: dict[int, tuple] = {}  # sequence -> (kind, payload, units), until written
        results: dict[int, tuple] = {}  # answered, waiting for their turn
        again: list[int] = []  # to run again, oldest first
        attempts: collections.Counter = collections.Counter()
        read = written = 0
        more = True
        while True:
            while written in results:
                write(results.pop(written), chunks.pop(written)[2])
                written += 1
            for slot in sorted(self.slots, key=lambda s: len(s.held)):
                while len(slot.held) < 2:
                    if again:
                        sequence = again.pop(0)
                    elif more and read - written < 2 * self.jobs:
                        task = next(tasks, None)
                        if task is None:
                            more = False
                            break
                        sequence, read = read, read + 1
                        chunks[sequence] = task
                    else:
                        break
                    slot.held.append(sequence)
                    slot.send((sequence, *chunks[sequence][:2]))
            if not more and written == read:
                return
            with self._watch() as selector:
                events = selector.select()
            for key, _ in events:
                slot, what = key.data
                if slot.dead:
                    continue
                if what == "write":
                    slot.flush()
                elif what == "read":
                    self._receive(slot, results, fallback, chunks)
                else:
                    self._lost(slot, results, fallback, chunks, again, attempts, lost)

    def _watch(self):
        """A selector for what the workers may do next: answer, end, take more of a chunk."""
        selector = selectors.DefaultSelector()
        for slot in self.slots:
            selector.register(slot.results, selectors.EVENT_READ, (slot, "read"))
            selector.register(slot.process.sentinel, selectors.EVENT_READ, (slot, "ended"))
            if slot.outbox:
                selector.register(slot.tasks, selectors.EVENT_WRITE, (slot, "write"))
        return selector

    def _receive(self, slot: _Slot, results, fallback, chunks) -> bool:
        """Read one answer; False when the worker is gone (its pipe broke)."""
        try:
            sequence, status, value = slot.results.recv()
        except (EOFError, OSError):
            return False
        if sequence is None:  # it could not start: it ends now
            slot.why = value
            return False
        slot.held.remove(sequence)
        if status == "ok":
            results[sequence] = value
        else:
            results[sequence] = fallback.lost(*chunks[sequence][:2], value)
        return True

    def _lost(self, slot: _Slot, results, fallback, chunks, again, attempts, lost: list[str]) -> None:
        """The worker ended: keep its last answers, run its chunks again, replace it."""
        while not slot.dead:
            try:
                if not slot.results.poll(0) or not self._receive(slot, results, fallback, chunks):
                    break
            except (EOFError, OSError):
                break
        slot.dead = True
        how = slot.how_it_ended()
        lost.append(how)
        held = list(slot.held)
        if held:
            current = held[0]  # the chunk it was evaluating; the others waited their turn
            attempts[current] += 1
            if attempts[current] >= MAX_ATTEMPTS:
                message = f"not evaluated: the worker process evaluating it was lost {MAX_ATTEMPTS} times ({how})"
                results[current] = fallback.lost(*chunks[current][:2], message)
                held = held[1:]
        again.extend(held)
        again.sort()
        slot.stop(now=True)
        self.slots[self.slots.index(slot)] = _Slot(self.context, self.spec)
