"""The full differential comparison: the reference interpreter against the generated code.

    python bench/differential.py                      # 2,000 claims per policy, the same every run
    python bench/differential.py --claims 10000 --seed 7
    python bench/differential.py --policy jiangxi     # the policies whose name contains "jiangxi"

Takes every bundled policy and the every-construct policy of tests/test_differential.py,
builds claims with its strategies (valid facts from each policy's input schema, one in five
with values at the limits; dates in every segment and outside the policy's period) and
judges each with its `compare` (interpreter vs fast generated run, fast vs traced run,
finished outputs vs `Policy.run_traced`). Unlike the test it does not stop at the first
difference: it prints, per policy, the claims that agree, that both sides refuse with the
same code (by code), that differ (with the first one), and facts the reader refused, then
the time. Exit status 1 when anything differed.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POLICYDSL_NO_CACHE", "1")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2_000, help="claims per policy (default 2,000)")
    parser.add_argument("--seed", type=int, default=None, help="a random seed (default: derandomized, the same claims every run)")
    parser.add_argument("--policy", default="", help="only the policies whose name contains this")
    options = parser.parse_args(argv)

    from hypothesis import HealthCheck, given, seed, settings

    from tests import test_differential as td

    chosen = {name: policy for name, policy in td.POLICIES.items() if options.policy in name}
    if not chosen:
        parser.error(f"no policy name contains {options.policy!r}")
    quiet = settings(
        max_examples=options.claims,
        deadline=None,
        database=None,
        derandomize=options.seed is None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )
    width = max(map(len, chosen))
    print(f"{'policy':<{width}}  {'claims':>6}  {'agree':>6}  {'both failed':>11}  {'disagree':>8}  {'refused':>7}  {'seconds':>7}  both failed with")
    differed = 0
    firsts = []
    for name, policy in chosen.items():
        counts: collections.Counter = collections.Counter()
        codes: collections.Counter = collections.Counter()
        first: list = []

        def judge(facts):
            try:
                verdict, code = td.compare(policy, facts)
            except td.Disagreement as disagreement:
                counts["disagree"] += 1
                if not first:
                    first.append(str(disagreement))
                return
            counts[verdict] += 1
            if code is not None:
                codes[code] += 1

        run = quiet(given(td.claims_for(policy))(judge))
        if options.seed is not None:
            run = seed(options.seed)(run)
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        failed = ", ".join(f"{code} {count}" for code, count in sorted(codes.items())) or "-"
        total = sum(counts.values())
        print(
            f"{name:<{width}}  {total:>6}  {counts[td.AGREE]:>6}  {counts[td.BOTH_FAILED]:>11}  {counts['disagree']:>8}  "
            f"{counts[td.REFUSED]:>7}  {seconds:>7.1f}  {failed}",
            flush=True,
        )
        differed += counts["disagree"]
        if first:
            firsts.append((name, first[0]))
    for name, message in firsts:
        print(f"\nfirst difference in {name}:\n{message}")
    return 1 if differed else 0


if __name__ == "__main__":
    sys.exit(main())
