"""The editor's command layer: scripted edits, undo and redo, refusals, and saves that keep the user's file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tokenworld.editor import (
    AddEntity,
    AddGroup,
    AddZone,
    Editor,
    EditRefused,
    RemoveEntity,
    RemoveGroup,
    RemoveZone,
    SetEntity,
    SetGroup,
    SetOption,
    SetZone,
    Together,
    Translate,
)
from tokenworld.scene.load import load_scene

PARENT = """\
name = "parent"
description = "the parent"

[world]
size = [100.0, 80.0]

[sim]
dt = 0.2
seed = 4

[[zones]]
name = "home"
rect = [10.0, 10.0, 30.0, 30.0]

[[zones]]
name = "field"
polygon = [[40.0, 10.0], [90.0, 10.0], [90.0, 60.0]]

[[entities]]
kind = "building"
name = "hall"
pos = [20.0, 20.0]
radius = 3.0

[[groups]]
name = "folk"
count = 5
spawn_zone = "home"
"""

CHILD = """\
# A village on the parent's map.
extends = "parent.toml"
name = "child"   # the child's own name

[sim]
ticks = 50
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def plain_file(tmp_path: Path) -> Path:
    """A self-contained scene file with a comment."""
    return _write(tmp_path, "plain.toml", "# My scene, by hand.\n" + PARENT)


@pytest.fixture
def child_file(tmp_path: Path) -> Path:
    """A scene file that extends parent.toml next to it."""
    _write(tmp_path, "parent.toml", PARENT)
    return _write(tmp_path, "child.toml", CHILD)


def test_scripted_session_saves_what_was_done(child_file):
    """Add a zone, move an entity, add a group, undo, redo, save: the file reloads equal, comments and extends kept."""
    editor = Editor.open(child_file)
    seen = []
    editor.listeners.append(lambda scene, edit: seen.append((scene.name, edit)))
    assert not editor.dirty and editor.title == "child.toml"
    editor.apply(AddZone({"name": "pond", "rect": [50.0, 60.0, 60.0, 70.0]}))
    editor.apply(Translate("entities", (0,), 5.0, -2.5))
    editor.apply(AddGroup({"name": "fishers", "count": 3, "spawn_zone": "pond"}))
    assert editor.scene.entities[0].pos == (25.0, 17.5) and editor.scene.agent_count == 8
    assert editor.dirty and editor.title == "child.toml*"
    assert editor.history == [
        "Add zone 'pond'",
        "Move entity 0 by (5, -2.5) m",
        "Add group 'fishers'",
    ]
    assert editor.undo() and editor.scene.agent_count == 5 and editor.can_redo
    assert editor.redo() and editor.scene.agent_count == 8 and not editor.can_redo
    assert [edit is None for _, edit in seen] == [False, False, False, True, False]
    assert editor.save() == child_file and not editor.dirty

    text = child_file.read_text(encoding="utf-8")
    assert text.startswith('# A village on the parent\'s map.\nextends = "parent.toml"\nname = "child"   # the')
    assert "[sim]\nticks = 50\n" in text and "dt" not in text  # the parent's sim.dt is not copied in
    assert text.count("[[zones]]") == 3 and text.count("[[groups]]") == 2  # edited lists are written whole
    assert "[world]" not in text  # unchanged tables stay inherited
    assert load_scene(child_file) == editor.scene


def test_undo_back_to_the_saved_state_is_clean(plain_file):
    """Undoing every edit since the save leaves nothing unsaved; a new edit after an undo drops the redo."""
    editor = Editor.open(plain_file)
    editor.apply(SetOption("sim", "ticks", 77))
    assert editor.dirty
    editor.undo()
    assert not editor.dirty and not editor.can_undo and editor.can_redo
    editor.apply(SetOption("sim", "dt", 0.5))
    assert not editor.can_redo and editor.history == ["Set sim.dt = 0.5"]
    assert editor.undo() and not editor.undo()  # one edit to undo, then none


def _refused(editor: Editor, edit) -> str:
    data, scene, history = editor.data, editor.scene, editor.history
    with pytest.raises(EditRefused) as info:
        editor.apply(edit)
    assert editor.data is data and editor.scene is scene and editor.history == history  # nothing changed
    return str(info.value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            AddZone({"name": "far", "rect": [90.0, 10.0, 110.0, 20.0]}),
            "`zones[2].rect`: zone 'far' reaches outside the world [0, 100.0] x [0, 80.0]",
        ),
        (
            Translate("zones", (0,), 0.0, 60.0),
            "`zones[0].rect`: zone 'home' reaches outside the world",
        ),
        (
            AddZone({"name": "home", "rect": [50.0, 50.0, 60.0, 60.0]}),
            "`zones[2].name`: 'home' is used by an earlier zone; zone names must be unique.",
        ),
        (
            SetZone(0, {"rect": [30.0, 10.0, 30.0, 20.0]}),
            "`zones[0].rect`: expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0",
        ),
        (
            SetZone(1, {"polygon": [[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [5.0, 5.0]]}),
            "`zones[1].polygon`: its edges cross; list the vertices in order around the outline.",
        ),
        (
            RemoveZone(0),
            "`zones[0]`: zone 'home' cannot be removed while `groups[0].spawn_zone` refers to it",
        ),
        (SetOption("engine", "neighbours", 0), "`engine.neighbours`: must be between 1 and 32, found 0."),
        (SetEntity(0, {"radius": 0.0}), "`entities[0].radius`: must be positive, found 0.0."),
        (SetGroup(0, {"count": -1}), "`groups[0].count`: must be 0 or more, found -1."),
        (RemoveEntity(3), "`entities[3]`: there is no entity 3; the scene has 1."),
        (SetOption("nowhere", "x", 1), "`nowhere`: not an options table"),
        (SetOption("sim", "tick", 1), "Unrecognized key `sim.tick`; did you mean `ticks`?"),
    ],
)
def test_refused_edits_say_why_and_change_nothing(plain_file, edit, message):
    """Edits that would make the scene invalid are refused with the validator's words, and nothing changes."""
    editor = Editor.open(plain_file)
    assert message in _refused(editor, edit)
    assert not editor.dirty


def test_renaming_a_zone_renames_its_spawn_references(plain_file):
    """A zone renamed through the editor takes the groups that spawn in it along."""
    editor = Editor.open(plain_file)
    editor.apply(SetZone(0, {"name": "houses"}))
    assert editor.scene.groups[0].spawn_zone == "houses"
    editor.apply(RemoveGroup(0))
    editor.apply(RemoveZone(0))  # nothing refers to it any more
    assert [z.name for z in editor.scene.zones] == ["field"]


def test_translate_moves_several_items_together(plain_file):
    """Multi-select: every chosen zone moves, rectangles and polygons alike; spawn areas move with groups."""
    editor = Editor.open(plain_file)
    editor.apply(AddGroup({"name": "walkers", "count": 2, "spawn_area": [0.0, 0.0, 10.0, 10.0]}))
    editor.apply(Translate("zones", (0, 1), 5.0, 5.0))
    editor.apply(Translate("groups", (0, 1), 1.0, 2.0))
    assert editor.scene.zones[0].rect == (15.0, 15.0, 35.0, 35.0)
    assert editor.scene.zones[1].polygon[0] == (45.0, 15.0)
    assert editor.scene.groups[1].spawn_area == (1.0, 2.0, 11.0, 12.0)
    assert editor.scene.groups[0].spawn_zone == "home"
    assert editor.scene == load_scene(plain_file).from_dict(editor.data)  # tables reused between edits: the same


def test_edits_together_are_one_step_all_or_nothing(plain_file):
    """Deleting a selection: both entities go in one undo step; a batch with one bad edit changes nothing."""
    editor = Editor.open(plain_file)
    editor.apply(AddEntity({"kind": "building", "name": "shed", "pos": [5.0, 5.0]}))
    before = editor.scene
    count = len(before.entities)
    editor.apply(Together((RemoveEntity(count - 1), RemoveEntity(0)), "Delete 2 items"))
    assert len(editor.scene.entities) == count - 2 and editor.history[-1] == "Delete 2 items"
    editor.undo()
    assert editor.scene == before
    with pytest.raises(EditRefused):
        editor.apply(Together((RemoveEntity(0), Translate("zones", (0,), 1e6, 0.0))))
    assert editor.scene == before


def test_save_keeps_comments_and_order_of_a_plain_file(plain_file):
    """Saving a self-contained file changes only the edited values; the comment and key order stay."""
    editor = Editor.open(plain_file)
    editor.apply(SetOption("sim", "dt", 0.25))
    editor.apply(SetOption("", "description", "edited"))
    editor.save()
    text = plain_file.read_text(encoding="utf-8")
    expected = "# My scene, by hand.\n" + PARENT.replace("dt = 0.2", "dt = 0.25").replace("the parent", "edited")
    assert text == expected


def test_save_as_writes_a_new_file_and_leaves_the_old(plain_file, tmp_path):
    """Save as writes the new path, which becomes the editor's file; the original stays as it was."""
    before = plain_file.read_text(encoding="utf-8")
    editor = Editor.open(plain_file)
    editor.apply(SetOption("sim", "ticks", 9))
    target = tmp_path / "copies" / "other.toml"
    assert editor.save(target) == target
    assert plain_file.read_text(encoding="utf-8") == before
    assert editor.path == target and editor.title == "other.toml"
    assert load_scene(target) == editor.scene and load_scene(target).sim.ticks == 9


def test_save_as_elsewhere_makes_an_extending_file_self_contained(child_file, tmp_path):
    """A child saved where its parent does not resolve is written whole, without `extends`, and reloads equal."""
    editor = Editor.open(child_file)
    target = tmp_path / "away" / "alone.toml"
    editor.save(target)
    text = target.read_text(encoding="utf-8")
    assert "extends" not in text and "[[zones]]" in text and text.startswith("# A village on the parent's map.")
    assert load_scene(target) == editor.scene


def test_new_scene_is_written_only_when_saved(tmp_path):
    """Editor.new starts from the starter scene, writes nothing until save, and the saved file reloads equal."""
    editor = Editor.new("fresh", tmp_path)
    assert editor.path == tmp_path / "fresh.toml" and not editor.path.exists()
    assert editor.dirty and editor.title == "fresh.toml*"
    editor.apply(AddEntity({"kind": "resource", "pos": [30.0, 30.0], "properties": {"resource": "food"}}))
    editor.save()
    assert not editor.dirty and load_scene(editor.path) == editor.scene
    text = editor.path.read_text(encoding="utf-8")
    assert text.startswith("# fresh: a starter scene.") and "# metres, x by y" in text
    assert "\n\n[[groups]]" in text  # the added entity keeps a blank line before what follows


def test_child_gets_only_changed_keys(child_file):
    """An extending file holds only what differs from its parent; a key set back to the parent's value goes."""
    editor = Editor.open(child_file)
    editor.apply(SetOption("engine", "neighbours", 12))
    editor.apply(SetOption("sim", "dt", 0.3))
    editor.save()
    text = child_file.read_text(encoding="utf-8")
    assert "[engine]\nneighbours = 12\n" in text and "dt = 0.3" in text
    assert "zones" not in text and "seed" not in text
    editor.apply(SetOption("sim", "dt", 0.2))  # the parent's value
    editor.apply(SetOption("sim", "ticks", None))  # the child's own key removed: the default applies
    editor.save()
    text = child_file.read_text(encoding="utf-8")
    assert "dt" not in text and "ticks" not in text
    assert load_scene(child_file) == editor.scene and editor.scene.sim.ticks == 1000


def test_child_cannot_unset_an_inherited_option(child_file):
    """An option the parent sets and that has no value to fall back on (sim.seed) cannot be saved unset."""
    before = child_file.read_text(encoding="utf-8")
    editor = Editor.open(child_file)
    editor.apply(SetOption("sim", "seed", None))
    with pytest.raises(EditRefused, match="`sim.seed`: the scene this file extends sets it"):
        editor.save()
    assert child_file.read_text(encoding="utf-8") == before and editor.dirty


def test_child_states_a_default_it_returns_to(child_file):
    """An inherited option removed in the child is written as its default, since a merge cannot remove it."""
    editor = Editor.open(child_file)
    editor.apply(SetOption("sim", "dt", None))
    editor.save()
    assert "dt = 0.1" in child_file.read_text(encoding="utf-8")
    assert load_scene(child_file).sim.dt == 0.1


def test_removing_one_zone_keeps_the_comments_of_the_others(tmp_path):
    """Array-of-tables items are matched, so a comment on a later zone stays with it when an earlier one goes."""
    text = PARENT.replace('name = "field"', 'name = "field"  # the big one').replace('spawn_zone = "home"', "")
    text = text.replace('[[groups]]\nname = "folk"\ncount = 5\n', "")
    path = _write(tmp_path, "s.toml", text)
    editor = Editor.open(path)
    editor.apply(RemoveZone(0))
    editor.save()
    saved = path.read_text(encoding="utf-8")
    assert 'name = "field"  # the big one' in saved and "home" not in saved
