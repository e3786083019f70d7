"""Store: recorded replays and which creatures keep them (original storage-integration "Frame compaction")."""

from __future__ import annotations

import numpy as np
import pytest

from evolab import EvolutionConfig, FramePolicy, simulate
from evolab.runner import Run, replay_creature
from evolab.runner.analysis import pellet_events
from evolab.storage import FramesToStore, Store
from evolab.storage.frame_codec import FITNESS_QUANTUM, POSITION_QUANTA

from .builders import HandRun, RecordingBackend, run_pk

# half a quantum, plus the float32 rounding of coordinates up to a few units


def assert_within_quanta(stored: np.ndarray, exact: np.ndarray) -> None:
    """Every coordinate within half of its axis's quantum."""
    assert stored.shape == exact.shape
    assert (np.abs(stored.astype(np.float64) - exact) <= np.array(POSITION_QUANTA) / 2 + 1e-6).all()


FITNESS_TOLERANCE = FITNESS_QUANTUM / 2 + 1e-9


def test_a_stored_replay_matches_the_simulation_within_half_a_quantum(
    store: Store, quick_config: EvolutionConfig
) -> None:
    # original: "20 frames restored" and "positions ≈ to 2 dp"
    evaluator = RecordingBackend()
    run = evaluator.watch(Run.create(quick_config, store, seed=5, backend=evaluator))
    run.advance(2)
    for generation in range(2):
        framed = store.framed_creatures(run.id, generation)
        assert framed
        for creature_id in framed:
            simulated = evaluator.result(generation, creature_id)
            stored = store.frames(run.id, generation, creature_id)
            assert stored is not None
            assert stored.frames.dtype == np.float32
            assert (
                stored.frames.shape == simulated.frames.shape == (quick_config.sim.n_frames, len(stored.frames[0]), 3)
            )
            assert_within_quanta(stored.frames, simulated.frames)
            np.testing.assert_allclose(
                stored.fitness_over_time, simulated.fitness_over_time, rtol=0, atol=FITNESS_TOLERANCE
            )
            assert stored.pellets == pellet_events(simulated.pellet_table)


def test_pellet_events_are_kept(store: Store, rng: np.random.Generator) -> None:
    # original: "pelletData kept (collectedAtFrame 5 and null)"
    run = HandRun(store, rng, size=2)
    creature = run.population[0]
    pellets = (
        {"position": [1.25, 0.5, -3.0], "spawned_frame": 0, "collected_frame": 5, "initial_distance": 3.4},
        {"position": [-2.0, 0.5, 4.125], "spawned_frame": 6, "collected_frame": None, "initial_distance": 4.6},
    )
    frames = rng.uniform(-3, 3, (20, creature.n_nodes, 3)).astype(np.float32)
    fitness = np.linspace(0.0, 150.0, 20)
    run.save([2.0, 1.0], frames=[FramesToStore(creature.id, frames, fitness, pellets, "top")])
    stored = store.frames(run.id, 0, creature.id)
    assert stored is not None
    assert stored.pellets == pellets
    assert stored.frames.shape == (20, creature.n_nodes, 3)
    assert_within_quanta(stored.frames, frames)
    np.testing.assert_allclose(stored.fitness_over_time, fitness, rtol=0, atol=FITNESS_TOLERANCE)


def test_the_default_policy_keeps_the_top_ten_ten_random_and_the_bottom_five(store: Store) -> None:
    config = EvolutionConfig.from_preset("quick", population_size=30, sim={"duration": 0.5}, frames=FramePolicy())
    run = Run.create(config, store, seed=11)
    run.advance(2)
    for generation in range(2):
        ranked = [r.creature_id for r in store.results(run.id, generation)]
        framed = store.framed_creatures(run.id, generation)
        assert {c for c, why in framed.items() if why == "top"} == set(ranked[:10])
        assert {c for c, why in framed.items() if why == "bottom"} == set(ranked[-5:])
        random_picks = {c for c, why in framed.items() if why == "random"}
        assert len(random_picks) == 10
        assert random_picks <= set(ranked[10:-5])
        for creature_id in ranked:
            assert (store.frames(run.id, generation, creature_id) is not None) == (creature_id in framed)


def test_no_replays_are_kept_when_the_policy_is_off(store: Store, quick_config: EvolutionConfig) -> None:
    config = quick_config.model_copy(update={"frames": FramePolicy(enabled=False)})
    run = Run.create(config, store, seed=5)
    run.advance(2)
    assert store.framed_creatures(run.id, 0) == {}
    assert store.framed_creatures(run.id, 1) == {}
    assert all(store.frames(run.id, 0, r.creature_id) is None for r in store.results(run.id, 0))
    with store.transaction() as cur:
        kept = cur.execute("SELECT count(*) FROM replays WHERE run_pk = ?", (run_pk(store.path, run.id),))
        assert kept.fetchone()[0] == 0


def test_a_creature_without_stored_frames_is_replayed_by_simulation_of_its_first_trial(
    store: Store, quick_config: EvolutionConfig
) -> None:
    config = quick_config.model_copy(update={"frames": FramePolicy(enabled=False)})
    run = Run.create(config, store, seed=5)
    run.advance(1)
    result = store.results(run.id, 0)[3]
    replay = replay_creature(store, run.id, 0, result.creature_id)
    assert replay.source == "simulated"
    assert replay.frames.shape[0] == config.sim.n_frames
    # the replay is the first of the generation's trials; the stored fitness is the mean over all of them
    trials = simulate(store.genomes(run.id, [result.creature_id]), config.sim, store.generation(run.id, 0).sim_seed,
                      trials=config.trials)  # fmt: skip
    assert replay.fitness_over_time[-1] == trials[0].fitness
    assert sum(r.pellets_collected for r in trials) == result.pellets
    assert tuple(r.pellets_collected for r in trials) == result.trial_pellets
    assert np.mean([r.fitness for r in trials]) == pytest.approx(result.fitness, rel=1e-12)
    assert sum(p["collected_frame"] is not None for p in replay.pellets) == result.trial_pellets[0]


@pytest.mark.parametrize("reason", ["top", "random", "bottom"])
def test_the_reason_a_replay_was_kept_is_stored(store: Store, rng: np.random.Generator, reason: str) -> None:
    run = HandRun(store, rng, size=2)
    creature = run.population[1]
    frames = np.zeros((3, creature.n_nodes, 3), dtype=np.float32)
    run.save([2.0, 1.0], frames=[FramesToStore(creature.id, frames, np.zeros(3), (), reason)])
    assert store.framed_creatures(run.id, 0) == {creature.id: reason}
