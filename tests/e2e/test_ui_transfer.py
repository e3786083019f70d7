"""Import and export from the Load Run screen, in real headless Chromium against a real server: the
original app's dump goes in through "Import from file" and replays; a run comes out through "Export"."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from evolab.server.routes import transfer
from tests.e2e.conftest import LiveServer, screenshot
from tests.e2e.test_ui import api_run
from tests.original_dump import ORIGINAL_DUMP

FIXTURE = ORIGINAL_DUMP


def open_load_run(page: Page, server: LiveServer) -> None:
    page.goto(server.url)
    page.get_by_test_id("load-run").click()
    expect(page.get_by_test_id("load-run-modal")).to_be_visible()


def test_the_original_apps_dump_imports_from_the_load_run_screen_and_replays(server: LiveServer, page: Page) -> None:
    open_load_run(page, server)
    page.get_by_test_id("import-file-input").set_input_files(str(FIXTURE))

    expect(page.get_by_test_id("import-status")).to_contain_text("Imported 1 run from the original app")
    expect(page.get_by_test_id("import-status")).to_contain_text("11 generations, 1100 results, 1070 replays")
    expect(page.get_by_test_id("toast").filter(has_text="159 of its 1050 genomes")).to_be_visible()
    (run,) = httpx.get(f"{server.url}/api/runs").json()["data"]
    card = page.locator(f'[data-testid="run-card"][data-run-id="{run["id"]}"]')
    expect(card.get_by_test_id("run-name")).to_have_value("Run B 3s")
    expect(card).to_contain_text("imported from the original app")
    screenshot(page, "imported_original_run_in_the_list")

    card.click()
    expect(page.get_by_test_id("creature-card")).to_have_count(100)
    expect(page.get_by_test_id("gen-label")).to_contain_text("10")
    page.get_by_test_id("creature-card").first.click()
    expect(page.get_by_test_id("replay-source")).to_have_text("frames recorded by the original app")
    first = page.evaluate("() => window.__evolab.replayFrame()")
    page.wait_for_function("first => window.__evolab.replayFrame() !== first", arg=first)
    screenshot(page, "imported_original_run_replay")


def test_a_refused_file_says_why_and_adds_nothing(
    server: LiveServer, page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "notes.json"
    junk.write_text('{"runs": [], "generations": [{"runId": 7}]}')
    open_load_run(page, server)

    page.get_by_test_id("import-file-input").set_input_files(str(junk))
    expect(page.get_by_test_id("import-status")).to_contain_text("Not imported: generations[0].runId")
    monkeypatch.setattr(transfer, "MAX_UPLOAD_BYTES", 1024**2)  # the fixture is 3.4 MB
    page.get_by_test_id("import-file-input").set_input_files(str(FIXTURE))
    expect(page.get_by_test_id("import-status")).to_contain_text("Not imported: the file is larger than the 1 MB")
    screenshot(page, "import_refused")
    assert httpx.get(f"{server.url}/api/runs").json()["count"] == 0


def test_export_in_the_run_list_downloads_the_run(server: LiveServer, page: Page, tmp_path: Path) -> None:
    run_id = api_run(server, generations=2, name="to take away")
    open_load_run(page, server)
    card = page.locator(f'[data-testid="run-card"][data-run-id="{run_id}"]')

    with page.expect_download() as download:
        card.get_by_test_id("run-export").click()
    assert download.value.suggested_filename == f"{run_id}.json"
    saved = tmp_path / "run.json"
    download.value.save_as(saved)
    document = json.loads(saved.read_text())
    run = document["run"]
    assert (document["format"], run["id"], run["name"]) == ("evolab-run", run_id, "to take away")
    assert len(document["generations"]) == 2
    expect(page.get_by_test_id("load-run-modal")).to_be_visible()  # exporting does not open the run
