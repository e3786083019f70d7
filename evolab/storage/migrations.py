"""Schema versions of the evolab database, applied forward in order (`PRAGMA user_version`).

Each migration is a self-contained function of a cursor, run inside its own transaction together with
the version bump, so a database is always at one exact version. A migration that reads or writes an
encoded format holds a frozen copy of that format as it was (never the live codecs, which move on). Never
edit a released migration: add the next one.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Callable

import zstandard

APPLICATION_ID = 0x45564F4C  # "EVOL": marks the file as an evolab database


def _execute_all(cur: sqlite3.Cursor, script: str) -> None:
    # executescript() would COMMIT first and break the migration's transaction: run statements one by one
    for statement in script.split(";"):
        if statement.strip():
            cur.execute(statement)


def _v1_initial(cur: sqlite3.Cursor) -> None:
    """Runs, generations, creatures (genomes stored once, in per-generation batches), results,
    frames, checkpoints and presets (DESIGN §7). Replays live in a rowid table: their kilobyte rows would
    fragment a WITHOUT ROWID b-tree."""
    _execute_all(
        cur,
        """
        CREATE TABLE runs (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            config TEXT NOT NULL,
            seed INTEGER NOT NULL,
            status TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            generation_count INTEGER NOT NULL DEFAULT 0,
            best_fitness REAL,
            best_creature TEXT,
            best_generation INTEGER,
            longest_creature TEXT,
            longest_streak INTEGER NOT NULL DEFAULT 0,
            longest_generation INTEGER,
            parent_run_id TEXT,
            fork_generation INTEGER,
            evolab_version TEXT NOT NULL,
            writer_pid INTEGER
        );
        CREATE TABLE generations (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            generation INTEGER NOT NULL,
            best REAL NOT NULL,
            average REAL NOT NULL,
            worst REAL NOT NULL,
            median REAL NOT NULL,
            p10 REAL NOT NULL,
            p25 REAL NOT NULL,
            p75 REAL NOT NULL,
            p90 REAL NOT NULL,
            disqualified INTEGER NOT NULL,
            pellets INTEGER NOT NULL,
            node_counts TEXT NOT NULL,
            avg_nodes REAL NOT NULL,
            avg_muscles REAL NOT NULL,
            sim_seed INTEGER NOT NULL,
            sim_seconds REAL NOT NULL,
            host_seconds REAL NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (run_pk, generation)
        ) WITHOUT ROWID;
        CREATE TABLE genome_batches (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            batch INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (run_pk, batch)
        ) WITHOUT ROWID;
        CREATE TABLE creatures (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            no INTEGER NOT NULL,
            id TEXT NOT NULL,
            born INTEGER NOT NULL,
            parent1 TEXT,
            parent2 TEXT,
            lineage INTEGER NOT NULL,
            n_nodes INTEGER NOT NULL,
            n_muscles INTEGER NOT NULL,
            batch INTEGER NOT NULL,
            slot INTEGER NOT NULL,
            PRIMARY KEY (run_pk, no),
            UNIQUE (run_pk, id)
        ) WITHOUT ROWID;
        CREATE TABLE results (
            run_pk INTEGER NOT NULL,
            generation INTEGER NOT NULL,
            rank INTEGER NOT NULL,
            creature_no INTEGER NOT NULL,
            fitness REAL NOT NULL,
            pellets INTEGER NOT NULL,
            disqualified TEXT,
            survival_streak INTEGER NOT NULL,
            distance REAL NOT NULL,
            displacement REAL NOT NULL,
            PRIMARY KEY (run_pk, generation, rank),
            FOREIGN KEY (run_pk, generation) REFERENCES generations(run_pk, generation) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX results_by_creature ON results(run_pk, creature_no);
        CREATE TABLE creature_frames (
            run_pk INTEGER NOT NULL,
            generation INTEGER NOT NULL,
            creature_no INTEGER NOT NULL,
            reason TEXT NOT NULL,
            frames BLOB NOT NULL,
            fitness BLOB NOT NULL,
            pellets TEXT NOT NULL,
            UNIQUE (run_pk, generation, creature_no),
            FOREIGN KEY (run_pk, generation) REFERENCES generations(run_pk, generation) ON DELETE CASCADE
        );
        CREATE TABLE checkpoints (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            generation INTEGER NOT NULL,
            population BLOB NOT NULL,
            rng_state TEXT NOT NULL,
            PRIMARY KEY (run_pk, generation)
        ) WITHOUT ROWID;
        CREATE TABLE presets (
            name TEXT PRIMARY KEY,
            config TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        """,
    )


def _v2_replay_blocks(cur: sqlite3.Cursor) -> None:
    """A generation's replays in one row (`replays`, see `evolab.storage.replay_block`) instead of one
    row per creature: about a tenth of the file was half-empty pages. Stored replays move over unchanged
    (same quanta, same values); `creature_frames` goes. Genome batches (tens of kB each) move to a rowid
    table, whose overflow pages they fill better than a WITHOUT ROWID b-tree's. Creature ids and parent
    ids made by evolab are stored as 64-bit numbers (`evolab.storage.creature_keys`; the columns have no
    type, so other ids stay text), and the creatures' `batch` column (always their birth generation)
    goes."""
    _execute_all(
        cur,
        """
        CREATE TABLE genome_batches_v2 (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            batch INTEGER NOT NULL,
            data BLOB NOT NULL,
            UNIQUE (run_pk, batch)
        );
        INSERT INTO genome_batches_v2 (run_pk, batch, data) SELECT run_pk, batch, data FROM genome_batches;
        DROP TABLE genome_batches;
        ALTER TABLE genome_batches_v2 RENAME TO genome_batches;
        CREATE TABLE creatures_v2 (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            no INTEGER NOT NULL,
            id NOT NULL,
            born INTEGER NOT NULL,
            parent1,
            parent2,
            lineage INTEGER NOT NULL,
            n_nodes INTEGER NOT NULL,
            n_muscles INTEGER NOT NULL,
            slot INTEGER NOT NULL,
            PRIMARY KEY (run_pk, no),
            UNIQUE (run_pk, id)
        ) WITHOUT ROWID;
        INSERT INTO creatures_v2 (run_pk, no, id, born, parent1, parent2, lineage, n_nodes, n_muscles, slot)
            SELECT run_pk, no, creature_key(id), born, creature_key(parent1), creature_key(parent2), lineage,
                n_nodes, n_muscles, slot FROM creatures;
        DROP TABLE creatures;
        ALTER TABLE creatures_v2 RENAME TO creatures;
        CREATE TABLE replays (
            run_pk INTEGER NOT NULL,
            generation INTEGER NOT NULL,
            data BLOB NOT NULL,
            UNIQUE (run_pk, generation),
            FOREIGN KEY (run_pk, generation) REFERENCES generations(run_pk, generation) ON DELETE CASCADE
        )
        """,
    )
    reader = cur.connection.cursor()
    reader.execute(
        "SELECT run_pk, generation, creature_no, reason, frames, fitness, pellets FROM creature_frames "
        "ORDER BY run_pk, generation, creature_no"
    )
    insert = "INSERT INTO replays (run_pk, generation, data) VALUES (?, ?, ?)"
    key, entries = None, []
    for run_pk, generation, creature_no, reason, frames, fitness, pellets in reader:
        if (run_pk, generation) != key:
            if entries:
                cur.execute(insert, (*key, _v2_replay_block(entries)))
            key, entries = (run_pk, generation), []
        entries.append((creature_no, reason, frames, fitness, json.loads(pellets)))
    if entries:
        cur.execute(insert, (*key, _v2_replay_block(entries)))
    cur.execute("DROP TABLE creature_frames")


# Schema 1's replays (EVF1) and the block they became (EVB1), frozen as migration 2 read and wrote them.
_V1_REPLAY = struct.Struct("<4sHHdd")  # magic, frames, nodes, position quantum, fitness quantum; then zstd
_V2_BLOCK = struct.Struct("<4sI")  # magic, replay count; then one zstd frame over the body
_V2_BLOCK_ENTRY = struct.Struct("<IHH3ddBII")  # creature, frames, nodes, quanta, fitness quantum, byte counts


def _v2_replay_block(entries: list[tuple[int, str, bytes, bytes, list]]) -> bytes:
    """One generation's schema-1 replays, (creature number, reason, frames blob, fitness blob, pellet
    events), as an EVB1 block: a table of entries, the reasons, every replay's position planes, every
    replay's fitness planes, then the pellet events as one JSON array."""
    decompressor = zstandard.ZstdDecompressor()
    table, reasons, positions, fitness, events = [], [], [], [], []
    for creature_no, reason, frames_blob, fitness_blob, pellets in entries:
        magic, n_frames, n_nodes, quantum, fitness_quantum = _V1_REPLAY.unpack_from(frames_blob)
        if magic != b"EVF1":
            raise ValueError(f"a schema 1 replay has format {magic!r}, not EVF1")
        planes = decompressor.decompress(frames_blob[_V1_REPLAY.size :])
        fitness_planes = decompressor.decompress(fitness_blob)
        label = reason.encode()
        table.append(
            _V2_BLOCK_ENTRY.pack(
                creature_no, n_frames, n_nodes, quantum, quantum, quantum, fitness_quantum, len(label),
                len(planes), len(fitness_planes),
            )
        )  # fmt: skip
        reasons.append(label)
        positions.append(planes)
        fitness.append(fitness_planes)
        events.append(list(pellets))
    body = b"".join([*table, *reasons, *positions, *fitness, json.dumps(events, separators=(",", ":")).encode()])
    return _V2_BLOCK.pack(b"EVB1", len(entries)) + zstandard.ZstdCompressor(level=1).compress(body)


def _v3_trials_and_benchmark(cur: sqlite3.Cursor) -> None:
    """Fitness over several trials and a held-out benchmark score per generation: results keep their
    fitness spread and pellets per trial (NULL for one trial), generations the benchmark score of their
    best scored creature, runs the benchmark pellets of their champion (NULL: the best is by fitness).
    Stored configurations gain the settings their runs were made with (one trial, no benchmark), so
    older runs resume exactly as they began; the config JSON is edited here, not by the live models."""
    _execute_all(
        cur,
        """
        ALTER TABLE results ADD COLUMN fitness_std REAL;
        ALTER TABLE results ADD COLUMN trial_pellets BLOB;
        ALTER TABLE generations ADD COLUMN benchmark_fitness REAL;
        ALTER TABLE generations ADD COLUMN benchmark_pellets REAL;
        ALTER TABLE generations ADD COLUMN benchmark_creature;
        ALTER TABLE runs ADD COLUMN best_pellets REAL
        """,
    )
    for pk, text in cur.execute("SELECT pk, config FROM runs").fetchall():
        cur.execute(
            "UPDATE runs SET config = ? WHERE pk = ?", (json.dumps(settings_before_trials(json.loads(text))), pk)
        )


def settings_before_trials(config: dict) -> dict:
    """A configuration stored before evolab had trials and benchmarks, with the values its run used:
    one trial per creature, no benchmark (a configuration that has them is returned unchanged)."""
    if "trials" in config:
        return config
    return {**config, "trials": 1, "benchmark": {**config.get("benchmark", {}), "enabled": False}}


def _v4_settings_versions(cur: sqlite3.Cursor) -> None:
    """Stored configurations carry the settings version they were written in (`evolab.storage.settings`):
    1 for the shape before trials and benchmarks (saved presets of schemas 1 and 2, which migration 3 left
    as they were), 2 for today's (every run's, since migration 3 rewrote them)."""
    for table in ("runs", "presets"):
        cur.execute(f"ALTER TABLE {table} ADD COLUMN settings_version INTEGER NOT NULL DEFAULT 2")
        cur.execute(f"UPDATE {table} SET settings_version = 1 WHERE json_type(config, '$.trials') IS NULL")


def _v5_backends(cur: sqlite3.Cursor) -> None:
    """A run records the physics backend it was evolved on (results are bit-exact per backend): every
    run stored before there was a choice ran on the CPU kernel."""
    cur.execute("ALTER TABLE runs ADD COLUMN backend TEXT NOT NULL DEFAULT 'cpu'")


def _v6_origins(cur: sqlite3.Cursor) -> None:
    """Runs brought from elsewhere say where from: `origin` names the source ("original-app": the
    original browser app's IndexedDB), `origin_id` the record's id there (so a second import of the
    same record is refused) and `origin_settings` what the source stored that evolab has no setting
    for (JSON). `flagged_genomes` lists the creatures whose genomes, imported as they were, are outside
    evolab's ranges, with the first value out of range: they are kept and replayed, never simulated or
    bred. Runs made by evolab have NULL origins and no flagged genomes."""
    _execute_all(
        cur,
        """
        ALTER TABLE runs ADD COLUMN origin TEXT;
        ALTER TABLE runs ADD COLUMN origin_id TEXT;
        ALTER TABLE runs ADD COLUMN origin_settings TEXT;
        CREATE INDEX runs_by_origin ON runs(origin, origin_id) WHERE origin IS NOT NULL;
        CREATE TABLE flagged_genomes (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            creature_no INTEGER NOT NULL,
            problem TEXT NOT NULL,
            PRIMARY KEY (run_pk, creature_no)
        ) WITHOUT ROWID
        """,
    )


MIGRATIONS: tuple[Callable[[sqlite3.Cursor], None], ...] = (
    _v1_initial,
    _v2_replay_blocks,
    _v3_trials_and_benchmark,
    _v4_settings_versions,
    _v5_backends,
    _v6_origins,
)
"""MIGRATIONS[k] takes a database from version k to k + 1."""
LATEST_VERSION = len(MIGRATIONS)
