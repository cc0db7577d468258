"""Props scattered in zones (trees, crop rows, rocks, stalls, benches), drawn as instanced layers with levels of detail.

Where they stand comes from `tokenworld.assetgen.scatter` (no Panda3D); this module
draws them: one `InstancedLayer` per (asset, variant, level of detail). Props
within `NEAR` metres of the camera are drawn in full (LOD 0), those up to `FAR`
with the decimated mesh (LOD 1), farther ones not at all (a prop there covers
less than a pixel or two, and software GL pays per vertex). A zone's stock
shows: of its trees a fraction `1 - stock` are stumps, of its rocks and crop
rows that fraction is gone, in a fixed order so the forest thins as it is cut
and fills again as it regrows. Instances are sorted again only when the camera
moved more than `MOVE` metres or a zone's stock changed.
"""

from __future__ import annotations

import numpy as np

from tokenworld.assetgen.scatter import STUMP, Scatter, scatter_props
from tokenworld.scene.schema import Scene
from tokenworld.viewer.layers import InstancedLayer, entity_mesh, flat_mesh, frustum_faces
from tokenworld.viewer.meshes import Mesh, MeshLibrary, mesh_of_geom

NEAR = 60.0  # m: nearer props are drawn with their full mesh
FAR = 450.0  # m: farther props are not drawn
MOVE = 3.0  # m the camera moves before props are sorted again
STOCK_STEP = 0.01  # a zone's stock shows in steps of this much
PROP_TINT = (0.45, 0.6, 0.35)  # the built-in stand-in meshes' colour (generated props keep their own colours)


def _stand_in(text: str) -> Mesh:
    """A built-in mesh for a prop that could not be generated: a tree for trees, a box for the rest."""
    if "tree" in text and text != STUMP:
        return mesh_of_geom(entity_mesh("resource"), rgba=(0.2, 0.45, 0.2, 0.0))
    if text == STUMP:
        return mesh_of_geom(flat_mesh(frustum_faces(0.3, 0.25, 0.0, 0.4, 6)), rgba=(0.45, 0.33, 0.2, 0.0))
    return mesh_of_geom(entity_mesh("item"), rgba=(*PROP_TINT, 0.0))


class Props:
    """The props of a scene, drawn under `parent` with `shader`; `height(xy)` gives the ground's height."""

    def __init__(self, parent, shader, meshes: MeshLibrary, height):
        self.parent, self.shader, self.meshes, self.height = parent, shader, meshes, height
        self.layers: dict[tuple[str, int, int], InstancedLayer] = {}
        self.scatters: list[Scatter] = []
        self.scene: Scene | None = None
        self._z: list[np.ndarray] = []
        self._key = None  # (camera position, stock) the layers were last filled for

    def set_scene(self, scene: Scene) -> None:
        """Scatter `scene`'s props (nothing is drawn when its props are disabled); an edit that changed none of
        what they depend on (zones, entities, prop options, seed, terrain) keeps them as they are."""
        old, self.scene = self.scene, scene
        key = (scene.zones, scene.entities, scene.props, scene.world, scene.sim.seed)
        if old is not None and (old.zones, old.entities, old.props, old.world, old.sim.seed) == key:
            return
        self.scatters = scatter_props(scene) if scene.props.enabled else []
        self._z = [self.height(s.pos) if len(s) else np.zeros(0, np.float32) for s in self.scatters]
        self._key = None

    def _layer(self, key: tuple[str, int, int]) -> InstancedLayer:
        """The layer of (text, seed, lod), made (and its mesh loaded) the first time it has something to draw."""
        text, seed, lod = key
        if key not in self.layers:
            mesh = self.meshes.get(text, seed=seed, lod=lod) or _stand_in(text)
            self.layers[key] = InstancedLayer(self.parent, f"props-{text}-{seed}-{lod}", mesh.geom, self.shader)
        return self.layers[key]

    def update(self, camera: np.ndarray, zone_stock: np.ndarray | None = None) -> None:
        """Fill the layers for a camera at `camera` (x, y, z) and the zones' stock (None: all full)."""
        stock = None if zone_stock is None else np.round(np.asarray(zone_stock, np.float32) / STOCK_STEP)
        if self._key is not None:
            cam0, stock0 = self._key
            same_stock = (stock is None and stock0 is None) or (
                stock is not None and stock0 is not None and np.array_equal(stock, stock0)
            )
            if same_stock and float(np.linalg.norm(camera - cam0)) < MOVE:
                return
        self._key = (np.array(camera, np.float32), stock)
        fill: dict[tuple[str, int, int], list] = {}
        for s, z in zip(self.scatters, self._z, strict=True):
            if not len(s):
                continue
            xyzh = np.column_stack([s.pos, z, s.heading]).astype(np.float32)
            rgbs = np.empty((len(s), 4), np.float32)
            rgbs[:, :3] = PROP_TINT
            rgbs[:, 3] = s.scale
            d2 = ((xyzh[:, :3] - np.asarray(camera, np.float32)) ** 2).sum(axis=1)
            shown = d2 < FAR * FAR
            near = d2 < NEAR * NEAR
            standing = np.ones(len(s), bool)
            if s.thin is not None and zone_stock is not None:
                zs = np.ones(len(s), np.float32)
                known = s.zone < len(zone_stock)
                zs[known] = np.asarray(zone_stock, np.float32)[s.zone[known]]
                standing = s.rank < zs
            for lod, mask in ((0, near), (1, shown & ~near)):
                parts = [((s.text, s.seed, lod), mask & standing)]
                if s.thin == "stump":
                    parts.append(((STUMP, 0, lod), mask & ~standing))
                for key, m in parts:
                    if m.any():
                        fill.setdefault(key, []).append((xyzh[m], rgbs[m]))
        for key, layer in self.layers.items():
            if key not in fill and layer.count:
                layer.update(np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32))
        for key, chunks in fill.items():
            self._layer(key).update(np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]))

    def drawn(self) -> dict[tuple[str, int, int], int]:
        """How many instances each layer draws now (for tests and the bench)."""
        return {key: layer.count for key, layer in self.layers.items()}

    def positions(self, *texts: str) -> np.ndarray:
        """(k, 2) positions drawn now by the layers of assets `texts` (all when none are given)."""
        out = [
            layer._data[: layer.count, 0, :2]
            for (text, _, _), layer in self.layers.items()
            if (not texts or text in texts) and layer.count
        ]
        return np.concatenate(out) if out else np.zeros((0, 2), np.float32)
