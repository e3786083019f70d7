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
    P_ARENA,
    P_GRAVITY,
    P_GROUND_FRICTION,
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

Tensor = torch.Tensor
_MASS_FACTOR = 10.0 * (4.0 / 3.0) * math.pi  # the kernel's 10 * (4/3) * pi * r^3, in its order


# -- small helpers --------------------------------------------------------------------------------------


def safe_sqrt(x: Tensor) -> Tensor:
    """sqrt(x) with a zero gradient where x == 0 (plain sqrt's is inf there, and 0 * inf leaks NaN into
    the gradients of every masked branch). The value is sqrt's, bit for bit, NaN included."""
    if not torch.is_grad_enabled():
        return torch.sqrt(x)
    zero = x == 0.0
    return torch.where(zero, 0.0, torch.sqrt(torch.where(zero, 1.0, x)))


def exact_valued(value: np.ndarray, x: Tensor, derivative: np.ndarray, device: str, dtype: torch.dtype) -> Tensor:
    """A tensor whose value is `value` (computed with numpy, exactly as the no-grad path does) and whose
    gradient with respect to `x` is `derivative`: f(x) without changing a bit of the forward value
    (torch's cos and sin may differ from numpy's in the last bit)."""
    v = torch.as_tensor(np.ascontiguousarray(value), device=device, dtype=dtype)
    if not x.requires_grad:
        return v
    return v + (x - x.detach()) * torch.as_tensor(np.ascontiguousarray(derivative), device=device, dtype=dtype)


@dataclass(frozen=True)
class GeneTensors:
    """The genes `rollout` differentiates, rows in simulation order (the batch's, after sorting).

    Their values must equal the batch's own (`batch.muscle_params`, `batch.net_weights`): the structure
    (sub-steps, frequency disqualification, masks) is still read from the batch.
    """

    muscle_params: Tensor  # (B, M, 16)
    net_weights: Tensor  # (B, W)


def dot3(a: Tensor, b: Tensor) -> Tensor:
    """a . b over the last axis (size 3), added x, y, z in that order (as the kernel does)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def seq_sum(x: Tensor, dim: int) -> Tensor:
    """Sum along `dim` left to right: a fixed order whatever the batch width or device (torch's own
    reductions pick their order by shape)."""
    parts = x.unbind(dim)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def contact_rounds(n: int) -> np.ndarray:
    """(R, n) partner of each node in each round of node-node contact resolution (itself when idle).

    The kernel resolves pairs (i, k), i < k, in lexicographic order, each seeing the velocities the
    earlier ones left. A pair only depends on the earlier pairs sharing one of its nodes, so giving each
    pair the round after the last round of either node keeps that order exactly, and the pairs of a
    round share no node: each round can be done for every node at once. Pairs with a padded node are
    masked no-ops, so the rounds of the padded width reproduce any smaller creature's order.
    """
    last = [0] * n
    rounds: list[list[int]] = []
    for i in range(n - 1):
        for k in range(i + 1, n):
            r = max(last[i], last[k])
            while len(rounds) <= r:
                rounds.append(list(range(n)))
            rounds[r][i] = k
            rounds[r][k] = i
            last[i] = last[k] = r + 1
    return np.array(rounds, dtype=np.int64).reshape(-1, n)


def _gather_rows(x: Tensor, index: Tensor) -> Tensor:
    """x[b, index[b, j], ...] for (B, K, ...) from x (B, N, ...) and index (B, K)."""
    shape = index.shape + x.shape[2:]
    expanded = index.reshape(index.shape + (1,) * (x.dim() - 2)).expand(shape)
    return torch.gather(x, 1, expanded)


def _onehot(index: Tensor, width: int) -> Tensor:
    """(B, width) bool, True at each row's `index` (writes an output slot without a scatter)."""
    return torch.arange(width, device=index.device)[None, :] == index[:, None]


# -- per-creature constants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Creatures:
    """The constants of B creatures (sorted by sub-steps), as tensors; `head(k)` is the first k of them."""

    node_mask: Tensor  # (B, N) bool
    radius: Tensor  # (B, N)
    mass: Tensor  # (B, N), 0 for padded nodes
    inv_mass: Tensor  # (B, N), 0 for padded nodes
    friction: Tensor  # (B, N) ground friction * node friction
    ends_a: Tensor  # (B, M) long
    ends_b: Tensor  # (B, M) long
    inv_a: Tensor  # (B, M) inverse mass at end a
    inv_b: Tensor  # (B, M)
    muscle_ok: Tensor  # (B, M) bool real muscle
    stiffness: Tensor  # (B, M)
    damping: Tensor  # (B, M)
    incidence: Tensor  # (B, N * K) long: entries of the (B, 2M + 1) contribution table, muscle order
    degree_width: int  # K
    h: Tensor  # (B, 1, 1) sub-step
    damp_h: Tensor  # (B, 1, 1) velocity decay per sub-step

    def head(self, k: int) -> Creatures:
        """The first k creatures (views, no copies)."""
        return Creatures(
            **{
                name: value[:k] if isinstance(value, Tensor) else value
                for name, value in ((f, getattr(self, f)) for f in self.__dataclass_fields__)
            }
        )


def _incidence(ends: np.ndarray, muscle_mask: np.ndarray, n_max: int) -> tuple[np.ndarray, int]:
    """(B, N * K) entries each node gathers its muscle forces from, in muscle order, and K.

    Entry j is muscle j's pull on its end a, M + j on its end b, 2M is a zero (padding)."""
    b, m = muscle_mask.shape
    node_ids = np.arange(n_max)
    # (B, N, M): does muscle j touch node i, and through which end
    at_a = (ends[:, None, :, 0] == node_ids[None, :, None]) & muscle_mask[:, None, :]
    at_b = (ends[:, None, :, 1] == node_ids[None, :, None]) & muscle_mask[:, None, :]
    touches = at_a | at_b
    k = max(int(touches.sum(axis=2).max()), 1)
    entry = np.where(at_a, np.arange(m)[None, None, :], np.arange(m)[None, None, :] + m)
    entry = np.where(touches, entry, 2 * m)
    # stable sort puts each node's incident muscles first, in muscle order (padding last)
    order = np.argsort(~touches, axis=2, kind="stable")
    entry = np.take_along_axis(entry, order, axis=2)[:, :, :k]
    return np.ascontiguousarray(entry.reshape(b, n_max * k)), k


def build_creatures(
    batch: PackedBatch,
    params: SimParams,
    steps: np.ndarray,
    device: str,
    dtype: torch.dtype,
    genes: GeneTensors | None = None,
) -> Creatures:
    """The constants of the creatures of `batch` (already in the order they are simulated)."""

    def t(x: np.ndarray) -> Tensor:
        return torch.as_tensor(np.ascontiguousarray(x), device=device, dtype=dtype)

    node_mask = batch.node_mask
    radius = np.where(node_mask, 0.5 * batch.node_params[:, :, N_SIZE], 0.0)
    mass = np.where(node_mask, _MASS_FACTOR * radius * radius * radius, 0.0)
    inv_mass = np.where(node_mask, 1.0 / np.where(node_mask, mass, 1.0), 0.0)
    ends = batch.muscle_ends.astype(np.int64)
    mmask = batch.muscle_mask
    inv_a = np.take_along_axis(inv_mass, ends[:, :, 0], axis=1)
    inv_b = np.take_along_axis(inv_mass, ends[:, :, 1], axis=1)
    incidence, k = _incidence(ends, mmask, node_mask.shape[1])
    # h and its decay per distinct sub-step count, with Python's libm as the kernel computes them
    counts, inverse = np.unique(steps, return_inverse=True)
    h = np.array([CONTROL_DT / s for s in counts.tolist()])[inverse]
    damp = np.array([math.exp((CONTROL_DT / s) * math.log(1.0 - LINEAR_DAMPING)) for s in counts.tolist()])[inverse]
    mp = batch.muscle_params
    mmask_t = torch.as_tensor(mmask, device=device)
    if genes is None:
        stiffness = t(np.where(mmask, mp[:, :, M_STIFFNESS], 0.0))
        damping = t(np.where(mmask, mp[:, :, M_DAMPING], 0.0))
    else:
        stiffness = torch.where(mmask_t, genes.muscle_params[:, :, M_STIFFNESS], 0.0)
        damping = torch.where(mmask_t, genes.muscle_params[:, :, M_DAMPING], 0.0)
    return Creatures(
        node_mask=torch.as_tensor(node_mask, device=device),
        radius=t(radius),
        mass=t(mass),
        inv_mass=t(inv_mass),
        friction=t(params.sim[P_GROUND_FRICTION] * batch.node_params[:, :, N_FRICTION]),
        ends_a=torch.as_tensor(ends[:, :, 0], device=device),
        ends_b=torch.as_tensor(ends[:, :, 1], device=device),
        inv_a=t(inv_a),
        inv_b=t(inv_b),
        muscle_ok=mmask_t,
        stiffness=stiffness,
        damping=damping,
        incidence=torch.as_tensor(incidence, device=device),
        degree_width=k,
        h=t(h[:, None, None]),
        damp_h=t(damp[:, None, None]),
    )


# -- one integrator sub-step ----------------------------------------------------------------------------


def substep(
    pos: Tensor, vel: Tensor, rest: Tensor, c: Creatures, gravity: float, rounds: ContactPlan | None, skip_idle: bool
) -> tuple[Tensor, Tensor]:
    """Advance (B, N, 3) positions and velocities by one sub-step of each creature's own h.

    Order as the kernel: muscle forces and gravity, velocity update with damping, node-node contacts
    (when `rounds` is given), ground contact and friction, position update and projection.
    """
    b, n, _ = pos.shape
    pa, pb = _gather_rows(pos, c.ends_a), _gather_rows(pos, c.ends_b)
    va, vb = _gather_rows(vel, c.ends_a), _gather_rows(vel, c.ends_b)
    d = pb - pa
    d2 = dot3(d, d)
    length = torch.sqrt(d2)
    ok = c.muscle_ok & (length > 1e-9)
    if torch.is_grad_enabled():  # padded and collapsed muscles: sqrt(0) would leak NaN gradients
        length = torch.sqrt(torch.where(ok, d2, 1.0))
    u = d / torch.where(ok, length, 1.0)[..., None]
    vrel = dot3(vb - va, u)
    force = -c.stiffness * (length - rest) - c.damping * vrel
    pull_a = torch.where(ok[..., None], -((force * c.inv_a)[..., None] * u), 0.0)
    pull_b = torch.where(ok[..., None], (force * c.inv_b)[..., None] * u, 0.0)
    table = torch.cat([pull_a, pull_b, torch.zeros_like(pull_a[:, :1])], dim=1)
    pulls = _gather_rows(table, c.incidence).reshape(b, n, c.degree_width, 3)
    zero = torch.zeros_like(c.radius)
    acc = torch.stack([zero, torch.where(c.node_mask, zero + gravity, zero), zero], dim=-1)
    for s in range(c.degree_width):  # each node adds its muscles in muscle order, as the kernel's loop does
        acc = acc + pulls[:, :, s]
    vel = (vel + acc * c.h) * c.damp_h
    if rounds is not None:
        vel = _node_contacts(pos, vel, c, rounds, skip_idle)
    vel = _ground(pos, vel, c)
    pos = pos + vel * c.h
    y = pos[..., 1]
    pos = torch.stack([pos[..., 0], torch.where(y < c.radius, c.radius, y), pos[..., 2]], dim=-1)
    return pos, vel


@dataclass(frozen=True)
class ContactPlan:
    """The node pairs of a padded width and the rounds they are resolved in (`contact_rounds`)."""

    lower: Tensor  # (P,) long: node i of pair (i, k), i < k, lexicographic
    upper: Tensor  # (P,) long: node k
    partner: Tensor  # (R, N) long: each node's partner in each round (itself when idle)
    entry: Tensor  # (R * N,) long: the pair each node takes part in, per round (P when idle)
    sign: Tensor  # (R, N, 1): +1 for the pair's node i, -1 for its node k (whose normal is reversed)

    @classmethod
    def of(cls, n: int, device: str, dtype: torch.dtype) -> ContactPlan:
        """The plan of width n."""
        partner = contact_rounds(n)
        lower, upper = np.triu_indices(n, k=1)
        pair_of = np.full((n, n), len(lower), dtype=np.int64)
        pair_of[lower, upper] = pair_of[upper, lower] = np.arange(len(lower))
        nodes = np.arange(n)[None, :]
        entry = np.where(partner == nodes, len(lower), pair_of[nodes, partner])
        sign = np.where(partner > nodes, 1.0, -1.0)[..., None]
        return cls(
            lower=torch.as_tensor(lower, device=device),
            upper=torch.as_tensor(upper, device=device),
            partner=torch.as_tensor(partner, device=device),
            entry=torch.as_tensor(entry.reshape(-1), device=device),
            sign=torch.as_tensor(sign, device=device, dtype=dtype),
        )


def _node_contacts(pos: Tensor, vel: Tensor, c: Creatures, plan: ContactPlan, skip_idle: bool) -> Tensor:
    """Inelastic node-node contacts plus the contact spring, pair by pair in the kernel's order.

    Positions do not change while contacts are resolved, so each pair's geometry (normal, overlap,
    spring impulse) is computed once; only the closing speeds are taken round by round."""
    b, n, _ = pos.shape
    r_count = plan.partner.shape[0]
    pi, pk = pos.index_select(1, plan.lower), pos.index_select(1, plan.upper)
    delta = pk - pi
    d2 = dot3(delta, delta)
    reach = c.radius.index_select(1, plan.lower) + c.radius.index_select(1, plan.upper)
    real = c.node_mask.index_select(1, plan.lower) & c.node_mask.index_select(1, plan.upper)
    contact = real & (d2 < reach * reach) & (d2 > 1e-18)
    dist = torch.sqrt(torch.where(contact, d2, 1.0))
    normal = delta / dist[..., None]
    w = c.inv_mass.index_select(1, plan.lower) + c.inv_mass.index_select(1, plan.upper)
    w = torch.where(contact, w, 1.0)
    spring = CONTACT_OMEGA_H * CONTACT_OMEGA_H * (reach - dist) / (c.h[:, :, 0] * w)

    def per_node(x: Tensor, idle: float | bool) -> Tensor:
        """(B, R, N, ...) each node's value of its pair in each round (`idle` when it has none)."""
        padded = torch.cat([x, torch.full_like(x[:, :1], idle)], dim=1)
        return padded.index_select(1, plan.entry).reshape((b, r_count, n, *x.shape[2:]))

    contact_rn = per_node(contact, False)
    normal_rn = per_node(normal, 0.0) * plan.sign  # seen from node k the normal points the other way
    w_rn = per_node(w, 1.0)
    spring_rn = per_node(spring, 0.0)
    # skipping idle rounds costs one host sync per sub-step; an idle round is an exact no-op
    active = contact_rn.any(dim=2).any(dim=0).nonzero().flatten().tolist() if skip_idle else range(r_count)
    inv = c.inv_mass
    for r in active:
        v_other = vel.index_select(1, plan.partner[r])
        closing = dot3(v_other - vel, normal_rn[:, r])
        imp = torch.clamp(-closing, min=0.0) / w_rn[:, r] + spring_rn[:, r]
        dv = (imp * inv)[..., None] * normal_rn[:, r]
        vel = vel - torch.where(contact_rn[:, r, :, None], dv, 0.0)
    return vel


def _ground(pos: Tensor, vel: Tensor, c: Creatures) -> Tensor:
    """Stop the approach into the ground (bounce real impacts a little) and apply Coulomb friction."""
    vx, vy, vz = vel.unbind(-1)
    hit = (pos[..., 1] <= c.radius) & (vy < 0.0)
    approach = -vy
    new_vy = torch.where(approach > BOUNCE_THRESHOLD, GROUND_RESTITUTION * approach, 0.0)
    tangential = safe_sqrt(vx * vx + vz * vz)
    slides = hit & (tangential > 0.0)
    limit = c.friction * approach
    scale = torch.clamp(1.0 - limit / torch.where(slides, tangential, 1.0), min=0.0)
    return torch.stack(
        [torch.where(slides, vx * scale, vx), torch.where(hit, new_vy, vy), torch.where(slides, vz * scale, vz)],
        dim=-1,
    )


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
) -> Outputs:
    """Simulate every creature of `batch` (sorted by descending `steps`) for `params.n_steps` steps.

    Python loops over control steps and sub-steps only; each creature reads only its own rows.

    Args:
        genes: tensors of the muscle genes and network weights to take (and differentiate) instead of the
            batch's own; their values must be the batch's.
        truncate: when > 0, the body's state is detached from the graph every `truncate` control steps
            (truncated back-propagation: gradients see only the last window; values do not change).
        track_progress: also accumulate `Outputs.progress`.
    """
    sim = params.sim
    c = build_creatures(batch, params, steps, device, dtype, genes)
    ctl = build_controller(batch, params, device, dtype, genes)
    b, n = c.node_mask.shape
    long = {"device": device, "dtype": torch.long}
    # sub-step k touches the creatures that still have one to do: a prefix, as they are sorted
    max_sub = int(steps.max())
    active = [int((steps > k).sum()) for k in range(max_sub)]
    heads = {k: c.head(k) for k in set(active)}
    rounds = ContactPlan.of(n, device, dtype) if params.self_collision and n > 1 else None
    gravity = float(sim[P_GRAVITY])

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
        u = _gather_rows(rows, torch.clamp(k, max=MAX_PELLETS - 1)[:, None])[:, 0]
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
        slot0 = _onehot(zero_k, MAX_PELLETS) & alive[:, None]
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
                new_pos, new_vel = substep(new_pos, new_vel, rest, c, gravity, rounds, skip_idle_contacts)
            else:
                p, q = substep(
                    new_pos[:cnt], new_vel[:cnt], rest[:cnt], heads[cnt], gravity, rounds, skip_idle_contacts
                )
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
            pellet_collect = torch.where(_onehot(collected, MAX_PELLETS) & hit[:, None], step + 1, pellet_collect)
            collected = collected + hit.to(torch.long)
            closest = torch.where(hit, math.inf, closest)
            spawn = hit & (n_spawned < max_pellets)
            k = n_spawned
            new, new_angle = place(k, com, angle_prev)
            new_init = edge_distance(com[:, 0], com[:, 2], new[:, 0], new[:, 2], body_radius)
            slot = _onehot(k, MAX_PELLETS) & spawn[:, None]
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
