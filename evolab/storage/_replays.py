"""The `replays` table: the replays a generation kept (its frame policy), one compressed block per generation.

Helpers take the cursor of the caller's transaction and never commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from evolab.storage._creatures import creature_number, ids_by_number
from evolab.storage.frame_codec import RawReplay, compress_raw, decode_raw, decompress_raw, last_frame
from evolab.storage.records import ReplayRow, StoredFrames
from evolab.storage.replay_block import BlockEntry, decode_block, encode_block


def insert_replays(
    cur: sqlite3.Cursor,
    pk: int,
    numbers: dict[str, int],
    replays: Sequence[tuple[int, str, str, RawReplay, Sequence[dict] | np.ndarray]],
) -> None:
    """Replays (generation, creature id, reason, raw replay, pellet events), one block per generation."""
    by_generation: dict[int, list[BlockEntry]] = {}
    for g, cid, reason, raw, pellets in replays:
        events = pellets if isinstance(pellets, np.ndarray) else tuple(pellets)
        by_generation.setdefault(g, []).append(BlockEntry(numbers[cid], reason, raw, events))
    cur.executemany(
        "INSERT INTO replays (run_pk, generation, data) VALUES (?, ?, ?)",
        [(pk, g, encode_block(entries)) for g, entries in by_generation.items()],
    )


def insert_replay_rows(cur: sqlite3.Cursor, pk: int, numbers: dict[str, int], rows: Sequence[ReplayRow]) -> None:
    """Replays as an export document carries them."""
    insert_replays(
        cur, pk, numbers,
        [(r.generation, r.creature_id, r.reason, decompress_raw(r.frames, r.fitness), r.pellets) for r in rows],
    )  # fmt: skip


def frames(cur: sqlite3.Cursor, pk: int, generation: int, creature_id: str) -> StoredFrames | None:
    number = creature_number(cur, pk, creature_id)
    if number is None:
        return None
    entries = _block(cur, pk, generation, number)
    return _stored_frames(entries[0]) if entries else None


def framed_creatures(cur: sqlite3.Cursor, pk: int, generation: int) -> dict[str, str]:
    entries = _block(cur, pk, generation)
    ids = ids_by_number(cur, pk, np.array([e.creature_no for e in entries]))
    return {ids[e.creature_no]: e.reason for e in entries}


def generation_frames(cur: sqlite3.Cursor, pk: int, generation: int) -> dict[str, StoredFrames]:
    entries = _block(cur, pk, generation)
    ids = ids_by_number(cur, pk, np.array([e.creature_no for e in entries]))
    return {ids[e.creature_no]: _stored_frames(e) for e in entries}


def last_poses(cur: sqlite3.Cursor, pk: int, generation: int) -> dict[str, np.ndarray]:
    entries = _block(cur, pk, generation, pellets=False)
    ids = ids_by_number(cur, pk, np.array([e.creature_no for e in entries]))
    return {ids[e.creature_no]: last_frame(e.raw) for e in entries}


def replay_rows(cur: sqlite3.Cursor, pk: int) -> list[ReplayRow]:
    """Every replay of a run, by generation and creature number."""
    blocks = cur.execute("SELECT generation, data FROM replays WHERE run_pk = ? ORDER BY generation", (pk,)).fetchall()
    entries = [(g, e) for g, data in blocks for e in sorted(decode_block(data), key=lambda e: e.creature_no)]
    ids = ids_by_number(cur, pk, np.array([e.creature_no for _, e in entries]))
    return [ReplayRow(g, ids[e.creature_no], e.reason, *compress_raw(e.raw), tuple(e.pellets)) for g, e in entries]


def _block(
    cur: sqlite3.Cursor, pk: int, generation: int, creature: int | None = None, *, pellets: bool = True
) -> list[BlockEntry]:
    row = cur.execute("SELECT data FROM replays WHERE run_pk = ? AND generation = ?", (pk, generation)).fetchone()
    return decode_block(row[0], creature, pellets=pellets) if row is not None else []


def _stored_frames(entry: BlockEntry) -> StoredFrames:
    positions, fitness = decode_raw(entry.raw)
    return StoredFrames(frames=positions, fitness_over_time=fitness, pellets=entry.pellets)
