"""What the app holds while it runs: the database path, per-thread read connections, the writer, the
watcher and the event hub (`evolab.server.deps` hands them to the routes)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolab.physics.backends import make_backend
from evolab.physics.contract import Backend, BatchOutputs, PelletDraws, SimParams, WrappedBackend
from evolab.physics.pack import PackedBatch
from evolab.server.cache import ResponseCache
from evolab.server.hub import Hub
from evolab.server.watch import Watcher
from evolab.server.worker import Worker
from evolab.storage import BatchCache, Store

SHARED_GENOME_BATCHES = 256
"""Decompressed genome batches the request threads share (about 70 kB each at population 100)."""


class ReadStores:
    """One read connection per request thread, so requests read side by side."""

    def __init__(self, db: Path) -> None:
        self._db = db
        self._genomes = BatchCache(SHARED_GENOME_BATCHES)  # one for all the threads' connections
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Store] = []

    def get(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self._db, genome_cache=self._genomes)
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


class LockedBackend(WrappedBackend):
    """A backend whose calls take turns: the writer's generations and the replays re-simulated on request
    threads share one compiled kernel and the machine's cores."""

    def __init__(self, inner: Backend, lock: threading.Lock) -> None:
        super().__init__(inner)
        self._lock = lock

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        with self._lock:
            return super().run(batch, params, draws, record)


class Backends:
    """The server's physics backends by name, made on first use, all behind one lock; `default` is the
    one `evolab serve --backend` chose for new runs, and `cluster` (`evolab serve --cluster`) the one that
    advances the runs recorded as "cpu" in its place (it is bit-identical to the local kernel)."""

    def __init__(self, default: str, workers: int | None, cluster: Backend | None = None) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._made: dict[str, Backend] = {}
        self.cluster = cluster
        self.default = self.get(default)

    def get(self, name: str | None) -> Backend:
        """The backend called `name` (None: the default); raises BackendUnavailable when it cannot run."""
        if name is None:
            return self.default
        if name not in self._made:
            inner = make_backend(name, workers=self._workers)
            self._made.setdefault(inner.name, LockedBackend(inner, self._lock))
            self._made.setdefault(name, self._made[inner.name])
        return self._made[name]

    def for_runs(self, name: str | None) -> Backend:
        """The backend the writer advances a run recorded as `name` on: the cluster for "cpu" runs when
        there is one (its only user, so it needs no lock), else `get(name)`. Replays stay local: one
        creature is quicker here than a round trip."""
        local = self.get(name)
        if self.cluster is not None and local.name == self.cluster.name:
            return self.cluster
        return local


@dataclass
class ServerState:
    """Everything a running app shares between requests (`create_app`'s lifespan makes and closes it)."""

    db: Path
    stores: ReadStores
    worker: Worker
    watcher: Watcher
    hub: Hub
    backends: Backends
    responses: ResponseCache

    @classmethod
    def start(
        cls,
        db: Path,
        hub: Hub,
        *,
        workers: int | None,
        poll_interval: float,
        backend: str = "auto",
        cluster: Backend | None = None,
    ) -> ServerState:
        """Open the read connections and start the writer and the watcher over `db`, both publishing to
        `hub` (see `evolab.server.create_app` for the arguments)."""
        backends = Backends(backend, workers, cluster)
        state = cls(
            db=db,
            stores=ReadStores(db),
            worker=Worker(db, hub.publish, backends=backends.for_runs),
            watcher=Watcher(db, hub.publish, poll_interval),
            hub=hub,
            backends=backends,
            responses=ResponseCache(),
        )
        state.worker.start()
        state.watcher.start()
        return state

    def close(self) -> None:
        """Finish the writer's job in progress, stop the watcher and close the read connections (blocks)."""
        self.worker.close()
        self.watcher.close()
        self.stores.close()
