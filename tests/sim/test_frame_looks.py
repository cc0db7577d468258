"""Frames publish what things look like, resource stocks and carried items, live and in a replay of the same run."""

from __future__ import annotations

import numpy as np

from tests.paths import ROOT
from tokenworld.scene.load import read_scene_data
from tokenworld.scene.schema import Scene
from tokenworld.sim.live_source import LiveSource
from tokenworld.sim.replay import RunReplay
from tokenworld.world.items import ITEM_INDEX
from tokenworld.world.looks import entity_look

VILLAGE = ROOT / "scenes" / "village_rules.toml"


def builders_village() -> Scene:
    """The rules-driven village with everyone holding a hut's materials, so huts go up within a few ticks."""
    data = read_scene_data(VILLAGE)
    for g in data["groups"]:
        g["inventory"] = {**g.get("inventory", {}), "wood": 6, "stone": 2}
    data["groups"][0]["traits"] = {"openness": {"mean": 0.95, "std": 0.0}}
    data["store"] = {"checkpoint_every": 0, "snapshot_every": 0}
    return Scene.from_dict(data)


def grove() -> Scene:
    """Six craftspeople standing at an oak (no regrowth) in a zone with a stone pool; checkpoints every 10 ticks."""
    return Scene.from_dict(
        {
            "name": "grove",
            "world": {"size": [60.0, 60.0]},
            "sim": {"seed": 1},
            "store": {"checkpoint_every": 10, "snapshot_every": 0},
            "zones": [
                {"name": "grove", "kind": "forest", "rect": [20.0, 20.0, 40.0, 40.0], "resources": {"stone": 50}}
            ],
            "entities": [
                {
                    "kind": "resource",
                    "name": "oak",
                    "pos": [30.0, 30.0],
                    "radius": 2.0,
                    "properties": {"resource": "wood", "stock": 40, "regen": 0},
                }
            ],
            "groups": [
                {
                    "name": "crafters",
                    "count": 6,
                    "archetype": "craftsperson",
                    "spawn_area": [28.0, 28.0, 32.0, 32.0],
                    "inventory": {"food": 5},
                    "traits": {"conscientiousness": {"mean": 0.95, "std": 0.0}, "extraversion": {"mean": 0.05}},
                    "flocking": {"wander": 0.0},
                }
            ],
        }
    )


def run_live(scene: Scene, ticks: int, runs_dir) -> tuple[list, object]:
    """Run `scene` in a synchronous, recorded live source for `ticks` ticks; its frames and its run folder."""
    src = LiveSource(scene, seed=1, arch="cpu", speed=0, synchronous=True)
    folder = src.record_into(runs_dir, "r")
    src.start()
    frames = [src.frame]
    try:
        while src.frame.tick < ticks:
            src.advance(0.1)
            frames.append(src.frame)
    finally:
        src.close()
    return frames, folder


def test_built_structures_look_the_same_live_and_in_replay(tmp_path):
    """Huts built in a live run look like "hut" in its frames and in the replay of its run folder."""
    scene = builders_village()
    frames, folder = run_live(scene, 12, tmp_path)
    last = frames[-1]
    m = len(scene.entities)
    assert last.entity_look[:m] == [entity_look(e) for e in scene.entities]
    assert "tree" in last.entity_look and "town hall" in last.entity_look
    assert len(last.entity_look) > m and set(last.entity_look[m:]) == {"hut"}, "the village builds within 12 ticks"
    assert len(last.entity_look) == len(last.entity_name) == len(last.entity_stock) == len(last.entity_pos)
    assert (last.entity_stock[m:] == 1.0).all()
    with RunReplay(folder) as rp:
        f = rp.frame(last.tick)
        assert f.entity_look == last.entity_look and f.entity_name == last.entity_name
        assert f.entity_kind == last.entity_kind


def test_stock_falls_and_carry_shows_wood_live_and_in_replay(tmp_path):
    """Gathering at the oak lowers its stock and shows wood carried; the replay reads stocks from checkpoints."""
    frames, folder = run_live(grove(), 60, tmp_path)
    first, last = frames[0], frames[-1]
    assert first.entity_stock.tolist() == [1.0] and first.zone_stock.tolist() == [1.0]
    assert (first.carry == -1).all() and first.carry.dtype == np.int8
    assert last.entity_stock[0] < 1.0, "the crafters gather wood at the oak within 60 ticks"
    assert (last.carry == ITEM_INDEX["wood"]).any()
    at = next(f for f in frames if f.tick == 50)  # a checkpoint tick
    with RunReplay(folder) as rp:
        assert np.array_equal(rp.frame(0).entity_stock, first.entity_stock)
        f = rp.frame(50)
        assert np.allclose(f.entity_stock, at.entity_stock) and np.allclose(f.zone_stock, at.zone_stock)
        assert np.allclose(rp.frame(55).entity_stock, at.entity_stock)  # the newest checkpoint before the tick
        assert np.array_equal(rp.frame(60).carry, last.carry)
        assert rp.frame(60).carry is rp.frame(60.5).carry  # one lookup per tick
