"""Fitness over several pellet layouts (trials) and the held-out benchmark score of a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evolab
from evolab.physics.contract import pellet_draws
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import run_batch
from evolab.runner import Run
from evolab.runner.analysis import Evaluation
from evolab.runner.benchmark import Benchmark, BenchmarkScore, score_on_layouts
from evolab.runner.seeds import benchmark_seed, generation_seed
from tests.hooked_backend import HookedBackend
from tests.runner.shared import small_config, without_timings

SEED = 31


@pytest.fixture
def genomes() -> list[evolab.Genome]:
    rng = np.random.default_rng(5)
    return [evolab.random_genome(rng) for _ in range(5)]


def _same(a: evolab.SimResult, b: evolab.SimResult) -> bool:
    return (a.fitness, a.pellets_collected, a.disqualified, a.distance_traveled) == (
        b.fitness,
        b.pellets_collected,
        b.disqualified,
        b.distance_traveled,
    ) and np.array_equal(a.pellet_table, b.pellet_table)


# -- trials in the physics --------------------------------------------------------------------------


def test_the_first_trial_is_the_single_evaluation(genomes) -> None:
    cfg = evolab.SimConfig(duration=2.0)
    single = evolab.simulate(genomes, cfg, seed=9)
    three = evolab.simulate(genomes, cfg, seed=9, trials=3)
    assert len(three) == 3 * len(genomes)
    assert all(_same(a, b) for a, b in zip(single, three[: len(genomes)], strict=True))


def test_a_trial_does_not_depend_on_how_many_trials_there_are(genomes) -> None:
    cfg = evolab.SimConfig(duration=2.0)
    two = evolab.simulate(genomes, cfg, seed=9, trials=2)
    four = evolab.simulate(genomes, cfg, seed=9, trials=4)
    assert all(_same(a, b) for a, b in zip(two, four[: 2 * len(genomes)], strict=True))


def test_trials_are_different_layouts_that_every_creature_shares(genomes) -> None:
    cfg = evolab.SimConfig(duration=1.0)
    draws = pellet_draws(pack_batch(genomes), cfg, seed=9, trials=3)
    draws, rows = draws.rows, draws.row_of
    assert draws.shape == (3, 10, 2)
    assert rows.tolist() == [t for t in range(3) for _ in genomes]  # trial-major: every creature, trial t
    assert len({draws[t].tobytes() for t in range(3)}) == 3


@pytest.mark.parametrize("pellet_mode", ["shared", "per_creature"])
def test_a_creatures_trials_do_not_depend_on_its_batch_mates(genomes, pellet_mode) -> None:
    cfg = evolab.SimConfig(duration=2.0, pellet_mode=pellet_mode)
    together = evolab.simulate(genomes, cfg, seed=4, trials=3)
    alone = evolab.simulate([genomes[2]], cfg, seed=4, trials=3)
    b = len(genomes)
    assert all(_same(together[t * b + 2], alone[t]) for t in range(3))


def test_a_creatures_mean_over_its_trials_does_not_depend_on_its_batch_mates() -> None:
    # its rows do not (DESIGN §4 (a)), and neither may the order in which they are added up
    rng = np.random.default_rng(8)
    crowd = [evolab.random_genome(rng) for _ in range(23)]
    cfg = evolab.SimConfig(duration=1.0)
    together = pack_batch(crowd)
    alone = pack_batch(crowd[7:8])
    trials = 5
    mean_together = Evaluation.of_outputs(run_batch(together, cfg, 3, trials=trials), together.n_nodes, False, trials)
    mean_alone = Evaluation.of_outputs(run_batch(alone, cfg, 3, trials=trials), alone.n_nodes, False, trials)
    assert mean_together.fitness[7] == mean_alone.fitness[0]
    assert mean_together.fitness_std[7] == mean_alone.fitness_std[0]
    fitness, pellets = score_on_layouts(crowd, cfg, 11, 16)
    assert (fitness[7], pellets[7]) == tuple(score_on_layouts(crowd[7:8], cfg, 11, 16)[i][0] for i in (0, 1))


def test_trials_must_be_a_positive_integer(genomes) -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(evolab.ConfigError, match="trials"):
            evolab.simulate(genomes, evolab.SimConfig(duration=0.5), trials=bad)


def test_explicit_pellets_are_one_layout() -> None:
    rng = np.random.default_rng(1)
    genome = evolab.random_genome(rng)
    results = evolab.simulate([genome], evolab.SimConfig(duration=0.5), pellets=[(1.0, 0.3, 0.0)], trials=4)
    assert len(results) == 1


# -- trials in a run -----------------------------------------------------------------------------------


def test_a_creatures_fitness_is_its_mean_over_the_generations_trials(tmp_path: Path) -> None:
    cfg = small_config(trials=3)
    with Run.create(cfg, tmp_path / "run.db", seed=SEED) as run:
        run.advance(2)
        for generation in range(2):
            results = run.results(generation)
            genomes = [run.genome(r.creature_id) for r in results]
            seed = run.store.generation(run.id, generation).sim_seed
            fresh = evolab.simulate(genomes, cfg.sim, seed, trials=3)
            b = len(genomes)
            for i, result in enumerate(results):
                mine = [fresh[t * b + i] for t in range(3)]
                assert result.fitness == pytest.approx(np.mean([m.fitness for m in mine]), rel=1e-12, abs=1e-12)
                assert result.fitness_std == pytest.approx(np.std([m.fitness for m in mine]), rel=1e-9, abs=1e-9)
                assert result.trial_pellets == tuple(m.pellets_collected for m in mine)
                assert result.pellets == sum(result.trial_pellets)
            assert [r.fitness for r in results] == sorted((r.fitness for r in results), reverse=True)


def test_a_one_trial_run_keeps_no_spread_or_pellets_per_trial(tmp_path: Path) -> None:
    with Run.create(small_config(trials=1), tmp_path / "run.db", seed=SEED) as run:
        run.advance(1)
        assert all(r.fitness_std is None and r.trial_pellets is None for r in run.results(0))


def test_a_run_remembers_its_trials(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    with Run.create(small_config(trials=6), path, seed=SEED) as run:
        run.advance(1)
        run_id = run.id
    with Run.resume(run_id, path) as resumed:
        assert resumed.config.trials == 6
        resumed.advance(1)
        assert all(len(r.trial_pellets) == 6 for r in resumed.results(1))


def test_runs_with_trials_and_a_benchmark_are_deterministic_and_resume_bit_exactly(tmp_path: Path) -> None:
    cfg = small_config(trials=3, benchmark={"layouts": 5, "top": 2})
    with Run.create(cfg, tmp_path / "whole.db", seed=SEED) as whole:
        whole.advance(4)
        expected = (without_timings(whole.history()), [whole.results(g) for g in range(4)], whole.info().best_pellets)
    with Run.create(cfg, tmp_path / "again.db", seed=SEED) as again:
        again.advance(4)
        assert (without_timings(again.history()), [again.results(g) for g in range(4)]) == expected[:2]
    path = tmp_path / "halves.db"
    with Run.create(cfg, path, seed=SEED) as first_half:
        first_half.advance(2)
        run_id = first_half.id
    with Run.resume(run_id, path) as second_half:
        second_half.advance(2)
        got = (without_timings(second_half.history()), [second_half.results(g) for g in range(4)])
        assert got == expected[:2]
        assert second_half.info().best_pellets == expected[2]


# -- the benchmark -------------------------------------------------------------------------------------


def test_the_benchmark_layouts_are_never_the_selection_layouts() -> None:
    for run_seed in (0, 1, SEED, 2**53 - 1):
        held_out = benchmark_seed(run_seed)
        selection = {generation_seed(run_seed, g) for g in range(20_000)}
        assert held_out not in selection
        layouts = np.random.default_rng(held_out).random((64, 10, 2))
        for g in range(50):
            chosen = np.random.default_rng(generation_seed(run_seed, g)).random((8, 10, 2))
            assert not np.isin(layouts, chosen).any()


def test_the_benchmark_is_fixed_for_a_run_and_differs_between_runs() -> None:
    assert benchmark_seed(SEED) == benchmark_seed(SEED)
    assert len({benchmark_seed(s) for s in range(100)}) == 100


def test_each_generations_benchmark_score_is_the_best_of_its_top_creatures(tmp_path: Path) -> None:
    cfg = small_config(benchmark={"layouts": 6, "top": 3})
    with Run.create(cfg, tmp_path / "run.db", seed=SEED) as run:
        run.advance(3)
        for stats in run.history():
            top = [run.genome(r.creature_id) for r in run.results(stats.generation)[:3]]
            fitness, pellets = score_on_layouts(top, cfg.sim, benchmark_seed(SEED), 6)
            i = int(np.argmax(fitness))
            assert (stats.benchmark_fitness, stats.benchmark_pellets) == (fitness[i], pellets[i])
            assert stats.benchmark_creature == top[i].id


def test_the_benchmark_scores_every_nth_generation_when_asked(tmp_path: Path) -> None:
    with Run.create(small_config(benchmark={"every": 3}), tmp_path / "run.db", seed=SEED) as run:
        run.advance(7)
        scored = [s.generation for s in run.history() if s.benchmark_fitness is not None]
        assert scored == [0, 3, 6]


def test_a_run_without_a_benchmark_stores_no_scores(tmp_path: Path) -> None:
    with Run.create(small_config(benchmark={"enabled": False}), tmp_path / "run.db", seed=SEED) as run:
        run.advance(2)
        assert all(s.benchmark_fitness is s.benchmark_pellets is s.benchmark_creature is None for s in run.history())
        assert not run.info().best_by_benchmark


def test_the_champion_is_judged_on_the_benchmark_not_on_a_lucky_layout(tmp_path: Path) -> None:
    cfg = small_config()
    selection_batch = cfg.population_size * cfg.trials
    assert selection_batch != cfg.benchmark.top * cfg.benchmark.layouts  # the two kinds of call are told apart

    def lucky_last(batch, out) -> None:
        """In selection, the last creature's every trial scores far above anything real (not on the benchmark)."""
        if batch.size == selection_batch:
            out.fitness[cfg.population_size - 1 :: cfg.population_size] = 10_000.0

    with Run.create(cfg, tmp_path / "run.db", seed=SEED, backend=HookedBackend(after=lucky_last)) as run:
        run.advance(3)
        info, history = run.info(), run.history()
        assert max(s.best for s in history) == 10_000.0
        champion = max(history, key=lambda s: s.benchmark_fitness)
        assert info.best_by_benchmark
        assert (info.best_fitness, info.best_creature_id, info.best_generation, info.best_pellets) == (
            champion.benchmark_fitness,
            champion.benchmark_creature,
            champion.generation,
            champion.benchmark_pellets,
        )
        assert info.best_fitness < 1_000.0


def test_the_benchmark_simulates_only_creatures_it_has_not_just_scored(genomes) -> None:
    cfg = evolab.SimConfig(duration=1.0)
    policy = evolab.BenchmarkPolicy(layouts=4, top=3)
    held_out = Benchmark(cfg, SEED, policy)
    first = held_out.score(genomes[:3])
    assert held_out.simulated == 3
    again = held_out.score([genomes[0], genomes[1], genomes[3]])  # two elites stay among the best
    assert held_out.simulated == 1
    fresh = Benchmark(cfg, SEED, policy).score([genomes[0], genomes[1], genomes[3]])
    assert again == fresh
    fitness, pellets = score_on_layouts(genomes[:3], cfg, benchmark_seed(SEED), 4)
    i = int(np.argmax(fitness))
    assert first == BenchmarkScore(genomes[i].id, fitness[i], pellets[i])
