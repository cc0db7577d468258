"""Generated assets in the viewer: GLB meshes loaded and tinted by vertex alpha, props scattered in zones and thinned
by stock, entities with their looks, people with a walking bob and carried items.

Rendered for real, offscreen (EGL through Mesa); one viewer of the paused village for the module.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.viewer.view_lab import VILLAGE, changed
from tokenworld.scene.geometry import points_in_zone
from tokenworld.scene.schema import Scene
from tokenworld.sim.frames import WALKING
from tokenworld.viewer.meshes import MeshError, MeshLibrary, load_glb

SIZE = (640, 360)


def box_glb(path, *, top_alpha: int = 0) -> None:
    """A 2 x 1 x 4 m box (Z-up in our terms, written Y-up as glTF wants): white with alpha 255 below 3 m (takes the
    tint), blue with alpha `top_alpha` above."""
    import trimesh

    m = trimesh.creation.box(extents=[2.0, 1.0, 4.0])
    m.apply_translation([0, 0, 2.0])
    m = m.subdivide().subdivide()
    m.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))  # Z-up -> Y-up
    cols = np.tile(np.array([255, 255, 255, 255], np.uint8), (len(m.vertices), 1))
    cols[m.vertices[:, 1] > 2.9] = [0, 0, 255, top_alpha]
    m.visual.vertex_colors = cols
    path.write_bytes(m.export(file_type="glb"))


def test_a_glb_loads_upright_with_its_colours_and_alpha(tmp_path):
    """A GLB comes out as one Z-up mesh standing on z = 0, its vertex colours and alpha kept."""
    from tokenworld.viewer.meshes import _arrays

    box_glb(tmp_path / "box.glb")
    mesh = load_glb(tmp_path / "box.glb")
    v, _, c, t = _arrays(mesh.geom)
    assert np.allclose(v.min(axis=0), [-1, -0.5, 0], atol=1e-5) and np.allclose(v.max(axis=0), [1, 0.5, 4], atol=1e-5)
    assert mesh.height == pytest.approx(4.0) and mesh.radius == pytest.approx(np.hypot(1, 0.5))
    top = v[:, 2] > 2.9
    assert np.allclose(c[top], [0, 0, 1, 0]) and np.allclose(c[~top], [1, 1, 1, 1])
    assert len(t) > 12


def test_a_missing_or_broken_file_falls_back_to_the_built_in_mesh(tmp_path, caplog):
    """A missing or broken GLB raises MeshError; the library logs it once and gives the fallback."""
    (tmp_path / "broken.glb").write_bytes(b"glTF not really")
    with pytest.raises(MeshError, match="does not exist"):
        load_glb(tmp_path / "nowhere.glb")
    with pytest.raises(MeshError, match="could not read"):
        load_glb(tmp_path / "broken.glb")

    class Cache:
        def glb(self, text, *, seed=0, lod=0):
            return tmp_path / "broken.glb"

    lib = MeshLibrary(Cache())
    fallback = object()
    assert lib.get("a tree", fallback=fallback) is fallback
    assert lib.get("a tree", fallback=fallback) is fallback
    assert len(lib.failures) == 1 and "a tree" in lib.failures[0]


@pytest.fixture(scope="module")
def village():
    """The village, paused, in an offscreen viewer without panels."""
    from tokenworld.sim.live_source import LiveSource
    from tokenworld.viewer.app import Viewer

    scene = Scene.load(VILLAGE)
    feed = LiveSource(scene, seed=1, speed=0, playing=False).start()
    viewer = None
    try:
        feed.wait_ready()
        viewer = Viewer(feed, scene, offscreen=True, size=SIZE, panels=False)
        viewer.show_labels = False
        viewer.render(2)
        yield viewer
    finally:
        if viewer is not None:
            viewer.close()
        feed.close()


def look_at(v, xy, distance: float) -> None:
    c = np.array([xy[0], xy[1], float(v.ground.height(np.float32([xy]))[0])])
    v.camera.focus(c, distance=distance)
    v.render(2)


def test_a_glb_renders_tinted_where_its_alpha_says(village, tmp_path):
    """The box drawn in the meadow: its alpha-1 part takes the instance's tint (green), its alpha-0 part stays blue."""
    from tokenworld.viewer.layers import InstancedLayer
    from tokenworld.viewer.picking import project

    v = village
    box_glb(tmp_path / "box.glb")
    layer = InstancedLayer(v.base.render, "test-box", load_glb(tmp_path / "box.glb").geom, v.inst_shader)
    xy = (150.0, 100.0)  # meadow, between the town hall and the farm
    z = float(v.ground.height(np.float32([xy]))[0])
    try:
        look_at(v, xy, 25.0)
        layer.update(np.float32([[xy[0], xy[1], z, 0.0]]), np.float32([[0.1, 1.0, 0.1, 1.0]]))
        v.render(2)
        img = v.image()
        layer.update(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32))
        v.render(2)
        bare = v.image()
        (low, high), _ = project(np.float32([[xy[0], xy[1], z + 1.5], [xy[0], xy[1], z + 3.5]]), v.view_proj(), SIZE)
        diff = changed(img, bare)
        assert diff.sum() > 200  # the box is drawn
        lo = img[int(low[1]) - 2 : int(low[1]) + 3, int(low[0]) - 2 : int(low[0]) + 3].reshape(-1, 3).astype(int)
        hi = img[int(high[1]) - 2 : int(high[1]) + 3, int(high[0]) - 2 : int(high[0]) + 3].reshape(-1, 3).astype(int)
        assert (lo[:, 1] > lo[:, 0] + 30).mean() > 0.8 and (lo[:, 1] > lo[:, 2] + 30).mean() > 0.8  # tinted green
        assert (hi[:, 2] > hi[:, 0] + 30).mean() > 0.8 and (hi[:, 2] > hi[:, 1] + 30).mean() > 0.8  # its own blue
    finally:
        layer.np.remove_node()


def test_props_stand_in_the_forest_and_change_the_picture(village):
    """At least 50 props are drawn inside the forest polygon; turning props off changes the forest's pixels."""
    v = village
    forest = next(z for z in v.scene.zones if z.name == "forest")
    look_at(v, (55.0, 45.0), 110.0)
    inside = points_in_zone(v.props.positions(), forest)
    assert inside.sum() >= 50, inside.sum()
    with_props = v.image()
    data = v.scene.to_dict()
    data["props"] = {"enabled": False}
    v.set_scene(Scene.from_dict(data))
    try:
        v.render(2)
        assert sum(v.props.drawn().values()) == 0
        without = v.image()
    finally:
        v.set_scene(Scene.load(VILLAGE))
        v.render(2)
    from tokenworld.viewer.picking import project

    trees = v.props.positions("a tree", "a pine tree")
    px, _ = project(np.column_stack([trees, v.ground.height(trees)]), v.view_proj(), SIZE)
    on = (px[:, 0] >= 0) & (px[:, 0] < SIZE[0]) & (px[:, 1] >= 0) & (px[:, 1] < SIZE[1])
    assert changed(with_props, without).mean() > 0.05  # the trees cover a good part of the view
    assert on.sum() >= 30


def test_a_zone_running_out_thins_its_trees_into_stumps(village):
    """With the forest's stock at 0.3, fewer trees stand than at 1.0 and the rest are stumps; 1.0 again regrows."""
    v = village
    fi = next(i for i, z in enumerate(v.scene.zones) if z.name == "forest")
    cam = v.camera.position().astype(np.float32)
    stock = np.ones(len(v.scene.zones), np.float32)

    def trees_and_stumps(s: float) -> tuple[int, int]:
        stock[fi] = s
        v.props.update(cam, stock)
        drawn = v.props.drawn()
        forest = next(z for z in v.scene.zones if z.name == "forest")
        trees = points_in_zone(v.props.positions("a tree", "a pine tree"), forest).sum()
        stumps = sum(n for (text, _, _), n in drawn.items() if text == "a tree stump")
        return int(trees), int(stumps)

    full, none = trees_and_stumps(1.0)
    thin, stumps = trees_and_stumps(0.3)
    assert none == 0 and full >= 40
    assert thin < 0.45 * full and stumps >= 0.5 * full and thin + stumps == full
    assert trees_and_stumps(1.0) == (full, 0)  # regrown: the same trees stand again


def test_entities_are_drawn_with_their_looks(village):
    """Every entity is drawn once, in the layer of its look's mesh (looks giving one mesh share a layer)."""
    from tokenworld.world.looks import entity_seed

    v = village
    frame = v.source.frame
    v._entities_key = None
    v.render(1)
    el = v.entity_layers
    assert sum(layer.count for layer in el.layers + el.far_layers) == len(frame.entity_pos)
    seeds = [entity_seed(e) for e in v.scene.entities] + [0] * (len(frame.entity_look) - len(v.scene.entities))
    assert set(zip(frame.entity_look, seeds, strict=True)) <= set(el.looks)
    assert ("a tall stone watchtower", 1) in el.looks  # an asset entity's prompt, at its seed
    houses = [(look, 0) for look in frame.entity_look if look.startswith("house")]
    assert len(houses) == 3 and len({el.looks[h] for h in houses}) == 1  # one mesh, one layer for the three


def test_walking_agents_bob_and_carriers_hold_their_item(village):
    """Walking agents rise and fall with time, standing ones do not; an agent carrying wood has a log in hand."""
    from dataclasses import replace

    v = village
    f = v.source.frame
    state = np.zeros(f.n, np.int8)
    state[0] = WALKING
    carry = np.full(f.n, -1, np.int8)
    carry[0] = 2  # wood (tokenworld.scene.schema.ITEMS)
    frame = replace(f, state=state, carry=carry, interval=0.0)
    pos3 = np.column_stack([frame.pos, v.ground.height(frame.pos)]).astype(np.float32)
    rgbs = np.ones((f.n, 4), np.float32)
    far = np.float32([1e5, 1e5, 1e5])
    zs = []
    for t in np.linspace(0.0, 0.3, 7):
        v.crowd.draw(frame, pos3, rgbs, far, 1.0, float(t))
        zs.append(v.far_agents._data[: f.n, 0, 2].copy())
    zs = np.array(zs) - pos3[:, 2]
    assert np.ptp(zs[:, 0]) > 0.03 and np.all(zs[:, 0] >= -1e-6)  # agent 0 bobs
    assert np.abs(zs[:, 1:]).max() < 1e-6  # the others stand still
    v.crowd.draw(frame, pos3, rgbs, pos3[0] + np.float32([0, 0, 5]), 3.0, 0.0)  # items: within 2 x 3 m only
    log, _ = v.crowd.items[2]
    assert log.count == 1
    held = log._data[0, 0, :3]
    assert 0.2 < np.linalg.norm(held[:2] - pos3[0, :2]) < 0.6 and 0.8 < held[2] - pos3[0, 2] < 1.1
    assert sum(layer.count for layer, _ in v.crowd.items.values()) == 1
    v.crowd.draw(frame, pos3, rgbs, far, 3.0, 0.0)
    assert log.count == 0  # too far to see


def test_entity_looks_past_the_cap_take_their_kinds_default(village):
    """Past MAX_LOOKS distinct meshes, new looks are drawn with their kind's default look; looks giving a mesh
    already in use share its layer whatever the count."""
    from tokenworld.viewer.entities import DEFAULT_LOOK, MAX_LOOKS, EntityLayers
    from tokenworld.viewer.layers import entity_mesh
    from tokenworld.viewer.meshes import mesh_of_geom

    shared = mesh_of_geom(entity_mesh("building"))

    class Lib:
        def __init__(self):
            self.made = {}

        def get(self, text, *, seed=0, lod=0, fallback=None):
            if text.startswith("same"):
                return shared
            return self.made.setdefault(text, mesh_of_geom(entity_mesh("item")))

    el = EntityLayers(village.base.render, village.inst_shader, Lib())
    try:
        looks = ["same 0"] + [f"thing {i}" for i in range(MAX_LOOKS + 5)] + [f"same {i}" for i in range(1, 5)]
        rows = el.layer_rows(looks, ["building"] * len(looks))
        assert len(el.layers) == MAX_LOOKS + 1  # the cap, and the default look's
        assert len(set(rows[:MAX_LOOKS])) == MAX_LOOKS
        assert set(rows[MAX_LOOKS : MAX_LOOKS + 6]) == {el.looks[(DEFAULT_LOOK["building"], 0)]}
        assert set(rows[-4:]) == {rows[0]}  # the shared mesh's layer, past the cap too
    finally:
        for layer in el.layers:
            layer.np.remove_node()


def test_resource_nodes_shrink_with_their_stock():
    """A resource node is drawn at 0.6 + 0.4 x its stock of its size; other entities keep theirs."""
    from tokenworld.viewer.entities import stock_scale

    kinds = np.array(["resource", "resource", "building", "resource"], dtype=object)
    got = stock_scale(kinds, np.float32([1.0, 0.0, 0.0, 0.5]))
    assert np.allclose(got, [1.0, 0.6, 1.0, 0.8])
