"""The CPU kernel on a Dask cluster: a batch split into chunks, each simulated by `CpuBackend` in a worker
process, the outputs put back together in order.

A creature's result never depends on its batch-mates (DESIGN §4 (a)) nor on the thread count, so the
joined outputs are bit-identical to `CpuBackend` on the whole batch: the backend is recorded as "cpu",
and a run evolved on a cluster is the same run as one evolved locally (it resumes locally, unforced).

Needs `distributed` (`pip install 'evolab[cluster]'`); it is imported only when this module is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import pickle
import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np

from evolab.errors import BackendUnavailable, ClusterLost
from evolab.physics.backend_cpu import CpuBackend
from evolab.physics.contract import BatchOutputs, PelletDraws, SimParams
from evolab.physics.pack import PackedBatch

try:
    import distributed
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise BackendUnavailable(
        f"the cluster backend needs dask distributed ({err.name or err})", hint="pip install 'evolab[cluster]'"
    ) from None

LOCAL_PREFIX = "local:"
DEFAULT_CHUNKS_PER_THREAD = 3
"""Chunks per worker thread: enough that a fast worker takes over a slow one's share, few enough that the
per-task cost (a few ms of scheduling and transfer) stays small next to the simulation."""


@dataclass(frozen=True, slots=True)
class CallStats:
    """What one `ClusterBackend.run` call (or, summed, many) moved and took.

    Attributes:
        calls: backend calls counted.
        chunks: tasks submitted.
        creatures: creatures simulated.
        sent_bytes: pickled size of the chunks' arguments (batch, draws, params, record) sent.
        received_bytes: pickled size of the outputs received.
        seconds: wall time of the calls.
    """

    calls: int = 0
    chunks: int = 0
    creatures: int = 0
    sent_bytes: int = 0
    received_bytes: int = 0
    seconds: float = 0.0

    def __add__(self, other: CallStats) -> CallStats:
        return CallStats(
            self.calls + other.calls,
            self.chunks + other.chunks,
            self.creatures + other.creatures,
            self.sent_bytes + other.sent_bytes,
            self.received_bytes + other.received_bytes,
            self.seconds + other.seconds,
        )

    @property
    def bytes(self) -> int:
        return self.sent_bytes + self.received_bytes


# The kernel's parallel region is not re-entrant under numba's default (workqueue) threading layer, and a
# worker with T threads runs up to T tasks at once: each chunk takes the whole worker instead (all T
# threads in numba), one after another, so a machine has one level of parallelism.
_KERNEL_LOCK = threading.Lock()


def evaluate_chunk(batch: PackedBatch, params: SimParams, draws: PelletDraws, record: bool) -> BatchOutputs:
    """Simulate one chunk on the worker this runs in, with as many numba threads as the worker has
    (module-level, so workers import it by name; outside a worker, one thread)."""
    try:
        threads = int(distributed.get_worker().state.nthreads)
    except ValueError:  # not running on a worker
        threads = 1
    with _KERNEL_LOCK:
        return CpuBackend(workers=threads).run(batch, params, draws, record)


def chunk_draws(draws: PelletDraws, index: slice) -> PelletDraws:
    """The draws of the sub-batch at `index` with only the rows it reads, renumbered: the kernel reads the
    same values, and a chunk does not carry every other creature's rows (per-creature draws are B rows)."""
    used, local = np.unique(draws.row_of[index], return_inverse=True)
    return PelletDraws(np.ascontiguousarray(draws.rows[used]), np.ascontiguousarray(local, dtype=np.int64))


def chunk_slices(size: int, chunk: int) -> list[slice]:
    """Consecutive slices of at most `chunk` creatures covering `size` creatures."""
    return [slice(start, min(start + chunk, size)) for start in range(0, size, chunk)]


class ClusterBackend:
    """The CPU kernel on every worker of a Dask cluster (results bit-identical to `CpuBackend`).

    Each call splits the batch into chunks (`chunk` creatures, or about `chunks_per_thread` per worker
    thread), submits one task per chunk under a key unique to the call, and joins the outputs in order.
    A worker lost mid-call has its tasks recomputed elsewhere by the scheduler from the same key and
    arguments; a cluster that is gone, or has no worker, for `lost_after` seconds raises `ClusterLost`,
    as does a call still unfinished after `call_timeout` seconds.
    """

    name = "cpu"

    def __init__(
        self,
        client: distributed.Client,
        address: str,
        *,
        cluster: distributed.LocalCluster | None = None,
        chunk: int | None = None,
        chunks_per_thread: int = DEFAULT_CHUNKS_PER_THREAD,
        lost_after: float = 10.0,
        call_timeout: float = 3600.0,
        retries: int = 0,
    ) -> None:
        self._client = client
        self._cluster = cluster
        self.address = address
        self.chunk = chunk
        self.chunks_per_thread = chunks_per_thread
        self.lost_after = lost_after
        self.call_timeout = call_timeout
        self.retries = retries  # re-runs after an exception in the task (a lost worker is handled anyway)
        self.last_call: CallStats | None = None
        self.totals = CallStats()

    @classmethod
    def connect(
        cls,
        address: str,
        *,
        timeout: float = 10.0,
        chunk: int | None = None,
        chunks_per_thread: int = DEFAULT_CHUNKS_PER_THREAD,
        call_timeout: float = 3600.0,
        retries: int = 0,
    ) -> ClusterBackend:
        """Connect to the scheduler at `address` ("tcp://host:port"), or start `"local:N"`: N worker
        processes of one thread each on loopback, owned (and closed) by the backend.

        Args:
            timeout: seconds to reach the scheduler and see a worker; also how long a call waits for a
                lost scheduler or an empty cluster to come back before raising `ClusterLost`.
            chunk: creatures per task (default: about `chunks_per_thread` tasks per worker thread).
            call_timeout: seconds one call may take in all.
            retries: re-runs of a task that raised (a task whose worker died is re-run regardless).

        Raises:
            BackendUnavailable: a malformed or unreachable address, or a cluster without workers.
        """
        cluster = None
        try:
            if address.startswith(LOCAL_PREFIX):
                cluster = _local_cluster(address, timeout)
                client = distributed.Client(cluster, timeout=timeout, set_as_default=False)
            else:
                client = distributed.Client(address, timeout=timeout, set_as_default=False)
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
        backend = cls(
            client,
            str(client.scheduler.address) if cluster is not None else address,
            cluster=cluster,
            chunk=chunk,
            chunks_per_thread=chunks_per_thread,
            lost_after=timeout,
            call_timeout=call_timeout,
            retries=retries,
        )
        return backend

    @property
    def client(self) -> distributed.Client:
        """The Dask client (tests and benchmarks read the scheduler through it)."""
        return self._client

    @property
    def last_call_bytes(self) -> int:
        """Bytes shipped by the last call, both ways (0 before any)."""
        return self.last_call.bytes if self.last_call is not None else 0

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
        start = time.perf_counter()
        deadline = time.monotonic() + self.call_timeout
        threads = self._wait_for_threads()
        size = self.chunk or max(1, math.ceil(batch.size / (self.chunks_per_thread * threads)))
        # One id per call: a chunk's key names its call and position, so a re-run after a lost worker is the
        # scheduler recomputing that key, and two calls never share (or reuse the result of) a task.
        call = uuid.uuid4().hex
        futures, sent = [], 0
        for i, index in enumerate(chunk_slices(batch.size, size)):
            # Everything a chunk needs travels in its task (params are a few hundred bytes): data scattered
            # once would live on one worker only, and could not be recomputed if that worker died.
            args = (batch.take(index), params, chunk_draws(draws, index), record)
            sent += len(pickle.dumps(args, protocol=5))
            futures.append(
                self._client.submit(evaluate_chunk, *args, key=f"evolab-chunk-{call}-{i}", retries=self.retries)
            )
        parts = self._gather(futures, deadline)
        received = sum(len(pickle.dumps(part, protocol=5)) for part in parts)
        del futures  # released: the workers drop the outputs
        self.last_call = CallStats(1, len(parts), batch.size, sent, received, time.perf_counter() - start)
        self.totals = self.totals + self.last_call
        return parts[0] if len(parts) == 1 else BatchOutputs.concat(parts)

    def _wait_for_threads(self) -> int:
        """The cluster's thread count, waiting up to `lost_after` s for the scheduler and one worker."""
        given_up = time.monotonic() + self.lost_after
        while True:
            reason = "it has no worker"
            if self._client.status == "running":
                threads = sum(self.threads().values())  # raises ClusterLost when the scheduler is silent
                if threads:
                    return threads
            else:
                reason = f"the client is {self._client.status}"
            if time.monotonic() > given_up:
                raise ClusterLost(f"dask cluster {self.address}: {reason} (waited {self.lost_after:g} s)")
            time.sleep(0.1)

    def _gather(self, futures: list[distributed.Future], deadline: float) -> list[BatchOutputs]:
        """The futures' outputs in order, once all are done, checking on the cluster while it waits: raises
        `ClusterLost` when the scheduler or every worker has been gone for `lost_after` s, or at `deadline`."""
        remaining = [len(futures)]
        all_done = threading.Event()
        lock = threading.Lock()

        def one_done(_: distributed.Future) -> None:  # also called for a future cancelled or failed
            with lock:
                remaining[0] -= 1
                if remaining[0] == 0:
                    all_done.set()

        for future in futures:
            future.add_done_callback(one_done)
        down_since: float | None = None
        while not all_done.wait(0.25):
            now = time.monotonic()
            if now > deadline:
                raise ClusterLost(f"dask cluster {self.address}: the call took over {self.call_timeout:g} s")
            healthy = self._client.status == "running" and self._has_workers()
            down_since = None if healthy else (down_since or now)
            if down_since is not None and now - down_since > self.lost_after:
                raise ClusterLost(
                    f"dask cluster {self.address}: no scheduler or worker for {self.lost_after:g} s "
                    f"(client {self._client.status})"
                )
        # one gather for all (batched per worker), rather than a round trip per chunk
        try:
            return list(self._client.gather(futures))
        except (asyncio.CancelledError, concurrent.futures.CancelledError) as err:
            # futures are cancelled when the client loses its scheduler
            raise ClusterLost(f"dask cluster {self.address}: the call was lost ({_reason(err)})") from None
        except distributed.KilledWorker as err:
            raise ClusterLost(f"dask cluster {self.address}: a chunk's workers kept dying ({_reason(err)})") from None

    def _has_workers(self) -> bool:
        try:
            return bool(self.threads())
        except ClusterLost:
            return False

    def close(self) -> None:
        """Close the client, and the local cluster this backend started (idempotent)."""
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
    return distributed.LocalCluster(**options)


def _reason(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
