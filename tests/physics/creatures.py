"""Hand-made creatures and frame helpers shared by the physics tests."""

from __future__ import annotations

import numpy as np

import evolab
from evolab import Genome, GenomeConstraints
from evolab.genome.genes import M_AMPLITUDE, M_DIR, M_VEL, N_FRICTION, N_POS, N_SIZE, MuscleGene, NodeGene, Vec3
from evolab.genome.ranges import FRICTION_RANGE, MULTIPLIER_RANGE, muscle_bounds, position_bounds, snap_genes

NEURAL_MODES = ("off", "hybrid", "pure")
MAX_NODE_SPEED = 500.0
"""Units/s between frames that no creature reaches by moving: beyond it, the integrator has blown up."""


def node(size: float, x: float, y: float, z: float, friction: float = 0.5) -> NodeGene:
    """A node gene at rest-pose position (x, y, z)."""
    return NodeGene(size, friction, Vec3(x, y, z))


def muscle(
    a: int,
    b: int,
    rest: float,
    *,
    stiffness: float = 200.0,
    damping: float = 0.3,
    frequency: float = 1.0,
    amplitude: float = 0.0,
    phase: float = 0.0,
) -> MuscleGene:
    """A muscle gene that ignores every sensor (zero biases and strengths)."""
    zero = Vec3(0.0, 0.0, 0.0)
    return MuscleGene(a, b, rest, stiffness, damping, frequency, amplitude, phase, zero, 0.0, zero, 0.0, 0.0, 0.0)


def creature(nodes: list[NodeGene], muscles: list[MuscleGene], name: str = "hand", multiplier: float = 1.0) -> Genome:
    """A hand-made genome, checked against the default constraints."""
    genome = Genome.from_genes(name, nodes, muscles, global_frequency_multiplier=multiplier)
    evolab.validate_genome(genome, GenomeConstraints())
    return genome


def random_genomes(rng: np.random.Generator, count: int, mode: str = "off") -> list[Genome]:
    """`count` random genomes; neural ones (hidden size 8, activations cycled) unless `mode` is "off"."""
    activations = ("tanh", "relu", "sigmoid")
    return [
        evolab.random_genome(rng, neural_hidden_size=None if mode == "off" else 8, neural_activation=activations[i % 3])
        for i in range(count)
    ]


def passive(genome: Genome) -> Genome:
    """The same creature with every amplitude 0."""
    params = genome.muscle_params.copy()
    params[:, M_AMPLITUDE] = 0.0
    return genome.replace(muscle_params=params)


def perturbed(genome: Genome, rng: np.random.Generator, magnitude: float = 0.3) -> Genome:
    """A "mutated" genome: every gene moved by up to `magnitude` of its range, kept within the constraints."""
    c = GenomeConstraints()
    nodes = genome.node_params.copy()
    n = len(nodes)
    nodes[:, N_SIZE] = np.clip(nodes[:, N_SIZE] + rng.normal(0, magnitude, n) * (c.max_size - c.min_size), 0.2, 0.8)
    nodes[:, N_FRICTION] = np.clip(nodes[:, N_FRICTION] + rng.normal(0, magnitude, n), *FRICTION_RANGE)
    lo, hi = position_bounds(c)
    nodes[:, N_POS] = np.clip(nodes[:, N_POS] + rng.normal(0, magnitude, (n, 3)) * (hi - lo), lo, hi)
    params = genome.muscle_params.copy()
    m_lo, m_hi = muscle_bounds(c)
    params = np.clip(params + rng.normal(0, magnitude, params.shape) * (m_hi - m_lo), m_lo, m_hi)
    for cols in (M_DIR, M_VEL):
        norm = np.linalg.norm(params[:, cols], axis=1, keepdims=True)
        params[:, cols] = np.where(norm > 1e-12, params[:, cols] / np.maximum(norm, 1e-12), 0.0)
    multiplier = float(np.clip(genome.global_frequency_multiplier + rng.normal(0, magnitude), *MULTIPLIER_RANGE))
    nodes, params, multipliers = snap_genes(nodes, params, np.array([multiplier]), np.array([len(params)]), c)
    multiplier = float(multipliers[0])
    changes: dict[str, object] = {
        "node_params": nodes,
        "muscle_params": params,
        "global_frequency_multiplier": multiplier,
    }
    if genome.neural is not None:
        weights = genome.neural.weights + rng.normal(0, magnitude, genome.neural.weights.shape)
        changes["neural"] = type(genome.neural)(
            weights, genome.neural.hidden_size, genome.neural.output_size, genome.neural.activation
        )
    mutant = genome.replace(**changes)
    evolab.validate_genome(mutant, c)
    return mutant


def masses(genome: Genome) -> np.ndarray:
    """(n,) node masses: 10 * 4/3 pi r^3."""
    r = genome.node_params[:, N_SIZE] / 2.0
    return 10.0 * 4.0 / 3.0 * np.pi * r**3


def centre_of_mass(genome: Genome, frames: np.ndarray) -> np.ndarray:
    """(frames, 3) mass-weighted centre of each recorded frame."""
    m = masses(genome)
    return (frames.astype(np.float64) * m[None, :, None]).sum(axis=1) / m.sum()


def last_seconds_drift(genome: Genome, frames: np.ndarray, seconds: float) -> float:
    """Largest XZ distance the centre of mass strays from where it was `seconds` before the end."""
    com = centre_of_mass(genome, frames)[-int(15 * seconds) - 1 :]
    return float(np.linalg.norm(com[:, [0, 2]] - com[0, [0, 2]], axis=1).max())


def body_radius(genome: Genome) -> float:
    """The creature's XZ radius from its rest pose (reference §4.2)."""
    xz = genome.node_params[:, [2, 4]]
    extent = np.linalg.norm(xz - xz.mean(axis=0), axis=1) + genome.node_params[:, N_SIZE] / 2.0
    return max(1.0, 1.3 * float(extent.max()))


def edge_distance(com: np.ndarray, pellet: tuple[float, float, float], radius: float) -> float:
    """XZ distance from a centre of mass to a pellet, less the creature's radius (0 inside it)."""
    return max(0.0, float(np.hypot(pellet[0] - com[0], pellet[2] - com[2])) - radius)


def max_node_speed(frames: np.ndarray) -> float:
    """Fastest node displacement between consecutive frames, in units/s."""
    return float(np.linalg.norm(np.diff(frames.astype(np.float64), axis=0), axis=-1).max() * 15.0)
