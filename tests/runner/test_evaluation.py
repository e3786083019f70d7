"""How a run evaluates its generations: each one packed, simulated by the run's backend in one call, and
read straight from the backend's outputs (the same run whether the batch is simulated whole or in chunks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import evolab
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import BatchOutputs, FetchedRows
from evolab.physics.pack import pack_batch
from evolab.physics.simulate import run_batch, simulate
from evolab.runner import Run
from evolab.runner.analysis import Evaluation, pellet_events, start_replays
from evolab.storage.replay_block import pellet_dicts
from tests.hooked_backend import HookedBackend
from tests.runner.shared import small_config, stored_run

SEED = 41
GENERATIONS = 4


class ChunkedBackend(CpuBackend):
    """The CPU backend, a batch at a time in chunks of `size` creatures, the outputs put back together:
    what a distributed evaluator does."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def run(self, batch, params, draws, record):
        starts = range(0, batch.size, self.size)
        parts = [
            super(ChunkedBackend, self).run(
                batch.take(slice(s, s + self.size)), params, draws.take(slice(s, s + self.size)), record
            )
            for s in starts
        ]
        return BatchOutputs.concat(parts)  # fmt: skip


@pytest.mark.parametrize("preset", ["quick", "neural-hybrid"])
def test_a_run_evaluated_in_chunks_stores_exactly_the_run_evaluated_whole(tmp_path: Path, preset: str) -> None:
    cfg = small_config(preset)
    with Run.create(cfg, tmp_path / "whole.db", seed=SEED, backend="cpu") as whole:
        whole.advance(GENERATIONS)
        expected = stored_run(whole)
    with Run.create(cfg, tmp_path / "chunked.db", seed=SEED, backend=ChunkedBackend(5)) as chunked:
        chunked.advance(GENERATIONS)
        assert stored_run(chunked) == expected
    assert any(expected[2])  # replays were kept, so their frames were compared too


def test_a_run_calls_the_backend_it_is_given_once_per_generation_and_once_per_benchmark(tmp_path: Path) -> None:
    backend = HookedBackend()
    cfg = small_config()
    with Run.create(cfg, tmp_path / "run.db", seed=SEED, backend=backend) as run:
        run.advance(3)
        assert run.backend is backend
        assert run.info().backend == "cpu"
    # each generation: the whole population on every trial in one call, then those of its top creatures on
    # the benchmark that it has not scored before (elites keep their score)
    sizes = [size for size, _ in backend.calls]
    selection = [s for s in sizes if s == cfg.population_size * cfg.trials]
    benchmark = [s for s in sizes if s != cfg.population_size * cfg.trials]
    assert len(selection) == 3
    assert sizes[:2] == [cfg.population_size * cfg.trials, cfg.benchmark.top * cfg.benchmark.layouts]
    assert all(s <= cfg.benchmark.top * cfg.benchmark.layouts for s in benchmark)


@dataclass
class StartingBackend:
    """The CPU backend as a remote one looks to a run: `start` begins a call and returns at once (here the
    outputs are simply computed then), `scores` and `result` hand them over, `fetch_rows` the recordings
    of some rows. `events` logs what happened, in order."""

    events: list[str] = field(default_factory=list)
    name: str = "cpu"

    def describe(self) -> str:
        return "cpu, started ahead by a test"

    def run(self, batch, params, draws, record):
        return self.start(batch, params, draws, record).result()

    def start(self, batch, params, draws, record):
        self.events.append(f"start {batch.size}")
        return _Started(self, CpuBackend().run(batch, params, draws, record), batch.size)


@dataclass
class _Started:
    backend: StartingBackend
    outputs: BatchOutputs
    size: int

    def result(self) -> BatchOutputs:
        self.backend.events.append(f"result {self.size}")
        return self.outputs

    def scores(self) -> BatchOutputs:
        self.backend.events.append(f"scores {self.size}")
        return self.outputs.without_recordings()

    def fetch_rows(self, rows) -> FetchedRows:
        self.backend.events.append(f"recordings {len(rows)}")
        return FetchedRows(self.outputs.take(rows))

    def cancel(self) -> None:
        self.backend.events.append(f"cancel {self.size}")


def kept_replays(cfg) -> int:
    """How many replays a generation of a run of `cfg` keeps."""
    return min(cfg.population_size, cfg.frames.keep_top + cfg.frames.keep_random + cfg.frames.keep_bottom)


def stored_plain_run(cfg, tmp_path: Path, generations: int) -> tuple:
    """What the same run stores when its backend computes in place (the CPU kernel)."""
    with Run.create(cfg, tmp_path / "plain.db", seed=SEED, backend="cpu") as plain:
        plain.advance(generations)
        return stored_run(plain)


def run_ahead(cfg, tmp_path: Path, generations: int) -> tuple[StartingBackend, tuple]:
    """The run on a `StartingBackend` whose events also log each stored generation; what it stored."""
    backend = StartingBackend()
    with Run.create(cfg, tmp_path / "ahead.db", seed=SEED, backend=backend) as ahead:
        ahead.advance(generations, on_generation=lambda r: backend.events.append(f"stored {r.stats.generation}"))
        return backend, stored_run(ahead)


def test_a_backend_that_computes_elsewhere_evaluates_the_next_generation_while_this_one_is_stored(
    tmp_path: Path,
) -> None:
    cfg = small_config(benchmark={"enabled": False})
    backend, stored = run_ahead(cfg, tmp_path, GENERATIONS)
    assert stored == stored_plain_run(cfg, tmp_path, GENERATIONS)
    size = cfg.population_size * cfg.trials
    kept = kept_replays(cfg)
    # generation g+1 is under way before generation g's kept replays are fetched and it is written, and
    # nothing is begun past the last one
    assert backend.events == [
        f"start {size}",
        f"scores {size}",
        f"start {size}",
        f"recordings {kept}",
        "stored 0",
        f"scores {size}",
        f"start {size}",
        f"recordings {kept}",
        "stored 1",
        f"scores {size}",
        f"start {size}",
        f"recordings {kept}",
        "stored 2",
        f"scores {size}",
        f"recordings {kept}",
        "stored 3",
    ]


def test_the_benchmark_is_scored_while_the_next_generation_is_under_way(tmp_path: Path) -> None:
    cfg = small_config()
    backend, stored = run_ahead(cfg, tmp_path, 2)
    assert stored == stored_plain_run(cfg, tmp_path, 2)
    population, held_out = cfg.population_size * cfg.trials, cfg.benchmark.top * cfg.benchmark.layouts
    assert backend.events[:7] == [
        f"start {population}",
        f"scores {population}",
        f"start {held_out}",  # generation 0's best on the held-out layouts,
        f"start {population}",  # and generation 1,
        f"recordings {kept_replays(cfg)}",  # and its kept replays, before any is waited for
        f"result {held_out}",
        "stored 0",
    ]


def test_a_run_stopped_between_generations_gives_up_the_evaluation_it_began_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    cfg = small_config(benchmark={"enabled": False})
    expected = stored_plain_run(cfg, tmp_path, GENERATIONS)
    backend = StartingBackend()
    db = tmp_path / "stopped.db"
    with Run.create(cfg, db, seed=SEED, backend=backend) as stopped:
        stopped.advance(GENERATIONS, should_stop=lambda: stopped.generation == 2)
        assert stopped.generation == 2
        assert stopped.info().status == "stopped"
        run_id = stopped.id
    assert backend.events[-1] == f"cancel {cfg.population_size * cfg.trials}"
    with Run.resume(run_id, db, backend="cpu") as resumed:
        resumed.advance(GENERATIONS - 2)
        assert stored_run(resumed) == expected


def test_columns_from_backend_outputs_match_the_simulate_results() -> None:
    rng = np.random.default_rng(3)
    genomes = [evolab.random_genome(rng) for _ in range(6)]
    cfg = evolab.SimConfig(duration=2.0)
    batch = pack_batch(genomes)
    evaluation = Evaluation.of_outputs(run_batch(batch, cfg, 9, record=True), batch.n_nodes, record=True)
    results = simulate(genomes, cfg, 9, record=True)

    assert evaluation.pellets == [r.pellets_collected for r in results]
    assert evaluation.disqualified == [r.disqualified for r in results]
    assert evaluation.distance == [r.distance_traveled for r in results]
    assert evaluation.displacement == [r.net_displacement for r in results]
    assert np.array_equal(evaluation.fitness, [r.fitness for r in results])
    for i, result in enumerate(results):
        frames, fitness_over_time, pellets = evaluation.replay(i)
        assert np.array_equal(frames, result.frames)
        assert not frames.flags.writeable
        assert np.array_equal(fitness_over_time, result.fitness_over_time)
        assert pellet_dicts(pellets) == pellet_events(result.pellet_table)


def test_nothing_is_replayed_from_a_batch_that_recorded_no_frames() -> None:
    rng = np.random.default_rng(4)
    genomes = [evolab.random_genome(rng) for _ in range(3)]
    batch = pack_batch(genomes)
    evaluation = Evaluation.of_outputs(run_batch(batch, evolab.SimConfig(duration=0.5), 1), batch.n_nodes, False)
    assert evaluation.replay(0) is None
    assert start_replays({genomes[0].id: "top"}, genomes, evaluation).result() == ()


def test_pellet_events_tell_each_pellet_to_the_millimetre_with_its_frames() -> None:
    rng = np.random.default_rng(5)
    genomes = [evolab.random_genome(rng) for _ in range(4)]
    results = simulate(genomes, evolab.SimConfig(duration=6.0), 2, record=True)
    pellets = [(p, e) for r in results for p, e in zip(r.pellets, pellet_events(r.pellet_table), strict=True)]

    assert pellets
    for record, event in pellets:
        assert event["position"] == pytest.approx(list(record.position), abs=5e-4)
        assert event["spawned_frame"] == record.spawned_frame
        assert event["collected_frame"] == record.collected_frame
        assert event["initial_distance"] == pytest.approx(record.initial_distance, abs=5e-4)
