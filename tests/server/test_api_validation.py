"""Bad input is refused with a clear 4xx, never a 500, and a refused write leaves the database as it was.

The app answers here with `raise_server_exceptions=False`, so a crash shows up as a 500 status.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evolab.storage import Store
from tests.server.shared import FEW_FRAMES, SMALL, TestClient, db_snapshot, make_run, serve, writer_idle

UNKNOWN_RUN = "run_20000101_000000_dead"
UNKNOWN_CREATURE = "cr_0000000000000000"
HUGE = 10**30
"""Far beyond any integer SQLite (or numpy) can hold."""


@dataclass(frozen=True)
class Target:
    """A served database with one run of 2 generations.

    `creature`: in generations 0 and 1 (the best of 0, an elite); `newborn`: born in generation 1.
    """

    client: TestClient
    db: Path
    run: str
    creature: str
    newborn: str

    def url(self, template: str) -> str:
        return template.format(run=self.run, cid=self.creature, new=self.newborn)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    db = tmp_path_factory.mktemp("validation") / "evolution.db"
    run = make_run(db, 2, seed=3, frames=FEW_FRAMES)
    with Store(db) as store:
        creature = store.results(run, 0)[0].creature_id
        newborn = next(r.creature_id for r in store.results(run, 1) if store.creature(run, r.creature_id).born == 1)
    with serve(db, raise_server_exceptions=False) as client:
        yield Target(client, db, run, creature, newborn)


@dataclass(frozen=True)
class Raw:
    """A request body sent as is."""

    text: str
    content_type: str = "application/json"


def refused_unchanged(target: Target, method: str, url: str, body: Any) -> Any:
    """Send a request that must be refused; check nothing was written (or queued); return the response."""
    before = target.client.get("/api/runs").json()
    snapshot = db_snapshot(target.db)
    if isinstance(body, Raw):
        response = target.client.request(
            method, url, content=body.text.encode(), headers={"content-type": body.content_type}
        )
    elif body is None:
        response = target.client.request(method, url)
    else:
        response = target.client.request(method, url, json=body)
    assert writer_idle(target.client)
    assert db_snapshot(target.db) == snapshot
    assert target.client.get("/api/runs").json() == before
    return response


# -- reads ---------------------------------------------------------------------------------------------

BAD_READS = [
    # unknown things
    pytest.param(f"/api/runs/{UNKNOWN_RUN}", 404, id="unknown run"),
    pytest.param(f"/api/runs/{UNKNOWN_RUN}/generations", 404, id="generations of an unknown run"),
    pytest.param(f"/api/runs/{UNKNOWN_RUN}/generations/0", 404, id="generation of an unknown run"),
    pytest.param(f"/api/runs/{UNKNOWN_RUN}/analytics", 404, id="analytics of an unknown run"),
    pytest.param(f"/api/runs/{UNKNOWN_RUN}/creatures/{{cid}}", 404, id="creature of an unknown run"),
    pytest.param(f"/api/runs/{{run}}/creatures/{UNKNOWN_CREATURE}", 404, id="unknown creature"),
    pytest.param("/api/runs/{run}/creatures/%00", 404, id="NUL creature id"),
    pytest.param("/api/runs/%00", 404, id="NUL run id"),
    pytest.param(f"/api/runs/{{run}}/creatures/{UNKNOWN_CREATURE}/lineage", 404, id="lineage of an unknown creature"),
    pytest.param(
        f"/api/runs/{{run}}/generations/0/creatures/{UNKNOWN_CREATURE}/replay", 404, id="replay of an unknown creature"
    ),
    pytest.param(f"/api/runs/{UNKNOWN_RUN}/generations/0/creatures/{{cid}}/replay", 404, id="replay in an unknown run"),
    pytest.param("/api/runs/{run}/generations/0/creatures/{new}/replay", 404, id="replay before it was born"),
    pytest.param("/api/presets/never-saved", 404, id="unknown preset"),
    # too long ids
    pytest.param("/api/runs/" + "r" * 201, 422, id="run id too long"),
    pytest.param("/api/runs/{run}/creatures/" + "c" * 201, 422, id="creature id too long"),
    # generation numbers
    pytest.param("/api/runs/{run}/generations/2", 404, id="generation not stored yet"),
    pytest.param("/api/runs/{run}/generations/2147483648", (404, 422), id="generation 2**31"),
    pytest.param("/api/runs/{run}/generations/-1", 422, id="negative generation"),
    pytest.param(f"/api/runs/{{run}}/generations/{HUGE}", 422, id="huge generation"),
    pytest.param("/api/runs/{run}/generations/1.5", 422, id="fractional generation"),
    pytest.param("/api/runs/{run}/generations/one", 422, id="generation not a number"),
    pytest.param("/api/runs/{run}/generations/2/creatures/{cid}/replay", 404, id="replay in a generation not stored"),
    pytest.param("/api/runs/{run}/generations/-1/creatures/{cid}/replay", 422, id="replay in a negative generation"),
    pytest.param(
        f"/api/runs/{{run}}/generations/{HUGE}/creatures/{{cid}}/replay", 422, id="replay in a huge generation"
    ),
    # generation ranges
    pytest.param("/api/runs/{run}/generations?start=-1", 422, id="negative start"),
    pytest.param("/api/runs/{run}/generations?stop=-1", 422, id="negative stop"),
    pytest.param("/api/runs/{run}/generations?start=first", 422, id="start not a number"),
    pytest.param("/api/runs/{run}/generations?stop=0.5", 422, id="fractional stop"),
    pytest.param(
        f"/api/runs/{{run}}/generations?start={HUGE}",
        (200, 422),
        id="huge start",
    ),
    pytest.param(
        f"/api/runs/{{run}}/generations?stop={HUGE}",
        (200, 422),
        id="huge stop",
    ),
    # lineage and analytics options
    pytest.param("/api/runs/{run}/creatures/{cid}/lineage?mode=parents", 422, id="unknown lineage mode"),
    pytest.param("/api/runs/{run}/creatures/{cid}/lineage?mode=", 422, id="empty lineage mode"),
    pytest.param("/api/runs/{run}/creatures/{cid}/lineage?mode=BOTH", 422, id="lineage mode in capitals"),
    pytest.param("/api/runs/{run}/creatures/{cid}/lineage?limit=0", 422, id="lineage limit 0"),
    pytest.param("/api/runs/{run}/creatures/{cid}/lineage?limit=-3", 422, id="negative lineage limit"),
    pytest.param("/api/runs/{run}/creatures/{cid}/lineage?limit=1001", 422, id="lineage limit over 1000"),
    pytest.param(f"/api/runs/{{run}}/creatures/{{cid}}/lineage?limit={HUGE}", 422, id="huge lineage limit"),
    pytest.param("/api/runs/{run}/creatures/{cid}/lineage?limit=ten", 422, id="lineage limit not a number"),
    pytest.param("/api/runs/{run}/analytics?top=-1", 422, id="negative top"),
    pytest.param("/api/runs/{run}/analytics?top=1001", 422, id="top over 1000"),
    pytest.param("/api/runs/{run}/analytics?top=all", 422, id="top not a number"),
    # preset names
    pytest.param("/api/presets/-dash", 422, id="preset name starting with a dash"),
    pytest.param("/api/presets/" + "p" * 65, 422, id="preset name too long"),
]


@pytest.mark.parametrize(("template", "expected"), BAD_READS)
def test_a_bad_read_is_a_clear_4xx(target: Target, template: str, expected: int | tuple[int, ...]) -> None:
    response = target.client.get(target.url(template))

    assert response.status_code in (expected if isinstance(expected, tuple) else (expected,)), response.text
    if response.status_code == 200:
        assert response.json() == []
    else:
        assert response.json()["detail"]


def test_an_unknown_run_is_named_in_the_404(target: Target) -> None:
    response = target.client.get(f"/api/runs/{UNKNOWN_RUN}")

    assert response.json() == {"detail": f"unknown run {UNKNOWN_RUN!r}"}


# -- writes --------------------------------------------------------------------------------------------

BAD_WRITES = [
    # create
    pytest.param("POST", "/api/runs", Raw("{not json"), 422, id="create: broken JSON"),
    pytest.param("POST", "/api/runs", Raw(""), 422, id="create: empty body"),
    pytest.param("POST", "/api/runs", Raw("preset=quick", "application/x-www-form-urlencoded"), 422, id="create: form"),
    pytest.param("POST", "/api/runs", [1, 2], 422, id="create: a list"),
    pytest.param("POST", "/api/runs", "quick", 422, id="create: a string"),
    pytest.param("POST", "/api/runs", {"preset": "quick", "generations": 5}, 422, id="create: extra field"),
    pytest.param("POST", "/api/runs", {"preset": "nope"}, 404, id="create: unknown preset"),
    pytest.param("POST", "/api/runs", {"preset": ""}, 422, id="create: empty preset"),
    pytest.param("POST", "/api/runs", {"preset": "x" * 201}, 422, id="create: preset name too long"),
    pytest.param("POST", "/api/runs", {"seed": -1}, 422, id="create: negative seed"),
    pytest.param("POST", "/api/runs", {"seed": 2**63}, 422, id="create: seed over 2**63-1"),
    pytest.param("POST", "/api/runs", {"seed": HUGE}, 422, id="create: huge seed"),
    pytest.param("POST", "/api/runs", {"seed": 1.5}, 422, id="create: fractional seed"),
    pytest.param("POST", "/api/runs", {"seed": "seven"}, 422, id="create: seed not a number"),
    pytest.param("POST", "/api/runs", {"name": "n" * 201}, 422, id="create: name too long"),
    pytest.param("POST", "/api/runs", {"name": 5}, 422, id="create: name not a string"),
    pytest.param("POST", "/api/runs", {"turbo": "very"}, 422, id="create: turbo not a boolean"),
    pytest.param("POST", "/api/runs", {"config": [1]}, 422, id="create: config a list"),
    pytest.param("POST", "/api/runs", {"config": "quick"}, 422, id="create: config a string"),
    # rename
    pytest.param("PATCH", "/api/runs/{run}", {"name": ""}, 422, id="rename: empty"),
    pytest.param("PATCH", "/api/runs/{run}", {"name": " \t "}, 422, id="rename: blank"),
    pytest.param("PATCH", "/api/runs/{run}", {}, 422, id="rename: no name"),
    pytest.param("PATCH", "/api/runs/{run}", {"name": None}, 422, id="rename: null name"),
    pytest.param("PATCH", "/api/runs/{run}", {"name": 7}, 422, id="rename: name not a string"),
    pytest.param("PATCH", "/api/runs/{run}", {"name": "n" * 201}, 422, id="rename: too long"),
    pytest.param("PATCH", "/api/runs/{run}", {"name": "ok", "seed": 1}, 422, id="rename: extra field"),
    pytest.param("PATCH", "/api/runs/{run}", Raw('{"name": '), 422, id="rename: broken JSON"),
    pytest.param("PATCH", "/api/runs/{run}", None, 422, id="rename: no body"),
    pytest.param("PATCH", f"/api/runs/{UNKNOWN_RUN}", {"name": "ok"}, 404, id="rename: unknown run"),
    # delete
    pytest.param("DELETE", f"/api/runs/{UNKNOWN_RUN}", None, 404, id="delete: unknown run"),
    pytest.param("DELETE", "/api/runs/" + "r" * 201, None, 422, id="delete: run id too long"),
    # advance
    pytest.param("POST", "/api/runs/{run}/advance", {"generations": 0}, 422, id="advance: 0 generations"),
    pytest.param("POST", "/api/runs/{run}/advance", {"generations": -1}, 422, id="advance: negative"),
    pytest.param("POST", "/api/runs/{run}/advance", {"generations": 100_001}, 422, id="advance: over 100000"),
    pytest.param("POST", "/api/runs/{run}/advance", {"generations": HUGE}, 422, id="advance: huge"),
    pytest.param("POST", "/api/runs/{run}/advance", {"generations": 1.5}, 422, id="advance: fractional"),
    pytest.param("POST", "/api/runs/{run}/advance", {"generations": "ten"}, 422, id="advance: not a number"),
    pytest.param("POST", "/api/runs/{run}/advance", {"generations": None}, 422, id="advance: null"),
    pytest.param("POST", "/api/runs/{run}/advance", {"generations": 1, "turbo": True}, 422, id="advance: extra field"),
    pytest.param("POST", "/api/runs/{run}/advance", Raw("{"), 422, id="advance: broken JSON"),
    pytest.param("POST", "/api/runs/{run}/advance", Raw("[]"), 422, id="advance: a list"),
    pytest.param("POST", "/api/runs/{run}/advance", None, 422, id="advance: no body"),
    pytest.param("POST", f"/api/runs/{UNKNOWN_RUN}/advance", {"generations": 1}, 404, id="advance: unknown run"),
    # stop
    pytest.param("POST", f"/api/runs/{UNKNOWN_RUN}/stop", None, 404, id="stop: unknown run"),
    # fork
    pytest.param("POST", "/api/runs/{run}/fork", {"generation": 2}, 404, id="fork: generation not stored"),
    pytest.param("POST", "/api/runs/{run}/fork", {"generation": HUGE}, (404, 422), id="fork: huge generation"),
    pytest.param("POST", "/api/runs/{run}/fork", {"generation": -1}, 422, id="fork: negative generation"),
    pytest.param("POST", "/api/runs/{run}/fork", {"generation": 0.5}, 422, id="fork: fractional generation"),
    pytest.param("POST", "/api/runs/{run}/fork", {"generation": "first"}, 422, id="fork: generation not a number"),
    pytest.param("POST", "/api/runs/{run}/fork", {}, 422, id="fork: no generation"),
    pytest.param("POST", "/api/runs/{run}/fork", {"generation": 0, "seed": 1}, 422, id="fork: extra field"),
    pytest.param("POST", "/api/runs/{run}/fork", {"generation": 0, "name": "n" * 201}, 422, id="fork: name too long"),
    pytest.param("POST", "/api/runs/{run}/fork", Raw("{generation: 0}"), 422, id="fork: broken JSON"),
    pytest.param("POST", f"/api/runs/{UNKNOWN_RUN}/fork", {"generation": 0}, 404, id="fork: unknown run"),
    # presets
    pytest.param("PUT", "/api/presets/quick", {"config": SMALL}, 409, id="preset: shipped name"),
    pytest.param("PUT", "/api/presets/mine", {"config": SMALL, "base": "nope"}, 422, id="preset: unknown base"),
    pytest.param("PUT", "/api/presets/mine", {"config": SMALL, "extra": 1}, 422, id="preset: extra field"),
    pytest.param("PUT", "/api/presets/mine", {"config": [1]}, 422, id="preset: config a list"),
    pytest.param("PUT", "/api/presets/mine", Raw("{"), 422, id="preset: broken JSON"),
    pytest.param("PUT", "/api/presets/-mine", {"config": SMALL}, 422, id="preset: name starting with a dash"),
    pytest.param("PUT", "/api/presets/mine%21", {"config": SMALL}, 422, id="preset: name with punctuation"),
    pytest.param("PUT", "/api/presets/" + "p" * 65, {"config": SMALL}, 422, id="preset: name too long"),
    pytest.param("DELETE", "/api/presets/mine", None, 404, id="preset: delete unknown"),
    pytest.param("DELETE", "/api/presets/quick", None, 409, id="preset: delete shipped"),
    pytest.param("DELETE", "/api/presets/-mine", None, 422, id="preset: delete bad name"),
]


@pytest.mark.parametrize(("method", "template", "body", "expected"), BAD_WRITES)
def test_a_bad_write_is_refused_and_changes_nothing(
    target: Target, method: str, template: str, body: Any, expected: int | tuple[int, ...]
) -> None:
    response = refused_unchanged(target, method, target.url(template), body)

    assert response.status_code in (expected if isinstance(expected, tuple) else (expected,)), response.text
    assert response.json()["detail"]


BAD_CONFIGS = [
    pytest.param({"population_size": -1}, "population_size", id="negative population"),
    pytest.param({"population_size": 0}, "population_size", id="empty population"),
    pytest.param({"population_size": "many"}, "population_size", id="population not a number"),
    pytest.param({"population_size": 8.5}, "population_size", id="fractional population"),
    pytest.param({"population_size": True}, "population_size", id="population a boolean"),
    pytest.param({"population_size": 8, "elite_count": 9}, "elite_count", id="more elites than creatures"),
    pytest.param({"mutation_rate": 2.0}, "mutation_rate", id="rate over 1"),
    pytest.param({"selection": "random"}, "selection", id="unknown selection"),
    pytest.param({"checkpoint_every": 0}, "checkpoint_every", id="checkpoint every 0"),
    pytest.param({"sim": {"duration": 0}}, "sim.duration", id="zero duration"),
    pytest.param({"sim": {"duration": 601}}, "sim.duration", id="duration too long"),
    pytest.param({"sim": {"duration": "1"}}, "sim.duration", id="duration a string"),
    pytest.param({"sim": {"neural_mode": "psychic"}}, "sim.neural_mode", id="unknown neural mode"),
    pytest.param({"sim": {"substeps": HUGE}}, "sim.substeps", id="huge substeps"),
    pytest.param({"sim": 5}, "sim", id="sim not a table"),
    pytest.param({"sim": {"fitness": {"pellet": -1}}}, "sim.fitness.pellet", id="negative fitness weight"),
    pytest.param({"frames": {"keep_top": -1}}, "frames.keep_top", id="negative frames kept"),
    pytest.param({"constraints": {"min_nodes": 9, "max_nodes": 3}}, "min_nodes", id="min over max"),
    pytest.param({"bogus": 1}, "bogus", id="unknown field"),
    pytest.param({"sim": {"bogus": 1}}, "sim.bogus", id="unknown nested field"),
]


@pytest.mark.parametrize(
    ("method", "url"), [("POST", "/api/runs"), ("PUT", "/api/presets/mine")], ids=["create a run", "save a preset"]
)
@pytest.mark.parametrize(("overrides", "field"), BAD_CONFIGS)
def test_a_bad_config_override_is_refused_with_one_line_naming_the_field(
    target: Target, method: str, url: str, overrides: dict[str, Any], field: str
) -> None:
    body = {"config": overrides} if method == "PUT" else {"preset": "quick", "config": overrides}

    response = refused_unchanged(target, method, url, body)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "\n" not in detail
    assert field in detail


def test_an_unknown_preset_is_refused_naming_the_choices(target: Target) -> None:
    response = refused_unchanged(target, "POST", "/api/runs", {"preset": "nope", "config": SMALL})

    assert response.status_code == 404  # a well-formed name of no preset: not there, rather than malformed
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "'nope'" in detail
    assert "quick" in detail


def test_a_bad_override_of_a_saved_preset_is_refused(target: Target) -> None:
    saved = target.client.put("/api/presets/tiny", json={"base": "quick", "config": SMALL})
    assert saved.status_code == 200
    try:
        response = refused_unchanged(
            target, "POST", "/api/runs", {"preset": "tiny", "config": {"sim": {"duration": -1}}}
        )

        assert response.status_code == 422
        assert "sim.duration" in response.json()["detail"]
    finally:
        assert target.client.delete("/api/presets/tiny").status_code == 204


def test_a_validation_error_in_the_body_names_the_field(target: Target) -> None:
    response = refused_unchanged(target, "POST", target.url("/api/runs/{run}/advance"), {"generations": 0})

    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "generations"]
    assert response.json()["detail"].startswith("generations: ")
