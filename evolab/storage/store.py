"""`Store`: the one class that owns the SQLite connection and all SQL (DESIGN §7).

Guarantees:
- One transaction per generation (`save_generation`): a generation, its results, frames, new genomes,
  the run's bookkeeping and the checkpoint of the next generation are all stored, or none of them.
- Writers take the write lock up front (BEGIN IMMEDIATE) and wait up to `timeout` seconds for it, so
  several processes can write one file; readers never block writers (WAL).
- Reads return frozen snapshots (`evolab.storage.records`), never rows.
- The schema is versioned (`PRAGMA user_version`) and migrated forward on open; a file that is not an
  evolab database, or one from a newer evolab, is refused with a `StorageError` and left untouched.
- Every statement is parameterised.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import zstandard

from evolab.config import EvolutionConfig
from evolab.errors import EvolabError, StorageError
from evolab.genome.model import Genome
from evolab.storage.creature_keys import creature_id, creature_key
from evolab.storage.frame_codec import RawReplay, compress_raw, decode_raw, decompress_raw, raw_replays
from evolab.storage.genome_codec import (
    batch_content,
    batch_depth,
    compress_batch,
    decode_batch,
    decompress_batch,
    genomes_from_content,
)
from evolab.storage.migrations import APPLICATION_ID, LATEST_VERSION, MIGRATIONS
from evolab.storage.records import (
    RUN_STATUSES,
    Checkpoint,
    CreatureInfo,
    CreatureResult,
    GenerationRecord,
    GenerationStats,
    RankedResults,
    RunInfo,
    StoredFrames,
)
from evolab.storage.replay_block import BlockEntry, decode_block, encode_block

_RUN_COLUMNS = (
    "pk, id, name, config, seed, status, created_at, updated_at, generation_count, best_fitness, best_creature, "
    "best_generation, longest_creature, longest_streak, longest_generation, parent_run_id, fork_generation, "
    "evolab_version, writer_pid, best_pellets"
)
_STATS_COLUMNS = (
    "generation, best, average, worst, median, p10, p25, p75, p90, disqualified, pellets, node_counts, "
    "avg_nodes, avg_muscles, sim_seed, sim_seconds, host_seconds, benchmark_fitness, benchmark_pellets, "
    "benchmark_creature"
)
_STATS_SELECT = _STATS_COLUMNS.replace("benchmark_creature", "creature_id(benchmark_creature)")
_INFO_COLUMNS = (
    "creature_id(c.id), c.born, creature_id(c.parent1), creature_id(c.parent2), c.lineage, c.n_nodes, c.n_muscles"
)
_BATCH_CACHE_SIZE = 64  # decompressed genome batches kept (about 70 kB each at population 100)
_RESULT_COLUMNS = (
    "creature_id(c.id), r.generation, r.rank, r.fitness, r.pellets, r.disqualified, r.survival_streak, "
    "r.distance, r.displacement, r.fitness_std, r.trial_pellets"
)


def new_run_id(now: float | None = None, entropy: int | None = None) -> str:
    """A unique, sortable run id: run_YYYYMMDD_HHMMSS_xxxx (xxxx: 16 random bits in hex)."""
    stamp = datetime.fromtimestamp(now if now is not None else time.time(), tz=UTC).strftime("%Y%m%d_%H%M%S")
    tail = entropy if entropy is not None else int.from_bytes(os.urandom(2), "little")
    return f"run_{stamp}_{tail & 0xFFFF:04x}"


class Store:
    """An evolab database file.

    A Store may be shared by threads: they take turns on its one connection. Threads that want to read at
    the same time should each open their own Store.

    Args:
        path: the SQLite file; created (with the latest schema) when it does not exist.
        timeout: seconds a writer waits for another writer's transaction to finish.

    Raises:
        StorageError: the file is not an evolab database, is from a newer evolab, or cannot be opened.
    """

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        # One thread at a time on the connection and the caches. Sharing a connection between threads
        # without it deadlocks: a query calling creature_id() waits for the GIL while holding SQLite's
        # connection mutex, and another thread holding the GIL waits for that mutex (in sqlite3's binding
        # of parameters, which keeps the GIL). Waiting on this lock releases the GIL.
        self._lock = threading.RLock()
        _refuse_foreign_file(self.path)
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.create_function("creature_id", 1, creature_id, deterministic=True)
            self._conn.create_function("creature_key", 1, creature_key, deterministic=True)
            self._conn.execute("PRAGMA foreign_keys = ON")
            # new files only: rows are either small or whole-generation blocks (tens of kB), and 4 KiB pages
            # leave the least slack at the end of a block's overflow chain (E1: 108 kB per generation
            # against 111 with 8 KiB and 115 with 16 KiB pages, at the same write time)
            self._conn.execute("PRAGMA page_size = 4096")
            self._migrate()
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, StorageError) as err:
            self.close()
            if isinstance(err, StorageError):
                raise
            if "not a database" in str(err):  # SQLITE_NOTADB: SQLite read the header, wrote nothing
                raise StorageError(f"{self.path}: not an evolab database (not an SQLite file)") from None
            raise StorageError(f"{self.path}: cannot open the database ({err})") from None
        self._depth = 0
        self._creature_numbers: dict[int, dict[str, int]] = {}
        # decompressed genome batches by (run pk, batch), each with the blob it came from: a batch is
        # compressed against the one before it, so reading one may need its predecessors
        self._batch_cache: OrderedDict[tuple[int, int], tuple[bytes, bytes]] = OrderedDict()
        self._data_version = -1

    # -- connection, transactions, schema ---------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction: commits when the block ends, rolls back on any exception.

        Nested blocks join the outer transaction.
        """
        with self._lock:  # held until the transaction ends (re-entrant: nested blocks join it)
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn.cursor()
                finally:
                    self._depth -= 1
                return
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                # another connection committed since our last look: cached creature numbers may be stale
                version = cur.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as err:
                raise StorageError(f"{self.path}: cannot start a write ({err})") from None
            if version != self._data_version:
                self._creature_numbers.clear()
                self._data_version = version
            self._depth = 1
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException as err:
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                self._creature_numbers.clear()  # the cache may hold numbers the rollback took back
                if isinstance(err, sqlite3.Error):
                    raise StorageError(f"{self.path}: write failed, nothing was changed ({err})") from None
                raise
            finally:
                self._depth = 0

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        try:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as err:
            raise StorageError(f"{self.path}: read failed ({err})") from None

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the file (a cheap "anything
        new?" check for watchers)."""
        return self._read("PRAGMA data_version")[0][0]

    def _migrate(self) -> None:
        conn = self._conn
        # one statement, so one snapshot: another process may be creating the schema right now
        version, app_id, tables = conn.execute(
            "SELECT (SELECT user_version FROM pragma_user_version), "
            "(SELECT application_id FROM pragma_application_id), "
            "(SELECT count(*) FROM sqlite_master WHERE type = 'table')"
        ).fetchone()
        if app_id != APPLICATION_ID and (tables or version):
            raise StorageError(f"{self.path}: not an evolab database (it holds other tables)")
        if version > LATEST_VERSION:
            raise StorageError(
                f"{self.path}: database schema version {version} is newer than this evolab understands "
                f"({LATEST_VERSION}); upgrade evolab"
            )
        while version < LATEST_VERSION:
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                # re-read under the lock: another process may have migrated meanwhile
                version = cur.execute("PRAGMA user_version").fetchone()[0]
                if version < LATEST_VERSION:
                    MIGRATIONS[version](cur)
                    version += 1
                    cur.execute(f"PRAGMA user_version = {version}")
                    cur.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return self._read("PRAGMA user_version")[0][0]

    # -- runs -----------------------------------------------------------------------------------------

    def _run_pk(self, run_id: str) -> int:
        rows = self._read("SELECT pk FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise StorageError(f"unknown run {run_id!r}")
        return rows[0][0]

    def _run_from_row(self, row: tuple) -> RunInfo:
        try:
            config = EvolutionConfig.model_validate(json.loads(row[3]))
        except (ValueError, EvolabError) as err:
            raise StorageError(f"run {row[1]!r}: stored configuration is invalid ({err})") from None
        return RunInfo(
            id=row[1],
            name=row[2],
            config=config,
            seed=row[4],
            status=row[5],
            created_at=row[6],
            updated_at=row[7],
            generation_count=row[8],
            best_fitness=row[9],
            best_creature_id=row[10],
            best_generation=row[11],
            longest_survivor_id=row[12],
            longest_streak=row[13],
            longest_generation=row[14],
            parent_run_id=row[15],
            fork_generation=row[16],
            evolab_version=row[17],
            writer_pid=row[18],
            best_pellets=row[19],
        )

    def create_run(
        self,
        config: EvolutionConfig,
        seed: int,
        *,
        name: str | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        fork_generation: int | None = None,
        created_at: float | None = None,
    ) -> RunInfo:
        """Register a new run (status "created") and return it."""
        from evolab import __version__

        now = time.time()
        with self.transaction() as cur:
            rid = run_id or new_run_id(now)
            while cur.execute("SELECT 1 FROM runs WHERE id = ?", (rid,)).fetchone():
                rid = new_run_id(now)
            cur.execute(
                "INSERT INTO runs (id, name, config, seed, status, created_at, updated_at, parent_run_id, "
                "fork_generation, evolab_version) VALUES (?, ?, ?, ?, 'created', ?, ?, ?, ?, ?)",
                (
                    rid,
                    name or rid,
                    config.model_dump_json(),
                    seed,
                    created_at if created_at is not None else now,
                    now,
                    parent_run_id,
                    fork_generation,
                    __version__,
                ),
            )
        return self.get_run(rid)

    def find_run(self, run_id: str) -> RunInfo | None:
        """The run with this id, or None."""
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return self._run_from_row(rows[0]) if rows else None

    def get_run(self, run_id: str) -> RunInfo:
        """The run with this id.

        Raises:
            StorageError: no such run.
        """
        run = self.find_run(run_id)
        if run is None:
            raise StorageError(f"unknown run {run_id!r}")
        return run

    def run_with_generation(self, run_id: str, generation: int, action: str = "read") -> RunInfo:
        """The run, after checking it has stored `generation` (`action` says what for, in the error).

        Raises:
            StorageError: unknown run, or a generation it has not stored.
        """
        run = self.get_run(run_id)
        if not 0 <= generation < run.generation_count:
            raise StorageError(
                f"run {run_id!r} has generations 0 to {run.generation_count - 1}; cannot {action} at {generation}"
            )
        return run

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first."""
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY created_at DESC, pk DESC")
        return [self._run_from_row(r) for r in rows]

    def rename_run(self, run_id: str, name: str) -> RunInfo:
        """Give a run a new display name."""
        if not name.strip():
            raise StorageError("a run name cannot be empty")
        with self.transaction() as cur:
            pk = self._run_pk(run_id)
            cur.execute("UPDATE runs SET name = ?, updated_at = ? WHERE pk = ?", (name.strip(), time.time(), pk))
        return self.get_run(run_id)

    def set_status(self, run_id: str, status: str, *, writer_pid: int | None = None) -> None:
        """Record a run's status (and the pid of the process writing it, while "running")."""
        if status not in RUN_STATUSES:
            raise StorageError(f"unknown run status {status!r}")
        with self.transaction() as cur:
            pk = self._run_pk(run_id)
            cur.execute(
                "UPDATE runs SET status = ?, writer_pid = ?, updated_at = ? WHERE pk = ?",
                (status, writer_pid, time.time(), pk),
            )

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything stored for it."""
        with self.transaction() as cur:
            pk = self._run_pk(run_id)
            cur.execute("DELETE FROM runs WHERE pk = ?", (pk,))
        self._creature_numbers.pop(pk, None)

    # -- creatures and genomes ------------------------------------------------------------------------

    def _numbers(self, cur: sqlite3.Cursor, pk: int) -> dict[str, int]:
        numbers = self._creature_numbers.get(pk)
        if numbers is None:
            numbers = dict(cur.execute("SELECT creature_id(id), no FROM creatures WHERE run_pk = ?", (pk,)).fetchall())
            self._creature_numbers[pk] = numbers
        return numbers

    def _add_creatures(self, cur: sqlite3.Cursor, pk: int, born: int, genomes: Sequence[Genome]) -> None:
        """Store the genomes not stored yet as one batch (batch number = `born`)."""
        numbers = self._numbers(cur, pk)
        new = [g for g in genomes if g.id not in numbers]
        if not new:
            return
        if len({g.id for g in new}) != len(new):
            raise StorageError("creature ids must be unique within a run")
        first = len(numbers)
        content = batch_content(new)
        previous = cur.execute(
            "SELECT batch, data FROM genome_batches WHERE run_pk = ? AND batch < ? ORDER BY batch DESC LIMIT 1",
            (pk, born),
        ).fetchone()
        chain = None
        if previous is not None and (depth := batch_depth(previous[1])) is not None:
            chain = (depth, self._batch_content(cur, pk, previous[0], previous[1]))
        blob = compress_batch(content, chain)
        cur.execute("INSERT INTO genome_batches (run_pk, batch, data) VALUES (?, ?, ?)", (pk, born, blob))
        self._remember_batch(pk, born, blob, content)
        ids = [g.id for g in new]
        parents = [g.parent_ids for g in new]
        if any(len(p) > 2 for p in parents):
            raise StorageError("a creature has at most two parents")
        count = len(new)
        # column by column (one pass per column is cheaper than a tuple per creature built field by field)
        rows = zip(
            repeat(pk),
            range(first, first + count),
            map(creature_key, ids),
            repeat(born),
            [creature_key(p[0]) if p else None for p in parents],
            [creature_key(p[1]) if len(p) > 1 else None for p in parents],
            [g.generation for g in new],
            [g.n_nodes for g in new],
            [g.n_muscles for g in new],
            range(count),
        )
        cur.executemany(
            "INSERT INTO creatures (run_pk, no, id, born, parent1, parent2, lineage, n_nodes, n_muscles, slot) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        numbers.update(zip(ids, range(first, first + count), strict=True))

    def _ids_by_number(self, pk: int, numbers: np.ndarray) -> dict[int, str]:
        """{creature number: id} for these numbers only (a long run holds many more creatures)."""
        wanted = sorted({int(n) for n in numbers})
        ids: dict[int, str] = {}
        for start in range(0, len(wanted), 500):  # stay far below SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            placeholders = ",".join("?" * len(chunk))
            ids.update(
                self._read(
                    f"SELECT no, creature_id(id) FROM creatures WHERE run_pk = ? AND no IN ({placeholders})",
                    (pk, *chunk),
                )
            )
        return ids

    def genomes(self, run_id: str, creature_ids: Sequence[str]) -> list[Genome]:
        """The stored genomes of these creatures, in the order asked (birth state: survival streak 0
        unless it was born with one).

        Raises:
            StorageError: a creature is not in the run.
        """
        pk = self._run_pk(run_id)
        if not creature_ids:
            return []
        rows = self._read_for_ids(
            "SELECT creature_id(c.id), creature_id(c.parent1), creature_id(c.parent2), c.born, c.slot "
            "FROM wanted CROSS JOIN creatures c "
            "WHERE c.run_pk = ? AND c.id = wanted.id",
            pk,
            creature_ids,
        )
        found = {r[0]: r for r in rows}
        missing = [c for c in creature_ids if c not in found]
        if missing:
            raise StorageError(f"unknown creature {missing[0]!r} in run {run_id!r}")
        by_batch: dict[int, list[tuple]] = {}
        for cid in dict.fromkeys(creature_ids):
            by_batch.setdefault(found[cid][3], []).append(found[cid])
        decoded: dict[str, Genome] = {}
        for batch, members in by_batch.items():
            blob = self._read("SELECT data FROM genome_batches WHERE run_pk = ? AND batch = ?", (pk, batch))
            if not blob:
                raise StorageError(f"stored genomes are corrupt (batch {batch} is missing)")
            blob = blob[0][0]
            identities = [(m[0], tuple(p for p in (m[1], m[2]) if p is not None)) for m in members]
            slots = [m[4] for m in members]
            if batch_depth(blob) is None:  # schema 1's format
                genomes = decode_batch(blob, slots, identities)
            else:
                with self._lock:  # the batch cache and the connection: one thread at a time
                    content = self._batch_content(self._conn, pk, batch, blob)
                genomes = genomes_from_content(content, slots, identities)
            for m, genome in zip(members, genomes, strict=True):
                decoded[m[0]] = genome
        return [decoded[c] for c in creature_ids]

    def _batch_content(self, conn: sqlite3.Connection | sqlite3.Cursor, pk: int, batch: int, blob: bytes) -> bytes:
        """The decompressed content of a stored genome batch (EVG3), decompressing the batches before it
        that its chain needs (cached). The caller holds the lock (a transaction does)."""
        cached = self._batch_cache.get((pk, batch))
        if cached is not None and cached[0] == blob:
            self._batch_cache.move_to_end((pk, batch))
            return cached[1]
        depth = batch_depth(blob) or 0
        chain = [(batch, bytes(blob))]
        if depth > 0:
            rows = conn.execute(
                "SELECT batch, data FROM genome_batches WHERE run_pk = ? AND batch < ? ORDER BY batch DESC LIMIT ?",
                (pk, batch, depth),
            ).fetchall()
            if len(rows) != depth or [batch_depth(b) for _, b in rows] != list(range(depth - 1, -1, -1)):
                raise StorageError(f"stored genomes are corrupt (batch {batch} misses the batches before it)")
            chain += [(b, bytes(data)) for b, data in rows]
        start, content = len(chain) - 1, None  # decompress from the newest batch already cached
        for k, (b, data) in enumerate(chain[1:], start=1):
            cached = self._batch_cache.get((pk, b))
            if cached is not None and cached[0] == data:
                start, content = k - 1, cached[1]
                break
        for b, data in reversed(chain[: start + 1]):
            content = decompress_batch(data, content)
            self._remember_batch(pk, b, data, content)
        return content

    def _remember_batch(self, pk: int, batch: int, blob: bytes, content: bytes) -> None:
        """Cache a batch's content (the caller holds the lock)."""
        self._batch_cache[(pk, batch)] = (bytes(blob), content)
        self._batch_cache.move_to_end((pk, batch))
        while len(self._batch_cache) > _BATCH_CACHE_SIZE:
            self._batch_cache.popitem(last=False)

    def genome(self, run_id: str, creature_id: str) -> Genome:
        """One creature's stored genome."""
        return self.genomes(run_id, [creature_id])[0]

    def creature(self, run_id: str, creature_id: str) -> CreatureInfo:
        """Where a creature came from.

        Raises:
            StorageError: unknown run or creature.
        """
        pk = self._run_pk(run_id)
        rows = self._read(
            f"SELECT {_INFO_COLUMNS} FROM creatures c WHERE c.run_pk = ? AND c.id = ?",
            (pk, creature_key(creature_id)),
        )
        if not rows:
            raise StorageError(f"unknown creature {creature_id!r} in run {run_id!r}")
        return _creature_info(rows[0])

    def ancestors(self, run_id: str, creature_id: str, limit: int = 1000) -> list[CreatureInfo]:
        """The creature's ancestors back to generation 0, nearest first (each once; at most `limit`)."""
        pk = self._run_pk(run_id)
        self.creature(run_id, creature_id)
        rows = self._read(
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
        )
        return [_creature_info(r) for r in rows]

    # -- generations ----------------------------------------------------------------------------------

    def store_population(self, run_id: str, generation: int, population: Sequence[Genome], rng_state: dict) -> None:
        """Store a population about to be evaluated as generation `generation`, with its checkpoint."""
        with self.transaction() as cur:
            pk = self._run_pk(run_id)
            self._add_creatures(cur, pk, generation, population)
            self._write_checkpoint(cur, pk, generation, population, rng_state)

    def _write_checkpoint(
        self, cur: sqlite3.Cursor, pk: int, generation: int, population: Sequence[Genome], rng_state: dict
    ) -> None:
        numbers = self._numbers(cur, pk)
        members = np.array([(numbers[g.id], g.survival_streak) for g in population], dtype=np.int64)
        _insert_checkpoint(cur, pk, generation, members, rng_state)

    def save_generation(self, run_id: str, record: GenerationRecord) -> None:
        """Store one evaluated generation, its replays, the run's bookkeeping and the next population
        (and its checkpoint), all in one transaction."""
        stats = record.stats
        g = stats.generation
        with self.transaction() as cur:
            pk = self._run_pk(run_id)
            numbers = self._numbers(cur, pk)
            results = RankedResults.of(record.results)
            named = {*results.creature_ids, *(f.creature_id for f in record.frames)}
            # look the few named ids up: a set difference with numbers.keys() would walk every stored id
            if unknown := sorted(cid for cid in named if cid not in numbers):
                raise StorageError(f"generation {g} names creature {unknown[0]!r}, which run {run_id!r} has not stored")
            _insert_generation(cur, pk, stats, results, numbers, time.time())
            raws = raw_replays([(f.frames, f.fitness_over_time) for f in record.frames])
            _insert_replays(
                cur,
                pk,
                numbers,
                [(g, f.creature_id, f.reason, raw, f.pellets) for f, raw in zip(record.frames, raws, strict=True)],
            )
            self._add_creatures(cur, pk, g + 1, record.next_population)
            if record.write_checkpoint:
                self._write_checkpoint(cur, pk, g + 1, record.next_population, record.rng_state)
            best = record.best or (None, None, None, None)
            longest = record.longest or (0, None, None)
            cur.execute(
                "UPDATE runs SET generation_count = max(generation_count, ?), best_fitness = ?, best_creature = ?, "
                "best_generation = ?, best_pellets = ?, longest_streak = ?, longest_creature = ?, "
                "longest_generation = ?, updated_at = ? WHERE pk = ?",
                (g + 1, *best, longest[0], longest[1], longest[2], time.time(), pk),
            )

    def generation_stats(self, run_id: str, start: int = 0, stop: int | None = None) -> list[GenerationStats]:
        """Statistics of the stored generations in [start, stop), in order."""
        pk = self._run_pk(run_id)
        rows = self._read(
            f"SELECT {_STATS_SELECT} FROM generations WHERE run_pk = ? AND generation >= ? AND generation < ? "
            "ORDER BY generation",
            (pk, start, stop if stop is not None else 2**62),
        )
        return [_stats_from_row(r) for r in rows]

    def generation(self, run_id: str, generation: int) -> GenerationStats | None:
        """One generation's statistics, or None when it is not stored."""
        rows = self.generation_stats(run_id, generation, generation + 1)
        return rows[0] if rows else None

    def results(self, run_id: str, generation: int) -> list[CreatureResult]:
        """A generation's results, best first (empty when the generation is not stored)."""
        pk = self._run_pk(run_id)
        rows = self._read(
            f"SELECT {_RESULT_COLUMNS} FROM results r JOIN creatures c ON c.run_pk = r.run_pk AND c.no = r.creature_no "
            "WHERE r.run_pk = ? AND r.generation = ? ORDER BY r.rank",
            (pk, generation),
        )
        return [_result(r) for r in rows]

    def creature_results(self, run_id: str, creature_id: str) -> list[CreatureResult]:
        """Every result of one creature, by generation."""
        pk = self._run_pk(run_id)
        rows = self._read(  # the creature first, then its results by index (not a scan of the run's results)
            f"SELECT {_RESULT_COLUMNS} FROM creatures c CROSS JOIN results r INDEXED BY results_by_creature "
            "ON r.run_pk = c.run_pk AND r.creature_no = c.no WHERE c.run_pk = ? AND c.id = ? ORDER BY r.generation",
            (pk, creature_key(creature_id)),
        )
        return [_result(r) for r in rows]

    def top_results(self, run_id: str, limit: int = 10) -> list[CreatureResult]:
        """The best results of the run, one per creature (its best generation), best first."""
        pk = self._run_pk(run_id)
        rows = self._read(
            f"""
            SELECT {_RESULT_COLUMNS} FROM (
                SELECT *, row_number() OVER (PARTITION BY creature_no ORDER BY fitness DESC, generation) AS k
                FROM results WHERE run_pk = ?
            ) r JOIN creatures c ON c.run_pk = r.run_pk AND c.no = r.creature_no
            WHERE r.k = 1 ORDER BY r.fitness DESC, r.generation, r.rank LIMIT ?
            """,
            (pk, limit),
        )
        return [_result(r) for r in rows]

    # -- frames ---------------------------------------------------------------------------------------

    def frames(self, run_id: str, generation: int, creature_id: str) -> StoredFrames | None:
        """A creature's stored replay in one generation, or None when the frame policy did not keep it."""
        pk = self._run_pk(run_id)
        number = self._read("SELECT no FROM creatures WHERE run_pk = ? AND id = ?", (pk, creature_key(creature_id)))
        if not number:
            return None
        entry = next((e for e in self._replay_block(pk, generation) if e.creature_no == number[0][0]), None)
        return _stored_frames(entry) if entry is not None else None

    def framed_creatures(self, run_id: str, generation: int) -> dict[str, str]:
        """{creature id: why it was kept ("top", "random", "bottom")} for a generation's stored replays."""
        pk = self._run_pk(run_id)
        entries = self._replay_block(pk, generation)
        ids = self._ids_by_number(pk, np.array([e.creature_no for e in entries]))
        return {ids[e.creature_no]: e.reason for e in entries}

    def generation_frames(self, run_id: str, generation: int) -> dict[str, StoredFrames]:
        """Every stored replay of one generation, by creature id."""
        pk = self._run_pk(run_id)
        entries = self._replay_block(pk, generation)
        ids = self._ids_by_number(pk, np.array([e.creature_no for e in entries]))
        return {ids[e.creature_no]: _stored_frames(e) for e in entries}

    def _replay_block(self, pk: int, generation: int) -> list[BlockEntry]:
        rows = self._read("SELECT data FROM replays WHERE run_pk = ? AND generation = ?", (pk, generation))
        return decode_block(rows[0][0]) if rows else []

    def birth_results(self, run_id: str, creature_ids: Sequence[str]) -> dict[str, CreatureResult]:
        """Each creature's result in the generation it was born in (missing when not evaluated yet)."""
        rows = self._read_for_ids(
            f"SELECT {_RESULT_COLUMNS} FROM wanted CROSS JOIN creatures c JOIN results r ON r.run_pk = c.run_pk "
            "AND r.creature_no = c.no AND r.generation = c.born WHERE c.run_pk = ? AND c.id = wanted.id",
            self._run_pk(run_id),
            creature_ids,
        )
        return {r[0]: _result(r) for r in rows}

    def creatures(self, run_id: str, creature_ids: Sequence[str]) -> dict[str, CreatureInfo]:
        """Where each of these creatures came from, by id (unknown ids are left out)."""
        rows = self._read_for_ids(
            f"SELECT {_INFO_COLUMNS} FROM wanted CROSS JOIN creatures c WHERE c.run_pk = ? AND c.id = wanted.id",
            self._run_pk(run_id),
            creature_ids,
        )
        return {r[0]: _creature_info(r) for r in rows}

    def _read_for_ids(self, sql: str, pk: int, creature_ids: Sequence[str]) -> list[tuple]:
        """`sql` over a table `wanted(id)` of the creature ids (and `?` = the run's pk), in chunks under
        SQLite's parameter limit.

        The ids drive the loop (CROSS JOIN keeps that order): with `id IN (...)` the planner scans the
        run's whole creature table by primary key instead of looking each id up, 4 ms for 100 ids in a
        1000-generation run.
        """
        ids = list(dict.fromkeys(creature_ids))
        rows: list[tuple] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            values = ", ".join(["(?)"] * len(chunk))
            keys = [creature_key(c) for c in chunk]
            rows += self._read(f"WITH wanted(id) AS (VALUES {values}) {sql}", (*keys, pk))
        return rows

    # -- checkpoints, resume, fork ----------------------------------------------------------------------

    def checkpoint(self, run_id: str, generation: int | None = None) -> Checkpoint | None:
        """The checkpoint for `generation` (default: the latest one), or None."""
        pk = self._run_pk(run_id)
        if generation is None:
            rows = self._read(
                "SELECT generation, population, rng_state FROM checkpoints WHERE run_pk = ? "
                "ORDER BY generation DESC LIMIT 1",
                (pk,),
            )
        else:
            rows = self._read(
                "SELECT generation, population, rng_state FROM checkpoints WHERE run_pk = ? AND generation = ?",
                (pk, generation),
            )
        if not rows:
            return None
        generation, population, rng_state = rows[0]
        members = _decode_members(population)
        ids = self._ids_by_number(pk, members[:, 0])
        genomes = self.genomes(run_id, [ids[int(no)] for no in members[:, 0]])
        return Checkpoint(
            generation=generation,
            population=tuple(g.replace(survival_streak=int(s)) for g, s in zip(genomes, members[:, 1], strict=True)),
            rng_state=json.loads(rng_state),
        )

    def truncate(self, run_id: str, generation: int) -> None:
        """Forget every generation from `generation` on (and what only they needed), so the run can be
        continued from its checkpoint for `generation`."""
        with self.transaction() as cur:
            pk = self._run_pk(run_id)
            cur.execute("DELETE FROM generations WHERE run_pk = ? AND generation >= ?", (pk, generation))
            cur.execute("DELETE FROM checkpoints WHERE run_pk = ? AND generation > ?", (pk, generation))
            cur.execute("DELETE FROM creatures WHERE run_pk = ? AND born > ?", (pk, generation))
            cur.execute("DELETE FROM genome_batches WHERE run_pk = ? AND batch > ?", (pk, generation))
            cur.execute(
                "UPDATE runs SET generation_count = min(generation_count, ?), updated_at = ? WHERE pk = ?",
                (generation, time.time(), pk),
            )
            _recompute_records(cur, pk)
        self._creature_numbers.pop(pk, None)

    def fork_run(
        self,
        source_id: str,
        generation: int,
        *,
        seed: int,
        next_population: Sequence[Genome],
        rng_state: dict,
        name: str | None = None,
    ) -> RunInfo:
        """A new run holding a copy of `source_id`'s generations 0..`generation`, continuing with
        `next_population` (checkpointed) as generation `generation` + 1.

        Raises:
            StorageError: unknown source run, or `generation` is not stored in it.
        """
        source = self.run_with_generation(source_id, generation, "fork")
        fork = self.create_run(
            source.config,
            seed,
            name=name or f"Fork of {source.name} (Gen {generation})",
            parent_run_id=source.id,
            fork_generation=generation,
        )
        src = self._run_pk(source_id)
        with self.transaction() as cur:
            dst = self._run_pk(fork.id)
            for table, where in (
                ("generations", "generation <= :g"),
                ("genome_batches", "batch <= :g"),
                ("creatures", "born <= :g"),
                ("results", "generation <= :g"),
                ("replays", "generation <= :g"),
            ):
                columns = [r[1] for r in cur.execute(f"PRAGMA table_info({table})").fetchall()]
                others = ", ".join(c for c in columns if c != "run_pk")
                cur.execute(
                    f"INSERT INTO {table} (run_pk, {others}) SELECT :dst, {others} FROM {table} "
                    f"WHERE run_pk = :src AND {where}",
                    {"dst": dst, "src": src, "g": generation},
                )
            cur.execute("UPDATE runs SET generation_count = ?, status = 'stopped' WHERE pk = ?", (generation + 1, dst))
            _recompute_records(cur, dst)
            self._creature_numbers.pop(dst, None)
            self._add_creatures(cur, dst, generation + 1, next_population)
            self._write_checkpoint(cur, dst, generation + 1, next_population, rng_state)
        return self.get_run(fork.id)

    # -- presets --------------------------------------------------------------------------------------

    def save_preset(self, name: str, config: EvolutionConfig) -> None:
        """Save (or replace) a named configuration."""
        if not name.strip():
            raise StorageError("a preset name cannot be empty")
        with self.transaction() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO presets (name, config, created_at) VALUES (?, ?, ?)",
                (name.strip(), config.model_dump_json(), time.time()),
            )

    def presets(self) -> dict[str, EvolutionConfig]:
        """User-saved configurations by name."""
        rows = self._read("SELECT name, config FROM presets ORDER BY name")
        return {name: EvolutionConfig.model_validate(json.loads(cfg)) for name, cfg in rows}

    def delete_preset(self, name: str) -> None:
        """Forget a saved configuration.

        Raises:
            StorageError: no such preset.
        """
        with self.transaction() as cur:
            if cur.execute("DELETE FROM presets WHERE name = ?", (name,)).rowcount == 0:
                raise StorageError(f"unknown preset {name!r}")

    # -- import -----------------------------------------------------------------------------------------
    # Raw rows for `evolab.storage.transfer`: export reads replays and checkpoints as stored (no
    # re-encoding), import writes one whole, already validated run in a single transaction.

    def creature_infos(self, run_id: str) -> list[CreatureInfo]:
        """Every creature of a run, in the order they were stored (by birth generation).

        Raises:
            StorageError: unknown run.
        """
        pk = self._run_pk(run_id)
        rows = self._read(
            f"SELECT {_INFO_COLUMNS} FROM creatures c WHERE c.run_pk = ? ORDER BY c.no",
            (pk,),
        )
        return [_creature_info(r) for r in rows]

    def frame_rows(self, run_id: str) -> list[tuple[int, str, str, bytes, bytes, list[dict]]]:
        """Every stored replay of a run, each compressed on its own (the export document's form):
        (generation, creature id, reason, frames blob, fitness blob, pellet events), by generation and
        creature.

        Raises:
            StorageError: unknown run.
        """
        pk = self._run_pk(run_id)
        blocks = self._read("SELECT generation, data FROM replays WHERE run_pk = ? ORDER BY generation", (pk,))
        entries = [(g, e) for g, data in blocks for e in sorted(decode_block(data), key=lambda e: e.creature_no)]
        ids = self._ids_by_number(pk, np.array([e.creature_no for _, e in entries]))
        return [(g, ids[e.creature_no], e.reason, *compress_raw(e.raw), list(e.pellets)) for g, e in entries]

    def checkpoint_rows(self, run_id: str) -> list[tuple[int, list[tuple[str, int]], dict]]:
        """Every checkpoint of a run without decoding genomes: (generation, [(creature id, survival
        streak), ...], GA generator state), by generation.

        Raises:
            StorageError: unknown run.
        """
        pk = self._run_pk(run_id)
        rows = self._read(
            "SELECT generation, population, rng_state FROM checkpoints WHERE run_pk = ? ORDER BY generation", (pk,)
        )
        decoded = [(generation, _decode_members(population), rng_state) for generation, population, rng_state in rows]
        numbers = np.concatenate([members[:, 0] for _, members, _ in decoded]) if decoded else np.zeros(0)
        ids = self._ids_by_number(pk, numbers)
        out = []
        for generation, members, rng_state in decoded:
            out.append((generation, [(ids[int(no)], int(s)) for no, s in members], json.loads(rng_state)))
        return out

    def import_run(
        self,
        *,
        run_id: str,
        name: str,
        config: EvolutionConfig,
        seed: int,
        status: str,
        created_at: float,
        parent_run_id: str | None,
        fork_generation: int | None,
        creatures: Sequence[tuple[int, Genome]],
        generations: Sequence[tuple[GenerationStats, Sequence[CreatureResult]]],
        frames: Sequence[tuple[int, str, str, bytes, bytes, list[dict]]],
        checkpoints: Sequence[tuple[int, Sequence[tuple[str, int]], dict]],
    ) -> RunInfo:
        """Write a whole run in one transaction: all of it is stored, or nothing.

        The caller has validated everything (`evolab.storage.transfer`): creatures are (birth generation,
        genome) in birth order, generations are contiguous from 0 with their results best first, and every
        result, replay and checkpoint names a creature in `creatures`. `run_id` is kept unless the
        database already holds it; then the run gets a new id. The best creature and longest survivor are
        recomputed from the results.

        Raises:
            StorageError: the database cannot be written.
        """
        if status not in RUN_STATUSES:
            raise StorageError(f"unknown run status {status!r}")
        with self.transaction() as cur:
            info = self.create_run(
                config,
                seed,
                name=name,
                run_id=run_id,
                parent_run_id=parent_run_id,
                fork_generation=fork_generation,
                created_at=created_at,
            )
            pk = self._run_pk(info.id)
            by_birth: dict[int, list[Genome]] = {}
            for born, genome in creatures:
                by_birth.setdefault(born, []).append(genome)
            for born in sorted(by_birth):
                self._add_creatures(cur, pk, born, by_birth[born])
            numbers = self._numbers(cur, pk)
            now = time.time()
            for stats, results in generations:
                _insert_generation(cur, pk, stats, RankedResults.of(results), numbers, now)
            _insert_replays(
                cur,
                pk,
                numbers,
                [(g, cid, reason, decompress_raw(fb, sb), pellets) for g, cid, reason, fb, sb, pellets in frames],
            )
            for generation, members, rng_state in checkpoints:
                rows = np.array([(numbers[cid], streak) for cid, streak in members], dtype=np.int64).reshape(-1, 2)
                _insert_checkpoint(cur, pk, generation, rows, rng_state)
            cur.execute(
                "UPDATE runs SET status = ?, generation_count = ?, updated_at = ? WHERE pk = ?",
                (status, len(generations), now, pk),
            )
            _recompute_records(cur, pk)
        return self.get_run(info.id)


def _insert_generation(
    cur: sqlite3.Cursor,
    pk: int,
    stats: GenerationStats,
    results: RankedResults,
    numbers: dict[str, int],
    created_at: float,
) -> None:
    """One generation's statistics row and its results."""
    node_counts = json.dumps({str(k): v for k, v in sorted(stats.node_counts.items())})
    benchmark_key = None if stats.benchmark_creature is None else creature_key(stats.benchmark_creature)
    cur.execute(
        f"INSERT INTO generations (run_pk, {_STATS_COLUMNS}, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            pk, stats.generation, stats.best, stats.average, stats.worst, stats.median, stats.p10, stats.p25,
            stats.p75, stats.p90, stats.disqualified, stats.pellets, node_counts, stats.avg_nodes,
            stats.avg_muscles, stats.sim_seed, stats.sim_seconds, stats.host_seconds, stats.benchmark_fitness,
            stats.benchmark_pellets, benchmark_key, created_at,
        ),
    )  # fmt: skip
    r = results
    trial_pellets = repeat(None) if r.trial_pellets is None else [bytes(p) for p in r.trial_pellets]
    cur.executemany(
        "INSERT INTO results (run_pk, generation, rank, creature_no, fitness, pellets, disqualified, "
        "survival_streak, distance, displacement, fitness_std, trial_pellets) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        zip(repeat(pk), repeat(stats.generation), range(len(r)), [numbers[c] for c in r.creature_ids], r.fitness,
            r.pellets, r.disqualified, r.survival_streaks, r.distance, r.displacement, r.fitness_std or repeat(None),
            trial_pellets),
    )  # fmt: skip


def _result(row: tuple) -> CreatureResult:
    """A result from its `_RESULT_COLUMNS` row (pellets per trial are stored as one byte each)."""
    return CreatureResult(*row[:-1], None if row[-1] is None else tuple(row[-1]))


def _stored_frames(entry: BlockEntry) -> StoredFrames:
    frames, fitness = decode_raw(entry.raw)
    return StoredFrames(frames=frames, fitness_over_time=fitness, pellets=entry.pellets)


def _insert_replays(
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


def _insert_checkpoint(cur: sqlite3.Cursor, pk: int, generation: int, members: np.ndarray, rng_state: dict) -> None:
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
        raise StorageError(f"a stored checkpoint is corrupt ({err})") from None
    return np.frombuffer(raw, dtype="<i4").reshape(-1, 2).astype(np.int64)


def _creature_info(row: tuple) -> CreatureInfo:
    return CreatureInfo(
        creature_id=row[0],
        born=row[1],
        parent_ids=tuple(p for p in (row[2], row[3]) if p is not None),
        lineage_generation=row[4],
        n_nodes=row[5],
        n_muscles=row[6],
    )


def _stats_from_row(row: tuple) -> GenerationStats:
    return GenerationStats(
        generation=row[0],
        best=row[1],
        average=row[2],
        worst=row[3],
        median=row[4],
        p10=row[5],
        p25=row[6],
        p75=row[7],
        p90=row[8],
        disqualified=row[9],
        pellets=row[10],
        node_counts={int(k): v for k, v in json.loads(row[11]).items()},
        avg_nodes=row[12],
        avg_muscles=row[13],
        sim_seed=row[14],
        sim_seconds=row[15],
        host_seconds=row[16],
        benchmark_fitness=row[17],
        benchmark_pellets=row[18],
        benchmark_creature=row[19],
    )


def _recompute_records(cur: sqlite3.Cursor, pk: int) -> None:
    """Best creature ever and longest survivor from the stored results (after a truncate or a fork): the
    champion on the benchmark where generations were scored on it, else the highest fitness."""
    best = (
        cur.execute(
            "SELECT benchmark_fitness, creature_id(benchmark_creature), generation, benchmark_pellets FROM generations "
            "WHERE run_pk = ? AND benchmark_fitness IS NOT NULL ORDER BY benchmark_fitness DESC, generation LIMIT 1",
            (pk,),
        ).fetchone()
        or cur.execute(
            "SELECT r.fitness, creature_id(c.id), r.generation, NULL FROM results r JOIN creatures c "
            "ON c.run_pk = r.run_pk AND c.no = r.creature_no WHERE r.run_pk = ? ORDER BY r.fitness DESC, r.generation, "
            "r.rank LIMIT 1",
            (pk,),
        ).fetchone()
        or (None, None, None, None)
    )
    longest = cur.execute(
        "SELECT r.survival_streak, creature_id(c.id), r.generation FROM results r JOIN creatures c "
        "ON c.run_pk = r.run_pk AND c.no = r.creature_no WHERE r.run_pk = ? AND r.survival_streak > 0 "
        "ORDER BY r.survival_streak DESC, r.generation, r.rank LIMIT 1",
        (pk,),
    ).fetchone() or (0, None, None)
    cur.execute(
        "UPDATE runs SET best_fitness = ?, best_creature = ?, best_generation = ?, best_pellets = ?, "
        "longest_streak = ?, longest_creature = ?, longest_generation = ? WHERE pk = ?",
        (*best, *longest, pk),
    )


def _refuse_foreign_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a file that is not an SQLite database at all."""
    if not path.exists():
        if not path.parent.exists():
            raise StorageError(f"{path}: its folder does not exist")
        return
    if path.is_dir():
        raise StorageError(f"{path}: is a folder, not a database file")
    # The file's header is left to SQLite: opening and closing the file here would drop every POSIX lock
    # this process holds on it (another Store's read or write lock), which lets other processes overwrite
    # pages under our readers (sqlite.org/howtocorrupt.html, 2.2).
