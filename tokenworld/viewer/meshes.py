"""Generated meshes for the 3D view: GLB files (from `tokenworld.assetgen`) loaded into one Panda3D Geom each.

A GLB is read through panda3d-gltf (Z-up once loaded), flattened and merged into
one Geom with vertex, normal and colour columns, whose colour alpha says how much
an instance's tint applies (see shaders/instanced.vert). A file that is missing
or broken, or an asset generator that is not installed, gives the built-in mesh
instead, with one logged warning.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from panda3d.core import Geom, GeomNode, NodePath

from tokenworld.viewer.layers import make_geom

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mesh:
    """A Geom with its size: `radius` is the footprint's (largest distance from the z axis), `height` its top."""

    geom: Geom
    radius: float
    height: float


class MeshError(RuntimeError):
    """A mesh file could not be read."""


def mesh_from_arrays(vertices: np.ndarray, normals: np.ndarray, colors: np.ndarray, triangles: np.ndarray) -> Mesh:
    """A `Mesh` from numpy arrays (vertices, normals (k, 3), colours (k, 4), triangles (t, 3))."""
    radius = float(np.sqrt((vertices[:, :2] ** 2).sum(axis=1)).max()) if len(vertices) else 0.0
    height = float(vertices[:, 2].max()) if len(vertices) else 0.0
    return Mesh(make_geom(vertices, normals, triangles, colors), max(radius, 1e-3), max(height, 1e-3))


def mesh_of_geom(geom: Geom, *, rgba=(1.0, 1.0, 1.0, 1.0)) -> Mesh:
    """A built-in Geom (no colour column) as a `Mesh` whose vertex colour is `rgba`."""
    v, n, _, t = _arrays(geom)
    return mesh_from_arrays(v, n, np.tile(np.float32(rgba), (len(v), 1)), t)


def _arrays(geom: Geom) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Vertices, normals, colours (None without a colour column) and triangles of one Geom, as numpy arrays."""
    from panda3d.core import GeomVertexArrayFormat, GeomVertexFormat, InternalName

    vdata = geom.get_vertex_data()
    has_color = vdata.get_format().has_column(InternalName.get_color())
    arr = GeomVertexArrayFormat()
    arr.add_column("vertex", 3, Geom.NT_float32, Geom.C_point)
    arr.add_column("normal", 3, Geom.NT_float32, Geom.C_normal)
    arr.add_column("color", 4, Geom.NT_float32, Geom.C_color)
    fmt = GeomVertexFormat.register_format(GeomVertexFormat(arr))
    data = vdata.convert_to(fmt)
    cols = np.frombuffer(memoryview(data.get_array(0)), np.float32).reshape(-1, 10)
    tris = []
    for k in range(geom.get_num_primitives()):
        prim = geom.get_primitive(k)
        if prim.get_num_vertices_per_primitive() != 3 and not prim.is_composite():
            continue  # lines and points
        prim = prim.decompose()
        if prim.get_num_vertices_per_primitive() != 3:
            continue
        prim = prim.make_copy()
        prim.make_indexed()
        prim.set_index_type(Geom.NT_uint32)
        tris.append(np.frombuffer(memoryview(prim.get_vertices()), np.uint32).reshape(-1, 3))
    triangles = np.concatenate(tris) if tris else np.zeros((0, 3), np.uint32)
    return cols[:, :3].copy(), cols[:, 3:6].copy(), cols[:, 6:10].copy() if has_color else None, triangles


def load_glb(path: str | Path) -> Mesh:
    """The GLB at `path` as one `Mesh` (every geom flattened into one, Z-up); raises `MeshError` if unreadable.

    Geoms without vertex colours take white with alpha 1 (the instance's tint applies in full)."""
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"mesh file {path} does not exist")
    try:
        import gltf
    except ImportError as exc:
        raise MeshError("panda3d-gltf is not installed: pip install 'tokenworld[assets]'") from exc
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # panda3d-gltf prints a warning per mesh without a material
            root = NodePath(gltf.load_model(str(path)))
    except Exception as exc:  # the converter raises whatever the file's shape trips on
        raise MeshError(f"could not read {path}: {type(exc).__name__}: {exc}") from exc
    root.flatten_strong()  # transforms (and the glTF Y-up to Z-up turn) applied to the vertices
    parts, offset = [], 0
    for node_path in root.find_all_matches("**/+GeomNode"):
        node: GeomNode = node_path.node()
        for g in range(node.get_num_geoms()):
            geom = node.get_geom(g)
            if not node_path.get_transform(root).is_identity():
                geom = geom.make_copy()
                geom.transform_vertices(node_path.get_mat(root))
            v, n, c, t = _arrays(geom)
            if not len(t):
                continue
            if c is None:
                c = np.ones((len(v), 4), np.float32)
            parts.append((v, n, c, t + offset))
            offset += len(v)
    if not parts:
        raise MeshError(f"{path} holds no triangles")
    v, n, c, t = (np.concatenate([p[k] for p in parts]) for k in range(4))
    return mesh_from_arrays(v, n, c, t)


class MeshLibrary:
    """Meshes by text, seed and level of detail, generated through `tokenworld.assetgen.AssetCache` on first use.

    Loaded Geoms are kept per file; a text that cannot be generated or loaded gives `fallback` (logged once).
    `cache`: an AssetCache (default: one on the user's cache folder); `generate=False` always gives the fallback.
    """

    def __init__(self, cache=None, *, generate: bool = True):
        self._cache = cache
        self.generate = generate
        self._by_path: dict[Path, Mesh] = {}
        self._by_key: dict[tuple, Mesh | None] = {}
        self.failures: list[str] = []  # why meshes fell back, one line each

    def _asset_cache(self):
        if self._cache is None:
            from tokenworld.assetgen import AssetCache

            self._cache = AssetCache()
        return self._cache

    def path_mesh(self, path: str | Path) -> Mesh:
        """The mesh of a GLB file, loaded once per path."""
        path = Path(path)
        if path not in self._by_path:
            self._by_path[path] = load_glb(path)
        return self._by_path[path]

    def get(self, text: str, *, seed: int = 0, lod: int = 0, fallback: Mesh | None = None) -> Mesh | None:
        """The generated mesh for `text`, or `fallback` when it cannot be had (the reason logged once)."""
        key = (text, seed, lod)
        if key not in self._by_key:
            mesh = None
            if self.generate:
                try:
                    cache = self._asset_cache()
                except ImportError as exc:  # the generator is not installed: built-in meshes from now on
                    log.warning("no asset generator (%s): drawing built-in meshes", exc)
                    self.failures.append(f"no asset generator: {exc}")
                    self.generate = False
                    return fallback
                try:
                    mesh = self.path_mesh(cache.glb(text, seed=seed, lod=lod))
                except Exception as exc:  # a generator bug or a broken file must not take the view down
                    why = f"no generated mesh for {text!r} (seed {seed}, lod {lod}): {type(exc).__name__}: {exc}"
                    self.failures.append(why)
                    log.warning("%s; drawing the built-in mesh", why)
            self._by_key[key] = mesh
        return self._by_key[key] or fallback
