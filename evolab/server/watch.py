"""Noticing what any process wrote: the watcher polls the database and publishes new generations and
run-list changes, so runs written by `evolab evolve` in another terminal show up live like the server's own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evolab.errors import EvolabError
from evolab.server.schemas import RunSummary
from evolab.server.views import run_summary, stats_doc
from evolab.storage import Store

log = logging.getLogger("evolab.server")

_RECHECK_TICKS = 8  # a writer killed with -9 changes nothing on disk: re-read now and then anyway
_MAX_BACKFILL = 50  # generations announced one by one after a gap; older ones are in GET /generations


class Watcher:
    """Polls `db` every `interval` seconds on its own thread and connection.

    Publishes `{"type": "runs", "runs": [...]}` when the run list changes and
    `{"type": "generation", "run_id", "stats", "run"}` for every generation stored since the last look.
    """

    def __init__(self, db: Path, publish: Callable[[dict[str, Any]], None], interval: float = 0.25) -> None:
        self._db = db
        self._publish = publish
        self._interval = interval
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="evolab-watcher", daemon=True)

    def start(self) -> None:
        """Take the baseline now (so every later generation is announced), then watch on a thread."""
        self._thread.start()
        self._ready.wait(30.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _main(self) -> None:
        store = Store(self._db)
        known: dict[str, RunSummary] | None = None
        version = None
        tick = 0
        try:
            while True:
                try:
                    current_version = store.data_version()
                    if known is None or current_version != version or tick % _RECHECK_TICKS == 0:
                        version = current_version
                        known = self._look(store, known)
                except EvolabError as err:  # a transient read failure: try again next tick
                    log.warning("watching %s: %s", self._db, err)
                self._ready.set()  # the first look is the baseline: later generations are all announced
                if self._stop.wait(self._interval):
                    break
                tick += 1
        finally:
            self._ready.set()
            store.close()

    def _look(self, store: Store, known: dict[str, RunSummary] | None) -> dict[str, RunSummary]:
        runs = {info.id: run_summary(info) for info in store.list_runs()}
        if known is None:
            return runs
        for run_id, run in runs.items():
            before = known[run_id].generation_count if run_id in known else 0
            if run.generation_count > before:
                start = max(before, run.generation_count - _MAX_BACKFILL)
                for stats in store.generation_stats(run_id, start, run.generation_count):
                    self._publish(
                        {
                            "type": "generation",
                            "run_id": run_id,
                            "stats": stats_doc(stats).model_dump(),
                            "run": run.model_dump(),
                        }
                    )
        if runs != known:
            self._publish({"type": "runs", "runs": [r.model_dump() for r in runs.values()]})
        return runs
