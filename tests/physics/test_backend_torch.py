"""The PyTorch backend agrees with the CPU kernel, repeats itself bitwise and ignores batch-mates."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

pytest.importorskip("torch")

import torch

from evolab import SimConfig
from evolab.errors import BackendUnavailable
from evolab.genome.generate import random_genome
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.backend_torch import TorchBackend
from evolab.physics.backends import make_backend
from evolab.physics.contract import BatchOutputs
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import run_batch
from evolab.physics.torch_physics import contact_rounds

ATOL = 1e-6
"""Over the first second the torch backend follows the kernel's order of operations, so the only
differences are the kernel's fastmath contractions (measured: frames bitwise equal, fitness ~1e-12)."""


@pytest.fixture(scope="module")
def torch_backend() -> TorchBackend:
    return TorchBackend.create("cpu")


def genomes(seed: int, count: int, neural: bool = False) -> list:
    rng = np.random.default_rng(seed)
    activations = ("tanh", "relu", "sigmoid")
    return [
        random_genome(rng, neural_hidden_size=8 if neural else None, neural_activation=activations[i % 3])
        for i in range(count)
    ]


def assert_same(a: BatchOutputs, b: BatchOutputs) -> None:
    for f in fields(BatchOutputs):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype, f.name
        assert np.array_equal(x, y, equal_nan=True), f.name


@pytest.mark.parametrize("mode", ["off", "hybrid", "pure"])
def test_first_second_matches_cpu(torch_backend: TorchBackend, mode: str) -> None:
    batch = pack_batch(genomes(3, 5, neural=mode != "off"))
    cfg = SimConfig(duration=1.0, neural_mode=mode)
    cpu = run_batch(batch, cfg, 7, record=True, backend=CpuBackend())
    out = run_batch(batch, cfg, 7, record=True, backend=torch_backend)
    assert out.frames.dtype == np.float32
    assert out.frames.shape == cpu.frames.shape
    np.testing.assert_allclose(out.frames, cpu.frames, rtol=1e-6, atol=ATOL)
    np.testing.assert_allclose(out.fitness_over_time, cpu.fitness_over_time, rtol=0, atol=ATOL)
    np.testing.assert_allclose(out.fitness, cpu.fitness, rtol=0, atol=ATOL)
    np.testing.assert_allclose(out.distance, cpu.distance, rtol=1e-6, atol=ATOL)
    np.testing.assert_allclose(out.net_displacement, cpu.net_displacement, rtol=1e-6, atol=ATOL)
    np.testing.assert_allclose(out.terms, cpu.terms, rtol=0, atol=ATOL)
    np.testing.assert_allclose(out.pellet_pos, cpu.pellet_pos, rtol=0, atol=ATOL)
    np.testing.assert_allclose(out.pellet_init, cpu.pellet_init, rtol=0, atol=ATOL)
    for name in ("pellets", "dq", "n_spawned", "pellet_spawn", "pellet_collect", "substeps"):
        assert np.array_equal(getattr(out, name), getattr(cpu, name)), name


def test_sensor_frames_and_no_collision_match_cpu(torch_backend: TorchBackend) -> None:
    batch = pack_batch(genomes(4, 4))
    for cfg in (
        SimConfig(duration=0.5, sensor_frame="body"),
        SimConfig(duration=0.5, sensor_frame="motion"),
        SimConfig(duration=0.5, self_collision=False),
    ):
        cpu = run_batch(batch, cfg, 2, record=True, backend=CpuBackend())
        out = run_batch(batch, cfg, 2, record=True, backend=torch_backend)
        np.testing.assert_allclose(out.frames, cpu.frames, rtol=1e-6, atol=ATOL)


def test_repeat_run_is_bitwise_identical(torch_backend: TorchBackend) -> None:
    batch = pack_batch(genomes(5, 6, neural=True))
    cfg = SimConfig(duration=1.0, neural_mode="hybrid")
    assert_same(
        run_batch(batch, cfg, 1, record=True, backend=torch_backend),
        run_batch(batch, cfg, 1, record=True, backend=torch_backend),
    )


def test_result_does_not_depend_on_batch_mates(torch_backend: TorchBackend) -> None:
    # batch-mates of other sizes change the padded widths, the sub-step groups and the active contact rounds
    group = genomes(6, 8)
    cfg = SimConfig(duration=1.0, pellet_mode="per_creature")
    full = run_batch(pack_batch(group), cfg, 4, record=True, backend=torch_backend)
    for c in (0, 5):
        alone = run_batch(pack_batch([group[c]]), cfg, 4, record=True, backend=torch_backend)
        row = full.take(np.array([c]))
        n = alone.frames.shape[2]
        assert np.array_equal(row.frames[:, :, :n], alone.frames)
        assert not row.frames[:, :, n:].any()
        for f in fields(BatchOutputs):
            if f.name != "frames":
                assert np.array_equal(getattr(row, f.name), getattr(alone, f.name)), f.name


def test_full_rollout_agrees_statistically_with_cpu(torch_backend: TorchBackend) -> None:
    # Chaotic over seconds, so only the outcomes are compared (6 s keeps the test short). Measured: 30/30
    # pellets and disqualifications identical here (and at 10 s); the thresholds leave room for a few
    # trajectories that part ways.
    batch = pack_batch(genomes(8, 30))
    cfg = SimConfig(duration=6.0)
    cpu = run_batch(batch, cfg, 9, backend=CpuBackend())
    out = run_batch(batch, cfg, 9, backend=torch_backend)
    assert (out.pellets == cpu.pellets).mean() >= 0.8
    assert (out.dq == cpu.dq).mean() >= 0.9
    assert abs(out.pellets.sum() - cpu.pellets.sum()) <= max(3, 0.2 * cpu.pellets.sum())
    moved_cpu, moved = np.median(cpu.net_displacement), np.median(out.net_displacement)
    assert moved == pytest.approx(moved_cpu, rel=0.25, abs=0.05)


def test_explicit_pellets(torch_backend: TorchBackend) -> None:
    group = genomes(10, 3)
    batch = pack_batch(group)
    # the first pellet sits on node 0 of creature 0 at spawn, so it is collected on the first step
    start = group[0].node_params[0, 2:5] + np.array([0.0, 1.0, 0.0])
    pellets = np.array([start, [3.0, 0.3, 0.0], [-3.0, 0.3, 2.0]])
    cfg = SimConfig(duration=1.0)
    cpu = run_batch(batch, cfg, 0, record=True, pellets=pellets, backend=CpuBackend())
    out = run_batch(batch, cfg, 0, record=True, pellets=pellets, backend=torch_backend)
    assert out.pellet_collect[0, 0] == 1
    assert out.n_spawned[0] >= 2
    np.testing.assert_array_equal(out.pellet_pos[0, :2], pellets[:2])
    for name in ("pellets", "n_spawned", "pellet_spawn", "pellet_collect"):
        assert np.array_equal(getattr(out, name), getattr(cpu, name)), name
    np.testing.assert_allclose(out.pellet_pos, cpu.pellet_pos, rtol=0, atol=ATOL)
    np.testing.assert_allclose(out.fitness, cpu.fitness, rtol=0, atol=ATOL)
    none = run_batch(batch, cfg, 0, record=True, pellets=np.zeros((0, 3)), backend=torch_backend)
    assert not none.n_spawned.any()
    assert not none.pellets.any()


def test_contact_rounds_keep_the_kernels_pair_order() -> None:
    rounds = contact_rounds(6)
    seen: dict[int, list[int]] = {i: [] for i in range(6)}
    for partner in rounds:
        assert np.array_equal(partner[partner], np.arange(6))  # a matching: pairs share no node
        for i, k in enumerate(partner.tolist()):
            if k != i:
                seen[i].append(k)
    # every node meets every other once, lower partners first... in the kernel's (i, k) order
    for i, partners in seen.items():
        assert sorted(partners) == [k for k in range(6) if k != i]
        assert partners == sorted(partners, key=lambda k: (min(i, k), max(i, k)))


def test_create_and_describe() -> None:
    backend = make_backend("torch")
    assert backend.name == "torch"
    assert backend.describe().startswith(f"torch {torch.__version__}")
    if not torch.cuda.is_available():
        assert TorchBackend.create().device == "cpu"
        with pytest.raises(BackendUnavailable):
            TorchBackend.create("cuda")
    with pytest.raises(BackendUnavailable):
        TorchBackend.create("nonsense-device")


def test_disqualified_creatures_match_cpu(torch_backend: TorchBackend) -> None:
    batch = pack_batch(genomes(12, 4))
    batch.frequency_multiplier[1] = 1e3  # too fast: disqualified before the first step
    batch.node_params[2, 0, 2] = 60.0  # a node beyond the explosion radius: disqualified on the first step
    cfg = SimConfig(duration=1.0)
    cpu = run_batch(batch, cfg, 3, record=True, backend=CpuBackend())
    out = run_batch(batch, cfg, 3, record=True, backend=torch_backend)
    assert cpu.dq[1] != 0
    assert cpu.dq[2] != 0
    assert np.array_equal(out.dq, cpu.dq)
    np.testing.assert_allclose(out.frames, cpu.frames, rtol=1e-6, atol=ATOL)
    np.testing.assert_allclose(out.fitness_over_time, cpu.fitness_over_time, rtol=0, atol=ATOL)
    for name in ("fitness", "distance", "net_displacement", "terms", "pellet_pos", "pellet_init"):
        np.testing.assert_allclose(getattr(out, name), getattr(cpu, name), rtol=1e-6, atol=ATOL, err_msg=name)
    for name in ("pellets", "n_spawned", "pellet_spawn", "pellet_collect"):
        assert np.array_equal(getattr(out, name), getattr(cpu, name)), name


def test_sync_free_step_is_bitwise_identical() -> None:
    # skip_idle_contacts=False (no host sync in the step: the form CUDA graphs or compilation need) runs
    # every contact round; the idle ones are exact no-ops, so nothing changes by a bit
    batch = pack_batch(genomes(14, 6, neural=True))
    cfg = SimConfig(duration=1.0, neural_mode="hybrid")
    assert_same(
        run_batch(batch, cfg, 5, record=True, backend=TorchBackend("cpu")),
        run_batch(batch, cfg, 5, record=True, backend=TorchBackend("cpu", skip_idle_contacts=False)),
    )


def test_compiled_step_repeats_itself_and_stays_close() -> None:
    # torch.compile (opt-in) is not bit-identical to eager (inductor reorders float ops) but must repeat
    # itself bitwise and stay on the eager trajectory over a short run
    pytest.importorskip("torch._inductor")
    batch = pack_batch(genomes(15, 3))
    cfg = SimConfig(duration=0.25)
    try:
        compiled = TorchBackend("cpu", compile=True)
        first = run_batch(batch, cfg, 6, record=True, backend=compiled)
    except Exception as err:  # no C++ compiler or an inductor that cannot build here
        pytest.skip(f"torch.compile unavailable: {type(err).__name__}")
    assert_same(first, run_batch(batch, cfg, 6, record=True, backend=compiled))
    eager = run_batch(batch, cfg, 6, record=True, backend=TorchBackend("cpu"))
    np.testing.assert_allclose(first.frames, eager.frames, rtol=1e-5, atol=1e-5)
    assert np.array_equal(first.dq, eager.dq)
