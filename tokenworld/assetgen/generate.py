"""Text in, mesh out: the procedural generator and the `Asset` it makes.

`generate("a stone well", seed=3)` reads the text into an `AssetSpec`
(`tokenworld.assetgen.spec.parse`, or a `SpecReader` such as the model-backed
one), runs the category's recipe with a random generator seeded by the spec
and the seed, and returns an `Asset`: the mesh (z up, metres, base on z = 0,
front towards +x), its levels of detail and GLB bytes. The same spec, seed and
detail give the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from tokenworld.assetgen.spec import AssetSpec, parse
from tokenworld.errors import TokenWorldError

if TYPE_CHECKING:  # trimesh and the recipes load on the first generation, so a cache hit never imports them
    import trimesh

GENERATOR_VERSION = 3  # bump when a recipe changes what it makes: cached files of older versions are not reused
DETAIL_SIDES = {"low": 6, "default": 8, "high": 16}  # sides of round parts (organic parts scale with it)
DETAILS = tuple(DETAIL_SIDES)
LOD_SHARE = (1.0, 0.25)  # share of the triangles kept at each level of detail
MIN_LOD_FACES = 12
MAX_SEED = 2**32 - 1
Y_UP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]], float)  # z-up -> glTF's y-up


class AssetError(TokenWorldError):
    """A description, seed or option an asset cannot be made from; the message says what to change."""


@runtime_checkable
class SpecReader(Protocol):
    """What turns a description into a spec: the keyword parser, or a model filling the attributes."""

    def read(self, text: str) -> AssetSpec: ...


@runtime_checkable
class Generator(Protocol):
    """What makes a mesh from a spec. `Procedural` is the default; a model-backed generator (text-to-3D where the
    weights are at hand) plugs into `AssetCache(generator=...)` the same way. `name` and `version` are part of
    the cache key, so files of one generator are never taken for another's."""

    name: str
    version: int

    def make(self, spec: AssetSpec, *, seed: int, detail: str) -> Asset: ...


class Procedural:
    """The default generator: the category's parametric recipe (`generate`)."""

    name = "procedural"
    version = GENERATOR_VERSION

    def make(self, spec: AssetSpec, *, seed: int, detail: str) -> Asset:
        return generate(spec, seed=seed, detail=detail)


class KeywordReader:
    """The default reader: `tokenworld.assetgen.spec.parse`."""

    def read(self, text: str) -> AssetSpec:
        return parse(text)


@dataclass
class Asset:
    """A generated mesh and how it was made. `mesh` is z up; `glb(lod)` writes glTF's y up."""

    spec: AssetSpec
    seed: int
    detail: str
    mesh: trimesh.Trimesh
    _lods: dict[int, trimesh.Trimesh] = field(default_factory=dict, repr=False)

    def lod(self, level: int) -> trimesh.Trimesh:
        """The mesh at level of detail `level` (0: full; 1: about a quarter of the triangles)."""
        if level not in range(len(LOD_SHARE)):
            raise AssetError(f"level of detail {level} does not exist: use 0 (full) to {len(LOD_SHARE) - 1}.")
        if level == 0:
            return self.mesh
        if level not in self._lods:
            from tokenworld.assetgen.organic import simplify

            target = max(int(len(self.mesh.faces) * LOD_SHARE[level]), MIN_LOD_FACES)
            self._lods[level] = simplify(self.mesh, target)
        return self._lods[level]

    @property
    def triangles(self) -> int:
        return len(self.mesh.faces)

    def glb(self, lod: int = 0) -> bytes:
        """The mesh as a binary glTF: flat-shaded (each triangle its own corners and normal), y up, vertex
        colours RGBA (alpha: the share of a viewer's per-instance tint a part takes)."""
        return glb_bytes(self.lod(lod))


def check_seed(seed) -> int:
    """`seed` as an int in [0, 2^32), or an `AssetError` saying what a seed must be."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= MAX_SEED:
        raise AssetError(f"seed {seed!r} is not allowed: give a whole number from 0 to {MAX_SEED}.")
    return int(seed)


def check_detail(detail: str) -> str:
    if detail not in DETAIL_SIDES:
        raise AssetError(f"detail {detail!r} is not known: use one of {', '.join(DETAILS)}.")
    return detail


def spec_seed(spec: AssetSpec, seed: int, detail: str) -> int:
    """The random generator's seed: a stable hash of the spec, the seed, the detail and the generator version."""
    digest = hashlib.blake2b(f"{GENERATOR_VERSION}|{spec.key()}|{seed}|{detail}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def generate(text: str | AssetSpec, *, seed: int = 0, detail: str = "default", reader: SpecReader | None = None):
    """An `Asset` for a description (or a spec): the category's recipe, varied by `seed`."""
    from tokenworld.assetgen.parts import Parts
    from tokenworld.assetgen.recipes import RECIPES

    seed, detail = check_seed(seed), check_detail(detail)
    spec = text if isinstance(text, AssetSpec) else (reader or KeywordReader()).read(text)
    rng = np.random.default_rng(spec_seed(spec, seed, detail))
    parts = Parts(sides=DETAIL_SIDES[detail])
    RECIPES[spec.category](parts, spec, rng)
    mesh = parts.mesh()
    mesh.apply_scale(spec.scale)
    mesh.apply_translation((0.0, 0.0, -mesh.bounds[0, 2]))  # standing on the ground
    return Asset(spec=spec, seed=seed, detail=detail, mesh=mesh)


def flat_arrays(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`mesh` flat-shaded: (vertices, normals, RGBA uint8 colours, triangles), each triangle its own 3 corners."""
    corners = np.asarray(mesh.faces).reshape(-1)
    verts = np.asarray(mesh.vertices)[corners]
    normals = np.repeat(np.asarray(mesh.face_normals), 3, axis=0)
    colors = np.asarray(mesh.visual.vertex_colors)[corners]
    return verts, normals, colors, np.arange(len(verts)).reshape(-1, 3)


def glb_bytes(mesh: trimesh.Trimesh) -> bytes:
    """`mesh` as flat-shaded, y-up binary glTF bytes (deterministic for the same mesh)."""
    import trimesh

    verts, normals, colors, triangles = flat_arrays(mesh)
    flat = trimesh.Trimesh(verts, triangles, vertex_normals=normals, vertex_colors=colors, process=False)
    flat.apply_transform(Y_UP)
    return trimesh.exchange.gltf.export_glb(flat, include_normals=True)
