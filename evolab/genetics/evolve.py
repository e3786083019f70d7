"""One generation step of the genetic algorithm (reference §5.3): elites, survivors, children."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evolab.config import EvolutionConfig
from evolab.errors import ConfigError
from evolab.genetics.crossover import blend_many, clone, uniform_crossover
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
    if len(genomes) == 0:
        raise ConfigError("evolve_step: the population is empty")
    if fitness.shape != (len(genomes),):
        raise ConfigError(f"evolve_step: {fitness.size} fitnesses for {len(genomes)} genomes")
    if not np.isfinite(fitness).all():
        raise ConfigError("evolve_step: fitnesses must be finite")

    survivors = truncation_survivors(fitness, 1.0 - cfg.cull_fraction)
    elites = elite_indices(fitness, min(cfg.elite_count, cfg.population_size))
    next_gen = [genomes[i].replace(survival_streak=genomes[i].survival_streak + 1) for i in elites]

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
    children: list[Genome | None] = [None] * n_children
    lineages: list[Lineage | None] = [None] * n_children  # clones: made by the mutation itself
    pairs: list[tuple[Genome, Genome]] = []
    pair_slots: list[int] = []
    # Python lists: indexing numpy arrays element by element costs more than the rest of this loop
    firsts = [genomes[i] for i in survivors[first_parents].tolist()]
    seconds = [genomes[i] for i in survivors[second_parents].tolist()]
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
        made = blend_many(pairs, cfg.constraints, rng, [ids[s] for s in pair_slots], snap=not cfg.use_mutation)
    else:
        made = [
            uniform_crossover(a, b, cfg.constraints, rng, ids[s]) for (a, b), s in zip(pairs, pair_slots, strict=True)
        ]
    for slot, child in zip(pair_slots, made, strict=True):
        children[slot] = child
    made_children = (
        mutate_many(children, mutation, cfg.constraints, rng, lineages)
        if cfg.use_mutation
        else GenomeBatch.of(children)
    )
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
    return GenomeBatch.concat([GenomeBatch.of(next_gen), made_children])
