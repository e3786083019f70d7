"""Runs: list, create, inspect, rename, delete; advance, stop and fork them; their generations."""

from __future__ import annotations

import os
from typing import Annotated

import pydantic_core
from fastapi import APIRouter, HTTPException, Query, Request, Response

from evolab.config import resolve_preset
from evolab.genome import creature_name
from evolab.runner import Run, fork_run
from evolab.runner.signals import stop_evolve_process
from evolab.server.cache import cached_json
from evolab.server.deps import (
    GenerationNo,
    GenerationsPage,
    ResponsesDep,
    RunId,
    RunsPage,
    StoreDep,
    WorkerDep,
    require_run,
)
from evolab.server.offload import run_read, small_generation
from evolab.server.overrides import as_dict
from evolab.server.responses import NOT_MODIFIED
from evolab.server.schemas import (
    AdvanceRequest,
    AnalyticsDoc,
    CreateRunRequest,
    ForkRequest,
    GenerationDoc,
    GenerationStatsPage,
    JobDoc,
    LineageStepDoc,
    PercentilesDoc,
    RenameRequest,
    RunDetail,
    RunPage,
    StopDoc,
    TopCreatureDoc,
)
from evolab.server.views import (
    creature_cards,
    json_response,
    progress_doc,
    run_detail,
    run_summary,
    stats_doc,
    trial_pellets,
)
from evolab.storage import GenerationStats, RunInfo, Store

router = APIRouter(prefix="/api/runs", tags=["runs"])


def _written_elsewhere(info: RunInfo) -> bool:
    """Another process (`evolab evolve`), not this server, is writing the run right now."""
    return info.being_written and info.writer_pid != os.getpid()


def _refuse_foreign_writer(info: RunInfo, action: str) -> None:
    if _written_elsewhere(info):
        raise HTTPException(
            409, f"run {info.id!r} is being written by process {info.writer_pid}; cannot {action} it now"
        )


@router.get("", response_model=RunPage, summary="The runs in the database, newest first, a page at a time")
async def list_runs(store: StoreDep, page: RunsPage) -> Response:
    runs = store.list_runs()
    return json_response(RunPage(data=[run_summary(info) for info in page.slice(runs)], count=len(runs)))


@router.post("", response_model=RunDetail, status_code=201, summary="Create a run (bred, not evaluated)")
def create_run(body: CreateRunRequest, store: StoreDep, worker: WorkerDep) -> RunDetail:
    cfg = resolve_preset(body.preset, store.presets(), as_dict(body.config))
    if body.turbo:
        cfg = cfg.replace(frames={"enabled": False})
    name = body.name.strip() if body.name and body.name.strip() else None
    backend = worker.backends(body.backend)
    info = worker.call("create", None, lambda s: Run.create(cfg, s, body.seed, name=name, backend=backend).info())
    return run_detail(info)


def _detail(store: Store, info: RunInfo) -> RunDetail:
    """The run's detail with its benchmark progress, read from its stored generations."""
    return run_detail(info, store.generation_stats(info.id) if info.generation_count else ())


@router.get("/{run_id}", response_model=RunDetail, summary="One run with its configuration and benchmark progress")
def get_run(run_id: RunId, store: StoreDep) -> RunDetail:
    return _detail(store, require_run(store, run_id))


@router.patch("/{run_id}", response_model=RunDetail, summary="Rename a run")
def rename_run(run_id: RunId, body: RenameRequest, store: StoreDep, worker: WorkerDep) -> RunDetail:
    require_run(store, run_id)
    name = body.name.strip()
    if not name:
        raise HTTPException(422, "a run name cannot be empty")
    return _detail(store, worker.call("rename", run_id, lambda s: s.rename_run(run_id, name)))


@router.delete("/{run_id}", status_code=204, response_class=Response, summary="Delete a run and everything it stored")
def delete_run(run_id: RunId, store: StoreDep, worker: WorkerDep) -> Response:
    _refuse_foreign_writer(require_run(store, run_id), "delete")
    worker.stop(run_id)
    worker.call("delete", run_id, lambda s: s.delete_run(run_id))
    return Response(status_code=204)


@router.post("/{run_id}/advance", response_model=JobDoc, status_code=202, summary="Run more generations")
def advance_run(run_id: RunId, body: AdvanceRequest, store: StoreDep, worker: WorkerDep) -> JobDoc:
    _refuse_foreign_writer(require_run(store, run_id), "advance")
    return worker.advance(run_id, body.generations)


@router.post("/{run_id}/stop", response_model=StopDoc, status_code=202, summary="Stop after the current generation")
def stop_run(run_id: RunId, store: StoreDep, worker: WorkerDep) -> StopDoc:
    """Stop the run's advance here, or ask the `evolab evolve` process writing it to stop cleanly."""
    info = require_run(store, run_id)
    if _written_elsewhere(info):
        # `evolab evolve` in another terminal: it stops cleanly on SIGTERM (checkpoint, status "stopped")
        assert info.writer_pid is not None
        if not stop_evolve_process(info.writer_pid):
            _refuse_foreign_writer(info, "stop")
        return StopDoc(stopping=True)
    return StopDoc(stopping=worker.stop(run_id))


@router.post("/{run_id}/fork", response_model=RunDetail, status_code=201, summary="Branch a new run from a generation")
def fork(run_id: RunId, body: ForkRequest, store: StoreDep, worker: WorkerDep) -> RunDetail:
    info = require_run(store, run_id)
    if body.generation >= info.generation_count:
        raise HTTPException(404, f"generation {body.generation} of run {run_id!r} is not stored")
    name = body.name.strip() if body.name and body.name.strip() else None
    forked = worker.call("fork", run_id, lambda s: fork_run(s, run_id, body.generation, name=name))
    return _detail(store, forked)


@router.get(
    "/{run_id}/generations",
    response_model=GenerationStatsPage,
    summary="Statistics per generation, in order, a page at a time",
)
def generations(
    run_id: RunId,
    store: StoreDep,
    page: GenerationsPage,
    start: Annotated[int, Query(ge=0, le=2**62, description="the first generation")] = 0,
    stop: Annotated[int | None, Query(ge=0, le=2**62, description="the generation after the last")] = None,
) -> GenerationStatsPage:
    """The generations in [start, stop) are the collection that `limit` and `offset` page through."""
    require_run(store, run_id)
    history = store.generation_stats(run_id, start, stop)
    return GenerationStatsPage(data=[stats_doc(s) for s in page.slice(history)], count=len(history))


@router.get(
    "/{run_id}/generations/{generation}",
    response_model=GenerationDoc,
    summary="A generation's creatures",
    responses=NOT_MODIFIED,
)
async def generation(
    run_id: RunId, generation: GenerationNo, store: StoreDep, responses: ResponsesDep, request: Request
) -> Response:
    info = require_run(store, run_id)
    stats = store.generation(run_id, generation)
    if stats is None:
        raise HTTPException(404, f"generation {generation} of run {run_id!r} is not stored")
    token = (info.created_at, stats)  # a stored generation never changes; a rewritten one has new stats
    entry = responses.get((run_id, generation), token)
    if entry is None:
        body = await run_read(_generation_body, store, run_id, stats, small=small_generation(info.config))
        entry = responses.put((run_id, generation), token, body)
    return cached_json(request, entry)


def _generation_body(store: Store, run_id: str, stats: GenerationStats) -> bytes:
    """The JSON of a generation's stats and creature cards, read and rendered."""
    creatures = store.generation_creatures(run_id, stats.generation)
    cards = creature_cards(creatures, store.last_poses(run_id, stats.generation))
    return pydantic_core.to_json({"stats": stats_doc(stats), "creatures": cards})  # a `GenerationDoc`


@router.get(
    "/{run_id}/analytics", response_model=AnalyticsDoc, summary="Top creatures, lineage, percentiles, benchmark"
)
def analytics(run_id: RunId, store: StoreDep, top: Annotated[int, Query(ge=0, le=1000)] = 10) -> AnalyticsDoc:
    info = require_run(store, run_id)
    top_results = store.top_results(run_id, top) if top else []
    lineage = []
    if info.best_creature_id is not None:
        lineage = [store.creature(run_id, info.best_creature_id), *store.ancestors(run_id, info.best_creature_id)]
    ids = [r.creature_id for r in top_results] + [c.creature_id for c in lineage]
    genomes = {g.id: g for g in store.genomes(run_id, list(dict.fromkeys(ids)))}
    born = store.birth_results(run_id, [c.creature_id for c in lineage])
    history = store.generation_stats(run_id)
    return AnalyticsDoc(
        top=[
            TopCreatureDoc(
                id=r.creature_id,
                name=creature_name(genomes[r.creature_id]),
                generation=r.generation,
                rank=r.rank + 1,
                fitness=r.fitness,
                fitness_std=r.fitness_std,
                pellets=r.pellets,
                trial_pellets=trial_pellets(r),
                n_nodes=genomes[r.creature_id].n_nodes,
                n_muscles=genomes[r.creature_id].n_muscles,
            )
            for r in top_results
        ],
        best_lineage=[
            LineageStepDoc(
                id=c.creature_id,
                name=creature_name(genomes[c.creature_id]),
                born=c.born,
                fitness=born[c.creature_id].fitness if c.creature_id in born else None,
            )
            for c in lineage
        ],
        percentiles=[
            PercentilesDoc(generation=s.generation, p10=s.p10, p25=s.p25, p50=s.median, p75=s.p75, p90=s.p90)
            for s in history
        ],
        benchmark_progress=progress_doc(history, info),
    )
