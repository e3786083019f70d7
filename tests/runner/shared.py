"""Helpers shared by the runner tests: small configurations, the real `evolab` process, storage checks."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import evolab
from evolab.cli.app import app
from evolab.runner import Run
from evolab.storage import GenerationStats, Store

POPULATION = 12
DURATION = 1.0
SMALL_FLAGS = ("--preset", "quick", "--population", str(POPULATION), "--duration", "1")
"""CLI flags giving the same configuration as `small_config("quick")`."""

REFERENCE_SEED = 424242
"""The seed of the uninterrupted reference run that interrupted CLI runs are compared with."""

SUBPROCESS_TIMEOUT = 120.0
"""Seconds any `evolab` subprocess may take before the test gives up on it (a hang, not a slow machine)."""


def small_config(preset: str = "quick", **overrides: Any) -> evolab.EvolutionConfig:
    """A preset shrunk to 12 creatures x 1 s, so a generation takes milliseconds."""
    sim = {"duration": DURATION, **overrides.pop("sim", {})}
    return evolab.EvolutionConfig.from_preset(preset, population_size=POPULATION, sim=sim, **overrides)


def without_timings(history: list[GenerationStats]) -> list[GenerationStats]:
    """Statistics with the wall-clock fields zeroed: everything else must be bit-for-bit reproducible."""
    return [dataclasses.replace(s, sim_seconds=0.0, host_seconds=0.0) for s in history]


def stored_run(run: Run) -> tuple:
    """Everything a run stored that must be bit-for-bit reproducible: statistics (wall-clock fields
    zeroed), every generation's results, every kept replay, and the population about to be evaluated."""
    framed = [run.store.generation_frames(run.id, g) for g in range(run.generation)]
    return (
        without_timings(run.history()),
        [run.results(g) for g in range(run.generation)],
        [
            {cid: (f.frames.tobytes(), f.fitness_over_time.tobytes(), f.pellets) for cid, f in frames.items()}
            for frames in framed
        ],
        [g.to_dict() for g in run.population],
    )


def evolab_command(*args: str) -> list[str]:
    """The real entry point, in a fresh interpreter (`python -m evolab ARGS...`)."""
    return [sys.executable, "-m", "evolab", *args]


def clean_env() -> dict[str, str]:
    """This environment without EVOLAB_DB, so only --db decides which file is written."""
    return {k: v for k, v in os.environ.items() if k != "EVOLAB_DB"}


def start_evolab(cwd: Path, *args: str, **popen: Any) -> subprocess.Popen:
    """Start `evolab ARGS...` in `cwd` (stdout and stderr discarded unless given)."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(evolab_command(*args), cwd=cwd, env=clean_env(), **popen)


def run_evolab(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `evolab ARGS...` to completion, capturing text output."""
    return subprocess.run(
        evolab_command(*args), cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
    )


def check_only_complete_generations(db_path: Path) -> dict[str, int]:
    """Assert the file is intact and holds only whole generations; returns {run id: generations stored}.

    Whole means: generation rows 0..count-1 with no gap, `runs.generation_count` equal to their number,
    one result per creature of the population in each, and the checkpoint that continues the run.
    """
    if not db_path.exists():
        return {}
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        counts = {}
        if not conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'runs'").fetchone()[0]:
            # killed after SQLite made the file but before the schema's first version was committed
            assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
            return counts
        for pk, run_id, generation_count, config in conn.execute(
            "SELECT pk, id, generation_count, config FROM runs ORDER BY pk"
        ).fetchall():
            population = json.loads(config)["population_size"]
            generations = [
                g
                for (g,) in conn.execute(
                    "SELECT generation FROM generations WHERE run_pk = ? ORDER BY generation", (pk,)
                )
            ]
            assert generations == list(range(generation_count)), run_id
            results_per_generation = dict(
                conn.execute(
                    "SELECT generation, count(*) FROM results WHERE run_pk = ? GROUP BY generation", (pk,)
                ).fetchall()
            )
            assert results_per_generation == dict.fromkeys(generations, population), run_id
            checkpoint = conn.execute(
                "SELECT 1 FROM checkpoints WHERE run_pk = ? AND generation = ?", (pk, generation_count)
            ).fetchone()
            assert checkpoint is not None, f"{run_id}: no checkpoint for generation {generation_count}"
            counts[run_id] = generation_count
    return counts


class Cli:
    """Invoke `evolab ARGS...` in-process; returns the Result (exit_code, stdout, stderr)."""

    def __init__(self) -> None:
        self._runner = CliRunner()

    def __call__(self, *args: str):
        return self._runner.invoke(app, list(args))


class ReferenceRun:
    """An uninterrupted run of `small_config("quick")` with `REFERENCE_SEED`, advanced only as far as a
    test needs; its first N generations are what any run with that seed must store for N generations."""

    def __init__(self, db: Path) -> None:
        self.config = small_config("quick")
        self.seed = REFERENCE_SEED
        self._run = Run.create(self.config, db, seed=self.seed)

    def history(self, generations: int) -> list[GenerationStats]:
        """The first `generations` generations' statistics, timing fields zeroed."""
        if self._run.generation < generations:
            self._run.advance(generations - self._run.generation)
        return without_timings(self._run.history()[:generations])

    def close(self) -> None:
        self._run.close()


def trial_results(store: Store, run_id: str, generation: int, creature_id: str) -> list[evolab.SimResult]:
    """A creature's evaluation in one generation, simulated afresh: one result per trial (layout), in order."""
    cfg = store.get_run(run_id).config
    seed = store.generation(run_id, generation).sim_seed
    return evolab.simulate(store.genomes(run_id, [creature_id]), cfg.sim, seed, trials=cfg.trials)
