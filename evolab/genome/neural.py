"""Neural genomes: Xavier initialisation and resizing the output layer when muscles come and go."""

from __future__ import annotations

import numpy as np

from evolab.genome.genes import NEURAL_INPUT_SIZE, NeuralGenome
from evolab.genome.ranges import as_float32


def init_neural_genome(
    rng: np.random.Generator, hidden_size: int, output_size: int, activation: str = "tanh"
) -> NeuralGenome:
    """A fresh 8-H-O network: weights N(0,1)*sqrt(2/(fan_in+fan_out)), biases 0 (reference §1.8)."""
    w_ih = as_float32(
        rng.standard_normal((NEURAL_INPUT_SIZE, hidden_size)) * np.sqrt(2.0 / (NEURAL_INPUT_SIZE + hidden_size))
    )
    w_ho = as_float32(rng.standard_normal((hidden_size, output_size)) * np.sqrt(2.0 / (hidden_size + output_size)))
    return NeuralGenome.from_parts(w_ih, np.zeros(hidden_size), w_ho, np.zeros(output_size), activation)


def remove_outputs(net: NeuralGenome, outputs: np.ndarray) -> NeuralGenome:
    """Drop the output columns of removed muscles, keeping every other weight where it was."""
    keep = np.ones(net.output_size, dtype=bool)
    keep[outputs] = False
    return NeuralGenome.from_parts(
        net.input_hidden(), net.hidden_bias(), net.hidden_output()[:, keep], net.output_bias()[keep], net.activation
    )


def append_outputs(net: NeuralGenome, count: int, rng: np.random.Generator) -> NeuralGenome:
    """Add `count` output columns for new muscles (appended last): weights U(-1,1)*sqrt(2/(H+O)), bias 0."""
    if count <= 0:
        return net
    hidden = net.hidden_size
    scale = np.sqrt(2.0 / (hidden + net.output_size + count))
    new_cols = as_float32(rng.uniform(-1.0, 1.0, (hidden, count)) * scale)
    return NeuralGenome.from_parts(
        net.input_hidden(),
        net.hidden_bias(),
        np.concatenate([net.hidden_output(), new_cols], axis=1),
        np.concatenate([net.output_bias(), np.zeros(count)]),
        net.activation,
    )
