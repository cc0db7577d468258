"""Where generated props stand: scattered in each zone by its kind, deterministically, in numpy (no Panda3D).

`scatter_props(scene)` gives one `Scatter` per (asset text, seed, thinning): positions,
headings, scales, zone rows and a thinning rank. How many props a zone gets is
`tokenworld.scene.props.prop_count`; which props a kind gets is `KIND_PROPS`.
Points are rejection-sampled inside the zone where the zone is the one that
holds them (a later zone covering part of it keeps its own props), clear of the
scene's entities, from a random stream seeded by the scene's seed and the
zone's name (not its row), so adding a zone leaves the others' props in place.
Farms lay crop rows out on a grid instead.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from tokenworld.scene.geometry import polygon_area, zone_bounds, zone_membership, zone_polygon
from tokenworld.scene.props import prop_count
from tokenworld.scene.schema import Scene

STUMP = "a tree stump"  # what a felled tree leaves (thin="stump")
CLEARANCE = 1.5  # m kept free around an entity's footprint


@dataclass(frozen=True)
class PropKind:
    """One prop of a zone kind: its asset `text`, the `seeds` of its variants, its `share` of the zone's props,
    how it shows a zone's stock running out (`thin`: "stump" turns into a stump, "hide" disappears, None stays)
    and its `layout` ("random", or "rows": a grid facing +x)."""

    text: str
    seeds: tuple[int, ...] = (0,)
    share: float = 1.0
    thin: str | None = None
    layout: str = "random"


KIND_PROPS: dict[str, tuple[PropKind, ...]] = {
    "forest": (
        PropKind("a pine tree", (0, 1, 2), 0.45, "stump"),
        PropKind("a tree", (0, 1, 2), 0.4, "stump"),
        PropKind("a bush", (0, 1), 0.15),
    ),
    "farm": (PropKind("a row of crops", (0, 1), 1.0, "hide", "rows"),),
    "quarry": (PropKind("a rock", (0, 1, 2), 1.0, "hide"),),
    "market": (
        PropKind("a market stall", (0, 1), 0.45),
        PropKind("a crate", (0, 1), 0.45),
        PropKind("a cart", share=0.1),
    ),
    "commons": (PropKind("a tree", (0, 1, 2), 0.5), PropKind("a bush", (0, 1), 0.35), PropKind("a bench", share=0.15)),
    "home": (PropKind("a fence", (0, 1), 0.4), PropKind("a pot", (0, 1), 0.3), PropKind("a bush", (0, 1), 0.3)),
    "town_hall": (PropKind("a bench"),),
    "well": (PropKind("a pot", (0, 1)),),
}


@dataclass
class Scatter:
    """Props of one asset (`text`, `seed`): positions (k, 2), heading (k,) radians, scale (k,), zone row (k,),
    and `rank` (k,) in [0, 1): a prop of a thinning kind shows while its rank is below its zone's stock."""

    text: str
    seed: int
    thin: str | None
    pos: np.ndarray
    heading: np.ndarray
    scale: np.ndarray
    zone: np.ndarray
    rank: np.ndarray

    def __len__(self) -> int:
        return len(self.pos)


def zone_rng(scene: Scene, zone_name: str) -> np.random.Generator:
    """The random stream of one zone's props: the scene's seed (0 if unset) and the zone's name."""
    return np.random.default_rng([int(scene.sim.seed or 0) & 0xFFFFFFFF, zlib.crc32(zone_name.encode())])


def _clear(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Mask of points farther than radius + CLEARANCE from every entity."""
    ok = np.ones(len(points), bool)
    for k in range(0, len(centres), 256):  # chunks bound the (points x entities) distance matrix
        c, r = centres[k : k + 256], radii[k : k + 256] + CLEARANCE
        d2 = ((points[:, None, :] - c[None]) ** 2).sum(axis=2)
        ok &= (d2 > r[None] ** 2).all(axis=1)
    return ok


def _random_points(rng, scene: Scene, zi: int, n: int, centres, radii) -> np.ndarray:
    """Up to `n` points inside zone `zi`, where it is the zone that holds them, clear of entities."""
    zone = scene.zones[zi]
    x0, y0, x1, y1 = zone_bounds(zone)
    out, tries = [], 0
    got = 0
    while got < n and tries < 8:
        cand = np.column_stack([rng.uniform(x0, x1, 4 * n + 16), rng.uniform(y0, y1, 4 * n + 16)]).astype(np.float32)
        keep = cand[(zone_membership(cand, scene.zones) == zi) & _clear(cand, centres, radii)]
        out.append(keep[: n - got])
        got += len(out[-1])
        tries += 1
    return np.concatenate(out) if out else np.zeros((0, 2), np.float32)


def _row_points(rng, scene: Scene, zi: int, n: int, centres, radii) -> np.ndarray:
    """About `n` points on a grid over zone `zi` (rows along x), kept where the zone holds them, clear of entities."""
    zone = scene.zones[zi]
    x0, y0, x1, y1 = zone_bounds(zone)
    cell = polygon_area(zone_polygon(zone)) / max(n, 1)
    dx = np.sqrt(cell * 2.0)  # rows twice as long as they are apart
    dy = cell / dx
    xs = np.arange(x0 + dx / 2, x1, dx)
    ys = np.arange(y0 + dy / 2, y1, dy)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    pts += rng.normal(0.0, 0.05, pts.shape).astype(np.float32)  # not ruler-straight
    pts = pts[(zone_membership(pts, scene.zones) == zi) & _clear(pts, centres, radii)]
    return pts[:n]


def scatter_props(scene: Scene) -> list[Scatter]:
    """Every zone's props, one `Scatter` per (asset text, seed, thinning) in a fixed order; empty when props are
    disabled."""
    opts = scene.props
    ents = scene.entities
    centres = np.array([e.pos for e in ents], np.float32).reshape(-1, 2)
    radii = np.array([e.radius for e in ents], np.float32)
    parts: dict[tuple[str, int, str | None], list] = {}
    for zi, zone in enumerate(scene.zones):
        kinds = KIND_PROPS.get(zone.kind)
        n = prop_count(zone, opts) if kinds else 0
        if n <= 0:
            continue
        rng = zone_rng(scene, zone.name)
        rows = kinds[0].layout == "rows"
        pts = (_row_points if rows else _random_points)(rng, scene, zi, n, centres, radii)
        k = len(pts)
        shares = np.array([p.share for p in kinds])
        which = rng.choice(len(kinds), size=k, p=shares / shares.sum())
        heading = np.zeros(k, np.float32) if rows else rng.uniform(0, 2 * np.pi, k).astype(np.float32)
        scale = np.ones(k, np.float32) if rows else rng.uniform(0.8, 1.2, k).astype(np.float32)
        rank = ((np.argsort(rng.permutation(k)) + 0.5) / max(k, 1)).astype(np.float32)  # fixed thinning order
        variant = rng.integers(0, 1 << 30, k)
        for pi, prop in enumerate(kinds):
            mine = which == pi
            seeds = np.array(prop.seeds)[variant[mine] % len(prop.seeds)]
            for s in prop.seeds:
                rows_s = np.flatnonzero(mine)[seeds == s]
                key = (prop.text, s, prop.thin)
                parts.setdefault(key, []).append((pts[rows_s], heading[rows_s], scale[rows_s], zi, rank[rows_s]))
    out = []
    for (text, seed, thin), chunks in parts.items():
        out.append(
            Scatter(
                text=text,
                seed=seed,
                thin=thin,
                pos=np.concatenate([c[0] for c in chunks]).astype(np.float32).reshape(-1, 2),
                heading=np.concatenate([c[1] for c in chunks]).astype(np.float32),
                scale=np.concatenate([c[2] for c in chunks]).astype(np.float32),
                zone=np.concatenate([np.full(len(c[0]), c[3], np.int32) for c in chunks]),
                rank=np.concatenate([c[4] for c in chunks]).astype(np.float32),
            )
        )
    return out
