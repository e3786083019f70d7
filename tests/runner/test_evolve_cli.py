"""`evolab evolve` refuses bad input with one clear line, exit 2, and no change to any file (DESIGN §9)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from evolab.runner import Run
from evolab.storage import Store
from tests.runner.shared import Cli, small_config


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.lower().startswith("error")]


def _assert_refused(result, *fragments: str) -> None:
    """Exit 2, nothing on stdout, exactly one `error: ...` line on stderr that mentions every fragment."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    errors = _error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


@pytest.fixture
def existing_db(db_path: Path) -> Path:
    """A database holding one small run of two generations."""
    with Run.create(small_config("quick"), db_path, seed=1) as run:
        run.advance(2)
    return db_path


@pytest.mark.parametrize(
    "flags",
    [
        ["--preset", "quick"],
        ["--config", "x.toml"],
        ["--seed", "3"],
        ["--name", "again"],
        ["--population", "5"],
        ["--duration", "2"],
        ["--turbo"],
        ["--checkpoint", "2"],
        ["--neural", "hybrid"],
    ],
)
def test_resume_with_configuration_flags_is_refused(cli: Cli, db_path: Path, flags: list[str]) -> None:
    result = cli("evolve", "--resume", "run_20261126_000000_0000", *flags, "--db", str(db_path))
    _assert_refused(result, "error: ", "resumed run keeps its own configuration")
    assert not db_path.exists()


def test_resume_with_configuration_flags_leaves_the_run_alone(cli: Cli, existing_db: Path) -> None:
    with Run.create(small_config("quick"), existing_db, seed=2) as run:
        run_id = run.id
    before = existing_db.read_bytes()
    result = cli("evolve", "--resume", run_id, "--population", "5", "--db", str(existing_db))
    _assert_refused(result, "resumed run keeps its own configuration")
    assert existing_db.read_bytes() == before


def test_unknown_preset_is_refused_without_creating_the_database(cli: Cli, db_path: Path) -> None:
    result = cli("evolve", "--preset", "no-such-preset", "--generations", "1", "--db", str(db_path))
    _assert_refused(result, "unknown preset", "no-such-preset")
    assert not db_path.exists()


def test_unknown_preset_is_refused_on_an_existing_database(cli: Cli, existing_db: Path) -> None:
    before = existing_db.read_bytes()
    result = cli("evolve", "--preset", "no-such-preset", "--generations", "1", "--db", str(existing_db))
    _assert_refused(result, "unknown preset", "no-such-preset")
    assert existing_db.read_bytes() == before


def test_preset_and_config_together_are_refused(cli: Cli, tmp_path: Path, db_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text("population_size = 12\n")
    result = cli("evolve", "--preset", "quick", "--config", str(config), "--db", str(db_path))
    _assert_refused(result, "--preset", "--config")
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("population_size = [", "not valid TOML"),
        ("population_size = 0\n", "population_size"),
        ("[sim]\nduration = -1\n", "sim.duration"),
    ],
    ids=["missing", "invalid-toml", "invalid-value", "invalid-nested-value"],
)
def test_a_bad_config_file_is_refused_naming_the_file(
    cli: Cli, tmp_path: Path, db_path: Path, content: str | None, problem: str
) -> None:
    config = tmp_path / "my-run.toml"
    if content is not None:
        config.write_text(content)
    result = cli("evolve", "--config", str(config), "--generations", "1", "--db", str(db_path))
    _assert_refused(result, "my-run.toml", problem)
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("flags", "mentions"),
    [
        (["--population", "0"], "population"),
        (["--generations", "0"], "generations"),
        (["--duration", "-1"], "duration"),
        (["--duration", "0"], "duration"),
        (["--neural", "sometimes"], "neural_mode"),
        (["--pellets", "everywhere"], "pellet_mode"),
        (["--cull", "1.5"], "cull_fraction"),
        (["--elites", "50", "--population", "12"], "elite_count"),
        (["--max-frequency", "-3"], "frequency"),
        (["--seed", "-1"], "seed"),
        (["--trials", "0"], "trials"),
        (["--trials", "65"], "trials"),
        (["--benchmark-every", "0"], "benchmark-every"),
        (["--senses", "sideways"], "sensor_frame"),
        (["--max-size", "3"], "max_size"),
    ],
)
def test_invalid_values_are_refused_before_any_database_exists(
    cli: Cli, db_path: Path, flags: list[str], mentions: str
) -> None:
    result = cli("evolve", "--preset", "quick", *flags, "--db", str(db_path))
    _assert_refused(result, mentions)
    assert not db_path.exists()


def test_a_text_file_as_database_is_refused_and_left_unchanged(cli: Cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"my precious notes\n" * 100)
    before = notes.read_bytes()
    for args in (["--preset", "quick", "--generations", "1"], ["--resume", "run_20261126_000000_0000"]):
        result = cli("evolve", *args, "--db", str(notes))
        _assert_refused(result, "not an evolab database")
        assert notes.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_foreign_sqlite_file_as_database_is_refused_and_left_unchanged(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "accounts.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE accounts (name TEXT, balance REAL)")
        conn.execute("INSERT INTO accounts VALUES ('ada', 10.0)")
        conn.commit()
    before = other.read_bytes()
    for args in (["--preset", "quick", "--generations", "1"], ["--resume", "run_20261126_000000_0000"]):
        result = cli("evolve", *args, "--db", str(other))
        _assert_refused(result, "not an evolab database")
        assert other.read_bytes() == before
    with closing(sqlite3.connect(other)) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("accounts",)]


def test_resuming_an_unknown_run_is_refused(cli: Cli, existing_db: Path) -> None:
    before = existing_db.read_bytes()
    result = cli("evolve", "--resume", "unknown_run", "--generations", "1", "--db", str(existing_db))
    _assert_refused(result, "unknown_run")
    assert existing_db.read_bytes() == before


def test_resuming_from_a_missing_database_is_refused_without_creating_it(cli: Cli, db_path: Path) -> None:
    result = cli("evolve", "--resume", "unknown_run", "--generations", "1", "--db", str(db_path))
    _assert_refused(result, str(db_path))
    assert not db_path.exists()


def test_resume_through_the_cli_continues_the_run(cli: Cli, existing_db: Path) -> None:
    with Run.create(small_config("quick"), existing_db, seed=4) as run:
        run.advance(2)
        run_id = run.id
    result = cli("evolve", "--resume", run_id, "--generations", "3", "--db", str(existing_db))
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    assert f"resuming run {run_id}" in result.stderr
    with Run.resume(run_id, existing_db) as resumed:
        assert resumed.generation == 5
        assert resumed.info().status == "completed"


def test_trials_benchmark_and_senses_are_settings_of_the_new_run(cli: Cli, db_path: Path) -> None:
    flags = ["--trials", "3", "--benchmark-every", "2", "--benchmark-layouts", "5", "--senses", "body"]
    result = cli("evolve", "--preset", "quick", "--population", "8", "--duration", "1", "--generations", "3",
                 "--max-size", "1.2", *flags, "--db", str(db_path))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [info] = Store(db_path).list_runs()
    cfg = info.config
    assert (cfg.trials, cfg.benchmark.every, cfg.benchmark.layouts) == (3, 2, 5)
    assert (cfg.sim.sensor_frame, cfg.constraints.max_size) == ("body", 1.2)
    with Run.resume(info.id, db_path) as run:
        assert [s.benchmark_fitness is not None for s in run.history()] == [True, False, True]


def test_no_benchmark_stores_no_benchmark_scores(cli: Cli, db_path: Path) -> None:
    result = cli("evolve", "--preset", "quick", "--population", "8", "--duration", "1", "--generations", "2",
                 "--no-benchmark", "--db", str(db_path))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [info] = Store(db_path).list_runs()
    assert not info.config.benchmark.enabled
    assert not info.best_by_benchmark
