"""The viewer's Edit mode: tools, selection, dragging on the ground, zone handles, the translate gizmo, keys.

`EditMode` drives an `Editor` (tokenworld/editor): every change, from the mouse, a key or a panel, is one edit
through `apply`, so it is validated (a refused edit changes nothing and its message shows in the panel), undone
with Ctrl+Z and saved with Ctrl+S. A drag shows a preview while it lasts and makes ONE edit when the button is
released, so one undo undoes the whole drag. After every change the viewer redraws what depends on the scene
(`Viewer.set_scene`) and, on a live run, the edited scene goes to the simulation (`source.apply_scene`).

The mouse reaches this module through the viewer's input (tokenworld/viewer/input.py): `press`, `move` and
`release` take pixel positions, so scripted input (`Viewer.click`, `Viewer.drag`, `Viewer.key`) runs the same code
as a real mouse.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Optional

import numpy as np

from tokenworld.editor import (
    AddEntity,
    AddGroup,
    AddZone,
    Editor,
    EditRefused,
    RemoveEntity,
    RemoveGroup,
    RemoveZone,
    SetGroup,
    SetZone,
    Together,
    Translate,
)
from tokenworld.editor.editor import preview_scene
from tokenworld.errors import TokenWorldError
from tokenworld.scene.geometry import moved_corner, points_in_zone, rect_corners, zone_polygon
from tokenworld.scene.schema import Scene

TOOLS = ("select", "rect", "polygon", "entity", "spawn")
HANDLE_PX = 9.0  # a handle is grabbed within this many pixels
CLICK_PX = 5.0  # a press and release closer than this is a click, not a drag
LIFT = 0.15  # m above the ground for overlay lines


@dataclasses.dataclass
class Drag:
    """A drag in progress: what it does and where it started (pixels and ground metres)."""

    kind: str  # move | handle | box | rect | spawn
    start_px: tuple[float, float]
    start: np.ndarray  # ground point (x, y) under the press
    now_px: tuple[float, float]
    now: np.ndarray
    handle: int = -1  # the corner or vertex index of a handle drag


class EditMode:
    """Edit mode of `viewer` on `editor`'s scene.

    Args:
        viewer: the `Viewer` showing the scene.
        editor: the command layer holding the scene being edited.
        preview: the source is the editor's own paused preview (`tokenworld edit`): changes that cannot apply
            live restart it at once, as nothing is lost; otherwise (`tokenworld view`) the panel offers a restart.
    """

    def __init__(self, viewer, editor: Editor, *, preview: bool = False):
        from direct.showbase.DirectObject import DirectObject

        self.v = viewer
        self.editor = editor
        self.preview = preview
        self.tool = "select"
        self.entity_kind = "resource"
        self.selection: list[tuple[str, int]] = []  # (zones | entities | groups, index), one kind at a time
        self.snap = True
        self.grid = 1.0  # m
        self.message = ""  # the last refusal, shown in red
        self.note = ""  # the last thing done (saved, restarted), shown in grey
        self.restart_needed: list[str] = []  # changes the running simulation could not take
        self.polygon: list[np.ndarray] = []  # corners of the polygon being drawn
        self.drag: Optional[Drag] = None
        self._shift = False
        self._undoing = ""  # what the undo in progress takes back (the live run's label for it)
        self._last_scene = editor.scene  # the scene the running simulation was last given
        self.edit_ms: list[float] = []  # viewer-side milliseconds of each change (set_scene and the live hand-over)
        self._title = None
        self._events = DirectObject()
        from tokenworld.viewer.edit_overlay import EditOverlay

        self.overlay = EditOverlay(self)
        editor.listeners.append(self._changed)
        self._bind_keys()
        self._show_title()

    # ------------------------------------------------------------ commands

    def apply(self, edit) -> bool:
        """Make `edit` through the editor; a refusal is kept in `message` (nothing changes). True if made."""
        try:
            self.editor.apply(edit)
        except EditRefused as exc:
            self.message = str(exc)
            return False
        self.message = ""
        return True

    def add_entity(self, entity: dict) -> bool:
        """Add `entity` (`{"kind": ..., "pos": [x, y], ...}`) as one edit and select it; True if made (else the
        refusal is in `message`). The Entity tool and the Assets panel's "Place in scene" both come here."""
        if not self.apply(AddEntity(entity)):
            return False
        self.selection = [("entities", len(self.editor.scene.entities) - 1)]
        return True

    def undo(self) -> None:
        self.message = ""
        self._undoing = self.editor.history[-1] if self.editor.history else ""
        self.editor.undo()

    def redo(self) -> None:
        self.message = ""
        self.editor.redo()

    def save(self, path: str | Path | None = None) -> bool:
        """Save (to `path`: save as); a problem (a missing folder, a bad name) goes to `message`. True if saved."""
        try:
            target = self._save_target(path)
            saved = self.editor.save(target)
        except TokenWorldError as exc:
            self.message = str(exc)
            return False
        except OSError as exc:
            self.message = f"cannot save {path or self.editor.path}: {exc.strerror or exc}."
            return False
        self.message, self.note = "", f"saved {saved}"
        self._show_title()
        return True

    def _save_target(self, path: str | Path | None) -> Path | None:
        if path is None:
            return None
        text = str(path).strip()
        if not text:
            raise TokenWorldError("Save as needs a file name, e.g. scenes/my-scene.toml.")
        target = Path(text).expanduser()
        if target.suffix != ".toml":
            target = target.with_name(target.name + ".toml")
        if not target.parent.is_dir():
            raise TokenWorldError(
                f"cannot save as {target}: the folder {target.parent} does not exist; create it first."
            )
        return target

    def delete_selection(self) -> None:
        """Remove the selected items in one edit (one undo step; highest index first so the others keep their
        rows): all of them or, if the scene refuses it, none."""
        removers = {"zones": RemoveZone, "entities": RemoveEntity, "groups": RemoveGroup}
        edits = tuple(removers[what](i) for what, i in sorted(self.selection, key=lambda s: -s[1]))
        if not edits:
            return
        edit = edits[0] if len(edits) == 1 else Together(edits, f"Delete {len(edits)} items")
        if self.apply(edit):
            self.selection = []

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool {tool!r} is not one of {', '.join(TOOLS)}")
        self.tool, self.polygon, self.drag = tool, [], None

    def cancel(self) -> None:
        """Esc: drop the drag or polygon in progress, else go back to the Select tool, else select nothing."""
        if self.drag is not None or self.polygon:
            self.drag, self.polygon = None, []
        elif self.tool != "select":
            self.tool = "select"
        else:
            self.selection = []

    def select(self, what: str, index: int, *, add: bool = False) -> None:
        """Select an item (with `add`, toggle it in a selection of its kind)."""
        item = (what, int(index))
        if add and self.selection and self.selection[0][0] == what:
            kept = [s for s in self.selection if s != item]
            self.selection = kept if item in self.selection else [*self.selection, item]
        else:
            self.selection = [item]

    # ------------------------------------------------------------ after every change

    def _changed(self, scene: Scene, edit) -> None:
        t0 = time.perf_counter()
        counts = {"zones": len(scene.zones), "entities": len(scene.entities), "groups": len(scene.groups)}
        self.selection = [(w, i) for w, i in self.selection if i < counts[w]]
        self.v.set_scene(scene)
        self._to_simulation(scene, edit.describe() if edit is not None else f"Undo: {self._undoing}")
        self._show_title()
        self.edit_ms.append((time.perf_counter() - t0) * 1000.0)

    def _to_simulation(self, scene: Scene, description: str) -> None:
        """Hand the edited scene to a live run; what it cannot take live needs a restart (preview: at once)."""
        source = self.v.source
        if not source.live:
            return
        before, self._last_scene = self._last_scene, scene
        # the simulation takes it at its next tick boundary (even paused)
        needed = list(source.apply_scene(scene, description, before=before).restart_needed)
        if needed and self.preview:
            self.restart()
        else:
            self.restart_needed = needed

    def restart(self) -> None:
        """Close the running simulation and start a fresh one from the edited scene (paused in a preview)."""
        from tokenworld.sim.live_source import LiveSource

        old = self.v.source
        scene = preview_scene(self.editor.scene) if self.preview else self.editor.scene
        old.close()
        source = LiveSource(  # the same seed: the restarted run differs from the old by the edit alone
            scene, seed=old.sim.seed, arch=old.arch, speed=old.speed, playing=not self.preview and old.playing
        )
        if old.folder is not None:  # a recorded run goes on recording, into a new run folder beside the old
            source.sim.preflight()
            self.note = f"recording into {source.record_into(old.folder.parent)}"
        source.start()
        source.wait_ready()
        self.v.set_source(source)
        self.restart_needed = []
        self._last_scene = self.editor.scene
        self.note = "restarted from the edited scene" + (f"; {self.note}" if old.folder is not None else "")

    def _show_title(self) -> None:
        title = f"Token World - {self.editor.title}"
        if title != self._title:
            self._title = title
            self.v.set_title(title)

    # ------------------------------------------------------------ keys

    def _key(self, fn) -> None:
        """A key's action, unless a text field is being typed in (a panel merely focused does not count)."""
        gui = self.v.gui
        if gui is not None and not gui.root.isHidden() and gui.io.want_text_input:
            return
        fn()

    def _bind_keys(self) -> None:
        act = self._key
        for event, fn in (
            ("control-z", self.undo),
            ("control-y", self.redo),
            ("shift-control-z", self.redo),
            ("control-shift-z", self.redo),
            ("control-s", self.save),
            ("delete", self.delete_selection),
            ("escape", self.cancel),
            ("enter", self.close_polygon),
            ("backspace", self._drop_corner),
        ):
            self._events.accept(event, act, [fn])
        for k, tool in enumerate(TOOLS):  # 1 to 5 pick a tool
            self._events.accept(str(k + 1), act, [lambda tool=tool: self.set_tool(tool)])

    def close(self) -> None:
        """Leave Edit mode: keys unbound, the editor no longer followed."""
        self._events.ignore_all()
        if self._changed in self.editor.listeners:
            self.editor.listeners.remove(self._changed)

    # ------------------------------------------------------------ geometry

    def ground_at(self, px: tuple[float, float]) -> Optional[np.ndarray]:
        """The ground point (x, y) under pixel `px` (the mouse ray met with the terrain), or None (sky)."""
        w, h = self.v.size
        inv = np.linalg.inv(self.v.view_proj())
        nx, ny = 2.0 * px[0] / w - 1.0, 1.0 - 2.0 * px[1] / h
        a = np.array([nx, ny, 0.0, 1.0]) @ inv
        b = np.array([nx, ny, 0.5, 1.0]) @ inv
        a, b = a[:3] / a[3], b[:3] / b[3]
        d = b - a
        if d[2] > -1e-9:
            return None
        z = 0.0
        for _ in range(4):  # a plane at the terrain's height there, found again from where the ray met the last
            t = (z - a[2]) / d[2]
            xy = (a + d * t)[:2]
            z = float(self.v.ground.height(xy[None])[0])
        return xy.astype(np.float64)

    def snapped(self, xy: np.ndarray) -> np.ndarray:
        """`xy` on the grid when snapping is on."""
        if not self.snap or self.grid <= 0:
            return np.asarray(xy, np.float64)
        return np.round(np.asarray(xy, np.float64) / self.grid) * self.grid

    def screen(self, xy: np.ndarray, lift: float = LIFT) -> tuple[np.ndarray, np.ndarray]:
        """Pixels of ground points (n, 2) and whether each is in front of the camera."""
        from tokenworld.viewer.picking import project

        xy = np.asarray(xy, np.float32).reshape(-1, 2)
        z = self.v.ground.height(xy) + np.float32(lift)
        px, w = project(np.column_stack([xy, z]), self.v.view_proj(), self.v.size)
        return px, w > 0

    def anchor(self, what: str, index: int) -> np.ndarray:
        """The point of an item that snapping puts on the grid: a zone's first corner, an entity's position."""
        scene = self.editor.scene
        if what == "entities":
            return np.array(scene.entities[index].pos, np.float64)
        if what == "zones":
            return zone_polygon(scene.zones[index])[0].astype(np.float64)
        area = scene.groups[index].spawn_area
        return np.array(area[:2] if area is not None else (0.0, 0.0), np.float64)

    def outline(self, what: str, index: int) -> Optional[np.ndarray]:
        """The ground outline (k, 2) of a zone or a group's spawn area (None: an entity or a group without area)."""
        scene = self.editor.scene
        if what == "zones":
            return zone_polygon(scene.zones[index]).astype(np.float64)
        if what == "groups":
            g = scene.groups[index]
            if g.spawn_area is not None:
                return rect_corners(g.spawn_area)
            if g.spawn_zone is not None:
                return zone_polygon(scene.zones[scene.zone_index(g.spawn_zone)]).astype(np.float64)
        return None

    def handles(self) -> list[np.ndarray]:
        """Ground points of the handles of the one selected zone or group area (rect corners, polygon corners)."""
        if len(self.selection) != 1:
            return []
        what, i = self.selection[0]
        scene = self.editor.scene
        if what == "zones":
            z = scene.zones[i]
            return list(rect_corners(z.rect) if z.rect is not None else np.array(z.polygon, np.float64))
        if what == "groups" and scene.groups[i].spawn_area is not None:
            return list(rect_corners(scene.groups[i].spawn_area))
        return []

    # ------------------------------------------------------------ picking

    def hit(self, px: tuple[float, float]) -> Optional[tuple[str, int]]:
        """The item under pixel `px`: an entity, else a group's spawn area, else the topmost zone; None: nothing."""
        from tokenworld.viewer.picking import pick

        scene = self.editor.scene
        v = self.v
        if scene.entities:
            pos = np.array([e.pos for e in scene.entities], np.float32)
            radius = np.array([e.radius for e in scene.entities], np.float32)
            px_per_m = 1.0 / max(v.camera.metres_per_px(v.size[1]), 1e-6)
            z = v.ground.height(pos) + 0.8
            e = pick(np.column_stack([pos, z]), v.view_proj(), v.size, px, np.maximum(radius * px_per_m, 10.0))
            if e >= 0:
                return ("entities", e)
        xy = self.ground_at(px)
        if xy is None:
            return None
        for i in reversed(range(len(scene.groups))):
            area = scene.groups[i].spawn_area
            if area is not None and area[0] <= xy[0] <= area[2] and area[1] <= xy[1] <= area[3]:
                return ("groups", i)
        for i in reversed(range(len(scene.zones))):
            if points_in_zone(xy[None], scene.zones[i])[0]:
                return ("zones", i)
        return None

    def takes_press(self, px: tuple[float, float]) -> bool:
        """Whether a press at `px` is the Edit mode's even though ImGui wants the mouse: a handle under the
        pointer, where the gizmo's hotspots may reach, and no panel there."""
        from imgui_bundle import imgui

        if imgui.is_window_hovered(imgui.HoveredFlags_.any_window.value):
            return False
        return self.tool == "select" and self._handle_at(px) >= 0

    def _handle_at(self, px: tuple[float, float]) -> int:
        corners = self.handles()
        if not corners:
            return -1
        spx, front = self.screen(np.array(corners))
        d = np.hypot(spx[:, 0] - px[0], spx[:, 1] - px[1])
        d[~front] = np.inf
        k = int(np.argmin(d))
        return k if d[k] <= HANDLE_PX else -1

    def box_select(self, a: tuple[float, float], b: tuple[float, float], *, add: bool = False) -> None:
        """Select what lies in the screen box from `a` to `b`: entities, else zones, else spawn areas (by centre)."""
        scene = self.editor.scene
        x0, x1 = sorted((a[0], b[0]))
        y0, y1 = sorted((a[1], b[1]))
        kinds = (
            ("entities", [np.array(e.pos) for e in scene.entities]),
            ("zones", [zone_polygon(z).mean(axis=0) for z in scene.zones]),
            ("groups", [rect_corners(g.spawn_area).mean(axis=0) if g.spawn_area else None for g in scene.groups]),
        )
        for what, centres in kinds:
            rows = [i for i, c in enumerate(centres) if c is not None]
            if not rows:
                continue
            px, front = self.screen(np.array([centres[i] for i in rows]))
            inside = front & (px[:, 0] >= x0) & (px[:, 0] <= x1) & (px[:, 1] >= y0) & (px[:, 1] <= y1)
            chosen = [(what, rows[k]) for k in np.flatnonzero(inside)]
            if chosen:
                if add and self.selection and self.selection[0][0] == what:
                    chosen = self.selection + [c for c in chosen if c not in self.selection]
                self.selection = chosen
                return
        if not add:
            self.selection = []

    # ------------------------------------------------------------ mouse (from the viewer's input)

    def press(self, button: str, px: tuple[float, float], *, shift: bool = False) -> bool:
        """A button went down at `px`; True if Edit mode takes it (the camera does not)."""
        if button != "left" or (self._gizmo_busy() and self._handle_at(px) < 0):
            return button == "left"
        ground = self.ground_at(px)
        if ground is None:
            return True
        kind, handle = "box", -1
        if self.tool in ("rect", "spawn"):
            kind = self.tool
        elif self.tool in ("polygon", "entity"):
            kind = "click"
        else:
            handle = self._handle_at(px)
            if handle >= 0:
                kind = "handle"
            elif not shift:
                item = self.hit(px)
                if item is not None:
                    if item not in self.selection:
                        self.select(*item)
                    kind = "move"
        self.drag = Drag(kind, tuple(px), ground, tuple(px), ground, handle)
        self._shift = shift
        return True

    def move(self, px: tuple[float, float]) -> None:
        """The pointer moved with the button down."""
        if self.drag is None:
            return
        ground = self.ground_at(px)
        if ground is not None:
            self.drag.now_px, self.drag.now = tuple(px), ground

    def release(self, button: str, px: Optional[tuple[float, float]]) -> bool:
        """The button came up: a drag ends in ONE edit, a click selects or places."""
        if button != "left":
            return False
        drag, self.drag = self.drag, None
        if drag is None:
            return True
        if px is not None:
            self.move(px)
        clicked = math.dist(drag.start_px, drag.now_px) < CLICK_PX
        if drag.kind == "click":
            self._click_tool(drag.start_px, drag.start)
        elif drag.kind in ("rect", "spawn"):
            if not clicked:
                self._rect_tool(drag.kind, self.snapped(drag.start), self.snapped(drag.now))
        elif clicked and drag.kind in ("box", "move"):
            item = self.hit(drag.start_px)
            if item is None:
                self.selection = []
            else:
                self.select(*item, add=self._shift)
        elif drag.kind == "box":
            self.box_select(drag.start_px, drag.now_px, add=self._shift)
        elif drag.kind == "move" and self.selection:
            dx, dy = self._move_delta(drag)
            if dx or dy:
                what = self.selection[0][0]
                self.apply(Translate(what, tuple(i for _, i in self.selection), float(dx), float(dy)))
        elif drag.kind == "handle" and not clicked:
            self._handle_edit(drag.handle, self.snapped(drag.now))
        return True

    def _move_delta(self, drag: Drag) -> np.ndarray:
        what, i = self.selection[0]
        anchor = self.anchor(what, i)
        return self.snapped(anchor + (drag.now - drag.start)) - anchor

    def _click_tool(self, px, ground: np.ndarray) -> None:
        p = self.snapped(ground)
        if self.tool == "entity":
            entity = {"kind": self.entity_kind, "pos": [float(p[0]), float(p[1])], "radius": 1.0}
            if self.entity_kind == "resource":  # a resource names what it yields (its properties panel edits it)
                entity["properties"] = {"resource": "wood", "stock": 50.0}
            self.add_entity(entity)
            return
        if self.polygon:  # the polygon tool: a click on the first corner closes it
            first, front = self.screen(np.array([self.polygon[0]]))
            if front[0] and math.dist(first[0], px) <= HANDLE_PX and len(self.polygon) >= 3:
                self.close_polygon()
                return
        self.polygon.append(p)

    def close_polygon(self) -> None:
        """Enter (or a click on the first corner): the polygon drawn so far becomes a zone."""
        if self.tool != "polygon" or not self.polygon:
            return
        corners = [[float(x), float(y)] for x, y in self.polygon]
        if self.apply(AddZone({"name": self._free_name("zone", "zones"), "kind": "area", "polygon": corners})):
            self.selection = [("zones", len(self.editor.scene.zones) - 1)]
            self.polygon = []

    def _drop_corner(self) -> None:
        if self.polygon:
            self.polygon.pop()

    def _rect_tool(self, kind: str, a: np.ndarray, b: np.ndarray) -> None:
        rect = [float(min(a[0], b[0])), float(min(a[1], b[1])), float(max(a[0], b[0])), float(max(a[1], b[1]))]
        if kind == "rect":
            if self.apply(AddZone({"name": self._free_name("zone", "zones"), "kind": "area", "rect": rect})):
                self.selection = [("zones", len(self.editor.scene.zones) - 1)]
            return
        group = self.selection[0][1] if len(self.selection) == 1 and self.selection[0][0] == "groups" else None
        if group is not None:
            self.apply(SetGroup(group, {"spawn_area": rect, "spawn_zone": None}))
        elif self.apply(AddGroup({"name": self._free_name("group", "groups"), "count": 10, "spawn_area": rect})):
            self.selection = [("groups", len(self.editor.scene.groups) - 1)]

    def _handle_edit(self, handle: int, p: np.ndarray) -> None:
        what, i = self.selection[0]
        scene = self.editor.scene
        if what == "zones" and scene.zones[i].polygon is not None:
            poly = [list(map(float, q)) for q in scene.zones[i].polygon]
            poly[handle] = [float(p[0]), float(p[1])]
            self.apply(SetZone(i, {"polygon": poly}))
            return
        rect = scene.zones[i].rect if what == "zones" else scene.groups[i].spawn_area
        new = moved_corner(rect, handle, p)
        self.apply(SetZone(i, {"rect": new}) if what == "zones" else SetGroup(i, {"spawn_area": new}))

    def _free_name(self, stem: str, what: str) -> str:
        taken = {item.name for item in getattr(self.editor.scene, what)}
        n = len(taken) + 1
        while f"{stem}-{n}" in taken:
            n += 1
        return f"{stem}-{n}"

    # ------------------------------------------------------------ drawing (inside the ImGui frame)

    def preview_outline(self, what: str, index: int) -> np.ndarray:
        """Where a drag in progress shows an item's outline (its outline moved or reshaped)."""
        d = self.drag
        outline = self.outline(what, index)
        if d is not None and d.kind == "move" and (what, index) in self.selection:
            return outline + self._move_delta(d)
        if self.gizmo_delta is not None and (what, index) in self.selection:
            return outline + self.gizmo_delta
        if d is not None and d.kind == "handle" and self.selection == [(what, index)]:
            scene = self.editor.scene
            p = self.snapped(d.now)
            if what == "zones" and scene.zones[index].polygon is not None:
                outline = outline.copy()
                outline[d.handle] = p
                return outline
            rect = scene.zones[index].rect if what == "zones" else scene.groups[index].spawn_area
            return rect_corners(moved_corner(rect, d.handle, p))
        return outline

    def draw_overlay(self) -> None:
        """Outlines, handles, shapes in progress and the gizmo (tokenworld/viewer/edit_overlay.py); call inside
        the ImGui frame."""
        self.overlay.draw()

    def _moving(self) -> bool:
        return self.drag is not None and self.drag.kind == "move"

    def gizmo_centre(self) -> np.ndarray:
        """The ground point the gizmo stands on: the middle of the selected items' anchors."""
        pts = []
        for what, i in self.selection:
            outline = self.outline(what, i)
            pts.append(outline.mean(axis=0) if outline is not None else self.anchor(what, i))
        return np.mean(pts, axis=0)

    def _gizmo_busy(self) -> bool:
        return self.overlay.busy()

    @property
    def gizmo_delta(self) -> Optional[np.ndarray]:
        """While the gizmo is dragged: the selection's offset so far (None otherwise)."""
        return self.overlay.gizmo_delta
