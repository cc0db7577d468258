"""Per-agent state survives row re-sorting, re-uploads and table replacements."""

from __future__ import annotations

import numpy as np

from tests.engine.engine_ref import group_params, make_engine, place


def test_add_field_follows_agents_through_resorts():
    """A field from add_field keeps each agent's value (in id order) across re-sorting steps."""
    rng = np.random.default_rng(0)
    n = 300
    eng = make_engine(n, (50.0, 50.0), resort_every=1)
    mood = eng.add_field("mood")
    place(eng, rng.random((n, 2)) * 50.0)
    ids = np.arange(n, dtype=np.float32)
    mood.from_numpy(ids[eng.id_of.to_numpy()])  # the field is in row order: row r holds agent id_of[r]
    for _ in range(5):
        eng.step(0.1)
    assert not np.array_equal(eng.id_of.to_numpy(), np.arange(n))
    assert np.array_equal(eng.snapshot(("mood",))["mood"], ids)


def test_set_state_again_does_not_mix_up_fields():
    """A second set_state never hands one agent's add_field value to another (kept by id, or reset)."""
    rng = np.random.default_rng(1)
    n = 300
    eng = make_engine(n, (50.0, 50.0), resort_every=1)
    mood = eng.add_field("mood")
    place(eng, rng.random((n, 2)) * 50.0)
    ids = np.arange(1, n + 1, dtype=np.float32)
    mood.from_numpy(ids[eng.id_of.to_numpy()])
    for _ in range(3):
        eng.step(0.1)
    place(eng, rng.random((n, 2)) * 50.0)
    got = eng.snapshot(("mood",))["mood"]
    kept_or_reset = np.array_equal(got, ids) or not got.any()
    assert kept_or_reset, f"agents 0..4 held {ids[:5].tolist()}, now hold {got[:5].tolist()}"


def test_idle_agents_keep_their_state_through_resorts():
    """Agents that never move keep their own heading, speed, group and target after re-sorting steps."""
    rng = np.random.default_rng(3)
    xy = np.stack(np.meshgrid(np.arange(5.0, 95.0, 7.0), np.arange(5.0, 95.0, 7.0)), -1).reshape(-1, 2)
    pos = xy[rng.permutation(len(xy))].astype(np.float32)  # 7 m apart: nobody sees anybody
    n = len(pos)
    still = group_params((0.0, 0.0, 1.5, 1.2, 0.0), (0.0, 0.0, 1.0, 1.0, 0.0))
    eng = make_engine(n, (100.0, 100.0), params=still, resort_every=1, boundary_margin=0.0)
    heading = rng.uniform(-3.0, 3.0, n).astype(np.float32)
    speed = rng.uniform(1.0, 2.0, n).astype(np.float32)
    group = rng.integers(0, 2, n).astype(np.int32)
    eng.set_state(pos, speed, group, heading=heading)
    for _ in range(5):
        eng.step(0.1)
    assert not np.array_equal(eng.id_of.to_numpy(), np.arange(n))
    snap = eng.snapshot(("pos", "vel", "heading", "max_speed", "group", "target", "flags", "nbr_n"))
    assert np.array_equal(snap["pos"], pos) and (snap["vel"] == 0).all() and (snap["nbr_n"] == 0).all()
    assert np.array_equal(snap["heading"], heading)
    assert np.array_equal(snap["max_speed"], speed)
    assert np.array_equal(snap["group"], group)
    assert np.array_equal(snap["target"], pos) and (snap["flags"] == 0).all()


def test_set_state_again_restarts_every_agent():
    """A second set_state after a run puts every agent (by id) where it says, without targets."""
    rng = np.random.default_rng(2)
    n = 500
    eng = make_engine(n, (50.0, 50.0), resort_every=1)
    place(eng, rng.random((n, 2)) * 50.0)
    eng.set_targets(np.arange(n), rng.random((n, 2)) * 50.0)
    for _ in range(3):
        eng.step(0.1)
    pos = (rng.random((n, 2)) * 50.0).astype(np.float32)
    speed = rng.uniform(1.0, 2.0, n).astype(np.float32)
    eng.set_state(pos, speed, np.zeros(n, np.int32))
    snap = eng.snapshot(("pos", "vel", "max_speed", "flags", "target"))
    assert np.array_equal(snap["pos"], pos) and np.array_equal(snap["max_speed"], speed)
    assert (snap["vel"] == 0).all() and (snap["flags"] == 0).all() and np.array_equal(snap["target"], pos)
    assert eng.arrived().tolist() == []


def test_obstacle_push_independent_of_setter_order():
    """Solid entities push agents within personal space whether set_group_params came before or after set_entities."""
    space = 5.0
    big = group_params((0.0, 0.0, 1.5, space, 0.0))
    m = 18
    epos = np.array([[20.0 * k + 10.0, 50.0] for k in range(m)], np.float32)
    pos = epos + np.array([[0.6 + 0.27 * k, 0.0] for k in range(m)], np.float32)  # edges 0.1 .. 4.69 m

    def forces(params_first: bool) -> np.ndarray:
        eng = make_engine(m, (20.0 * m, 100.0), params=big if params_first else None)
        eng.set_entities(epos, np.full(m, 0.5), np.ones(m, bool))
        if not params_first:
            eng.set_group_params(big)
        place(eng, pos)
        eng.build_hash()
        eng.perceive()
        return eng.snapshot(("force",))["force"]

    first, after = forces(True), forces(False)
    assert (first[:, 0] > 0).all() and (first[:, 1] == 0).all()
    bad = np.flatnonzero((after != first).any(axis=1))
    edges = (pos[bad, 0] - epos[bad, 0] - 0.5).round(2).tolist()
    assert not len(bad), f"edges {edges} m: push {after[bad, 0].tolist()}, expected {first[bad, 0].tolist()}"
