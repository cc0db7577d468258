"""The spatial engine: agent state as Taichi arrays and the step that advances it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from tokenworld.engine import arch as _arch
from tokenworld.engine.grids import StaticGrid, entity_grid, zone_grid
from tokenworld.errors import EngineError
from tokenworld.scene.schema import EngineOptions, Zone

MAX_CELLS = 1 << 24
MAX_AGENTS = 50_000_000  # also the scene format's limit


@dataclass
class StepTimings:
    """Wall time of each stage of the last step, in milliseconds (filled when profiling)."""

    hash_ms: float = 0.0
    perception_ms: float = 0.0
    motion_ms: float = 0.0
    zones_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.hash_ms + self.perception_ms + self.motion_ms + self.zones_ms


class Engine:
    """Moves `n` agents in a ``width x height`` world, one Taichi kernel per stage.

    State is structure-of-arrays, one ndarray per attribute. Every public method
    speaks agent ids (the rows of the world's tables); inside, the engine keeps
    its rows sorted by grid cell, re-sorting every `options.resort_every` ticks
    so that neighbours sit near each other in memory (`id_of[row]`,
    `row_of[id]`). Readers take numpy copies in id order with `snapshot`;
    writers go through the setters. Later layers add per-agent arrays with
    `add_field` (kept in engine row order, re-sorted with the rest).

    Args:
        n: number of agents.
        size: world width (x) and depth (y) in metres.
        options: perception and steering settings.
        group_params: (groups, 5) float array: cohesion, alignment, separation,
            personal space, wander per group.
        seed: seed of the engine's counter-based random numbers.
        arch: Taichi arch ('auto', 'cpu', 'cuda', 'vulkan'); None reads
            `TOKENWORLD_ARCH`.
        profile: synchronise after each stage to time it (`last_timings`).
    """

    def __init__(
        self,
        n: int,
        size: tuple[float, float],
        options: EngineOptions,
        group_params: np.ndarray,
        *,
        seed: int = 0,
        arch: str | None = None,
        profile: bool = False,
    ):
        if not 0 <= n <= MAX_AGENTS:
            raise EngineError(f"agent count must be between 0 and {MAX_AGENTS:,}, found {n:,}.")
        self.arch = _arch.init(arch, seed=seed)
        import taichi as ti

        from tokenworld.engine import kernels as K

        self._ti, self._k = ti, K
        self.n = int(n)
        self.width, self.height = float(size[0]), float(size[1])
        self.options = options
        self.seed = int(seed) & 0xFFFFFFFF
        self.profile = profile
        self.tick = 0
        self.last_timings = StepTimings()
        self._closed = False
        rows = max(self.n, 1)
        vec2 = ti.math.vec2
        # Agent state, one array per attribute.
        self.pos = ti.ndarray(vec2, rows)
        self.vel = ti.ndarray(vec2, rows)
        self.target = ti.ndarray(vec2, rows)
        self.heading = ti.ndarray(ti.f32, rows)
        self.max_speed = ti.ndarray(ti.f32, rows)
        self.flags = ti.ndarray(ti.i32, rows)
        self.group = ti.ndarray(ti.i32, rows)
        self.zone = ti.ndarray(ti.i32, rows)
        self.force = ti.ndarray(vec2, rows)
        # Perception results.
        self.k = int(options.neighbours)
        self.ke = int(options.entities_seen)
        self.nbr = ti.ndarray(ti.i32, (rows, self.k))
        self.nbr_n = ti.ndarray(ti.i32, rows)
        self.ent = ti.ndarray(ti.i32, (rows, self.ke))
        self.ent_n = ti.ndarray(ti.i32, rows)
        self._scratch: dict = {}
        self.id_of = ti.ndarray(ti.i32, rows)
        self.row_of = ti.ndarray(ti.i32, rows)
        self.extra: dict[str, object] = {}
        # The agent grid: cell size >= radius so the 3x3 cells around an agent
        # hold every agent within the radius (the margin absorbs float rounding).
        cell = max(options.perception_radius * 1.001, math.sqrt(self.width * self.height / MAX_CELLS))
        self.cell_size = cell
        self.gw = max(1, math.ceil(self.width / cell))
        self.gh = max(1, math.ceil(self.height / cell))
        self.ncell = self.gw * self.gh
        self.block = 256 if self.arch in ("cuda", "vulkan") else max(1024, -(-self.ncell // 64))
        self.nblock = -(-self.ncell // self.block)
        self.cell = ti.ndarray(ti.i32, rows)
        self.count = ti.ndarray(ti.i32, self.ncell)
        self.count.fill(0)  # the scatter returns it to zero after every use
        self.start = ti.ndarray(ti.i32, self.ncell + 1)
        self.bsum = ti.ndarray(ti.i32, self.nblock)
        self.sid = ti.ndarray(ti.i32, rows)
        self.srow = ti.ndarray(ti.i32, rows)
        self.arrivals = ti.ndarray(ti.i32, rows)
        self.arrivals_n = ti.ndarray(ti.i32, 1)
        self.spos = ti.ndarray(vec2, rows)
        self.svel = ti.ndarray(vec2, rows)
        self.set_group_params(group_params)
        self.set_zones([])
        self.set_entities(np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros(0, bool))
        self.zone.fill(-1)

    # ------------------------------------------------------------ setters

    def _check_open(self) -> None:
        if self._closed:
            raise EngineError("This engine was closed; build a new one.")

    def set_state(
        self,
        pos: np.ndarray,
        max_speed: np.ndarray,
        group: np.ndarray,
        *,
        vel: np.ndarray | None = None,
        heading: np.ndarray | None = None,
    ) -> None:
        """Upload every agent's position, top speed and group (rows = agent ids)."""
        self._check_open()
        n = self.n
        if n == 0:
            return
        pos = np.ascontiguousarray(pos, dtype=np.float32).reshape(n, 2)
        if not np.isfinite(pos).all():
            raise EngineError("agent positions contain NaN or infinity.")
        if (pos < 0).any() or (pos[:, 0] >= self.width).any() or (pos[:, 1] >= self.height).any():
            raise EngineError(f"agent positions must lie inside the world [0, {self.width}) x [0, {self.height}).")
        self.pos.from_numpy(pos)
        self.vel.from_numpy(np.zeros((n, 2), np.float32) if vel is None else np.ascontiguousarray(vel, np.float32))
        self.heading.from_numpy(
            np.zeros(n, np.float32) if heading is None else np.ascontiguousarray(heading, np.float32)
        )
        self.max_speed.from_numpy(np.ascontiguousarray(max_speed, np.float32).reshape(n))
        group = np.ascontiguousarray(group, np.int32).reshape(n)
        if len(group) and (group.min() < 0 or group.max() >= self.ngroups):
            raise EngineError(f"group ids must be in [0, {self.ngroups}), found [{group.min()}, {group.max()}].")
        self.group.from_numpy(group)
        self.target.from_numpy(pos)
        self.flags.fill(0)
        for arr in self.extra.values():  # later layers' fields keep their values, back in id order
            self._permute(arr, self.row_of)
        ids = np.arange(n, dtype=np.int32)
        self.id_of.from_numpy(ids)
        self.row_of.from_numpy(ids)
        self._resort()
        self._zones_now()

    def set_group_params(self, params: np.ndarray) -> None:
        """Replace the per-group flocking table, shape (groups, 5)."""
        self._check_open()
        params = np.ascontiguousarray(params, np.float32)
        if params.ndim != 2 or params.shape[1] != self._k.GROUP_COLUMNS or len(params) == 0:
            raise EngineError(
                f"group_params must have shape (groups >= 1, {self._k.GROUP_COLUMNS}), found {params.shape}."
            )
        self.ngroups = len(params)
        self.gparams = self._ti.ndarray(self._ti.f32, params.shape)
        self.gparams.from_numpy(params)
        if getattr(self, "_entities", None) is not None:  # the entity grid's cells depend on personal space
            self.set_entities(*self._entities)

    def set_targets(self, idx: np.ndarray, targets: np.ndarray) -> None:
        """Send agents `idx` towards `targets` (rows of x, y)."""
        self._check_open()
        idx = np.asarray(idx)
        if len(idx) == 0:
            return
        if idx.dtype.kind not in "iu":
            raise EngineError(f"agent ids must be integers, found {idx.dtype}.")
        if idx.min() < 0 or idx.max() >= self.n:
            raise EngineError(f"agent ids must be in [0, {self.n}), found [{idx.min()}, {idx.max()}].")
        idx = np.ascontiguousarray(idx, np.int32)
        targets = np.ascontiguousarray(targets, np.float32).reshape(len(idx), 2)
        if not np.isfinite(targets).all():
            raise EngineError("targets contain NaN or infinity.")
        self._k.set_targets(idx, targets, self.row_of, self.target, self.flags)

    def set_zones(self, zones: list[Zone]) -> None:
        """Replace the zones agents are tested against (order = priority, last wins)."""
        self._check_open()
        self.nzone = len(zones)
        self.metrics_buf = None
        self._zgrid = zone_grid(self._ti, zones, self.width, self.height)

    def set_entities(self, pos: np.ndarray, radius: np.ndarray, solid: np.ndarray) -> None:
        """Replace the entities agents perceive and steer around."""
        self._check_open()
        self._entities = (pos, radius, solid)
        space = float(self.gparams.to_numpy()[:, self._k.G_SPACE].max())
        self._egrid = entity_grid(
            self._ti, pos, radius, solid, self.width, self.height, self.options.entity_reach, space
        )

    def add_field(self, name: str, dtype=np.float32, components: int = 1):
        """Add a per-agent array for a later layer; returns the Taichi ndarray.

        It is zero-initialised, has one row per agent, and appears in `snapshot`.
        """
        self._check_open()
        if name in self.extra or hasattr(self, name):
            raise EngineError(f"a per-agent field called {name!r} exists already.")
        ti = self._ti
        tdtype = {np.float32: ti.f32, np.int32: ti.i32, np.int64: ti.i64, np.uint8: ti.u8}[np.dtype(dtype).type]
        shape = (max(self.n, 1),) if components == 1 else (max(self.n, 1), components)
        arr = ti.ndarray(tdtype, shape)
        arr.fill(0)
        self.extra[name] = arr
        return arr

    # --------------------------------------------------------------- step

    def step(self, dt: float) -> StepTimings:
        """Advance every agent by `dt` seconds: hash, perceive, move, zones."""
        self._check_open()
        if self.n == 0:
            self.tick += 1
            return self.last_timings
        t = self.last_timings
        clock = self._clock()
        if self.options.resort_every and self.tick % self.options.resort_every == 0:
            self._resort()  # builds the hash too
        else:
            self.build_hash()
        t.hash_ms = clock()
        self.perceive()
        t.perception_ms = clock()
        self.move(dt)
        t.motion_ms = clock()
        self._zones_now()
        t.zones_ms = clock()
        self.tick += 1
        return t

    def _clock(self):
        last = [time.perf_counter()]
        sync = self._ti.sync if self.profile else (lambda: None)

        def lap() -> float:
            sync()
            now = time.perf_counter()
            ms = (now - last[0]) * 1000.0
            last[0] = now
            return ms

        return lap

    def build_hash(self) -> None:
        """Stage 1: counting sort of agents into grid cells."""
        k = self._k
        inv = 1.0 / self.cell_size
        k.assign_cells(self.n, self.pos, self.cell, self.count, inv, self.gw, self.gh)
        k.block_sums(self.ncell, self.block, self.count, self.bsum)
        k.scan_block_sums(self.nblock, self.ncell, self.bsum, self.start)
        k.block_prefix(self.ncell, self.block, self.count, self.bsum, self.start)
        k.scatter(
            self.n,
            self.pos,
            self.vel,
            self.id_of,
            self.cell,
            self.start,
            self.count,
            self.srow,
            self.sid,
            self.spos,
            self.svel,
        )

    def _resort(self) -> None:
        """Build the hash, then put the engine's rows into its cell order.

        Results do not depend on row order (neighbours are chosen by distance
        and id, random numbers are drawn by id), so this only buys locality.
        Only state that outlives a step moves; perception, forces and zones are
        recomputed later in the same step.
        """
        k = self._k
        self.build_hash()
        self.pos.copy_from(self.spos)  # the scatter already put these in cell order
        self.vel.copy_from(self.svel)
        self.id_of.copy_from(self.sid)
        for arr in (self.target, self.heading, self.max_speed, self.flags, self.group, *self.extra.values()):
            self._permute(arr, self.srow)
        k.index_rows(self.n, self.id_of, self.row_of)
        k.identity(self.n, self.srow)  # slots and rows now coincide

    def _permute(self, arr, source_row) -> None:
        """arr[s] = arr[source_row[s]] for every row s, in place (through a scratch array)."""
        ti = self._ti
        key = (str(arr.element_type), arr.shape)
        if key not in self._scratch:
            dtype = ti.types.vector(arr.n, arr.dtype) if hasattr(arr, "n") else arr.dtype
            self._scratch[key] = ti.ndarray(dtype, arr.shape)
        tmp = self._scratch[key]
        (self._k.gather_rows_2d if len(arr.shape) == 2 else self._k.gather_rows)(self.n, arr, tmp, source_row)
        arr.copy_from(tmp)

    def perceive(self) -> None:
        """Stage 2: nearest agents and entities, and the forces they exert."""
        o, e = self.options, self._egrid
        self._k.perceive(
            self.n,
            self.k,
            self.ke,
            self.pos,
            self.vel,
            self.id_of,
            self.sid,
            self.spos,
            self.svel,
            self.start,
            1.0 / self.cell_size,
            self.gw,
            self.gh,
            o.perception_radius,
            self.group,
            self.gparams,
            e.pos,
            e.radius,
            e.solid,
            e.start,
            e.items,
            e.inv_cell,
            e.gw,
            e.gh,
            o.entity_reach,
            o.max_force,
            self.nbr,
            self.nbr_n,
            self.ent,
            self.ent_n,
            self.force,
        )

    def move(self, dt: float) -> None:
        """Stage 3: steering and integration."""
        o = self.options
        self._k.move(
            self.n,
            dt,
            self.tick,
            self.seed,
            self.id_of,
            self.pos,
            self.vel,
            self.heading,
            self.target,
            self.max_speed,
            self.flags,
            self.group,
            self.gparams,
            self.force,
            o.arrive_radius,
            o.slow_radius,
            o.max_force,
            o.boundary_margin,
            self.width,
            self.height,
        )

    def _zones_now(self) -> None:
        """Stage 4: zone membership."""
        if self.n == 0:
            return
        z: StaticGrid = self._zgrid
        self._k.zone_membership(
            self.n,
            self.pos,
            self.zone,
            z.inv_cell,
            z.gw,
            z.gh,
            z.start,
            z.items,
            z.full,
            z.kind,
            z.box,
            z.vstart,
            z.verts,
        )

    # ------------------------------------------------------------ readers

    def snapshot(self, names: tuple[str, ...] = ("pos", "vel", "heading", "zone", "flags")) -> dict[str, np.ndarray]:
        """Numpy copies of the named per-agent arrays (rows = agent ids)."""
        self._check_open()
        out = {}
        rows = self._row_of_np()  # once for all the arrays (the viewer reads three every tick)
        for name in names:
            arr = self.extra.get(name) if name in self.extra else getattr(self, name, None)
            if arr is None or not hasattr(arr, "to_numpy"):
                raise EngineError(f"the engine has no per-agent array {name!r}.")
            out[name] = arr.to_numpy()[: self.n][rows]
        return out

    def _row_of_np(self) -> np.ndarray:
        return self.row_of.to_numpy()[: self.n]

    def read(self, name: str, ids: np.ndarray) -> np.ndarray:
        """Rows of one per-agent array for the agents `ids` only (numpy, in the order of `ids`)."""
        self._check_open()
        arr = self.extra.get(name) if name in self.extra else getattr(self, name, None)
        if arr is None or not hasattr(arr, "to_numpy"):
            raise EngineError(f"the engine has no per-agent array {name!r}.")
        ids = np.ascontiguousarray(ids, np.int32)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.n):
            raise EngineError(f"agent ids must be in [0, {self.n}), found [{ids.min()}, {ids.max()}].")
        k = self._k
        if hasattr(arr, "n"):  # vec2
            out = np.zeros((len(ids), 2), np.float32)
            if len(ids):
                k.read_rows_v2(ids, self.row_of, arr, out)
            return out
        dtype = {"i32": np.int32, "f32": np.float32, "i64": np.int64, "u8": np.uint8}[str(arr.dtype)]
        out = np.zeros((len(ids), *arr.shape[1:]), dtype)
        if len(ids):
            (k.read_rows_2d if len(arr.shape) == 2 else k.read_rows)(ids, self.row_of, arr, out)
        return out

    def change_flags(self, ids: np.ndarray, *, set_bits: int = 0, clear_bits: int = 0) -> None:
        """Set, then clear, state flag bits (`HOLD`, ...) of the agents `ids`."""
        self._check_open()
        ids = np.ascontiguousarray(ids, np.int32)
        if len(ids):
            self._k.change_flags(ids, self.row_of, self.flags, int(set_bits), int(clear_bits))

    def export_state(self) -> dict[str, np.ndarray]:
        """Everything a step depends on, in id order, for checkpoints (see `restore_state`)."""
        names = ("pos", "vel", "target", "heading", "max_speed", "flags", "group", *self.extra)
        state = self.snapshot(names)
        state["tick"] = np.array(self.tick, np.int64)
        return state

    def restore_state(self, state: dict[str, np.ndarray]) -> None:
        """Put back a state from `export_state`; the next step equals the one the original engine made."""
        self._check_open()
        self.tick = int(state["tick"])
        if self.n == 0:
            return
        self.set_state(state["pos"], state["max_speed"], state["group"], vel=state["vel"], heading=state["heading"])
        for name, arr in (("target", self.target), ("flags", self.flags), *((k, v) for k, v in self.extra.items())):
            if name not in state:
                continue
            rows = np.empty_like(state[name])
            rows[self._row_of_np()] = state[name]  # id order -> engine row order
            arr.from_numpy(np.ascontiguousarray(rows))
        self.tick = int(state["tick"])
        self._zones_now()

    def take_arrivals(self) -> np.ndarray:
        """Ids of agents that reached their target since the last call, ascending.

        Reads back only the new arrivals, not a per-agent array.
        """
        self._check_open()
        if self.n == 0:
            return np.zeros(0, np.int32)
        self.arrivals_n.fill(0)
        self._k.collect_arrivals(self.n, self.flags, self.id_of, self.arrivals, self.arrivals_n)
        count = int(self.arrivals_n.to_numpy()[0])
        out = np.empty(count, np.int32)
        if count:
            self._k.copy_prefix(self.arrivals, out)
        out.sort()
        return out

    def arrived(self) -> np.ndarray:
        """Ids of all agents standing at their target, ascending (reads every agent's flags)."""
        self._check_open()
        rows = np.flatnonzero(self.flags.to_numpy()[: self.n] & self._k.ARRIVED)
        return np.sort(self.id_of.to_numpy()[rows]).astype(np.int32)

    def metrics(self) -> dict:
        """Whole-population figures of the current state (exact, deterministic)."""
        self._check_open()
        if self.metrics_buf is None:
            blocks = max(1, -(-self.n // self._k.METRIC_BLOCK))
            self.metrics_buf = self._ti.ndarray(self._ti.i64, (blocks, 5 + self.nzone))
            self.metrics_buf.fill(0)
        if self.n:
            self._k.tick_metrics(self.n, self.vel, self.flags, self.zone, self.nbr_n, self.nzone, self.metrics_buf)
        m = self.metrics_buf.to_numpy().sum(axis=0)
        n = max(self.n, 1)
        return {
            "moving": int(m[0]),
            "mean_speed": round(float(m[1]) / 1000.0 / n, 6),
            "arrived": int(m[2]),
            "mean_neighbours": round(float(m[3]) / n, 6),
            "zone_counts": [int(c) for c in m[4 : 4 + self.nzone]],
            "outside_zones": int(m[4 + self.nzone]),
        }

    def close(self) -> None:
        """Release the engine's arrays; later calls raise `EngineError`."""
        self._closed = True
        for name in list(vars(self)):
            if hasattr(getattr(self, name), "to_numpy"):
                setattr(self, name, None)
        self.extra.clear()
