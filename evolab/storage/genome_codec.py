"""Genomes in binary, many to a compressed batch: the creatures first stored together (one generation's
children) share one zstd frame, laid out by column (every genome's node table, then every muscle table,
...) so similar values sit together, and encoded with a handful of array operations.

Arrays go as float32 when every value is a float32 number (always, for genomes evolab made) and as
float64 otherwise, so decoding gives back exactly the genome that was stored. Ids and parent ids are not
in the blob: the creatures table holds them once, and decoding takes them back from there.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import zstandard

from evolab.errors import StorageError
from evolab.genome.model import HSL, MUSCLE_FIELDS, NODE_FIELDS, Genome, NeuralGenome

_MAGIC = b"EVG2"
_PREFIX = struct.Struct("<4sIB")  # magic, count, wide (float64 arrays)
_HEADER = np.dtype(
    [
        ("n_nodes", "<u2"),
        ("n_muscles", "<u2"),
        ("has_net", "u1"),
        ("activation", "u1"),
        ("hidden", "<u2"),
        ("outputs", "<u2"),
        ("lineage", "<u4"),
        ("streak", "<u4"),
        ("multiplier", "<f8"),
        ("h", "<f8"),
        ("s", "<f8"),
        ("l", "<f8"),
    ]
)
_ACTIVATIONS = ("tanh", "relu", "sigmoid")
_LEVEL = 3


def _weight_count(hidden: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    return 8 * hidden + hidden + hidden * outputs + outputs


def encode_batch(genomes: Sequence[Genome]) -> bytes:
    """Several genomes (without ids and parent ids) in one compressed blob."""
    count = len(genomes)
    header = np.zeros(count, dtype=_HEADER)
    nets = [g.neural for g in genomes]
    header["n_nodes"] = [g.n_nodes for g in genomes]
    header["n_muscles"] = [g.n_muscles for g in genomes]
    header["has_net"] = [net is not None for net in nets]
    header["activation"] = [_ACTIVATIONS.index(net.activation) if net is not None else 0 for net in nets]
    header["hidden"] = [net.hidden_size if net is not None else 0 for net in nets]
    header["outputs"] = [net.output_size if net is not None else 0 for net in nets]
    header["lineage"] = [g.generation for g in genomes]
    header["streak"] = [g.survival_streak for g in genomes]
    header["multiplier"] = [g.global_frequency_multiplier for g in genomes]
    header["h"] = [g.color.h for g in genomes]
    header["s"] = [g.color.s for g in genomes]
    header["l"] = [g.color.l for g in genomes]
    ends = np.concatenate([g.muscle_nodes for g in genomes]).astype("<u2") if count else np.zeros(0, "<u2")
    floats = [np.concatenate([g.node_params.ravel() for g in genomes]) if count else np.zeros(0)]
    floats.append(np.concatenate([g.muscle_params.ravel() for g in genomes]) if count else np.zeros(0))
    weights = [net.weights for net in nets if net is not None]
    floats.append(np.concatenate(weights) if weights else np.zeros(0))
    values = np.concatenate(floats)
    wide = not np.array_equal(values.astype(np.float32).astype(np.float64), values, equal_nan=True)
    stored = values.astype("<f8" if wide else "<f4")
    # byte planes: sign/exponent bytes of similar values compress to almost nothing
    planes = stored.view(np.uint8).reshape(-1, stored.itemsize).T.tobytes()
    raw = _PREFIX.pack(_MAGIC, count, wide) + header.tobytes() + ends.tobytes() + planes
    return zstandard.ZstdCompressor(level=_LEVEL).compress(raw)


def decode_batch(blob: bytes, slots: Sequence[int], identities: Sequence[tuple[str, tuple[str, ...]]]) -> list[Genome]:
    """The genomes at `slots` of a blob, each given its (id, parent ids).

    Raises:
        StorageError: the blob is not a genome batch or is damaged.
    """
    try:
        raw = zstandard.ZstdDecompressor().decompress(blob)
        magic, count, wide = _PREFIX.unpack_from(raw)
        if magic != _MAGIC:
            raise ValueError("bad magic")
        header = np.frombuffer(raw, dtype=_HEADER, count=count, offset=_PREFIX.size)
        n = header["n_nodes"].astype(np.int64)
        m = header["n_muscles"].astype(np.int64)
        w = np.where(header["has_net"] > 0, _weight_count(header["hidden"].astype(np.int64), header["outputs"]), 0)
        offset = _PREFIX.size + header.nbytes
        ends = np.frombuffer(raw, dtype="<u2", count=2 * int(m.sum()), offset=offset).reshape(-1, 2)
        offset += ends.nbytes
        width = 8 if wide else 4
        total = int(5 * n.sum() + 16 * m.sum() + w.sum())
        planes = np.frombuffer(raw, dtype=np.uint8, count=total * width, offset=offset).reshape(width, total)
        values = np.ascontiguousarray(planes.T).view("<f8" if wide else "<f4").ravel().astype(np.float64)
        if len(raw) != offset + total * width:
            raise ValueError("wrong length")
        node_start = np.cumsum(5 * n) - 5 * n
        muscle_start = 5 * n.sum() + np.cumsum(16 * m) - 16 * m
        weight_start = 5 * n.sum() + 16 * m.sum() + np.cumsum(w) - w
        end_start = np.cumsum(m) - m
        out = []
        for i, (genome_id, parents) in zip(slots, identities, strict=True):
            h = header[i]
            neural = None
            if h["has_net"]:
                neural = NeuralGenome(
                    values[weight_start[i] : weight_start[i] + w[i]],
                    int(h["hidden"]),
                    int(h["outputs"]),
                    _ACTIVATIONS[h["activation"]],
                )
            out.append(
                Genome(
                    id=genome_id,
                    node_params=values[node_start[i] : node_start[i] + 5 * n[i]].reshape(-1, len(NODE_FIELDS)),
                    muscle_nodes=ends[end_start[i] : end_start[i] + m[i]].astype(np.int32),
                    muscle_params=values[muscle_start[i] : muscle_start[i] + 16 * m[i]].reshape(-1, len(MUSCLE_FIELDS)),
                    global_frequency_multiplier=float(h["multiplier"]),
                    color=HSL(float(h["h"]), float(h["s"]), float(h["l"])),
                    generation=int(h["lineage"]),
                    survival_streak=int(h["streak"]),
                    parent_ids=parents,
                    neural=neural,
                )
            )
        return out
    except (ValueError, IndexError, KeyError, struct.error, zstandard.ZstdError) as err:
        raise StorageError(f"stored genomes are corrupt ({err})") from None
