"""A generation's stored replays in one compressed block (one database row per generation).

One zstd frame over all of a generation's replays compresses about 4 % better than a frame per replay,
and one row of ~70 kB fills its overflow pages where 25 rows of ~3 kB left a quarter of their pages empty.
Layout inside the frame: a table (one record per replay), the reasons, every replay's position planes,
every replay's fitness planes, then all pellet events as one JSON array.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import zstandard

from evolab.errors import StorageError
from evolab.storage.frame_codec import RawReplay

_MAGIC = b"EVB1"
_PREFIX = struct.Struct("<4sI")  # magic, replay count
_ENTRY = np.dtype(
    [
        ("creature", "<u4"),
        ("frames", "<u2"),
        ("nodes", "<u2"),
        ("quanta", "<f8", (3,)),
        ("fitness_quantum", "<f8"),
        ("reason", "u1"),  # bytes of its reason
        ("positions", "<u4"),  # bytes of its position planes
        ("fitness", "<u4"),  # bytes of its fitness planes
    ]
)
_LEVEL = 1


@dataclass(frozen=True, slots=True, eq=False)
class BlockEntry:
    """One stored replay: whose (the creature's number in its run), why it was kept, and its data."""

    creature_no: int
    reason: str
    raw: RawReplay
    pellets: tuple[dict, ...]


def encode_block(entries: Sequence[BlockEntry]) -> bytes:
    """A generation's replays in one blob."""
    table = np.zeros(len(entries), dtype=_ENTRY)
    reasons = [e.reason.encode() for e in entries]
    table["creature"] = [e.creature_no for e in entries]
    table["frames"] = [e.raw.n_frames for e in entries]
    table["nodes"] = [e.raw.n_nodes for e in entries]
    table["quanta"] = np.array([e.raw.quanta for e in entries]).reshape(-1, 3)
    table["fitness_quantum"] = [e.raw.fitness_quantum for e in entries]
    table["reason"] = [len(r) for r in reasons]
    table["positions"] = [len(e.raw.positions) for e in entries]
    table["fitness"] = [len(e.raw.fitness) for e in entries]
    pellets = json.dumps([list(e.pellets) for e in entries], separators=(",", ":")).encode()
    body = b"".join(
        [
            table.tobytes(),
            *reasons,
            *(e.raw.positions for e in entries),
            *(e.raw.fitness for e in entries),
            pellets,
        ]
    )
    return _PREFIX.pack(_MAGIC, len(entries)) + zstandard.ZstdCompressor(level=_LEVEL).compress(body)


def decode_block(blob: bytes) -> list[BlockEntry]:
    """Inverse of `encode_block`.

    Raises:
        StorageError: the blob is not a replay block or is damaged.
    """
    try:
        magic, count = _PREFIX.unpack_from(blob)
        if magic != _MAGIC:
            raise ValueError("bad magic")
        body = zstandard.ZstdDecompressor().decompress(blob[_PREFIX.size :])
        table = np.frombuffer(body, dtype=_ENTRY, count=count)
        offset = table.nbytes
        spans = []
        for column in ("reason", "positions", "fitness"):
            ends = offset + np.cumsum(table[column].astype(np.int64))
            spans.append(np.stack([ends - table[column], ends], axis=1))
            offset = int(ends[-1]) if count else offset
        pellets = json.loads(body[offset:]) if count else []
        if len(pellets) != count:
            raise ValueError("pellet events do not match the replays")
        out = []
        for i, row in enumerate(table):
            (r0, r1), (p0, p1), (f0, f1) = spans[0][i], spans[1][i], spans[2][i]
            raw = RawReplay(
                int(row["frames"]),
                int(row["nodes"]),
                tuple(float(q) for q in row["quanta"]),
                float(row["fitness_quantum"]),
                body[p0:p1],
                body[f0:f1],
            )
            out.append(BlockEntry(int(row["creature"]), body[r0:r1].decode(), raw, tuple(pellets[i])))
        return out
    except (ValueError, TypeError, UnicodeDecodeError, struct.error, zstandard.ZstdError) as err:
        raise StorageError(f"stored frames are corrupt ({err})") from None
