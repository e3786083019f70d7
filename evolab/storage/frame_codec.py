"""Compact replays: positions quantised to 2 cm, delta-coded over time per node and axis, zigzag
encoded, split into byte planes, zstd. About 2 KB for a 5-node creature over 10 s (15 FPS).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import zstandard

from evolab.errors import StorageError

POSITION_QUANTUM = 0.02
"""Units per stored step of a node coordinate: 2 cm, under a pixel in the replay view."""
FITNESS_QUANTUM = 0.01
_MAGIC = b"EVF1"
_HEADER = struct.Struct("<4sHHdd")  # magic, frames, nodes, position quantum, fitness quantum
_LEVEL = 1  # replays are high-entropy: more effort saves about 1 %


def _zigzag(values: np.ndarray) -> np.ndarray:
    return ((values << 1) ^ (values >> 63)).astype(np.uint64)


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


def _planes(z: np.ndarray, width: int) -> np.ndarray:
    """(width, ...) uint8 byte planes of unsigned integers, low byte first."""
    return np.stack([((z >> np.uint64(8 * k)) & np.uint64(255)).astype(np.uint8) for k in range(width)])


def _width(z: np.ndarray) -> int:
    return max(1, (int(z.max()).bit_length() + 7) // 8) if z.size else 1


def encode_replays(replays: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[tuple[bytes, bytes]]:
    """`encode_replay` for many creatures at once (same frame count): the arithmetic runs once on all
    of them; only the compression is per creature."""
    if not replays:
        return []
    n_frames = replays[0][0].shape[0]
    nodes = [f.shape[1] for f, _ in replays]
    # node-major tracks of every creature stacked: (sum of 3 n, F)
    tracks = np.concatenate(
        [np.asarray(f, dtype=np.float64).transpose(1, 2, 0).reshape(-1, n_frames) for f, _ in replays]
    )
    q = np.round(tracks / POSITION_QUANTUM).astype(np.int64)
    z = _zigzag(np.diff(q, axis=1, prepend=0))
    width = _width(z)
    planes = _planes(z, width)
    fitness = np.round(np.stack([np.asarray(f, dtype=np.float64) for _, f in replays]) / FITNESS_QUANTUM)
    fz = _zigzag(np.diff(fitness.astype(np.int64), axis=1, prepend=0))
    f_width = _width(fz)
    f_planes = _planes(fz, f_width)
    compressor = zstandard.ZstdCompressor(level=_LEVEL)
    out = []
    row = 0
    for i, n in enumerate(nodes):
        header = _HEADER.pack(_MAGIC, n_frames, n, POSITION_QUANTUM, FITNESS_QUANTUM)
        body = bytes([width]) + planes[:, row : row + 3 * n].tobytes()
        row += 3 * n
        fitness_body = bytes([f_width]) + f_planes[:, i].tobytes()
        out.append((header + compressor.compress(body), compressor.compress(fitness_body)))
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
