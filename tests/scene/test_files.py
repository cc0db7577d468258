"""Shipped scenes, the starter scene, and saving then loading a scene."""

from __future__ import annotations

import pytest

from tests.paths import ROOT
from tokenworld.errors import TokenWorldError
from tokenworld.scene import Scene
from tokenworld.scene.starter import starter_scene_text, summary

SHIPPED = sorted(p for p in (ROOT / "scenes").glob("*.toml") if not p.stem.startswith("sweep_"))


def test_scenes_folder_is_found():
    """The repository's scenes/ folder is found and holds the shipped scenes."""
    assert {p.stem for p in SHIPPED} >= {"base", "village", "metropolis", "stress"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scene_loads(path):
    """Every scene shipped in scenes/ loads and validates."""
    scene = Scene.load(path)
    assert scene.name == path.stem
    if path.stem != "base":
        assert scene.groups and scene.zones and scene.sim.seed is not None
        assert all(g.spawn_zone is None or g.spawn_zone in {z.name for z in scene.zones} for g in scene.groups)


def test_starter_scene_is_valid(write):
    """The text `tokenworld scene new` writes is a valid scene with the given name."""
    scene = Scene.load(write(starter_scene_text("my-town"), "my-town.toml"))
    assert scene.name == "my-town" and scene.agent_count == 20
    assert [z.name for z in scene.zones] == ["field", "wood", "square"]
    text = summary(scene)
    assert "valid scene 'my-town'" in text and "20 in 1 group(s)" in text


@pytest.mark.parametrize("name", ["", "has space", "../escape", "-dash", "x" * 65])
def test_starter_rejects_bad_names(name):
    """Starter scene names must be safe file names."""
    with pytest.raises(TokenWorldError, match="must start with an ASCII letter or digit"):
        starter_scene_text(name)


FULL = """\
extends = "base.toml"
name = "full"

[world]
size = [90.0, 70.0]
terrain = { kind = "hills", height = 2.0, scale = 30.0, seed = 5 }

[[zones]]
name = "poly"
kind = "forest"
polygon = [[10.0, 10.0], [40.0, 12.0], [30.0, 40.0]]
color = [0.1, 0.5, 0.2]
resources = { wood = 12.5 }
properties = { tag = "old", level = 3, wild = true, list = [1, 2], nested = { a = 1.5 } }

[[zones]]
name = "box"
rect = [50.0, 10.0, 80.0, 30.0]

[[entities]]
kind = "resource"
pos = [20.0, 20.0]
properties = { resource = "food", stock = 10 }

[[groups]]
name = "a"
count = 4
archetype = "explorer"
spawn_zone = "poly"
traits = { openness = { mean = 0.8, std = 0.05 }, neuroticism = { mean = 0.2 } }
flocking = { cohesion = 0.3, alignment = 0.2 }

[[groups]]
name = "b"
count = 2
spawn_area = [50.0, 10.0, 80.0, 30.0]
"""


@pytest.mark.parametrize("source", ["full", "village", "starter"])
def test_save_then_load_round_trips(tmp_path, write, source):
    """`Scene.save` writes a self-contained file that loads back to an equal `to_dict()`."""
    if source == "full":
        write((ROOT / "scenes" / "base.toml").read_text(encoding="utf-8"), "base.toml")
        original = Scene.load(write(FULL, "full.toml"))
    elif source == "village":
        original = Scene.load(ROOT / "scenes" / "village.toml")
    else:
        original = Scene.load(write(starter_scene_text("s"), "s.toml"))
    saved = tmp_path / "out" / "saved.toml"
    saved.parent.mkdir()
    original.save(saved)
    text = saved.read_text(encoding="utf-8")
    assert "extends" not in text
    again = Scene.load(saved)
    assert again.to_dict() == original.to_dict()
    assert again.zones == original.zones and again.groups == original.groups


def test_to_dict_leaves_out_unset_options():
    """`to_dict` drops None options (such as an unset seed) and `extends`."""
    data = Scene.from_dict({"name": "n", "extends": "x.toml"}).to_dict()
    assert "seed" not in data["sim"] and "extends" not in data
    assert data["world"]["size"] == [200.0, 200.0]
