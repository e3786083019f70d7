"""`evolab bench --api` measures, it never asserts speed: these check that the measurements run and mean
what they say, on a tiny database."""

from __future__ import annotations

from pathlib import Path

from evolab.server.latency import TARGET_P95_MS, measure_api, measure_api_concurrent, measure_live_delay
from evolab.storage import Store
from tests.server.shared import FEW_FRAMES, make_run


def test_api_latency_covers_the_reads_the_ui_waits_for(tmp_path: Path) -> None:
    db = tmp_path / "bench.db"
    make_run(db, 3, frames={"keep_top": 2, "keep_random": 1, "keep_bottom": 1})

    results = measure_api(db, samples=6)

    assert [r.endpoint for r in results] == [
        "run list",
        "one generation, all creatures",
        "replay, stored frames",
        "replay, re-simulated",
    ]
    for r in results:
        assert r.requests > 0
        assert 0 < r.p50_ms <= r.p95_ms <= r.max_ms
        assert r.mean_bytes > 0


def test_live_delay_counts_every_generation_the_cli_writes(tmp_path: Path) -> None:
    result = measure_live_delay(tmp_path / "live.db", generations=3)

    assert result.generations == 3
    assert result.samples == 3
    assert result.p50_s <= result.p95_s <= result.max_s  # may dip below 0: the line can lag the commit


def test_concurrent_latency_times_each_read_under_clients_and_a_writer(tmp_path: Path) -> None:
    db = tmp_path / "bench.db"
    make_run(db, 3, frames=FEW_FRAMES)

    result = measure_api_concurrent(db, clients=2, requests_per_client=8, time_limit=60, writer_preset="quick")

    assert result.clients == 2
    assert result.errors == 0, result.error_samples
    assert result.requests == 16
    assert result.writer_generations >= 0
    assert [r.endpoint for r in result.endpoints] == list(TARGET_P95_MS)
    for r in result.endpoints:
        assert r.requests == 4  # each client cycles over the four endpoints
        assert 0 < r.p50_ms <= r.p95_ms <= r.max_ms
        assert r.target_p95_ms == TARGET_P95_MS[r.endpoint]
        assert r.to_dict()["meets_target"] in (True, False)
    document = result.to_dict()
    assert {"clients", "requests", "errors", "seconds", "writer_generations", "endpoints"} <= set(document)
    with Store(db) as store:  # the writer wrote its own run into the same file, and stopped cleanly
        writer = next(info for info in store.list_runs() if info.name == "bench writer")
        assert writer.status == "stopped"
        assert writer.generation_count >= 1
