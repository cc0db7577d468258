"""Reading and writing a few agents' rows from the host without copying whole arrays."""

# No `from __future__ import annotations` here: Taichi reads the annotations as types.
import taichi as ti

from tokenworld.engine.kernels.common import ARRIVED, I1, REPORTED, V2


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
def change_flags(
    ids: ti.types.ndarray(dtype=ti.i32, ndim=1), row_of: I1, flags: I1, set_bits: ti.i32, clear_bits: ti.i32
):
    """Set then clear flag bits of agents `ids`."""
    for k in range(ids.shape[0]):
        r = row_of[ids[k]]
        flags[r] = (flags[r] | set_bits) & ~clear_bits


@ti.kernel
def read_rows(
    ids: ti.types.ndarray(dtype=ti.i32, ndim=1), row_of: I1, src: ti.types.ndarray(), dst: ti.types.ndarray()
):
    """dst[k] = src[row_of[ids[k]]] for a 1-D array (dst is usually numpy)."""
    for k in range(ids.shape[0]):
        dst[k] = src[row_of[ids[k]]]


@ti.kernel
def read_rows_v2(
    ids: ti.types.ndarray(dtype=ti.i32, ndim=1), row_of: I1, src: V2, dst: ti.types.ndarray(dtype=ti.f32, ndim=2)
):
    """dst[k] = src[row_of[ids[k]]] for a vec2 array into an (m, 2) array."""
    for k in range(ids.shape[0]):
        v = src[row_of[ids[k]]]
        dst[k, 0] = v.x
        dst[k, 1] = v.y


@ti.kernel
def read_rows_2d(
    ids: ti.types.ndarray(dtype=ti.i32, ndim=1), row_of: I1, src: ti.types.ndarray(), dst: ti.types.ndarray()
):
    """dst[k, :] = src[row_of[ids[k]], :] for an (n, c) array."""
    for k, c in ti.ndrange(ids.shape[0], src.shape[1]):
        dst[k, c] = src[row_of[ids[k]], c]
