"""The exceptions evolab raises for bad input or unusable data: each message says what is wrong and where.

Every kind carries what the edges do with it, as Click's exceptions carry their `exit_code`: the exit
code the CLI ends with (`exit_code`: 2 for input the user can correct, 1 for data or a database that
cannot be used) and the status the web API answers with (`http_status`). Nothing is ever classified by
its message. An instance may carry a `hint`: the next thing to try.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2


class EvolabError(Exception):
    """Base class of every error evolab raises on purpose."""

    exit_code: ClassVar[int] = EXIT_FAILED
    http_status: ClassVar[int] = 409

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class InvalidInput(EvolabError, ValueError):
    """A value given to evolab is not acceptable (a name, a number, an id)."""

    exit_code = EXIT_BAD_INPUT
    http_status = 422


class GenomeError(InvalidInput):
    """A genome is malformed or breaks its constraints (names the field and the value)."""


class AlreadyImported(InvalidInput):
    """The record being imported was imported into this database already (nothing was written)."""

    http_status = 409


class ConfigError(InvalidInput):
    """A configuration value, preset or config file is invalid."""


class StorageError(EvolabError):
    """The database cannot be read or written as asked."""


class NotFound(StorageError, LookupError):
    """Something asked for by name or number is not in the database."""

    exit_code = EXIT_BAD_INPUT
    http_status = 404


class RunNotFound(NotFound):
    """No run has this id."""


class CreatureNotFound(NotFound):
    """The run holds no creature with this id (or not in the generation asked for)."""


class GenerationNotStored(NotFound):
    """The run has not stored this generation (or has nothing stored yet)."""


class PresetNotFound(NotFound, ConfigError):
    """No shipped or saved preset has this name."""


class NotAnEvolabDatabase(StorageError):
    """The file is not an evolab database (another SQLite database, another kind of file, a folder)."""

    exit_code = EXIT_BAD_INPUT


class InvalidDatabasePath(StorageError):
    """The path cannot hold a database: a folder, or a file in a folder that does not exist."""

    exit_code = EXIT_BAD_INPUT


class SchemaTooNew(StorageError):
    """The database was written by a newer evolab."""

    exit_code = EXIT_BAD_INPUT


class RunBusy(StorageError):
    """Another process is writing this run."""


class CorruptData(StorageError):
    """Stored data cannot be decoded (a damaged file, or one edited by hand)."""

    http_status = 500


class InvalidStoredSettings(StorageError):
    """A stored run's or saved preset's settings no longer validate, even after upgrading them."""


class DatabaseUnavailable(StorageError):
    """The database cannot be opened, read or written right now (locked, full disk, no permission):
    nothing was changed."""

    http_status = 503


class BackendUnavailable(ConfigError):
    """The physics backend asked for cannot run here (no usable GPU, or its extra is not installed).

    To the API a conflict with the server as it is (409), not a malformed value: the same request is
    valid on a server with a GPU."""

    http_status = 409


class BackendMismatch(InvalidInput):
    """A run would continue on another physics backend than the one it was evolved on (results are
    bit-exact per backend only)."""

    http_status = 409


class ClusterLost(EvolabError):
    """The Dask cluster evaluating a run went away (or stopped answering) during a generation: nothing of
    that generation was stored, and the run resumes where it stopped."""

    http_status = 503
