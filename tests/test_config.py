"""evolab.config: defaults, presets, files and one-line errors naming the field (DESIGN §5, reference §1.5, §5.6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from evolab import ConfigError, EvolutionConfig, FitnessWeights, FramePolicy, GenomeConstraints, SimConfig
from evolab.config import preset_names

PRESETS = ["default", "neural-hybrid", "neural-pure", "original", "overnight", "quick"]


def assert_one_line(err: pytest.ExceptionInfo[ConfigError], *fragments: str) -> None:
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


# -- defaults ------------------------------------------------------------------------------------------------------


def test_genome_constraints_default_to_the_reference_set() -> None:
    c = GenomeConstraints()

    assert (c.min_nodes, c.max_nodes, c.min_muscles, c.max_muscles) == (2, 8, 1, 15)
    assert (c.min_size, c.max_size) == (0.2, 0.8)
    assert (c.min_stiffness, c.max_stiffness) == (50.0, 500.0)
    assert (c.min_frequency, c.max_frequency) == (0.5, 3.0)
    assert (c.max_amplitude, c.spawn_radius) == (0.4, 2.0)


@pytest.mark.parametrize(("max_nodes", "max_muscles", "expected"), [(8, 15, 8), (8, 4, 5), (3, 2, 3), (2, 1, 2)])
def test_effective_max_nodes_is_what_max_muscles_can_connect(max_nodes: int, max_muscles: int, expected: int) -> None:
    assert GenomeConstraints(max_nodes=max_nodes, max_muscles=max_muscles).effective_max_nodes == expected


def test_fitness_weights_default_to_design_values() -> None:
    w = FitnessWeights()

    assert (w.pellet, w.progress, w.regression, w.movement, w.movement_reference_speed) == (100, 80, 20, 25, 1.0)


def test_sim_config_defaults_to_the_original_app() -> None:
    s = SimConfig()

    assert (s.duration, s.gravity, s.ground_friction, s.arena_size) == (10.0, -9.8, 0.5, 10.0)
    assert s.max_allowed_frequency == 3.0
    assert (s.pellet_mode, s.neural_mode) == ("shared", "off")
    assert s.fitness == FitnessWeights()
    assert s.substeps >= 1


def test_evolution_config_defaults_to_the_original_ga_settings() -> None:
    cfg = EvolutionConfig()

    assert (cfg.population_size, cfg.elite_count, cfg.cull_fraction) == (100, 5, 0.5)
    assert (cfg.crossover_rate, cfg.mutation_rate, cfg.mutation_magnitude, cfg.structural_rate) == (0.3, 0.1, 0.3, 0.1)
    assert (cfg.weight_mutation_rate, cfg.weight_mutation_magnitude) == (0.1, 0.3)
    assert (cfg.use_crossover, cfg.use_mutation) == (True, True)
    assert (cfg.neural_hidden_size, cfg.neural_activation) == (8, "tanh")
    assert cfg.constraints == GenomeConstraints()
    assert cfg.sim == SimConfig()
    assert isinstance(cfg.frames, FramePolicy)
    assert cfg.checkpoint_every >= 1


def test_configs_are_frozen() -> None:
    cfg = EvolutionConfig()

    with pytest.raises(ValidationError):
        cfg.population_size = 3  # type: ignore[misc]


# -- control steps and frames --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "steps", "frames"),
    [(10.0, 600, 151), (0.5, 30, 8), (20.0, 1200, 301), (8.0, 480, 121), (1 / 15, 4, 2), (0.1, 6, 2)],
)
def test_steps_are_60_per_second_and_frames_15_per_second_plus_the_spawn_frame(
    duration: float, steps: int, frames: int
) -> None:
    sim = SimConfig(duration=duration)

    assert (sim.n_steps, sim.n_frames) == (steps, frames)


# -- presets -------------------------------------------------------------------------------------------------------


def test_the_shipped_presets_are_the_documented_five() -> None:
    assert preset_names() == PRESETS


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_and_is_consistent(name: str) -> None:
    cfg = EvolutionConfig.from_preset(name)

    assert isinstance(cfg, EvolutionConfig)
    assert cfg.elite_count <= cfg.population_size
    assert cfg.constraints.max_frequency <= cfg.sim.max_allowed_frequency


def test_the_default_preset_is_the_default_config_with_larger_nodes() -> None:
    # the configuration's defaults are the original app's; the study (benchmarks/efficacy.py) chose larger nodes
    assert EvolutionConfig.from_preset("default") == EvolutionConfig(constraints={"max_size": 1.5})


def test_the_original_preset_is_the_original_apps_evaluation() -> None:
    cfg = EvolutionConfig.from_preset("original")

    assert (cfg.trials, cfg.constraints) == (1, EvolutionConfig().constraints)
    assert cfg.replace(trials=4) == EvolutionConfig()


@pytest.mark.parametrize("name", [n for n in preset_names() if n != "original"])
def test_presets_judge_each_creature_on_several_pellet_layouts(name: str) -> None:
    assert EvolutionConfig.from_preset(name).trials >= 4


@pytest.mark.parametrize(
    ("name", "neural_mode"),
    [("default", "off"), ("quick", "off"), ("neural-hybrid", "hybrid"), ("neural-pure", "pure")],
)
def test_presets_set_their_neural_mode(name: str, neural_mode: str) -> None:
    assert EvolutionConfig.from_preset(name).sim.neural_mode == neural_mode


def test_the_quick_preset_is_small_and_short() -> None:
    cfg = EvolutionConfig.from_preset("quick")

    assert (cfg.population_size, cfg.sim.duration) == (30, 5.0)


def test_the_overnight_preset_is_long_on_many_layouts() -> None:
    cfg = EvolutionConfig.from_preset("overnight")

    assert (cfg.population_size, cfg.sim.duration, cfg.trials) == (200, 20.0, 6)


def test_preset_overrides_merge_into_nested_tables() -> None:
    cfg = EvolutionConfig.from_preset("neural-hybrid", population_size=10, sim={"duration": 2.0})

    assert cfg.population_size == 10
    assert cfg.sim.duration == 2.0
    assert cfg.sim.neural_mode == "hybrid"  # the preset's other sim keys survive the override


def test_an_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ConfigError) as err:
        EvolutionConfig.from_preset("turbo")

    assert_one_line(err, "'turbo'", *PRESETS)


def test_an_invalid_preset_override_names_the_preset_and_field() -> None:
    with pytest.raises(ConfigError) as err:
        EvolutionConfig.from_preset("quick", sim={"duration": -3})

    assert_one_line(err, "preset 'quick'", "sim.duration", "-3")


# -- invalid values ------------------------------------------------------------------------------------------------

INVALID = [
    pytest.param({"sim": {"duration": -1.0}}, ["sim.duration", "-1.0"], id="negative-duration"),
    pytest.param({"sim": {"duration": 0}}, ["sim.duration", "0"], id="zero-duration"),
    pytest.param({"constraints": {"min_nodes": 5, "max_nodes": 3}}, ["min_nodes", "5", "max_nodes", "3"], id="min>max"),
    pytest.param(
        {"constraints": {"min_frequency": 2.0, "max_frequency": 1.0}},
        ["min_frequency", "max_frequency"],
        id="freq-order",
    ),
    pytest.param({"constraints": {"min_size": 0.9}}, ["min_size", "0.9", "max_size"], id="size-order"),
    pytest.param(
        {"constraints": {"min_nodes": 6, "max_muscles": 3}}, ["max_muscles", "3", "min_nodes", "6"], id="unconnectable"
    ),
    pytest.param({"population_size_typo": 10}, ["population_size_typo", "extra"], id="unknown-key"),
    pytest.param({"sim": {"durration": 5.0}}, ["sim.durration", "extra"], id="unknown-nested-key"),
    pytest.param(
        {"elite_count": 20, "population_size": 10}, ["elite_count", "20", "population_size", "10"], id="elites"
    ),
    pytest.param(
        {"constraints": {"max_frequency": 5.0}},
        ["constraints.max_frequency", "5.0", "sim.max_allowed_frequency", "3.0"],
        id="frequency-above-limit",
    ),
    pytest.param({"population_size": "many"}, ["population_size", "'many'"], id="wrong-type-int"),
    pytest.param({"sim": {"duration": "long"}}, ["sim.duration", "'long'"], id="wrong-type-float"),
    pytest.param({"population_size": 2.5}, ["population_size", "2.5"], id="fractional-int"),
    pytest.param({"sim": "fast"}, ["sim", "'fast'"], id="wrong-type-table"),
    pytest.param({"sim": {"neural_mode": "full"}}, ["sim.neural_mode", "'full'"], id="bad-literal"),
    pytest.param({"neural_activation": "gelu"}, ["neural_activation", "'gelu'"], id="bad-activation"),
    pytest.param({"cull_fraction": 1.0}, ["cull_fraction", "1.0"], id="cull-all"),
    pytest.param({"mutation_rate": 1.5}, ["mutation_rate", "1.5"], id="rate-above-1"),
    pytest.param({"population_size": 0}, ["population_size", "0"], id="empty-population"),
    pytest.param({"sim": {"fitness": {"pellet": -1}}}, ["sim.fitness.pellet", "-1"], id="negative-weight"),
    pytest.param({"frames": {"keep_top": -1}}, ["frames.keep_top", "-1"], id="negative-frames"),
]


@pytest.mark.parametrize(("data", "fragments"), INVALID)
def test_invalid_values_raise_a_one_line_config_error_naming_the_field(
    data: dict[str, Any], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as err:
        EvolutionConfig(**data)

    assert_one_line(err, *fragments)


@pytest.mark.parametrize(("data", "fragments"), INVALID)
def test_invalid_mappings_name_their_source(data: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        EvolutionConfig.from_mapping(data, source="settings.json")

    assert_one_line(err, "settings.json: ", *fragments)


@pytest.mark.parametrize(
    ("model", "data", "fragments"),
    [
        (SimConfig, {"duration": -1.0}, ["duration", "-1.0"]),
        (SimConfig, {"substeps": 0}, ["substeps", "0"]),
        (GenomeConstraints, {"max_amplitude": 0.5}, ["max_amplitude", "0.5"]),
        (GenomeConstraints, {"min_muscles": 30, "max_nodes": 4, "max_muscles": 40}, ["min_muscles", "30", "max_nodes"]),
        (FitnessWeights, {"movement_reference_speed": 0.0}, ["movement_reference_speed", "0.0"]),
        (FramePolicy, {"keep": 3}, ["keep", "extra"]),
    ],
)
def test_each_config_model_validates_on_construction(model: type, data: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        model(**data)

    assert_one_line(err, *fragments)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="duration"):
        SimConfig(duration=-1.0)


# -- replace -------------------------------------------------------------------------------------------------------


def test_replace_returns_a_changed_copy_and_leaves_the_original() -> None:
    cfg = EvolutionConfig()

    changed = cfg.replace(population_size=20, mutation_rate=0.5)

    assert (changed.population_size, changed.mutation_rate) == (20, 0.5)
    assert (cfg.population_size, cfg.mutation_rate) == (100, 0.1)
    assert changed.sim == cfg.sim


def test_replace_accepts_a_nested_model() -> None:
    cfg = EvolutionConfig.from_preset("neural-hybrid")

    changed = cfg.replace(sim=cfg.sim.replace(duration=3.0))

    assert changed.sim.duration == 3.0
    assert changed.sim.neural_mode == "hybrid"


def test_replace_accepts_a_nested_dict() -> None:
    changed = EvolutionConfig().replace(constraints={"max_nodes": 5})

    assert changed.constraints.max_nodes == 5
    assert isinstance(changed.constraints, GenomeConstraints)


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"elite_count": 500}, ["elite_count", "500"]),
        ({"population_size": -5}, ["population_size", "-5"]),
        ({"no_such_field": 1}, ["no_such_field"]),
    ],
)
def test_replace_validates_the_result(changes: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        EvolutionConfig().replace(**changes)

    assert_one_line(err, *fragments)


def test_sim_config_replace_validates() -> None:
    with pytest.raises(ConfigError, match="duration"):
        SimConfig().replace(duration=-2.0)


# -- files ---------------------------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_from_toml_reads_a_file_and_keeps_defaults_for_missing_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'population_size = 40\nelite_count = 2\n\n[sim]\nduration = 6.5\nneural_mode = "pure"\n\n'
        "[constraints]\nmax_nodes = 6\n",
    )

    cfg = EvolutionConfig.from_toml(path)

    assert (cfg.population_size, cfg.elite_count) == (40, 2)
    assert (cfg.sim.duration, cfg.sim.neural_mode) == (6.5, "pure")
    assert cfg.constraints.max_nodes == 6
    assert cfg.sim.gravity == -9.8
    assert cfg.mutation_rate == 0.1


def test_from_toml_accepts_a_string_path_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "population_size = 40\n[sim]\nduration = 6.5\n")

    cfg = EvolutionConfig.from_toml(str(path), sim={"gravity": -5.0})

    assert (cfg.population_size, cfg.sim.duration, cfg.sim.gravity) == (40, 6.5, -5.0)


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    assert EvolutionConfig.from_toml(write(tmp_path, "")) == EvolutionConfig()


def test_a_missing_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"

    with pytest.raises(ConfigError) as err:
        EvolutionConfig.from_toml(path)

    assert_one_line(err, str(path), "cannot read")


def test_a_file_that_is_not_toml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "population_size = = 3\n[sim\n")

    with pytest.raises(ConfigError) as err:
        EvolutionConfig.from_toml(path)

    assert_one_line(err, str(path), "not valid TOML")


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00population")

    with pytest.raises(ConfigError, match="not valid TOML"):
        EvolutionConfig.from_toml(path)


def test_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        EvolutionConfig.from_toml(tmp_path)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[sim]\nduration = -4.0\n", ["sim.duration", "-4.0"]),
        ("population_size = 3\nelite_count = 4\n", ["elite_count", "4", "population_size", "3"]),
        ("colour = 'red'\n", ["colour"]),
        ("[constraints]\nmax_frequency = 4.0\n", ["constraints.max_frequency", "sim.max_allowed_frequency"]),
    ],
)
def test_invalid_values_in_a_file_name_the_file_and_field(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as err:
        EvolutionConfig.from_toml(path)

    assert_one_line(err, str(path), *fragments)
