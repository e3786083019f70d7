"""`evolab bench` and `evolab demo`: shapes of their output, never their speed."""

from __future__ import annotations

import json

import pytest

from evolab.bench import WORKLOADS, Workload, run_workload


def test_bench_json_reports_every_workload_with_the_documented_keys(cli, monkeypatch):
    # Shrink the standard workloads so the command's plumbing is tested in seconds.
    small = tuple(Workload(w.name, 4, 0.5, w.neural_mode, w.description, w.gpu_sized) for w in WORKLOADS)
    monkeypatch.setattr("evolab.bench.WORKLOADS", small)
    result = cli("bench", "--json", "--repeats", "1", "--workers", "1", "--backend", "cpu")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [w["name"] for w in document["workloads"]] == ["W1", "W2", "W3"]  # W4 is for GPUs
    assert document["machine"]["backend"].startswith("cpu (")
    for workload in document["workloads"]:
        assert workload["creatures"] == 4
        assert workload["steps"] == 30
        assert workload["creature_steps_per_s"] > 0
        assert workload["seconds_per_generation"] > 0
    assert document["machine"]["workers"] == 1
    assert document["compile_seconds"] >= 0


def test_bench_table_and_workload_filter(cli, monkeypatch):
    small = tuple(Workload(w.name, 3, 0.2, w.neural_mode, w.description, w.gpu_sized) for w in WORKLOADS)
    monkeypatch.setattr("evolab.bench.WORKLOADS", small)
    result = cli("bench", "-w", "w2", "--repeats", "1")
    assert result.exit_code == 0
    assert "W2" in result.stdout
    assert "W1" not in result.stdout
    gpu_sized = cli("bench", "-w", "W4", "--repeats", "1", "--backend", "cpu")  # asked for, it runs anywhere
    assert gpu_sized.exit_code == 0
    assert "W4" in gpu_sized.stdout
    unknown = cli("bench", "-w", "W9")
    assert unknown.exit_code == 2
    assert "unknown workload W9" in unknown.stderr


def test_bench_refuses_a_missing_api_database_before_measuring_anything(cli, tmp_path):
    result = cli("bench", "--api", "--api-db", str(tmp_path / "missing.db"))

    assert result.exit_code == 2
    assert "missing.db: no such database" in result.stderr
    assert "running W1" not in result.stderr
    assert not (tmp_path / "missing.db").exists()


def test_standard_workloads_are_the_designed_ones():
    assert [(w.name, w.creatures, w.steps, w.neural_mode) for w in WORKLOADS] == [
        ("W1", 100, 1200, "off"),
        ("W2", 1000, 1200, "off"),
        ("W3", 1000, 1200, "hybrid"),
        ("W4", 100_000, 1200, "off"),
    ]
    assert [w.name for w in WORKLOADS if w.gpu_sized] == ["W4"]
    result = run_workload(Workload("tiny", 2, 0.1, "off", ""), workers=1, repeats=1)
    assert result.creature_steps_per_s == 2 * 6 / result.seconds_per_generation


def test_demo_evolves_and_reports_each_generation(cli):
    result = cli("demo", "--generations", "3", "--population", "6", "--json")
    assert result.exit_code == 0, result.stderr
    history = json.loads(result.stdout)["generations"]
    assert [row["generation"] for row in history] == [0, 1, 2]
    for row in history:
        assert row["worst"] <= row["median"] <= row["best"]
        assert row["worst"] <= row["average"] <= row["best"]


def test_demo_scores_the_top_creatures_on_the_benchmark_and_names_the_champion(cli):
    document = json.loads(cli("demo", "--generations", "3", "--population", "6", "--json").stdout)
    assert document["trials"] == 4
    scores = [(row["benchmark_fitness"], row["benchmark_pellets"]) for row in document["generations"]]
    assert all(fitness is not None and pellets >= 0 for fitness, pellets in scores)  # every generation is scored
    champion = max(range(3), key=lambda g: scores[g][0])
    text = cli("demo", "--generations", "3", "--population", "6")
    assert text.exit_code == 0, text.stderr
    assert "4 pellet layouts, benchmark on 16 held-out layouts" in text.stdout
    summary = text.stdout.strip().splitlines()[-1]
    fitness, pellets = scores[champion]
    assert f"champion (benchmark) {pellets:.2f} pellets, fitness {fitness:.1f} in generation {champion}" in summary


def test_demo_is_reproducible_and_refuses_bad_options(cli):
    first = cli("demo", "--generations", "2", "--population", "4", "--json", "--seed", "9")
    second = cli("demo", "--generations", "2", "--population", "4", "--json", "--seed", "9")
    strip = [
        {k: v for k, v in row.items() if k != "creature_steps_per_s"} for row in json.loads(first.stdout)["generations"]
    ]
    again = [
        {k: v for k, v in row.items() if k != "creature_steps_per_s"}
        for row in json.loads(second.stdout)["generations"]
    ]
    assert strip == again
    bad = cli("demo", "--preset", "nope")
    assert bad.exit_code == 2
    assert "unknown preset" in bad.stderr
    bad_count = cli("demo", "--generations", "0")
    assert bad_count.exit_code == 2


def test_end_to_end_benchmark_reports_a_consistent_breakdown(tmp_path):
    from evolab.bench import run_end_to_end

    result = run_end_to_end(str(tmp_path), generations=2, population=8, duration=0.5, workers=1)
    assert result.generations == 2
    assert 0.0 < result.kernel_seconds < result.wall_seconds
    assert 0.0 <= result.host_share <= 1.0
    parts = (result.store_seconds_per_generation + result.ga_seconds_per_generation) * result.generations
    assert parts < result.wall_seconds
    assert result.database_bytes == result.database_bytes_per_generation * 2 > 0
    assert (tmp_path / "e1.db").exists()


def test_end_to_end_side_by_side_runs_each_backend_in_turns_and_stores_the_same_run(tmp_path):
    from evolab.bench import run_end_to_end_side_by_side
    from evolab.physics.backend_cpu import CpuBackend
    from evolab.storage import Store

    results = run_end_to_end_side_by_side(
        str(tmp_path), [None, CpuBackend(1)], generations=5, population=8, duration=0.5, workers=2, turn=2
    )
    assert [r.generations for r in results] == [5, 5]
    assert [r.workers for r in results] == [2, 2]
    assert all(0.0 < r.kernel_seconds < r.wall_seconds for r in results)
    stored = []
    for db in ("e1.db", "e1-1.db"):
        with Store(tmp_path / db) as store:
            (run,) = store.list_runs()
            assert run.generation_count == 5
            stored.append([[(r.creature_id, r.fitness) for r in store.results(run.id, g)] for g in range(5)])
    assert stored[0] == stored[1]  # turns change when each generation runs, never what it computes


def test_bench_on_the_torch_backend_also_times_its_gradients(cli, monkeypatch):
    pytest.importorskip("torch")
    small = (Workload("W1", 2, 0.2, "off", "tiny"),)
    monkeypatch.setattr("evolab.bench.WORKLOADS", small)
    result = cli("bench", "--backend", "torch", "--repeats", "1", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["machine"]["backend"].startswith("torch ")
    cost = document["gradient_cost"]
    assert cost["gradient_seconds_per_creature_step"] > cost["forward_seconds_per_creature_step"] > 0
    assert cost["ratio"] == cost["gradient_seconds_per_creature_step"] / cost["forward_seconds_per_creature_step"]
