"""`evolab presets`: the shipped configuration presets and the ones saved in the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evolab.cli._db import DEFAULT_DB, DbOption, open_store
from evolab.cli._output import fail, fail_on, print_json, stderr
from evolab.cli._table import echo_table
from evolab.cli.runs import JsonOption, db_flag, require_run

if TYPE_CHECKING:
    from evolab.config import EvolutionConfig

EPILOG = """Examples:

  $ evolab presets list

  $ evolab presets show quick > my.toml

  $ evolab presets save long-legs --from-run run_20261126_101500_a3f2
"""

app = typer.Typer(
    name="presets",
    help="List, show and save configuration presets.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

NameArgument = Annotated[str, typer.Argument(help="Preset name.", show_default=False, metavar="NAME")]


def _saved_presets(db: Path) -> dict[str, EvolutionConfig]:
    """The presets saved in `db` ({} when the file does not exist: nothing is created)."""
    from evolab.errors import EvolabError

    if not db.exists():
        return {}
    store = open_store(db)
    try:
        return store.presets()
    except EvolabError as err:
        fail_on(err)
    finally:
        store.close()


def user_preset_config(name: str, db: Path, overrides: dict[str, Any]) -> EvolutionConfig:
    """A preset saved in the database, with `overrides` applied (for `evolab evolve --preset`).

    Raises:
        ConfigError: no shipped or saved preset has this name, or an override is invalid.
    """
    from evolab.config import resolve_preset

    return resolve_preset(name, _saved_presets(db), overrides)


def to_toml(data: dict[str, Any], table: str = "") -> str:
    """A nested mapping of TOML scalars (bool, int, float, str) as TOML text: scalars, then tables."""
    lines = [f"[{table}]"] if table else []
    nested = {}
    for key, value in data.items():
        if isinstance(value, dict):
            nested[key] = value
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value!r}")
        elif isinstance(value, str):
            lines.append(f"{key} = {json.dumps(value)}")
        else:  # pragma: no cover - configs hold only scalars and tables
            raise TypeError(f"{key}: cannot write {type(value).__name__} as TOML")
    parts = ["\n".join(lines)] if lines else []
    parts.extend(to_toml(value, f"{table}.{key}" if table else key) for key, value in nested.items())
    return "\n\n".join(parts)


def _summary(cfg: EvolutionConfig) -> dict[str, Any]:
    return {
        "population_size": cfg.population_size,
        "duration": cfg.sim.duration,
        "neural_mode": cfg.sim.neural_mode,
    }


@app.command(
    "list", epilog="Examples:\n\n  $ evolab presets list\n\n  $ evolab presets list --json --db experiments.db\n"
)
def list_command(as_json: JsonOption = False, db: DbOption = DEFAULT_DB) -> None:
    """List the shipped presets and the ones saved in the database."""
    from evolab.config import EvolutionConfig, preset_description, preset_names

    shipped = {name: EvolutionConfig.from_preset(name) for name in preset_names()}
    saved = _saved_presets(db)
    entries = [
        {"name": name, "source": "shipped", "description": preset_description(name), **_summary(cfg)}
        for name, cfg in shipped.items()
    ]
    entries += [
        {
            "name": name,
            "source": "user",
            "description": "shadowed by the shipped preset of this name" if name in shipped else f"saved in {db}",
            **_summary(cfg),
        }
        for name, cfg in saved.items()
    ]
    if as_json:
        print_json(entries)
        return
    echo_table(
        ["name", "source", "population", "duration", "neural", "description"],
        [
            [
                e["name"],
                e["source"],
                str(e["population_size"]),
                f"{e['duration']:g} s",
                e["neural_mode"],
                e["description"],
            ]
            for e in entries
        ],
        right=(2, 3),
    )


@app.command("show", epilog="Examples:\n\n  $ evolab presets show quick\n\n  $ evolab presets show long-legs --json\n")
def show_command(name: NameArgument, as_json: JsonOption = False, db: DbOption = DEFAULT_DB) -> None:
    """Print a preset's full configuration as TOML.

    The output works as a file for `evolab evolve --config`.
    """
    from evolab.config import EvolutionConfig, preset_names

    if name in preset_names():
        cfg, source = EvolutionConfig.from_preset(name), "shipped"
    else:
        saved = _saved_presets(db)
        if name not in saved:
            fail(f"unknown preset {name!r}", hint=f"`evolab presets list{db_flag(db)}` lists the presets")
        cfg, source = saved[name], "user"
    config = cfg.model_dump(mode="json")
    if as_json:
        print_json({"name": name, "source": source, "config": config})
        return
    typer.echo(f"# evolab preset {name!r} ({source})\n")
    typer.echo(to_toml(config))


@app.command(
    "save",
    epilog="Examples:\n\n  $ evolab presets save long-legs --from-run run_20261126_101500_a3f2\n\n"
    "  $ evolab presets save big --config big.toml\n",
)
def save_command(
    name: NameArgument,
    from_run: Annotated[str | None, typer.Option("--from-run", help="Save the configuration of this run.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Save the configuration in this TOML file.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Save a configuration as a named preset.

    The preset lives in the database; use it with `evolab evolve --preset NAME`.
    """
    from evolab.config import EvolutionConfig, preset_names
    from evolab.errors import EvolabError

    name = name.strip()
    if not name:
        fail("a preset name cannot be empty")
    if name in preset_names():
        fail(f"{name!r} is a shipped preset; choose another name")
    if (from_run is None) == (config is None):
        fail("give --from-run RUN or --config FILE.toml (one of them)")
    if config is not None:
        try:
            cfg = EvolutionConfig.from_toml(config)
        except EvolabError as err:
            fail_on(err)
        store = open_store(db, must_exist=False)
    else:
        store = open_store(db)
        cfg = require_run(store, from_run, db).config
    try:
        replacing = name in store.presets()
        store.save_preset(name, cfg)
    except EvolabError as err:
        fail_on(err)
    finally:
        store.close()
    verb = "replaced" if replacing else "saved"
    stderr.print(
        f"{verb} preset {name!r} in {db}; use it with `evolab evolve --preset {name}{db_flag(db)}`",
        highlight=False,
        markup=False,
    )


@app.command("delete", epilog="Examples:\n\n  $ evolab presets delete long-legs\n")
def delete_command(name: NameArgument, db: DbOption = DEFAULT_DB) -> None:
    """Forget a preset saved in the database."""
    from evolab.config import preset_names
    from evolab.errors import EvolabError, PresetNotFound

    if name in preset_names():
        fail(f"{name!r} is a shipped preset and cannot be deleted")
    unknown = f"unknown preset {name!r}", f"`evolab presets list{db_flag(db)}` lists the presets"
    if not db.exists():  # nothing to delete, and nothing is created
        fail(unknown[0], hint=unknown[1])
    store = open_store(db)
    try:  # without reading the other presets: a broken one must not stop its own deletion
        store.delete_preset(name)
    except PresetNotFound:
        fail(unknown[0], hint=unknown[1])
    except EvolabError as err:
        fail_on(err)
    finally:
        store.close()
    stderr.print(f"deleted preset {name!r} from {db}", highlight=False, markup=False)
