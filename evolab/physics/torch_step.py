"""One integrator sub-step of the torch backend (`torch_physics`): muscles, contacts, ground, positions.

Written for few ops per sub-step (eager torch on small tensors is bound by per-op overhead, see
`TorchBackend`): pair geometry that does not change during a rollout is precomputed in `Creatures`,
and each step gathers several quantities in one op. Every rewrite keeps the values of the plain
formulation bit for bit (products taken on a whole (..., 3) tensor then added x, y, z equal the
component-wise ones; negations are exact).
"""

from __future__ import annotations

import functools

import torch

from evolab.physics.constants import BOUNCE_THRESHOLD, CONTACT_OMEGA_H, GROUND_RESTITUTION
from evolab.physics.torch_creatures import ContactPlan, Creatures, Tensor, dot3, gather_rows, safe_sqrt


def substep(
    pos: Tensor, vel: Tensor, rest: Tensor, c: Creatures, plan: ContactPlan | None, skip_idle: bool
) -> tuple[Tensor, Tensor]:
    """Advance (B, N, 3) positions and velocities by one sub-step of each creature's own h.

    Order as the kernel: muscle forces and gravity, velocity update with damping, node-node contacts
    (when `plan` is given), ground contact and friction, position update and projection.
    """
    b, n, _ = pos.shape
    m = c.ends_a.shape[1]
    ends = gather_rows(torch.cat([pos, vel], dim=-1), c.ends_ab)  # (B, 2M, 6): both ends, both states
    diff = ends[:, m:] - ends[:, :m]
    d, dvel = diff[..., :3], diff[..., 3:]
    d2 = dot3(d, d)
    length = torch.sqrt(d2)
    ok = c.muscle_ok & (length > 1e-9)
    if torch.is_grad_enabled():  # padded and collapsed muscles: sqrt(0) would leak NaN gradients
        length = torch.sqrt(torch.where(ok, d2, 1.0))
    u = d / torch.where(ok, length, 1.0)[..., None]
    force = c.neg_stiffness * (length - rest) - c.damping * dot3(dvel, u)
    # muscle j pulls end a by -(f * inv_a) u and end b by (f * inv_b) u: one (B, 2M, 3) table
    pulls = (force.repeat(1, 2) * c.inv_ab)[..., None] * u.repeat(1, 2, 1)
    table = torch.cat([torch.where(ok.repeat(1, 2)[..., None], pulls, 0.0), c.zero_row], dim=1)
    pulls = gather_rows(table, c.incidence).reshape(b, n, c.degree_width, 3)
    acc = c.gravity_acc
    for s in range(c.degree_width):  # each node adds its muscles in muscle order, as the kernel's loop does
        acc = acc + pulls[:, :, s]
    vel = (vel + acc * c.h) * c.damp_h
    if plan is not None:
        vel = node_contacts(pos, vel, c, plan, skip_idle)
    vel = ground(pos, vel, c)
    pos = pos + vel * c.h
    y = pos[..., 1]
    pos = torch.stack([pos[..., 0], torch.where(y < c.radius, c.radius, y), pos[..., 2]], dim=-1)
    return pos, vel


def node_contacts(pos: Tensor, vel: Tensor, c: Creatures, plan: ContactPlan, skip_idle: bool) -> Tensor:
    """Inelastic node-node contacts plus the contact spring, pair by pair in the kernel's order.

    Positions do not change while contacts are resolved, so each pair's geometry (normal, overlap,
    spring impulse) is computed once; only the closing speeds are taken round by round."""
    b, n, _ = pos.shape
    r_count = plan.partner.shape[0]
    p = plan.lower.shape[0]
    ends = pos.index_select(1, plan.ends)
    delta = ends[:, p:] - ends[:, :p]
    d2 = dot3(delta, delta)
    contact = c.pair_real & (d2 < c.pair_reach2) & (d2 > 1e-18)
    dist = torch.sqrt(torch.where(contact, d2, 1.0))
    normal = delta / dist[..., None]
    w = torch.where(contact, c.pair_w, 1.0)
    spring = CONTACT_OMEGA_H * CONTACT_OMEGA_H * (c.pair_reach - dist) / torch.where(contact, c.pair_hw, c.h[:, :, 0])
    # each node's pair in each round, all four quantities in one gather (idle nodes: `plan.idle`, never used)
    feats = torch.cat([normal, w[..., None], spring[..., None], contact[..., None].to(pos.dtype)], dim=-1)
    feats = torch.cat([feats, plan.idle.expand(b, 1, 6)], dim=1)
    feats = feats.index_select(1, plan.entry).reshape(b, r_count, n, 6)
    normal_rn = feats[..., :3] * plan.sign  # seen from node k the normal points the other way
    w_rn, spring_rn = feats[..., 3], feats[..., 4]
    contact_rn = feats[..., 5:] != 0.0
    # skipping idle rounds costs one host sync per sub-step; an idle round is an exact no-op
    active = contact_rn.any(dim=2).any(dim=0).nonzero()[:, 0].tolist() if skip_idle else range(r_count)
    inv = c.inv_mass
    for r in active:
        normal_r = normal_rn[:, r]
        # -(closing speed) = (v - v_partner) . normal, exactly (the clamp and spring absorb the zero's sign)
        opening = dot3(vel - vel.index_select(1, plan.partner[r]), normal_r)
        imp = torch.clamp(opening, min=0.0) / w_rn[:, r] + spring_rn[:, r]
        vel = vel - torch.where(contact_rn[:, r], (imp * inv)[..., None] * normal_r, 0.0)
    return vel


def ground(pos: Tensor, vel: Tensor, c: Creatures) -> Tensor:
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


@functools.cache
def compiled_substep():
    """`substep` through `torch.compile` (inductor; on CPU it needs a C++ compiler), dynamic in the batch
    width so the sub-step prefixes share one graph. Measured on 2 CPU cores: about 2.5x eager's
    creature-steps/s once compiled (tens of seconds of compilation first). Inductor fuses and reorders
    float operations, so results are repeatable run to run but not bit-identical to eager (nor to the
    CPU kernel's order): opt-in only (`TorchBackend(compile=True)`). Call with `skip_idle=False`."""
    return torch.compile(substep, fullgraph=True, dynamic=True)
