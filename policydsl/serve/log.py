"""The decision log: one JSON line per decision, written by a thread of its own.

    log = DecisionLog("decisions.jsonl", mask=("person_id",), inputs=False)
    log.record(decision_id, record, claim)   # on the request path: one queue put
    log.close()                              # on shutdown: writes what is queued, then stops

Each line: `decision_id`, `time` (UTC), `policy` (id), `digest`, `claim_id`, `outputs` (the
decision's output values as `eval` writes them), `accumulators` (before, after, period), and
`inputs` (the claim's facts) only when the log was opened with `inputs=True`; then each field
named in `mask` (a key at any depth) is written as "***". The file is opened for appending
and each batch of lines is one `os.write`, so the workers of one server can share a file; no
fsync (a crash may lose the last lines queued).
"""

from __future__ import annotations

import datetime
import os
import queue
import threading

import msgspec

MASKED = "***"
_STOP = object()
_encode = msgspec.json.Encoder().encode


class DecisionLog:
    def __init__(self, path: str, mask=(), inputs: bool = False):
        self.path = path
        self.mask = frozenset(mask)
        self.inputs = inputs
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="policydsl-decision-log", daemon=True)
        self._thread.start()

    def record(self, decision_id: str, record: dict, claim=None) -> None:
        """Queue the line of one decision (`record` as `eval` writes it)."""
        self._queue.put((decision_id, datetime.datetime.now(datetime.timezone.utc), record, claim if self.inputs else None))

    def _line(self, item) -> bytes:
        decision_id, when, record, claim = item
        policy = record.get("policy") or {}
        outputs = {k: v for k, v in record.items() if k not in ("claim_id", "policy", "accumulators")}
        line = {
            "decision_id": decision_id,
            "time": when.isoformat(timespec="microseconds"),
            "policy": policy.get("id"),
            "digest": policy.get("digest"),
            "claim_id": record.get("claim_id"),
            "outputs": outputs,
            "accumulators": record.get("accumulators"),
        }
        if claim is not None:
            line["inputs"] = _masked(claim, self.mask) if self.mask else claim
        return _encode(line) + b"\n"

    def _write(self) -> None:
        while True:
            item = self._queue.get()
            items = [item]
            try:
                while len(items) < 1024:
                    items.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            stop = any(i is _STOP for i in items)
            lines = []
            for i in items:
                if i is _STOP:
                    continue
                try:
                    lines.append(self._line(i))
                except Exception:  # noqa: BLE001 - one unwritable record must not stop the log
                    continue
            if lines:
                data = memoryview(b"".join(lines))
                try:
                    while data:
                        data = data[os.write(self._fd, data):]
                except OSError:
                    pass
            if stop:
                return

    def close(self) -> None:
        """Write every line queued, then close the file."""
        if self._fd < 0:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
        os.close(self._fd)
        self._fd = -1


def _masked(value, mask: frozenset):
    if isinstance(value, dict):
        return {k: (MASKED if k in mask else _masked(v, mask)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, mask) for v in value]
    return value
