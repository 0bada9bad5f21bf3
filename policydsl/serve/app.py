"""The ASGI app of `policydsl serve`: settings in, a Starlette app out (`create_app`), or,
for uvicorn's workers, `factory()` reading the settings from $POLICYDSL_SERVE (JSON).

Routes: POST /v1/evaluate, POST /v1/evaluate/batch, GET /v1/policies, GET
/v1/policies/{id}, GET /health, GET /ready, GET /openapi.json. Request bodies are decoded
with msgspec into the types of schema.py (non-integer numbers as exact Decimals); responses
are encoded with msgspec. Errors are JSON (`schema.ErrorResponse`): 400 malformed JSON or
body, 404 unknown policy or region (naming the known ones), 409 a pinned digest not loaded,
413 a body or batch too large, 408 a body not received in time, 422 bad facts (by path,
F3xx) or a claim that cannot be decided (R4xx), 503 a batch past the time limit; anything
unexpected is a JSON 500 naming the exception's type only, never a traceback.

The request path reads `catalog.snapshot` once (an immutable snapshot swapped whole by the
reload thread: no lock) and looks a policy up in a dict. One claim is decided on the event
loop (its work is bounded by the policy's limits); a batch yields to the loop every
`_CHUNK` claims and stops at the time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import os
import time
import uuid

import attrs
import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from policydsl.diagnostics.model import EvaluationError, FactsError, PolicydslError, PolicyError
from policydsl.link.regions import RegionError
from policydsl.serve import schema
from policydsl.serve.catalog import Catalog, Entry, Snapshot
from policydsl.serve.log import DecisionLog
from policydsl.tools.decide import claim_id_of, decide, decision_record, error_record, failure_record, not_an_object

ENV = "POLICYDSL_SERVE"
_CHUNK = 64  # claims of a batch between two yields to the event loop (and time checks)
_encode = schema.encoder.encode


@attrs.frozen
class Settings:
    policies: str = "policies"
    reload_interval: float = 0.5  # seconds between two polls of the folder; 0: no reload
    max_body: int = 1 << 20  # bytes of one evaluate request
    max_batch_body: int = 32 << 20  # bytes of one batch request
    max_batch: int = 10_000  # claims of one batch request
    timeout: float = 10.0  # seconds to receive a body, and to decide a batch
    decision_log: str | None = None
    mask: tuple = ()
    log_inputs: bool = False

    def to_env(self) -> str:
        return json.dumps(attrs.asdict(self))

    @classmethod
    def from_env(cls, text: str) -> "Settings":
        data = json.loads(text)
        data["mask"] = tuple(data.get("mask") or ())
        return cls(**data)


class Failure(Exception):
    """An answer other than 200: its status and `ErrorResponse`."""

    def __init__(self, status: int, error: str, **fields):
        super().__init__(error)
        self.status = status
        self.body = schema.ErrorResponse(error, **fields)


def _json(content, status: int = 200) -> Response:
    return Response(_encode(content), status_code=status, media_type="application/json")


def _failure_response(failure: Failure) -> Response:
    return _json(failure.body, failure.status)


def _error_of(error: Exception) -> Failure:
    """A policydsl error raised for one claim, as the answer it gets."""
    if isinstance(error, FactsError):
        errors = [schema.FieldError(e.path, e.code, e.message) for e in error.errors]
        return Failure(422, "invalid facts: " + str(error), code=errors[0].code if errors else "F300", errors=errors)
    if isinstance(error, EvaluationError):
        return Failure(422, str(error), code=error.code)
    if isinstance(error, RegionError):
        return Failure(404, str(error), code=error.code)
    if isinstance(error, PolicyError):
        return Failure(503, "the policy does not load: " + str(error), code="L500")
    if isinstance(error, PolicydslError):
        return Failure(422, str(error), code=getattr(error, "code", None))
    return Failure(500, f"internal error: {type(error).__name__}", code="internal")


def _decision_ids():
    """A function giving decision ids: 20 random hex digits drawn once per process (from
    `uuid.uuid4`), then a counter of 12 hex digits. Unique across workers and restarts (a
    clash needs two processes to draw the same 80 random bits), and a quarter of the cost of
    a uuid4 per decision, which was 4 µs of the ~50 of a request."""
    prefix = uuid.uuid4().hex[:20]
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter):012x}"


def create_app(settings: Settings, catalog: Catalog | None = None):
    catalog = catalog if catalog is not None else Catalog(settings.policies)
    log = DecisionLog(settings.decision_log, settings.mask, settings.log_inputs) if settings.decision_log else None
    openapi_bytes = _encode(schema.openapi())
    schemas: dict = {}  # (id, digest) -> the policy's input schema
    new_id = _decision_ids()

    async def read_body(scope, receive, limit: int) -> bytes:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise Failure(413, f"the body has {int(value):,} bytes; at most {limit:,} are accepted", code="too_large")
        message = await receive()  # the common case: the whole body in one message, no timer needed
        body = message.get("body", b"")
        if not message.get("more_body"):
            if len(body) > limit:
                raise Failure(413, f"the body has more than {limit:,} bytes", code="too_large")
            return body
        chunks, size = [body], len(body)
        try:
            async with asyncio.timeout(settings.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise Failure(400, "the client went away", code="disconnected")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise Failure(413, f"the body has more than {limit:,} bytes", code="too_large")
                    chunks.append(chunk)
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            raise Failure(408, f"the body was not received within {settings.timeout:g} s", code="timeout") from None
        return b"".join(chunks)

    def decode(decoder, body: bytes):
        try:
            return decoder.decode(body)
        except msgspec.ValidationError as error:
            raise Failure(400, f"the body does not fit: {error}", code="bad_body") from None
        except (msgspec.DecodeError, ValueError, RecursionError) as error:
            message = str(error) if not isinstance(error, RecursionError) else "nested too deeply"
            raise Failure(400, f"malformed JSON: {message}", code="bad_json") from None

    def choose(snapshot: Snapshot, request, claim) -> Entry:
        """The entry the request names, by id or by region (for one claim)."""
        if (request.policy is None) == (request.region is None):
            raise Failure(400, "give exactly one of `policy` (an id) and `region`", code="bad_body")
        if request.policy is not None:
            entry = snapshot.by_id.get(request.policy)
            if entry is None:
                known = snapshot.policy_id_known()
                raise Failure(404, f"no policy `{request.policy}`; policies: {', '.join(known) or 'none'}", code="unknown_policy", known=known)
            return entry
        try:
            return snapshot.for_region(request.region, claim, request.date)
        except RegionError as error:
            raise Failure(404, str(error), code="unknown_region", known=snapshot.regions_known()) from None
        except PolicydslError as error:
            raise _error_of(error) from None

    def pinned(request, entry: Entry) -> None:
        if request.digest is not None and request.digest != entry.policy.provenance.digest:
            loaded = entry.policy.provenance.digest
            raise Failure(409, f"policy `{entry.policy.provenance.id}` is loaded with digest {loaded}, not {request.digest}", code="digest_mismatch", loaded_digest=loaded)

    async def evaluate(scope, receive) -> tuple[int, bytes]:
        try:
            body = await read_body(scope, receive, settings.max_body)
            req = decode(schema.evaluate_decoder, body)
            claim = req.claim
            if claim is None:
                raise Failure(400, "the body has no `claim`", code="bad_body")
            entry = choose(catalog.snapshot, req, claim)
            pinned(req, entry)
            policy = entry.policy
            if not isinstance(claim, dict):
                raise _error_of(FactsError([not_an_object(claim)]))
            try:
                decision = policy.evaluate(claim, as_of=req.as_of, accumulators=req.accumulators)
                record = decision_record(decision, decision.claim_id)
                explanation = decision.explanation(req.lang).to_dict() if req.explain else None
            except PolicydslError as error:
                raise _error_of(error) from None
        except Failure as failure:
            return failure.status, _encode(failure.body)
        decision_id = new_id()
        if log is not None:
            log.record(decision_id, record, claim)
        return 200, _encode(schema.EvaluateResponse(decision_id, record["policy"], record, record.get("accumulators"), explanation))

    async def evaluate_batch(scope, receive) -> tuple[int, bytes]:
        started = time.monotonic()
        try:
            body = await read_body(scope, receive, settings.max_batch_body)
            req = decode(schema.batch_decoder, body)
            claims = req.claims
            if len(claims) > settings.max_batch:
                raise Failure(413, f"the batch has {len(claims):,} claims; at most {settings.max_batch:,} are accepted", code="too_many_claims")
            snapshot = catalog.snapshot
            if req.policy is not None or req.date is not None:
                entry = choose(snapshot, req, None)
                pinned(req, entry)
                chooser = entry.policy
            else:
                if req.region is None:
                    raise Failure(400, "give exactly one of `policy` (an id) and `region`", code="bad_body")
                if not any(i.region == req.region for i in snapshot.infos):
                    raise Failure(404, f"no policy for region {req.region}; regions: {', '.join(snapshot.regions_known()) or 'none'}", code="unknown_region", known=snapshot.regions_known())
                chooser = _ByClaimDate(snapshot, req.region, req.digest)
            results, ids = [], []
            deadline = started + settings.timeout
            as_of = req.as_of
            for start in range(0, len(claims), _CHUNK):
                if start:
                    await asyncio.sleep(0)
                    if time.monotonic() > deadline:
                        raise Failure(503, f"the batch was not decided within {settings.timeout:g} s ({start:,} of {len(claims):,} claims); send fewer claims at a time", code="timeout")
                for number, claim in enumerate(claims[start:start + _CHUNK], start + 1):
                    try:
                        record, outputs = decide(chooser, claim, number, as_of, keep_going=True)
                    except PolicyError as error:
                        record, outputs = error_record(error, claim_id_of(claim), number), None
                    results.append(record)
                    if outputs is None:
                        ids.append(None)
                        continue
                    decision_id = new_id()
                    ids.append(decision_id)
                    if log is not None:
                        log.record(decision_id, record, claim)
        except Failure as failure:
            return failure.status, _encode(failure.body)
        return 200, _encode(schema.BatchResponse(results, ids))

    async def policies(request: Request) -> Response:
        snapshot = catalog.snapshot
        listed = [_summary(e) for _, e in sorted(snapshot.by_id.items())]
        errors = [schema.FileError(f"{pid}.policy", diagnostics) for pid, diagnostics in sorted(snapshot.errors.items())]
        return _json(schema.PoliciesResponse(listed, schema.ReloadState(snapshot.time, snapshot.generation, errors)))

    async def policy(request: Request) -> Response:
        snapshot = catalog.snapshot
        pid = request.path_params["policy_id"]
        entry = snapshot.by_id.get(pid)
        if entry is None:
            known = snapshot.policy_id_known()
            return _failure_response(Failure(404, f"no policy `{pid}`; policies: {', '.join(known) or 'none'}", code="unknown_policy", known=known))
        provenance = entry.policy.provenance
        key = (pid, provenance.digest)
        input_schema = schemas.get(key)
        if input_schema is None:
            if len(schemas) > 256:
                schemas.clear()
            input_schema = schemas[key] = schema.input_schema(entry.policy.program.ir)
        summary = _summary(entry)
        return _json(schema.PolicyDetail(**msgspec.structs.asdict(summary), chain=list(provenance.chain), input_schema=input_schema))

    async def health(request: Request) -> Response:
        return _json(schema.Health("ok"))

    async def ready(request: Request) -> Response:
        count = len(catalog.snapshot.by_id)
        return _json(schema.Ready(count > 0, count), 200 if count else 503)

    async def openapi(request: Request) -> Response:
        return Response(openapi_bytes, media_type="application/json")

    async def http_error(request: Request, error: HTTPException) -> Response:
        return _json(schema.ErrorResponse(str(error.detail), code=str(error.status_code)), error.status_code)

    async def internal_error(request: Request, error: Exception) -> Response:
        return _json(schema.ErrorResponse(f"internal error: {type(error).__name__}", code="internal"), 500)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # The loaded policies, the modules and the app live as long as the process: frozen out
        # of the cyclic garbage collector, no collection scans them again. Measured with a
        # batch load on one worker: full collections took 13% of the time (up to 70 ms each),
        # 3% once frozen.
        gc.collect()
        gc.freeze()
        catalog.start(settings.reload_interval)
        try:
            yield
        finally:
            catalog.stop()
            if log is not None:
                log.close()

    routes = [
        Route("/v1/evaluate", lambda request: None, methods=["POST"]),  # answered by `fast` below (listed for 405s)
        Route("/v1/evaluate/batch", lambda request: None, methods=["POST"]),
        Route("/v1/policies", policies, methods=["GET"]),
        Route("/v1/policies/{policy_id:path}", policy, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: internal_error}, lifespan=lifespan)
    app.state.catalog = catalog
    app.state.log = log
    posts = {"/v1/evaluate": evaluate, "/v1/evaluate/batch": evaluate_batch}

    async def fast(scope, receive, send):
        """The two POST routes as plain ASGI (no Request/Response objects: a third of the
        time of a request); everything else goes to Starlette."""
        handler = posts.get(scope.get("path")) if scope["type"] == "http" and scope["method"] == "POST" else None
        if handler is None:
            return await app(scope, receive, send)
        try:
            status, body = await handler(scope, receive)
        except Exception as error:  # noqa: BLE001 - never a traceback to the client
            status, body = 500, _encode(schema.ErrorResponse(f"internal error: {type(error).__name__}", code="internal"))
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    fast.state = app.state
    fast.starlette = app
    return fast


class _Mismatch(EvaluationError):
    """A claim of a batch by region whose version in force is not the pinned digest (its record's code: digest_mismatch)."""


class _ByClaimDate:
    """A region's policies as one, each claim decided by the version in force on its date."""

    def __init__(self, snapshot: Snapshot, region: str, digest: str | None):
        self.snapshot, self.region, self.digest = snapshot, region, digest

    def evaluate(self, facts, as_of=None):
        policy = self.snapshot.for_region(self.region, facts, None).policy
        if self.digest is not None and policy.provenance.digest != self.digest:
            raise _Mismatch(f"the version of region {self.region} in force on the claim's date, `{policy.provenance.id}`, has digest {policy.provenance.digest}, not {self.digest}", code="digest_mismatch")
        return policy.evaluate(facts, as_of=as_of)


def _summary(entry: Entry) -> schema.PolicySummary:
    provenance = entry.policy.provenance
    info = entry.info
    data = provenance.to_json()
    return schema.PolicySummary(provenance.id, info.region, info.region_name, provenance.version, data["effective"], provenance.digest, list(entry.policy.accumulator_names))


def factory() -> Starlette:
    """The app for uvicorn (`--factory`): settings from $POLICYDSL_SERVE."""
    return create_app(Settings.from_env(os.environ.get(ENV, "{}")))
