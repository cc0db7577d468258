"""Picking instanced things by projecting their positions to the screen in numpy (no collision nodes)."""

from __future__ import annotations

import numpy as np


def project(points: np.ndarray, view_proj: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Screen pixels (n, 2; y down) and clip-space w (n,) of world points (n, 3).

    `view_proj` is the 4x4 world-to-clip matrix in row-vector convention
    (clip = [x, y, z, 1] @ view_proj), as Panda3D's matrices are.
    """
    pts = np.asarray(points, np.float32)
    clip = pts @ view_proj[:3].astype(np.float32) + view_proj[3].astype(np.float32)
    w = clip[:, 3]
    safe = np.where(np.abs(w) > 1e-6, w, 1e-6)
    ndc = clip[:, :2] / safe[:, None]
    px = np.empty((len(pts), 2), np.float32)
    px[:, 0] = (ndc[:, 0] * 0.5 + 0.5) * size[0]
    px[:, 1] = (0.5 - ndc[:, 1] * 0.5) * size[1]
    return px, w


def pick(
    points: np.ndarray,
    view_proj: np.ndarray,
    size: tuple[int, int],
    mouse: tuple[float, float],
    radius_px: np.ndarray | float = 12.0,
) -> int:
    """Index of the point whose projection is within `radius_px` of `mouse` and nearest the camera; -1 none.

    Points behind the camera never count. `radius_px` may be one radius or one per point.
    """
    if len(points) == 0:
        return -1
    px, w = project(points, view_proj, size)
    d2 = ((px - np.asarray(mouse, np.float32)) ** 2).sum(axis=1)
    r = np.broadcast_to(np.asarray(radius_px, np.float32), d2.shape)
    hit = np.flatnonzero((w > 0) & (d2 <= r * r))
    if not len(hit):
        return -1
    # Nearest the camera among the hits, then nearest the pointer.
    order = np.lexsort((d2[hit], np.round(w[hit], 1)))
    return int(hit[order[0]])


def on_screen(points: np.ndarray, view_proj: np.ndarray, size: tuple[int, int], margin: float = 0.0) -> np.ndarray:
    """Mask of points in front of the camera and inside the screen (plus `margin` pixels)."""
    px, w = project(points, view_proj, size)
    return (
        (w > 0)
        & (px[:, 0] >= -margin)
        & (px[:, 0] <= size[0] + margin)
        & (px[:, 1] >= -margin)
        & (px[:, 1] <= size[1] + margin)
    )
