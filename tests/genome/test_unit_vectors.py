"""Bias vectors are renormalised the same way row by row (compiled code) as for whole arrays."""

from __future__ import annotations

import numpy as np

from evolab.genome.genes import unit_or_zero, unit_or_zero_in_place


def test_one_vector_in_place_equals_the_array_form_bit_for_bit() -> None:
    vectors = np.random.default_rng(2).uniform(-3.0, 3.0, (500, 3))
    vectors[0] = 0.0
    vectors[1] = [1e-13, 0.0, 0.0]  # too short to have a direction
    expected = unit_or_zero(vectors)
    for v in vectors:
        unit_or_zero_in_place(v)
    assert np.array_equal(vectors, expected)
    assert (vectors[:2] == 0.0).all()
