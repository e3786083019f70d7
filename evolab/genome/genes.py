"""Gene value types and the layout of a genome's arrays (reference §1): the node and muscle columns,
nodes, muscles, colours and the neural genome.

A `Genome` (`evolab.genome.model`) keeps its nodes and muscles as small read-only numpy arrays, one row
per node or muscle and one column per field (`NODE_FIELDS`, `MUSCLE_FIELDS`); `NodeGene` and
`MuscleGene` are the readable per-element views of those rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numba.extending import register_jitable

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
