"""GenomeBatch: a generation's genes laid end to end, read back as the same genomes."""

from __future__ import annotations

import numpy as np
import pytest

from evolab import EvolutionConfig
from evolab.genome import Genome, initial_population
from evolab.genome.batch import GenomeBatch


@pytest.fixture
def mixed() -> list[Genome]:
    """Oscillator and neural genomes of several sizes, with lineage and streaks."""
    rng = np.random.default_rng(7)
    oscillators = initial_population(EvolutionConfig.from_preset("quick", population_size=4, elite_count=1), rng)
    neural = initial_population(
        EvolutionConfig.from_preset("neural-hybrid", population_size=3, elite_count=1, neural_activation="relu"), rng
    )
    return [
        oscillators[0].replace(generation=3, survival_streak=2, parent_ids=("cr_a", "cr_b")),
        *neural,
        *oscillators[1:],
    ]


def test_a_batch_reads_back_every_genome_exactly(mixed: list[Genome]) -> None:
    batch = GenomeBatch.of(mixed)
    assert len(batch) == len(mixed)
    assert list(batch) == mixed
    assert [batch[i] for i in range(len(mixed))] == mixed
    assert batch[-1] == mixed[-1]
    assert batch[1:3] == mixed[1:3]


def test_a_batch_lays_rows_end_to_end_with_counts(mixed: list[Genome]) -> None:
    batch = GenomeBatch.of(mixed)
    assert batch.n_nodes.tolist() == [g.n_nodes for g in mixed]
    assert batch.node_params.shape == (sum(g.n_nodes for g in mixed), 5)
    assert batch.muscle_params.shape == (sum(g.n_muscles for g in mixed), 16)
    assert np.array_equal(batch.node_params[batch.node_start[2] :][: mixed[2].n_nodes], mixed[2].node_params)
    assert batch.weight_counts.tolist() == [0 if g.neural is None else g.neural.weights.size for g in mixed]
    assert batch.net_weights.size == batch.weight_counts.sum()


def test_a_batch_is_read_only_and_its_genomes_share_its_rows(mixed: list[Genome]) -> None:
    batch = GenomeBatch.of(mixed)
    for array in (batch.node_params, batch.muscle_nodes, batch.muscle_params, batch.net_weights, batch.lineage):
        assert not array.flags.writeable
    assert np.shares_memory(batch[1].muscle_params, batch.muscle_params)
    assert GenomeBatch.of(batch) is batch


def test_an_index_out_of_range_is_an_index_error(mixed: list[Genome]) -> None:
    with pytest.raises(IndexError):
        GenomeBatch.of(mixed)[len(mixed)]


def test_an_empty_batch_is_empty() -> None:
    batch = GenomeBatch.of([])
    assert len(batch) == 0
    assert list(batch) == []


def test_take_gathers_genomes_in_any_order_with_repeats(mixed: list[Genome]) -> None:
    batch = GenomeBatch.of(mixed)
    order = [3, 0, 3, -1, 5]
    assert list(batch.take(order)) == [mixed[i] for i in order]
    assert list(batch.take([])) == []
    with pytest.raises(IndexError):
        batch.take([len(mixed)])


def test_concat_lays_batches_one_after_another(mixed: list[Genome]) -> None:
    first, second = GenomeBatch.of(mixed[:3]), GenomeBatch.of(mixed[3:])
    assert list(GenomeBatch.concat([first, second])) == mixed
    assert list(GenomeBatch.concat([])) == []


def test_a_batch_from_its_columns_is_the_batch_of_its_genomes(mixed: list[Genome]) -> None:
    batch = GenomeBatch.of(mixed)
    columns = {name: getattr(batch, name).tolist() for name in ("lineage", "survival_streaks", "multipliers",
        "colors", "n_nodes", "n_muscles", "node_params", "muscle_nodes", "muscle_params", "net_hidden",
        "net_outputs", "net_activation", "net_weights")}  # fmt: skip
    rebuilt = GenomeBatch.from_columns(batch.ids, batch.parent_ids, **columns)
    assert list(rebuilt) == mixed
    assert not rebuilt.node_params.flags.writeable
    assert rebuilt.net_activation.dtype == np.int8
    with pytest.raises(TypeError, match="array fields"):
        GenomeBatch.from_columns(batch.ids, batch.parent_ids, **{**columns, "extra": [1]})
