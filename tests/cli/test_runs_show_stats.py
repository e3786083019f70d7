"""`evolab runs`, `evolab show` and `evolab stats` on a real two-run database."""

from __future__ import annotations

import json

import pytest

from evolab.cli._table import subsample
from evolab.cli.stats import node_shares
from tests.cli import rundb
from tests.cli.rundb import error_line

run_db_template = rundb.run_db_template
run_db = rundb.run_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_runs_lists_every_run_as_a_table(cli, run_db):
    result = cli("runs", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    header, *rows = result.stdout.strip().splitlines()
    assert header.split()[:3] == ["id", "name", "status"]
    assert len(rows) == 2
    assert any(row.startswith(run_db.oscillator) and "oscillators" in row for row in rows)
    assert any(row.startswith(run_db.neural) for row in rows)


def test_runs_json_matches_the_store(cli, run_db):
    result = cli("runs", "--json", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert isinstance(document, list)
    by_id = {entry["id"]: entry for entry in document}
    with run_db.store() as store:
        for run in store.list_runs():
            entry = by_id[run.id]
            assert set(entry) >= {"id", "name", "status", "generation_count", "best_fitness", "created_at", "seed"}
            assert entry["name"] == run.name
            assert entry["status"] == run.status == "completed"
            assert entry["generation_count"] == run.generation_count
            assert entry["best_fitness"] == run.best_fitness
            assert entry["parent_run_id"] is None
            assert entry["fork_generation"] is None
    assert by_id[run_db.oscillator]["generation_count"] == 5
    assert by_id[run_db.oscillator]["seed"] == 1


def test_runs_on_a_missing_database_refuses_and_creates_nothing(cli, tmp_path):
    missing = tmp_path / "none.db"
    result = cli("runs", "--db", str(missing))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no such database" in error_line(result.stderr)
    assert not missing.exists()


def test_runs_on_an_empty_database_prints_an_empty_list(cli, tmp_path):
    from evolab.storage import Store

    path = tmp_path / "empty.db"
    Store(path).close()
    assert json.loads(cli("runs", "--json", "--db", str(path)).stdout) == []
    text = cli("runs", "--db", str(path))
    assert text.exit_code == 0
    assert text.stdout == ""
    assert "no runs" in text.stderr


def test_show_summarises_a_run(cli, run_db):
    result = cli("show", run_db.oscillator, "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    with run_db.store() as store:
        run = store.get_run(run_db.oscillator)
    out = result.stdout
    assert run.id in out
    assert "completed, 5 generations (0 to 4)" in out
    assert "population 10" in out
    assert "neural off" in out
    assert f"{run.best_fitness:.2f}" in out
    assert run.best_creature_id in out
    assert "last gen     4:" in out


def test_show_json_has_stable_keys(cli, run_db):
    result = cli("show", run_db.neural, "--json", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert {
        "id",
        "name",
        "status",
        "seed",
        "generation_count",
        "settings",
        "config",
        "best",
        "longest_survivor",
    } <= set(document)
    assert document["seed"] == 2
    assert document["settings"]["neural_mode"] == "hybrid"
    assert document["settings"]["population_size"] == 8
    assert document["config"]["sim"]["neural_mode"] == "hybrid"
    with run_db.store() as store:
        run = store.get_run(run_db.neural)
    assert document["best"]["creature_id"] == run.best_creature_id
    assert document["best"]["fitness"] == run.best_fitness
    assert document["best"]["generation"] == run.best_generation
    assert document["best"]["name"]
    assert document["last_generation"]["generation"] == 2
    assert document["parent_run_id"] is None


def test_show_refuses_an_unknown_run_with_a_hint(cli, run_db):
    result = cli("show", "run_nope", "--db", str(run_db.path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown run 'run_nope'" in error_line(result.stderr)
    assert "hint: `evolab runs --db" in result.stderr


def test_stats_json_has_every_generation_top_and_lineage(cli, run_db):
    result = cli("stats", run_db.oscillator, "--json", "--top", "4", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    with run_db.store() as store:
        history = store.generation_stats(run_db.oscillator)
        run = store.get_run(run_db.oscillator)
        top = store.top_results(run_db.oscillator, 4)
    assert [g["generation"] for g in document["generations"]] == [0, 1, 2, 3, 4]
    for entry, stats in zip(document["generations"], history, strict=True):
        for key in ("best", "average", "worst", "median", "p10", "p25", "p75", "p90"):
            assert entry[key] == getattr(stats, key)
        assert {int(k): v for k, v in entry["node_counts"].items()} == stats.node_counts
        assert sum(entry["node_counts"].values()) == 10
    assert [t["creature_id"] for t in document["top"]] == [r.creature_id for r in top]
    assert document["top"][0]["fitness"] == run.best_fitness
    lineage = document["lineage"]
    assert lineage[0]["creature_id"] == run.best_creature_id
    assert all({"creature_id", "name", "born", "origin", "parent_ids"} <= set(step) for step in lineage)
    assert lineage[-1]["born"] == 0


def test_stats_text_prints_the_tables(cli, run_db):
    result = cli("stats", run_db.oscillator, "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for title in ("Fitness per generation", "Body sizes", "Top creatures", "Lineage of the best creature"):
        assert title in out
    assert result.stderr == ""


def test_stats_subsamples_long_runs_with_a_note(cli, run_db, monkeypatch):
    monkeypatch.setattr("evolab.cli.stats.MAX_ROWS", 3)
    result = cli("stats", run_db.oscillator, "--top", "0", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    assert "showing 3 of 5 generations" in result.stderr
    fitness_table = result.stdout.split("\n\n")[0].splitlines()[2:]
    assert [row.split()[0] for row in fitness_table] == ["0", "2", "4"]


def test_stats_plot_writes_a_png(cli, run_db, tmp_path):
    image = tmp_path / "curves.png"
    result = cli("stats", run_db.neural, "--plot", str(image), "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    assert image.read_bytes()[:8] == PNG_SIGNATURE
    assert f"wrote plot to {image}" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("name", "message"), [("curves.gif", "unsupported image type"), ("no/dir/x.png", "folder")])
def test_stats_refuses_a_bad_plot_path(cli, run_db, tmp_path, name, message):
    result = cli("stats", run_db.oscillator, "--plot", str(tmp_path / name), "--db", str(run_db.path))
    assert result.exit_code == 2
    assert message in error_line(result.stderr)
    assert result.stdout == ""


def test_stats_refuses_an_unknown_run(cli, run_db):
    result = cli("stats", "run_nope", "--json", "--db", str(run_db.path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown run" in error_line(result.stderr)


def test_subsample_keeps_the_ends_and_the_limit():
    assert subsample(5, 40) == [0, 1, 2, 3, 4]
    rows = subsample(1000, 40)
    assert len(rows) == 40
    assert rows[0] == 0
    assert rows[-1] == 999
    assert rows == sorted(set(rows))


def test_node_shares_put_large_bodies_in_the_last_bucket():
    shares = node_shares({2: 1, 3: 1, 9: 1, 12: 1})
    assert shares == [25.0, 25.0, 0.0, 0.0, 0.0, 0.0, 50.0]
    assert node_shares({}) == [0.0] * 7
