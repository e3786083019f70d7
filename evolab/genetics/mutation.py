"""Mutation (reference §5.5 with DESIGN §3's fixes), vectorised over every node and muscle of a whole
batch of children at once: a generation's value mutations are a handful of numpy calls, not a Python
loop per field.

Every field gets its own `rate` test and moves by U(-1, 1) x (range) x magnitude, clamped to its range;
bias vectors are perturbed per component and renormalised; then structural changes, each with
`structural_rate`; then neural weights with their own rate and magnitude; finally frequencies are clamped
so frequency x multiplier stays within the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evolab.config import EvolutionConfig, GenomeConstraints
from evolab.genetics.structure import CHANGES, Body, apply_changes
from evolab.genome.arrays import split_blocks
from evolab.genome.model import (
    HSL,
    M_DIR,
    M_REST,
    M_VEL,
    MUSCLE_FIELDS,
    N_FRICTION,
    N_POS,
    N_SIZE,
    Genome,
    NeuralGenome,
    frozen_array,
    unit_or_zero,
)
from evolab.genome.ranges import (
    FRICTION_RANGE,
    MULTIPLIER_RANGE,
    as_float32,
    muscle_bounds,
    position_bounds,
    snap_genes,
)

_SCALAR_COLUMNS = np.array([j for j in range(len(MUSCLE_FIELDS)) if not (6 <= j <= 8 or 10 <= j <= 12)])
_MAGNITUDE_FACTOR = np.where(_SCALAR_COLUMNS == M_REST, 0.3, 1.0)
"""Rest length moves with a third of the magnitude (reference §1.4)."""


@dataclass(frozen=True, slots=True)
class MutationParams:
    """Rates and magnitudes of one mutation (the `EvolutionConfig` fields of the same names)."""

    rate: float = 0.1
    magnitude: float = 0.3
    structural_rate: float = 0.1
    weight_rate: float = 0.1
    weight_magnitude: float = 0.3

    @classmethod
    def from_config(cls, cfg: EvolutionConfig) -> MutationParams:
        return cls(
            cfg.mutation_rate,
            cfg.mutation_magnitude,
            cfg.structural_rate,
            cfg.weight_mutation_rate,
            cfg.weight_mutation_magnitude,
        )


def _perturb(values: np.ndarray, lo, hi, scale, rate: float, rng: np.random.Generator) -> np.ndarray:
    hit = rng.random(values.shape) < rate
    delta = rng.uniform(-1.0, 1.0, values.shape) * (np.asarray(hi) - np.asarray(lo)) * scale
    return np.where(hit, np.clip(values + delta, lo, hi), values)


def _perturb_directions(vectors: np.ndarray, p: MutationParams, rng: np.random.Generator) -> np.ndarray:
    hit = rng.random(len(vectors)) < p.rate
    moved = unit_or_zero(vectors + rng.uniform(-1.0, 1.0, vectors.shape) * p.magnitude)
    return np.where(hit[:, None], moved, vectors)


Lineage = tuple[str, tuple[str, ...], int]
"""(id, parent ids, lineage generation) a mutated copy takes instead of its source's."""


def mutate_many(
    genomes: Sequence[Genome],
    p: MutationParams,
    constraints: GenomeConstraints,
    rng: np.random.Generator,
    lineages: Sequence[Lineage | None] | None = None,
) -> list[Genome]:
    """Mutated copies of `genomes`; ids and lineage fields are kept, or taken from `lineages` (so a clone
    and its mutation make one genome, not two).

    Each result satisfies `constraints` whenever its genome does: values stay in range, structural
    changes never disconnect a body, and a neural output layer always matches the muscles.
    """
    if not genomes:
        return []
    c = constraints
    b = len(genomes)
    # Structural changes first, child by child (they are rare); every value change after them is one
    # vectorised pass over the whole batch, so new muscles get mutated like old ones.
    structural = rng.random((b, len(CHANGES))) < p.structural_rate
    bodies = [Body(g.node_params, g.muscle_nodes, g.muscle_params, g.neural) for g in genomes]
    touched = np.flatnonzero(structural.any(axis=1))
    if touched.size:
        apply_changes([bodies[i] for i in touched], structural[touched], c, rng)
    n_nodes = np.fromiter((body.n_nodes for body in bodies), np.int64, b)
    n_muscles = np.fromiter((body.n_muscles for body in bodies), np.int64, b)

    nodes = np.concatenate([body.nodes for body in bodies])
    nodes[:, N_SIZE] = _perturb(nodes[:, N_SIZE], c.min_size, c.max_size, p.magnitude, p.rate, rng)
    nodes[:, N_FRICTION] = _perturb(nodes[:, N_FRICTION], *FRICTION_RANGE, p.magnitude, p.rate, rng)
    lo_pos, hi_pos = position_bounds(c)
    move = rng.random(len(nodes)) < p.rate
    delta = rng.uniform(-1.0, 1.0, (len(nodes), 3)) * (hi_pos - lo_pos) * p.magnitude * 0.5
    nodes[:, N_POS] = np.where(move[:, None], np.clip(nodes[:, N_POS] + delta, lo_pos, hi_pos), nodes[:, N_POS])

    muscles = np.concatenate([body.muscles for body in bodies])
    lo, hi = muscle_bounds(c, for_mutation=True)
    cols = _SCALAR_COLUMNS
    muscles[:, cols] = _perturb(muscles[:, cols], lo[cols], hi[cols], p.magnitude * _MAGNITUDE_FACTOR, p.rate, rng)
    muscles[:, M_DIR] = _perturb_directions(muscles[:, M_DIR], p, rng)
    muscles[:, M_VEL] = _perturb_directions(muscles[:, M_VEL], p, rng)

    lo_m, hi_m = MULTIPLIER_RANGE
    multipliers = np.fromiter((g.global_frequency_multiplier for g in genomes), np.float64, b)
    multipliers = _perturb(multipliers, lo_m, hi_m, p.magnitude, p.rate, rng)
    nodes, muscles, multipliers = snap_genes(nodes, muscles, multipliers, n_muscles, c)
    recolor = rng.random(b) < p.rate / 2.0
    hue_shift = rng.uniform(-0.05, 0.05, b)

    nets = [body.neural for body in bodies]
    has_net = np.array([net is not None for net in nets])
    if has_net.any() and p.weight_rate > 0.0:
        weights = np.concatenate([net.weights for net in nets if net is not None])
        hit = rng.random(weights.size) < p.weight_rate
        weights = as_float32(weights + np.where(hit, rng.standard_normal(weights.size) * p.weight_magnitude, 0.0))
        sizes = [net.weights.size for net in nets if net is not None]
        blocks = iter(split_blocks(weights, np.array(sizes)))
        nets = [
            None if net is None else NeuralGenome(next(blocks), net.hidden_size, net.output_size, net.activation)
            for net in nets
        ]

    out = []
    # read-only views of the batch arrays: each Genome takes its blocks without copying them
    nodes.flags.writeable = False
    muscles.flags.writeable = False
    node_blocks = split_blocks(nodes, n_nodes)
    muscle_blocks = split_blocks(muscles, n_muscles)
    ends = [frozen_array(body.ends, np.int32, (2,)) for body in bodies]  # untouched bodies keep their genome's
    for i, genome in enumerate(genomes):
        color = genome.color
        if recolor[i]:
            color = HSL((color.h + hue_shift[i]) % 1.0, color.s, color.l)
        lineage = lineages[i] if lineages is not None else None
        genome_id, parents, generation = lineage or (genome.id, genome.parent_ids, genome.generation)
        out.append(
            Genome._from_frozen_blocks(
                genome_id,
                node_blocks[i],
                ends[i],
                muscle_blocks[i],
                multipliers[i],
                color,
                generation,
                0 if lineage else genome.survival_streak,
                tuple(parents),
                nets[i],
            )
        )
    return out


def mutate(genome: Genome, p: MutationParams, constraints: GenomeConstraints, rng: np.random.Generator) -> Genome:
    """A mutated copy of one genome (see `mutate_many`)."""
    return mutate_many([genome], p, constraints, rng)[0]
