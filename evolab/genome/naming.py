"""Human-readable creature names and origin labels (reference §5.7)."""

from __future__ import annotations

import math

from evolab.genome.model import Genome

_HUE_LETTERS = "ROYGBVPMCSTAWDELFHIJKNQUXZ"
_STRUCTURE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def creature_name(genome: Genome) -> str:
    """Hue letter, structure letter and a number from the id, e.g. "RB42", with "★k" for a streak."""
    hue = _HUE_LETTERS[math.floor(genome.color.h * 26) % 26]
    structure = _STRUCTURE_LETTERS[(3 * genome.n_nodes + genome.n_muscles) % 24]
    tail = genome.id.rsplit("_", 1)[-1]
    base = 16 if genome.id.startswith("cr_") else 10  # evolab ids end in hex; the original's in decimal
    try:
        number = int(tail, base) % 1000
    except ValueError:
        number = sum(tail.encode()) % 1000
    name = f"{hue}{structure}{number}"
    return f"{name}★{genome.survival_streak}" if genome.survival_streak > 0 else name


def origin_label(genome: Genome) -> str:
    """ "Original" (no parents), "Mutant" (one) or "Crossover (2 parents)"."""
    return ("Original", "Mutant", "Crossover (2 parents)")[min(len(genome.parent_ids), 2)]
