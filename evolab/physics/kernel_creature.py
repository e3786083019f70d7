"""One creature's whole simulation, compiled: sense, control, integrate, contacts, pellets, record.

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

from evolab.genome.genes import (
    M_AMPLITUDE,
    M_BIAS_STRENGTH,
    M_DAMPING,
    M_DIR_X,
    M_DIST_BIAS,
    M_DIST_STRENGTH,
    M_FREQUENCY,
    M_PHASE,
    M_REST,
    M_STIFFNESS,
    M_VEL_STRENGTH,
    M_VEL_X,
    N_FRICTION,
    N_SIZE,
    N_X,
)
from evolab.physics.constants import (
    BOUNCE_THRESHOLD,
    CONTACT_OMEGA_H,
    CONTROL_DT,
    DQ_EXPLOSION,
    DQ_FREQUENCY,
    DQ_NAN,
    DQ_NONE,
    EXPLOSION_HEIGHT,
    EXPLOSION_RADIUS,
    FRAME_MOTION,
    FRAME_WORLD,
    GROUND_RESTITUTION,
    LINEAR_DAMPING,
    MAX_PELLETS,
    MODE_HYBRID,
    MODE_OFF,
    N_TERMS,
    P_ARENA,
    P_GRAVITY,
    P_GROUND_FRICTION,
    P_MAX_FREQUENCY,
    P_SENSOR_FRAME,
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
    body_radius = max(1.0, 1.3 * extent)

    dq = DQ_NONE
    max_f = sim[P_MAX_FREQUENCY] * (1.0 + 1e-6)  # genes are float32: clamped products may round up
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

    # First pellet
    n_spawned = 0
    angle_prev = 0.0
    max_pellets = MAX_PELLETS if n_explicit < 0 else n_explicit
    if max_pellets > 0 and dq == DQ_NONE:
        if n_explicit < 0:
            angle_prev = spawn_pellet(0, c0x, c0z, body_radius, sim[P_ARENA], draws[0, 0], draws[0, 1], 0.0, pellet_xyz)
        else:
            pellet_xyz[0] = explicit_pellets[0, 0]
            pellet_xyz[1] = explicit_pellets[0, 1]
            pellet_xyz[2] = explicit_pellets[0, 2]
        out_pellet_pos[c, 0, 0] = pellet_xyz[0]
        out_pellet_pos[c, 0, 1] = pellet_xyz[1]
        out_pellet_pos[c, 0, 2] = pellet_xyz[2]
        out_pellet_spawn[c, 0] = 0
        out_pellet_init[c, 0] = edge_distance(c0x, c0z, pellet_xyz[0], pellet_xyz[2], body_radius)
        n_spawned = 1
    collected = 0
    closest = np.inf
    path = 0.0
    net_xz = 0.0

    if record:
        for i in range(n):
            out_frames[c, 0, i, 0] = pos[i, 0]
            out_frames[c, 0, i, 1] = pos[i, 1]
            out_frames[c, 0, i, 2] = pos[i, 2]
        out_fot[c, 0] = 0.0
    last_frame = 0

    use_net = neural_mode != MODE_OFF and net_hidden > 0
    sensor_frame = int(sim[P_SENSOR_FRAME])
    step = 0
    while step < n_steps and dq == DQ_NONE:
        # -- sense (reference §2.6): centre of mass, its velocity direction, the active pellet --------
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
        prev_x = com[0]
        prev_y = com[1]
        prev_z = com[2]
        has_pellet = collected < n_spawned
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

        # -- control law: each muscle's rest length for this step --------------------------------------
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
                    vx * muscle_params[j, M_VEL_X]
                    + vy * muscle_params[j, M_VEL_X + 1]
                    + vz * muscle_params[j, M_VEL_X + 2]
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
        tpc = tp_c
        tp_c = tpc * tp_rc - tp_s * tp_rs
        tp_s = tp_s * tp_rc + tpc * tp_rs

        # -- integrate ---------------------------------------------------------------------------------
        for _ in range(n_sub):
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
            if self_collision:
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
                            closing = (
                                (vel[k, 0] - vel[i, 0]) * nx
                                + (vel[k, 1] - vel[i, 1]) * ny
                                + (vel[k, 2] - vel[i, 2]) * nz
                            )
                            # inelastic: stop the approach; then a stiff contact spring (omega h = CONTACT_OMEGA_H,
                            # stable by construction) pushes the overlap out through real, momentum-conserving
                            # velocities, so nothing is pumped into the body or turned into a crawl by friction
                            imp = max(-closing, 0.0) / w + CONTACT_OMEGA_H * CONTACT_OMEGA_H * (reach - d) / (h * w)
                            vel[i, 0] -= imp * inv_mass[i] * nx
                            vel[i, 1] -= imp * inv_mass[i] * ny
                            vel[i, 2] -= imp * inv_mass[i] * nz
                            vel[k, 0] += imp * inv_mass[k] * nx
                            vel[k, 1] += imp * inv_mass[k] * ny
                            vel[k, 2] += imp * inv_mass[k] * nz
            # after node-node contacts, so friction never acts on velocities a contact is about to cancel
            for i in range(n):
                # ground: stop the approach, bounce only real impacts, Coulomb friction on the impulse
                if pos[i, 1] <= radius[i] and vel[i, 1] < 0.0:
                    approach = -vel[i, 1]
                    vel[i, 1] = GROUND_RESTITUTION * approach if approach > BOUNCE_THRESHOLD else 0.0
                    tx = vel[i, 0]
                    tz = vel[i, 2]
                    tangential = math.sqrt(tx * tx + tz * tz)
                    if tangential > 0.0:
                        limit = sim[P_GROUND_FRICTION] * node_params[i, N_FRICTION] * approach
                        scale = max(0.0, 1.0 - limit / tangential)
                        vel[i, 0] = tx * scale
                        vel[i, 2] = tz * scale
                pos[i, 0] += vel[i, 0] * h
                pos[i, 1] += vel[i, 1] * h
                pos[i, 2] += vel[i, 2] * h
                if pos[i, 1] < radius[i]:
                    pos[i, 1] = radius[i]
        step += 1
        t = step * dt

        # -- disqualification on every control step (first reason wins) -------------------------------
        for i in range(n):
            x = pos[i, 0]
            y = pos[i, 1]
            z = pos[i, 2]
            if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
                dq = DQ_NAN
                break
            if x * x + y * y + z * z > EXPLOSION_RADIUS * EXPLOSION_RADIUS or y > EXPLOSION_HEIGHT:
                dq = DQ_EXPLOSION
                break
        if dq != DQ_NONE:
            break

        center_of_mass(n, pos, mass, total_mass, com)
        sx = com[0] - prev_x
        sy = com[1] - prev_y
        sz = com[2] - prev_z
        path += math.sqrt(sx * sx + sy * sy + sz * sz)
        ex = com[0] - c0x
        ez = com[2] - c0z
        net_xz = math.sqrt(ex * ex + ez * ez)

        # -- pellets: collection on every control step, at most one per step --------------------------
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
                        k = n_spawned
                        if n_explicit < 0:
                            angle_prev = spawn_pellet(
                                k, com[0], com[2], body_radius, sim[P_ARENA], draws[k, 0], draws[k, 1],
                                angle_prev, pellet_xyz,
                            )  # fmt: skip
                        else:
                            pellet_xyz[0] = explicit_pellets[k, 0]
                            pellet_xyz[1] = explicit_pellets[k, 1]
                            pellet_xyz[2] = explicit_pellets[k, 2]
                        out_pellet_pos[c, k, 0] = pellet_xyz[0]
                        out_pellet_pos[c, k, 1] = pellet_xyz[1]
                        out_pellet_pos[c, k, 2] = pellet_xyz[2]
                        out_pellet_spawn[c, k] = step
                        out_pellet_init[c, k] = edge_distance(com[0], com[2], pellet_xyz[0], pellet_xyz[2], body_radius)
                        n_spawned += 1
                    break
        if collected < n_spawned:
            d = edge_distance(com[0], com[2], pellet_xyz[0], pellet_xyz[2], body_radius)
            if d < closest:
                closest = d

        if record and step % STEPS_PER_FRAME == 0:
            f_idx = step // STEPS_PER_FRAME
            if f_idx < n_frames:
                for i in range(n):
                    out_frames[c, f_idx, i, 0] = pos[i, 0]
                    out_frames[c, f_idx, i, 1] = pos[i, 1]
                    out_frames[c, f_idx, i, 2] = pos[i, 2]
                out_fot[c, f_idx] = fitness_terms(
                    sim, collected, collected < n_spawned, pellet_xyz[0], pellet_xyz[2],
                    out_pellet_init[c, collected] if collected < n_spawned else 0.0, closest,
                    com[0], com[2], body_radius, net_xz, t, terms,
                )  # fmt: skip
                last_frame = f_idx

    if dq == DQ_NONE:
        center_of_mass(n, pos, mass, total_mass, com)
        t_end = n_steps * dt
        fitness = fitness_terms(
            sim, collected, collected < n_spawned, pellet_xyz[0], pellet_xyz[2],
            out_pellet_init[c, collected] if collected < n_spawned else 0.0, closest,
            com[0], com[2], body_radius, net_xz, t_end, terms,
        )  # fmt: skip
        for q in range(N_TERMS):
            out_terms[c, q] = terms[q]
    else:
        fitness = 0.0
        for q in range(N_TERMS):
            out_terms[c, q] = 0.0
    if record:
        # A disqualified creature stops: later frames hold its last recorded pose and score 0.
        for f_idx in range(last_frame + 1, n_frames):
            for i in range(n):
                out_frames[c, f_idx, i, 0] = out_frames[c, last_frame, i, 0]
                out_frames[c, f_idx, i, 1] = out_frames[c, last_frame, i, 1]
                out_frames[c, f_idx, i, 2] = out_frames[c, last_frame, i, 2]
            out_fot[c, f_idx] = 0.0
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
