"""Laying variable-length row blocks (each genome's nodes or muscles) into padded batch arrays and back."""

from __future__ import annotations

import numba as nb
import numpy as np


def pad_rows(
    rows: np.ndarray, counts: np.ndarray, width: int, tail: tuple[int, ...], dtype: type | np.dtype
) -> np.ndarray:
    """Rows laid end to end, `counts[b]` of them for item b, as a zero-padded (B, width, *tail) array."""
    flat = np.ascontiguousarray(rows, dtype=dtype).reshape(len(rows), int(np.prod(tail)))
    return _pad(flat, np.asarray(counts, dtype=np.int64), width).reshape((len(counts), width, *tail))


@nb.njit(cache=True)
def _pad(rows, counts, width):
    out = np.zeros((counts.shape[0], width, rows.shape[1]), dtype=rows.dtype)
    start = 0
    for b in range(counts.shape[0]):
        out[b, : counts[b]] = rows[start : start + counts[b]]
        start += counts[b]
    return out


def split_blocks(values: np.ndarray, counts: np.ndarray | list[int]) -> list[np.ndarray]:
    """`values` cut into consecutive blocks of `counts` rows (views; faster than np.split for many)."""
    ends = np.cumsum(counts).tolist()
    starts = [0, *ends[:-1]]
    return [values[s:e] for s, e in zip(starts, ends, strict=True)]
