"""Gradients of a smooth rollout objective with respect to a creature's genes, through the torch physics.

The torch backend's step (`torch_physics`) is written for autograd: this module runs it with the muscle
genes and network weights as leaf tensors, takes a smooth objective per creature and back-propagates.

Chaos is the catch: with ground contact the rollout's sensitivity to the genes grows quickly with time
(measured on a toy model of the same kind: tape gradients match finite differences up to ~120 control
steps, and are noise by 240-600). So gradients are taken over short windows: either a short rollout
(`window` steps from the spawn pose) or a longer one with truncated back-propagation (`truncation`:
the body's state is detached every that many steps, Brax APG's `truncation_length`), and they can be
clipped per creature (`max_norm`). Contacts stay hard in the backward pass (no smoothing): the gradient
is that of the piecewise-smooth forward, exact between contact events.

A creature whose window disqualifies it (NaN, explosion, frequency limit) or whose gradient is not
finite is reported (`Gradients.valid`, `Gradients.reason`) with a zero gradient, never used silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from evolab.config import SimConfig
from evolab.errors import ConfigError
from evolab.genome.genes import MUSCLE_FIELDS
from evolab.genome.model import Genome
from evolab.physics import torch_physics
from evolab.physics.constants import DQ_NONE
from evolab.physics.contract import SimParams, pellet_draws, replicate, substeps
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import DISQUALIFICATION_REASONS

Objective = Literal["progress", "displacement"]
OBJECTIVES: tuple[str, ...] = ("progress", "displacement")
"""progress: XZ distance to the active pellet closed over the rollout (step by step, so a collected
pellet's successor counts from when it appears); displacement: XZ distance of the centre of mass from
where it started."""

ALL_MUSCLE_COLUMNS: tuple[int, ...] = tuple(range(len(MUSCLE_FIELDS)))
"""Every muscle gene is continuous; the unit bias vectors need a projection after a step (`refine`)."""


@dataclass(frozen=True)
class Gradients:
    """Objectives and gradients of B creatures (input order).

    Attributes:
        objective: (B,) the objective (mean over trials).
        muscle: each creature's (n_muscles, 16) d objective / d muscle_params (0 in columns not asked for),
            after clipping.
        weights: each creature's d objective / d network weights (None without a network), after clipping.
        norm: (B,) the gradient's norm before clipping.
        clipped: (B,) whether it was scaled down to `max_norm`.
        valid: (B,) False when a trial was disqualified in the window or the objective or gradient is not
            finite: that creature's gradient is zeroed.
        reason: why a creature is not valid (None when it is).
    """

    objective: np.ndarray
    muscle: list[np.ndarray]
    weights: list[np.ndarray | None]
    norm: np.ndarray
    clipped: np.ndarray
    valid: np.ndarray
    reason: list[str | None]


def _window_params(sim: SimConfig, window: int) -> SimParams:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ConfigError(f"window: expected a positive number of control steps (got {window!r})")
    return dataclasses.replace(SimParams.of(sim), n_steps=int(window))


def _rollout_objective(
    genomes: Sequence[Genome],
    sim: SimConfig,
    seed: int,
    window: int,
    objective: str,
    trials: int,
    truncation: int,
    grad: bool,
    device: str,
    dtype: torch.dtype,
) -> tuple[torch.Tensor, np.ndarray, torch.Tensor, torch.Tensor]:
    """(B,) objective tensor, (trials, B) dq codes, and the muscle and weight leaves."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective: expected one of {', '.join(OBJECTIVES)} (got {objective!r})")
    if trials < 1:
        raise ConfigError(f"trials: expected a positive integer (got {trials!r})")
    params = _window_params(sim, window)
    base = pack_batch(genomes)
    b = base.size
    draws = pellet_draws(base, sim, seed, trials)
    batch = replicate(base, trials)
    steps = substeps(batch, params.min_substeps).astype(np.int64)
    order = np.argsort(-steps, kind="stable")  # as the backend does: sub-step k works on a prefix
    back = torch.as_tensor(np.argsort(order, kind="stable"))
    mp_leaf = torch.tensor(base.muscle_params, device=device, dtype=dtype, requires_grad=grad)
    w_leaf = torch.tensor(base.net_weights, device=device, dtype=dtype, requires_grad=grad)
    rows = torch.as_tensor(np.tile(np.arange(b), trials)[order], device=device)
    with torch.set_grad_enabled(grad):
        genes = torch_physics.GeneTensors(mp_leaf.index_select(0, rows), w_leaf.index_select(0, rows))
        out = torch_physics.rollout(
            batch.take(order),
            params,
            draws.take(order),
            steps[order],
            False,
            device,
            dtype,
            skip_idle_contacts=not grad,  # skipping costs a host sync per sub-step; exact either way
            genes=genes,
            truncate=truncation,
            track_progress=objective == "progress",
        )
        value = out.progress if objective == "progress" else out.net_xz
        assert value is not None
        per_trial = value.index_select(0, back.to(value.device)).reshape(trials, b)
        mean = torch_physics.seq_sum(per_trial, 0) / trials  # fixed order: independent of batch-mates
    dq = out.dq.detach().cpu().numpy()[back.numpy()].reshape(trials, b)
    return mean, dq, mp_leaf, w_leaf


def objective_value(
    genomes: Sequence[Genome],
    sim: SimConfig,
    seed: int,
    *,
    window: int,
    objective: Objective = "progress",
    trials: int = 1,
    device: str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> np.ndarray:
    """(B,) the objective of `objective_and_gradient` without the gradient (NaN when disqualified)."""
    mean, dq, _, _ = _rollout_objective(genomes, sim, seed, window, objective, trials, 0, False, device, dtype)
    value = mean.cpu().numpy().astype(np.float64)
    return np.where((dq == DQ_NONE).all(axis=0), value, np.nan)


def objective_and_gradient(
    genomes: Sequence[Genome],
    sim: SimConfig,
    seed: int,
    *,
    window: int,
    truncation: int = 0,
    objective: Objective = "progress",
    trials: int = 1,
    columns: Sequence[int] = ALL_MUSCLE_COLUMNS,
    max_norm: float | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> Gradients:
    """Each creature's smooth objective over a `window`-step rollout and its gradient with respect to its
    muscle genes (`columns` of `muscle_params`) and network weights.

    Args:
        genomes: the creatures (evaluated together, each in its own world).
        sim: physics and pellet settings (`sim.duration` is ignored: the rollout is `window` steps).
        seed: seed of the pellet draws (as `simulate` uses it); trial t is layout t of that seed.
        window: control steps simulated.
        truncation: detach the body's state every this many steps (0: back-propagate the whole window).
        objective: "progress" or "displacement" (`OBJECTIVES`).
        trials: pellet layouts averaged over.
        columns: the muscle columns differentiated (the others get 0).
        max_norm: clip each creature's gradient (muscles and weights together) to this norm.

    Raises:
        ConfigError: a bad window, objective, trials or max_norm.
    """
    if max_norm is not None and not max_norm > 0:
        raise ConfigError(f"max_norm: expected a positive number (got {max_norm!r})")
    mean, dq, mp_leaf, w_leaf = _rollout_objective(
        genomes, sim, seed, window, objective, trials, truncation, True, device, dtype
    )
    value = mean.detach().cpu().numpy().astype(np.float64)
    ok_dq = (dq == DQ_NONE).all(axis=0)
    valid = ok_dq & np.isfinite(value)
    if valid.any():
        # creatures never mix, so the gradient of the sum is every creature's own gradient
        keep = torch.as_tensor(np.flatnonzero(valid), device=mean.device)
        mean.index_select(0, keep).sum().backward()
    b = len(genomes)
    mp_grad = np.zeros(mp_leaf.shape) if mp_leaf.grad is None else mp_leaf.grad.cpu().numpy().astype(np.float64)
    w_grad = np.zeros(w_leaf.shape) if w_leaf.grad is None else w_leaf.grad.cpu().numpy().astype(np.float64)
    column_mask = np.zeros(len(MUSCLE_FIELDS), dtype=bool)
    column_mask[list(columns)] = True
    muscle: list[np.ndarray] = []
    weights: list[np.ndarray | None] = []
    reason: list[str | None] = []
    norm = np.zeros(b)
    for i, g in enumerate(genomes):
        gm = np.where(column_mask, mp_grad[i, : g.n_muscles], 0.0)
        gw = w_grad[i, : len(g.neural.weights)].copy() if g.neural is not None else None
        why = None
        if not ok_dq[i]:
            code = int(dq[:, i][dq[:, i] != DQ_NONE][0])
            why = f"disqualified in the window ({DISQUALIFICATION_REASONS.get(code, code)})"
        elif not np.isfinite(value[i]):
            why = "objective is not finite"
        else:
            norm[i] = float(np.sqrt(np.sum(gm * gm) + (np.sum(gw * gw) if gw is not None else 0.0)))
            if not np.isfinite(norm[i]):
                why = "gradient is not finite"
        if why is not None:
            valid[i] = False
            norm[i] = 0.0
            gm = np.zeros_like(gm)
            gw = None if gw is None else np.zeros_like(gw)
        muscle.append(gm)
        weights.append(gw)
        reason.append(why)
    clipped = np.zeros(b, dtype=bool)
    if max_norm is not None:
        for i in range(b):
            if norm[i] > max_norm:
                clipped[i] = True
                scale = max_norm / norm[i]
                muscle[i] = muscle[i] * scale
                if weights[i] is not None:
                    weights[i] = weights[i] * scale
    return Gradients(value, muscle, weights, norm, clipped, valid, reason)
