"""Store: opening a database, creating, listing, renaming and deleting runs (original storage-integration
"Init", "Run lifecycle" and "Run management" cases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import evolab
from evolab import EvolutionConfig, StorageError
from evolab.errors import InvalidInput
from evolab.runner import Run
from evolab.storage import Store, new_run_id
from evolab.storage.migrations import LATEST_VERSION

from .builders import RUN_TABLES, rows_of_run, run_pk

RUN_ID = re.compile(r"run_(\d{8}_\d{6})_[0-9a-f]{4}")


# -- opening ----------------------------------------------------------------------------------------


def test_a_new_database_has_no_runs(store: Store) -> None:
    # original: "init resolves"
    assert store.list_runs() == []
    assert store.schema_version == LATEST_VERSION


def test_opening_a_database_twice_is_harmless(db_path: Path, quick_config: EvolutionConfig) -> None:
    # original: "double init ok"
    with Store(db_path) as first, Store(db_path) as second:
        run_id = first.create_run(quick_config, seed=3).id
        assert second.get_run(run_id).config == quick_config
    with Store(db_path) as again:
        assert [r.id for r in again.list_runs()] == [run_id]
        assert again.schema_version == LATEST_VERSION


# -- run lifecycle ---------------------------------------------------------------------------------


def test_run_id_names_the_creation_time_in_utc(store: Store, quick_config: EvolutionConfig) -> None:
    # original: "id prefix"
    run = store.create_run(quick_config, seed=3)
    match = RUN_ID.fullmatch(run.id)
    assert match is not None
    stamp = datetime.fromtimestamp(run.created_at, tz=UTC).strftime("%Y%m%d_%H%M%S")
    assert match.group(1) == stamp


def test_new_run_id_formats_time_and_entropy() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    assert new_run_id(moment, entropy=0xABC) == "run_20260102_030405_0abc"
    assert new_run_id(moment, entropy=0x1FFFF) == "run_20260102_030405_ffff"


def test_created_run_keeps_its_config_seed_and_version(store: Store) -> None:
    # original: "custom config stored"
    config = EvolutionConfig.from_preset("neural-hybrid", population_size=7, mutation_rate=0.42, sim={"duration": 2.5})
    created = store.create_run(config, seed=2**62 + 5, name="my run")
    stored = store.get_run(created.id)
    assert stored.config == config
    assert stored.config.model_dump() == config.model_dump()
    assert stored.seed == 2**62 + 5
    assert stored.name == "my run"
    assert stored.status == "created"
    assert stored.evolab_version == evolab.__version__
    assert stored.parent_run_id is None
    assert stored.fork_generation is None
    assert stored == created


def test_created_run_is_named_after_its_id_by_default(store: Store, quick_config: EvolutionConfig) -> None:
    run = store.create_run(quick_config, seed=3)
    assert run.name == run.id


def test_created_run_has_no_generations(store: Store, quick_config: EvolutionConfig) -> None:
    # original: "count 0"
    run = store.create_run(quick_config, seed=3)
    assert run.generation_count == 0
    assert (run.best_fitness, run.best_creature_id, run.best_generation) == (None, None, None)
    assert (run.longest_streak, run.longest_survivor_id, run.longest_generation) == (0, None, None)
    assert store.generation_stats(run.id) == []
    assert store.results(run.id, 0) == []
    assert store.checkpoint(run.id) is None


def test_runs_created_in_the_same_second_get_distinct_ids(store: Store, quick_config: EvolutionConfig) -> None:
    # original: "distinct ids with a 5 ms gap"
    ids = [store.create_run(quick_config, seed=i).id for i in range(30)]
    assert len(set(ids)) == len(ids)


def test_a_taken_run_id_is_replaced_by_a_fresh_one(store: Store, quick_config: EvolutionConfig) -> None:
    first = store.create_run(quick_config, seed=1, run_id="run_20260101_000000_0000")
    second = store.create_run(quick_config, seed=2, run_id="run_20260101_000000_0000")
    assert first.id == "run_20260101_000000_0000"
    assert second.id != first.id
    assert RUN_ID.fullmatch(second.id)


def test_unknown_run_reads_as_none_or_is_refused(store: Store) -> None:
    # original: "loadGeneration null for a missing run"
    assert store.find_run("run_19700101_000000_0000") is None
    with pytest.raises(StorageError, match="unknown run"):
        store.get_run("run_19700101_000000_0000")
    with pytest.raises(StorageError, match="unknown run"):
        store.results("run_19700101_000000_0000", 0)


def test_status_records_the_writer_while_running(store: Store, quick_config: EvolutionConfig) -> None:
    run = store.create_run(quick_config, seed=3)
    store.set_status(run.id, "running", writer_pid=4242)
    assert (store.get_run(run.id).status, store.get_run(run.id).writer_pid) == ("running", 4242)
    store.set_status(run.id, "completed")
    assert (store.get_run(run.id).status, store.get_run(run.id).writer_pid) == ("completed", None)


def test_unknown_status_is_refused(store: Store, quick_config: EvolutionConfig) -> None:
    run = store.create_run(quick_config, seed=3)
    with pytest.raises(InvalidInput, match="unknown run status"):
        store.set_status(run.id, "paused")
    assert store.get_run(run.id).status == "created"


# -- run management ---------------------------------------------------------------------------------


def test_runs_are_listed_newest_first(store: Store, quick_config: EvolutionConfig) -> None:
    # original: "list" and "newest first"
    middle = store.create_run(quick_config, seed=1, created_at=2000.0)
    oldest = store.create_run(quick_config, seed=2, created_at=1000.0)
    newest = store.create_run(quick_config, seed=3, created_at=3000.0)
    assert [r.id for r in store.list_runs()] == [newest.id, middle.id, oldest.id]


def test_runs_created_at_the_same_moment_list_the_later_one_first(store: Store, quick_config: EvolutionConfig) -> None:
    first = store.create_run(quick_config, seed=1, created_at=1000.0)
    second = store.create_run(quick_config, seed=2, created_at=1000.0)
    assert [r.id for r in store.list_runs()] == [second.id, first.id]


def test_deleting_a_run_removes_everything_stored_for_it(
    store: Store, evolved: Run, quick_config: EvolutionConfig
) -> None:
    # original: "delete run+generations"; every table of the run is checked with a plain connection
    kept = Run.create(quick_config, store, seed=2)
    kept.advance(1)
    pk, kept_pk = run_pk(store.path, evolved.id), run_pk(store.path, kept.id)
    before = rows_of_run(store.path, pk)
    assert all(before[table] > 0 for table in RUN_TABLES)
    kept_before = rows_of_run(store.path, kept_pk)

    store.delete_run(evolved.id)

    assert rows_of_run(store.path, pk) == dict.fromkeys(RUN_TABLES, 0)
    assert rows_of_run(store.path, kept_pk) == kept_before
    assert store.find_run(evolved.id) is None
    assert [r.id for r in store.list_runs()] == [kept.id]
    assert len(store.results(kept.id, 0)) == quick_config.population_size


def test_deleting_an_unknown_run_is_refused(store: Store) -> None:
    with pytest.raises(StorageError, match="unknown run"):
        store.delete_run("run_19700101_000000_0000")


def test_renaming_a_run_changes_only_its_name(store: Store, evolved: Run) -> None:
    # original: "rename"
    before = store.get_run(evolved.id)
    after = store.rename_run(evolved.id, "  long walkers  ")
    assert after.name == "long walkers"
    assert store.get_run(evolved.id).name == "long walkers"
    assert after.updated_at >= before.updated_at
    assert (after.id, after.config, after.generation_count, after.best_fitness) == (
        before.id,
        before.config,
        before.generation_count,
        before.best_fitness,
    )


def test_renaming_an_unknown_run_is_refused(store: Store) -> None:
    # original: "updateRunName tolerates a missing run"; here an unknown id is an error
    with pytest.raises(StorageError, match="unknown run"):
        store.rename_run("run_19700101_000000_0000", "anything")


def test_an_empty_run_name_is_refused(store: Store, quick_config: EvolutionConfig) -> None:
    run = store.create_run(quick_config, seed=3, name="kept")
    with pytest.raises(InvalidInput, match="cannot be empty"):
        store.rename_run(run.id, "   ")
    assert store.get_run(run.id).name == "kept"
