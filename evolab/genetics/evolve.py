"""One generation step of the genetic algorithm (reference §5.3): elites, survivors, children."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evolab.config import EvolutionConfig
from evolab.errors import ConfigError
from evolab.genetics.crossover import blend_batches, blend_many, clone, uniform_crossover
from evolab.genetics.mutation import Lineage, MutationParams, mutate_many
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
    next_gen = population.take(elites).with_streaks(population.survival_streaks[elites] + 1)

    cumulative = np.cumsum(rank_probabilities(len(survivors)))
    mutation = MutationParams.from_config(cfg)
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
    make = _blend_and_mutate if cfg.use_mutation and cfg.crossover_method == "blend" else _one_by_one
    made_children = make(population, recipe, cfg, mutation, rng)
    if neural_on and (made_children.net_hidden == 0).any():  # children of networkless parents get one
        made_children = GenomeBatch.of(
            [
                child
                if child.neural is not None
                else child.replace(
                    neural=init_neural_genome(rng, cfg.neural_hidden_size, child.n_muscles, cfg.neural_activation)
                )
                for child in made_children
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


def _blend_and_mutate(
    population: GenomeBatch, recipe: _Recipe, cfg: EvolutionConfig, mutation: MutationParams, rng: np.random.Generator
) -> GenomeBatch:
    """The children of the usual recipe, batch to batch: blends of their parents' rows, clones as their
    parent's rows, then every child mutated (a clone takes its id and lineage in the mutation)."""
    crossing, first_idx, second_idx, ids = recipe.crossing, recipe.first_idx, recipe.second_idx, recipe.ids
    crossed, cloned = np.flatnonzero(crossing), np.flatnonzero(~crossing)
    blended = blend_batches(
        population, first_idx[crossed], second_idx[crossed], cfg.constraints, rng, [ids[s] for s in crossed.tolist()],
        snap=False,
    )  # fmt: skip
    # each child's rows: its parent's (a clone) or its blend's, in the population followed by the blends
    source = np.empty(len(ids), dtype=np.int64)
    source[cloned] = first_idx[cloned]
    source[crossed] = len(population) + np.arange(len(crossed))
    children = GenomeBatch.concat([population, blended]).take(source)
    parents = population.ids
    lineages: list[Lineage | None] = [None] * len(ids)
    for slot, parent in zip(cloned.tolist(), first_idx[cloned].tolist(), strict=True):
        lineages[slot] = (ids[slot], (parents[parent],), int(population.lineage[parent]) + 1)
    return mutate_many(children, mutation, cfg.constraints, rng, lineages)


def _one_by_one(
    population: GenomeBatch, recipe: _Recipe, cfg: EvolutionConfig, mutation: MutationParams, rng: np.random.Generator
) -> GenomeBatch:
    """The children of the other recipes (uniform crossover, or no mutation), genome by genome."""
    crossing, first_idx, second_idx, ids = recipe.crossing, recipe.first_idx, recipe.second_idx, recipe.ids
    children: list[Genome | None] = [None] * len(ids)
    lineages: list[Lineage | None] = [None] * len(ids)  # clones: made by the mutation itself
    pairs: list[tuple[Genome, Genome]] = []
    pair_slots: list[int] = []
    # Python lists: indexing numpy arrays element by element costs more than the rest of this loop
    genomes = population.genomes()
    firsts = [genomes[i] for i in first_idx.tolist()]
    seconds = [genomes[i] for i in second_idx.tolist()]
    for slot, crossed in enumerate(crossing.tolist()):
        if crossed:
            pairs.append((firsts[slot], seconds[slot]))
            pair_slots.append(slot)
        else:
            parent = firsts[slot]
            if cfg.use_mutation:
                children[slot] = parent
                lineages[slot] = (ids[slot], (parent.id,), parent.generation + 1)
            else:
                children[slot] = clone(parent, rng, ids[slot])
    if cfg.crossover_method == "blend":
        made = list(blend_many(pairs, cfg.constraints, rng, [ids[s] for s in pair_slots], snap=not cfg.use_mutation))
    else:
        made = [
            uniform_crossover(a, b, cfg.constraints, rng, ids[s]) for (a, b), s in zip(pairs, pair_slots, strict=True)
        ]
    for slot, child in zip(pair_slots, made, strict=True):
        children[slot] = child
    if cfg.use_mutation:
        return mutate_many(children, mutation, cfg.constraints, rng, lineages)
    return GenomeBatch.of(children)
