"""The encoders of schema 1 (EVF1 replays, EVG2 genome batches), kept only to test that evolab still
reads what they wrote. Do not use them for anything else."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import zstandard

from evolab.genome.model import Genome

_ACTIVATIONS = ("tanh", "relu", "sigmoid")


def encode_replay_v1(frames: np.ndarray, fitness: np.ndarray, quantum: float = 0.02) -> tuple[bytes, bytes]:
    """EVF1: one quantum for all axes, each replay compressed on its own."""

    def planes(tracks: np.ndarray, q: float) -> bytes:
        values = np.round(tracks / q).astype(np.int64)
        deltas = np.diff(values, axis=-1, prepend=0).ravel()
        zig = ((deltas << 1) ^ (deltas >> 63)).astype(np.uint64)
        width = 1
        while width < 8 and int(zig.max(initial=0)) >> (8 * width):
            width += 1
        out = np.stack([((zig >> np.uint64(8 * k)) & np.uint64(255)).astype(np.uint8) for k in range(width)])
        return bytes([width]) + out.tobytes()

    n_frames, n, _ = frames.shape
    tracks = np.asarray(frames, dtype=np.float64).transpose(1, 2, 0).reshape(n * 3, n_frames)
    compressor = zstandard.ZstdCompressor(level=1)
    header = struct.pack("<4sHHdd", b"EVF1", n_frames, n, quantum, 0.01)
    return (
        header + compressor.compress(planes(tracks, quantum)),
        compressor.compress(planes(np.asarray(fitness, dtype=np.float64)[None, :], 0.01)),
    )


def encode_batch_v2(genomes: Sequence[Genome]) -> bytes:
    """EVG2: values by column as byte planes, no dictionary."""
    header = np.zeros(
        len(genomes),
        dtype=[
            ("n_nodes", "<u2"), ("n_muscles", "<u2"), ("has_net", "u1"), ("activation", "u1"), ("hidden", "<u2"),
            ("outputs", "<u2"), ("lineage", "<u4"), ("streak", "<u4"), ("multiplier", "<f8"), ("h", "<f8"),
            ("s", "<f8"), ("l", "<f8"),
        ],
    )  # fmt: skip
    nets = [g.neural for g in genomes]
    header["n_nodes"] = [g.n_nodes for g in genomes]
    header["n_muscles"] = [g.n_muscles for g in genomes]
    header["has_net"] = [net is not None for net in nets]
    header["activation"] = [_ACTIVATIONS.index(net.activation) if net else 0 for net in nets]
    header["hidden"] = [net.hidden_size if net else 0 for net in nets]
    header["outputs"] = [net.output_size if net else 0 for net in nets]
    header["lineage"] = [g.generation for g in genomes]
    header["streak"] = [g.survival_streak for g in genomes]
    header["multiplier"] = [g.global_frequency_multiplier for g in genomes]
    header["h"] = [g.color.h for g in genomes]
    header["s"] = [g.color.s for g in genomes]
    header["l"] = [g.color.l for g in genomes]
    ends = np.concatenate([g.muscle_nodes for g in genomes]).astype("<u2")
    values = np.concatenate(
        [
            np.concatenate([g.node_params.ravel() for g in genomes]),
            np.concatenate([g.muscle_params.ravel() for g in genomes]),
        ]
        + [net.weights for net in nets if net is not None]
    )
    wide = not np.array_equal(values.astype(np.float32).astype(np.float64), values)
    stored = values.astype("<f8" if wide else "<f4")
    planes = stored.view(np.uint8).reshape(-1, stored.itemsize).T.tobytes()
    raw = struct.pack("<4sIB", b"EVG2", len(genomes), wide) + header.tobytes() + ends.tobytes() + planes
    return zstandard.ZstdCompressor(level=3).compress(raw)
