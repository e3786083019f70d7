"""The held-out benchmark: a run's validation score.

Selection sees each generation's own pellet layouts (`generation_seed`); the benchmark is a fixed set of
layouts derived from the run's seed alone, never used for selection. Scoring a generation's top creatures
on it tells whether evolution generalises or merely chases lucky layouts, and picks the run's champion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from evolab.config import BenchmarkPolicy, SimConfig
from evolab.genome.model import Genome
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import BatchOutputs, run_batch
from evolab.runner.seeds import benchmark_seed


@dataclass(frozen=True, slots=True)
class BenchmarkScore:
    """The best of the scored creatures on the benchmark layouts (means over the layouts)."""

    creature_id: str
    fitness: float
    pellets: float


def benchmark_due(policy: BenchmarkPolicy, generation: int) -> bool:
    """Whether `generation` is scored on the benchmark (every `policy.every`-th, from generation 0)."""
    return policy.enabled and generation % policy.every == 0


def benchmark_sim(sim: SimConfig) -> SimConfig:
    """The simulation settings of the benchmark: the run's, with every creature on the same layouts."""
    return sim if sim.pellet_mode == "shared" else sim.replace(pellet_mode="shared")


def score_on_layouts(
    genomes: Sequence[Genome],
    sim: SimConfig,
    seed: int,
    layouts: int,
    *,
    kernel: Callable[..., BatchOutputs] = run_batch,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each genome's mean fitness and mean pellets over `layouts` shared pellet layouts drawn from `seed`,
    all in one kernel call."""
    out = kernel(pack_batch(genomes), benchmark_sim(sim), seed, trials=layouts, workers=workers)
    shape = (layouts, len(genomes))
    return out.fitness.reshape(shape).mean(axis=0), out.pellets.reshape(shape).mean(axis=0)


def score_benchmark(
    candidates: Sequence[Genome],
    sim: SimConfig,
    run_seed: int,
    policy: BenchmarkPolicy,
    *,
    kernel: Callable[..., BatchOutputs] = run_batch,
    workers: int | None = None,
) -> BenchmarkScore:
    """Score `candidates` (a generation's best, best first) on the run's benchmark; the best of them wins
    (the first on ties)."""
    fitness, pellets = score_on_layouts(
        candidates, sim, benchmark_seed(run_seed), policy.layouts, kernel=kernel, workers=workers
    )
    i = int(np.argmax(fitness))
    return BenchmarkScore(candidates[i].id, float(fitness[i]), float(pellets[i]))
