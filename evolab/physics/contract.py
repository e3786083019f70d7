"""The physics contract: what every backend takes, what it returns, and the rules it shares (DESIGN §4).

A backend is anything with a `name`, a `describe()` and a `run(batch, params, draws, record)` that
simulates a `PackedBatch` and returns `BatchOutputs` (Brax's per-backend `pipeline.init/step` in
spirit: one small seam, pure over arrays). Everything a backend must agree on lives here or in
`evolab.physics.constants`: the `sim` parameter vector, the pellet draws, the sub-step policy and the
output layout, so a creature's result means the same thing whichever backend computed it. A backend
that computes elsewhere (the cluster's) may also have `start(batch, params, draws, record)`, returning
`PendingOutputs` at once; callers go through `start_run`, which works for both kinds. A pending call gives
its scores first and its recordings by rows, so a caller that keeps a few replays fetches only theirs.

Every backend keeps, for every creature (DESIGN §4): (a) its result does not depend on its batch-mates;
(b) the same genome, seed and backend give bitwise-identical results; (c) no NaN or explosion goes
unreported; (d) a passive body neither gains energy nor crawls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Protocol, runtime_checkable

import numpy as np

from evolab.config import SimConfig
from evolab.physics import kernel_rules
from evolab.physics.constants import (
    FRAME_BODY,
    FRAME_MOTION,
    FRAME_WORLD,
    MAX_PELLETS,
    MODE_HYBRID,
    MODE_OFF,
    MODE_PURE,
    N_SIM_PARAMS,
    N_TERMS,
    P_ARENA,
    P_GRAVITY,
    P_GROUND_FRICTION,
    P_MAX_FREQUENCY,
    P_SENSOR_FRAME,
    P_W_MOVEMENT,
    P_W_PELLET,
    P_W_PROGRESS,
    P_W_REGRESSION,
    P_W_SPEED,
)
from evolab.physics.pack import PackedBatch

NEURAL_MODES = {"off": MODE_OFF, "hybrid": MODE_HYBRID, "pure": MODE_PURE}
SENSOR_FRAMES = {"world": FRAME_WORLD, "body": FRAME_BODY, "motion": FRAME_MOTION}


@dataclass(frozen=True, slots=True)
class SimParams:
    """Everything about a simulation that is not the creatures or the pellet draws, as a backend reads it.

    Attributes:
        sim: (N_SIM_PARAMS,) float64, indexed by the `P_*` constants (gravity, friction, arena, weights...).
        neural_mode: `MODE_OFF`, `MODE_HYBRID` or `MODE_PURE`.
        self_collision: whether a creature's nodes collide with each other.
        n_steps: control steps (60 Hz) of the rollout.
        n_frames: frames recorded at 15 FPS when recording (floor(15 D) + 1).
        min_substeps: the fewest integrator sub-steps per control step (`substeps` may give more).
        explicit_pellets: (k, 3) float64 pellet positions used in order; (1, 3) zeros when random.
        n_explicit: k, or -1 for pellets drawn from the `PelletDraws`.
    """

    sim: np.ndarray
    neural_mode: int
    self_collision: bool
    n_steps: int
    n_frames: int
    min_substeps: int
    explicit_pellets: np.ndarray
    n_explicit: int

    @classmethod
    def of(cls, cfg: SimConfig, pellets: np.ndarray | None = None) -> SimParams:
        """The parameters of `cfg`, with explicit pellet positions (already checked) or random ones."""
        sim = np.empty(N_SIM_PARAMS)
        sim[P_GRAVITY] = cfg.gravity
        sim[P_GROUND_FRICTION] = cfg.ground_friction
        sim[P_ARENA] = cfg.arena_size
        sim[P_MAX_FREQUENCY] = cfg.max_allowed_frequency
        sim[P_W_PELLET] = cfg.fitness.pellet
        sim[P_W_PROGRESS] = cfg.fitness.progress
        sim[P_W_REGRESSION] = cfg.fitness.regression
        sim[P_W_MOVEMENT] = cfg.fitness.movement
        sim[P_W_SPEED] = cfg.fitness.movement_reference_speed
        sim[P_SENSOR_FRAME] = SENSOR_FRAMES[cfg.sensor_frame]
        explicit = np.zeros((1, 3)) if pellets is None else np.ascontiguousarray(pellets, dtype=np.float64)
        return cls(
            sim=sim,
            neural_mode=NEURAL_MODES[cfg.neural_mode],
            self_collision=bool(cfg.self_collision),
            n_steps=cfg.n_steps,
            n_frames=cfg.n_frames,
            min_substeps=cfg.substeps,
            explicit_pellets=explicit,
            n_explicit=-1 if pellets is None else len(explicit),
        )


@dataclass(frozen=True, slots=True)
class PelletDraws:
    """The uniform draws pellets are placed from: creature c of the batch reads `rows[row_of[c]]`.

    Attributes:
        rows: (R, MAX_PELLETS, 2) float64 in [0, 1): each pellet's distance and angle draw.
        row_of: (B,) int64, the row of each creature of the batch a backend is given.
    """

    rows: np.ndarray
    row_of: np.ndarray

    def take(self, index: np.ndarray | slice) -> PelletDraws:
        """The draws of the sub-batch `batch.take(index)` (rows shared, not copied)."""
        return PelletDraws(self.rows, np.ascontiguousarray(self.row_of[index]))


def pellet_draws(batch: PackedBatch, cfg: SimConfig, seed: int, trials: int = 1) -> PelletDraws:
    """The pellet draws of the batch's `trials` replicas (B * trials creatures, trial-major: replica
    t * B + c is creature c in trial t, as `replicate` lays them out).

    "shared": one row per trial from `seed` for every creature (a fair comparison: common random numbers).
    "per_creature": rows per creature from (seed, the creature's id key), so they do not depend on the batch.
    Trial 0 draws exactly what a single evaluation draws, so one trial is the plain evaluation.
    """
    b = batch.size
    if cfg.pellet_mode == "shared":
        draws = np.random.default_rng(seed).random((trials, MAX_PELLETS, 2))
        return PelletDraws(draws, np.repeat(np.arange(trials, dtype=np.int64), b))
    per_creature = [np.random.default_rng([seed, int(key)]).random((trials, MAX_PELLETS, 2)) for key in batch.draw_keys]
    draws = np.ascontiguousarray(np.stack(per_creature, axis=1).reshape(trials * b, MAX_PELLETS, 2))
    return PelletDraws(draws, np.arange(trials * b, dtype=np.int64))


def replicate(batch: PackedBatch, trials: int) -> PackedBatch:
    """The batch repeated `trials` times, trial-major: one backend call evaluates every trial."""
    return batch if trials == 1 else batch.take(np.tile(np.arange(batch.size), trials))


def substeps(batch: PackedBatch, min_substeps: int) -> np.ndarray:
    """(B,) int64 integrator sub-steps per control step of each creature: at least `min_substeps`, and as
    many more as its stiffest node needs to stay stable (`kernel_rules.creature_substeps`). Every backend
    integrates with these, so they agree step for step."""
    return kernel_rules.batch_substeps(
        batch.n_nodes, batch.n_muscles, batch.node_params, batch.muscle_ends, batch.muscle_params, min_substeps
    )


def estimated_costs(batch: PackedBatch, steps: np.ndarray) -> np.ndarray:
    """(B,) int64 each creature's estimated cost per control step, in arbitrary units: a fixed part (its
    sensing, pellets and recording) and, per sub-step, its muscles, nodes and node pairs; its network per
    control step. Fitted to the CPU kernel's times for random creatures of every preset (about 6 % off for
    a creature, against 100 % for muscles and node pairs alone, which left out the fixed part)."""
    n = batch.n_nodes.astype(np.int64)
    m = batch.n_muscles.astype(np.int64)
    return 100 + steps * (4 * m + 5 * n + n * (n + 1) // 2) + 7 * m + batch.net_hidden * (m + 12)


def costliest_first(batch: PackedBatch, steps: np.ndarray) -> np.ndarray:
    """(B,) int64 the batch's creatures by descending `estimated_costs`, ties in batch order: the order
    backends hand creatures to their threads, so the costliest start first and similar ones run side by
    side. Results never depend on it."""
    return np.argsort(-estimated_costs(batch, steps), kind="stable").astype(np.int64)


@dataclass(frozen=True, slots=True)
class BatchOutputs:
    """What a backend returns for a batch of B creatures (row c is creature c of the batch it was given).

    Attributes:
        fitness: (B,) float64 final fitness, 0 when disqualified.
        pellets: (B,) int32 pellets collected.
        dq: (B,) int8 `DQ_NONE`, `DQ_FREQUENCY`, `DQ_NAN` or `DQ_EXPLOSION`.
        distance: (B,) float64 path length of the centre of mass over the control steps.
        net_displacement: (B,) float64 spawn-to-end distance of the centre of mass (0 when disqualified).
        terms: (B, N_TERMS) float64 pellets, progress, regression (subtracted), movement.
        pellet_pos: (B, MAX_PELLETS, 3) float64 positions of the pellets spawned, 0 after `n_spawned`.
        pellet_spawn: (B, MAX_PELLETS) int32 control step each pellet appeared, -1 never.
        pellet_collect: (B, MAX_PELLETS) int32 control step each pellet was collected, -1 never.
        pellet_init: (B, MAX_PELLETS) float64 edge distance to each pellet when it appeared.
        n_spawned: (B,) int32 pellets spawned.
        frames: (B, n_frames, N, 3) float32 node positions at 15 FPS when recorded (nodes past a creature's
            count are 0); (0, 0, 0, 3) when not.
        fitness_over_time: (B, n_frames) float64 fitness at each frame when recorded; (0, 0) when not.
        substeps: (B,) int64 sub-steps per control step used (`substeps`).
    """

    fitness: np.ndarray
    pellets: np.ndarray
    dq: np.ndarray
    distance: np.ndarray
    net_displacement: np.ndarray
    terms: np.ndarray
    pellet_pos: np.ndarray
    pellet_spawn: np.ndarray
    pellet_collect: np.ndarray
    pellet_init: np.ndarray
    n_spawned: np.ndarray
    frames: np.ndarray
    fitness_over_time: np.ndarray
    substeps: np.ndarray

    @classmethod
    def zeros(cls, b: int, n_frames: int, max_nodes: int, record: bool, substeps: np.ndarray) -> BatchOutputs:
        """Outputs for B creatures as a backend starts them: nothing collected, no pellet spawned."""
        return cls(
            fitness=np.zeros(b),
            pellets=np.zeros(b, dtype=np.int32),
            dq=np.zeros(b, dtype=np.int8),
            distance=np.zeros(b),
            net_displacement=np.zeros(b),
            terms=np.zeros((b, N_TERMS)),
            pellet_pos=np.zeros((b, MAX_PELLETS, 3)),
            pellet_spawn=np.full((b, MAX_PELLETS), -1, dtype=np.int32),
            pellet_collect=np.full((b, MAX_PELLETS), -1, dtype=np.int32),
            pellet_init=np.zeros((b, MAX_PELLETS)),
            n_spawned=np.zeros(b, dtype=np.int32),
            frames=np.zeros((b, n_frames, max_nodes, 3) if record else (0, 0, 0, 3), dtype=np.float32),
            fitness_over_time=np.zeros((b, n_frames) if record else (0, 0)),
            substeps=np.asarray(substeps, dtype=np.int64),
        )

    @property
    def size(self) -> int:
        return int(self.fitness.shape[0])

    @property
    def recorded(self) -> bool:
        return self.frames.shape[0] == self.size > 0

    def without_recordings(self) -> BatchOutputs:
        """These outputs as a call that did not record returns them (frames and fitness over time empty)."""
        return replace(self, frames=self.frames[:0, :0, :0], fitness_over_time=self.fitness_over_time[:0, :0])

    def take(self, index: np.ndarray | slice) -> BatchOutputs:
        """The outputs of the creatures at `index`, in that order."""
        recorded = self.recorded
        return BatchOutputs(
            **{
                f.name: np.ascontiguousarray(value[index]) if recorded or f.name not in _RECORDED else value
                for f in fields(self)
                for value in (getattr(self, f.name),)
            }
        )

    @classmethod
    def concat(cls, parts: Sequence[BatchOutputs]) -> BatchOutputs:
        """The outputs of several batches, one after another (frames padded to the widest body)."""
        if not parts:
            raise ValueError("BatchOutputs.concat needs at least one part")
        recorded = all(p.recorded for p in parts)
        joined = {
            f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls) if f.name not in _RECORDED
        }
        if recorded:
            first = parts[0].frames
            frames = np.zeros(
                (sum(len(p.frames) for p in parts), first.shape[1], max(p.frames.shape[2] for p in parts), 3),
                dtype=first.dtype,
            )
            start = 0
            for p in parts:  # copied into place: np.pad then np.concatenate copies every frame twice
                frames[start : start + len(p.frames), :, : p.frames.shape[2]] = p.frames
                start += len(p.frames)
            joined["frames"] = frames
            joined["fitness_over_time"] = np.concatenate([p.fitness_over_time for p in parts])
        else:
            joined["frames"] = parts[0].frames[:0]
            joined["fitness_over_time"] = parts[0].fitness_over_time[:0]
        return cls(**joined)


_RECORDED = ("frames", "fitness_over_time")


@runtime_checkable
class Backend(Protocol):
    """Something that simulates packed batches: the one seam between evolab and its physics.

    `run` simulates creature c of `batch` with `params` on the pellets of `draws.rows[draws.row_of[c]]`
    (or `params.explicit_pellets`), integrating with `substeps(batch, params.min_substeps)`, and returns
    its outputs in row c; with `record` it also fills the frames and fitness over time. It must keep the
    invariants (a)-(d) above, and must not keep state between calls that changes a result.
    """

    name: str
    """The backend's name as runs record it: "cpu", "cuda" or "torch"."""

    def describe(self) -> str:
        """One line for people: the backend and the device it runs on."""
        ...

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        """Simulate every creature of `batch` for `params.n_steps` control steps."""
        ...


class PendingRows(Protocol):
    """Some rows' outputs on their way (`PendingOutputs.fetch_rows`)."""

    def result(self) -> BatchOutputs:
        """The rows' outputs, recordings included, waiting for them if need be."""
        ...


@dataclass(frozen=True, slots=True)
class FetchedRows:
    """Rows' outputs already at hand (a `PendingRows` with nothing to wait for)."""

    outputs: BatchOutputs

    def result(self) -> BatchOutputs:
        return self.outputs


class PendingOutputs(Protocol):
    """A backend call under way (`start_run`): its outputs once they are asked for, or given up.

    A call that records may hand out its scores before its recordings (frames and fitness over time),
    which a caller then fetches for the rows it keeps: a run keeps a quarter of its creatures' replays,
    and a cluster ships only those."""

    def result(self) -> BatchOutputs:
        """The call's outputs, recordings included, waiting for them if need be (raises what the call
        raised)."""
        ...

    def scores(self) -> BatchOutputs:
        """The call's outputs, possibly without their recordings (`recorded` False even for a call that
        records): all a caller needs to rank the creatures, as soon as it is known."""
        ...

    def fetch_rows(self, rows: np.ndarray) -> PendingRows:
        """Begin fetching the outputs of `rows` (in that order), recordings included, once `scores` has
        answered: the caller works while they travel."""
        ...

    def cancel(self) -> None:
        """Give the call up: its outputs will not be asked for."""
        ...


class DeferredRun:
    """A call on a backend that computes in the caller's own threads: made when its outputs are first
    asked for, so what the caller does before that runs first, never alongside the kernel's threads."""

    def __init__(self, backend: Backend, arguments: tuple[PackedBatch, SimParams, PelletDraws, bool]) -> None:
        self.backend = backend
        self.arguments = arguments
        self._outputs: BatchOutputs | None = None

    def result(self) -> BatchOutputs:
        if self._outputs is None:
            self._outputs = self.backend.run(*self.arguments)
        return self._outputs

    def scores(self) -> BatchOutputs:
        return self.result()

    def fetch_rows(self, rows: np.ndarray) -> PendingRows:
        return FetchedRows(self.result().take(rows))

    def cancel(self) -> None:
        pass


def start_run(
    backend: Backend, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool
) -> PendingOutputs:
    """Begin `backend.run(batch, params, draws, record)`. A backend that computes elsewhere (one with a
    `start` method of the same arguments, as the cluster's) starts now and the caller works meanwhile, as
    a run writes one generation while the next is evaluated; any other computes when the result is asked
    for. The outputs are the same either way."""
    start = getattr(backend, "start", None)
    if start is None:
        return DeferredRun(backend, (batch, params, draws, record))
    return start(batch, params, draws, record)


class WrappedBackend:
    """A backend that hands every call to `inner`, under its name: the base of wrappers that time, lock or
    watch a backend's calls without changing what it computes (a run records the inner backend's name)."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name

    def describe(self) -> str:
        return self.inner.describe()

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        return self.inner.run(batch, params, draws, record)
