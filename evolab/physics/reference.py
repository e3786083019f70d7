"""Plain Python reference of one creature's simulation, step for step as `kernel_creature.simulate_creature`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evolab.config import SimConfig
from evolab.genome.model import Genome
from evolab.physics import constants
from evolab.physics import kernel_rules as rules
from evolab.physics.pack import ACTIVATION_CODES, creature_draw_key
from evolab.physics.reference_rules import center_of_mass, edge_distance, fitness_terms, network_forward, spawn_pellet

_SIZE, _FRICTION, _X = 0, 1, 2
_REST, _STIFF, _DAMP, _FREQ, _AMP, _PHASE = 0, 1, 2, 3, 4, 5
_DIR, _BIAS_S, _VEL, _VEL_S, _DIST_B, _DIST_S = 6, 9, 10, 13, 14, 15
_MODES = {"off": constants.MODE_OFF, "hybrid": constants.MODE_HYBRID, "pure": constants.MODE_PURE}


@dataclass(frozen=True, slots=True, eq=False)
class ReferenceResult:
    """What the reference computes for one creature (the kernel's outputs for its row).

    Attributes:
        fitness: final fitness (0 when disqualified).
        pellets_collected: pellets touched.
        disqualified: `constants.DQ_*` code (0: not disqualified).
        distance_traveled: 3D path length of the centre of mass over all control steps (units).
        net_displacement: 3D spawn-to-final centre-of-mass distance (units; 0 when disqualified).
        terms: (4,) float64 final fitness terms: pellets, progress, regression, movement.
        pellet_positions: (n_spawned, 3) float64 positions of the spawned pellets.
        pellet_spawn_steps: (n_spawned,) int control step at which each pellet appeared.
        pellet_collect_steps: (n_spawned,) int control step at which each was collected, -1 if never.
        pellet_initial_distances: (n_spawned,) float64 edge distance at spawn (units).
        substeps: integrator sub-steps per control step.
        frames: (n_frames, n_nodes, 3) float32 node positions at 15 FPS, or None unrecorded.
        fitness_over_time: (n_frames,) float64 fitness at each frame, or None unrecorded.
    """

    fitness: float
    pellets_collected: int
    disqualified: int
    distance_traveled: float
    net_displacement: float
    terms: np.ndarray
    pellet_positions: np.ndarray
    pellet_spawn_steps: np.ndarray
    pellet_collect_steps: np.ndarray
    pellet_initial_distances: np.ndarray
    substeps: int
    frames: np.ndarray | None
    fitness_over_time: np.ndarray | None


def pellet_draws_for(genome: Genome, cfg: SimConfig, seed: int) -> np.ndarray:
    """(10, 2) uniform pellet draws (distance, angle) that `simulate` gives `genome` under `seed`."""
    if cfg.pellet_mode == "shared":
        return np.random.default_rng(seed).random((1, constants.MAX_PELLETS, 2))[0]
    return np.random.default_rng([seed, creature_draw_key(genome.id)]).random((constants.MAX_PELLETS, 2))


def simulate_reference(
    genome: Genome,
    cfg: SimConfig,
    seed: int = 0,
    *,
    pellets: np.ndarray | list[tuple[float, float, float]] | None = None,
    record: bool = True,
) -> ReferenceResult:
    """Simulate one creature in plain Python, in the kernel's order of operations (the kernel's oracle).

    Args:
        genome: the creature.
        cfg: physics, pellets, fitness weights and neural mode.
        seed: per-evaluation pellet seed, used as `simulate` uses it (`cfg.pellet_mode`).
        pellets: explicit pellet positions used in order instead of random ones, as in `simulate`.
        record: also return frames and fitness over time.

    Returns:
        The creature's `ReferenceResult`.
    """
    node_params = genome.node_params.tolist()
    muscle_ends = genome.muscle_nodes.tolist()
    muscle_params = genome.muscle_params.tolist()
    n, m = genome.n_nodes, genome.n_muscles
    multiplier = genome.global_frequency_multiplier
    net = genome.neural
    net_hidden = 0 if net is None else net.hidden_size
    net_activation = 0 if net is None else ACTIVATION_CODES[net.activation]
    net_weights = [] if net is None else net.weights.tolist()
    neural_mode = _MODES[cfg.neural_mode]
    draws = pellet_draws_for(genome, cfg, seed).tolist()
    explicit = None if pellets is None else np.asarray(pellets, dtype=np.float64).tolist()
    n_explicit = -1 if explicit is None else len(explicit)
    n_steps, n_frames = cfg.n_steps, cfg.n_frames
    gravity = cfg.gravity
    arena = cfg.arena_size

    n_sub = int(
        rules.creature_substeps(
            n,
            m,
            genome.node_params.copy(),
            genome.muscle_nodes.astype(np.int32),
            genome.muscle_params.copy(),
            cfg.substeps,
            np.empty(n),
            np.empty(n),
        )
    )
    dt = constants.CONTROL_DT
    h = dt / n_sub
    damp_h = math.exp(h * math.log(1.0 - constants.LINEAR_DAMPING))

    radius, mass, inv_mass, pos, vel = [], [], [], [], []
    total_mass = 0.0
    for i in range(n):
        r = 0.5 * node_params[i][_SIZE]
        radius.append(r)
        mass.append(10.0 * (4.0 / 3.0) * math.pi * r * r * r)
        inv_mass.append(1.0 / mass[i])
        total_mass += mass[i]
        pos.append([node_params[i][_X], node_params[i][_X + 1] + 1.0, node_params[i][_X + 2]])
        vel.append([0.0, 0.0, 0.0])

    gx = 0.0
    gz = 0.0
    for i in range(n):
        gx += node_params[i][_X]
        gz += node_params[i][_X + 2]
    gx /= n
    gz /= n
    extent = 0.0
    for i in range(n):
        dx = node_params[i][_X] - gx
        dz = node_params[i][_X + 2] - gz
        extent = max(extent, math.sqrt(dx * dx + dz * dz) + radius[i])
    body_radius = max(1.0, 1.3 * extent)

    dq = constants.DQ_NONE
    max_f = cfg.max_allowed_frequency * (1.0 + 1e-6)
    rest_base, ph_c, ph_s, rot_c, rot_s = [], [], [], [], []
    for j in range(m):
        f = muscle_params[j][_FREQ] * multiplier
        if f > max_f:
            dq = constants.DQ_FREQUENCY
        rest_base.append(muscle_params[j][_REST])
        ph_c.append(math.cos(muscle_params[j][_PHASE]))
        ph_s.append(math.sin(muscle_params[j][_PHASE]))
        angle = 2.0 * math.pi * f * dt
        rot_c.append(math.cos(angle))
        rot_s.append(math.sin(angle))
    rest_now = [0.0] * m
    tp_c = 1.0
    tp_s = 0.0
    tp_rc = math.cos(2.0 * math.pi * dt)
    tp_rs = math.sin(2.0 * math.pi * dt)

    c0x, c0y, c0z = center_of_mass(pos, mass, total_mass)
    prev_x, prev_y, prev_z = c0x, c0y, c0z

    pellet_pos: list[list[float]] = []
    pellet_spawn: list[int] = []
    pellet_collect: list[int] = []
    pellet_init: list[float] = []
    pellet = [0.0, 0.0, 0.0]
    angle_prev = 0.0
    max_pellets = constants.MAX_PELLETS if n_explicit < 0 else n_explicit
    if max_pellets > 0 and dq == constants.DQ_NONE:
        if explicit is None:
            pellet, angle_prev = spawn_pellet(0, c0x, c0z, body_radius, arena, draws[0][0], draws[0][1], 0.0)
        else:
            pellet = list(explicit[0])
        pellet_pos.append(list(pellet))
        pellet_spawn.append(0)
        pellet_collect.append(-1)
        pellet_init.append(edge_distance(c0x, c0z, pellet[0], pellet[2], body_radius))
    n_spawned = len(pellet_pos)
    collected = 0
    closest = math.inf
    path = 0.0
    net_xz = 0.0

    frames = np.zeros((n_frames, n, 3), dtype=np.float32) if record else None
    fot = np.zeros(n_frames) if record else None
    if frames is not None:
        frames[0] = pos
    last_frame = 0

    use_net = neural_mode != constants.MODE_OFF and net_hidden > 0
    ground_friction = cfg.ground_friction
    step = 0
    while step < n_steps and dq == constants.DQ_NONE:
        # sense
        cx, cy, cz = center_of_mass(pos, mass, total_mass)
        vx = cx - prev_x
        vy = cy - prev_y
        vz = cz - prev_z
        vlen = math.sqrt(vx * vx + vy * vy + vz * vz)
        if step == 0 or vlen <= 0.001:
            vx = vy = vz = 0.0
        else:
            vx /= vlen
            vy /= vlen
            vz /= vlen
        prev_x, prev_y, prev_z = cx, cy, cz
        has_pellet = collected < n_spawned
        pdx = pdy = pdz = 0.0
        norm_dist = 1.0
        if has_pellet:
            pdx = pellet[0] - cx
            pdy = pellet[1] - cy
            pdz = pellet[2] - cz
            pdist = math.sqrt(pdx * pdx + pdy * pdy + pdz * pdz)
            norm_dist = min(pdist / 20.0, 1.0)
            if pdist > 0.01:
                pdx /= pdist
                pdy /= pdist
                pdz /= pdist
            else:
                pdx = pdy = pdz = 0.0
        if cfg.sensor_frame != "world":
            hx, hz = pos[1][0] - pos[0][0], pos[1][2] - pos[0][2]
            length = math.sqrt(hx * hx + hz * hz)
            hx, hz = (hx / length, hz / length) if length > 1e-6 else (1.0, 0.0)
            moving = math.sqrt(vx * vx + vz * vz)
            if cfg.sensor_frame == "motion" and moving > 0.1:
                hx, hz = vx / moving, vz / moving
            pdx, pdz = pdx * hx + pdz * hz, pdz * hx - pdx * hz
            vx, vz = vx * hx + vz * hz, vz * hx - vx * hz
        net_out: list[float] = []
        if use_net:
            sensors = [pdx, pdy, pdz, vx, vy, vz, norm_dist, tp_s]
            net_out = network_forward(net_weights, net_hidden, net_activation, sensors, m)

        # control law
        for j in range(m):
            p = muscle_params[j]
            base = ph_s[j]
            amp = p[_AMP]
            if use_net and neural_mode == constants.MODE_HYBRID:
                contraction = base * amp * (0.5 + (net_out[j] + 1.0) * 0.5)
            elif use_net:
                contraction = net_out[j] * amp
            else:
                mod = 1.0
                mod += (pdx * p[_DIR] + pdy * p[_DIR + 1] + pdz * p[_DIR + 2]) * p[_BIAS_S]
                mod += (vx * p[_VEL] + vy * p[_VEL + 1] + vz * p[_VEL + 2]) * p[_VEL_S]
                mod += p[_DIST_B] * (1.0 - norm_dist) * p[_DIST_S]
                mod = min(max(mod, 0.1), 2.5)
                contraction = base * amp * mod
            rest_now[j] = rest_base[j] * (1.0 - contraction)
            cj = ph_c[j]
            sj = ph_s[j]
            ph_c[j] = cj * rot_c[j] - sj * rot_s[j]
            ph_s[j] = sj * rot_c[j] + cj * rot_s[j]
        tpc = tp_c
        tp_c = tpc * tp_rc - tp_s * tp_rs
        tp_s = tp_s * tp_rc + tpc * tp_rs

        # integrate
        for _ in range(n_sub):
            acc = [[0.0, gravity, 0.0] for _ in range(n)]
            for j in range(m):
                a, b = muscle_ends[j]
                dx = pos[b][0] - pos[a][0]
                dy = pos[b][1] - pos[a][1]
                dz = pos[b][2] - pos[a][2]
                length = math.sqrt(dx * dx + dy * dy + dz * dz)
                if length > 1e-9:
                    ux = dx / length
                    uy = dy / length
                    uz = dz / length
                    vrel = (vel[b][0] - vel[a][0]) * ux + (vel[b][1] - vel[a][1]) * uy + (vel[b][2] - vel[a][2]) * uz
                    force = -muscle_params[j][_STIFF] * (length - rest_now[j]) - muscle_params[j][_DAMP] * vrel
                    fa = force * inv_mass[a]
                    fb = force * inv_mass[b]
                    acc[b][0] += fb * ux
                    acc[b][1] += fb * uy
                    acc[b][2] += fb * uz
                    acc[a][0] -= fa * ux
                    acc[a][1] -= fa * uy
                    acc[a][2] -= fa * uz
            for i in range(n):
                v = vel[i]
                v[0] = (v[0] + acc[i][0] * h) * damp_h
                v[1] = (v[1] + acc[i][1] * h) * damp_h
                v[2] = (v[2] + acc[i][2] * h) * damp_h
            if cfg.self_collision:
                for i in range(n - 1):
                    for q in range(i + 1, n):
                        dx = pos[q][0] - pos[i][0]
                        dy = pos[q][1] - pos[i][1]
                        dz = pos[q][2] - pos[i][2]
                        reach = radius[i] + radius[q]
                        d2 = dx * dx + dy * dy + dz * dz
                        if d2 < reach * reach and d2 > 1e-18:
                            d = math.sqrt(d2)
                            nx = dx / d
                            ny = dy / d
                            nz = dz / d
                            w = inv_mass[i] + inv_mass[q]
                            closing = (
                                (vel[q][0] - vel[i][0]) * nx
                                + (vel[q][1] - vel[i][1]) * ny
                                + (vel[q][2] - vel[i][2]) * nz
                            )
                            # inelastic: stop the approach; then a stiff contact spring (omega h = CONTACT_OMEGA_H,
                            # stable by construction) pushes the overlap out through real, momentum-conserving
                            # velocities, so nothing is pumped into the body or turned into a crawl by friction
                            imp = max(-closing, 0.0) / w + constants.CONTACT_OMEGA_H * constants.CONTACT_OMEGA_H * (
                                reach - d
                            ) / (h * w)
                            vel[i][0] -= imp * inv_mass[i] * nx
                            vel[i][1] -= imp * inv_mass[i] * ny
                            vel[i][2] -= imp * inv_mass[i] * nz
                            vel[q][0] += imp * inv_mass[q] * nx
                            vel[q][1] += imp * inv_mass[q] * ny
                            vel[q][2] += imp * inv_mass[q] * nz
            for i in range(n):
                v = vel[i]
                if pos[i][1] <= radius[i] and v[1] < 0.0:
                    approach = -v[1]
                    v[1] = constants.GROUND_RESTITUTION * approach if approach > constants.BOUNCE_THRESHOLD else 0.0
                    tx = v[0]
                    tz = v[2]
                    tangential = math.sqrt(tx * tx + tz * tz)
                    if tangential > 0.0:
                        limit = ground_friction * node_params[i][_FRICTION] * approach
                        scale = max(0.0, 1.0 - limit / tangential)
                        v[0] = tx * scale
                        v[2] = tz * scale
                p_i = pos[i]
                p_i[0] += vel[i][0] * h
                p_i[1] += vel[i][1] * h
                p_i[2] += vel[i][2] * h
                if p_i[1] < radius[i]:
                    p_i[1] = radius[i]
        step += 1
        t = step * dt

        # disqualification, first reason wins
        for x, y, z in pos:
            if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z)):
                dq = constants.DQ_NAN
                break
            if (
                x * x + y * y + z * z > constants.EXPLOSION_RADIUS * constants.EXPLOSION_RADIUS
                or y > constants.EXPLOSION_HEIGHT
            ):
                dq = constants.DQ_EXPLOSION
                break
        if dq != constants.DQ_NONE:
            break

        cx, cy, cz = center_of_mass(pos, mass, total_mass)
        sx = cx - prev_x
        sy = cy - prev_y
        sz = cz - prev_z
        path += math.sqrt(sx * sx + sy * sy + sz * sz)
        ex = cx - c0x
        ez = cz - c0z
        net_xz = math.sqrt(ex * ex + ez * ez)

        # pellets: at most one collected per step
        if collected < n_spawned:
            for i in range(n):
                dx = pos[i][0] - pellet[0]
                dy = pos[i][1] - pellet[1]
                dz = pos[i][2] - pellet[2]
                reach = radius[i] + constants.PELLET_REACH
                if dx * dx + dy * dy + dz * dz < reach * reach:
                    pellet_collect[collected] = step
                    collected += 1
                    closest = math.inf
                    if n_spawned < max_pellets:
                        idx = n_spawned
                        if explicit is None:
                            pellet, angle_prev = spawn_pellet(
                                idx, cx, cz, body_radius, arena, draws[idx][0], draws[idx][1], angle_prev
                            )
                        else:
                            pellet = list(explicit[idx])
                        pellet_pos.append(list(pellet))
                        pellet_spawn.append(step)
                        pellet_collect.append(-1)
                        pellet_init.append(edge_distance(cx, cz, pellet[0], pellet[2], body_radius))
                        n_spawned += 1
                    break
        if collected < n_spawned:
            d = edge_distance(cx, cz, pellet[0], pellet[2], body_radius)
            if d < closest:
                closest = d

        if frames is not None and fot is not None and step % constants.STEPS_PER_FRAME == 0:
            f_idx = step // constants.STEPS_PER_FRAME
            if f_idx < n_frames:
                frames[f_idx] = pos
                init = pellet_init[collected] if collected < n_spawned else 0.0
                fot[f_idx], _ = fitness_terms(
                    cfg, collected, collected < n_spawned, pellet, init, closest, cx, cz, body_radius, net_xz, t
                )
                last_frame = f_idx

    if dq == constants.DQ_NONE:
        cx, cy, cz = center_of_mass(pos, mass, total_mass)
        init = pellet_init[collected] if collected < n_spawned else 0.0
        fitness, terms = fitness_terms(
            cfg, collected, collected < n_spawned, pellet, init, closest, cx, cz, body_radius, net_xz, n_steps * dt
        )
    else:
        fitness, terms = 0.0, [0.0] * constants.N_TERMS
    if frames is not None and fot is not None:
        frames[last_frame + 1 :] = frames[last_frame]
        fot[last_frame + 1 :] = 0.0
    cx, cy, cz = center_of_mass(pos, mass, total_mass)
    ex = cx - c0x
    ey = cy - c0y
    ez = cz - c0z
    net_disp = math.sqrt(ex * ex + ey * ey + ez * ez) if dq == constants.DQ_NONE else 0.0
    return ReferenceResult(
        fitness=fitness,
        pellets_collected=collected,
        disqualified=dq,
        distance_traveled=path,
        net_displacement=net_disp,
        terms=np.array(terms),
        pellet_positions=np.array(pellet_pos).reshape(-1, 3),
        pellet_spawn_steps=np.array(pellet_spawn, dtype=np.int64),
        pellet_collect_steps=np.array(pellet_collect, dtype=np.int64),
        pellet_initial_distances=np.array(pellet_init),
        substeps=n_sub,
        frames=frames,
        fitness_over_time=fot,
    )


__all__ = ["ReferenceResult", "pellet_draws_for", "simulate_reference"]
