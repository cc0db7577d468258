"""Walks end: an agent sent somewhere with move_to arrives and becomes free to decide again."""

from __future__ import annotations

import numpy as np

import tokenworld
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.decisions import REASONS, TARGET_KINDS, Decisions


def _walkers(zones, entities, n, spawn, ticks, decisions, hold=()):
    """Run a scene where the first tick applies `decisions` (agent, kind, target) and nobody else decides."""
    scene = tokenworld.Scene.from_dict(
        {
            "name": "walk",
            "world": {"size": [100.0, 100.0]},
            "sim": {"seed": 2, "dt": 0.5, "metrics_every": 1000},
            "mind": {"decide_every": 100000},
            "zones": zones,
            "entities": entities,
            "groups": [
                {"name": "g", "count": n, "spawn_area": spawn, "speed": [1.2, 1.5], "flocking": {"wander": 0.0}}
            ],
        }
    )
    sim = tokenworld.Simulation(scene, seed=2, arch="cpu", profile=False).build()
    w = sim.world
    d = Decisions.empty(len(decisions))
    for r, (agent, kind, target) in enumerate(decisions):
        d.agent[r], d.action[r] = agent, ACTION_INDEX["move_to"]
        d.target_kind[r], d.target[r] = TARGET_KINDS.index(kind), target
    sim.pending = d
    hold = np.asarray(hold, np.int64)
    w.set_busy(hold, np.full(len(hold), 10**6))  # busy for good: they stand still
    first = sim.step()
    assert all(REASONS[r] == "ok" for e in first.events for r in e.reason)
    for _ in range(ticks):
        sim.step()
    return sim


def test_move_to_an_agent_standing_still_arrives():
    """Walking to an agent who stays put (busy with a long action) ends: the walker does not stay `walking` for ever."""
    sim = _walkers([], [], 2, [20.0, 20.0, 40.0, 40.0], 200, [(0, "agent", 1)], hold=[1])
    w = sim.world
    pos = sim.snapshot()["pos"]
    gap = float(np.linalg.norm(pos[0] - pos[1]))
    assert gap <= 2.0  # it got as close as an agent can ...
    assert not w.walking[0], f"agent 0 still walking after 100 s, {gap:.2f} m from agent 1"  # ... but never 'arrives'
    assert w.idle(sim.tick)[0]
    sim.close()


def test_move_to_a_zone_with_a_building_in_it_arrives():
    """Every agent sent to a zone that holds a solid building stops walking within 150 s."""
    zones = [{"name": "square", "rect": [35.0, 35.0, 65.0, 65.0]}]
    hall = [{"kind": "building", "name": "hall", "pos": [50.0, 50.0], "radius": 6.0, "solid": True}]
    n = 24
    sim = _walkers(zones, hall, n, [5.0, 5.0, 25.0, 25.0], 300, [(a, "zone", 0) for a in range(n)])
    w = sim.world
    target = w.engine.snapshot(("target",))["target"]
    inside = np.linalg.norm(target - w.entity_pos[0], axis=1) < w.entity_radius[0]
    stuck = np.flatnonzero(w.walking)
    assert len(stuck) == 0, (
        f"agents {stuck.tolist()} still walking; targets inside the hall: {np.flatnonzero(inside).tolist()}"
    )
    sim.close()
