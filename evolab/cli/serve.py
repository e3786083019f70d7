"""`evolab serve`: the browser UI and its API over one database file."""

from __future__ import annotations

import contextlib
import gc
import signal
import threading
from collections.abc import Iterator
from typing import Annotated

import typer

from evolab.cli._backend import CLUSTER_HELP, BackendChoice, BackendOption, chosen_backend, cluster_backend
from evolab.cli._db import DEFAULT_DB, DbOption
from evolab.cli._output import EXIT_FAILED, fail, fail_on, stderr

EPILOG = """Examples:

  $ evolab serve                      # http://127.0.0.1:8080, evolution.db

  $ evolab serve --db experiments.db --port 9000

  $ evolab serve --host 0.0.0.0       # reachable from other machines: there is no login

  $ evolab serve --cluster tcp://scheduler:8786   # runs advanced here evaluate on a Dask cluster
"""


def serve_command(
    db: DbOption = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8080,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Kernel threads (default: all cores).", min=1)
    ] = None,
    backend: BackendOption = BackendChoice.auto,
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", help=CLUSTER_HELP + " Runs the server advances go there; replays stay here."),
    ] = None,
) -> None:
    """Serve the web UI: watch runs live (CLI runs too), replay creatures, start, advance and fork runs."""
    import socket

    from evolab.errors import StorageError
    from evolab.server import create_app

    if db.is_dir():
        fail(f"{db}: is a folder, not a database file")
    from evolab.server.app import LOOPBACK_HOSTS

    # one clear line now, not a failed job later
    physics = cluster_backend(cluster, backend) if cluster else chosen_backend(backend, workers)
    try:
        loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
        try:  # on loopback, only this machine's names may address the server (no DNS rebinding)
            app = create_app(
                db,
                workers=workers,
                backend=physics.name,
                allowed_hosts=[*LOOPBACK_HOSTS, host] if loopback else None,
                cluster=physics if cluster else None,
            )
        except StorageError as err:
            fail_on(err)
        try:  # a taken port is a one-line error, not a uvicorn traceback
            with socket.create_server((host, port), reuse_port=False):
                pass
        except OSError as err:
            fail(f"cannot listen on {host}:{port} ({err.strerror})", EXIT_FAILED)
        stderr.print(
            f"evolab UI on http://{host}:{port}  (database {db}; new runs on {physics.describe()}; Ctrl-C to stop)",
            highlight=False,
        )
        _serve(app, host, port)
        stderr.print("stopped", highlight=False)
    finally:
        if cluster:
            physics.close()  # the client, and the workers of a local:N cluster


def _serve(app, host: str, port: int) -> None:
    """Run uvicorn until Ctrl-C or SIGTERM, which stop it as uvicorn does (the requests in flight finish,
    then the writer's generation) but without raising the signal again once stopped: under asyncio's
    runner that turns a clean stop into a cancelled lifespan and two tracebacks."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    # Everything loaded so far (the app, numba, numpy, pydantic's schemas) lives as long as the server:
    # frozen, a full collection no longer walks it. Unfrozen, the few full collections a generation's
    # cards provoke stalled every request for up to 0.1-0.17 s under 16 clients (`evolab bench --api`).
    gc.collect()
    gc.freeze()
    Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
