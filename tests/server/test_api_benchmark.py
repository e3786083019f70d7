"""Trials and the held-out benchmark through the API: each result's spread over its trials, each
generation's benchmark score, the run's champion judged on the benchmark and how its score changed;
and nulls for a run of one trial without a benchmark, whose best is simply the fittest creature."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evolab.runner.progress import benchmark_progress
from evolab.server.schemas import AnalyticsDoc, CreatureDoc, GenerationDoc, GenerationStatsPage, RunDetail, RunPage
from evolab.storage import Store
from tests.server.shared import TestClient, make_run, serve

GENERATIONS = 4
TRIALS = 2
TINY: dict[str, Any] = {"population_size": 10, "sim": {"duration": 1.0}}
BENCHMARK: dict[str, Any] = {"layouts": 4, "top": 2}
NO_BENCHMARK: dict[str, Any] = {"enabled": False}


@dataclass(frozen=True)
class Runs:
    """`trials_id`: 4 generations of 2 trials, scored on a 4-layout benchmark; `single_id`: 3 generations
    of one trial and no benchmark, as runs were before trials."""

    client: TestClient
    store: Store
    trials_id: str
    single_id: str

    def get(self, url: str) -> Any:
        response = self.client.get(url)
        assert response.status_code == 200, response.text
        return response.json()

    def run(self, run_id: str) -> dict[str, Any]:
        return self.get(f"/api/runs/{run_id}")

    def cards(self, run_id: str, generation: int) -> list[dict[str, Any]]:
        return self.get(f"/api/runs/{run_id}/generations/{generation}")["creatures"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    db: Path = tmp_path_factory.mktemp("benchmark") / "evolution.db"
    trials_id = make_run(db, GENERATIONS, seed=11, trials=TRIALS, benchmark=BENCHMARK, **TINY)
    single_id = make_run(db, 3, seed=12, trials=1, benchmark=NO_BENCHMARK, **TINY)
    with serve(db) as client, Store(db) as store:
        yield Runs(client, store, trials_id, single_id)


# -- a run of several trials with a benchmark -------------------------------------------------------------


def test_a_runs_configuration_gives_its_trials_and_benchmark(runs: Runs) -> None:
    run = runs.run(runs.trials_id)

    assert run["trials"] == TRIALS
    assert run["config"]["trials"] == TRIALS
    assert run["config"]["benchmark"] == {"layouts": 4, "top": 2, "every": 1, "enabled": True}


def test_every_generation_lists_its_benchmark_score_as_stored(runs: Runs) -> None:
    docs = runs.get(f"/api/runs/{runs.trials_id}/generations")["data"]
    stored = runs.store.generation_stats(runs.trials_id)

    assert len(docs) == GENERATIONS
    for doc, stats in zip(docs, stored, strict=True):
        assert (doc["benchmark_fitness"], doc["benchmark_pellets"], doc["benchmark_creature"]) == (
            stats.benchmark_fitness,
            stats.benchmark_pellets,
            stats.benchmark_creature,
        )
        assert doc["benchmark_fitness"] is not None
        # the score is of one of the generation's top creatures
        top = [c["id"] for c in runs.cards(runs.trials_id, doc["generation"])[: BENCHMARK["top"]]]
        assert doc["benchmark_creature"] in top


def test_a_generations_stats_carry_its_benchmark_score(runs: Runs) -> None:
    (latest,) = runs.get(f"/api/runs/{runs.trials_id}/generations?start={GENERATIONS - 1}")["data"]

    stats = runs.get(f"/api/runs/{runs.trials_id}/generations/{GENERATIONS - 1}")["stats"]

    assert stats == latest


def test_the_best_of_a_run_is_its_champion_on_the_benchmark(runs: Runs) -> None:
    history = runs.get(f"/api/runs/{runs.trials_id}/generations")["data"]
    champion = max(history, key=lambda s: s["benchmark_fitness"])  # the first of equals, as the run keeps it

    run = runs.run(runs.trials_id)

    assert run["best_by_benchmark"] is True
    assert (run["best_creature_id"], run["best_generation"]) == (champion["benchmark_creature"], champion["generation"])
    assert (run["best_fitness"], run["best_pellets"]) == (champion["benchmark_fitness"], champion["benchmark_pellets"])


def test_the_run_list_says_the_best_is_judged_on_the_benchmark(runs: Runs) -> None:
    (entry,) = [r for r in runs.get("/api/runs")["data"] if r["id"] == runs.trials_id]
    run = runs.run(runs.trials_id)

    assert {k: entry[k] for k in ("best_fitness", "best_pellets", "best_by_benchmark", "best_creature_id")} == {
        k: run[k] for k in ("best_fitness", "best_pellets", "best_by_benchmark", "best_creature_id")
    }
    assert "benchmark_progress" not in entry  # read from the whole history: only for one run at a time


def test_a_run_gives_its_benchmark_progress_as_evolab_stats_does(runs: Runs) -> None:
    expected = benchmark_progress(
        runs.store.generation_stats(runs.trials_id), runs.store.get_run(runs.trials_id)
    ).to_dict()

    progress = runs.run(runs.trials_id)["benchmark_progress"]

    assert progress == expected
    assert (progress["scored"], progress["window"]) == (GENERATIONS, 1)
    run = runs.run(runs.trials_id)
    assert (progress["champion_id"], progress["champion_pellets"]) == (run["best_creature_id"], run["best_pellets"])


def test_analytics_give_the_same_benchmark_progress_and_trace_the_champion(runs: Runs) -> None:
    run = runs.run(runs.trials_id)

    analytics = runs.get(f"/api/runs/{runs.trials_id}/analytics")

    assert analytics["benchmark_progress"] == run["benchmark_progress"]
    assert analytics["best_lineage"][0]["id"] == run["best_creature_id"]


def test_a_card_gives_the_mean_fitness_its_spread_and_the_pellets_of_each_trial(runs: Runs) -> None:
    for generation in range(GENERATIONS):
        results = runs.store.results(runs.trials_id, generation)
        cards = runs.cards(runs.trials_id, generation)
        for card, result in zip(cards, results, strict=True):
            assert (card["fitness"], card["fitness_std"]) == (result.fitness, result.fitness_std)
            assert card["trial_pellets"] == list(result.trial_pellets)
            assert len(card["trial_pellets"]) == TRIALS
            assert sum(card["trial_pellets"]) == card["pellets"]
            assert card["pellets_spawned"] == card["pellets"] + TRIALS  # each layout shows one pellet more
            assert card["fitness_std"] >= 0


def test_a_creatures_results_give_its_spread_and_pellets_per_trial(runs: Runs) -> None:
    card = runs.cards(runs.trials_id, 1)[0]

    results = runs.get(f"/api/runs/{runs.trials_id}/creatures/{card['id']}")["results"]

    (in_generation_1,) = [r for r in results if r["generation"] == 1]
    assert (in_generation_1["fitness_std"], in_generation_1["trial_pellets"]) == (
        card["fitness_std"],
        card["trial_pellets"],
    )
    assert all(len(r["trial_pellets"]) == TRIALS for r in results)


# -- a run of one trial without a benchmark ---------------------------------------------------------------


def test_a_one_trial_run_without_a_benchmark_has_no_benchmark_scores(runs: Runs) -> None:
    docs = runs.get(f"/api/runs/{runs.single_id}/generations")["data"]

    assert {(d["benchmark_fitness"], d["benchmark_pellets"], d["benchmark_creature"]) for d in docs} == {
        (None, None, None)
    }
    assert runs.run(runs.single_id)["benchmark_progress"] is None
    assert runs.get(f"/api/runs/{runs.single_id}/analytics")["benchmark_progress"] is None


def test_a_one_trial_runs_best_is_its_fittest_creature(runs: Runs) -> None:
    cards = [c for g in range(3) for c in runs.cards(runs.single_id, g)]
    fittest = max(cards, key=lambda c: c["fitness"])

    run = runs.run(runs.single_id)

    assert (run["best_by_benchmark"], run["best_pellets"], run["trials"]) == (False, None, 1)
    assert (run["best_creature_id"], run["best_fitness"]) == (fittest["id"], fittest["fitness"])


def test_a_one_trial_result_has_no_spread_and_no_pellets_per_trial(runs: Runs) -> None:
    cards = runs.cards(runs.single_id, 2)
    results = runs.get(f"/api/runs/{runs.single_id}/creatures/{cards[0]['id']}")["results"]

    assert {(c["fitness_std"], c["trial_pellets"]) for c in cards} == {(None, None)}
    assert all(c["pellets_spawned"] == c["pellets"] + 1 for c in cards)
    assert {(r["fitness_std"], r["trial_pellets"]) for r in results} == {(None, None)}


# -- the documented shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["trials", "single"])
def test_every_answer_matches_its_documented_response_model(runs: Runs, which: str) -> None:
    run_id = runs.trials_id if which == "trials" else runs.single_id
    creature = runs.cards(run_id, 0)[0]["id"]

    RunDetail.model_validate(runs.run(run_id), strict=True)
    RunPage.model_validate(runs.get("/api/runs"), strict=True)
    GenerationStatsPage.model_validate(runs.get(f"/api/runs/{run_id}/generations"), strict=True)
    GenerationDoc.model_validate(runs.get(f"/api/runs/{run_id}/generations/0"), strict=True)
    CreatureDoc.model_validate(runs.get(f"/api/runs/{run_id}/creatures/{creature}"), strict=True)
    AnalyticsDoc.model_validate(runs.get(f"/api/runs/{run_id}/analytics"), strict=True)


def test_the_openapi_schema_documents_the_benchmark_fields(runs: Runs) -> None:
    schemas = runs.get("/openapi.json")["components"]["schemas"]

    assert {"benchmark_fitness", "benchmark_pellets", "benchmark_creature"} <= set(
        schemas["GenerationStatsDoc"]["properties"]
    )
    assert {"fitness_std", "trial_pellets"} <= set(schemas["CreatureCard"]["properties"])
    assert {"fitness_std", "trial_pellets"} <= set(schemas["ResultDoc"]["properties"])
    assert {"best_pellets", "best_by_benchmark", "trials"} <= set(schemas["RunSummary"]["properties"])
    assert "benchmark_progress" in schemas["RunDetail"]["properties"]
    assert "pellets_ratio" in schemas["BenchmarkProgressDoc"]["properties"]
