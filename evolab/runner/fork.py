"""Forking: a new run that shares a run's history up to a generation and then goes its own way."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evolab.genetics import evolve_step
from evolab.runner.seeds import fresh_run_seed
from evolab.storage import RunInfo, Store


def fork_run(
    db: str | Path | Store,
    run_id: str,
    generation: int,
    *,
    name: str | None = None,
    seed: int | None = None,
) -> RunInfo:
    """Copy generations 0..`generation` of a run into a new run whose next population is bred from
    that generation's results with the new run's own seed (the source's constraints are kept).

    Raises:
        StorageError: unknown run, or a generation it has not stored.
    """
    store = db if isinstance(db, Store) else Store(db)
    try:
        source = store.run_with_generation(run_id, generation, "fork")
        results = store.results(run_id, generation)
        checkpoint = store.checkpoint(run_id, generation)
        if checkpoint is not None:
            population = list(checkpoint.population)
        else:  # stored genomes carry their birth streak; the results hold the streak they ran with
            population = [
                g.replace(survival_streak=r.survival_streak)
                for g, r in zip(store.genomes(run_id, [r.creature_id for r in results]), results, strict=True)
            ]
        fitness_by_id = {r.creature_id: r.fitness for r in results}
        seed = fresh_run_seed() if seed is None else seed
        rng = np.random.default_rng(seed)
        fitness = np.array([fitness_by_id[g.id] for g in population])
        next_population = evolve_step(population, fitness, source.config, rng, birth=generation + 1)
        return store.fork_run(
            run_id,
            generation,
            seed=seed,
            next_population=next_population,
            rng_state=rng.bit_generator.state,
            name=name,
        )
    finally:
        if store is not db:
            store.close()
