"""Entities drawn with generated meshes: one instanced layer per mesh, shared by the looks (the texts a mesh is
generated from) that give the same mesh ("house 1" and "house 2" do).

A look (its text and seed) is generated on first sight (`MeshLibrary`); past `MAX_LOOKS` distinct
meshes (or `MAX_TEXTS` looks), entities take their kind's default look. Entities
farther than `NEAR` from the camera are drawn with the decimated mesh (LOD 1). A mesh is scaled so its
footprint radius is the entity's radius (tall things keep their proportions);
resource nodes shrink a little as their stock runs down.
"""

from __future__ import annotations

import numpy as np

from tokenworld.viewer.layers import ENTITY_COLORS, InstancedLayer, entity_mesh
from tokenworld.viewer.meshes import Mesh, MeshLibrary, mesh_of_geom

MAX_LOOKS = 64  # distinct meshes (layers) at most; entities past them take their kind's default look
MAX_TEXTS = 512  # distinct looks generated at most (each may cost tens of ms the first time)
NEAR = 150.0  # m: nearer entities are drawn with their full mesh, farther ones decimated (LOD 1)
MOVE = 3.0  # m the camera moves before entities are sorted near/far again
DEFAULT_LOOK = {"resource": "tree", "building": "hut", "item": "crate", "asset": "crate", "obstacle": "rock"}


def stock_scale(kinds: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Size factor by stock: a resource node at stock s is drawn at 0.6 + 0.4 s of its size, others at 1."""
    return np.where(kinds == "resource", 0.6 + 0.4 * np.clip(stock, 0.0, 1.0), 1.0).astype(np.float32)


class EntityLayers:
    """The entities' layers, one per mesh, under `parent` with `shader`."""

    def __init__(self, parent, shader, meshes: MeshLibrary):
        self.parent, self.shader, self.meshes = parent, shader, meshes
        self.looks: dict[tuple[str, int], int] = {}  # (look, seed) -> its layer's row in `layers`
        self.layers: list[InstancedLayer] = []  # per mesh: near the camera (LOD 0)
        self.far_layers: list[InstancedLayer] = []  # per mesh: far from it (LOD 1)
        self._placed: tuple | None = None  # (layer rows, xyzh, rgbs) of the entities drawn
        self._camera: np.ndarray | None = None  # where the camera was when they were last sorted near/far
        self._scale: list[float] = []  # per layer: 1 / its mesh's footprint radius
        self._layer_of: dict[int, int] = {}  # id(mesh) -> its layer's row
        self._meshes: list[Mesh] = []
        self._builtin: dict[str, Mesh] = {}  # kind -> its built-in mesh

    def layer_rows(self, looks: list[str], kinds: list[str], seeds: list[int] | None = None) -> np.ndarray:
        """The layer each entity is drawn in: its look's mesh's (at its seed, default 0), or its kind's default
        look's when its look would be the `MAX_LOOKS`+1st mesh or the `MAX_TEXTS`+1st text."""
        out = np.empty(len(looks), np.int64)
        seeds = seeds if seeds is not None else [0] * len(looks)
        for i, key in enumerate(zip(looks, seeds, strict=True)):
            if key not in self.looks:
                row = self._add(*key, kinds[i]) if len(self.looks) < MAX_TEXTS else None
                if row is None:
                    default = (DEFAULT_LOOK.get(kinds[i], kinds[i]), 0)
                    if default not in self.looks:
                        self.looks[default] = self._add(*default, kinds[i], force=True)
                    row = self.looks[default]
                self.looks[key] = row
            out[i] = self.looks[key]
        return out

    def _add(self, look: str, seed: int, kind: str, *, force: bool = False) -> int | None:
        """The layer of `look`'s mesh at `seed`, made if there is room (or `force`); None when there is none."""
        mesh = self.meshes.get(look, seed=seed, lod=0)
        if mesh is None:  # the built-in mesh of the kind: unit radius, tinted by the kind's colour
            mesh = self._builtin.get(kind)
            if mesh is None:
                geom = entity_mesh(kind)
                mesh = self._builtin[kind] = Mesh(geom, 1.0, mesh_of_geom(geom).height)
        if id(mesh) not in self._layer_of:
            if len(self.layers) >= MAX_LOOKS and not force:
                return None
            far = self.meshes.get(look, seed=seed, lod=1) if mesh is not self._builtin.get(kind) else None
            self._layer_of[id(mesh)] = len(self.layers)
            self.layers.append(InstancedLayer(self.parent, f"entities-{look}", mesh.geom, self.shader))
            self.far_layers.append(InstancedLayer(self.parent, f"entities-{look}-far", (far or mesh).geom, self.shader))
            self._scale.append(1.0 / mesh.radius)
            self._meshes.append(mesh)  # held: its id keys `_layer_of`
        return self._layer_of[id(mesh)]

    def draw(
        self,
        pos: np.ndarray,
        radius: np.ndarray,
        kinds: list[str],
        looks: list[str],
        stock: np.ndarray,
        z: np.ndarray,
        seeds: list[int] | None = None,
    ) -> None:
        """Entities at `pos` (m, 2) on ground heights `z`, of `radius`, `kinds`, `looks` (at `seeds`, default 0)
        and `stock` (0..1); shown by the next `place`."""
        layer = self.layer_rows(looks, kinds, seeds)
        kind_arr = np.array(kinds, dtype=object)
        tint = np.array([ENTITY_COLORS.get(k, (0.6, 0.6, 0.6)) for k in kinds], np.float32).reshape(-1, 3)
        size = np.maximum(radius, 0.3) * stock_scale(kind_arr, stock) if len(pos) else np.zeros(0, np.float32)
        xyzh = np.zeros((len(pos), 4), np.float32)
        xyzh[:, :2] = pos
        xyzh[:, 2] = z
        xyzh[:, 3] = (np.arange(len(pos)) * 2.399) % (2 * np.pi)  # varied orientations
        rgbs = np.empty((len(pos), 4), np.float32)
        rgbs[:, :3] = tint
        rgbs[:, 3] = size * np.asarray(self._scale, np.float32)[layer] if len(pos) else size
        self._placed, self._camera = (layer, xyzh, rgbs), None

    def place(self, camera: np.ndarray) -> None:
        """Fill the layers: entities within `NEAR` of `camera` with their full mesh, the rest decimated (again only
        after `draw` or when the camera moved more than `MOVE`)."""
        if self._placed is None:
            return
        if self._camera is not None and float(np.linalg.norm(camera - self._camera)) < MOVE:
            return
        self._camera = np.array(camera, np.float32)
        layer, xyzh, rgbs = self._placed
        near = ((xyzh[:, :3] - self._camera) ** 2).sum(axis=1) < NEAR * NEAR
        for li in range(len(self.layers)):
            mine = layer == li
            for lod_layer, rows in ((self.layers[li], mine & near), (self.far_layers[li], mine & ~near)):
                lod_layer.update(xyzh[rows], rgbs[rows])
