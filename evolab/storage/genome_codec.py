"""Genomes in binary, many to a compressed batch: the creatures first stored together (one generation's
children) share one zstd frame. Each genome's bytes lie together (its muscle ends, then its node,
muscle and network values), behind a table of every genome's sizes and scalars.

A batch is compressed with the batch stored before it as a zstd dictionary: children are mostly copies
of the previous generation with a few values changed, so they cost about 40 % fewer bytes than on their
own. Every `KEY_INTERVAL`-th batch of a chain is compressed alone, so reading a genome decompresses at
most that many batches (the store caches them).

Arrays go as float32 when every value is a float32 number (always, for genomes evolab made) and as
float64 otherwise, so decoding gives back exactly the genome that was stored. Ids and parent ids are not
in the blob: the creatures table holds them once, and decoding takes them back from there. Batches
written before schema 2 (EVG2: values laid out by column, no dictionary) are still read.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numba as nb
import numpy as np
import zstandard

from evolab.errors import CorruptData
from evolab.genome.batch import GenomeBatch
from evolab.genome.genes import ACTIVATIONS, HSL, MUSCLE_FIELDS, NODE_FIELDS, NeuralGenome
from evolab.genome.model import Genome

KEY_INTERVAL = 16
"""A chain of dictionary-compressed batches restarts with a self-contained batch this often."""

_BLOB_MAGIC = b"EVG3"
_BLOB_PREFIX = struct.Struct("<4sB")  # magic, depth (batches before it in its chain; 0: self-contained)
_CONTENT_MAGIC = b"EVGC"
_V2_MAGIC = b"EVG2"
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
_ACTIVATIONS = ("tanh", "relu", "sigmoid")  # the stored codes: part of the format
_STORED_ACTIVATION = np.array([_ACTIVATIONS.index(name) for name in ACTIVATIONS], dtype=np.uint8)
_GENE_ACTIVATION = np.array([ACTIVATIONS.index(name) for name in _ACTIVATIONS], dtype=np.int8)
_LEVEL = 1  # level 2 makes 4 % smaller batches (E1: 0.9 MB of 96) in 40 % more time
_N_NODE = len(NODE_FIELDS)
_N_MUSCLE = len(MUSCLE_FIELDS)


def _weight_count(hidden: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    return 8 * hidden + hidden + hidden * outputs + outputs


@nb.njit(cache=True)
def _all_float32(arrays):
    """Whether every value of these flat float64 arrays is a float32 number (NaN counts as one)."""
    for values in arrays:
        for v in values:
            if np.float64(np.float32(v)) != v and not np.isnan(v):
                return False
    return True


@nb.njit(cache=True)
def _lay_out(streams, lengths):
    """Byte streams cut into consecutive pieces and laid out genome by genome: stream 0's piece 0, stream
    1's piece 0, ..., stream 0's piece 1, ... (`lengths` (streams, genomes) bytes)."""
    total = 0
    for stream in streams:
        total += stream.size
    out = np.empty(total, dtype=np.uint8)
    starts = np.zeros(len(streams), dtype=np.int64)
    pos = 0
    for g in range(lengths.shape[1]):
        for k, stream in enumerate(streams):
            length = lengths[k, g]
            out[pos : pos + length] = stream[starts[k] : starts[k] + length]
            starts[k] += length
            pos += length
    return out


def batch_content(genomes: Sequence[Genome]) -> bytes:
    """The uncompressed bytes of a batch (without ids and parent ids)."""
    batch = GenomeBatch.of(genomes, out_of_range_ok=True)  # flags are stored beside it (`flagged_genomes`)
    count = len(batch)
    header = np.zeros(count, dtype=_HEADER)
    header["n_nodes"] = batch.n_nodes
    header["n_muscles"] = batch.n_muscles
    header["has_net"] = batch.net_hidden > 0
    header["activation"] = _STORED_ACTIVATION[batch.net_activation]
    header["hidden"] = batch.net_hidden
    header["outputs"] = batch.net_outputs
    header["lineage"] = batch.lineage
    header["streak"] = batch.survival_streaks
    header["multiplier"] = batch.multipliers
    header["h"], header["s"], header["l"] = batch.colors.T
    if count == 0:
        return _PREFIX.pack(_CONTENT_MAGIC, 0, 0)
    n, m, w = _sizes(header)
    ends = batch.muscle_nodes.astype("<u2")
    nodes, muscles, weights = batch.node_params, batch.muscle_params, batch.net_weights
    wide = not _all_float32((nodes.ravel(), muscles.ravel(), weights))
    width = 8 if wide else 4
    values = [part.astype("<f8" if wide else "<f4").ravel().view(np.uint8) for part in (nodes, muscles, weights)]
    lengths = np.stack([4 * m, width * _N_NODE * n, width * _N_MUSCLE * m, width * w])
    body = _lay_out((ends.ravel().view(np.uint8), *values), lengths)
    return _PREFIX.pack(_CONTENT_MAGIC, count, wide) + header.tobytes() + body.tobytes()


def _sizes(header: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = header["n_nodes"].astype(np.int64)
    m = header["n_muscles"].astype(np.int64)
    w = np.where(header["has_net"] > 0, _weight_count(header["hidden"].astype(np.int64), header["outputs"]), 0)
    return n, m, w


def _dictionary(content: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(content, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def compress_batch(content: bytes, previous: tuple[int, bytes] | None = None) -> bytes:
    """A stored batch: `content` compressed alone, or against `previous` = (depth, content) of the batch
    stored before it, unless that chain is `KEY_INTERVAL` long already."""
    if previous is None or previous[0] + 1 >= KEY_INTERVAL:
        depth, compressor = 0, zstandard.ZstdCompressor(level=_LEVEL, write_checksum=True)
    else:
        depth = previous[0] + 1
        compressor = zstandard.ZstdCompressor(level=_LEVEL, dict_data=_dictionary(previous[1]), write_checksum=True)
    return _BLOB_PREFIX.pack(_BLOB_MAGIC, depth) + compressor.compress(content)


def batch_depth(blob: bytes) -> int | None:
    """How many batches before this one its decompression needs (0: none); None for an EVG2 batch."""
    if bytes(blob[:4]) != _BLOB_MAGIC or len(blob) < _BLOB_PREFIX.size:
        return None
    return _BLOB_PREFIX.unpack_from(blob)[1]


def decompress_batch(blob: bytes, previous_content: bytes | None = None) -> bytes:
    """The content of a stored batch, given the content of the batch before it when its depth is above 0.

    Raises:
        StorageError: the blob is not a batch, is damaged, or needs a previous batch it was not given.
    """
    try:
        depth = batch_depth(blob)
        if depth is None:
            raise ValueError("bad magic")
        if depth > 0 and previous_content is None:
            raise ValueError("the batch before it is missing")
        decompressor = (
            zstandard.ZstdDecompressor(dict_data=_dictionary(previous_content))
            if depth > 0
            else zstandard.ZstdDecompressor()
        )
        return decompressor.decompress(blob[_BLOB_PREFIX.size :])
    except (ValueError, struct.error, zstandard.ZstdError) as err:
        raise CorruptData(f"stored genomes are corrupt ({err})") from None


def encode_batch(genomes: Sequence[Genome]) -> bytes:
    """Several genomes (without ids and parent ids) in one self-contained blob."""
    return compress_batch(batch_content(genomes))


def decode_batch(
    blob: bytes,
    slots: Sequence[int],
    identities: Sequence[tuple[str, tuple[str, ...]]],
    previous_content: bytes | None = None,
) -> list[Genome]:
    """The genomes at `slots` of a stored batch (EVG3, or EVG2 from schema 1), each given its (id, parent
    ids); `previous_content` is the content of the batch before it when it was compressed against it.

    Raises:
        StorageError: the blob is not a genome batch or is damaged.
    """
    if batch_depth(blob) is None:
        return _decode_v2(blob, slots, identities)
    return genomes_from_content(decompress_batch(blob, previous_content), slots, identities)


def genomes_from_content(
    content: bytes, slots: Sequence[int], identities: Sequence[tuple[str, tuple[str, ...]]]
) -> list[Genome]:
    """The genomes at `slots` of a batch's content (see `batch_content`)."""
    return list(batch_from_content(content, slots, identities).genomes())


def batch_from_content(
    content: bytes, slots: Sequence[int], identities: Sequence[tuple[str, tuple[str, ...]]]
) -> GenomeBatch:
    """The genomes at `slots` of a batch's content as one `GenomeBatch`, each given its (id, parent ids):
    every array cut out at once, no genome made one by one (a generation's cards read only columns)."""
    try:
        magic, count, wide = _PREFIX.unpack_from(content)
        if magic != _CONTENT_MAGIC:
            raise ValueError("bad magic")
        header = np.frombuffer(content, dtype=_HEADER, count=count, offset=_PREFIX.size)
        n, m, w = _sizes(header)
        width = 8 if wide else 4
        lengths = np.stack([4 * m, width * _N_NODE * n, width * _N_MUSCLE * m, width * w])
        body = np.frombuffer(content, dtype=np.uint8, offset=_PREFIX.size + header.nbytes)
        if body.size != int(lengths.sum()):
            raise ValueError("wrong length")
        picked = np.asarray(slots, dtype=np.int64).reshape(-1)
        if len(picked) != len(identities):
            raise ValueError("slots and identities differ in number")
        if picked.size and (picked.min() < 0 or picked.max() >= count):
            raise IndexError(f"slot {int(picked[(picked < 0) | (picked >= count)][0])} of a batch of {count}")
        streams = np.split(_take_apart(body, lengths, picked), np.cumsum(lengths[:, picked].sum(axis=1))[:-1])
        floats = "<f8" if wide else "<f4"
        h = header[picked]
        has_net = h["has_net"] > 0
        if has_net.any() and h["activation"][has_net].max() >= len(_ACTIVATIONS):
            raise ValueError("unknown activation code")
        return GenomeBatch.from_columns(
            ids=[genome_id for genome_id, _ in identities],
            parent_ids=[tuple(parents) for _, parents in identities],
            lineage=h["lineage"],
            survival_streaks=h["streak"],
            multipliers=h["multiplier"],
            colors=np.stack([h["h"], h["s"], h["l"]], axis=1),
            n_nodes=n[picked],
            n_muscles=m[picked],
            node_params=streams[1].view(floats).reshape(-1, _N_NODE),
            muscle_nodes=streams[0].view("<u2").reshape(-1, 2),
            muscle_params=streams[2].view(floats).reshape(-1, _N_MUSCLE),
            net_hidden=np.where(has_net, h["hidden"], 0),
            net_outputs=np.where(has_net, h["outputs"], 0),
            net_activation=np.where(has_net, _GENE_ACTIVATION[np.minimum(h["activation"], len(_ACTIVATIONS) - 1)], 0),
            net_weights=streams[3].view(floats),
        )
    except (ValueError, IndexError, KeyError, struct.error) as err:
        raise CorruptData(f"stored genomes are corrupt ({err})") from None


@nb.njit(cache=True)
def _take_apart(body, lengths, picked):
    """`_lay_out` undone for the genomes `picked`: stream 0's pieces of those genomes end to end, then
    stream 1's, and so on, in one array (`lengths` (streams, genomes) bytes of each piece in `body`)."""
    streams, genomes = lengths.shape
    starts = np.empty(genomes, dtype=np.int64)
    pos = 0
    for g in range(genomes):
        starts[g] = pos
        for k in range(streams):
            pos += lengths[k, g]
    total = 0
    for g in picked:
        for k in range(streams):
            total += lengths[k, g]
    out = np.empty(total, dtype=np.uint8)
    at = 0
    for k in range(streams):
        for g in picked:
            start = starts[g]
            for j in range(k):
                start += lengths[j, g]
            length = lengths[k, g]
            out[at : at + length] = body[start : start + length]
            at += length
    return out


def _genome(h, genome_id, parents, node_params, ends, muscle_params, weights) -> Genome:
    neural = None
    if h["has_net"]:
        neural = NeuralGenome(weights, int(h["hidden"]), int(h["outputs"]), _ACTIVATIONS[h["activation"]])
    return Genome(
        id=genome_id,
        node_params=node_params,
        muscle_nodes=ends,
        muscle_params=muscle_params,
        global_frequency_multiplier=float(h["multiplier"]),
        color=HSL(float(h["h"]), float(h["s"]), float(h["l"])),
        generation=int(h["lineage"]),
        survival_streak=int(h["streak"]),
        parent_ids=parents,
        neural=neural,
    )


def _decode_v2(blob: bytes, slots: Sequence[int], identities: Sequence[tuple[str, tuple[str, ...]]]) -> list[Genome]:
    """Schema 1's batches: every genome's node tables, then every muscle table, ..., as byte planes."""
    try:
        raw = zstandard.ZstdDecompressor().decompress(blob)
        magic, count, wide = _PREFIX.unpack_from(raw)
        if magic != _V2_MAGIC:
            raise ValueError("bad magic")
        header = np.frombuffer(raw, dtype=_HEADER, count=count, offset=_PREFIX.size)
        n, m, w = _sizes(header)
        offset = _PREFIX.size + header.nbytes
        ends = np.frombuffer(raw, dtype="<u2", count=2 * int(m.sum()), offset=offset).reshape(-1, 2)
        offset += ends.nbytes
        width = 8 if wide else 4
        total = int(_N_NODE * n.sum() + _N_MUSCLE * m.sum() + w.sum())
        planes = np.frombuffer(raw, dtype=np.uint8, count=total * width, offset=offset).reshape(width, total)
        values = np.ascontiguousarray(planes.T).view("<f8" if wide else "<f4").ravel().astype(np.float64)
        if len(raw) != offset + total * width:
            raise ValueError("wrong length")
        node_start = np.cumsum(_N_NODE * n) - _N_NODE * n
        muscle_start = _N_NODE * n.sum() + np.cumsum(_N_MUSCLE * m) - _N_MUSCLE * m
        weight_start = _N_NODE * n.sum() + _N_MUSCLE * m.sum() + np.cumsum(w) - w
        end_start = np.cumsum(m) - m
        out = []
        for i, (genome_id, parents) in zip(slots, identities, strict=True):
            h = header[i]
            out.append(
                _genome(
                    h,
                    genome_id,
                    parents,
                    values[node_start[i] : node_start[i] + _N_NODE * n[i]].reshape(-1, _N_NODE),
                    ends[end_start[i] : end_start[i] + m[i]].astype(np.int32),
                    values[muscle_start[i] : muscle_start[i] + _N_MUSCLE * m[i]].reshape(-1, _N_MUSCLE),
                    values[weight_start[i] : weight_start[i] + w[i]],
                )
            )
        return out
    except (ValueError, IndexError, KeyError, struct.error, zstandard.ZstdError) as err:
        raise CorruptData(f"stored genomes are corrupt ({err})") from None
