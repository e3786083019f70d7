"""Replays of any stored creature: its stored frames, or an exact re-simulation when none were kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from evolab.errors import CreatureNotFound, GenerationNotStored
from evolab.physics.backends import make_backend
from evolab.physics.contract import Backend
from evolab.physics.simulate import simulate
from evolab.runner.analysis import pellet_events
from evolab.storage import GenerationStats, RunInfo, Store
from evolab.storage.original.frames import recorded_times


@dataclass(frozen=True, slots=True, eq=False)
class Replay:
    """A creature's motion in one generation.

    Attributes:
        frames: (F, n_nodes, 3) float32 node positions at 15 FPS (or at `times`).
        fitness_over_time: (F,) fitness at each frame.
        pellets: pellet events (position, spawned_frame, collected_frame, initial_distance).
        source: "stored" (kept by the frame policy) or "simulated" (re-simulated with the generation's seed).
        times: (F,) seconds of each frame when they are not 1/15 s apart (frames the original app recorded
            on its own schedule, imported), else None.
    """

    creature_id: str
    generation: int
    frames: np.ndarray
    fitness_over_time: np.ndarray
    pellets: tuple[dict, ...]
    source: Literal["stored", "simulated"]
    times: np.ndarray | None = None


def replay_creature(
    store: Store, run_id: str, generation: int, creature_id: str, *, backend: Backend | None = None
) -> Replay:
    """A creature's replay in one generation, from storage or by deterministic re-simulation on
    `backend` (default: the backend the run records, on which the re-simulation is exact).

    Raises:
        BackendUnavailable: the run's backend cannot run here (and none was given).
        StorageError: unknown run or creature, or a generation that is not stored or that the creature
            was not part of.
    """
    stats = store.generation(run_id, generation)
    if stats is None:
        raise GenerationNotStored(f"generation {generation} of run {run_id!r} is not stored")
    return replay_in(store, store.get_run(run_id), stats, creature_id, backend=backend)


def replay_in(
    store: Store, info: RunInfo, stats: GenerationStats, creature_id: str, *, backend: Backend | None = None
) -> Replay:
    """`replay_creature` for a caller that has read the run and the generation's statistics already (the
    server, which read them to answer from its cache): stored frames cost one read.

    Raises:
        BackendUnavailable: the run's backend cannot run here (and none was given).
        CreatureNotFound: the creature was not part of the generation.
    """
    run_id, generation = info.id, stats.generation
    stored = store.frames(run_id, generation, creature_id)
    if stored is not None:
        times = None
        if info.origin is not None:  # imported: played at the times its source recorded them
            times = recorded_times(info.origin.source, info.config.sim.duration, len(stored.frames))
        return Replay(creature_id, generation, stored.frames, stored.fitness_over_time, stored.pellets, "stored", times)
    if not any(r.generation == generation for r in store.creature_results(run_id, creature_id)):
        raise CreatureNotFound(f"creature {creature_id!r} was not in generation {generation} of run {run_id!r}")
    genome = store.genome(run_id, creature_id)
    physics = backend or make_backend(info.backend)
    result = simulate([genome], info.config.sim, seed=stats.sim_seed, record=True, backend=physics)[0]
    assert result.frames is not None
    assert result.fitness_over_time is not None
    return Replay(
        creature_id,
        generation,
        result.frames,
        result.fitness_over_time,
        pellet_events(result.pellet_table),
        "simulated",
    )
