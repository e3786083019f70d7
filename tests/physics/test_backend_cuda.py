"""The CUDA backend: the CPU kernel's creature code in one GPU launch, checked without a GPU.

numba's CUDA simulator is chosen by NUMBA_ENABLE_CUDASIM when numba.cuda is first imported, once per
process, and a simulated "GPU" would be taken by every later `make_backend("auto")`. So the backend runs
in child processes (this file run as a script) with the environment each check needs, and the parent
compares what they return with the CPU backend run here.

Under the simulator the CUDA backend must give the CPU backend's outputs bit for bit; without a GPU,
`CudaBackend.create()` must refuse with one line that says why.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("numba_cuda", reason="numba-cuda is not installed (pip install 'evolab[cuda]')")

from evolab.config import SimConfig
from evolab.genome.generate import random_genome
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import BatchOutputs
from evolab.physics.pack import PackedBatch, pack_batch
from evolab.physics.simulate import run_batch

CHILD_TIMEOUT_S = 900  # a fresh machine compiles the creature kernel first


@dataclass(frozen=True)
class Job:
    """One `run_batch` call, made by the parent on the CPU backend and by a child on the CUDA one."""

    batch: PackedBatch
    cfg: SimConfig
    seed: int
    record: bool
    trials: int = 1
    pellets: np.ndarray | None = None

    def run(self, backend: Any) -> BatchOutputs:
        return run_batch(
            self.batch, self.cfg, self.seed, trials=self.trials, record=self.record, pellets=self.pellets,
            backend=backend,
        )  # fmt: skip


def mixed_batch(seed: int = 2026) -> PackedBatch:
    """Five random creatures of 2 to 7 nodes, each with a network (hidden 8, every activation)."""
    rng = np.random.default_rng(seed)
    activations = ("tanh", "relu", "sigmoid", "tanh", "relu")
    return pack_batch([random_genome(rng, neural_hidden_size=8, neural_activation=a) for a in activations])


BATCH = mixed_batch()
NEAR_PELLETS = np.array([[0.0, 0.3, 0.0], [0.5, 0.3, 0.0], [-0.5, 0.3, 0.0]])
"""Pellets at the spawn point, so that several creatures collect some within a second."""

JOBS = {
    "oscillator": Job(BATCH, SimConfig(duration=1.0, neural_mode="off"), 11, record=False),
    "oscillator-recorded": Job(BATCH, SimConfig(duration=1.0, neural_mode="off"), 11, record=True),
    "hybrid": Job(BATCH, SimConfig(duration=1.0, neural_mode="hybrid"), 11, record=False),
    "hybrid-recorded": Job(BATCH, SimConfig(duration=1.0, neural_mode="hybrid"), 11, record=True),
    "hybrid-collecting": Job(
        BATCH, SimConfig(duration=1.0, neural_mode="hybrid", sensor_frame="body"), 3, True, pellets=NEAR_PELLETS
    ),
    "oscillator-trials": Job(
        BATCH, SimConfig(duration=1.0, pellet_mode="per_creature", sensor_frame="motion"), 5, record=False, trials=2
    ),
    "pure-disqualified": Job(
        BATCH, SimConfig(duration=0.5, neural_mode="pure", max_allowed_frequency=0.5), 11, record=True
    ),
}
REVERSED = np.arange(BATCH.size)[::-1].copy()
"""The batch in the other order: every creature gets other batch-mates and another thread."""


def batch_mate_jobs() -> dict[str, Job]:
    """The "hybrid-recorded" job on the reversed batch and on each creature alone."""
    base = JOBS["hybrid-recorded"]
    jobs = {"reversed": Job(base.batch.take(REVERSED), base.cfg, base.seed, base.record)}
    jobs |= {
        f"alone-{c}": Job(base.batch.take(np.array([c])), base.cfg, base.seed, base.record) for c in range(BATCH.size)
    }
    return jobs


# -- the child side ---------------------------------------------------------------------------------------


def child_main(jobs_path: str, results_path: str) -> None:
    """Run every pickled job on `CudaBackend.create()` and pickle the outputs, with the backend's description."""
    from evolab.physics.backend_cuda import CudaBackend

    jobs = {name: Job(**job) for name, job in pickle.loads(Path(jobs_path).read_bytes()).items()}
    backend = CudaBackend.create()
    outputs = {name: job.run(backend) for name, job in jobs.items()}
    outputs["again"] = jobs["oscillator-recorded"].run(backend)  # a second launch of the same job
    Path(results_path).write_bytes(pickle.dumps({"describe": backend.describe(), "outputs": outputs}))


def child_refusal() -> None:
    """Print, as JSON, what `CudaBackend.create()` and `make_backend` do on a machine with no usable GPU."""
    from evolab.errors import BackendUnavailable
    from evolab.physics.backend_cuda import CudaBackend
    from evolab.physics.backends import make_backend

    report: dict[str, Any] = {"auto": make_backend("auto").name}
    for how, create in (("create", CudaBackend.create), ("make_backend", lambda: make_backend("cuda"))):
        try:
            report[how] = {"created": create().describe()}
        except BackendUnavailable as err:
            report[how] = {"message": str(err), "hint": err.hint}
    print(json.dumps(report))


def run_child(args: list[str], env: dict[str, str]) -> str:
    """Run this file as a script in a fresh interpreter with `env` added; its stdout."""
    done = subprocess.run(
        [sys.executable, __file__, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"child {args[:1]} failed:\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every job of `JOBS` and `batch_mate_jobs()` run by the CUDA backend on numba's CUDA simulator."""
    folder = tmp_path_factory.mktemp("cudasim")
    jobs_path, results_path = folder / "jobs.pkl", folder / "results.pkl"
    # plain fields, not `Job`s: the child is this file as `__main__`, not the module pytest imported
    jobs = {
        name: {f.name: getattr(job, f.name) for f in fields(job)} for name, job in (JOBS | batch_mate_jobs()).items()
    }
    jobs_path.write_bytes(pickle.dumps(jobs))
    run_child(["simulate", str(jobs_path), str(results_path)], {"NUMBA_ENABLE_CUDASIM": "1"})
    return pickle.loads(results_path.read_bytes())


# -- what the outputs must be -----------------------------------------------------------------------------


def differing_fields(a: BatchOutputs, b: BatchOutputs) -> list[str]:
    """The fields of two outputs that are not bit-identical (dtype, shape and every byte)."""
    return [
        f.name
        for f in fields(BatchOutputs)
        for x, y in ((getattr(a, f.name), getattr(b, f.name)),)
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes()
    ]


def creature_rows(out: BatchOutputs, row: int, n_nodes: int) -> BatchOutputs:
    """Row `row` of the outputs, frames cut to the creature's own nodes (padding depends on the batch)."""
    one = out.take(np.array([row]))
    if one.recorded:
        one = BatchOutputs(
            **{f.name: getattr(one, f.name) for f in fields(one)} | {"frames": one.frames[:, :, :n_nodes]}
        )
    return one


@pytest.mark.parametrize("name", list(JOBS))
def test_simulated_cuda_outputs_are_bit_identical_to_the_cpu_backend(simulated: dict[str, Any], name: str) -> None:
    cuda_out = simulated["outputs"][name]
    cpu_out = JOBS[name].run(CpuBackend())
    assert differing_fields(cuda_out, cpu_out) == []


def test_the_jobs_exercise_movement_pellets_recording_and_disqualification(simulated: dict[str, Any]) -> None:
    # so that "bit-identical" above is not true of empty outputs
    outputs = simulated["outputs"]
    assert (outputs["oscillator"].fitness > 0).all()
    assert (outputs["oscillator"].distance > 0).all()
    assert outputs["hybrid-collecting"].pellets.sum() >= 2
    assert outputs["oscillator-trials"].size == 2 * BATCH.size
    recorded = outputs["hybrid-recorded"]
    assert recorded.frames.shape == (BATCH.size, JOBS["hybrid-recorded"].cfg.n_frames, BATCH.node_params.shape[1], 3)
    assert np.abs(recorded.frames[:, -1]).max() > 0
    assert (recorded.fitness_over_time[:, -1] > 0).any()
    assert outputs["hybrid"].frames.shape == (0, 0, 0, 3)
    assert (outputs["pure-disqualified"].dq != 0).any()


def test_a_creatures_result_does_not_depend_on_its_batch_mates(simulated: dict[str, Any]) -> None:
    outputs = simulated["outputs"]
    together = outputs["hybrid-recorded"]
    for c in range(BATCH.size):
        n = int(BATCH.n_nodes[c])
        alone = creature_rows(outputs[f"alone-{c}"], 0, n)
        reversed_row = int(np.flatnonzero(c == REVERSED)[0])
        assert differing_fields(creature_rows(together, c, n), alone) == [], f"creature {c} alone"
        assert differing_fields(creature_rows(outputs["reversed"], reversed_row, n), alone) == [], f"creature {c}"


def test_a_second_launch_gives_the_same_outputs(simulated: dict[str, Any]) -> None:
    assert differing_fields(simulated["outputs"]["again"], simulated["outputs"]["oscillator-recorded"]) == []


def test_the_simulated_backend_says_it_is_simulated(simulated: dict[str, Any]) -> None:
    assert simulated["describe"] == "cuda (numba CUDA simulator)"


def test_without_a_usable_gpu_create_refuses_in_one_line() -> None:
    # CUDA_VISIBLE_DEVICES="" hides every GPU, so this holds on a machine with one too
    report = json.loads(run_child(["refuse"], {"NUMBA_ENABLE_CUDASIM": "0", "CUDA_VISIBLE_DEVICES": ""}))
    for how in ("create", "make_backend"):
        assert "message" in report[how], f"{how} made a backend: {report[how]}"
        message = report[how]["message"]
        assert message.startswith("backend 'cuda': no usable CUDA GPU here (")
        assert "\n" not in message
        assert message.endswith(")")
        assert "evolab[cuda]" in report[how]["hint"]
    assert report["auto"] == "cpu"


if __name__ == "__main__":
    if sys.argv[1] == "simulate":
        child_main(sys.argv[2], sys.argv[3])
    else:
        child_refusal()
