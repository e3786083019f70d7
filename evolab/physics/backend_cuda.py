"""The CUDA backend: the whole rollout of a batch in one kernel launch (`kernel_cuda`), one thread per creature.

It needs numba-cuda (`pip install 'evolab[cuda]'`) and an NVIDIA GPU with its driver; `create()` says
plainly when either is missing. Under numba's CUDA simulator (`NUMBA_ENABLE_CUDASIM=1`, set before numba.cuda
is imported) it runs on the CPU and gives exactly the CPU backend's results, which is how it is tested
without a GPU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

from evolab.errors import BackendUnavailable
from evolab.physics import kernel_cuda
from evolab.physics.constants import N_TERMS
from evolab.physics.contract import BatchOutputs, PelletDraws, SimParams, costliest_first, substeps
from evolab.physics.pack import PackedBatch

_HINT = "install 'evolab[cuda]' on a machine with an NVIDIA GPU and driver, or use the 'cpu' backend"


def unavailable_reason() -> str | None:
    """Why the CUDA backend cannot run here, in a few words, or None when it can."""
    if getattr(cuda, "implementation", None) != "NVIDIA":
        return "numba-cuda is not installed; numba's own CUDA target is not supported"
    if kernel_cuda.simulated():
        return None
    if cuda.is_available():
        return None
    error = cuda.cuda_error()
    detail = " ".join(str(error).split()) if error is not None else ""
    return detail or "no CUDA device found"


class CudaBackend:
    """Simulates a batch on the GPU, one thread per creature, the whole rollout in one launch.

    Every creature runs `simulate_creature`, the CPU kernel's own code, in its fixed order of operations,
    so its result depends neither on its batch-mates nor on the launch shape. GPU results are bit-exact
    run to run, but not equal to the CPU backend's (the GPU's maths library rounds differently); under
    the simulator they equal the CPU backend's exactly.
    """

    name = "cuda"

    @classmethod
    def create(cls) -> CudaBackend:
        """The backend, if numba-cuda and a usable GPU (or the simulator) are there.

        Raises:
            BackendUnavailable: numba-cuda is missing, or no CUDA GPU can be used.
        """
        reason = unavailable_reason()
        if reason is not None:
            raise BackendUnavailable(f"backend 'cuda': no usable CUDA GPU here ({reason})", hint=_HINT)
        return cls()

    def describe(self) -> str:
        """ "cuda (<the GPU's name>)", or "cuda (numba CUDA simulator)"."""
        if kernel_cuda.simulated():
            return "cuda (numba CUDA simulator)"
        name = cuda.get_current_device().name
        return f"cuda ({name.decode() if isinstance(name, bytes) else name})"

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        """Simulate every creature of `batch` in one kernel launch and copy the outputs back to the host."""
        steps = substeps(batch, params.min_substeps)
        # neighbouring threads run in lockstep (a warp): creatures of similar cost side by side idle less
        order = costliest_first(batch, steps)
        out = BatchOutputs.zeros(batch.size, params.n_frames, batch.node_params.shape[1], record, steps)
        if batch.size == 0:  # a launch needs at least one block
            return out
        outputs = (
            out.fitness, out.pellets, out.dq, out.distance, out.net_displacement, out.terms,
            out.pellet_pos, out.pellet_spawn, out.pellet_collect, out.pellet_init, out.n_spawned,
            out.frames, out.fitness_over_time,
        )  # fmt: skip
        inputs = (
            order, steps,
            batch.n_nodes, batch.n_muscles, batch.node_params, batch.muscle_ends, batch.muscle_params,
            batch.frequency_multiplier, batch.net_hidden, batch.net_activation, batch.net_weights, draws.rows,
            draws.row_of, params.sim,
        )  # fmt: skip
        d_inputs = [cuda.to_device(np.ascontiguousarray(a)) for a in inputs]
        d_explicit = cuda.to_device(np.ascontiguousarray(params.explicit_pellets))
        # outputs start as `BatchOutputs.zeros` has them (pellet steps -1), so they are copied there too
        d_outputs = [cuda.to_device(a) for a in outputs]
        d_scratch = _scratch(batch)
        threads = kernel_cuda.THREADS_PER_BLOCK
        kernel_cuda.simulate_batch_cuda[math.ceil(batch.size / threads), threads](
            *d_inputs, params.neural_mode, params.self_collision, params.n_steps, params.n_frames, d_explicit,
            params.n_explicit, record, *d_scratch, *d_outputs,
        )  # fmt: skip
        for host, device in zip(outputs, d_outputs, strict=True):
            device.copy_to_host(host)
        return out


def _scratch(batch: PackedBatch) -> list[Any]:
    """Each thread's working arrays, one row per thread, in `simulate_creature`'s argument order (the shapes
    the CPU kernel gives each of its workers); allocated once per launch, never in the creature code."""
    b = batch.size
    max_n = batch.node_params.shape[1]
    max_m = batch.muscle_params.shape[1]
    max_h = max(1, int(batch.net_hidden.max())) if b > 0 else 1
    shapes = (
        (max_n, 3), (max_n, 3), (max_n, 3), (max_n,), (max_n,), (max_n,),  # pos, vel, acc, mass, 1/mass, radius
        (max_m,), (max_m,), (max_m,), (max_m,), (max_m,), (max_m,),  # rest base/now, phase and rotation phasors
        (8,), (max_h,), (max_m,), (3,), (3,), (N_TERMS,),  # sensors, hidden, outputs, com, pellet, terms
    )  # fmt: skip
    return [cuda.device_array((b, *shape), dtype=np.float64) for shape in shapes]
