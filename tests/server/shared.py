"""Helpers shared by the server tests: small runs, waiting on the writer thread, database snapshots."""

from __future__ import annotations

import sqlite3
import time
import warnings
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette nags that httpx is deprecated for its test client; it works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from evolab.config import EvolutionConfig
from evolab.runner import Run
from evolab.server import create_app

T = TypeVar("T")

SMALL: dict[str, Any] = {"population_size": 8, "sim": {"duration": 1.0}}
"""Overrides of the quick preset that make a generation take milliseconds (8 creatures x 1 s)."""

POPULATION = SMALL["population_size"]

FEW_FRAMES: dict[str, int] = {"keep_top": 2, "keep_random": 1, "keep_bottom": 1}
"""A frame policy keeping 4 of the 8 replays, so the other creatures must be re-simulated."""

DEADLINE = 60.0
"""Seconds a test waits for the writer before giving up (a hang, never a slow machine)."""

RUN_TABLES = ("generations", "genome_batches", "creatures", "results", "replays", "checkpoints")
"""The tables holding a run's data, keyed by `run_pk`."""


def serve(db: Path, *, raise_server_exceptions: bool = True) -> TestClient:
    """A test client for the app over `db`; entering it starts the writer and the watcher threads."""
    app = create_app(db, workers=1, poll_interval=0.05, static_dir=None)
    return TestClient(app, raise_server_exceptions=raise_server_exceptions)


def small_config(**overrides: Any) -> EvolutionConfig:
    """The quick preset with `SMALL` applied (and any further overrides)."""
    return EvolutionConfig.from_preset("quick", **{**SMALL, **overrides})


def make_run(db: Path, generations: int, *, seed: int = 1, name: str | None = None, **overrides: Any) -> str:
    """A run written straight to `db` (as `evolab evolve` would), advanced `generations`; its id."""
    with Run.create(small_config(**overrides), db, seed=seed, name=name) as run:
        if generations:
            run.advance(generations)
        return run.id


def wait_until(check: Callable[[], T], what: str, deadline: float = DEADLINE) -> T:
    """Poll `check` until it returns something truthy, and return that."""
    give_up = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def writer_idle(client: TestClient) -> bool:
    """No advance running or queued in the server's writer."""
    jobs = client.get("/api/jobs").json()
    return jobs["current"] is None and not jobs["queued"]


def settled(client: TestClient, run_id: str) -> dict[str, Any]:
    """The run once the writer has finished every advance (its status is then final)."""
    wait_until(lambda: writer_idle(client), "the writer to finish")
    response = client.get(f"/api/runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()


def create_run(client: TestClient, **body: Any) -> dict[str, Any]:
    """POST /api/runs with a small quick-preset run (body fields override); the 201 answer."""
    response = client.post("/api/runs", json={"preset": "quick", "config": SMALL, **body})
    assert response.status_code == 201, response.text
    return response.json()


def advance(client: TestClient, run_id: str, generations: int) -> dict[str, Any]:
    """Advance a run through the API and wait until the writer is done; the run afterwards."""
    response = client.post(f"/api/runs/{run_id}/advance", json={"generations": generations})
    assert response.status_code == 202, response.text
    return settled(client, run_id)


def db_snapshot(db: Path) -> dict[str, Any]:
    """Everything a refused request must leave alone: every run row, saved presets, row counts."""
    with closing(sqlite3.connect(db)) as conn:
        return {
            "runs": conn.execute("SELECT * FROM runs ORDER BY pk").fetchall(),
            "presets": conn.execute("SELECT * FROM presets ORDER BY name").fetchall(),
            **{table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in RUN_TABLES},
        }


def orphan_rows(db: Path) -> dict[str, int]:
    """Rows of each run table whose run no longer exists."""
    with closing(sqlite3.connect(db)) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE run_pk NOT IN (SELECT pk FROM runs)").fetchone()[0]
            for table in RUN_TABLES
        }


def run_rows(db: Path, run_id: str) -> dict[str, int]:
    """How many rows each run table holds for one run."""
    with closing(sqlite3.connect(db)) as conn:
        (pk,) = conn.execute("SELECT pk FROM runs WHERE id = ?", (run_id,)).fetchone()
        return {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE run_pk = ?", (pk,)).fetchone()[0]
            for table in RUN_TABLES
        }


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
