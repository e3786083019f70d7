"""Compiled initialisation of new muscles (reference §1.4), shared by random generation and by
structural mutation, which adds muscles one at a time where Python-level numpy calls would dominate."""

from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np

from evolab.config import GenomeConstraints

# Indices into the float64 constraint vector (`constraint_vector`).
C_MIN_NODES, C_MAX_NODES, C_MIN_MUSCLES, C_MAX_MUSCLES = 0, 1, 2, 3
C_MIN_SIZE, C_MAX_SIZE, C_MIN_STIFF, C_MAX_STIFF = 4, 5, 6, 7
C_MIN_FREQ, C_MAX_FREQ, C_MAX_AMP, C_RADIUS = 8, 9, 10, 11
REST_MIN, REST_MAX = 0.2, 4.0


@functools.lru_cache(maxsize=32)
def constraint_vector(c: GenomeConstraints) -> np.ndarray:
    """The constraints as a read-only float64 vector for compiled code."""
    vector = np.array(
        [
            c.min_nodes,
            c.max_nodes,
            c.min_muscles,
            c.max_muscles,
            c.min_size,
            c.max_size,
            c.min_stiffness,
            c.max_stiffness,
            c.min_frequency,
            c.max_frequency,
            c.max_amplitude,
            c.spawn_radius,
        ],
        dtype=np.float64,
    )
    vector.flags.writeable = False
    return vector


@nb.njit(cache=True)
def _direction(out, offset, u_theta, u_phi):
    theta = 2.0 * math.pi * u_theta
    cos_phi = 2.0 * u_phi - 1.0
    sin_phi = math.sqrt(max(0.0, 1.0 - cos_phi * cos_phi))
    out[offset] = sin_phi * math.cos(theta)
    out[offset + 1] = sin_phi * math.sin(theta)
    out[offset + 2] = cos_phi


@nb.njit(cache=True)
def init_muscle(out, a, b, nodes, cp, structural, rng):
    """Fill `out` (16,) with a new muscle joining nodes a and b (columns of `MUSCLE_FIELDS`).

    Rest length: distance of the two rest positions x U(0.8, 1.2), kept in [0.2, 4.0]; amplitude
    U(0, max) for structural additions, U(0.1, max) in generation 0; bias directions uniform on the sphere.
    """
    dx = nodes[a, 2] - nodes[b, 2]
    dy = nodes[a, 3] - nodes[b, 3]
    dz = nodes[a, 4] - nodes[b, 4]
    distance = math.sqrt(dx * dx + dy * dy + dz * dz)
    out[0] = min(max(distance * (0.8 + 0.4 * rng.random()), REST_MIN), REST_MAX)
    out[1] = cp[C_MIN_STIFF] + (cp[C_MAX_STIFF] - cp[C_MIN_STIFF]) * rng.random()
    out[2] = 0.1 + 0.4 * rng.random()
    out[3] = cp[C_MIN_FREQ] + (cp[C_MAX_FREQ] - cp[C_MIN_FREQ]) * rng.random()
    low = 0.0 if structural else min(0.1, cp[C_MAX_AMP])
    out[4] = low + (cp[C_MAX_AMP] - low) * rng.random()
    out[5] = 2.0 * math.pi * rng.random()
    _direction(out, 6, rng.random(), rng.random())
    out[9] = 0.8 * rng.random()
    _direction(out, 10, rng.random(), rng.random())
    out[13] = 0.5 * rng.random()
    out[14] = 2.0 * rng.random() - 1.0
    out[15] = 0.5 * rng.random()


@nb.njit(cache=True)
def init_muscles(out, ends, nodes, cp, structural, rng):
    """`init_muscle` for every row of `ends` (k, 2) into `out` (k, 16)."""
    for j in range(ends.shape[0]):
        init_muscle(out[j], ends[j, 0], ends[j, 1], nodes, cp, structural, rng)
