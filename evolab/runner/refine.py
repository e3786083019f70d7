"""Refine a creature by gradient ascent through the differentiable torch physics, judged on the benchmark.

The gradient follows a smooth stand-in for fitness (`evolab.physics.gradients`: progress toward the
active pellet, or displacement) over training pellet layouts drawn from the refinement's own seed; the
held-out benchmark (the run's benchmark seed and layouts, CPU kernel) is never optimised on, only used
to judge the candidates. The original is a candidate too, so the result is never worse on the benchmark.

Genes move in coordinates normalised by their ranges (so one learning rate fits stiffness in the
hundreds and phases in radians) with Adam and per-step gradient clipping; after every step they are
projected back into `muscle_bounds` (phases wrap), the bias vectors renormalised, and everything snapped
with `snap_genes`, so every candidate is a valid, storable evolab genome.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from evolab.config import EvolutionConfig
from evolab.errors import ConfigError
from evolab.genome.generate import new_creature_id
from evolab.genome.genes import M_DIR, M_PHASE, M_VEL, TWO_PI
from evolab.genome.model import Genome
from evolab.genome.ranges import muscle_bounds, snap_genes
from evolab.genome.validation import validate_genome
from evolab.physics.contract import Backend
from evolab.physics.gradients import Objective, clip_by_norm, objective_and_gradient
from evolab.runner.benchmark import benchmark_sim, score_on_layouts
from evolab.runner.seeds import benchmark_seed

_TRAINING_STREAM = 0x2EF1
"""Spawn key of the training layouts' seed: a stream neither selection nor the benchmark draws from."""


@dataclass(frozen=True)
class RefineStep:
    """One gradient step: the training objective before it, the gradient's norm (normalised
    coordinates, before clipping), and the candidate's benchmark score when it was scored."""

    step: int
    objective: float
    grad_norm: float
    valid: bool
    benchmark_fitness: float | None = None
    benchmark_pellets: float | None = None


@dataclass(frozen=True)
class RefineResult:
    """The outcome of `refine`.

    Attributes:
        genome: the best candidate on the benchmark: a new genome (new id, parent = the original) when it
            beat the original, else the original itself.
        improved: whether a candidate beat the original on the benchmark fitness.
        before_fitness, before_pellets: the original's benchmark means.
        after_fitness, after_pellets: the returned genome's benchmark means (>= before_fitness).
        best_step: the gradient step of the kept candidate (0: the original).
        history: every gradient step.
        benchmark_seed, layouts: the benchmark the candidates were judged on.
    """

    genome: Genome
    improved: bool
    before_fitness: float
    before_pellets: float
    after_fitness: float
    after_pellets: float
    best_step: int
    benchmark_seed: int
    layouts: int
    history: list[RefineStep] = field(default_factory=list)


def training_seed(seed: int) -> int:
    """The seed of the layouts `refine` trains on (derived from its `seed`, apart from the benchmark's)."""
    return int(np.random.SeedSequence(seed, spawn_key=(_TRAINING_STREAM,)).generate_state(1, np.uint64)[0] >> 1)


def _project(genome: Genome, muscles: np.ndarray, weights: np.ndarray | None, cfg: EvolutionConfig) -> Genome:
    """`genome` with these genes, made valid: phases wrapped, ranges clipped, bias vectors unit (or 0),
    every value snapped to a float32 inside its range and under the frequency limit."""
    lo, hi = muscle_bounds(cfg.constraints)
    m = muscles.copy()
    m[:, M_PHASE] = np.mod(m[:, M_PHASE], TWO_PI)
    m = np.clip(m, lo, hi)
    for cols in (M_DIR, M_VEL):
        norm = np.linalg.norm(m[:, cols], axis=1, keepdims=True)
        m[:, cols] = np.where(norm > 1e-12, m[:, cols] / np.maximum(norm, 1e-12), 0.0)
    nodes, m, mult = snap_genes(
        genome.node_params, m, np.array([genome.global_frequency_multiplier]), np.array([len(m)]), cfg.constraints
    )
    changes: dict[str, object] = {"muscle_params": m, "global_frequency_multiplier": float(mult[0])}
    if weights is not None and genome.neural is not None:
        changes["neural"] = dataclasses.replace(genome.neural, weights=weights.astype(np.float32).astype(np.float64))
    return genome.replace(node_params=nodes, **changes)


def refine(
    genome: Genome,
    cfg: EvolutionConfig,
    seed: int,
    *,
    steps: int = 20,
    learning_rate: float = 0.02,
    window: int = 60,
    horizon: int | None = None,
    trials: int = 4,
    objective: Objective = "progress",
    max_norm: float = 1.0,
    score_every: int = 1,
    run_seed: int | None = None,
    layouts: int | None = None,
    judge_seed: int | None = None,
    backend: Backend | None = None,
) -> RefineResult:
    """Improve `genome` by Adam ascent on the smooth objective; keep the best candidate on the benchmark.

    Args:
        genome: the creature (valid under `cfg.constraints`).
        cfg: the run's settings: constraints, simulation, benchmark layouts.
        seed: seeds the training layouts (`training_seed`) and the new genome's id.
        steps: gradient steps.
        learning_rate: Adam's step, as a fraction of each gene's range (network weights: absolute).
        window: truncation length: gradients run back through at most this many control steps.
        horizon: control steps of each training rollout (default: the benchmark's `cfg.sim.n_steps`).
        trials: training layouts averaged per step.
        objective: "progress" or "displacement".
        max_norm: clip each step's gradient (normalised coordinates) to this norm.
        score_every: score a candidate on the benchmark every this many steps (and after the last).
        run_seed: the run's seed, whose benchmark judges (default: `seed`).
        layouts: benchmark layouts (default: `cfg.benchmark.layouts`).
        judge_seed: judge on the `layouts` shared layouts of this seed instead of the run's benchmark (a
            run refining its elites judges on the layouts they are evaluated on next, keeping the benchmark
            held out).
        backend: what scores the benchmark (default: the CPU kernel).

    Raises:
        ConfigError: a bad step count, rate, window, horizon or trial count.
        GenomeError: the genome breaks `cfg.constraints`.
    """
    for name, value in (("steps", steps), ("window", window), ("trials", trials), ("score_every", score_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}: expected a positive integer (got {value!r})")
    if not (learning_rate > 0 and np.isfinite(learning_rate)):
        raise ConfigError(f"learning_rate: expected a positive number (got {learning_rate!r})")
    horizon = cfg.sim.n_steps if horizon is None else horizon
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ConfigError(f"horizon: expected a positive integer (got {horizon!r})")
    validate_genome(genome, cfg.constraints)
    sim = benchmark_sim(cfg.sim)  # shared layouts: the training objective does not depend on the id
    layouts = cfg.benchmark.layouts if layouts is None else layouts
    bench_seed = judge_seed if judge_seed is not None else benchmark_seed(seed if run_seed is None else run_seed)
    train_seed = training_seed(seed)
    neural = genome.neural is not None and sim.neural_mode != "off"

    lo, hi = muscle_bounds(cfg.constraints)
    span = hi - lo  # gradient in normalised coordinates: d f / d z = d f / d x * span
    current = genome
    n_m = genome.n_muscles * len(lo)
    adam_m = np.zeros(n_m + (len(genome.neural.weights) if neural and genome.neural else 0))
    adam_v = np.zeros_like(adam_m)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    history: list[RefineStep] = []
    candidates: list[tuple[int, Genome]] = []
    for step in range(1, steps + 1):
        grads = objective_and_gradient(
            [current], sim, train_seed, window=horizon, truncation=window, objective=objective, trials=trials
        )
        g_m = grads.muscle[0] * span
        g_w = grads.weights[0] if neural else None
        flat = np.concatenate([g_m.reshape(-1), g_w if g_w is not None else np.zeros(0)])
        flat, norm = clip_by_norm(flat, max_norm)
        valid = bool(grads.valid[0]) and bool(np.isfinite(norm))
        history.append(RefineStep(step, float(grads.objective[0]), norm, valid))
        if not valid:  # a diverging window: no step from it (and no later ones: they would repeat it)
            break
        adam_m = beta1 * adam_m + (1 - beta1) * flat
        adam_v = beta2 * adam_v + (1 - beta2) * flat * flat
        update = learning_rate * (adam_m / (1 - beta1**step)) / (np.sqrt(adam_v / (1 - beta2**step)) + eps)
        muscles = current.muscle_params + update[:n_m].reshape(g_m.shape) * span
        weights = current.neural.weights + update[n_m:] if neural and current.neural is not None else None
        current = _project(current, muscles, weights, cfg)
        if step % score_every == 0 or step == steps:
            candidates.append((step, current))

    scored = [genome] + [c for _, c in candidates]
    fitness, pellets = score_on_layouts(scored, sim, bench_seed, layouts, backend=backend)
    for k, (step, _) in enumerate(candidates):
        i = step - 1
        history[i] = dataclasses.replace(
            history[i], benchmark_fitness=float(fitness[k + 1]), benchmark_pellets=float(pellets[k + 1])
        )
    best = int(np.argmax(fitness))  # the first of equals: the original wins ties
    improved = best > 0 and fitness[best] > fitness[0]
    result = genome
    best_step = 0
    if improved:
        best_step, chosen = candidates[best - 1]
        rng = np.random.default_rng([seed, _TRAINING_STREAM, 1])
        result = chosen.replace(
            id=new_creature_id(rng, genome.generation + 1),
            generation=genome.generation + 1,
            survival_streak=0,
            parent_ids=(genome.id,),
        )
        validate_genome(result, cfg.constraints)
    else:
        best = 0
    return RefineResult(
        genome=result,
        improved=bool(improved),
        before_fitness=float(fitness[0]),
        before_pellets=float(pellets[0]),
        after_fitness=float(fitness[best]),
        after_pellets=float(pellets[best]),
        best_step=best_step,
        benchmark_seed=bench_seed,
        layouts=layouts,
        history=history,
    )
