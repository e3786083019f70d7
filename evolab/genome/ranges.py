"""Value ranges of every gene: what random generation draws from and what mutation and validation allow.

The ranges that are not part of `GenomeConstraints` are the reference's mutation clamps (§1.3, §1.4).
"""

from __future__ import annotations

import functools

import numba as nb
import numpy as np

from evolab.config import GenomeConstraints
from evolab.genome.genes import (
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


@functools.lru_cache(maxsize=32)
def _gene_bounds(constraints: GenomeConstraints) -> tuple[np.ndarray, ...]:
    """Bounds `snap_genes` clips to, each as (exact lo, exact hi, float32 lo, float32 hi) from inside:
    node columns, muscle columns, then (1,) arrays for the multiplier and the lowest frequency."""
    c = constraints
    pos_lo, pos_hi = position_bounds(c)
    node_lo = np.array([c.min_size, FRICTION_RANGE[0], pos_lo[0], 0.0, pos_lo[2]])
    node_hi = np.array([c.max_size, FRICTION_RANGE[1], *pos_hi])
    muscle_lo, muscle_hi = muscle_bounds(c)
    # The multiplier must leave room for the minimum frequency; then each frequency fits under the limit.
    multiplier_lo = np.array([MULTIPLIER_RANGE[0]])
    multiplier_hi = np.array([min(MULTIPLIER_RANGE[1], c.max_frequency / c.min_frequency)])
    frequency_lo = np.array([c.min_frequency])
    bounds: tuple[np.ndarray, ...] = ()
    for lo, hi in ((node_lo, node_hi), (muscle_lo, muscle_hi), (multiplier_lo, multiplier_hi)):
        bounds += (lo, hi, *_inward_float32(lo, hi))
    bounds += (frequency_lo, _inward_float32(frequency_lo, frequency_lo)[0])
    for array in bounds:
        array.flags.writeable = False
    return bounds


@nb.njit(cache=True)
def _snap(value, lo, hi, lo32, hi32):
    """`value` clipped into [lo, hi], then rounded to a float32 inside [lo32, hi32] (the float32 bounds
    inside [lo, hi]); a range too narrow to hold any float32 (min == max, say) keeps the exact value."""
    clipped = min(max(value, lo), hi)
    if lo32 > hi32:
        return clipped
    return min(max(np.float64(np.float32(clipped)), lo32), hi32)


@nb.njit(cache=True)
def _snap_rows(values, lo, hi, lo32, hi32):
    out = np.empty(values.shape)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            out[i, j] = _snap(values[i, j], lo[j], hi[j], lo32[j], hi32[j])
    return out


@nb.njit(cache=True)
def _snap_kernel(nodes, muscles, multipliers, muscle_counts, bounds, min_frequency, max_frequency):
    node_lo, node_hi, node_lo32, node_hi32, muscle_lo, muscle_hi, muscle_lo32, muscle_hi32 = bounds[:8]
    mult_lo, mult_hi, mult_lo32, mult_hi32, frequency_lo, frequency_lo32 = bounds[8:]
    nodes = _snap_rows(nodes, node_lo, node_hi, node_lo32, node_hi32)
    muscles = _snap_rows(muscles, muscle_lo, muscle_hi, muscle_lo32, muscle_hi32)
    out_multipliers = np.empty(multipliers.shape[0])
    row = 0
    for g in range(multipliers.shape[0]):
        multiplier = _snap(multipliers[g], mult_lo[0], mult_hi[0], mult_lo32[0], mult_hi32[0])
        out_multipliers[g] = multiplier
        ceiling = max(min(max_frequency, max_frequency / multiplier), min_frequency)
        ceiling32 = np.float32(ceiling)
        if np.float64(ceiling32) > ceiling:
            ceiling32 = np.nextafter(ceiling32, np.float32(-np.inf))
        for j in range(row, row + muscle_counts[g]):
            muscles[j, M_FREQUENCY] = _snap(
                muscles[j, M_FREQUENCY], frequency_lo[0], ceiling, frequency_lo32[0], np.float64(ceiling32)
            )
        row += muscle_counts[g]
    return nodes, muscles, out_multipliers


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
    return _snap_kernel(
        np.asarray(nodes, dtype=np.float64),
        np.asarray(muscles, dtype=np.float64),
        np.asarray(multipliers, dtype=np.float64),
        np.asarray(muscle_counts, dtype=np.int64),
        _gene_bounds(c),
        float(c.min_frequency),
        float(c.max_frequency),
    )
