"""A content-addressed cache of generated GLB files under the user's cache folder.

A file's name is its category and a hash of what made it (the spec read from
the text, the seed, the detail, the level of detail and the generator
version), so a text, whatever it holds, never names a path: files stay inside
the cache folder. The folder is kept under a byte budget, the least recently
written files dropped first. Files are written whole (to a temporary name,
then renamed), so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tokenworld.assetgen.generate import (
    Asset,
    Generator,
    KeywordReader,
    Procedural,
    SpecReader,
    check_detail,
    check_seed,
)
from tokenworld.assetgen.spec import AssetSpec

ENV_VAR = "TOKENWORLD_ASSET_CACHE"  # overrides the folder
DEFAULT_BUDGET = 256 * 2**20  # bytes of GLB files kept


def default_root() -> Path:
    """`$TOKENWORLD_ASSET_CACHE`, else `$XDG_CACHE_HOME/tokenworld/assets`, else `~/.cache/tokenworld/assets`."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tokenworld" / "assets"


class AssetCache:
    """GLB files of generated assets, made on first request. `glb(text, seed=, lod=)` gives a file's path.

    `reader` turns text into a spec (default: the keyword parser), `generator` a spec into a mesh (default: the
    procedural recipes)."""

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        reader: SpecReader | None = None,
        generator: Generator | None = None,
        budget: int = DEFAULT_BUDGET,
    ):
        self.root = Path(root) if root is not None else default_root()
        self.reader = reader or KeywordReader()
        self.generator = generator or Procedural()
        self.budget = budget
        self.hits = 0
        self.misses = 0
        self._known: dict[tuple, Path] = {}  # (text, seed, lod, detail) -> file seen to exist
        self._specs: dict[str, AssetSpec] = {}  # text -> its spec (a model reader is slow)

    def spec(self, text: str) -> AssetSpec:
        spec = self._specs.get(text)
        if spec is None:
            spec = self._specs[text] = self.reader.read(text)
        return spec

    def path_for(self, spec: AssetSpec, *, seed: int = 0, lod: int = 0, detail: str = "default") -> Path:
        """Where the file for these inputs lives (whether or not it exists yet)."""
        key = f"{self.generator.name}|{self.generator.version}|{spec.key()}|{seed}|{lod}|{detail}"
        digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
        return self.root / f"{spec.category}-{digest}.glb"  # the category is one of ours, never the text

    def glb(self, text: str | AssetSpec, *, seed: int = 0, lod: int = 0, detail: str = "default") -> Path:
        """The GLB file for `text` (a description or a spec), generated and stored on the first request."""
        seed, detail = check_seed(seed), check_detail(detail)
        memo = (text, seed, lod, detail)
        path = self._known.get(memo)
        if path is not None and path.is_file():
            self.hits += 1
            return path
        spec = text if isinstance(text, AssetSpec) else self.spec(text)
        path = self.path_for(spec, seed=seed, lod=lod, detail=detail)
        if path.is_file():
            self.hits += 1
        else:
            self.misses += 1
            self.store(self.generator.make(spec, seed=seed, detail=detail), lod=lod)
        self._known[memo] = path
        return path

    def store(self, asset: Asset, *, lod: int = 0) -> Path:
        """Write `asset`'s GLB at `lod` into the cache (whole, then renamed) and keep the folder in budget."""
        path = self.path_for(asset.spec, seed=asset.seed, lod=lod, detail=asset.detail)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(asset.glb(lod))
        os.replace(tmp, path)
        self.prune(keep=path)
        return path

    def prune(self, *, keep: Path | None = None) -> int:
        """Drop the oldest files until the folder is within its budget; returns how many were dropped."""
        files = sorted(
            ((e.stat().st_mtime, e.stat().st_size, Path(e.path)) for e in os.scandir(self.root) if e.is_file()),
            key=lambda f: f[0],
        )
        total = sum(size for _, size, _ in files)
        dropped = 0
        for _, size, path in files:
            if total <= self.budget:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size
                dropped += 1
        return dropped
