"""The editor's state: the current scene, its undo and redo stacks, and saving it back to its file.

`Editor` holds a scene that is always valid: `apply(edit)` builds the edited scene with the validator of
`tokenworld scene check` and refuses (changing nothing) when it is not. It needs no window: the viewer's Edit mode
drives it, and tests and scripts use it the same way.
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from pathlib import Path
from typing import Callable, Optional

import tomlkit

from tokenworld.editor.edits import Edit, EditRefused, plain
from tokenworld.editor.save import render, write_checked
from tokenworld.errors import SceneError
from tokenworld.scene.load import read_scene_data
from tokenworld.scene.schema import Scene
from tokenworld.scene.starter import starter_scene_text


def preview_scene(scene: Scene) -> Scene:
    """`scene` as the editor previews it: the rules brain decides (no language model is loaded)."""
    if scene.mind.backend == "rules":
        return scene
    return dataclasses.replace(scene, mind=dataclasses.replace(scene.mind, backend="rules"))


@dataclasses.dataclass(frozen=True)
class _Step:
    """One applied edit with the states before and after it (undo and redo just swap them in)."""

    edit: Edit
    before: tuple[dict, Scene]
    after: tuple[dict, Scene]
    id: int


_ids = itertools.count(1)


class Editor:
    """A scene being edited: `apply`, `undo`, `redo`, `save`.

    Attributes:
        scene: the current scene, valid by construction.
        data: the current scene data (the dict the file holds with `extends` resolved); do not change it in
            place, apply an edit.
        path: the file the scene is saved to (for `Editor.new`, where it will be).
        listeners: called as `listener(scene, edit)` after every change: `edit` is the edit applied or redone,
            None after an undo.
    """

    def __init__(self, path: Path, data: dict, doc, *, saved: bool):
        self.path = Path(path)
        self.data = plain({k: v for k, v in data.items() if k != "extends"})
        self._reuse: dict = {}  # tables converted before (edits make new tables; the unchanged ones are reused)
        self.scene = self._build(self.data)
        self.listeners: list[Callable[[Scene, Optional[Edit]], None]] = []
        self._doc = doc
        extends = doc.get("extends")
        self._extends: Optional[str] = None if extends is None else str(extends)
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._saved_id: Optional[int] = 0 if saved else None  # the top step's id when last saved; None: never

    @classmethod
    def open(cls, path: str | Path) -> Editor:
        """Edit the scene file at `path` (one that `extends` another too); raises `SceneError` if it is invalid."""
        path = Path(path)
        data = read_scene_data(path)
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
        return cls(path, data, doc, saved=True)

    @classmethod
    def new(cls, name: str, folder: str | Path) -> Editor:
        """A new scene from the starter of `tokenworld scene new`, to be saved as `folder/name.toml`.

        Nothing is written until `save()`.
        """
        text = starter_scene_text(name)
        return cls(Path(folder) / f"{name}.toml", tomllib.loads(text), tomlkit.parse(text), saved=False)

    # ------------------------------------------------------------------ state

    @property
    def dirty(self) -> bool:
        """Whether the scene differs from the file (a new scene is dirty until saved)."""
        return self._saved_id != (self._undo[-1].id if self._undo else 0)

    @property
    def title(self) -> str:
        """The file name, with `*` while there are unsaved changes."""
        return self.path.name + ("*" if self.dirty else "")

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return bool(self._redo)

    @property
    def history(self) -> list[str]:
        """`describe()` of the applied edits, oldest first."""
        return [step.edit.describe() for step in self._undo]

    # ---------------------------------------------------------------- editing

    def _build(self, data: dict) -> Scene:
        """The validated scene of `data`, or `EditRefused` with the validator's messages."""
        source = str(self.path)
        try:
            scene = Scene.from_dict(data, source=source, reuse=self._reuse)
        except SceneError as exc:
            prefix = f"{source}: "
            raise EditRefused([p[len(prefix) :] if p.startswith(prefix) else p for p in exc.problems]) from None
        if len(self._reuse) > 4 * sum(len(data.get(k, ())) for k in ("zones", "entities", "groups")) + 64:
            self._reuse.clear()  # tables of older versions pile up; start again (the next edit converts all once)
        return scene

    def apply(self, edit: Edit) -> None:
        """Make `edit` if the result is a valid scene; raises `EditRefused` (changing nothing) if not.

        An edit that changes nothing is not recorded.
        """
        data = edit.apply(self.data)
        if data == self.data:
            return
        scene = self._build(data)
        self._undo.append(_Step(edit, (self.data, self.scene), (data, scene), next(_ids)))
        self._redo.clear()
        self._show(data, scene, edit)

    def undo(self) -> bool:
        """Undo the last edit; False if there was none."""
        if not self._undo:
            return False
        step = self._undo.pop()
        self._redo.append(step)
        self._show(*step.before, None)
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; False if there was none."""
        if not self._redo:
            return False
        step = self._redo.pop()
        self._undo.append(step)
        self._show(*step.after, step.edit)
        return True

    def _show(self, data: dict, scene: Scene, edit: Optional[Edit]) -> None:
        self.data, self.scene = data, scene
        for listener in list(self.listeners):
            listener(scene, edit)

    # ----------------------------------------------------------------- saving

    def save(self, path: str | Path | None = None) -> Path:
        """Write the scene to its file, or to `path` (save as, which then becomes the file); returns the path.

        The user's comments, key order and `extends` line are kept; a file that extends another gets only the
        keys that differ from its parent. The file is replaced atomically and only once the new text has loaded
        back equal to the scene.
        """
        target = Path(path) if path is not None else self.path
        text, extends = render(self._doc, self.data, self.scene, target, self._extends)
        write_checked(text, target, self.scene)
        self.path, self._doc, self._extends = target, tomlkit.parse(text), extends
        self.scene.source = str(target)
        self._saved_id = self._undo[-1].id if self._undo else 0
        return target
