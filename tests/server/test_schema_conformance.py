"""The API does what its OpenAPI schema says, under schemathesis against a live `evolab serve`: no server
errors, only documented status codes and bodies, schema-valid requests accepted and schema-invalid ones
refused, and an `Allow` header that lists the path's methods. Bounded: a few examples per operation and a
time limit (the CLI's own budget); every server listens on 127.0.0.1 and is killed afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evolab.runner import Run
from tests.server.shared import free_port, small_config, wait_until

pytest.importorskip("schemathesis")

CONFIG = Path(__file__).parent / "schemathesis" / "schemathesis.toml"
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "positive_data_acceptance",  # its expected statuses per operation: CONFIG
        "negative_data_rejection",
        "allow_header_conformance",
        "use_after_free",
        "ensure_resource_availability",
    )
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`evolab serve` over a database holding one small run of 3 generations; its OpenAPI URL."""
    db = tmp_path / "served.db"
    with Run.create(small_config(), db, seed=5) as run:
        run.advance(3)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "evolab", "serve", "--db", str(db), "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        import urllib.request

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                    return True
            except OSError:
                return False

        wait_until(answers, "the server to start")
        yield f"http://127.0.0.1:{port}/openapi.json"
    finally:
        # the writer may hold long advances a fuzzer asked for: no need to wait for them
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def schemathesis(url: str, cwd: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`st run` on `url` with CONFIG, from `cwd` (where it keeps its cache)."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    return subprocess.run(
        [st, "--config-file", str(CONFIG), "run", url, "--checks", CHECKS, "--workers", "1", "--no-color", *options],
        capture_output=True, text=True, timeout=600, cwd=cwd,
    )  # fmt: skip


def test_every_operation_but_advance_keeps_to_the_schema(served: str, tmp_path: Path) -> None:
    # advancing evaluates generations of whatever runs the fuzzer made (up to 100,000 creatures x 600 s):
    # its conformance is the next test's, on the one small run
    result = schemathesis(
        served, tmp_path, "--max-examples", "12", "--max-time", "100", "--exclude-path-regex", "/advance$"
    )
    assert result.returncode == 0, result.stdout[-6000:]


def test_advance_keeps_to_the_schema(served: str, tmp_path: Path) -> None:
    result = schemathesis(
        served, tmp_path, "--max-examples", "12", "--max-time", "25", "--include-path-regex", "/advance$"
    )
    assert result.returncode == 0, result.stdout[-6000:]
