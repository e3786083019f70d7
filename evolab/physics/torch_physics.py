"""The physics of `kernel_creature.simulate_creature`, written over whole batches of torch tensors.

Every creature of a batch is stepped together as (B, N, ...) tensors, padded nodes and muscles masked
out. The formulation is gather-only (no scatter-add, which is non-deterministic on CUDA) and keeps the
CPU kernel's order of floating-point operations wherever a creature sums several terms:

* muscle forces reach their nodes through a per-node list of incident muscles (gathered, then added in
  muscle order, as the kernel's loop adds them);
* sums over a creature's nodes run left to right over the padded axis (padding adds exact zeros);
* node-node contacts are resolved pair by pair in the kernel's (i, k) order: the pairs are split into
  rounds of disjoint pairs that respect that order (Gauss-Seidel, not Jacobi), one round at a time.

So a creature's result depends neither on its batch-mates nor on the padded widths, and agrees with the
kernel up to its fastmath contractions. Creatures are sorted by sub-step count (descending) so that
sub-step k only touches the prefix of creatures that still have sub-steps to do.

The step is written without in-place updates of state tensors, so autograd can flow through it: pass the
genes to differentiate as `GeneTensors` to `rollout` (see `evolab.physics.gradients`). With grad on, every
square root that may see an exact 0 and every masked branch that may hold inf or NaN is sanitised so
no NaN leaks into the gradients; the forward values stay identical to the no-grad rollout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from evolab.genome.genes import (
    M_AMPLITUDE,
    M_BIAS_STRENGTH,
    M_DIR_X,
    M_DIST_BIAS,
    M_DIST_STRENGTH,
    M_FREQUENCY,
    M_PHASE,
    M_REST,
    M_VEL_STRENGTH,
    M_VEL_X,
    N_X,
)
from evolab.physics.constants import (
    CONTROL_DT,
    DQ_EXPLOSION,
    DQ_FREQUENCY,
    DQ_NAN,
    DQ_NONE,
    EXPLOSION_HEIGHT,
    EXPLOSION_RADIUS,
    FRAME_MOTION,
    FRAME_WORLD,
    MAX_PELLETS,
    MODE_HYBRID,
    MODE_OFF,
    P_ARENA,
    P_MAX_FREQUENCY,
    P_SENSOR_FRAME,
    P_W_MOVEMENT,
    P_W_PELLET,
    P_W_PROGRESS,
    P_W_REGRESSION,
    P_W_SPEED,
    PELLET_REACH,
    STEPS_PER_FRAME,
)
from evolab.physics.contract import PelletDraws, SimParams
from evolab.physics.pack import PackedBatch
from evolab.physics.torch_creatures import (
    ContactPlan,
    Creatures,
    GeneTensors,
    Tensor,
    build_creatures,
    contact_rounds,
    dot3,
    exact_valued,
    gather_rows,
    onehot,
    safe_sqrt,
    seq_sum,
)
from evolab.physics.torch_step import compiled_substep, substep

__all__ = ["GeneTensors", "Outputs", "contact_rounds", "rollout", "safe_sqrt", "seq_sum"]


# -- the rules around the integrator --------------------------------------------------------------------


def center_of_mass(pos: Tensor, mass: Tensor, total_mass: Tensor) -> Tensor:
    """(B, 3) mass-weighted centre, summed over nodes in order (padded nodes weigh 0)."""
    return seq_sum(mass[..., None] * pos, 1) / total_mass[:, None]


def edge_distance(cx: Tensor, cz: Tensor, px: Tensor, pz: Tensor, radius: Tensor) -> Tensor:
    """XZ distance from the body's edge (a circle of `radius` around the centre) to the pellet."""
    dx = px - cx
    dz = pz - cz
    return torch.clamp(safe_sqrt(dx * dx + dz * dz) - radius, min=0.0)


def spawn_pellet(
    k: Tensor, cx: Tensor, cz: Tensor, radius: Tensor, arena: float, u: Tensor, prev_angle: Tensor
) -> tuple[Tensor, Tensor]:
    """Pellet k of each creature around (cx, cz) from its draws u (B, 2), by `kernel_rules.spawn_pellet`;
    returns (B, 3) positions and the angles drawn."""
    u_dist, u_angle = u[:, 0], u[:, 1]
    first = k == 0
    kf = k.to(cx.dtype)
    extra = torch.where(first, 7.0 + u_dist, torch.where(k <= 2, 8.0 + u_dist, 9.0 + u_dist))
    angle = torch.where(first, u_angle * 2.0 * math.pi, prev_angle + math.pi + (u_angle - 0.5) * math.pi)
    y = torch.where(first, 0.3, 0.3 + 0.4 * kf)
    dist = radius + extra
    half = 0.45 * arena
    x = torch.clamp(cx + torch.cos(angle) * dist, -half, half)
    z = torch.clamp(cz + torch.sin(angle) * dist, -half, half)
    return torch.stack([x, y.to(cx.dtype), z], dim=-1), angle


def fitness_terms(
    sim: np.ndarray,
    collected: Tensor,
    has_pellet: Tensor,
    pellet: Tensor,
    init_dist: Tensor,
    closest: Tensor,
    com: Tensor,
    radius: Tensor,
    net_xz: Tensor,
    t: float,
) -> tuple[Tensor, Tensor]:
    """(B,) fitness and (B, 4) terms by `kernel_rules.fitness_terms`."""
    n_collected = collected.to(com.dtype)
    pellet_term = sim[P_W_PELLET] * n_collected
    scored = has_pellet & (init_dist > 0.0)
    safe_init = torch.where(scored, init_dist, 1.0)
    d = edge_distance(com[:, 0], com[:, 2], pellet[:, 0], pellet[:, 2], radius)
    progress = torch.clamp((safe_init - d) / safe_init, 0.0, 1.0)
    progress_term = torch.where(scored, sim[P_W_PROGRESS] * progress, 0.0)
    regressed = scored & (collected > 0) & (d > closest)
    back = torch.where(regressed, d - closest, 0.0)
    regression_term = torch.where(regressed, sim[P_W_REGRESSION] * torch.clamp(back / (0.5 * safe_init), max=1.0), 0.0)
    movement = sim[P_W_MOVEMENT] * torch.clamp((net_xz / t) / sim[P_W_SPEED], max=1.0) if t > 0.5 else 0.0
    movement_term = torch.zeros_like(pellet_term) + movement
    total = torch.clamp(pellet_term + progress_term - regression_term + movement_term, min=0.0)
    return total, torch.stack([pellet_term, progress_term, regression_term, movement_term], dim=-1)


@dataclass(frozen=True)
class Controller:
    """Per-creature control constants: the oscillators' genes and the (padded) network."""

    rest_base: Tensor  # (B, M)
    amplitude: Tensor  # (B, M)
    direction: Tensor  # (B, M, 3) pellet-direction bias
    bias_strength: Tensor
    velocity: Tensor  # (B, M, 3)
    vel_strength: Tensor
    dist_bias: Tensor
    dist_strength: Tensor
    rot_c: Tensor  # (B, M) phasor rotation per control step
    rot_s: Tensor
    use_net: Tensor  # (B, 1) bool
    w_in: Tensor  # (B, 8, H)
    b_hidden: Tensor  # (B, H)
    w_out: Tensor  # (B, H, M)
    b_out: Tensor  # (B, M)
    activation: Tensor  # (B, 1) long


def build_controller(
    batch: PackedBatch, params: SimParams, device: str, dtype: torch.dtype, genes: GeneTensors | None = None
) -> Controller:
    """The oscillators and networks of `batch`, the flat weights unpacked into padded matrices (from
    `genes` when given, so gradients reach them)."""

    def t(x: np.ndarray) -> Tensor:
        return torch.as_tensor(np.ascontiguousarray(x), device=device, dtype=dtype)

    mp = np.where(batch.muscle_mask[:, :, None], batch.muscle_params, 0.0)
    freq = mp[:, :, M_FREQUENCY] * batch.frequency_multiplier[:, None]
    angle = 2.0 * math.pi * freq * CONTROL_DT
    hid = batch.net_hidden.astype(np.int64)
    m = batch.n_muscles.astype(np.int64)
    width_h = max(int(hid.max()), 1)
    width_m = mp.shape[1]
    weights = batch.net_weights

    def take(index: np.ndarray, valid: np.ndarray) -> Tensor:
        flat = np.clip(index.reshape(len(hid), -1), 0, weights.shape[1] - 1)
        if genes is None:
            got = np.take_along_axis(weights, flat, axis=1).reshape(index.shape)
            return t(np.where(valid, got, 0.0))
        got_t = torch.gather(genes.net_weights, 1, torch.as_tensor(flat, device=device)).reshape(index.shape)
        return torch.where(torch.as_tensor(np.ascontiguousarray(valid), device=device), got_t, 0.0)

    i8 = np.arange(8)[None, :, None]
    jh = np.arange(width_h)[None, None, :]
    om = np.arange(width_m)[None, None, :]
    hb = hid[:, None, None]
    mb = m[:, None, None]
    w_in = take(i8 * hb + jh, np.broadcast_to(jh < hb, (len(hid), 8, width_h)))
    b_hidden = take((8 * hb + jh)[:, 0], (jh < hb)[:, 0])
    ho = 9 * hb
    jh_col = np.arange(width_h)[None, :, None]
    w_out = take(ho + jh_col * mb + om, (jh_col < hb) & (om < mb))
    b_out = take((ho + hb * mb + om)[:, 0], (om < mb)[:, 0])
    use_net = (params.neural_mode != MODE_OFF) & (hid > 0)
    if genes is None:
        mpt = t(mp)
    else:
        mpt = torch.where(torch.as_tensor(batch.muscle_mask[:, :, None], device=device), genes.muscle_params, 0.0)
    # the phasor's rotation, valued by numpy as without genes; d angle / d frequency = 2 pi multiplier dt
    d_angle = 2.0 * math.pi * batch.frequency_multiplier[:, None] * CONTROL_DT
    f = mpt[:, :, M_FREQUENCY]
    return Controller(
        rest_base=mpt[:, :, M_REST],
        amplitude=mpt[:, :, M_AMPLITUDE],
        direction=mpt[:, :, M_DIR_X : M_DIR_X + 3],
        bias_strength=mpt[:, :, M_BIAS_STRENGTH],
        velocity=mpt[:, :, M_VEL_X : M_VEL_X + 3],
        vel_strength=mpt[:, :, M_VEL_STRENGTH],
        dist_bias=mpt[:, :, M_DIST_BIAS],
        dist_strength=mpt[:, :, M_DIST_STRENGTH],
        rot_c=exact_valued(np.cos(angle), f, -np.sin(angle) * d_angle, device, dtype),
        rot_s=exact_valued(np.sin(angle), f, np.cos(angle) * d_angle, device, dtype),
        use_net=torch.as_tensor(use_net[:, None], device=device),
        w_in=w_in,
        b_hidden=b_hidden,
        w_out=w_out,
        b_out=b_out,
        activation=torch.as_tensor(batch.net_activation.astype(np.int64)[:, None], device=device),
    )


def network_forward(ctl: Controller, sensors: list[Tensor]) -> Tensor:
    """(B, M) tanh outputs of each creature's 8-H-M network, summed in the kernel's order."""
    acc = ctl.b_hidden
    for i, s in enumerate(sensors):
        acc = acc + s[:, None] * ctl.w_in[:, i]
    relu = torch.clamp(acc, min=0.0)
    sigmoid = 1.0 / (1.0 + torch.exp(-torch.clamp(acc, -500.0, 500.0)))
    hidden = torch.where(ctl.activation == 1, relu, torch.where(ctl.activation == 2, sigmoid, torch.tanh(acc)))
    out = ctl.b_out
    for j in range(hidden.shape[1]):  # padded hidden units have zero outgoing weights: they add exact zeros
        out = out + hidden[:, j, None] * ctl.w_out[:, j]
    return torch.tanh(out)


def control(
    ctl: Controller, neural_mode: int, ph_s: Tensor, pd: Tensor, v: Tensor, norm_dist: Tensor, tp_s: float
) -> Tensor:
    """(B, M) contraction of every muscle this control step: oscillator, hybrid or pure neural."""
    base_amp = ph_s * ctl.amplitude
    mod = 1.0 + dot3(pd[:, None], ctl.direction) * ctl.bias_strength
    mod = mod + dot3(v[:, None], ctl.velocity) * ctl.vel_strength
    mod = mod + ctl.dist_bias * (1.0 - norm_dist[:, None]) * ctl.dist_strength
    oscillator = base_amp * torch.clamp(mod, 0.1, 2.5)
    if neural_mode == MODE_OFF:
        return oscillator
    tp = torch.full_like(norm_dist, tp_s)
    net = network_forward(ctl, [pd[:, 0], pd[:, 1], pd[:, 2], v[:, 0], v[:, 1], v[:, 2], norm_dist, tp])
    neural = base_amp * (0.5 + (net + 1.0) * 0.5) if neural_mode == MODE_HYBRID else net * ctl.amplitude
    return torch.where(ctl.use_net, neural, oscillator)


def _heading(pos: Tensor, v: Tensor, sensor_frame: int) -> tuple[Tensor, Tensor]:
    """(cos, sin) of the sensing frame's turn: node 0 -> node 1 in XZ, or the motion when it moves."""
    hx = pos[:, 1, 0] - pos[:, 0, 0]
    hz = pos[:, 1, 2] - pos[:, 0, 2]
    length = safe_sqrt(hx * hx + hz * hz)
    turned = length > 1e-6
    safe = torch.where(turned, length, 1.0)
    hx = torch.where(turned, hx / safe, 1.0)
    hz = torch.where(turned, hz / safe, 0.0)
    if sensor_frame == FRAME_MOTION:
        moving = safe_sqrt(v[:, 0] * v[:, 0] + v[:, 2] * v[:, 2])
        fast = moving > 0.1
        safe = torch.where(fast, moving, 1.0)
        hx = torch.where(fast, v[:, 0] / safe, hx)
        hz = torch.where(fast, v[:, 2] / safe, hz)
    return hx, hz


def _turn(vec: Tensor, hx: Tensor, hz: Tensor) -> Tensor:
    """(B, 3) world XZ components expressed in the heading frame (forward, up, right)."""
    x, y, z = vec.unbind(-1)
    return torch.stack([x * hx + z * hz, y, z * hx - x * hz], dim=-1)


@dataclass
class Outputs:
    """The raw outputs of a rollout as tensors, rows in simulation order."""

    fitness: Tensor
    pellets: Tensor
    dq: Tensor
    distance: Tensor
    net_displacement: Tensor
    terms: Tensor
    pellet_pos: Tensor
    pellet_spawn: Tensor
    pellet_collect: Tensor
    pellet_init: Tensor
    n_spawned: Tensor
    frames: Tensor | None
    fitness_over_time: Tensor | None
    com: Tensor | None = None
    """(B, 3) final centre of mass."""
    net_xz: Tensor | None = None
    """(B,) XZ distance of the final centre of mass from the start (kept when disqualified)."""
    progress: Tensor | None = None
    """(B,) with `track_progress`: the XZ distance to the active pellet the centre of mass closed, summed
    step by step (each step against the pellet that was active during it); stops at disqualification."""


def rollout(
    batch: PackedBatch,
    params: SimParams,
    draws: PelletDraws,
    steps: np.ndarray,
    record: bool,
    device: str,
    dtype: torch.dtype,
    skip_idle_contacts: bool = True,
    *,
    genes: GeneTensors | None = None,
    truncate: int = 0,
    track_progress: bool = False,
    compiled: bool = False,
) -> Outputs:
    """Simulate every creature of `batch` (sorted by descending `steps`) for `params.n_steps` steps.

    Python loops over control steps and sub-steps only; each creature reads only its own rows.

    Args:
        genes: tensors of the muscle genes and network weights to take (and differentiate) instead of the
            batch's own; their values must be the batch's.
        truncate: when > 0, the body's state is detached from the graph every `truncate` control steps
            (truncated back-propagation: gradients see only the last window; values do not change).
        track_progress: also accumulate `Outputs.progress`.
        compiled: run the sub-step through `torch.compile` (`torch_step.compiled_substep`; implies
            `skip_idle_contacts=False`). Deterministic, but not bit-identical to eager.
    """
    sim = params.sim
    b = batch.node_mask.shape[0]
    long = {"device": device, "dtype": torch.long}
    # sub-step k touches the creatures that still have one to do: a prefix, as they are sorted
    max_sub = int(steps.max())
    active = [int((steps > k).sum()) for k in range(max_sub)]
    n = batch.node_mask.shape[1]
    rounds = ContactPlan.of(n, device, dtype) if params.self_collision and n > 1 else None
    c = build_creatures(batch, params, steps, device, dtype, genes, rounds)
    heads = {k: c.head(k) for k in set(active)}
    step_fn = compiled_substep() if compiled else substep
    skip_idle_contacts = skip_idle_contacts and not compiled
    ctl = build_controller(batch, params, device, dtype, genes)

    np_ = batch.node_params
    rest_pos = np.where(batch.node_mask[:, :, None], np_[:, :, N_X : N_X + 3] + np.array([0.0, 1.0, 0.0]), 0.0)
    pos = torch.as_tensor(rest_pos, device=device, dtype=dtype)
    vel = torch.zeros_like(pos)
    total_mass = seq_sum(c.mass, 1)
    body_radius = _body_radius(batch, c, device, dtype)

    max_f = sim[P_MAX_FREQUENCY] * (1.0 + 1e-6)  # genes are float32: clamped products may round up
    freq = batch.muscle_params[:, :, M_FREQUENCY] * batch.frequency_multiplier[:, None]
    too_fast = ((freq > max_f) & batch.muscle_mask).any(axis=1)
    dq = torch.as_tensor(np.where(too_fast, DQ_FREQUENCY, DQ_NONE), **long)
    alive = dq == DQ_NONE
    phase = np.where(batch.muscle_mask, batch.muscle_params[:, :, M_PHASE], 0.0)
    if genes is None:
        ph_c = torch.as_tensor(np.cos(phase), device=device, dtype=dtype)
        ph_s = torch.as_tensor(np.sin(phase), device=device, dtype=dtype)
    else:
        real = torch.as_tensor(batch.muscle_mask, device=device)
        phase_t = torch.where(real, genes.muscle_params[:, :, M_PHASE], 0.0)
        ph_c = exact_valued(np.cos(phase), phase_t, -np.sin(phase), device, dtype)
        ph_s = exact_valued(np.sin(phase), phase_t, np.cos(phase), device, dtype)
    tp_c, tp_s = 1.0, 0.0
    tp_rc, tp_rs = math.cos(2.0 * math.pi * CONTROL_DT), math.sin(2.0 * math.pi * CONTROL_DT)

    c0 = center_of_mass(pos, c.mass, total_mass)
    prev = c0
    explicit = params.n_explicit >= 0
    max_pellets = params.n_explicit if explicit else MAX_PELLETS
    rows = torch.as_tensor(draws.rows[draws.row_of], device=device, dtype=dtype)  # (B, MAX_PELLETS, 2)
    fixed = torch.as_tensor(params.explicit_pellets, device=device, dtype=dtype)
    arena = float(sim[P_ARENA])

    def place(k: Tensor, com: Tensor, prev_angle: Tensor) -> tuple[Tensor, Tensor]:
        if explicit:
            return fixed[torch.clamp(k, max=fixed.shape[0] - 1)], prev_angle
        u = gather_rows(rows, torch.clamp(k, max=MAX_PELLETS - 1)[:, None])[:, 0]
        return spawn_pellet(k, com[:, 0], com[:, 2], body_radius, arena, u, prev_angle)

    zero_f = torch.zeros(b, device=device, dtype=dtype)
    zero_k = torch.zeros(b, **long)
    pellet_pos = torch.zeros((b, MAX_PELLETS, 3), device=device, dtype=dtype)
    pellet_spawn = torch.full((b, MAX_PELLETS), -1, **long)
    pellet_collect = torch.full((b, MAX_PELLETS), -1, **long)
    pellet_init = torch.zeros((b, MAX_PELLETS), device=device, dtype=dtype)
    pellet = torch.zeros((b, 3), device=device, dtype=dtype)
    angle_prev = zero_f
    cur_init = zero_f
    n_spawned = zero_k
    if max_pellets > 0:
        first, angle_prev = place(zero_k, c0, zero_f)
        cur_init = edge_distance(c0[:, 0], c0[:, 2], first[:, 0], first[:, 2], body_radius)
        slot0 = onehot(zero_k, MAX_PELLETS) & alive[:, None]
        pellet = torch.where(alive[:, None], first, pellet)
        pellet_pos = torch.where(slot0[..., None], first[:, None], pellet_pos)
        pellet_spawn = torch.where(slot0, 0, pellet_spawn)
        pellet_init = torch.where(slot0, cur_init[:, None], pellet_init)
        n_spawned = alive.to(torch.long)
    collected = zero_k
    closest = torch.full((b,), math.inf, device=device, dtype=dtype)
    path = zero_f
    net_xz = zero_f
    node_mask3 = c.node_mask[..., None]
    frames = [pos.to(torch.float32)] if record else []
    fot = [zero_f] if record else []
    last_pose = pos
    sensor_frame = int(sim[P_SENSOR_FRAME])
    progress = zero_f

    for step in range(params.n_steps):
        if truncate > 0 and step > 0 and step % truncate == 0:
            # truncated back-propagation (Brax APG's truncation_length): the state enters the next window
            # as a constant, so gradients never run through more than `truncate` steps of contacts
            pos, vel, prev = pos.detach(), vel.detach(), prev.detach()
        # -- sense ------------------------------------------------------------------------------------------
        com = center_of_mass(pos, c.mass, total_mass)
        v = com - prev
        vlen = safe_sqrt(dot3(v, v))
        still = vlen <= 0.001 if step > 0 else torch.ones_like(alive)
        v = torch.where(still[:, None], 0.0, v / torch.where(still, 1.0, vlen)[:, None])
        prev = com
        has = collected < n_spawned
        pd = pellet - com
        pdist = safe_sqrt(dot3(pd, pd))
        norm_dist = torch.where(has, torch.clamp(pdist / 20.0, max=1.0), 1.0)
        aimed = has & (pdist > 0.01)
        pd = torch.where(aimed[:, None], pd / torch.where(aimed, pdist, 1.0)[:, None], 0.0)
        if sensor_frame != FRAME_WORLD:
            hx, hz = _heading(pos, v, sensor_frame)
            pd, v = _turn(pd, hx, hz), _turn(v, hx, hz)

        # -- control ------------------------------------------------------------------------------------------
        contraction = control(ctl, params.neural_mode, ph_s, pd, v, norm_dist, tp_s)
        rest = ctl.rest_base * (1.0 - contraction)
        ph_c, ph_s = ph_c * ctl.rot_c - ph_s * ctl.rot_s, ph_s * ctl.rot_c + ph_c * ctl.rot_s
        tp_c, tp_s = tp_c * tp_rc - tp_s * tp_rs, tp_s * tp_rc + tp_c * tp_rs

        # -- integrate ------------------------------------------------------------------------------------------
        new_pos, new_vel = pos, vel
        for k in range(max_sub):
            cnt = active[k]
            if cnt == b:
                new_pos, new_vel = step_fn(new_pos, new_vel, rest, c, rounds, skip_idle_contacts)
            else:
                p, q = step_fn(new_pos[:cnt], new_vel[:cnt], rest[:cnt], heads[cnt], rounds, skip_idle_contacts)
                new_pos, new_vel = torch.cat([p, new_pos[cnt:]]), torch.cat([q, new_vel[cnt:]])
        t = (step + 1) * CONTROL_DT

        # -- disqualification: the first bad node decides (non-finite before exploded, as the kernel checks)
        bad = torch.where(
            ~torch.isfinite(new_pos).all(dim=-1),
            DQ_NAN,
            torch.where(
                (dot3(new_pos, new_pos) > EXPLOSION_RADIUS * EXPLOSION_RADIUS) | (new_pos[..., 1] > EXPLOSION_HEIGHT),
                DQ_EXPLOSION,
                DQ_NONE,
            ),
        )
        bad = torch.where(c.node_mask, bad, DQ_NONE)
        first_bad = torch.argmax((bad != DQ_NONE).to(torch.int32), dim=1)
        code = torch.gather(bad, 1, first_bad[:, None])[:, 0]
        fails = alive & (code != DQ_NONE)
        dq = torch.where(fails, code, dq)
        alive = alive & ~fails
        # a disqualified creature stops where it was: its later steps change nothing
        pos = torch.where(alive[:, None, None], new_pos, pos)
        vel = torch.where(alive[:, None, None], new_vel, vel)

        com = center_of_mass(pos, c.mass, total_mass)
        s = com - prev
        path = torch.where(alive, path + safe_sqrt(dot3(s, s)), path)
        ex, ez = com[:, 0] - c0[:, 0], com[:, 2] - c0[:, 2]
        net_xz = torch.where(alive, safe_sqrt(ex * ex + ez * ez), net_xz)
        if track_progress and max_pellets > 0:
            # a smooth stand-in for the pellet terms: the distance to the active pellet closed this step
            before = _xz_distance(prev, pellet)
            after = _xz_distance(com, pellet)
            progress = torch.where(alive & (collected < n_spawned), progress + (before - after), progress)

        # -- pellets: at most one collected per step ------------------------------------------------------
        if max_pellets > 0:
            gap = pos - pellet[:, None]
            reach = c.radius + PELLET_REACH
            touching = ((dot3(gap, gap) < reach * reach) & c.node_mask).any(dim=1)
            hit = alive & (collected < n_spawned) & touching
            pellet_collect = torch.where(onehot(collected, MAX_PELLETS) & hit[:, None], step + 1, pellet_collect)
            collected = collected + hit.to(torch.long)
            closest = torch.where(hit, math.inf, closest)
            spawn = hit & (n_spawned < max_pellets)
            k = n_spawned
            new, new_angle = place(k, com, angle_prev)
            new_init = edge_distance(com[:, 0], com[:, 2], new[:, 0], new[:, 2], body_radius)
            slot = onehot(k, MAX_PELLETS) & spawn[:, None]
            pellet = torch.where(spawn[:, None], new, pellet)
            angle_prev = torch.where(spawn, new_angle, angle_prev)
            cur_init = torch.where(spawn, new_init, cur_init)
            pellet_pos = torch.where(slot[..., None], new[:, None], pellet_pos)
            pellet_spawn = torch.where(slot, step + 1, pellet_spawn)
            pellet_init = torch.where(slot, new_init[:, None], pellet_init)
            n_spawned = n_spawned + spawn.to(torch.long)
            chasing = alive & (collected < n_spawned)
            d = edge_distance(com[:, 0], com[:, 2], pellet[:, 0], pellet[:, 2], body_radius)
            closest = torch.where(chasing & (d < closest), d, closest)

        if record and (step + 1) % STEPS_PER_FRAME == 0 and (step + 1) // STEPS_PER_FRAME < params.n_frames:
            last_pose = torch.where(alive[:, None, None], pos, last_pose)
            frames.append(torch.where(node_mask3, last_pose, 0.0).to(torch.float32))
            has = collected < n_spawned
            fit, _ = fitness_terms(sim, collected, has, pellet, torch.where(has, cur_init, 0.0), closest, com,
                                   body_radius, net_xz, t)  # fmt: skip
            fot.append(torch.where(alive, fit, 0.0))

    com = center_of_mass(pos, c.mass, total_mass)
    has = collected < n_spawned
    fit, terms = fitness_terms(sim, collected, has, pellet, torch.where(has, cur_init, 0.0), closest, com,
                               body_radius, net_xz, params.n_steps * CONTROL_DT)  # fmt: skip
    e = com - c0
    out = Outputs(
        fitness=torch.where(alive, fit, 0.0),
        pellets=collected,
        dq=dq,
        distance=path,
        net_displacement=torch.where(alive, safe_sqrt(dot3(e, e)), 0.0),
        terms=torch.where(alive[:, None], terms, 0.0),
        pellet_pos=pellet_pos,
        pellet_spawn=pellet_spawn,
        pellet_collect=pellet_collect,
        pellet_init=pellet_init,
        n_spawned=n_spawned,
        frames=None,
        fitness_over_time=None,
        com=com,
        net_xz=net_xz,
        progress=progress if track_progress else None,
    )
    if record:
        # frames a disqualified creature never reached hold its last recorded pose and score 0
        while len(frames) < params.n_frames:
            frames.append(frames[-1])
            fot.append(zero_f)
        out.frames = torch.stack(frames, dim=1)
        out.fitness_over_time = torch.stack(fot, dim=1)
    return out


def _xz_distance(a: Tensor, b: Tensor) -> Tensor:
    """(B,) XZ distance between (B, 3) points."""
    dx = b[:, 0] - a[:, 0]
    dz = b[:, 2] - a[:, 2]
    return safe_sqrt(dx * dx + dz * dz)


def _body_radius(batch: PackedBatch, c: Creatures, device: str, dtype: torch.dtype) -> Tensor:
    """(B,) the creature's XZ radius from its rest pose: 1.3x the extent around the unweighted centroid."""
    mask = c.node_mask
    rest = torch.as_tensor(batch.node_params[:, :, N_X : N_X + 3], device=device, dtype=dtype)
    rest = torch.where(mask[..., None], rest, 0.0)
    n = torch.as_tensor(batch.n_nodes, device=device).to(dtype)
    gx = seq_sum(rest[..., 0], 1) / n
    gz = seq_sum(rest[..., 2], 1) / n
    dx = rest[..., 0] - gx[:, None]
    dz = rest[..., 2] - gz[:, None]
    reach = torch.where(mask, torch.sqrt(dx * dx + dz * dz) + c.radius, 0.0)
    return torch.clamp(1.3 * reach.max(dim=1).values, min=1.0)
