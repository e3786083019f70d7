"""The compiled phase helpers of a control step (`kernel_phases`), one at a time: the guarantees the module
docstring of `kernel_creature` gives for contacts, ground and disqualification."""

from __future__ import annotations

import numpy as np
import pytest

from evolab.genome.genes import N_FRICTION
from evolab.physics.constants import DQ_EXPLOSION, DQ_NAN, DQ_NONE, EXPLOSION_HEIGHT, EXPLOSION_RADIUS
from evolab.physics.kernel_phases import bounds, ground, node_contacts

H = 1.0 / 240.0


def test_node_contacts_conserve_momentum_and_leave_overlapping_pairs_separating(rng) -> None:
    for _ in range(50):
        n = 6
        pos = rng.uniform(-0.6, 0.6, (n, 3))
        vel = rng.normal(0.0, 2.0, (n, 3))
        radius = rng.uniform(0.2, 0.5, n)
        mass = rng.uniform(0.1, 5.0, n)
        before = (mass[:, None] * vel).sum(axis=0)
        node_contacts(n, H, pos, vel, radius, 1.0 / mass)
        assert (mass[:, None] * vel).sum(axis=0) == pytest.approx(before, abs=1e-9 * np.abs(mass[:, None] * vel).sum())

    # one overlapping pair, closing fast: afterwards it moves apart
    pos = np.array([[0.0, 1.0, 0.0], [0.5, 1.0, 0.0]])
    vel = np.array([[3.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    node_contacts(2, H, pos, vel, np.array([0.3, 0.3]), np.array([1.0, 0.5]))
    assert vel[1, 0] - vel[0, 0] > 0.0


def test_ground_stops_the_approach_projects_nodes_out_and_friction_never_reverses_a_slide(rng) -> None:
    n = 200
    radius = rng.uniform(0.1, 0.5, n)
    pos = rng.uniform(-1.0, 1.0, (n, 3))
    pos[:, 1] = radius * rng.uniform(0.5, 1.5, n)  # about half of them touch the ground
    vel = rng.normal(0.0, 3.0, (n, 3))
    node_params = np.zeros((n, N_FRICTION + 1))
    node_params[:, N_FRICTION] = rng.uniform(0.0, 2.0, n)
    touching = (pos[:, 1] <= radius) & (vel[:, 1] < 0.0)
    assert touching.any()
    slide = vel[:, [0, 2]].copy()
    ground(n, H, 0.8, node_params, pos, vel, radius)
    assert (pos[:, 1] >= radius).all()
    assert (vel[touching, 1] >= 0.0).all()
    after = vel[:, [0, 2]]
    assert ((after * slide).sum(axis=1) >= 0.0).all()  # friction slows a slide, never turns it round
    assert (np.hypot(*after.T) <= np.hypot(*slide.T) * (1.0 + 1e-12)).all()


@pytest.mark.parametrize(
    ("node", "dq"),
    [
        ((1.0, 0.5, -2.0), DQ_NONE),
        ((np.nan, 0.5, 0.0), DQ_NAN),  # no nnan in the fastmath flags: a NaN must still be seen
        ((0.0, np.inf, 0.0), DQ_NAN),
        ((EXPLOSION_RADIUS, 1.0, 0.0), DQ_EXPLOSION),
        ((0.0, EXPLOSION_HEIGHT + 0.1, 0.0), DQ_EXPLOSION),
    ],
)
def test_bounds_disqualify_non_finite_and_runaway_nodes(node, dq) -> None:
    pos = np.array([[0.0, 0.5, 0.0], node, [0.0, 0.5, 1.0]])
    assert bounds(3, pos) == dq
