"""The CUDA simulation kernel: one launch simulates a whole `PackedBatch`, one GPU thread per creature.

Thread t simulates creature `order[t]` start to finish by calling `kernel_creature.simulate_creature`, the
very function the CPU kernel calls: numba-cuda compiles an `@njit` function called from a `@cuda.jit`
kernel as a device function ("JIT Function CPU-GPU Compatibility"), so both targets run one source. The
host allocates every array, scratch included (one row per thread), so the creature code allocates nothing.

numba's CUDA simulator (`NUMBA_ENABLE_CUDASIM=1`) runs a kernel as Python on fake device arrays, and cannot
call `@njit` code with them (numba issue #7494). Under the simulator only, the kernel therefore calls
`simulate_creature` through `_host_call`, which hands the compiled CPU function plain numpy views of the
fake arrays: the simulated backend then computes exactly what the CPU backend computes, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import cuda

from evolab.physics.kernel_creature import simulate_creature

THREADS_PER_BLOCK = 64
"""Threads of a block: few, since each thread is a whole creature with many registers."""


def simulated() -> bool:
    """Whether numba.cuda is numba's CUDA simulator (it was imported with NUMBA_ENABLE_CUDASIM=1)."""
    return getattr(cuda, "implementation", None) == "NVIDIA" and _simulator_array_type() is not None


def _simulator_array_type() -> type | None:
    # numba.cuda's package exports the simulator's API instead of the driver's when the env var was set
    # at its import; its `config` records the choice. Nothing is imported from the simulator otherwise.
    from numba.cuda.core import config

    if not config.ENABLE_CUDASIM:
        return None
    from numba.cuda.simulator.cudadrv.devicearray import FakeWithinKernelCUDAArray

    return FakeWithinKernelCUDAArray


def _host_call(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` (a compiled CPU function) callable from a simulated kernel: the simulator's in-kernel arrays
    become numpy views of the same memory (`np.asarray` shares it), so `fn` writes land in the device arrays;
    scalars, already numpy or Python values, pass unchanged and keep the types the CPU kernel passes."""
    fake = _simulator_array_type()

    def call(*args: Any) -> Any:
        return fn(*(np.asarray(a) if isinstance(a, fake) else a for a in args))

    return call


# What thread t calls: the njit function itself on a GPU, a host adapter of it under the simulator.
_simulate_creature = _host_call(simulate_creature) if simulated() else simulate_creature


@cuda.jit
def simulate_batch_cuda(
    order, substeps,
    n_nodes, n_muscles, node_params, muscle_ends, muscle_params, multiplier, net_hidden, net_activation,
    net_weights, draws, draw_row,
    sim, neural_mode, self_collision, n_steps, n_frames, explicit_pellets, n_explicit, record,
    pos, vel, acc, mass, inv_mass, radius, rest_base, rest_now, ph_c, ph_s, rot_c, rot_s,
    sensors, h_buf, net_out, com, pellet_xyz, terms,
    out_fitness, out_pellets, out_dq, out_distance, out_net_disp, out_terms,
    out_pellet_pos, out_pellet_spawn, out_pellet_collect, out_pellet_init, out_n_spawned,
    out_frames, out_fot,
):  # fmt: skip
    """Thread t simulates creature `order[t]` with row t of every scratch array (shape (threads, ...)).

    Each creature is written only by its own thread, in the fixed order of operations of
    `simulate_creature`, so its result does not depend on its batch-mates or the launch shape.
    """
    t = cuda.grid(1)
    if t >= order.shape[0]:
        return
    c = order[t]
    _simulate_creature(
        c, n_nodes[c], n_muscles[c], substeps[c],
        node_params[c], muscle_ends[c], muscle_params[c], multiplier[c], net_hidden[c],
        net_activation[c], net_weights[c],
        sim, neural_mode, self_collision, n_steps, n_frames, draws[draw_row[c]], explicit_pellets,
        n_explicit, record,
        pos[t], vel[t], acc[t], mass[t], inv_mass[t], radius[t], rest_base[t], rest_now[t], ph_c[t], ph_s[t],
        rot_c[t], rot_s[t], sensors[t], h_buf[t], net_out[t], com[t], pellet_xyz[t], terms[t],
        out_fitness, out_pellets, out_dq, out_distance, out_net_disp, out_terms,
        out_pellet_pos, out_pellet_spawn, out_pellet_collect, out_pellet_init, out_n_spawned,
        out_frames, out_fot,
    )  # fmt: skip
