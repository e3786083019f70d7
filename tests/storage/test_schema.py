"""Store: the schema of a new file, refusing files that are not ours, and reading kept databases of every
past schema version (DESIGN §7, §9; STYLE §1)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from evolab import StorageError
from evolab.runner import Run, replay_creature
from evolab.storage import Store
from evolab.storage.migrations import APPLICATION_ID, LATEST_VERSION
from evolab.storage.settings import SETTINGS_VERSION

DATA = Path(__file__).parent / "data"
KEPT_DATABASES = sorted(DATA.glob("v*.db"))
TABLES = {
    "runs", "generations", "genome_batches", "creatures", "results", "replays", "checkpoints", "presets",
    "flagged_genomes",
}  # fmt: skip


def pragma(path: Path, name: str) -> object:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# -- a new database ---------------------------------------------------------------------------------


def test_a_new_file_gets_the_latest_schema_and_evolabs_application_id(store: Store) -> None:
    assert LATEST_VERSION == 6
    assert store.schema_version == 6
    assert pragma(store.path, "user_version") == 6
    assert pragma(store.path, "application_id") == APPLICATION_ID == 0x45564F4C
    with closing(sqlite3.connect(store.path)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == TABLES


def test_a_new_file_is_in_wal_mode_with_foreign_keys_enforced(store: Store) -> None:
    assert pragma(store.path, "journal_mode") == "wal"
    with store.transaction() as cur:
        assert cur.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(StorageError, match="FOREIGN KEY"), store.transaction() as cur:
        cur.execute("INSERT INTO checkpoints (run_pk, generation, population, rng_state) VALUES (999, 0, x'', '{}')")


def test_an_empty_file_becomes_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with Store(path) as store:
        assert store.schema_version == LATEST_VERSION
        assert store.list_runs() == []


def test_reopening_a_database_keeps_its_runs(db_path: Path, evolved: Run) -> None:
    with Store(db_path) as again:
        assert again.get_run(evolved.id) == evolved.info()
        assert again.schema_version == LATEST_VERSION


# -- files that are not evolab databases ------------------------------------------------------------


def test_a_text_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: eggs, flour\n")
    before = files_in(tmp_path)
    with pytest.raises(StorageError, match="not an evolab database"):
        Store(path)
    assert files_in(tmp_path) == before


def test_an_sqlite_file_of_another_application_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        conn.execute("INSERT INTO contacts VALUES ('Ada', '555')")
        conn.commit()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="not an evolab database"):
        Store(path)
    assert path.read_bytes() == before
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT * FROM contacts").fetchall() == [("Ada", "555")]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0


def test_a_database_from_a_newer_evolab_is_refused_and_left_untouched(db_path: Path, evolved: Run) -> None:
    evolved.store.close()
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
        conn.commit()
    before = db_path.read_bytes()
    with pytest.raises(StorageError, match=r"newer.*upgrade evolab"):
        Store(db_path)
    assert db_path.read_bytes() == before
    assert pragma(db_path, "user_version") == LATEST_VERSION + 1


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="folder"):
        Store(tmp_path)


def test_a_file_in_a_missing_folder_is_refused_and_the_folder_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="folder does not exist"):
        Store(tmp_path / "missing" / "evolab.db")
    assert not (tmp_path / "missing").exists()


# -- kept databases of past schema versions ---------------------------------------------------------


def test_a_database_is_kept_for_every_schema_version() -> None:
    assert [p.name for p in KEPT_DATABASES] == [f"v{v}.db" for v in range(1, LATEST_VERSION + 1)]
    assert all(p.stat().st_size < 200_000 for p in KEPT_DATABASES)


@pytest.mark.parametrize("kept", KEPT_DATABASES, ids=lambda p: p.stem)
def test_a_kept_database_opens_at_the_latest_version_and_its_runs_continue(kept: Path, tmp_path: Path) -> None:
    path = tmp_path / kept.name
    shutil.copyfile(kept, path)
    with Store(path) as store:
        assert store.schema_version == LATEST_VERSION
        runs = store.list_runs()
        assert {r.name for r in runs} == {f"{kept.stem} oscillators", f"{kept.stem} neural"}
        assert set(store.presets()) == {f"{kept.stem} preset"}
        preset = store.presets()[f"{kept.stem} preset"]
        for config in (*(run.config for run in runs), preset):
            if kept.stem in ("v1", "v2"):  # made before trials and the benchmark: they keep what they ran with
                assert config.trials == 1
                assert not config.benchmark.enabled
        for run in runs:
            assert run.backend == "cpu"  # every run before the choice of backends, and every one kept since
            assert run.generation_count == 2
            assert [s.generation for s in store.generation_stats(run.id)] == [0, 1]
            for generation in range(run.generation_count):
                results = store.results(run.id, generation)
                assert len(results) == run.config.population_size
                genomes = store.genomes(run.id, [r.creature_id for r in results])
                assert all(g.id == r.creature_id for g, r in zip(genomes, results, strict=True))
                framed = next(iter(store.framed_creatures(run.id, generation)))
                replay = replay_creature(store, run.id, generation, framed)
                assert replay.frames.shape[0] == run.config.sim.n_frames

        continued = next(r for r in runs if r.name == f"{kept.stem} oscillators")
        history = store.generation_stats(continued.id)
        resumed = Run.resume(continued.id, store)
        resumed.advance(1)
        after = store.get_run(continued.id)
        assert after.generation_count == 3
        assert len(store.results(continued.id, 2)) == continued.config.population_size
        assert store.generation_stats(continued.id)[:2] == history


def test_a_run_made_before_trials_recomputes_its_generations_exactly(tmp_path: Path) -> None:
    # the migration gives its stored configuration the one trial and no benchmark it was evaluated with
    # (v2 files keep every generation's checkpoint; v1 files had only the latest)
    kept = DATA / "v2.db"
    path = tmp_path / kept.name
    shutil.copyfile(kept, path)
    with Store(path) as store:
        run = next(r for r in store.list_runs() if r.name == f"{kept.stem} oscillators")
        stored = [store.results(run.id, g) for g in (0, 1)]
        store.truncate(run.id, 0)
        Run.resume(run.id, store).advance(2)
        assert [store.results(run.id, g) for g in (0, 1)] == stored
        assert all(r.trial_pellets is None and r.fitness_std is None for results in stored for r in results)


def test_a_preset_saved_before_trials_is_read_in_its_own_settings_version(tmp_path: Path) -> None:
    # schema 3 left saved presets as they were: their JSON still has the shape of settings version 1
    path = tmp_path / "v2.db"
    shutil.copyfile(DATA / "v2.db", path)
    with Store(path) as store:
        store.list_runs()
    with closing(sqlite3.connect(path)) as conn:
        stored = dict(conn.execute("SELECT name, settings_version FROM presets"))
        runs = {v for (v,) in conn.execute("SELECT settings_version FROM runs")}
        config = json.loads(conn.execute("SELECT config FROM presets").fetchone()[0])
    assert stored == {"v2 preset": 1}
    assert runs == {SETTINGS_VERSION}
    assert "trials" not in config  # upgraded on read, never rewritten
