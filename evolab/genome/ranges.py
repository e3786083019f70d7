"""Value ranges of every gene: what random generation draws from and what mutation and validation allow.

The ranges that are not part of `GenomeConstraints` are the reference's mutation clamps (§1.3, §1.4).
"""

from __future__ import annotations

import functools

import numpy as np

from evolab.config import GenomeConstraints
from evolab.genome.model import (
    M_AMPLITUDE,
    M_BIAS_STRENGTH,
    M_DAMPING,
    M_DIR,
    M_DIST_BIAS,
    M_DIST_STRENGTH,
    M_FREQUENCY,
    M_PHASE,
    M_REST,
    M_STIFFNESS,
    M_VEL,
    M_VEL_STRENGTH,
    MUSCLE_FIELDS,
    TWO_PI,
)

FRICTION_RANGE = (0.1, 1.0)
REST_LENGTH_RANGE = (0.2, 4.0)
DAMPING_RANGE = (0.05, 0.8)
MULTIPLIER_RANGE = (0.3, 2.0)
MIN_MUTATED_AMPLITUDE = 0.05
MIN_NODE_HEIGHT = 0.3
"""Lowest rest-pose height mutation allows (nodes spawn 1 unit above their genome position)."""


def position_bounds(constraints: GenomeConstraints) -> tuple[np.ndarray, np.ndarray]:
    """(3,) low and high rest-pose position: x, z in [-R, R], y in [0.3, 1.5 R]."""
    r = constraints.spawn_radius
    return np.array([-r, MIN_NODE_HEIGHT, -r]), np.array([r, 1.5 * r, r])


def muscle_bounds(constraints: GenomeConstraints, *, for_mutation: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(16,) low and high value of each `MUSCLE_FIELDS` column; bias-vector components span [-1, 1].

    Mutation keeps amplitude at or above 0.05 (reference §1.4); validation accepts down to 0.
    """
    lo = np.zeros(len(MUSCLE_FIELDS))
    hi = np.ones(len(MUSCLE_FIELDS))
    lo[M_REST], hi[M_REST] = REST_LENGTH_RANGE
    lo[M_STIFFNESS], hi[M_STIFFNESS] = constraints.min_stiffness, constraints.max_stiffness
    lo[M_DAMPING], hi[M_DAMPING] = DAMPING_RANGE
    lo[M_FREQUENCY], hi[M_FREQUENCY] = constraints.min_frequency, constraints.max_frequency
    lo[M_AMPLITUDE] = MIN_MUTATED_AMPLITUDE if for_mutation else 0.0
    hi[M_AMPLITUDE] = constraints.max_amplitude
    lo[M_PHASE], hi[M_PHASE] = 0.0, TWO_PI
    lo[M_DIR], lo[M_VEL] = -1.0, -1.0
    for col in (M_BIAS_STRENGTH, M_VEL_STRENGTH, M_DIST_STRENGTH):
        lo[col], hi[col] = 0.0, 1.0
    lo[M_DIST_BIAS], hi[M_DIST_BIAS] = -1.0, 1.0
    return lo, hi


def as_float32(values: np.ndarray | float) -> np.ndarray:
    """Values rounded to the nearest float32 (held as float64)."""
    return np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64)


def _inward_float32(lo: np.ndarray | float, hi: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """The float32 bounds closest to [lo, hi] from inside it."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    lo32 = lo.astype(np.float32)
    hi32 = hi.astype(np.float32)
    lo32 = np.where(lo32.astype(np.float64) < lo, np.nextafter(lo32, np.float32(np.inf)), lo32)
    hi32 = np.where(hi32.astype(np.float64) > hi, np.nextafter(hi32, np.float32(-np.inf)), hi32)
    return lo32.astype(np.float64), hi32.astype(np.float64)


def clip_float32(values: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
    """Values clipped into [lo, hi] and rounded to float32 numbers that stay inside it."""
    return _clip_inward(values, lo, hi, *_inward_float32(lo, hi))


def _clip_inward(values: np.ndarray, lo, hi, lo32: np.ndarray, hi32: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, lo, hi)
    rounded = np.clip(as_float32(clipped), lo32, hi32)
    if np.all(lo32 <= hi32):
        return rounded
    # A range too narrow to hold any float32 (min == max, say) keeps its exact float64 value.
    return np.where(lo32 <= hi32, rounded, clipped)


@functools.lru_cache(maxsize=32)
def _gene_bounds(constraints: GenomeConstraints) -> tuple[np.ndarray, ...]:
    """(node lo, node hi, node lo32, node hi32, muscle lo, muscle hi, muscle lo32, muscle hi32)."""
    pos_lo, pos_hi = position_bounds(constraints)
    node_lo = np.array([constraints.min_size, FRICTION_RANGE[0], pos_lo[0], 0.0, pos_lo[2]])
    node_hi = np.array([constraints.max_size, FRICTION_RANGE[1], *pos_hi])
    muscle_lo, muscle_hi = muscle_bounds(constraints)
    bounds = (node_lo, node_hi, *_inward_float32(node_lo, node_hi), muscle_lo, muscle_hi)
    bounds += _inward_float32(muscle_lo, muscle_hi)
    for array in bounds:
        array.flags.writeable = False
    return bounds


def snap_genes(
    nodes: np.ndarray,
    muscles: np.ndarray,
    multipliers: np.ndarray,
    muscle_counts: np.ndarray,
    constraints: GenomeConstraints,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Make freshly made genes storable exactly and valid: every value a float32 inside its range, and the
    frequency limit (frequency x multiplier <= constraints.max_frequency, DESIGN §3) enforced.

    Works on one genome or many at once: `nodes` and `muscles` hold the rows of every genome back to back,
    `multipliers` one value per genome and `muscle_counts` each genome's muscle count.

    Returns:
        New (nodes, muscles, multipliers) arrays.
    """
    c = constraints
    node_lo, node_hi, node_lo32, node_hi32, muscle_lo, muscle_hi, muscle_lo32, muscle_hi32 = _gene_bounds(c)
    nodes = _clip_inward(nodes, node_lo, node_hi, node_lo32, node_hi32)
    muscles = _clip_inward(muscles, muscle_lo, muscle_hi, muscle_lo32, muscle_hi32)
    # The multiplier must leave room for the minimum frequency; then each frequency fits under the limit.
    highest = min(MULTIPLIER_RANGE[1], c.max_frequency / c.min_frequency)
    multipliers = clip_float32(multipliers, MULTIPLIER_RANGE[0], highest)
    ceiling = np.maximum(np.minimum(c.max_frequency, c.max_frequency / multipliers), c.min_frequency)
    muscles[:, M_FREQUENCY] = clip_float32(muscles[:, M_FREQUENCY], c.min_frequency, np.repeat(ceiling, muscle_counts))
    return nodes, muscles, multipliers
