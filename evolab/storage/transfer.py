"""Export and import of whole runs as one versioned JSON document (DESIGN §7, §9).

The document (format "evolab-run", version 2):

    {"format": "evolab-run", "version": 2, "evolab_version": "0.1.0",
     "run": {id, name, seed, status, created_at, config, parent_run_id, fork_generation, backend[, origin]},
     "generations": [{generation, best, average, worst, median, p10, p25, p75, p90, disqualified, pellets,
                      node_counts, avg_nodes, avg_muscles, sim_seed, sim_seconds, host_seconds,
                      benchmark_fitness, benchmark_pellets, benchmark_creature,
                      "results": [{creature_id, rank, fitness, pellets, disqualified, survival_streak,
                                   distance, displacement, fitness_std, trial_pellets}, ...]}, ...],
     "creatures": [{creature_id, born, genome: Genome.to_dict()[, out_of_range]}, ...],
     "frames": [{generation, creature_id, reason, frames, fitness, pellets}, ...],
     "checkpoints": [{generation, population: [{creature_id, survival_streak}], rng_state}, ...]}

Replays travel as the stored blobs (base64), so nothing is re-quantised. Import checks everything before
it writes anything, then writes the run in one transaction: a refused document leaves the database as
it was. Export, import and export again give the same document, up to the run's id. Version 1 documents
(before trials and the benchmark) are read too: their runs evaluated one trial and had no benchmark. A
document's version says which settings version its configuration is in (`evolab.storage.settings`), so
a new settings version needs a new document version.

A run imported from elsewhere (`evolab.storage.original`) carries `run.origin` ({source, source_id,
settings}) and, on each creature whose genome is outside evolab's ranges, `out_of_range` (the first value
out of range): such genomes are imported as they are and flagged again, never refused. Both keys appear
only on such runs, so every other export reads as before.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evolab.config import EvolutionConfig
from evolab.errors import EvolabError, InvalidInput, StorageError
from evolab.genome import Genome, validate_genome
from evolab.storage.frame_codec import decode_replay
from evolab.storage.records import (
    BornGenome,
    CheckpointRow,
    CreatureResult,
    GenerationRows,
    GenerationStats,
    ReplayRow,
    RunInfo,
    RunOrigin,
    RunRows,
)
from evolab.storage.settings import upgrade_settings
from evolab.storage.store import Store

FORMAT = "evolab-run"
VERSION = 2
_SETTINGS_VERSION = {1: 1, 2: 2}
"""The settings version of each document version's run configuration."""


class TransferError(InvalidInput):
    """An import document is malformed, from a newer evolab, or inconsistent (the message says where)."""


# -- document shape --------------------------------------------------------------------------------


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class _OriginDoc(_Doc):
    source: str = Field(min_length=1)
    source_id: str = Field(min_length=1)
    settings: dict[str, Any]


class _RunDoc(_Doc):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    seed: int = Field(ge=0)
    status: Literal["created", "running", "stopped", "completed", "failed"]
    created_at: float
    config: dict[str, Any]
    parent_run_id: str | None
    fork_generation: int | None = Field(ge=0)
    backend: Literal["cpu", "cuda", "torch"] = "cpu"  # exports before backends ran on the CPU kernel
    origin: _OriginDoc | None = None


class _ResultDoc(_Doc):
    creature_id: str = Field(min_length=1)
    rank: int = Field(ge=0)
    fitness: float
    pellets: int = Field(ge=0)
    disqualified: str | None
    survival_streak: int = Field(ge=0)
    distance: float
    displacement: float
    fitness_std: float | None = Field(None, ge=0)
    trial_pellets: list[Annotated[int, Field(ge=0, le=255)]] | None = None


class _GenerationDoc(_Doc):
    generation: int = Field(ge=0)
    best: float
    average: float
    worst: float
    median: float
    p10: float
    p25: float
    p75: float
    p90: float
    disqualified: int = Field(ge=0)
    pellets: int = Field(ge=0)
    node_counts: dict[str, int]
    avg_nodes: float
    avg_muscles: float
    sim_seed: int
    sim_seconds: float
    host_seconds: float
    benchmark_fitness: float | None = None
    benchmark_pellets: float | None = Field(None, ge=0)
    benchmark_creature: str | None = None
    results: list[_ResultDoc]


class _CreatureDoc(_Doc):
    creature_id: str = Field(min_length=1)
    born: int = Field(ge=0)
    genome: dict[str, Any]
    out_of_range: str | None = None


class _FramesDoc(_Doc):
    generation: int = Field(ge=0)
    creature_id: str = Field(min_length=1)
    reason: Literal["top", "random", "bottom"]
    frames: str
    fitness: str
    pellets: list[dict[str, Any]]


class _MemberDoc(_Doc):
    creature_id: str = Field(min_length=1)
    survival_streak: int = Field(ge=0)


class _CheckpointDoc(_Doc):
    generation: int = Field(ge=0)
    population: list[_MemberDoc]
    rng_state: dict[str, Any]


class _Document(_Doc):
    format: Literal["evolab-run"]
    version: Literal[1, 2]
    evolab_version: str
    run: _RunDoc
    generations: list[_GenerationDoc]
    creatures: list[_CreatureDoc]
    frames: list[_FramesDoc]
    checkpoints: list[_CheckpointDoc]


@dataclass(frozen=True, slots=True, eq=False)
class RunDocument:
    """A validated export document, ready to be written by `import_run`."""

    run: _RunDoc
    config: EvolutionConfig
    creatures: tuple[BornGenome, ...]
    generations: tuple[GenerationRows, ...]
    replays: tuple[ReplayRow, ...]
    checkpoints: tuple[CheckpointRow, ...]


# -- export -----------------------------------------------------------------------------------------


def export_run(store: Store, run_id: str) -> dict[str, Any]:
    """The whole run as a JSON-safe document (see the module docstring).

    Raises:
        StorageError: unknown run, or the database cannot be read.
    """
    from evolab import __version__

    info = store.get_run(run_id)
    creatures = store.creature_infos(run_id)
    genomes = store.genomes(run_id, [c.creature_id for c in creatures])
    generations = []
    for stats in store.generation_stats(run_id):
        entry = {
            **stats.to_dict(),
            "results": [
                {
                    "creature_id": r.creature_id,
                    "rank": r.rank,
                    "fitness": r.fitness,
                    "pellets": r.pellets,
                    "disqualified": r.disqualified,
                    "survival_streak": r.survival_streak,
                    "distance": r.distance,
                    "displacement": r.displacement,
                    "fitness_std": r.fitness_std,
                    "trial_pellets": None if r.trial_pellets is None else list(r.trial_pellets),
                }
                for r in store.results(run_id, stats.generation)
            ],
        }
        generations.append(entry)
    return {
        "format": FORMAT,
        "version": VERSION,
        "evolab_version": __version__,
        "run": {
            "id": info.id,
            "name": info.name,
            "seed": info.seed,
            "status": info.status,
            "created_at": info.created_at,
            "config": info.config.model_dump(mode="json"),
            "parent_run_id": info.parent_run_id,
            "fork_generation": info.fork_generation,
            "backend": info.backend,
            **(
                {}
                if info.origin is None
                else {
                    "origin": {
                        "source": info.origin.source,
                        "source_id": info.origin.source_id,
                        "settings": info.origin.settings,
                    }
                }
            ),
        },
        "generations": generations,
        "creatures": [
            {
                "creature_id": c.creature_id,
                "born": c.born,
                "genome": g.to_dict(),
                **({} if g.out_of_range is None else {"out_of_range": g.out_of_range}),
            }
            for c, g in zip(creatures, genomes, strict=True)
        ],
        "frames": [
            {
                "generation": r.generation,
                "creature_id": r.creature_id,
                "reason": r.reason,
                "frames": base64.b64encode(r.frames).decode("ascii"),
                "fitness": base64.b64encode(r.fitness).decode("ascii"),
                "pellets": list(r.pellets),
            }
            for r in store.frame_rows(run_id)
        ],
        "checkpoints": [
            {
                "generation": c.generation,
                "population": [{"creature_id": cid, "survival_streak": streak} for cid, streak in c.members],
                "rng_state": c.rng_state,
            }
            for c in store.checkpoint_rows(run_id)
        ],
    }


# -- import -----------------------------------------------------------------------------------------


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    where = _where(tuple(first["loc"]))
    if first["type"] == "missing":
        return f"{where}: missing"
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown field"
    got = first.get("input")
    shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
    return f"{where}: {first['msg'][0].lower()}{first['msg'][1:]} (got {shown})"


def _check_header(document: Any) -> None:
    if not isinstance(document, dict):
        raise TransferError(f"not an evolab run export (expected a JSON object, got {type(document).__name__})")
    fmt = document.get("format")
    if fmt != FORMAT:
        raise TransferError(f"not an evolab run export (format {fmt!r}, expected {FORMAT!r})")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise TransferError(f"version: expected an integer (got {version!r})")
    if version > VERSION:
        made_by = document.get("evolab_version")
        by = f" (written by evolab {made_by})" if isinstance(made_by, str) else ""
        raise TransferError(
            f"export format version {version}{by} is newer than this evolab reads ({VERSION}); upgrade evolab"
        )
    if version < 1:
        raise TransferError(f"version: unknown export format version {version}")


def _decode_blob(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise TransferError(f"{where}: not valid base64") from None


def parse_document(document: Any) -> RunDocument:
    """Validate an export document completely, touching no database.

    Checks the format and version, the shape of every field, the run's configuration, every genome
    (parsed and checked against the run's own constraints), that generations run 0, 1, 2, ... without a
    gap, that every result, replay, checkpoint member and parent names a creature of the document that
    was born by then, that replays decode, and that checkpoints hold a valid generator state.

    Raises:
        TransferError: the first problem found, naming where it is.
    """
    _check_header(document)
    try:
        doc = _Document.model_validate(document)
    except ValidationError as err:
        raise TransferError(_describe(err)) from None
    try:
        settings = upgrade_settings(doc.run.config, _SETTINGS_VERSION[doc.version])
        config = EvolutionConfig.from_mapping(settings, source="run.config")
    except EvolabError as err:
        raise TransferError(str(err)) from None

    n_generations = len(doc.generations)
    for i, g in enumerate(doc.generations):
        if g.generation != i:
            raise TransferError(
                f"generations[{i}].generation: expected {i} (generations must run 0, 1, 2, ...), got {g.generation}"
            )
    born: dict[str, int] = {}
    genomes: dict[str, Genome] = {}
    creatures = []
    for i, c in enumerate(doc.creatures):
        where = f"creatures[{i}]"
        if c.creature_id in born:
            raise TransferError(f"{where}.creature_id: {c.creature_id!r} appears twice")
        if c.born > n_generations:
            raise TransferError(f"{where}.born: {c.born} is after the last generation ({n_generations - 1})")
        try:
            genome = Genome.from_dict(c.genome)
        except EvolabError as err:
            raise TransferError(f"{where}.genome: {err}") from None
        try:
            validate_genome(genome, config.constraints)
        except EvolabError as err:
            if c.out_of_range is None:  # only a genome imported as it was may be outside the ranges
                raise TransferError(f"{where}.genome: {err}") from None
            genome = genome.replace(out_of_range=str(err))
        if genome.id != c.creature_id:
            raise TransferError(f"{where}.genome.id: {genome.id!r} differs from creature_id {c.creature_id!r}")
        born[c.creature_id] = c.born
        genomes[c.creature_id] = genome
        creatures.append(BornGenome(c.born, genome))
    for i, creature in enumerate(creatures):
        for parent in creature.genome.parent_ids:
            if parent not in born:
                raise TransferError(f"creatures[{i}].genome.parentIds: unknown creature {parent!r}")

    def known(creature_id: str, generation: int, where: str) -> None:
        if creature_id not in born:
            raise TransferError(f"{where}: unknown creature {creature_id!r}")
        if born[creature_id] > generation:
            raise TransferError(
                f"{where}: creature {creature_id!r} is born in generation {born[creature_id]}, after {generation}"
            )

    generations = []
    for i, g in enumerate(doc.generations):
        where = f"generations[{i}]"
        seen: set[str] = set()
        results = []
        for j, r in enumerate(g.results):
            known(r.creature_id, i, f"{where}.results[{j}].creature_id")
            if r.rank != j:
                raise TransferError(f"{where}.results[{j}].rank: expected {j} (results are listed best first)")
            if r.creature_id in seen:
                raise TransferError(f"{where}.results[{j}].creature_id: {r.creature_id!r} appears twice")
            seen.add(r.creature_id)
            trial_pellets = None if r.trial_pellets is None else tuple(r.trial_pellets)
            results.append(
                CreatureResult(**r.model_dump(exclude={"trial_pellets"}), generation=i, trial_pellets=trial_pellets)
            )
        try:
            node_counts = {int(k): v for k, v in g.node_counts.items()}
        except ValueError:
            raise TransferError(f"{where}.node_counts: keys must be node counts") from None
        stats = GenerationStats(**g.model_dump(exclude={"results", "node_counts"}), node_counts=node_counts)
        generations.append(GenerationRows(stats, tuple(results)))

    frames = []
    framed: set[tuple[int, str]] = set()
    for i, f in enumerate(doc.frames):
        where = f"frames[{i}]"
        if f.generation >= n_generations:
            raise TransferError(f"{where}.generation: generation {f.generation} is not in the document")
        known(f.creature_id, f.generation, f"{where}.creature_id")
        if (f.generation, f.creature_id) in framed:
            raise TransferError(f"{where}: a second replay of {f.creature_id!r} in generation {f.generation}")
        framed.add((f.generation, f.creature_id))
        frames_blob = _decode_blob(f.frames, f"{where}.frames")
        fitness_blob = _decode_blob(f.fitness, f"{where}.fitness")
        try:
            positions, _ = decode_replay(frames_blob, fitness_blob)
        except StorageError as err:
            raise TransferError(f"{where}: {err}") from None
        if positions.shape[1] != genomes[f.creature_id].n_nodes:
            raise TransferError(
                f"{where}.frames: {positions.shape[1]} nodes, but creature {f.creature_id!r} has "
                f"{genomes[f.creature_id].n_nodes}"
            )
        frames.append(ReplayRow(f.generation, f.creature_id, f.reason, frames_blob, fitness_blob, tuple(f.pellets)))

    checkpoints = []
    seen_checkpoints: set[int] = set()
    for i, c in enumerate(doc.checkpoints):
        where = f"checkpoints[{i}]"
        if c.generation > n_generations:
            raise TransferError(
                f"{where}.generation: {c.generation} is after the last generation + 1 ({n_generations})"
            )
        if c.generation in seen_checkpoints:
            raise TransferError(f"{where}.generation: a second checkpoint for generation {c.generation}")
        seen_checkpoints.add(c.generation)
        for j, m in enumerate(c.population):
            known(m.creature_id, c.generation, f"{where}.population[{j}].creature_id")
            if genomes[m.creature_id].out_of_range is not None:
                raise TransferError(
                    f"{where}.population[{j}].creature_id: {m.creature_id!r} is outside evolab's ranges and "
                    "cannot be bred or simulated"
                )
        try:
            np.random.default_rng().bit_generator.state = c.rng_state
        except (TypeError, ValueError, KeyError) as err:
            raise TransferError(f"{where}.rng_state: not a generator state ({err})") from None
        checkpoints.append(
            CheckpointRow(
                c.generation, tuple((m.creature_id, m.survival_streak) for m in c.population), dict(c.rng_state)
            )
        )

    return RunDocument(
        run=doc.run,
        config=config,
        creatures=tuple(sorted(creatures, key=lambda creature: creature.born)),
        generations=tuple(generations),
        replays=tuple(frames),
        checkpoints=tuple(checkpoints),
    )


def import_run(store: Store, document: Any) -> RunInfo:
    """Validate an export document (or take one `parse_document` validated) and store it as a new run
    in one transaction. The run keeps its id unless the database already holds it; then it gets a new
    one. A run exported while "running" is imported as "stopped": no process writes the copy.

    Raises:
        TransferError: the document is refused (nothing was written).
        StorageError: the database cannot be written (nothing was written).
    """
    parsed = document if isinstance(document, RunDocument) else parse_document(document)
    run = parsed.run
    return store.import_run(
        RunRows(
            run_id=run.id,
            name=run.name,
            config=parsed.config,
            seed=run.seed,
            status="stopped" if run.status == "running" else run.status,
            created_at=run.created_at,
            parent_run_id=run.parent_run_id,
            fork_generation=run.fork_generation,
            backend=run.backend,
            origin=None
            if run.origin is None
            else RunOrigin(run.origin.source, run.origin.source_id, dict(run.origin.settings)),
            creatures=parsed.creatures,
            generations=parsed.generations,
            replays=parsed.replays,
            checkpoints=parsed.checkpoints,
        )
    )
