"""Fixtures for the runner tests: database paths, the in-process CLI and one growing reference run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runner.shared import Cli, ReferenceRun


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's database goes (not created yet)."""
    return tmp_path / "evolution.db"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("EVOLAB_DB", raising=False)
    return Cli()


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory):
    run = ReferenceRun(tmp_path_factory.mktemp("reference") / "reference.db")
    yield run
    run.close()
