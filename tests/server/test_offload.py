"""A read's work runs on the event loop when it is small and on a worker thread when it is not, and the
answer is the same either way."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from evolab import EvolutionConfig
from evolab.server import offload
from evolab.storage import Store
from tests.server.shared import FEW_FRAMES, make_run, serve


def test_small_work_runs_on_the_loop_and_large_work_on_another_thread() -> None:
    async def where(small: bool) -> threading.Thread:
        return await offload.run_read(threading.current_thread, small=small)

    async def both() -> tuple[threading.Thread, threading.Thread, threading.Thread]:
        return threading.current_thread(), await where(True), await where(False)

    loop_thread, small, large = asyncio.run(both())
    assert small is loop_thread
    assert large is not loop_thread


def test_what_is_small_follows_the_population_and_the_replay_length() -> None:
    config = EvolutionConfig.from_preset("quick")
    assert offload.small_generation(config.replace(population_size=offload.INLINE_CREATURES))
    assert not offload.small_generation(config.replace(population_size=offload.INLINE_CREATURES + 1))
    assert offload.small_replay(config.replace(sim={"duration": offload.INLINE_SECONDS}))
    assert not offload.small_replay(config.replace(sim={"duration": offload.INLINE_SECONDS + 1}))


def _reads(db: Path, run_id: str) -> list[str]:
    with Store(db) as store:
        results = store.results(run_id, 1)
        kept = store.framed_creatures(run_id, 1)
    replays = [*[r.creature_id for r in results if r.creature_id in kept][:1], results[-1].creature_id]
    paths = [f"/api/runs/{run_id}/generations/1"]
    paths += [f"/api/runs/{run_id}/generations/1/creatures/{c}/replay" for c in replays]
    paths += [f"/api/runs/{run_id}/generations/1/creatures/cr_nobody/replay"]
    paths += [f"/api/runs/{run_id}/generations/9/creatures/{replays[0]}/replay"]
    return paths


def test_a_large_read_on_a_worker_thread_answers_as_on_the_loop(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = make_run(db_path, 2, frames=FEW_FRAMES)
    paths = _reads(db_path, run_id)
    with serve(db_path) as client:
        on_the_loop = [(r.status_code, r.content) for r in map(client.get, paths)]
    monkeypatch.setattr(offload, "INLINE_CREATURES", 0)
    monkeypatch.setattr(offload, "INLINE_SECONDS", 0.0)
    with serve(db_path) as client:
        on_a_thread = [(r.status_code, r.content) for r in map(client.get, paths)]
    assert on_a_thread == on_the_loop
    assert [status for status, _ in on_the_loop] == [200, 200, 200, 404, 404]
