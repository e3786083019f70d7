"""The `evolab` command: verbs, each in its own module; heavy imports stay inside the commands."""

from __future__ import annotations

from typing import Annotated

import typer

from evolab.cli import bench, demo, evolve, simulate

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


def main() -> None:
    """Console-script entry point."""
    app()
