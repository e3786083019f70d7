"""validate_genome: a genome either satisfies its run's constraints or the error names the field and value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evolab import GenomeConstraints, GenomeError, NeuralGenome
from evolab.genome import HSL, MUSCLE_FIELDS, Genome, MuscleGene, NodeGene, Vec3, random_genome, validate_genome
from evolab.genome.neural import init_neural_genome

DEFAULTS = GenomeConstraints()


def make_muscle(a: int, b: int, **changes: Any) -> MuscleGene:
    fields: dict[str, Any] = {
        "rest_length": 1.0,
        "stiffness": 100.0,
        "damping": 0.3,
        "frequency": 1.0,
        "amplitude": 0.2,
        "phase": 1.0,
        "direction_bias": Vec3(0.0, 1.0, 0.0),
        "bias_strength": 0.5,
        "velocity_bias": Vec3(1.0, 0.0, 0.0),
        "velocity_strength": 0.3,
        "distance_bias": 0.0,
        "distance_strength": 0.2,
    }
    fields.update(changes)
    return MuscleGene(a, b, **fields)


@pytest.fixture
def chain() -> Genome:
    """Three nodes joined in a chain 0-1-2 by two muscles; valid under the default constraints."""
    nodes = [
        NodeGene(0.5, 0.5, Vec3(0.0, 1.0, 0.0)),
        NodeGene(0.4, 0.6, Vec3(1.0, 1.0, 0.0)),
        NodeGene(0.3, 0.7, Vec3(0.0, 1.0, 1.0)),
    ]
    return Genome.from_genes("cr_chain", nodes, [make_muscle(0, 1), make_muscle(1, 2)], 1.0, HSL(0.2, 0.7, 0.5))


def with_node_value(genome: Genome, node: int, column: int, value: float) -> Genome:
    params = genome.node_params.copy()
    params[node, column] = value
    return genome.replace(node_params=params)


def with_muscle_value(genome: Genome, muscle: int, column: int, value: float) -> Genome:
    params = genome.muscle_params.copy()
    params[muscle, column] = value
    return genome.replace(muscle_params=params)


def with_muscles(genome: Genome, ends: list[tuple[int, int]]) -> Genome:
    """The genome with these muscle ends, every muscle's parameters copied from muscle 0."""
    params = np.repeat(genome.muscle_params[:1], len(ends), axis=0)
    return genome.replace(muscle_nodes=np.array(ends), muscle_params=params)


def assert_rejected(genome: Genome, constraints: GenomeConstraints, *fragments: str) -> str:
    with pytest.raises(GenomeError) as info:
        validate_genome(genome, constraints)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    return message


# -- what passes -------------------------------------------------------------------------------------------


def test_a_well_formed_genome_passes(chain: Genome) -> None:
    validate_genome(chain, DEFAULTS)


def test_values_exactly_on_the_bounds_pass(chain: Genome) -> None:
    nodes = chain.node_params.copy()
    nodes[0] = [0.2, 0.1, -2.0, 0.0, 2.0]
    nodes[1] = [0.8, 1.0, 2.0, 3.0, -2.0]
    muscles = chain.muscle_params.copy()
    muscles[0, :6] = [0.2, 50.0, 0.05, 0.5, 0.0, 0.0]
    muscles[1, :6] = [4.0, 500.0, 0.8, 3.0, 0.4, 2 * math.pi]
    genome = chain.replace(
        node_params=nodes, muscle_params=muscles, global_frequency_multiplier=2.0, color=HSL(1.0, 0.0, 1.0)
    )

    validate_genome(genome, DEFAULTS)


def test_the_frequency_limit_is_left_to_the_simulator(chain: Genome) -> None:
    """frequency x multiplier above max_frequency is disqualified at simulation time, not here (DESIGN §3)."""
    genome = with_muscle_value(chain, 0, MUSCLE_FIELDS.index("frequency"), 3.0).replace(global_frequency_multiplier=2.0)

    validate_genome(genome, DEFAULTS)


def test_a_neural_genome_with_one_output_per_muscle_passes(chain: Genome, rng: np.random.Generator) -> None:
    validate_genome(chain.replace(neural=init_neural_genome(rng, 4, chain.n_muscles)), DEFAULTS)


def test_a_genome_read_from_its_dict_passes(rng: np.random.Generator) -> None:
    genome = random_genome(rng, DEFAULTS, neural_hidden_size=8)

    validate_genome(Genome.from_dict(genome.to_dict()), DEFAULTS)


# -- counts ----------------------------------------------------------------------------------------------------


def test_too_few_nodes_is_rejected(chain: Genome) -> None:
    assert_rejected(chain, GenomeConstraints(min_nodes=4), "nodes", "3 nodes", "[4, 8]")


def test_too_many_nodes_is_rejected(chain: Genome) -> None:
    assert_rejected(chain, GenomeConstraints(max_nodes=2, max_muscles=1), "nodes", "3 nodes", "[2, 2]")


def test_too_few_muscles_is_rejected(chain: Genome) -> None:
    assert_rejected(chain, GenomeConstraints(min_muscles=3), "muscles", "2 muscles", "[3, 15]")


def test_too_many_muscles_is_rejected(chain: Genome) -> None:
    assert_rejected(chain, GenomeConstraints(max_muscles=1), "muscles", "2 muscles", "[1, 1]")


# -- nodes -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "column", "value", "fragments"),
    [
        pytest.param(1, 0, 0.9, ["nodes[1].size", "0.9", "[0.2, 0.8]"], id="size-high"),
        pytest.param(2, 0, 0.1, ["nodes[2].size", "0.1", "[0.2, 0.8]"], id="size-low"),
        pytest.param(0, 0, math.nan, ["nodes[0].size", "nan"], id="size-nan"),
        pytest.param(2, 1, 0.05, ["nodes[2].friction", "0.05", "[0.1, 1]"], id="friction-low"),
        pytest.param(0, 1, 1.2, ["nodes[0].friction", "1.2", "[0.1, 1]"], id="friction-high"),
        pytest.param(0, 2, 2.5, ["nodes[0].position.x", "2.5", "[-2, 2]"], id="x-high"),
        pytest.param(1, 2, -2.01, ["nodes[1].position.x", "-2.01", "[-2, 2]"], id="x-low"),
        pytest.param(1, 3, 3.5, ["nodes[1].position.y", "3.5", "3]"], id="y-high"),
        pytest.param(2, 3, -0.1, ["nodes[2].position.y", "-0.1"], id="y-below-ground"),
        pytest.param(2, 4, -2.5, ["nodes[2].position.z", "-2.5", "[-2, 2]"], id="z-low"),
        pytest.param(0, 4, 2.2, ["nodes[0].position.z", "2.2", "[-2, 2]"], id="z-high"),
    ],
)
def test_node_values_outside_their_range_are_rejected(
    chain: Genome, node: int, column: int, value: float, fragments: list[str]
) -> None:
    assert_rejected(with_node_value(chain, node, column, value), DEFAULTS, *fragments)


def test_position_bounds_follow_the_spawn_radius(chain: Genome) -> None:
    genome = with_node_value(chain, 1, 2, 2.5)

    validate_genome(genome, GenomeConstraints(spawn_radius=3.0))
    assert_rejected(genome, GenomeConstraints(spawn_radius=2.4), "nodes[1].position.x", "2.5", "[-2.4, 2.4]")


# -- muscle topology ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ends", "fragments"),
    [
        pytest.param([(0, 1), (1, 3)], ["muscles[1]", "node 3", "of 3"], id="past-the-end"),
        pytest.param([(-1, 1), (1, 2)], ["muscles[0]", "node -1"], id="negative"),
    ],
)
def test_a_muscle_end_outside_the_node_list_is_rejected(
    chain: Genome, ends: list[tuple[int, int]], fragments: list[str]
) -> None:
    assert_rejected(with_muscles(chain, ends), DEFAULTS, *fragments)


def test_a_muscle_joining_a_node_to_itself_is_rejected(chain: Genome) -> None:
    assert_rejected(with_muscles(chain, [(0, 1), (1, 2), (2, 2)]), DEFAULTS, "muscles[2]", "node 2", "itself")


@pytest.mark.parametrize("second", [(0, 1), (1, 0)], ids=["same-order", "reversed"])
def test_two_muscles_on_the_same_pair_are_rejected(chain: Genome, second: tuple[int, int]) -> None:
    genome = with_muscles(chain, [(0, 1), (1, 2), second])

    assert_rejected(genome, DEFAULTS, "muscles", "nodes 0 and 1", "more than one muscle")


def test_a_disconnected_body_is_rejected(chain: Genome) -> None:
    nodes = np.vstack([chain.node_params, chain.node_params[:1]])
    genome = with_muscles(chain.replace(node_params=nodes), [(0, 1), (2, 3)])

    assert_rejected(genome, DEFAULTS, "muscles", "not connected")


# -- muscle parameters -----------------------------------------------------------------------------------------------

MUSCLE_CASES = [
    # (field column, bad value, name in the message, value as shown, range as shown)
    ("rest_length", 4.5, "restLength", "4.5", "[0.2, 4]"),
    ("rest_length", 0.1, "restLength", "0.1", "[0.2, 4]"),
    ("stiffness", 600.0, "stiffness", "600", "[50, 500]"),
    ("stiffness", 10.0, "stiffness", "10", "[50, 500]"),
    ("damping", 0.9, "damping", "0.9", "[0.05, 0.8]"),
    ("damping", 0.01, "damping", "0.01", "[0.05, 0.8]"),
    ("frequency", 3.5, "frequency", "3.5", "[0.5, 3]"),
    ("frequency", 0.25, "frequency", "0.25", "[0.5, 3]"),
    ("amplitude", 0.45, "amplitude", "0.45", "0.4]"),
    ("amplitude", -0.1, "amplitude", "-0.1", "0.4]"),
    ("phase", 7.0, "phase", "7", "[0, 6.28"),
    ("phase", -0.5, "phase", "-0.5", "[0, 6.28"),
    ("direction_x", 1.5, "directionBias.x", "1.5", "[-1, 1]"),
    ("direction_z", -1.5, "directionBias.z", "-1.5", "[-1, 1]"),
    ("bias_strength", 1.2, "biasStrength", "1.2", "[0, 1]"),
    ("bias_strength", -0.2, "biasStrength", "-0.2", "[0, 1]"),
    ("velocity_y", 1.1, "velocityBias.y", "1.1", "[-1, 1]"),
    ("velocity_strength", 1.5, "velocityStrength", "1.5", "[0, 1]"),
    ("distance_bias", -1.5, "distanceBias", "-1.5", "[-1, 1]"),
    ("distance_strength", 2.0, "distanceStrength", "2", "[0, 1]"),
    ("frequency", math.nan, "frequency", "nan", "[0.5, 3]"),
]


@pytest.mark.parametrize(
    ("field", "value", "name", "shown", "bounds"),
    [pytest.param(*case, id=f"{case[0]}={case[1]}") for case in MUSCLE_CASES],
)
def test_each_muscle_value_outside_its_range_is_rejected(
    chain: Genome, field: str, value: float, name: str, shown: str, bounds: str
) -> None:
    genome = with_muscle_value(chain, 1, MUSCLE_FIELDS.index(field), value)

    assert_rejected(genome, DEFAULTS, f"muscles[1].{name}: {shown}", bounds)


def test_every_muscle_field_has_a_case() -> None:
    assert {case[0] for case in MUSCLE_CASES} >= set(MUSCLE_FIELDS) - {
        "direction_y",
        "velocity_x",
        "velocity_z",
    }


def test_muscle_ranges_follow_the_constraints(chain: Genome) -> None:
    genome = with_muscle_value(chain, 0, MUSCLE_FIELDS.index("stiffness"), 700.0)

    validate_genome(genome, GenomeConstraints(max_stiffness=800.0))
    assert_rejected(genome, GenomeConstraints(max_stiffness=650.0), "muscles[0].stiffness", "700", "[50, 650]")


@pytest.mark.parametrize(("first_column", "name"), [("direction_x", "directionBias"), ("velocity_x", "velocityBias")])
def test_a_bias_vector_that_is_not_unit_length_is_rejected(chain: Genome, first_column: str, name: str) -> None:
    params = chain.muscle_params.copy()
    start = MUSCLE_FIELDS.index(first_column)
    params[1, start : start + 3] = [0.5, 0.5, 0.0]

    message = assert_rejected(chain.replace(muscle_params=params), DEFAULTS, f"muscles[1].{name}", "unit vector")
    assert "0.707" in message


# -- genome-level fields -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "shown"), [(2.5, "2.5"), (0.2, "0.2"), (math.nan, "nan")])
def test_a_frequency_multiplier_outside_its_range_is_rejected(chain: Genome, value: float, shown: str) -> None:
    genome = chain.replace(global_frequency_multiplier=value)

    assert_rejected(genome, DEFAULTS, "globalFrequencyMultiplier", shown, "[0.3, 2]")


@pytest.mark.parametrize(
    ("color", "name", "shown"),
    [
        (HSL(1.2, 0.7, 0.5), "color.h", "1.2"),
        (HSL(0.5, -0.1, 0.5), "color.s", "-0.1"),
        (HSL(0.5, 0.7, 1.5), "color.l", "1.5"),
    ],
)
def test_a_colour_component_outside_0_1_is_rejected(chain: Genome, color: HSL, name: str, shown: str) -> None:
    assert_rejected(chain.replace(color=color), DEFAULTS, name, shown, "[0, 1]")


@pytest.mark.parametrize("outputs", [1, 3])
def test_a_neural_genome_with_a_different_output_count_than_muscles_is_rejected(
    chain: Genome, rng: np.random.Generator, outputs: int
) -> None:
    genome = chain.replace(neural=init_neural_genome(rng, 4, outputs))

    assert_rejected(genome, DEFAULTS, "neuralGenome.topology.outputSize", f"{outputs} outputs", "2 muscles")


def test_a_neural_genome_with_a_non_finite_weight_is_rejected(chain: Genome, rng: np.random.Generator) -> None:
    net = init_neural_genome(rng, 4, chain.n_muscles)
    weights = net.weights.copy()
    weights[3] = math.inf

    genome = chain.replace(neural=NeuralGenome(weights, 4, chain.n_muscles, "tanh"))

    assert_rejected(genome, DEFAULTS, "neuralGenome.weights", "finite")


# -- on random genomes ----------------------------------------------------------------------------------------------


@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_an_oversized_node_of_any_random_genome_is_named(seed: int, data: st.DataObject) -> None:
    genome = random_genome(np.random.default_rng(seed), DEFAULTS)
    node = data.draw(st.integers(0, genome.n_nodes - 1))

    bad = with_node_value(genome, node, 0, DEFAULTS.max_size + 0.05)

    assert_rejected(bad, DEFAULTS, f"nodes[{node}].size")


@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_isolating_any_node_of_a_random_genome_is_rejected(seed: int, data: st.DataObject) -> None:
    genome = random_genome(np.random.default_rng(seed), DEFAULTS)
    node = data.draw(st.integers(0, genome.n_nodes - 1))
    keep = (genome.muscle_nodes != node).all(axis=1)

    isolated = genome.replace(muscle_nodes=genome.muscle_nodes[keep], muscle_params=genome.muscle_params[keep])

    assert_rejected(isolated, DEFAULTS, "muscles", "not connected" if keep.any() else "0 muscles")
