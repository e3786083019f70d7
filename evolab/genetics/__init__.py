"""Genetics: selection, crossover, mutation (structural and neural) and one `evolve_step`."""

from evolab.genetics.crossover import blend_crossover, clone, uniform_crossover
from evolab.genetics.evolve import evolve_step
from evolab.genetics.mutation import MutationParams, mutate, mutate_many
from evolab.genetics.selection import (
    elite_indices,
    rank_order,
    rank_probabilities,
    tournament_selection,
    truncation_survivors,
    weighted_pick,
)

__all__ = [
    "MutationParams",
    "blend_crossover",
    "clone",
    "elite_indices",
    "evolve_step",
    "mutate",
    "mutate_many",
    "rank_order",
    "rank_probabilities",
    "tournament_selection",
    "truncation_survivors",
    "uniform_crossover",
    "weighted_pick",
]
