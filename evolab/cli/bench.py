"""`evolab bench`: throughput of this machine on the standard workloads (DESIGN §8)."""

from __future__ import annotations

from typing import Annotated

import typer

from evolab.cli._output import fail, print_json, stderr, stdout

EPILOG = """Examples:

  $ evolab bench

  $ evolab bench --workers 1 --json
"""


def bench_command(
    workers: Annotated[int | None, typer.Option(help="Kernel threads [default: all cores].", min=1)] = None,
    repeats: Annotated[int, typer.Option(help="Timed runs per workload; the best counts.", min=1)] = 5,
    workload: Annotated[
        list[str] | None, typer.Option("--workload", "-w", help="Run only these (W1, W2, W3); repeatable.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Measure creature-steps per second and seconds per generation on W1-W3."""
    from rich.table import Table

    from evolab.bench import WORKLOADS, machine_info, run_workload, warm_up
    from evolab.physics.simulate import default_workers

    chosen = [w for w in WORKLOADS if not workload or w.name in {name.upper() for name in workload}]
    unknown = {name.upper() for name in workload or []} - {w.name for w in WORKLOADS}
    if unknown:
        fail(f"unknown workload {', '.join(sorted(unknown))} (choose from W1, W2, W3)")
    n_workers = min(workers or default_workers(), default_workers())
    if not as_json:
        stderr.print("compiling kernels (cached after the first run)...")
    compile_seconds = warm_up(n_workers)
    results = []
    for w in chosen:
        if not as_json:
            stderr.print(f"running {w.name}: {w.description}...")
        results.append(run_workload(w, n_workers, repeats))
    machine = machine_info(n_workers)
    if as_json:
        print_json(
            {
                "workloads": [r.to_dict() for r in results],
                "compile_seconds": compile_seconds,
                "machine": machine,
            }
        )
        return
    table = Table(title=f"evolab bench — {machine['cpu']}, {n_workers} worker(s)")
    for column in ("workload", "creatures", "steps", "creature-steps/s", "s/generation", "pack s"):
        table.add_column(column, justify="right" if column != "workload" else "left")
    for r in results:
        table.add_row(
            r.name,
            str(r.creatures),
            str(r.steps),
            f"{r.creature_steps_per_s:,.0f}",
            f"{r.seconds_per_generation:.3f}",
            f"{r.pack_seconds:.4f}",
        )
    stdout.print(table)
    stdout.print(f"compile (or cache load) {compile_seconds:.2f} s, not included above")
