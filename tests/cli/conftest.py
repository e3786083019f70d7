"""Fixtures for driving the real `evolab` command."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from evolab.cli.app import app


class Cli:
    """Invoke `evolab ARGS...` in-process; returns click's Result (exit_code, stdout, stderr)."""

    def __init__(self) -> None:
        self._runner = CliRunner()

    def __call__(self, *args: str):
        return self._runner.invoke(app, list(args))


@pytest.fixture
def cli() -> Cli:
    return Cli()
