"""What the app holds while it runs: the database path, per-thread read connections, the writer, the
watcher and the event hub (`evolab.server.deps` hands them to the routes)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evolab.physics.simulate import run_batch
from evolab.server.hub import Hub
from evolab.server.watch import Watcher
from evolab.server.worker import Worker
from evolab.storage import Store


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
    """Everything a running app shares between requests (`create_app`'s lifespan makes and closes it)."""

    db: Path
    stores: ReadStores
    worker: Worker
    watcher: Watcher
    hub: Hub
    kernel_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, db: Path, hub: Hub, *, workers: int | None, poll_interval: float) -> ServerState:
        """Open the read connections and start the writer and the watcher over `db`, both publishing to
        `hub` (see `evolab.server.create_app` for the arguments)."""
        kernel_lock = threading.Lock()

        def locked_kernel(*args: Any, **kwargs: Any) -> Any:
            # replays re-simulate on request threads with the same compiled kernel the writer runs
            with kernel_lock:
                return run_batch(*args, **kwargs)

        state = cls(
            db=db,
            stores=ReadStores(db),
            worker=Worker(db, hub.publish, kernel=locked_kernel, workers=workers),
            watcher=Watcher(db, hub.publish, poll_interval),
            hub=hub,
            kernel_lock=kernel_lock,
        )
        state.worker.start()
        state.watcher.start()
        return state

    def close(self) -> None:
        """Finish the writer's job in progress, stop the watcher and close the read connections (blocks)."""
        self.worker.close()
        self.watcher.close()
        self.stores.close()
