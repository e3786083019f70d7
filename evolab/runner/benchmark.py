"""The held-out benchmark: a run's validation score.

Selection sees each generation's own pellet layouts (`generation_seed`); the benchmark is a fixed set of
layouts derived from the run's seed alone, never used for selection. Scoring a generation's top creatures
on it tells whether evolution generalises or merely chases lucky layouts, and picks the run's champion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evolab.config import BenchmarkPolicy, SimConfig
from evolab.genome.model import Genome
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import Backend, BatchOutputs, PendingOutputs
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import run_batch, start_batch, trial_mean
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
    backend: Backend | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each genome's mean fitness and mean pellets over `layouts` shared pellet layouts drawn from `seed`,
    all in one call of `backend` (default: the CPU kernel on `workers` threads)."""
    fitness, pellets = scores_by_layout(genomes, sim, seed, layouts, backend=backend, workers=workers)
    return trial_mean(fitness.T, layouts), trial_mean(pellets.T, layouts)


def scores_by_layout(
    genomes: Sequence[Genome],
    sim: SimConfig,
    seed: int,
    layouts: int,
    *,
    backend: Backend | None = None,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(genomes, layouts) each genome's fitness and pellets on each of `layouts` shared layouts drawn from
    `seed` (what a paired comparison needs; `score_on_layouts` gives the means), in one call of `backend`."""
    out = run_batch(pack_batch(genomes), benchmark_sim(sim), seed, trials=layouts, workers=workers, backend=backend)
    n = len(genomes)  # rows are trial-major
    return tuple(np.asarray(v, dtype=np.float64).reshape(layouts, n).T for v in (out.fitness, out.pellets))


class Benchmark:
    """A run's held-out benchmark: scores a generation's best on the run's fixed layouts.

    It remembers the scores of the creatures it scored last: a generation's best is often an elite that
    led the generation before too, and a creature's score depends on its genome alone (DESIGN §4 (a)), so
    it is not simulated again.
    """

    def __init__(
        self,
        sim: SimConfig,
        run_seed: int,
        policy: BenchmarkPolicy,
        *,
        backend: Backend | None = None,
        workers: int | None = None,
    ) -> None:
        self._sim = benchmark_sim(sim)
        self._seed = benchmark_seed(run_seed)
        self._layouts = policy.layouts
        self._backend = backend
        self._workers = workers
        self._known: dict[str, tuple[float, float]] = {}
        self.simulated = 0
        """Creatures the last `score` simulated (those it had not scored before)."""

    def score(self, candidates: Sequence[Genome]) -> BenchmarkScore:
        """Score `candidates` (a generation's best, best first); the best of them on the benchmark wins
        (the first on ties)."""
        return self.start(candidates).result()

    def start(self, candidates: Sequence[Genome]) -> PendingScore:
        """`score` begun: on a backend that computes elsewhere (`start_run`) the caller works meanwhile."""
        new = [g for g in candidates if g.id not in self._known]
        self.simulated = len(new)
        pending = None
        if new:
            backend = self._backend or CpuBackend(self._workers)
            pending = start_batch(pack_batch(new), self._sim, self._seed, trials=self._layouts, backend=backend)
        return PendingScore(self, tuple(candidates), tuple(g.id for g in new), pending)

    def _finish(self, candidates: Sequence[Genome], new: Sequence[str], out: BatchOutputs | None) -> BenchmarkScore:
        if out is not None:
            fitness, pellets = trial_mean(out.fitness, self._layouts), trial_mean(out.pellets, self._layouts)
            self._known.update(zip(new, zip(fitness.tolist(), pellets.tolist(), strict=True), strict=True))
        scores = [self._known[g.id] for g in candidates]
        self._known = {g.id: s for g, s in zip(candidates, scores, strict=True)}
        i = max(range(len(scores)), key=lambda k: scores[k][0])  # max keeps the first of equals
        return BenchmarkScore(candidates[i].id, *scores[i])


@dataclass(frozen=True, slots=True)
class PendingScore:
    """A `Benchmark.start` under way; `result()` is the `BenchmarkScore` (asked for once)."""

    benchmark: Benchmark
    candidates: tuple[Genome, ...]
    new: tuple[str, ...]
    """The ids of the candidates being simulated (the others were scored before)."""
    pending: PendingOutputs | None

    def result(self) -> BenchmarkScore:
        out = self.pending.result() if self.pending is not None else None
        return self.benchmark._finish(self.candidates, self.new, out)

    def cancel(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
