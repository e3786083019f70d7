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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evolab.storage import Store

SAMPLES = 200

TARGET_P95_MS = {
    "run list": 100.0,
    "one generation, all creatures": 100.0,
    "replay, stored frames": 150.0,
    "replay, re-simulated": 150.0,
}
"""What each endpoint's p95 should stay under, alone or under 16 clients with a writer (issue 15)."""


@dataclass(frozen=True, slots=True)
class LatencyResult:
    """Milliseconds per request of one endpoint, measured `requests` times."""

    endpoint: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    mean_bytes: float
    target_p95_ms: float | None = None

    @property
    def meets_target(self) -> bool | None:
        """Whether p95 is under the target; None without one."""
        return None if self.target_p95_ms is None else self.p95_ms < self.target_p95_ms

    def to_dict(self) -> dict[str, float | int | str | bool | None]:
        return {**asdict(self), "meets_target": self.meets_target}


def _latency(endpoint: str, times: list[float], sizes: list[int]) -> LatencyResult:
    return LatencyResult(
        endpoint=endpoint,
        requests=len(times),
        p50_ms=float(np.percentile(times, 50)),
        p95_ms=float(np.percentile(times, 95)),
        max_ms=float(np.max(times)),
        mean_bytes=float(np.mean(sizes)),
        target_p95_ms=TARGET_P95_MS.get(endpoint),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _plan(db: str | Path, run_id: str | None, samples: int, rng: np.random.Generator) -> dict[str, list[str]]:
    """The paths each endpoint is timed on: `samples` random generations of the run (default: the one
    with the most generations), a random kept replay of each and re-simulated replays of a quarter.

    Raises:
        StorageError: unknown run, or a run without stored generations.
    """
    from evolab.errors import GenerationNotStored

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
    base = f"/api/runs/{info.id}"
    plans = {
        "run list": ["/api/runs"] * samples,
        "one generation, all creatures": [f"{base}/generations/{g}" for g in generations],
        "replay, stored frames": [
            f"{base}/generations/{g}/creatures/{ids[int(rng.integers(len(ids)))]}/replay" for g, ids in framed if ids
        ],
        "replay, re-simulated": [f"{base}/generations/{g}/creatures/{c}/replay" for g, c in unframed],
    }
    return {endpoint: paths for endpoint, paths in plans.items() if paths}


def measure_api(
    db: str | Path, run_id: str | None = None, samples: int = SAMPLES, seed: int = 0
) -> list[LatencyResult]:
    """Time the UI's heaviest reads on a running `evolab serve` over `db`, one request at a time: the run
    list, a generation's creatures, a creature's stored frames and a re-simulated replay (random
    generations and creatures).

    Raises:
        StorageError: unknown run, or a run without stored generations.
    """
    plans = _plan(db, run_id, samples, np.random.default_rng(seed))
    with _serving(db) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        results = []
        for endpoint, paths in plans.items():
            _get(connection, paths[0])  # first touch: caches, compiled kernel load
            times, sizes = [], []
            for path in paths:
                start = time.perf_counter()
                sizes.append(_get(connection, path))
                times.append((time.perf_counter() - start) * 1000)
            results.append(_latency(endpoint, times, sizes))
        connection.close()
        return results


@dataclass(frozen=True, slots=True)
class ConcurrentLatency:
    """The API under `clients` simultaneous clients, each sending its next request as soon as the last
    one answered, while `evolab evolve` writes the same database from another process."""

    clients: int
    requests: int
    """Requests answered in all (each client sends a fixed number unless the time limit came first)."""
    errors: int
    """Requests that failed or did not answer 200 (the first few are in `error_samples`)."""
    seconds: float
    writer_generations: int
    """Generations the writer stored while the clients ran: it really was writing."""
    endpoints: list[LatencyResult]
    error_samples: list[str]

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["endpoints"] = [r.to_dict() for r in self.endpoints]
        return doc


def measure_api_concurrent(
    db: str | Path,
    clients: int = 16,
    *,
    run_id: str | None = None,
    requests_per_client: int = 80,
    time_limit: float = 120.0,
    seed: int = 0,
    writer_preset: str = "default",
) -> ConcurrentLatency:
    """Time the UI's reads under load: `clients` threads, each on its own keep-alive connection to an
    `evolab serve` subprocess over `db`, send `requests_per_client` requests each (or stop at
    `time_limit` seconds), cycling over the run list, a generation's creatures and the two kinds of
    replay at random generations, while an `evolab evolve --preset writer_preset` subprocess writes a new
    run into the same file.

    Raises:
        StorageError: unknown run, or a run without stored generations.
        RuntimeError: the server or the writer did not start.
    """
    rng = np.random.default_rng(seed)
    plans = _plan(db, run_id, max(requests_per_client * clients // 4, 8), rng)
    endpoints = list(plans)
    with _serving_process(db) as port, _writing(db, writer_preset) as written:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for paths in plans.values():
            _get(connection, paths[0])  # first touch: compiled kernel load, imports
        connection.close()
        start_generations = written()
        barrier = threading.Barrier(clients)
        records: list[list[tuple[str, float, int]]] = [[] for _ in range(clients)]
        failures: list[str] = []
        start = time.perf_counter()
        deadline = start + time_limit

        def client(index: int) -> None:
            own = np.random.default_rng([seed, index])
            order = [endpoints[(index + i) % len(endpoints)] for i in range(requests_per_client)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            barrier.wait()
            try:
                for endpoint in order:
                    if time.perf_counter() > deadline:
                        break
                    path = plans[endpoint][int(own.integers(len(plans[endpoint])))]
                    began = time.perf_counter()
                    try:
                        size = _get(connection, path)
                    except (OSError, RuntimeError, http.client.HTTPException) as err:
                        failures.append(f"{path}: {err}")
                        connection.close()  # a fresh connection for the next request
                        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                        continue
                    records[index].append((endpoint, (time.perf_counter() - began) * 1000, size))
            finally:
                connection.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(time_limit + 120)
        seconds = time.perf_counter() - start
        writer_generations = written() - start_generations
    answered = [record for own in records for record in own]
    results = []
    for endpoint in endpoints:
        mine = [(ms, size) for name, ms, size in answered if name == endpoint]
        if mine:
            results.append(_latency(endpoint, [ms for ms, _ in mine], [size for _, size in mine]))
    return ConcurrentLatency(
        clients=clients,
        requests=len(answered),
        errors=len(failures),
        seconds=seconds,
        writer_generations=writer_generations,
        endpoints=results,
        error_samples=failures[:5],
    )


@contextmanager
def _serving_process(db: str | Path) -> Iterator[int]:
    """`evolab serve --db db` in a subprocess on a free loopback port, answering; yields the port."""
    port = _free_port()
    command = [sys.executable, "-m", "evolab", "serve", "--db", str(db), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"evolab serve exited with {process.returncode}: {process.stderr.read()[-500:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                _get(connection, "/api/runs")
                connection.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("evolab serve did not answer within 120 s") from None
                time.sleep(0.1)
        yield port
    finally:
        _stop(process, 30)
        if process.stderr is not None:
            process.stderr.close()


@contextmanager
def _writing(db: str | Path, preset: str) -> Iterator[Callable[[], int]]:
    """`evolab evolve --preset preset` writing a new run into `db` in a subprocess, past its first stored
    generation; yields a function counting the generations it has stored so far. Stopped (SIGTERM: a
    clean checkpoint) on exit."""
    command = [
        sys.executable, "-m", "evolab", "evolve", "--preset", preset, "--generations", "1000000",
        "--seed", "11", "--name", "bench writer", "--db", str(db),
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}  # each line leaves the process when printed
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment)
    stored = threading.Semaphore(0)
    count = [0]

    def read_lines() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            words = line.split()
            if len(words) > 1 and words[0] == "gen" and words[1].isdigit():
                count[0] += 1
                stored.release()

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    try:
        if not stored.acquire(timeout=120):
            raise RuntimeError(f"evolab evolve stored no generation within 120 s (exit {process.poll()})")
        yield lambda: count[0]
    finally:
        _stop(process, 60)
        reader.join(10)


def _stop(process: subprocess.Popen, wait: float) -> None:
    """SIGTERM (a clean stop), then SIGKILL when it has not ended within `wait` seconds."""
    process.terminate()
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
