"""Perception (K nearest agents, nearest entities) against brute-force numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.engine_ref import (
    assert_neighbours_match,
    entity_edges,
    make_engine,
    perceive_now,
    place,
    ref_entities,
    ref_neighbours,
)

# ------------------------------------------------------------ neighbours


@pytest.mark.parametrize("radius", [0.7, 2.5, 6.0, 13.0])
def test_random_world_neighbours_exact(radius):
    """K=8 nearest neighbours of a few thousand uniform agents equal brute force, for several radii."""
    rng = np.random.default_rng(int(radius * 10))
    n = 3000
    eng = make_engine(n, (120.0, 90.0), perception_radius=radius, neighbours=8)
    pos = (rng.random((n, 2)) * [120.0, 90.0]).astype(np.float32)
    place(eng, pos)
    snap = perceive_now(eng)
    assert np.array_equal(snap["pos"], pos)
    assert_neighbours_match(eng, snap)
    assert (snap["ent"] == -1).all() and (snap["ent_n"] == 0).all()  # no entities set


def test_step_perceives_positions_before_moving():
    """The neighbours a step computes are those of the positions at the start of that step (rows re-sorted)."""
    rng = np.random.default_rng(1)
    n = 2500
    eng = make_engine(n, (80.0, 80.0), perception_radius=4.0, resort_every=1)
    place(eng, rng.random((n, 2)) * 80.0, max_speed=rng.uniform(1.0, 1.6, n))
    eng.set_targets(np.arange(0, n, 3), rng.random((len(range(0, n, 3)), 2)) * 80.0)
    for _ in range(4):
        before = eng.snapshot(("pos",))["pos"]
        eng.step(0.1)
        snap = eng.snapshot(("nbr", "nbr_n"))
        snap["pos"] = before
        assert_neighbours_match(eng, snap)
    assert_neighbours_match(eng, perceive_now(eng))


def test_large_world_cells_wider_than_radius():
    """A world so large that grid cells are capped by cell count (cell > radius) still finds exact neighbours."""
    rng = np.random.default_rng(2)
    n = 2000
    eng = make_engine(n, (4000.0, 4000.0), perception_radius=0.5)
    assert eng.cell_size > 0.5 * 1.001
    pos = np.concatenate([rng.random((n - 200, 2)) * 25.0 + 1000.0, rng.random((200, 2)) * 4000.0]).astype(np.float32)
    place(eng, pos)
    snap = perceive_now(eng)
    assert snap["nbr_n"].max() > 0
    assert_neighbours_match(eng, snap)


def test_agents_on_cell_borders_and_world_edges():
    """Agents exactly on grid-cell borders and on the world's edges find every neighbour (ties by id)."""
    w, h, r = 60.0, 40.0, 3.0
    probe = make_engine(1, (w, h), perception_radius=r)
    cell = probe.cell_size
    f = np.float32

    def coords(limit, gcount):
        base = [f(k * cell) for k in range(gcount + 1) if k * cell <= limit]
        vals = set()
        for b in base:
            for off in (0.0, 1e-4, -1e-4, r / 2, r, -r):
                vals.add(f(b + off))
        vals.update({f(0.0), np.nextafter(f(limit), f(0.0))})  # the world is half-open: [0, limit)
        return np.array(sorted(v for v in vals if 0.0 <= v < limit), np.float32)

    xs, ys = coords(w, probe.gw), coords(h, probe.gh)
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    pos = grid[np.random.default_rng(3).permutation(len(grid))]  # ids unrelated to position
    n = len(pos)
    eng = make_engine(n, (w, h), perception_radius=r)
    assert eng.cell_size == cell
    place(eng, pos)
    snap = perceive_now(eng)
    assert np.array_equal(snap["pos"], pos)
    assert_neighbours_match(eng, snap)


def test_pairs_straddling_cell_borders_at_the_radius():
    """Two agents just within r of each other, on either side of one or two cell borders, see each other."""
    w, r = 400.0, 3.0
    probe = make_engine(1, (w, w), perception_radius=r)
    cell = probe.cell_size
    f = np.float32
    combos = [
        (e, d, v)
        for e in (0.0, 1e-4, 5e-4, -1e-4)
        for d in (r, r - 1e-4, r * (1 - 5e-4))
        for v in ((1.0, 0.0), (0.0, 1.0), (0.6, 0.8), (-1.0, 0.0), (0.0, -1.0), (-0.8, -0.6))
    ]
    pos = []
    slots = [(a, b) for a in range(2, probe.gw - 3, 4) for b in range(2, probe.gh - 3, 4)]
    for k, (a, b) in enumerate(slots):
        e, d, v = combos[k % len(combos)]
        v = np.array(v, np.float32)
        p1 = np.array([f(a * cell), f(b * cell)], np.float32) - f(e) * v
        pos += [p1, p1 + f(d) * v]
    pos = np.array(pos, np.float32)
    eng = make_engine(len(pos), (w, w), perception_radius=r)
    place(eng, pos)
    snap = perceive_now(eng)
    _, nbr_n = ref_neighbours(pos, r, 8)
    assert (nbr_n == 1).mean() > 0.8  # most pairs really are within r
    assert_neighbours_match(eng, snap)


def test_agents_exactly_at_radius_are_neighbours():
    """An agent at exactly distance r (d2 == r*r) is a neighbour; one just beyond is not."""
    r = 2.0
    lattice = np.stack(np.meshgrid(np.arange(4.0, 30.0, 2.0), np.arange(4.0, 30.0, 2.0)), -1).reshape(-1, 2)
    # Half-integer points: some at exactly r from a lattice point, some at d2 = 4.25 or 4.5.
    halves = np.array(
        [
            [40.0, 40.0],
            [42.0, 40.0],
            [40.0, 42.0],
            [42.0, 42.5],
            [43.5, 41.5],
            [40.5, 38.0],
            [50.5, 50.5],
            [52.5, 50.5],
            [50.5, 52.5],
            [52.0, 52.0],
            [48.5, 50.5],
            [50.5, 48.5],
        ]
    )
    pos = np.concatenate([lattice, halves]).astype(np.float32)
    pos = pos[np.random.default_rng(4).permutation(len(pos))]
    eng = make_engine(len(pos), (64.0, 64.0), perception_radius=r)
    place(eng, pos)
    snap = perceive_now(eng)
    nbr, nbr_n = ref_neighbours(pos, r, 8)
    d = pos[:, None, :] - pos[None, :, :]
    exact = (d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] == np.float32(4.0)).sum()
    assert exact > 100  # the world really has pairs at exactly r
    lattice_ids = np.flatnonzero((pos[:, 0] >= 6.0) & (pos[:, 0] <= 26.0) & (pos[:, 1] >= 6.0) & (pos[:, 1] <= 26.0))
    assert (nbr_n[lattice_ids] == 4).all()  # interior lattice points: 4 at exactly r, diagonals beyond
    assert_neighbours_match(eng, snap)


def test_stacked_agents_break_ties_by_id():
    """Many agents at one point (an overfull cell) get the K lowest other ids among the stack."""
    rng = np.random.default_rng(5)
    r = 2.0
    n = 400
    pos = (rng.random((n, 2)) * 60.0).astype(np.float32)
    stack = rng.choice(n, 60, replace=False)
    pos[stack] = [20.0, 20.0]
    ring = rng.choice(np.setdiff1d(np.arange(n), stack), 20, replace=False)
    pos[ring] = [20.0, 22.0]  # a second stack at exactly r from the first
    eng = make_engine(n, (60.0, 60.0), perception_radius=r)
    corner = np.float32(5 * eng.cell_size)
    third = rng.choice(np.setdiff1d(np.arange(n), np.concatenate([stack, ring])), 30, replace=False)
    pos[third] = [corner, corner]  # a stack on a cell corner
    place(eng, pos)
    snap = perceive_now(eng)
    s = np.sort(stack)
    for i in stack:
        assert snap["nbr"][i].tolist() == s[s != i][:8].tolist()
    assert_neighbours_match(eng, snap)


def test_stacked_agents_step_without_nan():
    """Stepping agents stacked at one point keeps every position and velocity finite and in the world."""
    n = 200
    eng = make_engine(n, (40.0, 40.0), perception_radius=2.0)
    place(eng, np.full((n, 2), 20.0))
    for _ in range(20):
        eng.step(0.1)
    snap = eng.snapshot(("pos", "vel"))
    assert np.isfinite(snap["pos"]).all() and np.isfinite(snap["vel"]).all()
    assert len(np.unique(snap["pos"], axis=0)) > 1  # separation pushed them apart
    assert_neighbours_match(eng, perceive_now(eng))


@pytest.mark.parametrize("corner", ["low", "high"])
def test_agents_in_one_corner_of_mostly_empty_world(corner):
    """A world with every agent in one corner (all other cells empty) gives exact neighbours."""
    rng = np.random.default_rng(6)
    w, h, n = 300.0, 200.0, 800
    pos = (rng.random((n, 2)) * 12.0).astype(np.float32)
    if corner == "high":
        pos = np.minimum(np.float32([w, h]) - pos, np.nextafter(np.float32([w, h]), np.float32(0)))
    eng = make_engine(n, (w, h), perception_radius=2.5)
    place(eng, pos)
    snap = perceive_now(eng)
    assert_neighbours_match(eng, snap)


def test_fewer_neighbours_than_k_are_padded():
    """Agents with fewer than K neighbours (clusters of 1..8, far apart) get the count and -1 padding."""
    rng = np.random.default_rng(7)
    pos, cluster_of = [], []
    for s in range(1, 9):
        for c in range(4):
            centre = np.array([10.0 + 20.0 * s, 10.0 + 20.0 * c])
            pos.append(centre + rng.random((s, 2)) * 1.5)
            cluster_of += [s] * s
    pos = np.concatenate(pos).astype(np.float32)
    eng = make_engine(len(pos), (200.0, 100.0), perception_radius=3.0, neighbours=8)
    place(eng, pos)
    snap = perceive_now(eng)
    assert np.array_equal(snap["nbr_n"], np.array(cluster_of) - 1)
    for i, m in enumerate(snap["nbr_n"]):
        assert (snap["nbr"][i, m:] == -1).all() and (snap["nbr"][i, :m] >= 0).all()
    assert_neighbours_match(eng, snap)


def test_k_larger_than_population():
    """K larger than the number of agents: every other agent within r, then -1."""
    pos = np.array([[10, 10], [11, 10], [10, 12], [30, 30], [10.5, 10.5]], np.float32)
    eng = make_engine(5, (50.0, 50.0), perception_radius=3.0, neighbours=20)
    place(eng, pos)
    snap = perceive_now(eng)
    assert snap["nbr"].shape == (5, 20)
    assert snap["nbr"][0, :4].tolist() == [4, 1, 2, -1]
    assert snap["nbr_n"].tolist() == [3, 3, 3, 0, 3]
    assert_neighbours_match(eng, snap)


def test_single_agent_sees_nobody():
    """A lone agent has no neighbours."""
    eng = make_engine(1, (10.0, 10.0))
    place(eng, [[5.0, 5.0]])
    snap = perceive_now(eng)
    assert snap["nbr_n"].tolist() == [0] and (snap["nbr"] == -1).all()


# -------------------------------------------------------------- entities


def _away_from_reach(rng, pos, epos, erad, reach, limit):
    """Re-draw agents within 1e-3 of the reach boundary of any entity."""
    for _ in range(50):
        edge = entity_edges(pos, epos, erad)
        bad = np.abs(edge - np.float32(reach)).min(axis=1) < 1e-3
        if not bad.any():
            return pos
        pos[bad] = (rng.random((bad.sum(), 2)) * limit).astype(np.float32)
    raise AssertionError("could not place agents away from the reach boundary")


@pytest.mark.parametrize("reach", [2.5, 0.5])
def test_entities_seen_exact(reach):
    """Entities within reach of each agent's edge distance, nearest KE by (edge, id), equal brute force."""
    rng = np.random.default_rng(int(reach * 10))
    w = 100.0
    m = 150
    epos = (rng.random((m, 2)) * w).astype(np.float32)
    erad = rng.uniform(0.2, 3.0, m).astype(np.float32)
    epos[100:110] = epos[90:100]  # duplicates: equal edges, ties broken by id
    erad[100:110] = erad[90:100]
    epos[110:115] = [[50.0, 50.0]] * 5  # five concentric entities
    epos[115] = [-1.0, 30.0]  # just outside the world
    epos[116] = [w + 1.0, 70.0]
    solid = rng.random(m) < 0.5
    n = 3000
    pos = (rng.random((n, 2)) * w).astype(np.float32)
    pos[:40] = epos[rng.choice(110, 40)]  # agents standing on (in-world) entity centres
    pos[40:50] = [50.0, 50.0]
    pos = _away_from_reach(rng, pos, epos, erad, reach, w)
    eng = make_engine(n, (w, w), entity_reach=reach, entities_seen=4)
    eng.set_entities(epos, erad, solid)
    place(eng, pos)
    snap = perceive_now(eng)
    ent, ent_n = ref_entities(pos, epos, erad, reach, 4)
    assert ent_n.max() == 4 and (ent_n == 0).any()
    bad = np.flatnonzero((snap["ent"] != ent).any(axis=1))
    assert not len(bad), f"agent {bad[0]}: engine {snap['ent'][bad[0]].tolist()}, reference {ent[bad[0]].tolist()}"
    assert np.array_equal(snap["ent_n"], ent_n)
    assert_neighbours_match(eng, snap)  # entities do not disturb agent perception


def test_entities_replaced():
    """set_entities replaces the previous entities (ids restart at 0; empty list sees nothing)."""
    eng = make_engine(2, (20.0, 20.0))
    eng.set_entities([[5.0, 5.0], [15.0, 15.0]], [1.0, 1.0], [False, False])
    place(eng, [[5.5, 5.0], [15.0, 15.5]])
    assert perceive_now(eng)["ent"][:, 0].tolist() == [0, 1]
    eng.set_entities([[15.0, 16.0]], [0.5], [False])
    snap = perceive_now(eng)
    assert snap["ent"][:, 0].tolist() == [-1, 0] and snap["ent_n"].tolist() == [0, 1]
    eng.set_entities(np.zeros((0, 2)), np.zeros(0), np.zeros(0, bool))
    assert perceive_now(eng)["ent_n"].tolist() == [0, 0]
