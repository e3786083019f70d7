"""The `checkpoints` table: the population about to be evaluated and the GA generator state, so a run
continues exactly where it stopped.

Helpers take the cursor of the caller's transaction and never commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import numpy as np
import zstandard

from evolab.errors import CorruptData
from evolab.genome.batch import GenomeBatch
from evolab.genome.model import Genome
from evolab.storage._creatures import GenomeArchive, ids_by_number
from evolab.storage.records import Checkpoint, CheckpointRow

_SELECT = "SELECT generation, population, rng_state FROM checkpoints WHERE run_pk = ?"


def write_checkpoint(
    cur: sqlite3.Cursor, archive: GenomeArchive, pk: int, generation: int, population: Sequence[Genome], rng_state: dict
) -> None:
    """The checkpoint of `generation` for a population whose genomes are stored."""
    numbers = archive.numbers(cur, pk)
    batch = GenomeBatch.of(population)
    members = np.array([[numbers[cid] for cid in batch.ids], batch.survival_streaks], dtype=np.int64).T.reshape(-1, 2)
    _insert(cur, pk, generation, members, rng_state)


def insert_checkpoint_rows(
    cur: sqlite3.Cursor, pk: int, numbers: dict[str, int], rows: Sequence[CheckpointRow]
) -> None:
    """Checkpoints as an export document carries them."""
    for row in rows:
        members = np.array([(numbers[cid], streak) for cid, streak in row.members], dtype=np.int64).reshape(-1, 2)
        _insert(cur, pk, row.generation, members, row.rng_state)


def read_checkpoint(
    cur: sqlite3.Cursor, archive: GenomeArchive, pk: int, run_id: str, generation: int | None
) -> Checkpoint | None:
    """The checkpoint for `generation` (default: the latest one), or None."""
    if generation is None:
        row = cur.execute(f"{_SELECT} ORDER BY generation DESC LIMIT 1", (pk,)).fetchone()
    else:
        row = cur.execute(f"{_SELECT} AND generation = ?", (pk, generation)).fetchone()
    if row is None:
        return None
    generation, population, rng_state = row
    members = _decode_members(population)
    ids = ids_by_number(cur, pk, members[:, 0])
    genomes = archive.genomes(cur, pk, run_id, [ids[int(no)] for no in members[:, 0]])
    return Checkpoint(
        generation=generation,
        population=tuple(g.replace(survival_streak=int(s)) for g, s in zip(genomes, members[:, 1], strict=True)),
        rng_state=json.loads(rng_state),
    )


def checkpoint_rows(cur: sqlite3.Cursor, pk: int) -> list[CheckpointRow]:
    """Every checkpoint of a run without decoding genomes, by generation."""
    rows = cur.execute(f"{_SELECT} ORDER BY generation", (pk,)).fetchall()
    decoded = [(generation, _decode_members(population), rng_state) for generation, population, rng_state in rows]
    numbers = np.concatenate([members[:, 0] for _, members, _ in decoded]) if decoded else np.zeros(0)
    ids = ids_by_number(cur, pk, numbers)
    return [
        CheckpointRow(generation, tuple((ids[int(no)], int(s)) for no, s in members), json.loads(rng_state))
        for generation, members, rng_state in decoded
    ]


def _insert(cur: sqlite3.Cursor, pk: int, generation: int, members: np.ndarray, rng_state: dict) -> None:
    """The checkpoint of `generation`: (k, 2) creature numbers with survival streaks, and the GA state."""
    cur.execute(
        "INSERT OR REPLACE INTO checkpoints (run_pk, generation, population, rng_state) VALUES (?, ?, ?, ?)",
        (pk, generation, _encode_members(members), json.dumps(rng_state)),
    )


def _encode_members(members: np.ndarray) -> bytes:
    """(k, 2) creature numbers and survival streaks as compact bytes."""
    return zstandard.ZstdCompressor(level=3).compress(members.astype("<i4").tobytes())


def _decode_members(blob: bytes) -> np.ndarray:
    try:
        raw = zstandard.ZstdDecompressor().decompress(blob)
    except zstandard.ZstdError as err:
        raise CorruptData(f"a stored checkpoint is corrupt ({err})") from None
    return np.frombuffer(raw, dtype="<i4").reshape(-1, 2).astype(np.int64)
