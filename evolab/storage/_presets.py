"""The `presets` table: configurations a user saved by name, with the settings version they were saved in.

Helpers take the cursor of the caller's transaction and never commit.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import time

from evolab.config import EvolutionConfig
from evolab.errors import EvolabError, InvalidInput, InvalidStoredSettings, PresetNotFound
from evolab.storage.settings import SETTINGS_VERSION, upgrade_settings


def save_preset(cur: sqlite3.Cursor, name: str, config: EvolutionConfig) -> None:
    if not name.strip():
        raise InvalidInput("a preset name cannot be empty")
    cur.execute(
        "INSERT OR REPLACE INTO presets (name, config, created_at, settings_version) VALUES (?, ?, ?, ?)",
        (name.strip(), config.model_dump_json(), time.time(), SETTINGS_VERSION),
    )


def presets(cur: sqlite3.Cursor) -> dict[str, EvolutionConfig]:
    """Every saved preset, upgraded to today's settings.

    Raises:
        InvalidStoredSettings: a preset does not validate even after upgrading (it names the preset and
            how to remove it).
    """
    out = {}
    for name, text, version in cur.execute("SELECT name, config, settings_version FROM presets ORDER BY name"):
        try:
            out[name] = EvolutionConfig.from_mapping(upgrade_settings(json.loads(text), version), source="settings")
        except (ValueError, EvolabError) as err:
            raise InvalidStoredSettings(
                f"saved preset {name!r} is invalid ({err})", hint=f"evolab presets delete {shlex.quote(name)}"
            ) from None
    return out


def delete_preset(cur: sqlite3.Cursor, name: str) -> None:
    if cur.execute("DELETE FROM presets WHERE name = ?", (name,)).rowcount == 0:
        raise PresetNotFound(f"unknown preset {name!r}")
