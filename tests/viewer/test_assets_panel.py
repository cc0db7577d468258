"""The Assets panel: generating from a description (any text), the list, the turntable preview, placing an asset
entity through the Edit mode (one undoable edit), and a refused seed shown in the panel.

The model is driven without a window; the panel itself in an offscreen viewer (EGL through Mesa).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tokenworld.assetgen.generate import MAX_SEED
from tokenworld.assetgen.spec import MAX_TEXT
from tokenworld.scene.schema import Entity
from tokenworld.viewer.assets_panel import BACKGROUND, MIN_RADIUS, AssetsPanelModel, footprint

HOSTILE = [
    "",
    "   \t\n ",
    "x" * 100_000,
    "a stone \x00\x07\x1b[31m well\r\n\x7f",
    "一口石井と赤い屋根の家",
    "🙂" * 5000,
    "<script>alert(1)</script> ../../etc/passwd",
]


def _center(rect) -> tuple[float, float]:
    return (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2


def test_generate_reads_the_text_lists_it_once_and_times_it():
    """A description gives its reading, triangles and time; the same prompt and seed again selects the same row."""
    m = AssetsPanelModel()
    stall = m.generate("a market stall with a striped awning", "3")
    assert stall is not None and m.entry is stall and m.error == ""
    assert stall.asset.spec.category == "stall" and {"awning", "striped"} <= stall.asset.spec.parts
    assert stall.seed == 3 and stall.asset.triangles > 0 and stall.ms > 0
    well = m.generate("a stone well", 0)
    assert well.asset.spec.category == "well" and well.asset.spec.material == "stone"
    assert m.generate("a market stall with a striped awning", 3) is stall
    assert [e.prompt for e in m.entries] == ["a market stall with a striped awning", "a stone well"]
    assert footprint(well.asset) >= MIN_RADIUS


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_any_text_gives_an_asset_and_a_clean_prompt(text):
    """Empty, huge, control-character, other-language and hostile texts give a mesh (a crate when no word is
    known) and a prompt fit for a scene file: printable, at most MAX_TEXT characters."""
    m = AssetsPanelModel()
    entry = m.generate(text, 0)
    assert entry is not None and entry.asset.triangles > 0 and m.error == ""
    assert len(entry.prompt) <= MAX_TEXT and entry.prompt.isprintable()


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, "abc", "1.5", "", None, True])
def test_a_refused_seed_gives_the_generators_message_and_no_row(seed):
    """A seed out of range or not a whole number leaves the list as it was and says what a seed must be."""
    m = AssetsPanelModel()
    m.generate("a stone well", 1)
    assert m.generate("a cart", seed) is None
    assert "seed" in m.error and f"0 to {MAX_SEED}" in m.error
    assert len(m.entries) == 1


def test_the_scenes_asset_entities_are_listed_and_made_when_picked():
    """Entities of kind asset join the list after the session's own (one row per prompt and seed); a row's mesh is
    made when it is first picked, and a bad seed in the file shows as its error."""
    m = AssetsPanelModel()
    m.generate("a stone well", 2)
    scene = SimpleNamespace(
        entities=[
            Entity(kind="asset", pos=(1, 1), properties={"prompt": "a stone well", "seed": 2}),
            Entity(kind="resource", pos=(2, 2), properties={"resource": "wood", "stock": 5.0}),
            Entity(kind="asset", pos=(3, 3), properties={"prompt": "a wooden cart"}),
            Entity(kind="asset", pos=(4, 4), properties={"prompt": "a bench", "seed": -5}),
        ]
    )
    m.sync_scene(scene)
    assert [(e.prompt, e.origin) for e in m.entries] == [
        ("a stone well", "panel"),
        ("a wooden cart", "scene"),
        ("a bench", "scene"),
    ]
    assert m.entries[1].asset is None
    m.select(1)
    assert m.entry.asset.spec.category == "cart" and m.error == ""
    m.select(2)
    assert m.entry.asset is None and "seed -5" in m.error


@pytest.fixture
def editing(tmp_path):
    """`tokenworld edit new-scene`'s viewer, offscreen, with the Assets panel shown (F3)."""
    from tokenworld.viewer.edit_command import open_edit_viewer, open_editor

    editor = open_editor(tmp_path / "new-scene")
    viewer = open_edit_viewer(editor, offscreen=True, size=(1280, 720))
    try:
        viewer.render(2)
        viewer.key("f3")
        viewer.render(2)
        yield SimpleNamespace(v=viewer, editor=editor, panel=viewer.panels.assets)
    finally:
        source = viewer.source
        viewer.close()
        source.close()


def test_the_panel_generates_previews_places_and_undoes(editing):
    """Typed into the panel and generated: the reading shows, the turntable renders the mesh (pixels other than the
    background), and "Place in scene" adds an asset entity with the prompt and seed at the camera's target, one
    edit that Ctrl+Z takes back."""
    v, editor, panel = editing.v, editing.editor, editing.panel
    assert v.panels.shown["assets"]["entries"] == []
    v.click(*_center(panel.rects["text"]))
    v.type_text("A stone well")
    panel.seed = "7"
    v.click(*_center(panel.rects["Generate"]))
    v.render(2)
    shown = v.panels.shown["assets"]
    assert shown["error"] == "" and shown["preview"] and "category  well" in shown["reading"]
    img = panel.preview.image()
    background = np.array(BACKGROUND[:3]) * 255
    drawn = np.abs(img.astype(float) - background).sum(axis=2) > 30
    assert 0.05 < drawn.mean() < 0.9

    entities = len(editor.scene.entities)
    v.click(*_center(panel.rects["Place in scene"]))
    assert len(editor.scene.entities) == entities + 1, panel.model.error or v.edit.message
    placed = editor.scene.entities[-1]
    assert placed.kind == "asset" and placed.name == "well"
    assert placed.properties == {"prompt": "A stone well", "seed": 7}
    assert placed.radius >= MIN_RADIUS
    assert np.allclose(placed.pos, v.edit.snapped(v.camera.target[:2]))
    assert editor.history[-1] == "Add entity 'well'" and v.edit.selection == [("entities", entities)]
    v.key("control-z")
    assert len(editor.scene.entities) == entities and "well" not in [e.name for e in editor.scene.entities]


def test_placing_outside_edit_mode_opens_it_and_a_bad_seed_shows_in_the_panel(editing):
    """With Edit mode off, "Place in scene" opens it and places; a seed out of range shows the generator's
    message in the panel and adds nothing."""
    v, editor, panel = editing.v, editing.editor, editing.panel
    panel.text, panel.seed = "a small red cart", "-1"
    v.click(*_center(panel.rects["Generate"]))
    assert "seed -1 is not allowed" in v.panels.shown["assets"]["error"]
    assert v.panels.shown["assets"]["entries"] == []
    panel.seed = "4294967295"
    v.click(*_center(panel.rects["Generate"]))
    assert v.panels.shown["assets"]["error"] == ""
    v.stop_editing()
    v.render(2)
    assert v.edit is None
    entities = len(editor.scene.entities)
    assert panel.place()
    assert v.edit is not None and len(editor.scene.entities) == entities + 1
    assert editor.scene.entities[-1].properties == {"prompt": "a small red cart", "seed": 4294967295}
    v.render(2)
    assert v.panels.shown["assets"]["entries"] == ["a small red cart  [seed 4294967295]"]
