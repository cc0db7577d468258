"""The viewer's input: mouse and keys to ImGui or the camera, picking on click, and scripted input.

A mixin of `Viewer` (it uses the viewer's base, camera, gui, size, source and
selection). In a window the pointer comes from Panda3D's mouse watcher and the
buttons from its events; offscreen (tests, scripted runs) `move_pointer`,
`click` and `type_text` drive the same handlers.
"""

from __future__ import annotations

import math
import time
from pathlib import Path


class ViewerInput:
    """Input handling for `Viewer`."""

    def pointer(self) -> tuple[float, float] | None:
        """Pointer position in pixels (None outside the window)."""
        if not self.offscreen and not self._scripted_pointer:
            mw = self.base.mouseWatcherNode
            if mw is not None and mw.has_mouse():
                m = mw.get_mouse()
                self._pointer_px = ((m.x + 1) * 0.5 * self.size[0], (1 - m.y) * 0.5 * self.size[1])
            else:
                self._pointer_px = None
        return self._pointer_px

    def _bind_input(self) -> None:
        b = self.base
        if hasattr(b.win, "set_close_request_event"):  # a window: its close button asks first (`request_close`)
            b.win.set_close_request_event("tokenworld-close-request")
            b.accept("tokenworld-close-request", self.request_close)
        for name, button in (("mouse1", "left"), ("mouse3", "right"), ("mouse2", "middle")):
            b.accept(name, self._button, [button, True])
            b.accept(f"{name}-up", self._button, [button, False])
            b.accept(f"shift-{name}", self._button, [button, True])  # Shift+click adds to the Edit mode's selection
            b.accept(f"shift-{name}-up", self._button, [button, False])
        b.accept("wheel_up", self._wheel, [1.0])
        b.accept("wheel_down", self._wheel, [-1.0])
        for key, fn in (
            ("f", self.focus_selection),
            ("l", self._toggle_follow),
            ("t", self.camera.toggle_top_down),
            ("space", self._toggle_play),
            ("escape", lambda: self.select(-1)),
            ("tab", self._toggle_panels),
            ("f12", self._save_screenshot),
            ("f9", self.toggle_recording),
            ("f2", self.toggle_edit),
            ("f3", self.toggle_assets),
        ):
            b.accept(key, self._key_action, [fn])
        b.accept("window-event", self._window_event)

    def _window_event(self, win) -> None:
        if win is not self.base.win:
            return
        props = win.get_properties()
        if not props.get_open():
            self.close()
            return
        if props.has_size():
            self.size = (props.get_x_size(), props.get_y_size())
            self.lens.set_aspect_ratio(self.size[0] / max(self.size[1], 1))
            self.camera.vfov_deg = self.lens.get_vfov()

    def _key_action(self, fn) -> None:
        if self.gui is not None and self.gui.wants_keyboard:
            return
        fn()

    def _toggle_follow(self) -> None:
        self.camera.follow = None if self.camera.follow is not None or self.selected < 0 else self.selected

    def _toggle_play(self) -> None:
        self.source.set_playing(not self.source.playing)

    def _save_screenshot(self) -> None:
        """F12: the current frame to screenshots/tokenworld-<time>.png (the path shows in the Simulation panel)."""
        self.last_screenshot = self.screenshot(Path("screenshots") / time.strftime("tokenworld-%Y%m%d-%H%M%S.png"))

    def toggle_recording(self, path: str | Path | None = None) -> Path | None:
        """F9 or the Record button: record what is on screen (panels too, unless Tab hid them) to `path`
        (default recordings/tokenworld-<time>.mp4), or stop and return the file. Both print the path."""
        from tokenworld.viewer.recorder import ScreenRecorder

        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            self.last_recording = recorder.stop()
            print(f"recording saved: {self.last_recording} ({recorder.frames} frames)", flush=True)
            return self.last_recording
        path = Path(path) if path is not None else Path("recordings") / time.strftime("tokenworld-%Y%m%d-%H%M%S.mp4")
        self.recorder = ScreenRecorder(self, path)
        print(f"recording to {self.recorder.path} (F9 or the Stop button stops)", flush=True)
        return None

    def toggle_edit(self) -> None:
        """F2 (or the Edit button): Edit mode on or off (live runs only; a replay cannot be edited)."""
        if self.edit is not None:
            self.stop_editing()
        elif self.source.live and self.gui is not None:
            from tokenworld.errors import TokenWorldError

            try:
                self.start_editing()
            except TokenWorldError as exc:  # the scene's file is gone or no longer valid
                self.edit_error = str(exc)

    def toggle_assets(self) -> None:
        """F3: the Assets panel (tokenworld/viewer/assets_panel.py) on or off."""
        if self.panels is not None:
            self.panels.show_assets = not self.panels.show_assets

    def _shift(self) -> bool:
        """Whether Shift is held (scripted input says so itself)."""
        if self._scripted_shift is not None:
            return self._scripted_shift
        mw = self.base.mouseWatcherNode
        if self.offscreen or mw is None:
            return False
        from panda3d.core import KeyboardButton

        return bool(mw.is_button_down(KeyboardButton.shift()))

    def _toggle_panels(self) -> None:
        if self.gui is not None:
            self.gui.toggle()

    def _keys(self, dt: float) -> None:
        """WASD / arrows fly, Q / E turn (held keys, windows only)."""
        mw = self.base.mouseWatcherNode
        if self.offscreen or mw is None or (self.gui is not None and self.gui.wants_keyboard):
            self._drag()
            return
        from panda3d.core import KeyboardButton

        def down(*names):
            return any(
                mw.is_button_down(KeyboardButton.ascii_key(n) if len(n) == 1 else getattr(KeyboardButton, n)())
                for n in names
            )

        step = self.camera.distance * 0.8 * dt
        fwd = down("w", "up") - down("s", "down")
        right = down("d", "right") - down("a", "left")
        if fwd or right:
            self.camera.move(right * step, fwd * step)
        turn = down("e") - down("q")
        if turn:
            self.camera.orbit(turn * 200 * dt, 0)
        self._drag()

    def _button(self, button: str, down: bool) -> None:
        pos = self.pointer()
        if down:
            edit_first = self.edit is not None and pos is not None and self.edit.takes_press(pos)
            if self.gui is not None and self.gui.wants_mouse and not edit_first:
                return
            if self.edit is not None and pos is not None and self.edit.press(button, pos, shift=self._shift()):
                self._edit_down = True  # Edit mode took this press (and takes its drag and release)
                return
            if pos is not None:
                self._down[button] = pos
                self._last_drag = pos
            return
        if self.edit is not None and self._edit_down and button == "left":
            self._edit_down = False
            self.edit.release(button, pos)
            return
        start = self._down.pop(button, None)
        if start is None or pos is None:
            return
        if button == "left" and math.dist(start, pos) < 5:
            self.pick_at(*pos)

    def _drag(self) -> None:
        pos = self.pointer()
        if self.edit is not None and self._edit_down and pos is not None:
            self.edit.move(pos)
        if not self._down or pos is None or self._last_drag is None:
            return
        dx, dy = pos[0] - self._last_drag[0], pos[1] - self._last_drag[1]
        self._last_drag = pos
        if not (dx or dy):
            return
        if "left" in self._down:
            self.camera.orbit(dx, dy)
        elif "right" in self._down:
            self.camera.pan(dx, dy, self.size[1])
        elif "middle" in self._down:
            self.camera.zoom(-dy / 40.0)

    def _wheel(self, amount: float) -> None:
        if self.gui is not None and self.gui.wants_mouse:
            return
        self.camera.zoom(amount)

    # ------------------------------------------------------------ scripted input (offscreen, tests)

    def move_pointer(self, x: float, y: float) -> None:
        """Put the pointer at pixel (x, y); from now on the real mouse is ignored (scripted input)."""
        self._scripted_pointer = True
        self._pointer_px = (float(x), float(y))

    def click(self, x: float, y: float, button: str = "left", *, shift: bool = False) -> None:
        """A full click at pixel (x, y): pointer there, press, release, a frame after each (as a mouse would)."""
        self.drag(x, y, x, y, button, steps=0, shift=shift)

    def drag(
        self, x0: float, y0: float, x1: float, y1: float, button: str = "left", *, steps: int = 4, shift: bool = False
    ) -> None:
        """Press at (x0, y0), move in `steps` frames to (x1, y1), release there (a frame after each, as a mouse)."""
        index = {"left": 0, "right": 1, "middle": 2}[button]
        self._scripted_shift = shift
        try:
            self.move_pointer(x0, y0)
            self.render(2 if self.edit is not None else 1)  # ImGui learns a frame late that the gizmo lost the mouse
            if self.gui is not None:
                self.gui.press(index, True)
            self._button(button, True)
            self.render()
            for k in range(1, steps + 1):
                self.move_pointer(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
                self.render()
            if self.gui is not None:
                self.gui.press(index, False)
            self._button(button, False)
            self.render()
        finally:
            self._scripted_shift = None

    def key(self, event: str) -> None:
        """A key as Panda3D names it ("control-z", "delete", "f2"), sent as the keyboard sends it, then a frame."""
        self.base.messenger.send(event)
        self.render()

    def type_text(self, text: str) -> None:
        if self.gui is not None:
            self.gui.type_text(text)
        self.render()
