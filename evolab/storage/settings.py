"""Versioned settings: the shape of a stored configuration, and the steps that bring older shapes to today's.

A run's configuration and a saved preset are stored as JSON with the settings version they were written
in. The live models (`evolab.config`) are strict, so a renamed or removed field would make every stored
configuration unreadable; instead, each change of shape adds one upgrade step here, and stored JSON is
upgraded on read (never rewritten in place). Each step is a frozen function of plain JSON: it must not use
the live models, which keep changing. Never edit a released step: add the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evolab.errors import InvalidStoredSettings


def _v1_before_trials(config: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no trials and no benchmark: its runs evaluated each creature on one layout and
    scored no benchmark, so that is what an upgraded version-1 configuration says."""
    if "trials" in config:  # written by a version-2 evolab under version 1's number: already upgraded
        return config
    return {**config, "trials": 1, "benchmark": {**config.get("benchmark", {}), "enabled": False}}


UPGRADES: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (_v1_before_trials,)
"""UPGRADES[k - 1] takes settings of version k to version k + 1."""
SETTINGS_VERSION = len(UPGRADES) + 1
"""The settings version this evolab writes."""


def upgrade_settings(config: dict[str, Any], version: int) -> dict[str, Any]:
    """Stored configuration JSON of settings `version`, in today's shape.

    Raises:
        InvalidStoredSettings: written by a newer evolab (or an unknown version).
    """
    if not 1 <= version <= SETTINGS_VERSION:
        raise InvalidStoredSettings(
            f"settings version {version} is not one this evolab reads (1 to {SETTINGS_VERSION}); upgrade evolab"
        )
    for step in UPGRADES[version - 1 :]:
        config = step(config)
    return config
