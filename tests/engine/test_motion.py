"""Stepping: determinism, row-order independence, arrival, world bounds, solid entities."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.engine_ref import group_params, make_engine, place
from tokenworld.scene.schema import Zone

FIELDS = ("pos", "vel", "heading", "zone", "flags", "nbr", "nbr_n", "ent", "ent_n", "target")
PARAMS = group_params((0.3, 0.4, 1.5, 1.2, 0.5), (0.0, 0.0, 2.0, 1.8, 1.0), (1.0, 1.0, 1.0, 0.8, 0.0))
ZONES = [
    Zone(name="west", rect=(0.0, 0.0, 40.0, 60.0)),
    Zone(name="pond", polygon=[(30.0, 20.0), (50.0, 25.0), (40.0, 30.0), (50.0, 40.0), (30.0, 35.0)]),
]


def _world(seed=0, n=1500, **options):
    """An engine with groups, zones, entities, stacked agents, and targets for half the agents."""
    rng = np.random.default_rng(123)
    eng = make_engine(n, (80.0, 60.0), seed=seed, params=PARAMS, perception_radius=3.0, **options)
    eng.set_zones(ZONES)
    eng.set_entities(rng.random((40, 2)) * [80.0, 60.0], rng.uniform(0.3, 2.0, 40), rng.random(40) < 0.5)
    pos = (rng.random((n, 2)) * [80.0, 60.0]).astype(np.float32)
    pos[:30] = [20.0, 20.0]  # a stack: separation draws random directions by id
    eng.set_state(pos, rng.uniform(1.0, 1.6, n).astype(np.float32), rng.integers(0, 3, n).astype(np.int32))
    half = np.arange(0, n, 2)
    eng.set_targets(half, rng.random((len(half), 2)) * [80.0, 60.0])
    return eng


def test_same_seed_same_run():
    """Two engines with the same seed and inputs give identical snapshots after 50 steps."""
    a, b = _world(seed=7), _world(seed=7)
    for _ in range(50):
        a.step(0.1)
        b.step(0.1)
    sa, sb = a.snapshot(FIELDS), b.snapshot(FIELDS)
    for name in FIELDS:
        assert np.array_equal(sa[name], sb[name]), name
    assert a.metrics() == b.metrics()
    assert np.array_equal(a.arrived(), b.arrived())


def test_seed_changes_wander():
    """A different seed gives a different run (the seed reaches the random wander)."""
    a, b = _world(seed=1), _world(seed=2)
    for _ in range(5):
        a.step(0.1)
        b.step(0.1)
    assert not np.array_equal(a.snapshot(("pos",))["pos"], b.snapshot(("pos",))["pos"])


def test_results_do_not_depend_on_row_resorting():
    """resort_every=0 and resort_every=1 give identical snapshots after 30 steps."""
    a, b = _world(resort_every=0), _world(resort_every=1)
    for _ in range(30):
        a.step(0.1)
        b.step(0.1)
    assert not np.array_equal(b.id_of.to_numpy(), np.arange(b.n))  # rows really were re-sorted
    sa, sb = a.snapshot(FIELDS), b.snapshot(FIELDS)
    for name in FIELDS:
        assert np.array_equal(sa[name], sb[name]), name
    assert a.metrics() == b.metrics()
    assert np.array_equal(a.arrived(), b.arrived())


def test_agent_arrives_and_stops():
    """An agent sent to a target is flagged on the first step it starts within arrive_radius, then stays put."""
    eng = make_engine(3, (60.0, 60.0), arrive_radius=1.5, slow_radius=3.0)
    place(eng, [[10.0, 10.0], [50.0, 50.0], [10.0, 50.0]], max_speed=1.5)
    targets = np.array([[30.0, 25.0], [12.0, 48.0]], np.float32)
    eng.set_targets(np.array([0, 2]), targets)
    assert eng.arrived().tolist() == []
    arrived_at, first_inside = {}, {}
    for t in range(400):
        p = eng.snapshot(("pos",))["pos"]
        for k, i in enumerate((0, 2)):
            if np.linalg.norm(p[i] - targets[k]) <= 1.5:
                first_inside.setdefault(i, t)
        eng.step(0.1)
        for i in eng.arrived().tolist():
            arrived_at.setdefault(i, t)
    assert arrived_at == first_inside and sorted(arrived_at) == [0, 2]
    snap = eng.snapshot(("pos", "vel", "flags", "target"))
    assert (np.linalg.norm(snap["pos"][[0, 2]] - targets, axis=1) <= 1.5).all()
    assert (snap["vel"][[0, 2]] == 0).all()
    assert np.array_equal(snap["target"][[0, 2]], targets)
    held = snap["pos"].copy()
    for _ in range(20):
        eng.step(0.1)
    assert np.array_equal(eng.snapshot(("pos",))["pos"][[0, 2]], held[[0, 2]])
    assert eng.metrics()["arrived"] == 2


def test_take_arrivals_reports_each_arrival_once():
    """take_arrivals returns each new arrival once (ascending ids), again only after a new target is reached."""
    n = 6
    eng = make_engine(n, (60.0, 60.0))
    start = np.array([[10.0 + 8 * i, 30.0] for i in range(n)], np.float32)
    place(eng, start, max_speed=2.0)
    assert eng.take_arrivals().tolist() == []
    eng.set_targets(np.array([4, 1, 3]), start[[4, 1, 3]] + [0.0, 2.0])
    seen = []
    for _ in range(100):
        eng.step(0.1)
        got = eng.take_arrivals()
        assert got.tolist() == sorted(got.tolist())
        seen += got.tolist()
    assert sorted(seen) == [1, 3, 4] and eng.arrived().tolist() == [1, 3, 4]
    assert eng.take_arrivals().tolist() == []
    eng.set_targets(np.array([3]), start[[3]])
    for _ in range(100):
        eng.step(0.1)
    assert eng.take_arrivals().tolist() == [3]
    assert eng.take_arrivals().tolist() == []


def test_new_target_clears_arrived():
    """Giving an arrived agent a new target clears ARRIVED until it gets there."""
    eng = make_engine(1, (40.0, 40.0))
    place(eng, [[10.0, 10.0]], max_speed=2.0)
    eng.set_targets([0], [[12.0, 10.0]])
    for _ in range(100):
        eng.step(0.1)
    assert eng.arrived().tolist() == [0]
    eng.set_targets([0], [[20.0, 20.0]])
    assert eng.arrived().tolist() == []
    for _ in range(200):
        eng.step(0.1)
    assert eng.arrived().tolist() == [0]
    assert np.linalg.norm(eng.snapshot(("pos",))["pos"][0] - [20.0, 20.0]) <= eng.options.arrive_radius


@pytest.mark.parametrize("size", [(50.0, 30.0), (7.0, 1000.0)])
def test_agents_stay_inside_world(size):
    """Fast wandering agents, and agents sent to targets outside the world, stay in [0, w) x [0, h)."""
    rng = np.random.default_rng(8)
    w, h = size
    n = 1000
    eng = make_engine(n, size, params=group_params((0.0, 0.0, 3.0, 1.5, 4.0)), boundary_margin=1.0, max_force=20.0)
    pos = (rng.random((n, 2)) * [w, h]).astype(np.float32)
    pos[:50, 0] = 0.0
    pos[50:100, 1] = np.nextafter(np.float32(h), np.float32(0))
    place(eng, pos, max_speed=rng.uniform(2.0, 12.0, n))
    out = np.array([[-50.0, h / 2], [w + 50.0, h / 2], [w / 2, -50.0], [w / 2, h + 50.0], [-9.0, -9.0], [w + 9, h + 9]])
    ids = np.arange(0, n, 3)
    eng.set_targets(ids, out[np.arange(len(ids)) % len(out)])
    for _ in range(150):
        eng.step(0.25)
        p = eng.snapshot(("pos",))["pos"]
        assert np.isfinite(p).all()
        assert (p[:, 0] >= 0).all() and (p[:, 0] < w).all() and (p[:, 1] >= 0).all() and (p[:, 1] < h).all()


@pytest.mark.parametrize("speed", [1.0, 1.6])
@pytest.mark.parametrize("offset", [0.0, 0.4])
def test_solid_entity_pushes_agents_away(speed, offset):
    """An agent walking straight at a solid entity of radius 3 never has its centre inside the radius."""
    eng = make_engine(1, (100.0, 100.0))
    centre = np.array([50.0, 50.0], np.float32)
    eng.set_entities(centre[None], [3.0], [True])
    place(eng, [[30.0, 50.0 + offset]], max_speed=speed)
    eng.set_targets([0], [[70.0, 50.0 + offset]])
    closest = np.inf
    for _ in range(300):
        eng.step(0.1)
        p = eng.snapshot(("pos",))["pos"][0]
        closest = min(closest, float(np.linalg.norm(p - centre)))
        assert closest >= 3.0, f"agent centre {p.tolist()} is {closest:.3f} m from the entity's centre"
    assert closest < 3.0 + 1.2  # it did come close enough to be pushed


def test_non_solid_entity_does_not_push():
    """A non-solid entity does not stop an agent walking through it."""
    eng = make_engine(1, (100.0, 100.0))
    eng.set_entities([[50.0, 50.0]], [3.0], [False])
    place(eng, [[40.0, 50.0]], max_speed=1.5)
    eng.set_targets([0], [[60.0, 50.0]])
    for _ in range(300):
        eng.step(0.1)
    assert eng.arrived().tolist() == [0]


def test_zero_agents():
    """An engine with n=0 sets state, zones, entities and targets, steps, and reads back empty arrays."""
    eng = make_engine(0, (50.0, 50.0))
    eng.set_zones(ZONES)
    eng.set_entities([[10.0, 10.0]], [1.0], [True])
    eng.set_state(np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))
    eng.set_targets(np.zeros(0, np.int32), np.zeros((0, 2), np.float32))
    for _ in range(3):
        eng.step(0.1)
    eng.build_hash()
    eng.perceive()
    eng._zones_now()
    snap = eng.snapshot(FIELDS)
    assert snap["pos"].shape == (0, 2) and snap["nbr"].shape == (0, 8) and snap["zone"].shape == (0,)
    assert eng.arrived().tolist() == []
    m = eng.metrics()
    assert m["moving"] == 0 and m["zone_counts"] == [0, 0] and m["outside_zones"] == 0
    assert eng.tick == 3


def test_metrics_count_zones_and_neighbours():
    """metrics() counts agents per zone, outside zones, arrivals and neighbours exactly."""
    n = 500
    eng = _world(n=n)
    for _ in range(5):
        eng.step(0.1)
    snap = eng.snapshot(("zone", "nbr_n", "vel", "flags"))
    m = eng.metrics()
    assert m["zone_counts"] == [int((snap["zone"] == z).sum()) for z in range(len(ZONES))]
    assert m["outside_zones"] == int((snap["zone"] == -1).sum())
    assert m["mean_neighbours"] == round(float(snap["nbr_n"].sum()) / n, 6)
    assert m["arrived"] == int(((snap["flags"] & 2) != 0).sum()) == len(eng.arrived())
    assert m["moving"] == int((np.linalg.norm(snap["vel"], axis=1) > 0.05).sum())
