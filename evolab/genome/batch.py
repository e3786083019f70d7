"""A generation's genes as one ragged structure of arrays: every genome's nodes, muscles and network laid
end to end, with per-genome counts and lineage columns.

Packing pads it for the physics (`evolab.physics.pack`) and the codec stores it (`evolab.storage.
genome_codec`) straight from its arrays; it is also a `Sequence[Genome]`, each item a view of its rows,
so code written for lists of genomes reads it unchanged (DESIGN §5).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numba as nb
import numpy as np

from evolab.errors import GenomeError
from evolab.genome.genes import (
    ACTIVATIONS,
    HSL,
    MUSCLE_FIELDS,
    NODE_FIELDS,
    NeuralGenome,
    neural_weight_count,
)
from evolab.genome.model import Genome


@dataclass(frozen=True, slots=True, eq=False)
class GenomeBatch(Sequence[Genome]):
    """B genomes, their rows laid end to end (genome i's nodes are rows `node_start[i]` to
    `node_start[i] + n_nodes[i]` of `node_params`, and so on). Every array is read-only.

    Attributes:
        ids, parent_ids: each genome's id and parents.
        lineage: (B,) int64 each genome's lineage depth (`Genome.generation`).
        survival_streaks: (B,) int64.
        multipliers: (B,) float64 global frequency multipliers.
        colors: (B, 3) float64 hue, saturation, lightness.
        n_nodes, n_muscles: (B,) int64 counts.
        node_params: (sum n_nodes, 5) float64, columns `NODE_FIELDS`.
        muscle_nodes: (sum n_muscles, 2) int32 node indices within the genome.
        muscle_params: (sum n_muscles, 16) float64, columns `MUSCLE_FIELDS`.
        net_hidden, net_outputs: (B,) int64 network sizes, 0 hidden for a genome without a network.
        net_activation: (B,) int8 index into `ACTIVATIONS`.
        net_weights: (sum of weight counts,) float64, each network's flat weights.
    """

    ids: tuple[str, ...]
    parent_ids: tuple[tuple[str, ...], ...]
    lineage: np.ndarray
    survival_streaks: np.ndarray
    multipliers: np.ndarray
    colors: np.ndarray
    n_nodes: np.ndarray
    n_muscles: np.ndarray
    node_params: np.ndarray
    muscle_nodes: np.ndarray
    muscle_params: np.ndarray
    net_hidden: np.ndarray
    net_outputs: np.ndarray
    net_activation: np.ndarray
    net_weights: np.ndarray
    _views: list[tuple[Genome, ...]] = field(default_factory=list, repr=False)
    """The genomes as objects, made on first use and kept (a run reads its population several times)."""

    @classmethod
    def of(cls, genomes: Sequence[Genome], *, out_of_range_ok: bool = False) -> GenomeBatch:
        """The batch of these genomes, in order (itself when it already is one).

        Args:
            genomes: the genomes.
            out_of_range_ok: accept genomes flagged `Genome.out_of_range` (storage writes imported ones
                as they are); packing and the GA never do, so such a genome is never simulated or bred.

        Raises:
            GenomeError: a flagged genome, unless `out_of_range_ok`; the message names the creature and
                the value out of range.
        """
        if isinstance(genomes, GenomeBatch):
            return genomes
        if not out_of_range_ok and (flagged := next((g for g in genomes if g.out_of_range is not None), None)):
            raise GenomeError(
                f"creature {flagged.id!r} is outside evolab's ranges ({flagged.out_of_range}): it was imported as "
                "it was and can be replayed from its stored frames, not simulated or bred"
            )
        # one pass for the integer and one for the float columns: a generation converts once per step
        ints = np.array(
            [(g.generation, g.survival_streak, g.n_nodes, g.n_muscles, *_network_columns(g.neural)) for g in genomes],
            dtype=np.int64,
        ).reshape(-1, 7)
        floats = np.array(
            [(g.global_frequency_multiplier, g.color.h, g.color.s, g.color.l) for g in genomes], dtype=np.float64
        ).reshape(-1, 4)
        nets = [g.neural.weights for g in genomes if g.neural is not None]
        return cls(
            ids=tuple(g.id for g in genomes),
            parent_ids=tuple(g.parent_ids for g in genomes),
            lineage=_frozen(ints[:, 0]),
            survival_streaks=_frozen(ints[:, 1]),
            multipliers=_frozen(floats[:, 0]),
            colors=_frozen(floats[:, 1:]),
            n_nodes=_frozen(ints[:, 2]),
            n_muscles=_frozen(ints[:, 3]),
            node_params=_rows([g.node_params for g in genomes], np.float64, (len(NODE_FIELDS),)),
            muscle_nodes=_rows([g.muscle_nodes for g in genomes], np.int32, (2,)),
            muscle_params=_rows([g.muscle_params for g in genomes], np.float64, (len(MUSCLE_FIELDS),)),
            net_hidden=_frozen(ints[:, 4]),
            net_outputs=_frozen(ints[:, 5]),
            net_activation=_frozen(ints[:, 6].astype(np.int8)),
            net_weights=_rows(nets, np.float64, ()),
        )

    @classmethod
    def of_arrays(
        cls,
        ids: Sequence[str],
        parent_ids: Sequence[tuple[str, ...]],
        lineage: Sequence[int],
        survival_streaks: Sequence[int],
        multipliers: np.ndarray,
        colors: Sequence[tuple[float, float, float]],
        n_nodes: np.ndarray,
        n_muscles: np.ndarray,
        node_params: np.ndarray,
        muscle_nodes: np.ndarray,
        muscle_params: np.ndarray,
        networks: Sequence[NeuralGenome | None],
    ) -> GenomeBatch:
        """A batch from rows already laid end to end, as batch operations of the GA make them (the arrays
        are taken, made read-only, not copied)."""
        ints = np.array([_network_columns(net) for net in networks], dtype=np.int64).reshape(-1, 3)
        return cls(
            ids=tuple(ids),
            parent_ids=tuple(parent_ids),
            lineage=_frozen(np.asarray(lineage, dtype=np.int64)),
            survival_streaks=_frozen(np.asarray(survival_streaks, dtype=np.int64)),
            multipliers=_frozen(np.asarray(multipliers, dtype=np.float64)),
            colors=_frozen(np.asarray(colors, dtype=np.float64).reshape(-1, 3)),
            n_nodes=_frozen(np.asarray(n_nodes, dtype=np.int64)),
            n_muscles=_frozen(np.asarray(n_muscles, dtype=np.int64)),
            node_params=_frozen(np.asarray(node_params, dtype=np.float64)),
            muscle_nodes=_frozen(np.asarray(muscle_nodes, dtype=np.int32)),
            muscle_params=_frozen(np.asarray(muscle_params, dtype=np.float64)),
            net_hidden=_frozen(ints[:, 0]),
            net_outputs=_frozen(ints[:, 1]),
            net_activation=_frozen(ints[:, 2].astype(np.int8)),
            net_weights=_rows([net.weights for net in networks if net is not None], np.float64, ()),
        )

    @classmethod
    def from_columns(
        cls, ids: Sequence[str], parent_ids: Sequence[tuple[str, ...]], **columns: np.ndarray
    ) -> GenomeBatch:
        """A batch from its identities and every array field by name (as the attributes say), converted
        to the attributes' dtypes and made read-only; a storage codec decodes straight into one."""
        missing = set(_ARRAY_FIELDS) - set(columns)
        if missing or len(columns) != len(_ARRAY_FIELDS):
            raise TypeError(f"GenomeBatch.from_columns wants exactly the array fields {_ARRAY_FIELDS}")
        return cls(
            ids=tuple(ids),
            parent_ids=tuple(parent_ids),
            **{name: _frozen(np.asarray(columns[name], dtype=_DTYPES[name])) for name in _ARRAY_FIELDS},
        )

    @classmethod
    def concat(cls, batches: Sequence[GenomeBatch]) -> GenomeBatch:
        """The genomes of `batches`, one batch after another."""
        if not batches:
            return cls.of([])

        def joined(name: str) -> np.ndarray:
            return _frozen(np.concatenate([getattr(b, name) for b in batches]))

        return cls(
            ids=tuple(itertools.chain.from_iterable(b.ids for b in batches)),
            parent_ids=tuple(itertools.chain.from_iterable(b.parent_ids for b in batches)),
            **{name: joined(name) for name in _ARRAY_FIELDS},
        )

    def take(self, indices: Sequence[int] | np.ndarray) -> GenomeBatch:
        """The genomes at `indices`, in that order (repeats allowed): every genome's rows gathered at once."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            return GenomeBatch.of([])
        if idx.min() < -len(self) or idx.max() >= len(self):
            raise IndexError(f"genome index out of range for a batch of {len(self)}")
        idx = idx % len(self)
        muscle_rows = _ragged_rows(self.n_muscles, idx)
        order = idx.tolist()
        return GenomeBatch(
            ids=tuple([self.ids[i] for i in order]),
            parent_ids=tuple([self.parent_ids[i] for i in order]),
            # ndarray.take: a few times faster than fancy indexing for these small gathers
            node_params=_frozen(self.node_params.take(_ragged_rows(self.n_nodes, idx), axis=0)),
            muscle_nodes=_frozen(self.muscle_nodes.take(muscle_rows, axis=0)),
            muscle_params=_frozen(self.muscle_params.take(muscle_rows, axis=0)),
            net_weights=_frozen(self.net_weights.take(_ragged_rows(self.weight_counts, idx)))
            if self.net_weights.size
            else self.net_weights,
            **{name: _frozen(getattr(self, name).take(idx, axis=0)) for name in _GENOME_COLUMNS},
        )

    def with_lineage(
        self,
        *,
        ids: Sequence[str] | None = None,
        parent_ids: Sequence[tuple[str, ...]] | None = None,
        lineage: np.ndarray | None = None,
        survival_streaks: np.ndarray | None = None,
    ) -> GenomeBatch:
        """The same genes under other lineage columns (elites carried on, clones under new ids)."""
        changes: dict[str, object] = {}
        if ids is not None:
            changes["ids"] = tuple(ids)
        if parent_ids is not None:
            changes["parent_ids"] = tuple(tuple(p) for p in parent_ids)
        if lineage is not None:
            changes["lineage"] = _frozen(np.array(lineage, dtype=np.int64))
        if survival_streaks is not None:
            changes["survival_streaks"] = _frozen(np.array(survival_streaks, dtype=np.int64))
        return dataclasses.replace(self, **changes, _views=[])

    def with_networks(self, networks: Sequence[NeuralGenome | None]) -> GenomeBatch:
        """The same genomes with these networks (one per genome, None for none)."""
        return GenomeBatch.of_arrays(
            self.ids, self.parent_ids, self.lineage, self.survival_streaks, self.multipliers, self.colors,
            self.n_nodes, self.n_muscles, self.node_params, self.muscle_nodes, self.muscle_params, networks,
        )  # fmt: skip

    # -- where each genome's rows are ---------------------------------------------------------------

    @property
    def node_start(self) -> np.ndarray:
        return np.cumsum(self.n_nodes) - self.n_nodes

    @property
    def muscle_start(self) -> np.ndarray:
        return np.cumsum(self.n_muscles) - self.n_muscles

    @property
    def weight_counts(self) -> np.ndarray:
        """(B,) flat weight count of each genome's network (0 without one)."""
        return np.where(self.net_hidden > 0, neural_weight_count(self.net_hidden, self.net_outputs), 0)

    # -- Sequence[Genome] -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Genome: ...
    @overload
    def __getitem__(self, index: slice) -> list[Genome]: ...

    def __getitem__(self, index: int | slice) -> Genome | list[Genome]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if self._views:
            return self._views[0][index]
        i = range(len(self))[index]  # negative indices count from the end; out of range raises IndexError
        return self._genome(i, int(self.node_start[i]), int(self.muscle_start[i]), int(self._weight_start()[i]))

    def __iter__(self) -> Iterator[Genome]:
        return iter(self.genomes())

    def genomes(self) -> tuple[Genome, ...]:
        """Every genome as a `Genome` (views of the batch's rows), made once."""
        if not self._views:
            starts = zip(
                self.node_start.tolist(), self.muscle_start.tolist(), self._weight_start().tolist(), strict=True
            )
            self._views.append(tuple(self._genome(i, n, m, w) for i, (n, m, w) in enumerate(starts)))
        return self._views[0]

    def networks(self) -> list[NeuralGenome | None]:
        """Each genome's network (views of `net_weights`), None for a genome without one."""
        if self._views:
            return [g.neural for g in self._views[0]]
        if not self.net_weights.size:  # an oscillator run: no genome has one
            return [None] * len(self)
        return [self._network(i, w) for i, w in enumerate(self._weight_start().tolist())]

    def _network(self, i: int, weight: int) -> NeuralGenome | None:
        """Genome i's network, its weights starting at `weight` in `net_weights`."""
        hidden = int(self.net_hidden[i])
        if hidden == 0:
            return None
        outputs = int(self.net_outputs[i])
        weights = self.net_weights[weight : weight + neural_weight_count(hidden, outputs)]
        return NeuralGenome(weights, hidden, outputs, ACTIVATIONS[self.net_activation[i]])

    def _weight_start(self) -> np.ndarray:
        counts = self.weight_counts
        return np.cumsum(counts) - counts

    def _genome(self, i: int, node: int, muscle: int, weight: int) -> Genome:
        n, m = int(self.n_nodes[i]), int(self.n_muscles[i])
        return Genome(
            self.ids[i],
            self.node_params[node : node + n],
            self.muscle_nodes[muscle : muscle + m],
            self.muscle_params[muscle : muscle + m],
            float(self.multipliers[i]),
            HSL(*self.colors[i].tolist()),
            int(self.lineage[i]),
            int(self.survival_streaks[i]),
            self.parent_ids[i],
            self._network(i, weight),
        )


def _network_columns(net: NeuralGenome | None) -> tuple[int, int, int]:
    return (0, 0, 0) if net is None else (net.hidden_size, net.output_size, ACTIVATIONS.index(net.activation))


def _frozen(values: np.ndarray) -> np.ndarray:
    """`values` contiguous and read-only (a fresh array is not copied again)."""
    if not values.flags.c_contiguous:
        values = np.ascontiguousarray(values)
    values.flags.writeable = False
    return values


@nb.njit(cache=True)
def _ragged_rows(counts, idx):
    """The row numbers of items `idx`, in that order, for rows laid out `counts[i]` per item."""
    starts = np.empty(counts.shape[0], dtype=np.int64)
    total = 0
    for i in range(counts.shape[0]):
        starts[i] = total
        total += counts[i]
    size = 0
    for i in idx:
        size += counts[i]
    rows = np.empty(size, dtype=np.int64)
    at = 0
    for i in idx:
        for r in range(starts[i], starts[i] + counts[i]):
            rows[at] = r
            at += 1
    return rows


def _rows(blocks: list[np.ndarray], dtype: type, tail: tuple[int, ...]) -> np.ndarray:
    rows = np.concatenate(blocks).astype(dtype, copy=False) if blocks else np.zeros((0, *tail), dtype=dtype)
    return _frozen(rows.reshape((-1, *tail)))


_GENOME_COLUMNS = (
    "lineage", "survival_streaks", "multipliers", "colors", "n_nodes", "n_muscles", "net_hidden", "net_outputs",
    "net_activation",
)  # fmt: skip
"""The one-value-per-genome arrays."""
_ARRAY_FIELDS = (
    "lineage", "survival_streaks", "multipliers", "colors", "n_nodes", "n_muscles", "node_params", "muscle_nodes",
    "muscle_params", "net_hidden", "net_outputs", "net_activation", "net_weights",
)  # fmt: skip
_DTYPES = {
    **dict.fromkeys(("lineage", "survival_streaks", "n_nodes", "n_muscles", "net_hidden", "net_outputs"), np.int64),
    **dict.fromkeys(("multipliers", "colors", "node_params", "muscle_params", "net_weights"), np.float64),
    "muscle_nodes": np.int32,
    "net_activation": np.int8,
}
"""Each array field's dtype (the class docstring's)."""
