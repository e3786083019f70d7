"""`--backend` on the commands that run physics: a backend that cannot run here is one clear line and
exit 2, touching nothing; the one chosen is said."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import evolab
from tests.runner.shared import SUBPROCESS_TIMEOUT, evolab_command


def run_without_gpu(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`evolab ARGS...` in a fresh process that sees no GPU, whatever this machine has."""
    env = {k: v for k, v in os.environ.items() if k not in ("EVOLAB_DB", "NUMBA_ENABLE_CUDASIM")}
    env["CUDA_VISIBLE_DEVICES"] = ""
    return subprocess.run(
        evolab_command(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
    )


@pytest.mark.parametrize(
    "command",
    [
        ("evolve", "--preset", "quick", "--population", "4", "--duration", "0.5", "-g", "1"),
        ("serve", "--port", "1"),
        ("bench", "-w", "W1", "--repeats", "1"),
    ],
    ids=lambda c: c[0],
)
def test_asking_for_cuda_without_a_gpu_is_one_line_and_exit_2(tmp_path: Path, command: tuple[str, ...]) -> None:
    db = ("--db", str(tmp_path / "runs.db")) if command[0] != "bench" else ()
    result = run_without_gpu(tmp_path, *command, "--backend", "cuda", *db)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "backend 'cuda'" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs.db").exists()


def test_an_unknown_backend_is_refused_by_the_option(cli) -> None:
    result = cli("simulate", "creature.json", "--backend", "opencl")
    assert result.exit_code == 2
    assert "opencl" in result.stderr


def test_simulate_says_which_backend_ran_it(cli, tmp_path: Path, rng) -> None:
    genome_file = tmp_path / "creature.json"
    genome_file.write_text(json.dumps(evolab.random_genome(rng).to_dict()))

    document = json.loads(cli("simulate", str(genome_file), "--duration", "1", "--backend", "cpu", "--json").stdout)
    text = cli("simulate", str(genome_file), "--duration", "1", "--backend", "cpu").stdout

    assert document["backend"] == "cpu"
    assert "on cpu (" in text


def test_evolve_says_where_the_physics_runs_and_the_run_records_it(cli, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    result = cli("evolve", "--preset", "quick", "--population", "4", "--duration", "0.5", "-g", "1",
                 "--backend", "cpu", "--db", str(db))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "physics on cpu (" in result.stderr
    with evolab.storage.Store(db) as store:
        assert [r.backend for r in store.list_runs()] == ["cpu"]


def test_force_backend_applies_only_to_a_resumed_run(cli, tmp_path: Path) -> None:
    result = cli("evolve", "--preset", "quick", "-g", "1", "--force-backend", "--db", str(tmp_path / "runs.db"))
    assert result.exit_code == 2
    assert "--force-backend applies only with --resume" in result.stderr
    assert not (tmp_path / "runs.db").exists()
