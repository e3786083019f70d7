"""Senses in the creature's own frame (`SimConfig.sensor_frame` "body" or "motion"): its heading, its
course, and steering that does not depend on which way a creature faces."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evolab import Genome, SimConfig, simulate
from evolab.genome.genes import MuscleGene, Vec3
from evolab.physics.kernel_rules import body_heading, motion_heading
from tests.physics.creatures import creature, muscle, node


@pytest.mark.parametrize(
    ("node_1", "heading"),
    [
        ((1.0, 0.0, 0.0), (1.0, 0.0)),
        ((0.0, 0.0, 2.0), (0.0, 1.0)),
        ((-3.0, 5.0, 4.0), (-0.6, 0.8)),  # height does not count: the heading lies in the ground plane
        ((0.0, 1.0, 0.0), (1.0, 0.0)),  # stacked nodes: no heading, world x stands in
    ],
)
def test_the_heading_points_from_node_0_to_node_1_in_the_ground_plane(node_1, heading) -> None:
    pos = np.array([[0.0, 0.5, 0.0], node_1])
    assert body_heading(pos) == pytest.approx(heading, abs=1e-12)


@pytest.mark.parametrize(
    ("velocity", "heading"),
    [
        ((0.6, 0.0, 0.8), (0.6, 0.8)),
        ((0.0, -1.0, 0.0), (0.28, 0.96)),  # falling straight down: no course, the body's heading stands in
        ((0.05, 0.99, 0.05), (0.28, 0.96)),
        ((-0.3, 0.9, 0.3), (-(2**-0.5), 2**-0.5)),  # mostly up, but a course all the same
    ],
)
def test_the_course_is_the_direction_of_motion_in_the_ground_plane(velocity, heading) -> None:
    vx, _, vz = velocity
    assert motion_heading(vx, vz, 0.28, 0.96) == pytest.approx(heading, abs=1e-12)


def steering_crawler(turn: int) -> Genome:
    """Three nodes along a heading turned `turn` quarter turns about y, with muscles whose contraction
    follows the pellet's direction (biases along the first and third sensor axes)."""
    cos, sin = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)][turn % 4]

    def at(size: float, forward: float, side: float, friction: float):
        return node(size, forward * cos - side * sin, 0.3, forward * sin + side * cos, friction)

    nodes = [at(0.4, -0.8, 0.0, 0.3), at(0.5, 0.0, 0.3, 0.9), at(0.3, 0.8, 0.0, 0.2)]
    muscles = [
        _biased(muscle(0, 1, 0.9, frequency=1.5, amplitude=0.35), Vec3(0.8, 0.0, 0.6), 0.8),
        _biased(muscle(1, 2, 0.9, frequency=1.5, amplitude=0.35, phase=1.2), Vec3(-0.6, 0.0, 0.8), 0.8),
        muscle(0, 2, 1.6, stiffness=120.0),
    ]
    return creature(nodes, muscles, name=f"crawler-{turn}")


def _biased(gene: MuscleGene, direction: Vec3, strength: float) -> MuscleGene:
    return dataclasses.replace(gene, direction_bias=direction, bias_strength=strength)


def turned(pellets: list[tuple[float, float, float]], turn: int) -> list[tuple[float, float, float]]:
    out = []
    for x, y, z in pellets:
        for _ in range(turn % 4):
            x, z = -z, x
        out.append((x, y, z))
    return out


PELLETS = [(2.5, 0.3, 1.0), (-1.0, 0.7, 2.0)]


@pytest.mark.parametrize("frame", ["body", "motion"])
def test_in_its_own_frame_a_turned_creature_steers_to_turned_pellets_alike(frame) -> None:
    cfg = SimConfig(duration=3.0, sensor_frame=frame)
    results = [simulate([steering_crawler(t)], cfg, pellets=turned(PELLETS, t))[0] for t in range(4)]
    for r in results[1:]:
        assert r.fitness == pytest.approx(results[0].fitness, rel=1e-6)
        assert r.net_displacement == pytest.approx(results[0].net_displacement, rel=1e-6)
    assert results[0].net_displacement > 0.1  # it moves: the sameness is not that of a creature at rest


def test_in_the_world_frame_the_same_genes_steer_a_turned_creature_differently() -> None:
    cfg = SimConfig(duration=3.0, sensor_frame="world")
    results = [simulate([steering_crawler(t)], cfg, pellets=turned(PELLETS, t))[0] for t in range(4)]
    assert len({round(r.fitness, 6) for r in results}) > 1
