"""The constants of a torch rollout (`torch_physics`): per-creature tensors, contact plans, helpers.

Everything here is computed once per rollout, before the first step; `Creatures.head(k)` slices the
first k creatures (the batch is sorted by sub-steps, so sub-step k works on a prefix).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from evolab.genome.genes import (
    M_DAMPING,
    M_STIFFNESS,
    N_FRICTION,
    N_SIZE,
)
from evolab.physics.constants import (
    CONTROL_DT,
    LINEAR_DAMPING,
    P_GRAVITY,
    P_GROUND_FRICTION,
)
from evolab.physics.contract import SimParams
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
    """a . b over the last axis (size 3), added x, y, z in that order (as the kernel does).

    One product of the whole tensors, then two adds: the same values as three products of the slices."""
    p = a * b
    return p[..., 0] + p[..., 1] + p[..., 2]


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


def gather_rows(x: Tensor, index: Tensor) -> Tensor:
    """x[b, index[b, j], ...] for (B, K, ...) from x (B, N, ...) and index (B, K)."""
    shape = index.shape + x.shape[2:]
    expanded = index.reshape(index.shape + (1,) * (x.dim() - 2)).expand(shape)
    return torch.gather(x, 1, expanded)


def onehot(index: Tensor, width: int) -> Tensor:
    """(B, width) bool, True at each row's `index` (writes an output slot without a scatter)."""
    return torch.arange(width, device=index.device)[None, :] == index[:, None]


@dataclass(frozen=True)
class ContactPlan:
    """The node pairs of a padded width and the rounds they are resolved in (`contact_rounds`)."""

    lower: Tensor  # (P,) long: node i of pair (i, k), i < k, lexicographic
    upper: Tensor  # (P,) long: node k
    partner: Tensor  # (R, N) long: each node's partner in each round (itself when idle)
    entry: Tensor  # (R * N,) long: the pair each node takes part in, per round (P when idle)
    sign: Tensor  # (R, N, 1): +1 for the pair's node i, -1 for its node k (whose normal is reversed)
    ends: Tensor  # (2P,) long: lower then upper (both ends of every pair in one gather)
    idle: Tensor  # (1, 1, 6) the contact features of "no pair": zeros, w = 1 (keeps gradients finite)

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
            ends=torch.as_tensor(np.concatenate([lower, upper]), device=device),
            idle=torch.tensor([[[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]]], device=device, dtype=dtype),
        )


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
    neg_stiffness: Tensor  # (B, M) -stiffness
    damping: Tensor  # (B, M)
    incidence: Tensor  # (B, N * K) long: entries of the (B, 2M + 1) contribution table, muscle order
    degree_width: int  # K
    h: Tensor  # (B, 1, 1) sub-step
    damp_h: Tensor  # (B, 1, 1) velocity decay per sub-step
    ends_ab: Tensor  # (B, 2M) long: ends_a then ends_b (both ends of every muscle in one gather)
    inv_ab: Tensor  # (B, 2M): -inv_a then inv_b (the signs of the pulls on ends a and b)
    zero_row: Tensor  # (B, 1, 3) zeros: the contribution table's padding entry
    gravity_acc: Tensor  # (B, N, 3) (0, gravity, 0) on real nodes, the start of every sub-step's sum
    pair_real: Tensor | None = None  # (B, P) bool, both nodes of the contact pair real (None: no contacts)
    pair_reach: Tensor | None = None  # (B, P) sum of the pair's radii
    pair_reach2: Tensor | None = None  # (B, P) its square
    pair_w: Tensor | None = None  # (B, P) sum of the pair's inverse masses
    pair_hw: Tensor | None = None  # (B, P) h * pair_w

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
    plan: ContactPlan | None = None,
) -> Creatures:
    """The constants of the creatures of `batch` (already in the order they are simulated); with `plan`,
    also its contact pairs' constants."""

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
    node_mask_t = torch.as_tensor(node_mask, device=device)
    radius_t, inv_mass_t = t(radius), t(inv_mass)
    inv_a_t, inv_b_t = t(inv_a), t(inv_b)
    h_t = t(h[:, None, None])
    ends_a, ends_b = torch.as_tensor(ends[:, :, 0], device=device), torch.as_tensor(ends[:, :, 1], device=device)
    zero = torch.zeros_like(radius_t)
    gravity = float(params.sim[P_GRAVITY])
    pairs = {}
    if plan is not None:
        lo, up = plan.lower, plan.upper
        reach = radius_t.index_select(1, lo) + radius_t.index_select(1, up)
        w = inv_mass_t.index_select(1, lo) + inv_mass_t.index_select(1, up)
        pairs = {
            "pair_real": node_mask_t.index_select(1, lo) & node_mask_t.index_select(1, up),
            "pair_reach": reach,
            "pair_reach2": reach * reach,
            "pair_w": w,
            "pair_hw": h_t[:, :, 0] * w,
        }
    return Creatures(
        node_mask=node_mask_t,
        radius=radius_t,
        mass=t(mass),
        inv_mass=inv_mass_t,
        friction=t(params.sim[P_GROUND_FRICTION] * batch.node_params[:, :, N_FRICTION]),
        ends_a=ends_a,
        ends_b=ends_b,
        inv_a=inv_a_t,
        inv_b=inv_b_t,
        muscle_ok=mmask_t,
        neg_stiffness=-stiffness,
        damping=damping,
        incidence=torch.as_tensor(incidence, device=device),
        degree_width=k,
        h=h_t,
        damp_h=t(damp[:, None, None]),
        ends_ab=torch.cat([ends_a, ends_b], dim=1),
        inv_ab=torch.cat([-inv_a_t, inv_b_t], dim=1),
        zero_row=torch.zeros((len(h), 1, 3), device=device, dtype=dtype),
        gravity_acc=torch.stack([zero, torch.where(node_mask_t, zero + gravity, zero), zero], dim=-1),
        **pairs,
    )
