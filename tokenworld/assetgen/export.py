"""Writing a generated asset to a GLB file the user names (what `tokenworld assets gen` does)."""

from __future__ import annotations

import time
from pathlib import Path

from tokenworld.assetgen.generate import LOD_SHARE, AssetError, SpecReader, generate


def write_glb(
    text: str,
    out: str | Path,
    *,
    seed: int = 0,
    detail: str = "default",
    lod: int = 0,
    reader: SpecReader | None = None,
) -> str:
    """Generate `text` and write its GLB to `out`; returns a line saying what was made. `AssetError` names a
    wrong path or option before anything is generated."""
    out = Path(out)
    if out.suffix.lower() != ".glb":
        raise AssetError(f"--out {out} must name a .glb file (binary glTF), e.g. --out well.glb.")
    if not out.parent.is_dir():
        raise AssetError(f"the folder {out.parent} does not exist; create it or write elsewhere.")
    if lod not in range(len(LOD_SHARE)):
        raise AssetError(f"--lod {lod} does not exist: use 0 (full) to {len(LOD_SHARE) - 1}.")
    t0 = time.perf_counter()
    asset = generate(text, seed=seed, detail=detail, reader=reader)
    data = asset.glb(lod)
    ms = (time.perf_counter() - t0) * 1000
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise AssetError(f"cannot write {out}: {exc.strerror}.") from None
    mesh = asset.lod(lod)
    size = " x ".join(f"{v:.1f}" for v in mesh.extents)
    line = f"wrote {out}: {asset.spec.describe()}; {len(mesh.faces):,} triangles, {size} m, {ms:.0f} ms"
    if asset.spec.guessed:
        line += "\nno word of it names a category, so it made the default (`tokenworld assets categories` lists them)."
    return line
