"""The `evolab` command: verbs, each in its own module; heavy imports stay inside the commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

import typer

from evolab.cli import bench, demo, evolve, fork, presets, refine, runs, serve, simulate, stats, transfer
from evolab.cli._output import fail_on
from evolab.errors import EvolabError

app = typer.Typer(
    name="evolab",
    help="Evolve soft-bodied 3D creatures that collect pellets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from evolab import __version__

        typer.echo(f"evolab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Evolve soft-bodied 3D creatures that collect pellets."""


app.command("evolve", epilog=evolve.EPILOG)(evolve.evolve_command)
app.command("demo", epilog=demo.EPILOG)(demo.demo_command)
app.command("simulate", epilog=simulate.EPILOG)(simulate.simulate_command)
app.command("random-genome")(simulate.random_genome_command)
app.command("bench", epilog=bench.EPILOG)(bench.bench_command)
app.command("runs", epilog=runs.RUNS_EPILOG)(runs.runs_command)
app.command("show", epilog=runs.SHOW_EPILOG)(runs.show_command)
app.command("stats", epilog=stats.EPILOG)(stats.stats_command)
app.command("fork", epilog=fork.EPILOG)(fork.fork_command)
app.command("refine", epilog=refine.EPILOG)(refine.refine_command)
app.command("export", epilog=transfer.EXPORT_EPILOG)(transfer.export_command)
app.command("import", epilog=transfer.IMPORT_EPILOG)(transfer.import_command)
app.command("rename", epilog=runs.RENAME_EPILOG)(runs.rename_command)
app.command("delete", epilog=runs.DELETE_EPILOG)(runs.delete_command)
app.command("serve", epilog=serve.EPILOG)(serve.serve_command)
app.add_typer(presets.app, name="presets")


def _reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """An evolab error that a command does not handle itself ends it with one line (and a hint), with the
    exit code its kind carries: never a traceback."""

    @functools.wraps(command)  # typer reads the signature and help through __wrapped__
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EvolabError as err:
            fail_on(err)

    return run


for _registered in (*app.registered_commands, *presets.app.registered_commands):
    _registered.callback = _reports_errors(_registered.callback)


def main() -> None:
    """Console-script entry point."""
    app()
