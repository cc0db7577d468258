"""The editor's command layer: edits of a scene, undo and redo, validation, and saving with tomlkit.

No window is needed: the viewer's Edit mode drives an `Editor`, and scripts and tests use it the same way::

    from tokenworld.editor import Editor, Translate

    editor = Editor.open("scenes/village.toml")
    editor.apply(Translate("entities", (0,), dx=5.0, dy=0.0))  # raises EditRefused if the scene would be invalid
    editor.undo()
    editor.save()
"""

from __future__ import annotations

from tokenworld.editor.editor import Editor
from tokenworld.editor.edits import (
    AddEntity,
    AddGroup,
    AddZone,
    Edit,
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
from tokenworld.editor.forms import FieldSpec, fields_of

__all__ = [
    "AddEntity",
    "AddGroup",
    "AddZone",
    "Edit",
    "EditRefused",
    "Editor",
    "FieldSpec",
    "RemoveEntity",
    "RemoveGroup",
    "RemoveZone",
    "SetEntity",
    "SetGroup",
    "SetOption",
    "SetZone",
    "Together",
    "Translate",
    "fields_of",
]
