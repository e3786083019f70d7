"""Compact replays: positions quantised to 1 cm, delta-coded over time per node and axis, zigzag
encoded, split into byte planes, zstd. About 2 KB for a 5-node creature over 10 s (15 FPS).
"""

from __future__ import annotations

import struct

import numpy as np
import zstandard

from evolab.errors import StorageError

POSITION_QUANTUM = 0.01
"""Units per stored step of a node coordinate: 1 cm, a tenth of the smallest node radius."""
FITNESS_QUANTUM = 0.001
_MAGIC = b"EVF1"
_HEADER = struct.Struct("<4sHHdd")  # magic, frames, nodes, position quantum, fitness quantum
_LEVEL = 6


def _zigzag(values: np.ndarray) -> np.ndarray:
    return ((values << 1) ^ (values >> 63)).astype(np.uint64)


def _unzigzag(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.int64)
    return (values >> 1) ^ -(values & 1)


def _pack_ints(values: np.ndarray) -> bytes:
    """Zigzag, then byte planes (all low bytes, then the next...) so zstd sees runs of zeros."""
    z = _zigzag(values)
    width = max(1, (int(z.max()).bit_length() + 7) // 8) if z.size else 1
    planes = np.stack([(z >> np.uint64(8 * k)) & np.uint64(255) for k in range(width)]).astype(np.uint8)
    return bytes([width]) + planes.tobytes()


def _unpack_ints(data: bytes, count: int) -> np.ndarray:
    width = data[0]
    planes = np.frombuffer(data, dtype=np.uint8, offset=1).reshape(width, count).astype(np.uint64)
    z = np.zeros(count, dtype=np.uint64)
    for k in range(width):
        z |= planes[k] << np.uint64(8 * k)
    return _unzigzag(z)


def encode_replay(frames: np.ndarray, fitness_over_time: np.ndarray) -> tuple[bytes, bytes]:
    """Encode (F, n, 3) float32 frames and (F,) fitness values; returns (frames blob, fitness blob)."""
    f, n, _ = frames.shape
    q = np.round(np.asarray(frames, dtype=np.float64) / POSITION_QUANTUM).astype(np.int64)
    node_major = np.ascontiguousarray(q.transpose(1, 2, 0)).reshape(n * 3, f)
    # each node-axis track is delta-coded on its own, starting from its first absolute value
    body = _pack_ints(np.diff(node_major, axis=1, prepend=0).ravel())
    header = _HEADER.pack(_MAGIC, f, n, POSITION_QUANTUM, FITNESS_QUANTUM)
    frames_blob = header + zstandard.ZstdCompressor(level=_LEVEL).compress(body)
    fq = np.round(np.asarray(fitness_over_time, dtype=np.float64) / FITNESS_QUANTUM).astype(np.int64)
    fitness_blob = zstandard.ZstdCompressor(level=_LEVEL).compress(_pack_ints(np.diff(fq, prepend=0)))
    return frames_blob, fitness_blob


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
    except (ValueError, struct.error, zstandard.ZstdError) as err:
        raise StorageError(f"stored frames are corrupt ({err})") from None
    return frames, fitness.astype(np.float64)
