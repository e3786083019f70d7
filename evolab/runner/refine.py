"""Refine a creature by gradient ascent through the differentiable torch physics.

Each step takes the gradient of a smooth stand-in for fitness (`evolab.physics.gradients`: progress toward
the active pellet, or displacement) over a few training layouts, then searches along it: candidates a few
step sizes apart are simulated with the CPU kernel on the selection layouts, and the best is taken when its
fitness (pellets, the real thing) beats the current genome's there. The smooth objective only points the
way; what is kept is judged on real fitness, so a chaotic gradient costs a step, never a worse genome.
The step size follows what worked (the accepted size, a quarter of it after a step that found nothing).

Selection layouts come from the refinement's own seed (`training_seed`), apart from the run's held-out
benchmark: the benchmark scores the original and the result afterwards and never chooses between
candidates, so the before/after it reports is a held-out measurement, which may go either way.

Genes move in coordinates normalised by their ranges (so one step size fits stiffness in the hundreds and
phases in radians); every candidate is projected back into `muscle_bounds` (phases wrap), its bias vectors
renormalised, and everything snapped with `snap_genes`, so every candidate is a valid, storable genome.
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
from evolab.physics.gradients import Gradients, Objective, objective_and_gradient
from evolab.runner.benchmark import benchmark_sim, score_on_layouts
from evolab.runner.seeds import benchmark_seed

_TRAINING_STREAM = 0x2EF1
"""Spawn key of the training layouts' seed: a stream neither selection nor the benchmark draws from."""

STEP_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
"""The line search's candidates, as multiples of the current step size."""

SELECTION_LAYOUTS = 64
"""Layouts candidates are chosen on by default: a step's gain on a few layouts is mostly luck (measured:
with 16, steps that gained 25 on them lost 61 on unseen ones), and simulating more costs little."""

MIN_STEP = 1e-5
"""The search stops once the step size (RMS change per normalised gene) falls below this."""


@dataclass(frozen=True)
class RefineStep:
    """One gradient step: the smooth objective and the gradient's norm (normalised coordinates) at the
    current genome, the step sizes tried, and the selection fitness of the best candidate."""

    step: int
    objective: float
    grad_norm: float
    valid: bool
    step_size: float = 0.0
    candidate_fitness: float | None = None
    accepted: bool = False


@dataclass(frozen=True)
class RefineResult:
    """The outcome of `refine`.

    Attributes:
        genome: the best genome on the selection layouts: a new genome (new id, parent = the original)
            when a step was accepted, else the original itself.
        improved: whether a step was accepted (the result beats the original on the selection layouts).
        selection_before, selection_after: mean fitness on the selection layouts (after >= before).
        selection_seed, selection_layouts: the layouts candidates were chosen on.
        before_fitness, before_pellets, after_fitness, after_pellets: the original's and the result's
            means on the held-out benchmark (NaN when it was not scored: `held_out=False`).
        accepted: how many steps were accepted.
        history: every gradient step.
        benchmark_seed, layouts: the held-out benchmark.
    """

    genome: Genome
    improved: bool
    selection_before: float
    selection_after: float
    selection_seed: int
    selection_layouts: int
    before_fitness: float
    before_pellets: float
    after_fitness: float
    after_pellets: float
    accepted: int
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


def normalised_gradient(grads: Gradients, i: int, cfg: EvolutionConfig, neural: bool) -> np.ndarray:
    """Creature `i`'s gradient in the coordinates `moved` steps in: muscle genes scaled by their ranges
    (d f / d z = d f / d x * span), then its network weights when `neural`."""
    lo, hi = muscle_bounds(cfg.constraints)
    return np.concatenate([(grads.muscle[i] * (hi - lo)).reshape(-1), grads.weights[i] if neural else []])


def moved(genome: Genome, direction: np.ndarray, size: float, cfg: EvolutionConfig, neural: bool) -> Genome:
    """`genome` moved along the unit `direction` (`normalised_gradient`'s coordinates) by an RMS change of
    `size` per gene (a fraction of each muscle gene's range; network weights: absolute), made valid."""
    lo, hi = muscle_bounds(cfg.constraints)
    delta = direction * (size * np.sqrt(direction.size))
    n_m = genome.muscle_params.size
    muscles = genome.muscle_params + delta[:n_m].reshape(genome.muscle_params.shape) * (hi - lo)
    weights = genome.neural.weights + delta[n_m:] if neural and genome.neural is not None else None
    return _project(genome, muscles, weights, cfg)


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected a positive integer (got {value!r})")


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
    run_seed: int | None = None,
    layouts: int | None = None,
    select_seed: int | None = None,
    held_out: bool = True,
    backend: Backend | None = None,
) -> RefineResult:
    """Improve `genome` by gradient-guided search; keep the best candidate on the selection layouts.

    Args:
        genome: the creature (valid under `cfg.constraints`).
        cfg: the run's settings: constraints, simulation, benchmark layouts.
        seed: seeds the training and selection layouts (`training_seed`) and the new genome's id.
        steps: gradient steps.
        learning_rate: the first step size: the RMS change per gene, as a fraction of each gene's range
            (network weights: absolute).
        window: truncation length: gradients run back through at most this many control steps.
        horizon: control steps of each gradient rollout (default: the run's `cfg.sim.n_steps`).
        trials: layouts the gradient averages over.
        objective: "progress" or "displacement".
        run_seed: the run's seed, whose held-out benchmark scores the result (default: `seed`).
        layouts: selection layouts (default: `SELECTION_LAYOUTS`).
        select_seed: choose on the `layouts` shared layouts of this seed instead of the training ones (a
            run refining its elites chooses on the layouts they are evaluated on next).
        held_out: score the original and the result on the held-out benchmark afterwards.
        backend: what simulates the candidates (default: the CPU kernel).

    Raises:
        ConfigError: a bad step count, rate, window, horizon, trial or layout count.
        GenomeError: the genome breaks `cfg.constraints`.
    """
    for name, value in (("steps", steps), ("window", window), ("trials", trials)):
        _check_positive(name, value)
    if not (learning_rate > 0 and np.isfinite(learning_rate)):
        raise ConfigError(f"learning_rate: expected a positive number (got {learning_rate!r})")
    horizon = cfg.sim.n_steps if horizon is None else horizon
    _check_positive("horizon", horizon)
    layouts = SELECTION_LAYOUTS if layouts is None else layouts
    _check_positive("layouts", layouts)
    validate_genome(genome, cfg.constraints)
    sim = benchmark_sim(cfg.sim)  # shared layouts: the objective does not depend on the id
    train_seed = training_seed(seed)
    chosen_on = train_seed if select_seed is None else select_seed
    bench_seed = benchmark_seed(seed if run_seed is None else run_seed)
    neural = genome.neural is not None and sim.neural_mode != "off"

    def on_selection(candidates: list[Genome]) -> np.ndarray:
        return score_on_layouts(candidates, sim, chosen_on, layouts, backend=backend)[0]

    current = genome
    current_fitness = before_selection = float(on_selection([genome])[0])
    size = float(learning_rate)
    history: list[RefineStep] = []
    grads = None
    for step in range(1, steps + 1):
        if grads is None:  # the gradient at the current genome (unchanged after a step that found nothing)
            grads = objective_and_gradient(
                [current], sim, train_seed, window=horizon, truncation=window, objective=objective, trials=trials
            )
            flat = normalised_gradient(grads, 0, cfg, neural)
            norm = float(np.linalg.norm(flat))
        valid = bool(grads.valid[0]) and np.isfinite(norm) and norm > 0
        if not valid:  # a diverging window or a flat objective: nothing to follow
            history.append(RefineStep(step, float(grads.objective[0]), norm, False))
            break
        sizes = [size * f for f in STEP_FACTORS]
        candidates = [moved(current, flat / norm, s, cfg, neural) for s in sizes]
        fitness = on_selection(candidates)
        best = int(np.argmax(fitness))  # the first of equals: the smaller step
        accepted = bool(fitness[best] > current_fitness)
        tried = RefineStep(step, float(grads.objective[0]), norm, True, sizes[best], float(fitness[best]), accepted)
        history.append(tried)
        if accepted:
            current, current_fitness, size, grads = candidates[best], float(fitness[best]), sizes[best], None
        else:
            size /= 4.0
            if size < MIN_STEP:
                break

    accepted_steps = sum(h.accepted for h in history)
    result = genome
    if accepted_steps:
        rng = np.random.default_rng([seed, _TRAINING_STREAM, 1])
        result = current.replace(
            id=new_creature_id(rng, genome.generation + 1),
            generation=genome.generation + 1,
            survival_streak=0,
            parent_ids=(genome.id,),
        )
        validate_genome(result, cfg.constraints)
    nan = float("nan")
    before, after = (nan, nan), (nan, nan)  # (fitness, pellets) on the benchmark
    if held_out:  # the unchanged original is scored once
        scored = [genome, result] if result is not genome else [genome]
        fitness, pellets = score_on_layouts(scored, sim, bench_seed, cfg.benchmark.layouts, backend=backend)
        before, after = (float(fitness[0]), float(pellets[0])), (float(fitness[-1]), float(pellets[-1]))
    return RefineResult(
        genome=result,
        improved=accepted_steps > 0,
        selection_before=before_selection,
        selection_after=current_fitness,
        selection_seed=chosen_on,
        selection_layouts=layouts,
        before_fitness=before[0],
        before_pellets=before[1],
        after_fitness=after[0],
        after_pellets=after[1],
        accepted=accepted_steps,
        benchmark_seed=bench_seed,
        layouts=cfg.benchmark.layouts,
        history=history,
    )
