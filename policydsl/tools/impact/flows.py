"""Which outputs of a policy are money flows: what each layer (a fund) pays, and what the
patient pays. Only flows are summed over claims; every other output (the bill, deductibles,
caps, thresholds, flags, dates) is informational, counted but never added up.

- **Declared**: `flows basic, major, assistance, patient patient_pays` in the policy (inherited
  and extended along `extends` like `output`; `drop flows NAME` leaves one out). A name marked
  `patient` is paid by the patient; the others by a fund. The checker makes each a money output.
- **`--layers a,b`** (the command line) names the flows paid by a fund; the patient's flows
  stay those declared (or inferred).
- **Inferred**, for a policy that declares none: every money output but the bill, its parts and
  the patient's share (by name: `NOT_LAYERS`, and names ending in `_cap`, `_deductible`,
  `_threshold`, `_room`) is paid by a fund, and `patient_pays` by the patient. An output whose
  rule is, in every period, only the sum of other such outputs (Yubei's `assistance =
  large_cost_assistance + tilt_assistance`) is the flow, and its parts are not: they are listed
  as parts of it, so that the money is counted once.
"""

from __future__ import annotations

import attrs

from policydsl.check import types as t
from policydsl.ir import nodes as ir

NOT_LAYERS = frozenset(
    {"total", "eligible", "excluded", "self_pay", "out_of_pocket", "patient_pays", "first_pay", "incentive", "basic_deductible", "major_cap"}
)
NOT_LAYER_SUFFIXES = ("_cap", "_deductible", "_threshold", "_room")
PATIENT_NAMES = ("patient_pays",)

FUND = "fund"
PATIENT = "patient"


@attrs.frozen
class Flows:
    """The flows of a comparison, in output order: `fund` (paid by a fund, the layers) and
    `patient`; `parts`: (output, the flow it is a part of) for outputs inferred to be parts of
    a flow; `source`: "declared", "inferred" or "--layers"; `where`: the declaration's place."""

    fund: tuple[str, ...]
    patient: tuple[str, ...]
    parts: tuple[tuple[str, str], ...] = ()
    source: str = "inferred"
    where: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return self.fund + self.patient

    def payer(self, name: str) -> str:
        return PATIENT if name in self.patient else FUND

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "where": self.where,
            "fund": list(self.fund),
            "patient": list(self.patient),
            "parts": {part: whole for part, whole in self.parts},
        }


def flows_of(policy, layers: list[str] | None = None) -> Flows:
    """The flows of `policy`: declared, else inferred; `layers` (from `--layers`) replaces the
    fund's flows."""
    found = declared(policy) or inferred(policy)
    if layers is None:
        return found
    fund = tuple(layers)
    patient = tuple(name for name in found.patient if name not in layers)
    return Flows(fund, patient, parts_of(policy, fund + patient), "--layers", None)


def declared(policy) -> Flows | None:
    """The policy's `flows` declaration (merged along `extends`), or None when it has none."""
    from policydsl.syntax import nodes as n

    linked = policy.env.linked
    found = [d for d in linked.policy.definitions if isinstance(d, n.FlowsDef) and not d.drop]
    if not found:
        return None
    names = [flow for d in found for flow in d.names]
    order = {name: index for index, name in enumerate(policy.output_names)}
    fund = tuple(sorted(dict.fromkeys(f.name for f in names if not f.patient), key=lambda name: order.get(name, len(order))))
    patient = tuple(sorted(dict.fromkeys(f.name for f in names if f.patient), key=lambda name: order.get(name, len(order))))
    from policydsl.tools.show import provenance

    return Flows(fund, patient, parts_of(policy, fund + patient), "declared", provenance(linked, found[-1]).where)


def parts_of(policy, flows) -> tuple[tuple[str, str], ...]:
    """(output, flow) for each money output that is not a flow and is a term of a flow whose
    rule is only a sum of outputs (Yubei's `assistance = large_cost_assistance + tilt_assistance`)."""
    money = [name for name, type_ in zip(policy.output_names, policy.output_types) if type_ == t.MONEY and name not in flows]
    found = []
    for flow in flows:
        for part in sum_of_outputs(policy, flow, money) or ():
            found.append((part, flow))
    return tuple(found)


def inferred(policy) -> Flows:
    money = [name for name, type_ in zip(policy.output_names, policy.output_types) if type_ == t.MONEY]
    candidates = [name for name in money if name not in NOT_LAYERS and not name.endswith(NOT_LAYER_SUFFIXES)]
    totals = {}
    for name in candidates:
        parts = sum_of_outputs(policy, name, candidates)
        if parts:
            totals[name] = parts
    part_of: dict[str, str] = {}
    for whole, parts in totals.items():
        for part in parts:
            part_of.setdefault(part, whole)
    # a total that is itself a part of another total is a part too; its parts belong to the outer one
    for part, whole in list(part_of.items()):
        while whole in part_of:
            whole = part_of[whole]
        part_of[part] = whole
    fund = tuple(name for name in candidates if name not in part_of)
    patient = tuple(name for name in money if name in PATIENT_NAMES)
    return Flows(fund, patient, tuple(part_of.items()), "inferred", None)


def sum_of_outputs(policy, name: str, among: list[str]) -> list[str] | None:
    """The outputs (of `among`, other than `name`) whose sum is rule `name` in every period in
    force, or None when the rule is anything else in some period."""
    found: list[str] | None = None
    for segment in policy.program.ir.segments:
        if not segment.in_force:
            continue
        rule = next((r for r in segment.rules if r.name == name), None)
        if rule is None:
            return None
        parts = _sum_of_refs(rule.body)
        if not parts or any(part not in among or part == name for part in parts):
            return None
        found = list(dict.fromkeys([*(found or []), *parts]))
    return found


def _sum_of_refs(expr) -> list[str] | None:
    if (isinstance(expr, ir.Ref) and expr.kind == "rule") or isinstance(expr, ir.Input):
        return [expr.name]
    if isinstance(expr, ir.Arith) and expr.op == "+":
        left, right = _sum_of_refs(expr.left), _sum_of_refs(expr.right)
        if left is not None and right is not None:
            return left + right
    return None
