"""evolab: evolve soft-bodied 3D creatures that collect pellets (public API of DESIGN §5)."""

from evolab.config import EvolutionConfig, FitnessWeights, FramePolicy, GenomeConstraints, SimConfig
from evolab.errors import ConfigError, EvolabError, GenomeError, StorageError
from evolab.genetics import evolve_step
from evolab.genome import Genome, NeuralGenome, initial_population, random_genome, validate_genome
from evolab.physics import FitnessTerms, PelletRecord, SimResult, simulate

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "EvolabError",
    "EvolutionConfig",
    "FitnessTerms",
    "FitnessWeights",
    "FramePolicy",
    "Genome",
    "GenomeConstraints",
    "GenomeError",
    "NeuralGenome",
    "PelletRecord",
    "SimConfig",
    "SimResult",
    "StorageError",
    "__version__",
    "evolve_step",
    "initial_population",
    "random_genome",
    "simulate",
    "validate_genome",
]
