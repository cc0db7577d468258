"""Organic shapes (rocks, bushes, tree crowns) from a noisy implicit field, and levels of detail.

A shape is an ellipsoid's inside-ness plus smooth noise (a small random grid,
upsampled by cubic interpolation), sampled on a grid and turned into a closed
surface by marching cubes (scikit-image, single-threaded and deterministic),
then decimated to a triangle budget by quadric simplification
(fast-simplification). The same random generator state gives the same mesh.
"""

from __future__ import annotations

import numpy as np
import trimesh

GRID = 22  # samples per axis of the implicit field at default detail


def _noise(rng: np.random.Generator, n: int, cells: int) -> np.ndarray:
    """Smooth noise in about [-1, 1] on an n^3 grid: a cells^3 random grid upsampled by cubic interpolation."""
    from scipy.ndimage import zoom

    coarse = rng.uniform(-1.0, 1.0, (cells, cells, cells))
    return zoom(coarse, n / cells, order=3, mode="nearest", grid_mode=True)[:n, :n, :n]


def blob(
    rng: np.random.Generator,
    radii: tuple[float, float, float],
    *,
    roughness: float = 0.25,
    lumps: int = 4,
    flat_base: float | None = None,
    grid: int = GRID,
    faces: int = 200,
) -> trimesh.Trimesh:
    """A closed, lumpy ellipsoid of `radii` (metres) centred on the origin, at most `faces` triangles.

    `roughness`: how far the surface strays from the ellipsoid (share of the radius); `lumps`: noise cells per
    axis (more: smaller lumps); `flat_base`: cut flat at this share of the height below the centre (rocks sit
    on the ground).
    """
    from skimage.measure import marching_cubes

    r = np.asarray(radii, float)
    span = 1.0 + roughness + 0.15
    axis = np.linspace(-span, span, grid)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    inside = 1.0 - np.sqrt(x * x + y * y + z * z) + roughness * _noise(rng, grid, lumps)
    if flat_base is not None:
        inside = np.minimum(inside, z + flat_base)
    inside[[0, -1], :, :] = inside[:, [0, -1], :] = inside[:, :, [0, -1]] = -1.0  # closed at the grid's edges
    step = axis[1] - axis[0]
    verts, tris, _, _ = marching_cubes(inside, 0.0, spacing=(step, step, step))
    verts = (verts - span) * r
    mesh = trimesh.Trimesh(verts, tris[:, ::-1], process=True)  # marching cubes winds them inwards here
    return simplify(mesh, faces)


def simplify(mesh: trimesh.Trimesh, faces: int) -> trimesh.Trimesh:
    """`mesh` reduced to about `faces` triangles by quadric decimation (unchanged when already below);
    vertex colours follow the nearest kept vertex."""
    if len(mesh.faces) <= faces:
        return mesh
    import fast_simplification

    verts, tris = fast_simplification.simplify(
        np.ascontiguousarray(mesh.vertices, np.float32),
        np.ascontiguousarray(mesh.faces, np.int32),
        target_count=max(int(faces), 4),
    )
    out = trimesh.Trimesh(verts.astype(np.float64), tris, process=False)
    colors = getattr(mesh.visual, "vertex_colors", None)
    if mesh.visual.kind == "vertex" and colors is not None and len(colors) == len(mesh.vertices):
        nearest = mesh.kdtree.query(out.vertices)[1]
        out.visual.vertex_colors = np.asarray(colors)[nearest]
    return out
