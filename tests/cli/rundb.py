"""A small database with two real runs, built once per test session and copied for each test (and a
second one whose run predates trials and the benchmark).

Test modules take the fixtures by assignment (`run_db = rundb.run_db`): pytest finds them as module
attributes, and the template is built only once however many modules use it.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from evolab.config import EvolutionConfig
from evolab.runner import Run
from evolab.storage import Store

_TEMPLATES: dict[str, tuple[Path, str, str]] = {}
_SINGLE: dict[str, tuple[Path, str]] = {}


@dataclass(frozen=True)
class RunDb:
    """A copy of the template database: `oscillator` (5 generations) and `neural` (3 generations,
    hybrid neural controllers), both with the default 4 trials per creature and the held-out benchmark."""

    path: Path
    oscillator: str
    neural: str

    def store(self) -> Store:
        return Store(self.path)

    def row_counts(self) -> dict[str, int]:
        """Rows per table, to check that a refused command changed nothing and a delete cascaded."""
        with sqlite3.connect(self.path) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def _build(path: Path) -> tuple[str, str]:
    with Store(path) as store:
        quick = EvolutionConfig.from_preset("quick", population_size=10, sim={"duration": 1.0})
        with Run.create(quick, store, seed=1, name="oscillators") as run:
            run.advance(5)
            oscillator = run.id
        neural = EvolutionConfig.from_preset("neural-hybrid", population_size=8, elite_count=2, sim={"duration": 1.0})
        with Run.create(neural, store, seed=2) as run:
            run.advance(3)
            neural_id = run.id
    return oscillator, neural_id


@pytest.fixture(scope="session")
def run_db_template(tmp_path_factory) -> tuple[Path, str, str]:
    if "template" not in _TEMPLATES:
        path = tmp_path_factory.mktemp("template") / "runs.db"
        _TEMPLATES["template"] = (path, *_build(path))
    return _TEMPLATES["template"]


@pytest.fixture
def run_db(run_db_template, tmp_path) -> RunDb:
    """A private copy of the two-run database."""
    template, oscillator, neural = run_db_template
    path = tmp_path / "runs.db"
    shutil.copyfile(template, path)
    return RunDb(path, oscillator, neural)


def _build_single_trial(path: Path) -> str:
    """The run as evolab made it before trials and the benchmark: one layout per creature, no benchmark."""
    with Store(path) as store:
        cfg = EvolutionConfig.from_preset(
            "quick", population_size=10, trials=1, benchmark={"enabled": False}, sim={"duration": 1.0}
        )
        with Run.create(cfg, store, seed=3, name="one trial") as run:
            run.advance(4)
            return run.id


@pytest.fixture(scope="session")
def single_trial_template(tmp_path_factory) -> tuple[Path, str]:
    if "single" not in _SINGLE:
        path = tmp_path_factory.mktemp("single") / "single.db"
        _SINGLE["single"] = (path, _build_single_trial(path))
    return _SINGLE["single"]


@pytest.fixture
def single_trial_db(single_trial_template, tmp_path) -> tuple[Path, str]:
    """(a private copy of a database, its one run): 4 generations of one trial each and no benchmark."""
    template, run_id = single_trial_template
    path = tmp_path / "single.db"
    shutil.copyfile(template, path)
    return path, run_id


def error_line(stderr: str) -> str:
    """The one `error: ...` line a refused command printed (asserting that it is the only error line)."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    assert lines[0].startswith("error: "), stderr
    assert all(not line.startswith("error: ") for line in lines[1:]), stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), stderr
    return lines[0]
