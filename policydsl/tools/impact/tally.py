"""The figures of an impact report, gathered claim by claim in one pass (`Tally.add`), so that
a corpus of any size is held as counts and sums, not as decisions.

Money is summed exactly, in whole fen (Python ints). A claim *changed* when any output differs;
its *payments changed* when any money flow differs (flows.py). Per flow: claims changed, the
total before and after, and the claims that newly enter it (0 before, more after) or leave it.
Informational outputs are counted (claims changed, the most common changes) and never summed.
`--by` breakdowns (`Grouping`) give the same per group. The per-claim change of the funds'
payment is kept (one int per claim where it changed) for its distribution; the claims that
changed most are kept as candidates, a few at a time.
"""

from __future__ import annotations

import collections

import attrs

from policydsl.check import types as t
from policydsl.runtime import values as runtime_values
from policydsl.tools.claims_io import UsageError
from policydsl.tools.impact.engine import UNLIMITED, Side

MISSING = object()  # an output the other version does not have
TRANSITIONS_KEPT = 1_000  # distinct (before, after) pairs counted per informational output
UNDECIDED_KEPT = 1_000  # undecided claims listed; the rest are counted


# ---- --by ---------------------------------------------------------------------------------


@attrs.frozen
class Field:
    """One field of a `--by`: an input path (`person.category`) or an output."""

    name: str
    kind: str  # "input" or "output"
    parts: tuple[str, ...] = ()
    default: object = None  # the JSON value of an input's default (None: none)
    old_index: int | None = None
    new_index: int | None = None
    type: object = None


class Grouping:
    """A breakdown by one or more fields (`--by a,b` groups by the pair)."""

    def __init__(self, names: list[str], old_policy, new_policy):
        self.names = names
        self.fields = [_resolve(name, old_policy, new_policy) for name in names]

    def key(self, claim, old, new) -> tuple:
        return tuple(_key_value(field, claim, old, new) for field in self.fields)


def _resolve(name: str, old_policy, new_policy) -> Field:
    program = new_policy.program.ir
    parts = tuple(name.split("."))
    inputs = {field for field, _ in program.inputs}
    if parts[0] not in inputs and (name in new_policy.output_names or name in old_policy.output_names):
        old_index = old_policy.output_names.index(name) if name in old_policy.output_names else None
        new_index = new_policy.output_names.index(name) if name in new_policy.output_names else None
        type_ = new_policy.type_of(name) if new_index is not None else old_policy.type_of(name)
        return Field(name, "output", (), None, old_index, new_index, type_)
    record = None
    type_ = None
    default = None
    for depth, part in enumerate(parts):
        if (record, part) not in program.field_types:
            known = sorted({f"{prefix}{f}" for (r, f) in program.field_types if r == record for prefix in [".".join(parts[:depth]) + "." if depth else ""]})
            if depth == 0:
                known = sorted(set(known) | set(new_policy.output_names))
            hint = _suggest(name if depth == 0 else ".".join(parts[: depth + 1]), known)
            raise UsageError(f"--by {name}: no input field or output `{'.'.join(parts[: depth + 1])}`" + (f" (did you mean {hint}?)" if hint else "") + f"; known: {', '.join(known)}")
        type_ = program.field_types[(record, part)]
        if (record, part) in program.defaults:
            default = _json(program.defaults[(record, part)], type_)
        else:
            default = None
        if isinstance(type_, t.ListType):
            raise UsageError(f"--by {name}: `{'.'.join(parts[: depth + 1])}` is a list; a claim is grouped by a single value")
        if isinstance(type_, t.RecordType):
            record = type_.name
            if depth == len(parts) - 1:
                raise UsageError(f"--by {name}: `{name}` is a record; name one of its fields ({', '.join(f'{name}.{f}' for (r, f) in program.field_types if r == record)})")
        elif depth < len(parts) - 1:
            raise UsageError(f"--by {name}: `{'.'.join(parts[: depth + 1])}` is a {type_}, which has no fields")
    return Field(name, "input", parts, default, type=type_)


def _suggest(name: str, known: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, known, n=1)
    return f"`{found[0]}`" if found else None


def _json(value, type_):
    try:
        return runtime_values.to_json(value, type_)
    except Exception:  # noqa: BLE001
        return str(value)


def _key_value(field: Field, claim, old, new):
    if field.kind == "output":
        for side, index in ((old, field.old_index), (new, field.new_index)):
            if isinstance(side, Side) and index is not None:
                return show_value(side.values[index], field.type)
        return "(not decided)"
    value = claim.facts
    for part in field.parts:
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            break
    if value is None:
        value = field.default
    if value is None:
        return "(missing)"
    return _group_text(value)


def _group_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def show_value(value, type_) -> str:
    """An output value as the JSON record writes it, as text (money 1234.50, unlimited)."""
    if value is MISSING:
        return "(none)"
    if type_ == t.MONEY and isinstance(value, (int, float)):
        return money_text(value)
    return _group_text(value)


def money_text(fen) -> str:
    """Whole fen as money text: 123450 -> 1234.50; UNLIMITED -> unlimited."""
    if fen == UNLIMITED:
        return "unlimited"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"


# ---- per group and overall -------------------------------------------------------------------


class Counts:
    """Claims and the flows' sums over some claims (the whole corpus, or one group)."""

    __slots__ = ("claims", "decided", "changed", "payments_changed", "before", "after", "flow_changed", "entered", "left")

    def __init__(self, flows: int):
        self.claims = 0
        self.decided = 0
        self.changed = 0  # any output
        self.payments_changed = 0
        self.before = [0] * flows
        self.after = [0] * flows
        self.flow_changed = [0] * flows
        self.entered = [0] * flows
        self.left = [0] * flows


@attrs.define
class Candidate:
    """A claim that changed, kept while it may be among the most changed."""

    rank: tuple
    pair: object
    changed: list
    delta: int


class Tally:
    """Every figure of the report, claim by claim (see the module's docstring)."""

    def __init__(self, old_policy, new_policy, flows, groupings, limits=None, top: int = 5, export=None, as_of=None):
        self.old_policy, self.new_policy = old_policy, new_policy
        self.flows = flows
        self.outputs = list(dict.fromkeys([*old_policy.output_names, *new_policy.output_names]))
        old_names, new_names = old_policy.output_names, new_policy.output_names
        self.types = {name: (new_policy.type_of(name) if name in new_names else old_policy.type_of(name)) for name in self.outputs}
        self.union = [(name, old_names.index(name) if name in old_names else None, new_names.index(name) if name in new_names else None) for name in self.outputs]
        self.flow_names = list(flows.names)
        self.flow_at = [(old_names.index(f) if f in old_names else None, new_names.index(f) if f in new_names else None) for f in self.flow_names]
        self.fund_mask = [flows.payer(f) == "fund" for f in self.flow_names]
        self.flow_set = set(self.flow_names)
        self.parts = [(part, whole) for part, whole in flows.parts if whole in self.flow_set]
        self.part_at = [(old_names.index(p) if p in old_names else None, new_names.index(p) if p in new_names else None) for p, _ in self.parts]
        self.part_before = [0] * len(self.parts)
        self.part_after = [0] * len(self.parts)
        self.total = Counts(len(self.flow_names))
        self.changed_per_output = {name: 0 for name in self.outputs}
        self.transitions = {name: collections.Counter() for name in self.outputs if name not in self.flow_set}
        self.groupings = groupings
        self.groups: list[dict] = [{} for _ in groupings]
        self.deltas: list[int] = []
        self.undecided: list = []
        self.undecided_count = 0
        self.flow_unlimited = 0
        self.limits = limits  # (old Limits, new Limits) or None
        self.limit_counts: dict = {}  # key -> [newly, no longer]
        self.limit_claims = 0  # claims whose limits were looked at
        self.top = top
        self.candidates: list[Candidate] = []
        self.export = export
        self.as_of = as_of

    # -- one claim
    def add(self, pair) -> None:  # noqa: C901 - one pass over a claim's figures
        total = self.total
        total.claims += 1
        old, new = pair.old, pair.new
        groups = [group_counts(self, index, pair) for index in range(len(self.groupings))]
        for counts in groups:
            counts.claims += 1
        if not isinstance(old, Side) or not isinstance(new, Side):
            self.undecided_count += 1
            if len(self.undecided) < UNDECIDED_KEPT:
                self.undecided.append(pair)
            if self.export is not None and (isinstance(old, Side) or isinstance(new, Side)):
                self.export.write(pair, None, None)
            return
        ov, nv = old.values, new.values
        fo = [ov[o] if o is not None else 0 for o, _ in self.flow_at]
        fn = [nv[n] if n is not None else 0 for _, n in self.flow_at]
        if UNLIMITED in fo or UNLIMITED in fn:
            self.flow_unlimited += 1
            self.undecided_count += 1
            if len(self.undecided) < UNDECIDED_KEPT:
                self.undecided.append(attrs.evolve(pair, old="a money flow is unlimited: it cannot be summed", new=""))
            return
        changed = []
        for name, o, n in self.union:
            a = ov[o] if o is not None else MISSING
            b = nv[n] if n is not None else MISSING
            if a != b:
                changed.append(name)
                self.changed_per_output[name] += 1
                counter = self.transitions.get(name)
                if counter is not None:
                    key = (a, b)
                    if key in counter or len(counter) < TRANSITIONS_KEPT:
                        counter[key] += 1
        paid = fo != fn
        delta = 0
        for index, fund in enumerate(self.fund_mask):
            if fund:
                delta += fn[index] - fo[index]
        for counts in (total, *groups):
            counts.decided += 1
            if changed:
                counts.changed += 1
            if paid:
                counts.payments_changed += 1
            before, after = counts.before, counts.after
            for index in range(len(fo)):
                a, b = fo[index], fn[index]
                before[index] += a
                after[index] += b
                if a != b:
                    counts.flow_changed[index] += 1
                    if a == 0 and b > 0:
                        counts.entered[index] += 1
                    elif a > 0 and b == 0:
                        counts.left[index] += 1
        for index, (o, n) in enumerate(self.part_at):
            a = ov[o] if o is not None else 0
            b = nv[n] if n is not None else 0
            if a != UNLIMITED and b != UNLIMITED:
                self.part_before[index] += a
                self.part_after[index] += b
        if delta:
            self.deltas.append(delta)
        if not changed:
            return
        if self.limits is not None:
            self._limits(pair)
        if self.export is not None:
            self.export.write(pair, delta, paid)
        if self.top:
            self.candidates.append(Candidate((-abs(delta), -len(changed), pair.claim.label, pair.claim.position), pair, changed, delta))
            if len(self.candidates) >= 4 * self.top + 64:
                self._trim()

    def _limits(self, pair) -> None:
        old_limits, new_limits = self.limits
        claim = pair.claim
        if not isinstance(claim.facts, dict):
            return
        as_of = self.as_of or claim.as_of
        before = old_limits.statuses(_with(claim.facts, pair.old.before), as_of)
        after = new_limits.statuses(_with(claim.facts, pair.new.before), as_of)
        self.limit_claims += 1
        for key in before.keys() & after.keys():
            a, b = before[key], after[key]
            if a != b:
                counts = self.limit_counts.setdefault(key, [0, 0])
                counts[0 if b else 1] += 1

    def _trim(self) -> None:
        self.candidates.sort(key=lambda c: c.rank)
        del self.candidates[self.top:]

    def most_changed(self) -> list[Candidate]:
        self._trim()
        return list(self.candidates)

    # -- figures
    def distribution(self) -> dict | None:
        ordered = sorted(self.deltas)
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

    def funds(self, counts: Counts | None = None) -> tuple[int, int]:
        counts = counts or self.total
        return (sum(b for b, fund in zip(counts.before, self.fund_mask) if fund), sum(a for a, fund in zip(counts.after, self.fund_mask) if fund))

    def patient(self, counts: Counts | None = None) -> tuple[int, int]:
        counts = counts or self.total
        return (sum(b for b, fund in zip(counts.before, self.fund_mask) if not fund), sum(a for a, fund in zip(counts.after, self.fund_mask) if not fund))

    def informational(self) -> list[str]:
        return [name for name in self.outputs if name not in self.flow_set]

    def common_changes(self, name: str, most: int = 3) -> list[tuple[str, str, int]]:
        """The most common (before, after) of an informational output, as text, with their
        claims; only changes shared by more than one claim when some are."""
        type_ = self.types[name]
        found = self.transitions[name].most_common(most)
        if len(found) > 1 and found[0][1] > 1:
            found = [item for item in found if item[1] > 1]
        return [(show_value(a, type_), show_value(b, type_), count) for (a, b), count in found]

    def part_rows(self) -> list[tuple[str, str, int, int]]:
        """(part, the flow it is a term of, before, after) in fen."""
        return [(part, whole, b, a) for (part, whole), b, a in zip(self.parts, self.part_before, self.part_after)]


def group_counts(tally: Tally, index: int, pair) -> Counts:
    key = tally.groupings[index].key(pair.claim, pair.old, pair.new)
    groups = tally.groups[index]
    counts = groups.get(key)
    if counts is None:
        counts = groups[key] = Counts(len(tally.flow_names))
    return counts


def _with(facts: dict, before: dict | None) -> dict:
    return {**facts, **before} if before else facts


# ---- distribution --------------------------------------------------------------------------


def nearest_rank(ordered: list, percent: int):
    """The nearest-rank percentile of sorted values: the value at rank ceil(p/100 x N)."""
    import math

    rank = max(1, math.ceil(percent * len(ordered) / 100))
    return ordered[rank - 1]


def histogram(ordered: list, bins: int = 8) -> list[tuple]:
    """Up to `bins` equal-width bins from min to max: (from, to, count); the last includes `to`.
    Values are whole fen (ints) or Decimals; edges are exact fractions of the range, and each
    value falls in the bin whose half-open range holds it (`from <= v < to`)."""
    from decimal import Decimal

    low, high = ordered[0], ordered[-1]
    if low == high:
        return [(low, high, len(ordered))]
    count = min(bins, len(set(ordered)))
    span = high - low
    counts = [0] * count
    for value in ordered:
        # value in bin i iff low + span*i/count <= value < low + span*(i+1)/count
        index = min(count - 1, int((value - low) * count // span))
        counts[index] += 1
    if isinstance(low, int):
        edges = [Decimal(low) + Decimal(span) * index / count for index in range(count)] + [Decimal(high)]
    else:
        edges = [low + span * index / count for index in range(count)] + [high]
    return [(edges[index], edges[index + 1], counts[index]) for index in range(count)]
