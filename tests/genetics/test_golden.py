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
    "default": "40e31ce4e1b9d759790baa60f2bbde784040f5c59192392c22645316ef3e60f7",
    "neural-hybrid": "f4086c7cabdf9b3cbc4af5f63c6e40616d0de65f8b936aee5bd27bb5d21da6b2",
    "uniform-tournament": "79257db372ec7de1a68e33c7eef074c1f9533a0365e40ac69b2bfe5d0ba13325",
    "blend-no-mutation": "38a9dc2aca796b8c2fe16fc7c66e00041f9a9fadd0a27f1c5aac60fe6d07732a",
    "uniform-no-mutation": "f24f87f2aee6bf55f16810a1bba3358f6c7c5e1c7c8b5a932b4c337e15d617b8",
    "clones-only": "53016d5aad39ae77bbe626ca51e4b28874a504d4763bf6dd8344f12ca5ea2cc0",
}
"""sha256 of five generations of each configuration below (see `digest`)."""

CONFIGS = {
    "default": {},
    "neural-hybrid": {"sim": {"neural_mode": "hybrid"}},
    "uniform-tournament": {"crossover_method": "uniform", "selection": "tournament", "structural_rate": 0.5},
    "blend-no-mutation": {"use_mutation": False},
    "uniform-no-mutation": {"use_mutation": False, "crossover_method": "uniform"},
    "clones-only": {"use_crossover": False, "use_mutation": False},
}


def digest(generations: list[list[Genome]]) -> str:
    """Every gene, id, parent, colour, lineage number and streak of every genome, in order (values, not
    their types: a colour held as a numpy float is the same colour)."""
    h = hashlib.sha256()
    for population in generations:
        for g in population:
            h.update(repr((g.id, tuple(g.parent_ids), int(g.generation), int(g.survival_streak))).encode())
            h.update(
                np.array([g.color.h, g.color.s, g.color.l, g.global_frequency_multiplier], dtype=np.float64).tobytes()
            )
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
