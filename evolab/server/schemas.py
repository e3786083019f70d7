"""The shapes the API speaks: request bodies and responses, as pydantic models (the OpenAPI schema is
generated from these)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from evolab.config import EvolutionConfig, NeuralMode, preset_names
from evolab.server.overrides import ConfigOverrides, JsonInt

T = TypeVar("T")

RunStatus = Literal["created", "running", "completed", "stopped", "failed"]
JobKind = Literal["create", "advance", "fork", "rename", "delete", "preset", "import"]
JobState = Literal["queued", "running", "done", "stopped", "failed"]
DEFAULT_PRESET = "default"
"""The preset of a run created without one (and the base of a saved preset without one)."""
Position = Annotated[list[float], Field(min_length=3, max_length=3)]
"""A point: x, y (up), z."""
NodePair = Annotated[list[int], Field(min_length=2, max_length=2)]
"""The indices of the two nodes a muscle joins."""


class _Request(BaseModel):
    # strict, as the schema reads: no "5" for a number, no 0 for a boolean (ints take 5.0: `JsonInt`)
    model_config = ConfigDict(extra="forbid", strict=True)


class Color(BaseModel):
    h: float
    s: float
    l: float  # noqa: E741 - HSL's own name


class RunSummary(BaseModel):
    """A stored run as the run list shows it."""

    id: str
    name: str
    status: RunStatus
    live: bool = Field(description="a process is writing this run right now (the server or `evolab evolve`)")
    seed: int
    backend: Literal["cpu", "cuda", "torch"] = Field(
        description="the physics backend the run is evolved on (its results are bit-exact on it)"
    )
    created_at: float
    updated_at: float
    generation_count: int
    best_fitness: float | None = Field(
        description="the champion's mean fitness on the held-out benchmark when `best_by_benchmark`, "
        "else the highest fitness of any creature"
    )
    best_creature_id: str | None
    best_generation: int | None
    best_pellets: float | None = Field(
        description="the champion's mean pellets on the held-out benchmark; null when the run has no benchmark scores"
    )
    best_by_benchmark: bool = Field(
        description="`best_*` is the run's champion judged on its held-out benchmark (else the highest fitness)"
    )
    longest_survivor_id: str | None
    longest_streak: int
    longest_generation: int | None
    parent_run_id: str | None
    fork_generation: int | None
    population_size: int
    duration: float
    gravity: float
    mutation_rate: float
    neural_mode: NeuralMode
    trials: int = Field(description="pellet layouts each creature is evaluated on per generation (fitness is the mean)")
    turbo: bool = Field(description="no replays are stored; they are re-simulated on demand")
    imported_from: Literal["original-app"] | None = Field(
        None,
        description="where an imported run came from (the original browser app); its stored replays are what "
        "that app recorded, while a re-simulation is evolab's physics",
    )


class BenchmarkProgressDoc(BaseModel):
    """How a run's held-out benchmark score changed (its first tenth against its last) and its champion."""

    scored: int = Field(description="generations scored on the benchmark")
    window: int = Field(description="scored generations in each of the first and the last tenth")
    first_pellets: float = Field(description="mean benchmark pellets over the first tenth")
    last_pellets: float = Field(description="mean benchmark pellets over the last tenth")
    first_fitness: float
    last_fitness: float
    champion_id: str | None
    champion_generation: int | None
    champion_fitness: float | None = Field(description="the champion's mean fitness on the benchmark")
    champion_pellets: float | None = Field(description="the champion's mean pellets on the benchmark")
    pellets_ratio: float | None = Field(description="last / first tenth's pellets; null when the first collected none")


class Page(BaseModel, Generic[T]):
    """One page of a collection: `limit` items after the first `offset` (query parameters)."""

    data: list[T]
    count: int = Field(description="items in the whole collection, before paging")


class RunPage(Page[RunSummary]):
    """Runs, newest first."""


class RunDetail(RunSummary):
    config: EvolutionConfig
    benchmark_progress: BenchmarkProgressDoc | None = Field(
        description="the benchmark's first and last tenth and the champion; null when no generation was scored"
    )


class GenerationStatsDoc(BaseModel):
    generation: int
    best: float
    average: float
    worst: float
    median: float
    p10: float
    p25: float
    p75: float
    p90: float
    disqualified: int
    pellets: int
    node_counts: dict[str, int]
    avg_nodes: float
    avg_muscles: float
    sim_seed: int = Field(description="the seed its creatures were simulated with (replays re-use it)")
    sim_seconds: float
    host_seconds: float
    benchmark_fitness: float | None = Field(
        description="mean fitness on the held-out benchmark layouts of the best of the generation's top creatures; "
        "null when the generation was not scored"
    )
    benchmark_pellets: float | None = Field(description="that creature's mean pellets on the benchmark layouts")
    benchmark_creature: str | None = Field(description="the creature the benchmark score is of")


class GenerationStatsPage(Page[GenerationStatsDoc]):
    """Generations' statistics, in order."""


class CreatureCard(BaseModel):
    """One creature in one generation: its result and what a card needs to draw it."""

    id: str
    name: str
    rank: int = Field(description="place in its generation, 1 = best")
    fitness: float = Field(description="mean fitness over the generation's trials (pellet layouts)")
    fitness_std: float | None = Field(description="the fitness's standard deviation over the trials; null for one")
    pellets: int = Field(description="pellets collected, summed over the trials")
    trial_pellets: list[int] | None = Field(description="pellets collected on each trial's layout; null for one trial")
    pellets_spawned: int = Field(description="pellets that appeared on all trials (one per trial more than collected)")
    disqualified: str | None
    survival_streak: int
    distance: float
    displacement: float
    born: int
    lineage_generation: int
    parent_ids: list[str]
    origin: str
    n_nodes: int
    n_muscles: int
    color: Color
    avg_stiffness: float
    avg_frequency: float
    global_frequency_multiplier: float
    frames: Literal["stored", "simulated"]
    pose: list[Position]
    node_sizes: list[float]
    node_frictions: list[float]
    muscles: list[NodePair]
    muscle_stiffness: list[float]
    muscle_frequency: list[float]


class GenerationDoc(BaseModel):
    stats: GenerationStatsDoc
    creatures: list[CreatureCard]


class ResultDoc(BaseModel):
    generation: int
    rank: int = Field(description="place in its generation, 1 = best")
    fitness: float = Field(description="mean fitness over the generation's trials (pellet layouts)")
    fitness_std: float | None = Field(description="the fitness's standard deviation over the trials; null for one")
    pellets: int = Field(description="pellets collected, summed over the trials")
    trial_pellets: list[int] | None = Field(description="pellets collected on each trial's layout; null for one trial")
    disqualified: str | None
    survival_streak: int


class CreatureDoc(BaseModel):
    id: str
    name: str
    born: int
    lineage_generation: int
    parent_ids: list[str]
    origin: str
    color: Color
    genome: dict[str, Any]
    results: list[ResultDoc]


class PelletDoc(BaseModel):
    position: Position
    spawned_frame: int
    collected_frame: int | None
    initial_distance: float


class ReplayDoc(BaseModel):
    creature_id: str
    generation: int
    source: Literal["stored", "simulated"]
    fps: int
    neural_mode: NeuralMode
    frames: list[list[Position]] = Field(description="each recorded frame's node positions")
    fitness_over_time: list[float]
    pellets: list[PelletDoc]
    times: list[float] | None = Field(
        None,
        description="seconds of each frame when they are not 1/fps apart (a run imported from the original "
        "app, which recorded on its own schedule); null for frames 1/fps apart",
    )
    imported_from: Literal["original-app"] | None = Field(
        None,
        description="the run was imported from there: stored frames are what that app recorded, a "
        "re-simulation is evolab's physics (not the motion that app showed)",
    )


class AncestorDoc(BaseModel):
    id: str
    name: str
    born: int
    parent_ids: list[str]
    n_nodes: int
    n_muscles: int
    fitness: float | None
    color: Color


class LineageDoc(BaseModel):
    root: str
    ancestors: list[AncestorDoc]


class TopCreatureDoc(BaseModel):
    id: str
    name: str
    generation: int
    rank: int = Field(description="place in its generation, 1 = best")
    fitness: float = Field(description="mean fitness over the generation's trials (pellet layouts)")
    fitness_std: float | None = Field(description="the fitness's standard deviation over the trials; null for one")
    pellets: int = Field(description="pellets collected, summed over the trials")
    trial_pellets: list[int] | None = Field(description="pellets collected on each trial's layout; null for one trial")
    n_nodes: int
    n_muscles: int


class LineageStepDoc(BaseModel):
    id: str
    name: str
    born: int
    fitness: float | None


class PercentilesDoc(BaseModel):
    generation: int
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float


class AnalyticsDoc(BaseModel):
    top: list[TopCreatureDoc] = Field(description="the highest selection fitness, one result per creature")
    best_lineage: list[LineageStepDoc] = Field(description="the run's best creature (its champion) and its ancestors")
    percentiles: list[PercentilesDoc]
    benchmark_progress: BenchmarkProgressDoc | None


class PresetDoc(BaseModel):
    name: str
    builtin: bool
    description: str
    config: EvolutionConfig


class PresetPage(Page[PresetDoc]):
    """The shipped presets, then the saved ones."""


class FieldRange(BaseModel):
    """The values a numeric configuration field accepts (from the configuration's JSON schema); a bound
    is null when there is none."""

    type: Literal["integer", "number"]
    minimum: float | None = Field(description="the smallest value allowed")
    exclusive_minimum: float | None = Field(description="values must be greater than this")
    maximum: float | None = Field(description="the largest value allowed")
    exclusive_maximum: float | None = Field(description="values must be less than this")


class DefaultsDoc(BaseModel):
    """What a new run gets when nothing is overridden, and what each numeric setting may be."""

    preset: str = Field(description="the preset a run starts from when none is named")
    config: EvolutionConfig = Field(description="that preset's configuration, complete")
    ranges: dict[str, FieldRange] = Field(
        description='every numeric setting by its dotted path ("sim.gravity"): the values it accepts'
    )


class JobDoc(BaseModel):
    id: str
    kind: JobKind
    run_id: str | None
    state: JobState
    done: int
    total: int
    error: str | None


class JobsDoc(BaseModel):
    current: JobDoc | None
    queued: list[JobDoc]


class StopDoc(BaseModel):
    stopping: bool


class HealthDoc(BaseModel):
    version: str
    db: str


class CreateRunRequest(_Request):
    preset: str = Field(
        DEFAULT_PRESET, min_length=1, max_length=200, description="a shipped or saved preset to start from"
    )
    config: ConfigOverrides = Field(  # type: ignore[valid-type]
        default_factory=ConfigOverrides, description="overrides of the preset's settings, nested like the configuration"
    )
    name: str | None = Field(None, max_length=200)
    seed: JsonInt | None = Field(None, ge=0, le=2**63 - 1)
    turbo: bool = Field(False, description="store no replays (they are re-simulated on demand)")
    backend: Literal["auto", "cpu", "cuda", "torch"] | None = Field(
        None, description="the physics backend to evolve on; by default the server's (`evolab serve --backend`)"
    )


NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A pattern matching any character that Python's `str.strip()` keeps: a name matching it somewhere is not
blank to the server either. Spelled out, as `\\S` means three things in the schema's ECMA regexes,
pydantic's Rust ones and Python's (the ASCII separators \\x1c-\\x1f are white space to Python only)."""


class RenameRequest(_Request):
    name: str = Field(..., max_length=200, pattern=NOT_BLANK, description="the new name (not blank)")


class AdvanceRequest(_Request):
    generations: JsonInt = Field(1, ge=1, le=100_000)


class ForkRequest(_Request):
    generation: JsonInt = Field(..., ge=0)
    name: str | None = Field(None, max_length=200)


class PresetRequest(_Request):
    config: ConfigOverrides = Field(default_factory=ConfigOverrides)  # type: ignore[valid-type]
    base: str = Field(
        DEFAULT_PRESET,
        description="the shipped preset the config overrides",
        json_schema_extra={"enum": list(preset_names())},
    )


# -- import and export (evolab.server.routes.transfer) -------------------------------------------------


class ErrorDoc(BaseModel):
    """What every refusal answers: one line saying what is wrong and where."""

    detail: str = Field(description="what is wrong, naming the record and field at fault where there is one")


class ImportedRunDoc(BaseModel):
    """A run an import added."""

    id: str = Field(description="its id here (a new one when the file's id was taken)")
    name: str
    original_id: str | None = Field(description="its id in the file: the exported run's, or the original app's")
    generation_count: int
    parent_run_id: str | None = Field(description="the run it was forked from (an original-app fork is a fork)")
    fork_generation: int | None


class ImportDoc(BaseModel):
    """What an import added, and what it could not carry over as it was."""

    source: Literal["evolab", "original-app"] = Field(description="what the file was: an evolab export or a dump")
    runs: list[ImportedRunDoc] = Field(description="parents before their forks")
    generations: int
    results: int = Field(description="one per creature per generation")
    genomes: int = Field(description="distinct genomes (a creature kept as an elite is one)")
    flagged_genomes: int = Field(description="genomes outside evolab's ranges: imported as they are, never bred")
    replays: int = Field(description="stored frames kept as replays")
    replays_not_kept: int = Field(description="stored frames not kept (exploded creatures beyond a replay's reach)")
    unmapped_settings: list[str] = Field(description="original settings with no evolab counterpart, kept unapplied")
    warnings: list[str] = Field(description="one line each: what was kept but not applied, flagged or not kept")
