"""Making children: blend crossover (the GA's default), uniform crossover and clone (reference §5.4).

Children take parent 1's topology (blend) or a random parent's (uniform), so a child of valid parents is
a valid, connected body. Neural output columns follow their muscles: the child's muscle k is parent 1's
muscle k paired with parent 2's muscle k mod m2, and so are their output columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba as nb
import numpy as np

from evolab.config import GenomeConstraints
from evolab.genome.arrays import split_blocks
from evolab.genome.batch import GenomeBatch
from evolab.genome.generate import new_creature_id
from evolab.genome.genes import HSL, M_DIR, M_DIR_X, M_REST, M_VEL, M_VEL_X, N_POS, NeuralGenome, unit_or_zero_in_place
from evolab.genome.model import Genome
from evolab.genome.neural import remove_outputs
from evolab.genome.ranges import REST_LENGTH_RANGE, as_float32, snap_genes


def lerp_colors(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Interpolate (n, 3) HSL colours by (n,) weights, the hue along the shorter way round the circle."""
    dh = b[:, 0] - a[:, 0]
    dh = np.where(dh > 0.5, dh - 1.0, np.where(dh < -0.5, dh + 1.0, dh))
    out = a + (b - a) * t[:, None]
    out[:, 0] = (a[:, 0] + dh * t) % 1.0
    return out


def lerp_hsl(a: HSL, b: HSL, t: float) -> HSL:
    """`lerp_colors` of two colours."""
    return HSL(*lerp_colors(np.array([[a.h, a.s, a.l]]), np.array([[b.h, b.s, b.l]]), np.array([t]))[0].tolist())


def _kept_muscles(
    ends: np.ndarray, owner: np.ndarray, counts: np.ndarray, kept_nodes: np.ndarray, max_muscles: int
) -> np.ndarray:
    """Which muscles a child keeps, for genomes laid end to end (`counts` muscles each; `ends` their node
    pairs, `owner` each muscle's genome): those with both ends among the genome's first `kept_nodes`
    nodes, the first `max_muscles` of them."""
    inside = (ends < kept_nodes[owner, None]).all(axis=1)
    inside_so_far = np.cumsum(inside)
    before_block = np.concatenate([[0], inside_so_far])[np.cumsum(counts) - counts]
    return inside & (inside_so_far - before_block[owner] <= max_muscles)


def _kept_topology(genome: Genome, constraints: GenomeConstraints) -> tuple[int, np.ndarray]:
    """Nodes kept (the first effective_max_nodes) and the indices of muscles kept (both ends kept, capped)."""
    k = min(genome.n_nodes, constraints.effective_max_nodes)
    m = genome.n_muscles
    keep = _kept_muscles(
        genome.muscle_nodes, np.zeros(m, dtype=np.int64), np.array([m]), np.array([k]), constraints.max_muscles
    )
    return k, np.flatnonzero(keep)


def _child_neural(
    p1: NeuralGenome | None, p2: NeuralGenome | None, kept: np.ndarray, partner: np.ndarray, mix
) -> NeuralGenome | None:
    """Combine the parents' networks with `mix(a, b)` on matching blocks; output columns follow muscles."""
    if p1 is None:
        return None
    if p2 is None or p2.hidden_size != p1.hidden_size or p2.output_size == 0:
        return remove_outputs(p1, np.setdiff1d(np.arange(p1.output_size), kept))
    return NeuralGenome.from_parts(
        mix(p1.input_hidden(), p2.input_hidden()),
        mix(p1.hidden_bias(), p2.hidden_bias()),
        mix(p1.hidden_output()[:, kept], p2.hidden_output()[:, partner]),
        mix(p1.output_bias()[kept], p2.output_bias()[partner]),
        p1.activation,
    )


def blend_crossover(
    p1: Genome, p2: Genome, constraints: GenomeConstraints, rng: np.random.Generator, child_id: str | None = None
) -> Genome:
    """Per-gene blend on parent 1's topology (the original's `singlePointCrossover`).

    Node i blends p1's node i with p2's node i mod n2 by one t = U(0, 1) (positions by t / 2); muscle k
    blends p1's muscle k with p2's muscle k mod m2; rest lengths are re-measured on the child's nodes
    x U(0.9, 1.1); bias vectors are blended and renormalised.
    """
    return blend_many([(p1, p2)], constraints, rng, [child_id or new_creature_id(rng)])[0]


@nb.njit(cache=True)
def _blend_kernel(own_nodes, own_node_start, their_nodes, their_node_start, n2, kept_nodes, own_muscles,
                  own_ends, own_muscle_start, m1, their_muscles, their_muscle_start, m2, mult1, mult2,
                  max_muscles, rest_lo, rest_hi, rng):  # fmt: skip
    """Every gene of every blended child in one compiled pass (see `blend_crossover`), drawing in the order
    of whole-array draws: every node's t, every kept muscle's t, every rest-length factor, then each
    child's multiplier t and colour t.

    Returns (nodes, muscles, ends, kept muscle counts, kept muscles' indices in parent 1, multipliers,
    colour t), the rows of all children back to back.
    """
    pairs = kept_nodes.shape[0]
    node_start = np.zeros(pairs + 1, dtype=np.int64)
    for i in range(pairs):
        node_start[i + 1] = node_start[i] + kept_nodes[i]
    nodes = np.empty((node_start[pairs], own_nodes.shape[1]))
    for r in range(node_start[pairs]):
        nodes[r, 0] = rng.random()  # t, until the node is blended below
    for i in range(pairs):
        for j in range(kept_nodes[i]):
            r = node_start[i] + j
            t = nodes[r, 0]
            own = own_nodes[own_node_start[i] + j]
            theirs = their_nodes[their_node_start[i] + j % n2[i]]
            for col in range(2):
                nodes[r, col] = own[col] + (theirs[col] - own[col]) * t
            for col in range(2, 5):  # positions stay closer to parent 1
                nodes[r, col] = own[col] + (theirs[col] - own[col]) * (t / 2.0)

    kept_counts = np.zeros(pairs, dtype=np.int64)
    own_total = 0  # the pairs' own muscles (a parent in several pairs counts once per pair)
    for i in range(pairs):
        own_total += m1[i]
    kept_local = np.empty(own_total, dtype=np.int64)
    owner = np.empty(own_total, dtype=np.int64)
    k = 0
    for i in range(pairs):
        for j in range(m1[i]):
            a, b = own_ends[own_muscle_start[i] + j]
            if a < kept_nodes[i] and b < kept_nodes[i] and kept_counts[i] < max_muscles:
                kept_counts[i] += 1
                kept_local[k] = j
                owner[k] = i
                k += 1
    muscles = np.empty((k, own_muscles.shape[1]))
    ends = np.empty((k, 2), dtype=np.int32)
    t_muscle = np.empty(k)
    for q in range(k):
        t_muscle[q] = rng.random()
    for q in range(k):
        i, j = owner[q], kept_local[q]
        own = own_muscles[own_muscle_start[i] + j]
        theirs = their_muscles[their_muscle_start[i] + j % m2[i]] if m2[i] > 0 else own
        for col in range(own.shape[0]):
            muscles[q, col] = own[col] + (theirs[col] - own[col]) * t_muscle[q]
        for first in (M_DIR_X, M_VEL_X):  # blended bias vectors, renormalised
            unit_or_zero_in_place(muscles[q, first : first + 3])
        ends[q, 0] = own_ends[own_muscle_start[i] + j, 0]
        ends[q, 1] = own_ends[own_muscle_start[i] + j, 1]
    for q in range(k):  # rest lengths re-measured on the child's nodes, x U(0.9, 1.1)
        base = node_start[owner[q]]
        dx = nodes[base + ends[q, 0], 2] - nodes[base + ends[q, 1], 2]
        dy = nodes[base + ends[q, 0], 3] - nodes[base + ends[q, 1], 3]
        dz = nodes[base + ends[q, 0], 4] - nodes[base + ends[q, 1], 4]
        distance = math.sqrt(dx * dx + dy * dy + dz * dz)
        muscles[q, M_REST] = min(max(distance * rng.uniform(0.9, 1.1), rest_lo), rest_hi)
    multipliers = np.empty(pairs)
    for i in range(pairs):
        multipliers[i] = mult1[i] + (mult2[i] - mult1[i]) * rng.random()
    color_t = np.empty(pairs)
    for i in range(pairs):
        color_t[i] = rng.random()
    return nodes, muscles, ends, kept_counts, kept_local[:k], multipliers, color_t


def _starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def blend_many(
    pairs: Sequence[tuple[Genome, Genome]],
    constraints: GenomeConstraints,
    rng: np.random.Generator,
    child_ids: Sequence[str],
    *,
    snap: bool = True,
) -> GenomeBatch:
    """`blend_crossover` of many pairs at once (see `blend_batches`)."""
    parents = GenomeBatch.of([p for p, _ in pairs] + [q for _, q in pairs])
    n = len(pairs)
    return blend_batches(parents, np.arange(n), np.arange(n, 2 * n), constraints, rng, child_ids, snap=snap)


def blend_batches(
    parents: GenomeBatch,
    first: np.ndarray,
    second: np.ndarray,
    constraints: GenomeConstraints,
    rng: np.random.Generator,
    child_ids: Sequence[str],
    *,
    snap: bool = True,
) -> GenomeBatch:
    """`blend_crossover` of `parents[first[i]]` with `parents[second[i]]` for every i: every gene of every
    child in one compiled pass, reading the parents' rows where they are and writing one batch.

    With `snap=False` the children's genes are left unrounded (a mutation that snaps follows).
    """
    if len(first) == 0:
        return GenomeBatch.of([])
    node_start, muscle_start = parents.node_start, parents.muscle_start
    n1, n2 = parents.n_nodes[first], parents.n_nodes[second]
    m1, m2 = parents.n_muscles[first], parents.n_muscles[second]
    kept_nodes = np.minimum(n1, constraints.effective_max_nodes)
    nodes, muscles, ends, kept_counts, kept_flat, multipliers, color_t = _blend_kernel(
        parents.node_params, node_start[first], parents.node_params, node_start[second], n2, kept_nodes,
        parents.muscle_params, parents.muscle_nodes, muscle_start[first], m1,
        parents.muscle_params, muscle_start[second], m2,
        parents.multipliers[first], parents.multipliers[second],
        constraints.max_muscles, *REST_LENGTH_RANGE, rng,
    )  # fmt: skip
    if snap:
        nodes, muscles, multipliers = snap_genes(nodes, muscles, multipliers, kept_counts, constraints)
    networks = parents.networks()
    nets1 = [networks[i] for i in first.tolist()]
    nets2 = [networks[i] for i in second.tolist()]
    kept = split_blocks(kept_flat, kept_counts) if any(net is not None for net in nets1) else []

    def blend(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return as_float32(x + (y - x) * rng.random(x.shape))

    children_nets: list[NeuralGenome | None] = [None] * len(first)
    for i in np.flatnonzero([net is not None for net in nets1]).tolist():
        children_nets[i] = _child_neural(nets1[i], nets2[i], kept[i], kept[i] % max(int(m2[i]), 1), blend)
    colors = lerp_colors(parents.colors[first], parents.colors[second], color_t)
    ids = parents.ids
    return GenomeBatch.of_arrays(
        child_ids,
        [(ids[a], ids[b]) for a, b in zip(first.tolist(), second.tolist(), strict=True)],
        (np.maximum(parents.lineage[first], parents.lineage[second]) + 1).tolist(),
        [0] * len(first),
        multipliers, colors, kept_nodes, kept_counts, nodes, ends, muscles, children_nets,
    )  # fmt: skip


def uniform_crossover(
    p1: Genome, p2: Genome, constraints: GenomeConstraints, rng: np.random.Generator, child_id: str | None = None
) -> Genome:
    """Every gene from either parent with probability 1/2, on a randomly chosen parent's topology."""
    structure, other = (p1, p2) if rng.random() < 0.5 else (p2, p1)
    k, kept = _kept_topology(structure, constraints)
    partner_nodes = np.arange(k) % other.n_nodes
    nodes = structure.node_params[:k].copy()
    take = rng.random((k, 3)) < 0.5  # size, friction, position (as a whole)
    nodes[:, :2] = np.where(take[:, :2], other.node_params[partner_nodes, :2], nodes[:, :2])
    nodes[:, N_POS] = np.where(take[:, 2:3], other.node_params[partner_nodes][:, N_POS], nodes[:, N_POS])

    ends = structure.muscle_nodes[kept]
    partner = kept % max(other.n_muscles, 1)
    muscles = structure.muscle_params[kept].copy()
    if other.n_muscles:
        swap = rng.random(muscles.shape) < 0.5
        # a bias vector is inherited whole, so it stays a unit vector
        swap[:, M_DIR] = swap[:, M_DIR.start : M_DIR.start + 1]
        swap[:, M_VEL] = swap[:, M_VEL.start : M_VEL.start + 1]
        muscles = np.where(swap, other.muscle_params[partner], muscles)

    multiplier = (structure if rng.random() < 0.5 else other).global_frequency_multiplier
    color = lerp_hsl(p1.color, p2.color, 0.5)

    def pick(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(rng.random(a.shape) < 0.5, b, a)

    neural = _child_neural(structure.neural, other.neural, kept, partner, pick)
    return _child(p1, p2, nodes, ends, muscles, multiplier, color, neural, constraints, rng, child_id)


def clone(parent: Genome, rng: np.random.Generator, child_id: str | None = None) -> Genome:
    """An exact copy under a new id: parentIds (parent,), generation + 1, streak 0."""
    return parent.replace(
        id=child_id or new_creature_id(rng),
        generation=parent.generation + 1,
        survival_streak=0,
        parent_ids=(parent.id,),
    )


def _child(
    p1: Genome,
    p2: Genome,
    nodes: np.ndarray,
    ends: np.ndarray,
    muscles: np.ndarray,
    multiplier: float,
    color: HSL,
    neural: NeuralGenome | None,
    constraints: GenomeConstraints,
    rng: np.random.Generator,
    child_id: str | None,
) -> Genome:
    nodes, muscles, multipliers = snap_genes(nodes, muscles, np.array([multiplier]), np.array([len(ends)]), constraints)
    return Genome(
        id=child_id or new_creature_id(rng),
        node_params=nodes,
        muscle_nodes=ends,
        muscle_params=muscles,
        global_frequency_multiplier=float(multipliers[0]),
        color=color,
        generation=max(p1.generation, p2.generation) + 1,
        survival_streak=0,
        parent_ids=(p1.id, p2.id),
        neural=neural,
    )
