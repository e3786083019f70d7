"""Shared fixtures: a seeded generator per test and a hypothesis profile fit for compiled kernels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The first call of a kernel compiles (or loads numba's cache), so no per-example deadline.
settings.register_profile("evolab", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("evolab")


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels() -> None:
    """Every kernel compiled (or loaded from numba's cache) once per test process, before its first test:
    on a cold cache that takes most of a minute, which must not eat into a test's own deadlines (a live
    server's, a subprocess's)."""
    from evolab.bench import warm_up

    warm_up()


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed: tests never touch global random state."""
    return np.random.default_rng(20261126)
