"""Request threads read through their own connections, whichever thread FastAPI resolved the
dependency on."""

from __future__ import annotations

import threading
from pathlib import Path

from evolab.server.state import ReadStores, ThreadStore
from evolab.storage import Store


def test_a_thread_store_sends_each_call_to_the_calling_threads_connection(tmp_path: Path) -> None:
    db = tmp_path / "evolution.db"
    Store(db).close()
    stores = ReadStores(db)
    try:
        shared = ThreadStore(stores)  # made on this thread, as FastAPI may resolve a dependency
        used: dict[str, Store] = {}

        def read(name: str) -> None:
            assert shared.list_runs() == []
            used[name] = shared.list_runs.__self__

        workers = [threading.Thread(target=read, args=(f"thread {i}",)) for i in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len({id(store) for store in used.values()}) == 3  # one connection per thread
        read("resolving thread")
        assert used["resolving thread"] is stores.get()
        assert all(store is not used["resolving thread"] for name, store in used.items() if name != "resolving thread")
    finally:
        stores.close()
