"""Fixtures for the storage tests: a fresh database per test and small, fast run configurations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evolab import EvolutionConfig
from evolab.runner import Run
from evolab.storage import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's database lives (not created yet)."""
    return tmp_path / "evolab.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A new, empty evolab database in the test's temporary folder."""
    with Store(db_path) as opened:
        yield opened


@pytest.fixture
def quick_config() -> EvolutionConfig:
    """The quick preset shrunk to 12 creatures simulated for 1 s: a generation takes a few milliseconds."""
    return EvolutionConfig.from_preset("quick", population_size=12, sim={"duration": 1.0})


@pytest.fixture
def evolved(store: Store, quick_config: EvolutionConfig) -> Run:
    """A real run of four stored generations (0-3) on `store`."""
    run = Run.create(quick_config, store, seed=1)
    run.advance(4)
    return run
