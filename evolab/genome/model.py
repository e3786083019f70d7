"""Genome value types: nodes, muscles, the neural genome and the creature genome (reference §1).

A `Genome` keeps its nodes and muscles as small read-only numpy arrays (one row per node or muscle, one
column per field, see `NODE_FIELDS` and `MUSCLE_FIELDS`) so that a batch of genomes packs into the
physics arrays by concatenation and genetics can mutate all fields at once (DESIGN §10). `NodeGene` and
`MuscleGene` are the readable per-element views of those rows.

Genomes made by evolab (random generation, mutation, crossover) hold float32 numbers in their float64
arrays (`evolab.genome.ranges.snap_genes`), so storage keeps them exactly in half the bytes; genomes from
elsewhere may hold any float64 and are stored as such.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numba.extending import register_jitable

from evolab.slots import slot_constructor

SCHEMA_VERSION = 1
"""Version of the genome dict format written by `Genome.to_dict`."""

NEURAL_INPUT_SIZE = 8
SENSOR_NAMES = (
    "pellet_dir_x",
    "pellet_dir_y",
    "pellet_dir_z",
    "velocity_x",
    "velocity_y",
    "velocity_z",
    "pellet_dist",
    "time_phase",
)
ACTIVATIONS = ("tanh", "relu", "sigmoid")

NODE_FIELDS = ("size", "friction", "x", "y", "z")
N_SIZE, N_FRICTION, N_X, N_Y, N_Z = range(5)
N_POS = slice(N_X, N_Z + 1)

MUSCLE_FIELDS = (
    "rest_length",
    "stiffness",
    "damping",
    "frequency",
    "amplitude",
    "phase",
    "direction_x",
    "direction_y",
    "direction_z",
    "bias_strength",
    "velocity_x",
    "velocity_y",
    "velocity_z",
    "velocity_strength",
    "distance_bias",
    "distance_strength",
)
(
    M_REST,
    M_STIFFNESS,
    M_DAMPING,
    M_FREQUENCY,
    M_AMPLITUDE,
    M_PHASE,
    M_DIR_X,
    M_DIR_Y,
    M_DIR_Z,
    M_BIAS_STRENGTH,
    M_VEL_X,
    M_VEL_Y,
    M_VEL_Z,
    M_VEL_STRENGTH,
    M_DIST_BIAS,
    M_DIST_STRENGTH,
) = range(16)
M_DIR = slice(M_DIR_X, M_DIR_Z + 1)
M_VEL = slice(M_VEL_X, M_VEL_Z + 1)


def frozen_array(values: Any, dtype: Any, shape_tail: tuple[int, ...]) -> np.ndarray:
    """`values` as a read-only, C-contiguous (k, *shape_tail) array of `dtype`: itself when it already is
    one, otherwise a frozen copy."""
    if (
        isinstance(values, np.ndarray)
        and not values.flags.writeable
        and values.dtype == dtype
        and values.shape[1:] == shape_tail
        and values.flags.c_contiguous
    ):
        return values  # already one of ours: immutable, so it can be shared between genomes
    arr = np.array(values, dtype=dtype, copy=True).reshape((-1, *shape_tail))
    arr.flags.writeable = False
    return arr


_LINEAGE_FIELDS = frozenset({"id", "generation", "survival_streak", "parent_ids"})
"""Genome fields that say who a creature is, not what its genes are."""


@dataclass(frozen=True, slots=True)
class Vec3:
    """A 3-vector (x, y, z); Y is up."""

    x: float
    y: float
    z: float

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.x, self.y, self.z)


@dataclass(frozen=True, slots=True)
class HSL:
    """A colour as hue, saturation, lightness, each in [0, 1]."""

    h: float
    s: float
    l: float  # noqa: E741 - the reference's field name


@dataclass(frozen=True, slots=True)
class NodeGene:
    """One sphere: `size` is its diameter (radius = size / 2); `position` its rest pose."""

    size: float
    friction: float
    position: Vec3


@dataclass(frozen=True, slots=True)
class MuscleGene:
    """One spring muscle between nodes `node_a` and `node_b` (indices into the genome's nodes)."""

    node_a: int
    node_b: int
    rest_length: float
    stiffness: float
    damping: float
    frequency: float
    amplitude: float
    phase: float
    direction_bias: Vec3
    bias_strength: float
    velocity_bias: Vec3
    velocity_strength: float
    distance_bias: float
    distance_strength: float

    def params(self) -> list[float]:
        """The row of `Genome.muscle_params` for this muscle."""
        return [
            self.rest_length,
            self.stiffness,
            self.damping,
            self.frequency,
            self.amplitude,
            self.phase,
            *self.direction_bias.as_tuple(),
            self.bias_strength,
            *self.velocity_bias.as_tuple(),
            self.velocity_strength,
            self.distance_bias,
            self.distance_strength,
        ]


def neural_weight_count(hidden_size: int, output_size: int, input_size: int = NEURAL_INPUT_SIZE) -> int:
    """Flat weight count of an I-H-O network with biases: I*H + H + H*O + O (reference §1.8)."""
    return input_size * hidden_size + hidden_size + hidden_size * output_size + output_size


@dataclass(frozen=True, slots=True, eq=False)
class NeuralGenome:
    """Weights of a fixed 8-H-O network, in the reference's flat layout (§1.8).

    Layout: input->hidden matrix input-major (w[i*H + j]), H hidden biases, hidden->output matrix
    hidden-major (w[.. + h*O + o]), O output biases. Outputs are always tanh.
    """

    weights: np.ndarray
    hidden_size: int
    output_size: int
    activation: Literal["tanh", "relu", "sigmoid"] = "tanh"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", frozen_array(self.weights, np.float64, ()).reshape(-1))

    @property
    def input_size(self) -> int:
        return NEURAL_INPUT_SIZE

    def input_hidden(self) -> np.ndarray:
        """(I, H) input->hidden weights."""
        ih = NEURAL_INPUT_SIZE * self.hidden_size
        return self.weights[:ih].reshape(NEURAL_INPUT_SIZE, self.hidden_size)

    def hidden_bias(self) -> np.ndarray:
        """(H,) hidden biases."""
        ih = NEURAL_INPUT_SIZE * self.hidden_size
        return self.weights[ih : ih + self.hidden_size]

    def hidden_output(self) -> np.ndarray:
        """(H, O) hidden->output weights; column o drives muscle o."""
        start = (NEURAL_INPUT_SIZE + 1) * self.hidden_size
        return self.weights[start : start + self.hidden_size * self.output_size].reshape(
            self.hidden_size, self.output_size
        )

    def output_bias(self) -> np.ndarray:
        """(O,) output biases."""
        return self.weights[len(self.weights) - self.output_size :]

    @classmethod
    def from_parts(
        cls,
        input_hidden: np.ndarray,
        hidden_bias: np.ndarray,
        hidden_output: np.ndarray,
        output_bias: np.ndarray,
        activation: Literal["tanh", "relu", "sigmoid"] = "tanh",
    ) -> NeuralGenome:
        """Assemble the flat layout from its four blocks."""
        hidden_size, output_size = hidden_output.shape
        weights = np.concatenate(
            [input_hidden.ravel(), hidden_bias.ravel(), hidden_output.ravel(), output_bias.ravel()]
        )
        return cls(weights, hidden_size, output_size, activation)

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        """Outputs in [-1, 1] for one 8-sensor input (plain numpy; the kernels inline the same maths)."""
        pre = self.hidden_bias() + np.asarray(inputs, dtype=np.float64) @ self.input_hidden()
        if self.activation == "relu":
            hidden = np.maximum(pre, 0.0)
        elif self.activation == "sigmoid":
            hidden = 1.0 / (1.0 + np.exp(-np.clip(pre, -500.0, 500.0)))
        else:
            hidden = np.tanh(pre)
        return np.tanh(self.output_bias() + hidden @ self.hidden_output())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NeuralGenome):
            return NotImplemented
        return (
            self.hidden_size == other.hidden_size
            and self.output_size == other.output_size
            and self.activation == other.activation
            and np.array_equal(self.weights, other.weights)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights.tolist(),
            "topology": {
                "inputSize": NEURAL_INPUT_SIZE,
                "hiddenSize": self.hidden_size,
                "outputSize": self.output_size,
            },
            "activation": self.activation,
        }


@dataclass(frozen=True, slots=True, eq=False)
class Genome:
    """A creature's genome (reference §1.2), immutable.

    Attributes:
        id: unique creature id.
        node_params: (n_nodes, 5) float64, columns `NODE_FIELDS` (size, friction, x, y, z).
        muscle_nodes: (n_muscles, 2) int32, node indices of each muscle's two ends.
        muscle_params: (n_muscles, 16) float64, columns `MUSCLE_FIELDS`.
        global_frequency_multiplier: scales every muscle frequency at simulation time.
        color: HSL colour used for names and the family tree.
        generation: lineage depth (0 for random creatures), not the run's generation number.
        survival_streak: consecutive generations this exact genome survived as an elite.
        parent_ids: () random, (parent,) clone, (p1, p2) crossover.
        neural: the neural genome, or None for an oscillator creature.
        n_nodes: number of nodes (rows of node_params).
        n_muscles: number of muscles (rows of muscle_params).
    """

    id: str
    node_params: np.ndarray
    muscle_nodes: np.ndarray
    muscle_params: np.ndarray
    global_frequency_multiplier: float
    color: HSL
    generation: int = 0
    survival_streak: int = 0
    parent_ids: tuple[str, ...] = ()
    neural: NeuralGenome | None = None
    # derived, kept as plain slots: a generation reads them several hundred times
    n_nodes: int = dataclasses.field(init=False, repr=False)
    n_muscles: int = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "node_params", frozen_array(self.node_params, np.float64, (len(NODE_FIELDS),)))
        object.__setattr__(self, "muscle_nodes", frozen_array(self.muscle_nodes, np.int32, (2,)))
        object.__setattr__(self, "muscle_params", frozen_array(self.muscle_params, np.float64, (len(MUSCLE_FIELDS),)))
        object.__setattr__(self, "global_frequency_multiplier", float(self.global_frequency_multiplier))
        object.__setattr__(self, "parent_ids", tuple(self.parent_ids))
        object.__setattr__(self, "n_nodes", self.node_params.shape[0])
        object.__setattr__(self, "n_muscles", self.muscle_params.shape[0])

    # -- construction and views -------------------------------------------------------------------

    @classmethod
    def _from_frozen_blocks(
        cls,
        id: str,  # noqa: A002 - the field's name
        node_params: np.ndarray,
        muscle_nodes: np.ndarray,
        muscle_params: np.ndarray,
        global_frequency_multiplier: float,
        color: HSL,
        generation: int,
        survival_streak: int,
        parent_ids: tuple[str, ...],
        neural: NeuralGenome | None,
    ) -> Genome:
        """A genome from blocks already in their final form: read-only, C-contiguous (n, 5) and (m, 16)
        float64 and (m, 2) int32 views of a batch array, as the GA's batch operations make them.

        Skips `__post_init__`'s checks and copies, which cost more than the rest of making a child.
        """
        return _make_genome(
            id,
            node_params,
            muscle_nodes,
            muscle_params,
            float(global_frequency_multiplier),
            color,
            generation,
            survival_streak,
            parent_ids,
            neural,
            node_params.shape[0],
            muscle_params.shape[0],
        )

    @classmethod
    def from_genes(
        cls,
        id: str,  # noqa: A002 - the reference's field name
        nodes: list[NodeGene] | tuple[NodeGene, ...],
        muscles: list[MuscleGene] | tuple[MuscleGene, ...],
        global_frequency_multiplier: float = 1.0,
        color: HSL = HSL(0.5, 0.7, 0.5),
        **lineage: Any,
    ) -> Genome:
        """Build a genome from readable node and muscle genes."""
        node_params = [[n.size, n.friction, *n.position.as_tuple()] for n in nodes]
        muscle_nodes = [[m.node_a, m.node_b] for m in muscles]
        muscle_params = [m.params() for m in muscles]
        return cls(id, node_params, muscle_nodes, muscle_params, global_frequency_multiplier, color, **lineage)

    @property
    def controller_type(self) -> Literal["oscillator", "neural"]:
        return "neural" if self.neural is not None else "oscillator"

    @property
    def nodes(self) -> tuple[NodeGene, ...]:
        rows = self.node_params.tolist()
        return tuple(NodeGene(r[N_SIZE], r[N_FRICTION], Vec3(r[N_X], r[N_Y], r[N_Z])) for r in rows)

    @property
    def muscles(self) -> tuple[MuscleGene, ...]:
        out = []
        for (a, b), p in zip(self.muscle_nodes.tolist(), self.muscle_params.tolist(), strict=True):
            out.append(
                MuscleGene(
                    a,
                    b,
                    *p[M_REST : M_PHASE + 1],
                    Vec3(*p[M_DIR]),
                    p[M_BIAS_STRENGTH],
                    Vec3(*p[M_VEL]),
                    p[M_VEL_STRENGTH],
                    p[M_DIST_BIAS],
                    p[M_DIST_STRENGTH],
                )
            )
        return tuple(out)

    def replace(self, **changes: Any) -> Genome:
        """A copy with some fields changed."""
        if changes.keys() <= _LINEAGE_FIELDS:  # same genes: the read-only arrays are shared, not re-checked
            return Genome._from_frozen_blocks(
                changes.get("id", self.id),
                self.node_params,
                self.muscle_nodes,
                self.muscle_params,
                self.global_frequency_multiplier,
                self.color,
                changes.get("generation", self.generation),
                changes.get("survival_streak", self.survival_streak),
                tuple(changes.get("parent_ids", self.parent_ids)),
                self.neural,
            )
        return dataclasses.replace(self, **changes)

    def effective_frequencies(self) -> np.ndarray:
        """(n_muscles,) frequency x global multiplier, in Hz."""
        return self.muscle_params[:, M_FREQUENCY] * self.global_frequency_multiplier

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Genome):
            return NotImplemented
        return (
            self.id == other.id
            and self.generation == other.generation
            and self.survival_streak == other.survival_streak
            and self.parent_ids == other.parent_ids
            and self.global_frequency_multiplier == other.global_frequency_multiplier
            and self.color == other.color
            and self.neural == other.neural
            and np.array_equal(self.node_params, other.node_params)
            and np.array_equal(self.muscle_nodes, other.muscle_nodes)
            and np.array_equal(self.muscle_params, other.muscle_params)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays: compare, never hash

    # -- JSON edge ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with the reference's camelCase keys plus `schemaVersion`.

        Node ids are `node_<i>` and muscle ids `muscle_<j>`, by position.
        """
        nodes = [
            {"id": f"node_{i}", "size": r[N_SIZE], "friction": r[N_FRICTION], "position": _vec(r[N_POS])}
            for i, r in enumerate(self.node_params.tolist())
        ]
        muscles = []
        for j, ((a, b), p) in enumerate(zip(self.muscle_nodes.tolist(), self.muscle_params.tolist(), strict=True)):
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
            "id": self.id,
            "generation": self.generation,
            "survivalStreak": self.survival_streak,
            "parentIds": list(self.parent_ids),
            "nodes": nodes,
            "muscles": muscles,
            "globalFrequencyMultiplier": self.global_frequency_multiplier,
            "controllerType": self.controller_type,
            "color": {"h": self.color.h, "s": self.color.s, "l": self.color.l},
        }
        if self.neural is not None:
            out["neuralGenome"] = self.neural.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Genome:
        """Parse a genome dict (as written by `to_dict`, or the original app's shape).

        Raises:
            GenomeError: a field is missing, of the wrong type, not finite, or refers to an unknown node.
        """
        from evolab.genome.serialization import genome_from_dict

        return genome_from_dict(data)


_make_genome = slot_constructor(Genome)


def _vec(values: list[float]) -> dict[str, float]:
    return {"x": values[0], "y": values[1], "z": values[2]}


def unit_or_zero(v: np.ndarray) -> np.ndarray:
    """Normalise the rows of an (..., 3) array; rows shorter than 1e-12 become zero."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    safe = np.where(norm > 1e-12, norm, 1.0)
    return np.where(norm > 1e-12, v / safe, 0.0)


@register_jitable
def unit_or_zero_in_place(v: np.ndarray) -> None:
    """`unit_or_zero` of one (3,) vector, in place (also callable from compiled code)."""
    norm = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    for axis in range(3):
        v[axis] = v[axis] / norm if norm > 1e-12 else 0.0


TWO_PI = 2.0 * math.pi
