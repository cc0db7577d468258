"""How a recording's camera moves: orbit, follow an agent, top-down, or a camera path file.

A move sets the viewer's `OrbitCamera` for a time `t` (seconds of video) before
each frame is drawn; it reads only the source (through the viewer) and `t`, so
the same recording moves the camera the same way every time.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from tokenworld.viewer.camera import OrbitCamera
from tokenworld.viewer.camera_path import CameraPath

MOVES = ("orbit", "follow", "top-down")
ORBIT_DEG_PER_S = 6.0  # one turn a minute
FOLLOW_DISTANCE = 24.0  # metres from the followed agent
FOLLOW_PITCH = 52.0  # degrees: high enough that houses rarely hide the agent
BUSIEST_EVERY_S = 8.0  # seconds of video between looks for the busiest agent


def aim(camera: OrbitCamera, position: np.ndarray, look_at: np.ndarray) -> None:
    """Point `camera` from `position` at `look_at` (its target, distance, yaw and pitch; pitch at most 89.5)."""
    back = np.asarray(position, np.float64) - np.asarray(look_at, np.float64)
    d = float(np.linalg.norm(back))
    camera.target = np.asarray(look_at, np.float64).copy()
    camera.distance = max(d, 1e-3)
    camera.pitch = min(math.degrees(math.asin(max(min(back[2] / camera.distance, 1.0), -1.0))), camera.MAX_PITCH)
    if math.hypot(back[0], back[1]) > 1e-9:
        camera.yaw = math.degrees(math.atan2(-back[0], -back[1])) % 360.0
    camera.follow = None


class Orbit:
    """Circles the middle of the world, all of it in view, one turn a minute."""

    def __init__(self, viewer):
        w, h = viewer.scene.world.size
        self.centre = np.array([w / 2, h / 2, 0.0])
        self.distance = max(w, h) * 0.95

    def apply(self, viewer, t: float) -> None:
        cam = viewer.camera
        cam.target, cam.distance, cam.pitch, cam.follow = self.centre.copy(), self.distance, 42.0, None
        cam.yaw = (ORBIT_DEG_PER_S * t) % 360.0


class TopDown:
    """Straight down on the whole world, north up."""

    def __init__(self, viewer):
        w, h = viewer.scene.world.size
        aspect = viewer.size[0] / max(viewer.size[1], 1)
        half_fov = math.radians(viewer.lens.get_vfov()) / 2
        self.centre = np.array([w / 2, h / 2, 0.0])
        self.distance = max(h, w / aspect) / 2 / math.tan(half_fov) * 1.05

    def apply(self, viewer, t: float) -> None:
        cam = viewer.camera
        cam.target, cam.distance, cam.pitch, cam.yaw, cam.follow = (
            self.centre.copy(),
            self.distance,
            cam.MAX_PITCH,
            0.0,
            None,
        )


class Follow:
    """Follows `agent`, circling it slowly, selected (a ring at its feet, its name over its head); None: the
    busiest agent, the one in the most feed lines so far (looked for again every few seconds; the camera cuts
    to a new one)."""

    def __init__(self, viewer, agent: int | None):
        self.fixed = agent
        self.agent = agent if agent is not None else 0
        self._next_look = 0.0

    def apply(self, viewer, t: float) -> None:
        if self.fixed is None and t >= self._next_look:
            busiest = busiest_agent(viewer.source)
            if busiest is not None:
                self.agent = busiest
                self._next_look = t + BUSIEST_EVERY_S
        if viewer.selected != self.agent:
            viewer.select(self.agent)
        cam = viewer.camera
        cam.follow = self.agent  # the viewer puts the target on the agent's interpolated position each frame
        cam.distance, cam.pitch = FOLLOW_DISTANCE, FOLLOW_PITCH
        cam.yaw = (ORBIT_DEG_PER_S * t) % 360.0


class PathMove:
    """Follows a camera path file's keyframes."""

    def __init__(self, viewer, path: CameraPath):
        self.path = path

    def apply(self, viewer, t: float) -> None:
        position, look_at = self.path.at(t)
        aim(viewer.camera, position, look_at)


def busiest_agent(source) -> int | None:
    """The agent in the most of the source's recent feed lines (as speaker or partner; lowest id on ties)."""
    counts: Counter[int] = Counter()
    for line in source.recent_lines(500):
        for a in (line.agent, line.other):
            if a >= 0:
                counts[a] += 1
    if not counts:
        return None
    return min(counts, key=lambda a: (-counts[a], a))


def make_move(viewer, camera: str, *, follow: int | None = None, path: CameraPath | None = None):
    """The move for `camera` ('orbit', 'follow', 'top-down', or 'path' with `path`)."""
    if camera == "orbit":
        return Orbit(viewer)
    if camera == "top-down":
        return TopDown(viewer)
    if camera == "follow":
        return Follow(viewer, follow)
    if camera == "path" and path is not None:
        return PathMove(viewer, path)
    raise ValueError(f"unknown camera move {camera!r}")
