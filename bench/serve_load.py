"""Load generator for `policydsl serve` (issue 12): loopback only, bounded in count and time.

    python bench/serve_load.py                  # ~1 minute: starts `policydsl serve --workers 1` itself
    python bench/serve_load.py --workers 2      # the same against two workers
    python bench/serve_load.py --url http://127.0.0.1:8080   # a server already running (loopback only)
    python bench/serve_load.py --smoke          # a few seconds: checks that it runs (CI), not how fast

Takes seeded claims for the example province (bench/generate_claims.py, with the year-to-date
fields) and gives, per scenario (single claims at 1, 8 and 64 concurrent clients; batches of
1,000 claims at 1, 8 and 64 clients): requests/s, claims/s, p50/p90/p99/max latency, errors, and the
CPU the client and the server took; beside them, in the same run, in-process `Policy.evaluate`
and json -> `decide()` -> json per claim. Then the issue's two goals with the measured values.

Why this shape: client and server share the machine's cores, so the client is lean: one raw
HTTP/1.1 keep-alive connection per client (an asyncio Protocol; uvloop when installed), request
bytes built before the clock starts, each client sending its next request when the last one is
answered (closed loop), its garbage collector off while the clock runs (its pauses would be
counted as latency). Measured on this machine: ~27 us of client CPU per request at 64
clients, against ~1,400 us with httpx.AsyncClient. The client's and the server's CPU (the
process tree, from /proc) and the CPU time the host stole are printed per scenario.
Each scenario stops at `--requests` requests or `--seconds`, whichever comes first. Every 200
is checked once the scenario's clock has stopped (so that checking takes no CPU from the
server while it is measured): a single claim's result must equal the in-process decision for
that claim; a batch must hold one result per claim, in order (its records compared in full for
a sample of batches).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLICY_ID = "example/resident-2025"
POLICY_FILE = ROOT / "policies" / "example" / "resident-2025.policy"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
sys.path.insert(0, str(HERE))

import generate_claims  # noqa: E402


# ---- the machine ----------------------------------------------------------------------------


def machine() -> dict:
    model, family, number = platform.processor() or platform.machine(), None, None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "model name":
                model = value
            elif key == "cpu family":
                family = value
            elif key == "model":
                number = value
            elif not line.strip() and model:
                break  # the first processor is enough
    except OSError:
        pass
    if family is not None:
        model = f"{model} (family {family}, model {number})"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.release()}",
    }


# ---- CPU time of this process and of the server's process tree --------------------------------


def own_cpu() -> float:
    """CPU seconds of this process, user + system (on loopback, system time includes the kernel's TCP work for both ends of a send)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def own_system_cpu() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (name) ": fields from 3 (state) on


def tree_cpu(pid: int | None) -> dict[int, float] | None:
    """CPU seconds (user + system, with reaped children's) of `pid` and of each of its live
    descendants, by process id; None off Linux or when there is no such process."""
    if pid is None or not Path("/proc/self/stat").exists():
        return None
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                parents[int(entry)] = int(fields[1])
                stats[int(entry)] = fields
    if pid not in stats:
        return None
    found, todo = {}, [pid]
    while todo:
        current = todo.pop()
        fields = stats.get(current)
        if fields is None:
            continue
        found[current] = sum(int(value) for value in fields[11:15]) / _TICK  # utime stime cutime cstime
        todo.extend(child for child, parent in parents.items() if parent == current)
    return found


def cpu_between(before: dict[int, float] | None, after: dict[int, float] | None) -> list[float] | None:
    """The CPU seconds each process of the tree took between two `tree_cpu` readings, most first."""
    if before is None or after is None:
        return None
    return sorted((round(seconds - before.get(pid, 0.0), 3) for pid, seconds in after.items()), reverse=True)


# ---- the server ---------------------------------------------------------------------------------


def machine_ticks() -> tuple[int, int] | None:
    """(all CPU ticks, stolen ticks) of the machine so far, from /proc/stat: time the
    hypervisor gave this VM's CPUs to others, which shows when a run was slowed by the host."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[0] <= before[0]:
        return None
    return round(100 * (after[1] - before[1]) / (after[0] - before[0]), 1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Server:
    """`policydsl serve` started on a free loopback port, or a running one named by `--url`."""

    def __init__(self, url: str | None, workers: int, policies: Path, startup: float, server: str = "uvicorn"):
        self.process: subprocess.Popen | None = None
        self.log = None
        if url is not None:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme != "http" or parts.hostname not in LOOPBACK:
                raise SystemExit(f"serve_load: --url must be http:// on loopback (127.0.0.1, ::1, localhost), not {url!r}")
            self.host, self.port = parts.hostname, parts.port or 80
            self.started = False
        else:
            self.host, self.port = "127.0.0.1", free_port()
            command = [sys.executable, "-m", "policydsl", "serve", "--policies", str(policies),
                       "--host", self.host, "--port", str(self.port), "--workers", str(workers), "--server", server]
            self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop(); a file, so a chatty server never blocks
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.log)
            self.started = True
        self.base = f"http://{'[' + self.host + ']' if ':' in self.host else self.host}:{self.port}"
        self._wait(startup)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _wait(self, startup: float) -> None:
        deadline = time.monotonic() + startup
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                err = self.stop()
                raise SystemExit(f"serve_load: policydsl serve exited with {self.process.returncode}:\n{err}")
            try:
                if get(self.base + "/health")[0] == 200 and get(self.base + "/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"serve_load: {self.base} not healthy and ready within {startup:.0f} s")

    def stop(self) -> str:
        """Stop a server started here; gives what it wrote on stderr."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.seek(0)
        err = self.log.read()
        self.log.close()
        self.process = None
        return err.decode("utf-8", "replace")


# ---- the client: raw HTTP/1.1 keep-alive on asyncio streams -------------------------------------


class HTTPError(Exception):
    pass


def request_bytes(host_header: str, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


def parse_response(buffer: bytearray) -> tuple[int, bytes, bool, int] | int | None:
    """(status, body, keep the connection, bytes used) of the response at the start of
    `buffer`; while it is incomplete, the length it needs when known, else None."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    lines = bytes(buffer[:head_end]).split(b"\r\n")
    status_line = lines[0].split(b" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1."):
        raise HTTPError(f"bad status line {lines[0][:80]!r}")
    status = int(status_line[1])
    length, chunked, keep = None, False, status_line[0] == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep = value.strip().lower() != b"close"
    start = head_end + 4
    if chunked:
        parts, at = [], start
        while True:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                return None
            size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
            if size == 0:
                if len(buffer) < line_end + 4:
                    return None
                return status, b"".join(parts), keep, line_end + 4  # no trailers expected
            if len(buffer) < line_end + 2 + size + 2:
                return None
            parts.append(bytes(buffer[line_end + 2 : line_end + 2 + size]))
            at = line_end + 2 + size + 2
    if length is None:
        raise HTTPError("a response without Content-Length (closing the connection is not supported)")
    if len(buffer) < start + length:
        return start + length
    return status, bytes(buffer[start : start + length]), keep, start + length


class Connection(asyncio.Protocol):
    """One keep-alive connection: `send(request)` gives (status, body, keep) of its response."""

    def __init__(self):
        self.transport = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.lost: Exception | None = None
        self.need = 0  # the buffer length the response in it needs, once its head has been read

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes):
        self.buffer += data
        if self.waiter is None or self.waiter.done() or len(self.buffer) < self.need:
            return
        try:
            found = parse_response(self.buffer)
        except (HTTPError, ValueError) as error:
            self.waiter.set_exception(error)
            return
        if isinstance(found, int):
            self.need = found
        elif found is not None:
            self.need = 0
            status, body, keep, used = found
            del self.buffer[:used]
            self.waiter.set_result((status, body, keep))

    def connection_lost(self, error):
        self.lost = error or ConnectionResetError("the server closed the connection")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(self.lost)

    def send(self, request: bytes) -> asyncio.Future:
        if self.lost is not None:
            raise self.lost
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def close(self):
        if self.transport is not None:
            self.transport.close()


class Scenario:
    """A named load: request bytes to cycle through, how many clients, and how to check a 200."""

    def __init__(self, name: str, clients: int, requests: list[bytes], claims_per_request: int, check):
        self.name, self.clients, self.requests = name, clients, requests
        self.claims_per_request, self.check = claims_per_request, check


async def run_scenario(server: Server, scenario: Scenario, max_requests: int, seconds: float, timeout: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: list[str] = []
    answered: list[tuple[int, bytes]] = []  # (request index, body) of each 200
    issued = 0
    deadline = 0.0

    async def client(number: int) -> None:
        nonlocal issued
        connection = None
        loop = asyncio.get_running_loop()
        sent = number  # clients start at different requests, then step through them all
        try:
            while issued < max_requests and time.perf_counter() < deadline:
                issued += 1
                index = sent % len(scenario.requests)
                sent += scenario.clients
                if connection is None:
                    _, connection = await loop.create_connection(Connection, server.host, server.port)
                start = time.perf_counter()
                status, body, keep = await connection.send(scenario.requests[index])
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200:
                    if len(failures) < 5:
                        failures.append(f"{status}: {body[:300].decode('utf-8', 'replace')}")
                else:
                    answered.append((index, body))  # checked after the clock stops
                if not keep:
                    connection.close()
                    connection = None
        except asyncio.CancelledError:
            statuses[0] = statuses.get(0, 0) + 1  # no answer within the time limit and --timeout
            if len(failures) < 5:
                failures.append(f"no answer within {seconds:g} s + {timeout:g} s")
        except (OSError, HTTPError, ValueError) as error:
            statuses[0] = statuses.get(0, 0) + 1  # a connection that failed
            if len(failures) < 5:
                failures.append(f"connection: {type(error).__name__}: {error}")
        finally:
            if connection is not None:
                connection.close()

    # the client's own garbage collections would add their pauses to the latencies it
    # measures: off while the clock runs (a scenario is bounded in requests and time)
    gc.collect()
    gc.disable()
    cpu_client, cpu_system, cpu_server = own_cpu(), own_system_cpu(), tree_cpu(server.pid)
    ticks = machine_ticks()
    began = time.perf_counter()
    deadline = began + seconds
    tasks = [asyncio.ensure_future(client(number)) for number in range(scenario.clients)]
    _, late = await asyncio.wait(tasks, timeout=seconds + timeout)  # one watchdog, not a timer per request
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    cpu_client, cpu_system, cpu_server_after = own_cpu() - cpu_client, own_system_cpu() - cpu_system, tree_cpu(server.pid)
    by_process = cpu_between(cpu_server, cpu_server_after)
    stolen = steal_share(ticks, machine_ticks())
    gc.enable()
    for index, body in answered:
        problem = scenario.check(index, body)
        if problem is not None:
            statuses[200] -= 1
            statuses[-1] = statuses.get(-1, 0) + 1  # a 200 without the right result
            if len(failures) < 5:
                failures.append(f"200 but {problem}")
    done = len(latencies)
    ordered = sorted(latencies)
    errors = sum(count for status, count in statuses.items() if status != 200)

    def pct(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))] * 1000, 3)

    return {
        "scenario": scenario.name,
        "clients": scenario.clients,
        "claims_per_request": scenario.claims_per_request,
        "requests": done,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(done / elapsed, 1) if elapsed else None,
        "claims_per_s": round(done * scenario.claims_per_request / elapsed, 1) if elapsed else None,
        "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0),
        "errors": errors,
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "failures": failures,
        "client_cpu_s": round(cpu_client, 3),
        "client_system_cpu_s": round(cpu_system, 3),
        "server_cpu_s": round(sum(by_process), 3) if by_process is not None else None,
        "server_cpu_s_by_process": by_process,
        "steal_percent": stolen,
    }


# ---- claims, requests and the checks of a 200 -------------------------------------------------------


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def expected_records(policy, claims: list[dict]) -> list[dict]:
    """What `policydsl eval` writes for each claim: the server's `result` must be the same."""
    from policydsl.tools.decide import decide

    return [decide(policy, claim)[0] for claim in claims]


def result_problem(result, expected: dict) -> str | None:
    """None when `result` holds the in-process record: every output the same (and the
    accumulators and policy too, when the result carries them)."""
    if not isinstance(result, dict):
        return f"result is {type(result).__name__}, not an object"
    if result == expected:
        return None
    differ = sorted(key for key, value in expected.items()
                    if (key in result or key not in ("accumulators", "policy")) and result.get(key) != value)
    if differ:
        return f"result for {expected.get('claim_id')} differs from in-process decide() in {differ}"
    return None


def single_check(expected: list[dict]):
    def check(index: int, body: bytes) -> str | None:
        try:
            answer = json.loads(body)
        except ValueError:
            return "the body is not JSON"
        if not isinstance(answer, dict) or "result" not in answer:
            return f"no result in {body[:200]!r}"
        return result_problem(answer["result"], expected[index % len(expected)])

    return check


def batch_check(expected_batches: list[list[dict]], full_every: int):
    """Every batch: one result per claim (counted on the bytes); every `full_every`-th: each record compared."""
    seen = 0

    def check(index: int, body: bytes) -> str | None:
        nonlocal seen
        seen += 1
        expected = expected_batches[index % len(expected_batches)]
        if not body.startswith(b"{") or b'"results"' not in body:
            return f"no results in {body[:200]!r}"
        if seen % full_every != 1 and full_every != 1:
            ids = body.count(b'"claim_id"')
            return None if ids >= len(expected) else f"{ids} claim_ids for {len(expected)} claims"
        answer = json.loads(body)
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(expected):
            return f"{len(results) if isinstance(results, list) else 'no'} results for {len(expected)} claims"
        for result, record in zip(results, expected):
            problem = result_problem(result, record)
            if problem is not None:
                return problem
        return None

    return check


# ---- in process ---------------------------------------------------------------------------------


def in_process(policy, claims: list[dict], rounds: int) -> list[dict]:
    """Best of `rounds`: `Policy.evaluate` over the claims, and json -> decide() -> json per claim."""
    from policydsl.backends.facts import loads
    from policydsl.tools.decide import decide

    texts = [json.dumps(claim, ensure_ascii=False) for claim in claims]

    def evaluate_all():
        for claim in claims:
            policy.evaluate(claim)

    def decide_all():
        for text in texts:
            json.dumps(decide(policy, loads(text))[0], ensure_ascii=False)

    figures = []
    for name, run in (("in-process Policy.evaluate", evaluate_all), ("in-process json->decide()->json", decide_all)):
        best = None
        cpu = own_cpu()
        for _ in range(rounds):
            start = time.perf_counter()
            run()
            took = time.perf_counter() - start
            best = took if best is None else min(best, took)
        figures.append({
            "scenario": name, "clients": 1, "claims_per_request": len(claims), "rounds": rounds,
            "seconds": round(best, 4), "claims_per_s": round(len(claims) / best, 1),
            "us_per_claim": round(best / len(claims) * 1e6, 2),
            "client_cpu_s": round(own_cpu() - cpu, 3),
        })
    return figures


def best_of(one: dict, two: dict) -> dict:
    best = dict(one if one["claims_per_s"] >= two["claims_per_s"] else two)
    best["rounds"] = one["rounds"] + two["rounds"]
    best["client_cpu_s"] = round(one["client_cpu_s"] + two["client_cpu_s"], 3)
    best["claims_per_s_before_and_after"] = [one["claims_per_s"], two["claims_per_s"]]
    return best


# ---- the report ---------------------------------------------------------------------------------


def fmt(value, width: int, digits: int = 1) -> str:
    if value is None:
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:,.{digits}f}".rjust(width)
    return f"{value:,}".rjust(width) if isinstance(value, int) else str(value).rjust(width)


def table(rows: list[dict], local: list[dict]) -> str:
    head = (f"{'scenario':<32} {'clients':>7} {'requests':>9} {'req/s':>9} {'claims/s':>10} {'p50 ms':>8} "
            f"{'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6} {'client CPU s':>12} {'server CPU s':>12}")
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(
            f"{row['scenario']:<32} {fmt(row['clients'], 7)} {fmt(row['requests'], 9)} {fmt(row['requests_per_s'], 9)} "
            f"{fmt(row['claims_per_s'], 10)} {fmt(row['p50_ms'], 8, 2)} {fmt(row['p90_ms'], 8, 2)} {fmt(row['p99_ms'], 8, 2)} "
            f"{fmt(row['max_ms'], 8, 2)} {fmt(row['errors'], 6)} {fmt(row['client_cpu_s'], 12, 2)} {fmt(row['server_cpu_s'], 12, 2)}"
        )
    for row in local:
        lines.append(
            f"{row['scenario']:<32} {fmt(1, 7)} {fmt('-', 9)} {fmt('-', 9)} {fmt(row['claims_per_s'], 10)} "
            f"({row['us_per_claim']:.1f} us/claim, best of {row['rounds']} rounds of {row['claims_per_request']:,} claims, before and after the load)"
        )
    return "\n".join(lines)


def goals(rows: list[dict], local: list[dict], single_clients: list[int]) -> list[dict]:
    found = []
    top = max(single_clients)
    wide = next((row for row in rows if row["scenario"].startswith("single") and row["clients"] == top), None)
    if wide is not None:
        found.append({
            "goal": f"p99 <= 10 ms at {top} concurrent single-claim clients",
            "measured": f"p99 {wide['p99_ms']} ms",
            "holds": wide["p99_ms"] is not None and wide["p99_ms"] <= 10.0 and wide["errors"] == 0,
        })
    batches = [row for row in rows if row["scenario"].startswith("batch") and row["errors"] == 0]
    evaluate = local[0]["claims_per_s"]
    if batches:
        best = max(batches, key=lambda row: row["claims_per_s"])
        ratio = best["claims_per_s"] / evaluate
        found.append({
            "goal": "batch endpoint >= 0.5 x in-process evaluate claims/s",
            "measured": f"{best['claims_per_s']:,.0f} claims/s ({best['clients']} clients) vs {evaluate:,.0f} in process = {ratio:.2f} x",
            "holds": ratio >= 0.5,
        })
    else:
        found.append({"goal": "batch endpoint >= 0.5 x in-process evaluate claims/s", "measured": "no batch run without errors", "holds": False})
    return found


# ---- main ---------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Bounded loopback load generator for `policydsl serve`.")
    parser.add_argument("--url", help="a running server (loopback only); by default one is started on a free port")
    parser.add_argument("--workers", type=int, default=1, help="passed to `policydsl serve --workers` (default 1)")
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "granian"], help="passed to `policydsl serve --server` (default uvicorn)")
    parser.add_argument("--policies", default=str(ROOT / "policies"), help="the folder the started server serves (default policies/)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit of each scenario (default 10)")
    parser.add_argument("--requests", type=int, default=30_000, help="request limit of each single-claim scenario (default 30000)")
    parser.add_argument("--batch-requests", type=int, default=300, help="request limit of each batch scenario (default 300)")
    parser.add_argument("--batch-size", type=int, default=1000, help="claims per batch request (default 1000)")
    parser.add_argument("--clients", default="1,8,64", help="single-claim client counts (default 1,8,64)")
    parser.add_argument("--batch-clients", default="1,8,64", help="batch client counts (default 1,8,64, as the single claims)")
    parser.add_argument("--claims", type=int, default=5_000, help="distinct generated claims (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="claim generator seed (default 1)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of untimed load before the scenarios (default 1)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds past --seconds that an unanswered request may take before it counts as an error (default 30)")
    parser.add_argument("--full-check-every", type=int, default=8, help="compare every record of every N-th batch response (default 8; 1 = all)")
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto",
                        help="the client's event loop: uvloop when installed (auto, the default; cheaper), or asyncio")
    parser.add_argument("--json", dest="json_file", help="write the figures to this file")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, tiny counts (CI): checks that it runs, not how fast")
    args = parser.parse_args(argv)
    args.loop = event_loop_name(args.loop)
    if args.smoke:
        args.seconds, args.requests, args.batch_requests, args.warmup = 2.0, 200, 4, 0.2
        args.claims, args.full_check_every = max(args.batch_size, 200), 1
    if args.url is not None:
        parts = urllib.parse.urlsplit(args.url)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK:
            parser.error(f"--url must be http:// on loopback (127.0.0.1, ::1, localhost), not {args.url!r}")
    args.clients = [int(n) for n in args.clients.split(",") if n.strip()]
    args.batch_clients = [int(n) for n in args.batch_clients.split(",") if n.strip()]
    if args.workers < 1 or min(args.clients + args.batch_clients, default=1) < 1 or args.batch_size < 1:
        parser.error("--workers, client counts and --batch-size must be at least 1")
    return args


async def scenarios_run(server: Server, args, singles: list[bytes], single_expected, batches: list[bytes], batch_expected) -> list[dict]:
    rows = []
    check_one = single_check(single_expected)
    if args.warmup > 0:
        await run_scenario(server, Scenario("warmup", 8, singles, 1, check_one), 10 * args.requests, args.warmup, args.timeout)
        await run_scenario(server, Scenario("warmup", 1, batches, args.batch_size, lambda i, b: None), 2, args.warmup, args.timeout)
    for clients in args.clients:
        scenario = Scenario("single claim", clients, singles, 1, check_one)
        rows.append(await run_scenario(server, scenario, args.requests, args.seconds, args.timeout))
        print_row_progress(rows[-1])
    for clients in args.batch_clients:
        scenario = Scenario(f"batch of {args.batch_size:,}", clients, batches, args.batch_size,
                            batch_check(batch_expected, args.full_check_every))
        rows.append(await run_scenario(server, scenario, args.batch_requests, args.seconds, args.timeout))
        print_row_progress(rows[-1])
    return rows


def event_loop_name(wanted: str) -> str:
    if wanted == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401 - optional: cheaper than asyncio's own loop
    except ImportError:
        if wanted == "uvloop":
            raise SystemExit("serve_load: --loop uvloop, but uvloop is not installed") from None
        return "asyncio"
    return "uvloop"


def run_loop(coroutine, name: str):
    if name == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def print_row_progress(row: dict) -> None:
    print(f"  done: {row['scenario']} x{row['clients']}: {row['requests']:,} requests in {row['seconds']:.1f} s, "
          f"{row['errors']} errors", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import policydsl

    facts = machine()
    print(f"machine: {facts['cpu']}, {facts['cores']} cores ({facts['usable_cores']} usable), "
          f"{facts['implementation']} {facts['python']}, {facts['system']}")

    policy = policydsl.load(POLICY_FILE)
    claims = list(generate_claims.generate(args.claims, seed=args.seed))
    expected = expected_records(policy, claims)
    batch_count = max(1, min(8, len(claims) // args.batch_size))
    gc.freeze()  # long-lived claims out of the collector's way, for the in-process figures

    server = Server(args.url, args.workers, Path(args.policies), startup=120.0, server=args.server)
    stderr = ""
    try:
        host_header = server.base.split("//", 1)[1]
        singles = [request_bytes(host_header, "/v1/evaluate", dumps({"policy": POLICY_ID, "claim": claim})) for claim in claims]
        batches, batch_expected = [], []
        for number in range(batch_count):
            part = [claims[(number * args.batch_size + k) % len(claims)] for k in range(args.batch_size)]
            batches.append(request_bytes(host_header, "/v1/evaluate/batch", dumps({"policy": POLICY_ID, "claims": part})))
            batch_expected.append([expected[(number * args.batch_size + k) % len(claims)] for k in range(args.batch_size)])
        where = f"{server.base} (started here: policydsl serve --server {args.server} --workers {args.workers})" if server.started else f"{server.base} (given by --url)"
        print(f"server: {where}; policy {POLICY_ID}; {len(claims):,} distinct claims (seed {args.seed}); "
              f"client: {args.loop}, one keep-alive connection per client; each scenario <= {args.seconds:g} s and <= {args.requests:,} single / {args.batch_requests:,} batch requests")

        sample = claims[: min(len(claims), 20_000)]
        rounds = 1 if args.smoke else 3
        local = in_process(policy, sample, rounds)  # before the load and after it: the best of both,
        rows = run_loop(scenarios_run(server, args, singles, expected, batches, batch_expected), args.loop)
        local = [best_of(one, two) for one, two in zip(local, in_process(policy, sample, rounds))]  # so a noisy moment does not flatter the ratio
    finally:
        stderr = server.stop()

    print()
    print(table(rows, local))
    if any(len(row.get("server_cpu_s_by_process") or ()) > 1 for row in rows):
        print("\nserver CPU s by process (most first: workers, supervisor, helpers):")
        for row in rows:
            shares = " + ".join(f"{seconds:.2f}" for seconds in row["server_cpu_s_by_process"] or ())
            print(f"  {row['scenario']} x{row['clients']}: {shares}")
    stolen = [f"{row['scenario']} x{row['clients']} {row['steal_percent']}%" for row in rows if row.get("steal_percent") is not None]
    if stolen:
        print("\nCPU time stolen by the host (/proc/stat steal): " + ", ".join(stolen))
    for row in rows:
        if row["errors"]:
            print(f"\nerrors in {row['scenario']} x{row['clients']}: statuses {row['statuses']}")
            for failure in row["failures"]:
                print(f"  {failure}")
    print()
    found = goals(rows, local, args.clients)
    for goal in found:
        print(f"goal: {goal['goal']}: {goal['measured']}: {'holds' if goal['holds'] else 'DOES NOT HOLD'}")
    total_errors = sum(row["errors"] for row in rows)
    print(f"errors: {total_errors} in {sum(row['requests'] for row in rows):,} requests")
    if args.json_file:
        report = {"machine": facts, "server": {"url": server.base, "started": server.started, "workers": args.workers if server.started else None, "software": args.server if server.started else None},
                  "settings": {k: getattr(args, k) for k in ("seconds", "requests", "batch_requests", "batch_size", "clients", "batch_clients", "claims", "seed", "smoke", "loop")},
                  "scenarios": rows, "in_process": local, "goals": found, "errors": total_errors}
        Path(args.json_file).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if stderr.strip() and total_errors:
        print("\nserver stderr (last lines):\n" + "\n".join(stderr.strip().splitlines()[-20:]))
    return 1 if total_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
