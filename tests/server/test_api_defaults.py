"""GET /api/defaults: the configuration a run gets when nothing is overridden, and the values each numeric
setting accepts (the menu reads both instead of keeping copies)."""

from __future__ import annotations

from typing import Any

import pytest

from evolab.config import EvolutionConfig
from evolab.errors import ConfigError
from tests.server.shared import TestClient


@pytest.fixture
def served(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/defaults")
    assert response.status_code == 200, response.text
    return response.json()


def at(config: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        config = config[key]
    return config


def nested(path: str, value: Any) -> dict[str, Any]:
    """`{"sim": {"gravity": value}}` for "sim.gravity"."""
    head, _, rest = path.partition(".")
    return {head: nested(rest, value) if rest else value}


def numeric_paths(config: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, value in config.items():
        if isinstance(value, dict):
            paths |= numeric_paths(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            paths.add(f"{prefix}{key}")
    return paths


def test_the_defaults_are_the_default_preset_that_a_run_without_one_gets(client: TestClient, served: dict) -> None:
    created = client.post("/api/runs", json={}).json()

    assert served["preset"] == "default"
    assert served["config"] == EvolutionConfig.from_preset("default").model_dump(mode="json")
    assert created["config"] == served["config"]


def test_every_numeric_setting_has_a_range_and_its_default_lies_in_it(served: dict) -> None:
    ranges = served["ranges"]

    assert set(ranges) == numeric_paths(served["config"])
    for path, bounds in ranges.items():
        value = at(served["config"], path)
        assert bounds["type"] == ("integer" if isinstance(value, int) else "number"), path
        assert bounds["minimum"] is None or value >= bounds["minimum"], path
        assert bounds["exclusive_minimum"] is None or value > bounds["exclusive_minimum"], path
        assert bounds["maximum"] is None or value <= bounds["maximum"], path
        assert bounds["exclusive_maximum"] is None or value < bounds["exclusive_maximum"], path


def test_the_ranges_are_the_configurations_own_limits(served: dict) -> None:
    ranges = served["ranges"]

    assert ranges["sim.gravity"] == {
        "type": "number",
        "minimum": -100.0,
        "exclusive_minimum": None,
        "maximum": 0.0,
        "exclusive_maximum": None,
    }
    assert (ranges["population_size"]["minimum"], ranges["population_size"]["maximum"]) == (1, 100_000)
    assert ranges["constraints.max_size"]["exclusive_minimum"] == 0
    assert ranges["cull_fraction"]["exclusive_maximum"] == 1


def test_a_value_just_past_any_served_bound_is_refused(served: dict) -> None:
    for path, bounds in served["ranges"].items():
        step = 1 if bounds["type"] == "integer" else 1e-6
        outside = [
            bounds["minimum"] - step if bounds["minimum"] is not None else None,
            bounds["exclusive_minimum"],
            bounds["maximum"] + step if bounds["maximum"] is not None else None,
            bounds["exclusive_maximum"],
        ]
        for value in (v for v in outside if v is not None):
            value = int(value) if bounds["type"] == "integer" else float(value)
            with pytest.raises(ConfigError):
                EvolutionConfig.from_preset("default", **nested(path, value))
