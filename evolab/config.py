"""Every tunable of evolab, validated once at the edge (pydantic), and the shipped presets.

Defaults are the original app's (reference §1.5, §5.6) with the fixes of DESIGN §3. Invalid values raise
`ConfigError` with one line naming the field, the problem and the value given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evolab.errors import ConfigError, PresetNotFound

NeuralMode = Literal["off", "hybrid", "pure"]
PelletMode = Literal["shared", "per_creature"]
SensorFrame = Literal["world", "body", "motion"]
Activation = Literal["tanh", "relu", "sigmoid"]
Selection = Literal["rank", "tournament"]
CrossoverMethod = Literal["blend", "uniform"]


def describe_validation_error(err: ValidationError) -> str:
    """One line for the first problem pydantic found: `field.path: message (got value)`."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    inner = first.get("ctx", {}).get("error")
    if isinstance(inner, ConfigError):  # a nested model already described its own problem
        return f"{where}.{inner}" if where else str(inner)
    message = first["msg"]
    if first["type"] == "value_error":  # our own validators: the message already names fields and values
        message = message.removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    where = where or "config"
    if first["type"] in ("missing", "extra_forbidden"):
        return f"{where}: {message.lower()}"
    return f"{where}: {message.lower()} (got {first.get('input')!r})"


class _Config(BaseModel):
    """Frozen, strict-keyed pydantic base whose validation failures surface as `ConfigError`."""

    # a configuration the API sends always has every field: its schema says so (the web's types follow)
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_default=True,
        strict=True,
        json_schema_serialization_defaults_required=True,
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise ConfigError(describe_validation_error(err)) from None

    def replace(self, **changes: Any) -> Self:
        """A validated copy with some fields changed; a dict for a nested model changes only its keys."""
        plain = {key: value.model_dump() if isinstance(value, BaseModel) else value for key, value in changes.items()}
        return type(self)(**_merge(self.model_dump(), plain))


class GenomeConstraints(_Config):
    """Bounds every genome of a run must satisfy (reference §1.5)."""

    min_nodes: int = Field(2, ge=2, le=32)
    max_nodes: int = Field(8, ge=2, le=32)
    min_muscles: int = Field(1, ge=1, le=128)
    max_muscles: int = Field(15, ge=1, le=128)
    min_size: float = Field(0.2, gt=0.0, le=2.0)
    max_size: float = Field(0.8, gt=0.0, le=2.0)
    min_stiffness: float = Field(50.0, gt=0.0, le=5000.0)
    max_stiffness: float = Field(500.0, gt=0.0, le=5000.0)
    min_frequency: float = Field(0.5, gt=0.0, le=20.0)
    max_frequency: float = Field(3.0, gt=0.0, le=20.0)
    max_amplitude: float = Field(0.4, ge=0.05, le=0.4)
    spawn_radius: float = Field(2.0, ge=0.5, le=10.0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for low, high in (
            ("min_nodes", "max_nodes"),
            ("min_muscles", "max_muscles"),
            ("min_size", "max_size"),
            ("min_stiffness", "max_stiffness"),
            ("min_frequency", "max_frequency"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} ({getattr(self, low)}) is greater than {high} ({getattr(self, high)})")
        if self.max_muscles < self.min_nodes - 1:
            raise ValueError(f"max_muscles ({self.max_muscles}) cannot connect min_nodes ({self.min_nodes}) nodes")
        if self.min_muscles > self.max_nodes * (self.max_nodes - 1) // 2:
            raise ValueError(f"min_muscles ({self.min_muscles}) exceeds the pairs of max_nodes ({self.max_nodes})")
        return self

    @property
    def effective_max_nodes(self) -> int:
        """Largest node count that can still be connected: a tree on N nodes needs N - 1 muscles."""
        return min(self.max_nodes, self.max_muscles + 1)


class FitnessWeights(_Config):
    """Weights of the fitness terms (reference §4.1); they drive selection (DESIGN §3)."""

    pellet: float = Field(100.0, ge=0.0, le=1e6)
    progress: float = Field(80.0, ge=0.0, le=1e6)
    regression: float = Field(20.0, ge=0.0, le=1e6)
    movement: float = Field(25.0, ge=0.0, le=1e6)
    movement_reference_speed: float = Field(1.0, gt=0.0, le=1e3)


class SimConfig(_Config):
    """Physics, pellets, fitness and controller settings of one simulation (DESIGN §4)."""

    duration: float = Field(10.0, gt=0.0, le=600.0)
    gravity: float = Field(-9.8, ge=-100.0, le=0.0)
    ground_friction: float = Field(0.5, ge=0.0, le=10.0)
    arena_size: float = Field(10.0, gt=0.0, le=1000.0)
    substeps: int = Field(2, ge=1, le=64)
    self_collision: bool = True
    max_allowed_frequency: float = Field(3.0, gt=0.0, le=100.0)
    pellet_mode: PelletMode = "shared"
    neural_mode: NeuralMode = "off"
    sensor_frame: SensorFrame = "world"
    """How a creature senses the pellet and its own motion: "world" x, y, z (the original's); "body": x
    forward along its heading (node 0 to node 1 in the ground plane), z to its right, y up, so the same
    genes steer it whichever way it faces; "motion": the same with x along the way it moves (the body's
    heading while it barely moves), so the pellet's direction says how far off course it is."""
    fitness: FitnessWeights = FitnessWeights()

    @property
    def n_steps(self) -> int:
        """Control steps of 1/60 s in one simulation."""
        return int(-(-round(self.duration * 60.0 * 1e6) // 1_000_000))

    @property
    def n_frames(self) -> int:
        """Recorded frames: floor(15 * duration) + 1, frame 0 being the spawn state (DESIGN §5)."""
        return int(round(self.duration * 15.0 * 1e6) // 1_000_000) + 1


class FramePolicy(_Config):
    """Which creatures of a generation keep their recorded frames in storage (DESIGN §7)."""

    keep_top: int = Field(10, ge=0)
    keep_random: int = Field(10, ge=0)
    keep_bottom: int = Field(5, ge=0)
    enabled: bool = True


class BenchmarkPolicy(_Config):
    """The held-out benchmark, a run's validation score: a fixed set of pellet layouts derived from the
    run's seed and never used for selection, on which the `top` best creatures of every `every`-th
    generation are scored (mean over the layouts). The run's champion is the best creature so scored.

    One creature a generation by default: in benchmarks/efficacy.py scoring the top 3 picked champions as
    good (4.06 pellets on test layouts either way, median of 3 seeds) and made runs a fifth slower."""

    layouts: int = Field(16, ge=1, le=256)
    top: int = Field(1, ge=1, le=100)
    every: int = Field(1, ge=1, le=100_000)
    enabled: bool = True


class RefinePolicy(_Config):
    """Lamarckian refinement (off by default): every `every`-th generation, the `elites` best of the next
    generation are refined by `steps` gradient steps through the torch physics (`evolab.runner.refine`),
    judged on the pellet layouts that generation is evaluated on (never on the held-out benchmark), and
    replaced by their refined child when it scores better there. Needs the torch extra.

    Measured here it seldom finds a better genome (README, "Physics backends"): an option to experiment
    with, not a default."""

    enabled: bool = False
    elites: int = Field(1, ge=1, le=100)
    steps: int = Field(3, ge=1, le=1000)
    learning_rate: float = Field(0.003, gt=0.0, le=1.0)
    window: int = Field(60, ge=1, le=100_000)
    every: int = Field(1, ge=1, le=100_000)


class EvolutionConfig(_Config):
    """Everything a run needs: GA settings, genome constraints, simulation and storage policy."""

    population_size: int = Field(100, ge=1, le=100_000)
    elite_count: int = Field(5, ge=0)
    cull_fraction: float = Field(0.5, ge=0.0, lt=1.0)
    crossover_rate: float = Field(0.3, ge=0.0, le=1.0)
    mutation_rate: float = Field(0.1, ge=0.0, le=1.0)
    mutation_magnitude: float = Field(0.3, ge=0.0, le=1.0)
    structural_rate: float = Field(0.1, ge=0.0, le=1.0)
    weight_mutation_rate: float = Field(0.1, ge=0.0, le=1.0)
    weight_mutation_magnitude: float = Field(0.3, ge=0.0, le=5.0)
    use_crossover: bool = True
    use_mutation: bool = True
    selection: Selection = "rank"
    tournament_size: int = Field(3, ge=1, le=100)
    crossover_method: CrossoverMethod = "blend"
    neural_hidden_size: int = Field(8, ge=1, le=64)
    neural_activation: Activation = "tanh"
    constraints: GenomeConstraints = GenomeConstraints()
    sim: SimConfig = SimConfig()
    frames: FramePolicy = FramePolicy()
    checkpoint_every: int = Field(1, ge=1)
    trials: int = Field(4, ge=1, le=64)
    """Pellet layouts every creature is evaluated on per generation (the same ones for all: common random
    numbers); its fitness is the mean over them."""
    benchmark: BenchmarkPolicy = BenchmarkPolicy()
    refine: RefinePolicy = RefinePolicy()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.elite_count > self.population_size:
            raise ValueError(f"elite_count ({self.elite_count}) exceeds population_size ({self.population_size})")
        if self.constraints.max_frequency > self.sim.max_allowed_frequency:
            raise ValueError(
                f"constraints.max_frequency ({self.constraints.max_frequency}) exceeds "
                f"sim.max_allowed_frequency ({self.sim.max_allowed_frequency})"
            )
        return self

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> EvolutionConfig:
        """Load a shipped preset (`quick`, `default`, `overnight`, `neural-hybrid`, `neural-pure`, `original`).

        Raises:
            ConfigError: unknown preset name or invalid values.
        """
        if name not in preset_names():
            raise PresetNotFound(f"unknown preset {name!r} (choose from {', '.join(preset_names())})")
        text = resources.files("evolab.presets").joinpath(f"{name}.toml").read_text()
        return cls.from_mapping(_merge(tomllib.loads(text), overrides), source=f"preset {name!r}")

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> EvolutionConfig:
        """Load a configuration file; keys it leaves out keep their defaults.

        Raises:
            ConfigError: the file is missing, not TOML, or holds invalid values.
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except OSError as err:
            raise ConfigError(f"{path}: cannot read ({err.strerror})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: not valid TOML ({err})") from None
        return cls.from_mapping(_merge(data, overrides), source=str(path))

    @classmethod
    def from_mapping(cls, data: dict[str, Any], source: str = "config") -> EvolutionConfig:
        """Validate a plain mapping (from TOML or JSON); errors name `source`."""
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ConfigError(f"{source}: {describe_validation_error(err)}") from None


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `overrides` into a copy of `base` (nested tables merge key by key)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def preset_names() -> list[str]:
    """Names of the presets shipped with evolab, sorted."""
    files = resources.files("evolab.presets").iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def preset_description(name: str) -> str:
    """The first comment line of a shipped preset file ("" when it has none).

    Raises:
        ConfigError: unknown preset name.
    """
    if name not in preset_names():
        raise PresetNotFound(f"unknown preset {name!r} (choose from {', '.join(preset_names())})")
    text = resources.files("evolab.presets").joinpath(f"{name}.toml").read_text()
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


def resolve_preset(name: str, saved: Mapping[str, EvolutionConfig], overrides: Mapping[str, Any]) -> EvolutionConfig:
    """A shipped preset, or else one of the `saved` ones (a database's), with `overrides` applied.

    Raises:
        ConfigError: no shipped or saved preset has this name, or an override is invalid.
    """
    if name in preset_names():
        return EvolutionConfig.from_preset(name, **overrides)
    if name not in saved:
        raise PresetNotFound(f"unknown preset {name!r} (choose from {', '.join([*preset_names(), *saved])})")
    return saved[name].replace(**overrides)
