"""Stage 1, the spatial hash: a counting sort of agents into grid cells, and
the re-sort of engine rows into cell order."""

# No `from __future__ import annotations` here: Taichi reads the annotations as types.
import taichi as ti

from tokenworld.engine.kernels.common import I1, V2, _cell_xy


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
def scatter(
    n: ti.i32, pos: V2, vel: V2, id_of: I1, cell: I1, start: I1, count: I1, srow: I1, sid: I1, spos: V2, svel: V2
):
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
