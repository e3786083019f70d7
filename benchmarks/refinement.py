"""Does gradient refinement help? Two questions, both judged on test layouts nothing was chosen on.

champions: `refine` (what `evolab refine` runs) on each seed's champion after `--generations` generations:
its fitness before and after on `--test-layouts` test layouts (the stream of `benchmarks/efficacy.py`),
with the paired gain's standard error, next to refine's own held-out measurement and what the taken steps
gained where they were judged. The pellets are those of efficacy's 32 test layouts.

equal-time: evolution alone against evolution that refines its elites each generation (Lamarckian,
`RefinePolicy`), at equal wall time.

landscape: why the first gives nothing. Each seed's champion moved a small RMS step along the gradient
`refine` follows, against it and along a random direction, each judged against the unchanged champion on
the same `--test-layouts` fresh layouts (a paired mean difference, with its standard error). A gradient
worth following would gain at the small sizes and beat the random direction.

    .venv/bin/python benchmarks/refinement.py champions --generations 30 --seeds 1 2 3 4 5   # ~2 min a seed
    .venv/bin/python benchmarks/refinement.py equal-time                # quick preset, 90 s a run, 2 seeds
    .venv/bin/python benchmarks/refinement.py equal-time --seconds 600 --seeds 1 2 3 --preset default
    .venv/bin/python benchmarks/refinement.py landscape --seeds 1 2 3      # about 15 s a seed

In equal-time, each arm evolves a stored run generation by generation until its time is up; its champion
(the best on the run's held-out benchmark) is then judged on the test layouts. The refinement arm spends
part of its time on gradients (the torch backend on this machine's CPU), so it runs fewer generations:
the question is whether what the gradient finds is worth the generations it costs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from efficacy import judge, test_seed

from evolab.config import EvolutionConfig
from evolab.physics.gradients import objective_and_gradient
from evolab.runner import Run
from evolab.runner.benchmark import benchmark_sim, scores_by_layout
from evolab.runner.refine import moved, normalised_gradient, refine, training_seed

LANDSCAPE_SIZES = (0.0001, 0.001, 0.01)
"""RMS steps per gene, as fractions of each gene's range: from far below any mutation to a small one."""
_LANDSCAPE_STREAM = 0x1A2D


def evolve_for(cfg: EvolutionConfig, seed: int, seconds: float, db: Path) -> dict:
    """Evolve until `seconds` have passed (whole generations); the champion judged on the test layouts."""
    start = time.perf_counter()
    with Run.create(cfg, db, seed=seed, backend="cpu") as run:
        while time.perf_counter() - start < seconds:
            run.advance(1)
        champion = run.genome(run.info().best_creature_id)
        generations = run.generation
    fitness, pellets = judge(champion, cfg, seed)
    return {"generations": generations, "fitness": fitness, "pellets": pellets}


def refine_champion(cfg: EvolutionConfig, seed: int, args: argparse.Namespace, db: Path) -> dict:
    """A run's champion after `args.generations` generations, refined; both judged on the test layouts."""
    with Run.create(cfg, db, seed=seed, backend="cpu") as run:
        run.advance(args.generations)
        champion = run.genome(run.info().best_creature_id)
    start = time.perf_counter()
    result = refine(champion, cfg, seed, steps=args.steps, layouts=args.layouts, run_seed=seed)
    seconds = time.perf_counter() - start
    sim = benchmark_sim(cfg.sim)
    test = scores_by_layout([champion, result.genome], sim, test_seed(seed), args.test_layouts)[0]
    gain = test[1] - test[0]  # paired: each layout scored by both
    (_, before_pellets), (_, after_pellets) = judge(champion, cfg, seed), judge(result.genome, cfg, seed)
    return {
        "seed": seed,
        "accepted": result.accepted,
        "steps_gain": result.gain,
        "held_out": [result.before_fitness, result.after_fitness],
        "test_fitness": [float(test[0].mean()), float(test[1].mean())],
        "test_gain": [float(gain.mean()), float(gain.std(ddof=1) / np.sqrt(gain.size))],
        "test_pellets": [before_pellets, after_pellets],
        "seconds": seconds,
    }


def champions(args: argparse.Namespace) -> None:
    cfg = EvolutionConfig.from_preset(args.preset)
    with tempfile.TemporaryDirectory(prefix="evolab-refinement-") as folder:
        rows = []
        for seed in args.seeds:
            rows.append(refine_champion(cfg, seed, args, Path(folder) / f"run-{seed}.db"))
            print(f"seed {seed}: {rows[-1]}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{args.preset}, champions after {args.generations} generations, refined by {args.steps} steps")
    print(f"(test: {args.test_layouts} layouts; pellets: 32)\n")
    print("| seed | steps taken | their gain | refine's held-out | test fitness | test gain | test pellets | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{a:.1f} -> {b:.1f}" for a, b in (r["held_out"], r["test_fitness"])]
        pellets = "{:.2f} -> {:.2f}".format(*r["test_pellets"])
        gain = "{:+.1f} ± {:.1f}".format(*r["test_gain"])
        print(
            f"| {r['seed']} | {r['accepted']} | {r['steps_gain']:+.1f} | {' | '.join(cells)} | {gain} | {pellets} "
            f"| {r['seconds']:.0f} |"
        )
    gains = [r["test_gain"][0] for r in rows]
    worse = sum(r["test_gain"][0] < -2 * r["test_gain"][1] for r in rows)
    better = sum(r["test_gain"][0] > 2 * r["test_gain"][1] for r in rows)
    print(
        f"test fitness gain: mean {sum(gains) / len(gains):+.1f}; {better} of {len(rows)} champions better by two "
        f"standard errors, {worse} worse"
    )


def equal_time(args: argparse.Namespace) -> None:
    alone = EvolutionConfig.from_preset(args.preset)
    refined = alone.replace(refine={"enabled": True, "elites": args.elites, "steps": args.steps})
    rows = []
    with tempfile.TemporaryDirectory(prefix="evolab-refinement-") as folder:
        for seed in args.seeds:
            for arm, cfg in (("evolution alone", alone), ("evolution + refinement", refined)):
                result = evolve_for(cfg, seed, args.seconds, Path(folder) / f"{arm[:9]}-{seed}.db")
                rows.append({"arm": arm, "seed": seed, **result})
                print(f"{arm:24s} seed {seed}: {result}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"| arm ({args.preset}, {args.seconds:g} s a run) | seed | generations | pellets (test) | fitness (test) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['arm']} | {r['seed']} | {r['generations']} | {r['pellets']:.2f} | {r['fitness']:.1f} |")


def landscape(args: argparse.Namespace) -> None:
    cfg = EvolutionConfig.from_preset(args.preset)
    sim = benchmark_sim(cfg.sim)
    print(f"{args.preset}, champions after {args.generations} generations, each step judged on {args.test_layouts}")
    print("fresh layouts against the unchanged champion (paired mean fitness change ± its standard error)\n")
    print("| seed | champion | direction | " + " | ".join(f"step {s:g}" for s in LANDSCAPE_SIZES) + " |")
    print("|---|---|---|" + "---|" * len(LANDSCAPE_SIZES))
    with tempfile.TemporaryDirectory(prefix="evolab-refinement-") as folder:
        for seed in args.seeds:
            with Run.create(cfg, Path(folder) / f"run-{seed}.db", seed=seed, backend="cpu") as run:
                run.advance(args.generations)
                champion = run.genome(run.info().best_creature_id)
            neural = champion.neural is not None and sim.neural_mode != "off"
            grads = objective_and_gradient(  # a gradient as `refine` takes it (its defaults), on training layouts
                [champion], sim, training_seed(seed), window=cfg.sim.n_steps, truncation=60, trials=4
            )
            gradient = normalised_gradient(grads, 0, cfg, neural)
            gradient /= np.linalg.norm(gradient)
            rng = np.random.default_rng([seed, _LANDSCAPE_STREAM])
            random = rng.normal(size=gradient.size)
            directions = {"gradient": gradient, "against it": -gradient, "random": random / np.linalg.norm(random)}
            candidates = [champion] + [
                moved(champion, d, size, cfg, neural) for d in directions.values() for size in LANDSCAPE_SIZES
            ]
            layouts_seed = int(np.random.SeedSequence(seed, spawn_key=(_LANDSCAPE_STREAM,)).generate_state(1)[0])
            fitness = scores_by_layout(candidates, sim, layouts_seed, args.test_layouts)[0]
            change = fitness[1:] - fitness[0]
            mean, error = change.mean(axis=1), change.std(axis=1, ddof=1) / np.sqrt(args.test_layouts)
            for k, name in enumerate(directions):
                n = len(LANDSCAPE_SIZES)
                cells = [f"{mean[i]:+.1f} ± {error[i]:.1f}" for i in range(k * n, (k + 1) * n)]
                print(f"| {seed} | {fitness[0].mean():.1f} | {name} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", choices=("champions", "equal-time", "landscape"))
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--generations", type=int, default=30, help="champions: generations before refining")
    parser.add_argument("--layouts", type=int, default=None, help="champions: layouts refine chooses on")
    parser.add_argument("--seconds", type=float, default=90.0, help="equal-time: wall time of each run")
    parser.add_argument("--elites", type=int, default=1, help="equal-time: elites refined each generation")
    parser.add_argument("--steps", type=int, default=None, help="gradient steps per refinement")
    parser.add_argument("--test-layouts", type=int, default=512, help="champions, landscape: test layouts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.question == "champions":
        args.steps = args.steps or 20
        champions(args)
    elif args.question == "landscape":
        landscape(args)
    else:
        args.steps = args.steps or 2
        equal_time(args)


if __name__ == "__main__":
    main()
