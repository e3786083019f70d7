"""The CPU backend: the compiled numba kernel (`kernel_cpu`), one thread per creature on every core."""

from __future__ import annotations

import platform

import numba

from evolab.physics import kernel_cpu
from evolab.physics.contract import BatchOutputs, PelletDraws, SimParams, costliest_first, substeps
from evolab.physics.pack import PackedBatch


def cpu_name() -> str:
    """The processor's model name ("AMD EPYC 9654 96-Core Processor"), or its architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def default_workers() -> int:
    """Worker threads used when none are asked for: every core numba was started with."""
    return int(numba.config.NUMBA_NUM_THREADS)


class CpuBackend:
    """Simulates a batch with the numba kernel on `workers` threads (default: all cores).

    Each creature is simulated start to finish by one thread in a fixed order of operations, so its
    result depends neither on its batch-mates nor on the thread count.
    """

    name = "cpu"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = min(workers or default_workers(), default_workers())

    def describe(self) -> str:
        return f"cpu ({cpu_name()}, {self.workers} thread{'s' if self.workers > 1 else ''})"

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        numba.set_num_threads(self.workers)
        steps = substeps(batch, params.min_substeps)
        order = costliest_first(batch, steps)  # the cheap creatures fill the gaps at the end (claimed, not split)
        out = BatchOutputs.zeros(batch.size, params.n_frames, batch.node_params.shape[1], record, steps)
        kernel_cpu.simulate_batch_kernel(
            order, self.workers, steps,
            batch.n_nodes, batch.n_muscles, batch.node_params, batch.muscle_ends, batch.muscle_params,
            batch.frequency_multiplier, batch.net_hidden, batch.net_activation, batch.net_weights, draws.rows,
            draws.row_of, params.sim, params.neural_mode, params.self_collision, params.n_steps, params.n_frames,
            params.explicit_pellets, params.n_explicit, record,
            out.fitness, out.pellets, out.dq, out.distance, out.net_displacement, out.terms,
            out.pellet_pos, out.pellet_spawn, out.pellet_collect, out.pellet_init, out.n_spawned,
            out.frames, out.fitness_over_time,
        )  # fmt: skip
        return out
