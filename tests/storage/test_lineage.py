"""Store: ancestry, per-creature results, checkpoints, truncation and saved presets."""

from __future__ import annotations

import numpy as np
import pytest

from evolab import EvolutionConfig, StorageError
from evolab.errors import InvalidInput
from evolab.genome import random_genome
from evolab.runner import Run
from evolab.storage import Store

from .builders import HandRun

# -- ancestry ------------------------------------------------------------------------------------------


def test_ancestors_reach_back_to_generation_zero_through_older_creatures(store: Store, evolved: Run) -> None:
    last = store.get_run(evolved.id).generation_count - 1
    children = [r for r in store.results(evolved.id, last) if store.creature(evolved.id, r.creature_id).born == last]
    assert children
    for child in children:
        me = store.creature(evolved.id, child.creature_id)
        ancestors = store.ancestors(evolved.id, child.creature_id)
        family = {a.creature_id: a for a in ancestors} | {me.creature_id: me}
        assert len(family) == len(ancestors) + 1
        for member in family.values():
            for parent_id in member.parent_ids:
                assert family[parent_id].born < member.born
        assert all(a.born == 0 for a in ancestors if not a.parent_ids)
        assert min(a.born for a in ancestors) == 0
        assert {a.creature_id for a in ancestors[: len(me.parent_ids)]} == set(me.parent_ids)


def test_a_generation_zero_creature_has_no_ancestors(store: Store, evolved: Run) -> None:
    founder = store.results(evolved.id, 0)[0].creature_id
    assert store.creature(evolved.id, founder).born == 0
    assert store.ancestors(evolved.id, founder) == []


def test_ancestors_can_be_limited(store: Store, evolved: Run) -> None:
    last = store.get_run(evolved.id).generation_count - 1
    child = next(
        r.creature_id for r in store.results(evolved.id, last) if store.creature(evolved.id, r.creature_id).born == last
    )
    assert store.ancestors(evolved.id, child, limit=1) == store.ancestors(evolved.id, child)[:1]


def test_ancestors_of_an_unknown_creature_are_refused(store: Store, evolved: Run) -> None:
    with pytest.raises(StorageError, match="unknown creature"):
        store.ancestors(evolved.id, "cr_nobody")
    with pytest.raises(StorageError, match="unknown creature"):
        store.creature(evolved.id, "cr_nobody")
    with pytest.raises(StorageError, match="unknown creature"):
        store.genome(evolved.id, "cr_nobody")


# -- results by creature -------------------------------------------------------------------------------


def test_creature_results_follow_a_creature_through_the_generations(store: Store, evolved: Run) -> None:
    generations = store.get_run(evolved.id).generation_count
    by_generation = [store.results(evolved.id, g) for g in range(generations)]
    for creature_id in {r.creature_id for results in by_generation for r in results}:
        expected = [r for results in by_generation for r in results if r.creature_id == creature_id]
        assert store.creature_results(evolved.id, creature_id) == expected
    assert store.creature_results(evolved.id, "cr_nobody") == []


def test_top_results_hold_each_creatures_best_result_best_first(store: Store, evolved: Run) -> None:
    top = store.top_results(evolved.id, limit=1000)
    ids = [r.creature_id for r in top]
    assert len(ids) == len(set(ids))
    generations = store.get_run(evolved.id).generation_count
    everyone = {r.creature_id for g in range(generations) for r in store.results(evolved.id, g)}
    assert set(ids) == everyone
    assert [r.fitness for r in top] == sorted((r.fitness for r in top), reverse=True)
    for result in top:
        assert result.fitness == max(r.fitness for r in store.creature_results(evolved.id, result.creature_id))
    assert store.top_results(evolved.id, limit=3) == top[:3]
    assert top[0].fitness == max(r.fitness for g in range(generations) for r in store.results(evolved.id, g))


# -- checkpoints and truncation ------------------------------------------------------------------------


def test_a_checkpoint_holds_the_next_population_and_the_generator_state(store: Store, rng: np.random.Generator) -> None:
    ga = np.random.default_rng(17)
    ga.random(5)
    population = [random_genome(rng).replace(survival_streak=s) for s in (3, 0, 1)]
    run = store.create_run(EvolutionConfig(population_size=3, elite_count=1), seed=17)
    store.store_population(run.id, 0, population, ga.bit_generator.state)

    checkpoint = store.checkpoint(run.id)
    assert checkpoint.generation == 0
    assert list(checkpoint.population) == population
    assert [g.survival_streak for g in checkpoint.population] == [3, 0, 1]
    restored = np.random.default_rng()
    restored.bit_generator.state = checkpoint.rng_state
    assert np.array_equal(restored.random(4), ga.random(4))


def test_the_latest_checkpoint_is_that_of_the_next_generation(store: Store, evolved: Run) -> None:
    checkpoint = store.checkpoint(evolved.id)
    assert checkpoint.generation == store.get_run(evolved.id).generation_count == evolved.generation
    assert list(checkpoint.population) == evolved.population
    for generation in range(checkpoint.generation + 1):
        assert store.checkpoint(evolved.id, generation).generation == generation
    assert store.checkpoint(evolved.id, checkpoint.generation + 1) is None


def test_a_generation_saved_without_a_checkpoint_leaves_the_previous_one_latest(
    store: Store, rng: np.random.Generator
) -> None:
    run = HandRun(store, rng, size=3)
    run.save([3.0, 2.0, 1.0])
    run.save([3.0, 2.0, 1.0], write_checkpoint=False)
    assert store.checkpoint(run.id).generation == 1
    assert store.checkpoint(run.id, 2) is None
    assert store.get_run(run.id).generation_count == 2


def test_truncate_forgets_the_later_generations_and_their_creatures(store: Store, evolved: Run) -> None:
    kept = [store.results(evolved.id, g) for g in range(2)]
    born_late = [
        r.creature_id for r in store.results(evolved.id, 3) if store.creature(evolved.id, r.creature_id).born == 3
    ]
    store.truncate(evolved.id, 2)
    info = store.get_run(evolved.id)
    assert info.generation_count == 2
    assert [store.results(evolved.id, g) for g in range(2)] == kept
    assert store.results(evolved.id, 2) == store.results(evolved.id, 3) == []
    assert [s.generation for s in store.generation_stats(evolved.id)] == [0, 1]
    assert store.checkpoint(evolved.id).generation == 2
    assert store.checkpoint(evolved.id, 3) is None
    with pytest.raises(StorageError, match="unknown creature"):
        store.genome(evolved.id, born_late[0])
    champion = max(store.generation_stats(evolved.id), key=lambda s: (s.benchmark_fitness, -s.generation))
    assert (info.best_fitness, info.best_creature_id, info.best_generation, info.best_pellets) == (
        champion.benchmark_fitness,
        champion.benchmark_creature,
        champion.generation,
        champion.benchmark_pellets,
    )


def test_a_truncated_run_resumes_to_the_same_generations(store: Store, evolved: Run) -> None:
    # DESIGN §6: resuming from a checkpoint reproduces the uninterrupted run on the same backend
    original = [store.results(evolved.id, g) for g in range(4)]
    history = store.generation_stats(evolved.id)
    info = store.get_run(evolved.id)
    store.truncate(evolved.id, 1)
    Run.resume(evolved.id, store).advance(3)
    assert [store.results(evolved.id, g) for g in range(4)] == original
    assert [(s.best, s.node_counts, s.sim_seed) for s in store.generation_stats(evolved.id)] == [
        (s.best, s.node_counts, s.sim_seed) for s in history
    ]
    again = store.get_run(evolved.id)
    assert (again.best_fitness, again.best_creature_id, again.longest_survivor_id) == (
        info.best_fitness,
        info.best_creature_id,
        info.longest_survivor_id,
    )


# -- presets -----------------------------------------------------------------------------------------------


def test_saved_presets_are_listed_by_name(store: Store) -> None:
    slow = EvolutionConfig.from_preset("overnight")
    fast = EvolutionConfig.from_preset("quick", population_size=8)
    store.save_preset("zebra", slow)
    store.save_preset("  alpha ", fast)
    assert store.presets() == {"alpha": fast, "zebra": slow}
    assert list(store.presets()) == ["alpha", "zebra"]


def test_saving_a_preset_under_a_taken_name_replaces_it(store: Store) -> None:
    store.save_preset("mine", EvolutionConfig.from_preset("quick"))
    store.save_preset("mine", EvolutionConfig.from_preset("neural-pure"))
    assert store.presets() == {"mine": EvolutionConfig.from_preset("neural-pure")}


def test_presets_survive_reopening_the_database(store: Store) -> None:
    config = EvolutionConfig.from_preset("neural-hybrid", mutation_rate=0.77)
    store.save_preset("mine", config)
    with Store(store.path) as again:
        assert again.presets() == {"mine": config}


def test_deleting_a_preset_forgets_it(store: Store) -> None:
    store.save_preset("mine", EvolutionConfig.from_preset("quick"))
    store.save_preset("other", EvolutionConfig.from_preset("quick"))
    store.delete_preset("mine")
    assert list(store.presets()) == ["other"]


def test_deleting_an_unknown_preset_is_refused(store: Store) -> None:
    with pytest.raises(StorageError, match="unknown preset"):
        store.delete_preset("nothing")


def test_an_empty_preset_name_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match="cannot be empty"):
        store.save_preset("  ", EvolutionConfig.from_preset("quick"))
    assert store.presets() == {}
