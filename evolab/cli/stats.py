"""`evolab stats`: fitness per generation, percentiles, body sizes over time, top creatures, lineage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evolab.cli._db import DEFAULT_DB, DbOption, open_store
from evolab.cli._output import EXIT_FAILED, fail, fail_on, print_json, stderr
from evolab.cli._table import echo_table, subsample
from evolab.cli.runs import JsonOption, RunArgument, require_run

if TYPE_CHECKING:
    from evolab.runner.progress import BenchmarkProgress
    from evolab.storage import GenerationStats

EPILOG = """Examples:

  $ evolab stats run_20261126_101500_a3f2

  $ evolab stats run_20261126_101500_a3f2 --plot fitness.png

  $ evolab stats run_20261126_101500_a3f2 --json --top 20
"""

MAX_ROWS = 40
"""Generations shown in the text tables; longer runs are subsampled evenly (`--json` has them all)."""
NODE_BUCKETS = (2, 3, 4, 5, 6, 7, 8)
"""Node-count buckets of the body-size table and plot; the last one is "8 or more"."""
LINEAGE_ROWS = 20
_PLOT_FORMATS = (".png", ".svg", ".pdf")


def node_shares(node_counts: dict[int, int]) -> list[float]:
    """Percentage of the population in each of `NODE_BUCKETS` (the last bucket takes 8 nodes and more)."""
    total = sum(node_counts.values())
    shares = [0.0] * len(NODE_BUCKETS)
    if not total:
        return shares
    for nodes, count in node_counts.items():
        slot = min(max(nodes, NODE_BUCKETS[0]), NODE_BUCKETS[-1]) - NODE_BUCKETS[0]
        shares[slot] += 100.0 * count / total
    return shares


def has_benchmark(history: list[GenerationStats]) -> bool:
    """Whether any generation of `history` was scored on the held-out benchmark."""
    return any(s.benchmark_fitness is not None for s in history)


def format_trials(trial_pellets: tuple[int, ...] | list[int] | None, pellets: int) -> str:
    """Pellets with their split over the trials when there were several and not too many: "5 (2+0+3+0)"."""
    if not trial_pellets or len(trial_pellets) > 8:
        return str(pellets)
    return f"{pellets} ({'+'.join(str(p) for p in trial_pellets)})"


def write_plot(path: Path, history: list[GenerationStats], title: str) -> None:
    """Fitness curves (best, average, median, worst and, when scored, the held-out benchmark with its pellets
    on a second axis) over the share of each body size (stacked area)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    gens = [s.generation for s in history]
    fig, (fitness_ax, nodes_ax) = plt.subplots(2, 1, figsize=(11, 8), sharex=True, height_ratios=(3, 2))
    try:
        for label, values, style in (
            ("best", [s.best for s in history], "-"),
            ("average", [s.average for s in history], "-"),
            ("median", [s.median for s in history], "--"),
            ("worst", [s.worst for s in history], ":"),
        ):
            fitness_ax.plot(gens, values, style, label=label, linewidth=1.4)
        fitness_ax.fill_between(gens, [s.p25 for s in history], [s.p75 for s in history], alpha=0.15, label="p25-p75")
        fitness_ax.set_ylabel("fitness")
        fitness_ax.set_title(title)
        fitness_ax.grid(alpha=0.3)
        handles, labels = fitness_ax.get_legend_handles_labels()
        legend_x = 1.01
        scored = [s for s in history if s.benchmark_fitness is not None]
        if scored:
            marker = "o" if len(scored) <= 60 else None
            (line,) = fitness_ax.plot(
                [s.generation for s in scored], [s.benchmark_fitness for s in scored], "-", marker=marker,
                markersize=3, color="black", linewidth=1.6, label="benchmark",
            )  # fmt: skip
            handles.insert(1, line)
            labels.insert(1, "benchmark")
            with_pellets = [s for s in scored if s.benchmark_pellets is not None]
            if with_pellets:
                pellets_ax = fitness_ax.twinx()
                (line,) = pellets_ax.plot(
                    [s.generation for s in with_pellets], [s.benchmark_pellets for s in with_pellets], "-.",
                    color="tab:purple", linewidth=1.2, label="benchmark pellets (right axis)",
                )  # fmt: skip
                pellets_ax.set_ylabel("benchmark pellets (mean per layout)", color="tab:purple")
                pellets_ax.tick_params(axis="y", colors="tab:purple")
                pellets_ax.set_ylim(bottom=0, top=max(1.0, 1.1 * max(s.benchmark_pellets for s in with_pellets)))
                handles.append(line)
                labels.append("benchmark pellets\n(right axis)")
                legend_x = 1.08
        fitness_ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(legend_x, 1.0))
        shares = [node_shares(s.node_counts) for s in history]
        labels = [f"{n} nodes" for n in NODE_BUCKETS[:-1]] + [f"{NODE_BUCKETS[-1]}+ nodes"]
        nodes_ax.stackplot(gens, list(zip(*shares, strict=True)), labels=labels, alpha=0.85)
        nodes_ax.set_ylim(0, 100)
        nodes_ax.set_ylabel("% of population")
        nodes_ax.set_xlabel("generation")
        nodes_ax.legend(loc="upper left", bbox_to_anchor=(legend_x, 1.0), reverse=True)
        nodes_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def stats_command(
    run_id: RunArgument,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw fitness and body sizes over time to this image (.png, .svg, .pdf)."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="How many of the best creatures to list.", min=0)] = 10,
    as_json: JsonOption = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Analyse a run: fitness, benchmark, body sizes, top creatures.

    Fitness per generation (best, average, median, worst, percentiles and the score on the held-out
    benchmark), how the benchmark score changed from the first to the last tenth of the run, the share of
    each body size over time, the best creatures and the lineage of the champion (the best creature on the
    benchmark; in a run without one, the fittest); --plot draws the curves.
    """
    from evolab.errors import StorageError
    from evolab.genome import creature_name, origin_label
    from evolab.runner.progress import benchmark_progress

    if plot is not None:
        if plot.suffix.lower() not in _PLOT_FORMATS:
            fail(f"--plot {plot}: unsupported image type (use {', '.join(_PLOT_FORMATS)})")
        if not plot.parent.is_dir():
            fail(f"--plot {plot}: its folder does not exist")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            fail("--plot needs matplotlib", EXIT_FAILED, hint="pip install 'evolab[plot]'")
    store = open_store(db)
    run = require_run(store, run_id, db)
    try:
        history = store.generation_stats(run.id)
        top_results = store.top_results(run.id, top) if top else []
        genomes = {g.id: g for g in store.genomes(run.id, [r.creature_id for r in top_results])}
        lineage = []
        if run.best_creature_id is not None:
            lineage = [store.creature(run.id, run.best_creature_id), *store.ancestors(run.id, run.best_creature_id)]
        genomes.update((g.id, g) for g in store.genomes(run.id, [c.creature_id for c in lineage]))
    except StorageError as err:
        fail_on(err)
    finally:
        store.close()
    if plot is not None and not history:
        fail(f"run {run.id} has no generations to plot yet")

    top_docs = [
        {
            "creature_id": r.creature_id,
            "name": creature_name(genomes[r.creature_id]),
            "fitness": r.fitness,
            "fitness_std": r.fitness_std,
            "generation": r.generation,
            "rank": r.rank,
            "pellets": r.pellets,
            "trial_pellets": None if r.trial_pellets is None else list(r.trial_pellets),
            "disqualified": r.disqualified,
            "survival_streak": r.survival_streak,
            "nodes": genomes[r.creature_id].n_nodes,
            "muscles": genomes[r.creature_id].n_muscles,
        }
        for r in top_results
    ]
    lineage_docs = [
        {
            "creature_id": c.creature_id,
            "name": creature_name(genomes[c.creature_id]),
            "born": c.born,
            "origin": origin_label(genomes[c.creature_id]),
            "parent_ids": list(c.parent_ids),
            "nodes": c.n_nodes,
            "muscles": c.n_muscles,
        }
        for c in lineage
    ]

    progress = benchmark_progress(history, run)

    if plot is not None:
        try:
            write_plot(plot, history, f"{run.name} ({run.id})" if run.name != run.id else run.id)
        except (OSError, ValueError) as err:
            fail(f"--plot {plot}: cannot write ({err})", EXIT_FAILED)
        stderr.print(f"wrote plot to {plot}", highlight=False, markup=False)

    if as_json:
        print_json(
            {
                "run_id": run.id,
                "generation_count": run.generation_count,
                "generations": [s.to_dict() for s in history],
                "benchmark": None if progress is None else progress.to_dict(),
                "top": top_docs,
                "lineage": lineage_docs,
            }
        )
        return
    if plot is not None:
        return
    if not history:
        stderr.print(f"run {run.id} has no generations yet", highlight=False)
        return
    _print_text(history, progress, top_docs, lineage_docs, by_benchmark=run.best_by_benchmark)


def _optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print_benchmark(progress: BenchmarkProgress, champion_name: str) -> None:
    window = f"{progress.window} generation{'' if progress.window == 1 else 's'}"
    typer.echo(
        f"Benchmark on held-out layouts ({progress.scored} generations scored; first and last tenth: {window} each)"
    )
    ratio = progress.pellets_ratio
    echo_table(
        ["", "first tenth", "last tenth", "change"],
        [
            [
                "pellets",
                f"{progress.first_pellets:.2f}",
                f"{progress.last_pellets:.2f}",
                "-" if ratio is None else f"x{ratio:.2f}",
            ],
            [
                "fitness",
                f"{progress.first_fitness:.2f}",
                f"{progress.last_fitness:.2f}",
                f"{progress.last_fitness - progress.first_fitness:+.2f}",
            ],
        ],
        right=(1, 2, 3),
    )
    if progress.champion_id is not None and progress.champion_pellets is not None:
        who = f"{progress.champion_id} {champion_name}".rstrip()
        typer.echo(
            f"champion {who}, generation {progress.champion_generation}: "
            f"{progress.champion_pellets:.2f} pellets, fitness {_optional(progress.champion_fitness)} on the benchmark"
        )


def _print_text(
    history: list[GenerationStats],
    progress: BenchmarkProgress | None,
    top_docs: list[dict],
    lineage_docs: list[dict],
    *,
    by_benchmark: bool,
) -> None:
    """The text report; `by_benchmark`: whether the lineage's first creature is the benchmark champion."""
    shown = [history[i] for i in subsample(len(history), MAX_ROWS)]
    if len(shown) < len(history):
        stderr.print(
            f"showing {len(shown)} of {len(history)} generations, evenly spaced; --json has them all",
            highlight=False,
        )
    benchmark = has_benchmark(history)
    typer.echo("Fitness per generation" + (" (benchmark: mean over the held-out layouts)" if benchmark else ""))
    headers = ["gen", "best", "p90", "p75", "median", "p25", "p10", "worst", "average"]
    if benchmark:
        headers += ["benchmark", "bench pellets"]
    echo_table(
        headers,
        [
            [str(s.generation)]
            + [f"{v:.2f}" for v in (s.best, s.p90, s.p75, s.median, s.p25, s.p10, s.worst, s.average)]
            + ([_optional(s.benchmark_fitness), _optional(s.benchmark_pellets)] if benchmark else [])
            for s in shown
        ],
        right=range(len(headers)),
    )
    typer.echo("")
    if progress is not None:
        _print_benchmark(progress, lineage_docs[0]["name"] if lineage_docs and by_benchmark else "")
        typer.echo("")
    typer.echo("Body sizes (% of the population by node count)")
    echo_table(
        ["gen", *(str(n) for n in NODE_BUCKETS[:-1]), f"{NODE_BUCKETS[-1]}+", "avg nodes", "avg muscles"],
        [
            [
                str(s.generation),
                *(f"{v:.0f}" for v in node_shares(s.node_counts)),
                f"{s.avg_nodes:.1f}",
                f"{s.avg_muscles:.1f}",
            ]
            for s in shown
        ],
        right=range(len(NODE_BUCKETS) + 3),
    )
    if top_docs:
        typer.echo("")
        typer.echo("Top creatures (each at its best generation)")
        echo_table(
            ["#", "creature", "name", "fitness", "gen", "pellets", "nodes", "muscles"],
            [
                [
                    str(i + 1),
                    d["creature_id"],
                    d["name"],
                    f"{d['fitness']:.2f}" + ("" if d["fitness_std"] is None else f" ± {d['fitness_std']:.2f}"),
                    str(d["generation"]),
                    format_trials(d["trial_pellets"], d["pellets"]),
                    str(d["nodes"]),
                    str(d["muscles"]),
                ]
                for i, d in enumerate(top_docs)
            ],
            right=(0, 3, 4, 5, 6, 7),
        )
    if lineage_docs:
        typer.echo("")
        whose = "the champion" if by_benchmark else "the best creature"
        typer.echo(f"Lineage of {whose} ({len(lineage_docs) - 1} ancestors, nearest first)")
        rows = [
            [
                d["creature_id"],
                d["name"],
                str(d["born"]),
                d["origin"],
                str(d["nodes"]),
                str(d["muscles"]),
            ]
            for d in lineage_docs[: LINEAGE_ROWS + 1]
        ]
        echo_table(["creature", "name", "born", "origin", "nodes", "muscles"], rows, right=(2, 4, 5))
        if len(lineage_docs) > LINEAGE_ROWS + 1:
            typer.echo(f"... and {len(lineage_docs) - LINEAGE_ROWS - 1} older ancestors (--json lists them all)")
