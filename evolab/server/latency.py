"""API latency on a real server over loopback: what the browser feels (numbers for `evolab bench --api`,
never for tests)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
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
    import uvicorn

    from evolab.errors import StorageError
    from evolab.server import create_app

    rng = np.random.default_rng(seed)
    with Store(db) as store:
        info = store.get_run(run_id) if run_id else max(store.list_runs(), key=lambda r: r.generation_count)
        if info.generation_count == 0:
            raise StorageError(f"run {info.id!r} has no stored generations to read")
        generations = rng.integers(0, info.generation_count, size=samples).tolist()
        framed = [(g, sorted(store.framed_creatures(info.id, g))) for g in generations]
        unframed = []
        for g in generations[: max(samples // 4, 1)]:
            kept = set(store.framed_creatures(info.id, g))
            others = [r.creature_id for r in store.results(info.id, g) if r.creature_id not in kept]
            if others:
                unframed.append((g, others[int(rng.integers(len(others)))]))

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(db, static_dir=None), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
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
    finally:
        server.should_exit = True
        thread.join(30)


def _get(connection: http.client.HTTPConnection, path: str) -> int:
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status} {body[:200]!r}")
    return len(body)
