"""Claims of many people in, each decided with the accumulators its person's earlier claims left.

An accumulator (`accumulator ytd_basic_paid: money per person_id opening 0 yuan adds basic`)
is what one person's claims of one year add up to. Carrying decides each person's claims in
order and hands the accumulators on from claim to claim:

- Order: claims are grouped by the person field (`per`; persons compared by a canonical text
  of the value, so an int person 7 is 7 however it is written) and ordered by their `as of`
  date; claims of one day keep their input order. Key: (person, date, input position).
- Opening: each accumulator starts a person's year (`Accumulator.period_of` of the claim's
  date: the calendar year, or `over year from 07-01`) at its `opening` value, unless the claim
  that starts it -- the first claim of that person-year with no decided claim of the person
  before it in that year -- gives the accumulator's field (`"ytd_basic_paid": "5000.00"`): that
  value is then the opening balance (what the settlement ledger held before these claims).
  On later claims of the person-year the value given is replaced by the carried one (each
  decision shows `before`). Each accumulator starts its year on its own.
- Failures: a claim that cannot be decided adds nothing; the person's later claims continue
  from the last decided one. A claim without a person value (absent, null or "") cannot be
  carried: it is a `FactsError` (F301) at the person field. A claim whose date is missing or
  unreadable is decided alone, with the opening values, so that its error is about the date.

`carry(policy, claims, as_of=None)` decides an iterable of claim dicts and gives, in input
order, one `Decision` (or the `FactsError` / `EvaluationError` of a claim that could not be
decided) per claim; it holds every claim in memory. `policydsl batch --carry` does the same
for files of any size in bounded memory (tools/batch/carrying.py). Both use `Carrier` (a
claim's place in the order) and `Ledger` (one person's accumulators, claim to claim).
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from policydsl.backends.facts import read_date
from policydsl.check import types as t
from policydsl.diagnostics.model import EvaluationError, FactError, FactsError
from policydsl.tools.claims_io import UsageError



class Carrier:
    """What carrying needs to know of a policy: whose claim it is, its date, the accumulators.

    A policy without accumulators has nothing to carry: `UsageError` (U600).
    """

    def __init__(self, policy):
        if not policy.accumulators:
            raise UsageError(
                f"{policy.name} declares no accumulator, so there is nothing to carry from claim to claim "
                "(`batch --carry` and `policydsl.carry` need `accumulator NAME: TYPE per PERSON_FIELD ...` definitions)"
            )
        program = policy.program
        self.policy = policy
        self.accumulators = policy.accumulators
        self.names = policy.accumulator_names
        self.person_field = self.accumulators[0].per  # the first accumulator's key field
        self.per_fields = tuple(dict.fromkeys(a.per for a in self.accumulators))  # each key field once
        self.shared = len(self.per_fields) > 1  # keyed by more than one field: claims grouped by components
        self._is_int = {name: program.ir.field_types[(None, name)] == t.INT for name in self.per_fields}
        self.person_is_int = self._is_int[self.person_field]
        self.date_field = program.ir.inputs[program.as_of_index][0]  # every policy with accumulators has one (C265)
        self.date_default = program.ir.defaults.get((None, self.date_field))
        self._starts: dict = {}  # day -> the period start of each accumulator (a cache)
        self._why = {}
        for field in self.per_fields:
            listed = ", ".join(f"`{a.name}`" for a in self.accumulators if a.per == field)
            self._why[field] = f"needed to carry accumulators ({listed} are carried per `{field}`)"

    def place(self, claim) -> tuple[tuple[str, datetime.date] | None, object]:
        """((person, date), None) for a claim that is carried; else (None, what to decide alone
        in its place): the claim itself when it is not a dict (it gets its error record), the
        `FactsError` of a claim without a person, or, for a claim without a readable date,
        the claim with the opening values."""
        if not isinstance(claim, dict):
            return None, claim
        missing = []
        for field in self.per_fields:
            person = claim.get(field)
            if person is None or person == "":
                what = "missing" if field not in claim else ("null" if person is None else "empty")
                missing.append(FactError(field, f"{what}: {self._why[field]}", "F301"))
        if missing:
            return None, FactsError(missing)
        day = read_date(claim.get(self.date_field, self.date_default))
        if day is None:
            return None, self.with_openings(claim)
        return (self.person_text(claim[self.person_field]), day), None

    def keys(self, claim: dict) -> tuple:
        """The key of each accumulator's balance a carried claim draws on: (field, canonical
        text of its value), one per key field, e.g. (("person_id", "=p1"), ("account_owner_id", "=p2"))."""
        return tuple((field, self.key_text(field, claim[field])) for field in self.per_fields)

    def key_text(self, field: str, value) -> str:
        """The canonical text of a value of the key field `field`: "=" and the value as the facts
        reader reads it (an int field's 7 and 7.0 are one person), or "!" and its repr for a value
        the reader refuses (its claims fail, and add nothing, whoever they are grouped with)."""
        if self._is_int[field]:
            if type(value) is int:
                return f"={value}"
            if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
                return f"={int(value)}"
        elif type(value) is str:
            return "=" + value
        return "!" + repr(value)

    def person_text(self, value) -> str:
        """`key_text` of the person field (the first accumulator's key field)."""
        return self.key_text(self.person_field, value)

    def period_starts(self, day: datetime.date) -> tuple:
        """The first day of the year that `day` falls in, for each accumulator."""
        starts = self._starts.get(day)
        if starts is None:
            if len(self._starts) >= 10_000:  # a few decades of days: stays small
                self._starts.clear()
            starts = self._starts[day] = tuple(a.period_of(day)[0] for a in self.accumulators)
        return starts

    def with_openings(self, claim: dict) -> dict:
        """The claim with each accumulator it does not give at its opening value."""
        missing = {a.name: a.opening for a in self.accumulators if claim.get(a.name) is None}
        return {**claim, **missing} if missing else claim


class Ledger:
    """One person's accumulators, claim to claim (claims given in carry order).

    `facts(claim, day)` is the claim with the value of each accumulator before it: the one
    carried in the same year, else the claim's own (an opening balance), else the opening
    value. `decided(afters)` moves them on after a claim that was decided; after one that
    was not, nothing changes.
    """

    __slots__ = ("carrier", "held", "periods", "slots")

    def __init__(self, carrier: Carrier):
        self.carrier = carrier
        self.held: dict = {}  # name, or (name, key) when shared -> (period start, value after the last decided claim)
        self.periods: tuple = ()  # the period start of each accumulator for the claim last given
        self.slots: tuple = ()  # where each accumulator of the claim last given is held

    def facts(self, claim: dict, day: datetime.date) -> dict:
        values = {}
        self.periods = starts = self.carrier.period_starts(day)
        held = self.held
        carrier = self.carrier
        if carrier.shared:  # a ledger holds a component's balances: each under its own key's value
            self.slots = tuple((a.name, carrier.key_text(a.per, claim.get(a.per))) for a in carrier.accumulators)
        else:
            self.slots = carrier.names
        for accumulator, start, slot in zip(carrier.accumulators, starts, self.slots):
            name = accumulator.name
            carried = held.get(slot)
            if carried is not None and carried[0] == start:
                values[name] = carried[1]
            elif claim.get(name) is None:
                values[name] = accumulator.opening
        return {**claim, **values} if values else claim

    def decided(self, afters) -> None:
        """The claim last given to `facts` was decided: `afters` are its accumulators' values
        after it, in declaration order (Python values, or as a decision record writes them)."""
        for slot, start, after in zip(self.slots, self.periods, afters):
            self.held[slot] = (start, Decimal(after) if isinstance(after, str) else after)


def carry(policy, claims, as_of: datetime.date | None = None) -> list:
    """Decide every claim with the accumulators carried from its person's earlier claims.

    `claims`: an iterable of claim dicts. Gives a list in input order, one item per claim: its
    `Decision` (with `.accumulators` before and after it), or the `FactsError` /
    `EvaluationError` of a claim that could not be decided. `as_of` is as for
    `Policy.evaluate` (the values in force on that day; years still go by each claim's date).
    A policy without accumulators is a `UsageError`. Holds every claim in memory.
    """
    carrier = Carrier(policy)
    claims = list(claims)
    results: list = [None] * len(claims)
    order = []
    for position, claim in enumerate(claims):
        key, alone = carrier.place(claim)
        if key is None:
            results[position] = alone if isinstance(alone, Exception) else _evaluate(policy, alone, as_of)
        else:
            order.append((key, position))
    person = ledger = None
    for (who, day), position in carrying_order(carrier, claims, order):
        if who != person:
            person, ledger = who, Ledger(carrier)
        decision = _evaluate(policy, ledger.facts(claims[position], day), as_of)
        if not isinstance(decision, Exception):
            ledger.decided([decision.accumulators[name].after for name in carrier.names])
        results[position] = decision
    return results


def carrying_order(carrier: Carrier, claims: list, order: list) -> list:
    """`order`, the ((person, date), position) of each carried claim of `claims` (as
    `Carrier.place` gives them), sorted into the order they are decided in: by person, then
    date, then position; for a policy keyed by several fields (`Carrier.shared`), by the
    component of keys the claim draws on (`Components`) in place of the person. A new
    component (or person) starts a new `Ledger`."""
    if carrier.shared:
        groups = Components()
        for _, position in order:
            groups.join(carrier.keys(claims[position]))
        order = [((groups.find(carrier.keys(claims[position])[0]), day), position) for (_, day), position in order]
    return sorted(order)


class Components:
    """Union-find over accumulator keys: claims that draw on one balance (a patient's own
    year, or an account several relatives draw on) are in one component, carried together
    in (date, input position) order. `find(key)` is the component's name: its least key's
    text, so the order of components does not depend on the order claims came in."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, key) -> str:
        root = self._root(key)
        field, text = root
        return f"{field}{text}"

    def _root(self, key):
        parent = self.parent
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def join(self, keys) -> None:
        roots = [self._root(key) for key in keys]
        least = min(roots)
        for root in roots:
            self.parent[root] = least


def _evaluate(policy, facts, as_of):
    try:
        return policy.evaluate(facts, as_of=as_of)
    except (FactsError, EvaluationError) as error:
        return error


__all__ = ["Carrier", "Components", "Ledger", "carry"]
