"""`snap_genes`: freshly made genes become float32 numbers inside their ranges, under the frequency limit."""

from __future__ import annotations

import numpy as np
import pytest

from evolab.config import GenomeConstraints
from evolab.genome.genes import M_FREQUENCY, MUSCLE_FIELDS, NODE_FIELDS
from evolab.genome.ranges import MULTIPLIER_RANGE, muscle_bounds, position_bounds, snap_genes

DEFAULTS = GenomeConstraints()


def _wild(rng: np.random.Generator, n_nodes: int, n_muscles: int, n_genomes: int) -> tuple[np.ndarray, ...]:
    """Genes far outside every range, and exactly on some bounds."""
    nodes = rng.uniform(-20.0, 20.0, (n_nodes, len(NODE_FIELDS)))
    muscles = rng.uniform(-20.0, 20.0, (n_muscles, len(MUSCLE_FIELDS)))
    muscles[::7] = 0.0
    multipliers = rng.uniform(-1.0, 5.0, n_genomes)
    return nodes, muscles, multipliers


def _is_float32(values: np.ndarray) -> bool:
    return bool(np.array_equal(values.astype(np.float32).astype(np.float64), values))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snapped_genes_are_float32_numbers_inside_their_ranges(seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts = np.array([3, 0, 5, 4])
    nodes, muscles, multipliers = _wild(rng, 9, int(counts.sum()), len(counts))
    snapped_nodes, snapped_muscles, snapped_multipliers = snap_genes(nodes, muscles, multipliers, counts, DEFAULTS)

    for snapped in (snapped_nodes, snapped_muscles, snapped_multipliers):
        assert _is_float32(snapped)
    lo_pos, hi_pos = position_bounds(DEFAULTS)
    assert (snapped_nodes[:, 0] >= DEFAULTS.min_size).all()
    assert (snapped_nodes[:, 0] <= DEFAULTS.max_size).all()
    assert (snapped_nodes[:, 2:] >= [lo_pos[0], 0.0, lo_pos[2]]).all()
    assert (snapped_nodes[:, 2:] <= hi_pos).all()
    lo, hi = muscle_bounds(DEFAULTS)
    assert (snapped_muscles >= lo).all()
    assert (snapped_muscles <= hi).all()
    assert (snapped_multipliers >= MULTIPLIER_RANGE[0]).all()
    assert (snapped_multipliers <= MULTIPLIER_RANGE[1]).all()
    # inputs untouched: the snapped genes are new arrays
    assert not np.shares_memory(snapped_muscles, muscles)
    assert (muscles[::7] == 0.0).all()


def test_each_genome_frequencies_stay_under_the_limit_of_its_own_multiplier() -> None:
    c = GenomeConstraints(min_frequency=0.5, max_frequency=3.0)
    counts = np.array([2, 3])
    muscles = np.zeros((5, len(MUSCLE_FIELDS)))
    muscles[:, M_FREQUENCY] = 3.0
    _, snapped, multipliers = snap_genes(np.ones((2, 5)), muscles, np.array([2.0, 1.0]), counts, c)

    effective = snapped[:, M_FREQUENCY] * np.repeat(multipliers, counts)
    assert (effective <= c.max_frequency).all()
    assert snapped[:2, M_FREQUENCY] == pytest.approx(1.5)  # 3.0 / 2.0, as a float32 just under it
    assert (snapped[2:, M_FREQUENCY] == 3.0).all()


def test_a_range_too_narrow_for_any_float32_keeps_its_exact_value() -> None:
    c = GenomeConstraints(min_frequency=0.3, max_frequency=0.3)  # 0.3 is not a float32
    muscles = np.zeros((1, len(MUSCLE_FIELDS)))
    muscles[0, M_FREQUENCY] = 7.0
    _, snapped, _ = snap_genes(np.ones((1, 5)), muscles, np.array([1.0]), np.array([1]), c)
    assert snapped[0, M_FREQUENCY] == 0.3
