"""`evolab presets list|show|save|delete`, and `evolab evolve --preset` finding saved presets."""

from __future__ import annotations

import json
import tomllib

import pytest

from evolab.config import EvolutionConfig, preset_names
from evolab.storage import Store
from tests.cli import rundb
from tests.cli.rundb import error_line

run_db_template = rundb.run_db_template
run_db = rundb.run_db


def test_list_shows_the_shipped_presets_without_creating_a_database(cli, tmp_path):
    db = tmp_path / "none.db"
    result = cli("presets", "list", "--db", str(db))
    assert result.exit_code == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.strip().splitlines()[1:]]
    assert names == preset_names()
    assert all(" shipped " in line for line in result.stdout.strip().splitlines()[1:])
    assert not db.exists()


def test_save_from_a_run_then_list_and_show_it(cli, run_db):
    saved = cli("presets", "save", "mine", "--from-run", run_db.neural, "--db", str(run_db.path))
    assert saved.exit_code == 0, saved.stderr
    assert saved.stdout == ""
    assert "evolab evolve --preset mine" in saved.stderr

    listed = json.loads(cli("presets", "list", "--json", "--db", str(run_db.path)).stdout)
    sources = {entry["name"]: entry["source"] for entry in listed}
    assert sources["mine"] == "user"
    assert all(sources[name] == "shipped" for name in preset_names())
    mine = next(entry for entry in listed if entry["name"] == "mine")
    assert mine["population_size"] == 8
    assert mine["neural_mode"] == "hybrid"

    with run_db.store() as store:
        config = store.get_run(run_db.neural).config
    shown = json.loads(cli("presets", "show", "mine", "--json", "--db", str(run_db.path)).stdout)
    assert shown["source"] == "user"
    assert EvolutionConfig.model_validate(shown["config"]) == config
    text = cli("presets", "show", "mine", "--db", str(run_db.path))
    assert text.exit_code == 0
    assert EvolutionConfig.from_mapping(tomllib.loads(text.stdout)) == config


@pytest.mark.parametrize("name", preset_names())
def test_show_prints_a_shipped_preset_as_toml_that_loads_back(cli, name, tmp_path):
    result = cli("presets", "show", name, "--db", str(tmp_path / "none.db"))
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "preset.toml"
    path.write_text(result.stdout)
    assert EvolutionConfig.from_toml(path) == EvolutionConfig.from_preset(name)


def test_save_from_a_config_file_round_trips(cli, tmp_path):
    source = tmp_path / "big.toml"
    source.write_text("population_size = 64\nelite_count = 4\n[sim]\nduration = 3.0\nneural_mode = 'pure'\n")
    db = tmp_path / "presets.db"
    result = cli("presets", "save", "big", "--config", str(source), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    shown = json.loads(cli("presets", "show", "big", "--json", "--db", str(db)).stdout)
    assert EvolutionConfig.model_validate(shown["config"]) == EvolutionConfig.from_toml(source)
    replaced = cli("presets", "save", "big", "--config", str(source), "--db", str(db))
    assert "replaced preset 'big'" in replaced.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["quick", "--from-run", "RUN"], "'quick' is a shipped preset"),
        (["x"], "give --from-run RUN or --config FILE.toml"),
        (["x", "--from-run", "RUN", "--config", "c.toml"], "give --from-run RUN or --config FILE.toml"),
        (["x", "--from-run", "run_nope"], "unknown run 'run_nope'"),
        (["x", "--config", "missing.toml"], "cannot read"),
        ([" ", "--from-run", "RUN"], "cannot be empty"),
    ],
)
def test_save_refuses_bad_input_and_changes_nothing(cli, run_db, args, message):
    args = [a.replace("RUN", run_db.oscillator) if a == "RUN" else a for a in args]
    before = run_db.row_counts()
    result = cli("presets", "save", *args, "--db", str(run_db.path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in error_line(result.stderr)
    assert run_db.row_counts() == before


def test_save_refuses_an_invalid_config_file(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("population_size = -5\n")
    db = tmp_path / "presets.db"
    result = cli("presets", "save", "x", "--config", str(bad), "--db", str(db))
    assert result.exit_code == 2
    assert "population_size" in error_line(result.stderr)
    assert not db.exists()


def test_show_and_delete_refuse_unknown_and_shipped_names(cli, run_db):
    unknown = cli("presets", "show", "nope", "--db", str(run_db.path))
    assert unknown.exit_code == 2
    assert "unknown preset 'nope'" in error_line(unknown.stderr)
    assert "hint: `evolab presets list" in unknown.stderr
    shipped = cli("presets", "delete", "quick", "--db", str(run_db.path))
    assert shipped.exit_code == 2
    assert "shipped preset" in error_line(shipped.stderr)
    missing = cli("presets", "delete", "nope", "--db", str(run_db.path))
    assert missing.exit_code == 2


def test_a_saved_preset_that_no_longer_validates_is_one_line_with_a_hint_and_can_be_deleted(cli, run_db):
    assert cli("presets", "save", "mine", "--from-run", run_db.neural, "--db", str(run_db.path)).exit_code == 0
    with Store(run_db.path) as store, store.transaction() as cur:  # as if a later evolab had changed its meaning
        cur.execute("UPDATE presets SET config = json_set(config, '$.elite_count', 'many')")

    listed = cli("presets", "list", "--db", str(run_db.path))

    assert listed.exit_code == 1
    assert error_line(listed.stderr) == (
        "error: saved preset 'mine' is invalid (settings: elite_count: input should be a valid integer (got 'many'))"
    )
    assert "hint: evolab presets delete mine" in listed.stderr
    assert "Traceback" not in listed.stderr
    assert cli("presets", "delete", "mine", "--db", str(run_db.path)).exit_code == 0
    assert cli("presets", "list", "--db", str(run_db.path)).exit_code == 0


def test_delete_forgets_a_saved_preset(cli, run_db):
    assert cli("presets", "save", "mine", "--from-run", run_db.oscillator, "--db", str(run_db.path)).exit_code == 0
    result = cli("presets", "delete", "mine", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    listed = json.loads(cli("presets", "list", "--json", "--db", str(run_db.path)).stdout)
    assert "mine" not in {entry["name"] for entry in listed}


def test_evolve_finds_a_preset_saved_in_the_database(cli, tmp_path):
    source = tmp_path / "tiny.toml"
    source.write_text("population_size = 6\nelite_count = 2\n[sim]\nduration = 0.5\n")
    db = tmp_path / "runs.db"
    assert cli("presets", "save", "tiny", "--config", str(source), "--db", str(db)).exit_code == 0
    result = cli(
        "evolve", "--preset", "tiny", "--generations", "1", "--seed", "3", "--mutation-rate", "0.2", "--db", str(db)
    )
    assert result.exit_code == 0, result.stderr
    from evolab.storage import Store

    with Store(db) as store:
        (run,) = store.list_runs()
    assert run.config == EvolutionConfig.from_toml(source, mutation_rate=0.2)
    assert run.generation_count == 1


def test_evolve_refuses_an_unknown_preset_without_creating_a_database(cli, tmp_path):
    db = tmp_path / "runs.db"
    result = cli("evolve", "--preset", "nope", "--generations", "1", "--db", str(db))
    assert result.exit_code == 2
    assert "unknown preset 'nope'" in error_line(result.stderr)
    assert not db.exists()
