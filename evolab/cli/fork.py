"""`evolab fork`: branch a run from one of its past generations into a new run."""

from __future__ import annotations

from typing import Annotated

import typer

from evolab.cli._db import DEFAULT_DB, DbOption, open_store
from evolab.cli._output import fail, fail_on, print_json, stderr
from evolab.cli.runs import JsonOption, RunArgument, db_flag, require_run

EPILOG = """Examples:

  $ evolab fork run_20261126_101500_a3f2 --generation 120

  $ evolab fork run_20261126_101500_a3f2 -g 40 --name "branch at 40" --seed 7 --json
"""


def fork_command(
    run_id: RunArgument,
    generation: Annotated[
        int, typer.Option("--generation", "-g", help="Last generation the fork shares with the run.", min=0)
    ],
    name: Annotated[str | None, typer.Option(help="Display name of the new run.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the new run [default: random].", min=0)] = None,
    as_json: JsonOption = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Branch a new run off a past generation.

    The new run shares the run's generations 0 to N and breeds its own generation N + 1 with its own seed;
    continue it with `evolab evolve --resume`.
    """
    from evolab.errors import EvolabError
    from evolab.runner import fork_run

    if name is not None and not name.strip():
        fail("--name: a run name cannot be empty")
    store = open_store(db)
    run = require_run(store, run_id, db)
    if not 0 <= generation < run.generation_count:
        store.close()
        stored = f"generations 0 to {run.generation_count - 1}" if run.generation_count else "no generations yet"
        fail(f"--generation {generation}: run {run.id} has {stored}")
    try:
        fork = fork_run(store, run.id, generation, name=name, seed=seed)
    except EvolabError as err:
        fail_on(err)
    finally:
        store.close()
    resume = f"evolab evolve --resume {fork.id} --generations 100{db_flag(db)}"
    if as_json:
        print_json(
            {
                "id": fork.id,
                "name": fork.name,
                "parent_run_id": fork.parent_run_id,
                "fork_generation": fork.fork_generation,
                "seed": fork.seed,
                "generation_count": fork.generation_count,
                "resume_command": resume,
            }
        )
        return
    typer.echo(fork.id)
    stderr.print(
        f"forked {run.id} at generation {generation} into {fork.id} ({fork.name}); it continues from generation "
        f"{generation + 1}",
        highlight=False,
        markup=False,
    )
    stderr.print(f"continue it with: {resume}", highlight=False, markup=False)
