"""The CPU simulation kernel: one numba call simulates a whole `PackedBatch` for the whole duration.

Each creature is its own world and is simulated start to finish by one thread, in a fixed order of
floating-point operations, so its result never depends on its batch-mates or the thread count
(DESIGN §4 (a), (b)). The driver (`evolab.physics.simulate`) allocates every array; the kernel only
writes the rows of the creature it is simulating.

The creature itself is simulated by `evolab.physics.kernel_creature.simulate_creature`.
"""

from __future__ import annotations

import os

# Between kernels the host does the GA and storage on the same cores; OpenMP's default busy-wait
# would keep a worker spinning against it (measured: E1 8.2 s -> 7.5 s per 200 generations).
# libgomp reads this when the first parallel kernel starts, so setting it here is early enough.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba as nb
import numpy as np

from evolab.physics.atomics import fetch_add
from evolab.physics.constants import N_TERMS
from evolab.physics.kernel_creature import simulate_creature
from evolab.physics.kernel_rules import JIT


@nb.njit(parallel=True, **JIT)
def simulate_batch_kernel(
    order, n_workers, substeps,
    n_nodes, n_muscles, node_params, muscle_ends, muscle_params, multiplier, net_hidden, net_activation,
    net_weights, draws, draw_row,
    sim, neural_mode, self_collision, n_steps, n_frames, explicit_pellets, n_explicit, record,
    out_fitness, out_pellets, out_dq, out_distance, out_net_disp, out_terms,
    out_pellet_pos, out_pellet_spawn, out_pellet_collect, out_pellet_init, out_n_spawned,
    out_frames, out_fot,
):  # fmt: skip
    """Simulate every creature of a packed batch; each worker claims the next creature of `order` until
    none is left.

    `order` lists creatures by descending cost, so the costliest start first and the cheap ones fill
    the gaps at the end; claiming (rather than a fixed split) keeps every worker busy even when one
    shares its core with other work. Each creature is simulated by exactly one worker, with that
    worker's scratch arrays (allocated once per worker, never per creature), so results do not depend
    on which worker ran it.
    """
    max_n = node_params.shape[1]
    max_m = muscle_params.shape[1]
    max_h = max(1, net_hidden.max()) if net_hidden.shape[0] > 0 else 1
    n_creatures = order.shape[0]
    claimed = np.zeros(1, dtype=np.int64)
    for _w in nb.prange(n_workers):
        pos = np.empty((max_n, 3))
        vel = np.empty((max_n, 3))
        acc = np.empty((max_n, 3))
        mass = np.empty(max_n)
        inv_mass = np.empty(max_n)
        radius = np.empty(max_n)
        rest_base = np.empty(max_m)
        rest_now = np.empty(max_m)
        ph_c = np.empty(max_m)
        ph_s = np.empty(max_m)
        rot_c = np.empty(max_m)
        rot_s = np.empty(max_m)
        sensors = np.empty(8)
        h_buf = np.empty(max_h)
        net_out = np.empty(max_m)
        com = np.empty(3)
        pellet_xyz = np.empty(3)
        terms = np.empty(N_TERMS)
        while True:
            idx = fetch_add(claimed, 1)
            if idx >= n_creatures:
                break
            c = order[idx]
            simulate_creature(
                c, n_nodes[c], n_muscles[c], substeps[c],
                node_params[c], muscle_ends[c], muscle_params[c], multiplier[c], net_hidden[c],
                net_activation[c], net_weights[c],
                sim, neural_mode, self_collision, n_steps, n_frames, draws[draw_row[c]], explicit_pellets,
                n_explicit, record,
                pos, vel, acc, mass, inv_mass, radius, rest_base, rest_now, ph_c, ph_s, rot_c, rot_s,
                sensors, h_buf, net_out, com, pellet_xyz, terms,
                out_fitness, out_pellets, out_dq, out_distance, out_net_disp, out_terms,
                out_pellet_pos, out_pellet_spawn, out_pellet_collect, out_pellet_init, out_n_spawned,
                out_frames, out_fot,
            )  # fmt: skip
