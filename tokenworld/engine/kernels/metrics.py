"""Per-tick population figures as exact integer sums."""

# No `from __future__ import annotations` here: Taichi reads the annotations as types.
import taichi as ti

from tokenworld.engine.kernels.common import ARRIVED, I1, V2

METRIC_BLOCK = 8192


@ti.kernel
def tick_metrics(
    n: ti.i32, vel: V2, flags: I1, zone: I1, nbr_n: I1, nzone: ti.i32, out: ti.types.ndarray(dtype=ti.i64, ndim=2)
):
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
