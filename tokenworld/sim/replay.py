"""`RunReplay`: a recorded run folder read back tick by tick for the viewer's timeline.

A run folder (``runs/<name>/``, written by ``tokenworld run``) holds the scene,
the manifest and the run store (see `tokenworld.sim.store`). Positions come
from the ``tracks`` table (every agent, every ``store.track_every`` ticks); a
run recorded without tracks falls back to the ``snapshots`` table (positions
only, heading 0). Positions between two recorded ticks are interpolated;
everything else (states, feed lines, series, agent cards) is queried from
the store, one query per frame at most, then worked out with numpy. Resource
stocks come from the newest checkpoint at or before a tick (the only place the
store keeps them), decoded once per checkpoint.

The store may still be being written by the run (SQLite in WAL mode): the
database is opened read-only and every read sees the ticks committed so far.
Pure numpy and sqlite3: no Panda3D or ImGui here.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Self

import numpy as np

from tokenworld.errors import RunError, TokenWorldError
from tokenworld.scene.geometry import zone_membership
from tokenworld.scene.schema import Scene
from tokenworld.sim.frames import (
    BUSY,
    IDLE,
    TALKING,
    WALKING,
    Frame,
)
from tokenworld.sim.records import decode_track
from tokenworld.sim.replay_log import RunLog, _tick_value
from tokenworld.sim.run_folder import RunFolder
from tokenworld.world.economy import (
    entity_stock_fraction,
    node_capacity,
    starting_nodes,
    zone_pools,
    zone_stock_fraction,
)
from tokenworld.world.items import BUILD_RECIPES
from tokenworld.world.looks import CARRIED_ITEMS, entity_look, structure_look, structure_name

TALK_TICKS = 5  # an agent that spoke or was spoken to within this many ticks is TALKING
BUSY_TICKS = 10  # an action other than idle / move_to started within this many ticks keeps it BUSY
MOVE_EPS = 0.05  # m moved since the previous recorded tick that counts as WALKING
CACHE_TICKS = 64  # decoded position frames kept for scrubbing
CARRY_TICKS = 200  # a gather that was an agent's last decision (walks aside) shows it carrying at most this long
CHECKPOINT_CACHE = 4  # decoded checkpoints' stocks kept for scrubbing
TWO_PI = 2.0 * math.pi


class RunReplay(RunLog):
    """A recorded run, read at any (fractional) tick.

    Args:
        folder: a run folder written by ``tokenworld run`` (``runs/<name>``).

    Raises:
        RunError: the folder is missing, is not a run folder, its store is
            damaged, or it holds no positions (neither tracks nor snapshots).
    """

    def __init__(self, folder: str | Path):
        self.run = RunFolder.open(folder)  # read-only: the run may still be writing it; any thread may read
        self._folder = self.run.folder
        self._db = self.run.db
        self.conn = self.run.conn
        try:
            self._scene = self.run.scene
            tables = self.run.tables
            self._source = "tracks" if "tracks" in tables and self._q("SELECT 1 FROM tracks LIMIT 1") else "snapshots"
            # snapshot ticks are listed by the `social` table: one row per snapshot, written with it
            self._tick_sql = "SELECT tick FROM tracks" if self._source == "tracks" else "SELECT tick FROM social"
            self._ticks = np.zeros(0, np.int64)
            self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # tick -> (pos, heading)
            self._states: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # tick -> (talking, busy)
            self._carry: OrderedDict[int, np.ndarray] = OrderedDict()  # tick -> carried item per agent
            self._checkpoints: OrderedDict[int, tuple | None] = OrderedDict()  # tick -> (node_stock, pool, nodes)
            self._stocks: tuple[tuple, tuple[np.ndarray, np.ndarray]] | None = None  # (tick, m, scene) -> stocks
            self.refresh()
            if not len(self._ticks):
                raise RunError(
                    f"{self._folder} holds no agent positions yet: no `tracks` and no `snapshots` rows (the run had "
                    "[store] track_every = 0 and snapshot_every = 0, or has not reached its first recorded tick). "
                    "Wait for the run to go on, or record it again with `[store] track_every = 1`."
                )
        except BaseException:
            self.run.close()
            raise
        sc = self._scene
        self._size = tuple(sc.world.size)
        self._n = self.run.n_agents  # at the end: live edits may add agents during a run (`run.agents_at`)
        self._dt = sc.sim.dt
        self._zone_names = [z.name for z in sc.zones]
        self._builds: list[tuple[int, int, int, int]] = []  # (tick, agent, recipe, entity id), in entity order
        self._builds_upto = 0
        self._build_pos: list[tuple[float, float]] = []
        self._entities: tuple[tuple, tuple] | None = None
        self._series_upto = 0
        self._series_parts: list[dict[str, np.ndarray]] = []
        self._series_cat: dict[str, np.ndarray] | None = None
        self._uses_model = sc.uses_model

    # ------------------------------------------------------------ basics

    @property
    def scene(self) -> Scene:
        """The scene the run started with (the folder's scene.toml; see `scene_at` for live edits)."""
        return self._scene

    def scene_at(self, tick: float) -> Scene:
        """The scene as it ran at `tick`: the live edits made up to then applied."""
        return self.run.scene_at(math.floor(_tick_value(tick)))

    @property
    def scene_edits(self) -> list:
        """The live edits the run recorded (`SceneEdit`s, in the order made)."""
        return self.run.scene_edits

    @property
    def folder(self) -> Path:
        return self._folder

    @property
    def n_agents(self) -> int:
        return self._n

    @property
    def traits(self) -> np.ndarray:
        """(n, 5) float32 traits (columns in `TRAITS` order), as the run recorded them."""
        return self.run.agents.traits

    @property
    def archetype(self) -> np.ndarray:
        """(n,) int8 archetype of each agent (index into `ARCHETYPES`)."""
        return self.run.agents.archetype

    @property
    def source(self) -> str:
        """Where positions come from: 'tracks' or 'snapshots' (positions only, heading 0)."""
        return self._source

    @property
    def ticks(self) -> np.ndarray:
        """Sorted ticks that have recorded positions (int64; refreshed from the store)."""
        self.refresh()
        return self._ticks

    @property
    def first_tick(self) -> int:
        """The first recorded tick (refreshed from the store)."""
        self.refresh()
        return self._first

    @property
    def last_tick(self) -> int:
        """The last tick committed so far (refreshed from the store: a run still going grows)."""
        self.refresh()
        return self._last

    def refresh(self) -> None:
        """Pick up the ticks committed since the last look (cheap: index lookups only)."""
        known = int(self._ticks[-1]) if len(self._ticks) else -1
        top = self._q(f"SELECT max(tick) FROM ({self._tick_sql})")[0][0]
        if top is None or top < known:  # rows were taken back (a resume truncated the run): start over
            self._ticks = np.zeros(0, np.int64)
            self._cache.clear()
            self._states.clear()
            self._carry.clear()
            self._checkpoints.clear()
            self._stocks = None
            known = -1
        if top is not None and top > known:
            new = self._q(f"{self._tick_sql} WHERE tick > ? ORDER BY tick", (known,))
            self._ticks = np.concatenate([self._ticks, np.array([r[0] for r in new], np.int64)])
            self._ticks.setflags(write=False)
        lo, hi = self._q("SELECT (SELECT min(tick) FROM timings), (SELECT max(tick) FROM timings)")[0]
        if len(self._ticks):
            lo = int(self._ticks[0]) if lo is None else min(lo, int(self._ticks[0]))
            hi = int(self._ticks[-1]) if hi is None else max(hi, int(self._ticks[-1]))
        self._first, self._last = lo or 0, hi or 0

    def manifest(self) -> dict:
        """The run's manifest as it is now (a run still going rewrites it)."""
        return self.run.reread_manifest()

    def inference_stats(self) -> dict | None:
        """The language model's counters the run recorded when it ended (manifest "inference"), or None."""
        return self.manifest().get("inference")

    def close(self) -> None:
        """Close the store (the replay cannot be read afterwards)."""
        self.run.close()
        self.conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _q(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        if self.conn is None:
            raise TokenWorldError(f"the replay of {self._folder} is closed; open a new RunReplay to read it.")
        return self.run.q(sql, params)

    # ------------------------------------------------------------ positions

    def _load(self, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and headings at a recorded tick (LRU-cached)."""
        hit = self._cache.get(tick)
        if hit is not None:
            self._cache.move_to_end(tick)
            return hit
        if self._source == "tracks":
            rows = self._q("SELECT xy, heading FROM tracks WHERE tick = ?", (tick,))
            if not rows:
                raise RunError(
                    f"tick {tick} of {self._db} has no track (it was taken back); call refresh() and read again."
                )
            try:
                pos, heading = decode_track(rows[0][0], rows[0][1], self._size)
            except ValueError as exc:
                raise RunError(f"the track of tick {tick} in {self._db} is damaged: {exc}") from None
        else:
            rows = self._q("SELECT x, y FROM snapshots WHERE tick = ? ORDER BY agent", (tick,))
            pos = np.array(rows, np.float32).reshape(-1, 2)
            heading = np.zeros(len(pos), np.float32)
        if len(pos) != self.run.agents_at(tick):
            raise RunError(
                f"tick {tick} of {self._db} holds {len(pos)} agents but the run had {self.run.agents_at(tick)} then; "
                "the run folder is damaged."
            )
        pos.setflags(write=False)
        heading.setflags(write=False)
        self._cache[tick] = (pos, heading)
        if len(self._cache) > CACHE_TICKS:
            self._cache.popitem(last=False)
        return pos, heading

    def _at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Positions and headings at a fractional tick: interpolated between recorded ticks, clamped to them."""
        ticks = self._ticks
        t = min(max(float(t), float(ticks[0])), float(ticks[-1]))
        i = int(np.searchsorted(ticks, t, side="right")) - 1
        t0 = int(ticks[i])
        if t == t0 or i + 1 >= len(ticks):
            return self._load(t0)
        t1 = int(ticks[i + 1])
        a = np.float32((t - t0) / (t1 - t0))
        (p0, h0), (p1, h1) = self._load(t0), self._load(t1)
        if len(p0) < len(p1):  # agents joined in between (a live edit): they appear where they are first seen
            p0, h0 = np.concatenate([p0, p1[len(p0) :]]), np.concatenate([h0, h1[len(h0) :]])
        turn = np.mod(h1 - h0 + np.float32(math.pi), np.float32(TWO_PI)) - np.float32(math.pi)  # the short way round
        return p0 + (p1 - p0) * a, np.mod(h0 + turn * a, np.float32(TWO_PI)).astype(np.float32)

    def positions(self, tick: float) -> np.ndarray:
        """(n, 2) float32 positions at a fractional tick (see `frame` for everything else)."""
        self.refresh()
        return self._at(_tick_value(tick))[0]

    def frame(self, tick: float) -> Frame:
        """Every agent's state at a fractional tick, clamped to the recorded range.

        Positions and headings are interpolated between the two nearest
        recorded ticks; `prev_pos` is one tick earlier; `state` and `zone`
        are worked out from the store and the scene (see the module constants).
        """
        t = _tick_value(tick)
        self.refresh()
        t = min(max(t, float(self._ticks[0])), float(self._ticks[-1]))
        pos, heading = self._at(t)
        prev = self._at(t - 1.0)[0]
        if len(prev) < len(pos):  # agents that joined this tick
            prev = np.concatenate([prev, pos[len(prev) :]])
        whole = math.floor(t)
        state = self._state(whole, t)[: len(pos)]
        zone = zone_membership(pos, self.run.scene_at(whole).zones)
        ent_pos, ent_radius, ent_kind, ent_name, ent_look = self._entities_at(whole)
        ent_stock, zone_stock = self._stocks_at(whole, len(ent_pos))
        carry = self._carry_at(whole)
        return Frame(
            tick=whole,
            sim_time=t * self._dt,
            pos=pos,
            prev_pos=prev,
            heading=heading,
            state=state,
            zone=zone,
            entity_pos=ent_pos,
            entity_radius=ent_radius,
            entity_kind=ent_kind,
            entity_name=ent_name,
            interval=0.0,
            entity_look=ent_look,
            entity_stock=ent_stock,
            zone_stock=zone_stock,
            carry=carry if len(carry) == len(pos) else carry[: len(pos)],
        )

    def zone_counts(self, tick: float) -> np.ndarray:
        """Agents in each zone at `tick` (int64, one per scene zone; agents outside every zone are not counted)."""
        zone = self.frame(tick).zone
        return np.bincount(zone[zone >= 0], minlength=len(self.scene_at(tick).zones)).astype(np.int64)

    def _state(self, whole: int, t: float) -> np.ndarray:
        """IDLE / WALKING / BUSY / TALKING per agent at tick `whole` (one query, then numpy)."""
        ticks = self._ticks
        j = max(int(np.searchsorted(ticks, t, side="right")) - 1, min(1, len(ticks) - 1))
        moved = np.zeros(self._n, bool)
        if j >= 1:
            p1, p0 = self._load(int(ticks[j]))[0], self._load(int(ticks[j - 1]))[0]
            k = min(len(p0), len(p1))
            moved[:k] = np.einsum("ij,ij->i", p1[:k] - p0[:k], p1[:k] - p0[:k]) > MOVE_EPS * MOVE_EPS
        talk_busy = self._states.get(whole)
        if talk_busy is None:
            rows = self._q(
                "SELECT 0, speaker, listener, tick, rowid FROM messages WHERE tick > ? AND tick <= ? "
                "UNION ALL SELECT 1, agent, action NOT IN ('idle', 'move_to'), tick, rowid FROM decisions "
                "WHERE tick > ? AND tick <= ?",
                (whole - TALK_TICKS, whole, whole - BUSY_TICKS, whole),
            )
            arr = np.array(rows, np.int64).reshape(-1, 5)
            talking = np.zeros(self._n, bool)
            said = arr[arr[:, 0] == 0]
            for col in (1, 2):
                ids = said[:, col]
                talking[ids[(ids >= 0) & (ids < self._n)]] = True
            busy = np.zeros(self._n, bool)
            dec = arr[arr[:, 0] == 1]
            if len(dec):
                dec = dec[np.lexsort((-dec[:, 4], -dec[:, 3]))]  # newest first, so np.unique finds each agent's last
                agents, first = np.unique(dec[:, 1], return_index=True)
                ok = (agents >= 0) & (agents < self._n)
                busy[agents[ok]] = dec[first[ok], 2].astype(bool)
            talk_busy = (talking, busy)
            self._states[whole] = talk_busy
            if len(self._states) > CACHE_TICKS:
                self._states.popitem(last=False)
        talking, busy = talk_busy
        state = np.full(self._n, IDLE, np.int8)
        state[busy] = BUSY
        state[moved] = WALKING
        state[talking] = TALKING
        return state

    # ------------------------------------------------------------ entities

    def _entities_at(self, whole: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[str]]:
        """The scene's entities plus the structures built up to `whole`: positions, radii, kinds, names, looks.

        Structures come from `build` events and stand where the builder stood.
        """
        self._load_builds()
        k = sum(1 for b in self._builds if b[0] <= whole)
        scene = self.run.scene_at(whole)
        if self._entities is not None and self._entities[0] == (k, id(scene)):
            return self._entities[1]
        ents = scene.entities
        pos = [tuple(e.pos) for e in ents] + self._build_pos[:k]
        radius = [e.radius for e in ents] + [BUILD_RECIPES[b[2]].radius for b in self._builds[:k]]
        kind = [e.kind for e in ents] + [BUILD_RECIPES[b[2]].builds for b in self._builds[:k]]
        name = [e.name for e in ents] + [structure_name(BUILD_RECIPES[b[2]].name, b[1]) for b in self._builds[:k]]
        look = [entity_look(e) for e in ents] + [structure_look(BUILD_RECIPES[b[2]].name) for b in self._builds[:k]]
        out = (np.array(pos, np.float32).reshape(-1, 2), np.array(radius, np.float32), kind, name, look)
        self._entities = ((k, id(scene)), out)
        return out

    def _stocks_at(self, whole: int, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Entity and zone stock fractions at `whole` (see `Frame.entity_stock`, `Frame.zone_stock`).

        The store keeps stocks only in checkpoints (`store.checkpoint_every`): they are read from the newest one
        at or before `whole` (decoded once per checkpoint, looked up once per tick). Before the first checkpoint,
        in a run without checkpoints, or when a live edit came between that checkpoint and `whole`, the scene's
        starting stocks stand in.
        """
        scene = self.run.scene_at(whole)
        key = (whole, m, id(scene))
        if self._stocks is not None and self._stocks[0] == key:
            return self._stocks[1]
        ents, zones = scene.entities, scene.zones
        node_max, pool_max = node_capacity(ents), zone_pools(zones)
        node_stock, node_of_entity = starting_nodes(ents)
        pool = pool_max
        at = self._q("SELECT max(tick) FROM checkpoints WHERE tick <= ?", (whole,))[0][0]
        saved = self._checkpoint_stocks(int(at)) if at is not None else None
        if saved is not None and self.run.scene_at(int(at)) is scene:
            stock, saved_pool, saved_nodes = saved
            if stock.shape == node_max.shape and saved_pool.shape == pool_max.shape:
                node_stock, pool, node_of_entity = stock, saved_pool, saved_nodes
        out = (
            entity_stock_fraction(node_stock, node_max, node_of_entity, m),
            zone_stock_fraction(pool, pool_max),
        )
        for a in out:
            a.setflags(write=False)
        self._stocks = (key, out)
        return out

    def _checkpoint_stocks(self, tick: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(node_stock, pool, node_of_entity) of the checkpoint at `tick` (LRU-cached; None if unreadable)."""
        if tick in self._checkpoints:
            self._checkpoints.move_to_end(tick)
            return self._checkpoints[tick]
        rows = self._q("SELECT state FROM checkpoints WHERE tick = ?", (tick,))
        out = None
        if rows:
            try:
                with np.load(io.BytesIO(rows[0][0]), allow_pickle=False) as npz:
                    out = (np.array(npz["node_stock"]), np.array(npz["pool"]), np.array(npz["node_of_entity"]))
            except (KeyError, ValueError, OSError, zipfile.BadZipFile):
                out = None  # a damaged checkpoint: the starting stocks stand in
        self._checkpoints[tick] = out
        if len(self._checkpoints) > CHECKPOINT_CACHE:
            self._checkpoints.popitem(last=False)
        return out

    def _carry_at(self, whole: int) -> np.ndarray:
        """(n,) int8 item each agent visibly carries at `whole` (see `Frame.carry`; one query per tick, cached).

        An agent whose last decision within `CARRY_TICKS` ticks, walks aside, was a gather that went ahead (an
        ok `gather` event at that tick) carries the item gathered, if it is one agents carry (`CARRIED_ITEMS`),
        as in the live world (`World.carrying`). The store does not say whether the agent still holds it
        (inventories are only in snapshots), so unlike the live source it is shown carried until the agent's
        next decision other than a walk.
        """
        hit = self._carry.get(whole)
        if hit is not None:
            self._carry.move_to_end(whole)
            return hit
        rows = self._q(
            "SELECT d.agent, e.item FROM decisions d "
            "JOIN (SELECT agent, max(tick) AS last FROM decisions WHERE tick > ? AND tick <= ? AND action != 'move_to' "
            "GROUP BY agent) l "
            "ON d.tick = l.last AND d.agent = l.agent "
            "JOIN events e ON e.tick = d.tick AND e.agent = d.agent AND e.kind = 'gather' AND e.ok = 1 "
            "WHERE d.action = 'gather' AND e.item IS NOT NULL",
            (whole - CARRY_TICKS, whole),
        )
        carry = np.full(self._n, -1, np.int8)
        arr = np.array(rows, np.int64).reshape(-1, 2)
        ok = (arr[:, 0] >= 0) & (arr[:, 0] < self._n) & np.isin(arr[:, 1], CARRIED_ITEMS)
        carry[arr[ok, 0]] = arr[ok, 1]
        carry.setflags(write=False)
        self._carry[whole] = carry
        if len(self._carry) > CACHE_TICKS:
            self._carry.popitem(last=False)
        return carry

    def _load_builds(self) -> None:
        """New builds since the last look, with the builder's recorded position at that tick."""
        hi = int(self._ticks[-1])
        if hi <= self._builds_upto:
            return
        rows = self._q(
            "SELECT tick, agent, item, other FROM events WHERE kind = 'build' AND ok = 1 AND tick > ? AND tick <= ? "
            "ORDER BY other",
            (self._builds_upto, hi),
        )
        for tick, agent, recipe, other in rows:  # a handful per run: one row each is fine
            if 0 <= recipe < len(BUILD_RECIPES) and 0 <= agent < self._n:
                self._builds.append((tick, agent, recipe, other))
                self._build_pos.append(tuple(float(v) for v in self._at(tick)[0][agent]))
        self._builds_upto = hi

    # ------------------------------------------------------------ feed lines
