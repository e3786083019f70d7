"""The creature genome (reference §1): who a creature is (id, lineage) and its genes.

A `Genome` keeps its nodes and muscles as small read-only numpy arrays (one row per node or muscle, one
column per field, see `evolab.genome.genes`) so that a batch of genomes packs into the physics arrays by
concatenation and genetics can mutate all fields at once (DESIGN §10).

Genomes made by evolab (random generation, mutation, crossover) hold float32 numbers in their float64
arrays (`evolab.genome.ranges.snap_genes`), so storage keeps them exactly in half the bytes; genomes from
elsewhere may hold any float64 and are stored as such.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from evolab.genome import serialization
from evolab.genome.genes import (
    HSL,
    M_BIAS_STRENGTH,
    M_DIR,
    M_DIST_BIAS,
    M_DIST_STRENGTH,
    M_FREQUENCY,
    M_PHASE,
    M_REST,
    M_VEL,
    M_VEL_STRENGTH,
    MUSCLE_FIELDS,
    N_FRICTION,
    N_SIZE,
    N_X,
    N_Y,
    N_Z,
    NODE_FIELDS,
    MuscleGene,
    NeuralGenome,
    NodeGene,
    Vec3,
    frozen_array,
)

_DEFAULT_COLOR = HSL(0.5, 0.7, 0.5)


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
        out_of_range: None for a genome within evolab's ranges; for one imported as it was although
            they refuse it (the original app made such genomes), the first value out of range. Such a
            genome is stored, shown and replayed from its stored frames, but never simulated or bred:
            `GenomeBatch.of`, which packing and the GA go through, refuses it with this message.
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
    out_of_range: str | None = None
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
    def from_genes(
        cls,
        id: str,  # noqa: A002 - the reference's field name
        nodes: list[NodeGene] | tuple[NodeGene, ...],
        muscles: list[MuscleGene] | tuple[MuscleGene, ...],
        global_frequency_multiplier: float = 1.0,
        color: HSL = _DEFAULT_COLOR,
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
        """A copy with some fields changed (arrays already frozen are shared, not copied)."""
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
        return serialization.genome_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Genome:
        """Parse a genome dict (as written by `to_dict`, or the original app's shape).

        Raises:
            GenomeError: a field is missing, of the wrong type, not finite, or refers to an unknown node.
        """
        return cls(**serialization.genome_fields(data))
