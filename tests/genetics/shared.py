"""Constraint sets and checks shared by the genetics tests."""

from __future__ import annotations

import numpy as np

from evolab import Genome, GenomeConstraints, validate_genome

DEFAULTS = GenomeConstraints()
CONSTRAINT_SETS = (
    DEFAULTS,
    GenomeConstraints(max_nodes=3, max_muscles=2),
    GenomeConstraints(max_nodes=15, max_muscles=30),
    GenomeConstraints(min_muscles=3),
    GenomeConstraints(min_nodes=3, max_nodes=5, min_frequency=0.8, max_frequency=1.2),
    GenomeConstraints(min_nodes=3, max_nodes=5, max_muscles=10),
    GenomeConstraints(min_nodes=4, max_nodes=4),
    GenomeConstraints(max_nodes=6, max_muscles=5),
    GenomeConstraints(min_muscles=4, max_muscles=4, max_nodes=5),
    GenomeConstraints(spawn_radius=0.5, max_amplitude=0.05, min_size=0.3, max_size=0.3),
    GenomeConstraints(min_nodes=2, max_nodes=2, max_muscles=1),
    GenomeConstraints(max_nodes=32, max_muscles=128, min_muscles=20),
)


def assert_valid_child(child: Genome, constraints: GenomeConstraints) -> None:
    """Valid and connected, network matches the muscles, frequency x multiplier within the limit."""
    validate_genome(child, constraints)
    if child.neural is not None:
        assert child.neural.output_size == child.n_muscles
    assert np.all(child.effective_frequencies() <= constraints.max_frequency * (1.0 + 1e-9))
