"""Does evolution work? Configurations run at one compute budget, judged on layouts they never saw.

    .venv/bin/python benchmarks/efficacy.py                      # the shipped presets, 3 seeds each
    .venv/bin/python benchmarks/efficacy.py --seeds 1 2 3 4 5 --configs default neural-pure
    .venv/bin/python benchmarks/efficacy.py --json > efficacy.json

Each configuration evolves a stored run (the product's own `Run`, in a temporary database) for as many
generations as the budget of creature evaluations allows (budget / (population x trials); the default
budget is the default preset's 300 generations), for each seed. Its champion (the run's best creature
on its held-out benchmark) is then judged on 32 test layouts that neither selection nor the benchmark
ever used. Random search gets the same budget: budget / trials random creatures of the configuration's
kind, each on the same `trials` layouts, the best mean kept and judged the same way. The table shows the
median over seeds (and the range) of the champion's pellets and fitness on the test layouts, the ratio
of its fitness to random search's, and the wall time of a run. This is a study, not a test: it takes
minutes, and its numbers depend on the machine only in the seconds column.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evolab.config import EvolutionConfig
from evolab.genome import Genome, initial_population
from evolab.runner import Run
from evolab.runner.benchmark import score_on_layouts
from evolab.runner.seeds import generation_seed

VARIANTS: dict[str, tuple[str, dict]] = {
    "default, 1 trial": ("default", {"trials": 1}),
    "default, benchmark top 3": ("default", {"benchmark": {"top": 3}}),
    "default, nodes >= 0.3": ("default", {"constraints": {"min_size": 0.3}}),
    "default, nodes <= 0.8": ("default", {"constraints": {"max_size": 0.8}}),
    "default, nodes <= 1.2": ("default", {"constraints": {"max_size": 1.2}}),
    "default, body-frame senses": ("default", {"sim": {"sensor_frame": "body"}}),
    "default, motion-frame senses": ("default", {"sim": {"sensor_frame": "motion"}}),
    "neural-pure, body-frame senses": ("neural-pure", {"sim": {"sensor_frame": "body"}}),
}
"""Study configurations beside the shipped presets: a preset with some settings changed."""

TEST_LAYOUTS = 32
BUDGET_PRESET, BUDGET_GENERATIONS = "default", 300
RANDOM_CHUNK = 2000  # random creatures simulated per kernel call


@dataclass(frozen=True, slots=True)
class Trial:
    """One configuration and seed: its champion and random search's, on the test layouts."""

    config: str
    seed: int
    generations: int
    evaluations: int
    pellets: float
    fitness: float
    random_pellets: float
    random_fitness: float
    seconds: float


def test_seed(seed: int) -> int:
    """The test layouts' seed: from a stream neither selection nor the benchmark draws from."""
    return int(np.random.SeedSequence(seed, spawn_key=(0x7E57,)).generate_state(1, np.uint64)[0] >> 1)


def judge(genome: Genome, cfg: EvolutionConfig, seed: int) -> tuple[float, float]:
    """Mean fitness and pellets of one creature over the test layouts."""
    fitness, pellets = score_on_layouts([genome], cfg.sim, test_seed(seed), TEST_LAYOUTS)
    return float(fitness[0]), float(pellets[0])


def evolve(cfg: EvolutionConfig, seed: int, generations: int, folder: Path) -> tuple[Genome, float]:
    """The champion of a stored run of `generations` generations, and the run's wall time."""
    start = time.perf_counter()
    with Run.create(cfg, folder / f"run-{seed}.db", seed=seed) as run:
        run.advance(generations)
        seconds = time.perf_counter() - start
        return run.genome(run.info().best_creature_id), seconds


@functools.cache
def _random_search(settings: str, seed: int, evaluations: int) -> Genome:
    return random_search(EvolutionConfig.model_validate_json(settings), seed, evaluations)


def random_search(cfg: EvolutionConfig, seed: int, evaluations: int) -> Genome:
    """The best of evaluations / trials random creatures, each on the same `trials` layouts."""
    rng = np.random.default_rng([seed, 0xAB5E])
    layouts_seed = generation_seed(seed, 0)
    best, best_fitness, left = None, -1.0, max(1, evaluations // cfg.trials)
    while left > 0:
        chunk = initial_population(cfg.replace(population_size=min(RANDOM_CHUNK, left), elite_count=0), rng)
        fitness, _ = score_on_layouts(chunk, cfg.sim, layouts_seed, cfg.trials)
        i = int(np.argmax(fitness))
        if fitness[i] > best_fitness:
            best, best_fitness = chunk[i], float(fitness[i])
        left -= len(chunk)
    assert best is not None
    return best


def configuration(name: str) -> EvolutionConfig:
    """A shipped preset, or one of the `VARIANTS`."""
    preset, overrides = VARIANTS.get(name, (name, {}))
    return EvolutionConfig.from_preset(preset, **overrides)


def study(name: str, seed: int, budget: int, folder: Path) -> Trial:
    cfg = configuration(name)
    generations = max(1, budget // (cfg.population_size * cfg.trials))
    champion, seconds = evolve(cfg, seed, generations, folder)
    fitness, pellets = judge(champion, cfg, seed)
    # configurations that differ only in GA settings share their random search
    kind = cfg.replace(population_size=1, elite_count=0, benchmark={"enabled": False}).model_dump_json(
        include={
            "trials",
            "constraints",
            "sim",
            "neural_hidden_size",
            "neural_activation",
            "population_size",
            "elite_count",
        }
    )
    random_fitness, random_pellets = judge(_random_search(kind, seed, budget), cfg, seed)
    evaluations = generations * cfg.population_size * cfg.trials
    return Trial(name, seed, generations, evaluations, pellets, fitness, random_pellets, random_fitness, seconds)


def table(trials: list[Trial]) -> str:
    """Markdown: one row per configuration, medians over seeds with their ranges."""

    def cell(values: list[float], fmt: str) -> str:
        lo, mid, hi = min(values), float(np.median(values)), max(values)
        return f"{mid:{fmt}} ({lo:{fmt}}–{hi:{fmt}})" if len(values) > 1 else f"{mid:{fmt}}"

    lines = [
        "| configuration | generations | pellets (test) | fitness (test) | random search pellets | fitness ÷ random "
        "| s / run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(t.config for t in trials):
        rows = [t for t in trials if t.config == name]
        ratios = [t.fitness / t.random_fitness if t.random_fitness > 0 else float("inf") for t in rows]
        lines.append(
            f"| {name} | {rows[0].generations} | {cell([t.pellets for t in rows], '.2f')} | "
            f"{cell([t.fitness for t in rows], '.1f')} | {cell([t.random_pellets for t in rows], '.2f')} | "
            f"{cell(ratios, '.2f')} | {cell([t.seconds for t in rows], '.0f')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["default", "original", *VARIANTS, "neural-pure", "neural-hybrid"],  # about 40 minutes here
        help=f"preset names or study variants ({', '.join(repr(v) for v in VARIANTS)})",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--budget", type=int, help="creature evaluations per run (default: 300 default generations)")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    args = parser.parse_args(argv)
    default = EvolutionConfig.from_preset(BUDGET_PRESET)
    budget = args.budget or BUDGET_GENERATIONS * default.population_size * default.trials
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.configs:
            for seed in args.seeds:
                trial = study(name, seed, budget, Path(folder))
                results.append(trial)
                print(json.dumps(asdict(trial)), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"budget": budget, "test_layouts": TEST_LAYOUTS, "runs": [asdict(t) for t in results]}))
    else:
        print(f"budget: {budget} creature evaluations per run; champions judged on {TEST_LAYOUTS} test layouts\n")
        print(table(results))


if __name__ == "__main__":
    main()
