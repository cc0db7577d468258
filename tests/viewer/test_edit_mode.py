"""The viewer's Edit mode: a scene built with mouse and keys, handles, the gizmo, multi-select, refusals, undo,
saving, live edits of a running view, and `tokenworld edit` itself.

Rendered for real, offscreen (EGL through Mesa), and in a real window under Xvfb.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.paths import ROOT
from tests.viewer.edit_lab import ScriptedInput, build_scene, overview, px
from tests.viewer.view_lab import VILLAGE, env_without_display, mostly_uniform, tw, wait_until, xvfb
from tokenworld.editor import AddZone, RemoveZone, SetOption, SetZone
from tokenworld.scene.schema import Scene

SIZE = (1280, 720)
BUILT = [  # the history of `build_scene`
    "Remove zone 0",
    "Remove zone 0",
    "Add zone 'zone-2'",
    "Add zone 'zone-3'",
    "Set zone 1: rect = [15.0, 15.0, 50.0, 50.0]",
    "Add entity 'resource'",
    "Add group 'group-2'",
    "Remove group 0",
]


def _counts(scene: Scene) -> tuple[int, int, int]:
    return len(scene.zones), len(scene.entities), len(scene.groups)


@pytest.fixture
def editing(tmp_path):
    """`tokenworld edit new-scene`'s viewer, offscreen: a new scene from the starter on a paused preview."""
    from tokenworld.viewer.edit_command import open_edit_viewer, open_editor

    editor = open_editor(tmp_path / "new-scene")
    viewer = open_edit_viewer(editor, offscreen=True, size=SIZE)
    try:
        viewer.render(3)
        yield SimpleNamespace(v=viewer, e=viewer.edit, editor=editor, folder=tmp_path)
    finally:
        source = viewer.source
        viewer.close()
        source.close()


def test_a_scene_built_with_mouse_and_keys_saves_and_reloads_equal(editing):
    """From the starter: zones deleted and drawn (rectangle, polygon), a handle dragged, entities placed and one
    undone, a group drawn and the old one deleted, Ctrl+S; the file reloads equal to what was built."""
    v, editor = editing.v, editing.editor
    assert editor.title == "new-scene.toml*" and _counts(editor.scene) == (3, 1, 1)
    history = build_scene(v, ScriptedInput(v))
    assert history == BUILT, v.edit.message
    path = editing.folder / "new-scene.toml"
    assert not editor.dirty and editor.title == "new-scene.toml"
    saved = Scene.load(path)
    assert _counts(saved) == (3, 2, 1)
    assert saved.to_dict() == editor.scene.to_dict()
    assert saved.zones[2].polygon == [(70.0, 20.0), (100.0, 25.0), (95.0, 55.0), (72.0, 50.0)]
    v.render(3)  # the preview took the edits: the new group's agents stand in its spawn area
    frame = v.source.frame
    assert frame.n == 10 and np.all((frame.pos >= [85, 75]) & (frame.pos <= [100, 95]))
    assert v.panels.edit_panels.shown["outliner"] == {"zones": 3, "entities": 2, "groups": 1}


def test_refused_edits_change_nothing_and_say_why(editing):
    """A zone outside the world, a duplicate name, a zero-size rectangle and a self-crossing polygon are refused
    with the validator's message in the panel; the scene, the history and the file stay as they were."""
    v, e, editor = editing.v, editing.e, editing.editor
    inp = ScriptedInput(v)
    before = editor.scene.to_dict()
    overview(inp)
    inp.key("2")
    inp.drag(px(v, 100, 60), px(v, 130, 70))  # past the world's edge (120 m)
    assert "zones[3]" in e.message and "world" in e.message
    e.apply(SetZone(0, {"name": "wood"}))
    assert "wood" in e.message
    inp.key("1")
    inp.click(*px(v, 40, 40))  # the field, [10, 10, 55, 50]: its corner (55, 50) dragged onto (10, 50)
    inp.drag(px(v, 55, 50), px(v, 10, 50))
    assert "rect" in e.message
    inp.key("3")
    for x, y in ((20, 60), (40, 80), (40, 60), (20, 80)):  # a bow tie
        inp.click(*px(v, x, y))
    inp.key("enter")
    assert "cross" in e.message
    inp.key("escape")  # the polygon in progress is dropped
    assert e.polygon == []
    inp.key("escape")
    inp.key("1")
    inp.click(*px(v, 40, 40))
    inp.click(*px(v, 50, 90), shift=True)  # the field and the square, where the group spawns: Delete removes none
    inp.key("delete")
    assert "'square' cannot be removed" in e.message and len(editor.scene.zones) == 3
    v.render(2)
    assert v.panels.edit_panels.shown["edit"]["message"] == e.message
    assert editor.scene.to_dict() == before and editor.history == [] and not editor.path.exists()


def test_multi_select_moves_together_and_one_undo_undoes_a_drag(editing):
    """Shift+click selects two zones, one drag moves both (ONE edit), the gizmo moves them again (one more);
    Ctrl+Z takes back the gizmo's move, Ctrl+Y redoes it, and a box selects the entity."""
    v, e, editor = editing.v, editing.e, editing.editor
    inp = ScriptedInput(v)
    overview(inp)
    inp.click(*px(v, 40, 40))
    inp.click(*px(v, 60, 90), shift=True)  # the square (the hall's ring is at (62, 85), radius 4)
    assert e.selection == [("zones", 0), ("zones", 2)]
    inp.drag(px(v, 40, 40), px(v, 45, 38))
    assert editor.history == ["Move 2 zones by (5, -2) m"]
    assert editor.scene.zones[0].rect == (15.0, 8.0, 60.0, 48.0)
    centre = px(v, *e.gizmo_centre())
    inp.drag((centre[0] + 50, centre[1]), (centre[0] + 80, centre[1]))  # along the gizmo's x arrow
    assert len(editor.history) == 2 and editor.history[-1].startswith("Move 2 zones by (")
    moved = editor.scene.zones[0].rect
    assert moved[0] > 15.0 and moved[1] == 8.0
    inp.key("control-z")
    assert editor.scene.zones[0].rect == (15.0, 8.0, 60.0, 48.0)
    inp.key("control-y")
    assert editor.scene.zones[0].rect == moved
    inp.key("escape")
    inp.drag(px(v, 55, 80), px(v, 70, 92), shift=True)  # a box around the hall only (Shift: never a move)
    assert e.selection == [("entities", 0)]
    inp.click(*px(v, 90, 40))  # the wood, a polygon: its first corner (70, 15) dragged to (66, 12)
    inp.drag(px(v, 70, 15), px(v, 66, 12))
    assert editor.scene.zones[1].polygon[0] == (66.0, 12.0) and editor.history[-1].startswith("Set zone 1: polygon")


def test_edit_cost_and_panels_read_well(editing):
    """An edit redraws the next frame: the zone's new colour is on screen, the title carries the dirty marker,
    and what the edit cost the viewer is noted (the 16 ms goal is measured in BENCHMARKS.md)."""
    v, e = editing.v, editing.e
    overview(ScriptedInput(v))
    e.select("zones", 0)
    v.render(2)
    x, y = (int(c) for c in px(v, 18, 45))  # in the field, away from its gizmo
    assert e.apply(SetZone(0, {"color": [1.0, 0.0, 0.0]}))
    v.render(1)
    r, g, b = v.image()[y, x].astype(int)
    assert r > g + 60 and r > b + 60, (r, g, b)
    assert len(e.edit_ms) == 1
    shown = v.panels.edit_panels.shown
    assert shown["properties"] == {"what": "zones", "index": 0} and shown["edit"]["title"] == "new-scene.toml*"
    assert not mostly_uniform(v.image())


def _type_into(v, name: str, text: str) -> None:
    """Click the form field noted as `name`, type `text` (replacing a number, which selects itself), Enter."""
    x0, y0, x1, y1 = v.panels.edit_panels.rects[name]
    v.click(x0 + 12, (y0 + y1) / 2)
    v.type_text(text)
    v.gui.key("enter", True)
    v.render()
    v.gui.key("enter", False)
    v.render(2)


def test_property_and_settings_forms_make_one_edit_per_field(editing):
    """The forms built from the schema: a typed radius and a ticked box are one edit each; a settings table's
    field (sim.ticks) too; a value the validator refuses (a negative radius) changes nothing and says why."""
    v, e, editor = editing.v, editing.e, editing.editor
    e.select("entities", 0)
    v.render(2)
    _type_into(v, "entities0.radius", "2.5")
    assert editor.history == ["Set entity 0: radius = 2.5"]
    x0, y0, _, y1 = v.panels.edit_panels.rects["entities0.solid"]
    v.click(x0 + 8, (y0 + y1) / 2)
    assert editor.history[-1] == "Set entity 0: solid = False" and not editor.scene.entities[0].solid
    _type_into(v, "entities0.radius", "-1")
    assert "radius" in e.message and editor.scene.entities[0].radius == 2.5 and len(editor.history) == 2
    x0, y0, x1, y1 = v.panels.edit_panels.rects["settings:sim"]
    v.click((x0 + x1) / 2, (y0 + y1) / 2)  # open the sim table
    _type_into(v, "settings.sim.ticks", "900")
    assert editor.history[-1] == "Set sim.ticks = 900" and editor.scene.sim.ticks == 900


def test_a_running_view_takes_edits_live_and_offers_a_restart():
    """In `tokenworld view` (F2): a zone added applies live; a new world size cannot, says so, and the restart
    button's action runs the edited scene."""
    from tokenworld.sim.live_source import LiveSource
    from tokenworld.viewer.app import Viewer

    scene = Scene.load(VILLAGE)  # edited, never saved
    source = LiveSource(scene, seed=1, speed=8).start()
    source.wait_ready()
    v = Viewer(source, scene, offscreen=True, size=SIZE)
    try:
        v.render(2)
        v.key("f2")
        e = v.edit
        assert e is not None and not e.preview
        assert e.apply(AddZone({"name": "plaza", "rect": [5.0, 5.0, 20.0, 20.0]}))
        assert e.restart_needed == []
        v.render(1)
        assert v.scene.zones[-1].name == "plaza"  # the next frame shows it
        wait_until(lambda: v.source.scene.zones[-1].name == "plaza", "the simulation to take the new zone")
        v.color_by = "zone"
        assert e.apply(RemoveZone(len(v.scene.zones) - 2))  # shown before the simulation takes it: no stale index
        v.render(2)
        v.color_by = "archetype"
        w, h = scene.world.size
        assert e.apply(SetOption("world", "size", [w + 20.0, h]))
        assert any("world" in line for line in e.restart_needed)
        e.restart()
        assert v.source is not source and v.source.scene.world.size == (w + 20.0, h)
        v.render(2)
        v.key("f2")
        assert v.edit is None and v.scene.world.size == (w + 20.0, h)
        v.key("f2")  # back in Edit mode: the same edits, undo and all
        assert v.edit.editor is e.editor and v.edit.editor.history[-1] == f"Set world.size = [{w + 20.0}, {h}]"
    finally:
        running = v.source
        v.close()
        running.close()
        source.close()


WINDOW_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from tests.viewer.edit_lab import WindowInput, build_scene
    from tokenworld.scene.schema import Scene
    from tokenworld.viewer.edit_command import open_edit_viewer, open_editor

    folder = Path(sys.argv[1])
    editor = open_editor(folder / "new-scene")
    v = open_edit_viewer(editor, offscreen=False, size=(1280, 720))
    try:
        v.render(5)
        v.render(2)
        dirty = v.base.win.get_properties().get_title()
        history = build_scene(v, WindowInput(v))
        v.render(2)
        saved = Scene.load(folder / "new-scene.toml")
        print(json.dumps({{"window": type(v.base.win).__name__, "history": history, "message": v.edit.message,
                          "titles": [dirty, v.base.win.get_properties().get_title()],
                          "equal": saved.to_dict() == editor.scene.to_dict(),
                          "counts": [len(saved.zones), len(saved.entities), len(saved.groups)]}}))
    finally:
        source = v.source
        v.close()
        source.close()
    """
)


@pytest.mark.slow
@pytest.mark.skipif(
    not __import__("shutil").which("Xvfb"), reason="Xvfb is not on PATH: no virtual display for the window test"
)
def test_the_scene_built_in_a_real_window_under_xvfb(tmp_path):
    """The same scene built through a real window's input device (pointer, buttons, Ctrl+Z, Delete, Ctrl+S as
    the window system delivers them) under Xvfb: same history, and the saved file reloads equal."""
    script = tmp_path / "window.py"
    script.write_text(WINDOW_SCRIPT.format())
    with xvfb() as display:
        env = {**env_without_display(), "DISPLAY": display, "PYTHONPATH": str(ROOT)}
        r = subprocess.run(
            [sys.executable, str(script), str(tmp_path)],
            check=False,
            capture_output=True,
            text=True,
            timeout=240,
            env=env,
        )
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["window"] == "GraphicsWindow", got
    assert got["counts"] == [3, 2, 1] and got["equal"], got
    assert got["history"] == BUILT, got
    assert got["titles"] == ["Token World - new-scene.toml*", "Token World - new-scene.toml"], got  # saved: no *


@pytest.mark.slow
@pytest.mark.skipif(
    not (__import__("shutil").which("Xvfb") and __import__("shutil").which("xdotool")),
    reason="needs Xvfb and xdotool (tools/bootstrap.sh installs them)",
)
def test_tokenworld_edit_new_scene_driven_by_x_events_under_xvfb(editing, tmp_path):
    """`tokenworld edit new-scene` in its own process, under Xvfb, driven only by X mouse and key events
    (xdotool): the scene built offscreen (which gives the pixels) is built there too, the title shows the dirty
    marker until Ctrl+S, and the saved file reloads equal to the one built offscreen."""
    import time

    from tests.viewer.edit_lab import RecordedInput, XdotoolInput, replay
    from tests.viewer.view_lab import wait_until

    plan = RecordedInput(editing.v)
    assert build_scene(editing.v, plan) == BUILT
    built = Scene.load(editing.folder / "new-scene.toml").to_dict()
    work = tmp_path / "cli"
    work.mkdir()
    with xvfb() as display:
        env = {**env_without_display(), "DISPLAY": display}
        script = Path(sys.executable).parent / "tokenworld"
        cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "tokenworld"]
        proc = subprocess.Popen(
            [*cmd, "edit", "new-scene"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            found = subprocess.run(
                ["xdotool", "search", "--sync", "--name", "Token World"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            window = found.stdout.split()[0]
            time.sleep(1.0)  # its first frames drawn

            def title() -> str:
                return subprocess.run(
                    ["xdotool", "getwindowname", window], env=env, capture_output=True, text=True, timeout=30
                ).stdout.strip()

            assert title() == "Token World - new-scene.toml*"
            replay(plan.actions, XdotoolInput(env, window))
            wait_until(lambda: (work / "new-scene.toml").exists(), "Ctrl+S to write the file", timeout=30)
            wait_until(lambda: title() == "Token World - new-scene.toml", "the title to drop its *", timeout=10)
        finally:
            proc.terminate()
            out = proc.communicate(timeout=60)[0]
    assert "Traceback" not in out, out[-3000:]
    assert Scene.load(work / "new-scene.toml").to_dict() == built


@pytest.mark.slow
def test_tokenworld_edit_a_new_name_starts_from_the_starter(tmp_path):
    """`tokenworld edit NAME` opens the starter scene under that name (nothing written until saved); a missing
    folder and a name that cannot be a file name are clear errors."""
    shot = tmp_path / "edit.png"
    r = tw("edit", str(tmp_path / "fresh"), "--frames", "3", "--screenshot", str(shot), "--size", "640x360")
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 0, out
    assert "new scene 'fresh' from the starter" in out and shot.is_file() and not (tmp_path / "fresh.toml").exists()
    r = tw("edit", str(tmp_path / "nowhere" / "x"), "--frames", "1")
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    r = tw("edit", "bad name!", "--frames", "1", cwd=tmp_path)
    assert r.returncode == 2 and "scene name 'bad name!'" in r.stderr and "Traceback" not in r.stderr


def test_save_as_into_a_missing_folder_is_refused_and_save_as_moves_the_file(editing):
    """Save as into a folder that does not exist says so and writes nothing; into an existing one it writes
    there and the title follows."""
    e, editor, folder = editing.e, editing.editor, editing.folder
    assert not e.save(folder / "missing" / "x.toml") and "does not exist" in e.message
    assert e.save(folder / "other")
    assert (folder / "other.toml").is_file() and editor.title == "other.toml" and editor.path == folder / "other.toml"


@pytest.fixture(autouse=True)
def _no_stray_paths(monkeypatch, tmp_path):
    """Edits never write outside the test's folder (saves go where the editor's path says)."""
    monkeypatch.chdir(tmp_path)


def _press(v, name: str) -> None:
    x0, y0, x1, y1 = v.panels.edit_panels.rects[name]
    v.click((x0 + x1) / 2, (y0 + y1) / 2)
    v.render(2)


def test_closing_with_unsaved_edits_asks_first(editing):
    """The window's close button with unsaved edits opens a question instead: keep editing, or save and close."""
    v, e, editor = editing.v, editing.e, editing.editor
    e.apply(SetOption("sim", "ticks", 123))
    v.request_close()
    v.render(2)
    assert v.closing_asked and not v.closed
    _press(v, "Keep editing")
    assert not v.closing_asked and not v.closed and editor.dirty
    v.request_close()
    v.render(2)
    _press(v, "Save and close")
    assert v.closed and not editor.dirty
    assert Scene.load(editing.folder / "new-scene.toml").sim.ticks == 123
