"""The public API of DESIGN §5: code outside the project relies on exactly these names."""

from __future__ import annotations

import numpy as np

import evolab


def test_every_designed_name_is_exported():
    for name in (
        "Genome",
        "random_genome",
        "initial_population",
        "GenomeConstraints",
        "SimConfig",
        "FitnessWeights",
        "EvolutionConfig",
        "FramePolicy",
        "simulate",
        "SimResult",
        "evolve_step",
        "GenomeError",
        "ConfigError",
        "StorageError",
    ):
        assert hasattr(evolab, name), name
        assert name in evolab.__all__


def test_the_design_walkthrough_runs_as_written():
    rng = np.random.default_rng(7)
    g = evolab.random_genome(rng, evolab.GenomeConstraints())
    d = g.to_dict()
    g2 = evolab.Genome.from_dict(d)
    cfg = evolab.SimConfig(duration=2.0, gravity=-9.8)
    res = evolab.simulate([g, g2], cfg, seed=7, record=True)
    assert isinstance(res[0].fitness, float)
    assert isinstance(res[0].pellets_collected, int)
    assert res[0].disqualified is None or isinstance(res[0].disqualified, str)
    assert res[0].frames.dtype == np.float32
    assert res[0].frames.shape == (31, g.n_nodes, 3)
    assert len(res[0].fitness_over_time) == 31
    assert res[0].fitness == res[1].fitness  # same genome, same seed
    assert res[0].distance_traveled >= 0
    assert res[0].net_displacement >= 0
    explicit = evolab.simulate([g], cfg, seed=7, pellets=[(3.0, 0.3, 0.0)])
    assert explicit[0].pellets[0].position == (3.0, 0.3, 0.0)
    evo = evolab.EvolutionConfig.from_preset("default", population_size=10)
    genomes = evolab.initial_population(evo, rng)
    fitnesses = [r.fitness for r in evolab.simulate(genomes, evo.sim.replace(duration=1.0), seed=1)]
    pop = evolab.evolve_step(genomes, fitnesses, evo, rng)
    assert len(pop) == 10


def test_genome_dicts_use_camel_case_keys_and_a_schema_version(rng):
    d = evolab.random_genome(rng).to_dict()
    assert d["schemaVersion"] == 1
    assert {"nodes", "muscles", "globalFrequencyMultiplier", "survivalStreak", "parentIds"} <= set(d)
    assert {"nodeA", "nodeB", "restLength", "directionBias"} <= set(d["muscles"][0])
