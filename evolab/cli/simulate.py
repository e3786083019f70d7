"""`evolab simulate`: run one creature from a genome file and print its result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evolab.cli._backend import BackendChoice, BackendOption, chosen_backend
from evolab.cli._output import fail_on, print_json, read_json, stdout
from evolab.errors import EvolabError

if TYPE_CHECKING:
    from evolab.config import EvolutionConfig
    from evolab.genome import Genome

EPILOG = """Examples:

  $ evolab random-genome --seed 3 > creature.json

  $ evolab simulate creature.json --seed 7 --duration 20

  $ evolab simulate creature.json --preset neural-hybrid --json

  $ evolab simulate creature.json --backend cpu
"""


def read_genome_file(path: Path, preset: str) -> tuple[EvolutionConfig, Genome]:
    """The preset's settings and the genome in `path`, checked against the preset's constraints; or exit 2
    with one line naming the file and what is wrong."""
    from evolab.config import EvolutionConfig
    from evolab.genome import Genome, validate_genome

    data = read_json(path)
    try:
        cfg = EvolutionConfig.from_preset(preset)
    except EvolabError as err:
        fail_on(err)
    try:
        genome = Genome.from_dict(data)
        validate_genome(genome, cfg.constraints)
    except EvolabError as err:
        fail_on(err, prefix=str(path))
    return cfg, genome


def simulate_command(
    genome_file: Annotated[Path, typer.Argument(help="Genome JSON file (as written by Genome.to_dict).")],
    seed: Annotated[int, typer.Option(help="Seed of the pellet draws.", min=0)] = 0,
    duration: Annotated[float | None, typer.Option(help="Seconds to simulate [default: the preset's].")] = None,
    preset: Annotated[str, typer.Option(help="Preset whose constraints and physics apply.")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    backend: BackendOption = BackendChoice.auto,
) -> None:
    """Simulate one creature and print its fitness, pellets and movement."""
    from evolab.physics import simulate

    cfg, genome = read_genome_file(genome_file, preset)
    try:
        sim = cfg.sim if duration is None else cfg.sim.replace(duration=duration)
    except EvolabError as err:
        fail_on(err)
    physics = chosen_backend(backend)
    result = simulate([genome], sim, seed=seed, backend=physics)[0]
    document = {
        "genome_id": result.genome_id,
        "seed": seed,
        "duration": sim.duration,
        "fitness": result.fitness,
        "pellets_collected": result.pellets_collected,
        "disqualified": result.disqualified,
        "distance_traveled": result.distance_traveled,
        "net_displacement": result.net_displacement,
        "terms": {
            "pellets": result.terms.pellets,
            "progress": result.terms.progress,
            "regression": -result.terms.regression if result.terms.regression else 0.0,
            "movement": result.terms.movement,
        },
        "substeps": result.substeps,
        "backend": physics.name,
    }
    if as_json:
        print_json(document)
        return
    status = f"disqualified ({result.disqualified})" if result.disqualified else "ok"
    stdout.print(f"creature   {result.genome_id}  ({genome.n_nodes} nodes, {genome.n_muscles} muscles)")
    stdout.print(f"status     {status}")
    stdout.print(f"fitness    {result.fitness:.2f}")
    terms = document["terms"]
    stdout.print(
        f"  pellets {terms['pellets']:.1f}  progress {terms['progress']:.1f}  "
        f"regression {terms['regression']:.1f}  movement {terms['movement']:.1f}"
    )
    stdout.print(f"pellets    {result.pellets_collected}")
    stdout.print(f"distance   {result.distance_traveled:.2f} traveled, {result.net_displacement:.2f} net")
    stdout.print(f"simulated  {sim.duration:g} s with seed {seed} on {physics.describe()}")


def random_genome_command(
    seed: Annotated[int, typer.Option(help="Seed of the generator.", min=0)] = 0,
    preset: Annotated[str, typer.Option(help="Preset whose constraints (and neural settings) apply.")] = "default",
) -> None:
    """Print a random genome as JSON (input for `evolab simulate`)."""
    import numpy as np

    from evolab.config import EvolutionConfig
    from evolab.genome import random_genome

    try:
        cfg = EvolutionConfig.from_preset(preset)
    except EvolabError as err:
        fail_on(err)
    hidden = cfg.neural_hidden_size if cfg.sim.neural_mode != "off" else None
    genome = random_genome(
        np.random.default_rng(seed),
        cfg.constraints,
        neural_hidden_size=hidden,
        neural_activation=cfg.neural_activation,
    )
    print_json(genome.to_dict())
