"""Compact replays: positions quantised per axis, delta-coded over time per node and axis, zigzag
encoded and split into byte planes; fitness the same way on its own grid.

A replay has two forms. `RawReplay` holds the byte planes uncompressed: the store keeps a whole
generation's replays in one compressed block (`replay_block`), which compresses better than one stream
per creature and leaves no half-empty database pages. The export document carries each replay on its
own as two compressed blobs (`encode_replay` / `decode_replay`); both forms convert to each other
without touching a single value.

Quanta: 10 cm across the ground and 5 cm in height (schema 1 stored 2 cm, and took 1.35 times the
bytes). Measured on evolved E1 creatures: a node moves a median 34 cm between two frames at 15 FPS, and
the viewer's interpolation between frames is off by a median 9 cm, so rounding by at most 5 cm across
and 2.5 cm in height does not show; height is finer so that resting nodes stay on the ground.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np
import zstandard

from evolab.errors import CorruptData

POSITION_QUANTA = (0.1, 0.05, 0.1)
"""Units per stored step of a node's x, y (height) and z."""
FITNESS_QUANTUM = 0.01
_MAGIC_V1 = b"EVF1"  # one quantum for all three axes (before schema 2); still read
_HEADER_V1 = struct.Struct("<4sHHdd")  # magic, frames, nodes, position quantum, fitness quantum
_MAGIC = b"EVF2"
_HEADER = struct.Struct("<4sHHdddd")  # magic, frames, nodes, x, y and z quanta, fitness quantum
_LEVEL = 1  # replays are high-entropy: more effort saves about 1 %


@dataclass(frozen=True, slots=True, eq=False)
class RawReplay:
    """One replay's byte planes, uncompressed: `positions` and `fitness` are each a width byte followed
    by the planes of the zigzagged deltas (positions by node, then axis, then frame)."""

    n_frames: int
    n_nodes: int
    quanta: tuple[float, float, float]
    fitness_quantum: float
    positions: bytes
    fitness: bytes


def _unpack_ints(data: bytes, count: int) -> np.ndarray:
    width = data[0]
    if len(data) != 1 + width * count:
        raise ValueError("wrong length")
    return _unzigzagged(np.frombuffer(data, dtype=np.uint8), width, count)


@nb.njit(cache=True)
def _unzigzagged(data, width, count):
    """The `count` int64 values whose zigzagged forms are the `width` byte planes after `data`'s first
    byte (plane k holds byte k of every value): one pass, where numpy took a temporary per plane."""
    out = np.empty(count, dtype=np.int64)
    for k in range(count):
        z = np.uint64(0)
        for w in range(width):
            z |= np.uint64(data[1 + w * count + k]) << np.uint64(8 * w)
        v = np.int64(z)  # as numpy's astype: wraps above 2**63
        out[k] = (v >> 1) ^ -(v & 1)
    return out


@nb.njit(cache=True)
def _zigzag_step(value, previous, largest):
    delta = value - previous
    zig = np.uint64((delta << 1) ^ (delta >> 63))
    return zig, max(largest, zig)


@nb.njit(cache=True)
def _byte_planes(z, largest):
    """Byte planes (width, rows, F) of zigzagged values (rows, F) below `largest` + 1, and the width."""
    rows, count = z.shape
    width = 1
    while width < 8 and (largest >> np.uint64(8 * width)) > 0:
        width += 1
    planes = np.empty((width, rows, count), dtype=np.uint8)
    for w in range(width):
        shift = np.uint64(8 * w)
        for r in range(rows):
            for k in range(count):
                planes[w, r, k] = np.uint8((z[r, k] >> shift) & np.uint64(255))
    return planes, width


@nb.njit(cache=True)
def _delta_planes(tracks, quanta):
    """Byte planes (width, rows, F) of the zigzagged first differences of tracks (rows, F), row r on the
    grid of quanta[r], and their width in bytes (1 to 8); one pass instead of a dozen numpy temporaries."""
    rows, count = tracks.shape
    z = np.empty((rows, count), dtype=np.uint64)
    largest = np.uint64(0)
    for r in range(rows):
        previous = np.int64(0)
        for k in range(count):
            value = np.int64(np.round(tracks[r, k] / quanta[r]))
            z[r, k], largest = _zigzag_step(value, previous, largest)
            previous = value
    return _byte_planes(z, largest)


@nb.njit(cache=True)
def _frame_planes(frames, axis_quanta):
    """`_delta_planes` of a replay's (F, n, 3) frames as tracks by node, then axis, read in place."""
    count, n, _ = frames.shape
    z = np.empty((n * 3, count), dtype=np.uint64)
    largest = np.uint64(0)
    for node in range(n):
        for axis in range(3):
            previous = np.int64(0)
            for k in range(count):
                value = np.int64(np.round(np.float64(frames[k, node, axis]) / axis_quanta[axis]))
                z[node * 3 + axis, k], largest = _zigzag_step(value, previous, largest)
                previous = value
    return _byte_planes(z, largest)


def raw_replays(
    replays: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    quanta: tuple[float, float, float] = POSITION_QUANTA,
    fitness_quantum: float = FITNESS_QUANTUM,
) -> list[RawReplay]:
    """Quantise and delta-code replays of (F, n, 3) frames and (F,) fitness values (the same F for all).

    `quanta` and `fitness_quantum` are stored with each replay: imported frames already rounded to
    millimetres keep every value on a 0.001 grid."""
    if not replays:
        return []
    fitness = np.stack([np.asarray(f, dtype=np.float64) for _, f in replays])
    f_planes, f_width = _delta_planes(fitness, np.full(len(replays), fitness_quantum))
    axis_quanta = np.array(quanta)
    out = []
    for i, (frames, _) in enumerate(replays):
        n_frames, n, _ = frames.shape
        planes, width = _frame_planes(np.asarray(frames), axis_quanta)
        out.append(
            RawReplay(
                n_frames,
                n,
                tuple(quanta),
                fitness_quantum,
                bytes([width]) + planes.tobytes(),
                bytes([f_width]) + f_planes[:, i].tobytes(),
            )
        )
    return out


def decode_raw(raw: RawReplay) -> tuple[np.ndarray, np.ndarray]:
    """The (F, n, 3) float32 frames and (F,) fitness values of a raw replay."""
    f, n = raw.n_frames, raw.n_nodes
    try:
        tracks = _unpack_ints(raw.positions, n * 3 * f).reshape(n, 3, f)
        q = np.cumsum(tracks, axis=2).transpose(2, 0, 1)
        frames = (q * np.array(raw.quanta)).astype(np.float32)
        fitness = np.cumsum(_unpack_ints(raw.fitness, f)) * float(raw.fitness_quantum)
    except (ValueError, IndexError) as err:
        raise CorruptData(f"stored frames are corrupt ({err})") from None
    return frames, fitness.astype(np.float64)


def last_frame(raw: RawReplay) -> np.ndarray:
    """The (n, 3) float32 last frame of a raw replay, bit for bit `decode_raw(raw)[0][-1]`: the sum of a
    track's deltas is its last value, so no frame before it is built."""
    f, n = raw.n_frames, raw.n_nodes
    try:
        last = _unpack_ints(raw.positions, n * 3 * f).reshape(n, 3, f).sum(axis=2)
    except (ValueError, IndexError) as err:
        raise CorruptData(f"stored frames are corrupt ({err})") from None
    return (last * np.array(raw.quanta)).astype(np.float32)


def compress_raw(raw: RawReplay) -> tuple[bytes, bytes]:
    """A raw replay as a (frames blob, fitness blob) pair, each compressed on its own."""
    compressor = zstandard.ZstdCompressor(level=_LEVEL)
    header = _HEADER.pack(_MAGIC, raw.n_frames, raw.n_nodes, *raw.quanta, raw.fitness_quantum)
    return header + compressor.compress(raw.positions), compressor.compress(raw.fitness)


def decompress_raw(frames_blob: bytes, fitness_blob: bytes) -> RawReplay:
    """Inverse of `compress_raw`; also reads replays stored with one quantum for all axes (EVF1).

    Raises:
        StorageError: the blobs are not a replay or are damaged.
    """
    try:
        magic = bytes(frames_blob[:4])
        if magic == _MAGIC:
            _, f, n, qx, qy, qz, f_quantum = _HEADER.unpack_from(frames_blob)
            quanta = (qx, qy, qz)
            size = _HEADER.size
        elif magic == _MAGIC_V1:
            _, f, n, quantum, f_quantum = _HEADER_V1.unpack_from(frames_blob)
            quanta = (quantum, quantum, quantum)
            size = _HEADER_V1.size
        else:
            raise ValueError("bad magic")
        decompressor = zstandard.ZstdDecompressor()
        positions = decompressor.decompress(frames_blob[size:])
        fitness = decompressor.decompress(fitness_blob)
        if not positions or not fitness:
            raise ValueError("empty body")
    except (ValueError, struct.error, zstandard.ZstdError) as err:
        raise CorruptData(f"stored frames are corrupt ({err})") from None
    return RawReplay(f, n, quanta, f_quantum, positions, fitness)


def encode_replay(frames: np.ndarray, fitness_over_time: np.ndarray) -> tuple[bytes, bytes]:
    """Encode (F, n, 3) float32 frames and (F,) fitness values; returns (frames blob, fitness blob)."""
    return compress_raw(raw_replays([(frames, fitness_over_time)])[0])


def decode_replay(frames_blob: bytes, fitness_blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of `encode_replay` (positions to within half a quantum of their axis)."""
    return decode_raw(decompress_raw(frames_blob, fitness_blob))
