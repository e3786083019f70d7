"""Selection operators over fitness arrays (reference §5.1): ranking, elites, truncation, parent picks.

All functions take fitnesses (or ranks) as numpy arrays and a passed-in generator; none sorts or copies
genomes, so they cost microseconds whatever the population.
"""

from __future__ import annotations

import numpy as np


def rank_order(fitnesses: np.ndarray) -> np.ndarray:
    """Indices from best to worst; ties keep input order (a stable descending sort)."""
    return np.argsort(-np.asarray(fitnesses, dtype=np.float64), kind="stable")


def elite_indices(fitnesses: np.ndarray, count: int) -> np.ndarray:
    """The top min(count, n) indices, best first."""
    return rank_order(fitnesses)[: max(0, count)]


def truncation_survivors(fitnesses: np.ndarray, survival_rate: float) -> np.ndarray:
    """Indices of the best max(1, floor(n * survival_rate)) creatures, best first (empty in, empty out)."""
    n = len(fitnesses)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    keep = max(1, int(np.floor(n * survival_rate + 1e-9)))
    return rank_order(fitnesses)[:keep]


def rank_probabilities(n: int) -> np.ndarray:
    """(n,) selection probability of the i-th best of n: (n - i) / (n (n + 1) / 2)."""
    weights = np.arange(n, 0, -1, dtype=np.float64)
    return weights / weights.sum()


def weighted_pick(probabilities: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the first entry whose cumulative probability reaches U(0, 1) (the last one as fallback)."""
    return int(weighted_picks(np.cumsum(probabilities), 1, rng)[0])


def weighted_picks(cumulative: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` independent weighted picks at once, given the cumulative probabilities."""
    return np.minimum(np.searchsorted(cumulative, rng.random(count), side="left"), len(cumulative) - 1)


def tournament_pick(n_ranked: int, size: int, rng: np.random.Generator) -> int:
    """Rank (0 = best) of the winner of a tournament of `size` drawn with replacement from n ranked."""
    return int(tournament_picks(n_ranked, size, 1, rng)[0])


def tournament_picks(n_ranked: int, size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """The winners' ranks of `count` independent tournaments at once."""
    return rng.integers(0, n_ranked, (count, size)).min(axis=1)


def tournament_selection(fitnesses: np.ndarray, size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Pick up to `count` distinct winners (reference §5.1): each round draws min(size, pool) contestants
    with replacement from the remaining pool; the fittest (first on ties) wins and leaves the pool.
    """
    pool = list(range(len(fitnesses)))
    winners = []
    fitnesses = np.asarray(fitnesses, dtype=np.float64)
    while pool and len(winners) < count:
        contestants = [pool[i] for i in rng.integers(0, len(pool), min(size, len(pool)))]
        best = max(contestants, key=lambda idx: (fitnesses[idx], -idx))
        winners.append(best)
        pool.remove(best)
    return np.array(winners, dtype=np.int64)
