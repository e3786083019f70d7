"""Turning a generation's simulation results into ranked results, statistics and kept replays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from evolab.config import FramePolicy
from evolab.genome.model import Genome
from evolab.physics.simulate import SimResult, frame_of_step
from evolab.storage.records import CreatureResult, FramesToStore, GenerationStats


def rank_results(generation: int, genomes: Sequence[Genome], results: Sequence[SimResult]) -> list[CreatureResult]:
    """Results best first (ties keep population order); rank 0 is the best."""
    fitness = np.array([r.fitness for r in results])
    order = np.argsort(-fitness, kind="stable")
    return [
        CreatureResult(
            creature_id=genomes[i].id,
            generation=generation,
            rank=rank,
            fitness=results[i].fitness,
            pellets=results[i].pellets_collected,
            disqualified=results[i].disqualified,
            survival_streak=genomes[i].survival_streak,
            distance=results[i].distance_traveled,
            displacement=results[i].net_displacement,
        )
        for rank, i in enumerate(order.tolist())
    ]


def generation_stats(
    generation: int,
    genomes: Sequence[Genome],
    ranked: Sequence[CreatureResult],
    *,
    sim_seed: int,
    sim_seconds: float,
    host_seconds: float,
) -> GenerationStats:
    """Best, average, worst, median and percentiles of fitness; node-count distribution."""
    fitness = np.array([r.fitness for r in ranked])
    p10, p25, p50, p75, p90 = np.percentile(fitness, [10, 25, 50, 75, 90]).tolist()
    nodes = [g.n_nodes for g in genomes]
    return GenerationStats(
        generation=generation,
        best=float(fitness.max()),
        average=float(fitness.mean()),
        worst=float(fitness.min()),
        median=p50,
        p10=p10,
        p25=p25,
        p75=p75,
        p90=p90,
        disqualified=sum(r.disqualified is not None for r in ranked),
        pellets=sum(r.pellets for r in ranked),
        node_counts=dict(sorted(Counter(nodes).items())),
        avg_nodes=float(np.mean(nodes)),
        avg_muscles=float(np.mean([g.n_muscles for g in genomes])),
        sim_seed=sim_seed,
        sim_seconds=sim_seconds,
        host_seconds=host_seconds,
    )


def pick_replays(ranked: Sequence[CreatureResult], policy: FramePolicy, rng: np.random.Generator) -> dict[str, str]:
    """{creature id: reason} of the replays to keep: the top, some random others, the bottom."""
    if not policy.enabled:
        return {}
    n = len(ranked)
    chosen: dict[str, str] = {}
    for r in ranked[: policy.keep_top]:
        chosen[r.creature_id] = "top"
    for r in ranked[max(n - policy.keep_bottom, 0) :]:
        chosen.setdefault(r.creature_id, "bottom")
    middle = [r.creature_id for r in ranked if r.creature_id not in chosen]
    if middle and policy.keep_random:
        picks = rng.choice(len(middle), size=min(policy.keep_random, len(middle)), replace=False)
        for i in sorted(picks.tolist()):
            chosen[middle[i]] = "random"
    return chosen


def pellet_events(result: SimResult) -> tuple[dict, ...]:
    """A result's pellets as JSON-safe dicts (positions, frames, initial distances)."""
    # millimetres are plenty for drawing a pellet, and keep the stored JSON small; read from the pellet
    # table directly (what `result.pellets` holds, without making its records)
    return tuple(
        {
            "position": [round(x, 3), round(y, 3), round(z, 3)],
            "spawned_frame": frame_of_step(int(spawned)),
            "collected_frame": None if collected < 0 else frame_of_step(int(collected)),
            "initial_distance": round(distance, 3),
        }
        for x, y, z, spawned, collected, distance in result.pellet_table.tolist()
    )


def replays_to_store(
    chosen: dict[str, str], genomes: Sequence[Genome], results: Sequence[SimResult]
) -> tuple[FramesToStore, ...]:
    """The recorded frames of the chosen creatures."""
    out = []
    for genome, result in zip(genomes, results, strict=True):
        reason = chosen.get(genome.id)
        if reason is not None and result.frames is not None and result.fitness_over_time is not None:
            out.append(FramesToStore(genome.id, result.frames, result.fitness_over_time, pellet_events(result), reason))
    return tuple(out)
