"""The `generations` and `results` tables: each generation's statistics and its creatures' results.

Helpers take the cursor of the caller's transaction and never commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from itertools import repeat

from evolab.storage._creatures import GENOME_ROW, rows_for_ids
from evolab.storage.creature_keys import creature_key
from evolab.storage.records import CreatureResult, GenerationStats, RankedResults

_STATS_COLUMNS = (
    "generation, best, average, worst, median, p10, p25, p75, p90, disqualified, pellets, node_counts, "
    "avg_nodes, avg_muscles, sim_seed, sim_seconds, host_seconds, benchmark_fitness, benchmark_pellets, "
    "benchmark_creature"
)
_STATS_SELECT = _STATS_COLUMNS.replace("benchmark_creature", "creature_id(benchmark_creature)")
_RESULT_COLUMNS = (
    "creature_id(c.id), r.generation, r.rank, r.fitness, r.pellets, r.disqualified, r.survival_streak, "
    "r.distance, r.displacement, r.fitness_std, r.trial_pellets"
)
_RESULT_WIDTH = _RESULT_COLUMNS.count(",") + 1


def insert_generation(
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


def generation_stats(cur: sqlite3.Cursor, pk: int, start: int, stop: int | None) -> list[GenerationStats]:
    rows = cur.execute(
        f"SELECT {_STATS_SELECT} FROM generations WHERE run_pk = ? AND generation >= ? AND generation < ? "
        "ORDER BY generation",
        (pk, start, stop if stop is not None else 2**62),
    ).fetchall()
    return [_stats_from_row(r) for r in rows]


def results(cur: sqlite3.Cursor, pk: int, generation: int) -> list[CreatureResult]:
    rows = cur.execute(
        f"SELECT {_RESULT_COLUMNS} FROM results r JOIN creatures c ON c.run_pk = r.run_pk AND c.no = r.creature_no "
        "WHERE r.run_pk = ? AND r.generation = ? ORDER BY r.rank",
        (pk, generation),
    ).fetchall()
    return [_result(r) for r in rows]


def results_with_genome_rows(cur: sqlite3.Cursor, pk: int, generation: int) -> list[tuple[CreatureResult, tuple]]:
    """A generation's results, best first, each with its creature's `GENOME_ROW` (what decoding its genome
    needs): one statement, where results and then genomes by id took two and converted every id twice."""
    rows = cur.execute(
        f"SELECT {_RESULT_COLUMNS}, {GENOME_ROW} "
        "FROM results r JOIN creatures c ON c.run_pk = r.run_pk AND c.no = r.creature_no "
        "WHERE r.run_pk = ? AND r.generation = ? ORDER BY r.rank",
        (pk, generation),
    ).fetchall()
    width = _RESULT_WIDTH
    return [(_result(r[:width]), r[width:]) for r in rows]


def creature_results(cur: sqlite3.Cursor, pk: int, creature_id: str) -> list[CreatureResult]:
    rows = cur.execute(  # the creature first, then its results by index (not a scan of the run's results)
        f"SELECT {_RESULT_COLUMNS} FROM creatures c CROSS JOIN results r INDEXED BY results_by_creature "
        "ON r.run_pk = c.run_pk AND r.creature_no = c.no WHERE c.run_pk = ? AND c.id = ? ORDER BY r.generation",
        (pk, creature_key(creature_id)),
    ).fetchall()
    return [_result(r) for r in rows]


def top_results(cur: sqlite3.Cursor, pk: int, limit: int) -> list[CreatureResult]:
    rows = cur.execute(
        f"""
        SELECT {_RESULT_COLUMNS} FROM (
            SELECT *, row_number() OVER (PARTITION BY creature_no ORDER BY fitness DESC, generation) AS k
            FROM results WHERE run_pk = ?
        ) r JOIN creatures c ON c.run_pk = r.run_pk AND c.no = r.creature_no
        WHERE r.k = 1 ORDER BY r.fitness DESC, r.generation, r.rank LIMIT ?
        """,
        (pk, limit),
    ).fetchall()
    return [_result(r) for r in rows]


def birth_results(cur: sqlite3.Cursor, pk: int, creature_ids: Sequence[str]) -> dict[str, CreatureResult]:
    rows = rows_for_ids(
        cur,
        f"SELECT {_RESULT_COLUMNS} FROM wanted CROSS JOIN creatures c JOIN results r ON r.run_pk = c.run_pk "
        "AND r.creature_no = c.no AND r.generation = c.born WHERE c.run_pk = ? AND c.id = wanted.id",
        pk,
        creature_ids,
    )
    return {r[0]: _result(r) for r in rows}


def _result(row: tuple) -> CreatureResult:
    """A result from its `_RESULT_COLUMNS` row (pellets per trial are stored as one byte each)."""
    return CreatureResult(*row[:-1], None if row[-1] is None else tuple(row[-1]))


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
