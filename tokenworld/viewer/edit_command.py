"""`tokenworld edit SCENE`: the viewer in Edit mode on a scene file, a shipped scene or a new scene.

The scene shows on a paused simulation of itself (`LiveSource`, not recorded, the rules brain deciding, so no
language model loads): agents stand where they spawn and a group added shows its agents. Edits go through the
editor's command layer (tokenworld/editor) and are saved with Ctrl+S or the Save buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenworld.editor import Editor
from tokenworld.errors import TokenWorldError
from tokenworld.scene.shipped import SUFFIX, shipped_dir, shipped_names, shipped_scene


@dataclass
class EditOptions:
    target: str  # a scene file, a shipped scene's name, or the name (or path) of a new scene
    frames: int | None = None  # render this many frames and exit (offscreen)
    screenshot: str | None = None  # save the last frame here
    size: tuple[int, int] = (1280, 720)
    offscreen: bool = False
    arch: str | None = None


def open_editor(target: str | Path) -> Editor:
    """The `Editor` of `target`: an existing scene file; a shipped scene (its name, or its file: edited as a copy
    that saves to ./NAME.toml, never into the installed package); else a new scene from the starter, to be saved
    as `target` (`NAME` or `folder/NAME.toml`).

    Raises:
        TokenWorldError: a folder, a name that cannot be a file name, a folder that does not exist, an invalid file.
    """
    path = Path(target)
    if path.is_dir():
        raise TokenWorldError(f"{path} is a folder; give a scene file (NAME.toml) or the name of a new scene.")
    if path.is_file():
        editor = Editor.open(path)
        if path.resolve().parent == shipped_dir().resolve():  # a shipped scene's own file, as `view NAME` gives it
            editor.path = Path(path.name)
        return editor
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.name
    if path.parent == Path(".") and stem in shipped_names():
        return open_editor(shipped_scene(stem))
    if not path.parent.is_dir():
        raise TokenWorldError(
            f"cannot make the new scene {path.name!r}: the folder {path.parent} does not exist; create it first or "
            "give a path in an existing folder."
        )
    return Editor.new(stem, path.parent)  # checks that the name can be a file name


def edit(opts: EditOptions) -> int:
    """Run `tokenworld edit` as `opts` says; returns the exit code."""
    from rich.console import Console

    from tokenworld.viewer.app import WindowError
    from tokenworld.viewer.command import drive, has_display

    console = Console(stderr=True, soft_wrap=True)
    editor = open_editor(opts.target)
    scripted = opts.frames is not None
    offscreen = opts.offscreen or scripted
    if not offscreen and not has_display():
        raise TokenWorldError(
            "the editor needs a display (DISPLAY is not set). Run it on a desktop, or under a virtual display: "
            f"xvfb-run -s '-screen 0 1280x720x24' tokenworld edit {opts.target}"
        )
    if Path(editor.scene.source) != editor.path:
        console.print(f"editing a copy of {editor.scene.source}; Ctrl+S writes {editor.path}", style="dim")
    elif not editor.path.exists():
        console.print(f"new scene {editor.scene.name!r} from the starter; Ctrl+S saves {editor.path}", style="dim")
    try:
        viewer = open_edit_viewer(editor, size=opts.size, offscreen=offscreen, arch=opts.arch)
    except WindowError as exc:
        raise TokenWorldError(
            f"cannot open the editor's window ({exc}). It needs OpenGL: Mesa's libEGL and libGL "
            "(tools/bootstrap.sh installs them with apt)."
        ) from None
    try:
        path = drive(viewer, opts.frames, opts.screenshot)
        if path is not None:
            console.print(f"screenshot: {path}")
    finally:
        source = viewer.source
        viewer.close()
        source.close()
    if editor.dirty:
        console.print(f"{editor.path.name}: unsaved changes were not written.", style="yellow")
    return 0


def open_edit_viewer(editor: Editor, *, size=(1280, 720), offscreen: bool = False, arch: str | None = None):
    """A `Viewer` in Edit mode on `editor`, over a paused, unrecorded preview of its scene (rules brain)."""
    from tokenworld.editor.editor import preview_scene
    from tokenworld.sim.live_source import LiveSource
    from tokenworld.viewer.app import Viewer

    source = LiveSource(preview_scene(editor.scene), arch=arch, playing=False).start()
    try:
        source.wait_ready()
        viewer = Viewer(source, editor.scene, offscreen=offscreen, size=size, title=f"Token World - {editor.title}")
    except BaseException:
        source.close()
        raise
    viewer.start_editing(editor, preview=True)
    return viewer
