"""`evolab export` and `evolab import`: a run as one portable, versioned JSON file."""

from __future__ import annotations

import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from evolab.cli._db import DEFAULT_DB, DbOption, open_store
from evolab.cli._output import EXIT_FAILED, fail, fail_on, print_json, stderr
from evolab.cli.runs import JsonOption, RunArgument, db_flag, require_run

EXPORT_EPILOG = """Examples:

  $ evolab export run_20261126_101500_a3f2 -o run.json

  $ evolab export run_20261126_101500_a3f2 | gzip > run.json.gz
"""

IMPORT_EPILOG = """Examples:

  $ evolab import run.json

  $ evolab import run.json.gz --db other.db --json

  $ evolab import evolution-lab-dump.json          # the original app's IndexedDB, saved from its page
"""


def export_command(
    run_id: RunArgument,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write [default: stdout].", show_default=False)
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write a run to one portable JSON file.

    Generations, results, genomes, replays and checkpoints, as a versioned document `evolab import` reads.
    """
    from evolab.errors import EvolabError
    from evolab.storage.transfer import export_run

    to_stdout = output is None or str(output) == "-"
    if not to_stdout and not output.parent.is_dir():
        fail(f"--output {output}: its folder does not exist")
    if not to_stdout and output.is_dir():
        fail(f"--output {output}: is a folder")
    store = open_store(db)
    run = require_run(store, run_id, db)
    try:
        document = export_run(store, run.id)
    except EvolabError as err:
        fail_on(err)
    finally:
        store.close()
    text = json.dumps(document, separators=(",", ":"))
    if to_stdout:
        typer.echo(text)
    else:
        _write_atomically(output, text)
    where = "stdout" if to_stdout else str(output)
    stderr.print(
        f"exported run {run.id}: {len(document['generations'])} generations, {len(document['creatures'])} "
        f"creatures, {len(document['frames'])} replays to {where}",
        highlight=False,
        markup=False,
    )


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: a failed export leaves no half file."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; an export is an ordinary file
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        fail(f"{path}: cannot write ({err.strerror})", EXIT_FAILED)


class Source(StrEnum):
    """What an import file is."""

    evolab = "evolab"
    original = "original"


def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="A file written by `evolab export`, or the original app's dump (gzip'd or not; - for stdin).",
            show_default=False,
            metavar="FILE",
        ),
    ],
    source: Annotated[
        Source | None,
        typer.Option(
            "--from",
            help="What the file is: an evolab export or the original app's IndexedDB dump [default: detected].",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Add runs from an exported JSON file or from the original app's dump.

    The whole file is checked before anything is written, then written in one transaction; a run id the
    database already holds gets a new one, and a dump imported before is refused.
    """
    from evolab.errors import EvolabError
    from evolab.storage.original import DumpError, is_original_dump, read_document

    try:
        data = read_document(file)
    except DumpError as err:
        fail_on(err, prefix=str(file))
    if source is None:
        source = Source.original if is_original_dump(data) else Source.evolab
    try:
        if source is Source.original:
            _import_original(file, data, as_json, db)
        else:
            _import_export(file, data, as_json, db)
    except EvolabError as err:
        fail_on(err, prefix=str(file))


def _import_export(file: Path, data: object, as_json: bool, db: Path) -> None:
    from evolab.storage.transfer import import_run, parse_document

    document = parse_document(data)
    store = open_store(db, must_exist=False)
    try:
        run = import_run(store, document)
    finally:
        store.close()
    original = document.run.id
    if as_json:
        print_json(
            {
                "id": run.id,
                "name": run.name,
                "original_id": original,
                "status": run.status,
                "generation_count": run.generation_count,
                "creatures": len(document.creatures),
                "replays": len(document.replays),
            }
        )
    else:
        typer.echo(run.id)
    renamed = f" (as {run.id}: {original} was already taken)" if run.id != original else ""
    stderr.print(
        f"imported run {original}{renamed} into {db}: {run.generation_count} generations, "
        f"{len(document.creatures)} creatures, {len(document.replays)} replays; "
        f"see `evolab show {run.id}{db_flag(db)}`",
        highlight=False,
        markup=False,
    )


def _import_original(file: Path, data: object, as_json: bool, db: Path) -> None:
    from evolab.storage.original import import_dump, parse_dump, plan_import

    plan = plan_import(parse_dump(data))
    store = open_store(db, must_exist=False)
    try:
        runs = import_dump(store, plan)
    finally:
        store.close()
    if plan.unmapped:
        stderr.print(
            f"warning: original settings with no evolab counterpart, kept with each run and not applied: "
            f"{', '.join(plan.unmapped)}",
            highlight=False,
            markup=False,
        )
    if as_json:
        print_json(
            {
                "source": "original-app",
                "runs": [
                    {
                        "id": run.id,
                        "name": run.name,
                        "original_id": run.origin.source_id if run.origin else None,
                        "generation_count": run.generation_count,
                        "parent_run_id": run.parent_run_id,
                        "fork_generation": run.fork_generation,
                    }
                    for run in runs
                ],
                "generations": plan.generations,
                "creatures": plan.creatures,
                "genomes": plan.genomes,
                "flagged_genomes": plan.flagged,
                "replays": plan.replays,
                "replays_not_kept": plan.replays_not_kept,
                "unmapped_settings": list(plan.unmapped),
            }
        )
    else:
        for run in runs:
            typer.echo(run.id)
    flagged = (
        f"; {plan.flagged} of its {plan.genomes} genomes are outside evolab's ranges, kept as they were (replayed "
        "from their frames, never simulated or bred)"
        if plan.flagged
        else ""
    )
    if plan.replays_not_kept:
        flagged += (
            f"; {plan.replays_not_kept} exploded creatures' frames reach beyond a replay's 1000 km and are not kept "
            "(their results and genomes are)"
        )
    stderr.print(
        f"imported {len(runs)} run{'s' if len(runs) != 1 else ''} of the original app into {db}: {plan.generations} "
        f"generations, {plan.creatures} results, {plan.replays} replays{flagged}; "
        f"see `evolab runs{db_flag(db)}`",
        highlight=False,
        markup=False,
    )
