"""Exact resume (DESIGN §6) and the run status the loop records (DESIGN §9), through the Python API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evolab.runner import Run
from evolab.storage import Store
from tests.hooked_backend import HookedBackend
from tests.runner.shared import small_config, without_timings

SEED = 97
GENERATIONS = 7
STOP_AFTER = 4

VARIANTS = {
    "checkpoint_every_generation": {},
    "checkpoint_every_3": {"checkpoint_every": 3},
    "turbo_without_frames": {"frames": {"enabled": False}},
}


def _population_dicts(run: Run) -> list[dict]:
    return [g.to_dict() for g in run.population]


def _assert_same_run(expected: Run, actual: Run) -> None:
    """Same statistics (timings aside), same ranked results, same replays kept, same next population."""
    assert without_timings(actual.history()) == without_timings(expected.history())
    for g in range(expected.generation):
        assert actual.results(g) == expected.results(g), f"generation {g}"
        assert actual.store.framed_creatures(actual.id, g) == expected.store.framed_creatures(expected.id, g)
    assert _population_dicts(actual) == _population_dicts(expected)
    final_ids = [g.id for g in expected.population]
    assert [g.to_dict() for g in actual.store.genomes(actual.id, final_ids)] == [
        g.to_dict() for g in expected.store.genomes(expected.id, final_ids)
    ]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("preset", ["quick", "neural-hybrid"])
def test_resumed_run_is_identical_to_an_uninterrupted_one(tmp_path: Path, preset: str, variant: str) -> None:
    cfg = small_config(preset, **VARIANTS[variant])
    with Run.create(cfg, tmp_path / "straight.db", seed=SEED) as straight:
        straight.advance(GENERATIONS)

        with Run.create(cfg, tmp_path / "interrupted.db", seed=SEED) as first_part:
            first_part.advance(STOP_AFTER)
            run_id = first_part.id

        with Run.resume(run_id, tmp_path / "interrupted.db") as resumed:
            # advance() ends by checkpointing, whatever checkpoint_every says: resume continues right there
            last_checkpoint = STOP_AFTER
            assert resumed.generation == last_checkpoint
            assert len(resumed.history()) == last_checkpoint
            assert resumed.info().generation_count == last_checkpoint
            resumed.advance(GENERATIONS - resumed.generation)

            assert resumed.generation == GENERATIONS
            _assert_same_run(straight, resumed)
            info, expected_info = resumed.info(), straight.info()
            assert (info.best_fitness, info.best_creature_id, info.best_generation) == (
                expected_info.best_fitness,
                expected_info.best_creature_id,
                expected_info.best_generation,
            )
            assert (info.longest_survivor_id, info.longest_streak) == (
                expected_info.longest_survivor_id,
                expected_info.longest_streak,
            )


def test_resumed_neural_run_keeps_its_neural_genomes(tmp_path: Path) -> None:
    cfg = small_config("neural-hybrid")
    with Run.create(cfg, tmp_path / "run.db", seed=SEED) as run:
        run.advance(2)
        run_id = run.id
    with Run.resume(run_id, tmp_path / "run.db") as resumed:
        assert resumed.config == cfg
        assert all(g.to_dict().get("neuralGenome") for g in resumed.population)


def test_resume_can_happen_many_times(tmp_path: Path) -> None:
    cfg = small_config("quick")
    with Run.create(cfg, tmp_path / "straight.db", seed=SEED) as straight:
        straight.advance(GENERATIONS)
        with Run.create(cfg, tmp_path / "pieces.db", seed=SEED) as run:
            run_id = run.id
        while True:
            with Run.resume(run_id, tmp_path / "pieces.db") as piece:
                if piece.generation == GENERATIONS:
                    _assert_same_run(straight, piece)
                    break
                piece.advance(min(2, GENERATIONS - piece.generation))


def test_same_seed_gives_identical_runs(db_path: Path) -> None:
    cfg = small_config("quick")
    with Run.create(cfg, db_path, seed=SEED) as a, Run.create(cfg, db_path, seed=SEED) as b:
        a.advance(3)
        b.advance(3)
        assert a.id != b.id
        _assert_same_run(a, b)


def test_different_seeds_give_different_runs(db_path: Path) -> None:
    cfg = small_config("quick")
    with Run.create(cfg, db_path, seed=SEED) as a, Run.create(cfg, db_path, seed=SEED + 1) as b:
        a.advance(3)
        b.advance(3)
        assert [s.sim_seed for s in a.history()] != [s.sim_seed for s in b.history()]
        assert without_timings(a.history()) != without_timings(b.history())
        assert _population_dicts(a) != _population_dicts(b)


def test_run_is_running_with_its_writer_pid_while_advancing(db_path: Path) -> None:
    seen: list[tuple[str, int | None]] = []
    with Run.create(small_config("quick"), db_path, seed=SEED) as run, Store(db_path) as observer:
        assert observer.get_run(run.id).status == "created"

        def on_generation(report) -> None:
            info = observer.get_run(run.id)
            seen.append((info.status, info.writer_pid))
            assert info.generation_count == report.stats.generation + 1

        run.advance(3, on_generation=on_generation)
        assert seen == [("running", os.getpid())] * 3
        final = observer.get_run(run.id)
        assert (final.status, final.writer_pid) == ("completed", None)


def test_stopping_early_leaves_the_run_stopped(db_path: Path) -> None:
    with Run.create(small_config("quick"), db_path, seed=SEED) as run:
        done = run.advance(5, should_stop=lambda: run.generation >= 2)
        assert [s.generation for s in done] == [0, 1]
        info = run.info()
        assert (info.status, info.writer_pid, info.generation_count) == ("stopped", None, 2)


def test_stop_requested_before_the_first_generation_stores_nothing(db_path: Path) -> None:
    with Run.create(small_config("quick"), db_path, seed=SEED) as run:
        assert run.advance(3, should_stop=lambda: True) == []
        assert run.history() == []
        assert run.info().status == "stopped"


def test_a_completed_advance_leaves_the_run_completed(db_path: Path) -> None:
    with Run.create(small_config("quick"), db_path, seed=SEED) as run:
        assert len(run.advance(2)) == 2
        assert run.info().status == "completed"
        run.advance(1)
        assert run.info().status == "completed"
        assert run.info().generation_count == 3


def test_interrupt_during_a_generation_discards_it_and_resume_is_still_exact(tmp_path: Path) -> None:
    """A second Ctrl-C (KeyboardInterrupt inside the evaluation) loses only the generation in flight."""
    cfg = small_config("quick")
    selections = []

    def interrupted_on_third_generation(batch) -> None:
        if batch.size == cfg.population_size * cfg.trials:  # a generation's evaluation, not its benchmark
            selections.append(batch.size)
            if len(selections) == 3:
                raise KeyboardInterrupt

    interrupted = HookedBackend(before=interrupted_on_third_generation)
    with Run.create(cfg, tmp_path / "run.db", seed=SEED, backend=interrupted) as run:
        with pytest.raises(KeyboardInterrupt):
            run.advance(GENERATIONS)
        run_id = run.id
        info = run.info()
        assert (info.status, info.generation_count) == ("stopped", 2)
    with Run.resume(run_id, tmp_path / "run.db") as resumed, Run.create(cfg, tmp_path / "straight.db", seed=SEED) as s:
        resumed.advance(GENERATIONS - resumed.generation)
        s.advance(GENERATIONS)
        _assert_same_run(s, resumed)


def test_a_failing_evaluation_marks_the_run_failed_and_stores_nothing_of_it(db_path: Path) -> None:
    def broken(batch) -> None:
        raise RuntimeError("backend exploded")

    with Run.create(small_config("quick"), db_path, seed=SEED, backend=HookedBackend(before=broken)) as run:
        with pytest.raises(RuntimeError, match="backend exploded"):
            run.advance(2)
        info = run.info()
        assert (info.status, info.generation_count) == ("failed", 0)
        assert run.store.checkpoint(run.id).generation == 0


def test_a_clean_stop_checkpoints_so_resume_continues_after_the_last_stored_generation(db_path: Path) -> None:
    cfg = small_config("quick", checkpoint_every=3)
    with Run.create(cfg, db_path, seed=SEED) as run:
        run.advance(GENERATIONS, should_stop=lambda: run.generation >= STOP_AFTER)
        run_id = run.id
        assert run.info().generation_count == STOP_AFTER
    with Run.resume(run_id, db_path) as resumed:
        # `evolab evolve` prints `--generations GENERATIONS - STOP_AFTER` as the resume command
        resumed.advance(GENERATIONS - STOP_AFTER)
        assert resumed.generation == GENERATIONS


def test_a_run_being_written_by_a_live_process_cannot_be_resumed(db_path: Path) -> None:
    import subprocess
    import sys

    from evolab import StorageError

    with Run.create(small_config("quick"), db_path, seed=SEED) as run:
        run.advance(1)
        run_id = run.id
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with Store(db_path) as store:
            store.set_status(run_id, "running", writer_pid=writer.pid)
        with pytest.raises(StorageError, match=f"being written by process {writer.pid}"):
            Run.resume(run_id, db_path)
    finally:
        writer.kill()
        writer.wait()
    # once that process is gone (killed without cleaning up), the run resumes
    with Run.resume(run_id, db_path) as resumed:
        assert resumed.generation == 1
