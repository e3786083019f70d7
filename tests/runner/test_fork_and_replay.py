"""Forking a run from a past generation, and replaying any stored creature (DESIGN §1, §6, §7)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import evolab
from evolab.errors import StorageError
from evolab.runner import Run, fork_run, replay_creature
from evolab.runner.analysis import pellet_events
from evolab.storage import Store
from evolab.storage.frame_codec import FITNESS_QUANTUM, POSITION_QUANTA
from tests.runner.shared import small_config, trial_results

SEED = 31
GENERATIONS = 6
FORK_AT = 3
FEW_FRAMES = {"keep_top": 2, "keep_random": 1, "keep_bottom": 1}
"""Keep 4 of 12 replays per generation, so most creatures must be re-simulated."""


@dataclass(frozen=True)
class StoredRun:
    store: Store
    run_id: str
    config: evolab.EvolutionConfig


@pytest.fixture
def stored_run(db_path: Path) -> Iterator[StoredRun]:
    """Six generations of a small run that kept few replays, and an open store on its file."""
    cfg = small_config("quick", frames=FEW_FRAMES)
    with Run.create(cfg, db_path, seed=SEED) as run:
        run.advance(GENERATIONS)
        run_id = run.id
    with Store(db_path) as store:
        yield StoredRun(store, run_id, cfg)


def _resimulated(stored: StoredRun, generation: int, creature_id: str) -> evolab.SimResult:
    sim_seed = stored.store.generation(stored.run_id, generation).sim_seed
    genome = stored.store.genome(stored.run_id, creature_id)
    return evolab.simulate([genome], stored.config.sim, seed=sim_seed, record=True)[0]


# -- fork ---------------------------------------------------------------------------------------------


def test_fork_copies_the_history_up_to_the_fork_generation(stored_run: StoredRun) -> None:
    store, source_id = stored_run.store, stored_run.run_id
    fork = fork_run(store, source_id, FORK_AT, seed=5)

    assert fork.id != source_id
    assert (fork.parent_run_id, fork.fork_generation) == (source_id, FORK_AT)
    assert fork.generation_count == FORK_AT + 1
    assert fork.config == stored_run.config
    assert store.generation_stats(fork.id) == store.generation_stats(source_id)[: FORK_AT + 1]
    for g in range(FORK_AT + 1):
        assert store.results(fork.id, g) == store.results(source_id, g)
        assert store.framed_creatures(fork.id, g) == store.framed_creatures(source_id, g)
    champion = max(store.generation_stats(source_id)[: FORK_AT + 1], key=lambda s: s.benchmark_fitness)
    assert (fork.best_fitness, fork.best_creature_id) == (champion.benchmark_fitness, champion.benchmark_creature)
    assert store.get_run(source_id).generation_count == GENERATIONS


def test_a_fork_advances_on_its_own_and_leaves_its_source_alone(stored_run: StoredRun) -> None:
    store, source_id = stored_run.store, stored_run.run_id
    source_history = store.generation_stats(source_id)
    fork = fork_run(store, source_id, FORK_AT, name="branch", seed=5)
    assert fork.name == "branch"

    with Run.resume(fork.id, store) as branch:
        assert branch.generation == FORK_AT + 1
        branch.advance(2)
        assert [s.generation for s in branch.history()] == list(range(FORK_AT + 3))
        assert branch.info().status == "completed"
    assert store.generation_stats(source_id) == source_history


def test_forks_with_the_same_seed_evolve_identically(stored_run: StoredRun) -> None:
    store, source_id = stored_run.store, stored_run.run_id
    histories = []
    for _ in range(2):
        fork = fork_run(store, source_id, FORK_AT, seed=5)
        with Run.resume(fork.id, store) as branch:
            branch.advance(2)
            histories.append([(s.best, s.average, s.node_counts) for s in branch.history()])
    assert histories[0] == histories[1]


@pytest.mark.parametrize("generation", [-1, GENERATIONS])
def test_fork_refuses_a_generation_that_is_not_stored(stored_run: StoredRun, generation: int) -> None:
    with pytest.raises(StorageError, match="cannot fork"):
        fork_run(stored_run.store, stored_run.run_id, generation, seed=5)
    assert len(stored_run.store.list_runs()) == 1


def test_fork_refuses_an_unknown_run(stored_run: StoredRun) -> None:
    with pytest.raises(StorageError, match="unknown run"):
        fork_run(stored_run.store, "run_20000101_000000_0000", 0, seed=5)


# -- replay -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("generation", [0, GENERATIONS - 1])
def test_stored_replays_match_a_resimulation_to_within_the_quantum(stored_run: StoredRun, generation: int) -> None:
    framed = stored_run.store.framed_creatures(stored_run.run_id, generation)
    assert sorted(framed.values()) == sorted(["top"] * 2 + ["random"] + ["bottom"])
    for creature_id in framed:
        replay = replay_creature(stored_run.store, stored_run.run_id, generation, creature_id)
        expected = _resimulated(stored_run, generation, creature_id)

        assert replay.source == "stored"
        assert (replay.creature_id, replay.generation) == (creature_id, generation)
        assert (
            replay.frames.shape
            == expected.frames.shape
            == (stored_run.config.sim.n_frames, expected.frames.shape[1], 3)
        )
        assert (np.abs(replay.frames - expected.frames) <= np.array(POSITION_QUANTA)).all()
        np.testing.assert_allclose(replay.fitness_over_time, expected.fitness_over_time, rtol=0, atol=FITNESS_QUANTUM)
        assert list(replay.pellets) == list(pellet_events(expected.pellet_table))


def test_replays_not_kept_are_resimulated_exactly(stored_run: StoredRun) -> None:
    generation = GENERATIONS - 1
    framed = stored_run.store.framed_creatures(stored_run.run_id, generation)
    not_kept = [r for r in stored_run.store.results(stored_run.run_id, generation) if r.creature_id not in framed]
    assert len(not_kept) == stored_run.config.population_size - len(framed)
    for result in not_kept:
        replay = replay_creature(stored_run.store, stored_run.run_id, generation, result.creature_id)
        assert replay.source == "simulated"
        assert replay.frames.shape[0] == stored_run.config.sim.n_frames
        assert replay.fitness_over_time.shape == (stored_run.config.sim.n_frames,)
        assert_replays_the_first_trial(stored_run.store, stored_run.run_id, result, replay)


def assert_replays_the_first_trial(store: Store, run_id: str, result: evolab.CreatureResult, replay) -> None:
    """The replay is the creature's first trial of that generation, and re-simulating every trial gives
    back the stored result: the mean fitness, the pellets of each trial and their sum."""
    trials = trial_results(store, run_id, result.generation, result.creature_id)
    assert replay.fitness_over_time[-1] == trials[0].fitness
    assert sum(p["collected_frame"] is not None for p in replay.pellets) == trials[0].pellets_collected
    assert np.mean([t.fitness for t in trials]) == pytest.approx(result.fitness, rel=1e-12, abs=1e-12)
    assert tuple(t.pellets_collected for t in trials) == result.trial_pellets
    assert sum(result.trial_pellets) == result.pellets


def test_turbo_runs_replay_every_creature_by_resimulation(db_path: Path) -> None:
    cfg = small_config("quick", frames={"enabled": False})
    with Run.create(cfg, db_path, seed=SEED) as run:
        run.advance(2)
        for generation in range(2):
            assert run.store.framed_creatures(run.id, generation) == {}
            best = run.results(generation)[0]
            replay = replay_creature(run.store, run.id, generation, best.creature_id)
            assert replay.source == "simulated"
            assert_replays_the_first_trial(run.store, run.id, best, replay)


def test_an_elite_replays_each_generation_with_that_generations_seed(stored_run: StoredRun) -> None:
    """A creature that survives several generations is evaluated with each generation's own seed."""
    store, run_id = stored_run.store, stored_run.run_id
    elite = max(store.results(run_id, GENERATIONS - 1), key=lambda r: r.survival_streak)
    history = store.creature_results(run_id, elite.creature_id)
    assert len(history) == elite.survival_streak + 1 >= 2
    for result in history:
        replay = replay_creature(store, run_id, result.generation, result.creature_id)
        first_trial = trial_results(store, run_id, result.generation, result.creature_id)[0]
        assert replay.fitness_over_time[-1] == pytest.approx(first_trial.fitness, abs=FITNESS_QUANTUM)


def _a_creature_born_later(store: Store, run_id: str) -> str:
    earlier = {r.creature_id for r in store.results(run_id, 0)}
    return next(r.creature_id for r in store.results(run_id, 1) if r.creature_id not in earlier)


@pytest.mark.parametrize(
    "case",
    ["unknown run", "unknown creature", "generation not stored", "negative generation", "creature not in generation"],
)
def test_replay_refuses_what_was_never_stored(stored_run: StoredRun, case: str) -> None:
    store, run_id = stored_run.store, stored_run.run_id
    some_creature = store.results(run_id, 0)[0].creature_id
    run, generation, creature = {
        "unknown run": ("run_20000101_000000_0000", 0, some_creature),
        "unknown creature": (run_id, 0, "cr_0000000000000000"),
        "generation not stored": (run_id, GENERATIONS, some_creature),
        "negative generation": (run_id, -1, some_creature),
        "creature not in generation": (run_id, 0, _a_creature_born_later(store, run_id)),
    }[case]
    with pytest.raises(StorageError):
        replay_creature(store, run, generation, creature)
