"""Health, the writer's jobs, and the WebSocket that streams what every writer does."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from evolab import __version__
from evolab.server.deps import StateDep, WorkerDep
from evolab.server.schemas import HealthDoc, JobsDoc
from evolab.server.views import run_summary

router = APIRouter(prefix="/api", tags=["live"])


@router.get("/health", response_model=HealthDoc, summary="Version and database file")
def health(state: StateDep) -> HealthDoc:
    return HealthDoc(version=__version__, db=str(state.db))


@router.get("/jobs", response_model=JobsDoc, summary="The writer's job in progress and its queue")
def jobs(worker: WorkerDep) -> JobsDoc:
    return worker.jobs()


@router.websocket("/ws")
async def live(websocket: WebSocket, state: StateDep) -> None:
    """Sends `hello` (runs and jobs), then `runs`, `generation` and `job` events as they happen."""
    if not _origin_allowed(websocket):
        await websocket.close(code=1008)  # policy violation: a page from another site
        return
    await websocket.accept()
    queue = state.hub.subscribe()
    listener: asyncio.Task | None = None
    try:
        runs = await asyncio.to_thread(lambda: [run_summary(i).model_dump() for i in state.stores.get().list_runs()])
        await websocket.send_json({"type": "hello", "runs": runs, "jobs": state.worker.jobs().model_dump()})
        listener = asyncio.create_task(_until_closed(websocket))
        while not listener.done():
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, listener}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            await websocket.send_json(getter.result())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        state.hub.unsubscribe(queue)
        if listener is not None:
            listener.cancel()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):  # the client may be gone already
            await websocket.close()


def _origin_allowed(websocket: WebSocket) -> bool:
    """Browsers send their page's Origin with a WebSocket handshake and apply no same-origin rule to it,
    so the server checks it: pages from the allowed hosts only (any page when every host is allowed)."""
    allowed = websocket.app.state.allowed_hosts
    origin = websocket.headers.get("origin")
    if allowed is None or origin is None:  # not a browser page (tools, tests)
        return True
    host = urlsplit(origin).hostname or ""
    return host in allowed or f"[{host}]" in allowed


async def _until_closed(websocket: WebSocket) -> None:
    """Reads (and ignores) client messages until the client goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
