"""Check a genome against the constraints of its run; every failure names the field and the value."""

from __future__ import annotations

import numpy as np

from evolab.config import GenomeConstraints
from evolab.errors import GenomeError
from evolab.genome.genes import HSL, M_DIR, M_VEL, MUSCLE_FIELDS, N_FRICTION, N_SIZE
from evolab.genome.model import Genome
from evolab.genome.ranges import FRICTION_RANGE, MULTIPLIER_RANGE, muscle_bounds
from evolab.genome.topology import is_connected

_CAMEL = {
    "rest_length": "restLength",
    "bias_strength": "biasStrength",
    "velocity_strength": "velocityStrength",
    "distance_bias": "distanceBias",
    "distance_strength": "distanceStrength",
    "direction_x": "directionBias.x",
    "direction_y": "directionBias.y",
    "direction_z": "directionBias.z",
    "velocity_x": "velocityBias.x",
    "velocity_y": "velocityBias.y",
    "velocity_z": "velocityBias.z",
}


def _outside(where: str, value: float, lo: float, hi: float) -> GenomeError:
    return GenomeError(f"{where}: {value:g} is outside [{lo:g}, {hi:g}]")


def _first_bad(values: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> tuple[int, ...] | None:
    bad = np.argwhere(~((values >= lo) & (values <= hi)))
    return tuple(int(i) for i in bad[0]) if len(bad) else None


def validate_genome(genome: Genome, constraints: GenomeConstraints) -> None:
    """Raise `GenomeError` unless `genome` satisfies `constraints` and is a connected, well-formed body.

    The frequency limit (frequency x multiplier) is not checked here: the simulator disqualifies such
    creatures with `frequency_exceeded`, as the original did.
    """
    c = constraints
    n, m = genome.n_nodes, genome.n_muscles
    if not c.min_nodes <= n <= c.max_nodes:
        raise GenomeError(f"nodes: {n} nodes is outside [{c.min_nodes}, {c.max_nodes}]")
    if not c.min_muscles <= m <= c.max_muscles:
        raise GenomeError(f"muscles: {m} muscles is outside [{c.min_muscles}, {c.max_muscles}]")

    nodes = genome.node_params
    if (bad := _first_bad(nodes[:, N_SIZE], c.min_size, c.max_size)) is not None:
        raise _outside(f"nodes[{bad[0]}].size", nodes[bad[0], N_SIZE], c.min_size, c.max_size)
    if (bad := _first_bad(nodes[:, N_FRICTION], *FRICTION_RANGE)) is not None:
        raise _outside(f"nodes[{bad[0]}].friction", nodes[bad[0], N_FRICTION], *FRICTION_RANGE)
    r = c.spawn_radius
    pos_lo, pos_hi = np.array([-r, 0.0, -r]), np.array([r, 1.5 * r, r])
    if (bad := _first_bad(nodes[:, 2:5], pos_lo, pos_hi)) is not None:
        i, axis = bad
        raise _outside(f"nodes[{i}].position.{'xyz'[axis]}", nodes[i, 2 + axis], pos_lo[axis], pos_hi[axis])

    ends = genome.muscle_nodes
    if m:
        if (bad := _first_bad(ends, 0, n - 1)) is not None:
            raise GenomeError(f"muscles[{bad[0]}]: refers to node {ends[bad]} of {n}")
        if (loops := np.flatnonzero(ends[:, 0] == ends[:, 1])).size:
            raise GenomeError(f"muscles[{loops[0]}]: joins node {ends[loops[0], 0]} to itself")
        pairs = np.sort(ends, axis=1)
        _, first, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
        if (counts > 1).any():
            dup = pairs[first[np.argmax(counts > 1)]]
            raise GenomeError(f"muscles: nodes {dup[0]} and {dup[1]} are joined by more than one muscle")
        lo, hi = muscle_bounds(c)
        params = genome.muscle_params
        if (bad := _first_bad(params, lo, hi)) is not None:
            j, col = bad
            field = _CAMEL.get(MUSCLE_FIELDS[col], MUSCLE_FIELDS[col])
            raise _outside(f"muscles[{j}].{field}", params[j, col], lo[col], hi[col])
        for name, cols in (("directionBias", M_DIR), ("velocityBias", M_VEL)):
            norms = np.linalg.norm(params[:, cols], axis=1)
            bad_norm = np.flatnonzero((np.abs(norms - 1.0) > 1e-5) & (norms > 1e-12))
            if bad_norm.size:
                j = bad_norm[0]
                raise GenomeError(f"muscles[{j}].{name}: must be a unit vector (length {norms[j]:g})")
    if not is_connected(n, ends):
        raise GenomeError("muscles: the body is not connected (every node must be reachable)")

    lo_mult, hi_mult = MULTIPLIER_RANGE
    if _first_bad(np.array([genome.global_frequency_multiplier]), lo_mult, hi_mult) is not None:
        raise _outside("globalFrequencyMultiplier", genome.global_frequency_multiplier, lo_mult, hi_mult)
    _validate_color(genome.color)
    if genome.neural is not None:
        if genome.neural.output_size != m:
            raise GenomeError(f"neuralGenome.topology.outputSize: {genome.neural.output_size} outputs for {m} muscles")
        if not np.isfinite(genome.neural.weights).all():
            raise GenomeError("neuralGenome.weights: must all be finite")


def _validate_color(color: HSL) -> None:
    for key in ("h", "s", "l"):
        value = getattr(color, key)
        if _first_bad(np.array([value]), 0.0, 1.0) is not None:
            raise _outside(f"color.{key}", value, 0.0, 1.0)
