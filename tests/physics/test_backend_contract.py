"""The backend contract (DESIGN §4, `evolab.physics.contract`), checked for every backend usable here: the
outputs' layout and sentinels, invariants (a)-(d), and agreement with the plain-Python reference.

The CPU kernel is always here; the torch backend when its extra is installed; the CUDA kernel where a GPU
is (its simulator checks live in `test_backend_cuda.py`)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from evolab import SimConfig
from evolab.errors import BackendUnavailable
from evolab.physics import constants
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.backends import BACKEND_NAMES, make_backend
from evolab.physics.contract import (
    Backend,
    BatchOutputs,
    PelletDraws,
    SimParams,
    estimated_costs,
    pellet_draws,
    start_run,
    substeps,
)
from evolab.physics.pack import pack_batch
from evolab.physics.reference import simulate_reference
from evolab.physics.simulate import run_batch
from tests.physics.creatures import NEURAL_MODES, last_seconds_drift, passive, random_genomes


def usable_backends() -> list[str]:
    usable = []
    for name in ("cpu", "torch", "cuda"):
        try:
            make_backend(name)
        except BackendUnavailable:
            continue
        usable.append(name)
    return usable


@pytest.fixture(params=usable_backends())
def backend(request: pytest.FixtureRequest) -> Backend:
    return make_backend(request.param)


def test_every_backend_is_a_backend_and_says_what_it_runs_on(backend: Backend) -> None:
    assert isinstance(backend, Backend)
    assert backend.name in BACKEND_NAMES
    assert backend.name in backend.describe()


@pytest.mark.parametrize("record", [False, True])
def test_outputs_have_the_documented_layout_and_sentinels(backend: Backend, rng, record: bool) -> None:
    genomes = random_genomes(rng, 5, "hybrid")
    cfg = SimConfig(duration=2.0, neural_mode="hybrid")
    batch = pack_batch(genomes)
    out = run_batch(batch, cfg, 3, record=record, backend=backend)

    b, k = len(genomes), constants.MAX_PELLETS
    assert out.size == b
    assert out.recorded == record
    assert out.fitness.shape == out.distance.shape == out.net_displacement.shape == (b,)
    assert out.terms.shape == (b, constants.N_TERMS)
    assert out.pellet_pos.shape == (b, k, 3)
    assert out.pellet_spawn.shape == out.pellet_collect.shape == out.pellet_init.shape == (b, k)
    assert np.array_equal(out.substeps, substeps(batch, cfg.substeps))
    assert set(out.dq.tolist()) <= {constants.DQ_NONE, constants.DQ_FREQUENCY, constants.DQ_NAN, constants.DQ_EXPLOSION}
    for c in range(b):
        spawned = int(out.n_spawned[c])
        assert 1 <= spawned <= k
        assert (out.pellet_spawn[c, :spawned] >= 0).all()
        assert (out.pellet_spawn[c, spawned:] == -1).all()
        assert (out.pellet_collect[c, spawned:] == -1).all()
        assert out.pellets[c] == (out.pellet_collect[c] >= 0).sum()
    if record:
        assert out.frames.shape == (b, cfg.n_frames, batch.node_params.shape[1], 3)
        assert out.frames.dtype == np.float32
        assert out.fitness_over_time.shape == (b, cfg.n_frames)
        for c, genome in enumerate(genomes):
            assert (out.frames[c, :, genome.n_nodes :] == 0).all()
    else:
        assert out.frames.shape == (0, 0, 0, 3)
        assert out.fitness_over_time.shape == (0, 0)


@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_a_creature_result_ignores_its_batch_mates(backend: Backend, rng, mode: str) -> None:  # (a)
    genomes = random_genomes(rng, 8, mode)
    cfg = SimConfig(duration=1.5, neural_mode=mode, pellet_mode="per_creature")
    whole = run_batch(pack_batch(genomes), cfg, 5, record=True, backend=backend)
    halves = [
        run_batch(pack_batch(genomes[lo:hi]), cfg, 5, record=True, backend=backend) for lo, hi in ((0, 3), (3, 8))
    ]
    apart = BatchOutputs.concat(halves)
    assert_same_outputs(whole, apart)


def test_the_same_batch_gives_bitwise_identical_outputs(backend: Backend, rng) -> None:  # (b)
    genomes = random_genomes(rng, 6, "pure")
    cfg = SimConfig(duration=1.5, neural_mode="pure")
    first, second = (run_batch(pack_batch(genomes), cfg, 42, record=True, backend=backend) for _ in range(2))
    assert_same_outputs(first, second)


def test_no_creature_ends_with_an_unreported_nan_or_blow_up(backend: Backend, rng) -> None:  # (c)
    genomes = random_genomes(rng, 24, "hybrid")
    out = run_batch(pack_batch(genomes), SimConfig(duration=3.0, neural_mode="hybrid"), 0, record=True, backend=backend)
    ok = out.dq == constants.DQ_NONE
    assert np.isfinite(out.fitness).all()
    assert (out.fitness >= 0).all()
    assert np.isfinite(out.frames[ok]).all()
    assert (np.abs(out.frames[ok]) < constants.EXPLOSION_RADIUS + 10).all()
    assert (out.fitness[~ok] == 0).all()


def test_a_passive_body_neither_gains_energy_nor_crawls(backend: Backend, rng) -> None:  # (d)
    genomes = [passive(g) for g in random_genomes(rng, 12)]
    out = run_batch(pack_batch(genomes), SimConfig(duration=10.0), 0, record=True, backend=backend)
    for c, genome in enumerate(genomes):
        # settled after six seconds, it stays put
        assert last_seconds_drift(genome, out.frames[c, :, : genome.n_nodes], 4.0) < 0.05


@pytest.mark.parametrize("mode", NEURAL_MODES)
def test_the_first_second_agrees_with_the_plain_python_reference(backend: Backend, rng, mode: str) -> None:
    genomes = random_genomes(rng, 3, mode)
    cfg = SimConfig(duration=1.0, neural_mode=mode)
    out = run_batch(pack_batch(genomes), cfg, 7, record=True, backend=backend)
    for c, genome in enumerate(genomes):
        reference = simulate_reference(genome, cfg, 7)
        # fastmath lets compiled code fuse and reorder: agreement is tight, not bitwise
        np.testing.assert_allclose(out.frames[c, :, : genome.n_nodes], reference.frames, rtol=0, atol=2e-4)
        assert out.dq[c] == reference.disqualified
        assert out.substeps[c] == reference.substeps


def test_draws_of_a_sub_batch_are_the_draws_of_its_creatures(rng) -> None:
    genomes = random_genomes(rng, 6)
    batch = pack_batch(genomes)
    for mode in ("shared", "per_creature"):
        draws = pellet_draws(batch, SimConfig(pellet_mode=mode), 9, trials=2)
        part = draws.take(slice(2, 5))
        assert isinstance(part, PelletDraws)
        assert np.array_equal(part.rows[part.row_of], draws.rows[draws.row_of[2:5]])


def test_sim_params_carry_the_config_in_the_contract_layout() -> None:
    cfg = SimConfig(gravity=-12.5, arena_size=80.0, neural_mode="pure", sensor_frame="body", duration=2.0)
    params = SimParams.of(cfg)
    assert params.sim[constants.P_GRAVITY] == -12.5
    assert params.sim[constants.P_ARENA] == 80.0
    assert params.sim[constants.P_SENSOR_FRAME] == constants.FRAME_BODY
    assert params.neural_mode == constants.MODE_PURE
    assert (params.n_steps, params.n_frames, params.n_explicit) == (cfg.n_steps, cfg.n_frames, -1)
    explicit = SimParams.of(cfg, np.array([[3.0, 0.3, 0.0], [0.0, 0.7, 4.0]]))
    assert explicit.n_explicit == 2


def test_outputs_taken_apart_and_put_back_together_are_the_outputs(rng) -> None:
    genomes = random_genomes(rng, 7)
    out = run_batch(pack_batch(genomes), SimConfig(duration=1.0), 1, record=True)
    pieces = [out.take(slice(lo, hi)) for lo, hi in itertools.pairwise((0, 2, 3, 7))]
    assert_same_outputs(BatchOutputs.concat(pieces), out)
    order = np.array([6, 0, 3])
    assert np.array_equal(out.take(order).fitness, out.fitness[order])


def test_a_backend_without_start_computes_when_its_result_is_asked_for(rng) -> None:
    calls: list[int] = []

    class Plain(CpuBackend):
        def run(self, batch, params, draws, record):
            calls.append(batch.size)
            return super().run(batch, params, draws, record)

    batch = pack_batch(random_genomes(rng, 3))
    cfg = SimConfig(duration=0.5)
    pending = start_run(Plain(), batch, SimParams.of(cfg), pellet_draws(batch, cfg, 4), False)
    assert calls == []  # nothing runs alongside what the caller does next
    assert_same_outputs(pending.result(), run_batch(batch, cfg, 4))
    assert calls == [3]


def test_estimated_costs_grow_with_what_a_creature_simulates_and_count_its_fixed_part(rng) -> None:
    genomes = random_genomes(rng, 40)
    batch = pack_batch(genomes)
    steps = substeps(batch, SimParams.of(SimConfig()).min_substeps)
    costs = estimated_costs(batch, steps)
    assert costs.dtype == np.int64
    assert (costs > 0).all()
    more_steps = estimated_costs(batch, steps + 1)
    assert (more_steps > costs).all()
    # the cheapest creature is not free: its rollout has a fixed part (sensing, pellets, recording) that
    # made a two-node creature about a fifth of an eight-node one on the kernel, not a thirtieth
    assert costs.min() > costs.max() / 10


def test_an_unknown_or_unusable_backend_is_one_clear_error() -> None:
    with pytest.raises(BackendUnavailable, match="expected one of auto, cpu, cuda, torch"):
        make_backend("opencl")


def assert_same_outputs(a: BatchOutputs, b: BatchOutputs) -> None:
    """Bitwise-equal outputs, frames compared over the nodes both hold (batches pad to their widest body)."""
    for name in ("fitness", "pellets", "dq", "distance", "net_displacement", "terms", "pellet_pos", "pellet_spawn",
                 "pellet_collect", "pellet_init", "n_spawned", "substeps", "fitness_over_time"):  # fmt: skip
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    width = min(a.frames.shape[2], b.frames.shape[2])
    assert np.array_equal(a.frames[:, :, :width], b.frames[:, :, :width])
    assert not a.frames[:, :, width:].any()
    assert not b.frames[:, :, width:].any()
