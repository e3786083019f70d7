"""`evolab serve`: its help, its one-line refusals, and a real server process from start to Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import evolab
from evolab.cli.app import app
from tests.server.shared import free_port, wait_until

PROCESS_TIMEOUT = 60.0


def serve(*args: str) -> Any:
    """`evolab serve ARGS...` in this process (for the ones that stop before serving)."""
    return CliRunner().invoke(app, ["serve", *args])


def error_line(stderr: str) -> str:
    """The single line a refused command printed, which starts with `error: `."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def test_serve_help_shows_examples_and_the_defaults() -> None:
    result = serve("--help")

    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "evolab serve --db experiments.db --port 9000" in result.stdout
    assert "127.0.0.1" in result.stdout
    assert "8080" in result.stdout


def test_serve_refuses_a_folder_as_the_database(tmp_path: Path) -> None:
    result = serve("--db", str(tmp_path))

    assert result.exit_code != 0
    assert "is a folder" in error_line(result.stderr)
    assert "Traceback" not in result.stderr


def _text_file(path: Path) -> None:
    path.write_text("notes, not a database\n")


def _other_sqlite_file(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
        conn.execute("INSERT INTO accounts (owner) VALUES ('someone')")
        conn.commit()


@pytest.mark.parametrize("make", [_text_file, _other_sqlite_file], ids=["text file", "another program's SQLite"])
def test_serve_refuses_a_file_that_is_not_an_evolab_database_and_leaves_it_alone(tmp_path: Path, make: Any) -> None:
    path = tmp_path / "precious.db"
    make(path)
    before = path.read_bytes()

    result = serve("--db", str(path))

    assert result.exit_code != 0
    assert "not an evolab database" in error_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.db"]


def test_serve_says_in_one_line_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        result = serve("--db", str(tmp_path / "evolution.db"), "--port", str(port))

    assert result.exit_code != 0
    assert f"127.0.0.1:{port}" in error_line(result.stderr)
    assert "Traceback" not in result.stderr


def _health(host: str, port: int) -> dict[str, Any] | None:
    try:
        return httpx.get(f"http://{host}:{port}/api/health", timeout=5.0, trust_env=False).json()
    except httpx.TransportError:
        return None


def test_serve_answers_on_127_0_0_1_by_default_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "evolution.db"
    env = {k: v for k, v in os.environ.items() if k != "EVOLAB_DB"}
    command = [sys.executable, "-m", "evolab", "serve", "--db", str(db), "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: process.poll() is not None or _health("127.0.0.1", port), "the server to answer")
        assert process.poll() is None, process.communicate()[1]
        assert _health("127.0.0.1", port) == {"version": evolab.__version__, "db": str(db)}
        if sys.platform == "linux":  # all of 127/8 is local there: a server on 0.0.0.0 would answer this too
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.2", port), timeout=5.0).close()
        # a page elsewhere whose name resolves to 127.0.0.1 (DNS rebinding) is refused by its Host header
        rebound = httpx.get(f"http://127.0.0.1:{port}/api/runs", headers={"Host": f"evil.example:{port}"})
        assert rebound.status_code == 400
        assert httpx.get(f"http://localhost:{port}/api/runs").status_code == 200

        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"http://127.0.0.1:{port}" in stderr
    assert _health("127.0.0.1", port) is None
