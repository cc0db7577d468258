"""Stage 4, zone membership: a coarse grid of candidate zones, then an exact test."""

# No `from __future__ import annotations` here: Taichi reads the annotations as types.
import taichi as ti

from tokenworld.engine.kernels.common import F2, I1, V2, _cell_xy


@ti.func
def _in_zone(z: ti.i32, p, zkind: I1, zbox: F2, vstart: I1, verts: V2) -> ti.i32:
    inside = 0
    if zkind[z] == 0:  # rectangle, half-open
        if zbox[z, 0] <= p.x < zbox[z, 2] and zbox[z, 1] <= p.y < zbox[z, 3]:
            inside = 1
    elif zbox[z, 0] <= p.x <= zbox[z, 2] and zbox[z, 1] <= p.y <= zbox[z, 3]:
        lo = vstart[z]
        nv = vstart[z + 1] - lo
        for k in range(nv):  # even-odd rule, as tokenworld.scene.geometry
            a = verts[lo + k]
            b = verts[lo + (k + nv - 1) % nv]
            if (a.y > p.y) != (b.y > p.y):
                x_at = (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x
                if p.x < x_at:
                    inside = 1 - inside
    return inside


@ti.kernel
def zone_membership(
    n: ti.i32,
    pos: V2,
    zone: I1,
    zinv_cell: ti.f32,
    zgw: ti.i32,
    zgh: ti.i32,
    zcell_start: I1,
    zcell_list: I1,
    zcell_full: I1,
    zkind: I1,
    zbox: F2,
    vstart: I1,
    verts: V2,
):
    """Zone row of every agent: the last listed zone holding it, or -1.

    A cell that one zone covers entirely (and no later zone touches) answers
    at once through `zcell_full`; other cells test their candidates exactly.
    """
    for i in range(n):
        p = pos[i]
        cx, cy = _cell_xy(p, zinv_cell, zgw, zgh)
        c = cy * zgw + cx
        found = zcell_full[c]
        if found < 0:
            for t in range(zcell_start[c], zcell_start[c + 1]):  # candidates, last zone first
                z = zcell_list[t]
                if _in_zone(z, p, zkind, zbox, vstart, verts):
                    found = z
                    break
        zone[i] = found
