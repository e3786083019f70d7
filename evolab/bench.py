"""Standard throughput workloads of DESIGN §8 (W1-W3) and how to measure them.

Numbers only come from here and `benchmarks/`, never from tests: the CLI's `evolab bench` renders them.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numba
import numpy as np

from evolab.config import GenomeConstraints, NeuralMode, SimConfig
from evolab.genome.generate import random_genome
from evolab.physics.backend_cpu import CpuBackend, cpu_name, default_workers
from evolab.physics.contract import (
    Backend,
    BatchOutputs,
    PelletDraws,
    PendingOutputs,
    PendingRows,
    SimParams,
    WrappedBackend,
    start_run,
)
from evolab.physics.pack import PackedBatch, pack_batch
from evolab.physics.simulate import run_batch

BENCH_SEED = 20261126


@dataclass(frozen=True, slots=True)
class Workload:
    """A batch of random default genomes simulated once, like one generation's evaluation."""

    name: str
    creatures: int
    duration: float
    neural_mode: NeuralMode
    description: str
    gpu_sized: bool = False
    """Too big for a CPU in a benchmark's time: run by default on the GPU backends only."""

    @property
    def steps(self) -> int:
        return SimConfig(duration=self.duration).n_steps


WORKLOADS = (
    Workload("W1", 100, 20.0, "off", "100 creatures x 20 s, oscillators, no recording"),
    Workload("W2", 1000, 20.0, "off", "1000 creatures x 20 s, oscillators"),
    Workload("W3", 1000, 20.0, "hybrid", "1000 creatures x 20 s, hybrid neural controllers"),
    Workload("W4", 100_000, 20.0, "off", "100,000 creatures x 20 s, oscillators (GPU-sized)", gpu_sized=True),
)


@dataclass(frozen=True, slots=True)
class WorkloadResult:
    """Best of `repeats` timed runs of one workload."""

    name: str
    creatures: int
    steps: int
    workers: int
    repeats: int
    seconds_per_generation: float
    creature_steps_per_s: float
    pack_seconds: float

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def machine_info(workers: int) -> dict[str, object]:
    """What the numbers were measured on."""
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet in this process
        layer = numba.config.THREADING_LAYER
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "workers": workers,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "threading_layer": layer,
    }


def warm_up(workers: int | None = None) -> float:
    """Compile (or load from numba's on-disk cache) every kernel variant; returns the seconds it took."""
    rng = np.random.default_rng(BENCH_SEED)
    genomes = [random_genome(rng, neural_hidden_size=8) for _ in range(2)]
    start = time.perf_counter()
    for mode in ("off", "hybrid"):
        cfg = SimConfig(duration=0.1, neural_mode=mode)
        run_batch(pack_batch(genomes), cfg, 0, workers=workers)
        run_batch(pack_batch(genomes), cfg, 0, record=True, workers=workers)
    # the compiled parts of the GA and of storage, which E1 uses
    from evolab.config import EvolutionConfig
    from evolab.genetics import evolve_step
    from evolab.runner.analysis import pellet_rows
    from evolab.storage.frame_codec import encode_replay, raw_replays
    from evolab.storage.genome_codec import batch_content

    evolve_cfg = EvolutionConfig(
        population_size=2, elite_count=0, cull_fraction=0.0, crossover_rate=1.0, structural_rate=1.0, mutation_rate=1.0
    )
    evolve_step(genomes, [1.0, 0.0], evolve_cfg, rng)  # crossover, then every kind of mutation
    encode_replay(np.zeros((2, 2, 3), dtype=np.float32), np.zeros(2))
    batch_frames = np.zeros((1, 2, 3, 3), dtype=np.float32)
    batch_frames.flags.writeable = False
    raw_replays([(batch_frames[0, :, :2], np.zeros(2))])  # a run's replays: read-only views of a batch
    batch_content(genomes)
    pellet_rows(np.zeros((1, 2, 6)))
    return time.perf_counter() - start


def run_workload(
    workload: Workload, workers: int | None = None, repeats: int = 3, backend: Backend | None = None
) -> WorkloadResult:
    """Time one workload: pack + simulation on `backend` (default: the CPU kernel on `workers` threads),
    best of `repeats` (after `warm_up`)."""
    workers = workers or default_workers()
    backend = backend or CpuBackend(workers)
    rng = np.random.default_rng(BENCH_SEED)
    hidden = 8 if workload.neural_mode != "off" else None
    genomes = [random_genome(rng, GenomeConstraints(), neural_hidden_size=hidden) for _ in range(workload.creatures)]
    cfg = SimConfig(duration=workload.duration, neural_mode=workload.neural_mode)
    best = np.inf
    best_pack = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        batch = pack_batch(genomes)
        packed = time.perf_counter()
        run_batch(batch, cfg, BENCH_SEED, backend=backend)
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, best_pack = elapsed, packed - start
    return WorkloadResult(
        name=workload.name,
        creatures=workload.creatures,
        steps=workload.steps,
        workers=workers,
        repeats=repeats,
        seconds_per_generation=best,
        creature_steps_per_s=workload.creatures * workload.steps / best,
        pack_seconds=best_pack,
    )


@dataclass(frozen=True, slots=True)
class EndToEndResult:
    """E1: a whole stored evolution, timed.

    host_share is the part of the wall time spent outside the simulation kernel: storage (store_*), the GA
    with ranking and statistics (ga_*), and packing genomes in and results out (pack_*).
    """

    name: str
    generations: int
    population: int
    duration: float
    workers: int
    wall_seconds: float
    kernel_seconds: float
    store_seconds_per_generation: float
    ga_seconds_per_generation: float
    pack_seconds_per_generation: float
    host_share: float
    database_bytes: int
    database_bytes_per_generation: float

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class GradientCost:
    """What a gradient through the torch physics costs: seconds per creature-step of the forward rollout
    alone and of the forward rollout with its backward pass (best of `repeats`)."""

    creatures: int
    window: int
    forward_seconds_per_creature_step: float
    gradient_seconds_per_creature_step: float

    @property
    def ratio(self) -> float:
        return self.gradient_seconds_per_creature_step / self.forward_seconds_per_creature_step

    def to_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "ratio": self.ratio}


def gradient_cost(creatures: int = 16, window: int = 60, repeats: int = 2) -> GradientCost:
    """Time `objective_and_gradient` against the same rollout without gradients on `creatures` random
    oscillator creatures over `window` control steps (torch on its default device)."""
    from evolab.physics.gradients import objective_and_gradient, objective_value

    rng = np.random.default_rng(BENCH_SEED)
    genomes = [random_genome(rng) for _ in range(creatures)]
    sim = SimConfig()
    timings = []
    for measure in (objective_value, objective_and_gradient):
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            measure(genomes, sim, BENCH_SEED, window=window)
            best = min(best, time.perf_counter() - start)
        timings.append(best / (creatures * window))
    return GradientCost(creatures, window, *timings)


class TimedBackend(WrappedBackend):
    """A backend that adds up the seconds its calls hold the caller up (E1's kernel time): all of a call
    made in the caller's threads, and of a call begun elsewhere (`start_run`) the time spent starting it
    and waiting for its outputs."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.seconds = 0.0

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        return self.start(batch, params, draws, record).result()

    def start(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> PendingOutputs:
        with self._timed():
            return _TimedPending(start_run(self.inner, batch, params, draws, record), self)

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start


@dataclass(frozen=True, slots=True)
class _TimedPending:
    pending: PendingOutputs
    timer: TimedBackend

    def result(self) -> BatchOutputs:
        with self.timer._timed():
            return self.pending.result()

    def scores(self) -> BatchOutputs:
        with self.timer._timed():
            return self.pending.scores()

    def fetch_rows(self, rows: np.ndarray) -> PendingRows:
        with self.timer._timed():
            return _TimedRows(self.pending.fetch_rows(rows), self.timer)

    def cancel(self) -> None:
        self.pending.cancel()


@dataclass(frozen=True, slots=True)
class _TimedRows:
    pending: PendingRows
    timer: TimedBackend

    def result(self) -> BatchOutputs:
        with self.timer._timed():
            return self.pending.result()


E1_TURN = 100
"""Generations each run takes in turn when E1 runs on several backends side by side: a few seconds, and a
turn's last generation is not overlapped with the next one's evaluation (`Run.advance` ends there)."""


def run_end_to_end(
    directory: str,
    generations: int = 1000,
    population: int = 100,
    duration: float = 10.0,
    workers: int | None = None,
    backend: Backend | None = None,
) -> EndToEndResult:
    """E1 of DESIGN §8: `generations` generations of `population` creatures x `duration` s, one pellet
    layout per creature, with the default frame policy and benchmark scoring, stored in a fresh database
    under `directory`, on `backend` (default: the CPU kernel on `workers` threads)."""
    (result,) = run_end_to_end_side_by_side(
        directory, [backend], generations, population, duration, workers, turn=generations
    )
    return result


def run_end_to_end_side_by_side(
    directory: str,
    backends: Sequence[Backend | None],
    generations: int = 1000,
    population: int = 100,
    duration: float = 10.0,
    workers: int | None = None,
    turn: int = E1_TURN,
) -> list[EndToEndResult]:
    """E1 (`run_end_to_end`) on each of `backends` (None: the CPU kernel on `workers` threads), the runs
    taking turns of `turn` generations: a machine whose speed drifts over minutes (a shared VM's does)
    slows each alike, so their times compare. Each run's wall time is the sum of its turns."""
    workers = workers or default_workers()
    # the first run's database is the E1 file `bench --api` reads
    paths = [Path(directory) / ("e1.db" if i == 0 else f"e1-{i}.db") for i in range(len(backends))]
    runs = [_EndToEndRun(path, population, duration, backend or CpuBackend(workers))
            for path, backend in zip(paths, backends, strict=True)]  # fmt: skip
    try:
        for done in range(0, generations, turn):
            for run in runs:
                run.advance(min(turn, generations - done))
    finally:
        for run in runs:
            run.close()
    return [run.result(workers) for run in runs]


class _EndToEndRun:
    """One E1 run in a fresh database, advanced turn by turn, adding up where its time went."""

    def __init__(self, path: Path, population: int, duration: float, backend: Backend) -> None:
        from evolab.config import EvolutionConfig
        from evolab.runner import Run

        self.path = path
        self.population = population
        self.duration = duration
        self.timed = TimedBackend(backend)
        cfg = EvolutionConfig.from_preset("default", population_size=population, trials=1, sim={"duration": duration})
        self.run = Run.create(cfg, path, seed=BENCH_SEED, backend=self.timed)
        self.generations = 0
        self.wall = 0.0
        self.store_seconds = 0.0
        self.ga_seconds = 0.0
        self.evaluation_seconds = 0.0  # packing, the kernel and reading its outputs

    def advance(self, generations: int) -> None:
        start = time.perf_counter()
        self.run.advance(generations, on_generation=self._report)
        self.wall += time.perf_counter() - start
        self.generations += generations

    def _report(self, r) -> None:
        self.store_seconds += r.store_seconds
        self.ga_seconds += r.stats.host_seconds
        self.evaluation_seconds += r.stats.sim_seconds

    def close(self) -> None:
        self.run.close()

    def result(self, workers: int) -> EndToEndResult:
        n = self.generations
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        return EndToEndResult(
            name="E1",
            generations=n,
            population=self.population,
            duration=self.duration,
            workers=workers,
            wall_seconds=self.wall,
            kernel_seconds=self.timed.seconds,
            store_seconds_per_generation=self.store_seconds / n,
            ga_seconds_per_generation=self.ga_seconds / n,
            pack_seconds_per_generation=(self.evaluation_seconds - self.timed.seconds) / n,
            host_share=1.0 - self.timed.seconds / self.wall,
            database_bytes=size,
            database_bytes_per_generation=size / n,
        )
