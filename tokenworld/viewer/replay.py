"""`RunReplay`: a recorded run folder read back tick by tick for the viewer's timeline.

A run folder (``runs/<name>/``, written by ``tokenworld run``) holds the scene,
the manifest and the run store (see `tokenworld.sim.store`). Positions come
from the ``tracks`` table (every agent, every ``store.track_every`` ticks); a
run recorded without tracks falls back to the ``snapshots`` table (positions
only, heading 0). Positions between two recorded ticks are interpolated;
everything else (states, feed lines, series, agent cards) is queried from
the store, one query per frame at most, then worked out with numpy.

The store may still be being written by the run (SQLite in WAL mode): the
database is opened read-only and every read sees the ticks committed so far.
Pure numpy and sqlite3: no Panda3D or ImGui here.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import OrderedDict
from pathlib import Path
from typing import Self

import numpy as np

from tokenworld.errors import RunError, TokenWorldError
from tokenworld.mind.personas import NARRATOR, agent_name, persona
from tokenworld.scene.geometry import zone_membership
from tokenworld.scene.schema import ARCHETYPES, ITEMS, TRAITS, Scene
from tokenworld.sim.records import decode_track
from tokenworld.viewer.feed import (
    BUSY,
    IDLE,
    SERIES,
    STATE_NAMES,
    TALKING,
    WALKING,
    FeedLine,
    Frame,
    agent_card_keys,
    event_text,
)
from tokenworld.viewer.feed import num as _num
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES

TALK_TICKS = 5  # an agent that spoke or was spoken to within this many ticks is TALKING
BUSY_TICKS = 10  # an action other than idle / move_to started within this many ticks keeps it BUSY
MOVE_EPS = 0.05  # m moved since the previous recorded tick that counts as WALKING
CACHE_TICKS = 64  # decoded position frames kept for scrubbing
PARTNER_KINDS = ("talk", "trade", "give")  # events whose `other` is an agent
TWO_PI = 2.0 * math.pi
NEEDED_TABLES = {"ticks", "timings", "decisions", "events", "messages", "snapshots"}


class RunReplay:
    """A recorded run, read at any (fractional) tick.

    Args:
        folder: a run folder written by ``tokenworld run`` (``runs/<name>``).

    Raises:
        RunError: the folder is missing, is not a run folder, its store is
            damaged, or it holds no positions (neither tracks nor snapshots).
    """

    def __init__(self, folder: str | Path):
        self._folder = Path(folder)
        db = self._folder / "run.sqlite"
        if not self._folder.is_dir():
            raise RunError(
                f"no run folder at {self._folder}: record a run with `tokenworld run SCENE` first, then pass its folder (runs/<name>)."
            )
        if not db.is_file() or not (self._folder / "scene.toml").is_file():
            raise RunError(
                f"{self._folder} is not a run folder (it needs run.sqlite and scene.toml, which `tokenworld run SCENE` writes); "
                "pass a folder under runs/."
            )
        self._db = db
        # read-only: the run may still be writing it; any thread may read, one at a time
        self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
        try:
            tables = {r[0] for r in self._q("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not NEEDED_TABLES <= tables:
                missing = ", ".join(sorted(NEEDED_TABLES - tables))
                raise RunError(
                    f"{db} is not a Token World run store (no table {missing}); record the run again with `tokenworld run SCENE`."
                )
            self._scene = Scene.load(self._folder / "scene.toml")
            self._source = "tracks" if "tracks" in tables and self._q("SELECT 1 FROM tracks LIMIT 1") else "snapshots"
            # snapshot ticks are listed by the `social` table: one row per snapshot, written with it
            self._tick_sql = "SELECT tick FROM tracks" if self._source == "tracks" else "SELECT tick FROM social"
            self._ticks = np.zeros(0, np.int64)
            self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # tick -> (pos, heading)
            self._states: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # tick -> (talking, busy)
            self.refresh()
            if not len(self._ticks):
                raise RunError(
                    f"{self._folder} holds no agent positions yet: no `tracks` and no `snapshots` rows (the run had "
                    "[store] track_every = 0 and snapshot_every = 0, or has not reached its first recorded tick). "
                    "Wait for the run to go on, or record it again with `[store] track_every = 1`."
                )
        except BaseException:
            self.conn.close()
            raise
        sc = self._scene
        self._size = tuple(sc.world.size)
        self._n = sc.agent_count
        self._dt = sc.sim.dt
        counts = np.array([g.count for g in sc.groups], np.int64)
        self._group = np.repeat(np.arange(len(counts), dtype=np.int32), counts)  # spawn_agents' order
        self._zone_names = [z.name for z in sc.zones]
        self._builds: list[tuple[int, int, int, int]] = []  # (tick, agent, recipe, entity id), in entity order
        self._builds_upto = 0
        self._build_pos: list[tuple[float, float]] = []
        self._entities: tuple[int, tuple] | None = None
        self._agents = None  # the run's agent table, rebuilt on first need (traits)
        self._model = None  # which agents the language model decided for, worked out on first need
        self._series_upto = 0
        self._series_parts: list[dict[str, np.ndarray]] = []
        self._series_cat: dict[str, np.ndarray] | None = None
        self._uses_model = sc.mind.backend != "rules" and any(g.mind == "model" for g in sc.groups)

    # ------------------------------------------------------------ basics

    @property
    def scene(self) -> Scene:
        """The scene as run (the folder's scene.toml)."""
        return self._scene

    @property
    def folder(self) -> Path:
        return self._folder

    @property
    def n_agents(self) -> int:
        return self._n

    @property
    def traits(self) -> np.ndarray | None:
        """(n, 5) float32 traits (columns in `TRAITS` order) as the run drew them, or None for a run without a seed."""
        return self._traits()

    @property
    def archetype(self) -> np.ndarray:
        """(n,) int8 archetype of each agent (index into `ARCHETYPES`)."""
        arch = np.array([ARCHETYPES.index(g.archetype) for g in self._scene.groups] or [0], np.int8)
        return arch[self._group]

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
        """The run's manifest (manifest.json, else the store's copy; {} if neither is readable)."""
        try:
            return json.loads((self._folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            pass
        try:
            row = self._q("SELECT manifest FROM runs WHERE id = 1")
            return json.loads(row[0][0]) if row else {}
        except (RunError, json.JSONDecodeError):
            return {}

    def inference_stats(self) -> dict | None:
        """The language model's counters the run recorded when it ended (manifest "inference"), or None."""
        return self.manifest().get("inference")

    def close(self) -> None:
        """Close the store (the replay cannot be read afterwards)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _q(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        if self.conn is None:
            raise TokenWorldError(f"the replay of {self._folder} is closed; open a new RunReplay to read it.")
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise RunError(
                f"cannot read {self._db}: {exc}. The run store is damaged or is not one; record the run again with `tokenworld run SCENE`."
            ) from None

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
        if len(pos) != self._n:
            raise RunError(
                f"tick {tick} of {self._db} holds {len(pos)} agents but its scene has {self._n}; the run folder is damaged."
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
        whole = math.floor(t)
        state = self._state(whole, t)
        zone = zone_membership(pos, self._scene.zones)
        ent_pos, ent_radius, ent_kind, ent_name = self._entities_at(whole)
        return Frame(
            tick=whole, sim_time=t * self._dt, pos=pos, prev_pos=prev, heading=heading, state=state, zone=zone,
            entity_pos=ent_pos, entity_radius=ent_radius, entity_kind=ent_kind, entity_name=ent_name, interval=0.0,
        )  # fmt: skip

    def zone_counts(self, tick: float) -> np.ndarray:
        """Agents in each zone at `tick` (int64, one per scene zone; agents outside every zone are not counted)."""
        zone = self.frame(tick).zone
        return np.bincount(zone[zone >= 0], minlength=len(self._scene.zones)).astype(np.int64)

    def _state(self, whole: int, t: float) -> np.ndarray:
        """IDLE / WALKING / BUSY / TALKING per agent at tick `whole` (one query, then numpy)."""
        ticks = self._ticks
        j = max(int(np.searchsorted(ticks, t, side="right")) - 1, min(1, len(ticks) - 1))
        moved = np.zeros(self._n, bool)
        if j >= 1:
            p1, p0 = self._load(int(ticks[j]))[0], self._load(int(ticks[j - 1]))[0]
            moved = np.einsum("ij,ij->i", p1 - p0, p1 - p0) > MOVE_EPS * MOVE_EPS
        talk_busy = self._states.get(whole)
        if talk_busy is None:
            rows = self._q(
                "SELECT 0, speaker, listener, tick, rowid FROM messages WHERE tick > ? AND tick <= ? "
                "UNION ALL SELECT 1, agent, action NOT IN ('idle', 'move_to'), tick, rowid FROM decisions "
                "WHERE tick > ? AND tick <= ?",
                (whole - TALK_TICKS, whole, whole - BUSY_TICKS, whole),
            )  # fmt: skip
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

    def _entities_at(self, whole: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
        """The scene's entities plus the structures built up to `whole` (events of kind build, placed where the builder stood)."""
        self._load_builds()
        k = sum(1 for b in self._builds if b[0] <= whole)
        if self._entities is not None and self._entities[0] == k:
            return self._entities[1]
        ents = self._scene.entities
        pos = [tuple(e.pos) for e in ents] + self._build_pos[:k]
        radius = [e.radius for e in ents] + [BUILD_RECIPES[b[2]].radius for b in self._builds[:k]]
        kind = [e.kind for e in ents] + [BUILD_RECIPES[b[2]].builds for b in self._builds[:k]]
        name = [e.name for e in ents] + [f"{BUILD_RECIPES[b[2]].name} of agent {b[1]}" for b in self._builds[:k]]
        out = (np.array(pos, np.float32).reshape(-1, 2), np.array(radius, np.float32), kind, name)
        self._entities = (k, out)
        return out

    def _load_builds(self) -> None:
        """New builds since the last look, with the builder's recorded position at that tick."""
        hi = int(self._ticks[-1])
        if hi <= self._builds_upto:
            return
        rows = self._q(
            "SELECT tick, agent, item, other FROM events WHERE kind = 'build' AND ok = 1 AND tick > ? AND tick <= ? ORDER BY other",
            (self._builds_upto, hi),
        )
        for tick, agent, recipe, other in rows:  # a handful per run: one row each is fine
            if 0 <= recipe < len(BUILD_RECIPES) and 0 <= agent < self._n:
                self._builds.append((tick, agent, recipe, other))
                self._build_pos.append(tuple(float(v) for v in self._at(tick)[0][agent]))
        self._builds_upto = hi

    # ------------------------------------------------------------ feed lines

    def lines(
        self, until_tick: float, *, limit: int = 200, agent: int | None = None, zone: int | None = None,
        kinds: set[str] | list[str] | tuple[str, ...] | None = None,
    ) -> list[FeedLine]:  # fmt: skip
        """Conversations, notable events and game rounds at or before `until_tick`, oldest first, at most `limit`.

        Args:
            until_tick: the newest tick shown.
            limit: most lines returned (the newest ones).
            agent: only lines this agent takes part in (as actor, speaker, listener or partner).
            zone: only lines in this zone (a message is in its speaker's zone; rounds have none).
            kinds: only these kinds: 'talk', 'intervention' (the Narrator), 'round', 'refused', or
                the action of an event that went ahead ('gather', 'trade', 'craft', 'build', 'give', ...).
        """
        until = math.floor(_tick_value(until_tick))
        if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
            raise TokenWorldError(f"limit must be a whole number, 0 or more, found {limit!r}.")
        if agent is not None:
            agent = self._check_agent(agent)
        if zone is not None and not (isinstance(zone, (int, np.integer)) and -1 <= zone < len(self._scene.zones)):
            raise TokenWorldError(f"no zone {zone!r}: the scene's zones run from 0 to {len(self._scene.zones) - 1}.")
        wanted = None if kinds is None else {str(k) for k in kinds}
        if limit == 0:
            return []
        found: list[tuple[int, int, int, FeedLine]] = []
        if wanted is None or wanted & {"talk", "intervention"}:
            found += self._message_lines(until, limit, agent, zone, wanted)
        acts = None if wanted is None else wanted - {"talk", "intervention", "round", "refused"}
        if wanted is None or acts or "refused" in wanted:
            found += self._event_lines(until, limit, agent, zone, acts, wanted is None or "refused" in wanted)
        if (wanted is None or "round" in wanted) and zone is None:
            found += self._round_lines(until, limit, agent)
        found.sort(key=lambda f: f[:3])
        return [f[3] for f in found[-limit:]]

    def _message_lines(self, until: int, limit: int, agent, zone, wanted) -> list:
        speaker_zone = (
            "coalesce((SELECT e.zone FROM events e WHERE e.tick = m.tick AND e.agent = m.speaker AND e.kind = 'talk' "
            "AND e.ok = 1 LIMIT 1), -1)"
        )
        out = []
        if wanted is None or "talk" in wanted:
            cond, params = ["m.tick <= ?", "m.speaker != ?"], [until, NARRATOR]
            if agent is not None:
                cond.append("(m.speaker = ? OR m.listener = ?)")
                params += [agent, agent]
            if zone is not None:
                cond.append(f"{speaker_zone} = ?")
                params.append(zone)
            rows = self._q(
                f"SELECT m.rowid, m.tick, m.speaker, m.listener, {speaker_zone}, m.text FROM messages m "
                f"WHERE {' AND '.join(cond)} ORDER BY m.tick DESC, m.rowid DESC LIMIT ?",
                (*params, limit),
            )
            out += [(t, 1, rid, FeedLine(t, "talk", s, li, z, text)) for rid, t, s, li, z, text in rows]
        if (wanted is None or "intervention" in wanted) and zone in (None, -1):
            # What the Narrator said: an announcement to a zone reached many agents; it is one line.
            cond, params = ["tick <= ?", "speaker = ?"], [until, NARRATOR]
            if agent is not None:
                cond.append("listener = ?")
                params.append(agent)
            rows = self._q(
                f"SELECT min(rowid), tick, CASE count(*) WHEN 1 THEN min(listener) ELSE -1 END, text FROM messages "
                f"WHERE {' AND '.join(cond)} GROUP BY tick, text ORDER BY tick DESC, min(rowid) DESC LIMIT ?",
                (*params, limit),
            )
            out += [(t, 1, rid, FeedLine(t, "intervention", NARRATOR, li, -1, text)) for rid, t, li, text in rows]
        return out

    def _event_lines(self, until: int, limit: int, agent, zone, acts, refused: bool) -> list:
        partner = f"kind IN ({', '.join(repr(k) for k in PARTNER_KINDS)})"
        cond, params = ["tick <= ?", "NOT (kind = 'talk' AND ok = 1)"], [until]  # talks are in messages
        if agent is not None:
            cond.append(f"(agent = ? OR (other = ? AND {partner}))")
            params += [agent, agent]
        if zone is not None:
            cond.append("zone = ?")
            params.append(zone)
        which = []
        if acts is None:
            which.append("ok = 1")
        elif acts:
            which.append(f"(ok = 1 AND kind IN ({', '.join('?' * len(acts))}))")
            params += sorted(acts)
        if refused:
            which.append("ok = 0")
        cond.append(f"({' OR '.join(which)})")
        trade = "CASE WHEN kind = 'trade' AND ok = 1 THEN (SELECT d.{0} FROM decisions d WHERE d.tick = events.tick AND d.agent = events.agent AND d.action = 'trade' LIMIT 1) END"
        rows = self._q(
            f"SELECT rowid, tick, agent, kind, ok, reason, zone, other, item, amount, {trade.format('item2')}, "
            f"{trade.format('amount2')} FROM events WHERE {' AND '.join(cond)} ORDER BY tick DESC, rowid DESC LIMIT ?",
            (*params, limit),
        )
        out = []
        for rid, t, a, kind, ok, reason, z, other, item, amount, item2, amount2 in rows:
            other = other if kind in PARTNER_KINDS and other is not None else -1
            text = event_text(kind, ok, reason, other, item, amount, item2, amount2)
            out.append((t, 0, rid, FeedLine(t, kind if ok else "refused", a, other, -1 if z is None else z, text)))
        return out

    def _round_lines(self, until: int, limit: int, agent) -> list:
        cond, params = ["tick <= ?"], [until]
        if agent is not None:
            cond.append("winner = ?")
            params.append(agent)
        rows = self._q(
            f"SELECT round, tick, guesses, average, target, winner, winners, winning_guess FROM rounds "
            f"WHERE {' AND '.join(cond)} ORDER BY tick DESC LIMIT ?",
            (*params, limit),
        )
        out = []
        for rnd, t, guesses, average, target, winner, winners, best in rows:
            text = f"round {rnd}: {guesses} guesses, average {_num(average)}, target {_num(target)}"
            if winner is not None and winner >= 0:
                others = f" (and {winners - 1} more)" if winners and winners > 1 else ""
                text += f"; {agent_name(winner)} won with {_num(best)}{others}"
            out.append((t, 2, rnd, FeedLine(t, "round", -1, -1 if winner is None else winner, -1, text)))
        return out

    # ------------------------------------------------------------ series

    def series(self, until_tick: float | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-tick series for the Plots panel: name -> (ticks, values), all on the `ticks` table's ticks.

        Every key of `feed.SERIES`, `price_<item>` and `total_<item>` for each
        item, and for runs with a language model `model_decisions` (per tick),
        `latency_ms` (mean per tick, NaN without one) and `tokens_out` (per tick).
        Arrays are read-only and shared between calls.
        """
        self._grow_series()
        cat = self._series_cat
        ticks = cat["tick"]
        end = len(ticks) if until_tick is None else int(np.searchsorted(ticks, _tick_value(until_tick), side="right"))
        return {k: (ticks[:end], v[:end]) for k, v in cat.items() if k != "tick"}

    def _grow_series(self) -> None:
        """Read the metrics rows committed since the last call (up to the newest `ticks` row, so every table is complete there)."""
        hi = self._q("SELECT max(tick) FROM ticks")[0][0]
        if self._series_cat is not None and (hi is None or hi <= self._series_upto):
            return
        lo = self._series_upto
        hi = lo if hi is None else hi
        cols = ("tick", *SERIES)
        rows = self._q(f"SELECT {', '.join(cols)} FROM ticks WHERE tick > ? AND tick <= ? ORDER BY tick", (lo, hi))
        arr = np.array(rows, np.float64).reshape(-1, len(cols))
        ticks = arr[:, 0].astype(np.int64)
        part = {"tick": ticks, **{k: arr[:, i + 1] for i, k in enumerate(SERIES)}}
        rows = self._q("SELECT tick, item, total, price FROM items WHERE tick > ? AND tick <= ?", (lo, hi))
        col = {it: i for i, it in enumerate(ITEMS)}
        totals = np.full((len(ticks), len(ITEMS)), np.nan)
        prices = np.full((len(ticks), len(ITEMS)), np.nan)
        if rows:
            t = np.array([r[0] for r in rows], np.int64)
            it = np.array([col.get(r[1], -1) for r in rows], np.int64)
            where = np.searchsorted(ticks, t)
            ok = (it >= 0) & (where < len(ticks))
            ok[ok] &= ticks[where[ok]] == t[ok]
            totals[where[ok], it[ok]] = np.array([r[2] for r in rows], np.float64)[ok]
            prices[where[ok], it[ok]] = np.array([r[3] for r in rows], np.float64)[ok]
        for i, it in enumerate(ITEMS):
            part[f"price_{it}"] = prices[:, i]
            part[f"total_{it}"] = totals[:, i]
        if self._uses_model:
            part.update(self._model_series(ticks, lo, hi))
        self._series_parts.append(part)
        self._series_upto = hi
        cat = {k: np.concatenate([p[k] for p in self._series_parts]) for k in part}
        for v in cat.values():
            v.setflags(write=False)
        self._series_parts = [cat]
        self._series_cat = cat

    def _model_series(self, ticks: np.ndarray, lo: int, hi: int) -> dict[str, np.ndarray]:
        """Model decisions, mean latency and tokens written per tick, binned onto `ticks` (metrics may skip ticks)."""
        rows = self._q(
            "SELECT tick, count(*), sum(latency_ms), sum(tokens_out) FROM decisions "
            "WHERE source = 'model' AND tick > ? AND tick <= ? GROUP BY tick",
            (lo, hi),
        )
        arr = np.array(rows, np.float64).reshape(-1, 4)
        m = len(ticks)
        if not m:
            return {k: np.zeros(0) for k in ("model_decisions", "latency_ms", "tokens_out")}
        width = np.diff(np.concatenate([[lo], ticks])).astype(np.float64)  # ticks each metrics row stands for
        b = np.minimum(np.searchsorted(ticks, arr[:, 0].astype(np.int64), side="left"), m - 1)
        count = np.bincount(b, arr[:, 1], minlength=m)
        latency = np.bincount(b, np.nan_to_num(arr[:, 2]), minlength=m)
        tokens = np.bincount(b, np.nan_to_num(arr[:, 3]), minlength=m)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_latency = np.where(count > 0, latency / count, np.nan)
        return {"model_decisions": count / width, "latency_ms": mean_latency, "tokens_out": tokens / width}

    # ------------------------------------------------------------ agent cards

    def agent_info(self, agent: int, tick: float) -> dict:
        """What the agent card shows for `agent` at `tick`: exactly the keys of `feed.agent_card_keys()`.

        Traits come from the run's agent table, rebuilt from the scene and the
        run's seed exactly as the run built it; needs and inventory from the
        newest snapshot at or before `tick` (None without one); plan and
        prompts are not recorded (None).
        """
        a = self._check_agent(agent)
        t = _tick_value(tick)
        frame = self.frame(t)
        whole = frame.tick
        g = int(self._group[a])
        group = self._scene.groups[g]
        archetype = ARCHETYPES.index(group.archetype)
        traits = self._traits()
        info = dict.fromkeys(agent_card_keys())
        z = int(frame.zone[a])
        info.update(
            id=a, name=agent_name(a), archetype=group.archetype, group=group.name, mind=self._mind_of(a),
            zone=self._zone_names[z] if z >= 0 else None, state=STATE_NAMES[int(frame.state[a])],
        )  # fmt: skip
        if traits is not None:
            info["traits"] = {name: float(traits[a, i]) for i, name in enumerate(TRAITS)}
            info["persona"] = persona(a, archetype, traits[a])
        snap = self._q("SELECT max(tick) FROM social WHERE tick <= ?", (whole,))[0][0]
        if snap is not None:
            row = self._q("SELECT hunger, energy, inventory FROM snapshots WHERE tick = ? AND agent = ?", (snap, a))
            if row:
                hunger, energy, inventory = row[0]
                info["needs"] = {"hunger": hunger, "energy": energy}
                info["inventory"] = json.loads(inventory) if inventory else {}
        info["memories"] = [_memory_line(line, a) for line in self.lines(whole, limit=8, agent=a)]
        rows = self._q(
            "SELECT tick, action, target_kind, target, item, amount, item2, amount2, text, source FROM decisions "
            "WHERE agent = ? AND tick <= ? ORDER BY tick DESC, rowid DESC LIMIT 5",
            (a, whole),
        )
        if rows:
            info["last_answer"] = self._decision_text(rows[0][1:])
        info["recent"] = [f"tick {r[0]}: {self._decision_text(r[1:])}" for r in reversed(rows)]
        ties = self._q(
            "SELECT CASE WHEN agent = ? THEN other ELSE agent END AS p, count(*) AS c FROM events "
            f"WHERE ok = 1 AND kind IN ({', '.join(repr(k) for k in PARTNER_KINDS)}) AND tick <= ? "
            "AND (agent = ? OR other = ?) GROUP BY p ORDER BY c DESC, p LIMIT 5",
            (a, whole, a, a),
        )
        info["ties"] = [(agent_name(p), c) for p, c in ties if p is not None and p >= 0]
        return info

    def _check_agent(self, agent) -> int:
        if isinstance(agent, bool) or not isinstance(agent, (int, np.integer)) or not 0 <= agent < self._n:
            raise TokenWorldError(f"no agent {agent!r} in {self._folder}: agent ids run from 0 to {self._n - 1}.")
        return int(agent)

    def _traits(self) -> np.ndarray | None:
        """(n, 5) traits as the run drew them (its World seeds spawning with `[seed, 1]`), or None without a seed."""
        if self._agents is None:
            from tokenworld.world.agents import run_agents

            seed = self.manifest().get("seed", self._scene.sim.seed)
            if seed is None:
                return None
            self._agents = run_agents(self._scene, seed)
        return self._agents.traits

    def _mind_of(self, agent: int) -> str:
        """'model' if the language model decided for the agent in this run, else its group's mind ('model' groups
        without a model backend, or outside `llm_fraction`, are decided by the rules brain)."""
        group_mind = self._scene.groups[int(self._group[agent])].mind
        if group_mind != "model":
            return group_mind
        if not self._uses_model:
            return "rules"
        if self._model is None:
            seed = self.manifest().get("seed", self._scene.sim.seed)
            if seed is None:
                return "model"
            from tokenworld.world.agents import llm_share

            self._model = llm_share(seed, self._n, self._scene.mind.llm_fraction)
        return "model" if self._model[agent] else "rules"

    def _decision_text(self, row: tuple) -> str:
        """'move_to market (rules)', 'trade Ben 2 wood for 1 food (model)', 'talk Ada "Hello" (rules)'."""
        action, target_kind, target, item, amount, item2, amount2, text, source = row
        parts = [action]
        if target_kind == "agent" and target is not None and target >= 0:
            parts.append(agent_name(target))
        elif target_kind == "zone" and target is not None and 0 <= target < len(self._zone_names):
            parts.append(self._zone_names[target])
        elif target_kind == "entity" and target is not None and target >= 0:
            names = self._entities_at(self.last_tick)[3]
            parts.append(names[target] if target < len(names) and names[target] else f"entity {target}")
        if action in ("craft", "build"):
            recipes = CRAFT_RECIPES if action == "craft" else BUILD_RECIPES
            if item is not None and 0 <= item < len(recipes):
                parts.append(recipes[item].name)
        elif action == "guess":
            parts.append(_num(amount))
        elif item is not None and 0 <= item < len(ITEMS):
            parts.append(f"{_num(amount)} {ITEMS[item]}" if amount else ITEMS[item])
            if item2 is not None and 0 <= item2 < len(ITEMS):
                parts.append(f"for {_num(amount2)} {ITEMS[item2]}")
        if text:
            parts.append(json.dumps(text, ensure_ascii=False))
        return " ".join(parts) + f" ({source})"


# ------------------------------------------------------------ helpers


def _tick_value(tick) -> float:
    try:
        t = float(tick)
    except (TypeError, ValueError):
        raise TokenWorldError(f"a tick must be a number, found {tick!r}.") from None
    if not math.isfinite(t):
        raise TokenWorldError(f"a tick must be a finite number, found {tick!r}.")
    return t


def _memory_line(line: FeedLine, agent: int) -> str:
    """A feed line told from `agent`'s side, short: 'tick 22: said to Hugo: "Hello"'."""
    if line.kind in ("talk", "intervention"):
        if line.agent == agent:
            what = f"said to {agent_name(line.other)}: {json.dumps(line.text, ensure_ascii=False)}"
        else:
            what = f"{agent_name(line.agent)} said: {json.dumps(line.text, ensure_ascii=False)}"
    elif line.agent != agent and line.agent >= 0:
        what = f"{agent_name(line.agent)} {line.text}"
    else:
        what = line.text
    return f"tick {line.tick}: {what}"
