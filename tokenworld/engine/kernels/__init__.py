"""Taichi kernels of the spatial engine, one module per stage.

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

from tokenworld.engine.kernels.common import (
    ARRIVED,
    G_ALIGNMENT,
    G_COHESION,
    G_SEPARATION,
    G_SPACE,
    G_WANDER,
    GROUP_COLUMNS,
    HAS_TARGET,
    HOLD,
    REPORTED,
)
from tokenworld.engine.kernels.grid import (
    assign_cells,
    block_prefix,
    block_sums,
    gather_rows,
    gather_rows_2d,
    identity,
    index_rows,
    scan_block_sums,
    scatter,
)
from tokenworld.engine.kernels.metrics import METRIC_BLOCK, tick_metrics
from tokenworld.engine.kernels.motion import move, set_targets
from tokenworld.engine.kernels.perception import perceive
from tokenworld.engine.kernels.rows import (
    change_flags,
    collect_arrivals,
    copy_prefix,
    read_rows,
    read_rows_2d,
    read_rows_v2,
)
from tokenworld.engine.kernels.zones import zone_membership

__all__ = [
    "ARRIVED",
    "G_ALIGNMENT",
    "G_COHESION",
    "G_SEPARATION",
    "G_SPACE",
    "G_WANDER",
    "GROUP_COLUMNS",
    "HAS_TARGET",
    "HOLD",
    "REPORTED",
    "METRIC_BLOCK",
    "assign_cells",
    "block_prefix",
    "block_sums",
    "change_flags",
    "collect_arrivals",
    "copy_prefix",
    "gather_rows",
    "gather_rows_2d",
    "identity",
    "index_rows",
    "move",
    "perceive",
    "read_rows",
    "read_rows_2d",
    "read_rows_v2",
    "scan_block_sums",
    "scatter",
    "set_targets",
    "tick_metrics",
    "zone_membership",
]
