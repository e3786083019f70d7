"""Runs written by hand, record by record, with chosen fitness values and no simulation."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

from evolab import EvolutionConfig, SimResult
from evolab.genome import Genome, random_genome
from evolab.genome.generate import new_creature_id
from evolab.physics.contract import BatchOutputs
from evolab.physics.pack import PackedBatch
from evolab.physics.simulate import unpack_results
from evolab.storage import CreatureResult, FramesToStore, GenerationRecord, GenerationStats, Store
from tests.hooked_backend import HookedBackend

RUN_TABLES = ("generations", "genome_batches", "creatures", "results", "replays", "checkpoints")
"""Every table whose rows belong to one run (column `run_pk`)."""


def make_stats(generation: int, fitness: Sequence[float], genomes: Sequence[Genome]) -> GenerationStats:
    values = np.asarray(fitness, dtype=np.float64)
    counts: dict[int, int] = {}
    for genome in genomes:
        counts[genome.n_nodes] = counts.get(genome.n_nodes, 0) + 1
    return GenerationStats(
        generation=generation,
        best=float(values.max()),
        average=float(values.mean()),
        worst=float(values.min()),
        median=float(np.median(values)),
        node_counts=dict(sorted(counts.items())),
    )


class HandRun:
    """A run whose generations are saved by hand: `save(fitness)` ranks the current population by the
    given fitness values (population order), stores the generation and moves on to clones of it."""

    def __init__(self, store: Store, rng: np.random.Generator, *, size: int = 4, neural: bool = False) -> None:
        self.store = store
        self.rng = rng
        self.population = [random_genome(rng, neural_hidden_size=3 if neural else None) for _ in range(size)]
        self.id = store.create_run(EvolutionConfig(population_size=size, elite_count=1), seed=7).id
        store.store_population(self.id, 0, self.population, {"next": 0})
        self.generation = 0

    def save(
        self,
        fitness: Sequence[float],
        *,
        generation: int | None = None,
        pellets: Sequence[int] | None = None,
        disqualified: Sequence[str | None] | None = None,
        streaks: Sequence[int] | None = None,
        frames: Sequence[FramesToStore] = (),
        best: tuple[float, str, int, float | None] | None = None,
        longest: tuple[int, str, int] | None = None,
        next_population: Sequence[Genome] | None = None,
        write_checkpoint: bool = True,
        stats: GenerationStats | None = None,
    ) -> GenerationRecord:
        g = self.generation if generation is None else generation
        population = self.population
        n = len(population)
        pellets = pellets if pellets is not None else [0] * n
        disqualified = disqualified if disqualified is not None else [None] * n
        streaks = streaks if streaks is not None else [p.survival_streak for p in population]
        order = np.argsort(-np.asarray(fitness, dtype=np.float64), kind="stable").tolist()
        results = tuple(
            CreatureResult(
                creature_id=population[i].id,
                generation=g,
                rank=rank,
                fitness=float(fitness[i]),
                pellets=pellets[i],
                disqualified=disqualified[i],
                survival_streak=streaks[i],
                distance=1.5 + i,
                displacement=0.25 * i,
            )
            for rank, i in enumerate(order)
        )
        if next_population is None:
            next_population = [
                p.replace(id=new_creature_id(self.rng), parent_ids=(p.id,), generation=p.generation + 1)
                for p in population
            ]
        record = GenerationRecord(
            stats=stats if stats is not None else make_stats(g, fitness, population),
            results=results,
            frames=tuple(frames),
            next_population=tuple(next_population),
            rng_state={"next": g + 1},
            write_checkpoint=write_checkpoint,
            best=best,
            longest=longest,
        )
        self.store.save_generation(self.id, record)
        self.population = list(next_population)
        self.generation = g + 1
        return record


def run_pk(path: Path, run_id: str) -> int:
    """The run's row key, read with a plain sqlite3 connection."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT pk FROM runs WHERE id = ?", (run_id,)).fetchone()[0]


def rows_of_run(path: Path, pk: int) -> dict[str, int]:
    """{table: rows belonging to the run with this row key}, read with a plain sqlite3 connection."""
    with closing(sqlite3.connect(path)) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE run_pk = ?", (pk,)).fetchone()[0]
            for table in RUN_TABLES
        }


class RecordingBackend(HookedBackend):
    """The CPU backend, keeping every generation's genomes and results (on its first pellet layout) for
    comparison with what was stored. `watch(run)` names the run whose generations it is given."""

    def __init__(self) -> None:
        super().__init__(after=self._record)
        self.generations: list[tuple[list[Genome], list[SimResult]]] = []

    def _record(self, batch: PackedBatch, out: BatchOutputs) -> None:
        assert self.watched is not None, "watch(run) first"
        genomes = self.watched.population
        if batch.size == len(genomes) * self.watched.config.trials:  # a generation, not a benchmark call
            first_layout = out.take(slice(0, len(genomes)))
            self.generations.append((genomes, unpack_results(genomes, first_layout, 0, out.recorded)))

    def result(self, generation: int, creature_id: str) -> SimResult:
        genomes, results = self.generations[generation]
        return next(r for g, r in zip(genomes, results, strict=True) if g.id == creature_id)
