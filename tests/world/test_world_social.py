"""SocialGraph: merging ties, degrees, ties of an agent, and the summary on known graphs."""

from __future__ import annotations

import numpy as np
import pytest

from tokenworld.world.social import SocialGraph


def _graph(n, pairs, amount=1.0):
    g = SocialGraph(n)
    a, b = np.array(pairs, np.int64).reshape(-1, 2).T
    g.strengthen(a, b, amount)
    return g


def test_strengthen_merges_pairs_in_either_order():
    """(a, b) and (b, a) are one tie; repeated pairs add up, within a batch and across batches."""
    g = _graph(5, [(1, 3), (3, 1), (1, 3)], 0.5)
    assert g.edges == 1
    assert g.pairs()[0].tolist() == [1] and g.pairs()[1].tolist() == [3]
    assert g.weight.tolist() == [1.5]
    g.strengthen(np.array([3, 0]), np.array([1, 4]), np.array([0.25, 2.0]))
    assert g.edges == 2
    assert dict(zip(zip(*(p.tolist() for p in g.pairs()), strict=True), g.weight.tolist(), strict=True)) == {
        (0, 4): 2.0,
        (1, 3): 1.75,
    }
    assert np.all(np.diff(g.keys) > 0)  # keys stay sorted and unique


def test_self_ties_are_ignored():
    """strengthen(a, a) adds nothing, alone or mixed with real pairs."""
    g = _graph(3, [(2, 2), (0, 0)])
    assert g.edges == 0 and g.degree().tolist() == [0, 0, 0]
    g.strengthen(np.array([1, 2]), np.array([1, 0]), np.array([5.0, 1.0]))
    assert g.edges == 1 and g.weight.tolist() == [1.0]


def test_large_ids_do_not_collide():
    """Keys pack both ids in 64 bits: high ids on either side stay distinct."""
    n = 3_000_000
    g = _graph(n, [(0, n - 1), (n - 1, n - 2), (1, n - 1)])
    assert g.edges == 3
    assert sorted(zip(*(p.tolist() for p in g.pairs()), strict=True)) == [(0, n - 1), (1, n - 1), (n - 2, n - 1)]


def test_degree_and_ties_of():
    """degree counts ties per agent; ties_of lists partners strongest first."""
    g = SocialGraph(5)
    g.strengthen(np.array([0, 0, 3]), np.array([1, 2, 0]), np.array([0.1, 0.7, 0.3]))
    assert g.degree().tolist() == [3, 1, 1, 1, 0]
    others, weights = g.ties_of(0)
    assert others.tolist() == [2, 3, 1]
    assert weights.tolist() == pytest.approx([0.7, 0.3, 0.1])
    assert g.ties_of(4)[0].tolist() == []
    assert g.ties_of(1)[0].tolist() == [0]


def test_summary_of_a_triangle_and_an_isolated_agent():
    """Triangle 0-1-2 plus lonely agent 3: 3 edges, mean degree 1.5, clustering 0.75, one community."""
    s = _graph(4, [(0, 1), (1, 2), (2, 0)]).summary()
    # networkx's average over the 3 nodes with ties is 1.0; scaled by 3/4 to count agent 3 as 0.
    assert s == {"edges": 3, "mean_degree": 1.5, "clustering": 0.75, "communities": 1}


def test_summary_of_a_triangle_with_a_tail():
    """Triangle 0-1-2 with edge 2-3, five agents: clustering (1 + 1 + 1/3 + 0 + 0) / 5."""
    s = _graph(5, [(0, 1), (1, 2), (2, 0), (2, 3)]).summary()
    assert s["edges"] == 4 and s["mean_degree"] == 1.6
    assert s["clustering"] == pytest.approx((1 + 1 + 1 / 3) / 5, abs=1e-6)


def test_summary_of_an_empty_graph():
    """No ties: zero edges and degree, no clustering or communities."""
    assert SocialGraph(4).summary() == {"edges": 0, "mean_degree": 0.0, "clustering": None, "communities": None}


def test_state_round_trip():
    """restore(state()) gives back the same graph."""
    g = _graph(6, [(0, 5), (2, 3)], 0.4)
    h = SocialGraph(6)
    h.restore(g.state())
    assert np.array_equal(h.keys, g.keys) and np.array_equal(h.weight, g.weight)
