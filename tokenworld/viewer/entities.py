"""Entities drawn with generated meshes: one instanced layer per look (the text a mesh is generated from).

A look is generated on first sight (`MeshLibrary`); past `MAX_LOOKS` distinct
looks, entities take their kind's default look. A mesh is scaled so its
footprint radius is the entity's radius (tall things keep their proportions);
resource nodes shrink a little as their stock runs down.
"""

from __future__ import annotations

import numpy as np

from tokenworld.viewer.layers import ENTITY_COLORS, InstancedLayer, entity_mesh
from tokenworld.viewer.meshes import Mesh, MeshLibrary, mesh_of_geom

MAX_LOOKS = 64  # distinct generated looks at most; the rest take their kind's default
DEFAULT_LOOK = {"resource": "tree", "building": "hut", "item": "crate", "asset": "crate", "obstacle": "rock"}


def stock_scale(kinds: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Size factor by stock: a resource node at stock s is drawn at 0.6 + 0.4 s of its size, others at 1."""
    return np.where(kinds == "resource", 0.6 + 0.4 * np.clip(stock, 0.0, 1.0), 1.0).astype(np.float32)


class EntityLayers:
    """The entities' layers, one per look, under `parent` with `shader`."""

    def __init__(self, parent, shader, meshes: MeshLibrary):
        self.parent, self.shader, self.meshes = parent, shader, meshes
        self.layers: dict[str, InstancedLayer] = {}
        self._mesh: dict[str, Mesh] = {}

    def looks_of(self, looks: list[str], kinds: list[str]) -> list[str]:
        """The look each entity is drawn with: its own while fewer than `MAX_LOOKS` are in use, else its kind's."""
        out = []
        for look, kind in zip(looks, kinds, strict=True):
            if look not in self.layers and len(self.layers) >= MAX_LOOKS:
                look = DEFAULT_LOOK.get(kind, kind)
            out.append(look)
            if look not in self.layers:
                self._add(look, kind)
        return out

    def _add(self, look: str, kind: str) -> None:
        mesh = self.meshes.get(look, lod=0)
        if mesh is None:  # the built-in mesh of the kind: unit radius, tinted by the kind's colour
            geom = entity_mesh(kind)
            mesh = Mesh(geom, 1.0, mesh_of_geom(geom).height)
        self._mesh[look] = mesh
        self.layers[look] = InstancedLayer(self.parent, f"entities-{look}", mesh.geom, self.shader)

    def draw(
        self, pos: np.ndarray, radius: np.ndarray, kinds: list[str], looks: list[str], stock: np.ndarray, z: np.ndarray
    ) -> None:
        """Entities at `pos` (m, 2) on ground heights `z`, of `radius`, `kinds`, `looks` and `stock` (0..1)."""
        drawn = np.array(self.looks_of(looks, kinds), dtype=object)
        kind_arr = np.array(kinds, dtype=object)
        rows_all = np.arange(len(pos))
        tint = np.array([ENTITY_COLORS.get(k, (0.6, 0.6, 0.6)) for k in kinds], np.float32).reshape(-1, 3)
        size = np.maximum(radius, 0.3) * stock_scale(kind_arr, stock) if len(pos) else np.zeros(0, np.float32)
        for look, layer in self.layers.items():
            rows = rows_all[drawn == look] if len(pos) else rows_all
            xyzh = np.zeros((len(rows), 4), np.float32)
            xyzh[:, :2] = pos[rows]
            xyzh[:, 2] = z[rows]
            xyzh[:, 3] = (rows * 2.399) % (2 * np.pi)  # varied orientations
            rgbs = np.empty((len(rows), 4), np.float32)
            rgbs[:, :3] = tint[rows]
            rgbs[:, 3] = size[rows] / self._mesh[look].radius
            layer.update(xyzh, rgbs)
