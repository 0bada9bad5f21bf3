"""The service's wire types: msgspec Structs that decode requests and encode responses, and
the OpenAPI document generated from them; and a policy's input schema as JSON Schema.

Requests are decoded with `decode_evaluate` / `decode_batch`: JSON numbers that are not
integers become exact `Decimal`s (`facts.parse_number`), never floats. `input_schema(policy)`
derives the JSON Schema of a claim from the policy's IR (records, field types, defaults,
enums as `enum`, money as a string of digits with at most two decimals or a number, dates
as `format: date`).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

import msgspec

from policydsl.backends.facts import parse_number
from policydsl.check import types as t

_OBJECT = msgspec.Meta(extra_json_schema={"type": "object", "description": "the claim's facts, as `policydsl eval` reads them"})
Claim = Annotated[Any, _OBJECT]
Digest = Annotated[str, msgspec.Meta(pattern=r"^sha256:[0-9a-f]{64}$")]


class _Selection(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    policy: str | None = None
    region: str | None = None
    date: datetime.date | None = None
    as_of: datetime.date | None = None
    digest: Digest | None = None


class EvaluateRequest(_Selection, forbid_unknown_fields=True, omit_defaults=True):
    """One claim; `policy` (an id) or `region` (with the claim's date, or `date`)."""

    claim: Claim = None
    accumulators: dict[str, Any] | None = None
    explain: bool = False
    lang: Literal["en", "zh"] = "en"


class BatchRequest(_Selection, forbid_unknown_fields=True, omit_defaults=True):
    """Many claims for one policy or region; each gets a record, in order."""

    claims: list[Claim] = []


class PolicyRef(msgspec.Struct):
    id: str
    version: str | None
    effective: dict[str, str | None]
    digest: str


class EvaluateResponse(msgspec.Struct, omit_defaults=True):
    decision_id: str
    policy: PolicyRef
    result: dict[str, Any]
    accumulators: dict[str, Any] | None = None
    explanation: dict[str, Any] | None = None


class BatchResponse(msgspec.Struct):
    results: list[dict[str, Any]]
    decision_ids: list[str | None]


class FieldError(msgspec.Struct):
    path: str
    code: str
    message: str


class ErrorResponse(msgspec.Struct, omit_defaults=True):
    error: str
    code: str | None = None
    errors: list[FieldError] | None = None
    known: list[str] | None = None
    loaded_digest: str | None = None


class PolicySummary(msgspec.Struct):
    id: str
    region: str | None
    region_name: str | None
    version: str | None
    effective: dict[str, str | None]
    digest: str
    accumulators: list[str]


class FileError(msgspec.Struct):
    file: str
    errors: list[dict[str, Any]]


class ReloadState(msgspec.Struct):
    time: str
    generation: int
    errors: list[FileError]


class PoliciesResponse(msgspec.Struct):
    policies: list[PolicySummary]
    reload: ReloadState


class PolicyDetail(PolicySummary):
    """A policy's summary, with its `extends` chain and its input as JSON Schema."""

    chain: list[str]
    input_schema: dict[str, Any]


class Health(msgspec.Struct):
    status: str


class Ready(msgspec.Struct):
    ready: bool
    policies: int


evaluate_decoder = msgspec.json.Decoder(EvaluateRequest, float_hook=parse_number)
batch_decoder = msgspec.json.Decoder(BatchRequest, float_hook=parse_number)
encoder = msgspec.json.Encoder()


# ---- OpenAPI ------------------------------------------------------------------------------

_ERRORS = {
    "400": "malformed JSON or a body of the wrong shape",
    "404": "no such policy or region (the known ones are named)",
    "409": "the pinned digest is not the one loaded",
    "413": "the body, or the number of claims, is too large",
    "422": "facts that do not fit the policy's input (F3xx, by path), or a claim that cannot be decided (R4xx)",
    "503": "the request took longer than the time limit",
}


def openapi(title: str = "policydsl service", version: str = "1") -> dict:
    """The OpenAPI 3.1 document of every route, its schemas generated from the types above."""
    types = [EvaluateRequest, BatchRequest, EvaluateResponse, BatchResponse, ErrorResponse, PoliciesResponse, PolicyDetail, Health, Ready]
    (refs, components) = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    by_name = {tp.__name__: ref for tp, ref in zip(types, refs)}

    def body(name):
        return {"content": {"application/json": {"schema": by_name[name]}}}

    def answers(ok: str, *errors: str) -> dict:
        out = {"200": {"description": "OK", **body(ok)}}
        for code in errors:
            out[code] = {"description": _ERRORS[code], **body("ErrorResponse")}
        return out

    post = ("400", "404", "409", "413", "422", "503")
    paths = {
        "/v1/evaluate": {"post": {"operationId": "evaluate", "summary": "Decide one claim", "requestBody": {"required": True, **body("EvaluateRequest")}, "responses": answers("EvaluateResponse", *post)}},
        "/v1/evaluate/batch": {"post": {"operationId": "evaluateBatch", "summary": "Decide many claims, in order", "requestBody": {"required": True, **body("BatchRequest")}, "responses": answers("BatchResponse", *post)}},
        "/v1/policies": {"get": {"operationId": "policies", "summary": "The loaded policies and the last reload", "responses": answers("PoliciesResponse")}},
        "/v1/policies/{policy_id}": {
            "get": {
                "operationId": "policy",
                "summary": "One policy: its extends chain and input schema",
                "parameters": [{"name": "policy_id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "e.g. example/resident-2025 (slashes allowed)"}],
                "responses": answers("PolicyDetail", "404"),
            }
        },
        "/health": {"get": {"operationId": "health", "summary": "Alive", "responses": answers("Health")}},
        "/ready": {"get": {"operationId": "ready", "summary": "Policies loaded", "responses": {**answers("Ready"), "503": {"description": "no policy loaded yet", **body("Ready")}}}},
        "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }
    return {"openapi": "3.1.0", "info": {"title": title, "version": version}, "paths": paths, "components": {"schemas": components}}


# ---- a policy's input as JSON Schema -------------------------------------------------------

MONEY_PATTERN = r"^[0-9]+(\.[0-9]{1,2})?$"  # the reader refuses negative money


def input_schema(program) -> dict:
    """JSON Schema (2020-12) of a claim for the IR `program`: its input record and the records it uses."""
    defs = {}
    for record in program.records:
        if record is not None:
            defs[record] = _record_schema(program, record)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": program.title or program.name, **_record_schema(program, None)}
    schema["properties"].setdefault("claim_id", {"type": ["string", "integer"]})  # accepted on every claim
    if defs:
        schema["$defs"] = defs
    return schema


def _record_schema(program, record) -> dict:
    properties, required = {}, []
    for field in program.records[record]:
        name = field.name
        prop = _type_schema(program.field_types[(record, name)])
        key = (record, name)
        if key in program.defaults:
            prop["default"] = _json_value(program.defaults[key])
        else:
            required.append(name)
        properties[name] = prop
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _type_schema(ty) -> dict:
    if ty == t.MONEY:
        return {"oneOf": [{"type": "string", "pattern": MONEY_PATTERN}, {"type": "number", "minimum": 0, "multipleOf": 0.01}]}
    if ty == t.RATIO:
        return {"oneOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?%$"}]}
    if ty == t.NUMBER:
        return {"type": "number"}
    if ty == t.INT:
        return {"type": "integer"}
    if ty == t.MONTHS:
        return {"type": "integer", "minimum": 0}
    if ty == t.BOOL:
        return {"type": "boolean"}
    if ty == t.DATE:
        return {"type": "string", "format": "date"}
    if ty == t.TEXT:
        return {"type": "string"}
    if isinstance(ty, t.EnumType):
        return {"enum": list(ty.members)}
    if isinstance(ty, t.RecordType):
        return {"$ref": f"#/$defs/{ty.name}"}
    if isinstance(ty, t.ListType):
        return {"type": "array", "items": _type_schema(ty.element)}
    return {}


def _json_value(value):
    if isinstance(value, (datetime.date,)):
        return value.isoformat()
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)
