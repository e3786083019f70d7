"""The routes take what they need through the dependencies of `evolab.server.deps`, so a test (or another
app) swaps one with FastAPI's `app.dependency_overrides` and every route follows."""

from __future__ import annotations

import inspect
from pathlib import Path

from evolab.server import create_app, deps
from evolab.server.routes import creatures, defaults, live, presets, runs
from evolab.server.schemas import JobDoc, JobsDoc
from evolab.storage import Store
from tests.server.shared import TestClient, make_run, serve

ROUTE_MODULES = (runs, creatures, presets, defaults, live)


class FakeWriter:
    """Stands in for the server's writer thread: records the advances asked of it and runs none."""

    def __init__(self) -> None:
        self.advances: list[tuple[str, int]] = []

    def advance(self, run_id: str, generations: int) -> JobDoc:
        self.advances.append((run_id, generations))
        return self.job(run_id, generations)

    def jobs(self) -> JobsDoc:
        return JobsDoc(current=None, queued=[self.job(run_id, n) for run_id, n in self.advances])

    @staticmethod
    def job(run_id: str, generations: int) -> JobDoc:
        return JobDoc(id="fake-1", kind="advance", run_id=run_id, state="queued", done=0, total=generations, error=None)


def test_the_store_can_be_swapped_without_starting_the_app(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    run_id = make_run(elsewhere, 2, seed=4)
    app = create_app(tmp_path / "served.db", static_dir=None)
    with Store(elsewhere) as store:
        app.dependency_overrides[deps.read_store] = lambda: store
        client = TestClient(app)  # not entered: no lifespan, so no writer, watcher or read connections

        listed = client.get("/api/runs").json()
        generations = client.get(f"/api/runs/{run_id}/generations").json()

    assert ([r["id"] for r in listed["data"]], listed["count"]) == ([run_id], 1)
    assert [g["generation"] for g in generations["data"]] == [0, 1]


def test_the_writer_can_be_swapped_and_every_route_that_writes_uses_the_swap(db_path: Path) -> None:
    run_id = make_run(db_path, 0)
    fake = FakeWriter()
    with serve(db_path) as client:
        client.app.dependency_overrides[deps.writer] = lambda: fake

        advanced = client.post(f"/api/runs/{run_id}/advance", json={"generations": 3})
        jobs = client.get("/api/jobs").json()
        run = client.get(f"/api/runs/{run_id}").json()

    assert advanced.status_code == 202
    assert advanced.json() == FakeWriter.job(run_id, 3).model_dump()
    assert fake.advances == [(run_id, 3)]
    assert jobs == {"current": None, "queued": [FakeWriter.job(run_id, 3).model_dump()]}
    assert run["generation_count"] == 0  # the real writer never saw the advance


def test_every_dependency_alias_is_defined_once_in_deps() -> None:
    for module in ROUTE_MODULES:
        assert "Depends(" not in inspect.getsource(module), f"{module.__name__} defines its own dependency"
        for name in ("StoreDep", "StateDep", "WorkerDep", "RunId", "GenerationNo"):
            if hasattr(module, name):
                assert getattr(module, name) is getattr(deps, name), f"{module.__name__}.{name}"
