"""Structural mutation: add or remove a node or a muscle, never disconnecting the body, keeping
`min_muscles`, and resizing a neural genome's output layer so output k always drives muscle k.

The four changes are compiled (numba) over arrays with room for one more node and two more muscles;
`origin[j]` tells which old muscle row j came from (-1: new), which is how a network's output columns
follow their muscles. A few hundred of these run per generation, so Python-level numpy calls would
dominate the genetic algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from evolab.config import GenomeConstraints
from evolab.genome.genes import NeuralGenome
from evolab.genome.muscle_init import (
    C_MAX_MUSCLES,
    C_MAX_NODES,
    C_MAX_SIZE,
    C_MIN_MUSCLES,
    C_MIN_NODES,
    C_MIN_SIZE,
    constraint_vector,
    init_muscle,
)
from evolab.genome.neural import append_outputs, remove_outputs
from evolab.genome.ranges import position_bounds
from evolab.genome.topology import connected_without


@dataclass(slots=True)
class Body:
    """A genome's mutable arrays while it is being rebuilt (private to genetics)."""

    nodes: np.ndarray
    ends: np.ndarray
    muscles: np.ndarray
    neural: NeuralGenome | None

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_muscles(self) -> int:
        return len(self.muscles)


@nb.njit(cache=True)
def _append_muscle(nodes, ends, muscles, m, origin, a, b, cp, rng):
    ends[m, 0] = a
    ends[m, 1] = b
    init_muscle(muscles[m], a, b, nodes, cp, True, rng)
    origin[m] = -1
    return m + 1


@nb.njit(cache=True)
def _drop_muscle(ends, muscles, m, origin, j):
    for k in range(j, m - 1):
        ends[k, 0] = ends[k + 1, 0]
        ends[k, 1] = ends[k + 1, 1]
        muscles[k, :] = muscles[k + 1, :]
        origin[k] = origin[k + 1]
    return m - 1


@nb.njit(cache=True)
def add_node_kernel(nodes, n, ends, muscles, m, origin, cp, pos_lo, pos_hi, rng):
    """Grow a node near a random existing one, joined to it by a new muscle (reference §5.5).

    Returns (n, m, changed).
    """
    if n >= cp[C_MAX_NODES] or m >= cp[C_MAX_MUSCLES]:
        return n, m, False
    parent = rng.integers(0, n)
    size = rng.uniform(cp[C_MIN_SIZE], cp[C_MAX_SIZE])
    nodes[n, 0] = size
    nodes[n, 1] = rng.uniform(0.3, 0.8)
    offsets = (rng.uniform(-1.5, 1.5), rng.uniform(-1.0, 1.0), rng.uniform(-1.5, 1.5))
    for axis in range(3):
        nodes[n, 2 + axis] = min(max(nodes[parent, 2 + axis] + offsets[axis], pos_lo[axis]), pos_hi[axis])
    nodes[n, 3] = min(max(nodes[n, 3], size / 2.0), pos_hi[1])
    m = _append_muscle(nodes, ends, muscles, m, origin, parent, n, cp, rng)
    return n + 1, m, True


@nb.njit(cache=True)
def remove_node_kernel(nodes, n, ends, muscles, m, origin, cp, rng):
    """Remove one of the least-connected half of the nodes whose loss keeps the body connected and
    leaves at least `min_muscles` muscles (the original could split bodies, §10.8).

    Returns (n, m, changed).
    """
    if n <= cp[C_MIN_NODES]:
        return n, m, False
    degree = np.zeros(n, dtype=np.int64)
    for j in range(m):
        degree[ends[j, 0]] += 1
        degree[ends[j, 1]] += 1
    lowest = np.argsort(degree, kind="mergesort")[: max(1, n // 2)]
    candidates = np.empty(lowest.shape[0], dtype=np.int64)
    count = 0
    for node in lowest:
        if m - degree[node] >= cp[C_MIN_MUSCLES] and connected_without(n, ends[:m], -1, node):
            candidates[count] = node
            count += 1
    if count == 0:
        return n, m, False
    node = candidates[rng.integers(0, count)]
    j = 0
    while j < m:
        if ends[j, 0] == node or ends[j, 1] == node:
            m = _drop_muscle(ends, muscles, m, origin, j)
        else:
            j += 1
    for k in range(node, n - 1):
        nodes[k, :] = nodes[k + 1, :]
    for j in range(m):
        for side in range(2):
            if ends[j, side] > node:
                ends[j, side] -= 1
    return n - 1, m, True


@nb.njit(cache=True)
def add_muscle_kernel(nodes, n, ends, muscles, m, origin, cp, rng):
    """Join a random pair of nodes not yet joined. Returns (m, changed)."""
    if m >= cp[C_MAX_MUSCLES]:
        return m, False
    joined = np.zeros((n, n), dtype=np.bool_)
    for j in range(m):
        joined[ends[j, 0], ends[j, 1]] = True
        joined[ends[j, 1], ends[j, 0]] = True
    free = 0
    for a in range(n):
        for b in range(a + 1, n):
            if not joined[a, b]:
                free += 1
    if free == 0:
        return m, False
    pick = rng.integers(0, free)
    for a in range(n):
        for b in range(a + 1, n):
            if not joined[a, b]:
                if pick == 0:
                    return _append_muscle(nodes, ends, muscles, m, origin, a, b, cp, rng), True
                pick -= 1
    return m, False


@nb.njit(cache=True)
def remove_muscle_kernel(nodes, n, ends, muscles, m, origin, cp, rng):
    """Remove a random muscle that is not a bridge, if more than `min_muscles` remain. Returns (m, changed)."""
    if m <= cp[C_MIN_MUSCLES]:
        return m, False
    candidates = np.empty(m, dtype=np.int64)
    count = 0
    for j in range(m):
        if connected_without(n, ends[:m], j, -1):
            candidates[count] = j
            count += 1
    if count == 0:
        return m, False
    return _drop_muscle(ends, muscles, m, origin, candidates[rng.integers(0, count)]), True


CHANGES = ("add_node", "remove_node", "add_muscle", "remove_muscle")
"""The structural changes, in the order a mutation tries them."""


@nb.njit(cache=True)
def change_bodies_kernel(nodes, n, ends, muscles, m, wanted, cp, pos_lo, pos_hi, rng):
    """Apply the wanted changes (B, 4) (`CHANGES` order) to bodies laid end to end: nodes (R, 5), ends
    (S, 2) and muscles (S, 16), `n` (B,) and `m` (B,) rows each.

    Returns the bodies after the changes, end to end (nodes, n, ends, muscles, m), each muscle's origin
    (its row in its body before, -1: new) and which bodies changed.
    """
    b = n.shape[0]
    width_n = max(1, n.max() + 1) if b else 1  # room for one more node and two more muscles
    width_m = max(1, m.max() + 2) if b else 1
    body_nodes = np.zeros((width_n, nodes.shape[1]))
    body_ends = np.zeros((width_m, 2), dtype=np.int64)
    body_muscles = np.zeros((width_m, muscles.shape[1]))
    body_origin = np.zeros(width_m, dtype=np.int64)
    out_nodes = np.empty((nodes.shape[0] + b, nodes.shape[1]))
    out_ends = np.empty((ends.shape[0] + 2 * b, 2), dtype=np.int32)
    out_muscles = np.empty((muscles.shape[0] + 2 * b, muscles.shape[1]))
    out_origin = np.empty(muscles.shape[0] + 2 * b, dtype=np.int64)
    new_n = n.copy()
    new_m = m.copy()
    changed = np.zeros(b, dtype=np.bool_)
    node_in = muscle_in = node_out = muscle_out = 0
    for i in range(b):
        ni, mi = n[i], m[i]
        body_nodes[:ni] = nodes[node_in : node_in + ni]
        body_ends[:mi] = ends[muscle_in : muscle_in + mi]
        body_muscles[:mi] = muscles[muscle_in : muscle_in + mi]
        for j in range(mi):
            body_origin[j] = j
        k, q = ni, mi
        if wanted[i, 0]:
            k, q, _ = add_node_kernel(body_nodes, k, body_ends, body_muscles, q, body_origin, cp, pos_lo, pos_hi, rng)
        if wanted[i, 1]:
            k, q, _ = remove_node_kernel(body_nodes, k, body_ends, body_muscles, q, body_origin, cp, rng)
        if wanted[i, 2]:
            q, _ = add_muscle_kernel(body_nodes, k, body_ends, body_muscles, q, body_origin, cp, rng)
        if wanted[i, 3]:
            q, _ = remove_muscle_kernel(body_nodes, k, body_ends, body_muscles, q, body_origin, cp, rng)
        changed[i] = k != ni or q != mi
        for j in range(q):
            changed[i] = changed[i] or body_origin[j] != j
            out_ends[muscle_out + j, 0] = body_ends[j, 0]
            out_ends[muscle_out + j, 1] = body_ends[j, 1]
            out_origin[muscle_out + j] = body_origin[j]
        out_nodes[node_out : node_out + k] = body_nodes[:k]
        out_muscles[muscle_out : muscle_out + q] = body_muscles[:q]
        new_n[i], new_m[i] = k, q
        node_in += ni
        muscle_in += mi
        node_out += k
        muscle_out += q
    return (
        out_nodes[:node_out],
        new_n,
        out_ends[:muscle_out],
        out_muscles[:muscle_out],
        new_m,
        out_origin[:muscle_out],
        changed,
    )


def change_bodies(
    nodes: np.ndarray,
    n: np.ndarray,
    ends: np.ndarray,
    muscles: np.ndarray,
    m: np.ndarray,
    wanted: np.ndarray,
    c: GenomeConstraints,
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """`change_bodies_kernel` with the constraints and position bounds of `c`."""
    lo, hi = position_bounds(c)
    return change_bodies_kernel(
        np.ascontiguousarray(nodes, dtype=np.float64),
        np.asarray(n, dtype=np.int64),
        np.ascontiguousarray(ends, dtype=np.int64),
        np.ascontiguousarray(muscles, dtype=np.float64),
        np.asarray(m, dtype=np.int64),
        np.ascontiguousarray(wanted, dtype=np.bool_),
        constraint_vector(c),
        lo,
        hi,
        rng,
    )


def follow_muscles(net: NeuralGenome, origin: np.ndarray, rng: np.random.Generator) -> NeuralGenome:
    """Output columns after structural changes: kept muscles keep theirs, new muscles (last) get new ones."""
    kept = origin[origin >= 0]
    if len(kept) != net.output_size or not np.array_equal(kept, np.arange(net.output_size)):
        net = remove_outputs(net, np.setdiff1d(np.arange(net.output_size), kept))
    return append_outputs(net, int(np.sum(origin < 0)), rng)


def apply_changes(
    bodies: Sequence[Body], wanted: np.ndarray, c: GenomeConstraints, rng: np.random.Generator
) -> np.ndarray:
    """Apply the wanted structural changes ((B, 4) bools, `CHANGES` order) to bodies, in place, in one
    compiled call; returns which bodies changed."""
    n = np.array([body.n_nodes for body in bodies], dtype=np.int64)
    m = np.array([body.n_muscles for body in bodies], dtype=np.int64)
    nodes, n, ends, muscles, m, origin, changed = change_bodies(
        np.concatenate([body.nodes for body in bodies]),
        n,
        np.concatenate([body.ends for body in bodies]),
        np.concatenate([body.muscles for body in bodies]),
        m,
        wanted,
        c,
        rng,
    )
    node_start, muscle_start = np.cumsum(n) - n, np.cumsum(m) - m
    for i in np.flatnonzero(changed):
        body, rows, cols = (
            bodies[i],
            slice(node_start[i], node_start[i] + n[i]),
            slice(muscle_start[i], muscle_start[i] + m[i]),
        )
        body.nodes = nodes[rows].copy()
        body.ends = ends[cols].copy()
        body.muscles = muscles[cols].copy()
        if body.neural is not None:
            body.neural = follow_muscles(body.neural, origin[cols], rng)
    return changed


def _apply_one(change: str, body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    wanted = np.zeros((1, len(CHANGES)), dtype=np.bool_)
    wanted[0, CHANGES.index(change)] = True
    return bool(apply_changes([body], wanted, c, rng)[0])


def add_node(body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    """Grow a node near a random existing one, joined to it by a new muscle (reference §5.5)."""
    return _apply_one("add_node", body, c, rng)


def remove_node(body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    """Remove one of the least-connected half of the nodes whose loss keeps the body connected and
    leaves at least `min_muscles` muscles."""
    return _apply_one("remove_node", body, c, rng)


def add_muscle(body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    """Join a random pair of nodes not yet joined."""
    return _apply_one("add_muscle", body, c, rng)


def remove_muscle(body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    """Remove a random muscle that is not a bridge, if more than `min_muscles` remain."""
    return _apply_one("remove_muscle", body, c, rng)
