"""`extends`: tables merge key by key, lists replace, cycles and missing parents are errors."""

from __future__ import annotations

import pytest

from tokenworld.errors import SceneError
from tokenworld.scene.load import load_scene, merge

PARENT = """\
name = "parent"
description = "the parent"

[world]
size = [300.0, 300.0]
terrain = { kind = "hills", height = 5.0, scale = 40.0 }

[sim]
dt = 0.2
ticks = 99
seed = 4

[[zones]]
name = "a"
rect = [0.0, 0.0, 10.0, 10.0]

[[zones]]
name = "b"
rect = [10.0, 10.0, 20.0, 20.0]

[[groups]]
name = "folk"
count = 3
spawn_zone = "a"
"""


def test_tables_merge_key_by_key(write):
    """A child's table overrides only the keys it gives; the rest come from the parent."""
    write(PARENT, "parent.toml")
    scene = load_scene(write('extends = "parent.toml"\nname = "child"\n[sim]\nticks = 7\n', "child.toml"))
    assert scene.name == "child" and scene.description == "the parent"
    assert (scene.sim.dt, scene.sim.ticks, scene.sim.seed) == (0.2, 7, 4)
    assert scene.world.size == (300.0, 300.0)


def test_nested_tables_merge_recursively(write):
    """A child giving one key of `[world.terrain]` keeps the parent's other terrain keys."""
    write(PARENT, "parent.toml")
    scene = load_scene(write('extends = "parent.toml"\n[world.terrain]\nheight = 9.0\n', "child.toml"))
    t = scene.world.terrain
    assert (t.kind, t.height, t.scale) == ("hills", 9.0, 40.0)


def test_lists_replace_the_inherited_list(write):
    """A child's `[[zones]]` replaces all the parent's zones instead of appending."""
    write(PARENT, "parent.toml")
    child = 'extends = "parent.toml"\n[[zones]]\nname = "a"\nrect = [50.0, 50.0, 60.0, 60.0]\n'
    scene = load_scene(write(child, "child.toml"))
    assert [(z.name, z.rect) for z in scene.zones] == [("a", (50.0, 50.0, 60.0, 60.0))]
    assert [g.name for g in scene.groups] == ["folk"]  # lists the child does not give are inherited


def test_tuples_replace_not_merge(write):
    """A child's `world.size` replaces the parent's pair as a whole."""
    write(PARENT, "parent.toml")
    scene = load_scene(write('extends = "parent.toml"\n[world]\nsize = [250.0, 260.0]\n', "child.toml"))
    assert scene.world.size == (250.0, 260.0) and scene.world.terrain.kind == "hills"


def test_extends_chains_through_grandparent(write):
    """`extends` resolves through several files, nearest file winning."""
    write(PARENT, "grand.toml")
    write('extends = "grand.toml"\nname = "mid"\n[sim]\nticks = 50\nseed = 8\n', "mid.toml")
    scene = load_scene(write('extends = "mid.toml"\nname = "leaf"\n[sim]\nseed = 9\n', "leaf.toml"))
    assert (scene.name, scene.sim.ticks, scene.sim.seed, scene.sim.dt) == ("leaf", 50, 9, 0.2)
    assert scene.extends is None and "extends" not in scene.to_dict()


def test_extends_is_relative_to_the_file(write):
    """The parent path is taken relative to the extending file (here a subfolder of its folder), not the cwd."""
    write(PARENT, "scenes/deep/common/parent.toml")
    scene = load_scene(write('extends = "common/parent.toml"\nname = "deep"\n', "scenes/deep/child.toml"))
    assert scene.sim.ticks == 99


@pytest.mark.parametrize("parent", ["../../common/parent.toml", "../parent.toml", "/etc/passwd", "ABS"])
def test_extends_never_reaches_outside_the_scene_folder(write, parent):
    """`extends` naming a file above the scene's folder, or an absolute path, is refused before anything is read."""
    outside = write(PARENT, "scenes/parent.toml")
    write(PARENT, "common/parent.toml")
    parent = str(outside) if parent == "ABS" else parent
    with pytest.raises(SceneError) as info:
        load_scene(write(f'extends = "{parent}"\nname = "deep"\n', "scenes/deep/child.toml"))
    text = str(info.value)
    assert "absolute path" in text or "outside this scene's folder" in text
    assert "shipped scene" in text and "not valid TOML" not in text


def test_extends_names_a_shipped_scene(write):
    """A scene in the user's own folder may extend a shipped scene by its file name."""
    scene = load_scene(write('extends = "village_rules.toml"\nname = "mine"\n[sim]\nticks = 7\n', "mine.toml"))
    assert scene.name == "mine" and scene.sim.ticks == 7 and scene.agent_count == 25


@pytest.mark.parametrize("link", ["parent.toml", "parts"])
def test_extends_never_follows_a_link_out_of_the_scene_folder(write, tmp_path, link):
    """A link in the scene's folder (to a file or a folder) that points outside it is refused like `..`."""
    outside = write(PARENT, "elsewhere/parent.toml")
    (tmp_path / "scenes").mkdir()
    (tmp_path / "scenes" / link).symlink_to(outside if link == "parent.toml" else outside.parent)
    parent = "parent.toml" if link == "parent.toml" else "parts/parent.toml"
    with pytest.raises(SceneError, match="outside this scene's folder; `extends` may name a scene file in"):
        load_scene(write(f'extends = "{parent}"\nname = "c"\n', "scenes/child.toml"))


def test_extends_may_step_up_and_back_inside_the_folder(write):
    """`..` is fine while the path stays inside the scene's folder."""
    write(PARENT, "scenes/base.toml")
    scene = load_scene(write('extends = "parts/../base.toml"\nname = "c"\n', "scenes/child.toml"))
    assert scene.sim.ticks == 99


def test_a_file_next_to_the_scene_comes_before_a_shipped_one(write):
    """`extends = "village.toml"` reads the user's own village.toml when there is one, the shipped one otherwise."""
    write(PARENT, "mine/village.toml")
    assert load_scene(write('extends = "village.toml"\nname = "m"\n', "mine/m.toml")).sim.ticks == 99
    shipped = load_scene(write('extends = "village.toml"\nname = "m"\n', "other/m.toml"))
    assert shipped.name == "m" and shipped.agent_count > 0 and shipped.sim.ticks != 99
    assert load_scene(write('extends = "village"\nname = "m"\n', "other/n.toml")).to_dict() == shipped.to_dict()


def test_extends_a_missing_file_says_what_is_allowed(write):
    """A parent that is neither next to the scene nor shipped is named, with what `extends` may name."""
    with pytest.raises(SceneError) as info:
        load_scene(write('extends = "nowhere.toml"\nname = "c"\n', "c.toml"))
    text = str(info.value)
    assert "`extends` names 'nowhere.toml', which does not exist" in text and "a shipped scene by name" in text


def test_extends_cycle(write):
    """`a` extends `b` extends `a` is reported as a cycle, not a recursion error."""
    write('extends = "b.toml"\nname = "a"\n', "a.toml")
    write('extends = "a.toml"\nname = "b"\n', "b.toml")
    with pytest.raises(SceneError) as info:
        load_scene(write('extends = "b.toml"\nname = "a"\n', "a.toml"))
    assert "`extends` forms a cycle (a.toml -> b.toml -> a.toml)" in str(info.value)


def test_extends_itself(write):
    """A file extending itself is a cycle."""
    with pytest.raises(SceneError, match=r"forms a cycle \(self.toml -> self.toml\)"):
        load_scene(write('extends = "self.toml"\nname = "s"\n', "self.toml"))


def test_missing_parent(write):
    """An `extends` naming a file that does not exist names it."""
    with pytest.raises(SceneError) as info:
        load_scene(write('extends = "nope.toml"\nname = "c"\n', "child.toml"))
    message = str(info.value)
    assert "child.toml: `extends` names 'nope.toml', which does not exist" in message


@pytest.mark.parametrize("value", ["3", '""', '["a.toml"]'])
def test_extends_must_be_a_file_name(write, value):
    """An `extends` that is not a non-empty string is rejected."""
    with pytest.raises(SceneError, match="`extends` must be a file name"):
        load_scene(write(f'extends = {value}\nname = "c"\n'))


def test_too_deep_extends_chain(write):
    """A chain of `extends` deeper than MAX_EXTENDS_DEPTH is rejected."""
    write('name = "s0"\n', "s0.toml")
    for i in range(1, 19):
        write(f'extends = "s{i - 1}.toml"\nname = "s{i}"\n', f"s{i}.toml")
    with pytest.raises(SceneError, match="nested more than 16 deep"):
        load_scene(write('extends = "s18.toml"\nname = "top"\n', "top.toml"))


def test_invalid_parent_toml_names_the_parent(write):
    """A syntax error in the parent names the parent file."""
    parent = write('name = "p"\n[sim\n', "parent.toml")
    with pytest.raises(SceneError) as info:
        load_scene(write('extends = "parent.toml"\nname = "c"\n', "child.toml"))
    assert f"{parent}: not valid TOML" in str(info.value)


def test_merged_problems_name_the_child(write):
    """Problems in the merged data are reported against the file that was loaded."""
    write(PARENT, "parent.toml")
    child = write('extends = "parent.toml"\n[sim]\ndt = -1.0\n', "child.toml")
    with pytest.raises(SceneError) as info:
        load_scene(child)
    assert f"{child}: `sim.dt`: must be positive, found -1.0." in str(info.value)


def test_merge_function():
    """`merge` recurses into tables and replaces lists and scalars, leaving its inputs alone."""
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2], "s": 1}
    over = {"a": {"y": {"q": 3}}, "l": [9], "t": 2}
    assert merge(base, over) == {"a": {"x": 1, "y": {"p": 1, "q": 3}}, "l": [9], "s": 1, "t": 2}
    assert base["a"]["y"] == {"p": 1, "q": 2}
