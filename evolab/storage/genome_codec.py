"""Genomes in binary, many to a compressed batch: the creatures first stored together (one generation's
children) share one zstd frame, so a clone and its siblings cost little more than one genome.

Arrays go as float32 when every value is a float32 number (always, for genomes evolab made) and as
float64 otherwise, so decoding gives back exactly the genome that was stored. Ids and parent ids are not
in the record: the creatures table holds them once, and decoding takes them back from there.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import zstandard

from evolab.errors import StorageError
from evolab.genome.model import HSL, MUSCLE_FIELDS, NODE_FIELDS, Genome, NeuralGenome

_MAGIC = b"EVG1"
_RECORD = struct.Struct("<HHBBHHIIdddd")  # nodes, muscles, flags, activation, hidden, outputs,
# lineage generation, survival streak, multiplier, h, s, l
_FLAG_FLOAT64 = 1
_FLAG_NEURAL = 2
_ACTIVATIONS = ("tanh", "relu", "sigmoid")
_LEVEL = 3


def _is_float32(values: np.ndarray) -> bool:
    return bool(np.array_equal(values.astype(np.float32).astype(np.float64), values, equal_nan=True))


def encode_genome(genome: Genome) -> bytes:
    """One genome as bytes (uncompressed), without its id and parent ids."""
    net = genome.neural
    arrays = [genome.node_params, genome.muscle_params] + ([net.weights] if net is not None else [])
    wide = not all(_is_float32(a) for a in arrays)
    flags = (_FLAG_FLOAT64 if wide else 0) | (_FLAG_NEURAL if net is not None else 0)
    head = _RECORD.pack(
        genome.n_nodes,
        genome.n_muscles,
        flags,
        _ACTIVATIONS.index(net.activation) if net is not None else 0,
        net.hidden_size if net is not None else 0,
        net.output_size if net is not None else 0,
        genome.generation,
        genome.survival_streak,
        genome.global_frequency_multiplier,
        genome.color.h,
        genome.color.s,
        genome.color.l,
    )
    parts = [head]
    dtype = np.float64 if wide else np.float32
    parts.append(genome.muscle_nodes.astype(np.uint16).tobytes())
    parts.extend(a.astype(dtype).tobytes() for a in arrays)
    return b"".join(parts)


def decode_genome(data: bytes | memoryview, genome_id: str, parent_ids: tuple[str, ...]) -> Genome:
    """Inverse of `encode_genome`, given the genome's id and parent ids."""
    view = memoryview(data)
    n, m, flags, activation, hidden, outputs, lineage, streak, multiplier, h, s, l = _RECORD.unpack_from(view)  # noqa: E741
    offset = _RECORD.size
    dtype = np.float64 if flags & _FLAG_FLOAT64 else np.float32

    def take(count: int, kind=dtype) -> np.ndarray:
        nonlocal offset
        arr = np.frombuffer(view, dtype=kind, count=count, offset=offset)
        offset += count * np.dtype(kind).itemsize
        return arr

    ends = take(m * 2, np.uint16).reshape(m, 2).astype(np.int32)
    nodes = take(n * len(NODE_FIELDS)).astype(np.float64)
    muscles = take(m * len(MUSCLE_FIELDS)).astype(np.float64)
    neural = None
    if flags & _FLAG_NEURAL:
        count = 8 * hidden + hidden + hidden * outputs + outputs
        neural = NeuralGenome(take(count).astype(np.float64), hidden, outputs, _ACTIVATIONS[activation])
    return Genome(
        id=genome_id,
        node_params=nodes,
        muscle_nodes=ends,
        muscle_params=muscles,
        global_frequency_multiplier=multiplier,
        color=HSL(h, s, l),
        generation=lineage,
        survival_streak=streak,
        parent_ids=parent_ids,
        neural=neural,
    )


def encode_batch(genomes: Sequence[Genome]) -> bytes:
    """Several genomes in one compressed blob."""
    records = [encode_genome(g) for g in genomes]
    offsets = np.cumsum([0] + [len(r) for r in records]).astype(np.uint32)
    raw = _MAGIC + struct.pack("<I", len(records)) + offsets.tobytes() + b"".join(records)
    return zstandard.ZstdCompressor(level=_LEVEL).compress(raw)


def decode_batch(blob: bytes, slots: Sequence[int], identities: Sequence[tuple[str, tuple[str, ...]]]) -> list[Genome]:
    """The genomes at `slots` of a blob, each given its (id, parent ids).

    Raises:
        StorageError: the blob is not a genome batch or is damaged.
    """
    try:
        raw = zstandard.ZstdDecompressor().decompress(blob)
        if raw[:4] != _MAGIC:
            raise ValueError("bad magic")
        (count,) = struct.unpack_from("<I", raw, 4)
        offsets = np.frombuffer(raw, dtype=np.uint32, count=count + 1, offset=8)
        body = memoryview(raw)[8 + 4 * (count + 1) :]
        return [
            decode_genome(body[offsets[i] : offsets[i + 1]], genome_id, parents)
            for i, (genome_id, parents) in zip(slots, identities, strict=True)
        ]
    except (ValueError, IndexError, struct.error, zstandard.ZstdError) as err:
        raise StorageError(f"stored genomes are corrupt ({err})") from None
