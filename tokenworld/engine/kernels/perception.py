"""Stage 2, perception: the K nearest agents and the nearest entities of every
agent, and the flocking and obstacle forces they exert."""

# No `from __future__ import annotations` here: Taichi reads the annotations as types.
import taichi as ti

from tokenworld.engine.kernels.common import (
    F1,
    F2,
    G_ALIGNMENT,
    G_COHESION,
    G_SEPARATION,
    G_SPACE,
    I1,
    I2,
    NO_KEY,
    V2,
    _cell_xy,
    _insert,
    _key,
    _key_index,
    _key_value,
    rand01,
    vec2,
)


@ti.kernel
def perceive(
    n: ti.i32,
    K: ti.template(),
    KE: ti.template(),
    pos: V2,
    vel: V2,
    id_of: I1,
    sid: I1,
    spos: V2,
    svel: V2,
    start: I1,
    inv_cell: ti.f32,
    gw: ti.i32,
    gh: ti.i32,
    radius: ti.f32,
    group: I1,
    gparams: F2,
    epos: V2,
    eradius: F1,
    esolid: I1,
    ecell_start: I1,
    ecell_list: I1,
    e_inv_cell: ti.f32,
    egw: ti.i32,
    egh: ti.i32,
    reach: ti.f32,
    obstacle_push: ti.f32,
    nbr: I2,
    nbr_n: I1,
    ent: I2,
    ent_n: I1,
    force: V2,
):
    """K nearest agents and KE nearest entities per agent, and the forces they exert."""
    r2 = radius * radius
    for r in range(n):
        i = id_of[r]
        p = pos[r]
        v = vel[r]
        # The K best as 64-bit keys (distance, then id), with their slots alongside.
        bk = ti.Vector([ti.u64(NO_KEY)] * K, dt=ti.u64)
        bs = ti.Vector([-1] * K, dt=ti.i32)
        cx, cy = _cell_xy(p, inv_cell, gw, gh)
        for y in range(ti.max(cy - 1, 0), ti.min(cy + 2, gh)):
            # Cells of one grid row are contiguous in slot order: scan them as one run.
            row = y * gw
            for t in range(start[row + ti.max(cx - 1, 0)], start[row + ti.min(cx + 2, gw)]):
                j = sid[t]
                d = p - spos[t]
                d2 = d.x * d.x + d.y * d.y
                if j != i and d2 <= r2:
                    ck = _key(d2, j)
                    if ck < bk[K - 1]:
                        _insert(bk, bs, ck, t)
        # Flocking from the K nearest (topological neighbourhood).
        g = group[r]
        space = gparams[g, G_SPACE]
        centre = vec2(0.0)
        mean_v = vec2(0.0)
        sep = vec2(0.0)
        m = 0
        for k in ti.static(range(K)):
            j = -1
            if bs[k] >= 0:
                j = _key_index(bk[k])
                m += 1
                q = spos[bs[k]]
                centre += q
                mean_v += svel[bs[k]]
                d2 = _key_value(bk[k])
                if d2 < space * space:  # most neighbours are farther: no square root for them
                    dist = ti.sqrt(d2)
                    away = (p - q) / dist if dist > 1e-6 else vec2(rand01(ti.u32(7), i, j, 0) - 0.5, 0.5)
                    sep += away * (space - dist) / space
            nbr[r, k] = j
        nbr_n[r] = m
        f = vec2(0.0)
        if m > 0:
            centre /= m
            mean_v /= m
            f += gparams[g, G_COHESION] * (centre - p) / radius
            f += gparams[g, G_ALIGNMENT] * (mean_v - v)
            f += gparams[g, G_SEPARATION] * sep
        # Entities within reach of the agent (edge distance), nearest first.
        ek = ti.Vector([ti.u64(NO_KEY)] * KE, dt=ti.u64)
        ej = ti.Vector([-1] * KE, dt=ti.i32)
        ecx, ecy = _cell_xy(p, e_inv_cell, egw, egh)
        for y in range(ti.max(ecy - 1, 0), ti.min(ecy + 2, egh)):
            row = y * egw
            for t in range(ecell_start[row + ti.max(ecx - 1, 0)], ecell_start[row + ti.min(ecx + 2, egw)]):
                e = ecell_list[t]
                d = p - epos[e]
                dist = ti.sqrt(d.x * d.x + d.y * d.y)
                edge = dist - eradius[e]
                if esolid[e] != 0 and edge < space and dist > 1e-6:
                    f += obstacle_push * (d / dist) * (space - edge) / space
                if edge <= reach:
                    ck = _key(edge, e)
                    if ck < ek[KE - 1]:
                        _insert(ek, ej, ck, e)
        me = 0
        for k in ti.static(range(KE)):
            ent[r, k] = ej[k]
            if ej[k] >= 0:
                me += 1
        ent_n[r] = me
        force[r] = f
