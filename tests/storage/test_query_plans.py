"""Reads of one generation or one creature look rows up by index: none walks a whole run's creatures or
results, so the browser's reads stay fast however long a run grows (SQLite's planner, left alone, once
scanned every creature of the run for `id IN (...)`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from evolab.runner import Run
from evolab.storage import Store

RUN_WIDE = ("SCAN creatures", "SCAN results", "SCAN c", "SCAN r", "PRIMARY KEY (run_pk=?)")


def plans_of(store: Store, read: Callable[[], Any]) -> list[str]:
    """The query plan lines of every statement `read` sends."""
    statements: list[str] = []  # as SQLite ran them, parameters filled in
    store._conn.set_trace_callback(statements.append)
    try:
        read()
    finally:
        store._conn.set_trace_callback(None)
    queries = [sql for sql in statements if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    return [
        f"{sql.strip()[:60]}... {row[3]}"
        for sql in queries
        for row in store._conn.execute(f"EXPLAIN QUERY PLAN {sql}")  # its SQL functions included
    ]


@pytest.mark.parametrize(
    "read",
    [
        "genomes",
        "creatures",
        "birth_results",
        "creature_results",
        "frames",
        "generation_frames",
        "results",
        "ancestors",
    ],
)
def test_a_read_about_some_creatures_never_walks_the_whole_run(store: Store, evolved: Run, read: str) -> None:
    results = store.results(evolved.id, 3)
    ids = [r.creature_id for r in results]
    calls = {
        "genomes": lambda: store.genomes(evolved.id, ids),
        "creatures": lambda: store.creatures(evolved.id, ids),
        "birth_results": lambda: store.birth_results(evolved.id, ids),
        "creature_results": lambda: store.creature_results(evolved.id, ids[0]),
        "frames": lambda: store.frames(evolved.id, 3, ids[0]),
        "generation_frames": lambda: store.generation_frames(evolved.id, 3),
        "results": lambda: store.results(evolved.id, 3),
        "ancestors": lambda: store.ancestors(evolved.id, ids[0]),
    }

    plans = plans_of(store, calls[read])

    assert plans
    assert [p for p in plans if any(marker in p for marker in RUN_WIDE)] == []
