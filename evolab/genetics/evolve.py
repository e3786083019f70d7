"""One generation step of the genetic algorithm (reference §5.3): elites, survivors, children."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evolab.config import EvolutionConfig
from evolab.errors import ConfigError
from evolab.genetics.crossover import blend_batches, uniform_crossover
from evolab.genetics.mutation import MutationParams, mutate_many
from evolab.genetics.selection import (
    elite_indices,
    rank_probabilities,
    tournament_picks,
    truncation_survivors,
    weighted_picks,
)
from evolab.genome.batch import GenomeBatch
from evolab.genome.generate import new_creature_ids
from evolab.genome.model import Genome
from evolab.genome.neural import init_neural_genome

_PARENT_REDRAWS = 10


def evolve_step(
    genomes: Sequence[Genome],
    fitnesses: Sequence[float] | np.ndarray,
    cfg: EvolutionConfig,
    rng: np.random.Generator,
    *,
    birth: int = 0,
) -> GenomeBatch:
    """Make the next generation from this one's genomes and fitnesses, as one batch.

    1. The `elite_count` best carry over unchanged, same id, survival streak + 1.
    2. The best (1 - cull_fraction) survive as parents (at least one).
    3. The rest of `population_size` are children: with probability `crossover_rate` (and crossover
       enabled, and two or more survivors) a crossover of two distinct parents, otherwise a clone of one,
       then mutated when mutation is enabled. Parents are picked by rank weight (the i-th best of n with
       weight n - i) or by tournament.
    4. In a neural run (`cfg.sim.neural_mode != "off"`), a child without a network gets a fresh one.

    Args:
        genomes: this generation, in any order.
        fitnesses: one finite fitness per genome.
        cfg: GA settings and the constraints every child satisfies.
        rng: the only source of randomness.
        birth: the run generation the children will be evaluated in (it leads their ids, so ids sort).

    Returns:
        `cfg.population_size` genomes: elites first (best first), then children in creation order.

    Raises:
        ConfigError: empty population or fitnesses that do not match the genomes.
    """
    fitness = np.asarray(fitnesses, dtype=np.float64)
    population = GenomeBatch.of(genomes)
    if len(genomes) == 0:
        raise ConfigError("evolve_step: the population is empty")
    if fitness.shape != (len(genomes),):
        raise ConfigError(f"evolve_step: {fitness.size} fitnesses for {len(genomes)} genomes")
    if not np.isfinite(fitness).all():
        raise ConfigError("evolve_step: fitnesses must be finite")

    survivors = truncation_survivors(fitness, 1.0 - cfg.cull_fraction)
    elites = elite_indices(fitness, min(cfg.elite_count, cfg.population_size))
    next_gen = population.take(elites)
    next_gen = next_gen.with_lineage(survival_streaks=next_gen.survival_streaks + 1)

    cumulative = np.cumsum(rank_probabilities(len(survivors)))
    neural_on = cfg.sim.neural_mode != "off"

    def picks(count: int) -> np.ndarray:
        """Survivor positions of `count` parents, drawn at once."""
        if cfg.selection == "tournament":
            return tournament_picks(len(survivors), cfg.tournament_size, count, rng)
        return weighted_picks(cumulative, count, rng)

    # Draw every child's recipe first (kind and parents), then make all crossovers in one batch.
    n_children = cfg.population_size - len(next_gen)
    ids = new_creature_ids(rng, n_children, birth)
    can_cross = cfg.use_crossover and len(survivors) >= 2
    crossing = rng.random(n_children) < cfg.crossover_rate if can_cross else np.zeros(n_children, dtype=bool)
    first_parents = picks(n_children)
    second_parents = picks(n_children)
    for slot in np.flatnonzero(crossing & (first_parents == second_parents)):
        for _ in range(_PARENT_REDRAWS):  # two distinct parents when the draws allow
            second_parents[slot] = picks(1)[0]
            if second_parents[slot] != first_parents[slot]:
                break
    recipe = _Recipe(crossing, survivors[first_parents], survivors[second_parents], ids)
    made_children = _children(population, recipe, cfg, rng)
    if neural_on and (made_children.net_hidden == 0).any():  # children of networkless parents get one
        made_children = made_children.with_networks(
            [
                net
                if net is not None
                else init_neural_genome(rng, cfg.neural_hidden_size, muscles, cfg.neural_activation)
                for net, muscles in zip(made_children.networks(), made_children.n_muscles.tolist(), strict=True)
            ]
        )
    return GenomeBatch.concat([next_gen, made_children])


@dataclass(frozen=True, slots=True)
class _Recipe:
    """Each child's kind and parents, drawn before any child is made: crossed or not, its parents'
    positions in the population, its id."""

    crossing: np.ndarray
    first_idx: np.ndarray
    second_idx: np.ndarray
    ids: list[str]


def _children(population: GenomeBatch, recipe: _Recipe, cfg: EvolutionConfig, rng: np.random.Generator) -> GenomeBatch:
    """Every child of the recipe, batch to batch: crossovers made from their parents' rows, clones as
    their parent's rows under the child's id and lineage, then every child mutated when mutation is on."""
    crossing, first_idx, second_idx, ids = recipe.crossing, recipe.first_idx, recipe.second_idx, recipe.ids
    crossed, cloned = np.flatnonzero(crossing), np.flatnonzero(~crossing)
    crossed_ids = [ids[s] for s in crossed.tolist()]
    if cfg.crossover_method == "blend":  # a mutation that snaps the genes follows, or the blend snaps them
        made = blend_batches(
            population, first_idx[crossed], second_idx[crossed], cfg.constraints, rng, crossed_ids,
            snap=not cfg.use_mutation,
        )  # fmt: skip
    else:
        genomes = population.genomes()
        made = GenomeBatch.of(
            [
                uniform_crossover(genomes[a], genomes[b], cfg.constraints, rng, child_id)
                for a, b, child_id in zip(
                    first_idx[crossed].tolist(), second_idx[crossed].tolist(), crossed_ids, strict=True
                )
            ]
        )
    # each child's rows: its parent's (a clone) or its crossover's, in the population followed by `made`
    source = np.empty(len(ids), dtype=np.int64)
    source[cloned] = first_idx[cloned]
    source[crossed] = len(population) + np.arange(len(crossed))
    children = GenomeBatch.concat([population, made]).take(source)
    # a clone is a new creature: its own id, its parent's as parent, one generation deeper
    parents = population.ids
    children = children.with_lineage(
        ids=ids,
        parent_ids=[
            crossed_parents if crossed else (parents[first],)
            for crossed, crossed_parents, first in zip(
                crossing.tolist(), children.parent_ids, first_idx.tolist(), strict=True
            )
        ],
        lineage=np.where(crossing, children.lineage, population.lineage[first_idx] + 1),
        survival_streaks=np.zeros(len(ids), dtype=np.int64),
    )
    if cfg.use_mutation:
        return mutate_many(children, MutationParams.from_config(cfg), cfg.constraints, rng)
    return children
