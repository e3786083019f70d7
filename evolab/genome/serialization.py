"""The genome's JSON edge: a genome as a dict in the reference's shape, and a dict parsed back into a
genome's fields, naming the exact field of every problem.

It works on genes and plain fields only (`evolab.genome.genes`), so `Genome` can use it without a cycle."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from evolab.errors import GenomeError
from evolab.genome.genes import (
    ACTIVATIONS,
    HSL,
    M_AMPLITUDE,
    M_BIAS_STRENGTH,
    M_DAMPING,
    M_DIR,
    M_DIST_BIAS,
    M_DIST_STRENGTH,
    M_FREQUENCY,
    M_PHASE,
    M_REST,
    M_STIFFNESS,
    M_VEL,
    M_VEL_STRENGTH,
    MUSCLE_FIELDS,
    N_FRICTION,
    N_POS,
    N_SIZE,
    NEURAL_INPUT_SIZE,
    NODE_FIELDS,
    SCHEMA_VERSION,
    NeuralGenome,
    neural_weight_count,
)

if TYPE_CHECKING:
    from evolab.genome.model import Genome

_MUSCLE_SCALARS = (
    "restLength",
    "stiffness",
    "damping",
    "frequency",
    "amplitude",
    "phase",
)
_DEFAULT_BIAS = {"x": 0.0, "y": 1.0, "z": 0.0}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GenomeError(f"{where}: expected a number (got {value!r})")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise GenomeError(f"{where}: must be finite (got {str(value)[:40]})")
    return number


def _integer(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise GenomeError(f"{where}: expected an integer >= {minimum} (got {value!r})")
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GenomeError(f"{where}: expected an object (got {type(value).__name__})")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise GenomeError(f"{where}: expected a list (got {type(value).__name__})")
    return value


def _required(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise GenomeError(f"{where}.{key}: missing" if where else f"{key}: missing")
    return data[key]


def _vector(value: Any, where: str) -> list[float]:
    value = _mapping(value, where)
    return [_number(_required(value, axis, where), f"{where}.{axis}") for axis in ("x", "y", "z")]


def genome_fields(data: Any) -> dict[str, Any]:
    """The `Genome` constructor's arguments from a genome's dict form; see `Genome.from_dict`."""
    data = _mapping(data, "genome")
    version = data.get("schemaVersion", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise GenomeError(f"schemaVersion: expected a positive integer (got {version!r})")
    if version > SCHEMA_VERSION:
        raise GenomeError(
            f"schemaVersion: {version} is newer than this evolab understands ({SCHEMA_VERSION}); upgrade evolab"
        )
    genome_id = _required(data, "id", "")
    if not isinstance(genome_id, str) or not genome_id:
        raise GenomeError(f"id: expected a non-empty string (got {genome_id!r})")

    nodes = _list(_required(data, "nodes", ""), "nodes")
    if not nodes:
        raise GenomeError("nodes: a genome needs at least one node")
    node_index: dict[str, int] = {}
    node_params = np.empty((len(nodes), len(NODE_FIELDS)))
    for i, node in enumerate(nodes):
        where = f"nodes[{i}]"
        node = _mapping(node, where)
        node_id = _required(node, "id", where)
        if not isinstance(node_id, str) or node_id in node_index:
            raise GenomeError(f"{where}.id: expected a unique string (got {node_id!r})")
        node_index[node_id] = i
        node_params[i, 0] = _number(_required(node, "size", where), f"{where}.size")
        node_params[i, 1] = _number(_required(node, "friction", where), f"{where}.friction")
        node_params[i, 2:5] = _vector(_required(node, "position", where), f"{where}.position")

    muscles = _list(_required(data, "muscles", ""), "muscles")
    muscle_nodes = np.empty((len(muscles), 2), dtype=np.int32)
    muscle_params = np.empty((len(muscles), len(MUSCLE_FIELDS)))
    for j, muscle in enumerate(muscles):
        where = f"muscles[{j}]"
        muscle = _mapping(muscle, where)
        for col, key in enumerate(("nodeA", "nodeB")):
            ref = _required(muscle, key, where)
            if not isinstance(ref, str) or ref not in node_index:
                raise GenomeError(f"{where}.{key}: unknown node {ref!r}")
            muscle_nodes[j, col] = node_index[ref]
        for col, key in enumerate(_MUSCLE_SCALARS):
            muscle_params[j, col] = _number(_required(muscle, key, where), f"{where}.{key}")
        muscle_params[j, 6:9] = _vector(muscle.get("directionBias", _DEFAULT_BIAS), f"{where}.directionBias")
        muscle_params[j, 9] = _number(muscle.get("biasStrength", 0.0), f"{where}.biasStrength")
        muscle_params[j, 10:13] = _vector(muscle.get("velocityBias", _DEFAULT_BIAS), f"{where}.velocityBias")
        muscle_params[j, 13] = _number(muscle.get("velocityStrength", 0.0), f"{where}.velocityStrength")
        muscle_params[j, 14] = _number(muscle.get("distanceBias", 0.0), f"{where}.distanceBias")
        muscle_params[j, 15] = _number(muscle.get("distanceStrength", 0.0), f"{where}.distanceStrength")

    color = _mapping(data.get("color", {"h": 0.5, "s": 0.7, "l": 0.5}), "color")
    hsl = HSL(*(_number(_required(color, k, "color"), f"color.{k}") for k in ("h", "s", "l")))
    parent_ids = _list(data.get("parentIds", []), "parentIds")
    if not all(isinstance(p, str) for p in parent_ids) or len(parent_ids) > 2:
        raise GenomeError(f"parentIds: expected up to two id strings (got {parent_ids!r})")

    controller = data.get("controllerType", "neural" if "neuralGenome" in data else "oscillator")
    if controller not in ("oscillator", "neural"):
        raise GenomeError(f"controllerType: expected 'oscillator' or 'neural' (got {controller!r})")
    neural = None
    if controller == "neural":
        if data.get("neuralGenome") is None:
            raise GenomeError("neuralGenome: missing although controllerType is 'neural'")
        neural = _neural_from_dict(data["neuralGenome"])
    elif data.get("neuralGenome") is not None:
        raise GenomeError("controllerType: 'oscillator' but a neuralGenome is present")

    return {
        "id": genome_id,
        "node_params": node_params,
        "muscle_nodes": muscle_nodes,
        "muscle_params": muscle_params,
        "global_frequency_multiplier": _number(
            _required(data, "globalFrequencyMultiplier", ""), "globalFrequencyMultiplier"
        ),
        "color": hsl,
        "generation": _integer(data.get("generation", 0), "generation"),
        "survival_streak": _integer(data.get("survivalStreak", 0), "survivalStreak"),
        "parent_ids": tuple(parent_ids),
        "neural": neural,
    }


def _neural_from_dict(data: Any) -> NeuralGenome:
    data = _mapping(data, "neuralGenome")
    topology = _mapping(_required(data, "topology", "neuralGenome"), "neuralGenome.topology")
    input_size = _integer(_required(topology, "inputSize", "neuralGenome.topology"), "neuralGenome.topology.inputSize")
    if input_size != NEURAL_INPUT_SIZE:
        raise GenomeError(f"neuralGenome.topology.inputSize: must be {NEURAL_INPUT_SIZE} (got {input_size})")
    hidden = _integer(_required(topology, "hiddenSize", "neuralGenome.topology"), "neuralGenome.topology.hiddenSize", 1)
    outputs = _integer(_required(topology, "outputSize", "neuralGenome.topology"), "neuralGenome.topology.outputSize")
    activation = data.get("activation", "tanh")
    if activation not in ACTIVATIONS:
        raise GenomeError(f"neuralGenome.activation: expected one of {', '.join(ACTIVATIONS)} (got {activation!r})")
    weights = _list(_required(data, "weights", "neuralGenome"), "neuralGenome.weights")
    expected = neural_weight_count(hidden, outputs)
    if len(weights) != expected:
        raise GenomeError(
            f"neuralGenome.weights: expected {expected} weights for 8-{hidden}-{outputs} (got {len(weights)})"
        )
    values = [_number(w, f"neuralGenome.weights[{k}]") for k, w in enumerate(weights)]
    return NeuralGenome(np.array(values), hidden, outputs, activation)


def genome_dict(genome: Genome) -> dict[str, Any]:
    """A genome as a JSON-safe dict; see `Genome.to_dict`."""
    nodes = [
        {"id": f"node_{i}", "size": r[N_SIZE], "friction": r[N_FRICTION], "position": _vec(r[N_POS])}
        for i, r in enumerate(genome.node_params.tolist())
    ]
    muscles = []
    for j, ((a, b), p) in enumerate(zip(genome.muscle_nodes.tolist(), genome.muscle_params.tolist(), strict=True)):
        muscles.append(
            {
                "id": f"muscle_{j}",
                "nodeA": f"node_{a}",
                "nodeB": f"node_{b}",
                "restLength": p[M_REST],
                "stiffness": p[M_STIFFNESS],
                "damping": p[M_DAMPING],
                "frequency": p[M_FREQUENCY],
                "amplitude": p[M_AMPLITUDE],
                "phase": p[M_PHASE],
                "directionBias": _vec(p[M_DIR]),
                "biasStrength": p[M_BIAS_STRENGTH],
                "velocityBias": _vec(p[M_VEL]),
                "velocityStrength": p[M_VEL_STRENGTH],
                "distanceBias": p[M_DIST_BIAS],
                "distanceStrength": p[M_DIST_STRENGTH],
            }
        )
    out: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "id": genome.id,
        "generation": genome.generation,
        "survivalStreak": genome.survival_streak,
        "parentIds": list(genome.parent_ids),
        "nodes": nodes,
        "muscles": muscles,
        "globalFrequencyMultiplier": genome.global_frequency_multiplier,
        "controllerType": genome.controller_type,
        "color": {"h": genome.color.h, "s": genome.color.s, "l": genome.color.l},
    }
    if genome.neural is not None:
        out["neuralGenome"] = genome.neural.to_dict()
    return out


def _vec(values: list[float]) -> dict[str, float]:
    return {"x": values[0], "y": values[1], "z": values[2]}
