"""The server's only writer: one thread that creates, advances, forks, renames and deletes runs in order.

Short control jobs (create, rename, fork, delete) jump ahead of queued advances and also run between
the generations of the advance in progress, so the UI stays responsive during a long run.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from evolab.errors import EvolabError
from evolab.physics.contract import Backend
from evolab.runner import Run
from evolab.runner.run import GenerationReport
from evolab.server.schemas import JobDoc, JobKind, JobsDoc, JobState
from evolab.storage import Store

log = logging.getLogger("evolab.server")
T = TypeVar("T")


@dataclass(eq=False)
class Job:
    """One piece of work for the writer thread."""

    id: str
    kind: JobKind
    run_id: str | None
    total: int = 0
    state: JobState = "queued"
    done: int = 0
    error: str | None = None
    action: Callable[[Store], Any] | None = None
    future: Future = field(default_factory=Future)
    stop: threading.Event = field(default_factory=threading.Event)

    def doc(self) -> JobDoc:
        return JobDoc(
            id=self.id,
            kind=self.kind,
            run_id=self.run_id,
            state=self.state,
            done=self.done,
            total=self.total,
            error=self.error,
        )


class Worker:
    """Carries out run control on one thread with its own connection.

    Args:
        db: the database file.
        publish: receives `{"type": "job", "job": ...}` events (from the worker thread).
        backends: the physics backend called by a name (None: the server's default), as runs are
            created on and resumed on their own (the server's take turns behind one lock).
    """

    def __init__(
        self,
        db: Path,
        publish: Callable[[dict[str, Any]], None],
        *,
        backends: Callable[[str | None], Backend],
    ) -> None:
        self._db = db
        self._publish = publish
        self.backends = backends
        self._cond = threading.Condition()
        self._control: deque[Job] = deque()
        self._advances: deque[Job] = deque()
        self._current: Job | None = None
        self._closing = False
        self._ids = itertools.count(1)
        self._thread = threading.Thread(target=self._main, name="evolab-writer", daemon=True)

    # -- public, any thread -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 120.0) -> None:
        """Finish the generation in progress (it is stored and checkpointed), drop queued work, stop."""
        with self._cond:
            self._closing = True
            if self._current is not None:
                self._current.stop.set()
            self._cond.notify_all()
        self._thread.join(timeout)

    def call(self, kind: JobKind, run_id: str | None, action: Callable[[Store], T], timeout: float = 600.0) -> T:
        """Run `action(store)` on the writer thread and return its result (or raise its exception)."""
        job = Job(self._next_id(), kind, run_id, action=action)
        with self._cond:
            if self._closing:
                raise EvolabError("the server is shutting down")
            self._control.append(job)
            self._cond.notify_all()
        return job.future.result(timeout)

    def advance(self, run_id: str, generations: int) -> JobDoc:
        """Queue `generations` more generations of a run; progress is published as job events."""
        job = Job(self._next_id(), "advance", run_id, total=generations)
        with self._cond:  # announced before the writer can pick it up, so "queued" is always first
            if self._closing:
                raise EvolabError("the server is shutting down")
            self._advances.append(job)
            self._emit(job)
            self._cond.notify_all()
            return job.doc()

    def stop(self, run_id: str) -> bool:
        """Stop the run's advance in progress (after its current generation) and drop its queued ones."""
        with self._cond:
            running = self._current is not None and self._current.run_id == run_id
            if running:
                self._current.stop.set()  # its own final event follows when the generation ends
            dropped = [j for j in self._advances if j.run_id == run_id]
            for job in dropped:
                self._advances.remove(job)
                job.state = "stopped"
        for job in dropped:
            self._emit(job)
        return running or bool(dropped)

    def jobs(self) -> JobsDoc:
        with self._cond:
            current = self._current.doc() if self._current is not None else None
            return JobsDoc(current=current, queued=[j.doc() for j in self._advances])

    # -- the writer thread --------------------------------------------------------------------------

    def _next_id(self) -> str:
        return f"job_{next(self._ids)}"

    def _emit(self, job: Job) -> None:
        self._publish({"type": "job", "job": job.doc().model_dump()})

    def _main(self) -> None:
        store = Store(self._db)
        try:
            while True:
                with self._cond:
                    while not (self._control or self._advances or self._closing):
                        self._cond.wait()
                    if self._closing and not self._control:
                        break
                    job = self._control.popleft() if self._control else self._advances.popleft()
                    if job.kind == "advance":
                        self._current = job
                if job.kind == "advance":
                    self._advance(store, job)
                else:
                    self._control_job(store, job)
        finally:
            with self._cond:
                leftovers = [*self._control, *self._advances]
                self._control.clear()
                self._advances.clear()
            for job in leftovers:
                job.future.set_exception(EvolabError("the server is shutting down"))
            store.close()

    def _control_job(self, store: Store, job: Job) -> None:
        assert job.action is not None
        try:
            result = job.action(store)
        except BaseException as err:  # handed to the caller, who turns it into an HTTP answer
            job.state, job.error = "failed", str(err)
            job.future.set_exception(err)
        else:
            job.state = "done"
            job.future.set_result(result)

    def _between_generations(self, store: Store, job: Job) -> bool:
        """Run waiting control jobs; True when the advance should stop."""
        deferred = []
        while True:
            with self._cond:
                if not self._control:
                    self._control.extendleft(reversed(deferred))
                    break
                control = self._control.popleft()
            if control.kind == "delete" and control.run_id == job.run_id:
                job.stop.set()  # deleting the run being advanced: stop first, then delete
                deferred.append(control)
                continue
            self._control_job(store, control)
        return job.stop.is_set() or self._closing

    def _advance(self, store: Store, job: Job) -> None:
        job.state = "running"
        self._emit(job)

        def progress(report: GenerationReport) -> None:
            job.done += 1
            self._emit(job)

        try:
            run = Run.resume(job.run_id, store, backend=self.backends(store.get_run(job.run_id).backend))
            run.advance(job.total, on_generation=progress, should_stop=lambda: self._between_generations(store, job))
            job.state = "done" if job.done == job.total else "stopped"
        except EvolabError as err:
            job.state, job.error = "failed", str(err)
        except Exception as err:  # never let one bad run take the writer down
            log.exception("advancing run %s failed", job.run_id)
            job.state, job.error = "failed", f"{type(err).__name__}: {err}"
        finally:
            with self._cond:
                self._current = None
            self._emit(job)
