"""Creatures: genome and history, replays (stored or re-simulated) and family trees."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from evolab.errors import CreatureNotFound
from evolab.genome import creature_name, origin_label
from evolab.runner import replay_in
from evolab.server.cache import cached_json
from evolab.server.deps import GenerationNo, ResponsesDep, RunId, StateDep, StoreDep, require_run
from evolab.server.offload import run_read, small_replay
from evolab.server.responses import NOT_MODIFIED
from evolab.server.schemas import CreatureDoc, LineageDoc, ReplayDoc
from evolab.server.state import ServerState
from evolab.server.views import ancestor_doc, color, json_body, lineage_subset, replay_doc, result_doc
from evolab.storage import CreatureInfo, GenerationStats, RunInfo, Store

router = APIRouter(prefix="/api/runs/{run_id}", tags=["creatures"])

CreatureId = Annotated[str, Path(min_length=1, max_length=200, description="a creature id")]


def _require_creature(store: Store, run_id: str, creature_id: str) -> CreatureInfo:
    require_run(store, run_id)
    info = store.creatures(run_id, [creature_id]).get(creature_id)
    if info is None:
        raise HTTPException(404, f"unknown creature {creature_id!r} in run {run_id!r}")
    return info


@router.get("/creatures/{creature_id}", response_model=CreatureDoc, summary="A creature's genome and results")
def creature(run_id: RunId, creature_id: CreatureId, store: StoreDep) -> CreatureDoc:
    info = _require_creature(store, run_id, creature_id)
    genome = store.genome(run_id, creature_id)
    return CreatureDoc(
        id=creature_id,
        name=creature_name(genome),
        born=info.born,
        lineage_generation=info.lineage_generation,
        parent_ids=list(info.parent_ids),
        origin=origin_label(genome),
        color=color(genome),
        genome=genome.to_dict(),
        results=[result_doc(r) for r in store.creature_results(run_id, creature_id)],
    )


@router.get(
    "/generations/{generation}/creatures/{creature_id}/replay",
    response_model=ReplayDoc,
    summary="A creature's motion in a generation: stored frames, or an exact re-simulation",
    responses=NOT_MODIFIED,
)
async def replay(
    run_id: RunId,
    generation: GenerationNo,
    creature_id: CreatureId,
    store: StoreDep,
    state: StateDep,
    responses: ResponsesDep,
    request: Request,
) -> Response:
    info = require_run(store, run_id)
    stats = store.generation(run_id, generation)
    # stored frames never change, and a re-simulation is exact on the run's backend: a hit under the same
    # generation statistics is the body these checks passed for (see evolab.server.cache)
    key, token = (run_id, generation, creature_id), (info.created_at, info.backend, stats)
    entry = responses.get(key, token) if stats is not None else None
    if entry is None:
        if stats is None:
            _require_creature(store, run_id, creature_id)
            raise HTTPException(404, f"generation {generation} of run {run_id!r} is not stored")
        body = await run_read(_replay_body, store, state, info, stats, creature_id, small=small_replay(info.config))
        entry = responses.put(key, token, body)
    return cached_json(request, entry)


def _replay_body(store: Store, state: ServerState, info: RunInfo, stats: GenerationStats, creature_id: str) -> bytes:
    """The JSON of a creature's replay in a stored generation, read or re-simulated (404 when the creature
    is not in the run or was not in that generation)."""
    try:
        replay = replay_in(store, info, stats, creature_id, backend=state.backends.get(info.backend))
    except CreatureNotFound:
        _require_creature(store, info.id, creature_id)  # not in the run at all: say so
        raise
    origin = info.origin.source if info.origin is not None else None
    return json_body(replay_doc(replay, info.config.sim.neural_mode, origin))


@router.get("/creatures/{creature_id}/lineage", response_model=LineageDoc, summary="A creature's ancestors")
def lineage(
    run_id: RunId,
    creature_id: CreatureId,
    store: StoreDep,
    mode: Annotated[Literal["both", "crossover", "clone"], Query()] = "both",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LineageDoc:
    root = _require_creature(store, run_id, creature_id)
    ancestors = lineage_subset(root, store.ancestors(run_id, creature_id, limit=10 * limit), mode, limit)
    ids = [a.creature_id for a in ancestors]
    genomes = store.genomes(run_id, ids)
    born = store.birth_results(run_id, ids)
    return LineageDoc(
        root=creature_id,
        ancestors=[
            ancestor_doc(a, g, born[a.creature_id].fitness if a.creature_id in born else None)
            for a, g in zip(ancestors, genomes, strict=True)
        ],
    )
