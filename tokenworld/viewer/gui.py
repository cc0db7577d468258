"""Dear ImGui inside Panda3D: panda3d-imgui's backend, made to work in offscreen buffers too.

Why panda3d-imgui rather than imgui-bundle's own OpenGL3 backend drawn from a
draw callback: it turns ImGui's draw lists into ordinary Panda3D geoms under
pixel2d, so the panels are part of the frame Panda3D renders — the same in a
window, in an offscreen EGL buffer (tests, screenshots, recording) and with
any GL Panda3D picks — and no raw GL state has to be saved and restored around
Panda3D's own. Its cost is a Python loop over ImGui's draw commands (a few
hundred per frame), measured in `tokenworld bench viewer`.

As shipped it assumes a window: it reads the pointer from `window.getPointer`
and listens to `base.buttonThrowers[0]`, neither of which an offscreen buffer
has. `PanelBackend` takes the pointer from the viewer's own input state
(filled from the mouse watcher in a window, or by `press`/`move` calls when
offscreen) and only hooks the button throwers when they exist.
"""

from __future__ import annotations

import sys

from imgui_bundle import imgui, implot


def _import_backend():
    """p3dimgui's backend runs `from shaders import *` before `from .shaders import *`: run from our
    repository root (`python -m tokenworld`), that finds our GLSL folder `shaders/` instead. Give it
    its own module under that name while the package imports (its __init__ imports the backend)."""
    import importlib.util
    from pathlib import Path

    if "p3dimgui.backend" in sys.modules:
        return sys.modules["p3dimgui.backend"].ImGuiBackend
    pkg = importlib.util.find_spec("p3dimgui")
    spec = importlib.util.spec_from_file_location("shaders", Path(pkg.submodule_search_locations[0]) / "shaders.py")
    own = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(own)
    saved = sys.modules.get("shaders")
    sys.modules["shaders"] = own
    try:
        from p3dimgui.backend import ImGuiBackend
    finally:
        if saved is None:
            del sys.modules["shaders"]
        else:
            sys.modules["shaders"] = saved
    return ImGuiBackend


ImGuiBackend = _import_backend()


class PanelBackend(ImGuiBackend):
    """ImGui backend whose pointer and buttons come from `pointer()` and `press()`."""

    def __init__(self, window, parent, pointer):
        self._pointer = pointer  # () -> (x, y) in window pixels, or None when outside the window
        super().__init__(window, parent, "dark")
        io = imgui.get_io()
        io.set_ini_filename("")  # layouts are not written next to wherever the viewer was started
        io.config_flags |= imgui.ConfigFlags_.docking_enable.value
        self.plot_context = implot.create_context()
        self._clipboard = ""
        platform = imgui.get_platform_io()  # pyperclip needs xclip/xsel on Linux: fall back to our own clipboard
        platform.platform_set_clipboard_text_fn = self._set_clipboard
        platform.platform_get_clipboard_text_fn = self._get_clipboard

    def _set_clipboard(self, _ctx, text: str) -> None:
        self._clipboard = text
        try:
            import pyperclip

            pyperclip.copy(text)
        except Exception:  # no clipboard tool on this desktop: copy/paste works within the viewer
            pass

    def _get_clipboard(self, _ctx) -> str:
        try:
            import pyperclip

            return pyperclip.paste() or self._clipboard
        except Exception:
            return self._clipboard

    # Name-mangled overrides of the parent's private setup steps.
    def _ImGuiBackend__setupButton(self):
        if getattr(base, "buttonThrowers", None):  # noqa: F821 (ShowBase's builtin)
            super()._ImGuiBackend__setupButton()

    def _ImGuiBackend__newFrame(self, task):
        if self.root.isHidden():
            return task.cont
        io = self.io
        io.delta_time = max(base.clock.getDt(), 1e-4)  # noqa: F821
        io.display_size = (self.window.getXSize(), self.window.getYSize())
        pos = self._pointer()
        io.add_mouse_pos_event(*(pos if pos is not None else (-imgui.FLT_MAX, -imgui.FLT_MAX)))
        imgui.new_frame()
        base.messenger.send("imgui-new-frame")  # noqa: F821
        return task.cont

    def press(self, button: int, down: bool) -> None:
        """A mouse button (0 left, 1 right, 2 middle) went down or up, for offscreen input."""
        self.io.add_mouse_button_event(button, down)

    def wheel(self, amount: float) -> None:
        self.io.add_mouse_wheel_event(0.0, amount)

    def type_text(self, text: str) -> None:
        for ch in text:
            self.io.add_input_character(ord(ch))

    def key(self, name: str, down: bool) -> None:
        """Named special keys (enter, backspace, tab, escape) for offscreen input."""
        key = {
            "enter": imgui.Key.enter,
            "backspace": imgui.Key.backspace,
            "tab": imgui.Key.tab,
            "escape": imgui.Key.escape,
        }[name]
        self.io.add_key_event(key, down)

    @property
    def wants_mouse(self) -> bool:
        """ImGui wants the mouse (over a panel, dragging a slider); never while the panels are hidden."""
        return not self.root.isHidden() and bool(self.io.want_capture_mouse)

    @property
    def wants_keyboard(self) -> bool:
        return not self.root.isHidden() and bool(self.io.want_capture_keyboard)

    def close(self) -> None:
        """Stop drawing and free the ImGui and ImPlot contexts (another viewer may open after this one)."""
        self.ignoreAll()
        for name in ("imgui-new-frame", "imgui-render-frame"):
            base.taskMgr.remove(name)  # noqa: F821
        if self.plot_context is not None:
            implot.destroy_context(self.plot_context)
            self.plot_context = None
        self.cleanup()
