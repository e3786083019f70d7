"""The CPU kernel on a Dask cluster: a batch split into chunks, each simulated by `CpuBackend` on a worker,
the outputs put back together in order.

A creature's result never depends on its batch-mates (DESIGN §4 (a)) nor on the thread count, so the
joined outputs are bit-identical to `CpuBackend` on the whole batch: the backend is recorded as "cpu",
and a run evolved on a cluster is the same run as one evolved locally (it resumes locally, unforced).

Each worker holds one long-lived `ChunkEvaluator` (a Dask actor) and the driver calls it directly. A
generation is one call per worker instead of one scheduled task per chunk: on loopback here a task's round
trip through the scheduler costs about 11 ms and an actor call about 1.5 ms, next to 10-30 ms of physics a
generation. What the scheduler would do for lost tasks is done here: a chunk whose worker dies is re-run
on another worker, and the result is the same because a chunk's outputs depend only on its arguments.

A chunk that records answers with its scores alone and keeps its recordings (frames, fitness over time) on
its worker; the driver then fetches those of the creatures it keeps (`PendingOutputs.fetch_rows`): a
run keeps a quarter of its replays, so three quarters of the frames never travel, and the scores a run
waits on to breed the next generation are not held up by them. Recordings a worker no longer has (it
died, or they were fetched already) are simulated again here, for just those creatures.

Needs `distributed` (`pip install 'evolab[cluster]'`); it is imported only when this module is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import dataclasses
import logging
import pickle
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import dask
import numpy as np

from evolab.errors import BackendUnavailable, ClusterLost
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import (
    BatchOutputs,
    DeferredRun,
    FetchedRows,
    PelletDraws,
    PendingOutputs,
    PendingRows,
    SimParams,
    estimated_costs,
    substeps,
)
from evolab.physics.pack import PackedBatch

try:
    import distributed
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise BackendUnavailable(
        f"the cluster backend needs dask distributed ({err.name or err})", hint="pip install 'evolab[cluster]'"
    ) from None

LOCAL_PREFIX = "local:"
QUIET_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
}
"""Dask's settings for a `local:N` cluster, which shares this machine's cores with the run: no statistical
profiler (a 10 ms timer on each worker), event-loop and system checks every second or two instead of every
20-500 ms, and no work stealing (evaluators are pinned actors). Idle, the cluster then costs 15 ms of CPU a
second instead of 115."""
REFRESH_SECONDS = 1.0
"""How old the driver's list of workers may be when a call starts: workers that joined since are given an
evaluator then (workers that left are found by their failed calls, at once)."""
CHECK_SECONDS = 1.0
"""While a call waits, how often it asks the scheduler whether the workers it waits on are still there (a
worker that hangs, rather than dies, is dropped by the scheduler and its chunk re-run)."""
LOCAL_BELOW = 32
"""Calls of fewer creatures are simulated here, in the driver's own threads, when their outputs are asked
for: a run's held-out benchmark (16 creatures by default) while the cluster evaluates the next generation.
Split over the workers, a handful of creatures costs two round trips a worker in the gap between
generations, where the cluster waits for the next one to be bred, and the driver is idle while the
cluster simulates. Measured on E1 over two loopback workers, six runs each taking turns with local ones:
78.5 % of local throughput per core against 75.4 % with every call sent to the workers."""
KEPT_RECORDINGS = 4
"""How many chunks' recordings a worker keeps for the driver to fetch (the newest; older ones are dropped):
a run fetches a generation's while the next one is simulated, so two would do."""


@dataclass(frozen=True, slots=True)
class CallStats:
    """What one `ClusterBackend.run` call (or, summed, many) moved and took.

    Attributes:
        calls: backend calls counted.
        chunks: chunk evaluations started, re-runs included.
        creatures: creatures simulated (once each, whatever the re-runs).
        sent_bytes: size of the chunks' arguments (batch, draws, params) sent, re-runs included.
        received_bytes: size of the outputs received (recordings fetched later are counted in a
            backend's `totals` only).
        seconds: wall time of the calls.
        kernel_seconds: time the workers spent simulating, summed over chunks.
        reruns: chunks run again because their worker was lost.
    """

    calls: int = 0
    chunks: int = 0
    creatures: int = 0
    sent_bytes: int = 0
    received_bytes: int = 0
    seconds: float = 0.0
    kernel_seconds: float = 0.0
    reruns: int = 0

    def __add__(self, other: CallStats) -> CallStats:
        return CallStats(*(a + b for a, b in zip(self._values(), other._values(), strict=True)))

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    @property
    def bytes(self) -> int:
        return self.sent_bytes + self.received_bytes


@dataclass(slots=True)
class WorkerStats:
    """What one worker has done for this backend: creatures and creature-steps simulated, and the seconds
    its kernel took for them."""

    threads: int
    creatures: int = 0
    creature_steps: int = 0
    kernel_seconds: float = 0.0

    @property
    def creature_steps_per_s(self) -> float:
        """Its throughput while simulating (0 before it has)."""
        return self.creature_steps / self.kernel_seconds if self.kernel_seconds > 0 else 0.0


class ChunkEvaluator:
    """Lives on one worker as a Dask actor and simulates the chunks sent to it on all the worker's threads.

    A worker runs its actors' calls one at a time, so each chunk has the whole worker (T numba threads)
    and a machine has one level of parallelism."""

    def __init__(self) -> None:
        try:
            threads = int(distributed.get_worker().state.nthreads)
        except ValueError:  # not on a worker (a test calling it directly)
            threads = 1
        self._backend = CpuBackend(workers=threads)
        reuse_freed_memory()
        self._recordings: OrderedDict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
        self._recordings_lock = threading.Lock()  # `evaluate` runs in the actor's thread, `recorded` in the loop

    def evaluate(self, chunk: bytes) -> bytes:
        """The pickled chunk's (key, batch, params, draws, record) outputs without their recordings, and
        the seconds the kernel took, pickled; the recordings of a chunk that records stay here, under its
        key, for `recorded`.

        A chunk travels as one pickle, not as its dozen arrays: Dask serialises each argument and each
        array apart, which costs about a millisecond a call here, more than the copy it saves."""
        key, batch, params, draws, record = pickle.loads(chunk)
        start = time.perf_counter()
        with _KERNEL_LOCK:
            out = self._backend.run(batch, params, draws, record)
        seconds = time.perf_counter() - start
        if record:
            with self._recordings_lock:
                self._recordings[key] = (out.frames, out.fitness_over_time, batch.n_nodes)
                while len(self._recordings) > KEPT_RECORDINGS:
                    self._recordings.popitem(last=False)
            out = out.without_recordings()
        return pickle.dumps((out, seconds), protocol=pickle.HIGHEST_PROTOCOL)

    async def recorded(self, key: str, rows: list[int]) -> bytes | None:
        """The recordings of `rows` of chunk `key`, pickled: their frames without padding
        (`without_padding`) and their fitness over time; None when this worker no longer has them. A
        chunk's recordings are given once, then dropped.

        A coroutine, so the worker answers it on its event loop at once, even while the actor's thread is
        simulating the next chunk."""
        with self._recordings_lock:
            kept = self._recordings.pop(key, None)
        if kept is None:
            return None
        frames, fitness_over_time, n_nodes = kept
        values = without_padding(frames[rows], n_nodes[rows])
        return pickle.dumps((values, fitness_over_time[rows]), protocol=pickle.HIGHEST_PROTOCOL)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def reuse_freed_memory() -> bool:
    """Let this process's allocator keep freed blocks of up to 32 MiB for reuse instead of handing them
    back to the operating system; True where that was done (glibc), False elsewhere.

    Dask's nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's
    adaptive mmap threshold: every output array a chunk allocates over 128 kB (E1's frames, 0.7 MB a
    chunk) is then mapped fresh and faulted in page by page on each call. Measured here: 350 page faults
    an array; the kernel's calls 3-4 % slower; E1 on two loopback workers 2 points of local throughput per
    core lower (median of six paired runs). A worker holds a few chunks' outputs at most, so what it keeps
    is small."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 64 << 20))


# Two evaluators on one worker (two drivers sharing a cluster) must not enter the kernel's parallel region
# together: it is not re-entrant under numba's default (workqueue) threading layer.
_KERNEL_LOCK = threading.Lock()


class _WorkerLostError(Exception):
    """A chunk's worker died or left before answering."""


def without_padding(frames: np.ndarray, n_nodes: np.ndarray) -> np.ndarray:
    """The values of each creature's own nodes in `frames` (B, F, N, 3), flattened in order: a chunk's
    frames travel without the padding up to the batch's widest creature (with creatures of 4-5 nodes in a
    batch of 8, about half the bytes of a call). A creature at a time: quicker than a boolean mask."""
    return np.concatenate([frames[i, :, :k].ravel() for i, k in enumerate(n_nodes.tolist())])


def with_padding(values: np.ndarray, shape: tuple[int, ...], n_nodes: np.ndarray) -> np.ndarray:
    """`without_padding` undone: frames of `shape` with the padding put back as the zeros the kernel
    leaves there."""
    frames = np.zeros(shape, dtype=values.dtype)
    at = 0
    for i, k in enumerate(n_nodes.tolist()):
        size = shape[1] * k * 3
        frames[i, :, :k] = values[at : at + size].reshape(shape[1], k, 3)
        at += size
    return frames


def chunk_draws(draws: PelletDraws, index: slice) -> PelletDraws:
    """The draws of the sub-batch at `index` with only the rows it reads, renumbered: the kernel reads the
    same values, and a chunk does not carry every other creature's rows (per-creature draws are B rows)."""
    used, local = np.unique(draws.row_of[index], return_inverse=True)
    return PelletDraws(np.ascontiguousarray(draws.rows[used]), np.ascontiguousarray(local, dtype=np.int64))


def chunk_slices(size: int, chunk: int) -> list[slice]:
    """Consecutive slices of at most `chunk` creatures covering `size` creatures."""
    return [slice(start, min(start + chunk, size)) for start in range(0, size, chunk)]


def balanced_slices(costs: np.ndarray, shares: Sequence[float]) -> list[slice]:
    """Consecutive slices of a batch whose summed `costs` are about in proportion to `shares`, one per
    share, in order; a slice may be empty when there are fewer creatures than shares.

    A creature goes to the share whose part of the total its cost's midpoint falls in, so the slices are
    consecutive and each is within one creature's cost of its share."""
    cumulative = np.cumsum(np.asarray(costs, dtype=np.float64))
    if cumulative.size == 0:
        return [slice(0, 0) for _ in shares]
    weights = np.asarray(shares, dtype=np.float64)
    bounds = cumulative[-1] * np.cumsum(weights)[:-1] / weights.sum()
    owner = np.searchsorted(bounds, cumulative - np.asarray(costs) / 2, side="right")
    ends = np.cumsum(np.bincount(owner, minlength=len(weights)))
    return [slice(int(start), int(end)) for start, end in zip(np.concatenate(([0], ends[:-1])), ends, strict=True)]


class ClusterBackend:
    """The CPU kernel on every worker of a Dask cluster (results bit-identical to `CpuBackend`).

    Each call splits the batch into one chunk per worker, sized by the worker's threads and balanced by
    the creatures' estimated costs (or into chunks of `chunk` creatures, handed to workers as they free
    up), and calls each worker's `ChunkEvaluator`; a call of fewer than `local_below` creatures is simulated
    here instead (`LOCAL_BELOW`). A chunk whose worker is lost is re-run on another; a cluster that is gone,
    or has no worker, for `lost_after` seconds raises `ClusterLost`, as does a call still unfinished after
    `call_timeout` seconds.
    """

    name = "cpu"

    def __init__(
        self,
        client: distributed.Client,
        address: str,
        *,
        cluster: distributed.LocalCluster | None = None,
        chunk: int | None = None,
        lost_after: float = 10.0,
        call_timeout: float = 3600.0,
        local_below: int = LOCAL_BELOW,
    ) -> None:
        if not client.direct_to_workers:
            raise ValueError("the cluster backend calls workers directly: make the client with direct_to_workers=True")
        self._client = client
        self._cluster = cluster
        self.address = address
        self.chunk = chunk
        self.lost_after = lost_after
        self.call_timeout = call_timeout
        self.local_below = local_below
        self._here = CpuBackend()
        self.last_call: CallStats | None = None
        self.totals = CallStats()
        self.workers: dict[str, WorkerStats] = {}
        """Every worker this backend has used, by address, with what it did."""
        self._evaluators: dict[str, distributed.Actor] = {}
        self._threads: dict[str, int] = {}
        self._checked_at = -np.inf
        self._busy: set[str] = set()

    @classmethod
    def connect(
        cls,
        address: str,
        *,
        timeout: float = 10.0,
        chunk: int | None = None,
        call_timeout: float = 3600.0,
        local_below: int = LOCAL_BELOW,
    ) -> ClusterBackend:
        """Connect to the scheduler at `address` ("tcp://host:port"), or start `"local:N"`: N worker
        processes of one thread each on loopback, owned (and closed) by the backend.

        Args:
            timeout: seconds to reach the scheduler and see a worker; also how long a call waits for a
                lost scheduler or an empty cluster to come back before raising `ClusterLost`.
            chunk: creatures per chunk (default: one chunk per worker).
            call_timeout: seconds one call may take in all.
            local_below: calls of fewer creatures are simulated here (`LOCAL_BELOW`; 0: none).

        Raises:
            BackendUnavailable: a malformed or unreachable address, or a cluster without workers.
        """
        cluster = None
        try:
            if address.startswith(LOCAL_PREFIX):
                cluster = _local_cluster(address, timeout)
                client = distributed.Client(cluster, timeout=timeout, set_as_default=False, direct_to_workers=True)
            else:
                client = distributed.Client(address, timeout=timeout, set_as_default=False, direct_to_workers=True)
        except BackendUnavailable:
            raise
        except Exception as err:  # any failure to connect is reported the same way
            if cluster is not None:
                cluster.close()
            raise BackendUnavailable(f"dask cluster {address!r}: {_reason(err)}") from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except Exception as err:
            client.close()
            if cluster is not None:
                cluster.close()
            raise BackendUnavailable(
                f"dask cluster {address!r}: no worker joined within {timeout:g} s ({_reason(err)})"
            ) from None
        return cls(
            client,
            str(client.scheduler.address) if cluster is not None else address,
            cluster=cluster,
            chunk=chunk,
            lost_after=timeout,
            call_timeout=call_timeout,
            local_below=local_below,
        )

    @property
    def client(self) -> distributed.Client:
        """The Dask client (tests and benchmarks read the scheduler through it)."""
        return self._client

    @property
    def last_call_bytes(self) -> int:
        """Bytes shipped by the last call, both ways (0 before any)."""
        return self.last_call.bytes if self.last_call is not None else 0

    def busy_workers(self) -> list[str]:
        """The workers simulating a chunk for this backend right now."""
        return sorted(self._busy)

    def threads(self) -> dict[str, int]:
        """{worker address: threads} as the scheduler sees it now.

        Raises:
            ClusterLost: the scheduler does not answer within `lost_after` seconds.
        """
        try:
            return dict(self._client.sync(self._client.scheduler.ncores, callback_timeout=self.lost_after))
        except Exception as err:
            raise ClusterLost(f"dask cluster {self.address}: the scheduler does not answer ({_reason(err)})") from None

    def describe(self) -> str:
        try:
            threads = self.threads()
        except ClusterLost:
            return f"cpu on a Dask cluster ({self.address}, unreachable)"
        workers, total = len(threads), sum(threads.values())
        return (
            f"cpu on a Dask cluster ({self.address}, {workers} worker{'s' if workers != 1 else ''}, "
            f"{total} thread{'s' if total != 1 else ''})"
        )

    def run(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
        return self.start(batch, params, draws, record).result()

    def start(self, batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> PendingOutputs:
        """Send the batch's chunks to the workers and return at once (`start_run`): the caller works while
        the cluster simulates, and `scores()` or `result()` waits for the outputs, re-running any lost
        worker's chunk."""
        if batch.size < self.local_below or batch.size == 0:  # simulated here when asked for (`LOCAL_BELOW`)
            return DeferredRun(self._here, (batch, params, draws, record))
        started = time.perf_counter()
        evaluators = self._ready_evaluators(refresh=False)
        if self.chunk:
            slices = chunk_slices(batch.size, self.chunk)
        else:
            costs = estimated_costs(batch, substeps(batch, params.min_substeps))
            slices = [s for s in balanced_slices(costs, [self._threads[w] for w in evaluators]) if s.stop > s.start]
        key = uuid.uuid4().hex
        chunks = [
            pickle.dumps(
                (f"{key}/{i}", batch.take(s), params, chunk_draws(draws, s), record), protocol=pickle.HIGHEST_PROTOCOL
            )
            for i, s in enumerate(slices)
        ]
        call = _Call(key, chunks, slices, params.n_steps)
        return _PendingCall(self, call, evaluators, started, (batch, params, draws, record))

    async def _dispatch(self, evaluators: dict[str, distributed.Actor], call: _Call, deadline: float) -> None:
        """Run `call`'s pending chunks on `evaluators`, one chunk at a time per worker, in the client's event
        loop. A chunk whose worker is lost goes back to the front of the queue; returns with chunks still
        pending only when every worker of `evaluators` was lost."""
        running: dict[asyncio.Task, tuple[int, str]] = {}
        try:
            await self._run_chunks(dict(evaluators), call, deadline, running)
        finally:  # done, failed, timed out or cancelled: nothing waits for a chunk still out
            for task, (_, worker) in running.items():
                task.cancel()
                self._busy.discard(worker)

    async def _run_chunks(
        self,
        evaluators: dict[str, distributed.Actor],
        call: _Call,
        deadline: float,
        running: dict[asyncio.Task, tuple[int, str]],
    ) -> None:
        idle = deque(evaluators)
        checked = time.monotonic()
        while call.pending or running:
            while call.pending and idle:
                i, worker = call.pending.popleft(), idle.popleft()
                running[asyncio.ensure_future(_evaluate(evaluators[worker], call.chunks[i]))] = (i, worker)
                self._busy.add(worker)
            if not running:
                return
            wait = min(CHECK_SECONDS, deadline - time.monotonic())
            if wait <= 0:
                raise ClusterLost(f"dask cluster {self.address}: the call took over {self.call_timeout:g} s")
            done, _ = await asyncio.wait(running, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            lost: set[str] = set()
            for task in done:
                i, worker = running.pop(task)
                self._busy.discard(worker)
                try:
                    answer = task.result()
                except _WorkerLostError:
                    lost.add(worker)
                    call.rerun(i)
                    continue
                out, seconds = pickle.loads(answer)
                call.received_bytes += len(answer)
                call.outputs[i] = out
                call.workers[i] = worker
                call.kernel_seconds += seconds
                stats = self.workers.setdefault(worker, WorkerStats(self._threads.get(worker, 1)))
                stats.creatures += out.fitness.size
                stats.creature_steps += out.fitness.size * call.n_steps
                stats.kernel_seconds += seconds
                idle.append(worker)
            if not done and time.monotonic() - checked >= CHECK_SECONDS:
                checked = time.monotonic()
                present = await self._present_workers()
                for task, (i, worker) in list(running.items()):
                    if worker not in present:  # dropped by the scheduler (it stopped answering)
                        task.cancel()
                        del running[task]
                        self._busy.discard(worker)
                        lost.add(worker)
                        call.rerun(i)
            for worker in lost:
                self._forget(worker)
                evaluators.pop(worker, None)

    async def _fetch_recordings(self, call: _Call, rows: np.ndarray) -> list[tuple[np.ndarray, bytes | None]]:
        """For each chunk of `call` holding some of `rows`: the positions in `rows` of its rows, and their
        recordings pickled by the chunk's worker (`ChunkEvaluator.recorded`), or None when that worker is
        gone or no longer has them."""
        chunk_of = np.searchsorted([s.start for s in call.slices], rows, side="right") - 1
        asked = []
        for i in np.unique(chunk_of).tolist():
            positions = np.flatnonzero(chunk_of == i)
            local = (rows[positions] - call.slices[i].start).tolist()
            evaluator = self._evaluators.get(call.workers[i] or "")
            asked.append((positions, _recorded(evaluator, f"{call.key}/{i}", local, self.lost_after)))
        answers = await asyncio.gather(*(answer for _, answer in asked))
        return [(positions, answer) for (positions, _), answer in zip(asked, answers, strict=True)]

    async def _present_workers(self) -> set[str]:
        """The workers the scheduler knows now; `ClusterLost` when it does not answer in `lost_after` s."""
        try:
            return set(await asyncio.wait_for(self._client.scheduler.ncores(), self.lost_after))
        except Exception as err:
            raise ClusterLost(f"dask cluster {self.address}: the scheduler does not answer ({_reason(err)})") from None

    def _ready_evaluators(self, *, refresh: bool) -> dict[str, distributed.Actor]:
        """An evaluator on every worker, with the worker list re-read when asked or older than
        `REFRESH_SECONDS`; waits up to `lost_after` s for a worker, then raises `ClusterLost`."""
        if not refresh and self._evaluators and time.monotonic() - self._checked_at < REFRESH_SECONDS:
            return self._evaluators
        given_up = time.monotonic() + self.lost_after
        while True:
            threads = self.threads() if self._client.status == "running" else {}
            for worker in set(self._evaluators) - set(threads):
                self._forget(worker)
            self._threads = {worker: int(n) for worker, n in threads.items()}
            self._start_evaluators([w for w in threads if w not in self._evaluators])
            if self._evaluators:
                self._checked_at = time.monotonic()
                return self._evaluators
            if time.monotonic() > given_up:
                reason = (
                    "it has no worker" if self._client.status == "running" else f"the client is {self._client.status}"
                )
                raise ClusterLost(f"dask cluster {self.address}: {reason} (waited {self.lost_after:g} s)")
            time.sleep(0.1)

    def _start_evaluators(self, workers: list[str]) -> None:
        """A `ChunkEvaluator` on each of `workers`, pinned there (never moved to another worker by the
        scheduler); a worker that cannot start one in `lost_after` s is left without."""
        if not workers:
            return
        with self._client.as_current():  # the actor handles bind to this client, not a default one
            futures = {
                worker: self._client.submit(
                    ChunkEvaluator,
                    actor=True,
                    workers=[worker],
                    allow_other_workers=False,
                    pure=False,
                    key=f"evolab-evaluator-{uuid.uuid4().hex}",
                )
                for worker in workers
            }
            for worker, future in futures.items():
                try:
                    self._evaluators[worker] = future.result(timeout=self.lost_after)
                except Exception:  # the worker left meanwhile, or is stuck: the next refresh tries again
                    future.release()

    def _forget(self, worker: str) -> None:
        self._evaluators.pop(worker, None)
        self._threads.pop(worker, None)

    def close(self) -> None:
        """Close the client, and the local cluster this backend started (idempotent)."""
        self._evaluators.clear()
        with contextlib.suppress(Exception):  # a client whose scheduler is gone may fail to say goodbye
            self._client.close(timeout=self.lost_after)
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close(timeout=self.lost_after)
            self._cluster = None

    def __enter__(self) -> ClusterBackend:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


@dataclass(slots=True)
class _Call:
    """The chunks of one `ClusterBackend.run` call and where their evaluation stands."""

    key: str
    """The call's own key: chunk i's recordings are kept on its worker under "key/i"."""
    chunks: list[bytes]
    """Each chunk's arguments (key, batch, params, draws, record), pickled."""
    slices: list[slice]
    """Each chunk's creatures in the call's batch."""
    n_steps: int
    """Control steps of each creature's rollout."""
    outputs: list[Any] = field(default_factory=list)
    workers: list[str | None] = field(default_factory=list)
    """The worker that simulated each chunk (and keeps its recordings)."""
    pending: deque[int] = field(default_factory=deque)
    kernel_seconds: float = 0.0
    reruns: int = 0
    resent_bytes: int = 0
    received_bytes: int = 0

    def __post_init__(self) -> None:
        self.outputs = [None] * len(self.chunks)
        self.workers = [None] * len(self.chunks)
        self.pending = deque(range(len(self.chunks)))

    def rerun(self, i: int) -> None:
        """Chunk `i` lost its worker: first in line again."""
        self.pending.appendleft(i)
        self.reruns += 1
        self.resent_bytes += len(self.chunks[i])


class _PendingCall:
    """A `ClusterBackend` call under way: its chunks dispatched in the client's event loop from the start,
    its scores joined (and its `CallStats` counted) when they are first asked for, its recordings fetched
    by rows from the workers that keep them."""

    def __init__(
        self,
        backend: ClusterBackend,
        call: _Call,
        evaluators: dict[str, distributed.Actor],
        started: float,
        arguments: tuple[PackedBatch, SimParams, PelletDraws, bool],
    ) -> None:
        self._backend = backend
        self._call = call
        self._started = started
        self._arguments = arguments
        self._deadline = time.monotonic() + backend.call_timeout
        self._dispatch = self._begin(evaluators)
        self._scores: BatchOutputs | None = None

    def _begin(self, evaluators: dict[str, distributed.Actor]) -> concurrent.futures.Future:
        dispatch = self._backend._dispatch(evaluators, self._call, self._deadline)
        return asyncio.run_coroutine_threadsafe(dispatch, self._backend.client.loop.asyncio_loop)

    def scores(self) -> BatchOutputs:
        if self._scores is None:
            self._scores = self._joined()
        return self._scores

    def result(self) -> BatchOutputs:
        scores = self.scores()
        return self.fetch_rows(np.arange(scores.size)).result() if self._records else scores

    def fetch_rows(self, rows: np.ndarray) -> PendingRows:
        rows = np.asarray(rows, dtype=np.int64)
        out = self.scores().take(rows)
        if not self._records:
            return FetchedRows(out)
        backend = self._backend
        try:
            fetch = backend._fetch_recordings(self._call, rows)
            answers = asyncio.run_coroutine_threadsafe(fetch, backend.client.loop.asyncio_loop)
        except RuntimeError:  # the client's loop is closed: every recording is simulated again
            answers = None
        return _PendingRows(backend, out, rows, self._arguments, answers)

    @property
    def _records(self) -> bool:
        """Whether the call records (its recordings are then fetched by rows)."""
        return self._arguments[3]

    def _joined(self) -> BatchOutputs:
        backend, call = self._backend, self._call
        while True:
            try:
                self._dispatch.result()  # bounded by the call's deadline, inside the dispatcher
            except ClusterLost:
                raise
            except Exception as err:
                if backend.client.status == "running":
                    raise  # the kernel's own error, reported as it is
                raise ClusterLost(f"dask cluster {backend.address}: the call was lost ({_reason(err)})") from None
            if not call.pending:
                break
            self._dispatch = self._begin(backend._ready_evaluators(refresh=True))  # each of its workers was lost
        backend.last_call = CallStats(
            calls=1,
            chunks=len(call.chunks) + call.reruns,
            creatures=self._arguments[0].size,
            sent_bytes=sum(len(chunk) for chunk in call.chunks) + call.resent_bytes,
            received_bytes=call.received_bytes,
            seconds=time.perf_counter() - self._started,
            kernel_seconds=call.kernel_seconds,
            reruns=call.reruns,
        )
        backend.totals = backend.totals + backend.last_call
        parts = call.outputs
        return parts[0] if len(parts) == 1 else BatchOutputs.concat(parts)

    def cancel(self) -> None:
        self._dispatch.cancel()  # the workers finish their chunks; nothing waits for them


class _PendingRows:
    """Rows' recordings on their way from the workers that keep them (`_PendingCall.fetch_rows`)."""

    def __init__(
        self,
        backend: ClusterBackend,
        scores: BatchOutputs,
        rows: np.ndarray,
        arguments: tuple[PackedBatch, SimParams, PelletDraws, bool],
        answers: concurrent.futures.Future | None,
    ) -> None:
        self._backend = backend
        self._scores = scores
        self._rows = rows
        self._arguments = arguments
        self._answers = answers

    def result(self) -> BatchOutputs:
        batch, params, draws, _ = self._arguments
        rows = self._rows
        frames = np.zeros((rows.size, params.n_frames, batch.node_params.shape[1], 3), dtype=np.float32)
        fitness_over_time = np.zeros((rows.size, params.n_frames))
        missing = []
        for positions, answer in self._answered():
            if answer is None:
                missing.append(positions)
                continue
            values, fitness_over_time[positions] = pickle.loads(answer)
            shape = (positions.size, *frames.shape[1:])
            frames[positions] = with_padding(values, shape, batch.n_nodes[rows[positions]])
        if missing:  # simulated again, here: the same outputs (they depend only on their arguments)
            positions = np.concatenate(missing)
            again = self._backend._here.run(batch.take(rows[positions]), params, draws.take(rows[positions]), True)
            frames[positions, :, : again.frames.shape[2]] = again.frames
            fitness_over_time[positions] = again.fitness_over_time
        return dataclasses.replace(self._scores, frames=frames, fitness_over_time=fitness_over_time)

    def _answered(self) -> list[tuple[np.ndarray, bytes | None]]:
        """Each chunk's positions in the rows and its worker's answer (`ClusterBackend._fetch_recordings`);
        none from a cluster that could not be asked."""
        try:
            answers = self._answers.result() if self._answers is not None else None
        except (RuntimeError, concurrent.futures.CancelledError):  # the client's loop stopped meanwhile
            answers = None
        if answers is None:
            return [(np.arange(self._rows.size), None)]
        received = sum(len(answer) for _, answer in answers if answer is not None)
        self._backend.totals = self._backend.totals + CallStats(received_bytes=received)
        return answers


async def _evaluate(evaluator: distributed.Actor, chunk: bytes) -> bytes:
    """One chunk on one evaluator; `_WorkerLostError` when its worker cannot be reached or is gone."""
    try:
        return await evaluator.evaluate(chunk)
    except RuntimeError as err:  # the handle knows its worker was lost
        if "lost" in str(err).lower():
            raise _WorkerLostError(str(err)) from None
        raise
    except OSError as err:  # "Unable to contact Actor's worker", a closed comm
        raise _WorkerLostError(_reason(err)) from None


async def _recorded(evaluator: distributed.Actor | None, key: str, rows: list[int], timeout: float) -> bytes | None:
    """Rows `rows` of chunk `key`'s recordings from `evaluator`; None when it is gone, does not answer in
    `timeout` s or no longer has them."""
    if evaluator is None:
        return None
    try:
        return await asyncio.wait_for(evaluator.recorded(key, rows), timeout)
    except (TimeoutError, RuntimeError, OSError):  # lost, unreachable or stuck: simulated again
        return None


def _local_cluster(address: str, timeout: float) -> distributed.LocalCluster:
    """N one-thread worker processes and a scheduler on loopback, no dashboards."""
    try:
        n = int(address[len(LOCAL_PREFIX) :])
    except ValueError:
        n = 0
    if n < 1:
        raise BackendUnavailable(f"dask cluster {address!r}: expected local:N with N a positive number of workers")
    options: dict[str, Any] = {
        "n_workers": n,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": None,
        # the scheduler serves its health routes even without a dashboard, on 8787 unless told: any free port
        "scheduler_kwargs": {"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        "silence_logs": logging.ERROR,
        # numba sizes its thread pool from this at import: one thread per worker, not one per core
        "env": {"NUMBA_NUM_THREADS": "1"},
        "death_timeout": timeout,
    }
    # the scheduler and the nannies (both in this process) read their settings as they start, and each
    # nanny hands the workers it starts its own: an environment variable would be overridden by them
    with dask.config.set(QUIET_CONFIG):
        return distributed.LocalCluster(**options)


def _reason(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
