"""Replay encoding: positions within half of their axis's quantum, fitness within half of 0.01, the two
forms (raw for replay blocks, compressed blobs for export) convert exactly, schema 1's replays still
decode, and damaged blobs are refused."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard

from evolab import StorageError
from evolab.storage.frame_codec import (
    FITNESS_QUANTUM,
    POSITION_QUANTA,
    compress_raw,
    decode_raw,
    decode_replay,
    decompress_raw,
    encode_replay,
    last_frame,
    raw_replays,
)

from .schema1_codecs import encode_replay_v1

QUANTA = np.array(POSITION_QUANTA)


def assert_round_trip(frames: np.ndarray, fitness: np.ndarray) -> None:
    decoded_frames, decoded_fitness = decode_replay(*encode_replay(frames, fitness))
    assert decoded_frames.dtype == np.float32
    assert decoded_fitness.dtype == np.float64
    assert decoded_frames.shape == frames.shape
    assert decoded_fitness.shape == fitness.shape
    # half a quantum per axis, plus float32 rounding of coordinates up to ±50 (ulp 2**-18 ≈ 4e-6)
    position_error = np.abs(decoded_frames.astype(np.float64) - frames.astype(np.float64))
    assert (position_error <= QUANTA / 2 + 4e-6).all()
    assert np.abs(decoded_fitness - fitness).max(initial=0.0) <= FITNESS_QUANTUM / 2 + 1e-9


def walk(rng: np.random.Generator, n_frames: int, n_nodes: int, scale: float = 0.05) -> np.ndarray:
    """(F, n, 3) float32 positions drifting like a creature's nodes."""
    start = rng.uniform(-3.0, 3.0, (1, n_nodes, 3))
    steps = rng.normal(0.0, scale, (n_frames - 1, n_nodes, 3))
    return np.concatenate([start, start + np.cumsum(steps, axis=0)]).astype(np.float32)


def test_height_is_kept_finer_than_the_ground_axes() -> None:
    x, y, z = POSITION_QUANTA
    assert y < x == z <= 0.1


@pytest.mark.parametrize(("n_frames", "n_nodes"), [(151, 5), (16, 2), (76, 12), (2, 1), (301, 32)])
def test_random_replays_round_trip_within_half_a_quantum(rng: np.random.Generator, n_frames: int, n_nodes: int) -> None:
    fitness = np.cumsum(rng.uniform(0.0, 3.0, n_frames))
    assert_round_trip(walk(rng, n_frames, n_nodes), fitness)


def test_a_single_frame_of_a_single_node_round_trips(rng: np.random.Generator) -> None:
    assert_round_trip(rng.uniform(-5, 5, (1, 1, 3)).astype(np.float32), np.array([42.4242]))


def test_coordinates_out_to_fifty_units_round_trip(rng: np.random.Generator) -> None:
    frames = rng.uniform(-50.0, 50.0, (40, 6, 3)).astype(np.float32)
    frames[0, 0] = (50.0, -50.0, 49.995)
    frames[-1, -1] = (-49.999, 50.0, -0.005)
    assert_round_trip(frames, rng.uniform(-500.0, 500.0, 40))


def test_negative_values_and_jumps_round_trip(rng: np.random.Generator) -> None:
    frames = -rng.uniform(0.0, 20.0, (30, 4, 3)).astype(np.float32)
    frames[::2] *= -1  # every other frame jumps across the origin
    assert_round_trip(frames, -np.abs(rng.normal(0.0, 100.0, 30)))


def test_a_creature_that_never_moves_round_trips(rng: np.random.Generator) -> None:
    pose = rng.uniform(-2.0, 2.0, (1, 5, 3)).astype(np.float32)
    frames = np.repeat(pose, 151, axis=0)
    decoded, fitness = decode_replay(*encode_replay(frames, np.zeros(151)))
    assert np.array_equal(decoded, np.repeat(decoded[:1], 151, axis=0))
    assert np.array_equal(fitness, np.zeros(151))
    assert_round_trip(frames, np.zeros(151))


def test_values_on_the_quantum_grid_come_back_on_it(rng: np.random.Generator) -> None:
    grid = rng.integers(-500, 500, (20, 3, 3))
    fitness_grid = rng.integers(-(10**6), 10**6, 20)
    decoded, fitness = decode_replay(*encode_replay((grid * QUANTA).astype(np.float32), fitness_grid * FITNESS_QUANTUM))
    assert np.array_equal(np.round(decoded.astype(np.float64) / QUANTA).astype(np.int64), grid)
    assert np.array_equal(np.round(fitness / FITNESS_QUANTUM).astype(np.int64), fitness_grid)


def test_encoding_many_replays_at_once_matches_encoding_each(rng: np.random.Generator) -> None:
    replays = [(walk(rng, 31, n), np.cumsum(rng.uniform(0, 2, 31))) for n in (2, 7, 3)]
    together = [compress_raw(raw) for raw in raw_replays(replays)]
    assert together == [encode_replay(f, s) for f, s in replays]


def test_raw_and_compressed_forms_convert_without_changing_a_value(rng: np.random.Generator) -> None:
    (raw,) = raw_replays([(walk(rng, 40, 4), np.cumsum(rng.uniform(0, 1, 40)))])
    again = decompress_raw(*compress_raw(raw))
    assert (again.n_frames, again.n_nodes, again.quanta, again.fitness_quantum) == (40, 4, POSITION_QUANTA, 0.01)
    assert (again.positions, again.fitness) == (raw.positions, raw.fitness)
    for a, b in zip(decode_raw(again), decode_raw(raw), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(("n_frames", "n_nodes"), [(1, 1), (151, 8), (40, 3)])
def test_the_last_frame_alone_is_the_decoded_replays_last_frame(
    rng: np.random.Generator, n_frames: int, n_nodes: int
) -> None:
    (raw,) = raw_replays([(walk(rng, n_frames, n_nodes, scale=0.4), np.zeros(n_frames))])
    last = last_frame(raw)
    assert last.dtype == np.float32
    assert last.tobytes() == decode_raw(raw)[0][-1].tobytes()


def test_a_slow_walk_compresses_well(rng: np.random.Generator) -> None:
    frames = walk(rng, 151, 5, scale=0.02)
    frames_blob, _ = encode_replay(frames, np.zeros(151))
    assert len(frames_blob) < frames.nbytes / 8


def test_replays_of_schema_1_decode_on_their_own_2_cm_grid(rng: np.random.Generator) -> None:
    frames, fitness = walk(rng, 25, 3), np.cumsum(rng.uniform(0, 1, 25))
    decoded, decoded_fitness = decode_replay(*encode_replay_v1(frames, fitness))
    assert np.abs(decoded - frames).max() <= 0.01 + 4e-6
    assert np.abs(decoded_fitness - fitness).max() <= 0.005 + 1e-9
    raw = decompress_raw(*encode_replay_v1(frames, fitness))
    assert raw.quanta == (0.02, 0.02, 0.02)


# -- damaged blobs -----------------------------------------------------------------------------------


@pytest.fixture
def blobs(rng: np.random.Generator) -> tuple[bytes, bytes]:
    return encode_replay(walk(rng, 20, 3), np.cumsum(rng.uniform(0, 1, 20)))


def test_a_blob_of_another_kind_is_refused(blobs: tuple[bytes, bytes]) -> None:
    frames_blob, fitness_blob = blobs
    with pytest.raises(StorageError, match="stored frames are corrupt"):
        decode_replay(b"XXXX" + frames_blob[4:], fitness_blob)
    with pytest.raises(StorageError, match="stored frames are corrupt"):
        decode_replay(fitness_blob, frames_blob)


@pytest.mark.parametrize("damage", ["empty", "header only", "truncated", "garbage body", "garbage fitness"])
def test_a_damaged_blob_is_refused(blobs: tuple[bytes, bytes], damage: str) -> None:
    frames_blob, fitness_blob = blobs
    damaged = {
        "empty": (b"", fitness_blob),
        "header only": (frames_blob[:40], fitness_blob),
        "truncated": (frames_blob[:-5], fitness_blob),
        "garbage body": (frames_blob[:40] + b"\x00" * 40, fitness_blob),
        "garbage fitness": (frames_blob, fitness_blob[:-4]),
    }[damage]
    with pytest.raises(StorageError, match="stored frames are corrupt"):
        decode_replay(*damaged)


def test_a_fitness_blob_of_the_wrong_length_is_refused(blobs: tuple[bytes, bytes], rng: np.random.Generator) -> None:
    frames_blob, _ = blobs
    _, short_fitness = encode_replay(walk(rng, 7, 3), np.zeros(7))
    with pytest.raises(StorageError, match="stored frames are corrupt"):
        decode_replay(frames_blob, short_fitness)


@pytest.mark.parametrize("which", ["frames", "fitness"])
def test_a_blob_that_decompresses_to_nothing_is_refused(blobs: tuple[bytes, bytes], which: str) -> None:
    frames_blob, fitness_blob = blobs
    nothing = zstandard.ZstdCompressor().compress(b"")
    damaged = (frames_blob[:40] + nothing, fitness_blob) if which == "frames" else (frames_blob, nothing)
    with pytest.raises(StorageError, match="stored frames are corrupt"):
        decode_replay(*damaged)
