"""Store: forking a run at a generation (original storage-integration "Fork")."""

from __future__ import annotations

import numpy as np
import pytest

from evolab import StorageError
from evolab.genome import random_genome
from evolab.runner import Run, fork_run
from evolab.storage import RunInfo, Store

from .builders import HandRun


def fork_by_hand(store: Store, run: HandRun, generation: int) -> RunInfo:
    """Fork with a fresh random next population (the store does not care how it was bred)."""
    children = [random_genome(run.rng) for _ in run.population]
    return store.fork_run(run.id, generation, seed=99, next_population=children, rng_state={"fork": 1})


def test_a_fork_is_a_new_run_that_names_its_parent(store: Store, evolved: Run) -> None:
    # original: "new id becomes current"
    source = store.get_run(evolved.id)
    fork = fork_run(store, evolved.id, 1, seed=5)
    assert fork.id != source.id
    assert [r.id for r in store.list_runs()] == [fork.id, source.id]
    assert (fork.parent_run_id, fork.fork_generation) == (source.id, 1)
    assert fork.name == f"Fork of {source.name} (Gen 1)"
    assert fork.config == source.config
    assert fork.seed == 5
    assert fork.status == "stopped"


def test_a_fork_can_be_given_a_name(store: Store, evolved: Run) -> None:
    assert fork_run(store, evolved.id, 0, seed=5, name="side branch").name == "side branch"


def test_a_fork_copies_generations_up_to_the_fork_point_only(store: Store, evolved: Run) -> None:
    # original: "copies generations 0–1 only (count 2, gen 2 null)" and "count 2"
    fork = fork_run(store, evolved.id, 1, seed=5)
    assert fork.generation_count == 2
    for generation in (0, 1):
        assert store.results(fork.id, generation) == store.results(evolved.id, generation)
        assert store.framed_creatures(fork.id, generation) == store.framed_creatures(evolved.id, generation)
    assert store.results(fork.id, 2) == []
    assert store.generation(fork.id, 2) is None
    copied = [r.creature_id for g in (0, 1) for r in store.results(fork.id, g)]
    assert store.genomes(fork.id, copied) == store.genomes(evolved.id, copied)
    creature_id, _ = next(iter(store.framed_creatures(fork.id, 1).items()))
    mine, theirs = store.frames(fork.id, 1, creature_id), store.frames(evolved.id, 1, creature_id)
    assert np.array_equal(mine.frames, theirs.frames)
    assert mine.pellets == theirs.pellets


def test_a_fork_history_ends_at_the_fork_generation(store: Store, evolved: Run) -> None:
    # original: "fitness history sliced to 2" and "type history sliced to 1"
    assert store.generation_stats(fork_run(store, evolved.id, 1, seed=5).id) == store.generation_stats(evolved.id)[:2]
    assert store.generation_stats(fork_run(store, evolved.id, 0, seed=5).id) == store.generation_stats(evolved.id)[:1]


def test_a_fork_keeps_a_best_found_before_the_fork(store: Store, rng: np.random.Generator) -> None:
    # original: "best kept when gen 0 ≤ 1"
    run = HandRun(store, rng, size=3)
    champion = run.population[0].id
    run.save([90.0, 2.0, 1.0], best=(90.0, champion, 0, None))
    run.save([50.0, 2.0, 1.0], best=(90.0, champion, 0, None))
    run.save([10.0, 2.0, 1.0], best=(90.0, champion, 0, None))
    fork = fork_by_hand(store, run, 1)
    assert (fork.best_fitness, fork.best_creature_id, fork.best_generation) == (90.0, champion, 0)


def test_a_fork_recomputes_a_best_found_after_the_fork(store: Store, rng: np.random.Generator) -> None:
    # original: "best dropped when gen 2 > 1"; here the best of the copied generations takes its place
    run = HandRun(store, rng, size=3)
    run.save([10.0, 2.0, 1.0], best=(10.0, run.population[0].id, 0, None))
    runner_up = run.population[2].id
    run.save([3.0, 2.0, 30.0], best=(30.0, runner_up, 1, None))
    late = run.population[1].id
    run.save([1.0, 90.0, 2.0], best=(90.0, late, 2, None))
    fork = fork_by_hand(store, run, 1)
    assert (fork.best_fitness, fork.best_creature_id, fork.best_generation) == (30.0, runner_up, 1)
    assert store.get_run(run.id).best_creature_id == late


def test_a_fork_recomputes_the_longest_survivor_from_the_copied_results(store: Store, rng: np.random.Generator) -> None:
    run = HandRun(store, rng, size=3)
    run.save([3.0, 2.0, 1.0], streaks=[0, 0, 0])
    early = run.population[1].id
    run.save([3.0, 2.0, 1.0], streaks=[1, 4, 2], longest=(4, early, 1))
    run.save([3.0, 2.0, 1.0], streaks=[9, 0, 0], longest=(9, run.population[0].id, 2))
    fork = fork_by_hand(store, run, 1)
    assert (fork.longest_streak, fork.longest_survivor_id, fork.longest_generation) == (4, early, 1)
    at_zero = fork_by_hand(store, run, 0)
    assert (at_zero.longest_streak, at_zero.longest_survivor_id, at_zero.longest_generation) == (0, None, None)


def test_a_fork_starts_from_its_own_checkpoint(store: Store, rng: np.random.Generator) -> None:
    run = HandRun(store, rng, size=3)
    run.save([3.0, 2.0, 1.0])
    run.save([3.0, 2.0, 1.0])
    children = [random_genome(rng) for _ in range(3)]
    fork = store.fork_run(run.id, 0, seed=99, next_population=children, rng_state={"fork": 1})
    checkpoint = store.checkpoint(fork.id)
    assert checkpoint.generation == 1
    assert list(checkpoint.population) == children
    assert checkpoint.rng_state == {"fork": 1}
    assert store.checkpoint(fork.id, 2) is None


def test_a_fork_continues_on_its_own_and_leaves_its_source_alone(store: Store, evolved: Run) -> None:
    source_before = store.get_run(evolved.id)
    source_history = store.generation_stats(evolved.id)
    fork = fork_run(store, evolved.id, 1, seed=5)
    resumed = Run.resume(fork.id, store)
    assert resumed.generation == 2
    resumed.advance(2)
    assert store.get_run(fork.id).generation_count == 4
    assert store.generation_stats(fork.id)[:2] == source_history[:2]
    assert store.get_run(evolved.id) == source_before
    assert store.generation_stats(evolved.id) == source_history


def test_a_fork_survives_the_deletion_of_its_source(store: Store, evolved: Run) -> None:
    fork = fork_run(store, evolved.id, 2, seed=5)
    expected = [store.results(evolved.id, g) for g in range(3)]
    ids = [r.creature_id for results in expected for r in results]
    genomes = store.genomes(evolved.id, ids)
    store.delete_run(evolved.id)
    assert [store.results(fork.id, g) for g in range(3)] == expected
    assert store.genomes(fork.id, ids) == genomes
    Run.resume(fork.id, store).advance(1)
    assert store.get_run(fork.id).generation_count == 4


def test_forking_an_unknown_run_is_refused(store: Store) -> None:
    # original: "missing source rejects 'Source run not found'"
    with pytest.raises(StorageError, match="unknown run"):
        store.fork_run("run_19700101_000000_0000", 0, seed=1, next_population=[], rng_state={})
    with pytest.raises(StorageError, match="unknown run"):
        fork_run(store, "run_19700101_000000_0000", 0, seed=1)
    assert store.list_runs() == []


@pytest.mark.parametrize("generation", [-1, 4, 10])
def test_forking_at_a_generation_not_stored_is_refused(store: Store, evolved: Run, generation: int) -> None:
    with pytest.raises(StorageError, match=f"cannot fork at {generation}"):
        fork_run(store, evolved.id, generation, seed=1)
    with pytest.raises(StorageError, match=f"cannot fork at {generation}"):
        store.fork_run(evolved.id, generation, seed=1, next_population=evolved.population, rng_state={})
    assert [r.id for r in store.list_runs()] == [evolved.id]
