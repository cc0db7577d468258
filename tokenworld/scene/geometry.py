"""Zone geometry in numpy: the reference rules every other layer follows.

A rectangle ``[x0, y0, x1, y1]`` holds points with ``x0 <= x < x1`` and
``y0 <= y < y1``. A polygon holds points by the even-odd (crossing number) rule,
computed in float32 exactly as the engine's kernel does, so the two agree to the
bit. Where zones overlap, the one listed last wins (list general zones first,
the places inside them after).
"""

from __future__ import annotations

import numpy as np

from tokenworld.scene.schema import Zone


def rect_corners(rect) -> np.ndarray:
    """The 4 corners (float64) of `[x0, y0, x1, y1]`: x0y0, x1y0, x1y1, x0y1."""
    x0, y0, x1, y1 = (float(v) for v in rect)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def moved_corner(rect, handle: int, p: np.ndarray) -> list[float]:
    """`rect` with corner `handle` (0 x0y0, 1 x1y0, 2 x1y1, 3 x0y1) at `p`, the opposite corner fixed."""
    fixed = rect_corners(rect)[(handle + 2) % 4]
    return [
        float(min(fixed[0], p[0])),
        float(min(fixed[1], p[1])),
        float(max(fixed[0], p[0])),
        float(max(fixed[1], p[1])),
    ]


def zone_polygon(zone: Zone) -> np.ndarray:
    """The zone's outline as an (n, 2) float32 array (a rectangle gives 4 corners)."""
    if zone.rect is not None:
        return rect_corners(zone.rect).astype(np.float32)
    return np.asarray(zone.polygon, dtype=np.float32)


def zone_bounds(zone: Zone) -> tuple[float, float, float, float]:
    """Axis-aligned bounds ``(x0, y0, x1, y1)`` of the zone."""
    poly = zone_polygon(zone)
    return (float(poly[:, 0].min()), float(poly[:, 1].min()), float(poly[:, 0].max()), float(poly[:, 1].max()))


def polygon_area(poly: np.ndarray) -> float:
    """Unsigned area of a polygon by the shoelace formula."""
    x, y = poly[:, 0].astype(np.float64), poly[:, 1].astype(np.float64)
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def polygon_self_intersects(poly: np.ndarray) -> bool:
    """True if two non-adjacent edges of the polygon cross or touch."""
    p = poly.astype(np.float64)
    n = len(p)
    a, b = p, np.roll(p, -1, axis=0)

    def orient(p0, p1, p2):
        return np.sign(
            (p1[..., 0] - p0[..., 0]) * (p2[..., 1] - p0[..., 1])
            - (p1[..., 1] - p0[..., 1]) * (p2[..., 0] - p0[..., 0])
        )

    i, j = np.triu_indices(n, k=2)
    keep = ~((i == 0) & (j == n - 1))  # first and last edges share a vertex
    i, j = i[keep], j[keep]
    o1, o2 = orient(a[i], b[i], a[j]), orient(a[i], b[i], b[j])
    o3, o4 = orient(a[j], b[j], a[i]), orient(a[j], b[j], b[i])
    # Edges on one line (all orientations 0) meet only if their extents overlap.
    collinear = (o1 == 0) & (o2 == 0) & (o3 == 0) & (o4 == 0)
    lo = np.maximum(np.minimum(a[i], b[i]), np.minimum(a[j], b[j]))
    hi = np.minimum(np.maximum(a[i], b[i]), np.maximum(a[j], b[j]))
    overlap = np.all(lo <= hi, axis=-1)
    return bool(np.any((o1 * o2 <= 0) & (o3 * o4 <= 0) & (~collinear | overlap)))


def points_in_rect(points: np.ndarray, rect) -> np.ndarray:
    """Boolean mask of points inside a half-open rectangle."""
    x0, y0, x1, y1 = (np.float32(v) for v in rect)
    x, y = points[:, 0], points[:, 1]
    return (x >= x0) & (x < x1) & (y >= y0) & (y < y1)


def points_in_polygon(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Boolean mask of points inside a polygon by the even-odd rule, in float32."""
    pts = points.astype(np.float32, copy=False)
    poly = poly.astype(np.float32, copy=False)
    px, py = pts[:, 0], pts[:, 1]
    inside = np.zeros(len(pts), dtype=bool)
    n = len(poly)
    for k in range(n):  # loop over vertices, vectorized over points
        xi, yi = poly[k]
        xj, yj = poly[k - 1]
        crosses = (yi > py) != (yj > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = (xj - xi) * (py - yi) / (yj - yi) + xi
        inside ^= crosses & (px < x_at)
    return inside


def points_in_zone(points: np.ndarray, zone: Zone) -> np.ndarray:
    """Boolean mask of points inside one zone."""
    if zone.rect is not None:
        return points_in_rect(points, zone.rect)
    return points_in_polygon(points, zone_polygon(zone))


def zone_membership(points: np.ndarray, zones: list[Zone]) -> np.ndarray:
    """Zone row of each point (the last listed zone that holds it), or -1."""
    out = np.full(len(points), -1, dtype=np.int32)
    for z, zone in enumerate(zones):
        out[points_in_zone(points, zone)] = z
    return out


def sample_in_zone(rng: np.random.Generator, zone: Zone, n: int) -> np.ndarray:
    """`n` points drawn uniformly inside the zone (rejection sampling for polygons)."""
    x0, y0, x1, y1 = zone_bounds(zone)
    if zone.rect is not None:
        return sample_in_rect(rng, zone.rect, n)
    out = np.empty((0, 2), dtype=np.float32)
    poly = zone_polygon(zone)
    while len(out) < n:
        need = n - len(out)
        cand = sample_in_rect(rng, (x0, y0, x1, y1), max(16, 2 * need))
        out = np.concatenate([out, cand[points_in_polygon(cand, poly)][:need]])
    return out


def sample_in_rect(rng: np.random.Generator, rect, n: int) -> np.ndarray:
    """`n` points drawn uniformly in a half-open rectangle, as float32."""
    x0, y0, x1, y1 = rect
    pts = np.empty((n, 2), dtype=np.float32)
    pts[:, 0] = rng.uniform(x0, x1, n)
    pts[:, 1] = rng.uniform(y0, y1, n)
    # float32 rounding can land exactly on the open upper edge: pull it back in.
    np.minimum(pts[:, 0], np.nextafter(np.float32(x1), np.float32(x0)), out=pts[:, 0])
    np.minimum(pts[:, 1], np.nextafter(np.float32(y1), np.float32(y0)), out=pts[:, 1])
    return pts
