"""`evolab demo`: evolve a small population in memory and print its progress, one line per generation."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from evolab.cli._output import fail, print_json, stdout

EPILOG = """Examples:

  $ evolab demo

  $ evolab demo --generations 100 --population 100 --preset default
"""


def demo_command(
    generations: Annotated[int, typer.Option(help="Generations to evolve.", min=1)] = 30,
    population: Annotated[
        int | None, typer.Option(help="Creatures per generation [default: the preset's].", min=2)
    ] = None,
    preset: Annotated[str, typer.Option(help="Starting configuration.")] = "quick",
    seed: Annotated[int, typer.Option(help="Run seed: the same seed gives the same run.", min=0)] = 1,
    workers: Annotated[int | None, typer.Option(help="Kernel threads [default: all cores].", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the per-generation statistics as JSON.")] = False,
) -> None:
    """Evolve creatures in memory (nothing is stored) and watch the fitness climb."""
    import numpy as np

    from evolab.config import EvolutionConfig
    from evolab.errors import EvolabError
    from evolab.genetics import evolve_step
    from evolab.genome import initial_population
    from evolab.physics import simulate
    from evolab.runner.seeds import generation_seed

    try:
        overrides = {} if population is None else {"population_size": population}
        cfg = EvolutionConfig.from_preset(preset, **overrides)
    except EvolabError as err:
        fail(str(err))
    rng = np.random.default_rng(seed)
    genomes = initial_population(cfg, rng)
    history = []
    if not as_json:
        stdout.print(
            f"evolving {cfg.population_size} creatures for {generations} generations "
            f"({cfg.sim.duration:g} s each, preset {preset}, seed {seed})"
        )
        stdout.print(f"{'gen':>4} {'best':>8} {'average':>8} {'worst':>8} {'pellets':>7} {'steps/s':>10}")
    for generation in range(generations):
        start = time.perf_counter()
        # One pellet layout per generation, derived from the run seed as stored runs do.
        results = simulate(genomes, cfg.sim, seed=generation_seed(seed, generation), workers=workers)
        elapsed = time.perf_counter() - start
        fitness = np.array([r.fitness for r in results])
        row = {
            "generation": generation,
            "best": float(fitness.max()),
            "average": float(fitness.mean()),
            "worst": float(fitness.min()),
            "median": float(np.median(fitness)),
            "pellets": int(sum(r.pellets_collected for r in results)),
            "creature_steps_per_s": len(genomes) * cfg.sim.n_steps / elapsed,
        }
        history.append(row)
        if not as_json:
            stdout.print(
                f"{generation:>4} {row['best']:>8.1f} {row['average']:>8.1f} {row['worst']:>8.1f} "
                f"{row['pellets']:>7} {row['creature_steps_per_s']:>10,.0f}"
            )
        if generation + 1 < generations:
            genomes = evolve_step(genomes, fitness, cfg, rng)
    if as_json:
        print_json({"preset": preset, "seed": seed, "generations": history})
        return
    first, last = history[0], history[-1]
    best_ever = max(h["best"] for h in history)
    stdout.print(
        f"average fitness {first['average']:.1f} -> {last['average']:.1f}, best ever {best_ever:.1f}; "
        "nothing was stored (runs with storage arrive with `evolab evolve`)"
    )
    raise typer.Exit(0)
