"""Pack a list of genomes into one padded structure-of-arrays batch, the contract between genomes and
every physics backend (DESIGN §4).

All arrays are plain contiguous numpy, padded to the batch's largest creature, with explicit counts and
masks, so a backend takes the batch unchanged and any slice of creatures can be shipped elsewhere as is.
Packing concatenates each genome's small arrays: no Python loop touches a node or a muscle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evolab.genome.arrays import pad_rows
from evolab.genome.batch import GenomeBatch
from evolab.genome.genes import ACTIVATIONS, MUSCLE_FIELDS, NODE_FIELDS
from evolab.genome.model import Genome

ACTIVATION_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}


@dataclass(frozen=True, slots=True)
class PackedBatch:
    """B creatures padded to N nodes, M muscles and W neural weights.

    Attributes:
        n_nodes: (B,) int32 node count of each creature.
        n_muscles: (B,) int32 muscle count.
        node_params: (B, N, 5) float64, columns `NODE_FIELDS` (size, friction, rest-pose x, y, z); 0 padded.
        node_mask: (B, N) bool, True for real nodes.
        muscle_ends: (B, M, 2) int32 node indices of each muscle; 0 padded.
        muscle_params: (B, M, 16) float64, columns `MUSCLE_FIELDS`; 0 padded.
        muscle_mask: (B, M) bool, True for real muscles.
        frequency_multiplier: (B,) float64 global frequency multiplier.
        net_hidden: (B,) int32 hidden size of the creature's network, 0 when it has none.
        net_activation: (B,) int8 hidden activation code (`ACTIVATION_CODES`).
        net_weights: (B, W) float64 flat weights in the genome's layout; 0 padded.
        draw_keys: (B,) uint64 per-creature key for per-creature pellet draws (from the genome id).
    """

    n_nodes: np.ndarray
    n_muscles: np.ndarray
    node_params: np.ndarray
    node_mask: np.ndarray
    muscle_ends: np.ndarray
    muscle_params: np.ndarray
    muscle_mask: np.ndarray
    frequency_multiplier: np.ndarray
    net_hidden: np.ndarray
    net_activation: np.ndarray
    net_weights: np.ndarray
    draw_keys: np.ndarray

    @property
    def size(self) -> int:
        return int(self.n_nodes.shape[0])

    def take(self, index: np.ndarray | slice) -> PackedBatch:
        """The sub-batch of the creatures at `index` (padding kept)."""
        return PackedBatch(*(np.ascontiguousarray(getattr(self, f)[index]) for f in self.__slots__))


def creature_draw_key(genome_id: str) -> int:
    """A stable 63-bit key of a genome id, so per-creature draws ignore batch-mates: evolab's own ids
    (`cr_` + 16 hex digits) are their number; other ids are hashed (FNV-1a)."""
    if len(genome_id) == 19 and genome_id.startswith("cr_"):
        try:
            return int(genome_id[3:], 16) >> 1
        except ValueError:
            pass
    h = 0xCBF29CE484222325
    for byte in genome_id.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h >> 1


def pack_batch(genomes: Sequence[Genome]) -> PackedBatch:
    """Pack genomes (a list, or a `GenomeBatch` as is) into a `PackedBatch` (input order kept)."""
    if not genomes:
        raise ValueError("pack_batch needs at least one genome")
    batch = GenomeBatch.of(genomes)
    n_nodes = batch.n_nodes.astype(np.int32)
    n_muscles = batch.n_muscles.astype(np.int32)
    max_n, max_m = int(n_nodes.max()), max(int(n_muscles.max()), 1)
    weight_counts = batch.weight_counts
    return PackedBatch(
        n_nodes=n_nodes,
        n_muscles=n_muscles,
        node_params=pad_rows(batch.node_params, n_nodes, max_n, (len(NODE_FIELDS),), np.float64),
        node_mask=np.arange(max_n)[None, :] < n_nodes[:, None],
        muscle_ends=pad_rows(batch.muscle_nodes, n_muscles, max_m, (2,), np.int32),
        muscle_params=pad_rows(batch.muscle_params, n_muscles, max_m, (len(MUSCLE_FIELDS),), np.float64),
        muscle_mask=np.arange(max_m)[None, :] < n_muscles[:, None],
        frequency_multiplier=batch.multipliers.copy(),
        net_hidden=batch.net_hidden.astype(np.int32),
        net_activation=batch.net_activation.copy(),
        net_weights=pad_rows(batch.net_weights, weight_counts, max(int(weight_counts.max()), 1), (), np.float64),
        draw_keys=np.fromiter(map(creature_draw_key, batch.ids), np.uint64, len(batch)),
    )
