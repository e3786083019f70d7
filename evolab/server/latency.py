"""API latency on a real server over loopback: what the browser feels (numbers for `evolab bench --api`,
never for tests)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evolab.storage import Store

SAMPLES = 200


@dataclass(frozen=True, slots=True)
class LatencyResult:
    """Milliseconds per request of one endpoint, measured `requests` times."""

    endpoint: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_bytes: float

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_api(
    db: str | Path, run_id: str | None = None, samples: int = SAMPLES, seed: int = 0
) -> list[LatencyResult]:
    """Time the UI's heaviest reads on a running `evolab serve` over `db`: the run list, a generation's
    creatures, a creature's stored frames and a re-simulated replay (random generations and creatures).

    Raises:
        StorageError: unknown run, or a run without stored generations.
    """
    from evolab.errors import GenerationNotStored

    rng = np.random.default_rng(seed)
    with Store(db) as store:
        info = store.get_run(run_id) if run_id else max(store.list_runs(), key=lambda r: r.generation_count)
        if info.generation_count == 0:
            raise GenerationNotStored(f"run {info.id!r} has no stored generations to read")
        generations = rng.integers(0, info.generation_count, size=samples).tolist()
        kept = {g: sorted(store.framed_creatures(info.id, g)) for g in set(generations)}
        framed = [(g, kept[g]) for g in generations]
        unframed = []
        for g in generations[: max(samples // 4, 1)]:
            others = [r.creature_id for r in store.results(info.id, g) if r.creature_id not in kept[g]]
            if others:
                unframed.append((g, others[int(rng.integers(len(others)))]))

    with _serving(db) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        base = f"/api/runs/{info.id}"
        plans = {
            "run list": ["/api/runs"] * samples,
            "one generation, all creatures": [f"{base}/generations/{g}" for g in generations],
            "replay, stored frames": [
                f"{base}/generations/{g}/creatures/{ids[int(rng.integers(len(ids)))]}/replay"
                for g, ids in framed
                if ids
            ],
            "replay, re-simulated": [f"{base}/generations/{g}/creatures/{c}/replay" for g, c in unframed],
        }
        results = []
        for endpoint, paths in plans.items():
            if not paths:
                continue
            _get(connection, paths[0])  # first touch: caches, compiled kernel load
            times, sizes = [], []
            for path in paths:
                start = time.perf_counter()
                sizes.append(_get(connection, path))
                times.append((time.perf_counter() - start) * 1000)
            results.append(
                LatencyResult(
                    endpoint=endpoint,
                    requests=len(times),
                    p50_ms=float(np.percentile(times, 50)),
                    p95_ms=float(np.percentile(times, 95)),
                    max_ms=float(np.max(times)),
                    mean_bytes=float(np.mean(sizes)),
                )
            )
        connection.close()
        return results


@contextmanager
def _serving(db: str | Path) -> Iterator[int]:
    """`evolab serve`'s app over `db` on a free loopback port, in a thread; yields the port."""
    import uvicorn

    from evolab.server import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(db, static_dir=None), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


@dataclass(frozen=True, slots=True)
class LiveDelayResult:
    """Seconds from `evolab evolve` (another process) storing a generation to the WebSocket message that
    announces it, over `samples` generations."""

    generations: int
    samples: int
    p50_s: float
    p95_s: float
    max_s: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def measure_live_delay(db: str | Path, generations: int = 200) -> LiveDelayResult:
    """Run `evolab evolve --preset default` into `db` in a subprocess while a WebSocket client of the server
    listens, and time each generation from the moment the process reports it stored (its per-generation
    line, printed right after the commit) to the WebSocket message that announces it."""
    import websockets

    reported: dict[int, float] = {}
    announced: dict[int, float] = {}

    def read_lines(process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            words = line.split()
            if len(words) > 1 and words[0] == "gen" and words[1].isdigit():
                reported[int(words[1])] = time.time()

    async def listen(port: int) -> None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/api/ws") as ws:
            json.loads(await ws.recv())  # hello
            command = [
                sys.executable, "-m", "evolab", "evolve", "--preset", "default", "--generations", str(generations),
                "--seed", "7", "--name", "live-delay", "--db", str(db),
            ]  # fmt: skip
            environment = {**os.environ, "PYTHONUNBUFFERED": "1"}  # each line leaves the process when printed
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment
            )
            reader = threading.Thread(target=read_lines, args=(process,), daemon=True)
            reader.start()
            try:
                while True:
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 2.0))
                    except TimeoutError:
                        if process.poll() is not None:
                            break  # the run is over and everything it wrote has been announced
                        continue
                    if message["type"] == "generation" and message["run"]["name"] == "live-delay":
                        announced.setdefault(message["stats"]["generation"], time.time())
            finally:
                process.wait(120)
                reader.join(10)

    with _serving(db) as port:
        asyncio.run(listen(port))
    delays = [announced[g] - reported[g] for g in reported if g in announced]
    if len(announced) < generations or not delays:
        raise RuntimeError(f"only {len(announced)} of {generations} generations were announced")
    return LiveDelayResult(
        generations=generations,
        samples=len(delays),
        p50_s=float(np.percentile(delays, 50)),
        p95_s=float(np.percentile(delays, 95)),
        max_s=float(np.max(delays)),
    )


def _get(connection: http.client.HTTPConnection, path: str) -> int:
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status} {body[:200]!r}")
    return len(body)
