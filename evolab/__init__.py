"""evolab: evolve soft-bodied 3D creatures that collect pellets (the public API of DESIGN §5).

Names are imported on first use, so `import evolab` (and `evolab --help`) stays fast; the compiled
physics and the GA load only when something asks for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ConfigError": "evolab.errors",
    "EvolabError": "evolab.errors",
    "GenomeError": "evolab.errors",
    "StorageError": "evolab.errors",
    "BenchmarkPolicy": "evolab.config",
    "EvolutionConfig": "evolab.config",
    "FitnessWeights": "evolab.config",
    "FramePolicy": "evolab.config",
    "GenomeConstraints": "evolab.config",
    "SimConfig": "evolab.config",
    "Genome": "evolab.genome",
    "NeuralGenome": "evolab.genome",
    "initial_population": "evolab.genome",
    "random_genome": "evolab.genome",
    "validate_genome": "evolab.genome",
    "evolve_step": "evolab.genetics",
    "FitnessTerms": "evolab.physics",
    "PelletRecord": "evolab.physics",
    "SimResult": "evolab.physics",
    "simulate": "evolab.physics",
    "Backend": "evolab.physics.contract",
    "make_backend": "evolab.physics.backends",
    "Run": "evolab.runner",
    "CreatureResult": "evolab.storage",
    "GenerationStats": "evolab.storage",
}

__all__ = [
    "Backend",
    "BenchmarkPolicy",
    "ConfigError",
    "CreatureResult",
    "EvolabError",
    "EvolutionConfig",
    "FitnessTerms",
    "FitnessWeights",
    "FramePolicy",
    "GenerationStats",
    "Genome",
    "GenomeConstraints",
    "GenomeError",
    "NeuralGenome",
    "PelletRecord",
    "Run",
    "SimConfig",
    "SimResult",
    "StorageError",
    "__version__",
    "evolve_step",
    "initial_population",
    "make_backend",
    "random_genome",
    "simulate",
    "validate_genome",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evolab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from evolab.config import (
        BenchmarkPolicy,
        EvolutionConfig,
        FitnessWeights,
        FramePolicy,
        GenomeConstraints,
        SimConfig,
    )
    from evolab.errors import ConfigError, EvolabError, GenomeError, StorageError
    from evolab.genetics import evolve_step
    from evolab.genome import Genome, NeuralGenome, initial_population, random_genome, validate_genome
    from evolab.physics import FitnessTerms, PelletRecord, SimResult, simulate
    from evolab.physics.backends import make_backend
    from evolab.physics.contract import Backend
    from evolab.runner import Run
    from evolab.storage import CreatureResult, GenerationStats
