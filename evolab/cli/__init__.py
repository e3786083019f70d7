"""The `evolab` command-line interface (typer + rich)."""
