"""The web UI's API types are generated from the server's OpenAPI schema, never written by hand: the
dump is the schema the server serves, the same bytes in every process, and the web build types the UI
from it (so a change of the API that the UI does not follow fails its type check)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evolab.server.openapi import openapi_schema, openapi_text, write_openapi
from tests.server.shared import TestClient

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DUMP = WEB / "openapi.json"
GENERATED = WEB / "src" / "api-schema.d.ts"
GENERATOR = WEB / "node_modules" / ".bin" / "openapi-typescript"
GENERATED_NAMES = "web/openapi.json", "web/src/api-schema.d.ts"


def dump_in_a_new_process(path: Path, hash_seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, "-m", "evolab.server.openapi", str(path)], check=True, env=env, cwd=ROOT)
    return path.read_bytes()


def test_the_dump_is_the_schema_the_server_serves(client: TestClient) -> None:
    assert openapi_schema() == client.get("/openapi.json").json()


def test_the_dump_is_the_same_bytes_in_every_process(tmp_path: Path) -> None:
    first = dump_in_a_new_process(tmp_path / "first.json", "1")
    second = dump_in_a_new_process(tmp_path / "second.json", "2")

    assert first == second == openapi_text().encode()
    assert json.loads(first) == openapi_schema()


def test_an_unchanged_dump_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "openapi.json"
    assert write_openapi(path) is True
    os.utime(path, (0, 0))

    assert write_openapi(path) is False
    assert path.stat().st_mtime == 0  # make sees no change, so the web UI is not rebuilt


def test_the_web_build_generates_its_types_from_the_dump() -> None:
    scripts = json.loads((WEB / "package.json").read_text())["scripts"]
    makefile = (ROOT / "Makefile").read_text()
    ignored = (ROOT / ".gitignore").read_text().splitlines()

    assert re.search(r"\bopenapi-typescript openapi\.json --output src/api-schema\.d\.ts\b", scripts["types"])
    assert scripts["typecheck"].startswith("npm run types && ")
    assert scripts["build"].startswith("npm run typecheck && ")
    assert "$(BIN)/python -m evolab.server.openapi $@" in makefile
    assert re.search(r"^\$\(WEB_BUILD\):.*\$\(OPENAPI\)", makefile, re.MULTILINE)
    assert all(name in ignored for name in GENERATED_NAMES)  # generated on every build, never committed


def test_the_client_types_are_the_generated_ones() -> None:
    types = (WEB / "src" / "types.ts").read_text()

    assert "from './api-schema'" in types
    for name in ("RunSummary", "RunDetail", "EvolutionConfig", "GenerationStats", "CreatureCard", "Preset", "Job"):
        assert not re.search(rf"\binterface {name}\b", types), f"{name} is written by hand"
        assert re.search(rf"\bexport type {name} = Schemas\[", types), f"{name} is not the schema's"


def test_the_built_web_ui_was_typed_against_this_api(tmp_path: Path) -> None:
    if not DUMP.is_file() or not GENERATED.is_file():
        pytest.fail("the web UI is not built: run `make web`")
    assert DUMP.read_text(encoding="utf-8") == openapi_text(), "the API changed since the web build: run `make web`"
    if not GENERATOR.is_file() or shutil.which("node") is None:
        pytest.skip("openapi-typescript is not installed (web/node_modules)")
    regenerated = tmp_path / "api-schema.d.ts"
    # the build's own command, writing elsewhere
    command = json.loads((WEB / "package.json").read_text())["scripts"]["types"].split()
    command = [str(GENERATOR), *(str(regenerated) if arg == "src/api-schema.d.ts" else arg for arg in command[1:])]
    subprocess.run(command, check=True, capture_output=True, cwd=WEB)
    assert regenerated.read_text() == GENERATED.read_text(), "the UI's API types are stale: run `make web`"
