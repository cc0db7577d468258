"""The Simulation object: lifecycle, decisions, snapshots."""

from __future__ import annotations

import numpy as np
import pytest

import tokenworld as tw
from tokenworld.scene.geometry import zone_membership


def small_scene(**sim) -> tw.Scene:
    return tw.Scene.from_dict(
        {
            "name": "tiny",
            "world": {"size": [60.0, 60.0]},
            "sim": {"seed": 5, **sim},
            "zones": [
                {"name": "west", "rect": [2.0, 2.0, 20.0, 58.0]},
                {"name": "east", "polygon": [[40.0, 2.0], [58.0, 2.0], [58.0, 58.0], [45.0, 40.0]]},
            ],
            "groups": [{"name": "g", "count": 40, "spawn_zone": "west", "speed": [2.0, 3.0]}],
        }
    )


def test_step_before_build_says_how_to_fix():
    """Using a simulation before `build()` raises an error naming the fix."""
    sim = tw.Simulation(small_scene())
    with pytest.raises(tw.TokenWorldError, match=r"Call `sim.build\(\)` first"):
        sim.step()


def test_no_seed_warns_that_the_run_will_not_reproduce():
    """A simulation without any seed picks one and warns."""
    scene = small_scene()
    scene.sim.seed = None
    with pytest.warns(UserWarning, match="will not reproduce"):
        sim = tw.Simulation(scene)
    assert 0 <= sim.seed < 2**32


def test_agents_decide_act_and_move_between_zones():
    """Rules-brain agents walk to other zones and their actions are applied and reported."""
    scene = small_scene(dt=0.5)
    scene.zones[1].resources = {"food": 100.0}
    sim = tw.Simulation(scene, arch="cpu").build()
    applied = 0
    for _ in range(400):
        r = sim.step()
        applied += sum(int((e.reason == 0).sum()) for e in r.events)
    snap = sim.snapshot()
    zones = zone_membership(snap["pos"], sim.scene.zones)
    assert (zones == 1).sum() > 0  # some walked from the west zone to the east one
    assert applied > 40
    assert np.array_equal(snap["zone"], zones)  # engine zones agree with the numpy reference
    sim.close()


def test_snapshot_is_by_agent_id_and_stays_in_the_world():
    """Snapshots are numpy arrays with one row per agent, inside the world bounds."""
    sim = tw.Simulation(small_scene(), arch="cpu").build()
    sim.run(50)
    snap = sim.snapshot()
    assert snap["pos"].shape == (40, 2) and snap["zone"].shape == (40,)
    assert (snap["pos"] >= 0).all() and (snap["pos"] < 60).all()
    sim.close()
