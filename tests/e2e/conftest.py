"""End-to-end fixtures: a real `evolab serve` app on loopback over a fresh database, and Debian's Chromium
driven by Playwright (never a downloaded browser). Each test saves a screenshot under tests/artifacts/."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from evolab.server import create_app
from evolab.server.app import STATIC_DIR
from tests.server.shared import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--use-angle=swiftshader",  # WebGL on the CPU: there is no GPU
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",  # the machine is offline: no update or sync traffic
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEADLINE_MS = 30_000  # generous: CI machines are slow, and nothing here is a timing test
expect.set_options(timeout=DEADLINE_MS)


@dataclass(frozen=True)
class LiveServer:
    url: str
    db: Path


def evolve_with_cli(db: Path, generations: int = 3, seed: int = 1, name: str = "from the cli") -> None:
    """A run written by `evolab evolve` in another process, like a user's second terminal."""
    options = {"--preset": "quick", "--population": 12, "--duration": 2, "--generations": generations}
    options |= {"--seed": seed, "--name": name, "--db": db}
    command = [sys.executable, "-m", "evolab", "evolve"] + [str(x) for pair in options.items() for x in pair]
    subprocess.run(command, check=True, capture_output=True)


@pytest.fixture(scope="session")
def ui_built() -> None:
    if not (STATIC_DIR / "index.html").is_file():
        pytest.fail("the web UI is not built: run `make web` (npm ci && npm run build in web/)")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")


@pytest.fixture
def server(tmp_path: Path, ui_built: None) -> Iterator[LiveServer]:
    """`evolab serve` over a fresh database, on a free loopback port, for one test."""
    db = tmp_path / "e2e.db"
    port = free_port()
    app = create_app(db, workers=1, poll_interval=0.1)
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", db)
    instance.should_exit = True
    thread.join(60)


@pytest.fixture(scope="module")
def browser(ui_built: None) -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an asyncio loop running on this thread while it is open,
    # so a test of another module in the same xdist worker could not asyncio.run() until it is closed.
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(DEADLINE_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def screenshot(page: Page, name: str) -> Path:
    """Save the page as tests/artifacts/<name>.png (listed in the closing notes; git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
