"""Pure conversions from storage records to API documents (no I/O here: callers fetch, this shapes)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
from fastapi import Response
from pydantic import BaseModel

from evolab.genome import creature_name
from evolab.genome.genes import M_FREQUENCY, M_STIFFNESS, N_FRICTION, N_POS, N_SIZE
from evolab.genome.model import Genome
from evolab.genome.naming import ORIGIN_LABELS, name_of
from evolab.runner.progress import benchmark_progress
from evolab.runner.replay import Replay
from evolab.server.schemas import (
    AncestorDoc,
    BenchmarkProgressDoc,
    Color,
    GenerationStatsDoc,
    PelletDoc,
    ReplayDoc,
    ResultDoc,
    RunDetail,
    RunSummary,
)
from evolab.storage import CreatureInfo, CreatureResult, GenerationCreatures, GenerationStats, RunInfo

FPS = 15


def _rounded(values: np.ndarray, digits: int = 3) -> list:
    """Nested lists of floats rounded for JSON (millimetres are plenty for positions)."""
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def run_summary(info: RunInfo) -> RunSummary:
    cfg = info.config
    return RunSummary(
        id=info.id,
        name=info.name,
        status=info.status,
        live=info.being_written,
        seed=info.seed,
        backend=info.backend,
        created_at=info.created_at,
        updated_at=info.updated_at,
        generation_count=info.generation_count,
        best_fitness=info.best_fitness,
        best_creature_id=info.best_creature_id,
        best_generation=info.best_generation,
        best_pellets=info.best_pellets,
        best_by_benchmark=info.best_by_benchmark,
        longest_survivor_id=info.longest_survivor_id,
        longest_streak=info.longest_streak,
        longest_generation=info.longest_generation,
        parent_run_id=info.parent_run_id,
        fork_generation=info.fork_generation,
        population_size=cfg.population_size,
        duration=cfg.sim.duration,
        gravity=cfg.sim.gravity,
        mutation_rate=cfg.mutation_rate,
        neural_mode=cfg.sim.neural_mode,
        trials=cfg.trials,
        turbo=not cfg.frames.enabled,
        imported_from=info.origin.source if info.origin is not None else None,
    )


def run_detail(info: RunInfo, history: Sequence[GenerationStats] = ()) -> RunDetail:
    """The run's summary, configuration and benchmark progress (`history`: its generations' statistics)."""
    return RunDetail(
        **run_summary(info).model_dump(),
        config=info.config,
        benchmark_progress=progress_doc(history, info),
    )


def progress_doc(history: Sequence[GenerationStats], info: RunInfo) -> BenchmarkProgressDoc | None:
    """How the run's benchmark score changed and its champion; None when no generation was scored."""
    progress = benchmark_progress(history, info)
    return None if progress is None else BenchmarkProgressDoc(**progress.to_dict())


def stats_doc(s: GenerationStats) -> GenerationStatsDoc:
    return GenerationStatsDoc(**s.to_dict())


def color(genome: Genome) -> Color:
    return Color.model_construct(h=genome.color.h, s=genome.color.s, l=genome.color.l)


def json_response(doc: BaseModel) -> Response:
    """A document built from trusted records, sent as is: FastAPI would otherwise validate its thousands
    of numbers a second time (a third of a generation read's time)."""
    return Response(json_body(doc), media_type="application/json")


def json_body(doc: BaseModel) -> bytes:
    """A document's JSON as bytes, straight from pydantic's serializer (no str round trip)."""
    return doc.__pydantic_serializer__.to_json(doc)


def creature_cards(creatures: GenerationCreatures, last_poses: Mapping[str, np.ndarray]) -> list[dict]:
    """Each creature's card (a `CreatureCard` as JSON wants it): its result, its body (for the thumbnail)
    and where it came from (`Store.generation_creatures`); `last_poses` holds the last frame of each
    creature with a stored replay (`Store.last_poses`), the pose its thumbnail takes (the others are shown
    at rest).

    A generation's hundred cards are its read's largest cost, so they are built for JSON directly from
    the batch's columns: numbers rounded together a column at a time and cut per creature after, plain
    dicts rather than models (two models a card took 7 ms of the read's 17), no `Genome` objects."""
    genomes = creatures.genomes
    ids = genomes.ids
    node_counts = genomes.n_nodes.tolist()
    counts = genomes.n_muscles.tolist()
    node_ends = np.cumsum(genomes.n_nodes)
    rest = genomes.node_params[:, N_POS]
    poses = [
        last_poses[cid] if cid in last_poses else rest[end - count : end]
        for cid, count, end in zip(ids, node_counts, node_ends.tolist(), strict=True)
    ]
    muscles = genomes.muscle_params
    multiplier = np.repeat(genomes.multipliers, genomes.n_muscles)
    means = segment_means(muscles[:, [M_STIFFNESS, M_FREQUENCY]], genomes.n_muscles)
    columns = zip(
        _split(_rounded(np.concatenate(poses)) if poses else [], node_counts),
        _split(_rounded(genomes.node_params[:, N_SIZE]), node_counts),
        _split(_rounded(genomes.node_params[:, N_FRICTION]), node_counts),
        _split(_rounded(muscles[:, M_STIFFNESS], 1), counts),
        _split(_rounded(muscles[:, M_FREQUENCY] * multiplier), counts),
        _split(genomes.muscle_nodes.tolist(), counts),
        means.tolist(),
        genomes.colors.tolist(),
        genomes.multipliers.tolist(),
        genomes.lineage.tolist(),
        genomes.survival_streaks.tolist(),
        strict=True,
    )
    cards = []
    for result, cid, born, parents, n_nodes, n_muscles, column in zip(
        creatures.results, ids, creatures.born, genomes.parent_ids, node_counts, counts, columns, strict=True
    ):
        pose, sizes, frictions, stiffness, frequency, ends, means_of, hsl, mult, lineage, streak = column
        avg_stiffness, avg_frequency = means_of
        cards.append(
            {
                "id": cid,
                "name": name_of(cid, hsl[0], n_nodes, n_muscles, streak),
                "rank": result.rank + 1,
                "fitness": result.fitness,
                "fitness_std": result.fitness_std,
                "pellets": result.pellets,
                "trial_pellets": trial_pellets(result),
                # a new pellet appears as soon as one is collected: one more than collected on each layout
                "pellets_spawned": result.pellets + (len(result.trial_pellets) if result.trial_pellets else 1),
                "disqualified": result.disqualified,
                "survival_streak": result.survival_streak,
                "distance": result.distance,
                "displacement": result.displacement,
                "born": born,
                "lineage_generation": lineage,
                "parent_ids": list(parents),
                "origin": ORIGIN_LABELS[min(len(parents), 2)],
                "n_nodes": n_nodes,
                "n_muscles": n_muscles,
                "color": {"h": hsl[0], "s": hsl[1], "l": hsl[2]},
                "avg_stiffness": avg_stiffness,
                "avg_frequency": avg_frequency,
                "global_frequency_multiplier": mult,
                "frames": "stored" if cid in last_poses else "simulated",
                "pose": pose,
                "node_sizes": sizes,
                "node_frictions": frictions,
                "muscles": ends,
                "muscle_stiffness": stiffness,
                "muscle_frequency": frequency,
            }
        )
    return cards


def segment_means(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(len(counts), columns) the mean of each consecutive run of `counts` rows of `values`; 0 for none."""
    means = np.zeros((len(counts), values.shape[1]))
    some = counts > 0
    if some.any():  # runs of no rows hold none of `values`: the others' starts cut it exactly
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[some]
        means[some] = np.add.reduceat(values, starts, axis=0) / counts[some, None]
    return means


def _split(values: list, counts: Sequence[int]) -> list[list]:
    """`values` cut into consecutive pieces of `counts` items."""
    ends = itertools.accumulate(counts)
    return [values[end - count : end] for count, end in zip(counts, ends, strict=True)]


def trial_pellets(result: CreatureResult) -> list[int] | None:
    """The pellets of each trial as JSON wants them (None for a one-trial result)."""
    return None if result.trial_pellets is None else list(result.trial_pellets)


def result_doc(result: CreatureResult) -> ResultDoc:
    return ResultDoc(
        generation=result.generation,
        rank=result.rank + 1,
        fitness=result.fitness,
        fitness_std=result.fitness_std,
        pellets=result.pellets,
        trial_pellets=trial_pellets(result),
        disqualified=result.disqualified,
        survival_streak=result.survival_streak,
    )


def replay_doc(replay: Replay, neural_mode: str, imported_from: str | None = None) -> ReplayDoc:
    return ReplayDoc.model_construct(  # built from trusted arrays: skip re-validating thousands of floats
        creature_id=replay.creature_id,
        generation=replay.generation,
        source=replay.source,
        fps=FPS,
        neural_mode=neural_mode,
        frames=_rounded(replay.frames),
        fitness_over_time=_rounded(replay.fitness_over_time, 2),
        pellets=[PelletDoc(**p) for p in replay.pellets],
        times=None if replay.times is None else _rounded(replay.times),
        imported_from=imported_from,
    )


def lineage_subset(root: CreatureInfo, ancestors: Sequence[CreatureInfo], mode: str, limit: int) -> list[CreatureInfo]:
    """The ancestors reached from `root` following "both" parents, only crossovers (two parents) or only
    clones (one parent), nearest first, each once, at most `limit`."""
    by_id = {a.creature_id: a for a in ancestors}
    wanted = {"both": (1, 2), "crossover": (2,), "clone": (1,)}[mode]
    seen: set[str] = set()
    out: list[CreatureInfo] = []
    frontier = [root]
    while frontier and len(out) < limit:
        following = []
        for node in frontier:
            if len(node.parent_ids) not in wanted:
                continue
            for parent_id in node.parent_ids:
                parent = by_id.get(parent_id)
                if parent is None or parent_id in seen:
                    continue
                seen.add(parent_id)
                out.append(parent)
                following.append(parent)
        frontier = following
    return out[:limit]


def ancestor_doc(info: CreatureInfo, genome: Genome, fitness: float | None) -> AncestorDoc:
    return AncestorDoc(
        id=info.creature_id,
        name=creature_name(genome),
        born=info.born,
        parent_ids=list(info.parent_ids),
        n_nodes=info.n_nodes,
        n_muscles=info.n_muscles,
        fitness=fitness,
        color=color(genome),
    )
