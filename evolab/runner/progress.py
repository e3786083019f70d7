"""What a run's benchmark says about its progress: the score early against late, and the champion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from evolab.storage.records import GenerationStats, RunInfo


@dataclass(frozen=True, slots=True)
class BenchmarkProgress:
    """How a run's held-out benchmark score changed, and its champion.

    Attributes:
        scored: generations scored on the benchmark.
        window: generations in each of the first and last tenths compared (at least one).
        first_pellets, last_pellets: mean benchmark pellets over the first and the last tenth of the
            scored generations.
        first_fitness, last_fitness: the same for the benchmark fitness.
        champion_id, champion_generation: the run's champion (its best creature on the benchmark).
        champion_fitness, champion_pellets: the champion's mean fitness and pellets on the benchmark.
    """

    scored: int
    window: int
    first_pellets: float
    last_pellets: float
    first_fitness: float
    last_fitness: float
    champion_id: str | None
    champion_generation: int | None
    champion_fitness: float | None
    champion_pellets: float | None

    @property
    def pellets_ratio(self) -> float | None:
        """last / first tenth's pellets; None when the first tenth collected none."""
        return self.last_pellets / self.first_pellets if self.first_pellets > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, with `pellets_ratio`: the shape `evolab stats --json` and the API share."""
        return {**asdict(self), "pellets_ratio": self.pellets_ratio}


def benchmark_progress(history: Sequence[GenerationStats], info: RunInfo) -> BenchmarkProgress | None:
    """The benchmark's first and last tenth of a run and its champion; None when no generation was scored."""
    scored = [s for s in history if s.benchmark_fitness is not None and s.benchmark_pellets is not None]
    if not scored:
        return None
    window = max(1, len(scored) // 10)
    first, last = scored[:window], scored[-window:]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    champion = info.best_by_benchmark
    return BenchmarkProgress(
        scored=len(scored),
        window=window,
        first_pellets=mean([s.benchmark_pellets for s in first]),  # type: ignore[misc]
        last_pellets=mean([s.benchmark_pellets for s in last]),  # type: ignore[misc]
        first_fitness=mean([s.benchmark_fitness for s in first]),  # type: ignore[misc]
        last_fitness=mean([s.benchmark_fitness for s in last]),  # type: ignore[misc]
        champion_id=info.best_creature_id if champion else None,
        champion_generation=info.best_generation if champion else None,
        champion_fitness=info.best_fitness if champion else None,
        champion_pellets=info.best_pellets if champion else None,
    )
