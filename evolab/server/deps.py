"""What routes take from the app, once each, as typed FastAPI dependencies (`store: StoreDep`), and the
path and paging parameters several routes share.

Each alias names a provider function here; a test swaps one with `app.dependency_overrides[provider]`
(for example a fake writer for `writer`), and every route taking the alias gets the replacement. The
providers only look things up, so they are coroutines: FastAPI runs a plain function dependency on its
thread pool, and a request's dozen hand-offs there took a millisecond of every read.
"""

# No `from __future__ import annotations` here: `paging` builds its parameters' annotations from its
# arguments, and FastAPI would evaluate string annotations in this module's globals, without them.

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, HTTPException, Path, Query
from fastapi.requests import HTTPConnection

from evolab.server.cache import ResponseCache
from evolab.server.state import ServerState, ThreadStore
from evolab.server.worker import Worker
from evolab.storage import RunInfo, Store

T = TypeVar("T")

MAX_OFFSET = 2**62
"""Far beyond any collection, small enough for SQLite's integers."""


async def server_state(connection: HTTPConnection) -> ServerState:
    """What the app holds while it runs (its lifespan sets it). An HTTPConnection rather than a Request, so
    the WebSocket route takes it too."""
    return connection.app.state.evolab


StateDep = Annotated[ServerState, Depends(server_state)]


async def read_store(state: StateDep) -> Store:
    """The read connection of whichever thread runs the request (see `ThreadStore`)."""
    return cast(Store, ThreadStore(state.stores))


StoreDep = Annotated[Store, Depends(read_store)]


async def writer(state: StateDep) -> Worker:
    """The one thread that writes the database: creates, advances, forks, renames, deletes, presets."""
    return state.worker


WorkerDep = Annotated[Worker, Depends(writer)]


async def responses(state: StateDep) -> ResponseCache:
    """The rendered generations and replays kept for the next request (`evolab.server.cache`)."""
    return state.responses


ResponsesDep = Annotated[ResponseCache, Depends(responses)]

RunId = Annotated[str, Path(min_length=1, max_length=200, description="a run id")]
GenerationNo = Annotated[int, Path(ge=0, le=2**31, description="a generation number")]


def require_run(store: Store, run_id: str) -> RunInfo:
    """The run, or a 404."""
    info = store.find_run(run_id)
    if info is None:
        raise HTTPException(404, f"unknown run {run_id!r}")
    return info


@dataclass(frozen=True, slots=True)
class Paging:
    """Which items of a collection a list request asks for: `limit` of them after the first `offset`."""

    limit: int
    offset: int

    def slice(self, items: Sequence[T]) -> list[T]:
        """The requested page of `items` (empty past their end)."""
        return list(items[self.offset : self.offset + self.limit])


def paging(default: int, maximum: int) -> Any:
    """A `Paging` dependency alias taking `limit` (1 to `maximum`, `default` when not given) and `offset`
    (0 and up) from the query string; out-of-range values are refused with a 422."""

    async def dependency(
        limit: Annotated[int, Query(ge=1, le=maximum, description=f"items per page, at most {maximum}")] = default,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
    ) -> Paging:
        return Paging(limit, offset)

    return Annotated[Paging, Depends(dependency)]


RunsPage = paging(100, 1000)
PresetsPage = paging(100, 1000)
# a chart wants a run's whole history: one request holds it for all but the longest runs
GenerationsPage = paging(1000, 10_000)
