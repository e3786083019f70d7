"""Laying variable-length row blocks (each genome's nodes or muscles) into padded batch arrays and back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pad_blocks(
    blocks: Sequence[np.ndarray], counts: np.ndarray, width: int, tail: tuple[int, ...], dtype: type | np.dtype
) -> np.ndarray:
    """Stack blocks of `counts` rows into a zero-padded (B, width, *tail) array (one scatter, no loop)."""
    out = np.zeros((len(counts), width, *tail), dtype=dtype)
    if int(np.sum(counts)):
        rows = np.repeat(np.arange(len(counts)), counts)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        out[rows, np.arange(rows.size) - starts] = np.concatenate(blocks)
    return out


def split_blocks(values: np.ndarray, counts: np.ndarray | list[int]) -> list[np.ndarray]:
    """`values` cut into consecutive blocks of `counts` rows (views; faster than np.split for many)."""
    ends = np.cumsum(counts).tolist()
    starts = [0, *ends[:-1]]
    return [values[s:e] for s, e in zip(starts, ends, strict=True)]
