"""`evolab fork`, `evolab rename` and `evolab delete`."""

from __future__ import annotations

import json
import sqlite3

from typer.testing import CliRunner

from evolab.cli.app import app
from tests.cli import rundb
from tests.cli.rundb import error_line

run_db_template = rundb.run_db_template
run_db = rundb.run_db


def _rows_of_run(path, run_id: str) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        pk = conn.execute("SELECT pk FROM runs WHERE id = ?", (run_id,)).fetchone()
        pk = pk[0] if pk else -1
        tables = ("generations", "genome_batches", "creatures", "results", "replays", "checkpoints")
        counts = {t: conn.execute(f"SELECT count(*) FROM {t} WHERE run_pk = ?", (pk,)).fetchone()[0] for t in tables}
        counts["runs"] = conn.execute("SELECT count(*) FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    return counts


def test_fork_prints_the_new_run_and_how_to_continue_it(cli, run_db):
    result = cli("fork", run_db.oscillator, "--generation", "2", "--seed", "9", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    fork_id = result.stdout.strip()
    assert fork_id.startswith("run_")
    assert fork_id != run_db.oscillator
    assert f"evolab evolve --resume {fork_id}" in result.stderr
    with run_db.store() as store:
        fork = store.get_run(fork_id)
        source = store.generation_stats(run_db.oscillator, 0, 3)
        shared = store.generation_stats(fork_id)
    assert fork.parent_run_id == run_db.oscillator
    assert fork.fork_generation == 2
    assert fork.seed == 9
    assert fork.generation_count == 3
    assert shared == source
    shown = json.loads(cli("show", fork_id, "--json", "--db", str(run_db.path)).stdout)
    assert shown["parent_run_id"] == run_db.oscillator
    assert shown["fork_generation"] == 2


def test_fork_json(cli, run_db):
    result = cli("fork", run_db.neural, "-g", "0", "--name", "branch", "--json", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["name"] == "branch"
    assert document["parent_run_id"] == run_db.neural
    assert document["fork_generation"] == 0
    assert document["generation_count"] == 1
    assert document["resume_command"].startswith(f"evolab evolve --resume {document['id']}")


def test_fork_refuses_a_generation_the_run_does_not_have(cli, run_db):
    before = run_db.row_counts()
    result = cli("fork", run_db.oscillator, "--generation", "5", "--db", str(run_db.path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "has generations 0 to 4" in error_line(result.stderr)
    assert run_db.row_counts() == before
    unknown = cli("fork", "run_nope", "--generation", "1", "--db", str(run_db.path))
    assert unknown.exit_code == 2
    assert "unknown run" in error_line(unknown.stderr)


def test_delete_with_yes_removes_the_run_and_everything_stored_for_it(cli, run_db):
    assert all(_rows_of_run(run_db.path, run_db.oscillator).values())
    kept = _rows_of_run(run_db.path, run_db.neural)
    result = cli("delete", run_db.oscillator, "--yes", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"deleted run {run_db.oscillator}" in result.stderr
    assert not any(_rows_of_run(run_db.path, run_db.oscillator).values())
    assert _rows_of_run(run_db.path, run_db.neural) == kept
    assert cli("show", run_db.oscillator, "--db", str(run_db.path)).exit_code == 2


def test_delete_without_yes_off_a_terminal_refuses_with_a_hint(cli, run_db):
    before = run_db.row_counts()
    result = cli("delete", run_db.oscillator, "--db", str(run_db.path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "without confirmation" in error_line(result.stderr)
    assert "hint: pass --yes" in result.stderr
    assert run_db.row_counts() == before


def test_delete_asks_on_a_terminal(run_db, monkeypatch):
    monkeypatch.setattr("evolab.cli.runs.is_interactive", lambda: True)
    runner = CliRunner()
    declined = runner.invoke(app, ["delete", run_db.neural, "--db", str(run_db.path)], input="n\n")
    assert declined.exit_code == 0
    assert "nothing deleted" in declined.stderr
    assert _rows_of_run(run_db.path, run_db.neural)["runs"] == 1
    accepted = runner.invoke(app, ["delete", run_db.neural, "--db", str(run_db.path)], input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert _rows_of_run(run_db.path, run_db.neural)["runs"] == 0


def test_delete_refuses_an_unknown_run(cli, run_db):
    result = cli("delete", "run_nope", "--yes", "--db", str(run_db.path))
    assert result.exit_code == 2
    assert "unknown run" in error_line(result.stderr)


def test_rename_changes_the_display_name(cli, run_db):
    result = cli("rename", run_db.neural, "long legs [v2]", "--db", str(run_db.path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "long legs [v2]" in result.stderr
    with run_db.store() as store:
        assert store.get_run(run_db.neural).name == "long legs [v2]"
    listed = json.loads(cli("runs", "--json", "--db", str(run_db.path)).stdout)
    assert {r["id"]: r["name"] for r in listed}[run_db.neural] == "long legs [v2]"


def test_rename_refuses_an_empty_name_and_an_unknown_run(cli, run_db):
    empty = cli("rename", run_db.neural, "  ", "--db", str(run_db.path))
    assert empty.exit_code == 2
    assert "cannot be empty" in error_line(empty.stderr)
    unknown = cli("rename", "run_nope", "x", "--db", str(run_db.path))
    assert unknown.exit_code == 2
    assert "unknown run" in error_line(unknown.stderr)
