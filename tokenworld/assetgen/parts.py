"""Parts that recipes assemble: boxes, cylinders, cones, prisms and solids of revolution, each with its colour.

A `Parts` collects closed trimesh solids and the colour of each, then joins
them into one mesh with per-vertex RGBA colours. Alpha is the share of a
viewer's per-instance tint the part takes (1: tinted, as a person's clothes;
0: keeps its own colour). Coordinates: metres, z up, the base on z = 0, the
front towards +x.
"""

from __future__ import annotations

import numpy as np
import trimesh

RGB = tuple[float, float, float]


def _place(mesh: trimesh.Trimesh, at=(0.0, 0.0, 0.0), yaw: float = 0.0, tilt: tuple[float, float] = (0.0, 0.0)):
    """Rotate `mesh` by `tilt` (about x, then y) and `yaw` (about z), then move it to `at`."""
    m = np.eye(4)
    if tilt != (0.0, 0.0):
        m = trimesh.transformations.euler_matrix(tilt[0], tilt[1], 0.0, "sxyz")
    if yaw:
        m = trimesh.transformations.rotation_matrix(yaw, (0, 0, 1)) @ m
    m[:3, 3] += at
    mesh.apply_transform(m)
    return mesh


def _octahedron() -> trimesh.Trimesh:
    v = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    f = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    return trimesh.Trimesh(v, f, process=False)


class Parts:
    """Solids and their colours, joined by `mesh()`; `sides` is the round parts' number of sides."""

    def __init__(self, sides: int = 8):
        self.sides = sides
        self.meshes: list[trimesh.Trimesh] = []
        self.colors: list[tuple[float, float, float, float]] = []

    def add(self, mesh: trimesh.Trimesh, rgb: RGB, tint: float = 0.0) -> trimesh.Trimesh:
        self.meshes.append(mesh)
        self.colors.append((*np.clip(rgb, 0, 1), tint))
        return mesh

    def box(self, size, at=(0.0, 0.0, 0.0), rgb: RGB = (0.5, 0.5, 0.5), *, yaw: float = 0.0, tilt=(0.0, 0.0), tint=0.0):
        """A box of `size` (x, y, z) whose bottom centre is at `at`."""
        sx, sy, sz = size
        mesh = trimesh.creation.box(extents=(sx, sy, sz))
        mesh.apply_translation((0, 0, sz / 2))
        return self.add(_place(mesh, at, yaw, tilt), rgb, tint)

    def cylinder(self, radius: float, height: float, at=(0.0, 0.0, 0.0), rgb: RGB = (0.5, 0.5, 0.5), **kw):
        """An upright cylinder standing on `at` (`tilt` lays it over: (0, pi/2) points it along x)."""
        sides = kw.pop("sides", self.sides)
        mesh = trimesh.creation.cylinder(radius=radius, height=height, sections=sides)
        mesh.apply_translation((0, 0, height / 2))
        return self.add(_place(mesh, at, kw.get("yaw", 0.0), kw.get("tilt", (0.0, 0.0))), rgb, kw.get("tint", 0.0))

    def cone(self, radius: float, height: float, at=(0.0, 0.0, 0.0), rgb: RGB = (0.5, 0.5, 0.5), **kw):
        """An upright cone standing on `at`."""
        sides = kw.pop("sides", self.sides)
        mesh = trimesh.creation.cone(radius=radius, height=height, sections=sides)
        return self.add(_place(mesh, at, kw.get("yaw", 0.0), kw.get("tilt", (0.0, 0.0))), rgb, kw.get("tint", 0.0))

    def frustum(self, r0: float, r1: float, height: float, at=(0.0, 0.0, 0.0), rgb: RGB = (0.5, 0.5, 0.5), **kw):
        """A closed cone frustum (radius r0 at the bottom, r1 at the top) standing on `at`."""
        return self.revolve([(0.0, 0.0), (r0, 0.0), (r1, height), (0.0, height)], at, rgb, **kw)

    def revolve(self, profile, at=(0.0, 0.0, 0.0), rgb: RGB = (0.5, 0.5, 0.5), **kw):
        """A solid of revolution about z of a closed (radius, height) profile from the axis back to it."""
        sides = kw.pop("sides", self.sides)
        mesh = trimesh.creation.revolve(np.asarray(profile, float), sections=sides)
        return self.add(_place(mesh, at, kw.get("yaw", 0.0)), rgb, kw.get("tint", 0.0))

    def prism(self, width: float, depth: float, height: float, at=(0.0, 0.0, 0.0), rgb: RGB = (0.5, 0.5, 0.5), **kw):
        """A gable roof: a triangular prism `width` across (x), `depth` long (y), ridge `height` above `at`."""
        w, d, h = width / 2, depth / 2, height
        v = np.array([[-w, -d, 0], [w, -d, 0], [0, -d, h], [-w, d, 0], [w, d, 0], [0, d, h]], float)
        f = np.array([[0, 1, 2], [3, 5, 4], [0, 4, 1], [0, 3, 4], [1, 5, 2], [1, 4, 5], [2, 3, 0], [2, 5, 3]])
        mesh = trimesh.Trimesh(v, f, process=False)
        return self.add(_place(mesh, at, kw.get("yaw", 0.0)), rgb, kw.get("tint", 0.0))

    def blob(self, radius, at=(0.0, 0.0, 0.0), rgb: RGB = (0.5, 0.5, 0.5), *, tint=0.0):
        """A low-poly ball with radii (rx, ry, rz) or one radius, centred on `at`: an octahedron (8 triangles)
        under 0.3 m (small things seen by the hundred: crops, wares), an icosphere (80) above."""
        mesh = _octahedron() if np.max(radius) < 0.3 else trimesh.creation.icosphere(subdivisions=1)
        mesh.apply_scale(np.broadcast_to(np.asarray(radius, float), 3))
        return self.add(_place(mesh, at), rgb, tint)

    def mesh(self) -> trimesh.Trimesh:
        """The parts joined into one mesh with vertex colours (RGBA uint8)."""
        if not self.meshes:
            raise ValueError("a recipe made no parts")
        counts = [len(m.vertices) for m in self.meshes]
        verts = np.concatenate([m.vertices for m in self.meshes])
        offsets = np.cumsum([0] + counts[:-1])
        faces = np.concatenate([m.faces + o for m, o in zip(self.meshes, offsets, strict=True)])
        colors = np.repeat(np.round(np.array(self.colors) * 255).astype(np.uint8), counts, axis=0)
        return trimesh.Trimesh(verts, faces, vertex_colors=colors, process=False)
