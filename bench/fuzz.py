"""Long fuzz campaigns: a case count, a seed, a per-case time limit, and figures at the end.

    python bench/fuzz.py claims   --cases 100000 --seed 1
    python bench/fuzz.py policies --cases 100000 --seed 1
    python bench/fuzz.py batch    --cases 5000   --seed 1

Each campaign draws cases with the fuzz tests' own generators (tests/test_fuzz_*.py,
tests/claim_strategies.py) and judges them with the same strict oracles
(tests/fuzz_oracles.py); unlike a test it does not stop at the first failure: it counts
crashes (an oracle failure or an unexpected exception), hangs (a case over --time-limit; a
case stuck in C code is killed by the parent after 3x the limit) and lost records (claims
campaign: every chunk's cases also go through `eval` and `batch` as JSON lines; batch
campaign: files in, records out), and prints them with the cases run and the time. The same
--seed gives the same cases. Failures are grouped by kind, each with its first reproduction;
`--findings FILE` writes them as JSON. Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POLICYDSL_NO_CACHE", "1")  # millions of one-off policy texts: no cache entries


class Hang(BaseException):
    """A case ran over the time limit (BaseException: policydsl's `except Exception` cannot swallow it)."""


def _alarm(signum, frame):
    raise Hang()


# ---- the targets: one case each -----------------------------------------------------------


def _targets(kind: str):
    from hypothesis import strategies as st

    from tests import claim_strategies as cs
    from tests import fuzz_oracles as fo

    if kind == "claims":
        from policydsl.backends.facts import loads as json_loads
        from tests import test_fuzz_facts as ff

        policies = ff.POLICY_LIST

        def case(data, lines):
            how = data.draw(st.sampled_from(["python", "json", "junk", "valid", "typed", "raw", "raw"]))
            policy_path, policy = ff.EXAMPLE_POLICY, ff.POLICY
            if how in ("valid", "typed", "raw"):
                policy_path, policy = policies[data.draw(st.integers(0, len(policies) - 1))]
            if how == "python":
                claim = data.draw(ff.mutated_claims())
                text = None
            elif how == "junk":
                claim = data.draw(ff.junk)
                text = None
            elif how == "json":
                text = ff.to_json(data.draw(ff.mutated_claims(python_only=False)))
                if data.draw(st.booleans()):
                    at = data.draw(st.integers(0, len(text)))
                    text = text[:at] + data.draw(st.text(max_size=3)) + text[at + data.draw(st.integers(0, 3)) :]
                claim = None
            else:
                claim = data.draw(cs.claims(policy, edges=True))
                if how == "typed":
                    claim = data.draw(cs.typed_mutations(policy, claim))
                text = None
                if how == "raw":
                    targets = [p for p, _ in cs.schema_paths(policy, claim)] + [()]
                    text = cs.raw_json(claim, data.draw(st.sampled_from(targets)), data.draw(st.sampled_from(cs.RAW_NUMBERS)))
            if text is not None:
                _progress(f"{policy_path}\n{text}")
                lines.setdefault(str(policy_path), []).append(text.replace("\n", " ").encode("utf-8", "surrogatepass"))
                try:
                    claim = json_loads(text)
                except ValueError as error:
                    if "Exceeds the limit" in str(error):
                        fo.fail(f"facts.loads: {error}", "numbers (facts.py)")
                    return
            else:
                _progress(f"{policy_path}\n{_short(claim)}")
                try:
                    lines.setdefault(str(policy_path), []).append(cs.dumps(claim).encode("utf-8", "surrogatepass"))
                except (TypeError, ValueError, RecursionError):
                    pass
            fo.check_claim(policy, claim, invariants_hold=True)

        return case

    if kind == "policies":
        from tests import test_fuzz_policy as fp

        def case(data, lines):
            if data.draw(st.integers(0, 2)) == 0:
                path, text = data.draw(fp.mutated_policies())
                _progress(text)
                fp.check_text(text, str(path.parent / "mutated.policy"), fp.CLAIMS[path], fp.POLICIES, generated=1, draw=data.draw)
            else:
                text, claims = data.draw(fp.generated_policies())
                _progress(text)
                fp.check_text(text, "generated.policy", claims, generated=1, draw=data.draw)

        return case

    if kind == "batch":
        from tests import test_fuzz_batch as fb

        def case(data, lines):
            which = data.draw(st.sampled_from(["jsonl", "csv", "csv", "parquet"]))
            if which == "jsonl":
                found = data.draw(fb.jsonl_lines())
                _progress(repr(found))
                fb.check_jsonl(found)
            elif which == "csv":
                found = data.draw(fb.csv_files())
                _progress(repr(found))
                fb.check_csv(*found)
            else:
                found = data.draw(fb.parquet_tables())
                _progress(repr(found))
                fb.check_parquet(*found)

        return case
    raise SystemExit(f"unknown campaign {kind!r}")


def _short(value, size: int = 4000) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4,300 digits
        text = "<a claim holding an int too long for repr>"
    return text if len(text) <= size else text[: size - 3] + "..."


_PROGRESS: list = [None]


def _progress(text: str) -> None:
    """The case about to run, for the parent to report if this process must be killed."""
    _PROGRESS[1:] = [text]


# ---- a chunk of cases, in a worker process -----------------------------------------------------


def _key(error: BaseException) -> str:
    area = getattr(error, "area", "")
    message = str(error).splitlines()[0] if str(error) else ""
    message = re.sub(r"\d+", "N", message)[:120]
    where = ""
    if not hasattr(error, "area"):
        frames = [f for f in traceback.extract_tb(error.__traceback__) if "/policydsl/" in f.filename]
        if frames:
            where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}"
    return f"{type(error).__name__}{where} [{area}]: {message}" if area else f"{type(error).__name__}{where}: {message}"


def run_chunk(kind: str, seed: int, cases: int, time_limit: float, status_path: str, out_queue) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed
    from hypothesis import strategies as st

    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
    case = _targets(kind)
    signal.signal(signal.SIGALRM, _alarm)
    figures = {"cases": 0, "crashes": 0, "hangs": 0, "lost": 0, "findings": {}}
    lines: dict = {}
    status = open(status_path, "w", encoding="utf-8", errors="surrogatepass")  # noqa: SIM115

    def record(error: BaseException, what: str) -> None:
        key = ("hang: " if what == "hangs" else "") + _key(error)
        figures[what] += 1
        found = figures["findings"].setdefault(key, {"count": 0, "repro": _PROGRESS[-1], "seed": seed, "error": str(error)[:2000]})
        found["count"] += 1

    @settings(max_examples=cases, database=None, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck), derandomize=False)
    @with_seed(seed)
    @given(st.data())
    def run(data):
        figures["cases"] += 1
        _PROGRESS[1:] = [None]
        if True:
            status.seek(0)
            status.write(f"{figures['cases']}\n")
            status.flush()
        signal.setitimer(signal.ITIMER_REAL, time_limit)
        try:
            case(data, lines)
        except Hang as error:
            record(error, "hangs")
        except MemoryError as error:
            record(error, "crashes")
        except Exception as error:  # noqa: BLE001 - counted, grouped, reported
            if type(error).__module__.startswith("hypothesis"):
                raise
            record(error, "crashes")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    try:
        run()
    except Exception as error:  # noqa: BLE001 - Hypothesis itself stopped
        figures["findings"].setdefault(f"campaign stopped: {type(error).__name__}: {str(error)[:200]}", {"count": 1, "repro": None, "seed": seed})
    if kind == "claims":
        _lost_records(lines, figures, seed)
    out_queue.put(figures)


def _lost_records(lines: dict, figures: dict, seed: int) -> None:
    """The chunk's cases as JSON lines, through `eval` and `batch`: a record per line, the same records."""
    from tests import test_fuzz_batch as fb

    for policy_path, chunk in lines.items():
        expected = sum(1 for line in chunk if line.strip())
        try:
            fb.check_jsonl(chunk, policy_path)
        except AssertionError as error:
            match = re.search(r"(\d+) records in, (\d+) out", str(error))
            figures["lost"] += max(0, int(match.group(1)) - int(match.group(2))) if match else 0
            figures["crashes"] += 1
            _PROGRESS[1:] = [f"{policy_path}: {expected} lines (seed {seed})"]
            key = f"eval/batch: {re.sub(r'[0-9]+', 'N', str(error).splitlines()[0])[:150]}"
            figures["findings"].setdefault(key, {"count": 0, "repro": b"\n".join(chunk[:50]).decode("utf-8", "replace")[:6000], "seed": seed, "error": str(error)[:2000]})
            figures["findings"][key]["count"] += 1
        except Exception as error:  # noqa: BLE001
            figures["crashes"] += 1
            figures["findings"].setdefault(f"eval/batch crashed: {_key(error)}", {"count": 1, "repro": policy_path, "seed": seed, "error": str(error)[:2000]})


# ---- the campaign ------------------------------------------------------------------------------


def campaign(kind: str, cases: int, seed: int, workers: int, chunk: int, time_limit: float, findings: str | None = None) -> dict:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    total = {"cases": 0, "crashes": 0, "hangs": 0, "lost": 0, "findings": {}}
    pending = [(index, min(chunk, cases - index * chunk)) for index in range((cases + chunk - 1) // chunk)]
    running: dict = {}
    started = time.perf_counter()
    folder = tempfile.mkdtemp(prefix="policydsl-fuzz-")
    last_report = started

    def merge(figures: dict) -> None:
        for name in ("cases", "crashes", "hangs", "lost"):
            total[name] += figures[name]
        for key, found in figures["findings"].items():
            if key in total["findings"]:
                total["findings"][key]["count"] += found["count"]
            else:
                total["findings"][key] = found

    while pending or running:
        while pending and len(running) < workers:
            index, size = pending.pop(0)
            status = os.path.join(folder, f"chunk-{index}")
            process = context.Process(target=run_chunk, args=(kind, seed * 1_000_003 + index, size, time_limit, status, queue), daemon=True)
            process.start()
            running[process.pid] = (process, index, size, status, time.monotonic())
        try:
            merge(queue.get(timeout=1))
        except Exception:  # noqa: BLE001 - queue.Empty
            pass
        for pid, (process, index, size, status, since) in list(running.items()):
            if not process.is_alive() and process.exitcode is not None:
                process.join()
                del running[pid]
                if process.exitcode != 0:
                    total["crashes"] += 1
                    total["findings"].setdefault(f"worker exited {process.exitcode}", {"count": 0, "repro": f"seed {seed * 1_000_003 + index}", "seed": seed})["count"] += 1
                continue
            try:
                stale = time.time() - os.path.getmtime(status)
            except OSError:
                stale = time.monotonic() - since
            if stale > 3 * time_limit + 5:  # the alarm did not stop the case: stuck in C code
                process.kill()
                process.join()
                del running[pid]
                total["hangs"] += 1
                total["findings"].setdefault("hang: worker stuck, killed", {"count": 0, "repro": f"chunk seed {seed * 1_000_003 + index}", "seed": seed})["count"] += 1
        while not queue.empty():
            merge(queue.get())
        if time.perf_counter() - last_report > 30:
            last_report = time.perf_counter()
            if findings:  # so far: a campaign stopped early still leaves its figures
                total["seconds"] = round(last_report - started, 1)
                Path(findings).write_text(json.dumps(total, indent=1, ensure_ascii=False, default=str), encoding="utf-8", errors="surrogatepass")
            print(f"  ... {total['cases']:,} cases, {total['crashes']} crashes, {total['hangs']} hangs, {total['lost']} lost, {last_report - started:.0f} s", file=sys.stderr, flush=True)
    while not queue.empty():
        merge(queue.get())
    total["seconds"] = round(time.perf_counter() - started, 1)
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["claims", "policies", "batch"])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)))
    parser.add_argument("--chunk", type=int, default=1_000, help="cases per worker process (each chunk has its own derived seed)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per case before it counts as a hang")
    parser.add_argument("--findings", metavar="FILE", help="write the findings (kind, count, first reproduction) as JSON")
    args = parser.parse_args(argv)
    total = campaign(args.kind, args.cases, args.seed, args.workers, args.chunk, args.time_limit, args.findings)
    print(f"{args.kind} campaign, seed {args.seed}: {total['cases']:,} cases, {total['crashes']} crashes, {total['hangs']} hangs, "
          f"{total['lost']} lost records, {total['seconds']} s")
    for key, found in sorted(total["findings"].items(), key=lambda item: -item[1]["count"]):
        repro = found.get("repro")
        print(f"\n[{found['count']}x] {key}\n    seed {found.get('seed')}; first case: {(repro or '')[:600]!s}")
    if args.findings:
        Path(args.findings).write_text(json.dumps(total, indent=1, ensure_ascii=False, default=str), encoding="utf-8", errors="surrogatepass")
    return 1 if total["crashes"] or total["hangs"] or total["lost"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
