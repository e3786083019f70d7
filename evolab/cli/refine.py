"""`evolab refine`: polish a creature along gradients of the torch physics, measured on held-out layouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from evolab.cli._db import DEFAULT_DB, DbOption, open_store
from evolab.cli._output import fail, fail_on, print_json, stderr, stdout
from evolab.cli.simulate import read_genome_file
from evolab.errors import EvolabError

EPILOG = """Examples:

  $ evolab refine run_20261126_101500_a3f2 --output refined.json

  $ evolab refine run_20261126_101500_a3f2 --creature cr_0001a3b2c4d5e6f --steps 30 --json

  $ evolab refine creature.json --preset quick --learning-rate 0.01 --window 30 --output refined.json
"""


def _is_genome_file(target: str) -> bool:
    return target == "-" or target.endswith(".json") or Path(target).is_file()


def refine_command(
    target: Annotated[
        str, typer.Argument(help="Run id (refines its champion) or a genome JSON file.", metavar="TARGET")
    ],
    creature: Annotated[
        str | None, typer.Option("--creature", help="Creature of the run to refine [default: its champion].")
    ] = None,
    steps: Annotated[int, typer.Option(help="Gradient steps.", min=1, max=10_000)] = 20,
    learning_rate: Annotated[
        float, typer.Option(help="First step size: RMS change per gene, as a fraction of its range.")
    ] = 0.002,
    window: Annotated[int, typer.Option(help="Control steps gradients run back through (truncation).", min=1)] = 60,
    horizon: Annotated[
        int | None, typer.Option(help="Control steps of each training rollout [default: the run's duration].", min=1)
    ] = None,
    trials: Annotated[int, typer.Option(help="Training layouts per gradient step.", min=1, max=256)] = 4,
    layouts: Annotated[
        int | None,
        typer.Option(help="Layouts a step's candidates are chosen on [default: 64].", min=1, max=1024),
    ] = None,
    confirmation_layouts: Annotated[
        int | None,
        typer.Option(
            help="Fresh layouts a step must win on, by 2 standard errors [default: 256; 0: none].", min=0, max=4096
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the training layouts and the new id.", min=0)] = 0,
    preset: Annotated[str, typer.Option(help="Settings for a genome file (a run uses its own).")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the refined genome JSON here.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Refine a creature along gradients and print its score on held-out layouts before and after.

    Each step searches along the gradient of a smooth stand-in for fitness (progress toward the pellet),
    both ways, chooses the step size whose creature collects best on layouts of its own, and takes it only
    when it also beats the current creature on fresh layouts, by two standard errors. The original and the
    result are then measured on 512 layouts nothing chose on (not the run's benchmark, which chose the
    champion).
    """

    if not learning_rate > 0:
        fail(f"--learning-rate: expected a positive number (got {learning_rate:g})")
    if output is not None and not output.parent.is_dir():
        fail(f"--output: folder {output.parent} does not exist")
    if output is not None and output.is_dir():
        fail(f"--output: {output} is a folder")
    run_seed: int | None = None
    if _is_genome_file(target):
        if creature is not None:
            fail("--creature: only for a run (TARGET is a genome file)")
        cfg, genome = read_genome_file(Path(target), preset)
    else:
        from evolab.cli.runs import require_run

        store = open_store(db)
        try:
            info = require_run(store, target, db)
            cfg = info.config
            run_seed = info.seed
            creature = creature or info.best_creature_id
            if creature is None:
                fail(f"run {target} has no champion yet: pass --creature ID")
            genome = store.genome(target, creature)
        except EvolabError as err:
            fail_on(err)
        finally:
            store.close()
    try:
        from evolab.runner.refine import refine
    except ImportError as err:  # the gradients run through the torch backend, an optional extra
        fail(f"evolab refine needs PyTorch ({err.name} is not installed)", hint="pip install 'evolab[torch]'")
    try:
        result = refine(
            genome,
            cfg,
            seed,
            steps=steps,
            learning_rate=learning_rate,
            window=window,
            horizon=horizon,
            trials=trials,
            layouts=layouts,
            confirmation_layouts=confirmation_layouts,
            run_seed=run_seed,
        )
    except EvolabError as err:
        fail_on(err)
    document = {
        "creature_id": genome.id,
        "refined_id": result.genome.id,
        "improved": result.improved,
        "gain": result.gain,
        "selection": {
            "seed": result.selection_seed,
            "layouts": result.selection_layouts,
            "confirmation_layouts": result.confirmation_layouts,
        },
        "before": {"fitness": result.before_fitness, "pellets": result.before_pellets},
        "after": {"fitness": result.after_fitness, "pellets": result.after_pellets},
        "accepted": result.accepted,
        "steps": len(result.history),
        "held_out": {"seed": result.held_out_seed, "layouts": result.held_out_layouts, "error": result.held_out_error},
    }
    genome_doc = result.genome.to_dict()
    if output is not None:
        try:
            output.write_text(json.dumps(genome_doc, indent=2) + "\n", encoding="utf-8")
        except OSError as err:
            fail(f"--output: cannot write {output} ({err.strerror})", 1)
    if as_json:
        print_json(document if output is not None else {**document, "genome": genome_doc})
        return
    stdout.print(f"creature   {genome.id}  ({genome.n_nodes} nodes, {genome.n_muscles} muscles)")
    judged = (
        f"{result.confirmation_layouts} fresh layouts each"
        if result.confirmation_layouts
        else f"{result.selection_layouts} layouts each"
    )
    stdout.print(
        f"steps      {result.accepted} of {len(result.history)} taken, fitness {result.gain:+.3f} in all where "
        f"they were judged ({judged}; seed {result.selection_seed})"
    )
    stdout.print(
        f"held-out   fitness {result.before_fitness:.3f} -> {result.after_fitness:.3f} "
        f"(± {result.held_out_error:.3f}), pellets {result.before_pellets:.3f} -> {result.after_pellets:.3f} "
        f"({result.held_out_layouts} layouts no one chose on, seed {result.held_out_seed})"
    )
    if result.improved:
        stdout.print(f"refined    {result.genome.id}")
    else:
        stdout.print("refined    no step measurably beat the original: kept it unchanged")
    if output is not None:
        stderr.print(f"wrote {output}")
