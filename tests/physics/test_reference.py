"""The numba kernel agrees with the plain Python reference, creature by creature."""

from __future__ import annotations

import numpy as np
import pytest

from evolab import FitnessWeights, Genome, SimConfig, simulate
from evolab.physics import constants
from evolab.physics.reference import ReferenceResult, simulate_reference
from evolab.physics.simulate import SimResult
from tests.physics.creatures import NEURAL_MODES, creature, muscle, node, random_genomes

# fastmath contract/afn lets the kernel fuse and approximate, so agreement is tight but not bitwise.
ATOL = 1e-6
_DQ_CODES = {None: constants.DQ_NONE, "frequency_exceeded": constants.DQ_FREQUENCY}
_DQ_CODES |= {"nan_position": constants.DQ_NAN, "physics_explosion": constants.DQ_EXPLOSION}


def assert_matches_reference(result: SimResult, ref: ReferenceResult) -> None:
    assert _DQ_CODES[result.disqualified] == ref.disqualified
    assert result.substeps == ref.substeps
    assert result.pellets_collected == ref.pellets_collected
    assert result.fitness == pytest.approx(ref.fitness, abs=ATOL)
    assert result.distance_traveled == pytest.approx(ref.distance_traveled, abs=ATOL)
    assert result.net_displacement == pytest.approx(ref.net_displacement, abs=ATOL)
    terms = [result.terms.pellets, result.terms.progress, result.terms.regression, result.terms.movement]
    np.testing.assert_allclose(terms, ref.terms, rtol=0, atol=ATOL)
    assert [p.spawned_step for p in result.pellets] == ref.pellet_spawn_steps.tolist()
    assert [-1 if p.collected_step is None else p.collected_step for p in result.pellets] == (
        ref.pellet_collect_steps.tolist()
    )
    positions = np.array([p.position for p in result.pellets]).reshape(-1, 3)
    np.testing.assert_allclose(positions, ref.pellet_positions, rtol=0, atol=ATOL)
    np.testing.assert_allclose(
        [p.initial_distance for p in result.pellets], ref.pellet_initial_distances, rtol=0, atol=ATOL
    )
    assert result.frames is not None
    assert ref.frames is not None
    assert result.fitness_over_time is not None
    assert result.frames.dtype == ref.frames.dtype == np.float32
    np.testing.assert_allclose(result.frames, ref.frames, rtol=1e-6, atol=ATOL)
    np.testing.assert_allclose(result.fitness_over_time, ref.fitness_over_time, rtol=0, atol=ATOL)


def check_batch(genomes: list[Genome], cfg: SimConfig, seed: int = 11, pellets: list | None = None) -> list[SimResult]:
    results = simulate(genomes, cfg, seed=seed, record=True, pellets=pellets)
    for genome, result in zip(genomes, results, strict=True):
        assert_matches_reference(result, simulate_reference(genome, cfg, seed, pellets=pellets))
    return results


@pytest.mark.parametrize("self_collision", [True, False])
@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_kernel_matches_reference_on_random_genomes(rng, mode, self_collision):
    genomes = random_genomes(rng, 20, mode)
    check_batch(genomes, SimConfig(duration=1.0, neural_mode=mode, self_collision=self_collision))


@pytest.mark.parametrize("frame", ["body", "motion"])
@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_kernel_matches_reference_when_creatures_sense_in_their_own_frame(rng, mode, frame):
    genomes = random_genomes(rng, 6, mode)
    check_batch(genomes, SimConfig(duration=1.0, neural_mode=mode, sensor_frame=frame))


@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_kernel_matches_reference_with_explicit_pellets(rng, mode):
    genomes = random_genomes(rng, 20, mode)
    pellets = [(0.0, 0.3, 0.0), (1.0, 0.5, -1.0), (-1.5, 0.3, 2.0), (3.0, 0.3, 3.0)]
    check_batch(genomes, SimConfig(duration=1.0, neural_mode=mode), pellets=pellets)


def test_kernel_matches_reference_when_pellets_are_collected_and_respawned(rng):
    # A tiny arena clamps every pellet next to the origin, where the creatures are: pellets after the
    # first are drawn, placed and collected as well.
    genomes = random_genomes(rng, 20, "off")
    for pellet_mode in ("shared", "per_creature"):
        cfg = SimConfig(duration=1.0, arena_size=0.5, pellet_mode=pellet_mode)
        results = check_batch(genomes, cfg)
        assert sum(r.pellets_collected for r in results) >= 5
        assert max(len(r.pellets) for r in results) >= 3


def test_kernel_matches_reference_with_other_physics_and_weights(rng):
    genomes = random_genomes(rng, 20, "hybrid")
    weights = FitnessWeights(pellet=30, progress=50, regression=40, movement=60, movement_reference_speed=0.3)
    cfg = SimConfig(
        duration=0.75, gravity=-20.0, ground_friction=1.5, substeps=5, neural_mode="hybrid", fitness=weights
    )
    check_batch(genomes, cfg, pellets=[(0.5, 0.3, 0.5), (-0.5, 0.3, -0.5)])


def test_kernel_matches_reference_on_the_stiffest_lightest_creatures():
    # Hub node joined to all seven others at maximum stiffness: the most sub-steps a valid genome needs.
    nodes = [node(0.2, 0.0, 1.0, 0.0)] + [
        node(0.2, np.cos(a), 1.0, np.sin(a)) for a in np.linspace(0, 2 * np.pi, 7, endpoint=False)
    ]
    muscles = [muscle(0, i, 1.0, stiffness=500.0, damping=0.8, amplitude=0.4, frequency=3.0) for i in range(1, 8)]
    muscles += [muscle(i, i + 1, 0.9, stiffness=500.0, damping=0.05, amplitude=0.4, phase=i) for i in range(1, 7)]
    genome = creature(nodes, muscles, "hub")
    results = check_batch([genome], SimConfig(duration=1.0))
    assert results[0].substeps > 2


def test_kernel_matches_reference_for_a_disqualified_creature():
    genome = creature([node(0.5, 0, 1, 0), node(0.5, 1, 1, 0)], [muscle(0, 1, 1.0, frequency=3.0)], multiplier=1.5)
    [result] = check_batch([genome], SimConfig(duration=0.5))
    assert result.disqualified == "frequency_exceeded"
