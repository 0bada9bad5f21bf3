"""`policydsl diff OLD NEW CLAIMS`: which claims change, by how much, and why.

Every claim is evaluated under both versions. The report gives:

* how many claims changed (any output), and per output how many claims it changed in;
* the total of every money output before and after, and the difference; the total paid by
  the funds (the *layers*: by default every money output except the bill, its parts and the
  patient's share, see `NOT_LAYERS`; `--layers a,b,c` chooses) is the fund's cost of the change;
* the distribution of the per-claim change of the funds' payment, over the claims where it
  changed: min, quartiles and max by the nearest-rank method (Qp is the smallest value with
  at least p% of the values at or below it, so every figure is one claim's real change),
  and a text histogram of up to 8 equal-width bins (the last bin includes its upper edge);
* the claims that changed most (by the size of the change of the funds' payment, then by the
  number of outputs changed), each with the explanation lines that differ;
* which policy each side is (its provenance: id, version, period, digest), and a warning
  when both sides state the same version but their digests differ (`version_warnings`):
  a version names one text, so a changed text needs a new version.

All sums are exact (Decimal). OLD and NEW are two files, or with `--rev REV` one file at git
revision REV (its whole policies folder is taken at REV, so `extends` sees the old parents)
against the working tree, or with `--rev A..B` at two revisions.
"""

from __future__ import annotations

import difflib
import io
import json
import math
import re
import subprocess
import tarfile
import tempfile
from decimal import Decimal
from pathlib import Path

import attrs

from policydsl.runtime import numbers
from policydsl.check import types as t
from policydsl.runtime import values
from policydsl.backends.facts import claim_id_of
from policydsl.tools.claims_io import UsageError, read_claims
from policydsl.diagnostics.model import PolicydslError, PolicyError

NOT_LAYERS = frozenset(
    {"total", "eligible", "excluded", "self_pay", "out_of_pocket", "patient_pays", "first_pay", "incentive", "basic_deductible", "major_cap"}
)
NOT_LAYER_SUFFIXES = ("_cap", "_deductible", "_threshold", "_room")
TOP = 5
BINS = 8
BAR = 30
GIT_TIMEOUT = 30


# ---- inputs --------------------------------------------------------------------------------


@attrs.frozen
class ClaimInput:
    label: str
    claim: object  # a dict, or the exception that describes why the record is not a claim
    as_of: object = None


def read_claim_set(spec: str) -> list[ClaimInput]:
    """Claims from a .jsonl / .json file (or -), or the claims of a `*.tests.json` file."""
    from policydsl.tools.testing import SUFFIX, TestFileError, read_tests

    if spec.endswith(SUFFIX):
        try:
            tests = read_tests(spec)
        except TestFileError as error:
            raise UsageError(str(error)) from None
        return [ClaimInput(str(case.claim_id) if case.claim_id is not None else case.name, case.claim, case.as_of) for case in tests.cases]
    found = []
    for line, claim in read_claims(spec):
        claim_id = claim_id_of(claim)
        found.append(ClaimInput(str(claim_id) if claim_id is not None else f"line {line}", claim))
    return found


def load_version(path: str, rev: str | None, workdir: Path | None = None):
    """The policy at `path`, or at git revision `rev` (materialised in `workdir`)."""
    from policydsl.api import load

    if rev is None:
        return load(path)
    from policydsl.link.inherit import find_root

    file = Path(path).resolve()
    if not file.parent.is_dir():
        raise UsageError(f"{path}: no such folder {file.parent}")
    commit = _check_revision(rev)
    toplevel = _git(["rev-parse", "--show-toplevel"], file.parent, f"{path} is not in a git repository (--rev needs git)").decode().strip()
    root = find_root(file)
    rel_root = root.relative_to(Path(toplevel).resolve())
    # Nothing from the command line may reach git as an option (`--output=FILE` truncates a
    # file): the revision is looked up after `--end-of-options`, and only the commit id it
    # resolves to (40 or 64 hex digits) is passed on to `git archive`, before `--`.
    resolved = _git(["rev-parse", "--verify", "--end-of-options", commit], Path(toplevel), None, rev=rev, what=str(rel_root)).decode().strip()
    if not _COMMIT_ID.fullmatch(resolved):
        raise UsageError(f"--rev {rev!r}: not a revision of this repository")
    archive = _git(["archive", "--format=tar", resolved, "--", rel_root.as_posix() or "."], Path(toplevel), None, rev=rev, what=str(rel_root))
    assert workdir is not None
    target = Path(workdir)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    old_root = target / rel_root
    old_file = old_root / file.relative_to(root)
    if not old_file.is_file():
        raise UsageError(f"{path} does not exist at revision {rev}")
    return load(old_file, root=old_root)


_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _check_revision(rev: str) -> str:
    """`rev` as git should look it up (`REV^{commit}`), or a UsageError: a revision may not start
    with `-` (git would take it as an option) or hold control characters."""
    if not rev or rev.startswith("-") or any(ord(c) < 32 or ord(c) == 127 for c in rev):
        raise UsageError(f"--rev {rev!r}: not a revision (a revision names a commit, e.g. main or HEAD~1, and does not start with '-')")
    return f"{rev}^{{commit}}"


def _git(arguments: list[str], cwd: Path, not_repo: str | None, rev: str | None = None, what: str = "") -> bytes:
    try:
        done = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise UsageError("--rev needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {arguments[0]} took more than {GIT_TIMEOUT}s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if not_repo is not None:
            raise UsageError(not_repo)
        detail = message[-1] if message else f"exit code {done.returncode}"
        raise UsageError(f"cannot read {what or 'the policies'} at revision {rev!r}: {detail}")
    return done.stdout


# ---- comparing -----------------------------------------------------------------------------


@attrs.define
class Outcome:
    claim: ClaimInput
    old: object  # Decision or error text
    new: object
    changed: list = attrs.Factory(list)  # output names whose value differs
    delta: Decimal | None = None  # change of the funds' payment

    @property
    def decided(self) -> bool:
        return not isinstance(self.old, str) and not isinstance(self.new, str)


def _evaluate(policy, item: ClaimInput, as_of):
    if isinstance(item.claim, Exception):
        return f"not a claim: {item.claim}"
    if not isinstance(item.claim, dict):
        return "not a claim: a claim must be a JSON object"
    try:
        return policy.evaluate(item.claim, as_of=as_of or item.as_of)
    except PolicydslError as error:
        from policydsl.tools.testing import error_code

        code = error_code(error)
        return f"[{code}] {error}" if code else str(error)


def default_layers(policy) -> list[str]:
    return [
        name
        for name, type_ in zip(policy.output_names, policy.output_types)
        if type_ == t.MONEY and name not in NOT_LAYERS and not name.endswith(NOT_LAYER_SUFFIXES)
    ]


def _total(amounts) -> Decimal:
    """The exact sum of money amounts (under `numbers.ROUNDING`, 200 digits: not the caller's
    context, which would round sums past 28 digits)."""
    total = Decimal("0.00")
    for amount in amounts:
        total = numbers.ROUNDING.add(total, amount)
    return total


def nearest_rank(ordered: list[Decimal], percent: int) -> Decimal:
    """The nearest-rank percentile of sorted values: the value at rank ceil(p/100 x N)."""
    rank = max(1, math.ceil(percent * len(ordered) / 100))
    return ordered[rank - 1]


def histogram(ordered: list[Decimal], bins: int = BINS) -> list[tuple[Decimal, Decimal, int]]:
    """Up to `bins` equal-width bins from min to max: (from, to, count); the last includes `to`."""
    low, high = ordered[0], ordered[-1]
    if low == high:
        return [(low, high, len(ordered))]
    count = min(bins, len(set(ordered)))
    width = (high - low) / count
    result = []
    for index in range(count):
        start = low + width * index
        end = high if index == count - 1 else low + width * (index + 1)
        inside = [v for v in ordered if start <= v < end or (index == count - 1 and v == high)]
        result.append((start, end, len(inside)))
    return result


@attrs.define
class Impact:
    old_label: str
    new_label: str
    old_policy: object
    new_policy: object
    claims_label: str
    layers: list[str]
    outcomes: list[Outcome]
    top: int = TOP

    # ---- figures ---------------------------------------------------------------------
    @property
    def money_outputs(self) -> list[str]:
        names = []
        for policy in (self.old_policy, self.new_policy):
            for name, type_ in zip(policy.output_names, policy.output_types):
                if type_ == t.MONEY and name not in names:
                    names.append(name)
        return names

    @property
    def output_names(self) -> list[str]:
        return list(dict.fromkeys([*self.old_policy.output_names, *self.new_policy.output_names]))

    def decided(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.decided]

    def changed(self) -> list[Outcome]:
        return [o for o in self.decided() if o.changed]

    def changed_per_output(self) -> dict[str, int]:
        counts = {name: 0 for name in self.output_names}
        for outcome in self.changed():
            for name in outcome.changed:
                counts[name] += 1
        return {name: count for name, count in counts.items() if count}

    def totals(self) -> dict[str, tuple[Decimal, Decimal]]:
        result = {}
        for name in self.money_outputs:
            before = _total(o.old.outputs.get(name, Decimal(0)) for o in self.decided())
            after = _total(o.new.outputs.get(name, Decimal(0)) for o in self.decided())
            result[name] = (before, after)
        return result

    def funds(self) -> tuple[Decimal, Decimal]:
        totals = self.totals()
        before = _total(totals[name][0] for name in self.layers if name in totals)
        after = _total(totals[name][1] for name in self.layers if name in totals)
        return before, after

    def deltas(self) -> list[Decimal]:
        return sorted(o.delta for o in self.decided() if o.delta)

    def distribution(self) -> dict | None:
        ordered = self.deltas()
        if not ordered:
            return None
        return {
            "claims": len(ordered),
            "min": ordered[0],
            "q1": nearest_rank(ordered, 25),
            "median": nearest_rank(ordered, 50),
            "q3": nearest_rank(ordered, 75),
            "max": ordered[-1],
            "histogram": histogram(ordered),
        }

    def most_changed(self) -> list[Outcome]:
        ranked = sorted(self.changed(), key=lambda o: (-abs(o.delta or 0), -len(o.changed), o.claim.label))
        return ranked[: self.top]

    def undecided(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.decided]

    def warnings(self) -> list[str]:
        return version_warnings(self.old_policy, self.new_policy)

    # ---- explanation lines that differ -------------------------------------------------
    @staticmethod
    def explanation_diff(outcome: Outcome, lang: str = "en") -> list[str]:
        """For each computed value that changed, its explanation lines that differ (`-` old,
        `+` new); a `using` line keeps only the values used that changed (see `changed_uses`)."""
        old_steps = {step.name: step for step in outcome.old.explanation(lang).steps}
        new_steps = {step.name: step for step in outcome.new.explanation(lang).steps}
        lines: list[str] = []
        for name in dict.fromkeys([*new_steps, *old_steps]):
            old_step, new_step = old_steps.get(name), new_steps.get(name)
            if old_step is not None and new_step is not None and old_step.value == new_step.value:
                continue
            before = _short_lines(old_step, new_step, lang)
            after = _short_lines(new_step, old_step, lang)
            matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
            for tag, a0, a1, b0, b1 in matcher.get_opcodes():
                if tag != "equal":
                    lines += [f"- {line}" for line in before[a0:a1]]
                    lines += [f"+ {line}" for line in after[b0:b1]]
        return lines

    # ---- renderings ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        totals = self.totals()
        before, after = self.funds()
        distribution = self.distribution()
        return {
            "old": _describe(self.old_label, self.old_policy),
            "new": _describe(self.new_label, self.new_policy),
            "warnings": self.warnings(),
            "claims": {
                "source": self.claims_label,
                "count": len(self.outcomes),
                "decided": len(self.decided()),
                "changed": len(self.changed()),
            },
            "changed_outputs": self.changed_per_output(),
            "layers": self.layers,
            "totals": {name: _money_row(b, a) for name, (b, a) in totals.items()},
            "funds": _money_row(before, after),
            "distribution": None
            if distribution is None
            else {
                "claims": distribution["claims"],
                "method": "nearest-rank",
                **{k: _signed(distribution[k]) for k in ("min", "q1", "median", "q3", "max")},
                "histogram": [{"from": _signed(a), "to": _signed(b), "claims": c} for a, b, c in distribution["histogram"]],
            },
            "most_changed": [
                {
                    "claim": o.claim.label,
                    "funds_change": _signed(o.delta or Decimal(0)),
                    "outputs": {name: {"before": _json_value(o.old, name), "after": _json_value(o.new, name)} for name in o.changed},
                    "explanation": self.explanation_diff(o),
                }
                for o in self.most_changed()
            ],
            "undecided": [
                {"claim": o.claim.label, "old": o.old if isinstance(o.old, str) else None, "new": o.new if isinstance(o.new, str) else None}
                for o in self.undecided()
            ],
        }

    def text(self) -> str:
        out: list[str] = []
        add = out.append
        add(f"Impact of {self.new_label}")
        add(f"  against {self.old_label}")
        add(f"  old: {_title(self.old_policy)}")
        add(f"       {_which(self.old_policy)}")
        add(f"  new: {_title(self.new_policy)}")
        add(f"       {_which(self.new_policy)}")
        add(f"  claims: {self.claims_label} ({_claims_line(self)})")
        for warning in self.warnings():
            add(f"  warning: {warning}")
        add("")
        changed = self.changed()
        add(f"Claims changed: {len(changed)} of {len(self.decided())}")
        if changed:
            add(f"  {'output':<22} {'claims':>6}")
        for name, count in self.changed_per_output().items():
            add(f"  {name:<22} {count:>6}")
        add("")
        add(self._totals_text())
        add("")
        add(self._distribution_text())
        top = self.most_changed()
        if top:
            add("")
            add(f"Claims that changed most ({len(top)} of {len(changed)})")
            for rank, outcome in enumerate(top, start=1):
                add("")
                add(f"{rank}. {outcome.claim.label}: funds {_signed(outcome.delta or Decimal(0))}")
                for name in outcome.changed:
                    add(f"   {name}: {_json_value(outcome.old, name)} -> {_json_value(outcome.new, name)}")
                for line in self.explanation_diff(outcome):
                    add(f"     {line}")
        undecided = self.undecided()
        if undecided:
            add("")
            add(f"Claims not decided under both versions ({len(undecided)})")
            for outcome in undecided:
                add(f"  {outcome.claim.label}:")
                add(f"    old: {outcome.old if isinstance(outcome.old, str) else 'decided'}")
                add(f"    new: {outcome.new if isinstance(outcome.new, str) else 'decided'}")
        return "\n".join(out) + "\n"

    def _totals_text(self) -> str:
        totals = self.totals()
        rows = [(name, *totals[name]) for name in self.money_outputs]
        before, after = self.funds()
        funds_label = "funds"
        width = max([len(r[0]) for r in rows] + [len(funds_label), 10])
        lines = [f"Totals over {len(self.decided())} claims (yuan)", f"  {'':<{width}}  {'before':>14}  {'after':>14}  {'difference':>14}"]
        for name, b, a in rows:
            mark = " *" if name in self.layers else ""
            lines.append(f"  {name:<{width}}  {values.money(b):>14}  {values.money(a):>14}  {_signed(a - b):>14}{mark}")
        lines.append(f"  {funds_label:<{width}}  {values.money(before):>14}  {values.money(after):>14}  {_signed(after - before):>14}")
        layers = " + ".join(self.layers) if self.layers else "no layers"
        lines.append(f"  * paid by a fund; funds = {layers}: the fund's cost of the change is {_signed(after - before)} yuan")
        return "\n".join(lines)

    def _distribution_text(self) -> str:
        distribution = self.distribution()
        if distribution is None:
            return "Per-claim change of the funds' payment: no claim's payment changed"
        lines = [f"Per-claim change of the funds' payment, over the {distribution['claims']} claims where it changed (yuan)"]
        for key, label in (("min", "min"), ("q1", "q1"), ("median", "median"), ("q3", "q3"), ("max", "max")):
            lines.append(f"  {label:<7} {_signed(distribution[key]):>14}")
        lines.append("  (quartiles by nearest rank: each is one claim's change)")
        lines += ["", *_histogram_lines(distribution["histogram"])]
        return "\n".join(lines)

    def markdown(self) -> str:
        out: list[str] = []
        add = out.append
        changed = self.changed()
        before, after = self.funds()
        add(f"### Impact of `{self.new_label}`")
        add("")
        add(f"Against `{self.old_label}`, on `{self.claims_label}` ({_claims_line(self)}).")
        add("")
        add(f"- old: {_title(self.old_policy)}, {_which(self.old_policy)}")
        add(f"- new: {_title(self.new_policy)}, {_which(self.new_policy)}")
        for warning in self.warnings():
            add(f"- **warning: {warning}**")
        add(f"- **claims changed: {len(changed)} of {len(self.decided())}**")
        add(f"- **fund's cost of the change: {_signed(after - before)} yuan** ({' + '.join(self.layers) or 'no layers'})")
        add("")
        per_output = self.changed_per_output()
        if per_output:
            add("| output | claims changed |")
            add("|---|---:|")
            for name, count in per_output.items():
                add(f"| `{name}` | {count} |")
            add("")
        add("#### Totals (yuan)")
        add("")
        add("| output | before | after | difference |")
        add("|---|---:|---:|---:|")
        for name, (b, a) in self.totals().items():
            label = f"`{name}`" + (" (fund)" if name in self.layers else "")
            add(f"| {label} | {values.money(b)} | {values.money(a)} | {_signed(a - b)} |")
        add(f"| **funds** | **{values.money(before)}** | **{values.money(after)}** | **{_signed(after - before)}** |")
        add("")
        distribution = self.distribution()
        add("#### Per-claim change of the funds' payment")
        add("")
        if distribution is None:
            add("No claim's payment changed.")
        else:
            add(f"Over the {distribution['claims']} claims where it changed; quartiles by nearest rank.")
            add("")
            add("| min | q1 | median | q3 | max |")
            add("|---:|---:|---:|---:|---:|")
            add("| " + " | ".join(_signed(distribution[k]) for k in ("min", "q1", "median", "q3", "max")) + " |")
            add("")
            add("```text")
            out += _histogram_lines(distribution["histogram"], indent="")
            add("```")
        top = self.most_changed()
        if top:
            add("")
            add(f"#### Claims that changed most ({len(top)} of {len(changed)})")
            for outcome in top:
                add("")
                outputs = ", ".join(f"`{n}` {_json_value(outcome.old, n)} → {_json_value(outcome.new, n)}" for n in outcome.changed)
                add(f"**{outcome.claim.label}**: funds {_signed(outcome.delta or Decimal(0))}; {outputs}")
                lines = self.explanation_diff(outcome)
                if lines:
                    add("")
                    add("```diff")
                    out += lines
                    add("```")
        undecided = self.undecided()
        if undecided:
            add("")
            add(f"#### Claims not decided under both versions ({len(undecided)})")
            add("")
            for outcome in undecided:
                old = outcome.old if isinstance(outcome.old, str) else "decided"
                new = outcome.new if isinstance(outcome.new, str) else "decided"
                add(f"- `{outcome.claim.label}`: old: {old}; new: {new}")
        return "\n".join(out) + "\n"


def changed_uses(step, other) -> tuple:
    """The values `step` used (its `Used` data) whose value differs from `other`'s (every one
    when there is no `other`), each shown as `name = value` only (no citations, no period)."""
    theirs = {u.name: u.value for u in other.uses} if other is not None else {}
    return tuple(attrs.evolve(u, citations=(), in_force=None) for u in step.uses if theirs.get(u.name) != u.value)


def _short_lines(step, other, lang: str) -> list[str]:
    """The explanation lines of `step` (none without it), rendered from its data by the
    explanation's renderer with the values used cut down to `changed_uses`."""
    from policydsl.tools.testing import step_lines

    if step is None:
        return []
    return step_lines(step, lang, changed_uses(step, other))


def _histogram_lines(bins, indent: str = "  ") -> list[str]:
    labels = [f"{_signed(a)} to {_signed(b)}" for a, b, _ in bins]
    width = max(len(label) for label in labels)
    most = max(count for *_, count in bins)
    lines = []
    for label, (_, _, count) in zip(labels, bins):
        bar = "#" * (max(1, round(count * BAR / most)) if count else 0)
        lines.append(f"{indent}{label:>{width}}  {bar:<{BAR}}  {count}")
    return lines


def _describe(label: str, policy) -> dict:
    return {"path": label, "title": policy.title, "version": policy.version, "policy": policy.provenance.to_json()}


def _short(digest: str) -> str:
    return digest[:19] + "..."


def _which(policy) -> str:
    """The policy's id and digest: `policy example/resident-2025 (sha256:1f2e3d4c5b6a...)`."""
    return f"policy {policy.provenance.id} ({_short(policy.provenance.digest)})"


def version_warnings(old_policy, new_policy) -> list[str]:
    """A warning when both policies state the same version but their digests differ: the
    texts along their `extends` chains differ (or, the texts being the same, their ids)."""
    old, new = old_policy.provenance, new_policy.provenance
    if old.version is None or old.version != new.version or old.digest == new.digest:
        return []
    digests = f"{_short(old.digest)} vs {_short(new.digest)}"
    if _texts(old_policy) == _texts(new_policy):
        return [f"both policies say version {old.version} and have the same text, but under other names ({' -> '.join(old.chain)} vs {' -> '.join(new.chain)}), so their digests differ ({digests})"]
    return [f"both policies say version {old.version} but their texts differ ({digests}): give the new text a new version"]


def _texts(policy) -> list[str]:
    return [source.text for _, source in policy.env.linked.sources]


def _title(policy) -> str:
    return (policy.title or policy.name) + (f" (version {policy.version})" if policy.version else "")


def _claims_line(impact: Impact) -> str:
    total, decided = len(impact.outcomes), len(impact.decided())
    text = f"{total} claim{'s' if total != 1 else ''}"
    return text + (f", {decided} decided under both versions" if decided != total else "")


def _signed(value: Decimal) -> str:
    if value == 0:
        return values.money(abs(value))
    text = values.money(value)
    return text if value < 0 else f"+{text}"


def _money_row(before: Decimal, after: Decimal) -> dict:
    return {"before": values.money(before), "after": values.money(after), "difference": _signed(after - before)}


def _json_value(decision, name: str):
    value = decision.to_json().get(name, "(none)")
    return value if isinstance(value, str) else json.dumps(value)


def compare(old_policy, new_policy, claims: list[ClaimInput], layers: list[str] | None = None, as_of=None) -> list[Outcome]:
    outcomes = []
    layers = layers if layers is not None else default_layers(new_policy)
    outputs = list(dict.fromkeys([*old_policy.output_names, *new_policy.output_names]))  # not `policy`, `accumulators`
    for item in claims:
        old = _evaluate(old_policy, item, as_of)
        new = _evaluate(new_policy, item, as_of)
        outcome = Outcome(item, old, new)
        if outcome.decided:
            a, b = old.to_json(), new.to_json()
            outcome.changed = [name for name in outputs if a.get(name) != b.get(name)]
            paid_before = _total(old.outputs.get(name, Decimal(0)) for name in layers)
            paid_after = _total(new.outputs.get(name, Decimal(0)) for name in layers)
            outcome.delta = paid_after - paid_before
        outcomes.append(outcome)
    return outcomes


def impact(old_path: str, new_path: str, claims_spec: str, rev: str | None = None, layers: list[str] | None = None, top: int = TOP, as_of=None) -> Impact:
    """Load both versions, evaluate the claims under each, and gather the figures."""
    old_rev, _, new_rev = (rev or "").partition("..")
    with tempfile.TemporaryDirectory(prefix="policydsl-rev-") as old_dir, tempfile.TemporaryDirectory(prefix="policydsl-rev-") as new_dir:
        old_policy = load_version(old_path, old_rev or None, Path(old_dir))
        new_policy = load_version(new_path, new_rev or None, Path(new_dir))
        claims = read_claim_set(claims_spec)
        if layers is None:
            layers = default_layers(new_policy)
        else:
            unknown = [name for name in layers if name not in new_policy.output_names]
            if unknown:
                raise UsageError(f"--layers: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not an output of {new_path}")
        outcomes = compare(old_policy, new_policy, claims, layers, as_of)
        old_label = f"{old_path} at {old_rev}" if old_rev else old_path
        new_label = f"{new_path} at {new_rev}" if new_rev else new_path
        return Impact(old_label, new_label, old_policy, new_policy, claims_spec, layers, outcomes, top)
