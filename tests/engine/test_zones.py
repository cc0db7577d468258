"""Zone membership in the engine against tokenworld.scene.geometry.zone_membership."""

from __future__ import annotations

import numpy as np

from tests.engine.engine_ref import make_engine, place
from tokenworld.scene.geometry import zone_membership, zone_polygon
from tokenworld.scene.schema import Zone

W, H = 100.0, 80.0
CELL = max(W, H) / 256  # the engine's zone-grid cell (0.390625, exact in binary)

ZONES = [
    Zone(name="all", rect=(0.0, 0.0, W, H)),
    Zone(name="field", rect=(10.0, 10.0, 60.0, 50.0)),
    # Concave "L" overlapping the field.
    Zone(name="ell", polygon=[(40.0, 20.0), (80.0, 20.0), (80.0, 30.0), (50.0, 30.0), (50.0, 60.0), (40.0, 60.0)]),
    # Concave star with awkward float coordinates, overlapping both.
    Zone(
        name="star",
        polygon=[
            (30.0, 40.1),
            (33.3, 47.7),
            (41.1, 48.2),
            (35.2, 52.9),
            (37.9, 61.3),
            (30.0, 56.6),
            (22.1, 61.3),
            (24.8, 52.9),
            (18.9, 48.2),
            (26.7, 47.7),
        ],
    ),
    Zone(name="gridrect", rect=(20 * CELL, 30 * CELL, 45 * CELL, 70 * CELL)),  # edges on zone-grid borders
    Zone(name="notch", polygon=[(60.0, 60.0), (75.0, 60.0), (75.0, 75.0), (67.5, 65.0), (60.0, 75.0)]),
    Zone(name="spill", rect=(90.0, 70.0, 130.0, 100.0)),  # reaches past the world's edge
    Zone(name="inner", rect=(45.0, 25.0, 47.5, 27.5)),  # small, last, inside three others
]


def _edge_points() -> np.ndarray:
    """Vertices, edge midpoints, and the float32 neighbours of every rect/polygon vertex."""
    f = np.float32
    pts = []
    for z in ZONES:
        poly = zone_polygon(z)
        pts.append(poly)
        pts.append((poly + np.roll(poly, -1, axis=0)) / f(2))
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                q = poly.copy()
                if dx:
                    q[:, 0] = np.nextafter(q[:, 0], f(dx * np.inf))
                if dy:
                    q[:, 1] = np.nextafter(q[:, 1], f(dy * np.inf))
                pts.append(q)
    pts.append(np.array([[0, 0], [0, 40], [50, 0], [np.nextafter(f(W), f(0)), 40.0], [50.0, np.nextafter(f(H), f(0))]]))
    pts = np.concatenate(pts).astype(np.float32)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < W) & (pts[:, 1] >= 0) & (pts[:, 1] < H)
    return pts[inside]


def _points(n_random: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rand = (rng.random((n_random, 2)) * [W, H]).astype(np.float32)
    grid = np.stack(np.meshgrid(np.arange(0, W, CELL), np.arange(0, H, CELL)), -1).reshape(-1, 2)[::7]
    return np.concatenate([rand, _edge_points(), grid.astype(np.float32)])


def test_zone_membership_matches_geometry_reference():
    """Zones of agents (random, on rect edges, on polygon vertices, overlapping zones) equal zone_membership."""
    pts = _points(3000, 0)
    ref = zone_membership(pts, ZONES)
    assert set(np.unique(ref)) == set(range(len(ZONES)))  # every zone wins somewhere
    eng = make_engine(len(pts), (W, H))
    eng.set_zones(ZONES)
    place(eng, pts)  # set_state computes zones
    snap = eng.snapshot(("pos", "zone"))
    assert np.array_equal(snap["pos"], pts)
    bad = np.flatnonzero(snap["zone"] != ref)
    if len(bad):
        i = bad[0]
        raise AssertionError(f"{len(bad)} differ, e.g. {pts[i].tolist()}: engine {snap['zone'][i]}, reference {ref[i]}")


def test_zone_outside_every_zone_is_minus_one():
    """Agents outside every zone get -1, and with no zones at all everyone gets -1."""
    zones = ZONES[1:]
    pts = _points(1000, 1)
    ref = zone_membership(pts, zones)
    assert (ref == -1).any()
    eng = make_engine(len(pts), (W, H))
    eng.set_zones(zones)
    place(eng, pts)
    assert np.array_equal(eng.snapshot(("zone",))["zone"], ref)
    eng.set_zones([])
    eng._zones_now()
    assert (eng.snapshot(("zone",))["zone"] == -1).all()


def test_zones_follow_moving_agents():
    """After steps with re-sorted rows, each agent's zone is that of its current position."""
    rng = np.random.default_rng(2)
    n = 2000
    eng = make_engine(n, (W, H), resort_every=1)
    eng.set_zones(ZONES)
    place(eng, rng.random((n, 2)) * [W, H], max_speed=3.0)
    eng.set_targets(np.arange(0, n, 2), rng.random((n // 2, 2)) * [W, H])
    for _ in range(10):
        eng.step(0.2)
        snap = eng.snapshot(("pos", "zone"))
        assert np.array_equal(snap["zone"], zone_membership(snap["pos"], ZONES))


def test_set_zones_replaces_and_reorders_priority():
    """Zone order is priority: reversing the list makes the other overlapping zone win."""
    a = Zone(name="a", rect=(0.0, 0.0, 10.0, 10.0))
    b = Zone(name="b", polygon=[(5.0, 5.0), (15.0, 5.0), (15.0, 15.0), (5.0, 15.0)])
    eng = make_engine(3, (20.0, 20.0))
    eng.set_zones([a, b])
    place(eng, [[7.0, 7.0], [2.0, 2.0], [12.0, 12.0]])
    assert eng.snapshot(("zone",))["zone"].tolist() == [1, 0, 1]
    eng.set_zones([b, a])
    eng._zones_now()
    assert eng.snapshot(("zone",))["zone"].tolist() == [1, 1, 0]
