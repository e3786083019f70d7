"""random_genome and initial_population (reference §1.7 with DESIGN §3's fixes) and the neural genome (§1.8)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolab import EvolutionConfig, GenomeConstraints, initial_population, random_genome, validate_genome
from evolab.genome import NEURAL_INPUT_SIZE, Genome, NeuralGenome, neural_weight_count
from evolab.genome.neural import init_neural_genome
from evolab.genome.topology import is_connected

seeds = st.integers(0, 2**63 - 1)


@st.composite
def constraints(draw: st.DrawFn) -> GenomeConstraints:
    """Varied but valid constraints: every field drawn, the orderings GenomeConstraints demands respected."""
    min_nodes = draw(st.integers(2, 10))
    max_nodes = draw(st.integers(min_nodes, 14))
    max_muscles = draw(st.integers(max(1, min_nodes - 1), 40))
    min_muscles = draw(st.integers(1, min(max_muscles, max_nodes * (max_nodes - 1) // 2)))
    min_size = draw(st.floats(0.05, 1.0))
    min_stiffness = draw(st.floats(1.0, 1000.0))
    min_frequency = draw(st.floats(0.05, 5.0))
    max_frequency = draw(st.floats(min_frequency, 20.0))
    return GenomeConstraints(
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        min_muscles=min_muscles,
        max_muscles=max_muscles,
        min_size=min_size,
        max_size=draw(st.floats(min_size, 2.0)),
        min_stiffness=min_stiffness,
        max_stiffness=draw(st.floats(min_stiffness, 5000.0)),
        min_frequency=min_frequency,
        max_frequency=max_frequency,
        max_amplitude=draw(st.floats(0.05, 0.4)),
        spawn_radius=draw(st.floats(0.5, 10.0)),
    )


def muscle_pairs(genome: Genome) -> list[tuple[int, int]]:
    return [(min(a, b), max(a, b)) for a, b in genome.muscle_nodes.tolist()]


# -- random genomes ----------------------------------------------------------------------------------------------


@settings(max_examples=150)
@given(seed=seeds, c=constraints())
def test_random_genomes_always_satisfy_constraints(seed: int, c: GenomeConstraints) -> None:
    genome = random_genome(np.random.default_rng(seed), c)

    validate_genome(genome, c)


@settings(max_examples=150)
@given(seed=seeds, c=constraints())
def test_random_genomes_are_connected_bodies_within_the_node_and_muscle_budget(seed: int, c: GenomeConstraints) -> None:
    genome = random_genome(np.random.default_rng(seed), c)
    n, m = genome.n_nodes, genome.n_muscles

    assert c.min_nodes <= n <= c.effective_max_nodes
    assert max(n - 1, c.min_muscles) <= m <= min(c.max_muscles, n * (n - 1) // 2)
    assert is_connected(n, genome.muscle_nodes)


@settings(max_examples=150)
@given(seed=seeds, c=constraints())
def test_random_genomes_never_join_a_pair_twice_or_a_node_to_itself(seed: int, c: GenomeConstraints) -> None:
    genome = random_genome(np.random.default_rng(seed), c)
    pairs = muscle_pairs(genome)

    assert len(set(pairs)) == len(pairs)
    assert all(a != b for a, b in pairs)


@settings(max_examples=150)
@given(seed=seeds, c=constraints())
def test_random_genomes_always_respect_the_frequency_limit(seed: int, c: GenomeConstraints) -> None:
    genome = random_genome(np.random.default_rng(seed), c)

    assert genome.effective_frequencies().max() <= c.max_frequency * (1 + 1e-9)
    assert 0.3 <= genome.global_frequency_multiplier <= 2.0


@settings(max_examples=100)
@given(seed=seeds)
def test_random_genomes_draw_the_reference_gen0_ranges(seed: int) -> None:
    c = GenomeConstraints()
    genome = random_genome(np.random.default_rng(seed), c)
    nodes = genome.node_params
    r = c.spawn_radius

    assert np.all((nodes[:, 1] >= 0.3) & (nodes[:, 1] <= 0.9))  # friction U(0.3, 0.9)
    assert np.all(np.abs(nodes[:, [2, 4]]) <= r)
    assert np.all((nodes[:, 3] >= 0.5) & (nodes[:, 3] <= 1.5 * r))
    amplitude = genome.muscle_params[:, 4]
    assert np.all((amplitude >= 0.1) & (amplitude <= c.max_amplitude))  # gen 0 draws U(0.1, max)
    assert 0.0 <= genome.color.h <= 1.0
    assert 0.5 <= genome.color.s <= 0.9
    assert 0.4 <= genome.color.l <= 0.6
    assert (genome.generation, genome.survival_streak, genome.parent_ids) == (0, 0, ())
    assert genome.neural is None
    assert genome.controller_type == "oscillator"


@settings(max_examples=100)
@given(seed=seeds, c=constraints())
def test_a_rest_length_is_the_node_distance_times_0_8_to_1_2_within_its_clamp(seed: int, c: GenomeConstraints) -> None:
    genome = random_genome(np.random.default_rng(seed), c)
    pos = genome.node_params[:, 2:5]
    a, b = genome.muscle_nodes[:, 0], genome.muscle_nodes[:, 1]
    distance = np.linalg.norm(pos[a] - pos[b], axis=1)
    rest = genome.muscle_params[:, 0]

    assert np.all((rest >= 0.2) & (rest <= 4.0))
    inside = (distance * 0.8 > 0.2) & (distance * 1.2 < 4.0)
    assert np.all(rest[inside] >= distance[inside] * 0.8 - 1e-12)
    assert np.all(rest[inside] <= distance[inside] * 1.2 + 1e-12)


@settings(max_examples=50)
@given(seed=seeds, c=constraints(), hidden=st.sampled_from([None, 1, 8]))
def test_same_seed_gives_an_equal_genome(seed: int, c: GenomeConstraints, hidden: int | None) -> None:
    first = random_genome(np.random.default_rng(seed), c, neural_hidden_size=hidden)
    second = random_genome(np.random.default_rng(seed), c, neural_hidden_size=hidden)

    assert first == second
    assert first.to_dict() == second.to_dict()


@settings(max_examples=100)
@given(pair=st.lists(seeds, min_size=2, max_size=2, unique=True))
def test_different_seeds_give_different_ids(pair: list[int]) -> None:
    first, second = (random_genome(np.random.default_rng(seed)) for seed in pair)

    assert first.id != second.id


def test_consecutive_genomes_from_one_generator_have_unique_ids(rng: np.random.Generator) -> None:
    ids = [random_genome(rng).id for _ in range(500)]

    assert len(set(ids)) == len(ids)


def test_constraints_default_to_the_reference_set(rng: np.random.Generator) -> None:
    genome = random_genome(rng)

    validate_genome(genome, GenomeConstraints())


def test_node_count_is_forced_when_min_equals_effective_max(rng: np.random.Generator) -> None:
    """The menu preview's set: min_nodes = effective max (reference §1.5)."""
    c = GenomeConstraints(min_nodes=5, max_nodes=8, max_muscles=4)

    assert {random_genome(rng, c).n_nodes for _ in range(20)} == {5}


def test_random_genomes_satisfy_a_narrow_frequency_range() -> None:
    c = GenomeConstraints(min_frequency=0.9, max_frequency=1.0)

    for seed in range(50):
        genome = random_genome(np.random.default_rng(seed), c)
        assert genome.muscle_params[:, 3].min() >= c.min_frequency
        validate_genome(genome, c)


def test_every_node_count_from_min_to_effective_max_occurs(rng: np.random.Generator) -> None:
    c = GenomeConstraints(min_nodes=2, max_nodes=8, max_muscles=5)  # effective max: 6

    assert {random_genome(rng, c).n_nodes for _ in range(300)} == set(range(2, 7))


def test_min_muscles_is_enforced(rng: np.random.Generator) -> None:
    c = GenomeConstraints(min_nodes=2, max_nodes=5, min_muscles=6, max_muscles=10)

    for _ in range(30):
        genome = random_genome(rng, c)
        assert genome.n_muscles >= 6
        validate_genome(genome, c)


# -- neural genomes -------------------------------------------------------------------------------------------------


@settings(max_examples=100)
@given(seed=seeds, c=constraints(), hidden=st.integers(1, 32), activation=st.sampled_from(["tanh", "relu", "sigmoid"]))
def test_neural_genomes_have_one_output_per_muscle_and_zero_biases(
    seed: int, c: GenomeConstraints, hidden: int, activation: str
) -> None:
    genome = random_genome(np.random.default_rng(seed), c, neural_hidden_size=hidden, neural_activation=activation)
    net = genome.neural
    assert net is not None
    o = genome.n_muscles

    assert genome.controller_type == "neural"
    assert (net.hidden_size, net.output_size, net.activation) == (hidden, o, activation)
    assert len(net.weights) == 8 * hidden + hidden + hidden * o + o == neural_weight_count(hidden, o)
    assert not net.hidden_bias().any()
    assert not net.output_bias().any()
    validate_genome(genome, c)


def test_neural_weights_follow_the_xavier_scales(rng: np.random.Generator) -> None:
    net = init_neural_genome(rng, 64, 40)

    ih_std = net.input_hidden().std()
    ho_std = net.hidden_output().std()

    assert ih_std == pytest.approx(math.sqrt(2 / (8 + 64)), rel=0.1)
    assert ho_std == pytest.approx(math.sqrt(2 / (64 + 40)), rel=0.1)


def numbered_network(hidden: int, outputs: int) -> NeuralGenome:
    """A network whose k-th flat weight is k, so every accessor shows where it reads from."""
    return NeuralGenome(np.arange(neural_weight_count(hidden, outputs), dtype=np.float64), hidden, outputs)


@pytest.mark.parametrize(("hidden", "outputs"), [(1, 1), (3, 5), (8, 2), (4, 0)])
def test_the_flat_weights_are_laid_out_as_the_reference_says(hidden: int, outputs: int) -> None:
    net = numbered_network(hidden, outputs)
    w = net.weights
    i_n = NEURAL_INPUT_SIZE

    for i in range(i_n):
        for j in range(hidden):
            assert net.input_hidden()[i, j] == w[i * hidden + j]  # input-major
    assert net.hidden_bias().tolist() == w[i_n * hidden : (i_n + 1) * hidden].tolist()
    start = (i_n + 1) * hidden
    for h in range(hidden):
        for o in range(outputs):
            assert net.hidden_output()[h, o] == w[start + h * outputs + o]  # hidden-major
    assert net.output_bias().tolist() == w[start + hidden * outputs :].tolist()
    assert net.input_hidden().shape == (i_n, hidden)
    assert net.hidden_output().shape == (hidden, outputs)
    assert net.output_bias().shape == (outputs,)


@pytest.mark.parametrize(("hidden", "outputs"), [(1, 1), (3, 5), (8, 2)])
def test_the_four_blocks_partition_the_weights(hidden: int, outputs: int) -> None:
    net = numbered_network(hidden, outputs)
    blocks = [net.input_hidden(), net.hidden_bias(), net.hidden_output(), net.output_bias()]

    assert np.concatenate([b.ravel() for b in blocks]).tolist() == net.weights.tolist()
    assert NeuralGenome.from_parts(*blocks) == net


def reference_forward(net: NeuralGenome, x: np.ndarray) -> np.ndarray:
    """Reference §1.8 written out loop by loop: hidden activation of choice, outputs always tanh."""
    w_ih, b_h, w_ho, b_o = net.input_hidden(), net.hidden_bias(), net.hidden_output(), net.output_bias()
    act = {
        "tanh": math.tanh,
        "relu": lambda v: max(0.0, v),
        "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-min(max(v, -500.0), 500.0))),
    }[net.activation]
    hidden = [act(b_h[j] + sum(x[i] * w_ih[i, j] for i in range(8))) for j in range(net.hidden_size)]
    return np.array(
        [
            math.tanh(b_o[o] + sum(hidden[h] * w_ho[h, o] for h in range(net.hidden_size)))
            for o in range(net.output_size)
        ]
    )


@settings(max_examples=100)
@given(
    seed=seeds,
    hidden=st.integers(1, 12),
    outputs=st.integers(1, 10),
    activation=st.sampled_from(["tanh", "relu", "sigmoid"]),
    inputs=st.lists(st.floats(-1e6, 1e6), min_size=8, max_size=8),
    scale=st.sampled_from([1.0, 100.0]),
)
def test_forward_outputs_stay_in_minus_one_to_one_and_match_the_reference(
    seed: int, hidden: int, outputs: int, activation: str, inputs: list[float], scale: float
) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(neural_weight_count(hidden, outputs)) * scale
    net = NeuralGenome(weights, hidden, outputs, activation)  # type: ignore[arg-type]
    x = np.array(inputs)

    y = net.forward(x)

    assert y.shape == (outputs,)
    assert np.all(np.isfinite(y))
    assert np.all((y >= -1.0) & (y <= 1.0))
    np.testing.assert_allclose(y, reference_forward(net, x), rtol=1e-9, atol=1e-9)


# -- generation 0 -----------------------------------------------------------------------------------------------------


@pytest.fixture
def small_default() -> EvolutionConfig:
    return EvolutionConfig.from_preset("default").replace(population_size=24)


def test_initial_population_has_population_size_valid_oscillator_genomes(
    small_default: EvolutionConfig, rng: np.random.Generator
) -> None:
    genomes = initial_population(small_default, rng)

    assert len(genomes) == 24
    assert all(g.neural is None for g in genomes)
    for genome in genomes:
        validate_genome(genome, small_default.constraints)


@pytest.mark.parametrize("preset", ["neural-hybrid", "neural-pure"])
def test_initial_population_is_neural_when_neural_mode_is_on(preset: str, rng: np.random.Generator) -> None:
    cfg = EvolutionConfig.from_preset(preset).replace(population_size=16)
    assert cfg.sim.neural_mode != "off"

    genomes = initial_population(cfg, rng)

    assert len(genomes) == 16
    for genome in genomes:
        assert genome.neural is not None
        assert genome.neural.hidden_size == cfg.neural_hidden_size
        assert genome.neural.activation == cfg.neural_activation
        assert genome.neural.output_size == genome.n_muscles
        validate_genome(genome, cfg.constraints)


def test_initial_population_uses_the_configured_activation(rng: np.random.Generator) -> None:
    cfg = EvolutionConfig.from_preset("neural-hybrid").replace(population_size=5, neural_activation="sigmoid")

    assert {g.neural.activation for g in initial_population(cfg, rng) if g.neural is not None} == {"sigmoid"}


def test_initial_population_ids_are_unique(rng: np.random.Generator) -> None:
    cfg = EvolutionConfig(population_size=1000, elite_count=5)

    ids = [g.id for g in initial_population(cfg, rng)]

    assert len(set(ids)) == 1000


def test_initial_population_respects_the_runs_constraints(rng: np.random.Generator) -> None:
    c = GenomeConstraints(min_nodes=3, max_nodes=4, max_muscles=5, max_frequency=2.0)
    cfg = EvolutionConfig(population_size=50, constraints=c)

    for genome in initial_population(cfg, rng):
        assert 3 <= genome.n_nodes <= 4
        assert genome.n_muscles <= 5
        assert genome.effective_frequencies().max() <= 2.0 * (1 + 1e-9)
        validate_genome(genome, c)


def test_initial_population_is_reproducible_from_the_seed(small_default: EvolutionConfig) -> None:
    first = initial_population(small_default, np.random.default_rng(5))
    second = initial_population(small_default, np.random.default_rng(5))
    other = initial_population(small_default, np.random.default_rng(6))

    assert first == second
    assert [g.id for g in first] != [g.id for g in other]


def test_random_genes_are_float32_numbers_so_storage_keeps_them_exactly(rng: np.random.Generator) -> None:
    for _ in range(20):
        genome = random_genome(rng, neural_hidden_size=8)
        for values in (genome.node_params, genome.muscle_params, genome.neural.weights):
            np.testing.assert_array_equal(values, values.astype(np.float32).astype(np.float64))
        assert genome.global_frequency_multiplier == float(np.float32(genome.global_frequency_multiplier))
