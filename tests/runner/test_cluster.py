"""The CPU kernel on a Dask cluster (`ClusterBackend`): bit-identical to the local CPU backend, the same
run whether evolved on a cluster or locally, and failing plainly (never hanging) when the cluster does.

Every cluster here lives on 127.0.0.1 and every wait is bounded."""

from __future__ import annotations

import dataclasses
import os
import signal
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
from evolab.physics.backend_cluster import ClusterBackend
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import BatchOutputs
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import run_batch
from evolab.runner import Run
from tests.runner.shared import small_config, stored_run

SEED = 17
TIMEOUT = 20.0  # seconds any cluster may take to start or to be declared gone: a hang, not a slow machine


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterBackend]:
    with ClusterBackend.connect("local:2", timeout=TIMEOUT) as backend:
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
    fixed = ClusterBackend(cluster.client, cluster.address, chunk=3)
    _assert_identical(run_batch(batch, cfg, SEED, backend=fixed), run_batch(batch, cfg, SEED))
    assert fixed.last_call is not None
    assert fixed.last_call.chunks == 3


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


def test_a_worker_killed_mid_call_has_its_chunks_rerun_and_the_outputs_are_unchanged() -> None:
    batch = pack_batch(_genomes(24, seed=5))
    cfg = evolab.SimConfig(duration=4.0)
    expected = run_batch(batch, cfg, SEED)
    with ClusterBackend.connect("local:2", timeout=TIMEOUT, chunk=2) as backend:
        pids = backend.client.run(os.getpid)
        run_batch(batch.take(slice(0, 2)), cfg, SEED, backend=backend)  # both workers have loaded the kernel
        killed: dict[str, float] = {}

        def kill_a_busy_worker() -> None:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                busy = [w for w, keys in backend.client.processing().items() if keys and w in pids]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed[busy[0]] = time.monotonic()
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        got = run_batch(batch, cfg, SEED, backend=backend)
        finished = time.monotonic()
        killer.join(TIMEOUT)
        assert killed
        assert next(iter(killed.values())) < finished  # it died while the call was in flight
        _assert_identical(got, expected)
        assert _chunk_runs(backend) > 1 + 12  # the warm-up chunk and the call's 12, and the killed one's re-runs


def _chunk_runs(backend: ClusterBackend) -> int:
    """How many times the scheduler has handed a chunk to a worker."""

    def count(dask_scheduler: distributed.Scheduler) -> int:
        return sum(
            1 for t in dask_scheduler.transition_log if str(t[0]).startswith("evolab-chunk-") and t[2] == "processing"
        )

    return backend.client.run_on_scheduler(count)


def test_a_stopped_cluster_makes_the_next_call_fail_plainly() -> None:
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        backend = ClusterBackend.connect(local.scheduler_address, timeout=3.0)
    # the cluster is closed: its scheduler and worker are gone
    batch = pack_batch(_genomes(4))
    start = time.monotonic()
    with pytest.raises(ClusterLost) as caught:
        run_batch(batch, evolab.SimConfig(duration=0.5), SEED, backend=backend)
    assert time.monotonic() - start < 3.0 + TIMEOUT
    assert isinstance(caught.value, EvolabError)
    assert backend.address in str(caught.value)
    backend.close()


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
        args = ["evolve", "--preset", "quick", "--population", "6", "--duration", "0.5", "-g", "2", "--seed", "4"]
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

    monkeypatch.setattr("evolab.bench.WORKLOADS", (Workload("W1", 8, 0.5, "off", "tiny"),))
    result = CliRunner().invoke(app, ["bench", "--cluster", "local:2", "--repeats", "1", "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    (row,) = document["cluster"]["workloads"]
    assert row["name"] == "W1"
    assert row["workers"] == 2
    assert row["creature_steps_per_s_per_worker"] > 0
    assert row["local_creature_steps_per_s"] > 0
    assert row["bytes_per_generation"] > 0
    assert "Dask cluster" in document["machine"]["backend"]
