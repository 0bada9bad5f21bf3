"""CSV cells (and Parquet values) in, claim facts out: a row as the dict a JSON claim would be.

Each cell is converted by the policy's input schema (whole numbers, true/false, decimals,
JSON in list and record columns); dotted column names (`person.category`) are fields of
nested records. The facts reader then checks the claim as it checks JSON.
"""

from __future__ import annotations

import re
from decimal import Decimal

from policydsl.check import types as t
from policydsl.diagnostics.model import FactError, FactsError
from policydsl.tools.claims_io import Unreadable, parse_json_line
from policydsl.tools.decide import claim_id_of

_WHOLE = re.compile(r"-?[0-9]+\Z")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


class CellReader:
    """Builds a claim dict from a row of cells, converting each by the policy's input schema
    (the facts reader then checks the claim as it checks JSON)."""

    def __init__(self, policy, columns):
        schema = policy.program.ir  # the IR's input schema: field types by (record, field)
        self.columns = [(name, tuple(name.split(".")), self._type_of(schema, name)) for name in columns]

    @staticmethod
    def _type_of(schema, name: str):
        record: str | None = None
        type_ = None
        for part in name.split("."):
            if record is False or (record, part) not in schema.field_types:
                return None  # not in the schema: passed on as written, and reported as unknown
            type_ = schema.field_types[(record, part)]
            record = type_.name if isinstance(type_, t.RecordType) else False
        return type_

    def claim(self, values, checked: bool = False) -> tuple[object, object]:
        """(claim_id, claim dict or FactsError) for one row."""
        if not checked:
            if len(values) > len(self.columns):
                return None, ValueError(f"the row has {len(values)} cells but the header names {len(self.columns)} columns")
            try:
                "".join(values).encode("utf-8")
            except UnicodeEncodeError:
                return None, ValueError("the row is not UTF-8 text")
        claim: dict = {}
        problems = []
        for (name, parts, type_), value in zip(self.columns, values):
            if value is None or (value == "" and not checked):  # an empty CSV cell is absent; Parquet's "" is text
                continue
            if isinstance(value, Unreadable):
                problems.append(FactError(name, value.message, "F302"))
                continue
            try:
                value = _convert(value, type_)
                target = claim
                for part in parts[:-1]:
                    target = target.setdefault(part, {})
                    if not isinstance(target, dict):
                        raise ValueError("conflicts with another column for the same field")
                if parts[-1] in target:
                    raise ValueError("the field is given twice")
                target[parts[-1]] = value
            except ValueError as error:
                problems.append(FactError(name, str(error), "F302"))
        claim_id = claim_id_of(claim)
        return claim_id, (FactsError(problems) if problems else claim)


def _convert(value, type_):
    """A cell as the JSON value the schema expects. A cell that does not convert is passed
    on as written, for the facts reader to report with its path, with the row's other
    problems; only malformed JSON in a record or list column is reported here."""
    if not isinstance(value, str):
        return _without_nulls(value)
    if type_ in (t.INT, t.MONTHS) or (isinstance(type_, t.EnumType) and value not in type_.members):
        numbered = type_ in (t.INT, t.MONTHS) or any(type(m) is int for m in type_.members)  # hospital level 1, 2, 3
        return int(value) if numbered and _WHOLE.match(value) and len(value) < 20 else value
    if type_ == t.BOOL:
        return {"true": True, "false": False}.get(value.lower(), value)
    if type_ in (t.NUMBER, t.RATIO):
        return Decimal(value) if _DECIMAL.match(value) and len(value) < 100 else value
    if isinstance(type_, (t.ListType, t.RecordType)):
        parsed = parse_json_line(value)
        if isinstance(parsed, Exception):
            raise ValueError(f"expected JSON ({'a list' if isinstance(type_, t.ListType) else 'an object'}): {parsed}")
        return parsed
    return value  # money, date, text, a ratio written "75%", a column not in the schema


def _without_nulls(value):
    """Parquet structs have every field; a null one is an absent field, as in JSON."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value
