"""Driving the Edit mode with mouse and keys: three ways of giving input, one scene built with each.

`ScriptedInput` goes through the viewer's scripted input (`Viewer.click`, `drag`, `key`: the handlers a mouse
reaches, offscreen too). `WindowInput` feeds a real window's input device (Panda3D's GraphicsWindowInputDevice,
the one the X server's events reach): pointer, buttons and keys pass through the mouse watcher and the button
thrower as a person's would. `XdotoolInput` sends X events to another process's window (`tokenworld edit`
itself); its pixels come from a `RecordedInput` run of the same actions offscreen. `build_scene` makes the same
scene with any of them.
"""

from __future__ import annotations

import numpy as np


class ScriptedInput:
    """Input through the viewer's scripted entry points."""

    def __init__(self, viewer):
        self.v = viewer

    def click(self, x: float, y: float, *, shift: bool = False) -> None:
        self.v.click(x, y, shift=shift)

    def drag(self, a, b, *, shift: bool = False) -> None:
        self.v.drag(a[0], a[1], b[0], b[1], steps=5, shift=shift)

    def key(self, event: str) -> None:
        self.v.key(event)


class WindowInput:
    """Input through a real window's input device, as the windowing system delivers it."""

    def __init__(self, viewer):
        from panda3d.core import MouseButton

        self.v = viewer
        self.dev = viewer.base.win.get_input_device(0)
        self.left = MouseButton.one()

    def _at(self, x: float, y: float) -> None:
        self.dev.set_pointer_in_window(float(x), float(y))
        self.v.render()

    def _button(self, button, down: bool) -> None:
        (self.dev.button_down if down else self.dev.button_up)(button)
        self.v.render()

    def click(self, x: float, y: float, *, shift: bool = False) -> None:
        self.drag((x, y), (x, y), steps=0, shift=shift)

    def drag(self, a, b, *, steps: int = 5, shift: bool = False) -> None:
        from panda3d.core import KeyboardButton

        self._at(*a)
        if shift:
            self._button(KeyboardButton.shift(), True)
        self._button(self.left, True)
        for k in range(1, steps + 1):
            self._at(a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps)
        self._button(self.left, False)
        if shift:
            self._button(KeyboardButton.shift(), False)

    def key(self, event: str) -> None:
        from panda3d.core import KeyboardButton, MouseButton

        *mods, name = event.split("-")
        named = {
            "delete": KeyboardButton._del(),
            "enter": KeyboardButton.enter(),
            "escape": KeyboardButton.escape(),
            "backspace": KeyboardButton.backspace(),
            "wheel_down": MouseButton.wheel_down(),
            "wheel_up": MouseButton.wheel_up(),
        }
        button = named.get(name) or KeyboardButton.ascii_key(name)
        held = [{"control": KeyboardButton.control(), "shift": KeyboardButton.shift()}[m] for m in mods]
        for m in held:
            self._button(m, True)
        self._button(button, True)
        self._button(button, False)
        for m in reversed(held):
            self._button(m, False)


class RecordedInput(ScriptedInput):
    """Scripted input that also notes every action, to be replayed elsewhere (`replay`)."""

    def __init__(self, viewer):
        super().__init__(viewer)
        self.actions: list[tuple] = []

    def click(self, x: float, y: float, *, shift: bool = False) -> None:
        self.actions.append(("click", (x, y), shift))
        super().click(x, y, shift=shift)

    def drag(self, a, b, *, shift: bool = False) -> None:
        self.actions.append(("drag", tuple(a), tuple(b), shift))
        super().drag(a, b, shift=shift)

    def key(self, event: str) -> None:
        self.actions.append(("key", event))
        super().key(event)


class XdotoolInput:
    """Input as X events (xdotool, through the XTEST extension) to the window `window` of another process: what
    a person's mouse and keyboard send. `pause` seconds between events let the window draw a frame or more."""

    KEYS = {"delete": "Delete", "enter": "Return", "escape": "Escape", "backspace": "BackSpace", "control": "ctrl"}

    def __init__(self, env: dict, window: str, pause: float = 0.15):
        self.env, self.window, self.pause = env, window, pause

    def _xdo(self, *args) -> None:
        import subprocess
        import time

        subprocess.run(["xdotool", *map(str, args)], env=self.env, check=True, capture_output=True, timeout=30)
        time.sleep(self.pause)

    def click(self, x: float, y: float, *, shift: bool = False) -> None:
        self.drag((x, y), (x, y), steps=0, shift=shift)

    def drag(self, a, b, *, steps: int = 5, shift: bool = False) -> None:
        self._xdo("mousemove", "--window", self.window, round(a[0]), round(a[1]))
        if shift:
            self._xdo("keydown", "shift")
        self._xdo("mousedown", 1)
        for k in range(1, steps + 1):
            x, y = a[0] + (b[0] - a[0]) * k / steps, a[1] + (b[1] - a[1]) * k / steps
            self._xdo("mousemove", "--window", self.window, round(x), round(y))
        self._xdo("mouseup", 1)
        if shift:
            self._xdo("keyup", "shift")

    def key(self, event: str) -> None:
        if event.startswith("wheel_"):
            self._xdo("click", 5 if event == "wheel_down" else 4)
            return
        *mods, name = event.split("-")
        self._xdo("key", "+".join(self.KEYS.get(k, k) for k in [*mods, name]))


def replay(actions: list[tuple], inp) -> None:
    """Send the actions a `RecordedInput` noted to `inp`."""
    for action in actions:
        if action[0] == "key":
            inp.key(action[1])
        elif action[0] == "click":
            inp.click(*action[1], shift=action[2])
        else:
            inp.drag(action[1], action[2], shift=action[3])


def px(viewer, x: float, y: float) -> tuple[float, float]:
    """The pixel where ground point (x, y) is drawn."""
    p, front = viewer.edit.screen(np.array([[x, y]]))
    assert front[0], f"({x}, {y}) is behind the camera"
    return float(p[0, 0]), float(p[0, 1])


def overview(inp) -> None:
    """Top-down, zoomed out: the starter's whole 120 m world in view between the panels."""
    inp.key("t")
    inp.key("wheel_down")
    inp.key("wheel_down")


def build_scene(viewer, inp) -> list[str]:
    """From the starter scene (zones field, wood, square; the hall; the group folk in the square) make a scene of
    3 zones, 2 entities and 1 group with mouse and keys only; returns the editor's history."""
    v = viewer
    overview(inp)
    for x, y in ((32, 30), (90, 37)):  # the field and the wood: click, Delete
        inp.click(*px(v, x, y))
        inp.key("delete")
    inp.key("2")  # rectangle zone: a drag
    inp.drag(px(v, 15, 15), px(v, 45, 45))
    inp.key("3")  # polygon zone: four corners, then a click on the first closes it
    for x, y in ((70, 20), (100, 25), (95, 55), (72, 50), (70, 20)):
        inp.click(*px(v, x, y))
    inp.key("1")  # select the rectangle, drag its corner (45, 45) to (50, 50)
    inp.click(*px(v, 30, 30))
    inp.drag(px(v, 45, 45), px(v, 50, 50))
    inp.key("4")  # place two entities, undo the second
    inp.click(*px(v, 20, 100))
    inp.click(*px(v, 30, 100))
    inp.key("control-z")
    inp.key("escape")  # back to Select, nothing selected: the spawn area makes a new group
    inp.key("escape")
    inp.click(*px(v, 100, 108))
    inp.key("5")
    inp.drag(px(v, 85, 75), px(v, 100, 95))
    inp.key("1")  # the starter's group, picked in the Outliner, deleted
    x0, y0, x1, y1 = v.panels.edit_panels.rects["groups:folk"]
    inp.click((x0 + x1) / 2, (y0 + y1) / 2)
    inp.key("delete")
    inp.key("control-s")
    return v.edit.editor.history
