"""Generated 3D assets: a description in words becomes a low-poly mesh (GLB), offline and deterministic.

`generate(text, seed=)` makes an `Asset` (a category's parametric recipe; organic parts by marching cubes;
levels of detail by quadric decimation); `AssetCache` keeps the GLB files, named by content hash, under the
user's cache folder. `tokenworld assets gen "a stone well" --out well.glb` is the command line.
"""

from __future__ import annotations

from tokenworld.assetgen.cache import AssetCache, default_root
from tokenworld.assetgen.generate import (
    Asset,
    AssetError,
    Generator,
    KeywordReader,
    Procedural,
    SpecReader,
    generate,
)
from tokenworld.assetgen.spec import CATEGORIES, AssetSpec, parse

__all__ = [
    "CATEGORIES",
    "Asset",
    "AssetCache",
    "AssetError",
    "AssetSpec",
    "Generator",
    "Procedural",
    "KeywordReader",
    "SpecReader",
    "default_root",
    "generate",
    "parse",
]
