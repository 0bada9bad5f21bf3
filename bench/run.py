"""The benchmark of issue 5: the compiled engine against a hand-written yardstick, in one run.

    python bench/run.py            # ~1 minute: 20,000 generated claims, 7 interleaved rounds
    python bench/run.py --smoke    # a few seconds: checks that it runs (CI), not how fast

Why this shape: the question is how the compiled policy compares with plain Python written
by hand for the same rules (bench/handwritten.py), so both run in the same process on the
same claims (already parsed into dicts, tracing off), in alternating rounds, and the ratio
is taken per round; long-lived claims are frozen out of the garbage collector for both.
Load times are measured in fresh processes, since a cold start is what a new process pays.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLICY = ROOT / "policies" / "example" / "resident-2025.policy"
sys.path.insert(0, str(HERE))

import generate_claims  # noqa: E402
from machine import cpu_name  # noqa: E402
import handwritten  # noqa: E402


# ---- the load cache, wired in here until parser.py / policy.py call it themselves -------


def wire_cache() -> str:
    """Route parsing through `policydsl.link.cache` if the package does not do so yet.

    Wraps the names `analyze` calls (parse_tree, lower) rather than replacing it, so the
    benchmark measures the package's own analysis. Returns how the cache is wired.
    """
    from policydsl.link import cache
    from policydsl import api as policy_module

    how = []
    # Lark's tables ship in the package (policydsl/grammar_tables.json): nothing to wire.
    parse_source = getattr(policy_module, "parse_source", None)
    if parse_source is not None and "cache" not in parse_source.__code__.co_names:
        # policy.parse_source: text -> (AST, diagnostics) for one file; cache what it makes.
        def cached_parse_source(source):
            found = cache.load_ast(source)
            if found is not None:
                return found
            policy_file, diagnostics = parse_source(source)
            if policy_file is not None:
                cache.store_ast(source, (policy_file, diagnostics))
            return policy_file, diagnostics

        policy_module.parse_source = cached_parse_source
        how.append("ASTs")
    elif parse_source is None and "cache" not in policy_module.analyze.__code__.co_names:
        # An older policy.py parses inside analyze: wrap the two names it calls.
        real_parse, real_lower = policy_module.parse_tree, policy_module.lower

        class Hit:
            def __init__(self, value):
                self.value = value

        def parse_tree(source):
            found = cache.load_ast(source)
            return Hit(found) if found is not None else real_parse(source)

        def lower(tree, source):
            if isinstance(tree, Hit):
                return tree.value
            value = real_lower(tree, source)
            cache.store_ast(source, value)
            return value

        policy_module.parse_tree, policy_module.lower = parse_tree, lower
        how.append("ASTs")
    return "patched in by bench/run.py: " + " and ".join(how) if how else "built into policydsl"


# ---- measurements --------------------------------------------------------------------------


# Throughput and load times are CPU time of this process: what the work costs, whatever
# else the machine is running. Single-claim latencies are wall-clock time.
clock = time.process_time


def per_claim_seconds(function, claims) -> float:
    start = clock()
    for claim in claims:
        function(claim)
    return (clock() - start) / len(claims)


def latencies_us(function, claims) -> list[float]:
    wall = time.perf_counter_ns
    out = []
    for claim in claims:
        start = wall()
        function(claim)
        out.append((wall() - start) / 1000)
    out.sort()
    return out


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def load_probe(mode: str) -> None:
    """Run in a fresh process: time `import policydsl` and `load` the example policy."""
    start = clock()
    import policydsl

    imported = clock()
    if mode != "nocache":
        wire_cache()
    if mode == "tables":  # a policy never loaded before: the shipped grammar tables, no AST
        from policydsl.link import cache

        cache.load_ast = lambda source, includes=(): None
    before = clock()
    policydsl.load(POLICY)
    loaded = clock()
    print(json.dumps({"import_ms": (imported - start) * 1e3, "load_ms": (loaded - before) * 1e3}))


def fresh_load(mode: str, cache_dir: str) -> dict:
    env = dict(os.environ, POLICYDSL_CACHE_DIR=cache_dir)
    env.pop("POLICYDSL_NO_CACHE", None)
    if mode == "nocache":
        env["POLICYDSL_NO_CACHE"] = "1"
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--load-probe", mode],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the compiled engine against the hand-written yardstick.")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the benchmark works (CI)")
    parser.add_argument("-n", "--claims", type=int, help="generated claims per round (default 20000; smoke 300)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 7; smoke 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--load-probe", choices=["nocache", "tables", "cache"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_probe:
        load_probe(args.load_probe)
        return 0
    count = args.claims or (300 if args.smoke else 20_000)
    rounds = args.rounds or (2 if args.smoke else 7)
    load_repeats = 1 if args.smoke else 5

    import policydsl
    from policydsl.link import cache

    wiring = wire_cache()
    policy = policydsl.load(POLICY)
    claims = list(generate_claims.generate(count, args.seed))
    print(f"policydsl benchmark{' (smoke mode: checks that it runs, not how fast)' if args.smoke else ''}")
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"workload: example province policy, {count:,} generated claims (seed {args.seed}), "
          f"facts as dicts, tracing off, one process, {rounds} interleaved rounds")

    mismatched = sum(
        1 for claim in claims
        if {k: str(v) for k, v in policy.evaluate(claim).outputs.items()}
        != {k: str(v) for k, v in handwritten.evaluate(claim).items()}
    )
    print(f"engine and yardstick agree on {count - mismatched:,} of {count:,} claims")

    engine, yardstick = policy.evaluate, handwritten.evaluate
    gc.collect()
    gc.freeze()  # the claims live all run long; neither side should pay to re-scan them
    per_engine, per_hand, ratios = [], [], []
    blocks = [claims[start : start + 500] for start in range(0, count, 500)]
    for _ in range(rounds):
        # Alternate in blocks of 500 claims, so that a busy moment of the machine falls on both.
        spent = {engine: 0.0, yardstick: 0.0}
        for number, block in enumerate(blocks):
            for function in (engine, yardstick) if number % 2 == 0 else (yardstick, engine):
                spent[function] += per_claim_seconds(function, block) * len(block)
        per_engine.append(spent[engine] / count)
        per_hand.append(spent[yardstick] / count)
        ratios.append(per_hand[-1] / per_engine[-1])
    engine_s, hand_s, ratio = statistics.median(per_engine), statistics.median(per_hand), statistics.median(ratios)
    print("throughput (CPU time, median of rounds):")
    print(f"  engine    policy.evaluate      {1 / engine_s:>10,.0f} claims/s  {engine_s * 1e6:6.2f} µs/claim")
    print(f"  yardstick bench/handwritten.py {1 / hand_s:>10,.0f} claims/s  {hand_s * 1e6:6.2f} µs/claim")
    print(f"ratio engine/yardstick: {ratio:.2f}x  (rounds: {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"issue 5 asks >= 0.50x)")

    sample = claims[: min(count, 20_000)]
    engine_lat, hand_lat = latencies_us(engine, sample), latencies_us(yardstick, sample)
    print(f"single-claim evaluation, {len(sample):,} claims timed one by one (wall clock):")
    for label, values in (("engine   ", engine_lat), ("yardstick", hand_lat)):
        print(f"  {label}  p50 {percentile(values, 0.50):6.1f} µs   p99 {percentile(values, 0.99):6.1f} µs")

    traced_sample = claims[: min(count, 2_000)]
    untraced = per_claim_seconds(engine, traced_sample)
    traced_run = per_claim_seconds(lambda c: policy.run_traced(engine(c).inputs), traced_sample)
    explained = per_claim_seconds(lambda c: engine(c).explanation(), traced_sample)
    print(f"tracing on, {len(traced_sample):,} claims, CPU time (untraced evaluate: {untraced * 1e6:.1f} µs/claim):")
    print(f"  evaluate + traced run (the trace)           {traced_run * 1e6:7.1f} µs/claim  {traced_run / untraced:5.1f}x untraced")
    print(f"  evaluate + explanation() (trace + building) {explained * 1e6:7.1f} µs/claim  {explained / untraced:5.1f}x untraced")
    gc.unfreeze()

    with tempfile.TemporaryDirectory(prefix="policydsl-bench-cache-") as cache_dir:
        cold = [fresh_load("nocache", cache_dir) for _ in range(load_repeats)]
        fresh_load("cache", cache_dir)  # fills the cache
        tables = [fresh_load("tables", cache_dir) for _ in range(load_repeats)]
        warm = [fresh_load("cache", cache_dir) for _ in range(load_repeats)]
        os.environ["POLICYDSL_CACHE_DIR"] = cache_dir
        os.environ.pop("POLICYDSL_NO_CACHE", None)
        in_process = []
        for _ in range(max(5, load_repeats * 4)):
            start = clock()
            policydsl.load(POLICY)
            in_process.append((clock() - start) * 1e3)
        cache.clear_memory()
    median = statistics.median
    print(f"loading the example policy, CPU time (parse + check + compile; cache: {wiring}):")
    print(f"  cold: new process, no cache         import {median(c['import_ms'] for c in cold):6.1f} ms"
          f" + load {median(c['load_ms'] for c in cold):6.1f} ms")
    print(f"  new process, policy not seen before import {median(c['import_ms'] for c in tables):6.1f} ms"
          f" + load {median(c['load_ms'] for c in tables):6.1f} ms")
    print(f"  warm: new process, cache filled     import {median(c['import_ms'] for c in warm):6.1f} ms"
          f" + load {median(c['load_ms'] for c in warm):6.1f} ms")
    print(f"  warm: same process, cache filled    load {median(in_process):6.2f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    print(f"peak memory (ru_maxrss of this process, {count:,} claims held in memory): {peak_mb:.0f} MB")
    return 0 if mismatched == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
