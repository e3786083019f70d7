"""Fixtures for the server tests: a database path and the app over it, lifespan (writer, watcher) running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.shared import TestClient, serve


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's database goes (created by the app or by a run)."""
    return tmp_path / "evolution.db"


@pytest.fixture
def client(db_path: Path) -> Iterator[TestClient]:
    """The app over a fresh database, started."""
    with serve(db_path) as client:
        yield client
