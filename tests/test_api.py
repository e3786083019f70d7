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
        "Run",
        "GenerationStats",
        "CreatureResult",
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


def test_the_run_api_of_the_design_walkthrough(tmp_path):
    cfg = evolab.EvolutionConfig.from_preset("quick", population_size=8, sim={"duration": 0.5})
    run = evolab.Run.create(cfg, db=tmp_path / "evolution.db", seed=1)
    run.advance(2)
    history = run.history()
    assert [s.generation for s in history] == [0, 1]
    assert isinstance(history[0], evolab.GenerationStats)
    best = run.results(1)[0]
    assert isinstance(best, evolab.CreatureResult)
    assert best.fitness == max(r.fitness for r in run.results(1))
    assert isinstance(run.genome(best.creature_id), evolab.Genome)
    run_id = run.id
    run.close()
    resumed = evolab.Run.resume(run_id, db=tmp_path / "evolution.db")
    assert resumed.generation == 2
    resumed.close()


def test_importing_evolab_stays_light():
    import subprocess
    import sys

    code = "import sys, evolab; print('numba' in sys.modules, 'evolab.physics' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
