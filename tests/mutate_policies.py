"""Mutation testing of the bundled policies' rules (issue 20): does a test beside a policy fail
when one of its rules is changed?

Each mutant changes one place of one policy's text: a comparison one step (`>=` to `>`, `<` to
`<=`, and back), `and` to `or`, `+` to `-`, `min(` to `max(`, a rounding mode, a percentage by
one point, a money amount by one yuan, a number of months by one. The mutant is checked and
its tests run -- its own `X.tests.json` and those of every policy that extends it, directly or
not -- in this process. It is

- killed when a test's value or error code differs from the expectation (not explanation text:
  the tests beside policies compare values and codes only);
- stillborn when the mutant does not check (the checker caught it): not counted;
- a survivor otherwise, listed with its place, so a case can be added at that edge. Each
  survivor is then run against the unchanged policy on claims generated from the policy's schema
  (`policydsl.tools.generate`, `--claims` of them, the same for both): a claim on which some
  output or error code differs shows the mutant changes behaviour (a test is missing; the claim
  is the start of one); when no generated claim tells them apart the survivor is listed as
  possibly equivalent (to be argued, or shown otherwise by a hand case);
- equivalent when it is argued so in tests/mutation_equivalents.py (and no generated claim tells
  it apart: one that does is reported as wrongly listed). The score leaves equivalents out.

    python -m tests.mutate_policies                 # every mutant, a report on stdout
    python -m tests.mutate_policies --sample 30     # a seeded sample
    python -m tests.mutate_policies --markdown docs/mutation-policies.md

Takes: the policies folder of this repository. Gives: `Outcome`s, one per mutant.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import attrs

import policydsl
from policydsl.diagnostics.model import PolicydslError
from policydsl.tools import testing

from tests.mutation_equivalents import EQUIVALENT

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"

# Strings and comments are skipped; each other match is one place a mutant may change.
_SKIP = r'"(?:[^"\\\n]|\\.)*"|#[^\n]*'
_OPERATORS = [
    (r">=", ">"), (r"(?<![<>!=])>(?!=)", ">="), (r"<=", "<"), (r"(?<![<>!=])<(?!=)", "<="),
    (r"≥", ">"), (r"≤", "<"),
    (r"\band\b", "or"), (r"\bor\b", "and"),
    (r"(?<=\s)\+(?=\s)", "-"), (r"(?<=\s)-(?=\s)", "+"),
    (r"\bmin\(", "max("), (r"\bmax\(", "min("),
    (r"\bhalf_up\b", "down"),
]
_PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)%")
_MONEY = re.compile(r"(?<![\w.])(\d[\d_]*(?:\.\d+)?)(\s*(?:yuan|元))\b")
_MONTHS = re.compile(r"(?<![\w.])(\d+)(\s*(?:months?|个月))")


@attrs.frozen
class Mutant:
    path: Path  # the policy file changed
    start: int
    end: int
    replacement: str
    line: int
    original: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end :]

    def describe(self) -> str:
        return f"{self.path.relative_to(POLICIES)}:{self.line}: `{self.original}` -> `{self.replacement}`"


@attrs.frozen
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, equivalent, stillborn
    by: str = ""  # the test that killed it
    witness: dict | None = None  # a survivor: a generated claim the mutant decides otherwise
    differs: str = ""  # what differs on the witness


def mutants_of(path: Path) -> list[Mutant]:
    """Every mutant of one policy file, in text order."""
    text = path.read_text(encoding="utf-8")
    skipped = [m.span() for m in re.finditer(_SKIP, text)]

    def free(start: int) -> bool:
        return not any(a <= start < b for a, b in skipped)

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    found: list[Mutant] = []
    for pattern, replacement in _OPERATORS:
        for match in re.finditer(pattern, text):
            if free(match.start()):
                found.append(Mutant(path, match.start(), match.end(), replacement, line_of(match.start()), match.group()))
    for pattern, step in ((_PERCENT, "1"), (_MONEY, "1"), (_MONTHS, "1")):
        for match in pattern.finditer(text):
            if not free(match.start()):
                continue
            number = match.group(1)
            value = Decimal(number.replace("_", "")) + Decimal(step)
            shown = f"{value}{match.group(2)}" if pattern is not _PERCENT else f"{value}%"
            found.append(Mutant(path, match.start(), match.end(), shown, line_of(match.start()), match.group()))
    return sorted(found, key=lambda m: (m.start, m.replacement))


def _extends_graph() -> dict[Path, list[Path]]:
    """policy file -> the policy files that extend it, directly or not."""
    direct: dict[Path, list[Path]] = {}
    for path in sorted(POLICIES.glob("**/*.policy")):
        found = re.search(r'^\s*extends\s+"([^"]+)"', path.read_text(encoding="utf-8"), re.M)
        if found:
            direct.setdefault((POLICIES / f"{found.group(1)}.policy").resolve(), []).append(path.resolve())
    every: dict[Path, list[Path]] = {}
    for path in sorted(POLICIES.glob("**/*.policy")):
        stack, seen = [path.resolve()], []
        while stack:
            for child in direct.get(stack.pop(), []):
                if child not in seen:
                    seen.append(child)
                    stack.append(child)
        every[path.resolve()] = seen
    return every


def _tested(policy_paths) -> list[Path]:
    return [p for p in policy_paths if testing.tests_path_for(p).is_file()]


def judge(mutant: Mutant, copy: Path, descendants: dict[Path, list[Path]], claims: int = 300) -> Outcome:
    """Write the mutant into the copy of the policies folder, run the tests it can fail."""
    relative = mutant.path.resolve().relative_to(POLICIES.resolve())
    target = copy / relative
    original = target.read_text(encoding="utf-8")
    reached = [mutant.path.resolve(), *descendants[mutant.path.resolve()]]  # the policies the mutant changes
    target.write_text(mutant.apply(original), encoding="utf-8")
    try:
        try:
            policydsl.load(target, root=copy)
        except PolicydslError:
            return Outcome(mutant, "stillborn")
        for path in _tested(reached):
            mirrored = copy / path.relative_to(POLICIES.resolve())
            tests = testing.read_tests(testing.tests_path_for(mirrored))
            try:
                policy = policydsl.load(mirrored, root=copy)
            except PolicydslError:
                return Outcome(mutant, "killed", f"{path.relative_to(POLICIES.resolve())} no longer checks")
            for case in tests.cases:
                if not testing.run_case(policy, tests, case).passed:
                    return Outcome(mutant, "killed", f"{path.relative_to(POLICIES.resolve()).with_suffix('')}.tests.json :: {case.name}")
        witness, differs = _distinguishing_claim(reached, copy, target, original, claims)
        listed = mutant.describe() in EQUIVALENT
        return Outcome(mutant, "equivalent" if listed and witness is None else "survived", witness=witness, differs=differs)
    finally:
        target.write_text(original, encoding="utf-8")


def _outcome(policy, claim) -> tuple:
    try:
        return ("decided", policy.evaluate(claim).outputs)
    except PolicydslError as error:
        return ("refused", testing.error_code(error))


def _distinguishing_claim(reached: list[Path], copy: Path, target: Path, original: str, claims: int):
    """(a generated claim some policy the mutant reaches decides otherwise, what differs), or (None, "")."""
    from policydsl.tools.generate import generate

    mutated_text = target.read_text(encoding="utf-8")
    for path in reached:
        mirrored = copy / path.relative_to(POLICIES.resolve())
        try:
            changed = policydsl.load(mirrored, root=copy)
            target.write_text(original, encoding="utf-8")
            unchanged = policydsl.load(mirrored, root=copy)
        except PolicydslError:
            continue
        finally:
            target.write_text(mutated_text, encoding="utf-8")
        for claim in generate(unchanged, claims, seed=7):
            before, after = _outcome(unchanged, claim), _outcome(changed, claim)
            if before != after:
                if before[0] == after[0] == "decided":
                    names = [n for n in before[1] if before[1][n] != after[1].get(n)]
                    differs = ", ".join(f"{n}: {before[1][n]} -> {after[1].get(n)}" for n in names[:3])
                else:
                    differs = f"{before[0]} {before[1] if before[0] == 'refused' else ''} -> {after[0]} {after[1] if after[0] == 'refused' else ''}"
                return {"policy": str(path.relative_to(POLICIES.resolve())), **claim}, differs
    return None, ""


def run(paths: list[Path] | None = None, sample: int | None = None, seed: int = 1, claims: int = 300) -> list[Outcome]:
    paths = paths or sorted(POLICIES.glob("**/*.policy"))
    mutants = [m for path in paths for m in mutants_of(path)]
    if sample is not None and sample < len(mutants):
        mutants = sorted(random.Random(seed).sample(mutants, sample), key=lambda m: (str(m.path), m.start))
    descendants = _extends_graph()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "policies"
        shutil.copytree(POLICIES, copy)
        return [judge(mutant, copy, descendants, claims) for mutant in mutants]


def score(outcomes: list[Outcome]) -> tuple[int, int]:
    """(killed, counted): counted leaves out stillborn and equivalent mutants."""
    counted = [o for o in outcomes if o.status in ("killed", "survived")]
    return sum(o.status == "killed" for o in counted), len(counted)


def report(outcomes: list[Outcome], seconds: float, markdown: bool = False) -> str:
    killed, counted_n = score(outcomes)
    equivalent = [o for o in outcomes if o.status == "equivalent"]
    stillborn = sum(o.status == "stillborn" for o in outcomes)
    lines = [f"{len(outcomes)} mutants: {killed} killed, {counted_n - killed} survived, {len(equivalent)} equivalent "
             f"(tests/mutation_equivalents.py), {stillborn} stillborn (the checker refused them); "
             f"score {killed / counted_n if counted_n else 1:.1%} of {counted_n} counted ({seconds:.0f} s)"]
    counted = [o for o in outcomes if o.status in ("killed", "survived")]
    by_policy: dict[Path, list[Outcome]] = {}
    for outcome in counted:
        by_policy.setdefault(outcome.mutant.path, []).append(outcome)
    if markdown:
        lines += ["", "| policy | mutants counted | killed | score |", "|---|---|---|---|"]
    for path, found in sorted(by_policy.items()):
        dead = sum(o.status == "killed" for o in found)
        name = path.relative_to(POLICIES)
        lines.append(f"| `{name}` | {len(found)} | {dead} | {dead / len(found):.0%} |" if markdown else f"  {name}: {dead}/{len(found)} killed")
    survivors = [o for o in counted if o.status == "survived"]
    told = [o for o in survivors if o.witness is not None]
    untold = [o for o in survivors if o.witness is None]
    if told:
        lines += ["", f"Survivors that a generated claim tells apart ({len(told)}: a test is missing):", ""]
        lines += [f"- {o.mutant.describe()}: claim {o.witness.get('claim_id')} of {o.witness['policy']}: {o.differs}" for o in told]
    if untold:
        lines += ["", f"Survivors no generated claim tells apart ({len(untold)}: possibly equivalent, not argued yet):", ""]
        lines += [f"- {o.mutant.describe()}" for o in untold]
    if equivalent and markdown:
        lines += ["", f"Equivalent mutants ({len(equivalent)}), with the argument:", ""]
        lines += [f"- {o.mutant.describe()}: {EQUIVALENT[o.mutant.describe()]}" for o in equivalent]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, help="a seeded sample of this many mutants")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--claims", type=int, default=300, help="generated claims to tell a survivor apart (default 300)")
    parser.add_argument("--markdown", help="write the report as Markdown to this file")
    parser.add_argument("paths", nargs="*", type=Path, help="policy files (default: every bundled policy)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    outcomes = run([p.resolve() for p in args.paths] or None, args.sample, args.seed, args.claims)
    seconds = time.perf_counter() - started
    text = report(outcomes, seconds, markdown=bool(args.markdown))
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    sys.stdout.write(report(outcomes, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
