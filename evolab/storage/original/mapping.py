"""The original app's run configuration (its `SimulationConfig`, reference §1.5, §5.6) as evolab settings.

Each key the app stored either maps to an evolab setting or is kept, unapplied, in the run's origin
settings (`RunOrigin.settings["unmapped"]`) and named in the import's one warning line. Settings the app
never stored take what the app used (`evolab/presets/original.toml`: its genome limits, one pellet layout
a generation, no held-out benchmark) so a continued run goes on as the app would have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evolab.config import EvolutionConfig
from evolab.errors import ConfigError
from evolab.storage.original.dump import DumpError

# original key -> evolab setting (dotted path); every value is taken as it was stored
_DIRECT = {
    "gravity": "sim.gravity",
    "groundFriction": "sim.ground_friction",
    "simulationDuration": "sim.duration",
    "arenaSize": "sim.arena_size",
    "populationSize": "population_size",
    "eliteCount": "elite_count",
    "cullPercentage": "cull_fraction",
    "crossoverRate": "crossover_rate",
    "mutationRate": "mutation_rate",
    "mutationMagnitude": "mutation_magnitude",
    "useMutation": "use_mutation",
    "useCrossover": "use_crossover",
    "maxNodes": "constraints.max_nodes",
    "maxMuscles": "constraints.max_muscles",
    "neuralHiddenSize": "neural_hidden_size",
    "neuralActivation": "neural_activation",
    "weightMutationRate": "weight_mutation_rate",
    "weightMutationMagnitude": "weight_mutation_magnitude",
}
_HANDLED = {"maxAllowedFrequency", "useNeuralNet", "neuralMode", "timeStep"}
_CONTROL_STEP = 1 / 60
_INTEGERS = {"populationSize", "eliteCount", "maxNodes", "maxMuscles", "neuralHiddenSize"}


@dataclass(frozen=True, slots=True, eq=False)
class MappedConfig:
    """A run's configuration in evolab's terms, and the original keys it could not apply."""

    config: EvolutionConfig
    unmapped: dict[str, Any]
    """Original keys with no evolab counterpart (or unused by the app itself), with their values: the
    fitness-weight sliders (they only drew replay curves: selection used the fixed weights evolab's
    fitness keeps), `pelletCount` and `minNodes` (the app ignored both), a `timeStep` other than 1/60 s,
    and any key this evolab does not know."""


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[leaf] = value


def map_config(original: dict[str, Any], where: str) -> MappedConfig:
    """Map one run record's `config` (named `where` in errors) to evolab settings.

    Raises:
        DumpError: a value of the wrong type, or one evolab's settings refuse, naming the original key.
    """
    settings: dict[str, Any] = {}
    unmapped: dict[str, Any] = {}
    for key, value in original.items():
        if key in _DIRECT:
            if key in _INTEGERS and isinstance(value, float) and value.is_integer():
                value = int(value)  # JSON numbers: the app's sliders store 100 and 100.0 alike
            if _DIRECT[key].split(".")[-1] in ("gravity", "ground_friction", "duration", "arena_size") or key in (
                "cullPercentage", "crossoverRate", "mutationRate", "mutationMagnitude", "weightMutationRate",
                "weightMutationMagnitude",
            ):  # fmt: skip
                value = _float(value, f"{where}.{key}")
            _set(settings, _DIRECT[key], value)
        elif key not in _HANDLED:
            unmapped[key] = value
    if "maxAllowedFrequency" in original:
        limit = _float(original["maxAllowedFrequency"], f"{where}.maxAllowedFrequency")
        _set(settings, "sim.max_allowed_frequency", limit)
        _set(settings, "constraints.max_frequency", limit)  # the app's genes draw up to the limit (§1.5)
    neural = original.get("useNeuralNet", False)
    if not isinstance(neural, bool):
        raise DumpError(f"{where}.useNeuralNet: expected true or false (got {neural!r})")
    mode = original.get("neuralMode", "hybrid")
    _set(settings, "sim.neural_mode", mode if neural else "off")
    step = original.get("timeStep", _CONTROL_STEP)
    if not isinstance(step, int | float) or not math.isclose(step, _CONTROL_STEP, rel_tol=1e-9):
        unmapped["timeStep"] = step  # evolab's control step is fixed at 1/60 s (DESIGN §4)
    # the original's frames are kept as stored; continued generations keep evolab's default policy
    _set(settings, "benchmark.enabled", False)
    try:
        config = EvolutionConfig.from_preset("original", **settings)
    except ConfigError as err:
        raise DumpError(f"{where}: {_original_names(str(err))}") from None
    return MappedConfig(config, unmapped)


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DumpError(f"{where}: expected a number (got {value!r})")
    return float(value)


def _original_names(message: str) -> str:
    """A settings error with the original key beside evolab's name, so the user can find it in the dump."""
    message = message.removeprefix("preset 'original': ")
    for key, setting in _DIRECT.items():
        if message.startswith(f"{setting}:"):
            return f"{key} ({setting}){message[len(setting) :]}"
    return message
