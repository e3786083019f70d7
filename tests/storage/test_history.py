"""Store: fitness history, creature types, best creature and longest survivor (original storage-integration
"Fitness history", "Creature types", "Best creature" and "Longest survivor")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from evolab import EvolutionConfig, Genome
from evolab.physics.contract import BatchOutputs
from evolab.physics.pack import PackedBatch
from evolab.runner import Run
from evolab.storage import GenerationStats, Store
from tests.hooked_backend import HookedBackend

from .builders import HandRun

FitnessPlan = Callable[[Sequence[Genome]], list[float]]


class ScriptedFitness(HookedBackend):
    """The CPU backend, each generation's fitness values replaced by the next plan's (one trial per
    creature, no benchmark). `watch(run)` names the run whose generations it is given."""

    def __init__(self, plans: Sequence[FitnessPlan]) -> None:
        super().__init__(after=self._script)
        self._plans = list(plans)
        self.populations: list[list[Genome]] = []

    def _script(self, batch: PackedBatch, out: BatchOutputs) -> None:
        assert self.watched is not None, "watch(run) first"
        genomes = self.watched.population
        out.fitness[:] = self._plans[len(self.populations)](genomes)
        self.populations.append(genomes)


def one_creature_scores(score: float, pick: Callable[[Sequence[Genome]], int]) -> FitnessPlan:
    """The creature `pick` chooses gets `score`, every other one 1.0."""

    def plan(genomes: Sequence[Genome]) -> list[float]:
        chosen = pick(genomes)
        return [score if i == chosen else 1.0 for i in range(len(genomes))]

    return plan


# -- fitness history and creature types --------------------------------------------------------------


def test_stored_history_is_what_each_generation_reported(store: Store, quick_config: EvolutionConfig) -> None:
    # original: "fitness history stored"
    run = Run.create(quick_config, store, seed=3)
    reported = run.advance(3)
    assert store.generation_stats(run.id) == reported
    assert run.history() == reported


def test_history_summarises_each_generations_results(store: Store, evolved: Run) -> None:
    for stats in store.generation_stats(evolved.id):
        fitness = np.array([r.fitness for r in store.results(evolved.id, stats.generation)])
        assert stats.best == fitness[0] == fitness.max()
        assert stats.worst == fitness[-1] == fitness.min()
        assert stats.average == pytest.approx(fitness.mean(), rel=1e-12)
        assert stats.median == pytest.approx(np.median(fitness), rel=1e-12)
        assert stats.best >= stats.p90 >= stats.p75 >= stats.median >= stats.p25 >= stats.p10 >= stats.worst


def test_every_statistic_is_kept_exactly(store: Store, rng: np.random.Generator) -> None:
    stats = GenerationStats(
        generation=0,
        best=99.125,
        average=1 / 3,
        worst=-0.0,
        median=2.0**-30,
        p10=0.1,
        p25=0.25,
        p75=0.75,
        p90=0.9,
        disqualified=3,
        pellets=17,
        node_counts={2: 5, 11: 1, 3: 7},
        avg_nodes=4.5,
        avg_muscles=6.25,
        sim_seed=2**63 - 1,
        sim_seconds=0.125,
        host_seconds=0.0625,
    )
    run = HandRun(store, rng, size=2)
    run.save([2.0, 1.0], stats=stats)
    assert store.generation(run.id, 0) == stats
    assert list(store.generation(run.id, 0).node_counts) == [2, 3, 11]


def test_history_can_be_read_in_slices(store: Store, evolved: Run) -> None:
    everything = store.generation_stats(evolved.id)
    assert [s.generation for s in everything] == [0, 1, 2, 3]
    assert store.generation_stats(evolved.id, 1, 3) == everything[1:3]
    assert store.generation_stats(evolved.id, 2) == everything[2:]
    assert store.generation(evolved.id, 2) == everything[2]


def test_node_counts_describe_the_evaluated_population(store: Store, evolved: Run) -> None:
    # original: "creature types stored" (the Map of node count → creatures)
    for stats in store.generation_stats(evolved.id):
        ids = [r.creature_id for r in store.results(evolved.id, stats.generation)]
        genomes = store.genomes(evolved.id, ids)
        assert stats.node_counts == dict(Counter(g.n_nodes for g in genomes))
        assert list(stats.node_counts) == sorted(stats.node_counts)
        assert sum(stats.node_counts.values()) == evolved.config.population_size
        assert stats.avg_nodes == pytest.approx(np.mean([g.n_nodes for g in genomes]))
        assert stats.avg_muscles == pytest.approx(np.mean([g.n_muscles for g in genomes]))


# -- best creature ---------------------------------------------------------------------------------------


def test_best_creature_is_the_champion_on_the_benchmark(store: Store, evolved: Run) -> None:
    # judged on the held-out layouts, not on the generation's own: the first best benchmark score wins
    info = store.get_run(evolved.id)
    history = store.generation_stats(evolved.id)
    top = max(s.benchmark_fitness for s in history)
    first = next(s for s in history if s.benchmark_fitness == top)
    assert info.best_by_benchmark
    assert (info.best_fitness, info.best_creature_id, info.best_generation, info.best_pellets) == (
        top,
        first.benchmark_creature,
        first.generation,
        first.benchmark_pellets,
    )
    ranked = [r.creature_id for r in store.results(evolved.id, first.generation)]
    assert info.best_creature_id in ranked[: evolved.config.benchmark.top]
    assert store.genome(evolved.id, info.best_creature_id).id == info.best_creature_id


def test_without_a_benchmark_the_best_creature_is_the_best_result_ever(
    store: Store, quick_config: EvolutionConfig
) -> None:
    # original: "best stored with generation and fitness" and "genome id"
    evolved = Run.create(quick_config.replace(benchmark={"enabled": False}), store, seed=1)
    evolved.advance(4)
    info = store.get_run(evolved.id)
    assert not info.best_by_benchmark
    everything = [r for g in range(info.generation_count) for r in store.results(evolved.id, g)]
    top = max(r.fitness for r in everything)
    first = min((r for r in everything if r.fitness == top), key=lambda r: (r.generation, r.rank))
    assert (info.best_fitness, info.best_creature_id, info.best_generation) == (
        first.fitness,
        first.creature_id,
        first.generation,
    )
    assert store.genome(evolved.id, info.best_creature_id).id == info.best_creature_id


def test_only_a_strictly_better_result_replaces_the_best(store: Store, quick_config: EvolutionConfig) -> None:
    # generation 0: the first creature scores 50; 1: another creature ties at 50; 2: nobody beats it;
    # 3: the last creature scores 60
    champion: list[str] = []

    def first(genomes: Sequence[Genome]) -> int:
        champion.append(genomes[0].id)
        return 0

    def a_rival(genomes: Sequence[Genome]) -> int:
        return next(i for i, g in enumerate(genomes) if g.id != champion[0])

    evaluator = ScriptedFitness(
        [
            one_creature_scores(50.0, first),
            one_creature_scores(50.0, a_rival),
            one_creature_scores(40.0, a_rival),
            one_creature_scores(60.0, lambda genomes: len(genomes) - 1),
        ]
    )
    one_trial = quick_config.replace(trials=1, benchmark={"enabled": False})
    run = evaluator.watch(Run.create(one_trial, store, seed=3, backend=evaluator))
    seen = []
    for _ in range(4):
        run.advance(1)
        info = store.get_run(run.id)
        seen.append((info.best_fitness, info.best_creature_id, info.best_generation))
    newcomer = evaluator.populations[3][-1].id
    assert seen == [(50.0, champion[0], 0), (50.0, champion[0], 0), (50.0, champion[0], 0), (60.0, newcomer, 3)]


def test_the_store_keeps_the_records_a_generation_names(store: Store, rng: np.random.Generator) -> None:
    run = HandRun(store, rng, size=3)
    a, b = run.population[0].id, run.population[1].id
    run.save([3.0, 2.0, 1.0])
    info = store.get_run(run.id)
    assert (info.best_fitness, info.best_creature_id, info.best_generation) == (None, None, None)
    run.save([3.0, 2.0, 1.0], best=(250.0, a, 0, 2.5), longest=(12, b, 1))
    info = store.get_run(run.id)
    assert (info.best_fitness, info.best_creature_id, info.best_generation, info.best_pellets) == (250.0, a, 0, 2.5)
    assert (info.longest_streak, info.longest_survivor_id, info.longest_generation) == (12, b, 1)


# -- longest survivor -------------------------------------------------------------------------------


def test_longest_survivor_is_the_first_to_reach_the_longest_streak(store: Store, evolved: Run) -> None:
    # original: "longest survivor generations 12"
    info = store.get_run(evolved.id)
    everything = [r for g in range(info.generation_count) for r in store.results(evolved.id, g)]
    longest = max(r.survival_streak for r in everything)
    assert longest > 0  # elites survive in the quick preset
    first = min((r for r in everything if r.survival_streak == longest), key=lambda r: (r.generation, r.rank))
    assert (info.longest_streak, info.longest_survivor_id, info.longest_generation) == (
        longest,
        first.creature_id,
        first.generation,
    )


def test_a_survivor_keeps_one_genome_and_its_streak_in_each_result(store: Store, evolved: Run) -> None:
    # original: "streak 8 in stored genome"; here the genome is stored once, the streak per result
    info = store.get_run(evolved.id)
    history = store.creature_results(evolved.id, info.longest_survivor_id)
    streaks = [r.survival_streak for r in history]
    assert [r.generation for r in history] == list(range(history[0].generation, history[-1].generation + 1))
    assert streaks == list(range(streaks[0], streaks[0] + len(streaks)))
    assert info.longest_streak in streaks
    assert store.genome(evolved.id, info.longest_survivor_id).survival_streak == streaks[0]
