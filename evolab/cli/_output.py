"""Console plumbing shared by the commands: data to stdout, messages to stderr, exit codes (STYLE §7)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from evolab.errors import EXIT_BAD_INPUT, EXIT_FAILED  # noqa: F401 (the commands' exit codes, re-exported)

EXIT_OK = 0

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = EXIT_BAD_INPUT, hint: str | None = None) -> NoReturn:
    """Print `error: message` (and `hint: ...`) to stderr and exit with `code`."""
    stderr.print(f"[bold red]error[/]: {message}", highlight=False, markup=True)
    if hint:
        stderr.print(f"\n[bold]hint[/]: {hint}", highlight=False)
    raise typer.Exit(code)


def fail_on(err: Exception, *, prefix: str | None = None) -> NoReturn:
    """Exit with `err`'s message (after `prefix: `), the exit code and hint evolab's errors carry (2 for
    any other error: it came from the input)."""
    message = f"{prefix}: {err}" if prefix else str(err)
    fail(message, getattr(err, "exit_code", EXIT_BAD_INPUT), hint=getattr(err, "hint", None))


def print_json(document: Any) -> None:
    """One JSON document on stdout: stable keys, no colour."""
    typer.echo(json.dumps(document, indent=2, sort_keys=False))


def read_json(path: Path) -> Any:
    """The JSON document in `path` ("-" for standard input), or exit 2 with one line saying why not."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as err:
        fail(f"{path}: cannot read ({err.strerror})")
    except UnicodeDecodeError:
        fail(f"{path}: not a text file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        fail(f"{path}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})")
