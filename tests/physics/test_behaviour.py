"""How simulated creatures behave: falling, resting, friction, pellets, fitness terms, frames and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evolab import ConfigError, FitnessWeights, Genome, SimConfig, simulate
from evolab.physics import frame_times
from tests.physics.creatures import (
    body_radius,
    centre_of_mass,
    creature,
    edge_distance,
    last_seconds_drift,
    muscle,
    node,
    passive,
    random_genomes,
)


def flat_square(size: float = 0.4) -> Genome:
    """Four nodes in a horizontal unit square, every pair joined at its spawn distance, no motion."""
    corners = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]
    nodes = [node(size, x, 0.5, z) for x, z in corners]
    pairs = [(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (1, 3)]
    muscles = [muscle(a, b, math.dist(corners[a], corners[b]), stiffness=300.0) for a, b in pairs]
    return creature(nodes, muscles, "square")


def crawler(frictions: tuple[float, float, float] = (0.9, 0.5, 0.2)) -> Genome:
    """Three nodes in a row whose two muscles beat a quarter period apart; it crawls towards -x."""
    nodes = [node(0.5, x, 0.3, 0.0, friction=f) for x, f in zip((-1.0, 0.0, 1.0), frictions, strict=True)]
    muscles = [
        muscle(0, 1, 1.0, amplitude=0.4, frequency=1.5),
        muscle(1, 2, 1.0, amplitude=0.4, frequency=1.5, phase=math.pi / 2),
    ]
    return creature(nodes, muscles, "crawler")


def spawn_position(genome: Genome, i: int) -> tuple[float, float, float]:
    x, y, z = genome.node_params[i, 2:5]
    return (float(x), float(y) + 1.0, float(z))


# -- passive creatures (DESIGN §4 (d)) ----------------------------------------------------------------


def test_passive_flat_creature_settles_on_the_ground_and_stays_put():
    genome = flat_square()
    result = simulate([genome], SimConfig(duration=10.0), record=True)[0]
    frames = result.frames
    assert result.disqualified is None
    np.testing.assert_allclose(frames[-1, :, 1], 0.2, atol=1e-3)  # every node rests at y = radius
    assert last_seconds_drift(genome, frames, 5.0) < 1e-4
    speeds = np.linalg.norm(np.diff(frames[-16:].astype(np.float64), axis=0), axis=-1) * 15.0
    assert speeds.max() < 1e-3


def test_passive_creature_whose_muscle_pulls_its_nodes_into_each_other_stays_put():
    # Radii 0.25 + 0.25 = 0.5 > rest length 0.3: the spring pulls the spheres into contact.
    genome = creature(
        [node(0.5, 0.0, 0.5, 0.0, friction=0.2), node(0.5, 0.6, 0.5, 0.0, friction=0.9)],
        [muscle(0, 1, 0.3, stiffness=500.0, damping=0.3)],
        "overlap",
    )
    result = simulate([genome], SimConfig(duration=10.0), record=True)[0]
    assert last_seconds_drift(genome, result.frames, 4.0) < 0.01


def test_same_passive_creature_without_self_collision_stays_put():
    genome = creature(
        [node(0.5, 0.0, 0.5, 0.0, friction=0.2), node(0.5, 0.6, 0.5, 0.0, friction=0.9)],
        [muscle(0, 1, 0.3, stiffness=500.0, damping=0.3)],
        "overlap",
    )
    result = simulate([genome], SimConfig(duration=10.0, self_collision=False), record=True)[0]
    assert last_seconds_drift(genome, result.frames, 4.0) < 1e-4


def test_random_passive_creatures_stay_put(rng):
    genomes = [passive(g) for g in random_genomes(rng, 300)]
    results = simulate(genomes, SimConfig(duration=10.0), record=True)
    drifts = [last_seconds_drift(g, r.frames, 4.0) for g, r in zip(genomes, results, strict=True)]
    assert max(drifts) < 0.05


# -- falling, gravity, friction -----------------------------------------------------------------------


def two_node_bar(y: float = 3.0) -> Genome:
    """Two nodes 1 unit apart joined at exactly that length: falls as one rigid body."""
    return creature([node(0.5, -0.5, y, 0.0), node(0.5, 0.5, y, 0.0)], [muscle(0, 1, 1.0)], "bar")


def test_free_fall_follows_half_g_t_squared_before_contact():
    cfg = SimConfig(duration=1.0)
    result = simulate([two_node_bar()], cfg, record=True)[0]
    t = frame_times(cfg.n_frames)[1:13]  # contact at y = 0.25 comes after t = 0.86 s
    drop = result.frames[1:13, :, 1].astype(np.float64) - 4.0
    ideal = 0.5 * cfg.gravity * t**2
    # Semi-implicit Euler with step h lands h*g*t/2 ahead of the exact fall; damping slows it by ~3%.
    h = (1.0 / 60.0) / result.substeps
    tolerance = 0.03 * np.abs(ideal) + 0.5 * abs(cfg.gravity) * h * t
    assert (np.abs(drop - ideal[:, None]) <= tolerance[:, None]).all()
    np.testing.assert_array_equal(result.frames[:13, 0, 1], result.frames[:13, 1, 1])  # no tilt
    np.testing.assert_allclose(result.frames[1:13, :, [0, 2]], result.frames[:1, :, [0, 2]].repeat(12, axis=0))


def test_gravity_setting_scales_the_fall():
    genome = two_node_bar()
    full = simulate([genome], SimConfig(duration=0.6, gravity=-9.8), record=True)[0].frames
    half = simulate([genome], SimConfig(duration=0.6, gravity=-4.9), record=True)[0].frames
    np.testing.assert_allclose(half[1:, :, 1] - 4.0, 0.5 * (full[1:, :, 1] - 4.0), rtol=1e-5)
    none = simulate([genome], SimConfig(duration=0.6, gravity=0.0), record=True)[0].frames
    np.testing.assert_array_equal(none, np.repeat(none[:1], len(none), axis=0))


def test_node_friction_changes_how_a_creature_moves():
    grippy = simulate([crawler((1.0, 1.0, 1.0))], SimConfig(duration=3.0), record=True)[0]
    slippery = simulate([crawler((0.1, 0.1, 0.1))], SimConfig(duration=3.0), record=True)[0]
    grippy_x = centre_of_mass(crawler(), grippy.frames)[-1, 0]
    slippery_x = centre_of_mass(crawler(), slippery.frames)[-1, 0]
    assert abs(grippy_x - slippery_x) > 0.05
    assert not np.array_equal(grippy.frames, slippery.frames)


# -- pellets ------------------------------------------------------------------------------------------


def test_pellet_at_a_spawn_position_is_collected_on_the_first_step():
    genome = two_node_bar()
    target = spawn_position(genome, 1)
    far = (4.0, 0.3, 4.0)
    result = simulate([genome], SimConfig(duration=1.0), record=True, pellets=[target, far])[0]
    first, second = result.pellets
    assert result.pellets_collected == 1
    assert first.position == target
    assert first.spawned_step == 0
    assert first.spawned_frame == 0
    assert first.collected_step == 1
    assert first.collected_frame == 1
    assert second.position == far
    assert second.spawned_step == 1
    assert second.spawned_frame == 1
    assert second.collected_step is None
    assert second.collected_frame is None
    com_at_step_1 = centre_of_mass(genome, result.frames[:1])[0]  # moved < 1e-3 in one step
    assert second.initial_distance == pytest.approx(edge_distance(com_at_step_1, far, body_radius(genome)), abs=1e-3)
    assert result.terms.pellets == 100.0


def test_at_most_ten_pellets_are_spawned_and_collected():
    # A vertical stack of large nodes falling through x = z = 0, where a tiny arena clamps every pellet:
    # it touches pellet k (at height 0.3 + 0.4 k) on the way down, one per step.
    stack = creature(
        [node(0.8, 0.0, y, 0.0) for y in (0.4, 1.0, 1.6, 2.2, 2.8)],
        [muscle(i, i + 1, 0.6, stiffness=500.0, amplitude=0.4) for i in range(4)],
        "stack",
    )
    result = simulate([stack], SimConfig(duration=3.0, arena_size=0.01), record=True)[0]
    assert result.pellets_collected == 10
    assert len(result.pellets) == 10
    assert all(p.collected_step is not None for p in result.pellets)
    assert [p.position[1] for p in result.pellets] == pytest.approx([0.3 + 0.4 * k for k in range(10)])
    assert result.terms.pellets == 1000.0
    assert result.terms.progress == 0.0
    assert result.terms.regression == 0.0


def test_ten_explicit_pellets_at_one_spot_are_collected_one_per_step():
    genome = two_node_bar()
    result = simulate([genome], SimConfig(duration=1.0), pellets=[spawn_position(genome, 0)] * 10)[0]
    assert result.pellets_collected == 10
    assert [p.collected_step for p in result.pellets] == list(range(1, 11))
    assert [p.spawned_step for p in result.pellets] == list(range(10))


# -- fitness terms (reference §4.1 with `FitnessWeights`) --------------------------------------------


def test_movement_term_is_25_times_average_xz_speed_up_to_1_unit_per_second():
    genome = crawler()
    cfg = SimConfig(duration=3.0)
    result = simulate([genome], cfg, record=True, pellets=[(-4.5, 0.3, 4.5)])[0]
    com = centre_of_mass(genome, result.frames)  # the last frame is the last step: 3 s = 45 frames
    net_xz = float(np.linalg.norm(com[-1, [0, 2]] - com[0, [0, 2]]))
    assert 0.05 < net_xz / 3.0 < 1.0  # it moves, but slower than the reference speed
    assert result.terms.movement == pytest.approx(25.0 * min(1.0, net_xz / 3.0 / 1.0), abs=1e-4)
    slow_reference = simulate(
        [genome],
        cfg.model_copy(update={"fitness": FitnessWeights(movement_reference_speed=0.1)}),
        pellets=[(-4.5, 0.3, 4.5)],
    )[0]
    assert slow_reference.terms.movement == pytest.approx(25.0)


def test_progress_term_is_80_times_the_fraction_of_the_edge_distance_closed():
    genome = crawler()  # its muscles ignore the pellet, so it crawls the same way wherever the pellet is
    pellet = (-4.5, 0.3, 0.0)
    result = simulate([genome], SimConfig(duration=3.0), record=True, pellets=[pellet])[0]
    com = centre_of_mass(genome, result.frames)
    radius = body_radius(genome)
    initial = edge_distance(com[0], pellet, radius)
    assert result.pellets[0].initial_distance == pytest.approx(initial, abs=1e-9)
    final = edge_distance(com[-1], pellet, radius)
    assert final < initial
    assert result.terms.progress == pytest.approx(80.0 * (initial - final) / initial, abs=1e-4)
    assert result.terms.regression == 0.0
    assert result.terms.pellets == 0.0
    total = result.terms.pellets + result.terms.progress - result.terms.regression + result.terms.movement
    assert result.fitness == pytest.approx(total, abs=1e-12)


def test_regression_term_is_20_when_moving_away_by_half_the_initial_distance_after_a_pellet():
    genome = crawler()
    behind = (2.9, 0.3, 0.0)  # the crawler heads to -x, away from this second pellet
    pellets = [spawn_position(genome, 1), behind]
    result = simulate([genome], SimConfig(duration=3.0), record=True, pellets=pellets)[0]
    assert result.pellets_collected == 1
    initial = result.pellets[1].initial_distance
    final = edge_distance(centre_of_mass(genome, result.frames)[-1], behind, body_radius(genome))
    assert initial > 0.0
    assert final >= 1.5 * initial
    assert result.terms.pellets == 100.0
    assert result.terms.progress == 0.0
    assert result.terms.regression == pytest.approx(20.0)
    assert result.fitness == pytest.approx(100.0 - 20.0 + result.terms.movement)


def test_fitness_weights_scale_each_term():
    genome = crawler()
    pellets = [spawn_position(genome, 1), (-4.5, 0.3, 0.0)]
    weights = FitnessWeights(pellet=10.0, progress=8.0, regression=2.0, movement=50.0)
    default = simulate([genome], SimConfig(duration=3.0), pellets=pellets)[0]
    weighted = simulate([genome], SimConfig(duration=3.0, fitness=weights), pellets=pellets)[0]
    assert weighted.terms.pellets == pytest.approx(default.terms.pellets / 10.0)
    assert weighted.terms.progress == pytest.approx(default.terms.progress / 10.0)
    assert weighted.terms.movement == pytest.approx(default.terms.movement * 2.0)
    assert weighted.fitness != default.fitness
    assert weighted.distance_traveled == default.distance_traveled  # weights never touch the physics


# -- disqualification ---------------------------------------------------------------------------------


def test_frequency_over_the_limit_is_disqualified_before_any_physics():
    genome = creature(
        [node(0.5, 0.0, 1.0, 0.0), node(0.5, 1.0, 1.0, 0.0)],
        [muscle(0, 1, 1.0, frequency=2.5, amplitude=0.3)],
        "too_fast",
        multiplier=1.5,  # 2.5 Hz x 1.5 = 3.75 Hz > 3 Hz
    )
    cfg = SimConfig(duration=2.0)
    result = simulate([genome], cfg, record=True)[0]
    assert result.disqualified == "frequency_exceeded"
    assert result.fitness == 0.0
    assert result.pellets_collected == 0
    assert (result.terms.pellets, result.terms.progress, result.terms.regression, result.terms.movement) == (0, 0, 0, 0)
    assert result.distance_traveled == 0.0
    assert result.net_displacement == 0.0
    spawn = genome.node_params[:, 2:5] + np.array([0.0, 1.0, 0.0])
    assert result.frames.shape == (cfg.n_frames, 2, 3)
    np.testing.assert_array_equal(result.frames, np.broadcast_to(spawn.astype(np.float32), result.frames.shape))
    np.testing.assert_array_equal(result.fitness_over_time, 0.0)
    allowed = simulate([genome], cfg.model_copy(update={"max_allowed_frequency": 3.75}))[0]
    assert allowed.disqualified is None


# -- frames and the result's shape --------------------------------------------------------------------


@pytest.mark.parametrize("duration", [0.2, 0.5, 1.0, 1.3, 2.05, 7.0])
def test_frames_are_recorded_at_15_fps_from_the_spawn_pose(rng, duration):
    genomes = random_genomes(rng, 3)
    cfg = SimConfig(duration=duration)
    n_frames = math.floor(15 * duration + 1e-9) + 1
    assert cfg.n_frames == n_frames
    for genome, result in zip(genomes, simulate(genomes, cfg, record=True), strict=True):
        assert result.frames.shape == (n_frames, genome.n_nodes, 3)
        assert result.frames.dtype == np.float32
        spawn = genome.node_params[:, 2:5] + np.array([0.0, 1.0, 0.0])
        np.testing.assert_array_equal(result.frames[0], spawn.astype(np.float32))
        assert result.fitness_over_time.shape == (n_frames,)
        assert result.fitness_over_time[0] == 0.0
    np.testing.assert_allclose(frame_times(n_frames), np.arange(n_frames) / 15.0)


def test_fitness_over_time_ends_at_the_final_fitness_when_the_last_frame_is_the_last_step(rng):
    genomes = random_genomes(rng, 10)
    for result in simulate(genomes, SimConfig(duration=2.0), record=True):
        if result.disqualified is None:
            assert result.fitness_over_time[-1] == pytest.approx(result.fitness, abs=1e-9)


def test_unrecorded_results_have_no_frames_but_the_same_numbers(rng):
    genomes = random_genomes(rng, 5)
    recorded = simulate(genomes, SimConfig(duration=1.0), seed=4, record=True)
    bare = simulate(genomes, SimConfig(duration=1.0), seed=4)
    for a, b in zip(recorded, bare, strict=True):
        assert b.frames is None
        assert b.fitness_over_time is None
        assert (a.fitness, a.pellets, a.distance_traveled) == (b.fitness, b.pellets, b.distance_traveled)


def test_results_come_back_in_input_order_with_their_ids(rng):
    genomes = random_genomes(rng, 6)
    assert [r.genome_id for r in simulate(genomes, SimConfig(duration=0.2))] == [g.id for g in genomes]
    assert simulate([], SimConfig(duration=0.2)) == []


# -- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [-1, 1.5, True, "7"])
def test_bad_seed_is_a_config_error(rng, seed):
    with pytest.raises(ConfigError, match="seed"):
        simulate(random_genomes(rng, 1), SimConfig(duration=0.2), seed=seed)


@pytest.mark.parametrize("workers", [0, -2])
def test_fewer_than_one_worker_is_a_config_error(rng, workers):
    with pytest.raises(ConfigError, match="workers"):
        simulate(random_genomes(rng, 1), SimConfig(duration=0.2), workers=workers)


@pytest.mark.parametrize(
    "pellets",
    [
        [],
        [(1.0, 0.3)],
        [1.0, 0.3, 0.0],
        [(1.0, 0.3, 0.0, 2.0)],
        [(0.0, 0.3, 0.0)] * 11,
        [(float("nan"), 0.3, 0.0)],
        [(float("inf"), 0.3, 0.0)],
    ],
)
def test_malformed_pellet_list_is_a_config_error(rng, pellets):
    with pytest.raises(ConfigError, match="pellets"):
        simulate(random_genomes(rng, 1), SimConfig(duration=0.2), pellets=pellets)
