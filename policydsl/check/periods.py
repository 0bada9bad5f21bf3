"""Dated values: check them, and cut time into segments with one value per name.

A parameter, rule or tier schedule may have several values, each `from`/`until` a date;
so may a table row. Within one name the periods must neither overlap (C211) nor leave
a gap (C210), and they must cover the policy's effective period when it states one.

Time is then cut at every date where any value starts or ends. In each segment exactly
one value of every name is in force, so the compiler can build one straight-line
program per segment and pick it by the claim's date: dated values cost nothing per rule.
"""

from __future__ import annotations

import bisect
import datetime

import attrs

from policydsl.syntax import nodes as n
from policydsl.check import types as t
from policydsl.check.env import CheckEnv
from policydsl.diagnostics.model import Related

ONE_DAY = datetime.timedelta(days=1)


@attrs.define
class Segment:
    """Days [start, end) (None: unbounded) and what is in force on them."""

    start: datetime.date | None
    end: datetime.date | None
    active: dict[str, object] = attrs.Factory(dict)  # param/rule/tiers name -> the definition in force
    rows: dict[str, tuple] = attrs.Factory(dict)  # table name -> the rows in force
    missing: list[str] = attrs.Factory(list)  # names with no value in force (the segment is not usable)
    outside: bool = False  # outside the policy's effective period
    constants: dict[str, object] = attrs.Factory(dict)  # filled by the constants pass

    @property
    def in_force(self) -> bool:
        return not self.missing and not self.outside

    def describe(self) -> str:
        start = self.start.isoformat() if self.start else "the beginning"
        end = (self.end - ONE_DAY).isoformat() if self.end else "further notice"
        return f"{start} to {end}"


def _period(validity: n.Validity | None) -> tuple[datetime.date, datetime.date]:
    if validity is None:
        return datetime.date.min, datetime.date.max
    return validity.start or datetime.date.min, validity.end or datetime.date.max


def _check_sequence(env: CheckEnv, what: str, dated: list, effective: n.Validity | None) -> None:
    """`dated`: definitions or rows of one name (or one table key), each with a validity."""
    if len(dated) == 1 and dated[0].validity is None:
        return
    undated = [d for d in dated if d.validity is None]
    if undated:
        env.error(
            "C211",
            f"{what} has a value without dates beside dated ones",
            undated[0].span,
            hint="give every value of a dated name a `from`/`until` period",
        )
        return
    ordered = sorted(dated, key=lambda d: _period(d.validity))
    for before, after in zip(ordered, ordered[1:]):
        (_, before_end), (after_start, _) = _period(before.validity), _period(after.validity)
        if after_start <= before_end:
            env.error(
                "C211",
                f"the dated values of {what} overlap: {before.validity.describe()} and {after.validity.describe()}",
                after.validity.span,
                related=(Related("the earlier value", before.validity.span),),
            )
        elif before_end != datetime.date.max and after_start > before_end + ONE_DAY:
            env.error(
                "C210",
                f"the dated values of {what} leave a gap from {(before_end + ONE_DAY).isoformat()} to {(after_start - ONE_DAY).isoformat()}",
                after.validity.span,
                hint="every day needs exactly one value: move a `from` or `until`",
            )
    if effective is not None:
        first_start, last_end = _period(ordered[0].validity)[0], _period(ordered[-1].validity)[1]
        wanted_start, wanted_end = _period(effective)
        if first_start > wanted_start:
            env.error(
                "C210",
                f"{what} has no value from {wanted_start.isoformat()} (when the policy takes effect) to {(first_start - ONE_DAY).isoformat()}",
                ordered[0].validity.span,
            )
        if last_end < wanted_end:
            until = "further notice" if wanted_end == datetime.date.max else wanted_end.isoformat()
            env.error(
                "C210",
                f"{what} has no value after {last_end.isoformat()}, but the policy is in force until {until}",
                ordered[-1].validity.span,
            )


def check_periods(env: CheckEnv) -> None:
    """Check every dated name, then cut time into segments (C210 gap, C211 overlap, C216/C217 date field).

    Reads `variants`, `symbols`, the header's period and `as of`; adds `segments`, `cuts`.
    """
    header = env.policy.header
    effective = header.effective
    validities: list[n.Validity] = []
    for name, variants in env.variants.items():
        _check_sequence(env, f"`{name}`", variants, effective)
        validities += [v.validity for v in variants if v.validity is not None]
    for symbol in env.symbols.values():
        if symbol.kind != "table":
            continue
        by_key: dict = {}
        for row in symbol.node.rows:
            by_key.setdefault(row.key, []).append(row)
        for key, rows in by_key.items():
            if len(rows) > 1 and any(r.validity is None for r in rows):
                env.error("C208", f"table `{symbol.name}` has key `{'default' if key is None else key}` twice", rows[1].span)
                continue
            _check_sequence(env, f"row `{'default' if key is None else key}` of table `{symbol.name}`", rows, None)
            validities += [r.validity for r in rows if r.validity is not None]
    _check_as_of(env, validities, effective)
    _cut_segments(env, validities, effective)


def _check_as_of(env: CheckEnv, validities: list, effective=None) -> None:
    header = env.policy.header
    if header.as_of is None:
        if effective is not None and not validities:
            env.warning(
                "W236",
                "this policy is in force only for a period (`effective`) but does not say which date of a claim decides it",
                effective.span,
                hint="add `as of FIELD` to the policy header, naming the claim's date field (e.g. `as of service_date`); "
                "without it every claim needs an evaluation date (`--as-of DATE`)",
            )
        elif validities:
            env.error(
                "C216",
                "this policy has dated values but does not say which date picks them",
                validities[0].span,
                hint="add `as of FIELD` to the policy header, naming the claim's date field (e.g. `as of service_date`)",
            )
        return
    field_type = env.field_types.get((None, header.as_of))
    if field_type is None:
        env.error("C217", f"`as of {header.as_of}`: the input has no field `{header.as_of}`", header.as_of_span, hint=env.suggest(header.as_of, [f.name for f in env.record_fields(None)]))
    elif field_type not in (t.DATE, t.ERROR):
        env.error("C217", f"`as of {header.as_of}`: the field is {field_type}, not a date", header.as_of_span)


def _cut_segments(env: CheckEnv, validities: list, effective: n.Validity | None) -> None:
    cuts: set[datetime.date] = set()
    for validity in [*validities, *([effective] if effective else [])]:
        if validity.start is not None:
            cuts.add(validity.start)
        if validity.end is not None and validity.end < datetime.date.max:
            cuts.add(validity.end + ONE_DAY)
    env.cuts = sorted(cuts)
    bounds = [None, *env.cuts, None]
    for start, end in zip(bounds, bounds[1:]):
        segment = Segment(start, end)
        day = start or datetime.date.min
        if effective is not None and not effective.covers(day):
            segment.outside = True
        for name, variants in env.variants.items():
            live = [v for v in variants if v.validity is None or v.validity.covers(day)]
            if live and not unset(live[0]):
                segment.active[name] = live[0]
            else:
                segment.missing.append(name)  # no value in force, or a `required` one nobody set
        for symbol in env.symbols.values():
            if symbol.kind == "table":
                segment.rows[symbol.name] = tuple(r for r in symbol.node.rows if r.validity is None or r.validity.covers(day))
        env.segments.append(segment)


def unset(definition) -> bool:
    """A `param NAME: TYPE required` or `tiers NAME required` that no policy along `extends` has set."""
    return (isinstance(definition, n.ParamDef) and definition.value is None) or (isinstance(definition, n.TiersDef) and definition.required)


def segment_index(cuts: list, day: datetime.date) -> int:
    return bisect.bisect_right(cuts, day)
