"""Making children: blend crossover (the GA's default), uniform crossover and clone (reference §5.4).

Children take parent 1's topology (blend) or a random parent's (uniform), so a child of valid parents is
a valid, connected body. Neural output columns follow their muscles: the child's muscle k is parent 1's
muscle k paired with parent 2's muscle k mod m2, and so are their output columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evolab.config import GenomeConstraints
from evolab.genome.arrays import split_blocks
from evolab.genome.generate import new_creature_id
from evolab.genome.model import HSL, M_DIR, M_REST, M_VEL, N_POS, Genome, NeuralGenome, unit_or_zero
from evolab.genome.neural import remove_outputs
from evolab.genome.ranges import REST_LENGTH_RANGE, as_float32, snap_genes


def lerp_hsl(a: HSL, b: HSL, t: float) -> HSL:
    """Interpolate colours, the hue along the shorter way round the circle."""
    dh = b.h - a.h
    if dh > 0.5:
        dh -= 1.0
    elif dh < -0.5:
        dh += 1.0
    return HSL((a.h + dh * t) % 1.0, a.s + (b.s - a.s) * t, a.l + (b.l - a.l) * t)


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


def _blocks(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For blocks of `counts` rows laid end to end: each row's block and its index inside the block."""
    owner = np.repeat(np.arange(len(counts)), counts)
    local = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, local


def blend_many(
    pairs: Sequence[tuple[Genome, Genome]],
    constraints: GenomeConstraints,
    rng: np.random.Generator,
    child_ids: Sequence[str],
    *,
    snap: bool = True,
) -> list[Genome]:
    """`blend_crossover` of many pairs at once: every gene of every child in a few array operations.

    With `snap=False` the children's genes are left unrounded (a mutation that snaps follows).
    """
    if not pairs:
        return []
    firsts = [p for p, _ in pairs]
    seconds = [q for _, q in pairs]
    n1 = np.array([p.n_nodes for p in firsts])
    n2 = np.array([q.n_nodes for q in seconds])
    m2 = np.array([q.n_muscles for q in seconds])
    kept_nodes = np.minimum(n1, constraints.effective_max_nodes)

    own_nodes = np.concatenate([p.node_params for p in firsts])
    their_nodes = np.concatenate([q.node_params for q in seconds])
    owner, local = _blocks(kept_nodes)
    own = own_nodes[(np.cumsum(n1) - n1)[owner] + local]
    theirs = their_nodes[(np.cumsum(n2) - n2)[owner] + local % n2[owner]]
    t = rng.random(len(own))[:, None]
    nodes = own + (theirs - own) * t
    nodes[:, N_POS] = own[:, N_POS] + (theirs[:, N_POS] - own[:, N_POS]) * (t / 2.0)  # closer to parent 1

    m1 = np.array([p.n_muscles for p in firsts])
    all_ends = np.concatenate([p.muscle_nodes for p in firsts])
    all_owner, all_local = _blocks(m1)
    keep = _kept_muscles(all_ends, all_owner, m1, kept_nodes, constraints.max_muscles)
    m_owner, kept_flat = all_owner[keep], all_local[keep]
    kept_counts = np.bincount(m_owner, minlength=len(pairs))
    kept = split_blocks(kept_flat, kept_counts)
    own_m = np.concatenate([p.muscle_params for p in firsts])[keep]
    partner = kept_flat % np.maximum(m2[m_owner], 1)
    their_all = np.concatenate([q.muscle_params for q in seconds])
    theirs_m = np.where((m2[m_owner] > 0)[:, None], their_all[(np.cumsum(m2) - m2)[m_owner] + partner], own_m)
    muscles = own_m + (theirs_m - own_m) * rng.random(len(own_m))[:, None]
    for cols in (M_DIR, M_VEL):
        muscles[:, cols] = unit_or_zero(muscles[:, cols])
    ends = all_ends[keep]
    node_base = (np.cumsum(kept_nodes) - kept_nodes)[m_owner]
    a = nodes[node_base + ends[:, 0], 2:5]
    b = nodes[node_base + ends[:, 1], 2:5]
    distance = np.sqrt(((a - b) ** 2).sum(axis=1))
    muscles[:, M_REST] = np.clip(distance * rng.uniform(0.9, 1.1, len(muscles)), *REST_LENGTH_RANGE)

    mult1 = np.array([p.global_frequency_multiplier for p in firsts])
    mult2 = np.array([q.global_frequency_multiplier for q in seconds])
    multipliers = mult1 + (mult2 - mult1) * rng.random(len(pairs))
    color_t = rng.random(len(pairs))
    if snap:
        nodes, muscles, multipliers = snap_genes(nodes, muscles, multipliers, kept_counts, constraints)
    # read-only views of the batch arrays: each child takes its blocks without copying them
    for batch in (nodes, muscles, ends):
        batch.flags.writeable = False
    node_blocks = split_blocks(nodes, kept_nodes)
    muscle_blocks = split_blocks(muscles, kept_counts)
    end_blocks = split_blocks(ends, kept_counts)
    children = []
    for i, (p1, p2) in enumerate(pairs):

        def blend(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return as_float32(x + (y - x) * rng.random(x.shape))

        partner_i = kept[i] % max(p2.n_muscles, 1)
        children.append(
            Genome._from_frozen_blocks(
                child_ids[i],
                node_blocks[i],
                end_blocks[i],
                muscle_blocks[i],
                multipliers[i],
                lerp_hsl(p1.color, p2.color, float(color_t[i])),
                max(p1.generation, p2.generation) + 1,
                0,
                (p1.id, p2.id),
                _child_neural(p1.neural, p2.neural, kept[i], partner_i, blend),
            )
        )
    return children


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
