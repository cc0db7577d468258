"""The viewer's side of scene changes: showing an edited scene, another source, and turning Edit mode on and off.

A mixin of `Viewer` (tokenworld/viewer/app.py), as `ViewerInput` is for input: the Edit mode itself
(tools, handles, the gizmo) is tokenworld/viewer/edit_mode.py, its panels tokenworld/viewer/edit_panels.py.
"""

from __future__ import annotations

from tokenworld.scene.schema import Scene


class ViewerEditing:
    """Scene changes and Edit mode, for `Viewer`."""

    def set_scene(self, scene: Scene) -> None:
        """Show `scene`, an edit of the one shown: ground colours, zone outlines and labels, entities, camera bounds
        follow (the terrain mesh is rebuilt only when the world's size or terrain changed)."""
        if scene is self.scene:
            return
        self.ground.set_scene(scene)
        self.props.set_scene(scene)
        if scene.world.size != self.scene.world.size:
            self.camera.world = (float(scene.world.size[0]), float(scene.world.size[1]))
            self.lens.set_near_far(0.5, max(scene.world.size) * 10)
        self.scene = scene
        self._entities_key = None
        self._colors_key = None

    def set_source(self, source) -> None:
        """Show another source (a simulation restarted from an edited scene); the old one is the caller's to close."""
        self.source = source
        self.is_replay = not source.live
        self._source_scene = source.scene
        self._z_cache = {}
        self._colors_key = self._entities_key = None
        self._label_cache = (-1, [])
        self.select(-1)
        self.set_scene(self.edit.editor.scene if self.edit is not None else source.scene)

    def set_title(self, title: str) -> None:
        """The window's title (nothing offscreen)."""
        if self.offscreen or self.base.win is None:
            return
        from panda3d.core import WindowProperties

        props = WindowProperties()
        props.set_title(title)
        self.base.win.request_properties(props)

    def start_editing(self, editor=None, *, preview: bool = False):
        """Turn Edit mode on, on `editor` (default: the shown scene's file, opened with `Editor.open`)."""
        from tokenworld.viewer.edit_mode import EditMode

        if self.edit is not None:
            return self.edit
        if editor is None and self._last_editor is not None:  # back to Edit mode: the same edits, undo and all
            editor = self._last_editor
        if editor is None:
            from tokenworld.viewer.edit_command import open_editor

            editor = open_editor(self.scene.source)
        self.select(-1)
        self.edit = EditMode(self, editor, preview=preview)
        self.set_scene(editor.scene)
        return self.edit

    def request_close(self) -> None:
        """The window's close button: close, unless an editor holds unsaved edits; then the Edit panel asks
        whether to save them, close without them, or keep editing (nothing is lost without being asked)."""
        editor = self.edit.editor if self.edit is not None else self._last_editor
        if editor is None or not editor.dirty:
            self.close()
            return
        if self.edit is None:
            self.start_editing()
        self.closing_asked = True

    def stop_editing(self) -> None:
        """Turn Edit mode off: the view shows the running simulation's scene again."""
        if self.edit is None:
            return
        self.edit.close()
        self._last_editor, self.edit = self.edit.editor, None
        self.set_title(f"Token World - {self.source.scene.name}")
        self._entities_key = None
        self.set_scene(self.source.scene)
