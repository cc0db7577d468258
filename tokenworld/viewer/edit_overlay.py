"""What the Edit mode draws over the 3D view: selection outlines, corner handles, spawn areas, shapes being drawn,
the selection box, and ImGuizmo's translate gizmo, whose release is one `Translate` edit.

All of it goes on ImGui's background draw list, in screen pixels projected from ground points (following the
terrain), so it is drawn in the same frame as the panels, in a window or offscreen alike.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from tokenworld.editor import Translate
from tokenworld.scene.geometry import rect_corners
from tokenworld.viewer.edit_mode import LIFT

_CIRCLE = np.linspace(0, 2 * np.pi, 25)


class EditOverlay:
    """Draws the overlay of `mode` (an `EditMode`) each frame and runs its gizmo."""

    def __init__(self, mode):
        self.mode = mode
        self.gizmo_delta: Optional[np.ndarray] = None  # while the gizmo is dragged: its offset so far
        self._gizmo_start: Optional[np.ndarray] = None  # the gizmo's centre when its drag began
        self._gizmo_matrix = None
        self.shown = False  # the gizmo was drawn in the last frame (its hover state is stale otherwise)
        self._dense: dict[tuple, np.ndarray] = {}  # outline -> its points along the terrain (x, y, z)

    def draw(self) -> None:
        """Selection outlines, handles, spawn areas and the drag or shape in progress, on ImGui's background list,
        then the translate gizmo. Call inside the ImGui frame."""
        from imgui_bundle import imgui

        m = self.mode
        self.shown = False
        dl = imgui.get_background_draw_list()
        scene = m.editor.scene
        yellow, white = imgui.IM_COL32(255, 235, 40, 255), imgui.IM_COL32(255, 255, 255, 255)
        blue = imgui.IM_COL32(90, 170, 255, 230)
        for i, g in enumerate(scene.groups):  # spawn areas, always shown in Edit mode
            if g.spawn_area is not None and ("groups", i) not in m.selection:
                self._polyline(dl, m.outline("groups", i), blue, 1.5)
        for what, i in m.selection:
            outline = m.preview_outline(what, i)
            if outline is not None:
                self._polyline(dl, outline, yellow, 3.0)
            elif what == "entities":
                e = scene.entities[i]
                p = np.array(e.pos) + (m._move_delta(m.drag) if m._moving() else 0.0)
                if self.gizmo_delta is not None:
                    p = p + self.gizmo_delta
                ring = p + e.radius * 1.3 * np.stack([np.cos(_CIRCLE), np.sin(_CIRCLE)], 1)
                self._polyline(dl, ring, yellow, 3.0)
        if m.drag is None or m.drag.kind != "handle":
            corners = m.handles()
            if corners:
                px, front = m.screen(np.array(corners))
                for (x, y), ok in zip(px.tolist(), front.tolist(), strict=True):
                    if ok:
                        dl.add_rect_filled((x - 5, y - 5), (x + 5, y + 5), white)
                        dl.add_rect((x - 5, y - 5), (x + 5, y + 5), imgui.IM_COL32(20, 20, 20, 255))
        d = m.drag
        if d is not None and d.kind in ("rect", "spawn"):
            self._polyline(dl, rect_corners([*m.snapped(d.start), *m.snapped(d.now)]), white, 2.0)
        elif d is not None and d.kind == "box":
            dl.add_rect(d.start_px, d.now_px, white, 0.0, 0, 1.5)
        if m.polygon:
            pts = np.array(m.polygon)
            pointer = m.v.pointer()
            ground = m.ground_at(pointer) if pointer is not None else None
            path = np.vstack([pts, m.snapped(ground)[None]]) if ground is not None else pts
            self._polyline(dl, path, white, 2.0, closed=False)
            px, front = m.screen(pts)
            for (x, y), ok in zip(px.tolist(), front.tolist(), strict=True):
                if ok:
                    dl.add_circle_filled((x, y), 4.0, white)
        if m.tool == "select" and m.selection and m.drag is None:
            self._gizmo()
        if not self.shown:  # a gizmo drag whose gizmo went away (the selection changed) is dropped
            self._gizmo_start = self.gizmo_delta = None

    def _polyline(self, dl, xy: np.ndarray, colour, thickness: float, *, closed: bool = True) -> None:
        """A ground outline on screen, following the terrain (points every 2 m), skipping what is behind the camera."""
        from tokenworld.viewer.picking import project

        xy = np.asarray(xy, np.float64)
        key = (xy.tobytes(), closed)
        pts = self._dense.get(key)
        if pts is None:  # the outline's points on the ground, made once per shape (a frame only projects them)
            if closed:
                xy = np.vstack([xy, xy[:1]])
            parts = [xy[:1]]
            for p, q in zip(xy[:-1], xy[1:], strict=True):
                k = min(max(int(np.linalg.norm(q - p) / 2.0), 1), 64)
                parts.append(p + (q - p) * np.linspace(0, 1, k + 1)[1:, None])
            flat = np.vstack(parts).astype(np.float32)
            pts = np.column_stack([flat, self.mode.v.ground.height(flat) + np.float32(LIFT)])
            if len(self._dense) > 256:
                self._dense.clear()
            self._dense[key] = pts
        px, w = project(pts, self.mode.v.view_proj(), self.mode.v.size)
        front = w > 0
        if front.all():
            dl.add_polyline([tuple(p) for p in px.tolist()], colour, 0, thickness)
            return
        for a, b, ok in zip(px[:-1].tolist(), px[1:].tolist(), (front[:-1] & front[1:]).tolist(), strict=True):
            if ok:
                dl.add_line(a, b, colour, thickness)

    def _gizmo(self) -> None:
        """ImGuizmo's translate gizmo (x and y on the ground) on the selection; its release is one Translate."""
        from imgui_bundle import imgui, imguizmo

        m = self.mode
        gz = imguizmo.im_guizmo
        if m.selection[0][0] == "groups" and m.editor.scene.groups[m.selection[0][1]].spawn_area is None:
            return  # a group that spawns in a zone has nothing of its own to move
        gz.begin_frame()  # resets its hover state each frame (it opens an invisible window taking no input)
        pointer = m.v.pointer()
        gz.enable(self._gizmo_start is not None or pointer is None or m._handle_at(pointer) < 0)  # handles first
        gz.set_drawlist(imgui.get_background_draw_list())
        gz.set_rect(0.0, 0.0, float(m.v.size[0]), float(m.v.size[1]))
        gz.set_orthographic(False)
        view, proj = m.v.gl_matrices()
        centre = m.gizmo_centre()
        z = float(m.v.ground.height(centre[None])[0]) + LIFT
        if self._gizmo_start is None:
            self._gizmo_matrix = gz.Matrix16([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, centre[0], centre[1], z, 1])
        op = gz.OPERATION.translate
        gz.set_axis_mask(False, False, True)  # along the ground only: the up axis is hidden
        snap = gz.Matrix3([m.grid, m.grid, m.grid]) if m.snap and m.grid > 0 else None
        gz.manipulate(gz.Matrix16(view), gz.Matrix16(proj), op, gz.MODE.world, self._gizmo_matrix, None, snap)
        self.shown = True
        using = gz.is_using()
        moved = np.array(self._gizmo_matrix.values[12:14], np.float64)
        if using:
            if self._gizmo_start is None:
                self._gizmo_start = centre
            self.gizmo_delta = moved - self._gizmo_start
        elif self._gizmo_start is not None:
            delta, self._gizmo_start, self.gizmo_delta = moved - self._gizmo_start, None, None
            if np.abs(delta).max() > 1e-6:
                what = m.selection[0][0]
                m.apply(Translate(what, tuple(i for _, i in m.selection), float(delta[0]), float(delta[1])))

    def busy(self) -> bool:
        """Whether the gizmo, drawn in the last frame, has the pointer on it or is being dragged."""
        from imgui_bundle import imguizmo

        return self.shown and bool(imguizmo.im_guizmo.is_over() or imguizmo.im_guizmo.is_using())
