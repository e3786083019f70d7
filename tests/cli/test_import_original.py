"""`evolab import` of the original app's IndexedDB dump: detected or forced with `--from`, gzip'd or not;
every bad dump is one `error:` line, exit 2, and leaves the database as it was."""

from __future__ import annotations

import copy
import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from evolab.storage import Store
from tests.cli.rundb import error_line
from tests.original_dump import ORIGINAL_DUMP

FIXTURE = ORIGINAL_DUMP


@pytest.fixture(scope="module")
def dump() -> dict:
    with gzip.open(FIXTURE) as f:
        return json.load(f)


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_a_dump_is_detected_imported_and_summarised(cli, tmp_path) -> None:
    db = tmp_path / "evolution.db"
    result = cli("import", str(FIXTURE), "--db", str(db), "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["source"] == "original-app"
    assert [r["original_id"] for r in out["runs"]] == ["run_1796243628499"]
    assert out["runs"][0]["generation_count"] == 11
    assert (out["generations"], out["creatures"], out["genomes"]) == (11, 1100, 1050)
    assert (out["flagged_genomes"], out["replays"], out["replays_not_kept"]) == (159, 1070, 30)
    assert out["unmapped_settings"] == ["minNodes", "pelletCount", "fitnessWeights"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert "minNodes, pelletCount, fitnessWeights" in warnings[0]
    listed = cli("runs", "--db", str(db), "--json")
    assert [r["name"] for r in json.loads(listed.stdout)] == ["Run B 3s"]
    shown = cli("show", out["runs"][0]["id"], "--db", str(db))
    assert shown.exit_code == 0
    assert "11 generations" in shown.stdout


def test_importing_the_same_dump_twice_is_one_line_exit_2_and_nothing_written(cli, tmp_path) -> None:
    db = tmp_path / "evolution.db"
    assert cli("import", str(FIXTURE), "--db", str(db)).exit_code == 0
    before = db.read_bytes()
    again = cli("import", str(FIXTURE), "--db", str(db))
    assert again.exit_code == 2
    assert "imported already" in error_line(again.stderr)
    assert db.read_bytes() == before


def test_from_forces_the_kind_of_file(cli, tmp_path, dump) -> None:
    plain = _write(tmp_path / "dump.json", dump)
    refused = cli("import", str(plain), "--from", "evolab", "--db", str(tmp_path / "a.db"))
    assert refused.exit_code == 2
    assert "not an evolab run export" in error_line(refused.stderr)
    assert cli("import", str(plain), "--from", "original", "--db", str(tmp_path / "b.db")).exit_code == 0


def test_dump_import_export_import_gives_the_same_runs(cli, tmp_path) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    run_id = json.loads(cli("import", str(FIXTURE), "--db", str(first), "--json").stdout)["runs"][0]["id"]
    exported = tmp_path / "run.json"
    assert cli("export", run_id, "-o", str(exported), "--db", str(first)).exit_code == 0
    packed = tmp_path / "run.json.gz"
    packed.write_bytes(gzip.compress(exported.read_bytes()))
    result = cli("import", str(packed), "--db", str(second), "--json")  # detected as an evolab export
    assert result.exit_code == 0, result.stderr
    with Store(first) as a, Store(second) as b:
        (ra,), (rb,) = a.list_runs(), b.list_runs()
        assert (ra.name, ra.generation_count, ra.best_fitness, ra.origin) == (
            rb.name, rb.generation_count, rb.best_fitness, rb.origin,
        )  # fmt: skip
        for g in range(ra.generation_count):
            assert a.results(ra.id, g) == b.results(rb.id, g)
        assert [r.frames for r in a.frame_rows(ra.id)] == [r.frames for r in b.frame_rows(rb.id)]
    twice = cli("import", str(packed), "--db", str(second))
    assert twice.exit_code == 2  # the same original run, however it travelled
    assert "imported already" in error_line(twice.stderr)


def _damage(dump: dict, edit) -> dict:
    damaged = copy.deepcopy(dump)
    edit(damaged)
    return damaged


def _genome(dump: dict, generation: int, creature: int) -> dict:
    return dump["generations"][generation]["results"][creature]["genome"]


BAD_DUMPS = {
    "a missing store": (lambda d: d.pop("generations"), "generations: missing"),
    "a generation without its run": (
        lambda d: d["generations"][4].update(runId="run_1"),
        "generations[4].runId: no run 'run_1' in runs",
    ),
    "a position that is not a vector": (
        lambda d: _genome(d, 10, 3)["nodes"][0].update(position=[1, 2, 3]),
        "generations[10].results[3].genome.nodes[0].position: expected an object (got list)",
    ),
    "a stiffness the app never makes": (
        lambda d: _genome(d, 2, 7)["muscles"][0].update(stiffness=900),
        "generations[2].results[7].genome.muscles[0].stiffness: 900 is outside the original app's [50, 500]",
    ),
    "a muscle on an unknown node": (
        lambda d: _genome(d, 0, 1)["muscles"][0].update(nodeA="node_x"),
        "generations[0].results[1].genome.muscles[0].nodeA: unknown node 'node_x'",
    ),
    "a frame of the wrong width": (
        lambda d: d["generations"][1]["results"][2]["frames"][5].pop(),
        "generations[1].results[2].frames[5]: expected",
    ),
    "a fitness that is not a number": (
        lambda d: d["generations"][3]["results"][0].update(fitness="high"),
        "generations[3].results[0].fitness: input should be a valid number",
    ),
    "a bad setting": (lambda d: d["runs"][0]["config"].update(populationSize=0), "runs[0].config: populationSize"),
}


@pytest.mark.parametrize("case", list(BAD_DUMPS))
def test_a_damaged_dump_names_the_record_and_field_and_changes_nothing(cli, tmp_path, dump, case) -> None:
    edit, message = BAD_DUMPS[case]
    path = _write(tmp_path / "bad.json", _damage(dump, edit))
    db = tmp_path / "evolution.db"
    with Store(db):
        pass
    before = db.read_bytes()
    result = cli("import", str(path), "--db", str(db))
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert message in error_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert db.read_bytes() == before
    fresh = tmp_path / "fresh.db"
    assert cli("import", str(path), "--db", str(fresh)).exit_code == 2
    assert not fresh.exists()


def _truncated(tmp_path: Path) -> Path:
    path = tmp_path / "dump.json"
    path.write_bytes(gzip.decompress(FIXTURE.read_bytes())[:3_000_000])
    return path


def _truncated_gzip(tmp_path: Path) -> Path:
    path = tmp_path / "dump.json.gz"
    path.write_bytes(FIXTURE.read_bytes()[:1_000_000])
    return path


def _junk(tmp_path: Path) -> Path:
    path = tmp_path / "junk.bin"
    with path.open("wb") as f:
        block = bytes(range(256)) * 4096
        for _ in range(100):  # 100 MB
            f.write(block)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_truncated, "not valid JSON"),
        (_truncated_gzip, "not a complete gzip file"),
        (_junk, "not a text file"),
    ],
    ids=["truncated JSON", "truncated gzip", "100 MB of junk"],
)
def test_an_unreadable_file_is_one_line_and_exit_2(cli, tmp_path, make, message) -> None:
    path = make(tmp_path)
    db = tmp_path / "evolution.db"
    result = cli("import", str(path), "--db", str(db))
    assert result.exit_code == 2
    assert message in error_line(result.stderr)
    assert "Traceback" not in result.stderr
    assert not db.exists()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_readmes_console_snippet_saves_both_stores(tmp_path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Bringing runs from the original app", 1)[1]
    snippet = re.search(r"```js\n(.*?)```", section, re.S).group(1)
    (tmp_path / "snippet.js").write_text(snippet)
    harness = Path(__file__).with_name("readme_snippet_harness.js")
    done = subprocess.run(["node", str(harness), str(tmp_path / "snippet.js")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["saved 1 runs, 1 generations", "ok"]
