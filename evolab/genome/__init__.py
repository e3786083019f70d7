"""Genomes: value types, JSON (de)serialisation, validation, random generation and names."""

from evolab.genome.generate import initial_population, new_creature_id, random_genome
from evolab.genome.genes import (
    HSL,
    MUSCLE_FIELDS,
    NEURAL_INPUT_SIZE,
    NODE_FIELDS,
    SCHEMA_VERSION,
    SENSOR_NAMES,
    MuscleGene,
    NeuralGenome,
    NodeGene,
    Vec3,
    neural_weight_count,
)
from evolab.genome.model import Genome
from evolab.genome.naming import creature_name, origin_label
from evolab.genome.validation import validate_genome

__all__ = [
    "HSL",
    "MUSCLE_FIELDS",
    "NEURAL_INPUT_SIZE",
    "NODE_FIELDS",
    "SCHEMA_VERSION",
    "SENSOR_NAMES",
    "Genome",
    "MuscleGene",
    "NeuralGenome",
    "NodeGene",
    "Vec3",
    "creature_name",
    "initial_population",
    "neural_weight_count",
    "new_creature_id",
    "origin_label",
    "random_genome",
    "validate_genome",
]
