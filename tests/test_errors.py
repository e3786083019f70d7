"""Each kind of evolab error carries what the edges do with it: the CLI's exit code, the API's status."""

from __future__ import annotations

import pytest

from evolab import errors


@pytest.mark.parametrize(
    ("kind", "exit_code", "http_status"),
    [
        (errors.ConfigError, 2, 422),
        (errors.GenomeError, 2, 422),
        (errors.InvalidInput, 2, 422),
        (errors.RunNotFound, 2, 404),
        (errors.CreatureNotFound, 2, 404),
        (errors.GenerationNotStored, 2, 404),
        (errors.PresetNotFound, 2, 404),
        (errors.NotAnEvolabDatabase, 2, 409),
        (errors.InvalidDatabasePath, 2, 409),
        (errors.SchemaTooNew, 2, 409),
        (errors.RunBusy, 1, 409),
        (errors.InvalidStoredSettings, 1, 409),
        (errors.CorruptData, 1, 500),
        (errors.DatabaseUnavailable, 1, 503),
        (errors.StorageError, 1, 409),
        (errors.BackendUnavailable, 2, 409),
        (errors.BackendMismatch, 2, 409),
        (errors.ClusterLost, 1, 503),
    ],
)
def test_every_kind_of_error_carries_its_exit_code_and_http_status(kind, exit_code, http_status) -> None:
    err = kind("what went wrong", hint="what to try")
    assert (err.exit_code, err.http_status) == (exit_code, http_status)
    assert (str(err), err.hint) == ("what went wrong", "what to try")
    assert isinstance(err, errors.EvolabError)


def test_lookups_are_storage_errors_and_lookup_errors_and_an_unknown_preset_is_also_a_config_error() -> None:
    assert issubclass(errors.RunNotFound, errors.StorageError)
    assert issubclass(errors.RunNotFound, LookupError)
    assert issubclass(errors.PresetNotFound, errors.ConfigError)
    assert issubclass(errors.ConfigError, ValueError)
