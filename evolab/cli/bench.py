"""`evolab bench`: throughput of this machine on the standard workloads (DESIGN §8)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evolab.cli._backend import CLUSTER_HELP, BackendChoice, BackendOption, chosen_backend, cluster_backend
from evolab.cli._output import fail, fail_on, print_json, stderr, stdout

EPILOG = """Examples:

  $ evolab bench

  $ evolab bench --workers 1 --json

  $ evolab bench --e2e

  $ evolab bench --backend cuda              # the GPU kernel (evolab[cuda], a CUDA GPU)

  $ evolab bench --api                       # API latency on a fresh 1000-generation run

  $ evolab bench --api --api-db evolution.db  # ... or on the largest run of a database

  $ evolab bench --api --clients 16          # ... under 16 clients, `evolab evolve` writing
"""


def bench_command(
    workers: Annotated[int | None, typer.Option(help="Kernel threads [default: all cores].", min=1)] = None,
    repeats: Annotated[int, typer.Option(help="Timed runs per workload; the best counts.", min=1)] = 5,
    workload: Annotated[
        list[str] | None,
        typer.Option("--workload", "-w", help="Run only these (W1-W3; W4, GPU-sized, runs by default on a GPU)."),
    ] = None,
    e2e: Annotated[
        bool, typer.Option("--e2e", help="Also run E1: a stored 1000-generation evolution (about a minute).")
    ] = False,
    e2e_generations: Annotated[int, typer.Option(help="Generations of the E1 run.", min=1)] = 1000,
    api: Annotated[
        bool,
        typer.Option("--api", help="Also time the web API (p50/p95) on the E1 run, or on --api-db's largest run."),
    ] = False,
    api_db: Annotated[
        Path | None, typer.Option("--api-db", help="Measure the API on this database instead of a fresh E1 run.")
    ] = None,
    clients: Annotated[
        int,
        typer.Option(
            help="With --api: this many concurrent clients against an `evolab serve` subprocess while an "
            "`evolab evolve` subprocess writes the same file (1: one client, no writer).",
            min=1,
            max=256,
        ),
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    backend: BackendOption = BackendChoice.auto,
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", help=CLUSTER_HELP + " Each workload also runs locally, for its overhead."),
    ] = None,
) -> None:
    """Measure creature-steps per second and seconds per generation on W1-W3 (and E1 with --e2e)."""
    import tempfile

    from rich.table import Table

    from evolab.bench import WORKLOADS, machine_info, run_workload, warm_up
    from evolab.physics.backend_cpu import default_workers

    asked = {name.upper() for name in workload or []}
    unknown = asked - {w.name for w in WORKLOADS}
    if unknown:
        fail(f"unknown workload {', '.join(sorted(unknown))} (choose from {', '.join(w.name for w in WORKLOADS)})")
    if clients > 1 and not api:
        fail("--clients needs --api")
    if api_db is not None and not api_db.is_file():  # refused before minutes of measuring, not after
        fail(f"--api-db {api_db}: no such database")
    n_workers = min(workers or default_workers(), default_workers())
    physics = cluster_backend(cluster, backend) if cluster else chosen_backend(backend, n_workers)
    on_gpu = physics.name == "cuda" or "cuda" in physics.describe()
    chosen = [w for w in WORKLOADS if w.name in asked] if asked else [w for w in WORKLOADS if on_gpu or not w.gpu_sized]
    if not as_json:
        stderr.print("compiling kernels (cached after the first run)...")
    compile_seconds = warm_up(n_workers)
    if cluster:
        _warm_up_workers(physics)
    results = []
    moved: list[int] = []
    for w in chosen:
        if not as_json:
            stderr.print(f"running {w.name}: {w.description}...")
        results.append(run_workload(w, n_workers, repeats, backend=physics))
        if cluster:
            moved.append(physics.last_call_bytes)  # the workload's last timed call: one generation's
    local = [run_workload(w, n_workers, repeats) for w in chosen] if cluster else []
    local_e2e = None
    e2e_moved = 0
    gradients = None
    if physics.name == "torch":
        from evolab.bench import gradient_cost

        if not as_json:
            stderr.print("timing gradients through the torch physics...")
        gradients = gradient_cost()
    end_to_end = None
    latency = None
    concurrent = None
    live = None
    with tempfile.TemporaryDirectory(prefix="evolab-e1-") as directory:
        if e2e or (api and api_db is None):
            from evolab.bench import E1_TURN, run_end_to_end, run_end_to_end_side_by_side

            if not as_json:
                stderr.print(f"running E1: {e2e_generations} generations x 100 creatures x 10 s into a new database...")
            if cluster and e2e:  # and here too, for its throughput per core against the cluster's
                if not as_json:
                    stderr.print(f"... on the cluster and here, taking turns of {E1_TURN} generations")
                moved_before = physics.totals.bytes
                end_to_end, local_e2e = run_end_to_end_side_by_side(
                    directory, [physics, None], generations=e2e_generations, workers=n_workers
                )
                e2e_moved = physics.totals.bytes - moved_before
            else:
                end_to_end = run_end_to_end(directory, generations=e2e_generations, workers=n_workers, backend=physics)
        if api:
            from evolab.errors import StorageError
            from evolab.server.latency import measure_api, measure_live_delay

            target = api_db if api_db is not None else Path(directory) / "e1.db"
            if not as_json:
                stderr.print(f"timing the web API on {target}...")
            try:
                if clients > 1:
                    from evolab.server.latency import measure_api_concurrent

                    if not as_json:
                        stderr.print(f"{clients} clients against `evolab serve`, `evolab evolve` writing the file...")
                    concurrent = measure_api_concurrent(target, clients)
                else:
                    latency = measure_api(target)
            except StorageError as err:
                fail_on(err)
            if not as_json:
                stderr.print("timing live updates: `evolab evolve` in another process, the server watching...")
            live = measure_live_delay(Path(directory) / "live.db")
    machine = {**machine_info(n_workers), "backend": physics.describe()}
    if as_json:
        document = {"workloads": [r.to_dict() for r in results], "compile_seconds": compile_seconds}
        if gradients is not None:
            document["gradient_cost"] = gradients.to_dict()
        if cluster:
            document["cluster"] = _cluster_doc(physics, results, local, moved)
            if local_e2e is not None:
                row = _cluster_e2e_doc(physics, end_to_end, local_e2e, n_workers, e2e_moved)
                document["cluster"]["end_to_end"] = row
            physics.close()
        if end_to_end is not None:
            document["end_to_end"] = end_to_end.to_dict()
        if latency is not None:
            document["api_latency"] = [r.to_dict() for r in latency]
        if concurrent is not None:
            document["api_concurrency"] = concurrent.to_dict()
        if live is not None:
            document["live_delay"] = live.to_dict()
        document["machine"] = machine
        print_json(document)
        return
    table = Table(title=f"evolab bench — {machine['cpu']}, {n_workers} worker(s), on {physics.describe()}")
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
    if cluster:
        for row in _cluster_doc(physics, results, local, moved)["workloads"]:
            stdout.print(
                f"{row['name']} on the cluster: {row['creature_steps_per_s_per_worker']:,.0f} creature-steps/s per "
                f"worker ({row['workers']} workers), {row['overhead_ms_per_generation']:+.1f} ms a generation "
                f"against local ({row['local_creature_steps_per_s']:,.0f} creature-steps/s here), "
                f"{row['bytes_per_generation'] / 1e3:,.0f} kB moved"
            )
        for node in _cluster_doc(physics, results, local, moved)["nodes"]:
            stdout.print(
                f"  worker {node['address']} ({node['threads']} thread{'s' if node['threads'] != 1 else ''}): "
                f"{node['creature_steps_per_s']:,.0f} creature-steps/s while simulating, "
                f"{node['creatures']:,} creatures"
            )
    if gradients is not None:
        g = gradients
        stdout.print(
            f"gradients ({g.creatures} creatures x {g.window} control steps): forward "
            f"{g.forward_seconds_per_creature_step * 1e6:.0f} us, forward + backward "
            f"{g.gradient_seconds_per_creature_step * 1e6:.0f} us per creature-step ({g.ratio:.1f}x)"
        )
    if end_to_end is not None:
        e = end_to_end
        stdout.print(
            f"E1: {e.generations} generations x {e.population} creatures x {e.duration:g} s, default frame policy\n"
            f"  wall time            {e.wall_seconds:8.1f} s  (target under 40 s)\n"
            f"  kernel time          {e.kernel_seconds:8.1f} s\n"
            f"  host overhead share  {e.host_share:8.1%}  (target under 30 %)\n"
            f"  write time           {e.store_seconds_per_generation * 1000:8.2f} ms per generation\n"
            f"  GA and statistics    {e.ga_seconds_per_generation * 1000:8.2f} ms per generation\n"
            f"  packing, unpacking   {e.pack_seconds_per_generation * 1000:8.2f} ms per generation\n"
            f"  database size        {e.database_bytes / 1e6:8.1f} MB  "
            f"({e.database_bytes_per_generation / 1e3:.1f} kB per generation; target under 100 MB)"
        )
    if local_e2e is not None:
        row = _cluster_e2e_doc(physics, end_to_end, local_e2e, n_workers, e2e_moved)
        stdout.print(
            f"E1 on the cluster ({row['cluster_threads']} worker threads) against here ({row['local_threads']} "
            f"threads), taking turns: wall {row['cluster_wall_seconds']:.1f} s against "
            f"{row['local_wall_seconds']:.1f} s, {row['per_thread_ratio_wall']:.0%} of the throughput per core "
            f"used (target 80 %); the driver waited {row['cluster_seconds_waited']:.1f} s on the cluster; "
            f"{row['bytes_per_generation'] / 1e3:,.0f} kB moved a generation"
        )
    if cluster:
        physics.close()
    if latency is not None:
        stdout.print(_latency_table("web API latency over loopback, one client", latency))
    if concurrent is not None:
        c = concurrent
        title = f"web API latency, {c.clients} concurrent clients, `evolab evolve` writing the same file"
        stdout.print(_latency_table(title, c.endpoints))
        stdout.print(
            f"{c.requests} requests in {c.seconds:.1f} s ({c.requests / c.seconds:.0f}/s), {c.errors} errors; "
            f"the writer stored {c.writer_generations} generations meanwhile"
        )
        for sample in c.error_samples:
            stdout.print(f"  error: {sample}", highlight=False)
    if live is not None:
        stdout.print(
            f"live updates: {live.samples} generations written by `evolab evolve` reached a WebSocket client "
            f"in p50 {live.p50_s:.2f} s, p95 {live.p95_s:.2f} s, max {live.max_s:.2f} s (target under 2 s)"
        )


def _latency_table(title: str, latency):
    """Each endpoint's p50/p95/max against its p95 target, as a rich Table."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("endpoint", "requests", "p50 ms", "p95 ms", "max ms", "p95 target", "bytes"):
        table.add_column(column, justify="right" if column != "endpoint" else "left")
    for r in latency:
        timings = (f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}", f"{r.max_ms:.1f}")
        verdict = "" if r.target_p95_ms is None else f"< {r.target_p95_ms:.0f} {'ok' if r.meets_target else 'MISSED'}"
        table.add_row(r.endpoint, str(r.requests), *timings, verdict, f"{r.mean_bytes:,.0f}")
    return table


def _warm_up_workers(cluster) -> None:
    """A few creatures through every worker, so each has loaded its compiled kernel before the timing
    starts; what they did is then forgotten (the per-worker throughput counts timed work only)."""
    import numpy as np

    import evolab
    from evolab.physics.pack import pack_batch
    from evolab.physics.simulate import run_batch

    rng = np.random.default_rng(0)
    size = max(2 * sum(cluster.threads().values()), cluster.local_below)  # calls smaller stay here
    batch = pack_batch([evolab.random_genome(rng) for _ in range(size)])
    run_batch(batch, evolab.SimConfig(duration=0.5), 0, backend=cluster)
    cluster.workers.clear()


def _cluster_e2e_doc(cluster, remote, here, local_threads: int, moved: int) -> dict:
    """E1 on the cluster and here: the same work, so throughput per core is the inverse of time x cores.
    The seconds waited are those the driver spent starting and waiting for the backend's calls (on the
    cluster it writes each generation while the next is simulated, so it waits less than the calls take);
    `moved` is the bytes the cluster's E1 sent and received."""
    threads = max(sum(cluster.threads().values()), 1)
    return {
        "cluster_threads": threads,
        "local_threads": local_threads,
        "cluster_wall_seconds": remote.wall_seconds,
        "local_wall_seconds": here.wall_seconds,
        "cluster_seconds_waited": remote.kernel_seconds,
        "local_seconds_in_calls": here.kernel_seconds,
        "per_thread_ratio_wall": (here.wall_seconds * local_threads) / (remote.wall_seconds * threads),
        "bytes_per_generation": moved / remote.generations,
    }


def _cluster_doc(cluster, on_cluster, local, moved) -> dict:
    """Each workload on the cluster next to the same workload here: throughput per worker, the extra
    seconds a generation takes, and the bytes a generation moves."""
    workers = max(len(cluster.threads()), 1)
    rows = []
    for remote, here, sent in zip(on_cluster, local, moved, strict=True):
        rows.append(
            {
                "name": remote.name,
                "workers": workers,
                "creature_steps_per_s_per_worker": remote.creature_steps_per_s / workers,
                "local_creature_steps_per_s": here.creature_steps_per_s,
                "overhead_ms_per_generation": (remote.seconds_per_generation - here.seconds_per_generation) * 1e3,
                "bytes_per_generation": sent,
            }
        )
    nodes = [
        {
            "address": address,
            "threads": stats.threads,
            "creatures": stats.creatures,
            "creature_steps_per_s": stats.creature_steps_per_s,
        }
        for address, stats in sorted(cluster.workers.items())
    ]
    return {"address": cluster.address, "workloads": rows, "nodes": nodes}
