"""Import and export through the API: the export is `evolab export`'s document as a download, an upload
is checked and imported by `evolab import`'s own code, and every refusal leaves the database as it was."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evolab.server.routes import transfer
from evolab.storage import Store
from evolab.storage.transfer import export_run
from tests.original_dump import ORIGINAL_DUMP
from tests.server.shared import TestClient, db_snapshot, make_run, serve

FIXTURE = ORIGINAL_DUMP


@pytest.fixture(scope="module")
def dump() -> dict:
    with gzip.open(FIXTURE) as f:
        return json.load(f)


def upload(client: TestClient, content: bytes | Iterator[bytes], kind: str = "application/json"):
    return client.post("/api/import", content=content, headers={"Content-Type": kind})


def test_export_then_import_through_the_api_gives_the_same_run(db_path: Path, tmp_path: Path) -> None:
    run_id = make_run(db_path, 3, name="travels")
    with serve(db_path) as client:
        exported = client.get(f"/api/runs/{run_id}/export")
        plain = client.get(f"/api/runs/{run_id}/export", headers={"Accept-Encoding": "identity"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"] == f'attachment; filename="{run_id}.json"'
    assert exported.headers["content-encoding"] == "gzip"  # the test client accepts it and unpacks it
    assert "content-encoding" not in plain.headers
    with Store(db_path) as store:
        document = export_run(store, run_id)
    # the bytes `evolab export` writes, whether or not they were gzip'd on the way
    assert exported.content == plain.content == (json.dumps(document, separators=(",", ":")) + "\n").encode()

    other = tmp_path / "other.db"
    with serve(other) as client:
        imported = upload(client, gzip.compress(exported.content), "application/gzip")
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["source"] == "evolab"
    assert [(r["id"], r["original_id"], r["name"], r["generation_count"]) for r in body["runs"]] == [
        (run_id, run_id, "travels", 3)
    ]
    assert (body["generations"], body["results"], body["warnings"]) == (3, 24, [])
    with Store(db_path) as a, Store(other) as b:
        assert export_run(a, run_id) == export_run(b, run_id)


def test_the_fixture_dump_imports_once_with_its_counts(client: TestClient, db_path: Path) -> None:
    imported = upload(client, FIXTURE.read_bytes(), "application/gzip")

    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["source"] == "original-app"
    assert [(r["original_id"], r["name"], r["generation_count"]) for r in body["runs"]] == [
        ("run_1796243628499", "Run B 3s", 11)
    ]
    assert (body["generations"], body["results"], body["genomes"]) == (11, 1100, 1050)
    assert (body["flagged_genomes"], body["replays"], body["replays_not_kept"]) == (159, 1070, 30)
    assert body["unmapped_settings"] == ["minNodes", "pelletCount", "fitnessWeights"]
    assert len(body["warnings"]) == 3
    assert "minNodes, pelletCount, fitnessWeights" in body["warnings"][0]
    listed = client.get("/api/runs").json()["data"]
    assert [(r["id"], r["generation_count"]) for r in listed] == [(body["runs"][0]["id"], 11)]
    # its stored replays play at the times the app recorded them, not at 15 FPS
    run_id = body["runs"][0]["id"]
    cards = client.get(f"/api/runs/{run_id}/generations/3").json()["creatures"]
    stored = next(c for c in cards if c["frames"] == "stored" and not c["disqualified"])
    replay = client.get(f"/api/runs/{run_id}/generations/3/creatures/{stored['id']}/replay").json()
    assert replay["times"][:4] == [0.017, 0.083, 0.15, 0.233]
    assert replay["imported_from"] == listed[0]["imported_from"] == "original-app"
    assert len(replay["times"]) == len(replay["frames"])

    before = db_snapshot(db_path)
    again = upload(client, FIXTURE.read_bytes(), "application/gzip")
    assert again.status_code == 409
    assert "imported already" in again.json()["detail"]
    assert db_snapshot(db_path) == before


def test_a_damaged_dump_is_a_422_naming_the_field_and_writes_nothing(
    client: TestClient, db_path: Path, dump: dict
) -> None:
    make_run(db_path, 1)  # something the refusals must leave alone
    before = db_snapshot(db_path)
    damaged = copy.deepcopy(dump)
    damaged["generations"][10]["results"][3]["genome"]["nodes"][0]["position"] = [1, 2, 3]

    refused = upload(client, json.dumps(damaged).encode())
    assert refused.status_code == 422
    assert refused.json() == {
        "detail": "generations[10].results[3].genome.nodes[0].position: expected an object (got list)"
    }
    truncated = upload(client, FIXTURE.read_bytes()[:100_000], "application/gzip")
    assert truncated.status_code == 422
    assert truncated.json()["detail"].startswith("not a complete gzip file")
    junk = upload(client, bytes(range(256)) * 64, "application/octet-stream")
    assert junk.status_code == 422
    assert db_snapshot(db_path) == before


def test_an_upload_over_the_limit_is_a_413_and_writes_nothing(
    client: TestClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "MAX_UPLOAD_BYTES", 1000)
    before = db_snapshot(db_path)
    declared = upload(client, b" " * 1001)
    chunked = upload(client, iter([b" " * 600, b" " * 600]))  # no Content-Length: counted as it arrives

    too_big = "the file is larger than the 1000 bytes an upload may be; nothing was written"
    for refused in (declared, chunked):
        assert refused.status_code == 413
        assert refused.json() == {"detail": too_big}
    assert upload(client, b"[]").status_code == 422  # within the limit, read and refused as it is
    assert db_snapshot(db_path) == before


def test_exporting_a_missing_run_is_a_404(client: TestClient) -> None:
    missing = client.get("/api/runs/run_nope/export")

    assert missing.status_code == 404
    assert missing.json() == {"detail": "unknown run 'run_nope'"}


def test_the_schema_documents_every_answer_of_both_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    bodies = {"application/json", "application/gzip", "application/octet-stream"}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDoc"}}}

    export, imported = paths["/api/runs/{run_id}/export"]["get"], paths["/api/import"]["post"]
    # every answer the routes give is declared (the app may declare more refusals for every route)
    assert {"200", "404", "422", "503"} <= set(export["responses"])
    assert export["responses"]["404"]["content"] == error
    assert {"201", "400", "409", "413", "422", "503"} <= set(imported["responses"])
    assert imported["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ImportDoc"
    }
    assert all(imported["responses"][code]["content"] == error for code in ("400", "409", "413", "422", "503"))
    assert set(imported["requestBody"]["content"]) == bodies
