"""Gradients through the torch physics agree with finite differences, leave the forward values alone,
clip, and report windows that diverge."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("torch")

import torch

from evolab import SimConfig
from evolab.errors import ConfigError
from evolab.genome.generate import random_genome
from evolab.genome.genes import M_FREQUENCY, M_REST
from evolab.genome.model import Genome
from evolab.physics import torch_physics
from evolab.physics.contract import SimParams, pellet_draws, substeps
from evolab.physics.gradients import objective_and_gradient, objective_value
from evolab.physics.pack import pack_batch

RTOL = 1e-4
"""Measured over windows of 30-90 control steps (float64, central differences with a relative step of
1e-6): 1e-10 to 3e-6. The error grows with the window (contacts make the rollout chaotic)."""
EPS = 1e-6
SEED = 3


@pytest.fixture(scope="module")
def creatures() -> list[Genome]:
    """Two oscillator creatures and a neural one."""
    rng = np.random.default_rng(11)
    return [random_genome(rng), random_genome(rng), random_genome(rng, neural_hidden_size=4)]


def _direction(genome: Genome, rng: np.random.Generator) -> np.ndarray:
    """A random relative perturbation of every muscle gene; frequencies only go down (a random genome
    may sit on the frequency limit, which disqualifies the creature above it)."""
    d = rng.normal(size=genome.muscle_params.shape) * np.abs(genome.muscle_params)
    d[:, M_FREQUENCY] = -np.abs(d[:, M_FREQUENCY])
    return d


def _moved(genome: Genome, muscle: np.ndarray | None = None, weights: np.ndarray | None = None) -> Genome:
    changes: dict[str, object] = {}
    if muscle is not None:
        changes["muscle_params"] = muscle
    if weights is not None:
        assert genome.neural is not None
        changes["neural"] = dataclasses.replace(genome.neural, weights=weights)
    return genome.replace(**changes)


def _assert_close(analytic: float, numeric: float) -> None:
    assert np.isfinite(analytic)
    assert np.isfinite(numeric)
    assert abs(analytic - numeric) <= RTOL * max(abs(numeric), 1e-6), (analytic, numeric)


@pytest.mark.parametrize(("mode", "window"), [("off", 45), ("hybrid", 90)])
def test_gradients_match_central_differences(creatures: list[Genome], mode: str, window: int) -> None:
    sim = SimConfig(neural_mode=mode)
    grads = objective_and_gradient(creatures, sim, SEED, window=window)
    assert grads.valid.all(), grads.reason
    rng = np.random.default_rng(window)
    probes: list[Genome] = []
    expected: list[float] = []
    for i, g in enumerate(creatures):
        d = _direction(g, rng)
        probes += [_moved(g, g.muscle_params + EPS * d), _moved(g, g.muscle_params - EPS * d)]
        expected.append(float(np.sum(grads.muscle[i] * d)))
        if g.neural is not None and mode != "off":
            dw = rng.normal(size=g.neural.weights.shape)
            probes += [_moved(g, weights=g.neural.weights + EPS * dw), _moved(g, weights=g.neural.weights - EPS * dw)]
            gw = grads.weights[i]
            assert gw is not None
            expected.append(float(np.sum(gw * dw)))
    values = objective_value(probes, sim, SEED, window=window)  # one batch: creatures ignore batch-mates
    numeric = (values[0::2] - values[1::2]) / (2 * EPS)
    assert len(numeric) == len(expected) == len(creatures) + (mode != "off")
    for a, n in zip(expected, numeric, strict=True):
        _assert_close(a, n)


def test_displacement_objective_and_single_gene(creatures: list[Genome]) -> None:
    sim = SimConfig()
    g = creatures[0]
    grads = objective_and_gradient([g], sim, SEED, window=60, objective="displacement")
    h = EPS * g.muscle_params[0, M_REST]
    up, down = g.muscle_params.copy(), g.muscle_params.copy()
    up[0, M_REST] += h
    down[0, M_REST] -= h
    values = objective_value([_moved(g, up), _moved(g, down)], sim, SEED, window=60, objective="displacement")
    _assert_close(float(grads.muscle[0][0, M_REST]), float((values[0] - values[1]) / (2 * h)))


def test_forward_with_grad_equals_forward_without(creatures: list[Genome]) -> None:
    sim = SimConfig(neural_mode="hybrid")
    batch = pack_batch(creatures)
    params = dataclasses.replace(SimParams.of(sim), n_steps=40)
    draws = pellet_draws(batch, sim, SEED)
    steps = substeps(batch, params.min_substeps).astype(np.int64)
    order = np.argsort(-steps, kind="stable")
    batch, draws, steps = batch.take(order), draws.take(order), steps[order]
    with torch.no_grad():
        plain = torch_physics.rollout(batch, params, draws, steps, False, "cpu", torch.float64)
    mp = torch.tensor(batch.muscle_params, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(batch.net_weights, dtype=torch.float64, requires_grad=True)
    genes = torch_physics.GeneTensors(mp, w)
    graded = torch_physics.rollout(
        batch, params, draws, steps, False, "cpu", torch.float64, False, genes=genes, truncate=15, track_progress=True
    )
    assert graded.fitness.requires_grad
    for f in dataclasses.fields(torch_physics.Outputs):
        a, b = getattr(plain, f.name), getattr(graded, f.name)
        if a is None or f.name == "progress":
            continue
        assert torch.equal(a, b.detach()), f.name
    # and the objective is the same with or without the tape
    assert np.array_equal(
        objective_and_gradient(creatures, sim, SEED, window=40).objective,
        objective_value(creatures, sim, SEED, window=40),
    )


def test_truncation_changes_gradients_not_values(creatures: list[Genome]) -> None:
    sim = SimConfig()
    full = objective_and_gradient(creatures[:2], sim, SEED, window=60)
    same = objective_and_gradient(creatures[:2], sim, SEED, window=60, truncation=60)
    cut = objective_and_gradient(creatures[:2], sim, SEED, window=60, truncation=20)
    assert np.array_equal(full.objective, cut.objective)
    for a, b in zip(full.muscle, same.muscle, strict=True):
        assert np.array_equal(a, b)
    assert cut.valid.all()
    assert any(not np.allclose(a, b) for a, b in zip(full.muscle, cut.muscle, strict=True))


def test_clipping_bounds_the_norm(creatures: list[Genome]) -> None:
    sim = SimConfig(neural_mode="hybrid")
    free = objective_and_gradient(creatures, sim, SEED, window=45)
    limit = 0.5 * float(free.norm.max())
    clipped = objective_and_gradient(creatures, sim, SEED, window=45, max_norm=limit)
    assert clipped.clipped.any()
    np.testing.assert_array_equal(clipped.norm, free.norm)  # reported before clipping
    for i in range(len(creatures)):
        parts = [clipped.muscle[i].ravel()] + ([clipped.weights[i]] if clipped.weights[i] is not None else [])
        norm = float(np.linalg.norm(np.concatenate(parts)))
        assert norm <= limit * (1 + 1e-12)
        if clipped.clipped[i]:
            np.testing.assert_allclose(clipped.muscle[i], free.muscle[i] * (limit / free.norm[i]), rtol=1e-12)
        else:
            np.testing.assert_array_equal(clipped.muscle[i], free.muscle[i])


def test_diverging_windows_are_reported_not_used(creatures: list[Genome]) -> None:
    sim = SimConfig()
    good = creatures[0]
    too_fast = good.muscle_params.copy()
    too_fast[:, M_FREQUENCY] = 50.0 * sim.max_allowed_frequency
    exploding = good.muscle_params.copy()
    exploding[:, M_REST] = 1e6  # muscles that want to be a million units long throw the body apart
    batch = [good, _moved(good, too_fast), _moved(good, exploding)]
    grads = objective_and_gradient(batch, sim, SEED, window=60)
    solo = objective_and_gradient([good], sim, SEED, window=60)
    assert grads.valid.tolist() == [True, False, False]
    assert grads.reason[0] is None
    assert "frequency_exceeded" in (grads.reason[1] or "")
    assert "explosion" in (grads.reason[2] or "") or "nan" in (grads.reason[2] or "")
    for i in (1, 2):
        assert not grads.muscle[i].any()
        assert grads.norm[i] == 0.0
    np.testing.assert_array_equal(grads.muscle[0], solo.muscle[0])  # its batch-mates' failure leaks nothing
    assert np.isnan(objective_value(batch, sim, SEED, window=60)[1:]).all()


def test_bad_arguments_are_refused(creatures: list[Genome]) -> None:
    with pytest.raises(ConfigError, match="window"):
        objective_and_gradient(creatures[:1], SimConfig(), SEED, window=0)
    with pytest.raises(ConfigError, match="objective"):
        objective_and_gradient(creatures[:1], SimConfig(), SEED, window=5, objective="speed")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_norm"):
        objective_and_gradient(creatures[:1], SimConfig(), SEED, window=5, max_norm=0.0)
