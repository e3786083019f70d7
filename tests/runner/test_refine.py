"""`refine` keeps genomes valid, takes a step only where it wins on fresh layouts and is measured on the
held-out benchmark; `evolab refine` reads runs and genome files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import typer
from typer.testing import CliRunner

from evolab.cli.refine import refine_command
from evolab.config import EvolutionConfig
from evolab.errors import ConfigError
from evolab.genome.generate import random_genome
from evolab.genome.genes import M_DIR, M_FREQUENCY, M_PHASE, M_STIFFNESS
from evolab.genome.model import Genome
from evolab.genome.validation import validate_genome
from evolab.runner import Run
from evolab.runner.benchmark import benchmark_sim, score_on_layouts, scores_by_layout
from evolab.runner.refine import (
    _CONFIRMATION_STREAM,
    _SELECTION_STREAM,
    _TRAINING_STREAM,
    CONFIDENCE,
    CONFIRMATION_LAYOUTS,
    HELD_OUT_LAYOUTS,
    SELECTION_LAYOUTS,
    _project,
    held_out_seed,
    refine,
    step_seed,
    training_seed,
)
from evolab.runner.seeds import benchmark_seed


@pytest.fixture(scope="module")
def cfg() -> EvolutionConfig:
    return EvolutionConfig.from_preset("quick", population_size=6, sim={"duration": 1.0})


@pytest.fixture(scope="module")
def genome(cfg: EvolutionConfig) -> Genome:
    return random_genome(np.random.default_rng(5), cfg.constraints)


REFINE = {"steps": 3, "window": 20, "horizon": 40, "trials": 2, "layouts": 3, "learning_rate": 0.05}
CONFIRMED = {**REFINE, "confirmation_layouts": 16}


def test_refine_keeps_a_valid_genome_and_only_steps_that_won_where_they_were_judged(
    cfg: EvolutionConfig, genome: Genome
) -> None:
    result = refine(genome, cfg, 3, **CONFIRMED)
    assert result.accepted == sum(s.accepted for s in result.history) > 0
    assert 1 <= len(result.history) <= 3
    for step in result.history:  # a step is taken exactly when it clears two standard errors
        assert step.gain is not None
        assert step.gain_error is not None
        assert step.accepted == (step.gain > CONFIDENCE * step.gain_error)
    assert result.gain == pytest.approx(sum(s.gain for s in result.history if s.accepted))
    assert (result.selection_seed, result.confirmation_layouts) == (training_seed(3), 16)
    assert result.held_out_seed == held_out_seed(3) != benchmark_seed(3)
    validate_genome(result.genome, cfg.constraints)
    assert result.genome.id != genome.id
    assert result.genome.parent_ids == (genome.id,)
    assert result.genome.generation == genome.generation + 1
    sim = benchmark_sim(cfg.sim)
    fitness, pellets = scores_by_layout([genome, result.genome], sim, result.held_out_seed, HELD_OUT_LAYOUTS)
    assert fitness.mean(axis=1).tolist() == pytest.approx([result.before_fitness, result.after_fitness])
    assert pellets.mean(axis=1).tolist() == pytest.approx([result.before_pellets, result.after_pellets])
    assert result.held_out_error == pytest.approx((fitness[1] - fitness[0]).std(ddof=1) / np.sqrt(HELD_OUT_LAYOUTS))
    # deterministic: the same seed gives the same result
    assert refine(genome, cfg, 3, **CONFIRMED).genome == result.genome


def test_a_taken_step_beat_the_genome_on_its_own_fresh_confirmation_layouts(
    cfg: EvolutionConfig, genome: Genome
) -> None:
    result = refine(genome, cfg, 4, **CONFIRMED)
    assert [s.accepted for s in result.history] == [True, False, False]  # one step taken: the first
    confirmation = step_seed(training_seed(4), _CONFIRMATION_STREAM, 1)
    pair = scores_by_layout([genome, result.genome], benchmark_sim(cfg.sim), confirmation, 16)[0]
    assert float((pair[1] - pair[0]).mean()) == pytest.approx(result.history[0].gain)
    assert result.gain == pytest.approx(result.history[0].gain)


def test_a_genome_no_step_measurably_improves_is_kept_unchanged(cfg: EvolutionConfig, genome: Genome) -> None:
    result = refine(genome, cfg, 0, **{**REFINE, "confirmation_layouts": 8})
    assert not result.improved
    assert result.accepted == 0
    assert result.gain == 0.0
    assert result.genome is genome
    assert any(s.gain is not None and s.gain > 0 for s in result.history)  # gains too small to trust


def test_every_step_draws_new_layouts_apart_from_the_benchmark() -> None:
    base = training_seed(7)
    seeds = {
        step_seed(base, stream, step)
        for stream in (_TRAINING_STREAM, _SELECTION_STREAM, _CONFIRMATION_STREAM)
        for step in range(1, 6)
    }
    assert len(seeds) == 15
    assert benchmark_seed(7) not in seeds
    assert base not in seeds


def test_the_held_out_benchmark_measures_the_result_and_never_chooses_it(cfg: EvolutionConfig, genome: Genome) -> None:
    on_one = refine(genome, cfg, 3, run_seed=1, **CONFIRMED)
    on_another = refine(genome, cfg, 3, run_seed=2, **CONFIRMED)
    assert on_one.genome == on_another.genome
    assert on_one.held_out_seed != on_another.held_out_seed
    unmeasured = refine(genome, cfg, 3, held_out=False, **CONFIRMED)
    assert unmeasured.genome == on_one.genome
    assert np.isnan(unmeasured.before_fitness)
    assert np.isnan(unmeasured.after_fitness)


def test_a_run_refining_its_elites_chooses_and_accepts_on_the_layouts_it_names(
    cfg: EvolutionConfig, genome: Genome
) -> None:
    result = refine(genome, cfg, 3, select_seed=12345, **REFINE)
    assert (result.selection_seed, result.confirmation_layouts) == (12345, 0)
    assert result.improved
    on_them = score_on_layouts([genome, result.genome], benchmark_sim(cfg.sim), 12345, 3)[0]
    assert on_them[1] - on_them[0] == pytest.approx(result.gain)  # every step judged there, each a gain
    assert all(s.gain is not None and s.gain > 0 for s in result.history if s.accepted)


def test_projection_makes_any_genes_valid(cfg: EvolutionConfig, genome: Genome) -> None:
    wild = genome.muscle_params.copy()
    wild[:, M_STIFFNESS] = 1e9
    wild[:, M_PHASE] = -1.0
    wild[:, M_FREQUENCY] = 1e3
    wild[:, M_DIR] *= 7.0
    projected = _project(genome, wild, None, cfg)
    validate_genome(projected, cfg.constraints)
    assert np.all(projected.muscle_params[:, M_PHASE] > 0.0)  # wrapped, not clipped to 0
    assert np.all(projected.effective_frequencies() <= cfg.constraints.max_frequency)
    # float32 values: stored exactly
    assert np.array_equal(projected.muscle_params, projected.muscle_params.astype(np.float32))


def test_refine_refuses_bad_arguments(cfg: EvolutionConfig, genome: Genome) -> None:
    from evolab.errors import ConfigError

    bad = ({"steps": 0}, {"window": 0}, {"learning_rate": -1.0}, {"trials": 0}, {"layouts": 0})
    for kwargs in (*bad, {"confirmation_layouts": -1}, {"confirmation_layouts": 1.5}):
        with pytest.raises(ConfigError):
            refine(genome, cfg, 0, **kwargs)  # type: ignore[arg-type]
    assert len({training_seed(0), benchmark_seed(0), held_out_seed(0)}) == 3


# -- the command --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("refine")(refine_command)

    @app.command("noop")
    def _noop() -> None:  # a second command, so typer keeps "refine" as a subcommand
        pass

    return app


@pytest.fixture(scope="module")
def run_db(tmp_path_factory: pytest.TempPathFactory, cfg: EvolutionConfig) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("refine") / "evolution.db"
    with Run.create(cfg, db, seed=1, backend="cpu") as run:
        run.advance(1)
        return db, run.id


def test_command_refines_a_runs_champion(app: typer.Typer, run_db: tuple[Path, str], tmp_path: Path) -> None:
    db, run_id = run_db
    out = tmp_path / "refined.json"
    args = ["refine", run_id, "--db", str(db), "--steps", "2", "--window", "20", "--output", str(out), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["gain"] >= 0.0  # only steps that won were taken
    assert document["selection"]["layouts"] == SELECTION_LAYOUTS
    assert document["selection"]["confirmation_layouts"] == CONFIRMATION_LAYOUTS
    assert "genome" not in document  # it went to --output
    written = Genome.from_dict(json.loads(out.read_text()))
    assert written.id == document["refined_id"]
    with Run.resume(run_id, db) as run:
        champion = run.info().best_creature_id
        validate_genome(written, run.config.constraints)
    assert document["creature_id"] == champion


def test_command_refines_a_genome_file(app: typer.Typer, genome: Genome, tmp_path: Path) -> None:
    source = tmp_path / "creature.json"
    source.write_text(json.dumps(genome.to_dict()))
    args = ["refine", str(source), "--preset", "quick", "--steps", "1", "--window", "10", "--horizon", "20"]
    result = CliRunner().invoke(app, [*args, "--trials", "1"])
    assert result.exit_code == 0, result.output
    assert "taken" in result.stdout
    assert "held-out" in result.stdout


@pytest.mark.parametrize(
    "case",
    ["unknown-run", "unknown-creature", "bad-genome", "creature-with-file", "missing-folder", "bad-rate"],
)
def test_command_bad_input_is_one_line_and_writes_nothing(
    app: typer.Typer, run_db: tuple[Path, str], genome: Genome, tmp_path: Path, case: str
) -> None:
    db, run_id = run_db
    out = tmp_path / "refined.json"
    bad = tmp_path / "bad.json"
    data = genome.to_dict()
    data["muscles"][0]["stiffness"] = -5.0
    bad.write_text(json.dumps(data))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(genome.to_dict()))
    args = {
        "unknown-run": ["run_nope", "--db", str(db)],
        "unknown-creature": [run_id, "--db", str(db), "--creature", "cr_nope"],
        "bad-genome": [str(bad)],
        "creature-with-file": [str(good), "--creature", "cr_x"],
        "missing-folder": [str(good), "--output", str(tmp_path / "no" / "such" / "x.json")],
        "bad-rate": [str(good), "--learning-rate", "0"],
    }[case]
    if case != "missing-folder":
        args += ["--output", str(out)]
    result = CliRunner().invoke(app, ["refine", *args, "--steps", "1"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error:"), result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    assert not out.exists()


# -- refining a run's elites each generation (Lamarckian) ---------------------------------------------


def lamarckian_config() -> EvolutionConfig:
    return EvolutionConfig.from_preset(
        "quick", population_size=8, elite_count=2, sim={"duration": 0.5}, benchmark={"layouts": 4},
        refine={"enabled": True, "elites": 2, "steps": 2, "learning_rate": 0.01, "window": 15},
    )  # fmt: skip


def test_a_run_that_refines_its_elites_is_reproducible_and_resumes_exactly(tmp_path: Path) -> None:
    cfg = lamarckian_config()
    with Run.create(cfg, tmp_path / "a.db", seed=3, backend="cpu") as straight:
        straight.advance(3)
        expected = ([r.creature_id for g in range(3) for r in straight.results(g)], straight.population)
    with Run.create(cfg, tmp_path / "b.db", seed=3, backend="cpu") as first:
        first.advance(1)
        run_id = first.id
    with Run.resume(run_id, tmp_path / "b.db") as resumed:
        resumed.advance(2)
        assert ([r.creature_id for g in range(3) for r in resumed.results(g)], resumed.population) == expected


def test_elites_are_replaced_by_their_refined_children_judged_on_the_next_generations_layouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evolab.runner.refine as refining
    from evolab.runner.seeds import generation_seed

    calls = []
    real_refine = refining.refine

    def always_better(genome, cfg, seed, **options):
        """The real refinement's candidate, always taken (as if it had scored better)."""
        calls.append((genome.id, seed, options["select_seed"], options["layouts"]))
        result = real_refine(genome, cfg, seed, **options)
        child = genome.replace(id=f"refined-{genome.id}", parent_ids=(genome.id,), survival_streak=0)
        return dataclasses.replace(result, genome=child, improved=True)

    monkeypatch.setattr(refining, "refine", always_better)
    cfg = lamarckian_config()
    with Run.create(cfg, tmp_path / "run.db", seed=5, backend="cpu") as run:
        run.advance(1)
        population = run.population
    elites = [c[0] for c in calls]
    assert len(calls) == cfg.refine.elites
    assert [g.id for g in population[: cfg.refine.elites]] == [f"refined-{e}" for e in elites]
    assert [g.parent_ids for g in population[: cfg.refine.elites]] == [(e,) for e in elites]
    judged_on = generation_seed(5, 1)  # the layouts generation 1 is evaluated on, not the benchmark's
    assert {(c[2], c[3]) for c in calls} == {(judged_on, cfg.trials)}
    assert [c[1] for c in calls] == [judged_on, judged_on + 1]


def test_a_run_that_refines_without_torch_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "evolab.runner.refine", None)  # as if torch were not installed
    with pytest.raises(ConfigError, match="refining elites needs PyTorch"):
        Run.create(lamarckian_config(), tmp_path / "run.db", seed=1)
    assert not (tmp_path / "run.db").exists()


def test_evolve_refine_elites_turns_refinement_on_for_that_many_elites(tmp_path: Path) -> None:
    from evolab.cli.app import app
    from evolab.storage import Store

    db = tmp_path / "runs.db"
    result = CliRunner().invoke(
        app, ["evolve", "--preset", "quick", "--population", "6", "--elites", "2", "--duration", "0.5", "-g", "1",
              "--refine-elites", "1", "--backend", "cpu", "--db", str(db)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with Store(db) as store:
        (run,) = store.list_runs()
    assert (run.config.refine.enabled, run.config.refine.elites) == (True, 1)
