"""Does gradient refinement help evolution? Evolution alone against evolution that refines its elites each
generation (Lamarckian, `RefinePolicy`), at equal wall time, judged on layouts neither ever saw.

    .venv/bin/python benchmarks/refinement.py                          # quick preset, 90 s a run, 2 seeds
    .venv/bin/python benchmarks/refinement.py --seconds 600 --seeds 1 2 3 --preset default

Each arm evolves a stored run generation by generation until its time is up; its champion (the best on
the run's held-out benchmark) is then judged on the 32 test layouts of `benchmarks/efficacy.py`. The
refinement arm spends part of its time on gradients (the torch backend on this machine's CPU), so it runs
fewer generations: the question is whether what the gradient finds is worth the generations it costs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from efficacy import judge

from evolab.config import EvolutionConfig
from evolab.runner import Run


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seconds", type=float, default=90.0, help="wall time of each run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--elites", type=int, default=1, help="elites refined each generation")
    parser.add_argument("--steps", type=int, default=2, help="gradient steps per refinement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
