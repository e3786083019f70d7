"""Work claiming in compiled kernels: every item is claimed exactly once, however the threads interleave."""

from __future__ import annotations

import numba as nb
import numpy as np

from evolab.physics.atomics import fetch_add


@nb.njit(parallel=True, nogil=True)
def _claim_all(n_items, n_workers, claims, counter):
    for _w in nb.prange(n_workers):
        while True:
            item = fetch_add(counter, 1)
            if item >= n_items:
                break
            claims[item] += 1


def test_fetch_add_returns_the_value_before_the_add() -> None:
    @nb.njit
    def twice(counter):
        return fetch_add(counter, 5), fetch_add(counter, 2)

    counter = np.array([7], dtype=np.int64)
    assert twice(counter) == (7, 12)
    assert counter[0] == 14


def test_threads_claiming_from_one_counter_take_every_item_exactly_once() -> None:
    n_items = 200_000
    claims = np.zeros(n_items, dtype=np.int64)
    counter = np.zeros(1, dtype=np.int64)
    _claim_all(n_items, 2, claims, counter)
    assert (claims == 1).all()
    assert counter[0] == n_items + 2  # each worker's last claim found nothing left
