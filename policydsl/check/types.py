"""The checker's types: units that policy values carry (money, ratio, months, ...).

Also the arithmetic table: which operator applies to which pair of units and what it
gives. `money + ratio` is not in the table, so it is a type error.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Scalar:
    name: str

    def __str__(self) -> str:
        return self.name


MONEY = Scalar("money")
RATIO = Scalar("ratio")
INT = Scalar("int")
NUMBER = Scalar("number")
BOOL = Scalar("bool")
DATE = Scalar("date")
MONTHS = Scalar("months")
TEXT = Scalar("text")
WHOLE = (INT, MONTHS)  # values of these types are Python ints (bounded to ±10**18, R407)

BUILTIN_TYPES = {
    "money": MONEY,
    "ratio": RATIO,
    "percent": RATIO,
    "int": INT,
    "number": NUMBER,
    "bool": BOOL,
    "date": DATE,
    "months": MONTHS,
    "text": TEXT,
}


@attrs.frozen
class EnumType:
    name: str
    members: tuple[int | str, ...] = attrs.field(eq=False, repr=False)

    def __str__(self) -> str:
        return self.name


@attrs.frozen
class MemberType:
    """A bare enum member that belongs to several enums; context picks one."""

    value: int | str
    candidates: frozenset[str]

    def __str__(self) -> str:
        return f"member `{self.value}` of {' or '.join(sorted(self.candidates))}"


@attrs.frozen
class RecordType:
    name: str

    def __str__(self) -> str:
        return self.name


@attrs.frozen
class ListType:
    element: object

    def __str__(self) -> str:
        return f"list of {self.element}"


@attrs.frozen
class SetType:
    element: object

    def __str__(self) -> str:
        return f"set of {self.element}"


@attrs.frozen
class TableType:
    key: object
    value: object

    def __str__(self) -> str:
        return f"table {self.key} -> {self.value}"


@attrs.frozen
class TiersType:
    def __str__(self) -> str:
        return "tier schedule"


@attrs.frozen
class ErrorType:
    """The type of an expression already reported as wrong; never reported again."""

    def __str__(self) -> str:
        return "<error>"


ERROR = ErrorType()
NUMERIC = (INT, NUMBER)
ORDERED = (MONEY, RATIO, INT, NUMBER, DATE, MONTHS)
SUMMABLE = (MONEY, RATIO, INT, NUMBER, MONTHS)


def _arith_table() -> dict[tuple[str, Scalar, Scalar], Scalar]:
    table: dict[tuple[str, Scalar, Scalar], Scalar] = {}
    for op in "+-":
        for unit in (MONEY, RATIO, INT, MONTHS):
            table[(op, unit, unit)] = unit
        for a in NUMERIC:
            for b in NUMERIC:
                table.setdefault((op, a, b), NUMBER)
        table[(op, DATE, MONTHS)] = DATE
    table[("+", MONTHS, DATE)] = DATE
    table[("*", INT, INT)] = INT
    for a in NUMERIC:
        for b in NUMERIC:
            table.setdefault(("*", a, b), NUMBER)
            table.setdefault(("/", a, b), NUMBER)
    for scale in (RATIO, INT, NUMBER):
        table[("*", MONEY, scale)] = table[("*", scale, MONEY)] = MONEY
        table[("/", MONEY, scale)] = MONEY
    for scale in (RATIO, INT, NUMBER):
        table[("*", RATIO, scale)] = table[("*", scale, RATIO)] = RATIO
        table[("/", RATIO, scale)] = RATIO
    table[("*", MONTHS, INT)] = table[("*", INT, MONTHS)] = MONTHS
    table[("/", MONEY, MONEY)] = NUMBER
    return table


ARITHMETIC = _arith_table()


def arithmetic_hint(op: str, left, right) -> str | None:
    pair = {str(left), str(right)}
    if op in "+-" and pair == {"money", "ratio"}:
        return "a ratio scales money: multiply (`amount * 60%`), or subtract ratios from ratios"
    if pair in ({"money", "int"}, {"money", "number"}) and op in "+-":
        return "write the number with its unit, e.g. `0 yuan`"
    if pair == {"months", "int"} and op in "+-":
        return "write the number with its unit, e.g. `3 months`, or multiply an int by `1 month`"
    if {"date"} <= pair and op in "+-":
        return "dates move by months: `date + 3 months`"
    return None


def unify(a, b):
    """The common type of two branch or list values, or None when they do not agree."""
    if a == b:
        return a
    if ERROR in (a, b):
        return ERROR
    if a in NUMERIC and b in NUMERIC:
        return NUMBER
    if isinstance(a, EnumType) and isinstance(b, MemberType) and a.name in b.candidates:
        return a
    if isinstance(b, EnumType) and isinstance(a, MemberType) and b.name in a.candidates:
        return b
    if isinstance(a, MemberType) and isinstance(b, MemberType):
        common = a.candidates & b.candidates
        return MemberType(a.value, common) if common else None
    if isinstance(a, SetType) and isinstance(b, SetType):
        element = unify(a.element, b.element)
        return SetType(element) if element is not None else None
    return None
