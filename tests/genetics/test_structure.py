"""Structural mutation (DESIGN §3): bodies never split, `min_muscles` holds, output column k always drives
muscle k (removing muscle j removes column j, a new muscle appends one, every other weight stays put).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolab import Genome, GenomeConstraints, random_genome, validate_genome
from evolab.genetics.structure import Body, add_muscle, add_node, remove_muscle, remove_node
from evolab.genome.generate import random_muscle_params
from evolab.genome.genes import HSL, N_POS, N_SIZE, N_Y, NeuralGenome
from evolab.genome.neural import init_neural_genome
from evolab.genome.ranges import position_bounds
from evolab.genome.topology import is_connected, node_degrees
from tests.genetics.shared import CONSTRAINT_SETS, DEFAULTS

CHANGES = (add_node, remove_node, add_muscle, remove_muscle)


def body_of(genome: Genome) -> Body:
    return Body(genome.node_params, genome.muscle_nodes, genome.muscle_params, genome.neural)


def genome_of(body: Body) -> Genome:
    return Genome("cr_body", body.nodes, body.ends, body.muscles, 1.0, HSL(0.5, 0.5, 0.5), neural=body.neural)


def body_from_edges(
    edges: list[tuple[int, int]], rng: np.random.Generator, hidden_size: int | None = 4, n_nodes: int | None = None
) -> Body:
    """A body with the given muscles; nodes on a circle so every muscle has a sensible rest length."""
    n = n_nodes if n_nodes is not None else 1 + max(max(e) for e in edges)
    angles = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    nodes = np.column_stack([np.full(n, 0.5), np.full(n, 0.5), np.cos(angles), np.full(n, 1.0), np.sin(angles)])
    ends = np.array(edges, dtype=np.int32)
    muscles = random_muscle_params(rng, ends, nodes, DEFAULTS)
    neural = None if hidden_size is None else init_neural_genome(rng, hidden_size, len(edges))
    if neural is not None:  # distinct, recognisable output biases (Xavier init leaves them at 0)
        neural = NeuralGenome.from_parts(
            neural.input_hidden(), neural.hidden_bias(), neural.hidden_output(), np.arange(1.0, len(edges) + 1.0)
        )
    return Body(nodes, ends, muscles, neural)


def snapshot(body: Body) -> Body:
    return Body(body.nodes.copy(), body.ends.copy(), body.muscles.copy(), body.neural)


def assert_unchanged(body: Body, before: Body) -> None:
    assert np.array_equal(body.nodes, before.nodes)
    assert np.array_equal(body.ends, before.ends)
    assert np.array_equal(body.muscles, before.muscles)
    assert body.neural == before.neural


def assert_columns_follow_muscles(body: Body, before: Body) -> None:
    """Each surviving muscle (found by its exact parameter row) keeps its own output column and bias;
    new muscles come last with bias 0; the input->hidden block never changes.
    """
    net, old = body.neural, before.neural
    assert net.output_size == body.n_muscles
    assert net.hidden_size == old.hidden_size
    assert np.array_equal(net.input_hidden(), old.input_hidden())
    assert np.array_equal(net.hidden_bias(), old.hidden_bias())
    seen_new = False
    survivors = []
    for k, row in enumerate(body.muscles):
        hits = np.flatnonzero((before.muscles == row).all(axis=1))
        if hits.size == 0:
            seen_new = True
            assert net.output_bias()[k] == 0.0
            continue
        assert not seen_new, "new muscles are appended after every surviving one"
        j = int(hits[0])
        survivors.append(j)
        assert np.array_equal(net.hidden_output()[:, k], old.hidden_output()[:, j])
        assert net.output_bias()[k] == old.output_bias()[j]
    assert survivors == sorted(survivors), "surviving muscles keep their order"


def node_pairs(body: Body) -> set[tuple[tuple[float, ...], tuple[float, ...]]]:
    """Muscles as unordered pairs of node rows: comparable across node renumbering."""
    rows = [tuple(r) for r in body.nodes.tolist()]
    return {tuple(sorted((rows[a], rows[b]))) for a, b in body.ends.tolist()}


# -- add_node -----------------------------------------------------------------------------------------


def test_add_node_grows_a_node_joined_to_an_existing_one(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2)], rng)
    before = snapshot(body)
    assert add_node(body, DEFAULTS, rng)
    assert body.n_nodes == 4
    assert body.n_muscles == 3
    assert np.array_equal(body.nodes[:3], before.nodes)
    assert np.array_equal(body.ends[:2], before.ends)
    assert body.ends[2, 1] == 3
    assert 0 <= body.ends[2, 0] < 3
    assert is_connected(body.n_nodes, body.ends)


def test_added_node_stays_within_the_spawn_volume_and_above_ground(rng: np.random.Generator) -> None:
    lo, hi = position_bounds(DEFAULTS)
    for _ in range(200):
        body = body_of(random_genome(rng, GenomeConstraints(max_nodes=7)))
        assert add_node(body, DEFAULTS, rng)
        new = body.nodes[-1]
        assert np.all((new[N_POS] >= lo) & (new[N_POS] <= hi))
        assert new[N_Y] >= new[N_SIZE] / 2.0
        assert DEFAULTS.min_size <= new[N_SIZE] <= DEFAULTS.max_size


def test_add_node_refuses_at_max_nodes(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2)], rng)
    before = snapshot(body)
    assert not add_node(body, GenomeConstraints(max_nodes=3), rng)
    assert_unchanged(body, before)


def test_add_node_refuses_at_max_muscles(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2)], rng)
    before = snapshot(body)
    assert not add_node(body, GenomeConstraints(max_muscles=2), rng)
    assert_unchanged(body, before)


def test_add_node_appends_one_output_column_and_keeps_every_other_weight(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2), (0, 2)], rng, hidden_size=6)
    before = snapshot(body)
    assert add_node(body, DEFAULTS, rng)
    net, old = body.neural, before.neural
    assert net.output_size == 4
    assert np.array_equal(net.input_hidden(), old.input_hidden())
    assert np.array_equal(net.hidden_bias(), old.hidden_bias())
    assert np.array_equal(net.hidden_output()[:, :3], old.hidden_output())
    assert np.array_equal(net.output_bias(), [1.0, 2.0, 3.0, 0.0])
    assert np.all(np.abs(net.hidden_output()[:, 3]) <= np.sqrt(2.0 / (6 + 4)))


# -- remove_node --------------------------------------------------------------------------------------


def test_remove_node_deletes_the_node_and_its_muscles(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)], rng)
    before = snapshot(body)
    assert remove_node(body, DEFAULTS, rng)
    assert body.n_nodes == 3
    removed = [i for i in range(4) if not (body.nodes == before.nodes[i]).all(axis=1).any()]
    assert len(removed) == 1
    # every remaining muscle still joins the same two nodes as before (ends renumbered)
    expected = {pair for pair in node_pairs(before) if tuple(before.nodes[removed[0]]) not in pair}
    assert node_pairs(body) == expected
    assert body.n_muscles == len(expected)
    assert is_connected(body.n_nodes, body.ends)


def test_remove_node_picks_from_the_least_connected_half(rng: np.random.Generator) -> None:
    # a star: the hub has degree 5, every leaf degree 1
    edges = [(0, i) for i in range(1, 6)]
    for _ in range(50):
        body = body_from_edges(edges, rng, hidden_size=None)
        hub = body.nodes[0].copy()
        assert remove_node(body, DEFAULTS, rng)
        assert (body.nodes == hub).all(axis=1).any()
        assert node_degrees(body.n_nodes, body.ends).max() == 4


def test_remove_node_never_removes_a_node_that_holds_the_body_together(rng: np.random.Generator) -> None:
    # two 4-cliques joined only through node 4 (degree 2, the least connected node of all)
    left = list(itertools.combinations(range(4), 2))
    right = list(itertools.combinations(range(5, 9), 2))
    edges = [*left, *right, (0, 4), (4, 5)]
    constraints = GenomeConstraints(max_nodes=9, max_muscles=20)
    for _ in range(100):
        body = body_from_edges(edges, rng)
        bridge = body.nodes[4].copy()
        before = snapshot(body)
        assert remove_node(body, constraints, rng)
        assert (body.nodes == bridge).all(axis=1).any()
        assert is_connected(body.n_nodes, body.ends)
        assert_columns_follow_muscles(body, before)


def test_remove_node_refuses_at_min_nodes(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2), (0, 2)], rng)
    before = snapshot(body)
    assert not remove_node(body, GenomeConstraints(min_nodes=3), rng)
    assert_unchanged(body, before)


def test_remove_node_refuses_when_fewer_than_min_muscles_would_remain(rng: np.random.Generator) -> None:
    # a triangle: every node carries two of the three muscles
    body = body_from_edges([(0, 1), (1, 2), (0, 2)], rng)
    before = snapshot(body)
    assert not remove_node(body, GenomeConstraints(min_muscles=2), rng)
    assert_unchanged(body, before)
    assert remove_node(body, GenomeConstraints(min_muscles=1), rng)


def test_remove_node_removes_the_output_columns_of_its_muscles(rng: np.random.Generator) -> None:
    # a path 0-1-2-3 plus chord 1-3: only node 0 (degree 1) and node 2 (degree 2) are in the lower half
    edges = [(0, 1), (1, 2), (2, 3), (1, 3)]
    outcomes = set()
    for _ in range(60):
        body = body_from_edges(edges, rng)
        before = snapshot(body)
        assert remove_node(body, DEFAULTS, rng)
        assert_columns_follow_muscles(body, before)
        outcomes.add(tuple(body.neural.output_bias().tolist()))
    # biases tag the columns 1..4: removing node 0 drops column 1, node 2 drops columns 2 and 3
    assert outcomes == {(2.0, 3.0, 4.0), (1.0, 4.0)}


# -- add_muscle ---------------------------------------------------------------------------------------


def test_add_muscle_joins_two_nodes_not_yet_joined(rng: np.random.Generator) -> None:
    for _ in range(50):
        body = body_from_edges([(0, 1), (1, 2), (2, 3)], rng)
        before = snapshot(body)
        assert add_muscle(body, DEFAULTS, rng)
        assert body.n_muscles == 4
        assert np.array_equal(body.ends[:3], before.ends)
        a, b = sorted(body.ends[3].tolist())
        assert (a, b) in {(0, 2), (0, 3), (1, 3)}
        assert_columns_follow_muscles(body, before)


def test_add_muscle_refuses_on_a_complete_body(rng: np.random.Generator) -> None:
    body = body_from_edges(list(itertools.combinations(range(4), 2)), rng)
    before = snapshot(body)
    assert not add_muscle(body, DEFAULTS, rng)
    assert_unchanged(body, before)


def test_add_muscle_refuses_at_max_muscles(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2), (2, 3)], rng)
    before = snapshot(body)
    assert not add_muscle(body, GenomeConstraints(max_muscles=3), rng)
    assert_unchanged(body, before)


# -- remove_muscle ------------------------------------------------------------------------------------


def test_remove_muscle_only_removes_muscles_on_a_cycle(rng: np.random.Generator) -> None:
    # a triangle 0-1-2 with a tail 2-3: the tail is a bridge and must stay
    edges = [(0, 1), (1, 2), (0, 2), (2, 3)]
    removed = set()
    for _ in range(60):
        body = body_from_edges(edges, rng)
        before = snapshot(body)
        assert remove_muscle(body, DEFAULTS, rng)
        assert body.n_muscles == 3
        assert is_connected(body.n_nodes, body.ends)
        assert [2, 3] in body.ends.tolist()
        assert_columns_follow_muscles(body, before)
        removed |= {tuple(e) for e in before.ends.tolist()} - {tuple(e) for e in body.ends.tolist()}
    assert removed == {(0, 1), (1, 2), (0, 2)}


def test_remove_muscle_refuses_on_a_tree(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2), (1, 3)], rng)
    before = snapshot(body)
    assert not remove_muscle(body, DEFAULTS, rng)
    assert_unchanged(body, before)


def test_remove_muscle_refuses_at_min_muscles(rng: np.random.Generator) -> None:
    body = body_from_edges([(0, 1), (1, 2), (0, 2)], rng)
    before = snapshot(body)
    assert not remove_muscle(body, GenomeConstraints(min_muscles=3), rng)
    assert_unchanged(body, before)


# -- invariants over random sequences of changes ------------------------------------------------------


@settings(max_examples=150)
@given(
    seed=st.integers(0, 2**32 - 1),
    constraints=st.sampled_from(CONSTRAINT_SETS),
    hidden=st.sampled_from([None, 1, 5]),
    changes=st.lists(st.sampled_from(CHANGES), min_size=1, max_size=30),
)
def test_structural_changes_keep_a_valid_connected_body_with_matching_outputs(
    seed: int, constraints: GenomeConstraints, hidden: int | None, changes: list
) -> None:
    rng = np.random.default_rng(seed)
    body = body_of(random_genome(rng, constraints, neural_hidden_size=hidden))
    for change in changes:
        before = snapshot(body)
        if change(body, constraints, rng):
            if body.neural is not None:
                assert_columns_follow_muscles(body, before)
        else:
            assert_unchanged(body, before)
        validate_genome(genome_of(body), constraints)  # counts, ranges, no duplicate muscles, connected


# sets whose node count can move: not the fixed sizes, nor one where every muscle count is pinned
@pytest.mark.parametrize("constraints", CONSTRAINT_SETS[:5], ids=lambda c: f"{c.min_nodes}-{c.max_nodes}n")
def test_structural_changes_explore_the_allowed_node_range(
    constraints: GenomeConstraints, rng: np.random.Generator
) -> None:
    body = body_of(random_genome(rng, constraints))
    seen = set()
    for _ in range(400):
        CHANGES[int(rng.integers(len(CHANGES)))](body, constraints, rng)
        seen.add(body.n_nodes)
    assert min(seen) >= constraints.min_nodes
    assert max(seen) <= constraints.effective_max_nodes
    assert max(seen) > min(seen)
