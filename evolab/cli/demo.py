"""`evolab demo`: evolve a small population in memory and print its progress, one line per generation."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from evolab.cli._output import fail_on, print_json, stdout

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
    """Evolve creatures in memory (nothing is stored) and watch the fitness climb.

    Each creature is judged on the preset's pellet layouts per generation; the top ones are also scored on
    held-out benchmark layouts, and the best of them on it is the champion.
    """
    import numpy as np

    from evolab.config import EvolutionConfig
    from evolab.errors import EvolabError
    from evolab.genetics import evolve_step
    from evolab.genome import initial_population
    from evolab.physics import simulate
    from evolab.physics.simulate import trial_mean
    from evolab.runner.benchmark import Benchmark, benchmark_due
    from evolab.runner.seeds import generation_seed

    try:
        overrides = {} if population is None else {"population_size": population}
        cfg = EvolutionConfig.from_preset(preset, **overrides)
    except EvolabError as err:
        fail_on(err)
    rng = np.random.default_rng(seed)
    held_out = Benchmark(cfg.sim, seed, cfg.benchmark, workers=workers)
    genomes = initial_population(cfg, rng)
    history = []
    champion: tuple[float, float, int] | None = None  # (benchmark fitness, pellets, generation)
    if not as_json:
        benchmark = (
            f"benchmark on {cfg.benchmark.layouts} held-out layouts" if cfg.benchmark.enabled else "no benchmark"
        )
        stdout.print(
            f"evolving {cfg.population_size} creatures for {generations} generations "
            f"({cfg.sim.duration:g} s each on {cfg.trials} pellet layouts, {benchmark}, preset {preset}, seed {seed})",
            highlight=False,
        )
        stdout.print(
            f"{'gen':>4} {'best':>8} {'average':>8} {'worst':>8} {'pellets':>7} {'benchmark':>9} {'steps/s':>10}",
            highlight=False,
        )
    for generation in range(generations):
        start = time.perf_counter()
        # cfg.trials pellet layouts per generation, derived from the run seed as stored runs do; a
        # creature's fitness is its mean over them.
        results = simulate(genomes, cfg.sim, seed=generation_seed(seed, generation), workers=workers, trials=cfg.trials)
        elapsed = time.perf_counter() - start
        fitness = trial_mean(np.array([r.fitness for r in results]), cfg.trials)
        row = {
            "generation": generation,
            "best": float(fitness.max()),
            "average": float(fitness.mean()),
            "worst": float(fitness.min()),
            "median": float(np.median(fitness)),
            "pellets": int(sum(r.pellets_collected for r in results)),
            "benchmark_fitness": None,
            "benchmark_pellets": None,
            "creature_steps_per_s": len(results) * cfg.sim.n_steps / elapsed,
        }
        if benchmark_due(cfg.benchmark, generation):  # the top creatures on the held-out layouts
            order = np.argsort(-fitness, kind="stable")[: cfg.benchmark.top]
            score = held_out.score([genomes[i] for i in order])
            row["benchmark_fitness"], row["benchmark_pellets"] = score.fitness, score.pellets
            if champion is None or score.fitness > champion[0]:
                champion = (score.fitness, score.pellets, generation)
        history.append(row)
        if not as_json:
            scored = "-" if row["benchmark_fitness"] is None else f"{row['benchmark_fitness']:.1f}"
            stdout.print(
                f"{generation:>4} {row['best']:>8.1f} {row['average']:>8.1f} {row['worst']:>8.1f} "
                f"{row['pellets']:>7} {scored:>9} {row['creature_steps_per_s']:>10,.0f}",
                highlight=False,
            )
        if generation + 1 < generations:
            genomes = evolve_step(genomes, fitness, cfg, rng)
    if as_json:
        print_json({"preset": preset, "seed": seed, "trials": cfg.trials, "generations": history})
        return
    first, last = history[0], history[-1]
    if champion is not None:
        best = f"champion (benchmark) {champion[1]:.2f} pellets, fitness {champion[0]:.1f} in generation {champion[2]}"
    else:
        best = f"best ever {max(h['best'] for h in history):.1f}"
    stdout.print(
        f"average fitness {first['average']:.1f} -> {last['average']:.1f}, {best}; "
        "nothing was stored (runs with storage arrive with `evolab evolve`)",
        highlight=False,
    )
    raise typer.Exit(0)
