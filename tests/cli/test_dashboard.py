"""The live dashboard is a function from a snapshot to a renderable: checked by rendering to text."""

from __future__ import annotations

import io
import json

from rich.console import Console

from evolab.cli.dashboard import Snapshot, plain_line, render_dashboard, sparkline


def snapshot(**changes) -> Snapshot:
    values = {
        "run_id": "run_20261126_120000_abcd",
        "run_name": "long legs",
        "generation": 30,
        "first_generation": 10,
        "target_generation": 110,
        "elapsed": 10.0,
        "best": 212.5,
        "average": 61.25,
        "worst": 0.0,
        "median": 48.0,
        "creature_steps_per_s": 2_500_000.0,
        "best_history": (10.0, 50.0, 212.5),
        "best_ever": (230.0, "cr_00000000000000ff", 27, None),
        "best_ever_name": "RB255",
    }
    values.update(changes)
    return Snapshot(**values)


def render(s: Snapshot) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(render_dashboard(s))
    return console.file.getvalue()


def test_dashboard_shows_progress_rates_eta_and_fitness():
    text = render(snapshot())
    assert "long legs" in text
    assert "gen 30/110" in text
    assert "2.00 gen/s" in text  # 20 generations in 10 s
    assert "ETA 00:40" in text  # 80 to go at 2 per second
    assert "212.5" in text
    assert "61.2" in text
    assert "2,500,000" in text


def test_dashboard_names_the_best_creature_ever():
    text = render(snapshot())
    assert "best ever RB255 (cr_00000000000000ff) fitness 230.0 in generation 27" in text


def test_dashboard_names_the_champion_by_its_benchmark_score():
    text = render(snapshot(best_ever=(180.25, "cr_00000000000000ff", 27, 2.5)))
    assert "champion  RB255 (cr_00000000000000ff) gen 27: 2.50 pellets, fitness 180.2" in text
    assert "best ever" not in text


def test_dashboard_shows_the_latest_benchmark_score():
    text = render(snapshot(benchmark=(150.0, 1.75, 29), trials=4, benchmark_layouts=16))
    assert "benchmark gen 29: 1.75 pellets, fitness 150.0" in text
    assert "4 trials per creature, benchmark on 16 held-out layouts" in text


def test_dashboard_of_a_run_without_a_benchmark_says_so():
    text = render(snapshot())
    assert "1 trial per creature, no benchmark" in text
    assert "benchmark " not in text.replace("no benchmark", "")


def test_dashboard_before_the_first_generation_has_no_rate_or_eta():
    text = render(snapshot(generation=10, best_history=(), best_ever=None))
    assert "-- gen/s" in text
    assert "ETA --:--" in text
    assert "best ever" not in text


def test_dashboard_says_when_it_is_stopping():
    assert "stopping after this generation" in render(snapshot(stopping=True))


def test_sparkline_scales_between_min_and_max():
    assert sparkline([0.0, 1.0]) == "▁█"
    assert sparkline([5.0, 5.0, 5.0]) == "▁▁▁"
    assert sparkline([]) == ""
    assert len(sparkline(list(range(100)), width=60)) == 60


def test_plain_line_reports_the_generation_just_stored():
    line = plain_line(snapshot())
    assert line.startswith("gen    29")
    assert "best   212.50" in line
    assert "(30/110)" in line


def test_plain_line_has_the_benchmark_score_only_of_a_scored_generation():
    assert "benchmark   150.00 (1.75 pellets)" in plain_line(snapshot(benchmark=(150.0, 1.75, 29)))
    assert "benchmark" not in plain_line(snapshot(benchmark=(150.0, 1.75, 25)))  # an older generation's
    assert "benchmark" not in plain_line(snapshot())


def test_evolve_prints_one_plain_line_per_generation_when_not_on_a_terminal(cli, tmp_path):
    db = tmp_path / "plain.db"
    result = cli(
        "evolve",
        "--preset",
        "quick",
        "--population",
        "6",
        "--duration",
        "0.5",
        "-g",
        "3",
        "--seed",
        "2",
        "--db",
        str(db),
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["0", "1", "2"]
    assert all("benchmark" in line for line in lines)  # every generation is scored by default
    assert "4 trials per creature, benchmark on 16 held-out layouts" in result.stderr
    assert "evolab show" in result.stderr
    assert f"evolab serve --db {db}" in result.stderr  # the browser view of the same file
    runs = json.loads(cli("runs", "--db", str(db), "--json").stdout)
    assert runs[0]["generation_count"] == 3
    assert runs[0]["status"] == "completed"


def test_evolve_with_one_trial_and_no_benchmark_says_so(cli, tmp_path):
    config = tmp_path / "one.toml"
    config.write_text("trials = 1\n[benchmark]\nenabled = false\n")
    result = cli(
        "evolve", "--config", str(config), "--population", "4", "--elites", "1", "--duration", "0.5",
        "-g", "2", "--seed", "2", "--db", str(tmp_path / "one.db"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "1 trial per creature, no benchmark" in result.stderr
    assert "benchmark" not in result.stdout
