"""One creature's whole simulation, compiled: set-up, then the loop over control steps calling the phases of
`kernel_phases` (sense, control, sub-steps of springs, contacts and ground, pellets, record), then its outputs.

Integrator: semi-implicit (symplectic) Euler with sub-steps. Each creature gets at least
`min_substeps` and as many more as its stiffest node needs for stability: by Gershgorin, the largest
eigenvalue of M^-1 K is below max_i 2 sum_k(i) / m_i, and explicit integration of a spring network is
stable while h * sqrt(lambda) < 2; we keep it under `STABILITY_OMEGA_H` with a matching bound for the
damping term (DESIGN §10: omega * dt reaches 2.6 at 1/60 s for the stiffest, lightest pairs).
Contacts act on velocities. Ground: approach stopped (a small bounce for real impacts only), Coulomb
friction on the normal impulse, then positions projected out of the ground. Node-node: perfectly
inelastic, plus a contact spring whose stiffness is set from the pair's reduced mass so that it is
stable at any sub-step; both act through equal and opposite velocities, so they conserve momentum and
never pump energy in. (Moving overlapping nodes apart through positions alone, against a muscle
pulling them together, pumped energy in and, with ground friction, made passive creatures crawl;
DESIGN §4 (d).) Node-node contacts are resolved before ground friction, which then sees only velocities
that will really happen.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from evolab.genome.genes import M_FREQUENCY, M_PHASE, M_REST, N_SIZE, N_X
from evolab.physics.constants import (
    CONTROL_DT,
    DQ_FREQUENCY,
    DQ_NONE,
    LINEAR_DAMPING,
    MAX_PELLETS,
    MODE_OFF,
    N_TERMS,
    P_GRAVITY,
    P_GROUND_FRICTION,
    P_MAX_FREQUENCY,
    P_SENSOR_FRAME,
)
from evolab.physics.kernel_phases import (
    PHASE,
    bounds,
    control,
    fitness_now,
    ground,
    hold_last_frame,
    node_contacts,
    odometry,
    pellets,
    record_pose,
    record_step,
    sense,
    spawn_next,
    springs,
)
from evolab.physics.kernel_rules import JIT, center_of_mass


@nb.njit(**PHASE)
def init_nodes(n, node_params, pos, vel, mass, inv_mass, radius):
    """Set-up: node sizes, masses and spawn pose at rest; returns (total mass, creature XZ radius)."""
    total_mass = 0.0
    for i in range(n):
        r = 0.5 * node_params[i, N_SIZE]
        radius[i] = r
        mass[i] = 10.0 * (4.0 / 3.0) * math.pi * r * r * r
        inv_mass[i] = 1.0 / mass[i]
        total_mass += mass[i]
        pos[i, 0] = node_params[i, N_X]
        pos[i, 1] = node_params[i, N_X + 1] + 1.0
        pos[i, 2] = node_params[i, N_X + 2]
        vel[i, 0] = 0.0
        vel[i, 1] = 0.0
        vel[i, 2] = 0.0

    # Creature XZ radius from the rest pose (reference §4.2): unweighted centroid, 1.3x the extent.
    gx = 0.0
    gz = 0.0
    for i in range(n):
        gx += node_params[i, N_X]
        gz += node_params[i, N_X + 2]
    gx /= n
    gz /= n
    extent = 0.0
    for i in range(n):
        dx = node_params[i, N_X] - gx
        dz = node_params[i, N_X + 2] - gz
        extent = max(extent, math.sqrt(dx * dx + dz * dz) + radius[i])
    return total_mass, max(1.0, 1.3 * extent)


@nb.njit(**PHASE)
def init_muscles(m, muscle_params, multiplier, max_frequency, dt, rest_base, ph_c, ph_s, rot_c, rot_s):
    """Set-up: each muscle's rest length and oscillator phasor; returns `DQ_FREQUENCY` if one is too fast."""
    dq = DQ_NONE
    max_f = max_frequency * (1.0 + 1e-6)  # genes are float32: clamped products may round up
    for j in range(m):
        f = muscle_params[j, M_FREQUENCY] * multiplier
        if f > max_f:
            dq = DQ_FREQUENCY
        rest_base[j] = muscle_params[j, M_REST]
        ph_c[j] = math.cos(muscle_params[j, M_PHASE])
        ph_s[j] = math.sin(muscle_params[j, M_PHASE])
        angle = 2.0 * math.pi * f * dt
        rot_c[j] = math.cos(angle)
        rot_s[j] = math.sin(angle)
    return dq


@nb.njit(**JIT)
def simulate_creature(
    c, n, m, n_sub,
    node_params, muscle_ends, muscle_params, multiplier, net_hidden, net_activation, net_weights,
    sim, neural_mode, self_collision, n_steps, n_frames, draws, explicit_pellets, n_explicit, record,
    pos, vel, acc, mass, inv_mass, radius, rest_base, rest_now, ph_c, ph_s, rot_c, rot_s,
    sensors, h_buf, net_out, com, pellet_xyz, terms,
    out_fitness, out_pellets, out_dq, out_distance, out_net_disp, out_terms,
    out_pellet_pos, out_pellet_spawn, out_pellet_collect, out_pellet_init, out_n_spawned,
    out_frames, out_fot,
):  # fmt: skip
    """Simulate creature `c` (n nodes, m muscles) and write its rows of every output."""
    dt = CONTROL_DT
    h = dt / n_sub
    damp_h = math.exp(h * math.log(1.0 - LINEAR_DAMPING))
    gravity = sim[P_GRAVITY]
    ground_friction = sim[P_GROUND_FRICTION]

    total_mass, body_radius = init_nodes(n, node_params, pos, vel, mass, inv_mass, radius)
    dq = init_muscles(m, muscle_params, multiplier, sim[P_MAX_FREQUENCY], dt, rest_base, ph_c, ph_s, rot_c, rot_s)
    # time_phase sensor sin(2 pi t), advanced by the same phasor rotation
    tp_c = 1.0
    tp_s = 0.0
    tp_rc = math.cos(2.0 * math.pi * dt)
    tp_rs = math.sin(2.0 * math.pi * dt)

    center_of_mass(n, pos, mass, total_mass, com)
    c0x = com[0]
    c0y = com[1]
    c0z = com[2]
    prev_x = c0x
    prev_y = c0y
    prev_z = c0z

    n_spawned = 0
    angle_prev = 0.0
    max_pellets = MAX_PELLETS if n_explicit < 0 else n_explicit
    if max_pellets > 0 and dq == DQ_NONE:
        angle_prev = spawn_next(
            c, 0, 0, c0x, c0z, body_radius, sim, draws, explicit_pellets, n_explicit, angle_prev, pellet_xyz,
            out_pellet_pos, out_pellet_spawn, out_pellet_init,
        )  # fmt: skip
        n_spawned = 1
    collected = 0
    closest = np.inf
    path = 0.0
    net_xz = 0.0

    if record:
        record_pose(c, 0, n, pos, out_frames)
        out_fot[c, 0] = 0.0
    last_frame = 0

    use_net = neural_mode != MODE_OFF and net_hidden > 0
    sensor_frame = int(sim[P_SENSOR_FRAME])
    step = 0
    while step < n_steps and dq == DQ_NONE:
        pdx, pdy, pdz, vx, vy, vz, norm_dist = sense(
            n, step, pos, mass, total_mass, com, prev_x, prev_y, prev_z, collected < n_spawned, pellet_xyz,
            sensor_frame,
        )  # fmt: skip
        prev_x = com[0]
        prev_y = com[1]
        prev_z = com[2]
        tp_c, tp_s = control(
            m, muscle_params, use_net, neural_mode, net_weights, net_hidden, net_activation, sensors, h_buf, net_out,
            pdx, pdy, pdz, vx, vy, vz, norm_dist, tp_c, tp_s, tp_rc, tp_rs, rest_base, rest_now, ph_c, ph_s, rot_c,
            rot_s,
        )  # fmt: skip
        for _ in range(n_sub):
            springs(n, m, h, damp_h, gravity, muscle_ends, muscle_params, rest_now, pos, vel, acc, inv_mass)
            if self_collision:
                node_contacts(n, h, pos, vel, radius, inv_mass)
            # after node-node contacts, so friction never acts on velocities a contact is about to cancel
            ground(n, h, ground_friction, node_params, pos, vel, radius)
        step += 1
        t = step * dt

        dq = bounds(n, pos)
        if dq != DQ_NONE:
            break
        path, net_xz = odometry(n, pos, mass, total_mass, com, prev_x, prev_y, prev_z, c0x, c0z, path)
        collected, n_spawned, closest, angle_prev = pellets(
            c, step, n, pos, radius, com, pellet_xyz, collected, n_spawned, max_pellets, closest, angle_prev,
            body_radius, sim, draws, explicit_pellets, n_explicit,
            out_pellet_pos, out_pellet_spawn, out_pellet_collect, out_pellet_init,
        )  # fmt: skip
        if record:
            last_frame = record_step(
                c, step, n, n_frames, pos, sim, collected, n_spawned, pellet_xyz, closest, com, body_radius, net_xz,
                t, terms, out_pellet_init, out_frames, out_fot, last_frame,
            )  # fmt: skip

    if dq == DQ_NONE:
        center_of_mass(n, pos, mass, total_mass, com)
        fitness = fitness_now(
            c, sim, collected, n_spawned, pellet_xyz, out_pellet_init, closest, com, body_radius, net_xz,
            n_steps * dt, terms,
        )  # fmt: skip
        for q in range(N_TERMS):
            out_terms[c, q] = terms[q]
    else:
        fitness = 0.0
        for q in range(N_TERMS):
            out_terms[c, q] = 0.0
    if record:
        hold_last_frame(c, last_frame, n, n_frames, out_frames, out_fot)
    out_fitness[c] = fitness
    out_pellets[c] = collected
    out_dq[c] = dq
    center_of_mass(n, pos, mass, total_mass, com)
    out_distance[c] = path
    ex = com[0] - c0x
    ey = com[1] - c0y
    ez = com[2] - c0z
    out_net_disp[c] = math.sqrt(ex * ex + ey * ey + ez * ez) if dq == DQ_NONE else 0.0
    out_n_spawned[c] = n_spawned
