"""`Store`: the one class that owns the SQLite connection and its transactions (DESIGN §7).

Guarantees:
- Every public method is exactly one transaction: it is stored whole or not at all, and a read sees one
  snapshot. Public methods never call each other; the SQL lives in cursor-taking helpers, one module per
  concern (`_runs`, `_creatures`, `_generations`, `_replays`, `_checkpoints`, `_presets`), that never
  commit. `save_generation` stores a generation, its results, replays, new genomes, the run's bookkeeping
  and the next generation's checkpoint together.
- Writers take the write lock up front (BEGIN IMMEDIATE) and wait up to `timeout` seconds for it, so
  several processes can write one file; readers never block writers (WAL).
- Reads return frozen snapshots (`evolab.storage.records`), never rows.
- The schema is versioned (`PRAGMA user_version`) and migrated forward on open, and stored settings are
  upgraded on read (`evolab.storage.settings`); a file that is not an evolab database, or one from a newer
  evolab, is refused with a typed `StorageError` (`evolab.errors`) and left untouched.
- Every statement is parameterised.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from evolab.config import EvolutionConfig
from evolab.errors import CreatureNotFound, DatabaseUnavailable, InvalidInput
from evolab.genome.batch import GenomeBatch
from evolab.genome.model import Genome
from evolab.storage import _checkpoints, _creatures, _generations, _presets, _replays, _runs
from evolab.storage._creatures import BatchCache, GenomeArchive
from evolab.storage._runs import new_run_id
from evolab.storage._schema import connect
from evolab.storage.frame_codec import raw_replays
from evolab.storage.records import (
    Checkpoint,
    CheckpointRow,
    CreatureInfo,
    CreatureResult,
    GenerationCreatures,
    GenerationRecord,
    GenerationStats,
    RankedResults,
    ReplayRow,
    RunInfo,
    RunRows,
    StoredFrames,
)

__all__ = ["Store", "new_run_id"]


class Store:
    """An evolab database file.

    A Store may be shared by threads: they take turns on its one connection. Threads that want to read at
    the same time should each open their own Store.

    Args:
        path: the SQLite file; created (with the latest schema) when it does not exist.
        timeout: seconds a writer waits for another writer's transaction to finish.
        genome_cache: where decompressed genome batches are kept between reads (default: this Store's
            own); the read connections of one database may share one.

    Raises:
        StorageError: the file is not an evolab database (`NotAnEvolabDatabase`, `InvalidDatabasePath`), is
            from a newer evolab (`SchemaTooNew`), or cannot be opened (`DatabaseUnavailable`).
    """

    def __init__(self, path: str | Path, *, timeout: float = 60.0, genome_cache: BatchCache | None = None) -> None:
        self.path = Path(path)
        # One thread at a time on the connection and the caches. Sharing a connection between threads
        # without it deadlocks: a query calling creature_id() waits for the GIL while holding SQLite's
        # connection mutex, and another thread holding the GIL waits for that mutex (in sqlite3's binding
        # of parameters, which keeps the GIL). Waiting on this lock releases the GIL.
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = connect(self.path, timeout)
        self._in_transaction = False
        self._archive = GenomeArchive(genome_cache)
        self._data_version = -1

    # -- connection and transactions ----------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction: commits when the block ends, rolls back on any exception (and then
        nothing of it is stored).

        Not re-entrant: a transaction inside another would make the outer one's atomicity depend on how
        calls nest, so it raises `RuntimeError`.
        """
        with self._lock, self._session() as cur:
            try:
                cur.execute("BEGIN IMMEDIATE")
                # another connection committed since our last look: cached creature numbers may be stale
                version = cur.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as err:
                raise DatabaseUnavailable(f"{self.path}: cannot start a write ({err})") from None
            if version != self._data_version:
                self._archive.forget_numbers()
                self._data_version = version
            try:
                with self._ending(cur, "write failed, nothing was changed"):
                    yield cur
            except BaseException:
                self._archive.forget_numbers()  # the cache may hold numbers the rollback took back
                raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        """A read transaction: every statement in it sees the same snapshot of the file."""
        with self._lock, self._session() as cur, self._ending(cur, "read failed"):
            cur.execute("BEGIN")
            yield cur

    @contextmanager
    def _ending(self, cur: sqlite3.Cursor, failure: str) -> Iterator[None]:
        """End the open transaction: COMMIT after the block, ROLLBACK on any exception (an SQLite error
        becomes `DatabaseUnavailable`, saying `failure`)."""
        try:
            yield
            cur.execute("COMMIT")
        except BaseException as err:
            if self._conn.in_transaction:
                cur.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise DatabaseUnavailable(f"{self.path}: {failure} ({err})") from None
            raise

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Cursor]:
        if self._conn is None:
            raise DatabaseUnavailable(f"{self.path}: the database is closed")
        if self._in_transaction:
            raise RuntimeError("Store transactions do not nest: a public Store method called another")
        self._in_transaction = True
        try:
            yield self._conn.cursor()
        finally:
            self._in_transaction = False

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the file (a cheap "anything
        new?" check for watchers)."""
        with self._reading() as cur:
            return cur.execute("PRAGMA data_version").fetchone()[0]

    @property
    def schema_version(self) -> int:
        with self._reading() as cur:
            return cur.execute("PRAGMA user_version").fetchone()[0]

    # -- runs -----------------------------------------------------------------------------------------

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
        population: Sequence[Genome] = (),
        rng_state: dict | None = None,
        backend: str = "cpu",
    ) -> RunInfo:
        """Register a new run (status "created") and return it; with `population` and `rng_state`, also
        its generation 0 and that generation's checkpoint (a run that can be advanced), in the same
        transaction. `backend` is the physics backend it is evolved on."""
        if population and rng_state is None:
            raise InvalidInput("a run's first population needs the GA generator state it was bred with")
        with self.transaction() as cur:
            pk, rid = _runs.insert_run(
                cur, config, seed, name=name, run_id=run_id, parent_run_id=parent_run_id,
                fork_generation=fork_generation, created_at=created_at, backend=backend,
            )  # fmt: skip
            if population:
                self._archive.add(cur, pk, 0, population)
                _checkpoints.write_checkpoint(cur, self._archive, pk, 0, population, rng_state)
            return _runs.get_run(cur, rid)

    def find_run(self, run_id: str) -> RunInfo | None:
        """The run with this id, or None."""
        with self._reading() as cur:
            return _runs.find_run(cur, run_id)

    def get_run(self, run_id: str) -> RunInfo:
        """The run with this id.

        Raises:
            RunNotFound: no such run.
        """
        with self._reading() as cur:
            return _runs.get_run(cur, run_id)

    def run_with_generation(self, run_id: str, generation: int, action: str = "read") -> RunInfo:
        """The run, after checking it has stored `generation` (`action` says what for, in the error).

        Raises:
            RunNotFound: no such run.
            GenerationNotStored: a generation it has not stored.
        """
        with self._reading() as cur:
            return _runs.require_generation(_runs.get_run(cur, run_id), generation, action)

    def list_runs(self) -> list[RunInfo]:
        """Every run, newest first."""
        with self._reading() as cur:
            return _runs.list_runs(cur)

    def rename_run(self, run_id: str, name: str) -> RunInfo:
        """Give a run a new display name."""
        with self.transaction() as cur:
            _runs.rename_run(cur, run_id, name)
            return _runs.get_run(cur, run_id)

    def set_status(
        self, run_id: str, status: str, *, writer_pid: int | None = None, backend: str | None = None
    ) -> None:
        """Record a run's status, the pid writing it while "running", and the backend it continues on."""
        with self.transaction() as cur:  # (an unknown status is refused before anything is written)
            _runs.set_status(cur, _runs.run_pk(cur, run_id), status, writer_pid, backend)

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything stored for it."""
        with self.transaction() as cur:
            pk = _runs.run_pk(cur, run_id)
            cur.execute("DELETE FROM runs WHERE pk = ?", (pk,))
            self._archive.forget_numbers(pk)

    # -- creatures and genomes ------------------------------------------------------------------------

    def genomes(self, run_id: str, creature_ids: Sequence[str]) -> list[Genome]:
        """The stored genomes of these creatures, in the order asked (birth state: survival streak 0
        unless it was born with one).

        Raises:
            RunNotFound, CreatureNotFound: no such run, or a creature is not in it.
        """
        with self._reading() as cur:
            return self._archive.genomes(cur, _runs.run_pk(cur, run_id), run_id, creature_ids)

    def genome_batch(self, run_id: str, creature_ids: Sequence[str]) -> GenomeBatch:
        """The stored genes of these creatures as one `GenomeBatch`, in the order asked: `genomes` without
        making each genome an object (nor carrying the out-of-range flags of imported genomes).

        Raises:
            RunNotFound, CreatureNotFound: no such run, or a creature is not in it.
        """
        with self._reading() as cur:
            return self._archive.genome_batch(cur, _runs.run_pk(cur, run_id), run_id, creature_ids)

    def genome(self, run_id: str, creature_id: str) -> Genome:
        """One creature's stored genome."""
        return self.genomes(run_id, [creature_id])[0]

    def creature(self, run_id: str, creature_id: str) -> CreatureInfo:
        """Where a creature came from.

        Raises:
            RunNotFound, CreatureNotFound: unknown run or creature.
        """
        with self._reading() as cur:
            return _creatures.creature(cur, _runs.run_pk(cur, run_id), run_id, creature_id)

    def ancestors(self, run_id: str, creature_id: str, limit: int = 1000) -> list[CreatureInfo]:
        """The creature's ancestors back to generation 0, nearest first (each once; at most `limit`).

        Raises:
            RunNotFound, CreatureNotFound: unknown run or creature.
        """
        with self._reading() as cur:
            pk = _runs.run_pk(cur, run_id)
            _creatures.creature(cur, pk, run_id, creature_id)
            return _creatures.ancestors(cur, pk, creature_id, limit)

    def creatures(self, run_id: str, creature_ids: Sequence[str]) -> dict[str, CreatureInfo]:
        """Where each of these creatures came from, by id (unknown ids are left out)."""
        with self._reading() as cur:
            return _creatures.creatures(cur, _runs.run_pk(cur, run_id), creature_ids)

    def creature_infos(self, run_id: str) -> list[CreatureInfo]:
        """Every creature of a run, in the order they were stored (by birth generation).

        Raises:
            RunNotFound: unknown run.
        """
        with self._reading() as cur:
            return _creatures.all_creatures(cur, _runs.run_pk(cur, run_id))

    # -- generations ----------------------------------------------------------------------------------

    def store_population(self, run_id: str, generation: int, population: Sequence[Genome], rng_state: dict) -> None:
        """Store a population about to be evaluated as generation `generation`, with its checkpoint."""
        with self.transaction() as cur:
            pk = _runs.run_pk(cur, run_id)
            self._archive.add(cur, pk, generation, population)
            _checkpoints.write_checkpoint(cur, self._archive, pk, generation, population, rng_state)

    def save_generation(self, run_id: str, record: GenerationRecord) -> None:
        """Store one evaluated generation, its replays, the run's bookkeeping and the next population
        (and its checkpoint), all in one transaction."""
        g = record.stats.generation
        with self.transaction() as cur:
            pk = _runs.run_pk(cur, run_id)
            numbers = self._archive.numbers(cur, pk)
            results = RankedResults.of(record.results)
            named = {*results.creature_ids, *(f.creature_id for f in record.frames)}
            # look the few named ids up: a set difference with numbers.keys() would walk every stored id
            if unknown := sorted(cid for cid in named if cid not in numbers):
                raise CreatureNotFound(
                    f"generation {g} names creature {unknown[0]!r}, which run {run_id!r} has not stored"
                )
            _generations.insert_generation(cur, pk, record.stats, results, numbers, time.time())
            raws = raw_replays([(f.frames, f.fitness_over_time) for f in record.frames])
            _replays.insert_replays(
                cur, pk, numbers,
                [(g, f.creature_id, f.reason, raw, f.pellets) for f, raw in zip(record.frames, raws, strict=True)],
            )  # fmt: skip
            self._archive.add(cur, pk, g + 1, record.next_population)
            if record.write_checkpoint:
                _checkpoints.write_checkpoint(cur, self._archive, pk, g + 1, record.next_population, record.rng_state)
            _runs.record_generation(cur, pk, g + 1, record.best, record.longest)

    def generation_stats(self, run_id: str, start: int = 0, stop: int | None = None) -> list[GenerationStats]:
        """Statistics of the stored generations in [start, stop), in order."""
        with self._reading() as cur:
            return _generations.generation_stats(cur, _runs.run_pk(cur, run_id), start, stop)

    def generation(self, run_id: str, generation: int) -> GenerationStats | None:
        """One generation's statistics, or None when it is not stored."""
        rows = self.generation_stats(run_id, generation, generation + 1)
        return rows[0] if rows else None

    def results(self, run_id: str, generation: int) -> list[CreatureResult]:
        """A generation's results, best first (empty when the generation is not stored)."""
        with self._reading() as cur:
            return _generations.results(cur, _runs.run_pk(cur, run_id), generation)

    def generation_creatures(self, run_id: str, generation: int) -> GenerationCreatures:
        """A generation's results, best first, with their creatures' stored genes and birth generations,
        in one read (what a generation's page shows; empty when the generation is not stored)."""
        with self._reading() as cur:
            pk = _runs.run_pk(cur, run_id)
            rows = _generations.results_with_genome_rows(cur, pk, generation)
            genome_rows = [row for _, row in rows]
            return GenerationCreatures(
                results=[result for result, _ in rows],
                genomes=self._archive.batch_of_rows(cur, pk, genome_rows),
                born=[row[3] for row in genome_rows],
            )

    def creature_results(self, run_id: str, creature_id: str) -> list[CreatureResult]:
        """Every result of one creature, by generation."""
        with self._reading() as cur:
            return _generations.creature_results(cur, _runs.run_pk(cur, run_id), creature_id)

    def top_results(self, run_id: str, limit: int = 10) -> list[CreatureResult]:
        """The best results of the run, one per creature (its best generation), best first."""
        with self._reading() as cur:
            return _generations.top_results(cur, _runs.run_pk(cur, run_id), limit)

    def birth_results(self, run_id: str, creature_ids: Sequence[str]) -> dict[str, CreatureResult]:
        """Each creature's result in the generation it was born in (missing when not evaluated yet)."""
        with self._reading() as cur:
            return _generations.birth_results(cur, _runs.run_pk(cur, run_id), creature_ids)

    # -- replays --------------------------------------------------------------------------------------

    def frames(self, run_id: str, generation: int, creature_id: str) -> StoredFrames | None:
        """A creature's stored replay in one generation, or None when the frame policy did not keep it."""
        with self._reading() as cur:
            return _replays.frames(cur, _runs.run_pk(cur, run_id), generation, creature_id)

    def framed_creatures(self, run_id: str, generation: int) -> dict[str, str]:
        """{creature id: why it was kept ("top", "random", "bottom")} for a generation's stored replays."""
        with self._reading() as cur:
            return _replays.framed_creatures(cur, _runs.run_pk(cur, run_id), generation)

    def generation_frames(self, run_id: str, generation: int) -> dict[str, StoredFrames]:
        """Every stored replay of one generation, by creature id."""
        with self._reading() as cur:
            return _replays.generation_frames(cur, _runs.run_pk(cur, run_id), generation)

    def last_poses(self, run_id: str, generation: int) -> dict[str, np.ndarray]:
        """The (n, 3) float32 last frame of each stored replay of one generation, by creature id: what
        `generation_frames` would give as `frames[-1]`, without decoding the other frames."""
        with self._reading() as cur:
            return _replays.last_poses(cur, _runs.run_pk(cur, run_id), generation)

    # -- checkpoints, resume, fork ----------------------------------------------------------------------

    def checkpoint(self, run_id: str, generation: int | None = None) -> Checkpoint | None:
        """The checkpoint for `generation` (default: the latest one), or None."""
        with self._reading() as cur:
            return _checkpoints.read_checkpoint(cur, self._archive, _runs.run_pk(cur, run_id), run_id, generation)

    def truncate(self, run_id: str, generation: int) -> None:
        """Forget every generation from `generation` on (and what only they needed), so the run can be
        continued from its checkpoint for `generation`."""
        with self.transaction() as cur:
            pk = _runs.run_pk(cur, run_id)
            _runs.truncate(cur, pk, generation)
            self._archive.forget_numbers(pk)

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
        `next_population` (checkpointed) as generation `generation` + 1. All of it is stored, or nothing.

        Raises:
            RunNotFound: unknown source run.
            GenerationNotStored: `generation` is not stored in it.
        """
        with self.transaction() as cur:
            source = _runs.require_generation(_runs.get_run(cur, source_id), generation, "fork")
            dst, fork_id = _runs.insert_run(
                cur, source.config, seed, name=name or f"Fork of {source.name} (Gen {generation})", run_id=None,
                parent_run_id=source.id, fork_generation=generation, created_at=None, backend=source.backend,
            )  # fmt: skip
            _runs.copy_history(cur, _runs.run_pk(cur, source_id), dst, generation)
            self._archive.add(cur, dst, generation + 1, next_population)
            _checkpoints.write_checkpoint(cur, self._archive, dst, generation + 1, next_population, rng_state)
            return _runs.get_run(cur, fork_id)

    # -- presets --------------------------------------------------------------------------------------

    def save_preset(self, name: str, config: EvolutionConfig) -> None:
        """Save (or replace) a named configuration."""
        with self.transaction() as cur:
            _presets.save_preset(cur, name, config)

    def presets(self) -> dict[str, EvolutionConfig]:
        """User-saved configurations by name (upgraded to today's settings).

        Raises:
            InvalidStoredSettings: a saved preset no longer validates (its hint says how to remove it).
        """
        with self._reading() as cur:
            return _presets.presets(cur)

    def delete_preset(self, name: str) -> None:
        """Forget a saved configuration.

        Raises:
            PresetNotFound: no such preset.
        """
        with self.transaction() as cur:
            _presets.delete_preset(cur, name)

    # -- export and import ------------------------------------------------------------------------------
    # Rows for `evolab.storage.transfer`: export reads replays and checkpoints as stored (no re-encoding),
    # import writes one whole, already validated run.

    def frame_rows(self, run_id: str) -> list[ReplayRow]:
        """Every stored replay of a run, each compressed on its own (the export document's form), by
        generation and creature.

        Raises:
            RunNotFound: unknown run.
        """
        with self._reading() as cur:
            return _replays.replay_rows(cur, _runs.run_pk(cur, run_id))

    def checkpoint_rows(self, run_id: str) -> list[CheckpointRow]:
        """Every checkpoint of a run without decoding genomes, by generation.

        Raises:
            RunNotFound: unknown run.
        """
        with self._reading() as cur:
            return _checkpoints.checkpoint_rows(cur, _runs.run_pk(cur, run_id))

    def import_run(self, rows: RunRows) -> RunInfo:
        """Write a whole run in one transaction: all of it is stored, or nothing.

        The run keeps its id unless the database already holds it; then it gets a new one. The best
        creature and longest survivor are recomputed from the results.

        Raises:
            AlreadyImported: the run's `origin` names a record another run was imported from.
            StorageError: the database cannot be written.
        """
        return self.import_runs([rows])[0]

    def import_runs(self, runs: Sequence[RunRows]) -> list[RunInfo]:
        """Write several whole runs in one transaction, in order: all of them are stored, or nothing.

        As `import_run`; a run whose `parent_run_id` is the `run_id` of a run written before it in
        `runs` names that run's id as stored (it may have had to take another).

        Raises:
            AlreadyImported: a run's `origin` names a record another run was imported from.
            StorageError: the database cannot be written.
        """
        for rows in runs:
            _runs.check_status(rows.status)
        stored: dict[str, str] = {}
        with self.transaction() as cur:
            infos = []
            for rows in runs:
                info = self._insert_rows(cur, rows, stored.get(rows.parent_run_id or "", rows.parent_run_id))
                stored[rows.run_id] = info.id
                infos.append(info)
            return infos

    def _insert_rows(self, cur: sqlite3.Cursor, rows: RunRows, parent_run_id: str | None) -> RunInfo:
        pk, rid = _runs.insert_run(
            cur, rows.config, rows.seed, name=rows.name, run_id=rows.run_id, parent_run_id=parent_run_id,
            fork_generation=rows.fork_generation, created_at=rows.created_at, backend=rows.backend,
            origin=rows.origin,
        )  # fmt: skip
        by_birth: dict[int, list[Genome]] = {}
        for creature in rows.creatures:
            by_birth.setdefault(creature.born, []).append(creature.genome)
        for born in sorted(by_birth):
            self._archive.add(cur, pk, born, by_birth[born])
        numbers = self._archive.numbers(cur, pk)
        now = time.time()
        for generation in rows.generations:
            results = RankedResults.of(generation.results)
            _generations.insert_generation(cur, pk, generation.stats, results, numbers, now)
        _replays.insert_replay_rows(cur, pk, numbers, rows.replays)
        _checkpoints.insert_checkpoint_rows(cur, pk, numbers, rows.checkpoints)
        cur.execute(
            "UPDATE runs SET status = ?, generation_count = ?, updated_at = ? WHERE pk = ?",
            (rows.status, len(rows.generations), now, pk),
        )
        _runs.recompute_records(cur, pk)
        return _runs.get_run(cur, rid)
