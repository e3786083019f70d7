"""Refine a creature: a line search along the gradient of the differentiable torch physics, each step
kept only when it collects measurably better on layouts nothing else was chosen on.

Each step takes the gradient of a smooth stand-in for fitness (`evolab.physics.gradients`: progress toward
the active pellet, or displacement) over a few training layouts of its own, then searches along the line
it points: candidates a few step sizes apart, both ways (measured, the smooth objective's gradient is no
better a direction for real fitness than its opposite), simulated with the CPU kernel. The best on the
step's selection layouts is then set against the current genome on fresh confirmation layouts, each layout
scored by both (a paired comparison), and kept only when its mean gain there exceeds `CONFIDENCE` standard
errors. So a step is judged where it was not chosen: the best of ten on one set of layouts is mostly luck
(measured: with one fixed set of 64, taken steps gained 11-18 there and lost 8-18 on unseen layouts), and
the fitness is rough at every scale (`benchmarks/refinement.py landscape`).

Every step draws new layouts (training, selection and confirmation: streams of the refinement's `seed`,
apart from the run's layouts), so no set is fitted step after step. Afterwards the original and the result
are measured on `HELD_OUT_LAYOUTS` layouts of the run's seed that neither the run nor the refinement chose
on (not the run's benchmark: it chose the champion, which flatters the champion's score there). A run
refining its elites (`RefinePolicy`) instead chooses and accepts on the layouts they are evaluated on next
(`select_seed`, no confirmation): selection judges them there anyway.

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
from evolab.runner.benchmark import benchmark_sim, scores_by_layout

_TRAINING_STREAM = 0x2EF1
"""Spawn key of the training layouts' seed: a stream neither selection nor the benchmark draws from."""

_SELECTION_STREAM, _CONFIRMATION_STREAM = 0x5E1E, 0xC0F1
"""Spawn keys (under the training seed) of each step's selection and confirmation layouts."""
_HELD_OUT_STREAM = 0x4E1D
"""Spawn key (under the run's seed) of the layouts the result is measured on."""

HELD_OUT_LAYOUTS = 512
"""Layouts the original and the result are measured on afterwards: a standard error of the gain of about
4 fitness for a champion of the quick preset."""

STEP_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
"""The line search's candidates, as multiples of the current step size, each way along the gradient."""

SELECTION_LAYOUTS = 64
"""Layouts a step's candidates are chosen on by default."""

CONFIRMATION_LAYOUTS = 256
"""Fresh layouts the chosen candidate is set against the current genome on by default: a standard error
of about 3 fitness for a champion of the quick preset (per-layout differences spread about 50)."""

CONFIDENCE = 2.0
"""Standard errors of its paired mean gain a candidate must clear on the confirmation layouts."""


@dataclass(frozen=True)
class RefineStep:
    """One gradient step: the smooth objective and the gradient's norm (normalised coordinates) at the
    current genome; the chosen candidate's signed step size (negative: against the gradient) and its mean
    fitness on the step's selection layouts; its paired mean gain over the current genome where it was
    judged (the confirmation layouts, or the selection layouts without confirmation) with that mean's
    standard error; and whether it was taken."""

    step: int
    objective: float
    grad_norm: float
    valid: bool
    step_size: float = 0.0
    candidate_fitness: float | None = None
    gain: float | None = None
    gain_error: float | None = None
    accepted: bool = False


@dataclass(frozen=True)
class RefineResult:
    """The outcome of `refine`.

    Attributes:
        genome: the last genome a step was taken to: a new genome (new id, parent = the original) when a
            step was accepted, else the original itself.
        improved: whether a step was accepted.
        gain: the taken steps' gains summed, each where it was judged (`RefineStep.gain`).
        selection_seed, selection_layouts: whence each step's selection layouts come (`select_seed`, or
            `training_seed`'s selection stream) and how many a step is chosen on.
        confirmation_layouts: fresh layouts a step is judged on (0: judged on its selection layouts).
        before_fitness, before_pellets, after_fitness, after_pellets: the original's and the result's
            means on the held-out layouts (NaN when not measured: `held_out=False`).
        held_out_error: the standard error of the paired fitness gain there (0 for an unchanged result).
        accepted: how many steps were accepted.
        history: every gradient step.
        held_out_seed, held_out_layouts: the layouts the result was measured on (`held_out_seed`).
    """

    genome: Genome
    improved: bool
    gain: float
    selection_seed: int
    selection_layouts: int
    confirmation_layouts: int
    before_fitness: float
    before_pellets: float
    after_fitness: float
    after_pellets: float
    held_out_error: float
    accepted: int
    held_out_seed: int
    held_out_layouts: int
    history: list[RefineStep] = field(default_factory=list)


def held_out_seed(run_seed: int) -> int:
    """The seed of the layouts `refine` measures its result on: a stream of the run's seed apart from its
    benchmark, which chose the champion (its score there is flattered by that choice)."""
    return int(np.random.SeedSequence(run_seed, spawn_key=(_HELD_OUT_STREAM,)).generate_state(1, np.uint64)[0] >> 1)


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


def step_seed(base: int, stream: int, step: int) -> int:
    """The seed of step `step`'s layouts of one kind (`stream`) under `base`: new layouts every step."""
    return int(np.random.SeedSequence(base, spawn_key=(stream, step)).generate_state(1, np.uint64)[0] >> 1)


def refine(
    genome: Genome,
    cfg: EvolutionConfig,
    seed: int,
    *,
    steps: int = 20,
    learning_rate: float = 0.002,
    window: int = 60,
    horizon: int | None = None,
    trials: int = 4,
    objective: Objective = "progress",
    run_seed: int | None = None,
    layouts: int | None = None,
    confirmation_layouts: int | None = None,
    select_seed: int | None = None,
    held_out: bool = True,
    backend: Backend | None = None,
) -> RefineResult:
    """Improve `genome` by a gradient-guided line search; keep a step only where it measurably helps.

    Args:
        genome: the creature (valid under `cfg.constraints`).
        cfg: the run's settings: constraints and simulation.
        seed: seeds every step's training, selection and confirmation layouts (`training_seed`) and the
            new genome's id.
        steps: gradient steps.
        learning_rate: the first step size: the RMS change per gene, as a fraction of each gene's range
            (network weights: absolute); afterwards the size of the last step taken.
        window: truncation length: gradients run back through at most this many control steps.
        horizon: control steps of each gradient rollout (default: the run's `cfg.sim.n_steps`).
        trials: layouts the gradient averages over.
        objective: "progress" or "displacement".
        run_seed: the run's seed, whose `held_out_seed` layouts measure the result (default: `seed`).
        layouts: selection layouts per step (default: `SELECTION_LAYOUTS`).
        confirmation_layouts: fresh layouts per step the chosen candidate must beat the current genome on
            (default: `CONFIRMATION_LAYOUTS`; 0 takes it when it beats it on the selection layouts).
        select_seed: choose and accept on the `layouts` shared layouts of this seed, every step, without
            confirmation (a run refining its elites: the layouts they are evaluated on next).
        held_out: measure the original and the result on `HELD_OUT_LAYOUTS` held-out layouts afterwards.
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
    confirming = CONFIRMATION_LAYOUTS if confirmation_layouts is None else confirmation_layouts
    if isinstance(confirming, bool) or not isinstance(confirming, int) or confirming < 0:
        raise ConfigError(f"confirmation_layouts: expected 0 or a positive integer (got {confirmation_layouts!r})")
    if select_seed is not None:
        confirming = 0
    validate_genome(genome, cfg.constraints)
    sim = benchmark_sim(cfg.sim)  # shared layouts: the objective does not depend on the id
    train_seed = training_seed(seed)
    measured_on = held_out_seed(seed if run_seed is None else run_seed)
    neural = genome.neural is not None and sim.neural_mode != "off"

    def judged(genomes: list[Genome], layout_seed: int, count: int) -> np.ndarray:
        return scores_by_layout(genomes, sim, layout_seed, count, backend=backend)[0]

    current = genome
    size = float(learning_rate)
    history: list[RefineStep] = []
    for step in range(1, steps + 1):
        grads = objective_and_gradient(
            [current], sim, step_seed(train_seed, _TRAINING_STREAM, step), window=horizon, truncation=window,
            objective=objective, trials=trials,
        )  # fmt: skip
        flat = normalised_gradient(grads, 0, cfg, neural)
        norm = float(np.linalg.norm(flat))
        if not (bool(grads.valid[0]) and np.isfinite(norm) and norm > 0):  # a diverging window, a flat objective
            history.append(RefineStep(step, float(grads.objective[0]), norm, False))
            break
        sizes = [sign * size * f for sign in (1.0, -1.0) for f in STEP_FACTORS]
        candidates = [moved(current, flat / norm, s, cfg, neural) for s in sizes]
        chosen_on = select_seed if select_seed is not None else step_seed(train_seed, _SELECTION_STREAM, step)
        fitness = judged([current, *candidates], chosen_on, layouts)
        means = fitness[1:].mean(axis=1)
        best = int(np.argmax(means))  # the first of equals: the smaller step, along the gradient
        if confirming:
            pair = judged([current, candidates[best]], step_seed(train_seed, _CONFIRMATION_STREAM, step), confirming)
            difference = pair[1] - pair[0]
        else:
            difference = fitness[best + 1] - fitness[0]
        gain = float(difference.mean())
        error = float(difference.std(ddof=1) / np.sqrt(difference.size)) if difference.size > 1 else 0.0
        accepted = gain > CONFIDENCE * error if confirming else gain > 0
        value, chosen = float(grads.objective[0]), float(means[best])
        history.append(RefineStep(step, value, norm, True, sizes[best], chosen, gain, error, accepted))
        if accepted:
            current, size = candidates[best], abs(sizes[best])

    taken = [h for h in history if h.accepted]
    result = genome
    if taken:
        rng = np.random.default_rng([seed, _TRAINING_STREAM, 1])
        result = current.replace(
            id=new_creature_id(rng, genome.generation + 1),
            generation=genome.generation + 1,
            survival_streak=0,
            parent_ids=(genome.id,),
        )
        validate_genome(result, cfg.constraints)
    nan = float("nan")
    before, after, error = (nan, nan), (nan, nan), nan  # (fitness, pellets) means on the held-out layouts
    if held_out:  # paired: both on the same layouts, each layout scored by both
        scored = [genome, result] if result is not genome else [genome]
        fitness, pellets = scores_by_layout(scored, sim, measured_on, HELD_OUT_LAYOUTS, backend=backend)
        before, after = (fitness[0].mean(), pellets[0].mean()), (fitness[-1].mean(), pellets[-1].mean())
        error = float((fitness[-1] - fitness[0]).std(ddof=1) / np.sqrt(HELD_OUT_LAYOUTS))
    return RefineResult(
        genome=result,
        improved=bool(taken),
        gain=float(sum(h.gain for h in taken if h.gain is not None)),
        selection_seed=train_seed if select_seed is None else select_seed,
        selection_layouts=layouts,
        confirmation_layouts=confirming,
        before_fitness=float(before[0]),
        before_pellets=float(before[1]),
        after_fitness=float(after[0]),
        after_pellets=float(after[1]),
        held_out_error=error,
        accepted=len(taken),
        held_out_seed=measured_on,
        held_out_layouts=HELD_OUT_LAYOUTS,
        history=history,
    )
