"""A generation's stored replays in one compressed block (one database row per generation).

One zstd frame over all of a generation's replays compresses about 4 % better than a frame per replay,
and one row of ~70 kB fills its overflow pages where 25 rows of ~3 kB left a quarter of their pages empty.
Layout inside the frame: a table (one record per replay), the reasons, every replay's position planes,
every replay's fitness planes, then all pellet events: as int32 rows (`pellet_dicts`) in an EVB2 block,
as one JSON array in an EVB1 block (written before, and for imported events of any other shape).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import zstandard

from evolab.errors import CorruptData
from evolab.storage.frame_codec import RawReplay

_MAGIC = b"EVB2"
_MAGIC_V1 = b"EVB1"
_PREFIX = struct.Struct("<4sI")  # magic, replay count
_ENTRY_V1 = np.dtype(
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
_ENTRY = np.dtype([*_ENTRY_V1.descr, ("pellets", "<u2")])  # EVB2: its number of pellet rows
_PELLET_ROW = 6
_LEVEL = 1


@dataclass(frozen=True, slots=True, eq=False)
class BlockEntry:
    """One stored replay: whose (the creature's number in its run), why it was kept, and its data."""

    creature_no: int
    reason: str
    raw: RawReplay
    pellets: tuple[dict, ...] | np.ndarray
    """Pellet events, or the (k, 6) int32 rows they are made from (`pellet_dicts`)."""


def pellet_dicts(rows: np.ndarray) -> tuple[dict, ...]:
    """Pellet events as JSON-safe dicts from int32 rows of x, y, z (millimetres), the frame it appears,
    the frame it is collected (-1: never) and its initial distance (millimetres)."""
    return tuple(
        {
            "position": [x / 1000, y / 1000, z / 1000],
            "spawned_frame": spawned,
            "collected_frame": None if collected < 0 else collected,
            "initial_distance": distance / 1000,
        }
        for x, y, z, spawned, collected, distance in rows.tolist()
    )


def encode_block(entries: Sequence[BlockEntry]) -> bytes:
    """A generation's replays in one blob (EVB2 when every entry's pellets are rows, else EVB1)."""
    if not all(isinstance(e.pellets, np.ndarray) for e in entries):
        return _encode_v1(entries)
    table = _table(entries, _ENTRY)
    rows = [np.asarray(e.pellets, dtype="<i4").reshape(-1, _PELLET_ROW) for e in entries]
    table["pellets"] = [len(r) for r in rows]
    pellets = np.concatenate(rows).tobytes() if rows else b""
    return _compress(_MAGIC, entries, table, pellets)


def _encode_v1(entries: Sequence[BlockEntry]) -> bytes:
    events = [e.pellets if not isinstance(e.pellets, np.ndarray) else pellet_dicts(e.pellets) for e in entries]
    pellets = json.dumps([list(p) for p in events], separators=(",", ":")).encode()
    return _compress(_MAGIC_V1, entries, _table(entries, _ENTRY_V1), pellets)


def _table(entries: Sequence[BlockEntry], dtype: np.dtype) -> np.ndarray:
    table = np.zeros(len(entries), dtype=dtype)
    table["creature"] = [e.creature_no for e in entries]
    table["frames"] = [e.raw.n_frames for e in entries]
    table["nodes"] = [e.raw.n_nodes for e in entries]
    table["quanta"] = np.array([e.raw.quanta for e in entries]).reshape(-1, 3)
    table["fitness_quantum"] = [e.raw.fitness_quantum for e in entries]
    table["reason"] = [len(e.reason.encode()) for e in entries]
    table["positions"] = [len(e.raw.positions) for e in entries]
    table["fitness"] = [len(e.raw.fitness) for e in entries]
    return table


def _compress(magic: bytes, entries: Sequence[BlockEntry], table: np.ndarray, pellets: bytes) -> bytes:
    body = b"".join(
        [
            table.tobytes(),
            *(e.reason.encode() for e in entries),
            *(e.raw.positions for e in entries),
            *(e.raw.fitness for e in entries),
            pellets,
        ]
    )
    return _PREFIX.pack(magic, len(entries)) + zstandard.ZstdCompressor(level=_LEVEL).compress(body)


def decode_block(blob: bytes, creature: int | None = None, *, pellets: bool = True) -> list[BlockEntry]:
    """Inverse of `encode_block`; with `creature`, only that creature's entry (none when it has none),
    and without `pellets`, entries with no pellet events (a read of poses does not build them).

    Raises:
        StorageError: the blob is not a replay block or is damaged.
    """
    try:
        magic, count = _PREFIX.unpack_from(blob)
        if magic not in (_MAGIC, _MAGIC_V1):
            raise ValueError("bad magic")
        body = zstandard.ZstdDecompressor().decompress(blob[_PREFIX.size :])
        table = np.frombuffer(body, dtype=_ENTRY if magic == _MAGIC else _ENTRY_V1, count=count)
        offset = table.nbytes
        spans = []
        for column in ("reason", "positions", "fitness"):
            ends = offset + np.cumsum(table[column].astype(np.int64))
            spans.append(np.stack([ends - table[column], ends], axis=1))
            offset = int(ends[-1]) if count else offset
        if magic == _MAGIC:
            rows = np.frombuffer(body, dtype="<i4", offset=offset).reshape(-1, _PELLET_ROW)
            if len(rows) != int(table["pellets"].sum()):
                raise ValueError("pellet rows do not match the replays")
            counts = table["pellets"].astype(np.int64)
            wanted = table["creature"] == creature if creature is not None else np.ones(count, dtype=bool)
            pieces = np.split(rows, np.cumsum(counts)[:-1]) if count else []
            wanted &= pellets
            events = [pellet_dicts(r) if w else () for r, w in zip(pieces, wanted.tolist(), strict=True)]
        else:
            events = json.loads(body[offset:]) if count else []
            if not pellets:
                events = [() for _ in events]
        if len(events) != count:
            raise ValueError("pellet events do not match the replays")
        out = []
        # the table's columns as Python lists: reading a structured array row by row costs a numpy
        # scalar per field (a generation's poses read 25 entries on every cold card request)
        columns = zip(
            table["creature"].tolist(),
            table["frames"].tolist(),
            table["nodes"].tolist(),
            table["quanta"].tolist(),
            table["fitness_quantum"].tolist(),
            *(span.tolist() for span in spans),
            events,
            strict=True,
        )
        for number, frames, nodes, quanta, f_quantum, (r0, r1), (p0, p1), (f0, f1), own in columns:
            if creature is not None and number != creature:
                continue
            raw = RawReplay(frames, nodes, tuple(quanta), f_quantum, body[p0:p1], body[f0:f1])
            out.append(BlockEntry(number, body[r0:r1].decode(), raw, tuple(own)))
        return out
    except (ValueError, TypeError, UnicodeDecodeError, struct.error, zstandard.ZstdError) as err:
        raise CorruptData(f"stored frames are corrupt ({err})") from None
