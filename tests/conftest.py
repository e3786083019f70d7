"""Shared fixtures: a seeded generator per test and a hypothesis profile fit for compiled kernels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The first call of a kernel compiles (or loads numba's cache), so no per-example deadline.
settings.register_profile("evolab", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("evolab")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed: tests never touch global random state."""
    return np.random.default_rng(20261126)
