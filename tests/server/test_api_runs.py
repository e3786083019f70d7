"""The HTTP API over one database: runs, their generations and creatures, replays, lineage, analytics,
presets, health and jobs (the contract in docs: ranks are 1-based, 1 = best)."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

import evolab
from evolab.config import EvolutionConfig, preset_names
from evolab.genome import Genome
from evolab.genome.genes import M_FREQUENCY, M_STIFFNESS, N_POS, N_SIZE
from evolab.physics.backends import OPTIONAL_BACKENDS
from evolab.runner import Run, replay_creature
from evolab.server.schemas import CreatureCard
from evolab.server.views import segment_means
from evolab.storage import GenerationStats, Store
from tests.server.shared import (
    DEADLINE,
    FEW_FRAMES,
    POPULATION,
    RUN_TABLES,
    SMALL,
    TestClient,
    advance,
    create_run,
    make_run,
    orphan_rows,
    run_rows,
    serve,
    settled,
    small_config,
    wait_until,
    writer_idle,
)

SEED = 2026
GENERATIONS = 6
LONG = 100_000
"""An advance that never finishes within a test: it is always stopped (or deleted) early."""


@dataclass(frozen=True)
class Stored:
    """A database written outside the server, served read-only to the tests that only look.

    `run_id`: 6 generations that kept 4 of 8 replays each; `turbo_id`: 2 generations that kept none.
    """

    client: TestClient
    db: Path
    store: Store
    run_id: str
    turbo_id: str

    def get(self, url: str, **params: Any) -> Any:
        response = self.client.get(url, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def cards(self, generation: int, run_id: str | None = None) -> list[dict[str, Any]]:
        return self.get(f"/api/runs/{run_id or self.run_id}/generations/{generation}")["creatures"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    db = tmp_path_factory.mktemp("stored") / "evolution.db"
    run_id = make_run(db, GENERATIONS, seed=SEED, frames=FEW_FRAMES)
    turbo_id = make_run(db, 2, seed=SEED + 1, frames={"enabled": False})
    with serve(db) as client, Store(db) as store:
        yield Stored(client, db, store, run_id, turbo_id)


def get_run(client: TestClient, run_id: str) -> dict[str, Any]:
    response = client.get(f"/api/runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()


def without_timings(history: list[GenerationStats]) -> list[GenerationStats]:
    return [dataclasses.replace(s, sim_seconds=0.0, host_seconds=0.0) for s in history]


# -- the run list ------------------------------------------------------------------------------------


def test_the_run_list_is_newest_first_and_includes_runs_written_outside_the_server(db_path: Path) -> None:
    before_start = make_run(db_path, 2, seed=1)
    with serve(db_path) as client:
        through_api = create_run(client)["id"]
        while_serving = make_run(db_path, 1, seed=2)  # another writer, as `evolab evolve` would be
        response = client.get("/api/runs")

    assert response.status_code == 200
    runs = response.json()["data"]
    assert response.json()["count"] == 3
    assert [r["id"] for r in runs] == [while_serving, through_api, before_start]
    assert [r["generation_count"] for r in runs] == [1, 0, 2]


def test_every_run_that_other_processes_write_while_serving_can_be_read(db_path: Path) -> None:
    # Regression: opening a connection per request thread once read the file's header with a plain open()
    # and close(), which dropped this process's SQLite locks; the next processes' checkpoints then left
    # the server reading "database disk image is malformed".
    written = []
    with serve(db_path) as client:
        for seed in range(4):
            command = [sys.executable, "-m", "evolab", "evolve", "--preset", "quick", "--population", "8",
                       "--duration", "1", "--generations", "2", "--seed", str(seed), "--db", str(db_path)]  # fmt: skip
            subprocess.run(command, check=True, capture_output=True)
            written.append(client.get("/api/runs").json()["data"][0]["id"])
            answers = [client.get(f"/api/runs/{run_id}") for run_id in written]
            assert [a.status_code for a in answers] == [200] * len(written)
            assert [a.json()["generation_count"] for a in answers] == [2] * len(written)

    assert len(set(written)) == 4


def test_a_new_run_seed_is_exact_in_json_readers_that_use_doubles(client: TestClient) -> None:
    seeds = [create_run(client)["seed"] for _ in range(5)]

    assert all(0 <= seed < 2**53 for seed in seeds)


def test_a_run_list_entry_summarises_the_stored_run(stored: Stored) -> None:
    (entry,) = [r for r in stored.get("/api/runs")["data"] if r["id"] == stored.run_id]
    info = stored.store.get_run(stored.run_id)

    assert entry["generation_count"] == GENERATIONS
    assert entry["status"] == "completed"
    assert entry["live"] is False
    assert entry["seed"] == SEED
    assert (entry["best_fitness"], entry["best_creature_id"], entry["best_generation"]) == (
        info.best_fitness,
        info.best_creature_id,
        info.best_generation,
    )
    assert (entry["population_size"], entry["duration"], entry["neural_mode"]) == (POPULATION, 1.0, "off")
    assert entry["turbo"] is False
    assert "config" not in entry


# -- create, get, rename, delete -------------------------------------------------------------------------


def test_creating_a_run_answers_201_with_the_run_bred_but_not_yet_evaluated(client: TestClient) -> None:
    response = client.post("/api/runs", json={"preset": "quick", "config": SMALL})

    assert response.status_code == 201
    run = response.json()
    assert run["generation_count"] == 0
    assert run["status"] == "created"
    assert run["best_fitness"] is None
    assert run["parent_run_id"] is None
    assert run["config"] == small_config().model_dump(mode="json")
    assert (run["population_size"], run["duration"], run["turbo"]) == (POPULATION, 1.0, False)


def test_a_new_run_is_evolved_on_the_backend_asked_for(client: TestClient) -> None:
    run = create_run(client, backend="cpu")

    assert run["backend"] == "cpu"
    assert get_run(client, run["id"])["backend"] == "cpu"
    assert advance(client, run["id"], 1)["backend"] == "cpu"


def test_a_backend_that_cannot_run_on_the_server_is_refused_and_nothing_is_made(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(OPTIONAL_BACKENDS, "cuda", ("evolab.physics.no_such_backend", "CudaBackend", "evolab[cuda]"))
    before = client.get("/api/runs").json()["count"]

    response = client.post("/api/runs", json={"preset": "quick", "config": SMALL, "backend": "cuda"})

    assert response.status_code == 409  # valid, but not on this server
    assert "backend 'cuda' is not installed" in response.json()["detail"]
    assert client.get("/api/runs").json()["count"] == before


def test_a_new_run_has_the_name_and_seed_asked_for(client: TestClient) -> None:
    run = create_run(client, name="  long legs  ", seed=1234)

    assert run["name"] == "long legs"
    assert run["seed"] == 1234
    assert get_run(client, run["id"])["name"] == "long legs"


def test_a_run_created_without_a_name_is_named_after_its_id(client: TestClient) -> None:
    run = create_run(client)

    assert run["name"] == run["id"]


def test_a_turbo_run_stores_no_replays(client: TestClient) -> None:
    run = create_run(client, turbo=True)

    assert run["turbo"] is True
    assert run["config"]["frames"]["enabled"] is False
    advance(client, run["id"], 1)
    cards = client.get(f"/api/runs/{run['id']}/generations/0").json()["creatures"]
    assert {c["frames"] for c in cards} == {"simulated"}


def test_getting_a_run_gives_its_summary_and_configuration(client: TestClient) -> None:
    created = create_run(client, seed=5)

    assert get_run(client, created["id"]) == created


def test_getting_a_run_written_outside_the_server_gives_its_configuration(stored: Stored) -> None:
    run = stored.get(f"/api/runs/{stored.run_id}")

    assert EvolutionConfig.model_validate(run["config"]) == small_config(frames=FEW_FRAMES)
    assert run["generation_count"] == GENERATIONS


def test_renaming_a_run_trims_the_new_name(client: TestClient) -> None:
    run_id = create_run(client)["id"]

    response = client.patch(f"/api/runs/{run_id}", json={"name": "  sprinter \t"})

    assert response.status_code == 200
    assert response.json()["name"] == "sprinter"
    assert get_run(client, run_id)["name"] == "sprinter"
    assert [r["name"] for r in client.get("/api/runs").json()["data"]] == ["sprinter"]


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "\x1e", "\x1c\u3000\xa0"])  # blank to str.strip()
def test_a_run_cannot_be_renamed_to_nothing(client: TestClient, name: str) -> None:
    run_id = create_run(client, name="kept")["id"]

    response = client.patch(f"/api/runs/{run_id}", json={"name": name})

    assert response.status_code == 422
    assert get_run(client, run_id)["name"] == "kept"


def test_deleting_a_run_removes_it_and_everything_it_stored(db_path: Path) -> None:
    kept = make_run(db_path, 2, seed=1)
    deleted = make_run(db_path, 2, seed=2)
    kept_rows = run_rows(db_path, kept)

    with serve(db_path) as client:
        response = client.delete(f"/api/runs/{deleted}")

        assert response.status_code == 204
        assert response.content == b""
        assert client.get(f"/api/runs/{deleted}").status_code == 404
        assert client.get(f"/api/runs/{deleted}/generations").status_code == 404
        assert client.delete(f"/api/runs/{deleted}").status_code == 404
        assert [r["id"] for r in client.get("/api/runs").json()["data"]] == [kept]
    assert orphan_rows(db_path) == dict.fromkeys(RUN_TABLES, 0)
    assert run_rows(db_path, kept) == kept_rows


def test_deleting_a_run_while_it_advances_stops_the_advance_first(client: TestClient, db_path: Path) -> None:
    run_id = create_run(client)["id"]
    client.post(f"/api/runs/{run_id}/advance", json={"generations": LONG})
    wait_until(lambda: get_run(client, run_id)["generation_count"] >= 1, "the first generation")

    response = client.delete(f"/api/runs/{run_id}")

    assert response.status_code == 204
    assert client.get(f"/api/runs/{run_id}").status_code == 404
    wait_until(lambda: writer_idle(client), "the writer to finish")
    assert orphan_rows(db_path) == dict.fromkeys(RUN_TABLES, 0)
    other = create_run(client)["id"]  # the writer carries on with other work
    assert advance(client, other, 1)["generation_count"] == 1


def test_a_run_another_program_is_writing_cannot_be_deleted_advanced_or_stopped(db_path: Path) -> None:
    run_id = make_run(db_path, 1)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) as writer:
        try:
            with Store(db_path) as store:  # what `evolab evolve` records while it writes a run
                store.set_status(run_id, "running", writer_pid=writer.pid)
            with serve(db_path) as client:
                assert get_run(client, run_id)["live"] is True

                deleted = client.delete(f"/api/runs/{run_id}")
                advanced = client.post(f"/api/runs/{run_id}/advance", json={"generations": 1})
                stopped = client.post(f"/api/runs/{run_id}/stop")

                assert (deleted.status_code, advanced.status_code, stopped.status_code) == (409, 409, 409)
                assert str(writer.pid) in deleted.json()["detail"]
                assert get_run(client, run_id)["generation_count"] == 1
                assert writer_idle(client)
                assert writer.poll() is None  # not `evolab evolve`: never signalled
        finally:
            writer.kill()


def test_stopping_a_run_that_evolab_evolve_is_writing_asks_it_to_stop_cleanly(db_path: Path) -> None:
    command = [sys.executable, "-m", "evolab", "evolve", "--preset", "quick", "--population", "8", "--duration", "1",
               "--generations", "100000", "--seed", "3", "--db", str(db_path)]  # fmt: skip
    with serve(db_path) as client, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as cli:
        try:
            run = wait_until(
                lambda: next((r for r in client.get("/api/runs").json()["data"] if r["live"]), None),
                "the CLI run to start",
            )
            stopped = client.post(f"/api/runs/{run['id']}/stop")
            code = cli.wait(DEADLINE)
        finally:
            cli.kill()

        assert stopped.status_code == 202
        assert stopped.json() == {"stopping": True}
        assert code == 130
        assert b"--resume" in cli.stderr.read()
        after = get_run(client, run["id"])
        assert (after["status"], after["live"]) == ("stopped", False)
        assert 0 < after["generation_count"] < 100000


# -- advance and stop ------------------------------------------------------------------------------------


def test_advancing_a_run_is_a_job_that_stores_the_generations(client: TestClient) -> None:
    run_id = create_run(client)["id"]

    response = client.post(f"/api/runs/{run_id}/advance", json={"generations": 3})

    assert response.status_code == 202
    job = response.json()
    assert (job["kind"], job["run_id"], job["total"], job["error"]) == ("advance", run_id, 3, None)
    assert job["state"] in ("queued", "running", "done")
    wait_until(lambda: get_run(client, run_id)["generation_count"] == 3, "3 generations")
    run = settled(client, run_id)
    assert run["status"] == "completed"
    assert run["live"] is False
    assert run["best_fitness"] is not None
    assert [g["generation"] for g in client.get(f"/api/runs/{run_id}/generations").json()["data"]] == [0, 1, 2]


def test_a_run_advanced_by_the_server_stores_what_the_same_run_stores_anywhere(
    client: TestClient, db_path: Path, tmp_path: Path
) -> None:
    run_id = create_run(client, seed=77)["id"]
    advance(client, run_id, 2)
    advance(client, run_id, 1)  # resumed from its checkpoint in between

    with Run.create(small_config(), tmp_path / "direct.db", seed=77) as direct:
        direct.advance(3)
        expected = without_timings(direct.history())
        expected_results = [direct.results(g) for g in range(3)]
    with Store(db_path) as store:
        assert without_timings(store.generation_stats(run_id)) == expected
        assert [store.results(run_id, g) for g in range(3)] == expected_results


def test_stopping_ends_a_long_advance_after_the_current_generation(client: TestClient) -> None:
    run_id = create_run(client)["id"]
    client.post(f"/api/runs/{run_id}/advance", json={"generations": LONG})
    wait_until(lambda: get_run(client, run_id)["generation_count"] >= 1, "the first generation")

    response = client.post(f"/api/runs/{run_id}/stop")

    assert response.status_code == 202
    assert response.json() == {"stopping": True}
    run = settled(client, run_id)
    assert run["status"] == "stopped"
    assert 1 <= run["generation_count"] < LONG
    assert run["live"] is False


def test_a_stopped_run_can_be_advanced_again(client: TestClient) -> None:
    run_id = create_run(client)["id"]
    client.post(f"/api/runs/{run_id}/advance", json={"generations": LONG})
    wait_until(lambda: get_run(client, run_id)["generation_count"] >= 1, "the first generation")
    client.post(f"/api/runs/{run_id}/stop")
    stopped_at = settled(client, run_id)["generation_count"]

    run = advance(client, run_id, 2)

    assert run["generation_count"] == stopped_at + 2
    assert run["status"] == "completed"


def test_stopping_a_run_drops_its_queued_advances(client: TestClient) -> None:
    busy = create_run(client, seed=1)["id"]
    waiting = create_run(client, seed=2)["id"]
    client.post(f"/api/runs/{busy}/advance", json={"generations": LONG})
    client.post(f"/api/runs/{waiting}/advance", json={"generations": 5})
    # Until the writer picks up the busy run's advance, that one is queued too.
    wait_until(lambda: client.get("/api/jobs").json()["current"] is not None, "the busy run's advance to start")

    assert client.post(f"/api/runs/{waiting}/stop").json() == {"stopping": True}

    assert [j["run_id"] for j in client.get("/api/jobs").json()["queued"]] == []
    client.post(f"/api/runs/{busy}/stop")
    assert settled(client, waiting)["generation_count"] == 0
    assert get_run(client, waiting)["status"] == "created"


def test_stopping_a_run_that_is_not_advancing_changes_nothing(client: TestClient) -> None:
    run_id = create_run(client)["id"]

    response = client.post(f"/api/runs/{run_id}/stop")

    assert response.status_code == 202
    assert response.json() == {"stopping": False}
    assert get_run(client, run_id)["status"] == "created"


# -- fork ------------------------------------------------------------------------------------------------


def test_forking_makes_a_new_run_holding_the_history_up_to_a_generation(db_path: Path) -> None:
    source = make_run(db_path, 4, seed=5, name="source")
    with serve(db_path) as client:
        response = client.post(f"/api/runs/{source}/fork", json={"generation": 2, "name": "branch"})

        assert response.status_code == 201
        fork = response.json()
        assert fork["id"] != source
        assert (fork["parent_run_id"], fork["fork_generation"]) == (source, 2)
        assert fork["generation_count"] == 3
        assert fork["name"] == "branch"
        assert fork["config"] == get_run(client, source)["config"]
        source_stats = client.get(f"/api/runs/{source}/generations").json()["data"]
        assert client.get(f"/api/runs/{fork['id']}/generations").json()["data"] == source_stats[:3]
        assert get_run(client, source)["generation_count"] == 4
        assert client.get("/api/runs").json()["data"][0]["id"] == fork["id"]
        assert advance(client, fork["id"], 2)["generation_count"] == 5


@pytest.mark.parametrize("generation", [4, 99])
def test_forking_from_a_generation_that_is_not_stored_is_404(db_path: Path, generation: int) -> None:
    source = make_run(db_path, 4, seed=5)
    with serve(db_path) as client:
        response = client.post(f"/api/runs/{source}/fork", json={"generation": generation})

        assert response.status_code == 404
        assert f"generation {generation}" in response.json()["detail"]
        assert [r["id"] for r in client.get("/api/runs").json()["data"]] == [source]


# -- generations and their creatures ---------------------------------------------------------------------


def test_generations_lists_every_generations_statistics_in_order(stored: Stored) -> None:
    docs = stored.get(f"/api/runs/{stored.run_id}/generations")["data"]

    assert [d["generation"] for d in docs] == list(range(GENERATIONS))
    for doc, stats in zip(docs, stored.store.generation_stats(stored.run_id), strict=True):
        assert (doc["best"], doc["average"], doc["worst"], doc["median"]) == (
            stats.best,
            stats.average,
            stats.worst,
            stats.median,
        )
        assert doc["worst"] <= doc["p10"] <= doc["p25"] <= doc["median"] <= doc["p75"] <= doc["p90"] <= doc["best"]
        assert sum(doc["node_counts"].values()) == POPULATION
        assert all(key.isdigit() for key in doc["node_counts"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start": 2, "stop": 4}, [2, 3]),
        ({"start": 4}, [4, 5]),
        ({"stop": 1}, [0]),
        ({"start": 5, "stop": 2}, []),
        ({"start": 100}, []),
    ],
)
def test_generations_can_be_limited_to_a_range(stored: Stored, params: dict[str, int], expected: list[int]) -> None:
    docs = stored.get(f"/api/runs/{stored.run_id}/generations", **params)["data"]

    assert [d["generation"] for d in docs] == expected


def test_a_generations_creatures_come_sorted_by_rank_from_1(stored: Stored) -> None:
    doc = stored.get(f"/api/runs/{stored.run_id}/generations/3")
    cards = doc["creatures"]

    assert doc["stats"]["generation"] == 3
    assert [c["rank"] for c in cards] == list(range(1, POPULATION + 1))
    fitness = [c["fitness"] for c in cards]
    assert all(math.isfinite(f) for f in fitness)
    assert fitness == sorted(fitness, reverse=True)
    assert (fitness[0], fitness[-1]) == (doc["stats"]["best"], doc["stats"]["worst"])
    assert [c["id"] for c in cards] == [r.creature_id for r in stored.store.results(stored.run_id, 3)]


def test_each_card_describes_the_creatures_body(stored: Stored) -> None:
    for card in stored.cards(GENERATIONS - 1):
        genome = stored.store.genome(stored.run_id, card["id"])
        n, m = card["n_nodes"], card["n_muscles"]

        assert (n, m) == (genome.n_nodes, genome.n_muscles)
        assert len(card["pose"]) == n
        assert all(len(point) == 3 and all(math.isfinite(v) for v in point) for point in card["pose"])
        assert len(card["node_sizes"]) == len(card["node_frictions"]) == n
        assert len(card["muscles"]) == len(card["muscle_stiffness"]) == len(card["muscle_frequency"]) == m
        assert all(0 <= a < n and 0 <= b < n and a != b for a, b in card["muscles"])
        assert all(0.0 <= card["color"][k] <= 1.0 for k in "hsl")
        assert card["parent_ids"] == list(genome.parent_ids)
        assert card["origin"] == ("Original", "Mutant", "Crossover (2 parents)")[len(genome.parent_ids)]
        assert card["disqualified"] in (None, "frequency_exceeded", "physics_explosion", "nan_position")


def test_each_card_is_a_creature_card_whose_muscle_numbers_are_its_genomes(stored: Stored) -> None:
    for card in stored.cards(GENERATIONS - 1):
        genome = stored.store.genome(stored.run_id, card["id"])
        muscles = genome.muscle_params

        assert set(card) == set(CreatureCard.model_fields)
        CreatureCard.model_validate(card)
        assert card["avg_stiffness"] == pytest.approx(muscles[:, M_STIFFNESS].mean(), rel=1e-12)
        assert card["avg_frequency"] == pytest.approx(muscles[:, M_FREQUENCY].mean(), rel=1e-12)
        expected = muscles[:, M_FREQUENCY] * genome.global_frequency_multiplier
        np.testing.assert_allclose(card["muscle_frequency"], expected, atol=5e-4)
        np.testing.assert_allclose(card["muscle_stiffness"], muscles[:, M_STIFFNESS], atol=0.05)
        np.testing.assert_allclose(card["node_sizes"], genome.node_params[:, N_SIZE], atol=5e-4)


def test_cards_say_which_creatures_have_stored_replays(stored: Stored) -> None:
    for generation in range(GENERATIONS):
        cards = stored.cards(generation)
        kept = set(stored.store.framed_creatures(stored.run_id, generation))

        assert len(kept) == sum(FEW_FRAMES.values())
        assert {c["id"] for c in cards if c["frames"] == "stored"} == kept
        assert {c["frames"] for c in cards if c["id"] not in kept} == {"simulated"}
        assert [c["frames"] for c in cards[:2]] == ["stored", "stored"]  # the top two are always kept
        assert cards[-1]["frames"] == "stored"  # and the bottom one


def test_a_card_is_posed_as_in_its_last_stored_frame_else_at_rest(stored: Stored) -> None:
    for card in stored.cards(2):
        genome = stored.store.genome(stored.run_id, card["id"])
        frames = stored.store.frames(stored.run_id, 2, card["id"])
        expected = frames.frames[-1] if frames is not None else genome.node_params[:, N_POS]

        np.testing.assert_allclose(card["pose"], expected, atol=1e-3)


def test_with_the_quick_presets_frame_policy_all_8_creatures_keep_their_replays(client: TestClient) -> None:
    run_id = create_run(client)["id"]  # quick keeps the top 5, 5 random and the bottom 2: all of 8
    advance(client, run_id, 1)

    cards = client.get(f"/api/runs/{run_id}/generations/0").json()["creatures"]

    assert [c["frames"] for c in cards] == ["stored"] * POPULATION


def test_every_card_of_a_turbo_run_is_re_simulated(stored: Stored) -> None:
    for generation in range(2):
        assert {c["frames"] for c in stored.cards(generation, stored.turbo_id)} == {"simulated"}


def test_a_generation_that_is_not_stored_is_404(stored: Stored) -> None:
    response = stored.client.get(f"/api/runs/{stored.run_id}/generations/{GENERATIONS}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"generation {GENERATIONS} of run {stored.run_id!r} is not stored"}


# -- a creature ------------------------------------------------------------------------------------------


def test_a_creatures_genome_round_trips_and_equals_the_stored_genome(stored: Stored) -> None:
    for card in stored.cards(GENERATIONS - 1):
        doc = stored.get(f"/api/runs/{stored.run_id}/creatures/{card['id']}")

        assert Genome.from_dict(doc["genome"]) == stored.store.genome(stored.run_id, card["id"])
        assert (doc["id"], doc["name"], doc["parent_ids"], doc["origin"], doc["color"]) == (
            card["id"],
            card["name"],
            card["parent_ids"],
            card["origin"],
            card["color"],
        )
        assert (doc["born"], doc["lineage_generation"]) == (card["born"], card["lineage_generation"])


def test_a_creatures_results_list_each_generation_it_ran_in_with_its_rank_from_1(stored: Stored) -> None:
    cards_by_generation = [{c["id"]: c for c in stored.cards(g)} for g in range(GENERATIONS)]
    best = stored.get(f"/api/runs/{stored.run_id}")["best_creature_id"]

    results = stored.get(f"/api/runs/{stored.run_id}/creatures/{best}")["results"]

    expected = [
        {key: cards[best][key] for key in ("rank", "fitness", "fitness_std", "pellets", "trial_pellets")}
        | {key: cards[best][key] for key in ("disqualified", "survival_streak")}
        | {"generation": g}
        for g, cards in enumerate(cards_by_generation)
        if best in cards
    ]
    assert results == expected
    assert len(results) >= 1


# -- replays -----------------------------------------------------------------------------------------------


def test_a_stored_replay_is_the_stored_frames(stored: Stored) -> None:
    for card in [c for c in stored.cards(2) if c["frames"] == "stored"]:
        doc = stored.get(f"/api/runs/{stored.run_id}/generations/2/creatures/{card['id']}/replay")
        kept = stored.store.frames(stored.run_id, 2, card["id"])

        assert (doc["creature_id"], doc["generation"], doc["source"]) == (card["id"], 2, "stored")
        assert (doc["fps"], doc["neural_mode"], doc["times"]) == (15, "off", None)  # frames 1/15 s apart
        assert doc["imported_from"] is None
        assert len(doc["frames"]) == small_config().sim.n_frames
        np.testing.assert_allclose(doc["frames"], kept.frames, atol=1e-3)
        np.testing.assert_allclose(doc["fitness_over_time"], kept.fitness_over_time, atol=1e-2)
        assert doc["pellets"] == list(kept.pellets)


@pytest.mark.parametrize("which", ["few replays kept", "turbo"])
def test_a_replay_that_was_not_kept_is_re_simulated_exactly(stored: Stored, which: str) -> None:
    run_id = stored.turbo_id if which == "turbo" else stored.run_id
    card = next(c for c in stored.cards(1, run_id) if c["frames"] == "simulated")

    doc = stored.get(f"/api/runs/{run_id}/generations/1/creatures/{card['id']}/replay")

    expected = replay_creature(stored.store, run_id, 1, card["id"])
    assert expected.source == "simulated"
    assert doc["source"] == "simulated"
    assert doc["frames"] == np.round(expected.frames.astype(np.float64), 3).tolist()
    assert doc["fitness_over_time"] == np.round(expected.fitness_over_time.astype(np.float64), 2).tolist()
    assert doc["pellets"] == list(expected.pellets)


def test_a_replay_of_a_creature_that_was_not_in_that_generation_is_404(stored: Stored) -> None:
    newborn = next(c for c in stored.cards(GENERATIONS - 1) if c["born"] == GENERATIONS - 1)

    response = stored.client.get(f"/api/runs/{stored.run_id}/generations/0/creatures/{newborn['id']}/replay")

    assert response.status_code == 404
    assert "was not in generation 0" in response.json()["detail"]


# -- lineage -----------------------------------------------------------------------------------------------


def reachable(store: Store, run_id: str, root: str, parent_counts: tuple[int, ...]) -> set[str]:
    """Ancestors of `root` reached through creatures whose number of parents is in `parent_counts`."""
    parents = {c.creature_id: c.parent_ids for c in store.creature_infos(run_id)}
    seen: set[str] = set()
    frontier = [root]
    while frontier:
        node = frontier.pop()
        if len(parents[node]) not in parent_counts:
            continue
        for parent in parents[node]:
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return seen


def lineage(stored: Stored, creature_id: str, **params: Any) -> dict[str, Any]:
    return stored.get(f"/api/runs/{stored.run_id}/creatures/{creature_id}/lineage", **params)


def test_a_lineage_holds_every_ancestor_reachable_through_parent_ids(stored: Stored) -> None:
    fitness_at_birth = {c["id"]: c["fitness"] for g in range(GENERATIONS) for c in stored.cards(g) if c["born"] == g}
    for card in stored.cards(GENERATIONS - 1):
        doc = lineage(stored, card["id"], limit=1000)
        ancestors = {a["id"]: a for a in doc["ancestors"]}

        assert doc["root"] == card["id"]
        assert len(ancestors) == len(doc["ancestors"])
        assert set(ancestors) == reachable(stored.store, stored.run_id, card["id"], (1, 2))
        for a in doc["ancestors"]:  # the tree can be built from the root through parent_ids
            assert set(a["parent_ids"]) <= set(ancestors)
            info = stored.store.creature(stored.run_id, a["id"])
            assert (a["parent_ids"], a["born"], a["n_nodes"]) == (list(info.parent_ids), info.born, info.n_nodes)
            assert a["fitness"] == fitness_at_birth.get(a["id"])


@pytest.mark.parametrize(("mode", "parent_counts"), [("clone", (1,)), ("crossover", (2,))])
def test_a_lineage_mode_follows_only_its_kind_of_link(stored: Stored, mode: str, parent_counts: tuple[int]) -> None:
    found_any = False
    for card in stored.cards(GENERATIONS - 1):
        doc = lineage(stored, card["id"], mode=mode, limit=1000)

        ids = [a["id"] for a in doc["ancestors"]]
        assert set(ids) == reachable(stored.store, stored.run_id, card["id"], parent_counts)
        found_any = found_any or bool(ids)
    assert found_any, f"no creature of the last generation has a {mode} ancestor: pick another seed"


def test_a_lineage_returns_at_most_limit_ancestors_nearest_first(stored: Stored) -> None:
    root = max(stored.cards(GENERATIONS - 1), key=lambda c: len(lineage(stored, c["id"], limit=1000)["ancestors"]))
    full = [a["id"] for a in lineage(stored, root["id"], limit=1000)["ancestors"]]
    assert len(full) >= 3

    for limit in range(1, len(full) + 1):
        assert [a["id"] for a in lineage(stored, root["id"], limit=limit)["ancestors"]] == full[:limit]


def test_an_original_creature_has_no_ancestors(stored: Stored) -> None:
    original = stored.cards(0)[0]

    assert lineage(stored, original["id"]) == {"root": original["id"], "ancestors": []}


# -- analytics -------------------------------------------------------------------------------------------


def test_analytics_lists_the_top_creatures_by_fitness(stored: Stored) -> None:
    cards = {(g, c["id"]): c for g in range(GENERATIONS) for c in stored.cards(g)}

    top = stored.get(f"/api/runs/{stored.run_id}/analytics")["top"]

    assert len(top) == 10
    assert len({t["id"] for t in top}) == len(top)
    assert [t["fitness"] for t in top] == sorted((t["fitness"] for t in top), reverse=True)
    assert top[0]["fitness"] == max(c["fitness"] for c in cards.values())  # selection fitness, not the benchmark
    for t in top:
        card = cards[(t["generation"], t["id"])]
        assert (t["rank"], t["fitness"], t["fitness_std"], t["trial_pellets"], t["name"], t["n_nodes"]) == (
            card["rank"],
            card["fitness"],
            card["fitness_std"],
            card["trial_pellets"],
            card["name"],
            card["n_nodes"],
        )
    assert stored.get(f"/api/runs/{stored.run_id}/analytics", top=3)["top"] == top[:3]


def test_analytics_gives_ordered_percentiles_for_every_generation(stored: Stored) -> None:
    stats = stored.get(f"/api/runs/{stored.run_id}/generations")["data"]

    percentiles = stored.get(f"/api/runs/{stored.run_id}/analytics")["percentiles"]

    assert [p["generation"] for p in percentiles] == list(range(GENERATIONS))
    for p, s in zip(percentiles, stats, strict=True):
        assert p["p10"] <= p["p25"] <= p["p50"] <= p["p75"] <= p["p90"]
        assert (p["p10"], p["p25"], p["p50"], p["p75"], p["p90"]) == (
            s["p10"],
            s["p25"],
            s["median"],
            s["p75"],
            s["p90"],
        )


def test_analytics_traces_the_best_creatures_lineage_from_itself(stored: Stored) -> None:
    best = stored.get(f"/api/runs/{stored.run_id}")["best_creature_id"]

    steps = stored.get(f"/api/runs/{stored.run_id}/analytics")["best_lineage"]

    assert steps[0]["id"] == best
    assert {s["id"] for s in steps[1:]} == reachable(stored.store, stored.run_id, best, (1, 2))


def test_analytics_of_a_run_not_yet_evaluated_is_empty(client: TestClient) -> None:
    run_id = create_run(client)["id"]

    assert client.get(f"/api/runs/{run_id}/analytics").json() == {
        "top": [],
        "best_lineage": [],
        "percentiles": [],
        "benchmark_progress": None,
    }


# -- presets -----------------------------------------------------------------------------------------------


def test_the_shipped_presets_are_listed_as_builtin(client: TestClient) -> None:
    presets = client.get("/api/presets").json()["data"]

    assert [p["name"] for p in presets] == preset_names()
    assert {"quick", "default"} <= {p["name"] for p in presets}
    for preset in presets:
        assert preset["builtin"] is True
        assert preset["config"] == EvolutionConfig.from_preset(preset["name"]).model_dump(mode="json")
    assert next(p for p in presets if p["name"] == "quick")["description"]


def test_a_saved_preset_that_no_longer_validates_is_a_clear_conflict_not_a_server_error(
    client: TestClient, db_path: Path
) -> None:
    assert client.put("/api/presets/tiny", json={"base": "quick", "config": SMALL}).status_code == 200
    with Store(db_path) as store, store.transaction() as cur:  # as if a later evolab had changed its meaning
        cur.execute("UPDATE presets SET config = json_set(config, '$.population_size', -5)")

    response = client.get("/api/presets")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "saved preset 'tiny' is invalid (settings: population_size: input should be greater than or "
        "equal to 1 (got -5))"
    }


def test_a_shipped_preset_can_be_read_by_name(client: TestClient) -> None:
    response = client.get("/api/presets/quick")

    assert response.status_code == 200
    assert response.json()["builtin"] is True
    assert response.json()["config"]["population_size"] == EvolutionConfig.from_preset("quick").population_size


def test_a_saved_preset_is_listed_and_creates_runs(client: TestClient) -> None:
    response = client.put("/api/presets/tiny", json={"base": "quick", "config": SMALL})

    assert response.status_code == 200
    saved = response.json()
    assert (saved["name"], saved["builtin"]) == ("tiny", False)
    assert saved["config"] == small_config().model_dump(mode="json")
    assert client.get("/api/presets").json()["data"][-1] == saved
    assert client.get("/api/presets/tiny").json() == saved

    run = client.post("/api/runs", json={"preset": "tiny"})
    assert run.status_code == 201
    assert run.json()["config"] == saved["config"]
    overridden = client.post("/api/runs", json={"preset": "tiny", "config": {"population_size": 6}})
    assert overridden.json()["population_size"] == 6


def test_a_saved_preset_can_be_replaced_and_deleted(client: TestClient) -> None:
    client.put("/api/presets/tiny", json={"base": "quick", "config": SMALL})
    client.put("/api/presets/tiny", json={"base": "quick", "config": {**SMALL, "population_size": 10}})

    assert client.get("/api/presets/tiny").json()["config"]["population_size"] == 10
    assert client.delete("/api/presets/tiny").status_code == 204
    assert client.get("/api/presets/tiny").status_code == 404
    assert [p["name"] for p in client.get("/api/presets").json()["data"]] == preset_names()
    assert client.post("/api/runs", json={"preset": "tiny"}).status_code == 404


def test_a_shipped_preset_cannot_be_overwritten_or_deleted(client: TestClient) -> None:
    put = client.put("/api/presets/quick", json={"config": {"population_size": 8}})
    delete = client.delete("/api/presets/quick")

    assert (put.status_code, delete.status_code) == (409, 409)
    assert client.get("/api/presets/quick").json()["config"] == EvolutionConfig.from_preset("quick").model_dump(
        mode="json"
    )


def test_deleting_an_unknown_preset_is_404(client: TestClient) -> None:
    response = client.delete("/api/presets/never-saved")

    assert response.status_code == 404
    assert response.json() == {"detail": "unknown preset 'never-saved'"}


@pytest.mark.parametrize("name", ["-dash-first", ".hidden", "x" * 65, "semi;colon", "quote'd", "tab\tin"])
def test_preset_names_must_be_plain(client: TestClient, name: str) -> None:
    response = client.put(f"/api/presets/{quote(name)}", json={"config": {}})

    assert response.status_code == 422
    assert [p["name"] for p in client.get("/api/presets").json()["data"]] == preset_names()


@pytest.mark.parametrize("name", ["mine ", " mine", "quick "])
def test_a_preset_name_with_a_space_at_either_end_is_refused(client: TestClient, db_path: Path, name: str) -> None:
    response = client.put(f"/api/presets/{quote(name)}", json={"config": SMALL, "base": "quick"})

    assert response.status_code == 422
    with Store(db_path) as store:
        assert store.presets() == {}


# -- health, jobs, schema ----------------------------------------------------------------------------------


def test_health_gives_the_version_and_the_database(client: TestClient, db_path: Path) -> None:
    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"version": evolab.__version__, "db": str(db_path)}


def test_jobs_is_empty_while_the_writer_is_idle(client: TestClient) -> None:
    assert client.get("/api/jobs").json() == {"current": None, "queued": []}


def test_jobs_shows_the_advance_in_progress_and_the_ones_queued(client: TestClient) -> None:
    busy = create_run(client, seed=1)["id"]
    waiting = create_run(client, seed=2)["id"]
    client.post(f"/api/runs/{busy}/advance", json={"generations": LONG})
    queued = client.post(f"/api/runs/{waiting}/advance", json={"generations": 3}).json()

    def started() -> dict[str, Any] | None:
        jobs = client.get("/api/jobs").json()
        return jobs if jobs["current"] is not None else None

    jobs = wait_until(started, "the advance to start")

    assert (jobs["current"]["run_id"], jobs["current"]["state"], jobs["current"]["total"]) == (busy, "running", LONG)
    assert jobs["queued"] == [queued]
    assert queued["state"] == "queued"
    client.post(f"/api/runs/{busy}/stop")
    assert settled(client, waiting)["generation_count"] == 3


EXPECTED_ROUTES = {
    "/api/health": {"get"},
    "/api/jobs": {"get"},
    "/api/presets": {"get"},
    "/api/presets/{name}": {"get", "put", "delete"},
    "/api/defaults": {"get"},
    "/api/runs": {"get", "post"},
    "/api/runs/{run_id}": {"get", "patch", "delete"},
    "/api/runs/{run_id}/advance": {"post"},
    "/api/runs/{run_id}/stop": {"post"},
    "/api/runs/{run_id}/fork": {"post"},
    "/api/runs/{run_id}/generations": {"get"},
    "/api/runs/{run_id}/generations/{generation}": {"get"},
    "/api/runs/{run_id}/generations/{generation}/creatures/{creature_id}/replay": {"get"},
    "/api/runs/{run_id}/creatures/{creature_id}": {"get"},
    "/api/runs/{run_id}/creatures/{creature_id}/lineage": {"get"},
    "/api/runs/{run_id}/analytics": {"get"},
    "/api/runs/{run_id}/export": {"get"},
    "/api/import": {"post"},
}


def test_the_openapi_schema_lists_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert {path: set(methods) for path, methods in schema["paths"].items()} == EXPECTED_ROUTES
    assert {"RunSummary", "RunDetail", "CreatureCard", "ReplayDoc", "JobDoc"} <= set(schema["components"]["schemas"])


def test_card_averages_are_each_creatures_own_whatever_its_neighbours_hold() -> None:
    values = np.arange(10.0).reshape(5, 2)
    means = segment_means(values, np.array([0, 2, 0, 3, 0]))
    np.testing.assert_allclose(means, [[0, 0], [1, 2], [0, 0], [6, 7], [0, 0]])
    assert not segment_means(values[:0], np.array([0, 0])).any()
