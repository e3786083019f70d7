"""Versioned settings: stored configurations of an older shape are upgraded on read, step by step."""

from __future__ import annotations

import pytest

from evolab import EvolutionConfig
from evolab.errors import InvalidStoredSettings
from evolab.storage.settings import SETTINGS_VERSION, upgrade_settings


def test_todays_settings_pass_unchanged() -> None:
    config = EvolutionConfig.from_preset("default").model_dump(mode="json")
    assert upgrade_settings(config, SETTINGS_VERSION) == config


def test_settings_before_trials_keep_the_one_trial_and_no_benchmark_they_ran_with() -> None:
    old = EvolutionConfig.from_preset("quick").model_dump(mode="json")
    del old["trials"], old["benchmark"]
    upgraded = EvolutionConfig.from_mapping(upgrade_settings(old, 1))
    assert upgraded.trials == 1
    assert not upgraded.benchmark.enabled
    assert upgraded.population_size == old["population_size"]


@pytest.mark.parametrize("version", [0, SETTINGS_VERSION + 1])
def test_a_settings_version_this_evolab_does_not_know_is_refused(version: int) -> None:
    with pytest.raises(InvalidStoredSettings, match=f"settings version {version} is not one this evolab reads"):
        upgrade_settings({}, version)
