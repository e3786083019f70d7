"""creature_name and origin_label: the original app's names and lineage labels (reference §5.7)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evolab.genome import HSL, MUSCLE_FIELDS, NODE_FIELDS, Genome, creature_name, origin_label, random_genome

HUE_LETTERS = "ROYGBVPMCSTAWDELFHIJKNQUXZ"
STRUCTURE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def genome_with(
    n_nodes: int = 3,
    n_muscles: int = 16,
    hue: float = 0.0,
    genome_id: str = "creature_1700000000000_42",
    streak: int = 0,
    parents: tuple[str, ...] = (),
) -> Genome:
    """A genome with just the features a name reads: hue, node and muscle counts, id and streak."""
    return Genome(
        id=genome_id,
        node_params=np.full((n_nodes, len(NODE_FIELDS)), 0.5),
        muscle_nodes=np.zeros((n_muscles, 2), dtype=np.int32),
        muscle_params=np.full((n_muscles, len(MUSCLE_FIELDS)), 0.5),
        global_frequency_multiplier=1.0,
        color=HSL(hue, 0.7, 0.5),
        survival_streak=streak,
        parent_ids=parents,
    )


def test_the_reference_example_reads_rb42() -> None:
    # hue in the first 26th -> R; 3*3 + 16 = 25 -> 25 mod 24 = 1 -> B; id number 42.
    assert creature_name(genome_with(n_nodes=3, n_muscles=16, hue=0.01)) == "RB42"


@pytest.mark.parametrize(
    ("hue", "letter"),
    [(0.0, "R"), (0.038, "R"), (0.04, "O"), (0.5, "D"), (0.9999, "Z"), (1.0, "R")],
)
def test_the_first_letter_is_the_hue_in_26_steps(hue: float, letter: str) -> None:
    assert creature_name(genome_with(hue=hue))[0] == letter


@pytest.mark.parametrize(
    ("n_nodes", "n_muscles", "letter"),
    [(2, 1, "H"), (8, 0, "A"), (3, 16, "B"), (2, 17, "Z"), (5, 15, "G"), (2, 2, "J"), (8, 15, "R")],
)
def test_the_second_letter_is_3_nodes_plus_muscles_mod_24(n_nodes: int, n_muscles: int, letter: str) -> None:
    assert creature_name(genome_with(n_nodes=n_nodes, n_muscles=n_muscles))[1] == letter


def test_the_structure_alphabet_skips_i_and_o() -> None:
    letters = {creature_name(genome_with(n_nodes=2, n_muscles=m))[1] for m in range(24)}

    assert letters == set(STRUCTURE_LETTERS)
    assert not letters & {"I", "O"}


@pytest.mark.parametrize(
    ("genome_id", "number"),
    [
        ("creature_1700000000000_42", "42"),
        ("creature_1700000000000_7", "7"),
        ("creature_1700000000000_1234", "234"),
        ("creature_1700000000000_1000", "0"),
        ("creature_1700000000000_999", "999"),
    ],
)
def test_the_number_is_the_id_counter_mod_1000(genome_id: str, number: str) -> None:
    assert creature_name(genome_with(genome_id=genome_id))[2:] == number


@pytest.mark.parametrize(("streak", "suffix"), [(1, "★1"), (12, "★12")])
def test_a_survival_streak_is_appended_with_a_star(streak: int, suffix: str) -> None:
    assert creature_name(genome_with(hue=0.01, streak=streak)) == f"RB42{suffix}"


def test_no_star_without_a_streak() -> None:
    assert "★" not in creature_name(genome_with(streak=0))


@given(seed=st.integers(0, 2**63 - 1))
def test_every_random_creature_gets_two_letters_and_a_number_below_1000(seed: int) -> None:
    genome = random_genome(np.random.default_rng(seed))

    name = creature_name(genome)

    assert name[0] in HUE_LETTERS
    assert name[1] in STRUCTURE_LETTERS
    assert name[2:].isdigit()
    assert 0 <= int(name[2:]) < 1000
    assert name == creature_name(genome)


@pytest.mark.parametrize(
    ("parents", "label"),
    [((), "Original"), (("cr_a",), "Mutant"), (("cr_a", "cr_b"), "Crossover (2 parents)")],
)
def test_the_origin_label_counts_the_parents(parents: tuple[str, ...], label: str) -> None:
    assert origin_label(genome_with(parents=parents)) == label
