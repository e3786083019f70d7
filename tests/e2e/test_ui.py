"""The browser UI end to end, in real headless Chromium against a real server: what a user does with
the mouse, checked on the page and in the database. Every test leaves a screenshot in tests/artifacts/."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, evolve_with_cli, screenshot

SMALL = {"population_size": 8, "sim": {"duration": 2.0}}


def api_run(server: LiveServer, generations: int, *, turbo: bool = False, name: str = "api run") -> str:
    """A run made and advanced through the API (the UI is tested elsewhere); returns its id."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        run = client.post("/api/runs", json={"preset": "quick", "config": SMALL, "turbo": turbo, "name": name})
        run.raise_for_status()
        run_id = run.json()["id"]
        client.post(f"/api/runs/{run_id}/advance", json={"generations": generations}).raise_for_status()
        deadline = time.monotonic() + 120
        while client.get(f"/api/runs/{run_id}").json()["generation_count"] < generations:
            assert time.monotonic() < deadline, "the run did not advance"
            time.sleep(0.1)
    return run_id


def get_run(server: LiveServer, run_id: str) -> dict:
    return httpx.get(f"{server.url}/api/runs/{run_id}", timeout=30).json()


def get_generations(server: LiveServer, run_id: str) -> list[dict]:
    return httpx.get(f"{server.url}/api/runs/{run_id}/generations", timeout=30).json()["data"]


def open_run(page: Page, server: LiveServer, run_id: str) -> None:
    page.goto(f"{server.url}/#/run/{run_id}")
    expect(page.get_by_test_id("creature-card").first).to_be_visible()


def shown_generation(page: Page) -> int:
    return int(re.search(r"\d+", page.get_by_test_id("gen-label").inner_text()).group())


def to_fixed(x: float, digits: int) -> str:
    """`x.toFixed(digits)` as the page writes it: halves round away from zero (Python's format rounds them
    to even, and benchmark means over 16 layouts are often exact halves)."""
    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def expect_every_card_has_a_fitness(page: Page, count: int) -> None:
    cards = page.get_by_test_id("creature-card")
    expect(cards).to_have_count(count)
    for text in page.get_by_test_id("card-fitness").all_inner_texts():
        # the mean fitness, with its spread over the trials when there are several
        assert re.fullmatch(r"-?\d+( ±\d+)?", text.strip()), f"a card shows {text!r} instead of a fitness"


def test_the_menu_starts_a_run_that_advances_three_generations(server: LiveServer, page: Page) -> None:
    page.goto(server.url)
    for field, value in (("menu-population-input", "10"), ("menu-duration-input", "3")):
        page.get_by_test_id(field).fill(value)
        page.get_by_test_id(field).dispatch_event("change")
    page.get_by_test_id("menu-name").fill("made in the menu")
    page.get_by_test_id("start-evolution").click()

    expect(page.get_by_test_id("grid-screen")).to_be_visible()
    expect_every_card_has_a_fitness(page, 10)
    for generation in (1, 2, 3):
        expect(page.get_by_test_id("advance-1")).to_be_enabled()
        page.get_by_test_id("advance-1").click()
        expect(page.get_by_test_id("gen-label")).to_contain_text(str(generation))
    expect_every_card_has_a_fitness(page, 10)
    screenshot(page, "menu_run_after_three_generations")

    runs = httpx.get(f"{server.url}/api/runs").json()["data"]
    assert [(r["name"], r["generation_count"], r["population_size"]) for r in runs] == [("made in the menu", 4, 10)]
    assert runs[0]["duration"] == 3.0


def test_the_menu_starts_from_the_servers_defaults_within_its_limits(server: LiveServer, page: Page) -> None:
    defaults = httpx.get(f"{server.url}/api/defaults").json()
    cfg, ranges = defaults["config"], defaults["ranges"]
    page.goto(server.url)

    shown = {
        "menu-population-input": cfg["population_size"],
        "menu-trials-input": cfg["trials"],
        "menu-duration-input": cfg["sim"]["duration"],
        "menu-max-size-input": cfg["constraints"]["max_size"],
        "menu-mutation-input": round(cfg["mutation_rate"] * 100),
        "menu-fitness-pellet-input": cfg["sim"]["fitness"]["pellet"],
    }
    for testid, value in shown.items():
        expect(page.get_by_test_id(testid)).to_have_value(f"{value:g}")
    expect(page.get_by_test_id("menu-preset")).to_have_value(defaults["preset"])
    for testid, field in (("menu-max-size", "constraints.max_size"), ("menu-trials", "trials")):
        assert float(page.get_by_test_id(testid).get_attribute("max")) <= ranges[field]["maximum"]


def test_a_card_opens_a_replay_that_moves(server: LiveServer, page: Page) -> None:
    run_id = api_run(server, generations=1)
    open_run(page, server, run_id)
    page.get_by_test_id("creature-card").first.click()

    expect(page.get_by_test_id("replay-modal")).to_be_visible()
    expect(page.get_by_test_id("replay-source")).to_contain_text("stored")
    first = page.evaluate("() => window.__evolab.replayFrame()")
    page.wait_for_function("first => window.__evolab.replayFrame() !== first", arg=first)
    expect(page.get_by_test_id("replay-time")).to_contain_text("/")
    screenshot(page, "replay_stored_frames")

    page.get_by_test_id("replay-close").click()
    expect(page.get_by_test_id("replay-modal")).to_be_hidden()


def test_a_creature_without_stored_frames_is_replayed_by_re_simulation(server: LiveServer, page: Page) -> None:
    run_id = api_run(server, generations=1, turbo=True)
    open_run(page, server, run_id)
    page.get_by_test_id("creature-card").last.click()

    expect(page.get_by_test_id("replay-source")).to_contain_text(re.compile("simulated", re.IGNORECASE))
    first = page.evaluate("() => window.__evolab.replayFrame()")
    page.wait_for_function("first => window.__evolab.replayFrame() !== first", arg=first)
    screenshot(page, "replay_re_simulated")


def test_the_graph_button_hides_and_shows_both_charts(server: LiveServer, page: Page) -> None:
    run_id = api_run(server, generations=3)
    open_run(page, server, run_id)
    charts = [page.get_by_test_id("fitness-chart"), page.get_by_test_id("types-chart")]
    for chart in charts:
        expect(chart).to_be_visible()
    screenshot(page, "charts_shown")

    page.get_by_test_id("toggle-charts").click()
    for chart in charts:
        expect(chart).to_be_hidden()
    page.get_by_test_id("toggle-charts").click()
    for chart in charts:
        expect(chart).to_be_visible()


def test_a_run_made_by_evolab_evolve_opens_from_the_run_list(server: LiveServer, page: Page) -> None:
    evolve_with_cli(server.db, generations=3, name="from the cli")
    run_id = httpx.get(f"{server.url}/api/runs").json()["data"][0]["id"]
    page.goto(server.url)
    page.get_by_test_id("load-run").click()
    card = page.locator(f'[data-testid="run-card"][data-run-id="{run_id}"]')
    expect(card.get_by_test_id("run-name")).to_have_value("from the cli")
    expect(card.get_by_test_id("run-card-status")).to_contain_text("completed")
    screenshot(page, "run_list_with_cli_run")

    card.click()
    expect_every_card_has_a_fitness(page, 12)
    assert shown_generation(page) == 2
    screenshot(page, "cli_run_latest_generation")


def test_browsing_history_and_forking_from_an_old_generation(server: LiveServer, page: Page) -> None:
    evolve_with_cli(server.db, generations=3, name="history")
    run_id = httpx.get(f"{server.url}/api/runs").json()["data"][0]["id"]
    open_run(page, server, run_id)

    page.get_by_test_id("gen-prev").click()
    expect(page.get_by_test_id("history-badge")).to_be_visible()
    expect(page.get_by_test_id("gen-label")).to_contain_text("1")
    expect_every_card_has_a_fitness(page, 12)
    screenshot(page, "history_generation_1")

    page.get_by_test_id("fork").click()
    page.wait_for_function("old => !location.hash.includes(old)", arg=run_id)
    forks = [r for r in httpx.get(f"{server.url}/api/runs").json()["data"] if r["parent_run_id"] == run_id]
    assert [(f["fork_generation"], f["generation_count"]) for f in forks] == [(1, 2)]
    expect(page.get_by_test_id("creature-card").first).to_be_visible()
    screenshot(page, "forked_run")


def test_an_open_run_shows_generations_that_the_cli_writes_live(server: LiveServer, page: Page) -> None:
    evolve_with_cli(server.db, generations=2, name="growing")
    run_id = httpx.get(f"{server.url}/api/runs").json()["data"][0]["id"]
    open_run(page, server, run_id)
    assert shown_generation(page) == 1

    subprocess.run(
        [sys.executable, "-m", "evolab", "evolve", "--resume", run_id, "--generations", "3", "--db", str(server.db)],
        check=True,
        capture_output=True,
    )
    expect(page.get_by_test_id("gen-label")).to_contain_text("4")
    expect_every_card_has_a_fitness(page, 12)
    assert get_run(server, run_id)["generation_count"] == 5
    screenshot(page, "cli_generations_arrive_live")


def test_a_preset_saved_from_the_menu_is_offered_and_can_be_deleted(server: LiveServer, page: Page) -> None:
    page.goto(server.url)
    page.get_by_test_id("menu-population-input").fill("20")
    page.get_by_test_id("menu-population-input").dispatch_event("change")
    page.get_by_test_id("menu-preset-save").click()
    page.get_by_test_id("menu-preset-name").fill("tiny")
    page.get_by_test_id("menu-preset-save-confirm").click()

    expect(page.get_by_test_id("menu-preset")).to_have_value("tiny")
    saved = {p["name"]: p for p in httpx.get(f"{server.url}/api/presets").json()["data"] if not p["builtin"]}
    assert saved["tiny"]["config"]["population_size"] == 20
    screenshot(page, "menu_saved_preset")

    page.get_by_test_id("menu-preset-delete").click()
    page.get_by_test_id("menu-preset-delete").click()  # the first click only asks
    expect(page.get_by_test_id("menu-preset")).to_have_value("default")
    assert all(p["builtin"] for p in httpx.get(f"{server.url}/api/presets").json()["data"])


def test_stop_in_the_page_stops_a_run_that_evolab_evolve_is_writing(server: LiveServer, page: Page) -> None:
    command = [sys.executable, "-m", "evolab", "evolve", "--preset", "quick", "--population", "12",
               "--duration", "2", "--generations", "100000", "--seed", "5", "--db", str(server.db)]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as cli:
        try:
            deadline = time.monotonic() + 60
            while not (runs := httpx.get(f"{server.url}/api/runs").json()["data"]) or not runs[0]["generation_count"]:
                assert time.monotonic() < deadline, "the CLI run did not start"
                time.sleep(0.1)
            open_run(page, server, runs[0]["id"])
            expect(page.get_by_test_id("stop")).to_be_enabled()
            page.get_by_test_id("stop").click()
            assert cli.wait(60) == 130  # the CLI's clean stop: checkpoint written, resume command printed
        finally:
            cli.kill()

    expect(page.get_by_test_id("run-status")).to_contain_text("stopped")
    screenshot(page, "cli_run_stopped_from_the_page")


def test_the_replay_window_has_speeds_the_genome_and_the_family_tree(server: LiveServer, page: Page) -> None:
    run_id = api_run(server, generations=4)
    open_run(page, server, run_id)
    best = page.get_by_test_id("creature-card").first
    best.hover()
    expect(page.get_by_test_id("tooltip")).to_contain_text("#1")
    best.click()

    expect(page.get_by_test_id("replay-speed-1")).to_have_class(re.compile("active"))
    page.get_by_test_id("replay-speed-4").click()
    expect(page.get_by_test_id("replay-speed-4")).to_have_class(re.compile("active"))
    expect(page.get_by_test_id("genome-viewer")).to_contain_text("Node 0")
    header = page.get_by_test_id("family-tree-header")
    expect(header).to_contain_text(re.compile(r"ancestors? traced to Gen 0|Randomly generated"))
    page.get_by_test_id("lineage-mode").select_option("clone")
    expect(header).to_contain_text(re.compile(r"clone|Randomly generated", re.IGNORECASE))
    screenshot(page, "replay_speed_genome_family_tree")


def test_the_arrow_keys_browse_generations(server: LiveServer, page: Page) -> None:
    run_id = api_run(server, generations=3)
    open_run(page, server, run_id)
    assert shown_generation(page) == 2

    page.keyboard.press("ArrowLeft")
    expect(page.get_by_test_id("history-badge")).to_be_visible()
    expect(page.get_by_test_id("gen-label")).to_contain_text("1")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("history-badge")).to_be_hidden()
    assert shown_generation(page) == 2
    screenshot(page, "keyboard_back_to_latest")


def test_the_run_screen_shows_the_benchmark_curve_the_champion_and_the_trials(server: LiveServer, page: Page) -> None:
    run_id = api_run(server, generations=3)  # the quick preset: 4 trials a generation, a held-out benchmark
    run = get_run(server, run_id)
    progress = run["benchmark_progress"]
    open_run(page, server, run_id)

    legend = page.get_by_test_id("fitness-chart").locator(".u-legend")
    expect(legend).to_contain_text("Best")
    expect(legend).to_contain_text("Benchmark")
    champion = page.get_by_test_id("best-ever")
    expect(champion).to_contain_text("Champion (benchmark)")
    expect(champion).to_contain_text(f"Gen {run['best_generation']}")
    expect(page.get_by_test_id("champion")).to_have_text(
        f"{to_fixed(run['best_pellets'], 2)} pellets · fitness {to_fixed(run['best_fitness'], 1)}"
    )
    expect(page.get_by_test_id("benchmark-progress")).to_have_text(
        f"first tenth {to_fixed(progress['first_pellets'], 2)} → last tenth {to_fixed(progress['last_pellets'], 2)}"
    )
    latest = get_generations(server, run_id)[-1]
    expect(page.get_by_test_id("stat-benchmark")).to_have_text(to_fixed(latest["benchmark_fitness"], 1))
    expect(page.get_by_test_id("stat-benchmark-pellets")).to_have_text(to_fixed(latest["benchmark_pellets"], 2))
    screenshot(page, "benchmark_curve_and_champion")

    best = page.locator('[data-testid="creature-card"][data-rank="1"]')
    card = httpx.get(f"{server.url}/api/runs/{run_id}/generations/2", timeout=30).json()["creatures"][0]
    best.click()
    expect(page.get_by_test_id("replay-score")).to_contain_text(
        f"fitness {to_fixed(card['fitness'], 1)} ± {to_fixed(card['fitness_std'], 1)}"
        f" · pellets {'·'.join(map(str, card['trial_pellets']))}"
    )
