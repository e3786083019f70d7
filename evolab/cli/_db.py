"""The `--db` option every storage command shares, and opening the store with clean errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evolab.cli._output import EXIT_BAD_INPUT, fail, fail_on

if TYPE_CHECKING:
    from evolab.storage import Store

DEFAULT_DB = Path("evolution.db")

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="EVOLAB_DB", help="SQLite database file.", show_default=True),
]


def open_store(path: Path, *, must_exist: bool = True) -> Store:
    """Open the database, or exit with one clear line (2: no such file / not evolab; 1: cannot use it)."""
    from evolab.errors import StorageError
    from evolab.storage import Store

    if must_exist and not path.exists():
        fail(f"{path}: no such database", EXIT_BAD_INPUT, hint="run `evolab evolve` to create one, or pass --db PATH")
    try:
        return Store(path)
    except StorageError as err:
        fail_on(err)
