"""`evolab runs`, `evolab show` and `evolab stats` on a real two-run database."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from evolab.cli._table import subsample
from evolab.cli.runs import describe_judging
from evolab.cli.stats import format_trials, node_shares, write_plot
from evolab.runner.progress import benchmark_progress
from tests.cli import rundb
from tests.cli.rundb import error_line

run_db_template = rundb.run_db_template
run_db = rundb.run_db
single_trial_template = rundb.single_trial_template
single_trial_db = rundb.single_trial_db

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
    assert "cpu backend" in out


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
    assert document["backend"] == "cpu"
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
    assert document["top"][0]["fitness"] == max(s.best for s in history)  # the fittest on selection layouts
    lineage = document["lineage"]  # of the champion, judged on the benchmark
    assert lineage[0]["creature_id"] == run.best_creature_id
    assert all({"creature_id", "name", "born", "origin", "parent_ids"} <= set(step) for step in lineage)
    assert lineage[-1]["born"] == 0


def test_show_reports_trials_the_benchmark_and_the_champion(cli, run_db):
    result = cli("show", run_db.oscillator, "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    with run_db.store() as store:
        run = store.get_run(run_db.oscillator)
        last = store.generation(run.id, 4)
    assert run.best_by_benchmark
    lines = result.stdout.splitlines()
    assert "             4 trials per creature, benchmark: the best of each generation on 16 held-out layouts" in lines
    best = next(line for line in lines if line.startswith("best ever"))
    assert best.startswith(
        f"best ever    champion (benchmark): {run.best_pellets:.2f} pellets, fitness {run.best_fitness:.2f}, "
        f"gen {run.best_generation}  {run.best_creature_id} "
    )
    last_line = next(line for line in lines if line.startswith("last gen"))
    assert last_line.endswith(f"  benchmark {last.benchmark_pellets:.2f} pellets, fitness {last.benchmark_fitness:.2f}")


def test_show_json_has_trials_the_benchmark_and_the_champion(cli, run_db):
    result = cli("show", run_db.oscillator, "--json", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    with run_db.store() as store:
        run = store.get_run(run_db.oscillator)
        last = store.generation(run.id, 4)
    assert document["settings"]["trials"] == 4
    assert document["settings"]["benchmark"] == {"layouts": 16, "top": 1, "every": 1, "enabled": True}
    assert document["best_by_benchmark"] is True
    assert document["best_pellets"] == run.best_pellets
    assert document["best"] == {
        "creature_id": run.best_creature_id,
        "name": document["best"]["name"],
        "fitness": run.best_fitness,
        "pellets": run.best_pellets,
        "generation": run.best_generation,
        "by_benchmark": True,
    }
    assert document["last_generation"]["benchmark_fitness"] == last.benchmark_fitness
    assert document["last_generation"]["benchmark_pellets"] == last.benchmark_pellets
    assert document["last_generation"]["benchmark_creature"] == last.benchmark_creature


def test_show_of_a_run_without_a_benchmark_reports_the_fittest_creature(cli, single_trial_db):
    path, run_id = single_trial_db
    result = cli("show", run_id, "--db", str(path))
    assert result.exit_code == 0, result.stderr
    from evolab.storage import Store

    with Store(path) as store:
        run = store.get_run(run_id)
    assert not run.best_by_benchmark
    out = result.stdout
    assert "1 trial per creature, no benchmark" in out
    assert f"best ever    {run.best_fitness:.2f}  {run.best_creature_id} " in out
    assert "champion" not in out
    assert "benchmark " not in next(line for line in out.splitlines() if line.startswith("last gen"))
    document = json.loads(cli("show", run_id, "--json", "--db", str(path)).stdout)
    assert document["best"]["by_benchmark"] is False
    assert document["best"]["pellets"] is None
    assert document["last_generation"]["benchmark_fitness"] is None


def test_stats_json_has_the_benchmark_progress_and_the_trials(cli, run_db):
    result = cli("stats", run_db.oscillator, "--json", "--top", "3", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    with run_db.store() as store:
        history = store.generation_stats(run_db.oscillator)
        run = store.get_run(run_db.oscillator)
    progress = benchmark_progress(history, run)
    assert document["benchmark"] == progress.to_dict()
    assert document["benchmark"]["champion_id"] == run.best_creature_id
    assert document["benchmark"]["champion_pellets"] == run.best_pellets
    for entry, stats in zip(document["generations"], history, strict=True):
        assert entry["benchmark_fitness"] == stats.benchmark_fitness is not None
        assert entry["benchmark_pellets"] == stats.benchmark_pellets is not None
    for creature in document["top"]:
        assert len(creature["trial_pellets"]) == 4
        assert sum(creature["trial_pellets"]) == creature["pellets"]
        assert creature["fitness_std"] >= 0


def test_stats_json_of_a_run_without_a_benchmark_has_none(cli, single_trial_db):
    path, run_id = single_trial_db
    result = cli("stats", run_id, "--json", "--top", "3", "--db", str(path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    from evolab.storage import Store

    with Store(path) as store:
        run = store.get_run(run_id)
    assert document["benchmark"] is None
    assert all(g["benchmark_fitness"] is None for g in document["generations"])
    assert document["top"][0]["fitness"] == run.best_fitness  # best ever is simply the fittest
    assert document["top"][0]["fitness_std"] is None
    assert document["top"][0]["trial_pellets"] is None
    assert document["lineage"][0]["creature_id"] == run.best_creature_id


def test_stats_text_shows_how_the_benchmark_score_changed_and_the_champion(cli, run_db):
    result = cli("stats", run_db.oscillator, "--top", "3", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    with run_db.store() as store:
        history = store.generation_stats(run_db.oscillator)
        run = store.get_run(run_db.oscillator)
    progress = benchmark_progress(history, run)
    sections = result.stdout.split("\n\n")
    fitness = sections[0].splitlines()
    assert fitness[1].split()[-3:] == ["benchmark", "bench", "pellets"]
    assert fitness[2].split()[-2:] == [f"{history[0].benchmark_fitness:.2f}", f"{history[0].benchmark_pellets:.2f}"]
    title, _, pellets, fitness_row, champion = sections[1].splitlines()
    assert title == "Benchmark on held-out layouts (5 generations scored; first and last tenth: 1 generation each)"
    assert pellets.split()[:3] == ["pellets", f"{progress.first_pellets:.2f}", f"{progress.last_pellets:.2f}"]
    assert fitness_row.split() == [
        "fitness",
        f"{progress.first_fitness:.2f}",
        f"{progress.last_fitness:.2f}",
        f"{progress.last_fitness - progress.first_fitness:+.2f}",
    ]
    assert champion.startswith(f"champion {run.best_creature_id} ")
    score = f"{run.best_pellets:.2f} pellets, fitness {run.best_fitness:.2f} on the benchmark"
    assert champion.endswith(f"generation {run.best_generation}: {score}")
    assert " ± " in sections[3]  # top creatures: fitness with its spread over the trials
    assert "Lineage of the champion" in result.stdout


def test_stats_text_of_a_run_without_a_benchmark_has_no_benchmark_section(cli, single_trial_db):
    path, run_id = single_trial_db
    result = cli("stats", run_id, "--db", str(path))
    assert result.exit_code == 0, result.stderr
    assert "benchmark" not in result.stdout.lower()
    assert "±" not in result.stdout
    assert "Lineage of the best creature" in result.stdout


@pytest.mark.parametrize(
    ("benchmark", "judged"),
    [
        ({"enabled": False}, "2 trials per creature, no benchmark"),
        ({"top": 1, "every": 1}, "2 trials per creature, benchmark: the best of each generation on 8 held-out layouts"),
        ({"top": 3, "every": 5}, "2 trials per creature, benchmark: top 3 every 5 generations on 8 held-out layouts"),
    ],
)
def test_judging_says_who_is_benchmarked_and_how_often(benchmark, judged):
    assert describe_judging(2, {"layouts": 8, "top": 1, "every": 1, "enabled": True, **benchmark}) == judged


def test_format_trials_splits_pellets_over_a_few_trials():
    assert format_trials((2, 0, 3, 0), 5) == "5 (2+0+3+0)"
    assert format_trials(None, 5) == "5"
    assert format_trials(tuple(range(9)), 36) == "36"  # too many to read


def test_plot_draws_the_benchmark_skipping_unscored_generations(run_db, tmp_path, monkeypatch):
    import matplotlib.figure

    with run_db.store() as store:
        history = store.generation_stats(run_db.oscillator)
    history[1] = replace(history[1], benchmark_fitness=None, benchmark_pellets=None)  # as with `every` 2
    drawn = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    write_plot(tmp_path / "curves.png", history, "title")
    fitness_ax, pellets_ax = drawn[0].axes[0], drawn[0].axes[-1]
    lines = {line.get_label(): line for ax in drawn[0].axes for line in ax.get_lines()}
    scored = [s for s in history if s.benchmark_fitness is not None]
    assert list(lines["benchmark"].get_xdata()) == [s.generation for s in scored] == [0, 2, 3, 4]
    assert list(lines["benchmark"].get_ydata()) == [s.benchmark_fitness for s in scored]
    assert lines["benchmark"] in fitness_ax.get_lines()
    assert list(lines["benchmark pellets (right axis)"].get_ydata()) == [s.benchmark_pellets for s in scored]
    assert lines["benchmark pellets (right axis)"] in pellets_ax.get_lines()
    assert "benchmark" in [t.get_text() for t in fitness_ax.get_legend().get_texts()]


def test_plot_of_a_run_without_a_benchmark_draws_no_benchmark(run_db, tmp_path, monkeypatch):
    import matplotlib.figure

    with run_db.store() as store:
        history = [
            replace(s, benchmark_fitness=None, benchmark_pellets=None)
            for s in store.generation_stats(run_db.oscillator)
        ]
    drawn = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: drawn.append(fig))
    write_plot(tmp_path / "curves.png", history, "title")
    assert len(drawn[0].axes) == 2  # fitness and body sizes, no second axis
    assert "benchmark" not in [line.get_label() for line in drawn[0].axes[0].get_lines()]


def test_stats_text_prints_the_tables(cli, run_db):
    result = cli("stats", run_db.oscillator, "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for title in ("Fitness per generation", "Benchmark on held-out layouts", "Body sizes", "Top creatures"):
        assert title in out
    assert "Lineage of the champion" in out
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
