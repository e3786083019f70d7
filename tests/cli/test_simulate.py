"""`evolab simulate` and `evolab random-genome` through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import evolab


@pytest.fixture
def genome_file(tmp_path, rng):
    path = tmp_path / "creature.json"
    path.write_text(json.dumps(evolab.random_genome(rng).to_dict()))
    return path


def test_simulate_prints_a_json_result_matching_the_api(cli, genome_file):
    result = cli("simulate", str(genome_file), "--seed", "7", "--duration", "2", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    genome = evolab.Genome.from_dict(json.loads(genome_file.read_text()))
    expected = evolab.simulate([genome], evolab.SimConfig(duration=2.0), seed=7)[0]
    assert document["fitness"] == expected.fitness
    assert document["pellets_collected"] == expected.pellets_collected
    assert document["disqualified"] is None
    assert set(document["terms"]) == {"pellets", "progress", "regression", "movement"}


def test_simulate_prints_readable_text_by_default(cli, genome_file):
    result = cli("simulate", str(genome_file), "--duration", "1")
    assert result.exit_code == 0
    assert "fitness" in result.stdout
    assert "pellets" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "genome: expected an object"),
        ('{"id": "x"}', "nodes: missing"),
        ('{"id": 3}', "id: expected a non-empty string"),
    ],
)
def test_simulate_refuses_a_malformed_file_with_one_line_and_exit_2(cli, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = cli("simulate", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_simulate_refuses_a_genome_that_breaks_the_constraints(cli, tmp_path, rng):
    data = evolab.random_genome(rng).to_dict()
    data["muscles"][0]["stiffness"] = 5000.0
    path = tmp_path / "stiff.json"
    path.write_text(json.dumps(data))
    result = cli("simulate", str(path))
    assert result.exit_code == 2
    assert "muscles[0].stiffness: 5000 is outside [50, 500]" in result.stderr
    assert "Traceback" not in result.stderr


def test_simulate_refuses_a_missing_file_and_an_unknown_preset(cli, tmp_path, genome_file):
    missing = cli("simulate", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    unknown = cli("simulate", str(genome_file), "--preset", "nope")
    assert unknown.exit_code == 2
    assert "unknown preset 'nope'" in unknown.stderr


def test_random_genome_is_valid_and_reproducible(cli):
    first = cli("random-genome", "--seed", "5")
    second = cli("random-genome", "--seed", "5")
    assert first.exit_code == 0
    assert first.stdout == second.stdout
    genome = evolab.Genome.from_dict(json.loads(first.stdout))
    evolab.validate_genome(genome, evolab.EvolutionConfig.from_preset("default").constraints)


def test_random_genome_for_a_neural_preset_has_a_network(cli):
    result = cli("random-genome", "--preset", "neural-pure")
    genome = evolab.Genome.from_dict(json.loads(result.stdout))
    assert genome.neural is not None
    assert genome.neural.output_size == genome.n_muscles


def test_the_console_script_and_python_m_entry_points_work(genome_file):
    module = subprocess.run(
        [sys.executable, "-m", "evolab", "simulate", str(genome_file), "--duration", "1", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert module.returncode == 0, module.stderr
    assert np.isfinite(json.loads(module.stdout)["fitness"])
    bad = subprocess.run(
        [sys.executable, "-m", "evolab", "simulate", "/nonexistent/genome.json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert "Traceback" not in bad.stderr
