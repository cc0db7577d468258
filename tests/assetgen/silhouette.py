"""Silhouettes of meshes, for telling generated categories apart in tests."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def _view(azimuth: float, elevation: float) -> np.ndarray:
    """A 2x3 orthographic projection: screen right and up for a camera at `azimuth`, `elevation` (degrees)."""
    a, e = np.radians(azimuth), np.radians(elevation)
    right = np.array([-np.sin(a), np.cos(a), 0.0])
    up = np.array([-np.sin(e) * np.cos(a), -np.sin(e) * np.sin(a), np.cos(e)])
    return np.stack([right, up])


VIEWS = (_view(0, 0), _view(90, 0), _view(-45, 30))  # front, side, and a viewer's three-quarter view from above


def silhouette(mesh, size: int = 48) -> np.ndarray:
    """Boolean images of the mesh seen from the front, the side and a three-quarter view from above, each scaled
    by the mesh's largest extent (so shapes, not sizes, are compared) and centred."""
    v = mesh.vertices - mesh.bounds.mean(axis=0)
    v = v / max(np.linalg.norm(mesh.extents), 1e-9) * (size - 2)
    out = []
    for view in VIEWS:
        img = Image.new("1", (size, size), 0)
        draw = ImageDraw.Draw(img)
        for tri in (v @ view.T + size / 2)[mesh.faces]:
            draw.polygon([(float(x), float(size - y)) for x, y in tri], fill=1)
        out.append(np.asarray(img, bool))
    return np.stack(out)


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two silhouettes."""
    return float((a & b).sum() / max((a | b).sum(), 1))
