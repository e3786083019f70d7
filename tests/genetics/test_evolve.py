"""evolve_step (reference §5.3): elites carried over, children from survivors, lineage bookkeeping, and a GA
that actually improves creatures over generations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import evolab
from evolab import ConfigError, EvolutionConfig, Genome, evolve_step, validate_genome


def config(**changes: Any) -> EvolutionConfig:
    """A small population with the default GA settings, plus `changes`."""
    return EvolutionConfig(**{"population_size": 20, "elite_count": 3, **changes})


def population(cfg: EvolutionConfig, rng: np.random.Generator, size: int | None = None) -> list[Genome]:
    size = cfg.population_size if size is None else size
    return evolab.initial_population(cfg.replace(population_size=size, elite_count=0), rng)


def children_of(next_gen: list[Genome], cfg: EvolutionConfig) -> list[Genome]:
    return next_gen[cfg.elite_count :]


def test_next_generation_has_population_size_genomes(rng: np.random.Generator) -> None:
    cfg = config()
    genomes = population(cfg, rng)
    assert len(evolve_step(genomes, rng.random(20), cfg, rng)) == 20


@pytest.mark.parametrize("current", [1, 7, 45])
def test_next_generation_has_population_size_whatever_the_current_size(current: int, rng: np.random.Generator) -> None:
    cfg = config(elite_count=1)
    genomes = population(cfg, rng, size=current)
    assert len(evolve_step(genomes, rng.random(current), cfg, rng)) == 20


def test_elites_come_first_best_first_with_same_id_and_streak_plus_one(rng: np.random.Generator) -> None:
    cfg = config()
    genomes = [g.replace(survival_streak=i % 3) for i, g in enumerate(population(cfg, rng))]
    fitness = rng.permutation(20).astype(float)
    next_gen = evolve_step(genomes, fitness, cfg, rng)
    best = np.argsort(-fitness)[:3]
    for elite, index in zip(next_gen[:3], best, strict=True):
        parent = genomes[index]
        assert elite.id == parent.id
        assert elite.survival_streak == parent.survival_streak + 1
        assert elite.replace(survival_streak=parent.survival_streak) == parent


def test_an_elite_that_stays_on_top_keeps_counting_its_streak(rng: np.random.Generator) -> None:
    cfg = config(elite_count=2)
    genomes = population(cfg, rng)
    champion = genomes[5].id
    for generation in range(1, 4):
        fitness = np.array([100.0 if g.id == champion else 1.0 for g in genomes])
        genomes = evolve_step(genomes, fitness, cfg, rng)
        assert genomes[0].id == champion
        assert genomes[0].survival_streak == generation


def test_every_id_in_the_next_generation_is_unique(rng: np.random.Generator) -> None:
    cfg = config(population_size=100, elite_count=5)
    genomes = population(cfg, rng)
    next_gen = evolve_step(genomes, rng.random(100), cfg, rng)
    assert len({g.id for g in next_gen}) == 100
    old_ids = {g.id for g in genomes}
    assert all(child.id not in old_ids for child in children_of(next_gen, cfg))


def test_children_start_with_no_streak_and_a_later_generation(rng: np.random.Generator) -> None:
    cfg = config(elite_count=0)
    genomes = [g.replace(generation=2, survival_streak=4) for g in population(cfg, rng)]
    for child in evolve_step(genomes, rng.random(20), cfg, rng):
        assert child.survival_streak == 0
        assert child.generation == 3
        assert len(child.parent_ids) in (1, 2)


def test_only_survivors_become_parents(rng: np.random.Generator) -> None:
    cfg = config(population_size=40, cull_fraction=0.5, crossover_rate=0.5)
    genomes = population(cfg, rng)
    fitness = rng.permutation(40).astype(float)
    survivors = {genomes[i].id for i in np.argsort(-fitness)[:20]}
    for child in children_of(evolve_step(genomes, fitness, cfg, rng), cfg):
        assert set(child.parent_ids) <= survivors


@pytest.mark.parametrize("selection", ["rank", "tournament"])
def test_fitter_survivors_parent_more_children(selection: str, rng: np.random.Generator) -> None:
    cfg = config(population_size=200, elite_count=0, selection=selection, tournament_size=3)
    genomes = population(cfg, rng)
    fitness = np.arange(200, dtype=float)  # creature 199 is the best
    rank_of = {g.id: 199 - i for i, g in enumerate(genomes)}
    ranks = [rank_of[p] for child in evolve_step(genomes, fitness, cfg, rng) for p in child.parent_ids]
    assert max(ranks) < 100
    counts = np.bincount(np.array(ranks) // 25, minlength=4)
    assert counts[0] > counts[1] > counts[2] > counts[3]


def test_mutation_only_gives_every_child_one_parent(rng: np.random.Generator) -> None:
    cfg = config(use_crossover=False, crossover_rate=1.0)
    genomes = population(cfg, rng)
    for child in children_of(evolve_step(genomes, rng.random(20), cfg, rng), cfg):
        assert len(child.parent_ids) == 1


def test_crossover_only_at_rate_1_gives_most_children_two_parents(rng: np.random.Generator) -> None:
    cfg = config(use_mutation=False, crossover_rate=1.0)
    genomes = population(cfg, rng)
    children = children_of(evolve_step(genomes, rng.random(20), cfg, rng), cfg)
    assert sum(len(child.parent_ids) == 2 for child in children) > len(children) / 2
    assert all(len(set(child.parent_ids)) == 2 for child in children)  # two distinct parents


def test_without_crossover_or_mutation_children_are_exact_copies(rng: np.random.Generator) -> None:
    cfg = config(use_crossover=False, use_mutation=False)
    genomes = population(cfg, rng)
    by_id = {g.id: g for g in genomes}
    for child in children_of(evolve_step(genomes, rng.random(20), cfg, rng), cfg):
        parent = by_id[child.parent_ids[0]]
        assert np.array_equal(child.node_params, parent.node_params)
        assert np.array_equal(child.muscle_params, parent.muscle_params)


def test_children_are_mutated_when_mutation_is_on(rng: np.random.Generator) -> None:
    cfg = config(use_crossover=False, mutation_rate=1.0, structural_rate=0.0)
    genomes = population(cfg, rng)
    by_id = {g.id: g for g in genomes}
    for child in children_of(evolve_step(genomes, rng.random(20), cfg, rng), cfg):
        parent = by_id[child.parent_ids[0]]
        assert np.all((child.muscle_params != parent.muscle_params).any(axis=1))


def test_blend_children_take_the_first_parents_body(rng: np.random.Generator) -> None:
    cfg = config(use_mutation=False, crossover_rate=1.0, crossover_method="blend")
    genomes = population(cfg, rng)
    by_id = {g.id: g for g in genomes}
    for child in children_of(evolve_step(genomes, rng.random(20), cfg, rng), cfg):
        assert np.array_equal(child.muscle_nodes, by_id[child.parent_ids[0]].muscle_nodes)


def test_uniform_children_take_either_parents_body(rng: np.random.Generator) -> None:
    cfg = config(population_size=60, use_mutation=False, crossover_rate=1.0, crossover_method="uniform")
    genomes = population(cfg, rng)
    by_id = {g.id: g for g in genomes}
    sources = []
    for child in children_of(evolve_step(genomes, rng.random(60), cfg, rng), cfg):
        first, second = (by_id[i] for i in child.parent_ids)
        same_as = [np.array_equal(child.muscle_nodes, p.muscle_nodes) for p in (first, second)]
        assert any(same_as)
        sources.append(tuple(same_as))
    assert (False, True) in sources
    assert (True, False) in sources


def test_a_tournament_of_one_picks_survivors_uniformly(rng: np.random.Generator) -> None:
    cfg = config(population_size=400, elite_count=0, selection="tournament", tournament_size=1)
    genomes = population(cfg, rng, size=40)
    fitness = np.arange(40, dtype=float)
    rank_of = {g.id: 39 - i for i, g in enumerate(genomes)}
    ranks = [rank_of[p] for child in evolve_step(genomes, fitness, cfg, rng) for p in child.parent_ids]
    counts = np.bincount(np.array(ranks) // 5, minlength=4)  # four groups of five survivors
    assert counts.sum() == len(ranks)
    assert counts.min() > 0.75 * counts.mean()


def test_population_of_one(rng: np.random.Generator) -> None:
    only = population(config(), rng, size=1)
    kept = evolve_step(only, [5.0], config(population_size=1, elite_count=1), rng)
    assert [g.id for g in kept] == [only[0].id]
    assert kept[0].survival_streak == 1

    replaced = evolve_step(only, [5.0], config(population_size=1, elite_count=0), rng)
    assert len(replaced) == 1
    assert replaced[0].parent_ids == (only[0].id,)


@pytest.mark.parametrize("fitness_value", [0.0, 42.0, -3.0])
def test_equal_fitness_everywhere_still_makes_a_full_valid_generation(
    fitness_value: float, rng: np.random.Generator
) -> None:
    cfg = config()
    genomes = population(cfg, rng)
    next_gen = evolve_step(genomes, np.full(20, fitness_value), cfg, rng)
    assert len(next_gen) == 20
    assert [g.id for g in next_gen[:3]] == [g.id for g in genomes[:3]]  # ties: input order
    for genome in next_gen:
        validate_genome(genome, cfg.constraints)


@pytest.mark.parametrize(
    "changes", [{"selection": "tournament"}, {"crossover_method": "uniform", "crossover_rate": 0.8}]
)
def test_selection_and_crossover_options_make_valid_generations(
    changes: dict[str, Any], rng: np.random.Generator
) -> None:
    cfg = config(**changes)
    genomes = population(cfg, rng)
    for _ in range(3):
        genomes = evolve_step(genomes, rng.random(20), cfg, rng)
        assert len(genomes) == 20
        assert len({g.id for g in genomes}) == 20
        for genome in genomes:
            validate_genome(genome, cfg.constraints)


@pytest.mark.parametrize(
    "changes",
    [
        {"crossover_rate": 0.5, "structural_rate": 0.3},
        {"crossover_rate": 1.0, "use_mutation": False},
        {"neural_hidden_size": 4, "sim": {"neural_mode": "hybrid"}},
    ],
)
def test_children_are_genomes_exactly_as_the_public_constructor_makes_them(
    changes: dict[str, Any], rng: np.random.Generator
) -> None:
    """The GA assembles children from its batch arrays without re-checking them: what it makes must be
    what `Genome(...)` makes from the same values, with read-only arrays that no later child shares
    writably."""
    cfg = config(**changes)
    genomes = population(cfg, rng)
    for _ in range(3):
        genomes = evolve_step(genomes, rng.random(20), cfg, rng)
        for child in children_of(genomes, cfg):
            rebuilt = Genome(
                child.id,
                child.node_params.tolist(),
                child.muscle_nodes.tolist(),
                child.muscle_params.tolist(),
                child.global_frequency_multiplier,
                child.color,
                generation=child.generation,
                survival_streak=child.survival_streak,
                parent_ids=list(child.parent_ids),
                neural=child.neural,
            )
            assert child == rebuilt
            for array, like in (
                (child.node_params, rebuilt.node_params),
                (child.muscle_nodes, rebuilt.muscle_nodes),
                (child.muscle_params, rebuilt.muscle_params),
            ):
                assert (array.dtype, array.shape) == (like.dtype, like.shape)
                assert array.flags.c_contiguous
                assert not array.flags.writeable
            assert type(child.global_frequency_multiplier) is float
            assert type(child.parent_ids) is tuple
            validate_genome(child, cfg.constraints)


def test_same_seed_gives_an_identical_next_generation(rng: np.random.Generator) -> None:
    cfg = config(crossover_rate=0.5, structural_rate=0.3)
    genomes = population(cfg, rng)
    fitness = rng.random(20)
    a = evolve_step(genomes, fitness, cfg, np.random.default_rng(99))
    b = evolve_step(genomes, fitness, cfg, np.random.default_rng(99))
    assert [g.to_dict() for g in a] == [g.to_dict() for g in b]
    c = evolve_step(genomes, fitness, cfg, np.random.default_rng(100))
    assert [g.to_dict() for g in a] != [g.to_dict() for g in c]


def test_evolve_step_leaves_its_inputs_untouched(rng: np.random.Generator) -> None:
    cfg = config(structural_rate=0.5)
    genomes = population(cfg, rng)
    before = [g.to_dict() for g in genomes]
    fitness = rng.random(20)
    fitness_before = fitness.copy()
    evolve_step(genomes, fitness, cfg, rng)
    assert [g.to_dict() for g in genomes] == before
    assert np.array_equal(fitness, fitness_before)


@pytest.mark.parametrize(
    ("fitness", "message"),
    [
        (np.ones(19), "19 fitnesses for 20 genomes"),
        (np.ones(21), "21 fitnesses for 20 genomes"),
        (np.ones((20, 1)), "fitnesses for 20 genomes"),
        (np.r_[np.ones(19), np.nan], "finite"),
        (np.r_[np.ones(19), np.inf], "finite"),
        (np.r_[-np.inf, np.ones(19)], "finite"),
    ],
)
def test_bad_fitnesses_are_refused(fitness: np.ndarray, message: str, rng: np.random.Generator) -> None:
    cfg = config()
    with pytest.raises(ConfigError, match=message):
        evolve_step(population(cfg, rng), fitness, cfg, rng)


def test_an_empty_population_is_refused(rng: np.random.Generator) -> None:
    with pytest.raises(ConfigError, match="empty"):
        evolve_step([], [], config(), rng)


def test_children_stay_within_the_node_limits_over_many_generations(rng: np.random.Generator) -> None:
    constraints = evolab.GenomeConstraints(min_nodes=2, max_nodes=5, max_muscles=8)
    cfg = config(constraints=constraints, structural_rate=0.5, mutation_rate=0.5, crossover_rate=0.5)
    genomes = population(cfg, rng)
    sizes = set()
    for _ in range(15):
        genomes = evolve_step(genomes, rng.random(20), cfg, rng)
        for genome in genomes:
            validate_genome(genome, constraints)
            sizes.add(genome.n_nodes)
    assert min(sizes) == 2
    assert max(sizes) == 5


# -- neural runs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["neural-hybrid", "neural-pure"])
def test_neural_children_have_networks_with_one_output_per_muscle(preset: str, rng: np.random.Generator) -> None:
    cfg = EvolutionConfig.from_preset(preset, population_size=30, elite_count=3, structural_rate=0.5)
    genomes = evolab.initial_population(cfg, rng)
    for _ in range(3):
        genomes = evolve_step(genomes, rng.random(30), cfg, rng)
        for genome in genomes:
            assert genome.neural is not None
            assert genome.neural.hidden_size == cfg.neural_hidden_size
            assert genome.neural.output_size == genome.n_muscles
            validate_genome(genome, cfg.constraints)


def test_a_neural_run_gives_networks_to_children_of_oscillator_parents(rng: np.random.Generator) -> None:
    cfg = EvolutionConfig.from_preset("neural-pure", population_size=20, elite_count=2)
    oscillators = evolab.initial_population(EvolutionConfig(population_size=20), rng)
    next_gen = evolve_step(oscillators, rng.random(20), cfg, rng)
    assert all(elite.neural is None for elite in next_gen[:2])  # elites carry over unchanged
    for child in next_gen[2:]:
        assert child.neural is not None
        assert child.neural.hidden_size == cfg.neural_hidden_size
        assert child.neural.activation == cfg.neural_activation
        assert child.neural.output_size == child.n_muscles


def test_an_oscillator_run_never_adds_networks(rng: np.random.Generator) -> None:
    cfg = config()
    genomes = population(cfg, rng)
    assert all(g.neural is None for g in evolve_step(genomes, rng.random(20), cfg, rng))


# -- with the simulator -------------------------------------------------------------------------------


def test_five_generations_with_real_simulation(rng: np.random.Generator) -> None:
    cfg = EvolutionConfig.from_preset("quick", population_size=10, elite_count=2, sim={"duration": 0.5})
    genomes = evolab.initial_population(cfg, rng)
    for generation in range(5):
        fitness = np.array([r.fitness for r in evolab.simulate(genomes, cfg.sim, seed=generation)])
        assert np.all(np.isfinite(fitness))
        assert np.all(fitness >= 0.0)
        best_two = {genomes[i].id for i in np.argsort(-fitness, kind="stable")[:2]}
        genomes = evolve_step(genomes, fitness, cfg, rng)
        assert {g.id for g in genomes[:2]} == best_two
        assert len(genomes) == 10
        for genome in genomes:
            validate_genome(genome, cfg.constraints)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_evolution_raises_the_best_fitnesses(seed: int) -> None:
    # measured: mean of the top five goes from about 104 to 237 (seed 1), 105 to 241 (2), 93 to 216 (3)
    cfg = EvolutionConfig.from_preset("default", population_size=50)
    rng = np.random.default_rng(seed)
    genomes = evolab.initial_population(cfg, rng)

    def top_five(genomes: list[Genome]) -> tuple[float, np.ndarray]:
        fitness = np.array([r.fitness for r in evolab.simulate(genomes, cfg.sim, seed=1)])
        return float(np.sort(fitness)[-5:].mean()), fitness

    start, fitness = top_five(genomes)
    for _ in range(30):
        genomes = evolve_step(genomes, fitness, cfg, rng)
        end, fitness = top_five(genomes)
    assert end >= 1.2 * start
    assert end >= start + 30.0
