"""Random genomes (reference §1.7, with the frequency limit always respected) and generation 0."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from evolab.config import GenomeConstraints
from evolab.genome.genes import HSL, MUSCLE_FIELDS, N_FRICTION, N_SIZE, N_X, N_Y, N_Z
from evolab.genome.model import Genome
from evolab.genome.muscle_init import constraint_vector, init_muscles
from evolab.genome.neural import init_neural_genome
from evolab.genome.ranges import snap_genes
from evolab.genome.topology import free_pairs

if TYPE_CHECKING:
    from evolab.config import EvolutionConfig


def new_creature_id(rng: np.random.Generator, birth: int = 0) -> str:
    """A creature id: `cr_`, the birth generation in 5 hex digits, 11 random hex digits (44 bits)."""
    return new_creature_ids(rng, 1, birth)[0]


def new_creature_ids(rng: np.random.Generator, count: int, birth: int = 0) -> list[str]:
    """`count` creature ids drawn from `rng` at once.

    Ids sort by birth generation, so a run's id index grows at its end instead of being rewritten all
    over (measured: the random ids of an earlier layout made generation writes slow down as runs grew).
    """
    values = rng.integers(0, 2**44, size=count, dtype=np.int64).tolist()
    prefix = f"cr_{birth:05x}"  # formatted once: a third of the time for a generation's ids
    return [f"{prefix}{value:011x}" for value in values]


def random_muscle_params(
    rng: np.random.Generator,
    ends: np.ndarray,
    node_params: np.ndarray,
    constraints: GenomeConstraints,
    *,
    structural: bool = False,
) -> np.ndarray:
    """(k, 16) parameters of new muscles joining `ends` (k, 2).

    Rest length is the distance between the two nodes' rest positions x U(0.8, 1.2), kept inside
    [0.2, 4.0]. `structural=True` uses the structural-mutation init (amplitude U(0, max)), otherwise
    generation 0's (amplitude U(0.1, max)) (reference §1.4). Bias directions are uniform on the sphere.
    """
    params = np.empty((len(ends), len(MUSCLE_FIELDS)))
    init_muscles(
        params,
        np.ascontiguousarray(ends, dtype=np.int64),
        np.ascontiguousarray(node_params, dtype=np.float64),
        constraint_vector(constraints),
        structural,
        rng,
    )
    return params


def random_color(rng: np.random.Generator) -> HSL:
    """h U(0,1), s U(0.5,0.9), l U(0.4,0.6)."""
    h, s, l = rng.uniform([0.0, 0.5, 0.4], [1.0, 0.9, 0.6])  # noqa: E741
    return HSL(float(h), float(s), float(l))


def _min_nodes_for(constraints: GenomeConstraints) -> int:
    """Fewest nodes whose pairs can hold `min_muscles` muscles."""
    n = constraints.min_nodes
    while n * (n - 1) // 2 < constraints.min_muscles:
        n += 1
    return n


def random_genome(
    rng: np.random.Generator,
    constraints: GenomeConstraints | None = None,
    *,
    neural_hidden_size: int | None = None,
    neural_activation: str = "tanh",
) -> Genome:
    """A random connected genome satisfying `constraints` (reference §1.7).

    Args:
        rng: the only source of randomness.
        constraints: bounds to respect; the defaults when None.
        neural_hidden_size: give the creature an 8-H-O neural genome with this H (None: oscillator).
        neural_activation: hidden-layer activation of that network.

    Returns:
        A genome with a spanning tree of muscles plus random extra muscles, frequencies clamped so that
        frequency x multiplier never exceeds `constraints.max_frequency`, every gene a float32 number.
    """
    c = constraints or GenomeConstraints()
    eff_max = c.effective_max_nodes
    eff_min = min(max(c.min_nodes, _min_nodes_for(c)), eff_max)
    n = int(rng.integers(eff_min, eff_max + 1))

    nodes = np.empty((n, 5))
    nodes[:, N_SIZE] = rng.uniform(c.min_size, c.max_size, n)
    nodes[:, N_FRICTION] = rng.uniform(0.3, 0.9, n)
    r = c.spawn_radius
    nodes[:, N_X] = rng.uniform(-r, r, n)
    nodes[:, N_Y] = rng.uniform(0.5, 1.5 * r, n)
    nodes[:, N_Z] = rng.uniform(-r, r, n)

    # Spanning tree: nodes join in random order, each to a uniformly random node already joined.
    order = np.concatenate([[0], 1 + rng.permutation(n - 1)])
    attach = np.floor(rng.random(n - 1) * np.arange(1, n)).astype(np.int64)
    ends = np.stack([order[attach], order[1:]], axis=1)

    # Extra muscles: a random number of attempts at random pairs, skipping self-pairs and duplicates.
    budget = min(c.max_muscles, n * (n - 1) // 2)
    attempts = int(rng.integers(0, budget - (n - 1) + 1))
    taken = {tuple(sorted(e)) for e in ends.tolist()}
    extra = []
    for a, b in rng.integers(0, n, (attempts, 2)).tolist():
        key = (min(a, b), max(a, b))
        if a != b and key not in taken:
            taken.add(key)
            extra.append((a, b))
    if len(taken) < c.min_muscles:
        pool = free_pairs(n, np.array(sorted(taken), dtype=np.int64))
        pick = rng.choice(len(pool), c.min_muscles - len(taken), replace=False)
        extra.extend(map(tuple, pool[np.sort(pick)].tolist()))
    if extra:
        ends = np.concatenate([ends, np.array(extra, dtype=np.int64)])

    params = random_muscle_params(rng, ends, nodes, c)
    multiplier = float(rng.uniform(0.5, 1.5))
    nodes, params, multipliers = snap_genes(nodes, params, np.array([multiplier]), np.array([len(ends)]), c)
    neural = None
    if neural_hidden_size is not None:
        neural = init_neural_genome(rng, neural_hidden_size, len(ends), neural_activation)
    return Genome(
        id=new_creature_id(rng),
        node_params=nodes,
        muscle_nodes=ends,
        muscle_params=params,
        global_frequency_multiplier=float(multipliers[0]),
        color=random_color(rng),
        neural=neural,
    )


def initial_population(cfg: EvolutionConfig, rng: np.random.Generator) -> list[Genome]:
    """Generation 0: `cfg.population_size` random genomes, neural when `cfg.sim.neural_mode != "off"`."""
    hidden = cfg.neural_hidden_size if cfg.sim.neural_mode != "off" else None
    return [
        random_genome(rng, cfg.constraints, neural_hidden_size=hidden, neural_activation=cfg.neural_activation)
        for _ in range(cfg.population_size)
    ]
