"""A backend for tests that need to watch or rig what a run's physics returns: the CPU kernel, with the
test's hooks around every call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import BatchOutputs, PelletDraws, SimParams
from evolab.physics.pack import PackedBatch

if TYPE_CHECKING:
    from evolab.runner import Run

Hook = Callable[[PackedBatch, BatchOutputs], None]


@dataclass
class HookedBackend:
    """The CPU backend; `before(batch)` runs before each call (it may raise, as a failing backend would),
    `after(batch, outputs)` after it (it may change the outputs in place). `calls` lists each call's
    batch size and whether it recorded. A hook that needs the genomes behind a batch reads them from the
    run `watch` names (`watched.population` is the generation being evaluated)."""

    before: Callable[[PackedBatch], None] | None = None
    after: Hook | None = None
    calls: list[tuple[int, bool]] = field(default_factory=list)
    name: str = "cpu"
    watched: Run | None = None

    def watch(self, run: Run) -> Run:
        self.watched = run
        return run

    def describe(self) -> str:
        return "cpu, hooked by a test"

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        self.calls.append((batch.size, record))
        if self.before is not None:
            self.before(batch)
        out = CpuBackend().run(batch, params, draws, record)
        if self.after is not None:
            self.after(batch, out)
        return out
