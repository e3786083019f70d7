"""`evolab evolve`: run an evolution into the database, with a live dashboard."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evolab.cli._backend import BACKEND_HELP, CLUSTER_HELP, BackendChoice, chosen_backend, cluster_backend
from evolab.cli._db import DEFAULT_DB, DbOption, open_store
from evolab.cli._output import fail, fail_on, stderr, stdout

if TYPE_CHECKING:
    from evolab.storage import GenerationStats

EPILOG = """Examples:

  $ evolab evolve --preset quick --generations 50

  $ evolab evolve --preset default --generations 1000 --turbo --seed 7

  $ evolab evolve --preset neural-pure --trials 8 --senses body --benchmark-every 10

  $ evolab evolve --resume run_20261126_101500_a3f2 --generations 500

  $ evolab evolve --preset default --generations 5000 --backend cuda   # pip install 'evolab[cuda]'

  $ evolab evolve --preset default --generations 1000 --cluster tcp://10.0.0.5:8786   # evolab[cluster]
"""

_GA = "Genetic algorithm"
_PHYSICS = "Physics and fitness"
_NEURAL = "Neural controllers"
_RUN = "Run"


def _overrides(**options: Any) -> dict[str, Any]:
    """Nested config overrides from the options the user gave (None = not given)."""
    routes = {
        "population": ("population_size",),
        "elites": ("elite_count",),
        "cull": ("cull_fraction",),
        "crossover_rate": ("crossover_rate",),
        "mutation_rate": ("mutation_rate",),
        "mutation_magnitude": ("mutation_magnitude",),
        "structural_rate": ("structural_rate",),
        "selection": ("selection",),
        "crossover_method": ("crossover_method",),
        "use_crossover": ("use_crossover",),
        "use_mutation": ("use_mutation",),
        "duration": ("sim", "duration"),
        "gravity": ("sim", "gravity"),
        "substeps": ("sim", "substeps"),
        "pellets": ("sim", "pellet_mode"),
        "max_nodes": ("constraints", "max_nodes"),
        "max_muscles": ("constraints", "max_muscles"),
        "neural": ("sim", "neural_mode"),
        "hidden_size": ("neural_hidden_size",),
        "activation": ("neural_activation",),
        "weight_mutation_rate": ("weight_mutation_rate",),
        "weight_mutation_magnitude": ("weight_mutation_magnitude",),
        "checkpoint": ("checkpoint_every",),
        "trials": ("trials",),
        "benchmark_every": ("benchmark", "every"),
        "benchmark_layouts": ("benchmark", "layouts"),
        "refine_elites": ("refine", "elites"),
        "benchmark": ("benchmark", "enabled"),
        "senses": ("sim", "sensor_frame"),
        "max_size": ("constraints", "max_size"),
    }
    out: dict[str, Any] = {}
    for option, value in options.items():
        if value is None:
            continue
        if option == "max_frequency":  # the app ties the generation limit to the disqualification limit
            out.setdefault("sim", {})["max_allowed_frequency"] = value
            out.setdefault("constraints", {})["max_frequency"] = value
            continue
        if option == "refine_elites":  # 0 turns refinement off (the policy itself counts from 1)
            out["refine"] = {"enabled": value > 0, **({"elites": value} if value > 0 else {})}
            continue
        if option == "turbo":
            if value:
                out.setdefault("frames", {})["enabled"] = False
            continue
        path = routes[option]
        target = out
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return out


def _latest_benchmark(history: Sequence[GenerationStats]) -> tuple[float, float, int] | None:
    """(fitness, pellets, generation) of the last of `history` scored on the benchmark, or None."""
    for stats in reversed(history):
        if stats.benchmark_fitness is not None and stats.benchmark_pellets is not None:
            return stats.benchmark_fitness, stats.benchmark_pellets, stats.generation
    return None


def evolve_command(
    generations: Annotated[
        int, typer.Option("--generations", "-g", help="Generations to run (with --resume: this many more).", min=1)
    ] = 100,
    preset: Annotated[
        str | None,
        typer.Option(help="Start from a preset (quick, default, ... or one you saved).", rich_help_panel=_RUN),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Start from a TOML config file.", rich_help_panel=_RUN)
    ] = None,
    resume: Annotated[
        str | None, typer.Option(help="Continue this run exactly where it stopped.", rich_help_panel=_RUN)
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Run seed [default: random].", min=0, rich_help_panel=_RUN)] = None,
    name: Annotated[str | None, typer.Option(help="Display name of the new run.", rich_help_panel=_RUN)] = None,
    workers: Annotated[
        int | None, typer.Option(help="Kernel threads [default: all cores].", min=1, rich_help_panel=_RUN)
    ] = None,
    checkpoint: Annotated[
        int | None, typer.Option(help="Checkpoint every N generations [default: 1].", min=1, rich_help_panel=_RUN)
    ] = None,
    turbo: Annotated[
        bool, typer.Option("--turbo", help="Store no replays (re-simulated on demand).", rich_help_panel=_RUN)
    ] = False,
    population: Annotated[
        int | None, typer.Option(help="Creatures per generation.", min=1, rich_help_panel=_GA)
    ] = None,
    elites: Annotated[
        int | None, typer.Option(help="Best creatures carried over unchanged.", min=0, rich_help_panel=_GA)
    ] = None,
    cull: Annotated[float | None, typer.Option(help="Fraction that never parents.", rich_help_panel=_GA)] = None,
    crossover_rate: Annotated[
        float | None, typer.Option(help="Chance a child has two parents.", rich_help_panel=_GA)
    ] = None,
    mutation_rate: Annotated[float | None, typer.Option(help="Chance each gene mutates.", rich_help_panel=_GA)] = None,
    mutation_magnitude: Annotated[
        float | None, typer.Option(help="Size of a mutation, as a share of the range.", rich_help_panel=_GA)
    ] = None,
    structural_rate: Annotated[
        float | None, typer.Option(help="Chance of each structural change.", rich_help_panel=_GA)
    ] = None,
    selection: Annotated[
        str | None, typer.Option(help="Parent selection: rank or tournament.", rich_help_panel=_GA)
    ] = None,
    crossover_method: Annotated[str | None, typer.Option(help="blend or uniform.", rich_help_panel=_GA)] = None,
    use_crossover: Annotated[
        bool | None, typer.Option("--crossover/--no-crossover", help="Allow two-parent children.", rich_help_panel=_GA)
    ] = None,
    use_mutation: Annotated[
        bool | None, typer.Option("--mutation/--no-mutation", help="Mutate children.", rich_help_panel=_GA)
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Seconds each creature is simulated.", rich_help_panel=_PHYSICS)
    ] = None,
    gravity: Annotated[
        float | None, typer.Option(help="Gravity (negative, units/s^2).", rich_help_panel=_PHYSICS)
    ] = None,
    substeps: Annotated[
        int | None, typer.Option(help="Minimum integrator sub-steps per 1/60 s.", rich_help_panel=_PHYSICS)
    ] = None,
    max_frequency: Annotated[
        float | None, typer.Option(help="Muscle frequency limit (Hz).", rich_help_panel=_PHYSICS)
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(
            help="Pellet layouts each creature is judged on per generation (the mean counts).",
            min=1,
            rich_help_panel=_GA,
        ),
    ] = None,
    benchmark: Annotated[
        bool | None,
        typer.Option("--benchmark/--no-benchmark", help="Score the best on held-out layouts.", rich_help_panel=_GA),
    ] = None,
    benchmark_every: Annotated[
        int | None, typer.Option(help="Score every N-th generation on the benchmark.", min=1, rich_help_panel=_GA)
    ] = None,
    benchmark_layouts: Annotated[
        int | None, typer.Option(help="Held-out layouts of the benchmark.", min=1, rich_help_panel=_GA)
    ] = None,
    refine_elites: Annotated[
        int | None,
        typer.Option(
            help="Refine this many elites by gradient ascent each generation (Lamarckian; needs evolab[torch]).",
            min=0,
            rich_help_panel=_GA,
        ),
    ] = None,
    senses: Annotated[
        str | None,
        typer.Option(
            help="Frame of the pellet and motion senses: world, body (its heading) or motion (its course).",
            rich_help_panel=_PHYSICS,
        ),
    ] = None,
    max_nodes: Annotated[
        int | None, typer.Option(help="Most nodes a creature may have.", rich_help_panel=_PHYSICS)
    ] = None,
    max_size: Annotated[
        float | None, typer.Option(help="Largest node size (diameter).", rich_help_panel=_PHYSICS)
    ] = None,
    max_muscles: Annotated[
        int | None, typer.Option(help="Most muscles a creature may have.", rich_help_panel=_PHYSICS)
    ] = None,
    pellets: Annotated[
        str | None, typer.Option(help="Pellet draws: shared or per_creature.", rich_help_panel=_PHYSICS)
    ] = None,
    neural: Annotated[
        str | None, typer.Option(help="Neural control: off, hybrid or pure.", rich_help_panel=_NEURAL)
    ] = None,
    hidden_size: Annotated[int | None, typer.Option(help="Hidden neurons.", rich_help_panel=_NEURAL)] = None,
    activation: Annotated[str | None, typer.Option(help="tanh, relu or sigmoid.", rich_help_panel=_NEURAL)] = None,
    weight_mutation_rate: Annotated[
        float | None, typer.Option(help="Chance each weight mutates.", rich_help_panel=_NEURAL)
    ] = None,
    weight_mutation_magnitude: Annotated[
        float | None, typer.Option(help="Std-dev of a weight mutation.", rich_help_panel=_NEURAL)
    ] = None,
    backend: Annotated[
        BackendChoice | None,
        typer.Option(
            "--backend",
            envvar="EVOLAB_BACKEND",
            case_sensitive=False,
            rich_help_panel=_RUN,
            help=BACKEND_HELP + " [default: auto; with --resume: the run's own]",
        ),
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", envvar="EVOLAB_CLUSTER", help=CLUSTER_HELP, rich_help_panel=_RUN)
    ] = None,
    force_backend: Annotated[
        bool,
        typer.Option(
            "--force-backend",
            rich_help_panel=_RUN,
            help="With --resume: continue on another backend than the run's (results are bit-exact per backend).",
        ),
    ] = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Evolve creatures and store every generation in the database."""
    from evolab.cli.runs import creature_label
    from evolab.config import EvolutionConfig, preset_names
    from evolab.errors import ClusterLost, ConfigError, EvolabError
    from evolab.runner import Run, StopRequest

    overrides = _overrides(
        population=population, elites=elites, cull=cull, crossover_rate=crossover_rate,
        mutation_rate=mutation_rate, mutation_magnitude=mutation_magnitude, structural_rate=structural_rate,
        selection=selection, crossover_method=crossover_method, use_crossover=use_crossover,
        use_mutation=use_mutation, duration=duration, gravity=gravity, substeps=substeps,
        max_frequency=max_frequency, max_nodes=max_nodes, max_muscles=max_muscles, pellets=pellets,
        neural=neural, hidden_size=hidden_size, activation=activation,
        weight_mutation_rate=weight_mutation_rate, weight_mutation_magnitude=weight_mutation_magnitude,
        checkpoint=checkpoint, turbo=turbo, trials=trials, benchmark=benchmark, benchmark_every=benchmark_every,
        benchmark_layouts=benchmark_layouts, senses=senses, max_size=max_size, refine_elites=refine_elites,
    )  # fmt: skip
    if resume is not None:
        if overrides or preset or config or seed is not None or name:
            fail(
                "a resumed run keeps its own configuration and seed; "
                "give only --generations, --workers, --backend, --cluster, --db"
            )
        store = open_store(db)
        try:
            chosen = cluster_backend(cluster, backend) if cluster else backend and backend.value
            run = Run.resume(resume, store, workers=workers, backend=chosen, force_backend=force_backend)
        except EvolabError as err:
            store.close()
            fail_on(err)
    else:
        if preset and config:
            fail("give --preset or --config, not both")
        try:
            if config is not None:
                cfg = EvolutionConfig.from_toml(config, **overrides)
            elif preset is not None and preset not in preset_names():  # a preset saved in the database
                from evolab.cli.presets import user_preset_config

                cfg = user_preset_config(preset, db, overrides)
            else:
                cfg = EvolutionConfig.from_preset(preset or "default", **overrides)
        except ConfigError as err:
            fail_on(err)
        if force_backend:
            fail("--force-backend applies only with --resume (a new run records the backend it is evolved on)")
        # before the database is touched
        if cluster:
            physics = cluster_backend(cluster, backend)
        else:
            physics = chosen_backend(backend or BackendChoice.auto, workers)
        store = open_store(db, must_exist=False)
        try:
            run = Run.create(cfg, store, seed=seed, name=name, backend=physics)
        except EvolabError as err:
            store.close()
            fail_on(err)

    info = run.info()
    first = run.generation
    target = first + generations
    recent = store.generation_stats(run.id, max(0, first - 60), first)
    best_history = [s.best for s in recent]
    benchmark = _latest_benchmark(recent)
    cfg = run.config
    benchmark_layouts = cfg.benchmark.layouts if cfg.benchmark.enabled else 0
    live = stdout.is_terminal
    started = time.perf_counter()
    stop = StopRequest()
    names: dict[str, str] = {}

    def snapshot(report=None) -> Any:
        from evolab.cli.dashboard import Snapshot

        nonlocal benchmark
        best_ever = report.best_ever if report else None
        if report is not None:
            benchmark = _latest_benchmark([report.stats]) or benchmark
        if best_ever and best_ever[1] not in names:
            names[best_ever[1]] = creature_label(store, run.id, best_ever[1])
        stats = report.stats if report else None
        return Snapshot(
            run_id=run.id,
            run_name=info.name,
            generation=run.generation,
            first_generation=first,
            target_generation=target,
            elapsed=time.perf_counter() - started,
            best=stats.best if stats else 0.0,
            average=stats.average if stats else 0.0,
            worst=stats.worst if stats else 0.0,
            median=stats.median if stats else 0.0,
            creature_steps_per_s=(report.creature_steps / report.wall_seconds) if report else 0.0,
            best_history=tuple(best_history),
            best_ever=best_ever,
            best_ever_name=names.get(best_ever[1], "") if best_ever else "",
            stopping=bool(stop),
            trials=cfg.trials,
            benchmark_layouts=benchmark_layouts,
            benchmark=benchmark,
        )

    from evolab.cli.dashboard import plain_line, render_dashboard, settings_line

    verb = "resuming" if resume else "created"
    stderr.print(
        f"{verb} run {run.id} ({info.name}) in {db}: generations {first} to {target - 1}, {settings_line(snapshot())}"
        f"; physics on {run.backend.describe()}",
        highlight=False,
    )
    try:
        with stop:
            if live:
                from rich.live import Live

                with Live(render_dashboard(snapshot()), console=stdout, refresh_per_second=4, transient=False) as view:

                    def on_generation(report) -> None:
                        best_history.append(report.stats.best)
                        view.update(render_dashboard(snapshot(report)))

                    run.advance(generations, on_generation=on_generation, should_stop=lambda: bool(stop))
            else:

                def on_generation(report) -> None:
                    best_history.append(report.stats.best)
                    typer.echo(plain_line(snapshot(report)))

                run.advance(generations, on_generation=on_generation, should_stop=lambda: bool(stop))
    except KeyboardInterrupt:
        stop.request("SIGINT")
    except ClusterLost as err:
        run.close()
        # the run stopped at its last stored generation: say how to go on, there or here
        on_db = f" --db {db}" if str(db) != str(DEFAULT_DB) else ""
        resume_here = f"evolab evolve --resume {run.id} --generations {max(target - run.generation, 1)}{on_db}"
        fail_on(ClusterLost(str(err), hint=f"resume with `{resume_here}` (add --cluster ADDRESS for a cluster)"))
    except EvolabError as err:
        run.close()
        fail_on(err)
    finally:
        stored = run.generation
        run.close()
        if cluster:
            run.backend.close()  # the client, and the workers of a local:N cluster

    db_flag = f" --db {db}" if str(db) != str(DEFAULT_DB) else ""
    resume_command = f"evolab evolve --resume {run.id} --generations {max(target - stored, 1)}{db_flag}"
    if stop:
        stderr.print(f"stopped cleanly after generation {stored - 1} ({stop.signal_name})", highlight=False)
        stderr.print(f"resume with: {resume_command}", highlight=False)
        raise typer.Exit(130)
    stderr.print(
        f"run {run.id}: {stored} generations stored in {db}; look at it in the browser with "
        f"`evolab serve{db_flag}`, or with `evolab show {run.id}` or `evolab stats {run.id}`",
        highlight=False,
    )
