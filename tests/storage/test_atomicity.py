"""Every public Store call is one transaction: a call that fails part way (the failure injected here)
changes nothing, and calls cannot nest."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from evolab import EvolutionConfig
from evolab.errors import DatabaseUnavailable, InvalidStoredSettings
from evolab.runner import Run, fork_run
from evolab.storage import Store, _checkpoints
from evolab.storage.transfer import export_run, import_run


class InjectedError(Exception):
    """The failure a test injects."""


def contents(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, to compare a database before and after a failed call."""
    with closing(sqlite3.connect(path)) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def fail_when_checkpointing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next checkpoint write fail: the last step of a fork and of an import."""

    def broken(*args: object, **kwargs: object) -> None:
        raise InjectedError("the disk went away")

    monkeypatch.setattr(_checkpoints, "write_checkpoint", broken)
    monkeypatch.setattr(_checkpoints, "insert_checkpoint_rows", broken)


def test_a_fork_that_fails_after_copying_leaves_no_run_behind(
    store: Store, evolved: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = contents(store.path)
    fail_when_checkpointing(monkeypatch)
    with pytest.raises(InjectedError):
        fork_run(store, evolved.id, 2)
    assert contents(store.path) == before
    assert [r.id for r in store.list_runs()] == [evolved.id]


def test_an_import_that_fails_part_way_changes_nothing(
    store: Store, evolved: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = export_run(store, evolved.id)
    before = contents(store.path)
    fail_when_checkpointing(monkeypatch)
    with pytest.raises(InjectedError):
        import_run(store, document)
    assert contents(store.path) == before


def test_a_delete_that_fails_part_way_changes_nothing(store: Store, evolved: Run) -> None:
    # the run's replays are deleted by cascade; a trigger makes that step fail after others succeeded
    with closing(sqlite3.connect(store.path)) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE DELETE ON replays BEGIN SELECT RAISE(ABORT, 'injected'); END")
        conn.commit()
    before = contents(store.path)
    with pytest.raises(DatabaseUnavailable, match="nothing was changed"):
        store.delete_run(evolved.id)
    assert contents(store.path) == before
    assert store.get_run(evolved.id).generation_count == 4


def test_a_run_is_created_with_its_first_population_or_not_at_all(
    store: Store, quick_config: EvolutionConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_when_checkpointing(monkeypatch)
    with pytest.raises(InjectedError):
        Run.create(quick_config, store, seed=3)
    assert store.list_runs() == []


def test_store_calls_do_not_nest(store: Store, evolved: Run) -> None:
    with store.transaction(), pytest.raises(RuntimeError, match="do not nest"):
        store.get_run(evolved.id)
    assert store.get_run(evolved.id).id == evolved.id  # and the store is still usable


def test_a_saved_preset_that_no_longer_validates_is_a_clear_storage_error(store: Store) -> None:
    store.save_preset("mine", EvolutionConfig.from_preset("quick"))
    with closing(sqlite3.connect(store.path)) as conn:  # as if a later evolab had changed its meaning
        conn.execute("UPDATE presets SET config = json_set(config, '$.population_size', -5)")
        conn.commit()
    with pytest.raises(InvalidStoredSettings) as caught:
        store.presets()
    assert str(caught.value) == (
        "saved preset 'mine' is invalid (settings: population_size: input should be greater than or equal to 1 "
        "(got -5))"
    )
    assert caught.value.hint == "evolab presets delete mine"
