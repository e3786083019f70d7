"""Crashes and stop signals against the real `evolab evolve` process (DESIGN §9)."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from evolab.errors import StorageError
from evolab.runner import Run
from evolab.storage import Store
from tests.runner.shared import (
    REFERENCE_SEED,
    SMALL_FLAGS,
    SUBPROCESS_TIMEOUT,
    ReferenceRun,
    check_only_complete_generations,
    run_evolab,
    small_config,
    start_evolab,
    without_timings,
)

pytestmark = pytest.mark.slow  # real `evolab` processes, a few seconds each

KILL_SEED = 20261126
KILL_WINDOWS = [(0.5, 1.2), (1.2, 2.0), (2.0, 3.0)]
"""Seconds after start: while the run is created and generation 0 compiles, early generations, later ones."""
MORE_GENERATIONS = 5
STOPPED_RUN_TARGET = 60


@contextmanager
def watchdog(proc: subprocess.Popen, seconds: float = SUBPROCESS_TIMEOUT) -> Iterator[None]:
    """Kill `proc` if the block has not finished after `seconds` (so a blocking read cannot hang the test)."""
    timer = threading.Timer(seconds, proc.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=SUBPROCESS_TIMEOUT)


def _stored_history(db_path: Path, run_id: str):
    with Store(db_path) as store:
        return without_timings(store.generation_stats(run_id))


@pytest.mark.parametrize("window", range(len(KILL_WINDOWS)))
def test_sigkill_at_any_moment_leaves_only_whole_generations_and_resume_is_exact(
    tmp_path: Path, db_path: Path, reference: ReferenceRun, window: int
) -> None:
    moment = np.random.default_rng([KILL_SEED, window]).uniform(*KILL_WINDOWS[window])
    proc = start_evolab(
        tmp_path, "evolve", *SMALL_FLAGS, "--generations", "100000", "--seed", str(REFERENCE_SEED), "--db", str(db_path)
    )
    with watchdog(proc):
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=moment)
        proc.kill()
        assert proc.wait(timeout=SUBPROCESS_TIMEOUT) == -signal.SIGKILL

    stored = check_only_complete_generations(db_path)
    if not stored:  # killed before the run was registered: nothing to resume, and the file still opens
        with Store(db_path) as store:
            assert store.list_runs() == []
        return
    ((run_id, count),) = stored.items()
    with Store(db_path) as store:
        killed = store.get_run(run_id)
    assert killed.config == reference.config
    assert killed.status in ("created", "running")  # nobody was left to record the end
    resumed = run_evolab(
        tmp_path, "evolve", "--resume", run_id, "--generations", str(MORE_GENERATIONS), "--db", str(db_path)
    )
    assert resumed.returncode == 0, resumed.stderr
    assert check_only_complete_generations(db_path) == {run_id: count + MORE_GENERATIONS}
    assert _stored_history(db_path, run_id) == reference.history(count + MORE_GENERATIONS)
    with Store(db_path) as store:
        assert store.get_run(run_id).status == "completed"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stop_signal_finishes_the_generation_in_flight_and_prints_a_working_resume_command(
    tmp_path: Path, db_path: Path, reference: ReferenceRun, signum: signal.Signals
) -> None:
    proc = start_evolab(
        tmp_path,
        "evolve",
        *SMALL_FLAGS,
        "--generations",
        str(STOPPED_RUN_TARGET),
        "--seed",
        str(REFERENCE_SEED),
        "--db",
        str(db_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with watchdog(proc):
        first_line = proc.stdout.readline()  # generation 0 is stored: the stop handler is installed
        assert first_line.startswith("gen"), first_line
        proc.send_signal(signum)
        # read through the same buffered file as readline() above: communicate() reads the raw pipe and
        # would miss lines that readline() already pulled into the buffer
        stdout = proc.stdout.read()
        stderr = proc.stderr.read()
        proc.wait(timeout=SUBPROCESS_TIMEOUT)

    assert proc.returncode == 130, stderr
    assert "resume with: evolab evolve --resume" in stderr
    assert "Traceback" not in stderr
    printed_generations = 1 + len(stdout.splitlines())
    stored = check_only_complete_generations(db_path)
    ((run_id, count),) = stored.items()
    assert count == printed_generations
    assert f"stopped cleanly after generation {count - 1} ({signum.name})" in stderr
    with Store(db_path) as store:
        info = store.get_run(run_id)
    assert (info.status, info.writer_pid) == ("stopped", None)

    command = re.search(r"resume with: (.+)", stderr).group(1).strip()
    words = shlex.split(command)
    assert words[:4] == ["evolab", "evolve", "--resume", run_id]
    assert words[words.index("--generations") + 1] == str(STOPPED_RUN_TARGET - count)
    resumed = run_evolab(tmp_path, *words[1:])
    assert resumed.returncode == 0, resumed.stderr
    assert check_only_complete_generations(db_path) == {run_id: STOPPED_RUN_TARGET}
    assert _stored_history(db_path, run_id) == reference.history(STOPPED_RUN_TARGET)


def test_crash_while_creating_a_run_leaves_no_unresumable_run(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(*args, **kwargs):  # what SIGKILL does here: the process is gone, nothing more is written
        raise SystemExit(-9)

    monkeypatch.setattr("evolab.storage._checkpoints.write_checkpoint", killed)
    with pytest.raises(SystemExit):
        Run.create(small_config("quick"), db_path, seed=1)
    monkeypatch.undo()

    with Store(db_path) as store:
        runs = store.list_runs()
    for info in runs:
        try:
            Run.resume(info.id, db_path).close()
        except StorageError as err:
            pytest.fail(f"run {info.id} was registered but cannot be resumed: {err}")
    check_only_complete_generations(db_path)
