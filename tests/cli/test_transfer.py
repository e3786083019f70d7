"""`evolab export` and `evolab import`: portable runs, validated completely before anything is written."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from evolab.runner import Run
from evolab.storage import Store
from evolab.storage.transfer import VERSION, TransferError, export_run, import_run, parse_document
from tests.cli import rundb
from tests.cli.rundb import error_line

run_db_template = rundb.run_db_template
run_db = rundb.run_db


def _without_ids(document: dict) -> dict:
    copy = json.loads(json.dumps(document))
    copy["run"].pop("id")
    return copy


@pytest.fixture
def exported(cli, run_db, tmp_path) -> dict:
    """The oscillator run exported by the command."""
    path = tmp_path / "run.json"
    result = cli("export", run_db.oscillator, "-o", str(path), "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"exported run {run_db.oscillator}" in result.stderr
    return json.loads(path.read_text())


def test_export_writes_a_versioned_document(exported, run_db):
    assert exported["format"] == "evolab-run"
    assert exported["version"] == 2  # version 2 added trials and the held-out benchmark
    assert set(exported) == {
        "format",
        "version",
        "evolab_version",
        "run",
        "generations",
        "creatures",
        "frames",
        "checkpoints",
    }
    run = exported["run"]
    assert set(run) == {
        "id", "name", "seed", "status", "created_at", "config", "parent_run_id", "fork_generation", "backend",
    }  # fmt: skip
    assert run["id"] == run_db.oscillator
    assert run["backend"] == "cpu"
    assert [g["generation"] for g in exported["generations"]] == [0, 1, 2, 3, 4]
    assert all(len(g["results"]) == 10 for g in exported["generations"])
    assert exported["frames"]
    assert [c["generation"] for c in exported["checkpoints"]] == [0, 1, 2, 3, 4, 5]
    frame = exported["frames"][0]
    assert set(frame) == {"generation", "creature_id", "reason", "frames", "fitness", "pellets"}
    base64.b64decode(frame["frames"], validate=True)


def test_export_to_stdout_when_no_file_is_given(cli, run_db):
    result = cli("export", run_db.neural, "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["run"]["id"] == run_db.neural
    assert "to stdout" in result.stderr


@pytest.mark.parametrize("which", ["oscillator", "neural"])
def test_export_import_export_gives_the_same_document(cli, run_db, tmp_path, which):
    run_id = getattr(run_db, which)
    first = tmp_path / "first.json"
    assert cli("export", run_id, "-o", str(first), "--db", str(run_db.path)).exit_code == 0
    other = tmp_path / "other.db"
    imported = cli("import", str(first), "--json", "--db", str(other))
    assert imported.exit_code == 0, imported.stderr
    info = json.loads(imported.stdout)
    assert info["id"] == run_id  # the id is free in the other database: it is kept
    assert info["original_id"] == run_id
    second = tmp_path / "second.json"
    assert cli("export", info["id"], "-o", str(second), "--db", str(other)).exit_code == 0
    assert json.loads(second.read_text()) == json.loads(first.read_text())


def test_import_into_the_same_database_gets_a_new_id(cli, run_db, exported, tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(exported))
    result = cli("import", str(path), "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    new_id = result.stdout.strip()
    assert new_id != run_db.oscillator
    assert new_id.startswith("run_")
    assert "already taken" in result.stderr
    with Store(run_db.path) as store:
        again = export_run(store, new_id)
        source = store.get_run(run_db.oscillator)
        copy = store.get_run(new_id)
    assert _without_ids(again) == _without_ids(exported)
    assert (copy.best_fitness, copy.best_creature_id, copy.best_generation) == (
        source.best_fitness,
        source.best_creature_id,
        source.best_generation,
    )
    assert (copy.longest_survivor_id, copy.longest_streak) == (source.longest_survivor_id, source.longest_streak)


def test_an_imported_run_resumes_exactly_like_the_original(run_db, tmp_path):
    with Store(run_db.path) as store:
        document = export_run(store, run_db.neural)
    with Store(tmp_path / "copy.db") as store:
        copy_id = import_run(store, document).id
        with Run.resume(copy_id, store) as run:
            copied = [replace(s, sim_seconds=0.0, host_seconds=0.0) for s in run.advance(1)]
            copied_results = run.results(3)
    with Run.resume(run_db.neural, run_db.path) as run:
        original = [replace(s, sim_seconds=0.0, host_seconds=0.0) for s in run.advance(1)]
        original_results = run.results(3)
    assert copied == original
    assert copied_results == original_results


# -- refused files: one line, exit 2, nothing written ---------------------------------------------


def _edit(change: Callable[[dict], Any]) -> Callable[[dict], dict]:
    def apply(document: dict) -> dict:
        document = json.loads(json.dumps(document))
        change(document)
        return document

    return apply


def _stiff(d: dict) -> None:
    d["creatures"][0]["genome"]["muscles"][0]["stiffness"] = 5000.0


def _tight_constraints(d: dict) -> None:
    d["run"]["config"]["constraints"]["max_muscles"] = 1
    d["run"]["config"]["constraints"]["max_nodes"] = 2


BAD_DOCUMENTS = {
    "wrong format": (_edit(lambda d: d.update(format="something-else")), "not an evolab run export"),
    "newer version": (_edit(lambda d: d.update(version=VERSION + 1)), "newer than this evolab reads"),
    "missing field": (_edit(lambda d: d["run"].pop("seed")), "run.seed: missing"),
    "wrong type": (_edit(lambda d: d["generations"][1].update(best="high")), "generations[1].best"),
    "invalid config": (
        _edit(lambda d: d["run"]["config"].update(population_size=-1)),
        "run.config: population_size",
    ),
    "invalid genome": (_edit(_stiff), "creatures[0].genome: muscles[0].stiffness: 5000 is outside"),
    "genome outside the run's constraints": (_edit(_tight_constraints), "creatures[0].genome:"),
    "dangling result": (
        _edit(lambda d: d["generations"][2]["results"][3].update(creature_id="cr_ghost")),
        "generations[2].results[3].creature_id: unknown creature 'cr_ghost'",
    ),
    "dangling frame": (
        _edit(lambda d: d["frames"][0].update(creature_id="cr_ghost")),
        "frames[0].creature_id: unknown creature 'cr_ghost'",
    ),
    "dangling checkpoint": (
        _edit(lambda d: d["checkpoints"][-1]["population"][0].update(creature_id="cr_ghost")),
        "checkpoints[5].population[0].creature_id: unknown creature",
    ),
    "dangling parent": (
        _edit(lambda d: d["creatures"][-1]["genome"].update(parentIds=["cr_ghost"])),
        "parentIds: unknown creature 'cr_ghost'",
    ),
    "gap in generations": (_edit(lambda d: d["generations"].pop(1)), "generations[1].generation: expected 1"),
    "duplicate creature": (_edit(lambda d: d["creatures"].append(d["creatures"][0])), "appears twice"),
    "frames not base64": (_edit(lambda d: d["frames"][0].update(frames="@@not base64@@")), "not valid base64"),
    "frames blob damaged": (
        _edit(lambda d: d["frames"][0].update(frames=base64.b64encode(b"EVF1 garbage").decode())),
        "frames[0]: stored frames are corrupt",
    ),
    "bad generator state": (
        _edit(lambda d: d["checkpoints"][0].update(rng_state={"bit_generator": "MT19937x"})),
        "checkpoints[0].rng_state",
    ),
    "not an object": (lambda d: [1, 2, 3], "expected a JSON object"),
}


@pytest.mark.parametrize("case", list(BAD_DOCUMENTS))
def test_import_refuses_a_bad_document_and_changes_nothing(cli, run_db, exported, tmp_path, case):
    make, message = BAD_DOCUMENTS[case]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(make(exported)))
    before = run_db.path.read_bytes()
    result = cli("import", str(path), "--db", str(run_db.path))
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    line = error_line(result.stderr)
    assert message in line
    assert str(path) in line
    assert "Traceback" not in result.stderr
    assert run_db.path.read_bytes() == before
    fresh = tmp_path / "fresh.db"
    assert cli("import", str(path), "--db", str(fresh)).exit_code == 2
    assert not fresh.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [("{", "not valid JSON"), ("", "not valid JSON"), (None, "cannot read")],
)
def test_import_refuses_unreadable_files(cli, tmp_path, content, message):
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    db = tmp_path / "runs.db"
    result = cli("import", str(path), "--db", str(db))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in error_line(result.stderr)
    assert not db.exists()


def test_parse_document_reports_where_the_problem_is(exported):
    broken = json.loads(json.dumps(exported))
    broken["generations"][0]["results"][0]["pellets"] = -3
    with pytest.raises(TransferError, match=r"generations\[0\]\.results\[0\]\.pellets"):
        parse_document(broken)


def test_a_failed_write_leaves_no_partial_run(run_db, exported, monkeypatch):
    document = parse_document(exported)
    before = run_db.row_counts()

    def boom(*args, **kwargs):  # fails after every row of the run has been written
        raise RuntimeError("disk on fire")

    with Store(run_db.path) as store:
        monkeypatch.setattr("evolab.storage._runs.recompute_records", boom)
        with pytest.raises(RuntimeError):
            import_run(store, document)
    assert run_db.row_counts() == before


def test_export_refuses_unknown_runs_and_missing_folders(cli, run_db, tmp_path):
    unknown = cli("export", "run_nope", "-o", str(tmp_path / "x.json"), "--db", str(run_db.path))
    assert unknown.exit_code == 2
    assert "unknown run" in error_line(unknown.stderr)
    folder = cli("export", run_db.oscillator, "-o", str(tmp_path / "no" / "x.json"), "--db", str(run_db.path))
    assert folder.exit_code == 2
    assert "folder does not exist" in error_line(folder.stderr)
    assert not (tmp_path / "x.json").exists()


def test_a_version_1_document_is_a_run_of_one_trial_without_a_benchmark(exported):
    # version 1 came before trials and the benchmark: its configuration has neither, its results one trial
    old = json.loads(json.dumps(exported))
    old["version"] = 1
    for key in ("trials", "benchmark"):
        old["run"]["config"].pop(key)
    for generation in old["generations"]:
        for key in ("benchmark_fitness", "benchmark_pellets", "benchmark_creature"):
            generation.pop(key)
        for result in generation["results"]:
            result.pop("fitness_std")
            result.pop("trial_pellets")
    parsed = parse_document(old)
    assert parsed.config.trials == 1
    assert not parsed.config.benchmark.enabled
    assert all(r.trial_pellets is None for generation in parsed.generations for r in generation.results)


def test_a_document_from_before_backends_is_a_run_on_the_cpu_kernel(exported):
    old = json.loads(json.dumps(exported))
    del old["run"]["backend"]
    assert parse_document(old).run.backend == "cpu"


def test_an_imported_run_keeps_the_backend_it_was_evolved_on(run_db, exported, tmp_path):
    document = json.loads(json.dumps(exported))
    document["run"]["backend"] = "torch"
    with Store(tmp_path / "other.db") as store:
        info = import_run(store, document)
        assert info.backend == "torch"
