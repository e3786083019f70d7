"""What the app holds while it runs: the database path, per-thread read connections, the writer, the
watcher and the event hub; and the dependencies that hand them to the routes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from fastapi import HTTPException, Request

from evolab.server.hub import Hub
from evolab.server.watch import Watcher
from evolab.server.worker import Worker
from evolab.storage import RunInfo, Store


class ReadStores:
    """One read connection per request thread, so requests read side by side."""

    def __init__(self, db: Path) -> None:
        self._db = db
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Store] = []

    def get(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self._db)
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                store.close()
            self._all.clear()


class ThreadStore:
    """What a route gets as its Store: each call goes to the read connection of the thread making it.

    FastAPI may resolve a dependency on one threadpool thread and run the route on another, so handing
    the route the resolving thread's Store would share connections between request threads.
    """

    __slots__ = ("_stores",)

    def __init__(self, stores: ReadStores) -> None:
        self._stores = stores

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stores.get(), name)


@dataclass
class ServerState:
    db: Path
    stores: ReadStores
    worker: Worker
    watcher: Watcher
    hub: Hub
    kernel_lock: threading.Lock = field(default_factory=threading.Lock)


def server_state(request: Request) -> ServerState:
    return request.app.state.evolab


def read_store(request: Request) -> Store:
    """The read connection of whichever thread runs the request (see `ThreadStore`)."""
    return cast(Store, ThreadStore(server_state(request).stores))


def require_run(store: Store, run_id: str) -> RunInfo:
    """The run, or a 404."""
    info = store.find_run(run_id)
    if info is None:
        raise HTTPException(404, f"unknown run {run_id!r}")
    return info
