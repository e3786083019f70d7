"""A run is evolved on one physics backend, records it, and continues on it: results are bit-exact per
backend, so resuming elsewhere is refused unless forced, and replays re-simulate on the run's backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolab.errors import BackendMismatch, BackendUnavailable
from evolab.runner import Run, replay_creature
from tests.hooked_backend import HookedBackend
from tests.runner.shared import small_config, without_timings

SEED = 17


def test_a_run_records_the_backend_it_is_created_on(tmp_path: Path) -> None:
    with Run.create(small_config(), tmp_path / "run.db", seed=SEED, backend="cpu") as run:
        assert run.backend.name == "cpu"
        assert run.info().backend == "cpu"


def test_auto_picks_the_cpu_kernel_where_no_gpu_is_usable(tmp_path: Path) -> None:
    with Run.create(small_config(), tmp_path / "run.db", seed=SEED) as run:
        assert run.info().backend in ("cpu", "cuda")  # cuda only where a GPU is


def test_a_resumed_run_continues_on_its_own_backend(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    torch_like = HookedBackend(name="torch")  # the CPU kernel under another backend's name
    with Run.create(small_config(), db, seed=SEED, backend=torch_like) as run:
        run.advance(1)
        run_id = run.id
    assert torch_like.calls

    with pytest.raises(BackendMismatch, match="evolved on the torch backend, not cpu") as refused:
        Run.resume(run_id, db, backend="cpu")
    assert "--force-backend" in refused.value.hint
    resumed_here = HookedBackend(name="torch")
    with Run.resume(run_id, db, backend=resumed_here) as run:
        run.advance(1)
    assert resumed_here.calls


def test_a_forced_resume_continues_on_the_new_backend_and_records_it(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    with Run.create(small_config(), db, seed=SEED, backend=HookedBackend(name="torch")) as run:
        run.advance(1)
        run_id = run.id
    with Run.resume(run_id, db, backend="cpu", force_backend=True) as run:
        run.advance(1)
        assert run.info().backend == "cpu"


def test_a_backend_that_cannot_run_here_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    with pytest.raises(BackendUnavailable, match="expected one of"):
        Run.create(small_config(), db, seed=SEED, backend="opencl")
    assert not db.exists()


def test_the_same_run_on_the_same_backend_is_bit_identical_however_it_is_named(tmp_path: Path) -> None:
    with Run.create(small_config(), tmp_path / "a.db", seed=SEED, backend="cpu") as a:
        a.advance(2)
        expected = without_timings(a.history())
    with Run.create(small_config(), tmp_path / "b.db", seed=SEED, backend=HookedBackend()) as b:
        b.advance(2)
        assert without_timings(b.history()) == expected


def test_a_replay_is_re_simulated_on_the_runs_backend(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    cfg = small_config(frames={"enabled": False})  # nothing stored: every replay is a re-simulation
    with Run.create(cfg, db, seed=SEED, backend="cpu") as run:
        run.advance(1)
        creature = run.results(0)[0].creature_id
        watching = HookedBackend()
        replay = replay_creature(run.store, run.id, 0, creature, backend=watching)
        assert replay.source == "simulated"
        assert watching.calls == [(1, True)]
        assert (replay.frames == replay_creature(run.store, run.id, 0, creature).frames).all()
