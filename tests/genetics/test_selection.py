"""Selection operators (reference §5.1): ranking, elites, truncation, rank weights and parent picks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evolab.genetics import (
    elite_indices,
    rank_order,
    rank_probabilities,
    tournament_selection,
    truncation_survivors,
    weighted_pick,
)
from evolab.genetics.selection import tournament_pick

SIX = np.array([10.0, 50.0, 30.0, 60.0, 20.0, 40.0])
"""Six creatures; best to worst they are indices 3, 1, 5, 2, 4, 0."""

fitness_arrays = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=0, max_size=60
).map(np.array)


# -- rank_order ---------------------------------------------------------------------------------------


def test_rank_order_lists_indices_best_first() -> None:
    assert rank_order(SIX).tolist() == [3, 1, 5, 2, 4, 0]


def test_rank_order_keeps_input_order_among_ties() -> None:
    assert rank_order(np.array([5.0, 7.0, 5.0, 7.0, 5.0])).tolist() == [1, 3, 0, 2, 4]


@given(fitness_arrays)
def test_rank_order_is_a_permutation_sorted_by_descending_fitness(fitnesses: np.ndarray) -> None:
    order = rank_order(fitnesses)
    assert sorted(order.tolist()) == list(range(len(fitnesses)))
    assert np.all(np.diff(fitnesses[order]) <= 0.0)


# -- elite_indices ------------------------------------------------------------------------------------


def test_elites_are_the_top_n_in_order() -> None:
    assert elite_indices(SIX, 3).tolist() == [3, 1, 5]


def test_elites_of_the_pipeline_example_are_190_180_170() -> None:
    fitnesses = np.array([100.0, 190.0, 150.0, 170.0, 120.0, 180.0])
    assert fitnesses[elite_indices(fitnesses, 3)].tolist() == [190.0, 180.0, 170.0]


def test_elite_count_is_capped_at_the_population() -> None:
    assert elite_indices(SIX, 100).tolist() == [3, 1, 5, 2, 4, 0]


def test_elites_of_an_empty_population_are_empty() -> None:
    assert elite_indices(np.array([]), 5).size == 0


def test_zero_elites_is_empty() -> None:
    assert elite_indices(SIX, 0).size == 0


# -- truncation_survivors -----------------------------------------------------------------------------


def test_truncation_keeps_the_top_half() -> None:
    survivors = truncation_survivors(SIX, 0.5)
    assert survivors.tolist() == [3, 1, 5]
    culled = sorted(set(range(6)) - set(survivors.tolist()))
    assert culled == [0, 2, 4]


def test_truncation_keeps_the_best() -> None:
    assert truncation_survivors(SIX, 0.5)[0] == int(np.argmax(SIX))


def test_truncation_at_rate_two_thirds_culls_only_the_worst_two() -> None:
    survivors = truncation_survivors(SIX, 0.67)
    assert len(survivors) == 4
    assert 0 not in survivors
    assert 4 not in survivors


@pytest.mark.parametrize("rate", [0.0, 0.01, 0.1])
def test_truncation_always_keeps_at_least_one(rate: float) -> None:
    assert truncation_survivors(SIX, rate).tolist() == [3]


def test_truncation_of_a_single_creature_keeps_it() -> None:
    assert truncation_survivors(np.array([3.0]), 0.5).tolist() == [0]


def test_truncation_of_an_empty_population_is_empty() -> None:
    assert truncation_survivors(np.array([]), 0.5).size == 0


def test_truncation_leaves_its_input_untouched() -> None:
    fitnesses = SIX.copy()
    truncation_survivors(fitnesses, 0.5)
    rank_order(fitnesses)
    elite_indices(fitnesses, 2)
    assert np.array_equal(fitnesses, SIX)


def test_truncation_survivors_are_fitter_than_the_culled(rng: np.random.Generator) -> None:
    fitnesses = rng.permutation(100).astype(float)
    survivors = truncation_survivors(fitnesses, 0.5)
    assert len(survivors) == 50
    assert fitnesses[survivors].mean() > 50.0
    assert fitnesses[survivors].min() > np.delete(fitnesses, survivors).max()


@given(fitness_arrays.filter(len), st.floats(min_value=0.0, max_value=1.0))
def test_truncation_keeps_max_1_floor_n_rate_best_first(fitnesses: np.ndarray, rate: float) -> None:
    survivors = truncation_survivors(fitnesses, rate)
    n = len(fitnesses)
    assert max(1, int(np.floor(n * rate))) <= len(survivors) <= max(1, int(np.floor(n * rate + 1e-9)))
    assert survivors.tolist() == rank_order(fitnesses)[: len(survivors)].tolist()


# -- rank_probabilities -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 10, 50, 1000])
def test_rank_probabilities_sum_to_one_and_favour_the_fitter(n: int) -> None:
    probabilities = rank_probabilities(n)
    assert probabilities.shape == (n,)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(probabilities) < 0.0)
    assert np.all(probabilities > 0.0)


def test_rank_probabilities_of_50_survivors_match_the_reference() -> None:
    probabilities = rank_probabilities(50)
    assert probabilities[0] == pytest.approx(50 / 1275)
    assert probabilities[-1] == pytest.approx(1 / 1275)


def test_rank_probabilities_are_linear_in_rank() -> None:
    assert rank_probabilities(4).tolist() == pytest.approx([0.4, 0.3, 0.2, 0.1])


# -- weighted_pick ------------------------------------------------------------------------------------


def test_weighted_pick_returns_a_member(rng: np.random.Generator) -> None:
    probabilities = rank_probabilities(7)
    picks = {weighted_pick(probabilities, rng) for _ in range(500)}
    assert picks <= set(range(7))


def test_weighted_pick_follows_the_probabilities(rng: np.random.Generator) -> None:
    probabilities = rank_probabilities(10)
    draws = 20_000
    counts = np.bincount([weighted_pick(probabilities, rng) for _ in range(draws)], minlength=10)
    expected = probabilities * draws
    # five standard deviations of a binomial count: a seeded test, but far from the edge
    assert np.all(np.abs(counts - expected) < 5.0 * np.sqrt(expected * (1.0 - probabilities)))
    assert counts[0] > counts[4] > counts[9]


def test_weighted_pick_never_picks_a_zero_probability_entry(rng: np.random.Generator) -> None:
    probabilities = np.array([0.0, 0.5, 0.0, 0.5, 0.0])
    picks = {weighted_pick(probabilities, rng) for _ in range(1000)}
    assert picks == {1, 3}


def test_weighted_pick_falls_back_to_the_last_entry(rng: np.random.Generator) -> None:
    # the cumulative sum never reaches U(0, 1): the walk ends on the last element, as in the original
    probabilities = np.array([0.0, 0.0, 1e-300])
    assert {weighted_pick(probabilities, rng) for _ in range(100)} == {2}


# -- tournaments --------------------------------------------------------------------------------------


def test_tournament_returns_the_requested_number_of_distinct_members(rng: np.random.Generator) -> None:
    fitnesses = rng.uniform(0.0, 100.0, 20)
    winners = tournament_selection(fitnesses, 3, 8, rng)
    assert len(winners) == 8
    assert len(set(winners.tolist())) == 8
    assert set(winners.tolist()) <= set(range(20))


def test_tournament_asking_for_more_than_the_population_returns_everyone(rng: np.random.Generator) -> None:
    winners = tournament_selection(SIX, 3, 10, rng)
    assert sorted(winners.tolist()) == list(range(6))


def test_tournament_of_nobody_returns_nobody(rng: np.random.Generator) -> None:
    assert tournament_selection(np.array([]), 3, 4, rng).size == 0
    assert tournament_selection(SIX, 3, 0, rng).size == 0


def test_tournament_draws_at_most_pool_size_contestants(rng: np.random.Generator) -> None:
    # min(size, pool) = 6 draws with replacement: the best is among them with probability 1 - (5/6)^6
    firsts = np.array([tournament_selection(SIX, 500, 1, rng)[0] for _ in range(2000)])
    assert np.mean(firsts == 3) == pytest.approx(1.0 - (5 / 6) ** 6, abs=0.04)


def test_tournament_ties_go_to_the_earlier_contestant(rng: np.random.Generator) -> None:
    # all equal: the lowest index drawn wins, so creature 0 wins whenever drawn, 1 - (3/4)^3 of the time
    firsts = np.array([tournament_selection(np.zeros(4), 3, 1, rng)[0] for _ in range(2000)])
    assert np.mean(firsts == 0) == pytest.approx(1.0 - (3 / 4) ** 3, abs=0.04)
    assert np.mean(firsts == 3) == pytest.approx((1 / 4) ** 3, abs=0.02)


def test_tournament_winners_are_fitter_than_average(rng: np.random.Generator) -> None:
    fitnesses = np.arange(100, dtype=float)
    firsts = [tournament_selection(fitnesses, 5, 1, rng)[0] for _ in range(500)]
    assert fitnesses[firsts].mean() > 70.0


def test_tournament_pick_returns_a_rank_within_the_survivors(rng: np.random.Generator) -> None:
    picks = [tournament_pick(12, 3, rng) for _ in range(1000)]
    assert min(picks) >= 0
    assert max(picks) < 12


def test_bigger_tournaments_favour_better_ranks(rng: np.random.Generator) -> None:
    mean_rank = {size: np.mean([tournament_pick(50, size, rng) for _ in range(2000)]) for size in (1, 3, 7)}
    assert mean_rank[1] > mean_rank[3] > mean_rank[7]
    assert mean_rank[1] == pytest.approx(24.5, abs=2.0)  # size 1: uniform over the ranks
