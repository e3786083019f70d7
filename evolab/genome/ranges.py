"""Value ranges of every gene: what random generation draws from and what mutation and validation allow.

The ranges that are not part of `GenomeConstraints` are the reference's mutation clamps (§1.3, §1.4).
"""

from __future__ import annotations

from typing import Any

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


def clamp_frequencies(
    frequencies: np.ndarray,
    multiplier: float | np.ndarray,
    constraints: GenomeConstraints,
    *,
    per_item: np.ndarray | None = None,
) -> tuple[np.ndarray, Any]:
    """Enforce the frequency limit: every frequency x multiplier <= constraints.max_frequency (DESIGN §3).

    The multiplier is first kept low enough that the minimum frequency still fits, then each frequency is
    clamped into [min_frequency, max_frequency / multiplier]. With `per_item` (muscle counts), `multiplier`
    is an array with one value per genome and `frequencies` holds all their muscles back to back.
    """
    lo, hi = MULTIPLIER_RANGE
    ceiling_multiplier = min(hi, constraints.max_frequency / constraints.min_frequency)
    multiplier = np.clip(multiplier, lo, ceiling_multiplier)
    # never below the minimum: max/(max/min) can round one ulp under min_frequency
    ceiling = np.maximum(
        np.minimum(constraints.max_frequency, constraints.max_frequency / multiplier), constraints.min_frequency
    )
    if per_item is not None:
        ceiling = np.repeat(ceiling, per_item)
    else:
        multiplier = float(multiplier)
    return np.clip(frequencies, constraints.min_frequency, ceiling), multiplier
