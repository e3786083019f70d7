"""What must hold for every creature and every batch (DESIGN §4 (a)-(c)): batch independence,
determinism, and no NaN or numerical blow-up for any genome that satisfies the constraints."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolab import SimConfig, simulate
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import SimResult, run_batch
from tests.physics.creatures import (
    MAX_NODE_SPEED,
    NEURAL_MODES,
    creature,
    max_node_speed,
    muscle,
    node,
    passive,
    perturbed,
    random_genomes,
)


def assert_identical(a: SimResult, b: SimResult) -> None:
    """Bitwise-equal results: every number, every frame, every pellet."""
    assert a.genome_id == b.genome_id
    assert a.fitness == b.fitness
    assert a.pellets_collected == b.pellets_collected
    assert a.disqualified == b.disqualified
    assert a.distance_traveled == b.distance_traveled
    assert a.net_displacement == b.net_displacement
    assert a.terms == b.terms
    assert a.pellets == b.pellets
    assert a.substeps == b.substeps
    if a.frames is None:
        assert b.frames is None
        assert a.fitness_over_time is None
        assert b.fitness_over_time is None
    else:
        assert b.frames is not None
        assert np.array_equal(a.frames, b.frames)
        assert np.array_equal(a.fitness_over_time, b.fitness_over_time)


def mixed_population(rng: np.random.Generator) -> list:
    """Oscillator and neural creatures of every size in one list (the batch pads to the largest)."""
    genomes = random_genomes(rng, 16, "off") + random_genomes(rng, 16, "hybrid")
    return [genomes[i] for i in rng.permutation(len(genomes))]


@pytest.mark.parametrize("pellet_mode", ["shared", "per_creature"])
@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_creature_result_ignores_its_batch_mates(rng, mode, pellet_mode):
    genomes = mixed_population(rng)
    cfg = SimConfig(duration=2.0, neural_mode=mode, pellet_mode=pellet_mode, arena_size=2.0)
    whole = simulate(genomes, cfg, seed=5, record=True)
    assert sum(r.pellets_collected for r in whole) > 0  # pellet spawning after collection is covered too
    bounds = [0, 1, 8, 21, len(genomes)]
    chunks = [simulate(genomes[lo:hi], cfg, seed=5, record=True) for lo, hi in itertools.pairwise(bounds)]
    for a, b in zip(whole, [r for chunk in chunks for r in chunk], strict=True):
        assert_identical(a, b)
    backwards = simulate(genomes[::-1], cfg, seed=5, record=True)[::-1]
    for a, b in zip(whole, backwards, strict=True):
        assert_identical(a, b)


@pytest.mark.parametrize("pellet_mode", ["shared", "per_creature"])
def test_a_chunk_of_a_packed_batch_gives_the_same_rows(rng, pellet_mode):
    genomes = mixed_population(rng)
    cfg = SimConfig(duration=1.0, neural_mode="hybrid", pellet_mode=pellet_mode)
    batch = pack_batch(genomes)
    whole = run_batch(batch, cfg, 9, record=True)
    index = np.array([3, 17, 4, 30])
    part = run_batch(batch.take(index), cfg, 9, record=True)
    for field in ("fitness", "pellets", "dq", "distance", "terms", "pellet_pos", "pellet_collect", "frames"):
        assert np.array_equal(getattr(whole, field)[index], getattr(part, field)), field


@pytest.mark.parametrize("pellet_mode", ["shared", "per_creature"])
def test_result_does_not_depend_on_worker_count(rng, pellet_mode):
    genomes = mixed_population(rng)
    cfg = SimConfig(duration=2.0, neural_mode="hybrid", pellet_mode=pellet_mode)
    one = simulate(genomes, cfg, seed=3, record=True, workers=1)
    two = simulate(genomes, cfg, seed=3, record=True, workers=2)
    for a, b in zip(one, two, strict=True):
        assert_identical(a, b)


def test_results_do_not_depend_on_another_thread_competing_for_the_cores(rng):
    """Workers claim creatures as they go, so a worker slowed down simulates fewer, never different ones."""
    genomes = mixed_population(rng)
    cfg = SimConfig(duration=1.0, neural_mode="hybrid")
    quiet = simulate(genomes, cfg, seed=5, record=True, workers=2)
    stop = threading.Event()

    def busy() -> None:
        x = np.ones(200_000)
        while not stop.is_set():
            x = np.sqrt(x + 1.0)

    competitor = threading.Thread(target=busy)
    competitor.start()
    try:
        contended = simulate(genomes, cfg, seed=5, record=True, workers=2)
    finally:
        stop.set()
        competitor.join()
    for a, b in zip(quiet, contended, strict=True):
        assert_identical(a, b)


def test_same_seed_gives_identical_results(rng):
    genomes = mixed_population(rng)
    cfg = SimConfig(duration=2.0, neural_mode="pure")
    for a, b in zip(
        simulate(genomes, cfg, seed=42, record=True), simulate(genomes, cfg, seed=42, record=True), strict=True
    ):
        assert_identical(a, b)


@pytest.mark.parametrize("pellet_mode", ["shared", "per_creature"])
def test_different_seeds_place_different_pellets(rng, pellet_mode):
    genomes = random_genomes(rng, 4)
    cfg = SimConfig(duration=0.5, pellet_mode=pellet_mode)
    first = [r.pellets[0].position for r in simulate(genomes, cfg, seed=1)]
    second = [r.pellets[0].position for r in simulate(genomes, cfg, seed=2)]
    assert all(a != b for a, b in zip(first, second, strict=True))


def test_per_creature_pellets_differ_between_creatures_and_shared_ones_do_not(rng):
    # Same body, different ids: shared draws place the same pellet, per-creature draws do not.
    genome = random_genomes(rng, 1)[0]
    twins = [genome.replace(id="twin_a"), genome.replace(id="twin_b")]
    shared = simulate(twins, SimConfig(duration=0.5, pellet_mode="shared"), seed=1)
    own = simulate(twins, SimConfig(duration=0.5, pellet_mode="per_creature"), seed=1)
    assert shared[0].pellets[0].position == shared[1].pellets[0].position
    assert own[0].pellets[0].position != own[1].pellets[0].position


# -- no NaN, no numerical explosion (DESIGN §4 (c)) --------------------------------------------------


def assert_physically_sane(results: list[SimResult], allow_travel: bool) -> None:
    """No NaN; with `allow_travel`, an explosion must be a creature that moved far, not a blow-up."""
    for r in results:
        assert r.disqualified != "nan_position"
        assert np.isfinite(r.fitness)
        assert np.isfinite(r.distance_traveled)
        if r.frames is not None:
            assert np.isfinite(r.frames).all()
            assert max_node_speed(r.frames) < MAX_NODE_SPEED
        if not allow_travel:
            assert r.disqualified is None


def assert_explosions_are_travel(genomes: list, results: list[SimResult], cfg: SimConfig) -> None:
    """Re-run the creatures that hit the explosion bounds with frames and check they only travelled."""
    exploded = [g for g, r in zip(genomes, results, strict=True) if r.disqualified == "physics_explosion"]
    assert len(exploded) <= 0.005 * len(genomes)  # 1 in 2000 at 5 s: a strong jumper leaves the y <= 30 box
    if exploded:
        assert_physically_sane(simulate(exploded, cfg, seed=0, record=True), allow_travel=True)


@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_thousands_of_random_genomes_never_produce_nan(rng, mode):
    genomes = random_genomes(rng, 2000, mode)
    cfg = SimConfig(duration=5.0, neural_mode=mode)
    results = simulate(genomes, cfg, seed=0)
    assert_physically_sane(results, allow_travel=True)
    assert_explosions_are_travel(genomes, results, cfg)


@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_long_runs_explode_only_by_travelling_far(rng, mode):
    # Over 20 s a few percent of creatures legitimately leave the |p| <= 50, y <= 30 box; their node
    # speeds stay those of a moving body, and the rate does not change with the sub-step count.
    genomes = random_genomes(rng, 500, mode)
    cfg = SimConfig(duration=20.0, neural_mode=mode)
    results = simulate(genomes, cfg, seed=0, record=True)
    assert_physically_sane(results, allow_travel=True)
    assert sum(r.disqualified is not None for r in results) <= 0.05 * len(genomes)


@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_mutated_genomes_never_produce_nan(rng, mode):
    genomes = [perturbed(g, rng, magnitude) for g in random_genomes(rng, 500, mode) for magnitude in (0.1, 0.5)]
    cfg = SimConfig(duration=5.0, neural_mode=mode)
    results = simulate(genomes, cfg, seed=0)
    assert all(r.disqualified != "frequency_exceeded" for r in results)
    assert_physically_sane(results, allow_travel=True)
    assert_explosions_are_travel(genomes, results, cfg)


@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(NEURAL_MODES), self_collision=st.booleans())
def test_any_random_genome_stays_finite(seed, mode, self_collision):
    rng = np.random.default_rng(seed)
    genomes = random_genomes(rng, 40, mode)
    genomes += [perturbed(g, rng, 0.5) for g in genomes[:20]]
    results = simulate(genomes, SimConfig(duration=5.0, neural_mode=mode, self_collision=self_collision), seed=seed)
    assert_physically_sane(results, allow_travel=True)


def extreme_creatures(rng: np.random.Generator) -> list:
    """Valid creatures at the edges of every range: smallest, stiffest, most muscles, largest amplitude."""
    out = []
    ring = [(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 7, endpoint=False)]
    hub_pairs = [(0, i) for i in range(1, 8)] + [(i, i % 7 + 1) for i in range(1, 8)] + [(1, 4)]
    complete6 = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    for damping in (0.05, 0.8):
        for pairs, n in ((hub_pairs, 8), (complete6, 6)):
            for spread in (1.0, 0.05):  # spread 0.05: every node spawns inside its neighbours
                nodes = [node(0.2, 0.0, 1.5, 0.0)] + [
                    node(0.2, spread * x, 1.5 + 0.1 * i, spread * z) for i, (x, z) in enumerate(ring[: n - 1])
                ]
                muscles = [
                    muscle(
                        a,
                        b,
                        float(rng.uniform(0.2, 4.0)),
                        stiffness=500.0,
                        damping=damping,
                        frequency=3.0,
                        amplitude=0.4,
                        phase=float(rng.uniform(0, 2 * np.pi)),
                    )
                    for a, b in pairs
                ]
                out.append(creature(nodes, muscles, f"extreme_{len(out)}"))
    return out


@pytest.mark.parametrize("self_collision", [True, False])
def test_extreme_valid_creatures_stay_finite_with_bounded_speeds(rng, self_collision):
    # k = 500 muscles swinging 0.4 of up to 4 units on 0.04-mass nodes hold enough energy to throw a
    # creature above y = 30: about half of these leave the box, at 2 sub-steps and at 16 alike, so the
    # bounds catch real flight there, and the speed bound is what tells a numerical blow-up.
    genomes = extreme_creatures(rng)
    assert max(g.n_muscles for g in genomes) == 15
    results = simulate(genomes, SimConfig(duration=10.0, self_collision=self_collision), seed=0, record=True)
    assert_physically_sane(results, allow_travel=True)


@pytest.mark.parametrize("self_collision", [True, False])
def test_extreme_passive_creatures_spawned_apart_stay_in_bounds(rng, self_collision):
    genomes = [passive(g) for g in extreme_creatures(rng)]
    genomes = [g for g in genomes if np.ptp(g.node_params[:, 2]) > 1.0]  # spread-out spawn poses only
    assert len(genomes) == 4
    results = simulate(genomes, SimConfig(duration=10.0, self_collision=self_collision), seed=0, record=True)
    assert_physically_sane(results, allow_travel=False)
