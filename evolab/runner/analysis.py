"""Turning a generation's simulation results into ranked results, statistics and kept replays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from evolab.config import FramePolicy
from evolab.genome.batch import GenomeBatch
from evolab.genome.model import Genome
from evolab.physics.contract import FetchedRows, PendingRows
from evolab.physics.simulate import (
    DISQUALIFICATION_REASONS,
    BatchOutputs,
    frame_of_step,
    pellet_tables,
    trial_mean,
    trial_std,
)
from evolab.runner.benchmark import BenchmarkScore
from evolab.storage.records import FramesToStore, GenerationStats, RankedResults
from evolab.storage.replay_block import pellet_dicts


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """A generation's simulation results as columns, in population order: what ranking, statistics and
    the kept replays read. Made straight from a backend's outputs, it spares the per-creature
    `SimResult`s a run never looks at.

    With several trials (pellet layouts) per creature, `fitness` is the mean over the trials, `pellets`
    the total, `disqualified` the first trial's reason that disqualified it, `fitness_std` the spread and
    `trial_pellets` the pellets of each trial; replays show trial 0, fetched only for the creatures asked
    for (`start_replays`).
    """

    fitness: np.ndarray
    pellets: list[int]
    disqualified: list[str | None]
    distance: list[float]
    displacement: list[float]
    fitness_std: list[float] | None = None
    trial_pellets: list[tuple[int, ...]] | None = None
    _fetch_rows: Callable[[np.ndarray], PendingRows] | None = None
    _n_nodes: list[int] | None = None
    _pellet_rows: np.ndarray | None = None

    @classmethod
    def of_outputs(
        cls,
        out: BatchOutputs,
        n_nodes: np.ndarray,
        record: bool,
        trials: int = 1,
        fetch_rows: Callable[[np.ndarray], PendingRows] | None = None,
    ) -> Evaluation:
        """From a batch's raw outputs (`record`: whether the batch recorded frames; `trials`: layouts per
        creature, the outputs being trial-major as `run_batch` returns them). `fetch_rows` fetches the
        outputs of some rows with their recordings (`PendingOutputs.fetch_rows`) when `out` has none."""
        b = len(n_nodes)
        columns = _trial_columns(
            out.fitness, out.pellets, [DISQUALIFICATION_REASONS.get(code) for code in out.dq.tolist()], trials
        )
        return cls(
            *columns[:3],
            out.distance[:b].tolist(),
            out.net_displacement[:b].tolist(),
            *columns[3:],
            _fetch_rows=(fetch_rows or (lambda rows: FetchedRows(out.take(rows)))) if record else None,
            _n_nodes=n_nodes.tolist(),
            _pellet_rows=pellet_rows(pellet_tables(out)[:b]) if record else None,
        )

    def fetch(self, creatures: Sequence[int]) -> PendingRows | None:
        """Begin fetching `creatures`' recordings, together; None when the batch recorded nothing."""
        if self._fetch_rows is None or not creatures:
            return None
        return self._fetch_rows(np.asarray(creatures, dtype=np.int64))

    def replays(self, creatures: Sequence[int], fetched: BatchOutputs) -> list[tuple[np.ndarray, ...]]:
        """Each of `creatures`' frames (F, n, 3), fitness over time (F,) and pellet events as rows
        (`pellet_rows`) on the first trial's layout, from their outputs as `fetch` gave them, read-only
        as a SimResult's are."""
        n_nodes, pellets = self._n_nodes, self._pellet_rows
        if n_nodes is None or pellets is None:
            raise ValueError("the batch recorded no replays")
        fetched.frames.flags.writeable = False
        fetched.fitness_over_time.flags.writeable = False
        return [
            (fetched.frames[j, :, : n_nodes[i]], fetched.fitness_over_time[j], pellets[i, :spawned])
            for j, (i, spawned) in enumerate(zip(creatures, fetched.n_spawned.tolist(), strict=True))
        ]

    def replay(self, i: int) -> tuple[np.ndarray, ...] | None:
        """Creature i's replay (`replays`), or None when it was not recorded."""
        pending = self.fetch([i])
        return None if pending is None else self.replays([i], pending.result())[0]


def _trial_columns(
    fitness: np.ndarray, pellets: np.ndarray, disqualified: list[str | None], trials: int
) -> tuple[np.ndarray, list[int], list[str | None], list[float] | None, list[tuple[int, ...]] | None]:
    """Per-creature fitness, pellets and disqualification from trial-major rows, with the spread and the
    pellets per trial (None for a single trial, whose rows are the creatures themselves)."""
    if trials == 1:
        return fitness, pellets.tolist(), disqualified, None, None
    b = len(fitness) // trials
    per_trial = pellets.reshape(trials, b)
    reasons = [next(filter(None, disqualified[c::b]), None) for c in range(b)]  # the first trial's that did
    return (
        trial_mean(fitness, trials),
        per_trial.sum(axis=0).tolist(),
        reasons,
        trial_std(fitness, trials).tolist(),
        [tuple(row) for row in per_trial.T.tolist()],
    )


def rank_results(generation: int, genomes: Sequence[Genome], evaluation: Evaluation) -> RankedResults:
    """Results best first (ties keep population order); rank 0 is the best."""
    e = evaluation
    batch = GenomeBatch.of(genomes)  # its columns: no genome object is needed
    order = np.argsort(-e.fitness, kind="stable").tolist()
    fitness = e.fitness.tolist()
    streaks = batch.survival_streaks.tolist()
    spread, per_trial = e.fitness_std, e.trial_pellets
    return RankedResults(
        generation,
        [batch.ids[i] for i in order],
        [fitness[i] for i in order],
        [e.pellets[i] for i in order],
        [e.disqualified[i] for i in order],
        [streaks[i] for i in order],
        [e.distance[i] for i in order],
        [e.displacement[i] for i in order],
        None if spread is None else [spread[i] for i in order],
        None if per_trial is None else [per_trial[i] for i in order],
    )


def generation_stats(
    generation: int,
    genomes: Sequence[Genome],
    ranked: RankedResults,
    *,
    sim_seed: int,
    sim_seconds: float,
    host_seconds: float,
    benchmark: BenchmarkScore | None = None,
) -> GenerationStats:
    """Best, average, worst, median and percentiles of fitness; node-count distribution; the benchmark
    score when the generation was scored."""
    batch = GenomeBatch.of(genomes)
    return GenerationStats.of_population(
        generation,
        ranked.fitness,
        batch.n_nodes.tolist(),
        batch.n_muscles.tolist(),
        disqualified=len(ranked) - ranked.disqualified.count(None),
        pellets=sum(ranked.pellets),
        sim_seed=sim_seed,
        sim_seconds=sim_seconds,
        host_seconds=host_seconds,
        benchmark_fitness=None if benchmark is None else benchmark.fitness,
        benchmark_pellets=None if benchmark is None else benchmark.pellets,
        benchmark_creature=None if benchmark is None else benchmark.creature_id,
    )


def pick_replays(ranked: RankedResults, policy: FramePolicy, rng: np.random.Generator) -> dict[str, str]:
    """{creature id: reason} of the replays to keep: the top, some random others, the bottom."""
    if not policy.enabled:
        return {}
    ids = ranked.creature_ids
    chosen: dict[str, str] = dict.fromkeys(ids[: policy.keep_top], "top")
    for cid in ids[max(len(ids) - policy.keep_bottom, 0) :]:
        chosen.setdefault(cid, "bottom")
    middle = [cid for cid in ids if cid not in chosen]
    if middle and policy.keep_random:
        picks = rng.choice(len(middle), size=min(policy.keep_random, len(middle)), replace=False)
        for i in sorted(picks.tolist()):
            chosen[middle[i]] = "random"
    return chosen


def pellet_rows(pellet_table: np.ndarray) -> np.ndarray:
    """Pellet events as int32 rows (`evolab.storage.replay_block.pellet_dicts`), from pellet table rows
    (`SimResult.pellet_table`, any leading shape): positions and distances to the millimetre, which is
    plenty for drawing a pellet and keeps stored replays small, and steps turned into frames."""
    table = np.asarray(pellet_table, dtype=np.float64)
    return _pellet_rows(np.ascontiguousarray(table).reshape(-1, 6)).reshape(table.shape)


@nb.njit(cache=True)
def _pellet_rows(table):
    rows = np.empty(table.shape, dtype=np.int32)
    for r in range(table.shape[0]):
        for col in (0, 1, 2, 5):
            rows[r, col] = np.int32(np.rint(table[r, col] * 1000.0))
        for col in (3, 4):  # steps to frames; -1 (never) stays
            step = np.int64(table[r, col])
            rows[r, col] = -1 if step < 0 else frame_of_step(step)
    return rows


def pellet_events(pellet_table: np.ndarray) -> tuple[dict, ...]:
    """Pellets as JSON-safe dicts (positions, frames, initial distances), from a pellet table (the rows
    `SimResult.pellet_table` holds), as a stored replay gives them back."""
    return pellet_dicts(pellet_rows(pellet_table))


@dataclass(frozen=True, slots=True)
class PendingReplays:
    """A generation's kept replays, their recordings on their way (`start_replays`)."""

    evaluation: Evaluation
    kept: list[tuple[int, str, str]]
    """(row, creature id, reason) of each kept creature, in population order."""
    pending: PendingRows | None

    def result(self) -> tuple[FramesToStore, ...]:
        """The replays to store, waiting for their recordings if need be."""
        if self.pending is None:
            return ()
        replays = self.evaluation.replays([i for i, _, _ in self.kept], self.pending.result())
        return tuple(
            FramesToStore(creature_id, *replay, reason)
            for (_, creature_id, reason), replay in zip(self.kept, replays, strict=True)
        )


def start_replays(chosen: dict[str, str], genomes: Sequence[Genome], evaluation: Evaluation) -> PendingReplays:
    """Begin fetching the recordings of the chosen creatures ({creature id: reason}), together."""
    ids = GenomeBatch.of(genomes).ids
    kept = [(i, creature_id, chosen[creature_id]) for i, creature_id in enumerate(ids) if creature_id in chosen]
    return PendingReplays(evaluation, kept, evaluation.fetch([i for i, _, _ in kept]))
