"""Where a read's work runs: on the event loop when it is small, on a worker thread when it is not.

Under sixteen concurrent clients the hot reads (the run list, a generation's cards, a replay) cost twice
their own work when each ran on a thread of the pool: every request's hand-offs, and the threads taking
the GIL from each other at every SQLite call (`evolab bench --api`: 1.6 ms against 3.3 ms of server CPU
a request, p95 of the cards 0.13 s against 0.31 s). Run to completion on the loop, a small read is
answered in the time its work takes. A large one (a generation of thousands of creatures, a replay of
minutes) would hold every other request and WebSocket message that long, so it goes to a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from evolab.config import EvolutionConfig

T = TypeVar("T")

INLINE_CREATURES = 500
"""The largest population whose generation is rendered on the loop (about 30 ms of work)."""
INLINE_SECONDS = 60.0
"""The longest simulated time whose replay is decoded or re-simulated on the loop (900 frames)."""


def small_generation(config: EvolutionConfig) -> bool:
    """Whether a generation of this run is small enough to render on the event loop."""
    return config.population_size <= INLINE_CREATURES


def small_replay(config: EvolutionConfig) -> bool:
    """Whether a replay of this run is small enough to read or re-simulate on the event loop."""
    return config.sim.duration <= INLINE_SECONDS


async def run_read(work: Callable[..., T], *args: object, small: bool) -> T:
    """`work(*args)`: here, on the event loop, when `small`; on a worker thread otherwise."""
    if small:
        return work(*args)
    return await run_in_threadpool(work, *args)
