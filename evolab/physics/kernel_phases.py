"""The phases of one creature's control step, compiled: `kernel_creature.simulate_creature` calls them in
order (sense, control, sub-steps of springs, contacts and ground, bounds, odometry, pellets, record). Each
writes only the scratch and output arrays it is given: nothing here allocates, so the CUDA kernel can call
them as device functions.

All are inlined into `simulate_creature` at numba's IR level (`inline="always"`): fastmath "contract" lets
LLVM fuse a multiply and an add into one FMA only within a function, so a call boundary would change which
operations fuse, and with them the last bit of the results (measured: as plain calls, most of a test set's
outputs changed); inlined, the phases compile as the one function they were.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from evolab.genome.genes import (
    M_AMPLITUDE,
    M_BIAS_STRENGTH,
    M_DAMPING,
    M_DIR_X,
    M_DIST_BIAS,
    M_DIST_STRENGTH,
    M_STIFFNESS,
    M_VEL_STRENGTH,
    M_VEL_X,
    N_FRICTION,
)
from evolab.physics.constants import (
    BOUNCE_THRESHOLD,
    CONTACT_OMEGA_H,
    DQ_EXPLOSION,
    DQ_NAN,
    DQ_NONE,
    EXPLOSION_HEIGHT,
    EXPLOSION_RADIUS,
    FRAME_MOTION,
    FRAME_WORLD,
    GROUND_RESTITUTION,
    MODE_HYBRID,
    P_ARENA,
    PELLET_REACH,
    STEPS_PER_FRAME,
)
from evolab.physics.kernel_rules import (
    JIT,
    body_heading,
    center_of_mass,
    edge_distance,
    fitness_terms,
    motion_heading,
    network_forward,
    spawn_pellet,
)

PHASE = {**JIT, "inline": "always"}
"""JIT options of a phase (and of `kernel_creature`'s set-up): `JIT`, inlined where it is called."""


@nb.njit(**PHASE)
def sense(n, step, pos, mass, total_mass, com, prev_x, prev_y, prev_z, has_pellet, pellet_xyz, sensor_frame):
    """Sense (reference §2.6): fills `com`; returns the pellet's direction, the unit velocity and the pellet's
    normalised distance, in the sensor frame."""
    center_of_mass(n, pos, mass, total_mass, com)
    vx = com[0] - prev_x
    vy = com[1] - prev_y
    vz = com[2] - prev_z
    vlen = math.sqrt(vx * vx + vy * vy + vz * vz)
    if step == 0 or vlen <= 0.001:
        vx = 0.0
        vy = 0.0
        vz = 0.0
    else:
        vx /= vlen
        vy /= vlen
        vz /= vlen
    pdx = 0.0
    pdy = 0.0
    pdz = 0.0
    norm_dist = 1.0
    if has_pellet:
        pdx = pellet_xyz[0] - com[0]
        pdy = pellet_xyz[1] - com[1]
        pdz = pellet_xyz[2] - com[2]
        pdist = math.sqrt(pdx * pdx + pdy * pdy + pdz * pdz)
        norm_dist = min(pdist / 20.0, 1.0)
        if pdist > 0.01:
            pdx /= pdist
            pdy /= pdist
            pdz /= pdist
        else:
            pdx = 0.0
            pdy = 0.0
            pdz = 0.0
    if sensor_frame != FRAME_WORLD:  # heading sense: forward / right of the creature, not world x / z
        hx, hz = body_heading(pos)
        if sensor_frame == FRAME_MOTION:
            hx, hz = motion_heading(vx, vz, hx, hz)
        pdx, pdz = pdx * hx + pdz * hz, pdz * hx - pdx * hz
        vx, vz = vx * hx + vz * hz, vz * hx - vx * hz
    return pdx, pdy, pdz, vx, vy, vz, norm_dist


@nb.njit(**PHASE)
def control(
    m, muscle_params, use_net, neural_mode, net_weights, net_hidden, net_activation, sensors, h_buf, net_out,
    pdx, pdy, pdz, vx, vy, vz, norm_dist, tp_c, tp_s, tp_rc, tp_rs, rest_base, rest_now, ph_c, ph_s, rot_c, rot_s,
):  # fmt: skip
    """Control: each muscle's rest length for this step (network, then control law); advances the muscles'
    phasors and returns the time-phase sensor's, (cos, sin) of 2 pi t, advanced."""
    if use_net:
        sensors[0] = pdx
        sensors[1] = pdy
        sensors[2] = pdz
        sensors[3] = vx
        sensors[4] = vy
        sensors[5] = vz
        sensors[6] = norm_dist
        sensors[7] = tp_s
        network_forward(net_weights, net_hidden, net_activation, sensors, h_buf, net_out, m)
    for j in range(m):
        base = ph_s[j]
        amp = muscle_params[j, M_AMPLITUDE]
        if use_net and neural_mode == MODE_HYBRID:
            contraction = base * amp * (0.5 + (net_out[j] + 1.0) * 0.5)
        elif use_net:
            contraction = net_out[j] * amp
        else:
            mod = 1.0
            mod += (
                pdx * muscle_params[j, M_DIR_X]
                + pdy * muscle_params[j, M_DIR_X + 1]
                + pdz * muscle_params[j, M_DIR_X + 2]
            ) * muscle_params[j, M_BIAS_STRENGTH]
            mod += (
                vx * muscle_params[j, M_VEL_X] + vy * muscle_params[j, M_VEL_X + 1] + vz * muscle_params[j, M_VEL_X + 2]
            ) * muscle_params[j, M_VEL_STRENGTH]
            mod += muscle_params[j, M_DIST_BIAS] * (1.0 - norm_dist) * muscle_params[j, M_DIST_STRENGTH]
            mod = min(max(mod, 0.1), 2.5)
            contraction = base * amp * mod
        rest_now[j] = rest_base[j] * (1.0 - contraction)
        # advance the oscillator phasor by 2 pi f dt (cheaper than a sin per step; drift ~1e-13)
        cj = ph_c[j]
        sj = ph_s[j]
        ph_c[j] = cj * rot_c[j] - sj * rot_s[j]
        ph_s[j] = sj * rot_c[j] + cj * rot_s[j]
    return tp_c * tp_rc - tp_s * tp_rs, tp_s * tp_rc + tp_c * tp_rs


@nb.njit(**PHASE)
def springs(n, m, h, damp_h, gravity, muscle_ends, muscle_params, rest_now, pos, vel, acc, inv_mass):
    """Sub-step, forces: gravity and the damped muscle springs, then the velocities' semi-implicit update."""
    for i in range(n):
        acc[i, 0] = 0.0
        acc[i, 1] = gravity
        acc[i, 2] = 0.0
    for j in range(m):
        a = muscle_ends[j, 0]
        b = muscle_ends[j, 1]
        dx = pos[b, 0] - pos[a, 0]
        dy = pos[b, 1] - pos[a, 1]
        dz = pos[b, 2] - pos[a, 2]
        length = math.sqrt(dx * dx + dy * dy + dz * dz)
        if length > 1e-9:
            ux = dx / length
            uy = dy / length
            uz = dz / length
            vrel = (vel[b, 0] - vel[a, 0]) * ux + (vel[b, 1] - vel[a, 1]) * uy + (vel[b, 2] - vel[a, 2]) * uz
            force = -muscle_params[j, M_STIFFNESS] * (length - rest_now[j]) - muscle_params[j, M_DAMPING] * vrel
            fa = force * inv_mass[a]
            fb = force * inv_mass[b]
            acc[b, 0] += fb * ux
            acc[b, 1] += fb * uy
            acc[b, 2] += fb * uz
            acc[a, 0] -= fa * ux
            acc[a, 1] -= fa * uy
            acc[a, 2] -= fa * uz
    for i in range(n):
        vel[i, 0] = (vel[i, 0] + acc[i, 0] * h) * damp_h
        vel[i, 1] = (vel[i, 1] + acc[i, 1] * h) * damp_h
        vel[i, 2] = (vel[i, 2] + acc[i, 2] * h) * damp_h


@nb.njit(**PHASE)
def node_contacts(n, h, pos, vel, radius, inv_mass):
    """Sub-step, node-node contacts: inelastic approach stop plus a stiff contact spring, through velocities."""
    for i in range(n - 1):
        for k in range(i + 1, n):
            dx = pos[k, 0] - pos[i, 0]
            dy = pos[k, 1] - pos[i, 1]
            dz = pos[k, 2] - pos[i, 2]
            reach = radius[i] + radius[k]
            d2 = dx * dx + dy * dy + dz * dz
            if d2 < reach * reach and d2 > 1e-18:
                d = math.sqrt(d2)
                nx = dx / d
                ny = dy / d
                nz = dz / d
                w = inv_mass[i] + inv_mass[k]
                closing = (vel[k, 0] - vel[i, 0]) * nx + (vel[k, 1] - vel[i, 1]) * ny + (vel[k, 2] - vel[i, 2]) * nz
                # inelastic: stop the approach; then a stiff contact spring (omega h = CONTACT_OMEGA_H, stable by
                # construction) pushes the overlap out through real, momentum-conserving velocities, so nothing
                # is pumped into the body or turned into a crawl by friction
                imp = max(-closing, 0.0) / w + CONTACT_OMEGA_H * CONTACT_OMEGA_H * (reach - d) / (h * w)
                vel[i, 0] -= imp * inv_mass[i] * nx
                vel[i, 1] -= imp * inv_mass[i] * ny
                vel[i, 2] -= imp * inv_mass[i] * nz
                vel[k, 0] += imp * inv_mass[k] * nx
                vel[k, 1] += imp * inv_mass[k] * ny
                vel[k, 2] += imp * inv_mass[k] * nz


@nb.njit(**PHASE)
def ground(n, h, ground_friction, node_params, pos, vel, radius):
    """Sub-step, ground and positions: stop the approach, bounce only real impacts, Coulomb friction on the
    impulse; then move the nodes and project them out of the ground."""
    for i in range(n):
        if pos[i, 1] <= radius[i] and vel[i, 1] < 0.0:
            approach = -vel[i, 1]
            vel[i, 1] = GROUND_RESTITUTION * approach if approach > BOUNCE_THRESHOLD else 0.0
            tx = vel[i, 0]
            tz = vel[i, 2]
            tangential = math.sqrt(tx * tx + tz * tz)
            if tangential > 0.0:
                limit = ground_friction * node_params[i, N_FRICTION] * approach
                scale = max(0.0, 1.0 - limit / tangential)
                vel[i, 0] = tx * scale
                vel[i, 2] = tz * scale
        pos[i, 0] += vel[i, 0] * h
        pos[i, 1] += vel[i, 1] * h
        pos[i, 2] += vel[i, 2] * h
        if pos[i, 1] < radius[i]:
            pos[i, 1] = radius[i]


@nb.njit(**PHASE)
def bounds(n, pos):
    """Disqualification check of a control step: `DQ_NAN`, `DQ_EXPLOSION` (first reason wins) or `DQ_NONE`."""
    for i in range(n):
        x = pos[i, 0]
        y = pos[i, 1]
        z = pos[i, 2]
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
            return DQ_NAN
        if x * x + y * y + z * z > EXPLOSION_RADIUS * EXPLOSION_RADIUS or y > EXPLOSION_HEIGHT:
            return DQ_EXPLOSION
    return DQ_NONE


@nb.njit(**PHASE)
def odometry(n, pos, mass, total_mass, com, prev_x, prev_y, prev_z, c0x, c0z, path):
    """Odometry: fills `com`; returns the path length with this step's move added and the net XZ displacement."""
    center_of_mass(n, pos, mass, total_mass, com)
    sx = com[0] - prev_x
    sy = com[1] - prev_y
    sz = com[2] - prev_z
    path += math.sqrt(sx * sx + sy * sy + sz * sz)
    ex = com[0] - c0x
    ez = com[2] - c0z
    return path, math.sqrt(ex * ex + ez * ez)


@nb.njit(**PHASE)
def spawn_next(
    c, k, step, cx, cz, body_radius, sim, draws, explicit_pellets, n_explicit, angle_prev, pellet_xyz,
    out_pellet_pos, out_pellet_spawn, out_pellet_init,
):  # fmt: skip
    """Pellets: place pellet k around (cx, cz) at `step` (drawn, or the k-th explicit one) and record it;
    returns the angle the next draw turns from."""
    if n_explicit < 0:
        angle_prev = spawn_pellet(
            k, cx, cz, body_radius, sim[P_ARENA], draws[k, 0], draws[k, 1], angle_prev, pellet_xyz
        )
    else:
        pellet_xyz[0] = explicit_pellets[k, 0]
        pellet_xyz[1] = explicit_pellets[k, 1]
        pellet_xyz[2] = explicit_pellets[k, 2]
    out_pellet_pos[c, k, 0] = pellet_xyz[0]
    out_pellet_pos[c, k, 1] = pellet_xyz[1]
    out_pellet_pos[c, k, 2] = pellet_xyz[2]
    out_pellet_spawn[c, k] = step
    out_pellet_init[c, k] = edge_distance(cx, cz, pellet_xyz[0], pellet_xyz[2], body_radius)
    return angle_prev


@nb.njit(**PHASE)
def pellets(
    c, step, n, pos, radius, com, pellet_xyz, collected, n_spawned, max_pellets, closest, angle_prev, body_radius,
    sim, draws, explicit_pellets, n_explicit, out_pellet_pos, out_pellet_spawn, out_pellet_collect, out_pellet_init,
):  # fmt: skip
    """Pellets: collection (at most one per step) and the next spawn, then the closest approach to the active
    pellet; returns (collected, n_spawned, closest, angle_prev)."""
    if collected < n_spawned:
        for i in range(n):
            dx = pos[i, 0] - pellet_xyz[0]
            dy = pos[i, 1] - pellet_xyz[1]
            dz = pos[i, 2] - pellet_xyz[2]
            reach = radius[i] + PELLET_REACH
            if dx * dx + dy * dy + dz * dz < reach * reach:
                out_pellet_collect[c, collected] = step
                collected += 1
                closest = np.inf
                if n_spawned < max_pellets:
                    angle_prev = spawn_next(
                        c, n_spawned, step, com[0], com[2], body_radius, sim, draws, explicit_pellets, n_explicit,
                        angle_prev, pellet_xyz, out_pellet_pos, out_pellet_spawn, out_pellet_init,
                    )  # fmt: skip
                    n_spawned += 1
                break
    if collected < n_spawned:
        d = edge_distance(com[0], com[2], pellet_xyz[0], pellet_xyz[2], body_radius)
        if d < closest:
            closest = d
    return collected, n_spawned, closest, angle_prev


@nb.njit(**PHASE)
def fitness_now(c, sim, collected, n_spawned, pellet_xyz, out_pellet_init, closest, com, body_radius, net_xz, t, terms):
    """Fitness at time t (reference §4.1); fills `terms`."""
    return fitness_terms(
        sim, collected, collected < n_spawned, pellet_xyz[0], pellet_xyz[2],
        out_pellet_init[c, collected] if collected < n_spawned else 0.0, closest,
        com[0], com[2], body_radius, net_xz, t, terms,
    )  # fmt: skip


@nb.njit(**PHASE)
def record_pose(c, f_idx, n, pos, out_frames):
    """Record: the node positions as frame `f_idx`."""
    for i in range(n):
        out_frames[c, f_idx, i, 0] = pos[i, 0]
        out_frames[c, f_idx, i, 1] = pos[i, 1]
        out_frames[c, f_idx, i, 2] = pos[i, 2]


@nb.njit(**PHASE)
def record_step(
    c, step, n, n_frames, pos, sim, collected, n_spawned, pellet_xyz, closest, com, body_radius, net_xz, t, terms,
    out_pellet_init, out_frames, out_fot, last_frame,
):  # fmt: skip
    """Record: pose and fitness on the control steps that are frames (every `STEPS_PER_FRAME`); returns the
    last frame recorded."""
    if step % STEPS_PER_FRAME == 0:
        f_idx = step // STEPS_PER_FRAME
        if f_idx < n_frames:
            record_pose(c, f_idx, n, pos, out_frames)
            out_fot[c, f_idx] = fitness_now(
                c, sim, collected, n_spawned, pellet_xyz, out_pellet_init, closest, com, body_radius, net_xz, t, terms
            )
            last_frame = f_idx
    return last_frame


@nb.njit(**PHASE)
def hold_last_frame(c, last_frame, n, n_frames, out_frames, out_fot):
    """Record, after the run: frames past the last recorded one (a disqualified creature's) hold its last
    pose and score 0."""
    for f_idx in range(last_frame + 1, n_frames):
        for i in range(n):
            out_frames[c, f_idx, i, 0] = out_frames[c, last_frame, i, 0]
            out_frames[c, f_idx, i, 1] = out_frames[c, last_frame, i, 1]
            out_frames[c, f_idx, i, 2] = out_frames[c, last_frame, i, 2]
        out_fot[c, f_idx] = 0.0
