"""What the store hands out and takes in: frozen snapshots, never database rows."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from itertools import repeat
from typing import Any, overload

import numpy as np

from evolab.config import EvolutionConfig
from evolab.genome.batch import GenomeBatch
from evolab.genome.model import Genome

RUN_STATUSES = ("created", "running", "stopped", "completed", "failed")


@dataclass(frozen=True, slots=True)
class RunOrigin:
    """Where an imported run came from (None on a run evolab made).

    Attributes:
        source: what made it: "original-app" (the original browser app's IndexedDB).
        source_id: the run's id there; a second import of the same record is refused.
        settings: what the source stored that evolab has no setting for, JSON-safe (for "original-app":
            `unmapped`, the configuration keys with no evolab counterpart and their values; `config`,
            the configuration as the app stored it; and the run record's histories as stored).
    """

    source: str
    source_id: str
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run as stored.

    Attributes:
        generation_count: generations fully stored (0 .. generation_count - 1).
        status: "created", "running" (a process is writing it), "stopped", "completed" or "failed".
    """

    id: str
    name: str
    config: EvolutionConfig
    seed: int
    status: str
    created_at: float
    updated_at: float
    generation_count: int
    best_fitness: float | None
    best_creature_id: str | None
    best_generation: int | None
    longest_survivor_id: str | None
    longest_streak: int
    longest_generation: int | None
    parent_run_id: str | None
    fork_generation: int | None
    evolab_version: str
    writer_pid: int | None = None
    best_pellets: float | None = None
    """The best creature's mean pellets on the held-out benchmark; None when the run has no benchmark
    scores and its best creature is simply the fittest on its own generation's layouts."""
    backend: str = "cpu"
    """The physics backend the run is evolved on ("cpu", "cuda" or "torch"): its results are bit-exact on
    that backend, so resuming and re-simulating replays use it too."""
    origin: RunOrigin | None = None
    """Where the run was imported from (None: evolab made it)."""

    @property
    def best_by_benchmark(self) -> bool:
        """Whether `best_*` is the run's champion on its held-out benchmark (else the highest fitness)."""
        return self.best_pellets is not None

    @property
    def being_written(self) -> bool:
        """Whether a live process (this one included) is writing the run now: "running" with a writer
        that still exists (a run left "running" by a killed process is not)."""
        return self.status == "running" and self.writer_pid is not None and process_alive(self.writer_pid)


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """Fitness statistics of one evaluated generation."""

    generation: int
    best: float
    average: float
    worst: float
    median: float
    p10: float = 0.0
    p25: float = 0.0
    p75: float = 0.0
    p90: float = 0.0
    disqualified: int = 0
    pellets: int = 0
    node_counts: dict[int, int] = field(default_factory=dict)
    avg_nodes: float = 0.0
    avg_muscles: float = 0.0
    sim_seed: int = 0
    sim_seconds: float = 0.0
    host_seconds: float = 0.0
    benchmark_fitness: float | None = None
    """Mean fitness, over the run's held-out benchmark layouts, of the best of the generation's top
    creatures scored on them; None when the generation was not scored."""
    benchmark_pellets: float | None = None
    """That creature's mean pellets on the benchmark layouts."""
    benchmark_creature: str | None = None

    @classmethod
    def of_population(
        cls,
        generation: int,
        fitness: Sequence[float],
        n_nodes: Sequence[int],
        n_muscles: Sequence[int],
        *,
        disqualified: int,
        pellets: int,
        **measured: Any,
    ) -> GenerationStats:
        """Best, average, worst, median and percentiles of a generation's `fitness` and its node-count
        distribution, with what was measured beside them (`sim_seed`, timings, benchmark fields)."""
        values = np.asarray(fitness, dtype=np.float64)
        p10, p25, p50, p75, p90 = np.percentile(values, [10, 25, 50, 75, 90]).tolist()
        nodes = list(n_nodes)
        return cls(
            generation=generation,
            best=float(values.max()),
            average=float(values.mean()),
            worst=float(values.min()),
            median=p50,
            p10=p10,
            p25=p25,
            p75=p75,
            p90=p90,
            disqualified=disqualified,
            pellets=pellets,
            node_counts=dict(sorted(Counter(nodes).items())),
            avg_nodes=float(np.mean(nodes)),
            avg_muscles=float(np.mean(list(n_muscles))),
            **measured,
        )

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-safe (node counts keyed by strings), in field order: the one shape the export
        file, `evolab stats --json` and the web API share."""
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["node_counts"] = {str(k): v for k, v in sorted(self.node_counts.items())}
        return doc


@dataclass(frozen=True, slots=True)
class CreatureResult:
    """One creature's result in one generation; `rank` 0 is the best."""

    creature_id: str
    generation: int
    rank: int
    fitness: float
    pellets: int
    disqualified: str | None
    survival_streak: int
    distance: float
    displacement: float
    fitness_std: float | None = None
    """Spread (standard deviation) of the fitness over the generation's trials; None for one trial."""
    trial_pellets: tuple[int, ...] | None = None
    """Pellets collected on each trial's layout (`pellets` is their sum); None for one trial."""


@dataclass(frozen=True, slots=True)
class GenerationCreatures:
    """A generation's creatures as its page shows them, read together: `results` best first, `genomes`
    their stored genes in the same order (birth state, a `GenomeBatch`) and `born` the generation each was
    stored first."""

    results: list[CreatureResult]
    genomes: GenomeBatch
    born: list[int]


@dataclass(frozen=True, slots=True)
class RankedResults(Sequence[CreatureResult]):
    """One generation's results best first (rank = index), kept as columns: a run ranks, summarises and
    stores a generation from these without making an object per creature. Indexing or iterating gives
    `CreatureResult`s."""

    generation: int
    creature_ids: list[str]
    fitness: list[float]
    pellets: list[int]
    disqualified: list[str | None]
    survival_streaks: list[int]
    distance: list[float]
    displacement: list[float]
    fitness_std: list[float] | None = None
    trial_pellets: list[tuple[int, ...]] | None = None

    @classmethod
    def of(cls, results: Sequence[CreatureResult]) -> RankedResults:
        """From results listed best first (all of one generation)."""
        if isinstance(results, RankedResults):
            return results
        return cls(
            results[0].generation if results else 0,
            [r.creature_id for r in results],
            [r.fitness for r in results],
            [r.pellets for r in results],
            [r.disqualified for r in results],
            [r.survival_streak for r in results],
            [r.distance for r in results],
            [r.displacement for r in results],
            None if not results or results[0].fitness_std is None else [r.fitness_std for r in results],
            None if not results or results[0].trial_pellets is None else [r.trial_pellets for r in results],
        )

    def __len__(self) -> int:
        return len(self.creature_ids)

    @overload
    def __getitem__(self, rank: int) -> CreatureResult: ...

    @overload
    def __getitem__(self, rank: slice) -> list[CreatureResult]: ...

    def __getitem__(self, rank: int | slice) -> CreatureResult | list[CreatureResult]:
        if isinstance(rank, slice):
            return [self[i] for i in range(*rank.indices(len(self)))]
        try:
            i = range(len(self))[rank]  # negative ranks count from the worst
        except IndexError:
            raise IndexError(f"rank {rank} out of range for {len(self)} results") from None
        return CreatureResult(
            self.creature_ids[i], self.generation, i, self.fitness[i], self.pellets[i], self.disqualified[i],
            self.survival_streaks[i], self.distance[i], self.displacement[i],
            None if self.fitness_std is None else self.fitness_std[i],
            None if self.trial_pellets is None else self.trial_pellets[i],
        )  # fmt: skip

    def __iter__(self) -> Iterator[CreatureResult]:
        columns = (self.pellets, self.disqualified, self.survival_streaks, self.distance, self.displacement,
                   self.fitness_std or repeat(None), self.trial_pellets or repeat(None))  # fmt: skip
        return map(CreatureResult, self.creature_ids, repeat(self.generation), range(len(self)), self.fitness,
                   *columns)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CreatureInfo:
    """Where a creature came from."""

    creature_id: str
    born: int
    parent_ids: tuple[str, ...]
    lineage_generation: int
    n_nodes: int
    n_muscles: int


@dataclass(frozen=True, slots=True, eq=False)
class StoredFrames:
    """A recorded replay: frames (F, n_nodes, 3) float32 at 15 FPS, fitness per frame, pellet events."""

    frames: np.ndarray
    fitness_over_time: np.ndarray
    pellets: tuple[dict, ...]


@dataclass(frozen=True, slots=True, eq=False)
class FramesToStore:
    """A creature's replay as the runner hands it to the store."""

    creature_id: str
    frames: np.ndarray
    fitness_over_time: np.ndarray
    pellets: tuple[dict, ...] | np.ndarray
    """Pellet events, or the int32 rows they are made from (`evolab.storage.replay_block.pellet_dicts`)."""
    reason: str  # "top", "random" or "bottom"


@dataclass(frozen=True, slots=True, eq=False)
class Checkpoint:
    """Everything needed to continue a run exactly: the population about to be evaluated (with each
    elite's current survival streak) and the GA generator state."""

    generation: int
    population: tuple[Genome, ...]
    rng_state: dict


@dataclass(frozen=True, slots=True, eq=False)
class GenerationRecord:
    """One evaluated generation, written in a single transaction.

    Attributes:
        stats: the generation's statistics.
        results: every creature's result, best first (rank = index).
        frames: replays kept by the frame policy.
        next_population: the genomes of the next generation (children not stored yet are added).
        rng_state: the GA generator state after making `next_population`.
        write_checkpoint: store a checkpoint for the next generation.
        best: (fitness, creature id, generation, benchmark pellets) of the best creature ever, after this
            generation: the champion on the held-out benchmark (its benchmark fitness and pellets), or,
            in a run without benchmark scores, the fittest creature (pellets None).
        longest: (streak, creature id, generation) of the longest survivor, after this generation.
    """

    stats: GenerationStats
    results: RankedResults | tuple[CreatureResult, ...]
    frames: tuple[FramesToStore, ...]
    next_population: Sequence[Genome]
    rng_state: dict
    write_checkpoint: bool
    best: tuple[float, str, int, float | None] | None
    longest: tuple[int, str, int] | None


# -- a whole run, row by row: what export reads and import writes -------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class ReplayRow:
    """One stored replay as an export document carries it, frames and fitness each compressed on their
    own (`evolab.storage.frame_codec.compress_raw`)."""

    generation: int
    creature_id: str
    reason: str  # "top", "random" or "bottom"
    frames: bytes
    fitness: bytes
    pellets: tuple[dict, ...]


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """One checkpoint without its genomes: the population as (creature id, survival streak) pairs."""

    generation: int
    members: tuple[tuple[str, int], ...]
    rng_state: dict


@dataclass(frozen=True, slots=True, eq=False)
class BornGenome:
    """A creature of a run: its genome and the generation it was born in."""

    born: int
    genome: Genome


@dataclass(frozen=True, slots=True, eq=False)
class GenerationRows:
    """A stored generation: its statistics and every result, best first."""

    stats: GenerationStats
    results: tuple[CreatureResult, ...]


@dataclass(frozen=True, slots=True, eq=False)
class RunRows:
    """A whole run to import, validated (`evolab.storage.transfer`): creatures in birth order, generations
    contiguous from 0, and every result, replay and checkpoint naming one of its creatures."""

    run_id: str
    name: str
    config: EvolutionConfig
    seed: int
    status: str
    created_at: float
    parent_run_id: str | None
    fork_generation: int | None
    creatures: tuple[BornGenome, ...]
    generations: tuple[GenerationRows, ...]
    replays: tuple[ReplayRow, ...]
    checkpoints: tuple[CheckpointRow, ...]
    backend: str = "cpu"
    origin: RunOrigin | None = None


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
