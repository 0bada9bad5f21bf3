"""`policydsl diff OLD NEW CLAIMS`: what a policy change does to claims, as a bureau decides it.

Every claim is decided under both versions (engine.py: batch's columnar kernel where it can,
the row engine elsewhere; with `carry`, person-years carried on each side so that caps and
thresholds move as they would). One pass (tally.py) gathers:

* the **money flows** (flows.py): what each layer (a fund) pays and what the patient pays, as
  the policy declares them (`flows ...`) or as inferred; the headline counts the claims whose
  payments changed, and only flows are summed (before, after, difference, per flow and for the
  funds: the fund's cost of the change). Informational outputs (the bill, deductibles, caps,
  thresholds, flags) are listed apart: claims changed and their most common changes;
* the claims that newly enter or leave each flow, and those that newly reach or no longer
  reach each cap or threshold found in the IR (limits.py);
* `--by FIELD[,FIELD]` breakdowns over input fields (dotted paths) or outputs;
* the distribution of the per-claim change of the funds' payment (nearest-rank quartiles, so
  each figure is one claim's real change; a histogram of up to 8 equal-width bins);
* the claims that changed most, with the explanation lines that differ;
* what changed in the policy text (text_changes.py), and which policy each side is, with a
  warning when both state the same version over different texts (versions.py).

`--export FILE` writes every changed claim with each output before and after (export.py);
the report is text or Markdown (render.py), JSON (`Impact.to_dict`, report.py) or one
self-contained HTML page (html.py). All sums are exact (whole fen).

OLD and NEW are two files, or with `rev` one file at git revision REV (its whole policies folder
is taken at REV, so `extends` sees the old parents) against the working tree, or `A..B`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import attrs

from policydsl.backends.facts import claim_id_of
from policydsl.diagnostics.model import PolicydslError
from policydsl.tools.claims_io import UsageError, read_claims, same_file
from policydsl.tools.impact.engine import decide_both
from policydsl.tools.impact.export import Export
from policydsl.tools.impact.flows import NOT_LAYER_SUFFIXES, NOT_LAYERS, Flows, flows_of
from policydsl.tools.impact.limits import Limits
from policydsl.tools.impact.report import Impact, LimitRow, changed_uses, explanation_diff, top_claims
from policydsl.tools.impact.tally import Grouping, Tally, histogram, nearest_rank
from policydsl.tools.impact.text_changes import policy_changes
from policydsl.tools.impact.versions import load_version, version_warnings

TOP = 5


def impact(
    old_path: str,
    new_path: str,
    claims_spec: str,
    rev: str | None = None,
    layers: list[str] | None = None,
    top: int = TOP,
    as_of=None,
    *,
    by: list[list[str]] | tuple = (),
    carry: bool = False,
    export: str | None = None,
    engine: str = "auto",
) -> Impact:
    """Load both versions, decide the claims under each, and gather the report."""
    old_rev, _, new_rev = (rev or "").partition("..")
    with tempfile.TemporaryDirectory(prefix="policydsl-rev-") as old_dir, tempfile.TemporaryDirectory(prefix="policydsl-rev-") as new_dir:
        old_policy = load_version(old_path, old_rev or None, Path(old_dir))
        new_policy = load_version(new_path, new_rev or None, Path(new_dir))
        old_place = _placer(old_dir, old_rev)
        new_place = _placer(new_dir, new_rev)
        if layers is not None:
            unknown = [name for name in layers if name not in new_policy.output_names]
            if unknown:
                raise UsageError(f"--layers: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not an output of {new_path}")
        flows = flows_of(new_policy, layers)
        if flows.where is not None:
            flows = attrs.evolve(flows, where=new_place(flows.where))
        notes = _flow_notes(old_policy, flows, layers)
        groupings = [Grouping(list(names), old_policy, new_policy) for names in by]
        if export is not None and claims_spec != "-" and same_file(export, claims_spec):
            raise UsageError(f"--export {export}: would overwrite the claims ({claims_spec})")
        limits = (Limits(old_policy, flows.names), Limits(new_policy, flows.names))
        run, chunks = decide_both(old_policy, new_policy, claims_spec, as_of, carry, engine)
        outputs = list(dict.fromkeys([*old_policy.output_names, *new_policy.output_names]))
        types = {name: (new_policy.type_of(name) if name in new_policy.output_names else old_policy.type_of(name)) for name in outputs}
        exporter = Export(export, outputs, types, old_policy, new_policy) if export is not None else None
        tally = Tally(old_policy, new_policy, flows, groupings, limits if (limits[0] or limits[1]) else None, top, exporter, as_of)
        try:
            for chunk in chunks:
                for pair in chunk:
                    tally.add(pair)
        except BaseException:
            if exporter is not None:
                exporter.abandon()
            raise
        if exporter is not None:
            exporter.close()
        rows = _limit_rows(limits, tally, old_place, new_place)
        changes = policy_changes(old_policy, new_policy, old_place, new_place)
        found = top_claims(tally, old_policy, new_policy, as_of)
        old_label = f"{old_path} at {old_rev}" if old_rev else old_path
        new_label = f"{new_path} at {new_rev}" if new_rev else new_path
        return Impact(
            old_label, new_label, old_policy, new_policy, claims_spec, flows, tally, run, changes, rows, found, notes, top,
            None if exporter is None else {"path": export, "format": exporter.kind, "claims": exporter.claims},
        )


def _placer(folder: str, rev: str):
    """A side's file:line as the user knows it: a git revision's temporary folder left out."""
    if not rev:
        return lambda where: where
    prefixes = sorted({str(Path(folder)) + "/", str(Path(folder).resolve()) + "/"}, key=len, reverse=True)

    def place(where: str) -> str:
        for prefix in prefixes:
            if prefix in where:
                return where.replace(prefix, "") + f" (at {rev})"
        return where

    return place


def _flow_notes(old_policy, flows: Flows, layers) -> list[str]:
    notes = []
    if layers is None:
        old_flows = flows_of(old_policy)
        if (old_flows.fund, old_flows.patient) != (flows.fund, flows.patient):
            notes.append(
                f"the old version's flows are {', '.join(old_flows.fund) or 'none'} (funds), {', '.join(old_flows.patient) or 'none'} (patient); "
                "the report uses the new version's"
            )
    for name in flows.names:
        if name not in old_policy.output_names:
            notes.append(f"`{name}` is not an output of the old version: it counts as 0 there")
    return notes


def _limit_rows(limits, tally, old_place, new_place) -> list[LimitRow]:
    old_limits, new_limits = limits
    by_key: dict = {}
    for limit in new_limits.limits:
        by_key[limit.key] = [attrs.evolve(limit, where=new_place(limit.where)), "new"]
    for limit in old_limits.limits:
        if limit.key in by_key:
            by_key[limit.key][1] = "both"
        else:
            by_key[limit.key] = [attrs.evolve(limit, where=old_place(limit.where)), "old"]
    rows = []
    for key, (limit, sides) in by_key.items():
        newly, no_longer = tally.limit_counts.get(key, (0, 0))
        rows.append(LimitRow(limit, newly, no_longer, sides))
    order = {name: index for index, name in enumerate(tally.flow_names)}
    rows.sort(key=lambda row: (order.get(row.limit.flow, len(order)), row.limit.kind, row.limit.rule != row.limit.flow, row.limit.rule))
    return rows


# ---- the claims of a file, one by one (tests of explanations read them) ---------------------


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


@attrs.define
class Outcome:
    """One claim decided by both versions in memory (`compare`): the decisions (or error
    texts), the outputs that differ, and the change of the funds' payment."""

    claim: ClaimInput
    old: object
    new: object
    changed: list = attrs.Factory(list)
    delta: object = None

    @property
    def decided(self) -> bool:
        return not isinstance(self.old, str) and not isinstance(self.new, str)


def compare(old_policy, new_policy, claims: list[ClaimInput], layers: list[str] | None = None, as_of=None) -> list[Outcome]:
    """Each claim decided by both policies in memory, with its `Decision`s (to explain them)."""
    from decimal import Decimal

    from policydsl.tools.testing import error_code

    fund = list(layers) if layers is not None else list(flows_of(new_policy).fund)
    outputs = list(dict.fromkeys([*old_policy.output_names, *new_policy.output_names]))
    found = []
    for item in claims:
        sides = []
        for policy in (old_policy, new_policy):
            if not isinstance(item.claim, dict):
                sides.append("not a claim: a claim must be a JSON object" if not isinstance(item.claim, Exception) else f"not a claim: {item.claim}")
                continue
            try:
                sides.append(policy.evaluate(item.claim, as_of=as_of or item.as_of))
            except PolicydslError as error:
                code = error_code(error)
                sides.append(f"[{code}] {error}" if code else str(error))
        outcome = Outcome(item, *sides)
        if outcome.decided:
            a, b = outcome.old.to_json(), outcome.new.to_json()
            outcome.changed = [name for name in outputs if a.get(name) != b.get(name)]
            outcome.delta = sum((outcome.new.outputs.get(n, Decimal(0)) for n in fund), Decimal(0)) - sum((outcome.old.outputs.get(n, Decimal(0)) for n in fund), Decimal(0))
        found.append(outcome)
    return found


__all__ = [
    "NOT_LAYERS", "NOT_LAYER_SUFFIXES", "TOP", "ClaimInput", "Flows", "Impact", "Outcome", "UsageError", "changed_uses", "compare",
    "explanation_diff", "flows_of", "histogram", "impact", "load_version", "nearest_rank", "read_claim_set", "version_warnings",
]
