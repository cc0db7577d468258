"""Entities drawn with generated meshes: one instanced layer per mesh, shared by the looks (the texts a mesh is
generated from) that give the same mesh ("house 1" and "house 2" do).

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
    """The entities' layers, one per mesh, under `parent` with `shader`."""

    def __init__(self, parent, shader, meshes: MeshLibrary):
        self.parent, self.shader, self.meshes = parent, shader, meshes
        self.looks: dict[str, int] = {}  # look -> its layer's row in `layers`
        self.layers: list[InstancedLayer] = []
        self._scale: list[float] = []  # per layer: 1 / its mesh's footprint radius
        self._layer_of: dict[int, int] = {}  # id(mesh) -> its layer's row
        self._meshes: list[Mesh] = []

    def layer_rows(self, looks: list[str], kinds: list[str]) -> np.ndarray:
        """The layer each entity is drawn in: its look's while fewer than `MAX_LOOKS` are in use, else its kind's."""
        out = np.empty(len(looks), np.int64)
        for i, (look, kind) in enumerate(zip(looks, kinds, strict=True)):
            if look not in self.looks and len(self.looks) >= MAX_LOOKS:
                look = DEFAULT_LOOK.get(kind, kind)
            if look not in self.looks:
                self.looks[look] = self._add(look, kind)
            out[i] = self.looks[look]
        return out

    def _add(self, look: str, kind: str) -> int:
        mesh = self.meshes.get(look, lod=0)
        if mesh is None:  # the built-in mesh of the kind: unit radius, tinted by the kind's colour
            geom = entity_mesh(kind)
            mesh = Mesh(geom, 1.0, mesh_of_geom(geom).height)
        if id(mesh) not in self._layer_of:
            self._layer_of[id(mesh)] = len(self.layers)
            self.layers.append(InstancedLayer(self.parent, f"entities-{look}", mesh.geom, self.shader))
            self._scale.append(1.0 / mesh.radius)
            self._meshes.append(mesh)  # held: its id keys `_layer_of`
        return self._layer_of[id(mesh)]

    def draw(
        self, pos: np.ndarray, radius: np.ndarray, kinds: list[str], looks: list[str], stock: np.ndarray, z: np.ndarray
    ) -> None:
        """Entities at `pos` (m, 2) on ground heights `z`, of `radius`, `kinds`, `looks` and `stock` (0..1)."""
        layer = self.layer_rows(looks, kinds)
        kind_arr = np.array(kinds, dtype=object)
        tint = np.array([ENTITY_COLORS.get(k, (0.6, 0.6, 0.6)) for k in kinds], np.float32).reshape(-1, 3)
        size = np.maximum(radius, 0.3) * stock_scale(kind_arr, stock) if len(pos) else np.zeros(0, np.float32)
        for li, instanced in enumerate(self.layers):
            rows = np.flatnonzero(layer == li)
            xyzh = np.zeros((len(rows), 4), np.float32)
            xyzh[:, :2] = pos[rows]
            xyzh[:, 2] = z[rows]
            xyzh[:, 3] = (rows * 2.399) % (2 * np.pi)  # varied orientations
            rgbs = np.empty((len(rows), 4), np.float32)
            rgbs[:, :3] = tint[rows]
            rgbs[:, 3] = size[rows] * self._scale[li]
            instanced.update(xyzh, rgbs)
