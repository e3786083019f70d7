"""Seeds derived from a run's one seed, so every generation can be re-evaluated exactly (DESIGN §6)."""

from __future__ import annotations

import numpy as np


def generation_seed(run_seed: int, generation: int) -> int:
    """The simulation (pellet) seed of one generation: a function of (run seed, generation) only."""
    return int(np.random.SeedSequence([run_seed, generation, 0x5EED]).generate_state(1, np.uint64)[0] >> 1)


def frame_policy_rng(run_seed: int, generation: int) -> np.random.Generator:
    """The generator that picks a generation's "random" replays; separate from the GA's stream."""
    return np.random.default_rng([run_seed, generation, 0xF4A3E])


def fresh_run_seed() -> int:
    """A new run seed from the operating system's entropy (used when none is given).

    53 bits: every JSON reader holds it exactly (JavaScript numbers are doubles), so the browser shows and
    sends back the real seed."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 11)


def benchmark_seed(run_seed: int) -> int:
    """The seed of a run's held-out benchmark layouts: a function of the run seed alone, from a stream
    that no generation's selection seed (`generation_seed`) shares."""
    # a spawn key no selection seed has: no generation number can make the two streams meet
    return int(np.random.SeedSequence(run_seed, spawn_key=(0xBE4C,)).generate_state(1, np.uint64)[0] >> 1)
