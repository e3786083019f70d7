"""`evolab bench --api` measures, it never asserts speed: these check that the measurements run and mean
what they say, on a tiny database."""

from __future__ import annotations

from pathlib import Path

from evolab.server.latency import measure_api, measure_live_delay
from tests.server.shared import make_run


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
