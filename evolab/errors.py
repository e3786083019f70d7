"""The exceptions evolab raises for bad input: each message says what is wrong and where."""

from __future__ import annotations


class EvolabError(Exception):
    """Base class of every error evolab raises on purpose."""


class GenomeError(EvolabError, ValueError):
    """A genome is malformed or breaks its constraints (names the field and the value)."""


class ConfigError(EvolabError, ValueError):
    """A configuration value, preset or config file is invalid."""


class StorageError(EvolabError):
    """The database cannot be read or written as asked."""
