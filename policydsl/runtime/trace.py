"""The trace of a run with tracing on, as typed data: the events and steps it records.

`Program.traced[i](inputs, steps)` appends one `Step` per rule, in order: the rule's index
(into `Program.rule_names`), its value, and the events recorded while computing it. Like
OPA's trace, the events are typed values, not text: a `Branch` of a conditional taken, a
table `Lookup`, a tier schedule applied (`Tiers`, with the `Slice` each band paid), a list
`Element` added into a sum or count. `node` is the id the compiler gave the expression
(a key into `Program.traced_nodes`, the AST node), so consumers (explain/, coverage,
impact) read the trace by attribute and join it with the AST, never by position or text.

Generated code creates `Branch` and `Step` (as `_Branch(node, index)`, `_Step(rule,
value, events)`); `runtime.helpers` creates the others. They are made for every traced
evaluation, so they are small frozen `__slots__` classes rather than attrs classes (about
a third cheaper to create): equal by type and fields, hashable when their fields are, and
they match by position in `match` (`case Branch(node, index)`).
"""

from __future__ import annotations

_set = object.__setattr__


class _Event:
    """Frozen, slotted, compared by type and fields."""

    __slots__ = ()

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is frozen")

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self):
        return hash((type(self).__name__, *self._fields()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __reduce__(self):
        return type(self), self._fields()


class Branch(_Event):
    """Conditional `node` took its branch `index` (0-based; the last is `otherwise`)."""

    __slots__ = __match_args__ = ("node", "index")
    node: int
    index: int

    def __init__(self, node: int, index: int):
        _set(self, "node", node)
        _set(self, "index", index)


class Lookup(_Event):
    """Table look-up `node` read the row of `key` (the default row when `key` has none): `value`."""

    __slots__ = __match_args__ = ("node", "key", "value")
    node: int

    def __init__(self, node: int, key, value):
        _set(self, "node", node)
        _set(self, "key", key)
        _set(self, "value", value)


class Slice(_Event):
    """The part [low, high] of the axis inside band `band` (its index), paid at `rate`: `paid`."""

    __slots__ = __match_args__ = ("band", "low", "high", "rate", "paid")
    band: int

    def __init__(self, band: int, low, high, rate, paid):
        _set(self, "band", band)
        _set(self, "low", low)
        _set(self, "high", high)
        _set(self, "rate", rate)
        _set(self, "paid", paid)


class Tiers(_Event):
    """Tier schedule application `node` over [lower, upper]: the slices that paid, in band order."""

    __slots__ = __match_args__ = ("node", "lower", "upper", "slices")
    node: int
    slices: tuple[Slice, ...]

    def __init__(self, node: int, lower, upper, slices: tuple[Slice, ...]):
        _set(self, "node", node)
        _set(self, "lower", lower)
        _set(self, "upper", upper)
        _set(self, "slices", slices)


class Element(_Event):
    """Sum or count `node` added `value` for the element at `index` of its list (an element
    its `where` leaves out records nothing); the events of that element come just before it."""

    __slots__ = __match_args__ = ("node", "index", "value")
    node: int
    index: int

    def __init__(self, node: int, index: int, value):
        _set(self, "node", node)
        _set(self, "index", index)
        _set(self, "value", value)


class Step(_Event):
    """Rule `rule` (an index into `Program.rule_names`) computed `value`; `events` in run order."""

    __slots__ = __match_args__ = ("rule", "value", "events")
    rule: int
    events: list

    def __init__(self, rule: int, value, events: list):
        _set(self, "rule", rule)
        _set(self, "value", value)
        _set(self, "events", events)


Event = Branch | Lookup | Tiers | Element

__all__ = ["Branch", "Element", "Event", "Lookup", "Slice", "Step", "Tiers"]
