"""The CPU kernel on a Dask cluster (`ClusterBackend`): bit-identical to the local CPU backend, the same
run whether evolved on a cluster or locally, and failing plainly (never hanging) when the cluster does.

Every cluster here lives on 127.0.0.1 and every wait is bounded."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

import distributed

import evolab
from evolab.errors import BackendUnavailable, ClusterLost, EvolabError
from evolab.physics.backend_cluster import LOCAL_BELOW, ClusterBackend, with_padding, without_padding
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import BatchOutputs, SimParams, pellet_draws
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import run_batch
from evolab.runner import Run
from tests.runner.shared import small_config, stored_run

SEED = 17
TIMEOUT = 20.0  # seconds any cluster may take to start or to be declared gone: a hang, not a slow machine


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterBackend]:
    """Two workers on loopback, given every call however small (none simulated in the test's process)."""
    with ClusterBackend.connect("local:2", timeout=TIMEOUT, local_below=0) as backend:
        yield backend


def _genomes(n: int, seed: int = 3) -> list:
    rng = np.random.default_rng(seed)
    return [evolab.random_genome(rng) for _ in range(n)]


def _assert_identical(got: BatchOutputs, expected: BatchOutputs) -> None:
    for field in dataclasses.fields(BatchOutputs):
        a, b = getattr(got, field.name), getattr(expected, field.name)
        assert a.dtype == b.dtype, field.name
        assert a.shape == b.shape, field.name
        assert a.tobytes() == b.tobytes(), field.name


@pytest.mark.parametrize(
    ("pellet_mode", "trials", "record"),
    [("shared", 1, False), ("shared", 3, True), ("per_creature", 2, False), ("per_creature", 1, True)],
)
def test_outputs_are_bit_identical_to_the_cpu_backend(
    cluster: ClusterBackend, pellet_mode: str, trials: int, record: bool
) -> None:
    batch = pack_batch(_genomes(30))
    cfg = evolab.SimConfig(duration=1.0, pellet_mode=pellet_mode)
    got = run_batch(batch, cfg, SEED, trials=trials, record=record, backend=cluster)
    _assert_identical(got, run_batch(batch, cfg, SEED, trials=trials, record=record, backend=CpuBackend(2)))
    stats = cluster.last_call
    assert stats is not None
    assert stats.creatures == 30 * trials
    assert stats.chunks > 1
    assert cluster.last_call_bytes == stats.sent_bytes + stats.received_bytes > 0


def test_a_chunk_size_can_be_set_and_is_only_a_split(cluster: ClusterBackend) -> None:
    batch = pack_batch(_genomes(7))
    cfg = evolab.SimConfig(duration=0.5)
    fixed = ClusterBackend(cluster.client, cluster.address, chunk=3, local_below=0)
    _assert_identical(run_batch(batch, cfg, SEED, backend=fixed), run_batch(batch, cfg, SEED))
    assert fixed.last_call is not None
    assert fixed.last_call.chunks == 3


def test_a_call_that_records_answers_with_its_scores_and_ships_only_the_recordings_asked_for(
    cluster: ClusterBackend,
) -> None:
    batch = pack_batch(_genomes(30))
    cfg = evolab.SimConfig(duration=1.0)
    params, draws = SimParams.of(cfg), pellet_draws(batch, cfg, SEED)
    expected = CpuBackend(2).run(batch, params, draws, True)
    cluster.run(batch, params, draws, False)
    assert cluster.last_call is not None
    unrecorded = cluster.last_call.received_bytes
    pending = cluster.start(batch, params, draws, True)
    _assert_identical(pending.scores(), expected.without_recordings())
    assert cluster.last_call.received_bytes < unrecorded + 1024  # no frame came with the scores
    received = cluster.totals.received_bytes
    rows = np.array([29, 3, 17, 0])  # from both workers' chunks, in any order
    _assert_identical(pending.fetch_rows(rows).result(), expected.take(rows))
    fetched = cluster.totals.received_bytes - received
    unpadded = 4 * int(batch.n_nodes[rows].sum()) * 3 * cfg.n_frames  # float32 frames of their own nodes only
    assert unpadded < fetched < unpadded + 4096 + 8 * 4 * cfg.n_frames  # and their fitness over time


def test_recordings_no_worker_has_any_more_are_simulated_again_the_same(cluster: ClusterBackend) -> None:
    batch = pack_batch(_genomes(30))
    cfg = evolab.SimConfig(duration=1.0)
    params, draws = SimParams.of(cfg), pellet_draws(batch, cfg, SEED)
    expected = CpuBackend(2).run(batch, params, draws, True)
    pending = cluster.start(batch, params, draws, True)
    _assert_identical(pending.result(), expected)  # every recording fetched: the workers drop them
    received = cluster.totals.received_bytes
    rows = np.array([5, 28])
    _assert_identical(pending.fetch_rows(rows).result(), expected.take(rows))
    assert cluster.totals.received_bytes == received  # nothing came from the workers: made again here


def test_recordings_of_a_worker_lost_after_its_scores_are_simulated_again_the_same() -> None:
    batch = pack_batch(_genomes(20))
    cfg = evolab.SimConfig(duration=1.0)
    params, draws = SimParams.of(cfg), pellet_draws(batch, cfg, SEED)
    with ClusterBackend.connect("local:2", timeout=TIMEOUT, local_below=0) as backend:
        pids = backend.client.run(os.getpid)
        pending = backend.start(batch, params, draws, True)
        pending.scores()
        assert backend.last_call is not None
        assert backend.last_call.chunks == 2  # each worker keeps half the recordings
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        received = backend.totals.received_bytes
        _assert_identical(pending.result(), CpuBackend(2).run(batch, params, draws, True))
        fetched = backend.totals.received_bytes - received
    assert 0 < fetched < 4 * 3 * cfg.n_frames * int(batch.n_nodes.sum())  # only the living worker's half came


def test_a_worker_keeps_the_recordings_of_its_last_few_chunks_for_one_fetch_each() -> None:
    import asyncio
    import pickle

    from evolab.physics.backend_cluster import KEPT_RECORDINGS, ChunkEvaluator

    batch = pack_batch(_genomes(3))
    cfg = evolab.SimConfig(duration=0.5)
    params, draws = SimParams.of(cfg), pellet_draws(batch, cfg, SEED)
    evaluator = ChunkEvaluator()  # off a worker: one thread
    keys = [f"call/{i}" for i in range(KEPT_RECORDINGS + 1)]
    for key in keys:
        scores, _seconds = pickle.loads(evaluator.evaluate(pickle.dumps((key, batch, params, draws, True))))
        assert not scores.recorded
    assert asyncio.run(evaluator.recorded(keys[0], [0])) is None  # the oldest is dropped
    values, fitness_over_time = pickle.loads(asyncio.run(evaluator.recorded(keys[-1], [2, 0])))
    expected = CpuBackend(1).run(batch, params, draws, True)
    rows = np.array([2, 0])
    assert values.tobytes() == without_padding(expected.frames[rows], batch.n_nodes[rows]).tobytes()
    assert fitness_over_time.tobytes() == expected.fitness_over_time[rows].tobytes()
    assert asyncio.run(evaluator.recorded(keys[-1], [0])) is None  # given once


def test_a_local_cluster_keeps_its_workers_quiet_between_calls(cluster: ClusterBackend) -> None:
    def settings(dask_worker) -> tuple:
        import dask

        return (
            dask.config.get("distributed.worker.profile.enabled"),
            "profile" in dask_worker.periodic_callbacks,
            dask_worker.periodic_callbacks["tick"].callback_time,
        )

    assert set(cluster.client.run(settings).values()) == {(False, False, 1000)}  # no 10 ms profiler, 1 s ticks


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator's settings are glibc's")
def test_workers_reuse_freed_arrays_though_the_nanny_asks_them_to_trim(cluster: ClusterBackend) -> None:
    run_batch(pack_batch(_genomes(4)), evolab.SimConfig(duration=0.2), SEED, backend=cluster)  # evaluators started
    allocations, pages = 20, (1 << 20) // 4096

    def faults_allocating_arrays(dask_worker) -> tuple[str | None, int]:
        import resource

        def allocate() -> None:
            array = np.zeros(1 << 17)  # 1 MiB, above the 128 kB glibc maps afresh when its threshold is fixed
            array += 1.0

        allocate()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(allocations):
            allocate()
        return os.environ.get("MALLOC_TRIM_THRESHOLD_"), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    for trim, faults in cluster.client.run(faults_allocating_arrays).values():
        assert trim is not None  # Dask's nanny sets it: alone, it would cost every array all its pages
        assert faults < allocations * pages // 4


def test_a_call_of_a_handful_of_creatures_is_simulated_here_the_same(cluster: ClusterBackend) -> None:
    backend = ClusterBackend(cluster.client, cluster.address)  # the default: calls under LOCAL_BELOW stay here
    assert backend.local_below == LOCAL_BELOW > 16
    batch = pack_batch(_genomes(16))  # a run's held-out benchmark, by default
    cfg = evolab.SimConfig(duration=1.0)
    got = run_batch(batch, cfg, SEED, record=True, backend=backend)
    _assert_identical(got, run_batch(batch, cfg, SEED, record=True))
    assert backend.totals.calls == 0  # the cluster was not asked
    run_batch(pack_batch(_genomes(LOCAL_BELOW)), cfg, SEED, backend=backend)
    assert backend.totals.calls == 1


def test_a_call_given_up_leaves_the_cluster_ready_for_the_next(cluster: ClusterBackend) -> None:
    batch = pack_batch(_genomes(20))
    cfg = evolab.SimConfig(duration=1.0)
    params, draws = SimParams.of(cfg), pellet_draws(batch, cfg, SEED)
    cluster.start(batch, params, draws, False).cancel()
    _assert_identical(cluster.run(batch, params, draws, False), CpuBackend(2).run(batch, params, draws, False))


def test_frames_without_their_padding_are_put_back_as_they_were() -> None:
    batch = pack_batch(_genomes(9))
    frames = run_batch(batch, evolab.SimConfig(duration=0.5), SEED, record=True).frames
    values = without_padding(frames, batch.n_nodes)
    assert values.size == frames.shape[1] * 3 * int(batch.n_nodes.sum())
    assert with_padding(values, frames.shape, batch.n_nodes).tobytes() == frames.tobytes()


def test_it_is_recorded_as_cpu_and_describes_the_cluster(cluster: ClusterBackend) -> None:
    assert cluster.name == "cpu"
    assert isinstance(cluster, evolab.physics.contract.Backend)
    assert cluster.describe() == f"cpu on a Dask cluster ({cluster.address}, 2 workers, 2 threads)"


def test_a_run_on_the_cluster_is_the_run_evolved_locally_and_resumes_locally(
    cluster: ClusterBackend, tmp_path: Path
) -> None:
    cfg = small_config()
    with Run.create(cfg, tmp_path / "local.db", seed=SEED, backend="cpu") as local:
        local.advance(3)
        expected = stored_run(local)
        local.advance(1)
        expected_after_resume = stored_run(local)
    with Run.create(cfg, tmp_path / "cluster.db", seed=SEED, backend=cluster) as remote:
        remote.advance(3)
        assert stored_run(remote) == expected
        assert remote.info().backend == "cpu"
        run_id = remote.id
    with Run.resume(run_id, tmp_path / "cluster.db", backend="cpu") as resumed:  # no force needed
        resumed.advance(1)
        assert stored_run(resumed) == expected_after_resume


def test_a_worker_killed_mid_call_costs_one_chunk_rerun_and_the_outputs_are_unchanged() -> None:
    batch = pack_batch(_genomes(200, seed=5))  # about 70 ms a worker: the kill lands mid-chunk
    cfg = evolab.SimConfig(duration=20.0)
    expected = run_batch(batch, cfg, SEED)
    with ClusterBackend.connect("local:2", timeout=TIMEOUT) as backend:
        pids = backend.client.run(os.getpid)
        run_batch(batch.take(slice(0, 2)), cfg, SEED, backend=backend)  # both workers have loaded the kernel
        killed: dict[str, float] = {}

        def kill_a_busy_worker() -> None:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                if busy := backend.busy_workers():
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed[busy[0]] = time.monotonic()
                    return
                time.sleep(0.001)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        got = run_batch(batch, cfg, SEED, backend=backend)
        finished = time.monotonic()
        killer.join(TIMEOUT)
        assert killed
        assert next(iter(killed.values())) < finished  # it died while the call was in flight
        _assert_identical(got, expected)
        stats = backend.last_call
        assert stats is not None
        assert (stats.chunks, stats.reruns) == (3, 1)  # one chunk per worker, and the killed one's again


def test_a_worker_that_joins_is_given_work() -> None:
    with ClusterBackend.connect("local:1", timeout=TIMEOUT, local_below=0) as backend:
        batch = pack_batch(_genomes(12))
        cfg = evolab.SimConfig(duration=0.5)
        run_batch(batch, cfg, SEED, backend=backend)
        assert len(backend.workers) == 1
        backend._cluster.scale(2)
        backend.client.wait_for_workers(2, timeout=TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while len(backend.workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # the worker list is re-read once a second at most
            _assert_identical(run_batch(batch, cfg, SEED, backend=backend), run_batch(batch, cfg, SEED))
        assert len(backend.workers) == 2
        assert backend.last_call is not None
        assert backend.last_call.chunks == 2


def test_a_stopped_cluster_makes_the_next_call_fail_plainly() -> None:
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        backend = ClusterBackend.connect(local.scheduler_address, timeout=3.0, local_below=0)
    # the cluster is closed: its scheduler and worker are gone
    batch = pack_batch(_genomes(4))
    start = time.monotonic()
    with pytest.raises(ClusterLost) as caught:
        run_batch(batch, evolab.SimConfig(duration=0.5), SEED, backend=backend)
    assert time.monotonic() - start < 3.0 + TIMEOUT
    assert isinstance(caught.value, EvolabError)
    assert backend.address in str(caught.value)
    backend.close()


def test_a_cluster_stopped_mid_run_stops_the_run_at_its_last_stored_generation_and_it_resumes(
    tmp_path: Path,
) -> None:
    cfg = small_config()
    with Run.create(cfg, tmp_path / "local.db", seed=SEED, backend="cpu") as local:
        local.advance(5)
        expected = stored_run(local)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    backend = ClusterBackend.connect(cluster.scheduler_address, timeout=3.0)

    def stop_the_cluster_after_generation_1(report) -> None:
        if report.stats.generation == 1:
            cluster.close()

    db = tmp_path / "cluster.db"
    with Run.create(cfg, db, seed=SEED, backend=backend) as remote:
        with pytest.raises(ClusterLost):
            remote.advance(5, on_generation=stop_the_cluster_after_generation_1)
        run_id = remote.id
        # generation 2 was being evaluated while generation 1 was stored: it is stored too if it was done
        stopped_at = remote.generation
        assert stopped_at in (2, 3)
        assert remote.info().status == "stopped"
        assert remote.info().generation_count == stopped_at
    backend.close()
    with Run.resume(run_id, db, backend="cpu") as resumed:
        assert resumed.generation == stopped_at
        resumed.advance(5 - stopped_at)
        assert stored_run(resumed) == expected


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "local:0", "local:two", "nonsense://nowhere"])
def test_a_bad_address_is_backend_unavailable_quickly(address: str) -> None:
    start = time.monotonic()
    with pytest.raises(BackendUnavailable) as caught:
        ClusterBackend.connect(address, timeout=2.0)
    assert time.monotonic() - start < 2.0 + TIMEOUT
    assert address in str(caught.value)
    assert "\n" not in str(caught.value)


def test_evolve_on_a_local_cluster_stores_the_run_the_cpu_backend_stores(tmp_path) -> None:
    from typer.testing import CliRunner

    from evolab.cli.app import app
    from evolab.storage import Store

    def evolve(db, *extra):
        # 8 creatures on 4 layouts: a call of 32, which the cluster is given (LOCAL_BELOW)
        args = ["evolve", "--preset", "quick", "--population", "8", "--duration", "0.5", "-g", "2", "--seed", "4"]
        result = CliRunner().invoke(app, [*args, *extra, "--db", str(db)])
        assert result.exit_code == 0, result.stderr
        return result

    on_cluster = evolve(tmp_path / "cluster.db", "--cluster", "local:2")
    evolve(tmp_path / "local.db", "--backend", "cpu")

    assert "on a Dask cluster" in on_cluster.stderr
    stored = []
    for db in ("cluster.db", "local.db"):
        with Store(tmp_path / db) as store:
            (run,) = store.list_runs()
            assert run.backend == "cpu"
            stored.append([[(r.creature_id, r.fitness) for r in store.results(run.id, g)] for g in range(2)])
    assert stored[0] == stored[1]


def test_evolve_on_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path) -> None:
    from typer.testing import CliRunner

    from evolab.cli.app import app

    db = tmp_path / "runs.db"
    result = CliRunner().invoke(app, ["evolve", "--preset", "quick", "-g", "1", "--cluster", "nonsense://nowhere",
                                      "--db", str(db)])  # fmt: skip
    assert result.exit_code == 2
    assert "nonsense://nowhere" in result.stderr
    assert not db.exists()


def test_bench_on_a_cluster_reports_throughput_per_worker_and_overhead_against_local(monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from evolab.bench import Workload
    from evolab.cli.app import app

    monkeypatch.setattr("evolab.bench.WORKLOADS", (Workload("W1", LOCAL_BELOW, 0.5, "off", "tiny"),))
    args = ["bench", "--cluster", "local:2", "--repeats", "1", "--e2e", "--e2e-generations", "2", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    (row,) = document["cluster"]["workloads"]
    assert row["name"] == "W1"
    assert row["workers"] == 2
    assert row["creature_steps_per_s_per_worker"] > 0
    assert row["local_creature_steps_per_s"] > 0
    assert row["bytes_per_generation"] > 0
    nodes = document["cluster"]["nodes"]  # throughput per node, from what each worker simulated
    assert len(nodes) == 2
    assert all(node["threads"] == 1 and node["creatures"] > 0 and node["creature_steps_per_s"] > 0 for node in nodes)
    assert "Dask cluster" in document["machine"]["backend"]
    e1 = document["cluster"]["end_to_end"]  # E1 on the cluster and here, side by side
    assert e1["cluster_threads"] == 2
    assert e1["cluster_wall_seconds"] > 0
    assert e1["local_wall_seconds"] > 0
    assert e1["bytes_per_generation"] > 0


def _dask(command: str, *args: str) -> subprocess.Popen:
    """`dask scheduler` or `dask worker` as its own process group on loopback (one numba thread a worker)."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", f"distributed.cli.dask_{command}", "--host", "127.0.0.1", "--no-dashboard", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _scheduler_address(scheduler_file: Path) -> str:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            return json.loads(scheduler_file.read_text())["address"]
        time.sleep(0.1)
    raise AssertionError("the dask scheduler did not start")


def _evolab(*args: str) -> list[str]:
    return [sys.executable, "-m", "evolab", *args]


def test_evolve_on_a_separate_scheduler_and_workers_survives_losing_them_and_resumes_locally(tmp_path: Path) -> None:
    settings = ["--preset", "quick", "--population", "16", "--duration", "1", "--seed", "8"]
    generations = 300
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = _dask("scheduler", "--port", "0", "--scheduler-file", str(scheduler_file))
    workers = None
    try:
        address = _scheduler_address(scheduler_file)
        workers = _dask("worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2", "--nthreads", "1")
        db = tmp_path / "cluster.db"
        evolve = subprocess.Popen(
            _evolab("evolve", *settings, "-g", str(generations), "--cluster", address, "--db", str(db)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert evolve.stdout is not None
        first = evolve.stdout.readline()  # one generation evaluated on the cluster and stored
        assert first.startswith("gen"), first
        for process in (workers, scheduler):  # the whole cluster goes away mid-run
            os.killpg(process.pid, signal.SIGKILL)
        _out, err = evolve.communicate(timeout=60)
    finally:
        for process in (workers, scheduler):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert evolve.returncode == 1, err
    (line,) = [line for line in err.splitlines() if "dask cluster" in line]
    assert address in line
    assert "resume with" in err

    from evolab.storage import Store

    with Store(db) as store:
        (run,) = store.list_runs()
        stored = run.generation_count
    assert 1 <= stored < generations
    resumed = subprocess.run(
        _evolab("evolve", "--resume", run.id, "-g", str(generations - stored), "--db", str(db)),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    local = subprocess.run(
        _evolab("evolve", *settings, "-g", str(generations), "--backend", "cpu", "--db", str(tmp_path / "local.db")),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    results = []
    for path in (db, tmp_path / "local.db"):
        with Store(path) as store:
            (run,) = store.list_runs()
            results.append([[(r.creature_id, r.fitness) for r in store.results(run.id, g)] for g in range(generations)])
    assert results[0] == results[1]


def test_serve_with_a_cluster_advances_cpu_runs_there_and_they_are_the_runs_evolved_locally(
    cluster: ClusterBackend, tmp_path: Path
) -> None:
    from evolab.server import create_app
    from tests.server.shared import TestClient, advance, create_run
    from tests.server.shared import small_config as server_config

    app = create_app(tmp_path / "served.db", workers=1, poll_interval=0.05, static_dir=None, cluster=cluster)
    calls = cluster.totals.calls
    with TestClient(app) as client:
        run = create_run(client, backend="cpu", seed=SEED)
        assert advance(client, run["id"], 2)["generation_count"] == 2
        pages = [client.get(f"/api/runs/{run['id']}/generations/{g}").json() for g in range(2)]
    served = [[(card["id"], card["fitness"]) for card in page["creatures"]] for page in pages]
    assert cluster.totals.calls > calls  # the generations were evaluated on the cluster
    with Run.create(server_config(), tmp_path / "local.db", seed=SEED, backend="cpu") as local:
        local.advance(2)
        assert served == [[(r.creature_id, r.fitness) for r in local.results(g)] for g in range(2)]


def test_serve_on_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evolab.cli.app import app

    db = tmp_path / "runs.db"
    result = CliRunner().invoke(app, ["serve", "--cluster", "nonsense://nowhere", "--db", str(db)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[0].startswith("error: dask cluster 'nonsense://nowhere'")
    assert not db.exists()
