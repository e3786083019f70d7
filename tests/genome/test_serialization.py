"""Genome.to_dict / Genome.from_dict: the JSON edge of a genome (DESIGN §5, reference §1.2-§1.4, §1.8)."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pytest

from evolab import GenomeConstraints, GenomeError
from evolab.genome import SCHEMA_VERSION, Genome, neural_weight_count, random_genome

DELETE = object()
"""Marker for a table row that removes the key instead of setting it."""

TOP_LEVEL_KEYS = {
    "schemaVersion",
    "id",
    "generation",
    "survivalStreak",
    "parentIds",
    "nodes",
    "muscles",
    "globalFrequencyMultiplier",
    "controllerType",
    "color",
}
NODE_KEYS = {"id", "size", "friction", "position"}
MUSCLE_KEYS = {
    "id",
    "nodeA",
    "nodeB",
    "restLength",
    "stiffness",
    "damping",
    "frequency",
    "amplitude",
    "phase",
    "directionBias",
    "biasStrength",
    "velocityBias",
    "velocityStrength",
    "distanceBias",
    "distanceStrength",
}


@pytest.fixture
def oscillator_genome(rng: np.random.Generator) -> Genome:
    return random_genome(rng, GenomeConstraints()).replace(generation=3, survival_streak=2, parent_ids=("cr_a", "cr_b"))


@pytest.fixture
def neural_genome(rng: np.random.Generator) -> Genome:
    return random_genome(rng, GenomeConstraints(), neural_hidden_size=4, neural_activation="relu")


@pytest.fixture
def genome_dict(neural_genome: Genome) -> dict[str, Any]:
    """A fresh, JSON-decoded dict of a valid neural genome, safe to edit."""
    return json.loads(json.dumps(neural_genome.to_dict()))


def json_round_trip(genome: Genome) -> Genome:
    return Genome.from_dict(json.loads(json.dumps(genome.to_dict(), allow_nan=False)))


def set_path(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Set (or, with DELETE, remove) the item at `path` inside nested dicts and lists."""
    *parents, last = path
    for key in parents:
        data = data[key]
    if value is DELETE:
        del data[last]
    else:
        data[last] = value


# -- the dict shape --------------------------------------------------------------------------------------


def test_to_dict_uses_the_reference_camel_case_keys_and_a_schema_version(oscillator_genome: Genome) -> None:
    d = oscillator_genome.to_dict()

    assert set(d) == TOP_LEVEL_KEYS
    assert d["schemaVersion"] == SCHEMA_VERSION
    assert d["controllerType"] == "oscillator"
    assert all(set(node) == NODE_KEYS for node in d["nodes"])
    assert all(set(node["position"]) == {"x", "y", "z"} for node in d["nodes"])
    assert all(set(muscle) == MUSCLE_KEYS for muscle in d["muscles"])
    assert all(set(muscle["directionBias"]) == {"x", "y", "z"} for muscle in d["muscles"])
    assert set(d["color"]) == {"h", "s", "l"}
    assert d["parentIds"] == ["cr_a", "cr_b"]
    assert (d["generation"], d["survivalStreak"]) == (3, 2)


def test_to_dict_of_a_neural_genome_carries_the_network(neural_genome: Genome) -> None:
    d = neural_genome.to_dict()
    net = neural_genome.neural
    assert net is not None

    assert set(d) == TOP_LEVEL_KEYS | {"neuralGenome"}
    assert d["controllerType"] == "neural"
    assert d["neuralGenome"]["topology"] == {"inputSize": 8, "hiddenSize": 4, "outputSize": neural_genome.n_muscles}
    assert d["neuralGenome"]["activation"] == "relu"
    assert len(d["neuralGenome"]["weights"]) == neural_weight_count(4, neural_genome.n_muscles)


def test_muscle_ends_refer_to_node_ids_in_the_dict(oscillator_genome: Genome) -> None:
    d = oscillator_genome.to_dict()
    ids = [node["id"] for node in d["nodes"]]

    assert len(set(ids)) == len(ids)
    for muscle, (a, b) in zip(d["muscles"], oscillator_genome.muscle_nodes.tolist(), strict=True):
        assert (muscle["nodeA"], muscle["nodeB"]) == (ids[a], ids[b])


def test_to_dict_is_plain_json_without_numpy_types(neural_genome: Genome) -> None:
    text = json.dumps(neural_genome.to_dict(), allow_nan=False)

    assert json.loads(text) == neural_genome.to_dict()


@pytest.mark.parametrize("hidden_size", [None, 1, 8])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_json_round_trip_gives_an_equal_genome(
    rng: np.random.Generator, hidden_size: int | None, activation: str
) -> None:
    genome = random_genome(rng, GenomeConstraints(), neural_hidden_size=hidden_size, neural_activation=activation)
    genome = genome.replace(generation=7, survival_streak=1, parent_ids=("cr_parent",))

    back = json_round_trip(genome)

    assert back == genome
    assert back.controller_type == genome.controller_type
    assert back.to_dict() == genome.to_dict()


def test_round_trip_keeps_every_float_bit_for_bit(rng: np.random.Generator) -> None:
    genome = random_genome(rng, GenomeConstraints(max_nodes=12, max_muscles=40), neural_hidden_size=16)

    back = json_round_trip(genome)

    assert back.node_params.tobytes() == genome.node_params.tobytes()
    assert back.muscle_params.tobytes() == genome.muscle_params.tobytes()
    assert back.neural is not None
    assert genome.neural is not None
    assert back.neural.weights.tobytes() == genome.neural.weights.tobytes()


# -- the original app's shape ------------------------------------------------------------------------------


def original_app_genome() -> dict[str, Any]:
    """A genome as the TypeScript app stored it: no schemaVersion, timestamp ids, optional biases missing."""
    return {
        "id": "creature_1700000000000_42",
        "generation": 2,
        "survivalStreak": 0,
        "parentIds": ["creature_1699999999999_7"],
        "nodes": [
            {"id": "node_1700000000000_3", "size": 0.5, "friction": 0.6, "position": {"x": 0.0, "y": 1.0, "z": 0.0}},
            {"id": "node_1700000000000_1", "size": 0.4, "friction": 0.7, "position": {"x": 1.0, "y": 1.2, "z": 0.5}},
            {"id": "node_1700000000000_2", "size": 0.3, "friction": 0.5, "position": {"x": -1.0, "y": 0.8, "z": 0.2}},
        ],
        "muscles": [
            {
                "id": "muscle_1700000000000_4",
                "nodeA": "node_1700000000000_1",
                "nodeB": "node_1700000000000_3",
                "restLength": 1.1,
                "stiffness": 200,
                "damping": 0.3,
                "frequency": 1.5,
                "amplitude": 0.2,
                "phase": 0.5,
            },
            {
                "id": "muscle_1700000000000_5",
                "nodeA": "node_1700000000000_3",
                "nodeB": "node_1700000000000_2",
                "restLength": 1.0,
                "stiffness": 300.5,
                "damping": 0.2,
                "frequency": 2.0,
                "amplitude": 0.3,
                "phase": 1.0,
                "directionBias": {"x": 1.0, "y": 0.0, "z": 0.0},
                "biasStrength": 0.4,
            },
        ],
        "globalFrequencyMultiplier": 1.2,
        "controllerType": "oscillator",
        "color": {"h": 0.1, "s": 0.6, "l": 0.5},
    }


def test_original_app_shape_without_schema_version_is_accepted() -> None:
    genome = Genome.from_dict(original_app_genome())

    assert genome.id == "creature_1700000000000_42"
    assert (genome.n_nodes, genome.n_muscles) == (3, 2)
    assert genome.generation == 2
    assert genome.parent_ids == ("creature_1699999999999_7",)
    assert genome.controller_type == "oscillator"
    assert genome.global_frequency_multiplier == 1.2


def test_original_node_ids_map_to_node_positions_in_the_list() -> None:
    genome = Genome.from_dict(original_app_genome())

    assert genome.muscle_nodes.tolist() == [[1, 0], [0, 2]]
    assert genome.nodes[1].size == 0.4
    assert genome.nodes[1].position.as_tuple() == (1.0, 1.2, 0.5)


def test_missing_optional_bias_fields_take_the_reference_defaults() -> None:
    first, second = Genome.from_dict(original_app_genome()).muscles

    assert first.direction_bias.as_tuple() == (0.0, 1.0, 0.0)
    assert first.velocity_bias.as_tuple() == (0.0, 1.0, 0.0)
    assert (first.bias_strength, first.velocity_strength) == (0.0, 0.0)
    assert (first.distance_bias, first.distance_strength) == (0.0, 0.0)
    assert second.direction_bias.as_tuple() == (1.0, 0.0, 0.0)
    assert second.bias_strength == 0.4
    assert second.velocity_bias.as_tuple() == (0.0, 1.0, 0.0)


def test_missing_lineage_fields_default_to_a_random_creature() -> None:
    data = original_app_genome()
    for key in ("generation", "survivalStreak", "parentIds", "controllerType"):
        del data[key]

    genome = Genome.from_dict(data)

    assert (genome.generation, genome.survival_streak, genome.parent_ids) == (0, 0, ())
    assert genome.controller_type == "oscillator"


def test_original_neural_genome_is_read_with_its_flat_weights() -> None:
    data = original_app_genome()
    weights = [0.01 * k for k in range(neural_weight_count(2, 2))]
    data["controllerType"] = "neural"
    data["neuralGenome"] = {
        "weights": weights,
        "topology": {"inputSize": 8, "hiddenSize": 2, "outputSize": 2},
        "activation": "sigmoid",
    }

    genome = Genome.from_dict(data)

    assert genome.neural is not None
    assert genome.neural.weights.tolist() == weights
    assert (genome.neural.hidden_size, genome.neural.output_size, genome.neural.activation) == (2, 2, "sigmoid")


def test_controller_type_is_inferred_from_a_present_neural_genome(genome_dict: dict[str, Any]) -> None:
    del genome_dict["controllerType"]

    assert Genome.from_dict(genome_dict).controller_type == "neural"


def test_from_dict_does_not_modify_its_input(genome_dict: dict[str, Any]) -> None:
    before = copy.deepcopy(genome_dict)

    Genome.from_dict(genome_dict)

    assert genome_dict == before


# -- every error names the field and the value ---------------------------------------------------------------

ERROR_CASES = [
    # (path, new value or DELETE, fragments the message must contain)
    (("schemaVersion",), SCHEMA_VERSION + 1, ["schemaVersion", str(SCHEMA_VERSION + 1), "newer"]),
    (("schemaVersion",), 0, ["schemaVersion", "0"]),
    (("schemaVersion",), "1", ["schemaVersion", "'1'"]),
    (("schemaVersion",), 1.0, ["schemaVersion", "1.0"]),
    (("schemaVersion",), True, ["schemaVersion", "True"]),
    (("id",), DELETE, ["id", "missing"]),
    (("id",), "", ["id", "''"]),
    (("id",), 17, ["id", "17"]),
    (("nodes",), DELETE, ["nodes", "missing"]),
    (("nodes",), {}, ["nodes", "dict"]),
    (("nodes",), [], ["nodes", "at least one node"]),
    (("nodes", 0), "node_0", ["nodes[0]", "str"]),
    (("nodes", 0, "id"), DELETE, ["nodes[0].id", "missing"]),
    (("nodes", 1, "id"), "node_0", ["nodes[1].id", "'node_0'", "unique"]),
    (("nodes", 1, "id"), 1, ["nodes[1].id", "1"]),
    (("nodes", 0, "size"), DELETE, ["nodes[0].size", "missing"]),
    (("nodes", 0, "size"), "big", ["nodes[0].size", "'big'"]),
    (("nodes", 0, "size"), None, ["nodes[0].size", "None"]),
    (("nodes", 0, "size"), True, ["nodes[0].size", "True"]),
    (("nodes", 0, "size"), math.nan, ["nodes[0].size", "nan", "finite"]),
    (("nodes", 1, "friction"), math.inf, ["nodes[1].friction", "inf", "finite"]),
    (("nodes", 1, "friction"), [0.5], ["nodes[1].friction", "[0.5]"]),
    (("nodes", 0, "position"), DELETE, ["nodes[0].position", "missing"]),
    (("nodes", 0, "position"), [0.0, 1.0, 0.0], ["nodes[0].position", "list"]),
    (("nodes", 0, "position", "y"), DELETE, ["nodes[0].position.y", "missing"]),
    (("nodes", 1, "position", "z"), -math.inf, ["nodes[1].position.z", "-inf"]),
    (("nodes", 1, "position", "x"), "0", ["nodes[1].position.x", "'0'"]),
    (("muscles",), DELETE, ["muscles", "missing"]),
    (("muscles",), "none", ["muscles", "str"]),
    (("muscles", 0), None, ["muscles[0]", "NoneType"]),
    (("muscles", 0, "nodeA"), DELETE, ["muscles[0].nodeA", "missing"]),
    (("muscles", 0, "nodeB"), "node_9", ["muscles[0].nodeB", "unknown node 'node_9'"]),
    (("muscles", 0, "nodeA"), 0, ["muscles[0].nodeA", "unknown node 0"]),
    (("muscles", 0, "nodeA"), None, ["muscles[0].nodeA", "None"]),
    pytest.param(
        ("muscles", 0, "nodeA"),
        ["node_0"],
        ["muscles[0].nodeA", "['node_0']"],
        id="muscles[0].nodeA=list",
    ),
    pytest.param(
        ("muscles", 0, "nodeB"),
        {"id": "node_0"},
        ["muscles[0].nodeB"],
        id="muscles[0].nodeB=dict",
    ),
    *[
        (("muscles", 0, key), bad, [f"muscles[0].{key}", shown])
        for key in ("restLength", "stiffness", "damping", "frequency", "amplitude", "phase")
        for bad, shown in ((DELETE, "missing"), ("1.0", "'1.0'"), (math.nan, "nan"))
    ],
    (("muscles", 0, "directionBias"), "up", ["muscles[0].directionBias", "str"]),
    (("muscles", 0, "directionBias", "z"), DELETE, ["muscles[0].directionBias.z", "missing"]),
    (("muscles", 0, "velocityBias", "x"), math.inf, ["muscles[0].velocityBias.x", "inf"]),
    (("muscles", 0, "biasStrength"), "strong", ["muscles[0].biasStrength", "'strong'"]),
    (("muscles", 0, "velocityStrength"), None, ["muscles[0].velocityStrength", "None"]),
    (("muscles", 0, "distanceBias"), math.nan, ["muscles[0].distanceBias", "nan"]),
    (("muscles", 0, "distanceStrength"), False, ["muscles[0].distanceStrength", "False"]),
    (("globalFrequencyMultiplier",), DELETE, ["globalFrequencyMultiplier", "missing"]),
    (("globalFrequencyMultiplier",), "fast", ["globalFrequencyMultiplier", "'fast'"]),
    (("globalFrequencyMultiplier",), math.inf, ["globalFrequencyMultiplier", "inf"]),
    (("color",), "red", ["color", "str"]),
    (("color", "h"), DELETE, ["color.h", "missing"]),
    (("color", "s"), "x", ["color.s", "'x'"]),
    (("color", "l"), math.nan, ["color.l", "nan"]),
    (("parentIds",), "cr_a", ["parentIds", "str"]),
    (("parentIds",), ["cr_a", 7], ["parentIds", "7"]),
    (("parentIds",), ["a", "b", "c"], ["parentIds", "'c'"]),
    (("generation",), -1, ["generation", "-1"]),
    (("generation",), 1.5, ["generation", "1.5"]),
    (("generation",), True, ["generation", "True"]),
    (("survivalStreak",), "2", ["survivalStreak", "'2'"]),
    (("controllerType",), "brain", ["controllerType", "'brain'"]),
    (("controllerType",), "oscillator", ["controllerType", "'oscillator'", "neuralGenome"]),
    (("neuralGenome",), DELETE, ["neuralGenome", "missing", "'neural'"]),
    (("neuralGenome",), None, ["neuralGenome", "missing", "'neural'"]),
    (("neuralGenome",), [1.0, 2.0], ["neuralGenome", "list"]),
    (("neuralGenome", "topology"), DELETE, ["neuralGenome.topology", "missing"]),
    (("neuralGenome", "topology"), [8, 4, 2], ["neuralGenome.topology", "list"]),
    (("neuralGenome", "topology", "inputSize"), 7, ["neuralGenome.topology.inputSize", "7"]),
    (("neuralGenome", "topology", "inputSize"), DELETE, ["neuralGenome.topology.inputSize", "missing"]),
    (("neuralGenome", "topology", "hiddenSize"), 0, ["neuralGenome.topology.hiddenSize", "0"]),
    (("neuralGenome", "topology", "hiddenSize"), "4", ["neuralGenome.topology.hiddenSize", "'4'"]),
    (("neuralGenome", "topology", "outputSize"), -1, ["neuralGenome.topology.outputSize", "-1"]),
    (("neuralGenome", "topology", "outputSize"), DELETE, ["neuralGenome.topology.outputSize", "missing"]),
    (("neuralGenome", "activation"), "softmax", ["neuralGenome.activation", "'softmax'"]),
    (("neuralGenome", "weights"), DELETE, ["neuralGenome.weights", "missing"]),
    (("neuralGenome", "weights"), {"0": 1.0}, ["neuralGenome.weights", "dict"]),
    (("neuralGenome", "weights"), [0.0, 1.0], ["neuralGenome.weights", "(got 2)"]),
    (("neuralGenome", "weights", 3), "w", ["neuralGenome.weights[3]", "'w'"]),
    (("neuralGenome", "weights", 5), math.nan, ["neuralGenome.weights[5]", "nan"]),
    pytest.param(
        ("nodes", 0, "size"),
        10**400,
        ["nodes[0].size"],
        id="nodes[0].size=10**400",
    ),
]


def _case_id(case: Any) -> str:
    path, value, _ = case
    where = ".".join(str(p) for p in path)
    return f"{where}-deleted" if value is DELETE else f"{where}={value!r}"[:60]


@pytest.mark.parametrize(
    ("path", "value", "fragments"),
    [pytest.param(*case, id=_case_id(case)) if type(case) is tuple else case for case in ERROR_CASES],
)
def test_every_malformed_field_raises_genome_error_naming_field_and_value(
    genome_dict: dict[str, Any], path: tuple[str | int, ...], value: Any, fragments: list[str]
) -> None:
    set_path(genome_dict, path, value)

    with pytest.raises(GenomeError) as info:
        Genome.from_dict(genome_dict)

    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message


def test_wrong_neural_weight_count_names_expected_and_actual(genome_dict: dict[str, Any]) -> None:
    outputs = genome_dict["neuralGenome"]["topology"]["outputSize"]
    expected = neural_weight_count(4, outputs)
    genome_dict["neuralGenome"]["weights"].append(0.0)

    with pytest.raises(
        GenomeError, match=rf"neuralGenome\.weights: expected {expected} .*8-4-{outputs}.*{expected + 1}"
    ):
        Genome.from_dict(genome_dict)


def test_newer_schema_version_tells_the_user_to_upgrade(genome_dict: dict[str, Any]) -> None:
    genome_dict["schemaVersion"] = SCHEMA_VERSION + 1

    with pytest.raises(GenomeError, match="upgrade evolab"):
        Genome.from_dict(genome_dict)


@pytest.mark.parametrize("data", [None, [], "genome", 3], ids=["None", "list", "str", "int"])
def test_a_non_object_genome_is_rejected(data: Any) -> None:
    with pytest.raises(GenomeError, match=r"^genome: expected an object"):
        Genome.from_dict(data)


def test_genome_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="genome"):
        Genome.from_dict([])
