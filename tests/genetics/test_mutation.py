"""Mutation (reference §5.5 with DESIGN §3's fixes): values stay in range, bodies stay connected, networks
follow their muscles, and the frequency limit always holds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolab import (
    EvolutionConfig,
    Genome,
    GenomeConstraints,
    evolve_step,
    initial_population,
    random_genome,
    validate_genome,
)
from evolab.genetics import MutationParams, mutate, mutate_many
from evolab.genome.genes import M_AMPLITUDE, M_DIR, M_FREQUENCY, M_STIFFNESS, M_VEL, N_FRICTION, N_POS, N_SIZE
from evolab.genome.ranges import FRICTION_RANGE, MULTIPLIER_RANGE, muscle_bounds, position_bounds
from tests.genetics.shared import CONSTRAINT_SETS, DEFAULTS, assert_valid_child

WILD = MutationParams(rate=1.0, magnitude=1.0, structural_rate=1.0, weight_rate=1.0, weight_magnitude=1.0)
STILL = MutationParams(rate=0.0, magnitude=0.0, structural_rate=0.0, weight_rate=0.0, weight_magnitude=0.0)


def row_index(rows: np.ndarray, row: np.ndarray) -> int | None:
    """Index of `row` in `rows` (exact match), or None."""
    hits = np.flatnonzero((rows == row).all(axis=1))
    return int(hits[0]) if hits.size else None


@pytest.fixture
def parent(rng: np.random.Generator) -> Genome:
    genome = random_genome(rng, DEFAULTS, neural_hidden_size=8)
    return genome.replace(generation=4, survival_streak=2, parent_ids=("cr_a", "cr_b"))


# -- identity and lineage -----------------------------------------------------------------------------


def test_mutation_keeps_id_and_lineage(parent: Genome, rng: np.random.Generator) -> None:
    child = mutate(parent, WILD, DEFAULTS, rng)
    assert child.id == parent.id
    assert child.parent_ids == ("cr_a", "cr_b")
    assert child.generation == 4
    assert child.survival_streak == 2


def test_mutation_returns_a_new_genome_and_leaves_the_input_alone(parent: Genome, rng: np.random.Generator) -> None:
    before = parent.to_dict()
    child = mutate(parent, WILD, DEFAULTS, rng)
    assert child is not parent
    assert child != parent
    assert parent.to_dict() == before


def test_mutation_with_zero_rates_changes_nothing(parent: Genome, rng: np.random.Generator) -> None:
    assert mutate(parent, STILL, DEFAULTS, rng) == parent


def test_mutate_many_keeps_order_and_count(rng: np.random.Generator) -> None:
    genomes = [random_genome(rng, DEFAULTS) for _ in range(12)]
    children = mutate_many(genomes, MutationParams(), DEFAULTS, rng)
    assert [c.id for c in children] == [g.id for g in genomes]


def test_mutate_many_of_nothing_is_nothing(rng: np.random.Generator) -> None:
    assert len(mutate_many([], WILD, DEFAULTS, rng)) == 0


def test_mutation_params_come_from_the_config() -> None:
    cfg = EvolutionConfig(
        mutation_rate=0.2,
        mutation_magnitude=0.4,
        structural_rate=0.05,
        weight_mutation_rate=0.6,
        weight_mutation_magnitude=1.5,
    )
    assert MutationParams.from_config(cfg) == MutationParams(0.2, 0.4, 0.05, 0.6, 1.5)


def test_same_seed_gives_the_same_mutation(parent: Genome) -> None:
    a = mutate(parent, WILD, DEFAULTS, np.random.default_rng(5))
    b = mutate(parent, WILD, DEFAULTS, np.random.default_rng(5))
    assert a.to_dict() == b.to_dict()


# -- value ranges -------------------------------------------------------------------------------------


def test_rate_1_magnitude_1_keeps_node_values_in_range(rng: np.random.Generator) -> None:
    lo_pos, hi_pos = position_bounds(DEFAULTS)
    p = MutationParams(rate=1.0, magnitude=1.0, structural_rate=0.0)
    for _ in range(50):
        nodes = mutate(random_genome(rng, DEFAULTS), p, DEFAULTS, rng).node_params
        assert np.all((nodes[:, N_SIZE] >= DEFAULTS.min_size) & (nodes[:, N_SIZE] <= DEFAULTS.max_size))
        assert np.all((nodes[:, N_FRICTION] >= FRICTION_RANGE[0]) & (nodes[:, N_FRICTION] <= FRICTION_RANGE[1]))
        assert np.all((nodes[:, N_POS] >= lo_pos) & (nodes[:, N_POS] <= hi_pos))


def test_rate_1_magnitude_1_keeps_muscle_values_in_mutation_ranges(rng: np.random.Generator) -> None:
    lo, hi = muscle_bounds(DEFAULTS, for_mutation=True)
    for _ in range(50):
        child = mutate(random_genome(rng, DEFAULTS), WILD, DEFAULTS, rng)
        muscles = child.muscle_params
        assert np.all((muscles >= lo) & (muscles <= hi))
        assert np.all(muscles[:, M_AMPLITUDE] >= 0.05)  # mutation keeps amplitude at 0.05 or more
        assert np.all(muscles[:, M_STIFFNESS] >= DEFAULTS.min_stiffness)
        assert np.all(muscles[:, M_STIFFNESS] <= DEFAULTS.max_stiffness)
        assert np.all(muscles[:, M_FREQUENCY] >= DEFAULTS.min_frequency)
        assert np.all(muscles[:, M_FREQUENCY] <= DEFAULTS.max_frequency)
        for cols in (M_DIR, M_VEL):
            norms = np.linalg.norm(muscles[:, cols], axis=1)
            assert np.all((np.abs(norms - 1.0) < 1e-6) | (norms < 1e-12))  # float32 genes
        assert MULTIPLIER_RANGE[0] <= child.global_frequency_multiplier <= MULTIPLIER_RANGE[1]


def test_rate_1_changes_every_muscle(rng: np.random.Generator) -> None:
    parent = random_genome(rng, DEFAULTS)
    child = mutate(parent, MutationParams(rate=1.0, magnitude=0.5, structural_rate=0.0), DEFAULTS, rng)
    assert np.all((child.muscle_params != parent.muscle_params).any(axis=1))
    assert np.all((child.node_params != parent.node_params).any(axis=1))


def test_mutation_shifts_the_hue_slightly_half_the_time_at_rate_1(rng: np.random.Generator) -> None:
    genomes = [random_genome(rng, DEFAULTS) for _ in range(400)]
    children = mutate_many(genomes, MutationParams(rate=1.0, structural_rate=0.0), DEFAULTS, rng)
    shifts = np.array([abs(c.color.h - g.color.h) for g, c in zip(genomes, children, strict=True)])
    shifts = np.minimum(shifts, 1.0 - shifts)  # around the hue circle
    assert np.all(shifts <= 0.05 + 1e-12)
    assert np.mean(shifts > 0.0) == pytest.approx(0.5, abs=0.08)
    assert all(c.color.s == g.color.s and c.color.l == g.color.l for g, c in zip(genomes, children, strict=True))


def test_mutation_never_exceeds_the_frequency_limit(rng: np.random.Generator) -> None:
    tight = GenomeConstraints(max_frequency=1.5)
    for _ in range(200):
        genome = random_genome(rng, tight)
        for _ in range(3):
            genome = mutate(genome, WILD, tight, rng)
        assert np.all(genome.effective_frequencies() <= 1.5 * (1.0 + 1e-9))


def test_mutation_moves_values_by_at_most_magnitude_times_range(rng: np.random.Generator) -> None:
    parent = random_genome(rng, DEFAULTS)
    magnitude = 0.05
    child = mutate(parent, MutationParams(rate=1.0, magnitude=magnitude, structural_rate=0.0), DEFAULTS, rng)
    span = DEFAULTS.max_stiffness - DEFAULTS.min_stiffness
    moved = np.abs(child.muscle_params[:, M_STIFFNESS] - parent.muscle_params[:, M_STIFFNESS])
    assert np.all(moved <= magnitude * span + 1e-9)
    size_moved = np.abs(child.node_params[:, N_SIZE] - parent.node_params[:, N_SIZE])
    assert np.all(size_moved <= magnitude * (DEFAULTS.max_size - DEFAULTS.min_size) + 1e-9)


# -- structure ----------------------------------------------------------------------------------------


def test_many_structural_mutations_never_go_below_min_nodes(rng: np.random.Generator) -> None:
    constraints = GenomeConstraints(min_nodes=2, max_nodes=5)
    genome = random_genome(rng, constraints)
    for _ in range(200):
        genome = mutate(genome, MutationParams(rate=0.3, magnitude=0.5, structural_rate=0.5), constraints, rng)
        assert genome.n_nodes >= 2
        assert_valid_child(genome, constraints)


def test_many_structural_mutations_never_go_above_max_nodes(rng: np.random.Generator) -> None:
    constraints = GenomeConstraints(min_nodes=3, max_nodes=5, max_muscles=10)
    genome = random_genome(rng, constraints)
    sizes = set()
    for _ in range(200):
        genome = mutate(genome, MutationParams(rate=0.3, magnitude=0.5, structural_rate=0.5), constraints, rng)
        assert genome.n_nodes <= 5
        assert_valid_child(genome, constraints)
        sizes.add(genome.n_nodes)
    assert sizes == {3, 4, 5}  # structural mutation explores the whole allowed range


def test_mutation_keeps_min_muscles(rng: np.random.Generator) -> None:
    constraints = GenomeConstraints(min_muscles=4, max_nodes=6)
    genome = random_genome(rng, constraints)
    for _ in range(200):
        genome = mutate(genome, WILD, constraints, rng)
        assert genome.n_muscles >= 4
        assert_valid_child(genome, constraints)


def test_mutation_never_disconnects_body(rng: np.random.Generator) -> None:
    removal_only = GenomeConstraints(min_nodes=2, max_nodes=8, max_muscles=28)
    for _ in range(100):
        genome = random_genome(rng, removal_only)
        for _ in range(10):
            genome = mutate(genome, MutationParams(rate=0.0, structural_rate=1.0), removal_only, rng)
            validate_genome(genome, removal_only)  # raises on a disconnected body


# -- neural networks ----------------------------------------------------------------------------------


def test_weight_mutation_uses_its_own_rate(parent: Genome, rng: np.random.Generator) -> None:
    only_weights = MutationParams(rate=0.0, magnitude=0.0, structural_rate=0.0, weight_rate=1.0, weight_magnitude=0.3)
    child = mutate(parent, only_weights, DEFAULTS, rng)
    assert np.array_equal(child.node_params, parent.node_params)
    assert np.array_equal(child.muscle_params, parent.muscle_params)
    assert np.all(child.neural.weights != parent.neural.weights)

    only_body = MutationParams(rate=1.0, magnitude=0.3, structural_rate=0.0, weight_rate=0.0)
    assert mutate(parent, only_body, DEFAULTS, rng).neural == parent.neural


def test_weight_mutation_magnitude_scales_the_change(parent: Genome, rng: np.random.Generator) -> None:
    def spread(magnitude: float) -> float:
        p = MutationParams(rate=0.0, structural_rate=0.0, weight_rate=1.0, weight_magnitude=magnitude)
        return float(np.std(mutate(parent, p, DEFAULTS, rng).neural.weights - parent.neural.weights))

    assert spread(0.1) == pytest.approx(0.1, rel=0.25)
    assert spread(2.0) == pytest.approx(2.0, rel=0.25)


def test_mutation_keeps_each_network_shape_in_a_mixed_batch(rng: np.random.Generator) -> None:
    genomes = [random_genome(rng, DEFAULTS, neural_hidden_size=h) for h in (None, 3, 8, None, 12, 1)]
    children = mutate_many(genomes, WILD, DEFAULTS, rng)
    for genome, child in zip(genomes, children, strict=True):
        if genome.neural is None:
            assert child.neural is None
        else:
            assert child.neural.hidden_size == genome.neural.hidden_size
            assert child.neural.activation == genome.neural.activation
            assert child.neural.output_size == child.n_muscles


def test_output_columns_follow_their_muscles_through_structural_mutation(rng: np.random.Generator) -> None:
    # rate 0: surviving muscles keep their exact rows, so each can be found in the parent and its output
    # column (hidden->output weights and bias) must be the parent's column for that muscle, untouched
    structural_only = MutationParams(rate=0.0, structural_rate=1.0, weight_rate=0.0)
    constraints = GenomeConstraints(max_nodes=10, max_muscles=25)
    changed = 0
    for _ in range(100):
        parent = random_genome(rng, constraints, neural_hidden_size=5)
        child = mutate(parent, structural_only, constraints, rng)
        net, old = child.neural, parent.neural
        assert net.output_size == child.n_muscles
        assert np.array_equal(net.input_hidden(), old.input_hidden())
        assert np.array_equal(net.hidden_bias(), old.hidden_bias())
        kept_any_new = False
        for k in range(child.n_muscles):
            j = row_index(parent.muscle_params, child.muscle_params[k])
            if j is None:  # a new muscle: fresh weights, bias 0
                assert net.output_bias()[k] == 0.0
                kept_any_new = True
                continue
            assert np.array_equal(net.hidden_output()[:, k], old.hidden_output()[:, j])
            assert net.output_bias()[k] == old.output_bias()[j]
        changed += kept_any_new or child.n_muscles != parent.n_muscles
    assert changed > 50


# -- invariants over thousands of random mutations ----------------------------------------------------


@settings(max_examples=250)
@given(
    seed=st.integers(0, 2**32 - 1),
    constraints=st.sampled_from(CONSTRAINT_SETS),
    params=st.sampled_from(
        [
            WILD,
            MutationParams(rate=1.0, magnitude=1.0, structural_rate=0.5),
            MutationParams(rate=0.3, magnitude=0.5, structural_rate=0.3, weight_rate=0.5),
            MutationParams(),
        ]
    ),
)
def test_mutation_of_valid_genomes_is_always_valid_and_connected(
    seed: int, constraints: GenomeConstraints, params: MutationParams
) -> None:
    rng = np.random.default_rng(seed)
    genomes = [random_genome(rng, constraints, neural_hidden_size=[None, 1, 6, 12][i % 4]) for i in range(8)]
    for _ in range(2):  # mutate the mutants too: 16 mutations per example
        genomes = mutate_many(genomes, params, constraints, rng)
        for genome in genomes:
            assert_valid_child(genome, constraints)


def test_children_genes_are_float32_numbers(rng: np.random.Generator) -> None:
    cfg = EvolutionConfig.from_preset("neural-hybrid", population_size=30)
    population = initial_population(cfg, rng)
    children = evolve_step(population, rng.random(len(population)), cfg, rng)
    for child in children:
        for values in (child.node_params, child.muscle_params, child.neural.weights):
            np.testing.assert_array_equal(values, values.astype(np.float32).astype(np.float64))
