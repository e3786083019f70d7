"""The live feed: a real server on loopback and a WebSocket client, watching what every writer does
(the server's own writer and `evolab evolve` in another process)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.sync.client import connect as connect_sync

from evolab.server import create_app
from evolab.storage import Store
from tests.server.shared import SMALL, make_run, small_config, wait_until

DEADLINE = 30.0
"""Seconds to wait for any one expected message (generous: CI machines may be slow, never flaky)."""

Message = dict[str, Any]


@dataclass(frozen=True)
class LiveServer:
    db: Path
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/ws"


@pytest.fixture
def live(db_path: Path) -> Iterator[LiveServer]:
    """The app served by uvicorn on 127.0.0.1 (a port the OS picks), in a thread."""
    app = create_app(db_path, workers=1, poll_interval=0.05, static_dir=None)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), "uvicorn to start")
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        live = LiveServer(db_path, f"http://127.0.0.1:{port}")
        wait_for_the_watcher(live)
        yield live
    finally:
        server.should_exit = True
        thread.join(DEADLINE)
        assert not thread.is_alive(), "uvicorn did not shut down"


def wait_for_the_watcher(live: LiveServer) -> None:
    """Return once the watcher has taken its first look at the file.

    What is written before that look becomes its baseline and is never announced, so a test that writes
    right after startup could miss its first events. A throwaway run is renamed until a `runs` message
    shows that the watcher is comparing, then deleted (the run list is empty again).
    """
    with connect_sync(live.ws_url, open_timeout=DEADLINE, proxy=None) as ws, Store(live.db) as store:
        ws.recv(timeout=DEADLINE)  # hello
        warm_up = store.create_run(small_config(), seed=0, name="warm-up")
        give_up = time.monotonic() + DEADLINE
        for attempt in itertools.count():
            store.rename_run(warm_up.id, f"warm-up {attempt}")
            try:
                if json.loads(ws.recv(timeout=0.2))["type"] == "runs":
                    break
            except TimeoutError:
                assert time.monotonic() < give_up, "the watcher never reported a change"
        store.delete_run(warm_up.id)
        while True:
            message = json.loads(ws.recv(timeout=DEADLINE))
            if message["type"] == "runs" and warm_up.id not in {r["id"] for r in message["runs"]}:
                return


@dataclass
class Feed:
    """A WebSocket client's messages: everything received is kept in `seen`, in order."""

    ws: ClientConnection
    seen: list[Message] = field(default_factory=list)

    async def next(self, wanted: Callable[[Message], bool]) -> Message:
        """The next message `wanted` accepts (later messages stay unread)."""

        async def read() -> Message:
            while True:
                message = json.loads(await self.ws.recv())
                self.seen.append(message)
                if wanted(message):
                    return message

        return await asyncio.wait_for(read(), DEADLINE)

    def of_type(self, kind: str) -> list[Message]:
        return [m for m in self.seen if m["type"] == kind]


async def open_feed(live: LiveServer) -> tuple[ClientConnection, Feed]:
    ws = await connect(live.ws_url, open_timeout=DEADLINE, proxy=None)
    feed = Feed(ws)
    await feed.next(lambda m: True)  # hello
    return ws, feed


def is_type(kind: str) -> Callable[[Message], bool]:
    return lambda m: m["type"] == kind


def listing(run_id: str, **fields: Any) -> Callable[[Message], bool]:
    """Accepts a `runs` message listing the run with these field values."""

    def wanted(m: Message) -> bool:
        runs = {r["id"]: r for r in m.get("runs", [])} if m["type"] == "runs" else {}
        return run_id in runs and all(runs[run_id][k] == v for k, v in fields.items())

    return wanted


# -- hello ---------------------------------------------------------------------------------------------


def test_the_first_message_is_hello_with_the_runs_and_the_jobs(live: LiveServer) -> None:
    run_id = make_run(live.db, 1)

    async def scenario() -> Message:
        async with connect(live.ws_url, open_timeout=DEADLINE, proxy=None) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))

    hello = asyncio.run(scenario())

    assert hello["type"] == "hello"
    assert hello["runs"] == httpx.get(f"{live.base_url}/api/runs", trust_env=False).json()["data"]
    assert [r["id"] for r in hello["runs"]] == [run_id]
    assert hello["jobs"] == {"current": None, "queued": []}


# -- the server's own writer ---------------------------------------------------------------------------


def test_advancing_a_run_streams_its_job_and_each_new_generation(live: LiveServer) -> None:
    async def scenario() -> tuple[Feed, str, Message, list[Message]]:
        ws, feed = await open_feed(live)
        async with ws, httpx.AsyncClient(base_url=live.base_url, trust_env=False) as http:
            created = await http.post("/api/runs", json={"preset": "quick", "config": SMALL})
            run_id = created.json()["id"]
            job = (await http.post(f"/api/runs/{run_id}/advance", json={"generations": 3})).json()
            await feed.next(
                lambda m: m["type"] == "job" and m["job"]["id"] == job["id"] and m["job"]["state"] == "done"
            )
            await feed.next(
                lambda m: m["type"] == "generation" and m["run_id"] == run_id and m["stats"]["generation"] == 2
            )
            # a fence: the watcher reports in order, so once the rename shows, every generation has been sent
            await http.patch(f"/api/runs/{run_id}", json={"name": "fence"})
            await feed.next(listing(run_id, name="fence"))
            stats = (await http.get(f"/api/runs/{run_id}/generations")).json()["data"]
        return feed, run_id, job, stats

    feed, run_id, job, stats = asyncio.run(scenario())

    jobs = [m["job"] for m in feed.of_type("job") if m["job"]["id"] == job["id"]]
    assert {j["state"] for j in jobs} <= {"queued", "running", "done"}
    assert "running" in {j["state"] for j in jobs}
    assert all((j["kind"], j["run_id"], j["total"], j["error"]) == ("advance", run_id, 3, None) for j in jobs)
    progress = [j["done"] for j in jobs if j["state"] != "queued"]
    assert progress == sorted(progress)
    assert {1, 2, 3} <= set(progress)
    assert (jobs[-1]["state"], jobs[-1]["done"]) == ("done", 3)

    generations = [m for m in feed.of_type("generation") if m["run_id"] == run_id]
    assert [m["stats"]["generation"] for m in generations] == [0, 1, 2]
    assert [m["stats"] for m in generations] == stats
    assert all(
        m["run"]["id"] == run_id and m["run"]["generation_count"] > m["stats"]["generation"] for m in generations
    )


# -- other processes -----------------------------------------------------------------------------------


def test_a_run_written_by_the_cli_in_another_process_is_streamed(live: LiveServer, tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "evolab", "evolve", "--preset", "quick", "--population", "8", "--duration", "1",
        "--generations", "3", "--seed", "1", "--db", str(live.db),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "EVOLAB_DB"}

    async def scenario() -> tuple[Feed, str]:
        ws, feed = await open_feed(live)
        async with ws:
            cli = await asyncio.to_thread(
                subprocess.run, command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )
            assert cli.returncode == 0, cli.stderr
            with Store(live.db) as store:
                (run,) = store.list_runs()
            await feed.next(
                lambda m: m["type"] == "generation" and m["run_id"] == run.id and m["stats"]["generation"] == 2
            )
            await feed.next(listing(run.id, generation_count=3, status="completed"))
        return feed, run.id

    feed, run_id = asyncio.run(scenario())

    generations = [m for m in feed.of_type("generation") if m["run_id"] == run_id]
    assert [m["stats"]["generation"] for m in generations] == [0, 1, 2]
    assert all(m["run"]["seed"] == 1 and m["run"]["population_size"] == 8 for m in generations)


def test_a_run_renamed_by_another_process_is_streamed(live: LiveServer) -> None:
    run_id = make_run(live.db, 1, name="before")

    async def scenario() -> Message:
        ws, feed = await open_feed(live)
        async with ws:
            with Store(live.db) as store:
                store.rename_run(run_id, "after")
            return await feed.next(listing(run_id, name="after"))

    assert asyncio.run(scenario())["type"] == "runs"


# -- renames and deletes ---------------------------------------------------------------------------------


def test_renaming_and_deleting_a_run_through_the_api_are_streamed(live: LiveServer) -> None:
    kept = make_run(live.db, 1, seed=1, name="kept")
    run_id = make_run(live.db, 1, seed=2, name="before")

    async def scenario() -> tuple[Message, Message]:
        ws, feed = await open_feed(live)
        async with ws, httpx.AsyncClient(base_url=live.base_url, trust_env=False) as http:
            assert (await http.patch(f"/api/runs/{run_id}", json={"name": "after"})).status_code == 200
            renamed = await feed.next(listing(run_id, name="after"))
            assert (await http.delete(f"/api/runs/{run_id}")).status_code == 204
            deleted = await feed.next(lambda m: m["type"] == "runs" and run_id not in {r["id"] for r in m["runs"]})
        return renamed, deleted

    renamed, deleted = asyncio.run(scenario())

    assert {r["id"]: r["name"] for r in renamed["runs"]} == {kept: "kept", run_id: "after"}
    assert [r["id"] for r in deleted["runs"]] == [kept]
