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

import numba as nb
import numpy as np

from evolab.config import EvolutionConfig, GenomeConstraints
from evolab.genetics.structure import CHANGES, change_bodies, follow_muscles
from evolab.genome.arrays import split_blocks
from evolab.genome.batch import GenomeBatch
from evolab.genome.genes import (
    M_DIR_X,
    M_DIR_Z,
    M_REST,
    M_VEL_X,
    M_VEL_Z,
    MUSCLE_FIELDS,
    N_FRICTION,
    N_SIZE,
    N_X,
    NeuralGenome,
    unit_or_zero_in_place,
)
from evolab.genome.model import Genome
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


@nb.njit(cache=True)
def _perturb_column(values, lo, hi, scale, rate, rng):
    """Move each value by U(-1, 1) x (hi - lo) x scale with probability `rate`, clamped to [lo, hi], in
    place: every hit test is drawn first, then every move, as numpy's whole-array draws would be."""
    hit = np.empty(values.shape[0], dtype=np.bool_)
    for i in range(values.shape[0]):
        hit[i] = rng.random() < rate
    for i in range(values.shape[0]):
        delta = rng.uniform(-1.0, 1.0) * (hi - lo) * scale
        if hit[i]:
            values[i] = min(max(values[i] + delta, lo), hi)


@nb.njit(cache=True)
def _perturb_directions(vectors, magnitude, rate, rng):
    """Perturb unit vectors (k, 3) per component by U(-1, 1) x magnitude with probability `rate` each,
    then renormalise (`unit_or_zero`), in place."""
    k = vectors.shape[0]
    hit = np.empty(k, dtype=np.bool_)
    for i in range(k):
        hit[i] = rng.random() < rate
    moved = np.empty(3)
    for i in range(k):
        for a in range(3):
            moved[a] = vectors[i, a] + rng.uniform(-1.0, 1.0) * magnitude
        unit_or_zero_in_place(moved)
        if hit[i]:
            vectors[i] = moved


@nb.njit(cache=True)
def _perturb_values(nodes, muscles, multipliers, size_range, friction_range, lo_pos, hi_pos, columns, lo, hi,
                    scale, multiplier_range, magnitude, rate, rng):  # fmt: skip
    """Every value mutation of a batch (nodes (R, 5), muscles (S, 16), multipliers (B,)), in place, in one
    compiled pass: the draws come in the order of the vectorised reference §1.4 rules (a whole column's
    hit tests, then its moves), so a seeded run mutates exactly as before."""
    _perturb_column(nodes[:, N_SIZE], size_range[0], size_range[1], magnitude, rate, rng)
    _perturb_column(nodes[:, N_FRICTION], friction_range[0], friction_range[1], magnitude, rate, rng)
    r = nodes.shape[0]
    move = np.empty(r, dtype=np.bool_)
    for i in range(r):
        move[i] = rng.random() < rate
    for i in range(r):
        for a in range(3):
            delta = rng.uniform(-1.0, 1.0) * (hi_pos[a] - lo_pos[a]) * magnitude * 0.5
            if move[i]:
                nodes[i, N_X + a] = min(max(nodes[i, N_X + a] + delta, lo_pos[a]), hi_pos[a])
    s, width = muscles.shape[0], columns.shape[0]
    hit = np.empty((s, width), dtype=np.bool_)
    for i in range(s):
        for j in range(width):
            hit[i, j] = rng.random() < rate
    for i in range(s):
        for j in range(width):
            col = columns[j]
            delta = rng.uniform(-1.0, 1.0) * (hi[col] - lo[col]) * scale[j]
            if hit[i, j]:
                muscles[i, col] = min(max(muscles[i, col] + delta, lo[col]), hi[col])
    _perturb_directions(muscles[:, M_DIR_X : M_DIR_Z + 1], magnitude, rate, rng)
    _perturb_directions(muscles[:, M_VEL_X : M_VEL_Z + 1], magnitude, rate, rng)
    _perturb_column(multipliers, multiplier_range[0], multiplier_range[1], magnitude, rate, rng)


def mutate_many(
    genomes: Sequence[Genome],
    p: MutationParams,
    constraints: GenomeConstraints,
    rng: np.random.Generator,
) -> GenomeBatch:
    """Mutated copies of `genomes`, as one batch, under the same ids and lineage.

    Each result satisfies `constraints` whenever its genome does: values stay in range, structural
    changes never disconnect a body, and a neural output layer always matches the muscles.
    """
    source = GenomeBatch.of(genomes)
    if not source:
        return source
    c = constraints
    b = len(source)
    # Structural changes first, body by body (they are rare); every value change after them is one
    # compiled pass over the whole batch, so new muscles get mutated like old ones.
    structural = rng.random((b, len(CHANGES))) < p.structural_rate
    nodes, n_nodes, ends, muscles, n_muscles, origin, changed = change_bodies(
        source.node_params.copy(),  # the kernels change their copies in place
        source.n_nodes.copy(),
        source.muscle_nodes.copy(),
        source.muscle_params.copy(),
        source.n_muscles.copy(),
        structural,
        c,
        rng,
    )
    nets = source.networks()
    muscle_start = np.cumsum(n_muscles) - n_muscles
    for i in np.flatnonzero(changed):  # network outputs follow their muscles
        if nets[i] is not None:
            nets[i] = follow_muscles(nets[i], origin[muscle_start[i] : muscle_start[i] + n_muscles[i]], rng)
    multipliers = source.multipliers.copy()
    lo, hi = muscle_bounds(c, for_mutation=True)
    lo_pos, hi_pos = position_bounds(c)
    _perturb_values(
        nodes, muscles, multipliers, (c.min_size, c.max_size), FRICTION_RANGE, lo_pos, hi_pos, _SCALAR_COLUMNS,
        lo, hi, p.magnitude * _MAGNITUDE_FACTOR, MULTIPLIER_RANGE, p.magnitude, p.rate, rng,
    )  # fmt: skip
    nodes, muscles, multipliers = snap_genes(nodes, muscles, multipliers, n_muscles, c)
    recolor = rng.random(b) < p.rate / 2.0
    hue_shift = rng.uniform(-0.05, 0.05, b)

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

    colors = source.colors.copy()
    colors[:, 0] = np.where(recolor, (colors[:, 0] + hue_shift) % 1.0, colors[:, 0])
    return GenomeBatch.of_arrays(
        source.ids, source.parent_ids, source.lineage, source.survival_streaks, multipliers, colors, n_nodes,
        n_muscles, nodes, ends, muscles, nets,
    )  # fmt: skip


def mutate(genome: Genome, p: MutationParams, constraints: GenomeConstraints, rng: np.random.Generator) -> Genome:
    """A mutated copy of one genome (see `mutate_many`)."""
    return mutate_many([genome], p, constraints, rng)[0]
