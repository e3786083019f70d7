"""`simulate`: pack genomes, run the kernel, and unpack one `SimResult` per creature.

A pure function of its arguments (Brax-style): the same genomes, config and seed give bitwise-identical
results on the same backend, whatever the batch composition or the number of worker threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba.extending import register_jitable

from evolab.config import SimConfig
from evolab.errors import ConfigError
from evolab.genome.model import Genome
from evolab.physics import constants
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import (
    Backend,
    BatchOutputs,
    PendingOutputs,
    SimParams,
    pellet_draws,
    replicate,
    start_run,
)
from evolab.physics.pack import PackedBatch, pack_batch

DISQUALIFICATION_REASONS = {
    constants.DQ_FREQUENCY: "frequency_exceeded",
    constants.DQ_NAN: "nan_position",
    constants.DQ_EXPLOSION: "physics_explosion",
}


@dataclass(frozen=True, slots=True)
class FitnessTerms:
    """The final fitness split into its terms (fitness = pellets + progress - regression + movement, >= 0)."""

    pellets: float
    progress: float
    regression: float
    movement: float


@dataclass(frozen=True, slots=True)
class PelletRecord:
    """One spawned pellet. Frames index the 15 FPS recording; steps the 60 Hz control steps."""

    position: tuple[float, float, float]
    spawned_step: int
    collected_step: int | None
    initial_distance: float

    @property
    def spawned_frame(self) -> int:
        """First frame at which the pellet is visible."""
        return frame_of_step(self.spawned_step)

    @property
    def collected_frame(self) -> int | None:
        """First frame at which the pellet is gone, or None if it was never collected."""
        return None if self.collected_step is None else frame_of_step(self.collected_step)


@dataclass(frozen=True, slots=True, eq=False)
class SimResult:
    """The outcome of simulating one creature.

    Attributes:
        genome_id: id of the simulated genome.
        fitness: final fitness (0 when disqualified).
        pellets_collected: pellets touched.
        disqualified: None, or "frequency_exceeded", "nan_position", "physics_explosion".
        distance_traveled: 3D path length of the centre of mass over all control steps (units).
        net_displacement: 3D distance from the spawn centre of mass to the final one (units).
        terms: the final fitness term by term.
        pellets: every pellet spawned, in order (made on first use from `pellet_table`).
        frames: (floor(15 D) + 1, n_nodes, 3) float32 node positions at 15 FPS, or None unrecorded.
        fitness_over_time: (frames,) float64 fitness at each frame, or None unrecorded.
        seed: the simulation seed.
        substeps: integrator sub-steps per control step used for this creature.
    """

    genome_id: str
    fitness: float
    pellets_collected: int
    disqualified: str | None
    distance_traveled: float
    net_displacement: float
    terms: FitnessTerms
    pellet_table: np.ndarray
    """(k, 6) float64 per spawned pellet: x, y, z, spawned step, collected step (-1: never), initial distance."""
    frames: np.ndarray | None
    fitness_over_time: np.ndarray | None
    seed: int
    substeps: int

    @property
    def pellets(self) -> tuple[PelletRecord, ...]:
        """Every pellet spawned, in order."""
        return tuple(
            PelletRecord(
                position=(x, y, z),
                spawned_step=int(spawned),
                collected_step=None if collected < 0 else int(collected),
                initial_distance=distance,
            )
            for x, y, z, spawned, collected, distance in self.pellet_table.tolist()
        )


def run_batch(
    batch: PackedBatch,
    cfg: SimConfig,
    seed: int,
    *,
    trials: int = 1,
    record: bool = False,
    pellets: np.ndarray | None = None,
    workers: int | None = None,
    backend: Backend | None = None,
) -> BatchOutputs:
    """Simulate a packed batch on `backend` (default: the CPU kernel on `workers` threads) and return its
    raw outputs.

    With `trials` > 1 every creature is simulated on `trials` pellet layouts in the same call; the outputs
    then have B * trials rows, trial-major (row t * B + c is creature c on layout t; `pellet_draws`).
    """
    return start_batch(
        batch, cfg, seed, trials=trials, record=record, pellets=pellets, backend=backend or CpuBackend(workers)
    ).result()


def start_batch(
    batch: PackedBatch,
    cfg: SimConfig,
    seed: int,
    *,
    backend: Backend,
    trials: int = 1,
    record: bool = False,
    pellets: np.ndarray | None = None,
) -> PendingOutputs:
    """`run_batch` begun (`start_run`): on a backend that computes elsewhere the caller works meanwhile."""
    draws = pellet_draws(batch, cfg, seed, trials)
    return start_run(backend, replicate(batch, trials), SimParams.of(cfg, pellets), draws, record)


def trial_mean(rows: np.ndarray, trials: int) -> np.ndarray:
    """(B,) each creature's mean over its trial-major rows (as `run_batch` returns them), added trial by
    trial: a creature's mean never depends on its batch-mates, as its rows do not (DESIGN §4 (a));
    numpy's reductions along an axis may add in an order that depends on the array's width."""
    by_trial = np.asarray(rows, dtype=np.float64).reshape(trials, -1)
    total = by_trial[0].copy()
    for row in by_trial[1:]:
        total += row
    return total / trials


def trial_std(rows: np.ndarray, trials: int) -> np.ndarray:
    """(B,) each creature's standard deviation over its trial-major rows, computed as `trial_mean` is."""
    deviations = np.asarray(rows, dtype=np.float64).reshape(trials, -1) - trial_mean(rows, trials)
    return np.sqrt(trial_mean(deviations * deviations, trials))


def _check_pellets(pellets: Sequence[Sequence[float]] | np.ndarray | None) -> np.ndarray | None:
    if pellets is None:
        return None
    arr = np.asarray(pellets, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3 or not 1 <= len(arr) <= constants.MAX_PELLETS:
        raise ConfigError(f"pellets: expected 1 to {constants.MAX_PELLETS} (x, y, z) positions (got shape {arr.shape})")
    if not np.isfinite(arr).all():
        raise ConfigError("pellets: positions must be finite")
    return arr


def simulate(
    genomes: Sequence[Genome],
    cfg: SimConfig | None = None,
    seed: int = 0,
    *,
    record: bool = False,
    pellets: Sequence[Sequence[float]] | np.ndarray | None = None,
    workers: int | None = None,
    trials: int = 1,
    backend: Backend | None = None,
) -> list[SimResult]:
    """Simulate creatures, each in its own world, and return their results in input order.

    With `trials` > 1 each creature is simulated on that many pellet layouts drawn from `seed`, in one
    kernel call, and the results are trial-major: `trials` * len(genomes) of them, result t * B + c being
    creature c on layout t (layout 0 is the one a single evaluation with `seed` uses).

    Args:
        genomes: the creatures.
        cfg: physics, pellets, fitness weights and neural mode; defaults when None.
        seed: per-evaluation seed of the pellet draws.
        record: also return frames at 15 FPS and fitness over time.
        pellets: explicit pellet positions used in order instead of random ones (scenarios, tests).
        workers: kernel threads of the default CPU backend (default: all cores).
        trials: pellet layouts per creature (ignored with explicit `pellets`: there is one layout).
        backend: what runs the physics (`evolab.physics.backends.make_backend`); the CPU kernel by default.

    Raises:
        ConfigError: bad seed, pellets, worker count or trials.
    """
    cfg = cfg or SimConfig()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed: expected a non-negative integer (got {seed!r})")
    if workers is not None and workers < 1:
        raise ConfigError(f"workers: expected at least 1 (got {workers})")
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ConfigError(f"trials: expected a positive integer (got {trials!r})")
    if not genomes:
        return []
    explicit = _check_pellets(pellets)
    trials = 1 if explicit is not None else int(trials)
    out = run_batch(
        pack_batch(genomes), cfg, int(seed), trials=trials, record=record, pellets=explicit, workers=workers,
        backend=backend,
    )  # fmt: skip
    return unpack_results(list(genomes) * trials, out, int(seed), record)


def unpack_results(genomes: Sequence[Genome], out: BatchOutputs, seed: int, record: bool) -> list[SimResult]:
    """One `SimResult` per genome from a batch's raw outputs."""
    table = pellet_tables(out)
    if record:  # results take views of the batch's arrays: read-only, so results stay immutable
        out.frames.flags.writeable = False
        out.fitness_over_time.flags.writeable = False
    terms = out.terms.tolist()
    fitness = out.fitness.tolist()
    pellets = out.pellets.tolist()
    dq = out.dq.tolist()
    distance = out.distance.tolist()
    displacement = out.net_displacement.tolist()
    spawned = out.n_spawned.tolist()
    substeps = out.substeps.tolist()
    results = []
    for c, genome in enumerate(genomes):
        results.append(
            SimResult(
                genome_id=genome.id,
                fitness=fitness[c],
                pellets_collected=pellets[c],
                disqualified=DISQUALIFICATION_REASONS.get(dq[c]),
                distance_traveled=distance[c],
                net_displacement=displacement[c],
                terms=FitnessTerms(*terms[c]),
                pellet_table=table[c, : spawned[c]],
                frames=out.frames[c, :, : genome.n_nodes] if record else None,  # views: no per-creature copies
                fitness_over_time=out.fitness_over_time[c] if record else None,
                seed=seed,
                substeps=substeps[c],
            )
        )
    return results


def pellet_tables(out: BatchOutputs) -> np.ndarray:
    """(B, MAX_PELLETS, 6) read-only: each creature's pellets as rows of x, y, z, spawn step, collect step
    (-1: never) and initial distance; the first `out.n_spawned[c]` rows of creature c are real."""
    table = np.concatenate(
        [out.pellet_pos, out.pellet_spawn[..., None], out.pellet_collect[..., None], out.pellet_init[..., None]], axis=2
    )
    table.flags.writeable = False
    return table


@register_jitable  # compiled code (pellet rows) calls it too
def frame_of_step(step: int) -> int:
    """The first recorded frame at or after a control step (frames are every `STEPS_PER_FRAME` steps)."""
    return -(-step // constants.STEPS_PER_FRAME)


def frame_times(n_frames: int) -> np.ndarray:
    """(n_frames,) time in seconds of each frame: k / 15."""
    return np.arange(n_frames) / (60.0 / constants.STEPS_PER_FRAME)


__all__ = ["FitnessTerms", "PelletRecord", "SimResult", "frame_times", "simulate"]
