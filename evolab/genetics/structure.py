"""Structural mutation: add or remove a node or a muscle, never disconnecting the body, keeping
`min_muscles`, and resizing a neural genome's output layer so output k always drives muscle k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolab.config import GenomeConstraints
from evolab.genome.generate import random_muscle_params
from evolab.genome.model import N_FRICTION, N_POS, N_SIZE, N_Y, NeuralGenome
from evolab.genome.neural import append_outputs, remove_outputs
from evolab.genome.ranges import position_bounds
from evolab.genome.topology import free_pairs, node_degrees, removable_muscles, removable_nodes


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


def _append_muscle(body: Body, ends: np.ndarray, c: GenomeConstraints, rng: np.random.Generator) -> None:
    params = random_muscle_params(rng, ends, body.nodes, c, structural=True)
    body.ends = np.concatenate([body.ends, ends.astype(body.ends.dtype)])
    body.muscles = np.concatenate([body.muscles, params])
    if body.neural is not None:
        body.neural = append_outputs(body.neural, len(ends), rng)


def _drop_muscles(body: Body, drop: np.ndarray) -> None:
    keep = np.ones(body.n_muscles, dtype=bool)
    keep[drop] = False
    body.ends = body.ends[keep]
    body.muscles = body.muscles[keep]
    if body.neural is not None:
        body.neural = remove_outputs(body.neural, np.flatnonzero(~keep))


def add_node(body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    """Grow a node near a random existing one, joined to it by a new muscle (reference §5.5)."""
    if body.n_nodes >= c.max_nodes or body.n_muscles >= c.max_muscles:
        return False
    parent = int(rng.integers(body.n_nodes))
    node = np.empty(body.nodes.shape[1])
    node[N_SIZE] = rng.uniform(c.min_size, c.max_size)
    node[N_FRICTION] = rng.uniform(0.3, 0.8)
    offset = rng.uniform([-1.5, -1.0, -1.5], [1.5, 1.0, 1.5])
    lo, hi = position_bounds(c)
    node[N_POS] = np.clip(body.nodes[parent, N_POS] + offset, lo, hi)
    node[N_Y] = min(max(node[N_Y], node[N_SIZE] / 2.0), hi[1])
    body.nodes = np.concatenate([body.nodes, node[None, :]])
    _append_muscle(body, np.array([[parent, body.n_nodes - 1]]), c, rng)
    return True


def remove_node(body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    """Remove one of the least-connected half of the nodes whose loss keeps the body connected and
    leaves at least `min_muscles` muscles (the original could split bodies, §10.8).
    """
    n = body.n_nodes
    if n <= c.min_nodes:
        return False
    degrees = node_degrees(n, body.ends)
    lowest = np.argsort(degrees, kind="stable")[: max(1, n // 2)]
    lowest = lowest[body.n_muscles - degrees[lowest] >= c.min_muscles]
    candidates = removable_nodes(n, body.ends, lowest)
    if candidates.size == 0:
        return False
    node = int(candidates[rng.integers(candidates.size)])
    _drop_muscles(body, np.flatnonzero((body.ends[:, 0] == node) | (body.ends[:, 1] == node)))
    body.nodes = np.delete(body.nodes, node, axis=0)
    body.ends = body.ends - (body.ends > node)
    return True


def add_muscle(body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    """Join a random pair of nodes not yet joined."""
    if body.n_muscles >= c.max_muscles:
        return False
    pairs = free_pairs(body.n_nodes, body.ends)
    if len(pairs) == 0:
        return False
    _append_muscle(body, pairs[rng.integers(len(pairs))][None, :], c, rng)
    return True


def remove_muscle(body: Body, c: GenomeConstraints, rng: np.random.Generator) -> bool:
    """Remove a random muscle that is not a bridge, if more than `min_muscles` remain."""
    if body.n_muscles <= c.min_muscles:
        return False
    candidates = removable_muscles(body.n_nodes, body.ends)
    if candidates.size == 0:
        return False
    _drop_muscles(body, candidates[rng.integers(candidates.size)][None])
    return True
