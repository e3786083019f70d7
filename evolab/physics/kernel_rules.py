"""The compiled rules a creature's simulation follows, apart from its integration loop: the sub-step
policy, pellet spawning, the fitness, the senses' headings and the controller network (DESIGN §4).

`kernel_creature.simulate_creature` calls them; numba links and inlines them into it.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from evolab.genome.genes import M_DAMPING, M_STIFFNESS, N_SIZE
from evolab.physics.constants import (
    CONTROL_DT,
    P_W_MOVEMENT,
    P_W_PELLET,
    P_W_PROGRESS,
    P_W_REGRESSION,
    P_W_SPEED,
    STABILITY_DAMPING_H,
    STABILITY_OMEGA_H,
)

# No nnan/ninf: the NaN and explosion checks must survive compilation (DESIGN §10).
FASTMATH = {"nsz", "arcp", "contract", "afn"}
JIT = {"cache": True, "nogil": True, "fastmath": FASTMATH, "error_model": "numpy"}


@nb.njit(**JIT)
def creature_substeps(n, m, node_params, muscle_ends, muscle_params, min_substeps, ksum, csum):
    """Sub-steps per control step that keep this creature's explicit integration stable."""
    for i in range(n):
        ksum[i] = 0.0
        csum[i] = 0.0
    for j in range(m):
        a = muscle_ends[j, 0]
        b = muscle_ends[j, 1]
        ksum[a] += muscle_params[j, M_STIFFNESS]
        ksum[b] += muscle_params[j, M_STIFFNESS]
        csum[a] += muscle_params[j, M_DAMPING]
        csum[b] += muscle_params[j, M_DAMPING]
    lam = 0.0
    gam = 0.0
    for i in range(n):
        r = 0.5 * node_params[i, N_SIZE]
        mass = 10.0 * (4.0 / 3.0) * math.pi * r * r * r
        lam = max(lam, 2.0 * ksum[i] / mass)
        gam = max(gam, 2.0 * csum[i] / mass)
    need_k = math.ceil(CONTROL_DT * math.sqrt(lam) / STABILITY_OMEGA_H)
    need_c = math.ceil(CONTROL_DT * gam / STABILITY_DAMPING_H)
    return max(min_substeps, need_k, need_c)


@nb.njit(parallel=False, **JIT)
def batch_substeps(n_nodes, n_muscles, node_params, muscle_ends, muscle_params, min_substeps):
    """(B,) sub-step count of every creature (the driver balances threads with it)."""
    out = np.empty(n_nodes.shape[0], dtype=np.int32)
    ksum = np.empty(node_params.shape[1])
    csum = np.empty(node_params.shape[1])
    for c in range(n_nodes.shape[0]):
        out[c] = creature_substeps(
            n_nodes[c], n_muscles[c], node_params[c], muscle_ends[c], muscle_params[c], min_substeps, ksum, csum
        )
    return out


@nb.njit(**JIT)
def edge_distance(cx, cz, px, pz, radius):
    dx = px - cx
    dz = pz - cz
    return max(0.0, math.sqrt(dx * dx + dz * dz) - radius)


@nb.njit(**JIT)
def spawn_pellet(k, cx, cz, radius, arena, u_dist, u_angle, prev_angle, out):
    """Pellet k around (cx, cz) by the original's rules (reference §3.4); returns the angle drawn."""
    if k == 0:
        extra = 7.0 + u_dist
        angle = u_angle * 2.0 * math.pi
        y = 0.3
    else:
        extra = (8.0 if k <= 2 else 9.0) + u_dist
        angle = prev_angle + math.pi + (u_angle - 0.5) * math.pi
        y = 0.3 + 0.4 * k
    dist = radius + extra
    half = 0.45 * arena
    out[0] = min(max(cx + math.cos(angle) * dist, -half), half)
    out[1] = y
    out[2] = min(max(cz + math.sin(angle) * dist, -half), half)
    return angle


@nb.njit(**JIT)
def fitness_terms(sim, n_collected, has_pellet, px, pz, init_dist, closest, cx, cz, radius, net_xz, t, terms):
    """Fitness of reference §4.1 with `sim`'s weights; fills `terms` and returns the total."""
    pellet_term = sim[P_W_PELLET] * n_collected
    progress_term = 0.0
    regression_term = 0.0
    if has_pellet and init_dist > 0.0:
        d = edge_distance(cx, cz, px, pz, radius)
        progress = min(max((init_dist - d) / init_dist, 0.0), 1.0)
        progress_term = sim[P_W_PROGRESS] * progress
        if n_collected > 0 and d > closest:
            regression_term = sim[P_W_REGRESSION] * min(1.0, (d - closest) / (0.5 * init_dist))
    movement_term = 0.0
    if t > 0.5:
        movement_term = sim[P_W_MOVEMENT] * min(1.0, (net_xz / t) / sim[P_W_SPEED])
    terms[0] = pellet_term
    terms[1] = progress_term
    terms[2] = regression_term
    terms[3] = movement_term
    return max(0.0, pellet_term + progress_term - regression_term + movement_term)


@nb.njit(**JIT)
def center_of_mass(n, pos, mass, total_mass, out):
    x = 0.0
    y = 0.0
    z = 0.0
    for i in range(n):
        x += mass[i] * pos[i, 0]
        y += mass[i] * pos[i, 1]
        z += mass[i] * pos[i, 2]
    out[0] = x / total_mass
    out[1] = y / total_mass
    out[2] = z / total_mass


@nb.njit(**JIT)
def body_heading(pos):
    """The creature's heading in the ground plane: the unit XZ direction from node 0 to node 1 (x when
    they are stacked), as (cos, sin) of the angle the body frame is turned by."""
    hx = pos[1, 0] - pos[0, 0]
    hz = pos[1, 2] - pos[0, 2]
    length = math.sqrt(hx * hx + hz * hz)
    if length > 1e-6:
        return hx / length, hz / length
    return 1.0, 0.0


@nb.njit(**JIT)
def motion_heading(vx, vz, hx, hz):
    """The direction the creature moves in, in the ground plane, from its unit velocity direction; the
    body heading (hx, hz) while it barely moves sideways."""
    length = math.sqrt(vx * vx + vz * vz)
    if length > 0.1:
        return vx / length, vz / length
    return hx, hz


@nb.njit(**JIT)
def network_forward(weights, hidden, activation, inputs, h_buf, outputs, n_out):
    """Forward pass of the flat-layout 8-H-O network; outputs are tanh (reference §1.8)."""
    ih = 8 * hidden
    for j in range(hidden):
        acc = weights[ih + j]
        for i in range(8):
            acc += inputs[i] * weights[i * hidden + j]
        if activation == 1:
            h_buf[j] = max(acc, 0.0)
        elif activation == 2:
            h_buf[j] = 1.0 / (1.0 + math.exp(-min(max(acc, -500.0), 500.0)))
        else:
            h_buf[j] = math.tanh(acc)
    ho = ih + hidden
    ob = ho + hidden * n_out
    for o in range(n_out):
        acc = weights[ob + o]
        for j in range(hidden):
            acc += h_buf[j] * weights[ho + j * n_out + o]
        outputs[o] = math.tanh(acc)
