"""Crossover and clone (reference §5.4): lineage, valid connected children, output columns that follow muscles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolab import Genome, GenomeConstraints, random_genome
from evolab.genetics import blend_crossover, clone, uniform_crossover
from evolab.genetics.crossover import lerp_hsl
from evolab.genome.genes import HSL, M_DIR, M_FREQUENCY, M_STIFFNESS, M_VEL
from tests.genetics.shared import CONSTRAINT_SETS, DEFAULTS, assert_valid_child

CROSSOVERS = (blend_crossover, uniform_crossover)


def with_lineage(genome: Genome, generation: int, streak: int = 0) -> Genome:
    return genome.replace(generation=generation, survival_streak=streak, parent_ids=("cr_older",))


@pytest.fixture
def parents(rng: np.random.Generator) -> tuple[Genome, Genome]:
    p1 = with_lineage(random_genome(rng, DEFAULTS), generation=5, streak=3)
    p2 = with_lineage(random_genome(rng, DEFAULTS), generation=3, streak=1)
    return p1, p2


# -- lineage ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_crossover_child_has_a_new_id_and_both_parents(
    crossover, parents: tuple[Genome, Genome], rng: np.random.Generator
) -> None:
    p1, p2 = parents
    child = crossover(p1, p2, DEFAULTS, rng)
    assert child.id not in (p1.id, p2.id)
    assert child.parent_ids == (p1.id, p2.id)


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_crossover_child_generation_is_one_past_the_older_parent(
    crossover, parents: tuple[Genome, Genome], rng: np.random.Generator
) -> None:
    p1, p2 = parents
    assert crossover(p1, p2, DEFAULTS, rng).generation == 6
    assert crossover(p2, p1, DEFAULTS, rng).generation == 6


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_crossover_child_starts_with_no_survival_streak(
    crossover, parents: tuple[Genome, Genome], rng: np.random.Generator
) -> None:
    assert crossover(*parents, DEFAULTS, rng).survival_streak == 0


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_crossover_children_get_distinct_ids(
    crossover, parents: tuple[Genome, Genome], rng: np.random.Generator
) -> None:
    ids = {crossover(*parents, DEFAULTS, rng).id for _ in range(200)}
    assert len(ids) == 200


def test_clone_has_a_new_id_one_parent_and_the_next_generation(
    parents: tuple[Genome, Genome], rng: np.random.Generator
) -> None:
    parent = parents[0]
    child = clone(parent, rng)
    assert child.id != parent.id
    assert child.parent_ids == (parent.id,)
    assert child.generation == parent.generation + 1
    assert child.survival_streak == 0


def test_clone_copies_the_body_colour_and_network(rng: np.random.Generator) -> None:
    parent = random_genome(rng, DEFAULTS, neural_hidden_size=6)
    child = clone(parent, rng)
    assert child.n_nodes == parent.n_nodes
    assert child.n_muscles == parent.n_muscles
    assert child.color == parent.color
    assert np.array_equal(child.node_params, parent.node_params)
    assert np.array_equal(child.muscle_nodes, parent.muscle_nodes)
    assert np.array_equal(child.muscle_params, parent.muscle_params)
    assert child.global_frequency_multiplier == parent.global_frequency_multiplier
    assert child.neural == parent.neural


def test_a_clone_cannot_change_its_parent(rng: np.random.Generator) -> None:
    parent = random_genome(rng, DEFAULTS)
    before = parent.to_dict()
    child = clone(parent, rng)
    with pytest.raises(ValueError, match="read-only"):
        child.node_params[0, 0] = 99.0
    assert parent.to_dict() == before


# -- structure ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_crossover_child_muscles_refer_to_its_own_nodes(
    crossover, parents: tuple[Genome, Genome], rng: np.random.Generator
) -> None:
    for _ in range(20):
        child = crossover(*parents, DEFAULTS, rng)
        assert child.muscle_nodes.min() >= 0
        assert child.muscle_nodes.max() < child.n_nodes
        assert np.all(child.muscle_nodes[:, 0] != child.muscle_nodes[:, 1])


def test_blend_child_has_parent_one_topology(parents: tuple[Genome, Genome], rng: np.random.Generator) -> None:
    p1, p2 = parents
    child = blend_crossover(p1, p2, DEFAULTS, rng)
    assert child.n_nodes == p1.n_nodes
    assert np.array_equal(child.muscle_nodes, p1.muscle_nodes)


def test_uniform_child_has_one_parents_topology(parents: tuple[Genome, Genome], rng: np.random.Generator) -> None:
    p1, p2 = parents
    topologies = set()
    for _ in range(40):
        child = uniform_crossover(p1, p2, DEFAULTS, rng)
        source = p1 if child.n_nodes == p1.n_nodes and np.array_equal(child.muscle_nodes, p1.muscle_nodes) else p2
        assert child.n_nodes == source.n_nodes
        assert np.array_equal(child.muscle_nodes, source.muscle_nodes)
        topologies.add(source.id)
    assert topologies == {p1.id, p2.id}


def test_uniform_child_inherits_every_muscle_value_from_a_parent(rng: np.random.Generator) -> None:
    p1, p2 = random_genome(rng, DEFAULTS), random_genome(rng, DEFAULTS)
    for _ in range(20):
        child = uniform_crossover(p1, p2, DEFAULTS, rng)
        structure, other = (p1, p2) if np.array_equal(child.muscle_nodes, p1.muscle_nodes) else (p2, p1)
        partner = np.arange(child.n_muscles) % other.n_muscles
        from_structure = child.muscle_params == structure.muscle_params
        from_other = child.muscle_params == other.muscle_params[partner]
        # frequencies may be clamped to the limit afterwards; every other value is copied from one parent
        from_either = from_structure | from_other
        from_either[:, M_FREQUENCY] = True
        assert from_either.all()
        # a bias vector comes whole from one parent, so it stays a unit vector
        for cols in (M_DIR, M_VEL):
            whole = from_structure[:, cols].all(axis=1) | from_other[:, cols].all(axis=1)
            assert whole.all()


def test_blend_child_values_lie_between_the_parents(rng: np.random.Generator) -> None:
    p1, p2 = random_genome(rng, DEFAULTS), random_genome(rng, DEFAULTS)
    child = blend_crossover(p1, p2, DEFAULTS, rng)
    partner = np.arange(child.n_muscles) % p2.n_muscles
    a, b = p1.muscle_params[:, M_STIFFNESS], p2.muscle_params[partner, M_STIFFNESS]
    stiffness = child.muscle_params[:, M_STIFFNESS]
    assert np.all(stiffness >= np.minimum(a, b) - 1e-9)
    assert np.all(stiffness <= np.maximum(a, b) + 1e-9)
    m1, m2 = sorted([p1.global_frequency_multiplier, p2.global_frequency_multiplier])
    assert m1 - 1e-9 <= child.global_frequency_multiplier <= m2 + 1e-9


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_crossover_of_big_parents_respects_max_3_nodes_and_2_muscles(crossover, rng: np.random.Generator) -> None:
    big = GenomeConstraints(min_nodes=5, max_nodes=8)
    small = GenomeConstraints(max_nodes=3, max_muscles=2)
    for _ in range(30):
        child = crossover(random_genome(rng, big), random_genome(rng, big), small, rng)
        assert child.n_nodes <= 3
        assert child.n_muscles <= 2
        assert child.muscle_nodes.max(initial=0) < child.n_nodes


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_crossover_within_max_3_nodes_and_2_muscles_gives_valid_children(crossover, rng: np.random.Generator) -> None:
    small = GenomeConstraints(max_nodes=3, max_muscles=2)
    for _ in range(50):
        child = crossover(random_genome(rng, small), random_genome(rng, small), small, rng)
        assert child.n_nodes <= 3
        assert child.n_muscles <= 2
        assert_valid_child(child, small)


# -- neural networks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_crossing_a_network_with_itself_keeps_every_weight(crossover, rng: np.random.Generator) -> None:
    parent = random_genome(rng, DEFAULTS, neural_hidden_size=5)
    child = crossover(parent, parent, DEFAULTS, rng)
    assert child.neural == parent.neural


@pytest.mark.parametrize("crossover", CROSSOVERS)
def test_truncated_child_keeps_the_output_columns_of_its_kept_muscles(crossover, rng: np.random.Generator) -> None:
    big = GenomeConstraints(min_nodes=6, max_nodes=8, max_muscles=20)
    small = GenomeConstraints(max_nodes=4, max_muscles=20)
    for _ in range(20):
        parent = random_genome(rng, big, neural_hidden_size=4)
        child = crossover(parent, parent, small, rng)
        kept = np.flatnonzero((parent.muscle_nodes < 4).all(axis=1))
        assert np.array_equal(child.muscle_nodes, parent.muscle_nodes[kept])
        net, parent_net = child.neural, parent.neural
        assert net.output_size == len(kept)
        assert np.array_equal(net.hidden_output(), parent_net.hidden_output()[:, kept])
        assert np.array_equal(net.output_bias(), parent_net.output_bias()[kept])
        assert np.array_equal(net.input_hidden(), parent_net.input_hidden())
        assert np.array_equal(net.hidden_bias(), parent_net.hidden_bias())


def test_blend_child_of_a_networkless_partner_keeps_parent_one_network(rng: np.random.Generator) -> None:
    p1 = random_genome(rng, DEFAULTS, neural_hidden_size=8)
    p2 = random_genome(rng, DEFAULTS)
    assert blend_crossover(p1, p2, DEFAULTS, rng).neural == p1.neural


def test_blend_child_of_a_networkless_parent_one_has_no_network(rng: np.random.Generator) -> None:
    p1 = random_genome(rng, DEFAULTS)
    p2 = random_genome(rng, DEFAULTS, neural_hidden_size=8)
    assert blend_crossover(p1, p2, DEFAULTS, rng).neural is None


def test_blend_child_weights_lie_between_the_parents(rng: np.random.Generator) -> None:
    p1 = random_genome(rng, DEFAULTS, neural_hidden_size=8)
    p2 = random_genome(rng, DEFAULTS, neural_hidden_size=8)
    child = blend_crossover(p1, p2, DEFAULTS, rng)
    partner = np.arange(p1.n_muscles) % p2.n_muscles
    low = np.minimum(p1.neural.hidden_output(), p2.neural.hidden_output()[:, partner])
    high = np.maximum(p1.neural.hidden_output(), p2.neural.hidden_output()[:, partner])
    assert np.all((low - 1e-12 <= child.neural.hidden_output()) & (child.neural.hidden_output() <= high + 1e-12))
    assert child.neural.hidden_size == 8
    assert child.neural.activation == p1.neural.activation


# -- invariants over many random parents --------------------------------------------------------------


@settings(max_examples=400)
@given(
    seed=st.integers(0, 2**32 - 1),
    constraints=st.sampled_from(CONSTRAINT_SETS),
    hidden=st.tuples(st.sampled_from([None, 1, 4, 8]), st.sampled_from([None, 4, 12])),
)
def test_crossover_of_valid_parents_is_always_valid_and_connected(
    seed: int, constraints: GenomeConstraints, hidden: tuple[int | None, int | None]
) -> None:
    rng = np.random.default_rng(seed)
    p1 = random_genome(rng, constraints, neural_hidden_size=hidden[0])
    p2 = random_genome(rng, constraints, neural_hidden_size=hidden[1])
    for crossover in CROSSOVERS:
        for first, second in ((p1, p2), (p2, p1), (p1, p1)):
            child = crossover(first, second, constraints, rng)
            assert_valid_child(child, constraints)
            assert child.parent_ids == (first.id, second.id)


# -- colour -------------------------------------------------------------------------------------------


def test_lerp_hsl_goes_the_short_way_round_the_hue_circle() -> None:
    mid = lerp_hsl(HSL(0.9, 0.5, 0.4), HSL(0.1, 0.7, 0.6), 0.5)
    assert min(mid.h, 1.0 - mid.h) == pytest.approx(0.0, abs=1e-12)
    assert mid.s == pytest.approx(0.6)
    assert mid.l == pytest.approx(0.5)


def test_lerp_hsl_ends_at_its_endpoints() -> None:
    a, b = HSL(0.2, 0.5, 0.4), HSL(0.6, 0.9, 0.6)
    assert lerp_hsl(a, b, 0.0) == a
    end = lerp_hsl(a, b, 1.0)
    assert (end.h, end.s, end.l) == pytest.approx((b.h, b.s, b.l))


unit = st.floats(min_value=0.0, max_value=1.0)


@given(st.builds(HSL, unit, unit, unit), st.builds(HSL, unit, unit, unit), unit)
def test_lerp_hsl_stays_a_valid_colour_on_the_shorter_arc(a: HSL, b: HSL, t: float) -> None:
    c = lerp_hsl(a, b, t)
    assert 0.0 <= c.h <= 1.0
    assert 0.0 <= c.s <= 1.0
    assert 0.0 <= c.l <= 1.0

    def arc(x: float, y: float) -> float:
        d = abs(x - y) % 1.0
        return min(d, 1.0 - d)

    assert arc(a.h, c.h) == pytest.approx(t * arc(a.h, b.h), abs=1e-9)
