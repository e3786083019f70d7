"""Console plumbing shared by the commands: data to stdout, messages to stderr, exit codes (STYLE §7)."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer
from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = EXIT_BAD_INPUT, hint: str | None = None) -> NoReturn:
    """Print `error: message` (and `hint: ...`) to stderr and exit with `code`."""
    stderr.print(f"[bold red]error[/]: {message}", highlight=False, markup=True)
    if hint:
        stderr.print(f"\n[bold]hint[/]: {hint}", highlight=False)
    raise typer.Exit(code)


def print_json(document: Any) -> None:
    """One JSON document on stdout: stable keys, no colour."""
    typer.echo(json.dumps(document, indent=2, sort_keys=False))
