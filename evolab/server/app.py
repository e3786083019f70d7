"""The FastAPI application: routes, error mapping, the writer and watcher threads, and the built web UI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.middleware.trustedhost import TrustedHostMiddleware

from evolab import __version__
from evolab.errors import EvolabError
from evolab.physics.backends import make_backend
from evolab.physics.contract import Backend
from evolab.server.hub import Hub
from evolab.server.responses import AllowHeader, declare_refusals, one_line
from evolab.server.routes import creatures, defaults, live, presets, runs, transfer
from evolab.server.state import ServerState
from evolab.storage import Store

STATIC_DIR = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
"""What a browser on this machine calls a server bound to a loopback address."""

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>evolab</title>
<body style="font-family:system-ui;background:#0f0f14;color:#f8fafc;padding:3em">
<h1>evolab</h1><p>The API is running (<a style="color:#818cf8" href="/docs">/docs</a>), but the web UI
has not been built. Run <code>make setup</code> (or <code>npm ci &amp;&amp; npm run build</code> in
<code>web/</code>) and reload.</p></body>"""


def create_app(
    db: str | Path,
    *,
    workers: int | None = None,
    backend: str = "auto",
    poll_interval: float = 0.25,
    static_dir: Path | None = STATIC_DIR,
    allowed_hosts: Sequence[str] | None = None,
    cluster: Backend | None = None,
) -> FastAPI:
    """The evolab web app for one database file (created if missing).

    Args:
        db: the SQLite file every route reads and the one writer thread writes.
        workers: CPU backend threads for runs advanced by the server (default: all cores).
        backend: the physics backend of runs created through the API without one ("auto": CUDA when a
            usable GPU is there, else the CPU kernel); a run is advanced on the backend it records.
        poll_interval: seconds between the watcher's looks for other processes' writes.
        static_dir: the built web UI (`web/` built by Vite); None serves the API only.
        allowed_hosts: host names requests may address (the Host header) and WebSocket pages may come
            from (the Origin header); None allows any. `evolab serve` on a loopback address allows only
            loopback names, so a web page elsewhere cannot reach the API through DNS rebinding.
        cluster: a backend that advances the runs recorded as "cpu" instead of the local kernel (a
            `ClusterBackend`: `evolab serve --cluster`); its owner closes it.

    Raises:
        StorageError: the file cannot be used as an evolab database.
    """
    db = Path(db)
    Store(db).close()  # fail now, with a clear message, rather than on the first request
    make_backend(backend, workers=workers)  # an unusable backend, too

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServerState.start(
            db,
            Hub(asyncio.get_running_loop()),
            workers=workers,
            poll_interval=poll_interval,
            backend=backend,
            cluster=cluster,
        )
        app.state.evolab = state  # what `evolab.server.deps` hands the routes
        try:
            yield
        finally:
            await asyncio.to_thread(state.close)

    app = api_app(lifespan)
    app.state.allowed_hosts = tuple(allowed_hosts) if allowed_hosts is not None else None
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    if static_dir is not None and (static_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="web")
    else:

        @app.get("/", include_in_schema=False)
        def not_built() -> HTMLResponse:
            return HTMLResponse(_NOT_BUILT)

    return app


def api_app(lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None) -> FastAPI:
    """The API's routes and error mapping, without the database, the web UI or host checks: what
    `create_app` builds on, and all the OpenAPI schema is made of (`evolab.server.openapi`).

    Args:
        lifespan: sets `app.state.evolab` (a `ServerState`) while the app runs; the routes need it, or
            `app.dependency_overrides` for the dependencies of `evolab.server.deps` that read it.
    """
    # /docs and /redoc load Swagger UI and ReDoc from the package's own files, not a CDN: offline too
    app = FastAPIOffline(
        title="evolab",
        version=__version__,
        summary="Watch, replay and steer evolution runs stored in one SQLite file.",
        lifespan=lifespan,
    )
    app.state.allowed_hosts = None  # any host; `create_app` narrows it
    for router in (runs.router, creatures.router, presets.router, defaults.router, live.router, transfer.router):
        app.include_router(router)
    _add_error_handlers(app)
    declare_refusals(app)
    app.add_middleware(AllowHeader, api=app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Domain errors answer with the status their kind carries (`evolab.errors`): bad values 422, unknown
    things 404, conflicts 409, a database that cannot be used right now 503."""

    @app.exception_handler(EvolabError)
    async def domain_error(request: Request, err: EvolabError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=err.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> JSONResponse:
        # one shape for every refusal (`detail`, one line), with FastAPI's list of fields kept beside it
        errors = jsonable_encoder(err.errors())
        return JSONResponse({"detail": one_line(errors), "errors": errors}, status_code=422)
