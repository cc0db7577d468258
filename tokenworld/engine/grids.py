"""Static lookup grids for zones and entities, built once on the host with numpy.

Zones and entities change rarely (a scene edit, a new building), so their grids
are compressed rows (CSR): ``start[c]:start[c+1]`` indexes ``items`` for cell c.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokenworld.scene.geometry import zone_bounds, zone_polygon
from tokenworld.scene.schema import Zone

ZONE_GRID_MAX_SIDE = 256


@dataclass
class StaticGrid:
    """A CSR grid over the world plus the arrays its kernel reads."""

    inv_cell: float
    gw: int
    gh: int
    start: Any
    items: Any
    # zones only
    full: Any = None  # per cell: the zone covering it entirely, or -1
    kind: Any = None
    box: Any = None
    vstart: Any = None
    verts: Any = None
    # entities only
    pos: Any = None
    radius: Any = None
    solid: Any = None


def _upload(ti, array: np.ndarray, dtype, vector: bool = False):
    array = np.ascontiguousarray(array)
    if len(array) == 0:  # Taichi cannot allocate empty arrays; one unused row stands in
        array = np.zeros((1, *array.shape[1:]), dtype=array.dtype)
    nd = ti.ndarray(ti.math.vec2 if vector else dtype, array.shape[:1] if vector else array.shape)
    nd.from_numpy(array)
    return nd


def _csr(ti, cells: np.ndarray, items: np.ndarray, ncell: int):
    """CSR arrays from (cell, item) pairs already in the wanted order within a cell."""
    order = np.argsort(cells, kind="stable")
    counts = np.bincount(cells, minlength=ncell)
    start = np.zeros(ncell + 1, np.int32)
    np.cumsum(counts, out=start[1:])
    return _upload(ti, start, ti.i32), _upload(ti, items[order].astype(np.int32), ti.i32)


def _cover(x0, y0, x1, y1, cell, gw, gh) -> np.ndarray:
    """Ids of the grid cells a box overlaps, widened a little against float rounding."""
    pad = cell * 1e-3
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    cx0, cx1 = max(0, int(math.floor(x0 / cell))), min(gw - 1, int(math.floor(x1 / cell)))
    cy0, cy1 = max(0, int(math.floor(y0 / cell))), min(gh - 1, int(math.floor(y1 / cell)))
    xs, ys = np.meshgrid(np.arange(cx0, cx1 + 1), np.arange(cy0, cy1 + 1))
    return (ys * gw + xs).ravel()


def zone_grid(ti, zones: list[Zone], width: float, height: float) -> StaticGrid:
    """Grid whose cells list the zones overlapping them, last-listed zone first."""
    cell = max(width, height) / ZONE_GRID_MAX_SIDE
    gw, gh = max(1, math.ceil(width / cell)), max(1, math.ceil(height / cell))
    cells, items = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for z in reversed(range(len(zones))):
        x0, y0, x1, y1 = zone_bounds(zones[z])
        c = _cover(x0, y0, x1, y1, cell, gw, gh)
        cells.append(c)
        items.append(np.full(len(c), z))
    cells_all, items_all = np.concatenate(cells), np.concatenate(items)
    start, items_nd = _csr(ti, cells_all, items_all, gw * gh)
    full = _fully_covered(zones, cells_all, items_all, cell, gw, gh)
    polys = [zone_polygon(z) for z in zones]
    vstart = np.zeros(len(zones) + 1, np.int32)
    np.cumsum([len(p) for p in polys], out=vstart[1:])
    verts = np.concatenate(polys) if polys else np.zeros((0, 2), np.float32)
    box = np.array([zone_bounds(z) for z in zones], np.float32).reshape(-1, 4)
    if zones:  # rectangles test their own half-open bounds exactly
        rect_rows = [i for i, z in enumerate(zones) if z.rect is not None]
        box[rect_rows] = np.array([zones[i].rect for i in rect_rows], np.float32).reshape(-1, 4)
    kind = np.array([0 if z.rect is not None else 1 for z in zones], np.int32)
    return StaticGrid(
        inv_cell=1.0 / cell,
        gw=gw,
        gh=gh,
        start=start,
        items=items_nd,
        full=_upload(ti, full, ti.i32),
        kind=_upload(ti, kind, ti.i32),
        box=_upload(ti, box, ti.f32),
        vstart=_upload(ti, vstart, ti.i32),
        verts=_upload(ti, verts.astype(np.float32), None, vector=True),
    )


def _fully_covered(
    zones: list[Zone], cells: np.ndarray, items: np.ndarray, cell: float, gw: int, gh: int
) -> np.ndarray:
    """Per cell, the zone that answers for every point in it without a test, or -1.

    That is the cell's first candidate (the last listed zone touching it) when
    it is a rectangle holding the whole cell, padded against float rounding.
    """
    full = np.full(gw * gh, -1, np.int32)
    if len(cells) == 0:
        return full
    order = np.argsort(cells, kind="stable")  # candidates were appended last zone first
    cells, items = cells[order], items[order]
    first = np.ones(len(cells), bool)
    first[1:] = cells[1:] != cells[:-1]
    c, z = cells[first], items[first]
    is_rect = np.array([zone.rect is not None for zone in zones], bool)
    rects = np.array([zone.rect or (0.0, 0.0, 0.0, 0.0) for zone in zones], np.float64).reshape(-1, 4)
    c, z = c[is_rect[z]], z[is_rect[z]]
    bounds = rects[z]
    pad = cell * 1e-3
    x0, y0 = (c % gw) * cell - pad, (c // gw) * cell - pad
    x1, y1 = x0 + cell + 2 * pad, y0 + cell + 2 * pad
    inside = (bounds[:, 0] <= x0) & (bounds[:, 1] <= y0) & (bounds[:, 2] > x1) & (bounds[:, 3] > y1)
    full[c[inside]] = z[inside]
    return full


def entity_grid(ti, pos, radius, solid, width: float, height: float, reach: float, space: float) -> StaticGrid:
    """Grid of entities whose cell size covers reach and steering distance in 3x3 cells."""
    pos = np.asarray(pos, np.float32).reshape(-1, 2)
    radius = np.asarray(radius, np.float32).reshape(-1)
    solid = np.asarray(solid, bool).reshape(-1)
    rmax = float(radius.max()) if len(radius) else 0.0
    cell = max((rmax + max(reach, space)) * 1.001, max(width, height) / 4096)
    if len(pos) == 0:  # nothing to find: one empty cell keeps the lookup free
        cell = max(width, height)
    gw, gh = max(1, math.ceil(width / cell)), max(1, math.ceil(height / cell))
    cx = np.clip(np.floor(pos[:, 0] / cell).astype(np.int64), 0, gw - 1)
    cy = np.clip(np.floor(pos[:, 1] / cell).astype(np.int64), 0, gh - 1)
    start, items = _csr(ti, cy * gw + cx, np.arange(len(pos)), gw * gh)
    return StaticGrid(
        inv_cell=1.0 / cell,
        gw=gw,
        gh=gh,
        start=start,
        items=items,
        pos=_upload(ti, pos, None, vector=True),
        radius=_upload(ti, radius, ti.f32),
        solid=_upload(ti, solid.astype(np.int32), ti.i32),
    )
