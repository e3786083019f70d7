"""The original app's compact frames (`[time, x1, y1, z1, x2, ...]`, 3 decimals, reference §6.2) and
pellet data as evolab stored replays, without changing a value.

Positions are stored on a 0.001 grid (each replay carries its quanta), so every stored coordinate comes
back as it was in the dump. What evolab's replays hold and the app did not store is filled in and said
so: the fitness curve is 0 up to the last frame, which holds the stored fitness; a pellet appears on the
frame the previous one was collected (the app's rule, reference §3.1) and its initial distance is the
ground distance from the creature's centre of mass on that frame. Frame times are checked, not stored:
the app recorded on a schedule of its own (4 or 5 steps a frame, §3.2) that follows from the run's
duration (`original_frame_times`), and a replay of an imported run is played at those times
(`recorded_times`), not at evolab's steady 15 FPS.
"""

from __future__ import annotations

import numpy as np

from evolab.genome import Genome
from evolab.genome.genes import N_SIZE
from evolab.storage.frame_codec import compress_raw, raw_replays
from evolab.storage.original.dump import CompactResult, DumpError
from evolab.storage.records import ReplayRow

REPLAY_REACH = 1e6
"""Largest coordinate a replay keeps (metres from the origin). Exploded creatures in the app's dumps fly to
1e82 and beyond, which neither a replay's float32 frames nor its integer grid can hold; their frames
are not kept as replays (their results and genomes are), and the import says how many."""
QUANTA = (0.001, 0.001, 0.001)
FITNESS_QUANTUM = 0.001
_MAX_FRAMES = 65_535  # a replay's frame count is stored in 16 bits


def original_frame_times(duration: float, frame_rate: float = 15.0) -> list[float]:
    """The times (3 decimals) at which the original app recorded frames in a simulation of `duration`
    seconds: after the first 1/60 s step, then whenever the accumulated time has moved 1/15 s on (a
    floating-point sum, hence gaps of 4 or 5 steps; reference §3.2)."""
    times: list[float] = []
    t, last = 0.0, 0.0
    for step in range(round(duration * 60)):
        t += 1 / 60
        if step == 0 or t - last >= 1 / frame_rate:
            times.append(round(t, 3))
            last = t
    return times


ORIGINAL_APP = "original-app"
"""The `RunOrigin.source` of runs imported from the original app."""


def recorded_times(source: str, duration: float, n_frames: int) -> np.ndarray | None:
    """(n_frames,) seconds of each stored frame of a run imported from `source`, when that source recorded
    on a schedule of its own (the original app: `original_frame_times`); None for evolab's 15 FPS."""
    if source != ORIGINAL_APP:
        return None
    return np.asarray(original_frame_times(duration)[:n_frames], dtype=np.float64)


def frame_positions(result: CompactResult, n_nodes: int, schedule: list[float], where: str) -> np.ndarray:
    """(F, n_nodes, 3) float64 positions of a stored result's compact frames, whose times must be the app's
    recording `schedule` (`original_frame_times` of the run's duration), as the replay will be played.

    Raises:
        DumpError: a frame without 1 + 3 numbers per node of its genome, a frame off the schedule, or too
            many frames.
    """
    width = 1 + 3 * n_nodes
    for k, frame in enumerate(result.frames):
        if len(frame) != width:
            raise DumpError(
                f"{where}.frames[{k}]: expected {width} numbers (time, then x, y, z of each of {n_nodes} nodes), "
                f"got {len(frame)}"
            )
    if len(result.frames) > _MAX_FRAMES:
        raise DumpError(f"{where}.frames: {len(result.frames)} frames, more than a replay holds ({_MAX_FRAMES})")
    table = np.array(result.frames, dtype=np.float64).reshape(len(result.frames), width)
    if len(table) > len(schedule):
        raise DumpError(f"{where}.frames: {len(table)} frames, more than the app records in its run ({len(schedule)})")
    not_simulated = len(table) == 1 and table[0, 0] == 0  # the app's one frame of a creature it refused
    off = np.flatnonzero(np.abs(table[:, 0] - schedule[: len(table)]) > 0.0015)  # times have 3 decimals
    if off.size and not not_simulated:
        k = int(off[0])
        raise DumpError(
            f"{where}.frames[{k}][0]: time {table[k, 0]:g} s is not the app's recording time of frame {k} "
            f"({schedule[k]:g} s)"
        )
    return table[:, 1:].reshape(-1, n_nodes, 3)


def fits_a_replay(positions: np.ndarray) -> bool:
    """Whether every coordinate is within `REPLAY_REACH` (float32 keeps 3 decimals below 4096)."""
    return bool(np.all(np.abs(positions) <= REPLAY_REACH))


def pellet_events(result: CompactResult, positions: np.ndarray, genome: Genome, where: str) -> tuple[dict, ...]:
    """A result's pellets as evolab's replay pellet events.

    Raises:
        DumpError: a pellet collected before the one before it, or after the last frame.
    """
    weights = genome.node_params[:, N_SIZE] ** 3  # the app's centre of mass is mass-weighted (§3.1)
    events, spawned = [], 0
    for k, pellet in enumerate(result.pelletData):
        collected = pellet.collectedAtFrame
        if collected is not None and not spawned <= collected < max(len(positions), 1):
            raise DumpError(
                f"{where}.pelletData[{k}].collectedAtFrame: {collected} is not between the frame it appeared "
                f"({spawned}) and the last frame ({len(positions) - 1})"
            )
        xyz = [pellet.position.x, pellet.position.y, pellet.position.z]
        distance = 0.0
        if len(positions):
            com = (positions[min(spawned, len(positions) - 1)] * weights[:, None]).sum(axis=0) / weights.sum()
            distance = round(float(np.hypot(xyz[0] - com[0], xyz[2] - com[2])), 3)
        events.append(
            {"position": xyz, "spawned_frame": spawned, "collected_frame": collected, "initial_distance": distance}
        )
        if collected is not None:
            spawned = collected
    return tuple(events)


def replay_row(
    generation: int, creature_id: str, reason: str, positions: np.ndarray, fitness: float, pellets: tuple[dict, ...]
) -> ReplayRow:
    """A stored replay of (F, n, 3) positions on the 0.001 grid, in the export document's form."""
    curve = np.zeros(len(positions))
    curve[-1] = fitness
    raw = raw_replays([(positions, curve)], quanta=QUANTA, fitness_quantum=FITNESS_QUANTUM)[0]
    frames_blob, fitness_blob = compress_raw(raw)
    return ReplayRow(generation, creature_id, reason, frames_blob, fitness_blob, pellets)
