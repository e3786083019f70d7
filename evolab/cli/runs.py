"""`evolab runs`, `evolab show`, `evolab rename` and `evolab delete`: list, summarise and manage stored runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from evolab.cli._db import DEFAULT_DB, DbOption, open_store
from evolab.cli._output import EXIT_BAD_INPUT, fail, fail_on, print_json, stderr
from evolab.cli._table import echo_table, format_fitness, format_time

if TYPE_CHECKING:
    from evolab.storage import RunInfo, Store

RUNS_EPILOG = """Examples:

  $ evolab runs

  $ evolab runs --json --db experiments.db
"""

SHOW_EPILOG = """Examples:

  $ evolab show run_20261126_101500_a3f2

  $ evolab show run_20261126_101500_a3f2 --json
"""

RENAME_EPILOG = """Examples:

  $ evolab rename run_20261126_101500_a3f2 "long legs"
"""

DELETE_EPILOG = """Examples:

  $ evolab delete run_20261126_101500_a3f2

  $ evolab delete run_20261126_101500_a3f2 --yes --db experiments.db
"""

RunArgument = Annotated[str, typer.Argument(help="Run id (see `evolab runs`).", show_default=False, metavar="RUN")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]


def db_flag(db: Path) -> str:
    """` --db PATH` when the database is not the default one (for commands we suggest)."""
    return "" if str(db) == str(DEFAULT_DB) else f" --db {db}"


def is_interactive() -> bool:
    """Whether a person can answer a question on stdin."""
    return sys.stdin.isatty()


def require_run(store: Store, run_id: str, db: Path) -> RunInfo:
    """The run, or exit 2 naming it (or 1 when the database cannot be read)."""
    from evolab.errors import StorageError

    try:
        run = store.find_run(run_id)
    except StorageError as err:
        store.close()
        fail_on(err)
    if run is None:
        store.close()
        fail(
            f"unknown run {escape(repr(run_id))} in {db}",
            EXIT_BAD_INPUT,
            hint=f"`evolab runs{db_flag(db)}` lists the runs",
        )
    return run


def run_summary(run: RunInfo) -> dict[str, Any]:
    """The stable JSON fields of a run in listings."""
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "generation_count": run.generation_count,
        "best_fitness": run.best_fitness,
        "best_pellets": run.best_pellets,
        "best_by_benchmark": run.best_by_benchmark,
        "created_at": run.created_at,
        "seed": run.seed,
        "backend": run.backend,
        "parent_run_id": run.parent_run_id,
        "fork_generation": run.fork_generation,
        "imported_from": None if run.origin is None else {"source": run.origin.source, "id": run.origin.source_id},
    }


def runs_command(as_json: JsonOption = False, db: DbOption = DEFAULT_DB) -> None:
    """List the stored runs, newest first."""
    from evolab.errors import StorageError

    store = open_store(db)
    try:
        runs = store.list_runs()
    except StorageError as err:
        fail_on(err)
    finally:
        store.close()
    if as_json:
        print_json([run_summary(r) for r in runs])
        return
    if not runs:
        stderr.print(f"no runs in {db}; start one with `evolab evolve{db_flag(db)}`", highlight=False)
        return
    rows = [
        [
            r.id,
            r.name if r.name != r.id else "",
            r.status,
            str(r.generation_count),
            format_fitness(r.best_fitness),
            format_time(r.created_at),
            f"fork of {r.parent_run_id} @ {r.fork_generation}" if r.parent_run_id else "",
        ]
        for r in runs
    ]
    echo_table(["id", "name", "status", "generations", "best", "created", "origin"], rows, right=(3, 4))


def _settings(run: RunInfo) -> dict[str, Any]:
    cfg = run.config
    return {
        "population_size": cfg.population_size,
        "elite_count": cfg.elite_count,
        "duration": cfg.sim.duration,
        "neural_mode": cfg.sim.neural_mode,
        "selection": cfg.selection,
        "crossover_method": cfg.crossover_method,
        "crossover_rate": cfg.crossover_rate if cfg.use_crossover else 0.0,
        "mutation_rate": cfg.mutation_rate if cfg.use_mutation else 0.0,
        "mutation_magnitude": cfg.mutation_magnitude,
        "structural_rate": cfg.structural_rate,
        "pellet_mode": cfg.sim.pellet_mode,
        "min_nodes": cfg.constraints.min_nodes,
        "max_nodes": cfg.constraints.max_nodes,
        "max_muscles": cfg.constraints.max_muscles,
        "replays": cfg.frames.enabled,
        "checkpoint_every": cfg.checkpoint_every,
        "trials": cfg.trials,
        "benchmark": cfg.benchmark.model_dump(mode="json"),
    }


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _replay_policy(frames: Any) -> str:
    return f"replays of top {frames.keep_top}, random {frames.keep_random}, bottom {frames.keep_bottom}"


def describe_judging(trials: int, benchmark: dict[str, Any]) -> str:
    """How creatures are judged: "4 trials per creature, benchmark: the best of each generation on 16
    held-out layouts" (or "top 3 every 5 generations")."""
    judged = f"{_plural(trials, 'trial')} per creature"
    if not benchmark["enabled"]:
        return f"{judged}, no benchmark"
    every = benchmark["every"]
    which = "of each generation" if every == 1 else f"every {every} generations"
    who = "the best" if benchmark["top"] == 1 else f"top {benchmark['top']}"
    return f"{judged}, benchmark: {who} {which} on {benchmark['layouts']} held-out layouts"


def benchmark_score(pellets: float, fitness: float) -> str:
    """A score on the benchmark: "2.50 pellets, fitness 212.40"."""
    return f"{pellets:.2f} pellets, fitness {fitness:.2f}"


def creature_label(store: Store, run_id: str, creature_id: str) -> str:
    """A creature's display name, or "" when its genome cannot be read."""
    from evolab.errors import StorageError
    from evolab.genome import creature_name

    try:
        return creature_name(store.genome(run_id, creature_id))
    except StorageError:
        return ""


def show_command(run_id: RunArgument, as_json: JsonOption = False, db: DbOption = DEFAULT_DB) -> None:
    """Summarise one run.

    Settings, seed, status, generations, best creature ever, longest survivor, last generation and where it
    was forked from.
    """
    from evolab.errors import StorageError

    store = open_store(db)
    run = require_run(store, run_id, db)
    try:
        best = None
        if run.best_creature_id is not None:
            best = {
                "creature_id": run.best_creature_id,
                "name": creature_label(store, run.id, run.best_creature_id),
                "fitness": run.best_fitness,
                "pellets": run.best_pellets,
                "generation": run.best_generation,
                "by_benchmark": run.best_by_benchmark,
            }
        longest = None
        if run.longest_survivor_id is not None:
            longest = {
                "creature_id": run.longest_survivor_id,
                "name": creature_label(store, run.id, run.longest_survivor_id),
                "streak": run.longest_streak,
                "generation": run.longest_generation,
            }
        last = store.generation(run.id, run.generation_count - 1) if run.generation_count else None
    except StorageError as err:
        fail_on(err)
    finally:
        store.close()
    last_doc = None
    if last is not None:
        last_doc = {
            "generation": last.generation,
            "best": last.best,
            "average": last.average,
            "median": last.median,
            "worst": last.worst,
            "pellets": last.pellets,
            "disqualified": last.disqualified,
            "avg_nodes": last.avg_nodes,
            "avg_muscles": last.avg_muscles,
            "benchmark_fitness": last.benchmark_fitness,
            "benchmark_pellets": last.benchmark_pellets,
            "benchmark_creature": last.benchmark_creature,
        }
    settings = _settings(run)
    if as_json:
        print_json(
            {
                **run_summary(run),
                "updated_at": run.updated_at,
                "evolab_version": run.evolab_version,
                "settings": settings,
                "config": run.config.model_dump(mode="json"),
                "best": best,
                "longest_survivor": longest,
                "last_generation": last_doc,
            }
        )
        return
    s = settings
    cfg = run.config
    lines = [
        ("run", run.id if run.name == run.id else f"{run.id}  ({run.name})"),
        (
            "status",
            f"{run.status}, "
            + (
                f"{_plural(run.generation_count, 'generation')} (0 to {run.generation_count - 1})"
                if run.generation_count
                else "no generations yet"
            ),
        ),
        ("seed", str(run.seed)),
        ("physics", f"{run.backend} backend (results are bit-exact on it)"),
        *(
            [("imported", f"from {run.origin.source} (its id {run.origin.source_id}); re-simulation is evolab's")]
            if run.origin is not None
            else []
        ),
        (
            "created",
            f"{format_time(run.created_at)}  (updated {format_time(run.updated_at)}, evolab {run.evolab_version})",
        ),
        (
            "settings",
            f"population {s['population_size']} ({s['elite_count']} elites), {s['duration']:g} s per creature, "
            f"neural {s['neural_mode']}",
        ),
        (
            "",
            f"selection {s['selection']}, crossover {s['crossover_method']} {s['crossover_rate']:g}, "
            f"mutation {s['mutation_rate']:g} x {s['mutation_magnitude']:g}, structural {s['structural_rate']:g}",
        ),
        (
            "",
            f"{s['min_nodes']}-{s['max_nodes']} nodes, up to {s['max_muscles']} muscles, pellets {s['pellet_mode']}, "
            + (_replay_policy(cfg.frames) if s["replays"] else "no replays (turbo)"),
        ),
        ("", describe_judging(s["trials"], s["benchmark"])),
    ]
    if best is not None:
        who = f"{best['creature_id']} {best['name']}".rstrip()
        if best["by_benchmark"]:
            text = (
                f"champion (benchmark): {benchmark_score(best['pellets'], best['fitness'])}, "
                f"gen {best['generation']}  {who}"
            )
        else:
            text = f"{best['fitness']:.2f}  {who}  in generation {best['generation']}"
        lines.append(("best ever", text))
    if longest is not None:
        lines.append(
            (
                "longest",
                f"{_plural(longest['streak'], 'generation')} as an elite  {longest['creature_id']} {longest['name']}  "
                f"(generation {longest['generation']})",
            )
        )
    if last_doc is not None:
        lines.append(
            (
                "last gen",
                f"{last_doc['generation']}: best {last_doc['best']:.2f}  average {last_doc['average']:.2f}  "
                f"median {last_doc['median']:.2f}  worst {last_doc['worst']:.2f}  pellets {last_doc['pellets']}  "
                f"disqualified {last_doc['disqualified']}"
                + (
                    f"  benchmark {benchmark_score(last_doc['benchmark_pellets'], last_doc['benchmark_fitness'])}"
                    if last_doc["benchmark_fitness"] is not None and last_doc["benchmark_pellets"] is not None
                    else ""
                ),
            )
        )
    if run.parent_run_id:
        lines.append(("forked from", f"{run.parent_run_id} at generation {run.fork_generation}"))
    for label, text in lines:
        typer.echo(f"{label:<12} {text}".rstrip())


def rename_command(
    run_id: RunArgument,
    name: Annotated[str, typer.Argument(help="The new display name.", show_default=False, metavar="NAME")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Give a run a new display name."""
    from evolab.errors import StorageError

    if not name.strip():
        fail("a run name cannot be empty")
    store = open_store(db)
    run = require_run(store, run_id, db)
    try:
        renamed = store.rename_run(run.id, name)
    except StorageError as err:
        fail_on(err)
    finally:
        store.close()
    stderr.print(f"renamed run {run.id}: {run.name!r} -> {renamed.name!r}", highlight=False, markup=False)


def delete_command(
    run_id: RunArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Delete a run and everything stored for it.

    Generations, results, creatures, replays and checkpoints go with it. Asks first on a terminal.
    """
    from evolab.errors import StorageError

    store = open_store(db)
    run = require_run(store, run_id, db)
    if not yes:
        if not is_interactive():
            store.close()
            fail(
                f"not deleting run {run.id} without confirmation",
                hint=f"pass --yes to delete it: evolab delete {run.id} --yes{db_flag(db)}",
            )
        question = f"Delete run {run.id} ({run.name}, {run.generation_count} generations)?"
        if not typer.confirm(question, default=False, err=True):
            store.close()
            stderr.print("nothing deleted", highlight=False)
            return
    try:
        store.delete_run(run.id)
    except StorageError as err:
        fail_on(err)
    finally:
        store.close()
    stderr.print(f"deleted run {run.id} ({run.generation_count} generations) from {db}", highlight=False, markup=False)
