"""Graph questions about a body: is it connected, which muscles or nodes can go without splitting it."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@nb.njit(cache=True)
def connected_without(n_nodes: int, edges: np.ndarray, skip_edge: int, skip_node: int) -> bool:
    """Union-find connectivity of the nodes other than `skip_node` through the edges other than
    `skip_edge` (-1: skip nothing)."""
    parent = np.arange(n_nodes)
    groups = n_nodes - (1 if skip_node >= 0 else 0)
    for j in range(edges.shape[0]):
        a = edges[j, 0]
        b = edges[j, 1]
        if j == skip_edge or a == skip_node or b == skip_node:
            continue
        ra = _find(parent, a)
        rb = _find(parent, b)
        if ra != rb:
            parent[ra] = rb
            groups -= 1
    return groups <= 1


def _as_edges(edges: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(edges, dtype=np.int64).reshape(-1, 2)


def is_connected(n_nodes: int, edges: np.ndarray) -> bool:
    """True when every node is reachable from every other through `edges` ((k, 2) node indices)."""
    return n_nodes <= 1 or bool(connected_without(n_nodes, _as_edges(edges), -1, -1))


def node_degrees(n_nodes: int, edges: np.ndarray) -> np.ndarray:
    """(n_nodes,) number of muscles attached to each node."""
    return np.bincount(edges.ravel(), minlength=n_nodes) if len(edges) else np.zeros(n_nodes, dtype=np.int64)


def free_pairs(n_nodes: int, edges: np.ndarray) -> np.ndarray:
    """(k, 2) node pairs i < j not yet joined by a muscle, in node order."""
    taken = np.zeros((n_nodes, n_nodes), dtype=bool)
    if len(edges):
        taken[edges[:, 0], edges[:, 1]] = True
        taken[edges[:, 1], edges[:, 0]] = True
    i, j = np.triu_indices(n_nodes, k=1)
    free = ~taken[i, j]
    return np.stack([i[free], j[free]], axis=1)
