"""Store: genomes and results come back exactly as stored, and several stores share one file (original
storage-integration "Data integrity" and "Concurrency")."""

from __future__ import annotations

import dataclasses
import functools
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from evolab import EvolutionConfig
from evolab.errors import CreatureNotFound
from evolab.genome import random_genome
from evolab.runner import Run
from evolab.storage import Store

from .builders import HandRun, RecordingBackend


@pytest.mark.parametrize("preset", ["quick", "neural-hybrid", "neural-pure"])
def test_stored_genomes_equal_the_genomes_evaluated(store: Store, preset: str) -> None:
    # original: node ids and count, muscle count, parentIds, lineage generation, neural network
    config = EvolutionConfig.from_preset(preset, population_size=10, elite_count=2, sim={"duration": 0.5})
    evaluator = RecordingBackend()
    run = evaluator.watch(Run.create(config, store, seed=8, backend=evaluator))
    run.advance(3)
    for genomes, _ in evaluator.generations:
        stored = store.genomes(run.id, [g.id for g in genomes])
        for evaluated, kept in zip(genomes, stored, strict=True):
            # a genome is stored once, at birth; survivors come back with the streak they were born with
            assert kept == evaluated.replace(survival_streak=kept.survival_streak)
            assert (kept.neural is not None) == (config.sim.neural_mode != "off")
    assert any(len(g.parent_ids) == 2 for genomes, _ in evaluator.generations for g in genomes)


def test_a_genome_batch_holds_the_genomes_asked_for_in_their_order(store: Store, quick_config: EvolutionConfig) -> None:
    run = Run.create(quick_config.replace(population_size=8, elite_count=3), store, seed=4)
    run.advance(4)
    # creatures born in different generations (elites), one asked twice
    ids = [r.creature_id for g in (3, 0, 2) for r in store.results(run.id, g)[:3]]
    ids.append(ids[1])
    batch = store.genome_batch(run.id, ids)
    assert batch.ids == tuple(ids)
    assert list(batch) == store.genomes(run.id, ids)
    assert len(store.genome_batch(run.id, [])) == 0
    with pytest.raises(CreatureNotFound):
        store.genome_batch(run.id, [ids[0], "cr_nobody"])


def test_a_generations_creatures_are_its_results_with_their_genomes_and_births(
    store: Store, quick_config: EvolutionConfig
) -> None:
    run = Run.create(quick_config.replace(population_size=8, elite_count=3), store, seed=5)
    run.advance(3)
    read = store.generation_creatures(run.id, 2)
    ids = [r.creature_id for r in read.results]
    assert read.results == store.results(run.id, 2)
    assert list(read.genomes) == store.genomes(run.id, ids)
    infos = store.creatures(run.id, ids)
    assert read.born == [infos[c].born for c in ids]
    assert set(read.born) != {2}  # elites born earlier come with the genomes of their own batch
    empty = store.generation_creatures(run.id, 7)
    assert (empty.results, len(empty.genomes), empty.born) == ([], 0, [])


def test_lineage_fields_are_kept(store: Store, rng: np.random.Generator) -> None:
    # original: "parentIds" and "generation 42"
    genomes = [
        random_genome(rng).replace(id="cr_child", generation=42, survival_streak=8, parent_ids=("cr_a", "cr_b")),
        random_genome(rng, neural_hidden_size=5).replace(id="cr_clone", generation=7, parent_ids=("cr_a",)),
        random_genome(rng).replace(id="cr_random"),
    ]
    run = store.create_run(EvolutionConfig(population_size=3, elite_count=0), seed=1)
    store.store_population(run.id, 0, genomes, {})
    assert store.genomes(run.id, ["cr_random", "cr_child", "cr_clone"]) == [genomes[2], genomes[0], genomes[1]]
    info = store.creature(run.id, "cr_child")
    assert (info.born, info.parent_ids, info.lineage_generation) == (0, ("cr_a", "cr_b"), 42)
    assert (info.n_nodes, info.n_muscles) == (genomes[0].n_nodes, genomes[0].n_muscles)
    assert store.creature(run.id, "cr_clone").parent_ids == ("cr_a",)
    assert store.creature(run.id, "cr_random").parent_ids == ()


def test_a_genome_is_stored_once_however_many_generations_it_survives(store: Store, rng: np.random.Generator) -> None:
    run = HandRun(store, rng, size=3)
    survivor = run.population[0]
    run.save([3.0, 2.0, 1.0], next_population=[survivor.replace(survival_streak=1), *run.population[1:]])
    run.save([3.0, 2.0, 1.0], next_population=[survivor.replace(survival_streak=2), *run.population[1:]])
    assert [r.survival_streak for r in store.creature_results(run.id, survivor.id)] == [0, 1]
    assert store.genome(run.id, survivor.id) == survivor
    assert store.checkpoint(run.id).population[0] == survivor.replace(survival_streak=2)


def test_disqualification_reasons_are_kept(store: Store, rng: np.random.Generator) -> None:
    # original: "disqualified reason"
    run = HandRun(store, rng, size=3)
    run.save([0.0, 5.0, 0.0], disqualified=["frequency_exceeded", None, "physics_explosion"])
    reasons = {r.creature_id: r.disqualified for r in store.results(run.id, 0)}
    first, second, third = (g.id for g in store.checkpoint(run.id, 0).population)
    assert reasons == {first: "frequency_exceeded", second: None, third: "physics_explosion"}


def test_reads_are_frozen_snapshots(store: Store, evolved: Run) -> None:
    info = store.get_run(evolved.id)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "changed"  # type: ignore[misc]
    result = store.results(evolved.id, 0)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.fitness = 0.0  # type: ignore[misc]
    assert not store.genome(evolved.id, result.creature_id).node_params.flags.writeable


# -- several writers -------------------------------------------------------------------------------


def test_several_stores_on_one_file_can_interleave_writes(db_path: Path, quick_config: EvolutionConfig) -> None:
    stores = [Store(db_path) for _ in range(3)]
    try:
        runs = [Run.create(quick_config, s, seed=i) for i, s in enumerate(stores)]
        for _ in range(3):
            for run in runs:
                run.advance(1)
        with Store(db_path) as reader:
            assert sorted(r.id for r in reader.list_runs()) == sorted(run.id for run in runs)
            for run in runs:
                assert reader.get_run(run.id).generation_count == 3
                assert reader.generation_stats(run.id) == run.history()
                assert len(reader.results(run.id, 2)) == quick_config.population_size
    finally:
        for s in stores:
            s.close()


def test_five_saves_in_a_row_are_all_loadable(store: Store, rng: np.random.Generator) -> None:
    # original: "five parallel saves all loadable"
    run = HandRun(store, rng, size=4)
    records = [run.save(rng.uniform(0, 100, 4).tolist()) for _ in range(5)]
    assert store.get_run(run.id).generation_count == 5
    for generation, record in enumerate(records):
        assert tuple(store.results(run.id, generation)) == record.results
        assert store.generation(run.id, generation) == record.stats


def test_five_stores_saving_at_once_all_finish(db_path: Path, rng: np.random.Generator) -> None:
    seeds = rng.integers(0, 2**32, size=5)

    def write_one_run(seed: int) -> str:
        with Store(db_path, timeout=30.0) as own:
            run = HandRun(own, np.random.default_rng(seed), size=4)
            for _ in range(5):
                run.save([4.0, 3.0, 2.0, 1.0])
            return run.id

    with ThreadPoolExecutor(max_workers=5) as pool:
        ids = list(pool.map(write_one_run, seeds.tolist()))
    with Store(db_path) as reader:
        for run_id in ids:
            assert reader.get_run(run_id).generation_count == 5
            assert all(len(reader.results(run_id, g)) == 4 for g in range(5))


def test_stores_opening_a_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    # each opener switches the new file to WAL; SQLite refuses a concurrent switch without waiting
    for attempt in range(60):
        path = tmp_path / f"new-{attempt}.db"
        with ThreadPoolExecutor(max_workers=5) as pool:
            stores = list(pool.map(functools.partial(Store, timeout=30.0), [path] * 5))
        for s in stores:
            s.close()


def test_a_run_advanced_by_another_store_can_be_continued(db_path: Path, quick_config: EvolutionConfig) -> None:
    with Store(db_path) as mine, Store(db_path) as theirs:
        run = Run.create(quick_config, mine, seed=1)
        run.advance(2)
        Run.resume(run.id, theirs).advance(2)
        Run.resume(run.id, mine).advance(1)
        assert mine.get_run(run.id).generation_count == 5


# -- threads sharing one store ---------------------------------------------------------------------

_SHARED_STORE_READERS = """
import sys, threading, time
from evolab.storage import Store

store = Store(sys.argv[1])
run = store.list_runs()[0]
last = run.generation_count - 1
ids = [r.creature_id for r in store.results(run.id, last)]
finished = []

def read_for_a_while():
    stop = time.monotonic() + 2.0
    while time.monotonic() < stop:
        store.creatures(run.id, ids)  # queries that call creature_id() back in Python, row by row
        store.results(run.id, last)
        store.genomes(run.id, ids)
        store.find_run(run.id)
    finished.append(True)

threads = [threading.Thread(target=read_for_a_while) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(len(finished))
"""


def test_threads_sharing_one_store_all_get_their_answers(evolved: Run, db_path: Path) -> None:
    """The web server's request threads may end up on one Store. Its queries call back into Python for
    creature ids, so unguarded sharing deadlocks the whole interpreter (the GIL held by a thread waiting
    for SQLite's connection mutex): the readers run in a child process that must finish in time."""
    done = subprocess.run(
        [sys.executable, "-c", _SHARED_STORE_READERS, str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4"
