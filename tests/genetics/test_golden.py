"""The GA's output for fixed seeds is pinned: a refactor of genetics, genomes or their storage must give
the same genes, ids, lineage and order bit for bit (a change that means to alter the GA updates the digests
and says why)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from evolab import EvolutionConfig
from evolab.genetics import evolve_step
from evolab.genome import Genome, initial_population

GOLDEN = {
    "default": "30e1e9eba626b60965214b31e42a3474f1e1f11413d66a37833a1aa7adbcc85c",
    "neural-hybrid": "38ab1ff907ff5dc8a1ded0231a6ff470289ffbd64cceb111af3ebfd343e996d1",
    "uniform-tournament": "be090309517c5ea5f8266faf41f8d12fc14e1e4c4226dd39fa90016159cd5573",
}
"""sha256 of five generations of each configuration below (see `digest`)."""

CONFIGS = {
    "default": {},
    "neural-hybrid": {"sim": {"neural_mode": "hybrid"}},
    "uniform-tournament": {"crossover_method": "uniform", "selection": "tournament", "structural_rate": 0.5},
}


def digest(generations: list[list[Genome]]) -> str:
    """Every gene, id, parent, colour, lineage number and streak of every genome, in order."""
    h = hashlib.sha256()
    for population in generations:
        for g in population:
            h.update(repr((g.id, g.parent_ids, g.generation, g.survival_streak, g.color)).encode())
            h.update(repr(g.global_frequency_multiplier).encode())
            for block in (g.node_params, g.muscle_nodes, g.muscle_params):
                h.update(np.ascontiguousarray(block).tobytes())
            if g.neural is not None:
                h.update(repr((g.neural.hidden_size, g.neural.activation)).encode())
                h.update(np.ascontiguousarray(g.neural.weights).tobytes())
    return h.hexdigest()


def fake_fitness(population: list[Genome]) -> np.ndarray:
    """A fitness that depends on the genes only (no physics): the GA sees a real, varied ranking."""
    return np.array([float(g.muscle_params[:, :6].sum() - 3.0 * g.n_nodes) for g in population])


@pytest.mark.parametrize("name", list(CONFIGS))
def test_five_generations_of_the_ga_are_pinned(name: str) -> None:
    cfg = EvolutionConfig.from_preset("default", population_size=40, **CONFIGS[name])
    rng = np.random.default_rng(20261203)
    population = initial_population(cfg, rng)
    generations = [population]
    for birth in range(1, 6):
        population = evolve_step(population, fake_fitness(population), cfg, rng, birth=birth)
        generations.append(population)
    assert digest(generations) == GOLDEN[name]
