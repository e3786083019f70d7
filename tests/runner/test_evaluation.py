"""How a run evaluates its generations: straight from the kernel's outputs by default, or through a custom
simulate-compatible evaluator; both store exactly the same run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evolab
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import run_batch, simulate
from evolab.runner import Run
from evolab.runner.analysis import Evaluation, pellet_events, rank_results, replays_to_store
from evolab.storage.replay_block import pellet_dicts
from tests.runner.shared import small_config, without_timings

SEED = 41
GENERATIONS = 4


def _stored(run: Run) -> tuple:
    framed = [run.store.generation_frames(run.id, g) for g in range(run.generation)]
    return (
        without_timings(run.history()),
        [run.results(g) for g in range(run.generation)],
        [
            {cid: (f.frames.tobytes(), f.fitness_over_time.tobytes(), f.pellets) for cid, f in frames.items()}
            for frames in framed
        ],
        [g.to_dict() for g in run.population],
    )


@pytest.mark.parametrize("preset", ["quick", "neural-hybrid"])
def test_the_kernel_path_stores_what_simulate_as_evaluator_stores(tmp_path: Path, preset: str) -> None:
    cfg = small_config(preset)
    with Run.create(cfg, tmp_path / "direct.db", seed=SEED) as direct:
        direct.advance(GENERATIONS)
        expected = _stored(direct)
    with Run.create(cfg, tmp_path / "evaluator.db", seed=SEED, evaluator=simulate) as through_simulate:
        through_simulate.advance(GENERATIONS)
        assert _stored(through_simulate) == expected
    assert any(expected[2])  # replays were kept, so their frames were compared too


def test_a_run_calls_the_kernel_it_is_given_once_per_generation(tmp_path: Path) -> None:
    calls: list[int] = []

    def counting_kernel(batch, cfg, seed, **kwargs):
        calls.append((batch.size, kwargs["trials"]))
        return run_batch(batch, cfg, seed, **kwargs)

    cfg = small_config()
    with Run.create(cfg, tmp_path / "run.db", seed=SEED, kernel=counting_kernel) as run:
        run.advance(3)
    # each generation: the whole population on every trial in one call, then those of its top creatures on
    # the benchmark that it has not scored before (elites keep their score)
    selection = [c for c in calls if c == (cfg.population_size, cfg.trials)]
    benchmark = [c for c in calls if c != (cfg.population_size, cfg.trials)]
    assert len(selection) == 3
    assert calls[:2] == [(cfg.population_size, cfg.trials), (cfg.benchmark.top, cfg.benchmark.layouts)]
    assert all(size <= cfg.benchmark.top and layouts == cfg.benchmark.layouts for size, layouts in benchmark)


def test_columns_from_kernel_outputs_match_the_simulate_results() -> None:
    rng = np.random.default_rng(3)
    genomes = [evolab.random_genome(rng) for _ in range(6)]
    cfg = evolab.SimConfig(duration=2.0)
    batch = pack_batch(genomes)
    from_outputs = Evaluation.of_outputs(run_batch(batch, cfg, 9, record=True), batch.n_nodes, record=True)
    results = simulate(genomes, cfg, 9, record=True)
    from_results = Evaluation.of_results(results)

    for column in ("pellets", "disqualified", "distance", "displacement"):
        assert getattr(from_outputs, column) == getattr(from_results, column)
    assert np.array_equal(from_outputs.fitness, from_results.fitness)
    assert rank_results(0, genomes, from_outputs) == rank_results(0, genomes, from_results)
    for i, result in enumerate(results):
        frames, fitness_over_time, pellets = from_outputs.replay(i)
        assert np.array_equal(frames, result.frames)
        assert not frames.flags.writeable
        assert np.array_equal(fitness_over_time, result.fitness_over_time)
        assert pellet_dicts(pellets) == pellet_events(result.pellet_table)


def test_nothing_is_replayed_from_a_batch_that_recorded_no_frames() -> None:
    rng = np.random.default_rng(4)
    genomes = [evolab.random_genome(rng) for _ in range(3)]
    batch = pack_batch(genomes)
    evaluation = Evaluation.of_outputs(run_batch(batch, evolab.SimConfig(duration=0.5), 1), batch.n_nodes, False)
    assert evaluation.replay(0) is None
    assert replays_to_store({genomes[0].id: "top"}, genomes, evaluation) == ()


def test_pellet_events_tell_each_pellet_to_the_millimetre_with_its_frames() -> None:
    rng = np.random.default_rng(5)
    genomes = [evolab.random_genome(rng) for _ in range(4)]
    results = simulate(genomes, evolab.SimConfig(duration=6.0), 2, record=True)
    pellets = [(p, e) for r in results for p, e in zip(r.pellets, pellet_events(r.pellet_table), strict=True)]

    assert pellets
    for record, event in pellets:
        assert event["position"] == pytest.approx(list(record.position), abs=5e-4)
        assert event["spawned_frame"] == record.spawned_frame
        assert event["collected_frame"] == record.collected_frame
        assert event["initial_distance"] == pytest.approx(record.initial_distance, abs=5e-4)
