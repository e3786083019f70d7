"""Genome batches: exact round trips (float32 when every value allows it, float64 otherwise), chains of
batches compressed against the one before, schema 1's batches still read, damage refused."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard

from evolab import StorageError
from evolab.genome import Genome, random_genome
from evolab.genome.batch import GenomeBatch
from evolab.storage.genome_codec import (
    KEY_INTERVAL,
    batch_content,
    batch_depth,
    batch_from_content,
    compress_batch,
    decode_batch,
    decompress_batch,
    encode_batch,
)

from .schema1_codecs import encode_batch_v2


def identities(genomes: list[Genome]) -> list[tuple[str, tuple[str, ...]]]:
    return [(g.id, g.parent_ids) for g in genomes]


def round_trip(genomes: list[Genome]) -> list[Genome]:
    return decode_batch(encode_batch(genomes), range(len(genomes)), identities(genomes))


def mixed_population(rng: np.random.Generator, size: int = 12) -> list[Genome]:
    """Oscillator and neural genomes (every activation) with lineage, streaks and parents."""
    genomes = []
    for i in range(size):
        hidden = None if i % 3 == 0 else int(rng.integers(1, 17))
        activation = ("tanh", "relu", "sigmoid")[i % 3]
        genome = random_genome(rng, neural_hidden_size=hidden, neural_activation=activation)
        parents = (("cr_p1", "cr_p2"), ("cr_p1",), ())[i % 3]
        genomes.append(genome.replace(generation=int(rng.integers(0, 500)), survival_streak=i, parent_ids=parents))
    return genomes


def float64_genome(rng: np.random.Generator) -> Genome:
    """A genome from elsewhere whose values are not float32 numbers."""
    data = random_genome(rng, neural_hidden_size=4).to_dict()
    data["nodes"][0]["size"] = 0.1234567890123
    data["nodes"][1]["position"]["x"] = -1.0000000000001
    data["muscles"][0]["stiffness"] = 123.4567890123
    data["neuralGenome"]["weights"][0] = 0.1234567890123
    data["globalFrequencyMultiplier"] = 1.0000000000001
    genome = Genome.from_dict(data)
    assert genome.node_params[0, 0] == 0.1234567890123
    assert np.float32(genome.node_params[0, 0]) != genome.node_params[0, 0]
    return genome


def test_random_genomes_round_trip_exactly(rng: np.random.Generator) -> None:
    genomes = mixed_population(rng)
    decoded = round_trip(genomes)
    assert decoded == genomes
    for before, after in zip(genomes, decoded, strict=True):
        assert after.node_params.dtype == np.float64
        assert after.muscle_nodes.dtype == np.int32
        assert (after.neural is None) == (before.neural is None)
        if before.neural is not None:
            assert after.neural.activation == before.neural.activation
            assert np.array_equal(after.neural.weights, before.neural.weights)


def test_any_slots_can_be_decoded_in_any_order(rng: np.random.Generator) -> None:
    genomes = mixed_population(rng, size=9)
    blob = encode_batch(genomes)
    picks = [7, 0, 4]
    decoded = decode_batch(blob, picks, [(genomes[i].id, genomes[i].parent_ids) for i in picks])
    assert decoded == [genomes[i] for i in picks]


def test_a_batch_decodes_straight_into_columns_equal_to_its_genomes(rng: np.random.Generator) -> None:
    genomes = [*mixed_population(rng, size=9), float64_genome(rng)]
    content = batch_content(genomes)
    picks = [9, 2, 0, 2, 5]
    batch = batch_from_content(content, picks, [(genomes[i].id, genomes[i].parent_ids) for i in picks])
    expected = GenomeBatch.of([genomes[i] for i in picks])
    assert list(batch) == [genomes[i] for i in picks]
    assert batch.ids == expected.ids
    assert batch.parent_ids == expected.parent_ids
    for name in ("node_params", "muscle_nodes", "muscle_params", "net_weights", "net_activation", "colors"):
        assert np.array_equal(getattr(batch, name), getattr(expected, name)), name
        assert getattr(batch, name).dtype == getattr(expected, name).dtype, name
    assert len(batch_from_content(content, [], [])) == 0


def test_an_unknown_activation_code_is_refused_as_damage(rng: np.random.Generator) -> None:
    genome = random_genome(rng, neural_hidden_size=3)
    raw = bytearray(batch_content([genome]))
    raw[9 + 5] = 9  # the first header's activation byte: after the 9-byte prefix and 2 counts and a flag
    with pytest.raises(StorageError, match=r"stored genomes are corrupt \(unknown activation"):
        batch_from_content(bytes(raw), [0], [(genome.id, ())])


def test_ids_and_parents_come_from_the_caller_not_the_blob(rng: np.random.Generator) -> None:
    genome = random_genome(rng)
    (decoded,) = decode_batch(encode_batch([genome]), [0], [("cr_renamed", ("cr_x", "cr_y"))])
    assert decoded == genome.replace(id="cr_renamed", parent_ids=("cr_x", "cr_y"))


def test_a_genome_with_float64_values_round_trips_exactly(rng: np.random.Generator) -> None:
    genome = float64_genome(rng)
    assert round_trip([genome]) == [genome]


def test_a_batch_mixing_float32_and_float64_genomes_round_trips_exactly(rng: np.random.Generator) -> None:
    genomes = [*mixed_population(rng, size=4), float64_genome(rng), random_genome(rng)]
    assert round_trip(genomes) == genomes


def test_float32_genomes_take_half_the_bytes(rng: np.random.Generator) -> None:
    genomes = mixed_population(rng, size=6)
    widened = [g.replace(node_params=g.node_params + 1e-12) for g in genomes]
    narrow, wide = len(batch_content(genomes)), len(batch_content(widened))
    assert wide > 1.7 * narrow
    assert round_trip(widened) == widened


def test_an_empty_batch_round_trips() -> None:
    assert decode_batch(encode_batch([]), [], []) == []


def test_a_clone_costs_little_more_than_its_original(rng: np.random.Generator) -> None:
    genome = random_genome(rng)
    one = len(encode_batch([genome]))
    clones = len(encode_batch([genome.replace(id=f"cr_{i}") for i in range(10)]))
    assert clones < 3 * one


# -- damaged blobs -----------------------------------------------------------------------------------


@pytest.fixture
def blob(rng: np.random.Generator) -> bytes:
    return encode_batch(mixed_population(rng, size=3))


@pytest.mark.parametrize(
    "damage",
    ["empty", "garbage", "truncated", "other magic", "short body", "not compressed"],
)
def test_a_damaged_batch_is_refused(blob: bytes, damage: str) -> None:
    raw = zstandard.ZstdDecompressor().decompress(blob[5:])
    compress = zstandard.ZstdCompressor().compress
    damaged = {
        "empty": b"",
        "garbage": b"\x13\x37" * 20,
        "truncated": blob[:-6],
        "other magic": blob[:5] + compress(b"XXXX" + raw[4:]),
        "short body": blob[:5] + compress(raw[:-9]),
        "not compressed": blob[:5] + raw,
    }[damage]
    with pytest.raises(StorageError, match="stored genomes are corrupt"):
        decode_batch(damaged, [0], [("cr_a", ())])


def test_a_slot_beyond_the_batch_is_refused(blob: bytes) -> None:
    with pytest.raises(StorageError, match="stored genomes are corrupt"):
        decode_batch(blob, [3], [("cr_a", ())])


def test_slots_and_identities_must_pair_up(blob: bytes) -> None:
    with pytest.raises(StorageError, match="stored genomes are corrupt"):
        decode_batch(blob, [0, 1], [("cr_a", ())])


# -- chains of batches -------------------------------------------------------------------------------


def children_of(parents: list[Genome], rng: np.random.Generator) -> list[Genome]:
    """Copies of the parents with a tenth of their muscle values changed (what mutation does)."""
    children = []
    for i, p in enumerate(parents):
        muscles = p.muscle_params.copy()
        hit = rng.random(muscles.shape) < 0.1
        muscles[hit] = np.float32(muscles[hit] * 1.1)
        children.append(p.replace(id=f"cr_child{i}", muscle_params=muscles, parent_ids=(p.id,)))
    return children


def test_a_batch_compressed_against_the_one_before_needs_it_and_is_smaller(rng: np.random.Generator) -> None:
    parents = [random_genome(rng).replace(id=f"cr_p{i}") for i in range(20)]
    children = children_of(parents, rng)
    before = batch_content(parents)
    chained = compress_batch(batch_content(children), (0, before))
    alone = compress_batch(batch_content(children))
    assert batch_depth(chained) == 1
    assert batch_depth(alone) == 0
    assert len(chained) < 0.6 * len(alone)
    slots = range(len(children))
    assert decode_batch(chained, slots, identities(children), previous_content=before) == children
    with pytest.raises(StorageError, match="the batch before it is missing"):
        decode_batch(chained, slots, identities(children))
    with pytest.raises(StorageError, match="stored genomes are corrupt"):
        decompress_batch(chained, batch_content([random_genome(rng) for _ in range(20)]))  # another batch


def test_a_chain_restarts_with_a_self_contained_batch_every_key_interval(rng: np.random.Generator) -> None:
    genomes = [random_genome(rng) for _ in range(3)]
    content, previous, depths = batch_content(genomes), None, []
    for _ in range(2 * KEY_INTERVAL + 1):
        blob = compress_batch(content, previous)
        depths.append(batch_depth(blob))
        previous = (depths[-1], content)
    assert depths == [*range(KEY_INTERVAL), *range(KEY_INTERVAL), 0]


def test_batches_of_schema_1_still_decode(rng: np.random.Generator) -> None:
    genomes = [*mixed_population(rng, size=5), float64_genome(rng)]
    old = encode_batch_v2(genomes)
    assert batch_depth(old) is None
    assert decode_batch(old, range(len(genomes)), identities(genomes)) == genomes
