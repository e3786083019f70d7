"""Human-readable creature names and origin labels (reference §5.7)."""

from __future__ import annotations

import math

from evolab.genome.model import Genome

_HUE_LETTERS = "ROYGBVPMCSTAWDELFHIJKNQUXZ"
_STRUCTURE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def creature_name(genome: Genome) -> str:
    """Hue letter, structure letter and a number from the id, e.g. "RB42", with "★k" for a streak."""
    return name_of(genome.id, genome.color.h, genome.n_nodes, genome.n_muscles, genome.survival_streak)


def name_of(creature_id: str, hue: float, n_nodes: int, n_muscles: int, survival_streak: int) -> str:
    """`creature_name` from the fields it reads (for callers holding columns, not `Genome`s)."""
    letter = _HUE_LETTERS[math.floor(hue * 26) % 26]
    structure = _STRUCTURE_LETTERS[(3 * n_nodes + n_muscles) % 24]
    tail = creature_id.rsplit("_", 1)[-1]
    base = 16 if creature_id.startswith("cr_") else 10  # evolab ids end in hex; the original's in decimal
    try:
        number = int(tail, base) % 1000
    except ValueError:
        number = sum(tail.encode()) % 1000
    name = f"{letter}{structure}{number}"
    return f"{name}★{survival_streak}" if survival_streak > 0 else name


ORIGIN_LABELS = ("Original", "Mutant", "Crossover (2 parents)")
"""A creature's origin by its number of parents (0, 1, 2)."""


def origin_label(genome: Genome) -> str:
    """ "Original" (no parents), "Mutant" (one) or "Crossover (2 parents)"."""
    return ORIGIN_LABELS[min(len(genome.parent_ids), 2)]
