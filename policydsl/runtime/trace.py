"""The trace of a run with tracing on, as typed data: the events and steps it records.

`Program.traced[i](inputs, steps)` appends one `Step` per rule, in order: the rule's index
(into `Program.rule_names`), its value, and the events recorded while computing it. Like
OPA's trace, the events are typed values, not text: a `Branch` of a conditional taken, a
table `Lookup`, a tier schedule applied (`Tiers`, with the `Slice` each band paid), a list
`Element` added into a sum or count, the value a `let` named (`Bound`). `node` is the id the compiler gave the expression
(a key into `Program.traced_nodes`, the AST node), so consumers (explain/, coverage,
impact) read the trace by attribute and join it with the AST, never by position or text.

They are made by the dozen for every traced evaluation, so each is a tuple subclass with
named, read-only fields: frozen, slotless, equal by type and fields, hashable when its
fields are, matching by position or name in `match` (`case Branch(node, index)`).
`Branch(node, index)` builds one for people; the hot path (generated code, as
`_new(_Branch, (node, index))`, and `runtime.helpers`) calls `new`, which is
`tuple.__new__`: no Python-level constructor runs per event.
"""

from __future__ import annotations

from operator import itemgetter

new = tuple.__new__  # new(Branch, (node, index)): an event without a Python-level call


class _Event(tuple):
    """A frozen record: a tuple of `_fields`, read by name, compared by type and fields."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __new__(cls, *fields):
        if len(fields) != len(cls._fields):
            raise TypeError(f"{cls.__name__} takes {len(cls._fields)} fields ({', '.join(cls._fields)}), not {len(fields)}")
        return tuple.__new__(cls, fields)

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.__match_args__ = cls._fields
        for index, name in enumerate(cls._fields):
            setattr(cls, name, property(itemgetter(index), doc=f"field {index}: {name}"))

    def __eq__(self, other):  # an event never equals a plain tuple or another kind of event
        return type(other) is type(self) and tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((type(self).__name__, *self))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"{type(self).__name__}({fields})"

    def __getnewargs__(self):
        return tuple(self)


class Branch(_Event):
    """Conditional `node` took its branch `index` (0-based; the last is `otherwise`)."""

    __slots__ = ()
    _fields = ("node", "index")


class Lookup(_Event):
    """Table look-up `node` read the row of `key` (the default row when `key` has none): `value`."""

    __slots__ = ()
    _fields = ("node", "key", "value")


class Slice(_Event):
    """The part [low, high] of the axis inside band `band` (its index), paid at `rate`: `paid`."""

    __slots__ = ()
    _fields = ("band", "low", "high", "rate", "paid")


class Tiers(_Event):
    """Tier schedule application `node` over [lower, upper]: the slices that paid, in band order."""

    __slots__ = ()
    _fields = ("node", "lower", "upper", "slices")


class Element(_Event):
    """Sum or count `node` added `value` for the element at `index` of its list (an element
    its `where` leaves out records nothing); the events of that element come just before it."""

    __slots__ = ()
    _fields = ("node", "index", "value")


class Bound(_Event):
    """`let` `node` named `value` (recorded once it is computed, before its body runs)."""

    __slots__ = ()
    _fields = ("node", "value")


class Step(_Event):
    """Rule `rule` (an index into `Program.rule_names`) computed `value`; `events` in run order."""

    __slots__ = ()
    _fields = ("rule", "value", "events")


Event = Branch | Lookup | Tiers | Element | Bound

__all__ = ["Bound", "Branch", "Element", "Event", "Lookup", "Slice", "Step", "Tiers", "new"]
