"""Graph questions about a body: is it connected, which muscles or nodes can go without splitting it."""

from __future__ import annotations

import numpy as np


def component_labels(n_nodes: int, edges: np.ndarray) -> np.ndarray:
    """(n_nodes,) int label of each node's connected component (labels are smallest member indices)."""
    labels = np.arange(n_nodes)
    # Bodies have at most a few dozen nodes: label propagation converges in a handful of sweeps.
    changed = len(edges) > 0
    while changed:
        a, b = edges[:, 0], edges[:, 1]
        low = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        labels = labels[labels]
        changed = not np.array_equal(before, labels)
    return labels


def is_connected(n_nodes: int, edges: np.ndarray) -> bool:
    """True when every node is reachable from every other through `edges` ((k, 2) node indices)."""
    if n_nodes <= 1:
        return True
    return bool(np.all(component_labels(n_nodes, edges) == 0))


def removable_muscles(n_nodes: int, edges: np.ndarray) -> np.ndarray:
    """Indices of muscles whose removal keeps a connected body connected (the non-bridges)."""
    keep = np.ones(len(edges), dtype=bool)
    out = []
    for j in range(len(edges)):
        keep[j] = False
        if is_connected(n_nodes, edges[keep]):
            out.append(j)
        keep[j] = True
    return np.array(out, dtype=np.int64)


def removable_nodes(n_nodes: int, edges: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Those `candidates` whose removal (with their muscles) leaves the other nodes connected."""
    out = []
    for node in candidates.tolist():
        kept = (edges[:, 0] != node) & (edges[:, 1] != node)
        remap = np.arange(n_nodes) - (np.arange(n_nodes) > node)
        if is_connected(n_nodes - 1, remap[edges[kept]]):
            out.append(node)
    return np.array(out, dtype=np.int64)


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
