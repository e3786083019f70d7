"""Several processes on one database file (DESIGN §7, §9): writers never fail, readers never block them."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from evolab.storage import Store
from tests.runner.shared import (
    POPULATION,
    SMALL_FLAGS,
    SUBPROCESS_TIMEOUT,
    check_only_complete_generations,
    start_evolab,
)

pytestmark = pytest.mark.slow  # real `evolab` processes, a few seconds each

CONCURRENT_GENERATIONS = 40
READER_GENERATIONS = 80
RUN_ID = re.compile(r"run_\d{8}_\d{6}_[0-9a-f]{4}")


def test_two_evolve_processes_on_one_new_file_both_finish(tmp_path: Path, db_path: Path) -> None:
    writers = [
        start_evolab(
            tmp_path,
            "evolve",
            *SMALL_FLAGS,
            "--generations",
            str(CONCURRENT_GENERATIONS),
            "--seed",
            str(seed),
            "--db",
            str(db_path),
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    try:
        errors = [w.communicate(timeout=SUBPROCESS_TIMEOUT)[1] for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait(timeout=SUBPROCESS_TIMEOUT)

    for writer, stderr in zip(writers, errors, strict=True):
        assert writer.returncode == 0, stderr
        assert "database is locked" not in stderr
        assert "error" not in stderr.lower()
    stored = check_only_complete_generations(db_path)
    assert sorted(stored.values()) == [CONCURRENT_GENERATIONS] * 2
    with Store(db_path) as store:
        assert {store.get_run(run_id).status for run_id in stored} == {"completed"}
        assert {store.get_run(run_id).seed for run_id in stored} == {1, 2}


def test_a_reader_polling_while_evolve_writes_always_sees_whole_generations(tmp_path: Path, db_path: Path) -> None:
    writer = start_evolab(
        tmp_path,
        "evolve",
        *SMALL_FLAGS,
        "--generations",
        str(READER_GENERATIONS),
        "--seed",
        "3",
        "--db",
        str(db_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    polls = 0
    try:
        banner = writer.stderr.readline()  # printed once the run (and so the file) exists
        match = RUN_ID.search(banner)
        assert match, banner
        run_id = match.group(0)
        seen = 0
        with Store(db_path) as reader:
            while writer.poll() is None:
                history = reader.generation_stats(run_id)
                assert [s.generation for s in history] == list(range(len(history)))
                assert len(history) >= seen
                seen = len(history)
                if history:
                    assert len(reader.results(run_id, history[-1].generation)) == POPULATION
                info = reader.get_run(run_id)
                assert info.generation_count >= seen
                if info.status == "running":
                    assert info.writer_pid == writer.pid
                polls += 1
                time.sleep(0.005)
        rest = writer.stderr.read()  # the buffered file readline() used: communicate() would skip its buffer
        writer.wait(timeout=SUBPROCESS_TIMEOUT)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=SUBPROCESS_TIMEOUT)

    assert writer.returncode == 0, rest
    assert "database is locked" not in rest
    assert polls > 0
    assert check_only_complete_generations(db_path) == {run_id: READER_GENERATIONS}
