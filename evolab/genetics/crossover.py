"""Making children: blend crossover (the GA's default), uniform crossover and clone (reference §5.4).

Children take parent 1's topology (blend) or a random parent's (uniform), so a child of valid parents is
a valid, connected body. Neural output columns follow their muscles: the child's muscle k is parent 1's
muscle k paired with parent 2's muscle k mod m2, and so are their output columns.
"""

from __future__ import annotations

import numpy as np

from evolab.config import GenomeConstraints
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


def _kept_topology(genome: Genome, constraints: GenomeConstraints) -> tuple[int, np.ndarray]:
    """Nodes kept (the first effective_max_nodes) and the indices of muscles kept (both ends kept, capped)."""
    k = min(genome.n_nodes, constraints.effective_max_nodes)
    kept = np.flatnonzero((genome.muscle_nodes < k).all(axis=1))[: constraints.max_muscles]
    return k, kept


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


def blend_crossover(p1: Genome, p2: Genome, constraints: GenomeConstraints, rng: np.random.Generator) -> Genome:
    """Per-gene blend on parent 1's topology (the original's `singlePointCrossover`).

    Node i blends p1's node i with p2's node i mod n2 by one t = U(0, 1) (positions by t / 2); muscle k
    blends p1's muscle k with p2's muscle k mod m2; rest lengths are re-measured on the child's nodes
    x U(0.9, 1.1); bias vectors are blended and renormalised.
    """
    k, kept = _kept_topology(p1, constraints)
    partner_nodes = np.arange(k) % p2.n_nodes
    t = rng.random(k)[:, None]
    nodes = p1.node_params[:k] + (p2.node_params[partner_nodes] - p1.node_params[:k]) * t
    nodes[:, N_POS] = p1.node_params[:k, N_POS] + (
        p2.node_params[partner_nodes][:, N_POS] - p1.node_params[:k, N_POS]
    ) * (t / 2.0)

    ends = p1.muscle_nodes[kept]
    partner = kept % max(p2.n_muscles, 1)
    other = p2.muscle_params[partner] if p2.n_muscles else p1.muscle_params[kept]
    tm = rng.random(len(kept))[:, None]
    muscles = p1.muscle_params[kept] + (other - p1.muscle_params[kept]) * tm
    for cols in (M_DIR, M_VEL):
        muscles[:, cols] = unit_or_zero(muscles[:, cols])
    distance = np.linalg.norm(nodes[ends[:, 0], 2:5] - nodes[ends[:, 1], 2:5], axis=1)
    muscles[:, M_REST] = np.clip(distance * rng.uniform(0.9, 1.1, len(kept)), *REST_LENGTH_RANGE)

    m1, m2 = p1.global_frequency_multiplier, p2.global_frequency_multiplier
    multiplier = m1 + (m2 - m1) * rng.random()
    color = lerp_hsl(p1.color, p2.color, rng.random())

    def blend(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return as_float32(a + (b - a) * rng.random(a.shape))

    neural = _child_neural(p1.neural, p2.neural, kept, partner, blend)
    return _child(p1, p2, nodes, ends, muscles, multiplier, color, neural, constraints, rng)


def uniform_crossover(p1: Genome, p2: Genome, constraints: GenomeConstraints, rng: np.random.Generator) -> Genome:
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
    return _child(p1, p2, nodes, ends, muscles, multiplier, color, neural, constraints, rng)


def clone(parent: Genome, rng: np.random.Generator) -> Genome:
    """An exact copy under a new id: parentIds (parent,), generation + 1, streak 0."""
    return parent.replace(
        id=new_creature_id(rng),
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
) -> Genome:
    nodes, muscles, multipliers = snap_genes(nodes, muscles, np.array([multiplier]), np.array([len(ends)]), constraints)
    return Genome(
        id=new_creature_id(rng),
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
