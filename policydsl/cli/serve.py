"""`policydsl serve [--policies DIR] [--host H] [--port P] [--workers N] [--decision-log FILE]`:
the policies of a folder as an HTTP service (serve/app.py), on uvicorn (or granian).

Needs the `serve` extra (`pip install 'policydsl[serve]'`); without it the command is a
usage error (U600). The folder is loaded and compiled before the server starts: files that
do not load are reported on stderr (they are shown by /v1/policies too) and the others
served. The server is uvicorn (with httptools and uvloop) by default; `--server granian` runs
granian (HTTP in Rust; it must be installed apart). Measured one after the other with
bench/serve_load.py on 2 cores: at 64 single-claim clients and 2 workers granian answered
10,900 requests/s against uvicorn's 13,000-15,000, and at one client uvicorn answers in half
the time (p50 0.21-0.29 ms against 0.52-0.54), so uvicorn is the default (docs/service.md).
Each of the N worker processes has its own copy of the policies, its own reload thread and
its own writer of the decision log (appending to one file). With more than one worker each
worker listens on a socket of its own (SO_REUSEPORT, serve/listening.py), so that the kernel
spreads connections over the workers rather than the first awake taking them all.
"""

from __future__ import annotations

import os
import sys

from policydsl.tools.claims_io import UsageError

_MISSING = "the serve command needs its extra dependencies: pip install 'policydsl[serve]'"


def register(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the policies of a folder over HTTP (JSON), reloading them when they change",
        description="Serve every policy under the policies folder over HTTP: POST /v1/evaluate, POST "
        "/v1/evaluate/batch, GET /v1/policies, GET /v1/policies/{id}, GET /health, GET /ready, GET /openapi.json "
        "(docs/service.md). The folder is polled for changes; a policy that changes is reloaded off the request "
        "path, and one that no longer loads keeps its last good version serving. Needs `pip install 'policydsl[serve]'`.",
    )
    serve.add_argument("--policies", default="policies", metavar="DIR", help="the policies folder (default: policies)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="the port (default 8080)")
    serve.add_argument("--workers", type=int, default=1, metavar="N", help="server processes (default 1)")
    serve.add_argument("--decision-log", metavar="FILE", help="append one JSON line per decision to FILE")
    serve.add_argument("--log-inputs", action="store_true", help="also write each claim's facts to the decision log (see --mask)")
    serve.add_argument("--mask", action="append", default=[], metavar="FIELD", help="with --log-inputs: write FIELD (a key at any depth) as \"***\" (repeatable)")
    serve.add_argument("--reload-interval", type=float, default=0.5, metavar="SECONDS", help="how often the folder is polled for changes (default 0.5; 0: never)")
    serve.add_argument("--max-body", type=int, default=1 << 20, metavar="BYTES", help="largest body of /v1/evaluate (default 1 MiB)")
    serve.add_argument("--max-batch-body", type=int, default=32 << 20, metavar="BYTES", help="largest body of /v1/evaluate/batch (default 32 MiB)")
    serve.add_argument("--max-batch", type=int, default=10_000, metavar="N", help="most claims in one batch (default 10000)")
    serve.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="time limit to receive a body and to decide a batch (default 10)")
    serve.add_argument("--server", default="uvicorn", choices=["uvicorn", "granian"], help="the HTTP server (default uvicorn; granian must be installed apart)")
    serve.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"], help="the server's log level (default warning)")
    serve.set_defaults(run=run)


def run(args) -> int:
    try:
        import msgspec  # noqa: F401
        import starlette  # noqa: F401

        if args.server == "granian":
            import granian  # noqa: F401
        else:
            import uvicorn  # noqa: F401
    except ImportError:
        if args.server == "granian":
            raise UsageError("--server granian needs granian: pip install granian") from None
        raise UsageError(_MISSING) from None
    from policydsl.serve.app import ENV, Settings, create_app, factory  # noqa: F401
    from policydsl.serve.catalog import Catalog

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    for name in ("max_body", "max_batch_body", "max_batch"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if not os.path.isdir(args.policies):
        raise UsageError(f"{args.policies}: no such policies folder")
    if args.mask and not args.log_inputs:
        raise UsageError("--mask masks inputs in the decision log: give --log-inputs (and --decision-log)")
    settings = Settings(
        policies=os.path.abspath(args.policies),
        reload_interval=args.reload_interval,
        max_body=args.max_body,
        max_batch_body=args.max_batch_body,
        max_batch=args.max_batch,
        timeout=args.timeout,
        decision_log=os.path.abspath(args.decision_log) if args.decision_log else None,
        mask=tuple(args.mask),
        log_inputs=args.log_inputs,
    )
    if settings.decision_log:
        try:
            open(settings.decision_log, "a").close()
        except OSError as error:
            raise UsageError(f"{args.decision_log}: cannot write the decision log: {error.strerror}") from None
    catalog = Catalog(settings.policies)
    snapshot = catalog.snapshot
    for pid, diagnostics in sorted(snapshot.errors.items()):
        first = diagnostics[0] if diagnostics else {}
        print(f"policydsl serve: warning: {pid}.policy does not load: error[{first.get('code')}]: {first.get('message')}", file=sys.stderr)
    print(f"policydsl serve: {len(snapshot.by_id)} policies from {args.policies} on http://{args.host}:{args.port} ({args.workers} worker{'s' if args.workers > 1 else ''})", file=sys.stderr)
    os.environ[ENV] = settings.to_env()  # each worker makes its app from these (serve.app.factory)
    if args.server == "granian":
        _granian(args)
    else:
        _uvicorn(args, settings, catalog, create_app)
    return 0


def _granian(args) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    loop = Loops.uvloop if _has("uvloop") else Loops.asyncio
    Granian(
        "policydsl.serve.app:factory", address=args.host, port=args.port, interface=Interfaces.ASGI, workers=args.workers,
        loop=loop, factory=True, log_level=LogLevels(args.log_level), log_access=False, websockets=False,
    ).serve()


def _uvicorn(args, settings, catalog, create_app) -> None:
    import uvicorn

    # proxy_headers off: nothing of ours reads the client's address, and its middleware is a
    # step of every request
    options = dict(host=args.host, port=args.port, log_level=args.log_level, access_log=False, timeout_graceful_shutdown=5,
                   proxy_headers=False, server_header=False)
    if args.workers == 1:
        uvicorn.run(create_app(settings, catalog), **options)
        return
    from uvicorn.supervisors import Multiprocess

    from policydsl.serve.listening import for_workers, spreads_connections

    config = uvicorn.Config("policydsl.serve.app:factory", factory=True, workers=args.workers, **options)
    if not spreads_connections():
        sock = config.bind_socket()  # uvicorn's one socket, shared by the workers
    else:
        try:
            sock = for_workers(args.host, args.port)  # one listening socket per worker (serve/listening.py)
        except OSError as error:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
