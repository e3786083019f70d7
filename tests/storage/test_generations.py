"""Store: saving and reading generations (original storage-integration "Generation storage")."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from evolab import StorageError
from evolab.errors import InvalidInput
from evolab.runner import Run
from evolab.storage import Store

from .builders import HandRun


def test_a_saved_generation_can_be_loaded(store: Store, evolved: Run) -> None:
    # original: "save/load 2 results"
    results = store.results(evolved.id, 0)
    assert len(results) == evolved.config.population_size
    assert [r.rank for r in results] == list(range(len(results)))
    assert all(r.generation == 0 for r in results)
    fitness = [r.fitness for r in results]
    assert fitness == sorted(fitness, reverse=True)


def test_results_keep_the_ids_of_the_creatures_evaluated(store: Store, rng: np.random.Generator) -> None:
    # original: "genome id kept"
    run = HandRun(store, rng, size=5)
    evaluated = list(run.population)
    run.save([3.0, 1.0, 5.0, 4.0, 2.0])
    results = store.results(run.id, 0)
    assert [r.creature_id for r in results] == [evaluated[i].id for i in (2, 3, 0, 4, 1)]
    assert store.genomes(run.id, [g.id for g in evaluated]) == evaluated


def test_fitness_pellets_and_distances_are_kept_exactly(store: Store, rng: np.random.Generator) -> None:
    # original: "fitness ≈123.456 (3-dp rounding)" and "pellets kept"; here nothing is rounded
    run = HandRun(store, rng, size=3)
    record = run.save([123.456, 1 / 3, 2.0**-40], pellets=[5, 0, 17])
    assert tuple(store.results(run.id, 0)) == record.results
    best = store.results(run.id, 0)[0]
    assert (best.fitness, best.pellets) == (123.456, 5)


def test_generation_count_counts_the_stored_generations(store: Store, rng: np.random.Generator) -> None:
    # original: "generationCount 1 then 2" and "max generation 2"
    run = HandRun(store, rng)
    counts = []
    for _ in range(3):
        run.save([1.0, 2.0, 3.0, 4.0])
        counts.append(store.get_run(run.id).generation_count)
    assert counts == [1, 2, 3]


def test_a_generation_not_stored_reads_as_empty(store: Store, evolved: Run) -> None:
    # original: "missing → null"
    missing = store.get_run(evolved.id).generation_count
    assert store.results(evolved.id, missing) == []
    assert store.generation(evolved.id, missing) is None
    assert store.generation_stats(evolved.id, missing) == []
    assert store.framed_creatures(evolved.id, missing) == {}
    assert store.frames(evolved.id, missing, store.results(evolved.id, 0)[0].creature_id) is None


def test_generations_are_independent(store: Store, rng: np.random.Generator) -> None:
    # original: "generations independent"
    run = HandRun(store, rng, size=3)
    first = run.save([10.0, 20.0, 30.0])
    second = run.save([7.0, 8.0, 9.0], pellets=[1, 2, 3])
    assert tuple(store.results(run.id, 0)) == first.results
    assert tuple(store.results(run.id, 1)) == second.results
    assert store.generation(run.id, 0) == first.stats
    assert store.generation(run.id, 1) == second.stats
    assert {r.creature_id for r in first.results}.isdisjoint(r.creature_id for r in second.results)


def test_generation_count_is_the_highest_generation_stored_not_the_last(store: Store, rng: np.random.Generator) -> None:
    # the original assigned generationCount = gen + 1 on every save; an older save must not lower it
    run = HandRun(store, rng, size=3)
    run.save([1.0, 2.0, 3.0], generation=2)
    assert store.get_run(run.id).generation_count == 3
    run.save([1.0, 2.0, 3.0], generation=0)
    assert store.get_run(run.id).generation_count == 3
    assert [s.generation for s in store.generation_stats(run.id)] == [0, 2]


def test_an_older_generation_saved_again_after_truncate_replaces_the_old_one(
    store: Store, rng: np.random.Generator
) -> None:
    run = HandRun(store, rng, size=3)
    run.save([1.0, 2.0, 3.0])
    run.save([4.0, 5.0, 6.0])
    run.save([7.0, 8.0, 9.0])
    store.truncate(run.id, 1)
    assert store.get_run(run.id).generation_count == 1

    run.population = list(store.checkpoint(run.id, 1).population)
    again = run.save([0.5, 0.25, 0.125], generation=1)

    assert store.get_run(run.id).generation_count == 2
    assert tuple(store.results(run.id, 1)) == again.results
    assert store.results(run.id, 2) == []


def test_a_generation_is_stored_whole_or_not_at_all(store: Store, rng: np.random.Generator) -> None:
    # DESIGN §7: one transaction per generation; the duplicate child id fails the save after the
    # generation row and its results were written, and they must be rolled back with it
    run = HandRun(store, rng, size=3)
    run.save([1.0, 2.0, 3.0])
    before = store.get_run(run.id)
    child = run.population[0].replace(id="cr_twin")
    with pytest.raises(InvalidInput, match="unique"):
        run.save([1.0, 2.0, 3.0], next_population=[child, child, child])
    assert store.generation(run.id, 1) is None
    assert store.results(run.id, 1) == []
    assert store.get_run(run.id) == before
    with pytest.raises(StorageError, match="unknown creature"):
        store.genome(run.id, "cr_twin")
    run.save([3.0, 2.0, 1.0], generation=1)  # the store is still usable
    assert store.get_run(run.id).generation_count == 2


def test_saving_a_stored_generation_again_changes_nothing(store: Store, rng: np.random.Generator) -> None:
    run = HandRun(store, rng, size=3)
    first = run.save([1.0, 2.0, 3.0])
    run.population = list(store.checkpoint(run.id, 0).population)
    with pytest.raises((StorageError, sqlite3.DatabaseError)):
        run.save([9.0, 9.0, 9.0], generation=0)
    assert tuple(store.results(run.id, 0)) == first.results
    assert store.get_run(run.id).generation_count == 1


def test_saving_a_stored_generation_again_is_refused_with_a_storage_error(
    store: Store, rng: np.random.Generator
) -> None:
    run = HandRun(store, rng, size=3)
    run.save([1.0, 2.0, 3.0])
    run.population = list(store.checkpoint(run.id, 0).population)
    with pytest.raises(StorageError):
        run.save([9.0, 9.0, 9.0], generation=0)
