"""An original-app dump as evolab runs: validated completely, then written in one transaction.

Each run record becomes a run marked as imported (`RunOrigin("original-app", its id, ...)`), with every
generation's results best first, every genome once (born in the first generation it appears in), every
stored frame as a stored replay, and checkpoints so that it can be forked at any generation and
continued with `evolab evolve --resume`:

- The checkpoint of generation g holds generation g's genomes that are within evolab's ranges, with the
  streaks they ran with: a fork at g breeds from those (with their stored fitness). The GA only ever
  breeds genomes within evolab's ranges; flagged ones stay in their generations, results and replays.
- The checkpoint of the generation after the last holds the last generation's in-range genomes: the
  first generation `--resume` evaluates is that population judged by evolab's physics (the original's
  fitness came from other physics), and breeding goes on from those scores.

A run whose first generations are the same records as an earlier run's (the app's fork copies them) is a
fork of it at the last generation they share. Best creature and longest survivor are recomputed from the
generations (the app's records usually lack them).
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from evolab.config import EvolutionConfig
from evolab.errors import EvolabError
from evolab.genome import Genome
from evolab.storage._runs import new_run_id
from evolab.storage.original.dump import DumpError, GenerationRecord, OriginalDump, RunRecord
from evolab.storage.original.frames import (
    ORIGINAL_APP,
    fits_a_replay,
    frame_positions,
    original_frame_times,
    pellet_events,
    replay_row,
)
from evolab.storage.original.genomes import OriginalLimits, convert_genome
from evolab.storage.original.mapping import map_config
from evolab.storage.records import (
    BornGenome,
    CheckpointRow,
    CreatureResult,
    GenerationRows,
    GenerationStats,
    RunInfo,
    RunOrigin,
    RunRows,
)
from evolab.storage.store import Store

SOURCE = ORIGINAL_APP
_REASONS = ("top", "random", "bottom")


@dataclass(frozen=True, slots=True, eq=False)
class ImportPlan:
    """A validated dump, as the rows of its runs (parents before their forks), and what it held."""

    runs: tuple[RunRows, ...]
    generations: int
    creatures: int
    """Results: one per creature per generation, as the dump stored them."""
    genomes: int
    """Distinct genomes (a creature surviving as an elite is stored once)."""
    flagged: int
    """Distinct genomes outside evolab's ranges, imported as they are."""
    replays: int
    replays_not_kept: int
    """Stored frames not kept as replays: exploded creatures beyond `frames.REPLAY_REACH`."""
    unmapped: tuple[str, ...]
    """Configuration keys with no evolab counterpart, over every run (kept in each run's origin)."""
    forks: tuple[tuple[str, str, int], ...]
    """(fork's original id, its source's original id, the last generation they share)."""


def _signature(record: GenerationRecord) -> tuple:
    return tuple((r.genome.get("id"), r.fitness) for r in record.results)


def _fork_sources(runs: list[RunRecord], by_run: dict[str, list[GenerationRecord]]) -> dict[str, tuple[str, int]]:
    """{fork id: (source id, last shared generation)}: the earlier run sharing the longest prefix."""
    signatures = {r.id: [_signature(g) for g in by_run[r.id]] for r in runs}
    forks = {}
    for i, run in enumerate(runs):
        best = (0, None)
        for earlier in runs[:i]:
            shared = 0
            for a, b in zip(signatures[earlier.id], signatures[run.id], strict=False):
                if a != b:
                    break
                shared += 1
            if shared > best[0] or (shared == best[0] and shared and best[1] is not None):
                best = (shared, earlier.id)
        if best[1] is not None:
            forks[run.id] = (best[1], best[0] - 1)
    return forks


def plan_import(dump: OriginalDump) -> ImportPlan:
    """Check a dump completely and build its runs' rows, touching no database.

    Raises:
        DumpError: the first problem, naming the record and field (nothing is written).
    """
    ids = Counter(r.id for r in dump.runs)
    if twice := [i for i, n in ids.items() if n > 1]:
        raise DumpError(f"runs: run {twice[0]!r} appears twice")
    run_index = {r.id: i for i, r in enumerate(dump.runs)}
    by_run: dict[str, list[GenerationRecord]] = {r.id: [] for r in dump.runs}
    where_of: dict[int, str] = {}
    seen: set[tuple[str, int]] = set()
    for i, g in enumerate(dump.generations):
        if g.runId not in by_run:
            raise DumpError(f"generations[{i}].runId: no run {g.runId!r} in runs (a generation without its run)")
        if (g.runId, g.generation) in seen:
            raise DumpError(f"generations[{i}]: generation {g.generation} of run {g.runId!r} appears twice")
        seen.add((g.runId, g.generation))
        by_run[g.runId].append(g)
        where_of[id(g)] = f"generations[{i}]"
    for run_id, records in by_run.items():
        records.sort(key=lambda g: g.generation)
        for k, g in enumerate(records):
            if g.generation != k:
                raise DumpError(
                    f"{where_of[id(g)]}.generation: run {run_id!r} has no generation {k} before generation "
                    f"{g.generation}; evolab stores generations without gaps"
                )
    ordered = sorted(dump.runs, key=lambda r: (r.startTime, run_index[r.id]))
    forks = _fork_sources(ordered, by_run)
    rows, unmapped = [], {}
    totals = Counter()
    evolab_ids: dict[str, str] = {}
    for run in ordered:
        where = f"runs[{run_index[run.id]}]"
        mapped = map_config(run.config, f"{where}.config")
        for key in mapped.unmapped:
            unmapped.setdefault(key, None)
        evolab_ids[run.id] = new_run_id(run.startTime / 1000, zlib.crc32(run.id.encode()))
        parent = forks.get(run.id)
        built = _run_rows(
            run, where, by_run[run.id], where_of, mapped.config, OriginalLimits.of(run.config, mapped.config), totals
        )
        rows.append(
            RunRows(
                run_id=evolab_ids[run.id],
                name=run.name or f"original {run.id}",
                config=mapped.config,
                seed=int(run.startTime) % 2**63,
                status="stopped",
                created_at=run.startTime / 1000,
                parent_run_id=None if parent is None else evolab_ids[parent[0]],
                fork_generation=None if parent is None else parent[1],
                origin=RunOrigin(SOURCE, run.id, _origin_settings(run, mapped.unmapped)),
                **built,
            )
        )
    return ImportPlan(
        runs=tuple(rows),
        generations=totals["generations"],
        creatures=totals["creatures"],
        genomes=totals["genomes"],
        flagged=totals["flagged"],
        replays=totals["replays"],
        replays_not_kept=totals["unkept"],
        unmapped=tuple(unmapped),
        forks=tuple((fork, source, shared) for fork, (source, shared) in forks.items()),
    )


def _origin_settings(run: RunRecord, unmapped: dict[str, Any]) -> dict[str, Any]:
    """What the run record held that evolab's settings do not: kept as stored (a fork's histories
    repeat the generation it was forked at, reference §10.16)."""
    return {
        "unmapped": unmapped,
        "config": run.config,
        "generation_count": run.generationCount,
        "fitness_history": None if run.fitnessHistory is None else [e.model_dump() for e in run.fitnessHistory],
        "creature_type_history": None
        if run.creatureTypeHistory is None
        else [{"generation": e.generation, "nodeCountDistribution": [list(p) for p in e.nodeCountDistribution]}
              for e in run.creatureTypeHistory],
    }  # fmt: skip


def _run_rows(
    run: RunRecord,
    where: str,
    records: list[GenerationRecord],
    where_of: dict[int, str],
    config: EvolutionConfig,
    limits: OriginalLimits,
    totals: Counter,
) -> dict[str, Any]:
    genomes: dict[str, Genome] = {}
    born: dict[str, int] = {}
    creatures: list[BornGenome] = []
    generations, replays, checkpoints = [], [], []
    rng_state = np.random.default_rng(int(run.startTime) % 2**63).bit_generator.state
    schedule = original_frame_times(config.sim.duration)
    for record in records:
        g = record.generation
        at = where_of[id(record)]
        members, order, here = [], [], set()
        for j, result in enumerate(record.results):
            rwhere = f"{at}.results[{j}]"
            gid = result.genome.get("id")
            if gid in here:
                raise DumpError(f"{rwhere}.genome.id: {gid!r} appears twice in generation {g}")
            if isinstance(gid, str) and gid in genomes:
                genome = genomes[gid]
                if _genes_differ(genome, result.genome, f"{rwhere}.genome"):
                    raise DumpError(
                        f"{rwhere}.genome: creature {gid!r} has other genes than in generation "
                        f"{born[gid]} (an elite is carried over unchanged)"
                    )
            else:
                genome = convert_genome(result.genome, config, limits, f"{rwhere}.genome")
                genomes[genome.id] = genome
                creatures.append(BornGenome(g, genome))
                born[genome.id] = g
            here.add(genome.id)
            streak = result.genome.get("survivalStreak", 0)
            streak = streak if isinstance(streak, int) and not isinstance(streak, bool) and streak >= 0 else 0
            positions = frame_positions(result, genome.n_nodes, schedule, rwhere)
            events = pellet_events(result, positions, genome, rwhere)
            order.append((j, genome, streak, positions, events))
            if genome.out_of_range is None:
                members.append((genome.id, streak))
        # best first, as evolab ranks; ties keep the app's order
        ranked = sorted(order, key=lambda item: -record.results[item[0]].fitness)
        results = []
        for rank, (j, genome, streak, positions, events) in enumerate(ranked):
            stored = record.results[j]
            results.append(
                CreatureResult(
                    genome.id, g, rank, stored.fitness, stored.pellets, stored.disqualified, streak, 0.0, 0.0
                )
            )
            if len(positions) and not fits_a_replay(positions):
                totals["unkept"] += 1
            elif len(positions):
                reason = "top" if rank < 10 else ("bottom" if rank >= len(ranked) - 5 else "random")
                replays.append(replay_row(g, genome.id, reason, positions, stored.fitness, events))
        generations.append(
            GenerationRows(_stats(g, [genomes[r.creature_id] for r in results], results), tuple(results))
        )
        checkpoints.append(CheckpointRow(g, tuple(members), rng_state))
        totals["creatures"] += len(results)
    if checkpoints and checkpoints[-1].members:
        last = checkpoints[-1]
        checkpoints.append(CheckpointRow(last.generation + 1, last.members, rng_state))
    else:
        checkpoints = []  # nothing in range to continue from: no resume, and forks say why they cannot breed
    totals["generations"] += len(generations)
    totals["genomes"] += len(genomes)
    totals["flagged"] += sum(1 for genome in genomes.values() if genome.out_of_range is not None)
    totals["replays"] += len(replays)
    return {
        "creatures": tuple(creatures),
        "generations": tuple(generations),
        "replays": tuple(replays),
        "checkpoints": tuple(checkpoints),
    }


def _genes_differ(genome: Genome, data: dict[str, Any], where: str) -> bool:
    """Whether a stored genome dict holds other genes than `genome` (its survival streak aside).

    Raises:
        DumpError: the dict is not a genome.
    """
    try:
        again = Genome.from_dict(data)
    except EvolabError as err:
        raise DumpError(f"{where}.{err}") from None
    return again.replace(survival_streak=genome.survival_streak) != genome.replace(out_of_range=None)


def _stats(generation: int, genomes: list[Genome], results: list[CreatureResult]) -> GenerationStats:
    """A generation's statistics from its stored results, as evolab computes them."""
    if not results:
        return GenerationStats(generation, 0.0, 0.0, 0.0, 0.0)
    return GenerationStats.of_population(
        generation,
        [r.fitness for r in results],
        [g.n_nodes for g in genomes],
        [g.n_muscles for g in genomes],
        disqualified=sum(r.disqualified is not None for r in results),
        pellets=sum(r.pellets for r in results),
    )


def import_dump(store: Store, plan: ImportPlan) -> list[RunInfo]:
    """Write a planned dump's runs in one transaction: all of them, or nothing.

    Raises:
        AlreadyImported: a run of the dump was imported into this database before (nothing is written).
        StorageError: the database cannot be written (nothing is written).
    """
    return store.import_runs(plan.runs)
