"""The original app's genomes as evolab genomes, values unchanged.

Two checks, two outcomes. A genome that breaks the original app's own limits (what its code never made:
a node size outside [0.2, 0.8], a stiffness outside [50, 500], a muscle from a node to itself, ...) is
damaged data and refuses the dump. A genome the app made but evolab's ranges refuse (rest lengths
outside [0.2, 4] from birth, nodes added outside the spawn box, bodies a node removal disconnected;
about 15 % of the app's genomes) is imported as it is, flagged with the first value out of range
(`Genome.out_of_range`): it is shown and replayed from its stored frames, never simulated or bred.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from evolab.config import EvolutionConfig
from evolab.errors import GenomeError
from evolab.genome import Genome, validate_genome
from evolab.genome.genes import (
    M_AMPLITUDE,
    M_BIAS_STRENGTH,
    M_DAMPING,
    M_DIR,
    M_DIST_BIAS,
    M_DIST_STRENGTH,
    M_FREQUENCY,
    M_PHASE,
    M_REST,
    M_STIFFNESS,
    M_VEL,
    M_VEL_STRENGTH,
    N_FRICTION,
    N_SIZE,
)
from evolab.storage.original.dump import DumpError

_DEFAULT_MAX_NODES, _DEFAULT_MAX_MUSCLES, _DEFAULT_MAX_FREQUENCY = 8, 15, 3.0


@dataclass(frozen=True, slots=True)
class OriginalLimits:
    """What the original app's code guarantees of every genome it made (reference §1.3-§1.5, §5.5): its
    birth and mutation ranges together. Counts and frequency take the larger of the run's sliders and the
    app's defaults, since a loaded or forked run bred under the defaults (reference §10.6)."""

    max_nodes: int
    max_muscles: int
    max_frequency: float

    @classmethod
    def of(cls, original_config: dict[str, Any], config: EvolutionConfig) -> OriginalLimits:
        """The limits of a run whose stored configuration mapped to `config`."""
        return cls(
            max(config.constraints.max_nodes, _DEFAULT_MAX_NODES),
            max(config.constraints.max_muscles, _DEFAULT_MAX_MUSCLES),
            max(config.sim.max_allowed_frequency, _DEFAULT_MAX_FREQUENCY),
        )

    def muscle_ranges(self) -> tuple[tuple[int, str, float, float], ...]:
        """(column, field, low, high) of every bounded muscle gene."""
        return (
            (M_STIFFNESS, "stiffness", 50.0, 500.0),
            (M_DAMPING, "damping", 0.05, 0.8),
            (M_FREQUENCY, "frequency", 0.5, self.max_frequency),
            (M_AMPLITUDE, "amplitude", 0.0, 0.4),
            (M_PHASE, "phase", 0.0, 2 * math.pi),
            (M_BIAS_STRENGTH, "biasStrength", 0.0, 1.0),
            (M_VEL_STRENGTH, "velocityStrength", 0.0, 1.0),
            (M_DIST_BIAS, "distanceBias", -1.0, 1.0),
            (M_DIST_STRENGTH, "distanceStrength", 0.0, 1.0),
        )


def _outside(where: str, value: float, lo: float, hi: float) -> DumpError:
    return DumpError(f"{where}: {value:g} is outside the original app's [{lo:g}, {hi:g}]")


def check_original_limits(genome: Genome, limits: OriginalLimits, where: str) -> None:
    """Refuse a genome the original app could not have made.

    Raises:
        DumpError: the first field outside the app's own limits, named under `where`.
    """
    n, m = genome.n_nodes, genome.n_muscles
    if n > limits.max_nodes:
        raise DumpError(f"{where}.nodes: {n} nodes, more than the original app makes ({limits.max_nodes})")
    if m > limits.max_muscles:
        raise DumpError(f"{where}.muscles: {m} muscles, more than the original app makes ({limits.max_muscles})")
    nodes = genome.node_params
    for col, name, lo, hi in ((N_SIZE, "size", 0.2, 0.8), (N_FRICTION, "friction", 0.1, 1.0)):
        bad = np.flatnonzero((nodes[:, col] < lo) | (nodes[:, col] > hi))
        if bad.size:
            raise _outside(f"{where}.nodes[{bad[0]}].{name}", nodes[bad[0], col], lo, hi)
    ends, params = genome.muscle_nodes, genome.muscle_params
    loops = np.flatnonzero(ends[:, 0] == ends[:, 1])
    if loops.size:
        raise DumpError(f"{where}.muscles[{loops[0]}]: joins a node to itself")
    short = np.flatnonzero(params[:, M_REST] <= 0.0)
    if short.size:
        raise DumpError(f"{where}.muscles[{short[0]}].restLength: {params[short[0], M_REST]:g} is not positive")
    for col, name, lo, hi in limits.muscle_ranges():
        bad = np.flatnonzero((params[:, col] < lo) | (params[:, col] > hi))
        if bad.size:
            raise _outside(f"{where}.muscles[{bad[0]}].{name}", params[bad[0], col], lo, hi)
    for name, cols in (("directionBias", M_DIR), ("velocityBias", M_VEL)):
        norms = np.linalg.norm(params[:, cols], axis=1)
        bad = np.flatnonzero(np.abs(norms - 1.0) > 1e-6)
        if bad.size:
            raise DumpError(f"{where}.muscles[{bad[0]}].{name}: not a unit vector (length {norms[bad[0]]:g})")
    if not 0.3 <= genome.global_frequency_multiplier <= 2.0:
        raise _outside(f"{where}.globalFrequencyMultiplier", genome.global_frequency_multiplier, 0.3, 2.0)
    for key in ("h", "s", "l"):
        value = getattr(genome.color, key)
        if not 0.0 <= value <= 1.0:
            raise _outside(f"{where}.color.{key}", value, 0.0, 1.0)


def convert_genome(data: dict[str, Any], config: EvolutionConfig, limits: OriginalLimits, where: str) -> Genome:
    """One stored genome as an evolab `Genome` with the same values, flagged when evolab's ranges
    (`config.constraints`) refuse it.

    Raises:
        DumpError: the genome is malformed or breaks the original app's own limits.
    """
    try:
        genome = Genome.from_dict(data)
    except GenomeError as err:
        raise DumpError(f"{where}.{err}") from None
    check_original_limits(genome, limits, where)
    try:
        validate_genome(genome, config.constraints)
    except GenomeError as err:
        return genome.replace(out_of_range=str(err))
    return genome
