"""Taichi kernels of the spatial engine, one launch per stage.

All state lives in Taichi ndarrays passed as arguments, so each kernel compiles
once per process (and is reused from Taichi's offline cache across processes)
whatever the number of agents or the number of engines alive.

Stages of a step (see `Engine.step`):

1. hash: cell of each agent, histogram, exclusive prefix sum, scatter into a
   cell-ordered copy of positions and velocities (a counting sort);
2. perception: for each agent the K nearest agents within the radius (exact,
   ties broken by id), the nearest entities within reach, and from those the
   flocking and obstacle forces;
3. motion: seek with arrival, wander, boundary push, integration, heading;
4. zones: membership through a coarse grid of candidate zones, exact test.

Neighbour results are canonical (sorted by distance, then id), so they do not
depend on the order in which threads fill a cell: runs are deterministic on the
CPU for a given seed.
"""

# No `from __future__ import annotations` here: Taichi reads the annotations as types.
import taichi as ti

vec2 = ti.math.vec2
V2 = ti.types.ndarray(dtype=vec2, ndim=1)
F1 = ti.types.ndarray(dtype=ti.f32, ndim=1)
F2 = ti.types.ndarray(dtype=ti.f32, ndim=2)
I1 = ti.types.ndarray(dtype=ti.i32, ndim=1)
I2 = ti.types.ndarray(dtype=ti.i32, ndim=2)
I64 = ti.types.ndarray(dtype=ti.i64, ndim=1)

# Agent state flags (bits of `flags`).
HAS_TARGET = 1
ARRIVED = 2
HOLD = 4  # stay put (busy with an action); forces still act, velocity is zeroed
REPORTED = 8  # the arrival was handed to the host by `collect_arrivals`

# Columns of the per-group parameter table.
G_COHESION, G_ALIGNMENT, G_SEPARATION, G_SPACE, G_WANDER = range(5)
GROUP_COLUMNS = 5

NO_KEY = 0xFFFFFFFFFFFFFFFF  # sorts after every real key


@ti.func
def _cell_xy(p, inv_cell: ti.f32, gw: ti.i32, gh: ti.i32):
    # Positions are never negative, so truncation is floor (and cheaper).
    cx = ti.min(ti.max(ti.cast(p.x * inv_cell, ti.i32), 0), gw - 1)
    cy = ti.min(ti.max(ti.cast(p.y * inv_cell, ti.i32), 0), gh - 1)
    return cx, cy


@ti.func
def _atan2(y, x):
    """atan2 to within 1e-5 rad by a minimax polynomial (libm's costs ~4x more)."""
    ax, ay = ti.abs(x), ti.abs(y)
    a = ti.min(ax, ay) / ti.max(ti.max(ax, ay), 1e-30)
    s = a * a
    r = ((-0.0464964749 * s + 0.15931422) * s - 0.327622764) * s * a + a
    if ay > ax:
        r = 1.57079637 - r
    if x < 0:
        r = 3.14159274 - r
    if y < 0:
        r = -r
    return r


@ti.func
def _key(x: ti.f32, idx: ti.i32) -> ti.u64:
    """A key that orders by the float x (any sign), then by the index idx >= 0.

    The float's bits are mapped so that unsigned order equals float order
    (negatives flipped whole, positives get the sign bit), then the index
    fills the low half: one integer compare replaces two float/int compares.
    """
    u = ti.bit_cast(x, ti.u32)
    u = ~u if u & ti.u32(0x80000000) else u | ti.u32(0x80000000)
    return (ti.cast(u, ti.u64) << ti.u64(32)) | ti.cast(idx, ti.u64)


@ti.func
def _key_value(key: ti.u64) -> ti.f32:
    """The float a `_key` was made from."""
    u = ti.cast(key >> ti.u64(32), ti.u32)
    u = u & ti.u32(0x7FFFFFFF) if u & ti.u32(0x80000000) else ~u
    return ti.bit_cast(u, ti.f32)


@ti.func
def _key_index(key: ti.u64) -> ti.i32:
    return ti.cast(key & ti.u64(0xFFFFFFFF), ti.i32)


@ti.func
def _insert(keys: ti.template(), extra: ti.template(), ck: ti.u64, ce: ti.i32):
    """Insert (ck, ce) into the ascending list `keys` (with `extra` alongside), dropping the last.

    Branchless: a chain of selects that carries the larger item onwards.
    """
    for k in ti.static(range(keys.n)):
        less = ck < keys[k]
        nk, ne = ti.select(less, ck, keys[k]), ti.select(less, ce, extra[k])
        ck, ce = ti.select(less, keys[k], ck), ti.select(less, extra[k], ce)
        keys[k], extra[k] = nk, ne


@ti.func
def _hash_u32(x: ti.u32) -> ti.u32:
    # lowbias32 (Chris Wellons): a good 32-bit integer mix.
    x ^= x >> 16
    x *= ti.u32(0x7FEB352D)
    x ^= x >> 15
    x *= ti.u32(0x846CA68B)
    x ^= x >> 16
    return x


@ti.func
def rand01(seed: ti.u32, i: ti.i32, tick: ti.i32, stream: ti.i32) -> ti.f32:
    """Counter-based uniform random number in [0, 1): same inputs, same number."""
    h = _hash_u32(seed ^ _hash_u32(ti.cast(i, ti.u32) ^ _hash_u32(ti.cast(tick, ti.u32) * ti.u32(4) + ti.cast(stream, ti.u32))))
    return ti.cast(h >> 8, ti.f32) * (1.0 / 16777216.0)


# ----------------------------------------------------------------- 1. hash


@ti.kernel
def assign_cells(n: ti.i32, pos: V2, cell: I1, count: I1, inv_cell: ti.f32, gw: ti.i32, gh: ti.i32):
    """Cell of every agent and the histogram of cells.

    `count` must be zero on entry; `scatter` leaves it zero again.
    """
    for i in range(n):
        cx, cy = _cell_xy(pos[i], inv_cell, gw, gh)
        c = cy * gw + cx
        cell[i] = c
        ti.atomic_add(count[c], 1)


@ti.kernel
def block_sums(ncell: ti.i32, block: ti.i32, count: I1, bsum: I1):
    """Sum of each block of `block` cells."""
    for b in range((ncell + block - 1) // block):
        s = 0
        for k in range(b * block, ti.min((b + 1) * block, ncell)):
            s += count[k]
        bsum[b] = s


@ti.kernel
def scan_block_sums(nblock: ti.i32, ncell: ti.i32, bsum: I1, start: I1):
    """Exclusive scan of the block sums (few values: one thread)."""
    ti.loop_config(serialize=True)
    acc = 0
    for b in range(nblock):
        v = bsum[b]
        bsum[b] = acc
        acc += v
    start[ncell] = acc


@ti.kernel
def block_prefix(ncell: ti.i32, block: ti.i32, count: I1, bsum: I1, start: I1):
    """Exclusive prefix sum inside each block, offset by the block's scan."""
    for b in range((ncell + block - 1) // block):
        acc = bsum[b]
        for k in range(b * block, ti.min((b + 1) * block, ncell)):
            start[k] = acc
            acc += count[k]


@ti.kernel
def scatter(n: ti.i32, pos: V2, vel: V2, id_of: I1, cell: I1, start: I1, count: I1, srow: I1, sid: I1, spos: V2, svel: V2):
    """Counting-sort scatter into cell order; consumes `count` as the cursor.

    For each slot: the row it came from (`srow`), the agent's id (`sid`), and
    copies of its position and velocity that the neighbour search reads.
    """
    for r in range(n):
        c = cell[r]
        slot = start[c] + ti.atomic_sub(count[c], 1) - 1
        srow[slot] = r
        sid[slot] = id_of[r]
        spos[slot] = pos[r]
        svel[slot] = vel[r]


@ti.kernel
def gather_rows(n: ti.i32, src: ti.types.ndarray(), dst: ti.types.ndarray(), srow: I1):
    """dst[slot] = src[srow[slot]]: one array put into cell order."""
    for s in range(n):
        dst[s] = src[srow[s]]


@ti.kernel
def gather_rows_2d(n: ti.i32, src: ti.types.ndarray(), dst: ti.types.ndarray(), srow: I1):
    """Like `gather_rows` for an (n, k) array."""
    for s, k in ti.ndrange(n, src.shape[1]):
        dst[s, k] = src[srow[s], k]


@ti.kernel
def identity(n: ti.i32, a: I1):
    """a[i] = i."""
    for i in range(n):
        a[i] = i


@ti.kernel
def index_rows(n: ti.i32, id_of: I1, row_of: I1):
    """row_of[id_of[r]] = r after a re-sort."""
    for r in range(n):
        row_of[id_of[r]] = r


# ----------------------------------------------------------- 2. perception


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


# --------------------------------------------------------------- 3. motion


@ti.kernel
def move(
    n: ti.i32,
    dt: ti.f32,
    tick: ti.i32,
    seed: ti.u32,
    id_of: I1,
    pos: V2,
    vel: V2,
    heading: F1,
    target: V2,
    max_speed: F1,
    flags: I1,
    group: I1,
    gparams: F2,
    force: V2,
    arrive_radius: ti.f32,
    slow_radius: ti.f32,
    max_force: ti.f32,
    margin: ti.f32,
    width: ti.f32,
    height: ti.f32,
):
    """Steer (seek with arrival, wander, boundary) and integrate one step."""
    tick_key = _hash_u32(seed ^ _hash_u32(ti.cast(tick, ti.u32) + ti.u32(0x9E3779B9)))
    for i in range(n):
        p = pos[i]
        v = vel[i]
        vmax = max_speed[i]
        fl = flags[i]
        acc = force[i]
        if fl & HAS_TARGET:
            to = target[i] - p
            dist = to.norm()
            if dist <= arrive_radius:
                fl = (fl & ~HAS_TARGET) | ARRIVED
                v = vec2(0.0)
            else:
                desired = to / dist * vmax * ti.min(1.0, dist / slow_radius)
                acc += (desired - v) * 2.0
        else:
            wander = 0.0
            if (fl & ARRIVED) == 0:
                wander = gparams[group[i], G_WANDER]
            if wander <= 0:  # no target and no wandering: come to rest instead of coasting
                acc -= v * 2.0
            else:
                # Keep going roughly the same way, turned a little at random
                # (trig-free: jitter along the perpendicular, then normalise).
                h = _hash_u32(ti.cast(id_of[i], ti.u32) ^ tick_key)
                turn = ti.cast(h & ti.u32(0xFFFF), ti.f32) * (1.0 / 65536.0) - 0.5
                sp = v.norm()
                dirv = vec2(1.0, 0.0)
                if sp > 1e-3:
                    dirv = v / sp
                else:  # standing still: any direction
                    a = ti.cast(h >> 16, ti.f32) * (6.2831853 / 65536.0)
                    dirv = vec2(ti.cos(a), ti.sin(a))
                dirv += vec2(-dirv.y, dirv.x) * turn * 1.5
                desired = dirv.normalized(1e-12) * vmax * 0.5
                acc += (desired - v) * wander
        # Push back from the world's edge.
        if p.x < margin:
            acc.x += max_force * (margin - p.x) / margin
        if p.x > width - margin:
            acc.x -= max_force * (p.x - (width - margin)) / margin
        if p.y < margin:
            acc.y += max_force * (margin - p.y) / margin
        if p.y > height - margin:
            acc.y -= max_force * (p.y - (height - margin)) / margin
        a2 = acc.norm_sqr()
        if a2 > max_force * max_force:
            acc *= max_force / ti.sqrt(a2)
        v += acc * dt
        if fl & HOLD:
            v = vec2(0.0)
        s2 = v.norm_sqr()
        if s2 > vmax * vmax:
            v *= vmax / ti.sqrt(s2)
        p += v * dt
        p.x = ti.min(ti.max(p.x, 0.0), width * (1.0 - 1e-6))
        p.y = ti.min(ti.max(p.y, 0.0), height * (1.0 - 1e-6))
        if s2 > 1e-4:
            heading[i] = _atan2(v.y, v.x)
        pos[i] = p
        vel[i] = v
        flags[i] = fl


@ti.kernel
def set_targets(ids: ti.types.ndarray(dtype=ti.i32, ndim=1), tgt: ti.types.ndarray(dtype=ti.f32, ndim=2), row_of: I1, target: V2, flags: I1):
    """Give agents `ids` new targets (rows of `tgt`); clears ARRIVED."""
    for k in range(ids.shape[0]):
        i = row_of[ids[k]]
        target[i] = vec2(tgt[k, 0], tgt[k, 1])
        flags[i] = (flags[i] | HAS_TARGET) & ~(ARRIVED | REPORTED)


@ti.kernel
def collect_arrivals(n: ti.i32, flags: I1, id_of: I1, out: I1, counter: I1):
    """Append the ids of agents that arrived and were not reported yet; mark them."""
    for r in range(n):
        if (flags[r] & (ARRIVED | REPORTED)) == ARRIVED:
            out[ti.atomic_add(counter[0], 1)] = id_of[r]
            flags[r] |= REPORTED


@ti.kernel
def copy_prefix(src: I1, dst: ti.types.ndarray(dtype=ti.i32, ndim=1)):
    """dst[:] = src[:len(dst)] (dst is usually a numpy array of just that length)."""
    for k in range(dst.shape[0]):
        dst[k] = src[k]


@ti.kernel
def change_flags(ids: ti.types.ndarray(dtype=ti.i32, ndim=1), row_of: I1, flags: I1, set_bits: ti.i32, clear_bits: ti.i32):
    """Set then clear flag bits of agents `ids`."""
    for k in range(ids.shape[0]):
        r = row_of[ids[k]]
        flags[r] = (flags[r] | set_bits) & ~clear_bits


@ti.kernel
def read_rows(ids: ti.types.ndarray(dtype=ti.i32, ndim=1), row_of: I1, src: ti.types.ndarray(), dst: ti.types.ndarray()):
    """dst[k] = src[row_of[ids[k]]] for a 1-D array (dst is usually numpy)."""
    for k in range(ids.shape[0]):
        dst[k] = src[row_of[ids[k]]]


@ti.kernel
def read_rows_v2(ids: ti.types.ndarray(dtype=ti.i32, ndim=1), row_of: I1, src: V2, dst: ti.types.ndarray(dtype=ti.f32, ndim=2)):
    """dst[k] = src[row_of[ids[k]]] for a vec2 array into an (m, 2) array."""
    for k in range(ids.shape[0]):
        v = src[row_of[ids[k]]]
        dst[k, 0] = v.x
        dst[k, 1] = v.y


@ti.kernel
def read_rows_2d(ids: ti.types.ndarray(dtype=ti.i32, ndim=1), row_of: I1, src: ti.types.ndarray(), dst: ti.types.ndarray()):
    """dst[k, :] = src[row_of[ids[k]], :] for an (n, c) array."""
    for k, c in ti.ndrange(ids.shape[0], src.shape[1]):
        dst[k, c] = src[row_of[ids[k]], c]


# ---------------------------------------------------------------- 4. zones


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


# -------------------------------------------------------------- metrics


METRIC_BLOCK = 8192


@ti.kernel
def tick_metrics(n: ti.i32, vel: V2, flags: I1, zone: I1, nbr_n: I1, nzone: ti.i32, out: ti.types.ndarray(dtype=ti.i64, ndim=2)):
    """Integer partial sums per block of agents, for per-tick metrics.

    Row b of `out` sums agents [b * METRIC_BLOCK, (b + 1) * METRIC_BLOCK):
    column 0 moving agents, 1 speed in mm/s, 2 arrived agents, 3 neighbour
    counts, 4 + z agents in zone z, 4 + nzone agents in no zone. One thread
    owns a row, so there are no atomics and the sums are exact.
    """
    for b in range((n + METRIC_BLOCK - 1) // METRIC_BLOCK):
        moving = ti.i64(0)
        speed = ti.i64(0)
        arrived = ti.i64(0)
        nbrs = ti.i64(0)
        for z in range(nzone + 1):
            out[b, 4 + z] = 0
        for i in range(b * METRIC_BLOCK, ti.min((b + 1) * METRIC_BLOCK, n)):
            s = vel[i].norm()
            if s > 0.05:
                moving += 1
            speed += ti.cast(s * 1000.0 + 0.5, ti.i64)
            if flags[i] & ARRIVED:
                arrived += 1
            nbrs += nbr_n[i]
            z = zone[i]
            if z < 0:
                z = nzone
            out[b, 4 + z] += 1
        out[b, 0] = moving
        out[b, 1] = speed
        out[b, 2] = arrived
        out[b, 3] = nbrs
