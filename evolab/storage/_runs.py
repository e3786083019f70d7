"""The `runs` table: a run's row, its bookkeeping (best creature, longest survivor) and its lifecycle.

Helpers take the cursor of the caller's transaction and never commit.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from datetime import UTC, datetime

from evolab.config import EvolutionConfig
from evolab.errors import (
    AlreadyImported,
    EvolabError,
    GenerationNotStored,
    InvalidInput,
    InvalidStoredSettings,
    RunNotFound,
)
from evolab.storage.records import RUN_STATUSES, RunInfo, RunOrigin
from evolab.storage.settings import upgrade_settings

_COLUMNS = (
    "pk, id, name, config, seed, status, created_at, updated_at, generation_count, best_fitness, best_creature, "
    "best_generation, longest_creature, longest_streak, longest_generation, parent_run_id, fork_generation, "
    "evolab_version, writer_pid, best_pellets, settings_version, backend, origin, origin_id, origin_settings"
)


def new_run_id(now: float | None = None, entropy: int | None = None) -> str:
    """A unique, sortable run id: run_YYYYMMDD_HHMMSS_xxxx (xxxx: 16 random bits in hex)."""
    stamp = datetime.fromtimestamp(now if now is not None else time.time(), tz=UTC).strftime("%Y%m%d_%H%M%S")
    tail = entropy if entropy is not None else int.from_bytes(os.urandom(2), "little")
    return f"run_{stamp}_{tail & 0xFFFF:04x}"


def run_pk(cur: sqlite3.Cursor, run_id: str) -> int:
    row = cur.execute("SELECT pk FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise RunNotFound(f"unknown run {run_id!r}", hint="`evolab runs` lists the runs of a database")
    return row[0]


def find_run(cur: sqlite3.Cursor, run_id: str) -> RunInfo | None:
    row = cur.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    return _run_from_row(row) if row is not None else None


def get_run(cur: sqlite3.Cursor, run_id: str) -> RunInfo:
    run = find_run(cur, run_id)
    if run is None:
        raise RunNotFound(f"unknown run {run_id!r}", hint="`evolab runs` lists the runs of a database")
    return run


def list_runs(cur: sqlite3.Cursor) -> list[RunInfo]:
    rows = cur.execute(f"SELECT {_COLUMNS} FROM runs ORDER BY created_at DESC, pk DESC").fetchall()
    return [_run_from_row(r) for r in rows]


def require_generation(run: RunInfo, generation: int, action: str) -> RunInfo:
    if not 0 <= generation < run.generation_count:
        raise GenerationNotStored(
            f"run {run.id!r} has generations 0 to {run.generation_count - 1}; cannot {action} at {generation}"
        )
    return run


def check_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise InvalidInput(f"unknown run status {status!r} (one of {', '.join(RUN_STATUSES)})")


def insert_run(
    cur: sqlite3.Cursor,
    config: EvolutionConfig,
    seed: int,
    *,
    name: str | None,
    run_id: str | None,
    parent_run_id: str | None,
    fork_generation: int | None,
    created_at: float | None,
    backend: str = "cpu",
    origin: RunOrigin | None = None,
) -> tuple[int, str]:
    """Register a new run (status "created"); its (pk, id). A taken `run_id` is replaced by a new one.

    Raises:
        AlreadyImported: `origin` names a record another run of the database was imported from.
    """
    from evolab import __version__
    from evolab.storage.settings import SETTINGS_VERSION

    if origin is not None:
        twin = cur.execute(
            "SELECT id FROM runs WHERE origin = ? AND origin_id = ?", (origin.source, origin.source_id)
        ).fetchone()
        if twin is not None:
            raise AlreadyImported(
                f"run {origin.source_id!r} ({origin.source}) was imported already, as {twin[0]!r}; nothing was written",
                hint=f"`evolab show {twin[0]}` shows it; `evolab delete {twin[0]} --yes` first to import it again",
            )
    now = time.time()
    rid = run_id or new_run_id(now)
    while cur.execute("SELECT 1 FROM runs WHERE id = ?", (rid,)).fetchone():
        rid = new_run_id(now)
    cur.execute(
        "INSERT INTO runs (id, name, config, seed, status, created_at, updated_at, parent_run_id, "
        "fork_generation, evolab_version, settings_version, backend, origin, origin_id, origin_settings) "
        "VALUES (?, ?, ?, ?, 'created', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            SETTINGS_VERSION,
            backend,
            None if origin is None else origin.source,
            None if origin is None else origin.source_id,
            None if origin is None else json.dumps(origin.settings, separators=(",", ":")),
        ),
    )
    return cur.lastrowid, rid


def rename_run(cur: sqlite3.Cursor, run_id: str, name: str) -> None:
    if not name.strip():
        raise InvalidInput("a run name cannot be empty")
    cur.execute(
        "UPDATE runs SET name = ?, updated_at = ? WHERE pk = ?", (name.strip(), time.time(), run_pk(cur, run_id))
    )


def set_status(cur: sqlite3.Cursor, pk: int, status: str, writer_pid: int | None, backend: str | None = None) -> None:
    check_status(status)
    cur.execute(
        "UPDATE runs SET status = ?, writer_pid = ?, updated_at = ?, backend = coalesce(?, backend) WHERE pk = ?",
        (status, writer_pid, time.time(), backend, pk),
    )


def record_generation(
    cur: sqlite3.Cursor,
    pk: int,
    generation_count: int,
    best: tuple | None,
    longest: tuple | None,
) -> None:
    """A generation was stored: the run's generation count and its best and longest-surviving creatures."""
    best = best or (None, None, None, None)
    longest = longest or (0, None, None)
    cur.execute(
        "UPDATE runs SET generation_count = max(generation_count, ?), best_fitness = ?, best_creature = ?, "
        "best_generation = ?, best_pellets = ?, longest_streak = ?, longest_creature = ?, "
        "longest_generation = ?, updated_at = ? WHERE pk = ?",
        (generation_count, *best, longest[0], longest[1], longest[2], time.time(), pk),
    )


def recompute_records(cur: sqlite3.Cursor, pk: int) -> None:
    """Best creature ever and longest survivor from the stored results (after a truncate, a fork or an
    import): the champion on the benchmark where generations were scored on it, else the highest fitness."""
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


@functools.lru_cache(maxsize=1024)
def _stored_config(text: str, settings_version: int) -> EvolutionConfig:
    """A run's stored configuration, parsed and validated once: a server reads the run on every request
    (a tenth of a millisecond each time), and the frozen config it gives can be shared."""
    return EvolutionConfig.from_mapping(upgrade_settings(json.loads(text), settings_version), source="settings")


def _run_from_row(row: tuple) -> RunInfo:
    try:
        config = _stored_config(row[3], row[20])
    except (ValueError, EvolabError) as err:
        raise InvalidStoredSettings(f"run {row[1]!r}: stored configuration is invalid ({err})") from None
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
        backend=row[21],
        origin=None if row[22] is None else RunOrigin(row[22], row[23], json.loads(row[24] or "{}")),
    )


def copy_history(cur: sqlite3.Cursor, src: int, dst: int, generation: int) -> None:
    """Copy run `src`'s generations 0..`generation` (with their creatures, genomes, results and replays)
    into run `dst`, which then has `generation` + 1 generations, stopped."""
    for table, where in (
        ("generations", "generation <= :g"),
        ("genome_batches", "batch <= :g"),
        ("creatures", "born <= :g"),
        ("results", "generation <= :g"),
        ("replays", "generation <= :g"),
        ("flagged_genomes", "creature_no IN (SELECT no FROM creatures WHERE run_pk = :src AND born <= :g)"),
    ):
        columns = [r[1] for r in cur.execute(f"PRAGMA table_info({table})").fetchall()]
        others = ", ".join(c for c in columns if c != "run_pk")
        cur.execute(
            f"INSERT INTO {table} (run_pk, {others}) SELECT :dst, {others} FROM {table} "
            f"WHERE run_pk = :src AND {where}",
            {"dst": dst, "src": src, "g": generation},
        )
    cur.execute("UPDATE runs SET generation_count = ?, status = 'stopped' WHERE pk = ?", (generation + 1, dst))
    recompute_records(cur, dst)


def truncate(cur: sqlite3.Cursor, pk: int, generation: int) -> None:
    """Forget every generation from `generation` on, and what only they needed."""
    cur.execute("DELETE FROM generations WHERE run_pk = ? AND generation >= ?", (pk, generation))
    cur.execute("DELETE FROM checkpoints WHERE run_pk = ? AND generation > ?", (pk, generation))
    cur.execute(
        "DELETE FROM flagged_genomes WHERE run_pk = ? AND creature_no IN "
        "(SELECT no FROM creatures WHERE run_pk = ? AND born > ?)",
        (pk, pk, generation),
    )
    cur.execute("DELETE FROM creatures WHERE run_pk = ? AND born > ?", (pk, generation))
    cur.execute("DELETE FROM genome_batches WHERE run_pk = ? AND batch > ?", (pk, generation))
    cur.execute(
        "UPDATE runs SET generation_count = min(generation_count, ?), updated_at = ? WHERE pk = ?",
        (generation, time.time(), pk),
    )
    recompute_records(cur, pk)
