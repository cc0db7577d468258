"""An orbit camera over the ground plane: orbit, pan, zoom, fly, focus, follow, top-down."""

from __future__ import annotations

import math

import numpy as np


class OrbitCamera:
    """Looks at `target` (x, y, z) from `distance` metres, at `yaw` and `pitch` degrees.

    Pure arithmetic: the viewer copies `position()` and `target` onto its
    Panda3D camera each frame, so this is tested without a display.
    """

    MIN_PITCH, MAX_PITCH = 8.0, 89.5

    def __init__(self, world_size: tuple[float, float]):
        self.world = (float(world_size[0]), float(world_size[1]))
        span = max(self.world)
        self.target = np.array([self.world[0] / 2, self.world[1] / 2, 0.0])
        self.distance = span * 1.5  # the whole world in view at the start
        self.yaw = 0.0  # degrees around +z; 0 looks along +y
        self.pitch = 55.0  # degrees above the horizon
        self.min_distance, self.max_distance = 3.0, span * 4
        self.follow: int | None = None  # agent id the camera follows
        self.vfov_deg = 30.0  # the lens's vertical field of view (the viewer sets it from its lens)
        self._saved_pitch: float | None = None

    def position(self) -> np.ndarray:
        yaw, pitch = math.radians(self.yaw), math.radians(self.pitch)
        back = np.array([-math.sin(yaw) * math.cos(pitch), -math.cos(yaw) * math.cos(pitch), math.sin(pitch)])
        return self.target + back * self.distance

    def orbit(self, dx_px: float, dy_px: float) -> None:
        self.yaw = (self.yaw + dx_px * 0.3) % 360.0
        self.pitch = min(max(self.pitch + dy_px * 0.25, self.MIN_PITCH), self.MAX_PITCH)

    def metres_per_px(self, height_px: int) -> float:
        """Ground metres one pixel spans at the target (the view's height spans 2 d tan(vfov / 2))."""
        return 2.0 * self.distance * math.tan(math.radians(self.vfov_deg) / 2) / max(height_px, 1)

    def pan(self, dx_px: float, dy_px: float, height_px: int) -> None:
        """Drag the ground: the point under the pointer stays under it (at the target's depth)."""
        m = self.metres_per_px(height_px)
        self.move(-dx_px * m, dy_px * m / max(math.sin(math.radians(self.pitch)), 0.2))

    def move(self, right: float, forward: float) -> None:
        """Move the target along the ground, relative to where the camera looks."""
        yaw = math.radians(self.yaw)
        fwd = np.array([math.sin(yaw), math.cos(yaw)])
        rgt = np.array([math.cos(yaw), -math.sin(yaw)])
        self.target[:2] += rgt * right + fwd * forward
        self.target[:2] = np.clip(self.target[:2], [0, 0], self.world)
        self.follow = None

    def zoom(self, steps: float) -> None:
        self.distance = float(np.clip(self.distance * (0.85**steps), self.min_distance, self.max_distance))

    def focus(self, point: np.ndarray, distance: float | None = None) -> None:
        self.target = np.asarray(point, np.float64).copy()
        if distance is not None:
            self.distance = float(np.clip(distance, self.min_distance, self.max_distance))

    def toggle_top_down(self) -> None:
        if self._saved_pitch is None:
            self._saved_pitch, self.pitch = self.pitch, self.MAX_PITCH
        else:
            self.pitch, self._saved_pitch = self._saved_pitch, None

    @property
    def top_down(self) -> bool:
        return self._saved_pitch is not None
