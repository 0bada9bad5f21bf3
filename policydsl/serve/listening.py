"""Listening sockets for `policydsl serve --workers N`: a host and port in, the socket to give
uvicorn's worker supervisor out (`for_workers`), which becomes one listening socket per worker.

Why: uvicorn's workers share one listening socket, and the worker that wakes first accepts
every connection waiting in its queue. Measured here (`ss -tnp` during bench/serve_load.py,
2 workers, 64 clients connecting at once): 61, 54 and 54 of the 64 connections on one worker,
which then answered most requests alone while the other idled, with p99 near 16 ms. With a
socket per worker bound with SO_REUSEPORT, Linux hashes each new connection to one of the
listening sockets, so connections spread over the workers whatever their timing.

How: the supervisor (uvicorn.supervisors.Multiprocess) starts each worker by spawning a process
and pickling the sockets it was given to it. `for_workers` gives it a `_PerWorker` socket:
bound with SO_REUSEPORT but never listening (it only holds the port, so that port 0 gets one
port for all), and pickled as the recipe for a new socket on the same address, so that each
worker, and each worker restarted after a crash, unpickles its own listening socket. Elsewhere
than on Linux (where SO_REUSEPORT does not spread connections) uvicorn's one shared socket is
kept.
"""

from __future__ import annotations

import socket
import sys

BACKLOG = 2048  # uvicorn's default; its server listens again with the configured one

def spreads_connections() -> bool:
    """Whether this system spreads connections over sockets bound with SO_REUSEPORT."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def for_workers(host: str, port: int) -> socket.socket:
    """The `_PerWorker` socket to give uvicorn's Multiprocess for (host, port), where
    `spreads_connections()`; elsewhere the caller keeps uvicorn's own shared socket
    (`Config.bind_socket`). Raises OSError when the address cannot be bound (the port is
    taken, the host is not this machine's)."""
    holder = _PerWorker(socket.AF_INET6 if ":" in host else socket.AF_INET)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    return holder


class _PerWorker(socket.socket):
    """A bound, not listening, SO_REUSEPORT socket that pickles as "bind another one on my
    address and listen": what each spawned worker receives."""

    def __reduce__(self):
        return (_listening, (self.family, self.getsockname()[:2]))


def _listening(family: int, address: tuple) -> socket.socket:
    """In a worker: its own listening socket on `address`, in the port's SO_REUSEPORT group."""
    sock = socket.socket(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(BACKLOG)
    return sock
