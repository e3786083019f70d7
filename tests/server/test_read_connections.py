"""Request threads read through their own connections, whichever thread FastAPI resolved the
dependency on."""

from __future__ import annotations

import threading
from pathlib import Path

from evolab.runner import Run
from evolab.server.state import ReadStores, ThreadStore
from evolab.storage import BatchCache, Store
from tests.runner.shared import small_config


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


def test_read_connections_share_decoded_genomes_and_never_serve_a_rewritten_runs(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    cfg = small_config()
    with Run.create(cfg, db, seed=1, backend="cpu") as first:
        first.advance(3)
        first_id = first.id
    shared = BatchCache()
    one, other = Store(db, genome_cache=shared), Store(db, genome_cache=shared)
    try:
        ids = [r.creature_id for r in one.results(first_id, 2)]
        assert [g.to_dict() for g in one.genomes(first_id, ids)] == [g.to_dict() for g in other.genomes(first_id, ids)]
        # the run's rows go, and another run may take its place (and its key) in the file
        one.delete_run(first_id)
        with Run.create(cfg, db, seed=2, backend="cpu") as second:
            second.advance(3)
            second_id = second.id
        with Store(db) as fresh:
            expected = fresh.genomes(second_id, [r.creature_id for r in fresh.results(second_id, 2)])
        got = other.genomes(second_id, [g.id for g in expected])
        assert [g.to_dict() for g in got] == [g.to_dict() for g in expected]
    finally:
        one.close()
        other.close()
