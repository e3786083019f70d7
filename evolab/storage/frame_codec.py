"""Compact replays: positions quantised to 2 cm, delta-coded over time per node and axis, zigzag
encoded, split into byte planes, zstd. About 2 KB for a 5-node creature over 10 s (15 FPS).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numba as nb
import numpy as np
import zstandard

from evolab.errors import StorageError

POSITION_QUANTUM = 0.02
"""Units per stored step of a node coordinate: 2 cm, under a pixel in the replay view."""
FITNESS_QUANTUM = 0.01
_MAGIC = b"EVF1"
_HEADER = struct.Struct("<4sHHdd")  # magic, frames, nodes, position quantum, fitness quantum
_LEVEL = 1  # replays are high-entropy: more effort saves about 1 %


def _unzigzag(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.int64)
    return (values >> 1) ^ -(values & 1)


def _unpack_ints(data: bytes, count: int) -> np.ndarray:
    width = data[0]
    planes = np.frombuffer(data, dtype=np.uint8, offset=1).reshape(width, count).astype(np.uint64)
    z = np.zeros(count, dtype=np.uint64)
    for k in range(width):
        z |= planes[k] << np.uint64(8 * k)
    return _unzigzag(z)


def encode_replay(frames: np.ndarray, fitness_over_time: np.ndarray) -> tuple[bytes, bytes]:
    """Encode (F, n, 3) float32 frames and (F,) fitness values; returns (frames blob, fitness blob)."""
    return encode_replays([(frames, fitness_over_time)])[0]


@nb.njit(cache=True)
def _delta_planes(tracks, quantum):
    """Byte planes (width, rows, F) of the zigzagged first differences of tracks (rows, F) on the
    quantum grid, and their width in bytes (1 to 8); one pass instead of a dozen numpy temporaries."""
    rows, count = tracks.shape
    z = np.empty((rows, count), dtype=np.uint64)
    largest = np.uint64(0)
    for r in range(rows):
        previous = np.int64(0)
        for k in range(count):
            value = np.int64(np.round(tracks[r, k] / quantum))
            delta = value - previous
            previous = value
            zig = np.uint64((delta << 1) ^ (delta >> 63))
            z[r, k] = zig
            largest = max(largest, zig)
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


def encode_replays(replays: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[tuple[bytes, bytes]]:
    """`encode_replay` for many creatures at once (same frame count); only the compression is per
    creature."""
    if not replays:
        return []
    compressor = zstandard.ZstdCompressor(level=_LEVEL)
    fitness = np.stack([np.asarray(f, dtype=np.float64) for _, f in replays])
    f_planes, f_width = _delta_planes(fitness, FITNESS_QUANTUM)
    out = []
    for i, (frames, _) in enumerate(replays):
        n_frames, n, _ = frames.shape
        tracks = np.ascontiguousarray(np.asarray(frames, dtype=np.float64).transpose(1, 2, 0)).reshape(n * 3, n_frames)
        planes, width = _delta_planes(tracks, POSITION_QUANTUM)
        header = _HEADER.pack(_MAGIC, n_frames, n, POSITION_QUANTUM, FITNESS_QUANTUM)
        fitness_body = bytes([f_width]) + f_planes[:, i].tobytes()
        out.append((header + compressor.compress(bytes([width]) + planes.tobytes()), compressor.compress(fitness_body)))
    return out


def decode_replay(frames_blob: bytes, fitness_blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of `encode_replay` (positions to within half a quantum)."""
    try:
        magic, f, n, quantum, f_quantum = _HEADER.unpack_from(frames_blob)
        if magic != _MAGIC:
            raise ValueError("bad magic")
        body = zstandard.ZstdDecompressor().decompress(frames_blob[_HEADER.size :])
        tracks = _unpack_ints(body, n * 3 * f).reshape(n * 3, f)
        q = np.cumsum(tracks, axis=1).reshape(n, 3, f).transpose(2, 0, 1)
        frames = (q * float(quantum)).astype(np.float32)
        fitness_q = np.cumsum(_unpack_ints(zstandard.ZstdDecompressor().decompress(fitness_blob), f))
        fitness = fitness_q * float(f_quantum)
    except (ValueError, IndexError, struct.error, zstandard.ZstdError) as err:
        raise StorageError(f"stored frames are corrupt ({err})") from None
    return frames, fitness.astype(np.float64)
