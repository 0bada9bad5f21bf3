"""Seeded generator of realistic claims for any policy, from its input schema.

Why: benchmarks and tests need many claims that every policy decides, the same on every
run. bench/generate_claims.py knows only the example province's schema; this reads the
schema of the policy loaded (its input fields, their types, limits and defaults, its
effective period, its `as of` date field and its accumulators) and draws values to fit:

    from policydsl.tools.generate import generate, write_claims
    claims = generate(policy, 1000, seed=1)      # an iterator: flat memory
    write_claims(claims, "claims.jsonl")         # or "-" for stdout

- every enum member appears over the claims (the first member, usually the common case,
  drawn more often when there are many);
- money as strings with two decimals: mostly small bills, some stays, a few large ones;
  accumulator amounts (year to date) often 0, sometimes up to 400,000;
- ints and months small, inside the field's declared limits;
- the `as of` date inside the policy's effective period (or the year 2025 when the policy
  declares none); birth dates in the past, enrolment and other dates before it;
- lists of 1-5 elements; the accumulators' person field drawn from a pool, so persons repeat
  (a second person field, such as an account's owner, is the first one's person half the time);
  `claim_id` unique;
- a policy's `require` conditions kept: a claim that breaks one is drawn again (up to
  `_REDRAWS` times; after that it is given as it is, and the policy refuses it, F304).
"""

from __future__ import annotations

import datetime
import json
import random
import sys
from decimal import Decimal
from typing import Iterator

from policydsl.check import types as t
from policydsl.check.typing import limit_pairs
from policydsl.backends import interpreter
from policydsl.diagnostics.model import PolicydslError
from policydsl.tools.claims_io import OutputError, UsageError

_REDRAWS = 50
_FALLBACK_START = datetime.date(2025, 1, 1)
_FALLBACK_END = datetime.date(2025, 12, 31)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _bill_cents(rng: random.Random) -> int:
    """Mostly outpatient-sized bills, some stays, a few catastrophic ones."""
    roll = rng.random()
    if roll < 0.55:
        yuan = rng.lognormvariate(6.0, 1.0)  # ~400 yuan
    elif roll < 0.92:
        yuan = rng.lognormvariate(8.8, 0.8)  # ~6,600 yuan
    else:
        yuan = rng.lognormvariate(10.9, 0.7)  # ~54,000 yuan
    return max(1, min(int(yuan * 100), 90_000_000))


def _ytd_cents(rng: random.Random) -> int:
    """A year-to-date amount: mostly nothing yet, some moderate, some near or past a cap."""
    roll = rng.random()
    if roll < 0.6:
        return 0
    if roll < 0.85:
        return rng.randint(1, 5_000_000)  # up to 50,000 yuan
    return rng.randint(5_000_000, 40_000_000)  # 50,000 - 400,000 yuan


def _bounds(pairs, lo: int, hi: int) -> tuple[int, int]:
    """[lo, hi] narrowed to the field's declared limits (whole numbers)."""
    for op, bound in pairs:
        try:
            value = Decimal(str(bound))
        except Exception:  # noqa: BLE001 - a limit that is not a number does not narrow
            continue
        if op in (">=", ">"):
            floor = int(value.to_integral_value(rounding="ROUND_CEILING"))
            if op == ">" and floor == value:
                floor += 1
            lo = max(lo, floor)
        elif op in ("<=", "<"):
            ceil = int(value.to_integral_value(rounding="ROUND_FLOOR"))
            if op == "<" and ceil == value:
                ceil -= 1
            hi = min(hi, ceil)
    if hi < lo:  # the usual range is outside the declared one: keep to the declared one
        if any(op in ("<=", "<") for op, _ in pairs):
            lo = hi - 10 if lo > hi else lo
        else:
            hi = lo + 10
    return lo, hi


def _within(pairs, cents: int, rng: random.Random) -> int:
    """A money draw (in fen) kept inside the field's declared limits: a draw outside them is
    drawn again uniformly between them (a limit that is not a number does not narrow)."""
    lo, hi = 0, None
    for op, bound in pairs:
        try:
            fen = Decimal(str(bound)) * 100
        except Exception:  # noqa: BLE001
            continue
        if op in (">=", ">"):
            floor = int(fen.to_integral_value(rounding="ROUND_CEILING"))
            lo = max(lo, floor + 1 if op == ">" and floor == fen else floor)
        elif op in ("<=", "<"):
            ceil = int(fen.to_integral_value(rounding="ROUND_FLOOR"))
            ceil = ceil - 1 if op == "<" and ceil == fen else ceil
            hi = ceil if hi is None else min(hi, ceil)
    if lo <= cents and (hi is None or cents <= hi):
        return cents
    return rng.randint(lo, max(lo, hi if hi is not None else lo + 5_000_000))


def _enum_weights(members) -> list[float] | None:
    if len(members) <= 4:
        return None
    return [float(len(members) - 1)] + [1.0] * (len(members) - 1)  # the first: half of the draws


class _Field:
    __slots__ = ("name", "type", "pairs", "has_default", "kind", "sub", "weights")

    def __init__(self, name, type_, pairs, has_default, kind, sub=None, weights=None):
        self.name, self.type, self.pairs, self.has_default = name, type_, pairs, has_default
        self.kind, self.sub, self.weights = kind, sub, weights


class Generator:
    """The schema of one policy's input, read once; `claims(n, seed)` draws claims from it."""

    def __init__(self, policy):
        program = policy.program.ir
        self._program = program
        effective = getattr(getattr(policy.env.policy, "header", None), "effective", None)
        start = getattr(effective, "start", None) if effective is not None else None
        end = getattr(effective, "end", None) if effective is not None else None
        if start is None and end is None:
            start, end = _FALLBACK_START, _FALLBACK_END
        elif start is None:
            start = end - datetime.timedelta(days=364)
        elif end is None:
            end = start + datetime.timedelta(days=364)
        self.period = (start, end)
        self.as_of = program.inputs[program.as_of_index][0] if program.as_of_index is not None else None
        self.accumulators = {a.name: a for a in policy.accumulators}
        self.persons = {a.per for a in policy.accumulators}
        self.fields = self._record(None, top=True)
        self._policy = policy
        self._requires = any(segment.requirements for segment in program.segments)

    # -- the schema ------------------------------------------------------------------

    def _record(self, record, top=False) -> list[_Field]:
        fields = []
        for field in self._program.record_fields(record):
            type_ = self._program.field_types[(record, field.name)]
            try:
                pairs = limit_pairs(field)
            except Exception:  # noqa: BLE001 - limits that cannot be read do not narrow
                pairs = ()
            fields.append(self._field(field.name, type_, pairs, field.default is not None, top))
        return fields

    def _field(self, name, type_, pairs, has_default, top) -> _Field:
        if isinstance(type_, t.EnumType):
            return _Field(name, type_, pairs, has_default, "enum", weights=_enum_weights(type_.members))
        if isinstance(type_, t.RecordType):
            return _Field(name, type_, pairs, has_default, "record", sub=self._record(type_.name))
        if isinstance(type_, (t.ListType, t.SetType)):
            element = self._field(name, type_.element, (), False, False)
            return _Field(name, type_, pairs, has_default, "set" if isinstance(type_, t.SetType) else "list", sub=element)
        kind = "scalar"
        if top and name in self.accumulators:
            kind = "accumulator"
        elif top and name in self.persons:
            kind = "person"
        elif top and name == "claim_id" and type_ == t.TEXT:
            kind = "claim_id"
        elif top and name == self.as_of:
            kind = "as_of"
        return _Field(name, type_, pairs, has_default, kind)

    # -- the claims ------------------------------------------------------------------

    def claims(self, n: int, seed: int = 1) -> Iterator[dict]:
        rng = random.Random(seed)
        pool = max(1, n // 3)
        start, end = self.period
        span = (end - start).days
        for number in range(n):
            service = start + datetime.timedelta(days=rng.randint(0, span))
            ctx = {"service": service, "number": number, "seed": seed, "pool": pool}
            claim = self._fill(self.fields, rng, ctx, top=True)
            for _ in range(_REDRAWS if self._requires else 0):
                if self._admitted(claim):
                    break
                claim = self._fill(self.fields, rng, ctx, top=True)
            yield claim

    def _admitted(self, claim: dict) -> bool:
        """The claim keeps every `require` of the segment it falls in (a claim the policy
        refuses for another reason is not the requirements' to judge: admitted)."""
        try:
            inputs = self._policy.read_facts(claim)
            segment = self._program.segments[self._policy.segment_for(inputs)]
            return interpreter.broken_requirement(segment, interpreter.Scope(inputs=inputs, values=dict(segment.constants))) is None
        except (PolicydslError, ArithmeticError):
            return True

    def _fill(self, fields, rng, ctx, top=False) -> dict:
        if top:
            ctx.pop("person", None)
        out = {}
        for field in fields:  # every field, those with a default too: one set of columns for CSV
            out[field.name] = self._value(field, rng, ctx)
        return out

    def _value(self, field: _Field, rng, ctx):
        kind, type_, name = field.kind, field.type, field.name
        if kind == "enum":
            members = type_.members
            return rng.choices(members, field.weights)[0] if field.weights else rng.choice(members)
        if kind == "record":
            return self._fill(field.sub, rng, ctx)
        if kind in ("list", "set"):
            count = rng.choices((1, 2, 3, 4, 5), (35, 25, 20, 12, 8))[0]
            values = [self._value(field.sub, rng, ctx) for _ in range(count)]
            if kind == "set":
                unique = []
                for value in values:
                    if value not in unique:
                        unique.append(value)
                values = unique
            return values
        if kind == "claim_id":
            return f"C{ctx['seed']}-{ctx['number'] + 1:09d}"
        if kind == "person" and (type_ == t.TEXT or type_ in t.WHOLE):
            drawn = ctx.get("person")
            if drawn is not None and drawn[0] == type_ and rng.random() < 0.5:
                return drawn[1]  # a second person field (an account's owner): often the same person
            value = f"P{rng.randrange(ctx['pool']):08d}" if type_ == t.TEXT else rng.randrange(ctx["pool"])
            ctx["person"] = (type_, value)
            return value
        if kind == "as_of":
            return ctx["service"].isoformat()
        if kind == "accumulator":
            if type_ == t.MONEY:
                return _money(_within(field.pairs, _ytd_cents(rng), rng))
            if type_ in t.WHOLE:
                lo, hi = _bounds(field.pairs, 0, 5)
                return rng.choice((lo, lo, rng.randint(lo, hi)))
        return self._scalar(type_, name, field.pairs, rng, ctx)

    def _scalar(self, type_, name, pairs, rng, ctx):
        lower = name.lower()
        if type_ == t.MONEY:
            return _money(_within(pairs, _bill_cents(rng), rng))
        if type_ == t.BOOL:
            return rng.random() < (0.8 if "concentrated" in lower else 0.15 if lower.startswith(("is_", "has_")) or "newborn" in lower or "disabled" in lower or "poor" in lower or "low_income" in lower or "childbirth" in lower else 0.5)
        if type_ == t.INT:
            rare = any(word in lower for word in ("gap", "repaired", "zero_claim", "lapse", "missed"))
            hi = 8 if rare else 30 if "years" in lower else 10
            lo, hi = _bounds(pairs, 0, hi)
            return lo if rng.random() < (0.75 if rare else 0.3) else rng.randint(lo, hi)
        if type_ == t.MONTHS:
            lo, hi = _bounds(pairs, 0, 24)
            return rng.choice((lo, rng.randint(lo, hi)))
        if type_ == t.RATIO:
            return f"{rng.randint(0, 100)}%"
        if type_ == t.NUMBER:
            return round(rng.uniform(0, 100), 2)
        if type_ == t.DATE:
            return self._date(lower, rng, ctx["service"]).isoformat()
        if type_ == t.TEXT:
            return f"{name}-{rng.randrange(1000):03d}"
        raise UsageError(f"cannot generate values of type {type_} (field `{name}`)")

    def _date(self, lower, rng, service: datetime.date) -> datetime.date:
        if "birth" in lower:
            roll = rng.random()
            days = rng.randint(1, 365) if roll < 0.05 else rng.randint(365, 90 * 365)
            return max(datetime.date(1900, 1, 1), service - datetime.timedelta(days=days))
        if "year_start" in lower:
            return datetime.date(service.year, 1, 1)
        if "enrol" in lower or "start" in lower or "since" in lower:
            if rng.random() < 0.7:  # enrolled in last year's concentrated period
                return datetime.date(service.year - 1, rng.randint(9, 12), rng.randint(1, 28))
            return service - datetime.timedelta(days=rng.randint(0, 400))
        if "end" in lower or "until" in lower or "discharge" in lower:
            return service + datetime.timedelta(days=rng.randint(0, 30))
        return service - datetime.timedelta(days=rng.randint(0, 365))


def generate(policy, n: int = 1000, seed: int = 1) -> Iterator[dict]:
    """`n` claims for `policy` (a loaded `policydsl.Policy`), drawn with `random.Random(seed)`."""
    if n < 0:
        raise UsageError(f"the number of claims must not be negative, got {n}")
    return Generator(policy).claims(n, seed)


def write_claims(claims, spec: str) -> int:
    """Write `claims` to `spec` by its extension; the count written.

    JSON lines for .jsonl, .ndjson, .json or "-" (stdout); .csv in `policydsl batch`'s layout
    (nested record fields as dotted columns, lists as a JSON column); .parquet (nested structs
    and lists; needs pyarrow). Written in batches: memory stays flat."""
    lowered = spec.lower()
    try:
        if lowered.endswith(".parquet"):
            return write_parquet(spec, claims)
        if spec == "-":
            count = write_jsonl(sys.stdout, claims)
            sys.stdout.flush()
            return count
        with open(spec, "w", encoding="utf-8", newline="") as stream:
            return (write_csv if lowered.endswith(".csv") else write_jsonl)(stream, claims)
    except OSError as error:
        if spec == "-" and isinstance(error, BrokenPipeError):
            raise
        raise OutputError(f"{spec}: cannot write: {error.strerror or error}") from None


def _batches(claims, size: int = 5_000):
    batch = []
    for claim in claims:
        batch.append(claim)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_jsonl(stream, claims, size: int = 5_000) -> int:
    """Claims as JSON lines on an open text stream, `size` at a time; the count written."""
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    for batch in _batches(claims, size):
        stream.write("".join(dumps(claim) + "\n" for claim in batch))
        count += len(batch)
    return count


def flatten(claim: dict, prefix: str = "") -> dict:
    """One CSV row in `policydsl batch`'s layout: nested records as dotted columns, lists as JSON."""
    row = {}
    for key, value in claim.items():
        if isinstance(value, dict):
            row.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            row[prefix + key] = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            row[prefix + key] = "true" if value else "false"
        else:
            row[prefix + key] = str(value)
    return row


def write_csv(stream, claims, size: int = 5_000) -> int:
    """Claims as CSV rows (`flatten`) on an open text stream, with a header; the count written."""
    import csv

    writer = None
    count = 0
    for batch in _batches(claims, size):
        rows = [flatten(claim) for claim in batch]
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
        writer.writerows(rows)
        count += len(rows)
    return count


def write_parquet(spec: str, claims, size: int = 5_000) -> int:
    """Claims as a Parquet file (nested structs and lists, a row group per `size` claims); the count."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("writing Parquet needs pyarrow: pip install 'policydsl[parquet]'") from None
    writer = None
    count = 0
    try:
        for batch in _batches(claims, size):
            table = pa.Table.from_pylist(batch, schema=writer.schema if writer else None)
            if writer is None:
                writer = pq.ParquetWriter(spec, table.schema)
            writer.write_table(table)
            count += len(batch)
    finally:
        if writer is not None:
            writer.close()
    return count
