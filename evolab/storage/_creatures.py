"""The `creatures` and `genome_batches` tables: where each creature came from, and its genome, stored once
in the batch of the generation it was born in (each batch compressed against the one before it).

Helpers take the cursor of the caller's transaction and never commit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from itertools import repeat

import numpy as np

from evolab.errors import CorruptData, CreatureNotFound, InvalidInput
from evolab.genome.batch import GenomeBatch
from evolab.genome.model import Genome
from evolab.storage.creature_keys import creature_key
from evolab.storage.genome_codec import (
    batch_content,
    batch_depth,
    batch_from_content,
    compress_batch,
    decode_batch,
    decompress_batch,
)
from evolab.storage.records import CreatureInfo

INFO_COLUMNS = (
    "creature_id(c.id), c.born, creature_id(c.parent1), creature_id(c.parent2), c.lineage, c.n_nodes, c.n_muscles"
)
GENOME_ROW = "creature_id(c.id), creature_id(c.parent1), creature_id(c.parent2), c.born, c.slot"
"""The columns of `creatures c` that decoding a creature's genome needs (`GenomeArchive.batch_of_rows`)."""
_BATCH_CACHE_SIZE = 64  # decompressed genome batches kept (about 70 kB each at population 100)
_CHUNK = 500  # ids per statement: far below SQLite's bound-parameter limit


class BatchCache:
    """Recently decompressed genome batches by (run pk, batch), each with the blob it came from (a hit
    must be the same blob: a truncated run writes its batches again). A batch is compressed against the
    one before it, so reading one may need its predecessors.

    Thread-safe, so the read connections of a server's request threads can share one: each thread's own
    cache saw a sixteenth of the requests, and decompressed the same chains again.
    """

    def __init__(self, size: int = _BATCH_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[int, int], tuple[bytes, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, pk: int, batch: int, blob: bytes) -> bytes | None:
        """The content of the batch decompressed from `blob`, if kept."""
        with self._lock:
            cached = self._entries.get((pk, batch))
            if cached is None or cached[0] != blob:
                return None
            self._entries.move_to_end((pk, batch))
            return cached[1]

    def put(self, pk: int, batch: int, blob: bytes, content: bytes) -> None:
        with self._lock:
            self._entries[(pk, batch)] = (bytes(blob), content)
            self._entries.move_to_end((pk, batch))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class GenomeArchive:
    """Writes and reads creatures and their genome batches, with what a Store remembers between calls:
    each run's creature numbers (by id) and recently decompressed batches (`cache`, its own unless given).

    The caller holds the Store's lock for every call (a transaction does).
    """

    def __init__(self, cache: BatchCache | None = None) -> None:
        self._numbers: dict[int, dict[str, int]] = {}
        self._batches = cache if cache is not None else BatchCache()

    def forget_numbers(self, pk: int | None = None) -> None:
        """Drop remembered creature numbers (of one run, or all): after a rollback, a delete or a truncate,
        or when another connection has written."""
        if pk is None:
            self._numbers.clear()
        else:
            self._numbers.pop(pk, None)

    def numbers(self, cur: sqlite3.Cursor, pk: int) -> dict[str, int]:
        """{creature id: creature number} of every creature of the run."""
        numbers = self._numbers.get(pk)
        if numbers is None:
            numbers = dict(cur.execute("SELECT creature_id(id), no FROM creatures WHERE run_pk = ?", (pk,)).fetchall())
            self._numbers[pk] = numbers
        return numbers

    def add(self, cur: sqlite3.Cursor, pk: int, born: int, genomes: Sequence[Genome]) -> None:
        """Store the genomes not stored yet as one batch (batch number = `born`), and which of them are
        flagged out of evolab's ranges (`Genome.out_of_range`, imported genomes only)."""
        numbers = self.numbers(cur, pk)
        flagged = {g.id: g.out_of_range for g in genomes if g.out_of_range is not None}
        batch = GenomeBatch.of(genomes, out_of_range_ok=bool(flagged))
        new = [i for i, cid in enumerate(batch.ids) if cid not in numbers]
        if not new:
            return
        if len(new) < len(batch):
            batch = batch.take(new)
        ids = batch.ids
        if len(set(ids)) != len(ids):
            raise InvalidInput("creature ids must be unique within a run")
        parents = batch.parent_ids
        if any(len(p) > 2 for p in parents):
            raise InvalidInput("a creature has at most two parents")
        first = len(numbers)
        content = batch_content(batch)
        previous = cur.execute(
            "SELECT batch, data FROM genome_batches WHERE run_pk = ? AND batch < ? ORDER BY batch DESC LIMIT 1",
            (pk, born),
        ).fetchone()
        chain = None
        if previous is not None and (depth := batch_depth(previous[1])) is not None:
            chain = (depth, self._content(cur, pk, previous[0], previous[1]))
        blob = compress_batch(content, chain)
        cur.execute("INSERT INTO genome_batches (run_pk, batch, data) VALUES (?, ?, ?)", (pk, born, blob))
        self._batches.put(pk, born, blob, content)
        count = len(ids)
        # column by column (one pass per column is cheaper than a tuple per creature built field by field)
        rows = zip(
            repeat(pk),
            range(first, first + count),
            map(creature_key, ids),
            repeat(born),
            [creature_key(p[0]) if p else None for p in parents],
            [creature_key(p[1]) if len(p) > 1 else None for p in parents],
            batch.lineage.tolist(),
            batch.n_nodes.tolist(),
            batch.n_muscles.tolist(),
            range(count),
        )
        cur.executemany(
            "INSERT INTO creatures (run_pk, no, id, born, parent1, parent2, lineage, n_nodes, n_muscles, slot) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        numbers.update(zip(ids, range(first, first + count), strict=True))
        if flagged:
            new_ids = set(ids)
            cur.executemany(
                "INSERT INTO flagged_genomes (run_pk, creature_no, problem) VALUES (?, ?, ?)",
                [(pk, numbers[cid], problem) for cid, problem in flagged.items() if cid in new_ids],
            )

    def genomes(self, cur: sqlite3.Cursor, pk: int, run_id: str, creature_ids: Sequence[str]) -> list[Genome]:
        """The stored genomes of these creatures, in the order asked (birth state).

        Raises:
            CreatureNotFound: a creature is not in the run.
        """
        batch, flags = self._decode(cur, pk, run_id, creature_ids)
        genomes = batch.genomes()
        return [g if flag is None else g.replace(out_of_range=flag) for g, flag in zip(genomes, flags, strict=True)]

    def genome_batch(self, cur: sqlite3.Cursor, pk: int, run_id: str, creature_ids: Sequence[str]) -> GenomeBatch:
        """The stored genes of these creatures as one batch, in the order asked (birth state; without the
        out-of-range flags of imported genomes, which only `genomes` carries).

        Raises:
            CreatureNotFound: a creature is not in the run.
        """
        return self._decode(cur, pk, run_id, creature_ids)[0]

    def _decode(
        self, cur: sqlite3.Cursor, pk: int, run_id: str, creature_ids: Sequence[str]
    ) -> tuple[GenomeBatch, list[str | None]]:
        """The genes of these creatures, in the order asked, and each one's out-of-range flag (or None)."""
        if not creature_ids:
            return GenomeBatch.of([]), []
        rows = rows_for_ids(
            cur,
            # flagged genomes (imported runs only) come along: one primary-key probe per creature
            f"SELECT {GENOME_ROW}, f.problem "
            "FROM wanted CROSS JOIN creatures c "
            "LEFT JOIN flagged_genomes f ON f.run_pk = c.run_pk AND f.creature_no = c.no "
            "WHERE c.run_pk = ? AND c.id = wanted.id",
            pk,
            creature_ids,
        )
        found = {r[0]: r for r in rows}
        missing = [c for c in creature_ids if c not in found]
        if missing:
            raise CreatureNotFound(f"unknown creature {missing[0]!r} in run {run_id!r}")
        wanted = [found[c] for c in creature_ids]
        return self.batch_of_rows(cur, pk, wanted), [r[5] for r in wanted]

    def batch_of_rows(self, cur: sqlite3.Cursor, pk: int, rows: Sequence[tuple]) -> GenomeBatch:
        """The genes of the creatures of these `GENOME_ROW`s (id, parent 1, parent 2, born, slot), in their
        order: each stored batch they were born in decoded once."""
        by_batch: dict[int, dict[str, tuple]] = {}
        for row in rows:
            by_batch.setdefault(row[3], {})[row[0]] = row
        parts, order = [], []
        for batch, members in by_batch.items():
            blob = cur.execute("SELECT data FROM genome_batches WHERE run_pk = ? AND batch = ?", (pk, batch)).fetchone()
            if blob is None:
                raise CorruptData(f"stored genomes are corrupt (batch {batch} is missing)")
            blob = blob[0]
            identities = [(m[0], tuple(p for p in (m[1], m[2]) if p is not None)) for m in members.values()]
            slots = [m[4] for m in members.values()]
            if batch_depth(blob) is None:  # schema 1's format
                parts.append(GenomeBatch.of(decode_batch(blob, slots, identities), out_of_range_ok=True))
            else:
                parts.append(batch_from_content(self._content(cur, pk, batch, blob), slots, identities))
            order += members
        joined = GenomeBatch.concat(parts)
        position = {cid: i for i, cid in enumerate(order)}
        wanted = [position[row[0]] for row in rows]
        return joined if wanted == list(range(len(joined))) else joined.take(wanted)

    def _content(self, cur: sqlite3.Cursor, pk: int, batch: int, blob: bytes) -> bytes:
        """The decompressed content of a stored genome batch (EVG3), decompressing the batches before it
        that its chain needs (cached)."""
        cached = self._batches.get(pk, batch, blob)
        if cached is not None:
            return cached
        depth = batch_depth(blob) or 0
        chain = [(batch, bytes(blob))]
        if depth > 0:
            rows = cur.execute(
                "SELECT batch, data FROM genome_batches WHERE run_pk = ? AND batch < ? ORDER BY batch DESC LIMIT ?",
                (pk, batch, depth),
            ).fetchall()
            if len(rows) != depth or [batch_depth(b) for _, b in rows] != list(range(depth - 1, -1, -1)):
                raise CorruptData(f"stored genomes are corrupt (batch {batch} misses the batches before it)")
            chain += [(b, bytes(data)) for b, data in rows]
        start, content = len(chain) - 1, None  # decompress from the newest batch already cached
        for k, (b, data) in enumerate(chain[1:], start=1):
            cached = self._batches.get(pk, b, data)
            if cached is not None:
                start, content = k - 1, cached
                break
        for b, data in reversed(chain[: start + 1]):
            content = decompress_batch(data, content)
            self._batches.put(pk, b, data, content)
        return content


def ids_by_number(cur: sqlite3.Cursor, pk: int, numbers: np.ndarray) -> dict[int, str]:
    """{creature number: id} for these numbers only (a long run holds many more creatures)."""
    wanted = sorted({int(n) for n in numbers})
    ids: dict[int, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        placeholders = ",".join("?" * len(chunk))
        ids.update(
            cur.execute(
                f"SELECT no, creature_id(id) FROM creatures WHERE run_pk = ? AND no IN ({placeholders})",
                (pk, *chunk),
            ).fetchall()
        )
    return ids


def rows_for_ids(cur: sqlite3.Cursor, sql: str, pk: int, creature_ids: Sequence[str]) -> list[tuple]:
    """`sql` over a table `wanted(id)` of the creature ids (and `?` = the run's pk), in chunks under
    SQLite's parameter limit.

    The ids drive the loop (CROSS JOIN keeps that order): with `id IN (...)` the planner scans the
    run's whole creature table by primary key instead of looking each id up, 4 ms for 100 ids in a
    1000-generation run.
    """
    ids = list(dict.fromkeys(creature_ids))
    rows: list[tuple] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        values = ", ".join(["(?)"] * len(chunk))
        keys = [creature_key(c) for c in chunk]
        rows += cur.execute(f"WITH wanted(id) AS (VALUES {values}) {sql}", (*keys, pk)).fetchall()
    return rows


def creature(cur: sqlite3.Cursor, pk: int, run_id: str, creature_id: str) -> CreatureInfo:
    row = cur.execute(
        f"SELECT {INFO_COLUMNS} FROM creatures c WHERE c.run_pk = ? AND c.id = ?", (pk, creature_key(creature_id))
    ).fetchone()
    if row is None:
        raise CreatureNotFound(f"unknown creature {creature_id!r} in run {run_id!r}")
    return creature_info(row)


def creature_number(cur: sqlite3.Cursor, pk: int, creature_id: str) -> int | None:
    row = cur.execute(
        "SELECT no FROM creatures WHERE run_pk = ? AND id = ?", (pk, creature_key(creature_id))
    ).fetchone()
    return None if row is None else row[0]


def ancestors(cur: sqlite3.Cursor, pk: int, creature_id: str, limit: int) -> list[CreatureInfo]:
    """The creature's ancestors back to generation 0, nearest first (each once; at most `limit`)."""
    rows = cur.execute(
        """
        WITH RECURSIVE lineage(id, depth) AS (
            SELECT parent1, 1 FROM creatures WHERE run_pk = :pk AND id = :id AND parent1 IS NOT NULL
            UNION SELECT parent2, 1 FROM creatures WHERE run_pk = :pk AND id = :id AND parent2 IS NOT NULL
            UNION SELECT c.parent1, l.depth + 1 FROM creatures c JOIN lineage l
                ON c.run_pk = :pk AND c.id = l.id WHERE c.parent1 IS NOT NULL
            UNION SELECT c.parent2, l.depth + 1 FROM creatures c JOIN lineage l
                ON c.run_pk = :pk AND c.id = l.id WHERE c.parent2 IS NOT NULL
        )
        SELECT creature_id(c.id), c.born, creature_id(c.parent1), creature_id(c.parent2), c.lineage,
            c.n_nodes, c.n_muscles, min(l.depth) AS d
        FROM lineage l JOIN creatures c ON c.run_pk = :pk AND c.id = l.id
        GROUP BY c.id ORDER BY d, c.born DESC, c.no LIMIT :limit
        """,
        {"pk": pk, "id": creature_key(creature_id), "limit": limit},
    ).fetchall()
    return [creature_info(r) for r in rows]


def creatures(cur: sqlite3.Cursor, pk: int, creature_ids: Sequence[str]) -> dict[str, CreatureInfo]:
    rows = rows_for_ids(
        cur, f"SELECT {INFO_COLUMNS} FROM wanted CROSS JOIN creatures c WHERE c.run_pk = ? AND c.id = wanted.id", pk,
        creature_ids,
    )  # fmt: skip
    return {r[0]: creature_info(r) for r in rows}


def all_creatures(cur: sqlite3.Cursor, pk: int) -> list[CreatureInfo]:
    rows = cur.execute(f"SELECT {INFO_COLUMNS} FROM creatures c WHERE c.run_pk = ? ORDER BY c.no", (pk,)).fetchall()
    return [creature_info(r) for r in rows]


def creature_info(row: tuple) -> CreatureInfo:
    return CreatureInfo(
        creature_id=row[0],
        born=row[1],
        parent_ids=tuple(p for p in (row[2], row[3]) if p is not None),
        lineage_generation=row[4],
        n_nodes=row[5],
        n_muscles=row[6],
    )
