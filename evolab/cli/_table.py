"""Plain aligned text tables and small formatters for the data commands (readable without colour)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import typer


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> list[str]:
    """Lines of a table: columns padded to their widest cell, `right` column indices right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "  ".join(padded).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> None:
    """Print a table to stdout."""
    for line in format_table(headers, rows, right=right):
        typer.echo(line)


def format_time(timestamp: float) -> str:
    """A Unix time as local `YYYY-MM-DD HH:MM`."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def format_fitness(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def subsample(count: int, limit: int) -> list[int]:
    """At most `limit` indices of range(count), evenly spread, always keeping the first and the last."""
    if count <= limit:
        return list(range(count))
    step = (count - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})
