"""`RankedResults`: a generation's results as columns, read back as `CreatureResult`s by rank."""

from __future__ import annotations

import pytest

from evolab.storage import CreatureResult, RankedResults

RESULTS = [
    CreatureResult("cr_0000000000000001", 4, 0, 12.5, 2, None, 3, 4.0, 2.5),
    CreatureResult("cr_0000000000000002", 4, 1, 7.0, 1, None, 0, 3.0, 1.0),
    CreatureResult("cr_0000000000000003", 4, 2, 0.0, 0, "nan_position", 0, 0.0, 0.0),
]


def test_results_come_back_by_rank_exactly_as_they_went_in() -> None:
    ranked = RankedResults.of(RESULTS)
    assert len(ranked) == 3
    assert list(ranked) == RESULTS
    assert [ranked[i] for i in range(3)] == RESULTS
    assert ranked[-1] == RESULTS[-1]
    assert ranked[1:] == RESULTS[1:]
    assert ranked.creature_ids == [r.creature_id for r in RESULTS]
    assert RankedResults.of(ranked) is ranked


def test_a_rank_past_the_last_is_an_index_error() -> None:
    with pytest.raises(IndexError, match="rank 3 out of range for 3 results"):
        RankedResults.of(RESULTS)[3]


def test_no_results_are_an_empty_sequence() -> None:
    ranked = RankedResults.of([])
    assert len(ranked) == 0
    assert list(ranked) == []
