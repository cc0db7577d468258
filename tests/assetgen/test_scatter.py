"""Props scattered in zones (tokenworld/assetgen/scatter.py): deterministic, inside their zone, clear of entities,
as dense as the scene says."""

from __future__ import annotations

import numpy as np

from tests.paths import ROOT
from tokenworld.assetgen.scatter import CLEARANCE, scatter_props
from tokenworld.scene.geometry import zone_membership
from tokenworld.scene.schema import Scene

VILLAGE = ROOT / "scenes" / "village_rules.toml"


def with_changes(scene: Scene, **top) -> Scene:
    data = scene.to_dict()
    for key, value in top.items():
        data[key] = value if not isinstance(value, dict) else {**data.get(key, {}), **value}
    return Scene.from_dict(data)


def arrays(scatters) -> dict:
    return {(s.text, s.seed, s.thin): (s.pos, s.heading, s.scale, s.zone, s.rank) for s in scatters}


def test_scatter_is_deterministic_by_seed():
    """The same scene and seed give the same props, another seed other places."""
    scene = Scene.load(VILLAGE)
    a, b = arrays(scatter_props(scene)), arrays(scatter_props(Scene.load(VILLAGE)))
    assert a.keys() == b.keys()
    for key in a:
        for x, y in zip(a[key], b[key], strict=True):
            assert np.array_equal(x, y)
    c = arrays(scatter_props(with_changes(scene, sim={"seed": 12345})))
    forest = ("a pine tree", 0, "stump")
    assert not np.array_equal(a[forest][0][: len(c[forest][0])], c[forest][0][: len(a[forest][0])])


def test_a_zones_props_do_not_depend_on_the_other_zones_order():
    """Swapping two zones that do not overlap leaves each one's props where they were."""
    scene = Scene.load(VILLAGE)
    data = scene.to_dict()
    names = [z["name"] for z in data["zones"]]
    i, j = names.index("farm"), names.index("forest")
    data["zones"][i], data["zones"][j] = data["zones"][j], data["zones"][i]
    a, b = arrays(scatter_props(scene)), arrays(scatter_props(Scene.from_dict(data)))
    crops = ("a row of crops", 0, "hide")
    assert np.array_equal(a[crops][0], b[crops][0])


def test_props_stand_inside_their_zone_clear_of_entities():
    """Every prop's point belongs to its zone (not a later zone covering it) and keeps clear of every entity."""
    scene = Scene.load(VILLAGE)
    scatters = scatter_props(scene)
    assert sum(len(s) for s in scatters) > 200
    centres = np.array([e.pos for e in scene.entities], np.float32)
    radii = np.array([e.radius for e in scene.entities], np.float32)
    for s in scatters:
        if not len(s):
            continue
        assert np.array_equal(zone_membership(s.pos, scene.zones), s.zone)
        d = np.linalg.norm(s.pos[:, None] - centres[None], axis=2)
        assert (d > radii[None] + CLEARANCE - 1e-3).all()
        assert ((s.scale >= 0.8) & (s.scale <= 1.2)).all() and ((s.rank >= 0) & (s.rank < 1)).all()


def test_crop_rows_lie_on_a_grid():
    """Farms get crop rows facing +x on a grid (a handful of distinct row positions), not random points."""
    scene = Scene.load(VILLAGE)
    rows = np.concatenate([s.pos for s in scatter_props(scene) if s.text == "a row of crops"])
    heading = np.concatenate([s.heading for s in scatter_props(scene) if s.text == "a row of crops"])
    assert len(rows) > 100 and np.all(heading == 0)
    assert len(np.unique(np.round(rows[:, 1]))) < len(rows) / 5


def test_density_zero_and_disabled_props_scatter_nothing():
    """`props = 0` on a zone empties it; `[props] enabled = false` or density 0 empties the scene."""
    scene = Scene.load(VILLAGE)
    data = scene.to_dict()
    for z in data["zones"]:
        if z["name"] == "forest":
            z["props"] = 0.0
    no_forest = scatter_props(Scene.from_dict(data))
    fi = [z.name for z in scene.zones].index("forest")
    assert all((s.zone != fi).all() for s in no_forest) and sum(len(s) for s in no_forest) > 100
    assert sum(len(s) for s in scatter_props(with_changes(scene, props={"enabled": False}))) == 0
    assert sum(len(s) for s in scatter_props(with_changes(scene, props={"density": 0.0}))) == 0
    capped = scatter_props(with_changes(scene, props={"max_per_zone": 10}))
    counts = np.bincount(np.concatenate([s.zone for s in capped]), minlength=len(scene.zones))
    assert counts.max() <= 10
