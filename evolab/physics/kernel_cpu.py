"""The CPU simulation kernel: one numba call simulates a whole `PackedBatch` for the whole duration.

Each creature is its own world and is simulated start to finish by one thread, in a fixed order of
floating-point operations, so its result never depends on its batch-mates or the thread count
(DESIGN §4 (a), (b)). The driver (`evolab.physics.simulate`) allocates every array; the kernel only
writes the rows of the creature it is simulating.

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
import os

# Between kernels the host does the GA and storage on the same cores; OpenMP's default busy-wait
# would keep a worker spinning against it (measured: E1 8.2 s -> 7.5 s per 200 generations).
# libgomp reads this when the first parallel kernel starts, so setting it here is early enough.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba as nb
import numpy as np

from evolab.physics.atomics import fetch_add

CONTROL_DT = 1.0 / 60.0
STEPS_PER_FRAME = 4
"""Frames are recorded every 4th control step: exactly 15 FPS (DESIGN §3)."""
STABILITY_OMEGA_H = 0.9
STABILITY_DAMPING_H = 0.5
LINEAR_DAMPING = 0.1
"""Velocity decays by (1 - 0.1)^dt (cannon's linear damping, DESIGN §4)."""
GROUND_RESTITUTION = 0.06
CONTACT_OMEGA_H = 0.4
"""Node-node contact stiffness, as omega * h of the pair: k = m_red (0.4 / h)^2."""
BOUNCE_THRESHOLD = 0.5
"""Impacts slower than this (units/s) do not bounce, so resting contacts stay at rest."""
PELLET_REACH = 0.35
MAX_PELLETS = 10
EXPLOSION_RADIUS = 50.0
EXPLOSION_HEIGHT = 30.0

DQ_NONE, DQ_FREQUENCY, DQ_NAN, DQ_EXPLOSION = 0, 1, 2, 3
FRAME_WORLD, FRAME_BODY, FRAME_MOTION = 0, 1, 2
MODE_OFF, MODE_HYBRID, MODE_PURE = 0, 1, 2
N_TERMS = 4  # pellets, progress, regression (positive number subtracted), movement

# No nnan/ninf: the NaN and explosion checks must survive compilation (DESIGN §10).
_FASTMATH = {"nsz", "arcp", "contract", "afn"}
_JIT = {"cache": True, "nogil": True, "fastmath": _FASTMATH, "error_model": "numpy"}

# Indices into the `sim` float64 parameter vector the driver fills.
P_GRAVITY, P_GROUND_FRICTION, P_ARENA, P_MAX_FREQUENCY = 0, 1, 2, 3
P_W_PELLET, P_W_PROGRESS, P_W_REGRESSION, P_W_MOVEMENT, P_W_SPEED = 4, 5, 6, 7, 8
P_SENSOR_FRAME = 9  # SimConfig.sensor_frame: FRAME_WORLD, FRAME_BODY or FRAME_MOTION
N_SIM_PARAMS = 10

# Columns of the genome arrays (kept in step with evolab.genome.model).
_SIZE, _FRICTION, _X = 0, 1, 2
_REST, _STIFF, _DAMP, _FREQ, _AMP, _PHASE = 0, 1, 2, 3, 4, 5
_DIR, _BIAS_S, _VEL, _VEL_S, _DIST_B, _DIST_S = 6, 9, 10, 13, 14, 15


@nb.njit(**_JIT)
def creature_substeps(n, m, node_params, muscle_ends, muscle_params, min_substeps, ksum, csum):
    """Sub-steps per control step that keep this creature's explicit integration stable."""
    for i in range(n):
        ksum[i] = 0.0
        csum[i] = 0.0
    for j in range(m):
        a = muscle_ends[j, 0]
        b = muscle_ends[j, 1]
        ksum[a] += muscle_params[j, _STIFF]
        ksum[b] += muscle_params[j, _STIFF]
        csum[a] += muscle_params[j, _DAMP]
        csum[b] += muscle_params[j, _DAMP]
    lam = 0.0
    gam = 0.0
    for i in range(n):
        r = 0.5 * node_params[i, _SIZE]
        mass = 10.0 * (4.0 / 3.0) * math.pi * r * r * r
        lam = max(lam, 2.0 * ksum[i] / mass)
        gam = max(gam, 2.0 * csum[i] / mass)
    need_k = math.ceil(CONTROL_DT * math.sqrt(lam) / STABILITY_OMEGA_H)
    need_c = math.ceil(CONTROL_DT * gam / STABILITY_DAMPING_H)
    return max(min_substeps, need_k, need_c)


@nb.njit(parallel=False, **_JIT)
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


@nb.njit(**_JIT)
def _edge_distance(cx, cz, px, pz, radius):
    dx = px - cx
    dz = pz - cz
    return max(0.0, math.sqrt(dx * dx + dz * dz) - radius)


@nb.njit(**_JIT)
def _spawn_pellet(k, cx, cz, radius, arena, u_dist, u_angle, prev_angle, out):
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


@nb.njit(**_JIT)
def _fitness(sim, n_collected, has_pellet, px, pz, init_dist, closest, cx, cz, radius, net_xz, t, terms):
    """Fitness of reference §4.1 with `sim`'s weights; fills `terms` and returns the total."""
    pellet_term = sim[P_W_PELLET] * n_collected
    progress_term = 0.0
    regression_term = 0.0
    if has_pellet and init_dist > 0.0:
        d = _edge_distance(cx, cz, px, pz, radius)
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


@nb.njit(**_JIT)
def _com(n, pos, mass, total_mass, out):
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


@nb.njit(**_JIT)
def body_heading(pos):
    """The creature's heading in the ground plane: the unit XZ direction from node 0 to node 1 (x when
    they are stacked), as (cos, sin) of the angle the body frame is turned by."""
    hx = pos[1, 0] - pos[0, 0]
    hz = pos[1, 2] - pos[0, 2]
    length = math.sqrt(hx * hx + hz * hz)
    if length > 1e-6:
        return hx / length, hz / length
    return 1.0, 0.0


@nb.njit(**_JIT)
def motion_heading(vx, vz, hx, hz):
    """The direction the creature moves in, in the ground plane, from its unit velocity direction; the
    body heading (hx, hz) while it barely moves sideways."""
    length = math.sqrt(vx * vx + vz * vz)
    if length > 0.1:
        return vx / length, vz / length
    return hx, hz


@nb.njit(**_JIT)
def _network(weights, hidden, activation, inputs, h_buf, outputs, n_out):
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


@nb.njit(**_JIT)
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
        r = 0.5 * node_params[i, _SIZE]
        radius[i] = r
        mass[i] = 10.0 * (4.0 / 3.0) * math.pi * r * r * r
        inv_mass[i] = 1.0 / mass[i]
        total_mass += mass[i]
        pos[i, 0] = node_params[i, _X]
        pos[i, 1] = node_params[i, _X + 1] + 1.0
        pos[i, 2] = node_params[i, _X + 2]
        vel[i, 0] = 0.0
        vel[i, 1] = 0.0
        vel[i, 2] = 0.0

    # Creature XZ radius from the rest pose (reference §4.2): unweighted centroid, 1.3x the extent.
    gx = 0.0
    gz = 0.0
    for i in range(n):
        gx += node_params[i, _X]
        gz += node_params[i, _X + 2]
    gx /= n
    gz /= n
    extent = 0.0
    for i in range(n):
        dx = node_params[i, _X] - gx
        dz = node_params[i, _X + 2] - gz
        extent = max(extent, math.sqrt(dx * dx + dz * dz) + radius[i])
    body_radius = max(1.0, 1.3 * extent)

    dq = DQ_NONE
    max_f = sim[P_MAX_FREQUENCY] * (1.0 + 1e-6)  # genes are float32: clamped products may round up
    for j in range(m):
        f = muscle_params[j, _FREQ] * multiplier
        if f > max_f:
            dq = DQ_FREQUENCY
        rest_base[j] = muscle_params[j, _REST]
        ph_c[j] = math.cos(muscle_params[j, _PHASE])
        ph_s[j] = math.sin(muscle_params[j, _PHASE])
        angle = 2.0 * math.pi * f * dt
        rot_c[j] = math.cos(angle)
        rot_s[j] = math.sin(angle)
    # time_phase sensor sin(2 pi t), advanced by the same phasor rotation
    tp_c = 1.0
    tp_s = 0.0
    tp_rc = math.cos(2.0 * math.pi * dt)
    tp_rs = math.sin(2.0 * math.pi * dt)

    _com(n, pos, mass, total_mass, com)
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
            angle_prev = _spawn_pellet(
                0, c0x, c0z, body_radius, sim[P_ARENA], draws[0, 0], draws[0, 1], 0.0, pellet_xyz
            )
        else:
            pellet_xyz[0] = explicit_pellets[0, 0]
            pellet_xyz[1] = explicit_pellets[0, 1]
            pellet_xyz[2] = explicit_pellets[0, 2]
        out_pellet_pos[c, 0, 0] = pellet_xyz[0]
        out_pellet_pos[c, 0, 1] = pellet_xyz[1]
        out_pellet_pos[c, 0, 2] = pellet_xyz[2]
        out_pellet_spawn[c, 0] = 0
        out_pellet_init[c, 0] = _edge_distance(c0x, c0z, pellet_xyz[0], pellet_xyz[2], body_radius)
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
        _com(n, pos, mass, total_mass, com)
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
            _network(net_weights, net_hidden, net_activation, sensors, h_buf, net_out, m)

        # -- control law: each muscle's rest length for this step --------------------------------------
        for j in range(m):
            base = ph_s[j]
            amp = muscle_params[j, _AMP]
            if use_net and neural_mode == MODE_HYBRID:
                contraction = base * amp * (0.5 + (net_out[j] + 1.0) * 0.5)
            elif use_net:
                contraction = net_out[j] * amp
            else:
                mod = 1.0
                mod += (
                    pdx * muscle_params[j, _DIR] + pdy * muscle_params[j, _DIR + 1] + pdz * muscle_params[j, _DIR + 2]
                ) * muscle_params[j, _BIAS_S]
                mod += (
                    vx * muscle_params[j, _VEL] + vy * muscle_params[j, _VEL + 1] + vz * muscle_params[j, _VEL + 2]
                ) * muscle_params[j, _VEL_S]
                mod += muscle_params[j, _DIST_B] * (1.0 - norm_dist) * muscle_params[j, _DIST_S]
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
                    force = -muscle_params[j, _STIFF] * (length - rest_now[j]) - muscle_params[j, _DAMP] * vrel
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
                        limit = sim[P_GROUND_FRICTION] * node_params[i, _FRICTION] * approach
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

        _com(n, pos, mass, total_mass, com)
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
                            angle_prev = _spawn_pellet(
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
                        out_pellet_init[c, k] = _edge_distance(
                            com[0], com[2], pellet_xyz[0], pellet_xyz[2], body_radius
                        )
                        n_spawned += 1
                    break
        if collected < n_spawned:
            d = _edge_distance(com[0], com[2], pellet_xyz[0], pellet_xyz[2], body_radius)
            if d < closest:
                closest = d

        if record and step % STEPS_PER_FRAME == 0:
            f_idx = step // STEPS_PER_FRAME
            if f_idx < n_frames:
                for i in range(n):
                    out_frames[c, f_idx, i, 0] = pos[i, 0]
                    out_frames[c, f_idx, i, 1] = pos[i, 1]
                    out_frames[c, f_idx, i, 2] = pos[i, 2]
                out_fot[c, f_idx] = _fitness(
                    sim, collected, collected < n_spawned, pellet_xyz[0], pellet_xyz[2],
                    out_pellet_init[c, collected] if collected < n_spawned else 0.0, closest,
                    com[0], com[2], body_radius, net_xz, t, terms,
                )  # fmt: skip
                last_frame = f_idx

    if dq == DQ_NONE:
        _com(n, pos, mass, total_mass, com)
        t_end = n_steps * dt
        fitness = _fitness(
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
    _com(n, pos, mass, total_mass, com)
    out_distance[c] = path
    ex = com[0] - c0x
    ey = com[1] - c0y
    ez = com[2] - c0z
    out_net_disp[c] = math.sqrt(ex * ex + ey * ey + ez * ez) if dq == DQ_NONE else 0.0
    out_n_spawned[c] = n_spawned


@nb.njit(parallel=True, **_JIT)
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
