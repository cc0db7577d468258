"""The run folder: a copy of the scene, a manifest, and the run store (SQLite).

``runs/<name>/`` holds ``scene.toml`` (the scene as run, self-contained),
``manifest.json`` (version, seed, arch, timings, status) and ``run.sqlite``:
SQLite in WAL mode, written one transaction per tick, so a run killed at any
moment keeps every tick it committed. Tables:

- ``runs``: the manifest (the same JSON as manifest.json, kept in step);
- ``agents``: who each agent is, written once the run is built (id, group,
  archetype, Big Five traits, name, whether a language model decides for it),
  so readers never rebuild agents from the seed;
- ``ticks``: population metrics per tick (movement, needs, decisions, trades,
  talks, ties); ``zone_counts`` (tick, zone, agents); ``items`` (tick, item,
  total in the world, price); ``zones`` (zone, name, kind);
- ``decisions``: every decision applied (agent, tick, action, arguments,
  source, prompt hash, tokens in/out, latency);
- ``events``: every refused decision with its reason, and what notable
  actions did (gathered amounts, crafts, trades, talks, builds); routine
  actions that went ahead are in ``decisions`` only; ``messages``: everything
  said (tick, speaker, listener, text);
- ``snapshots``: every agent's position, zone, needs and inventory, every
  ``store.snapshot_every`` ticks; ``social``: tie-graph summaries at the same ticks;
- ``tracks``: every agent's position and heading, compact, every
  ``store.track_every`` ticks, for replay: one row per tick, ``xy`` holds x and
  y as little-endian uint16 over the world's width and depth (agent-major,
  ``x / width * 65535`` rounded), ``heading`` one uint8 per agent over
  [0, 2pi) (see `tokenworld.sim.records.track_blobs` and `decode_track`);
- ``checkpoints``: the full engine and world state (compressed numpy arrays
  plus random generator states), every ``store.checkpoint_every`` ticks;
- ``rounds``: guess-the-average results; ``timings``: wall time per tick and
  stage (the only table that differs between two runs of the same seed).

``PRAGMA user_version`` holds the store's schema version
(`tokenworld.sim.run_folder.STORE_VERSION`); readers refuse other versions.
Read a run folder with `tokenworld.sim.run_folder.RunFolder`.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

from tokenworld.errors import RunError
from tokenworld.mind.personas import agent_name
from tokenworld.scene.schema import ARCHETYPES, ITEMS, TRAITS, Scene
from tokenworld.sim.records import decision_rows, event_rows, snapshot_rows, track_blobs
from tokenworld.sim.run_folder import MANIFEST_FILE, SCENE_FILE, STORE_FILE, STORE_VERSION, RunFolder, make_folder

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY CHECK (id = 1), manifest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS zones (zone INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agents (
    agent INTEGER PRIMARY KEY, grp INTEGER NOT NULL, group_name TEXT NOT NULL, archetype TEXT NOT NULL,
    openness REAL NOT NULL, conscientiousness REAL NOT NULL, extraversion REAL NOT NULL, agreeableness REAL NOT NULL,
    neuroticism REAL NOT NULL, name TEXT NOT NULL, model INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ticks (
    tick INTEGER PRIMARY KEY, sim_time REAL NOT NULL, moving INTEGER NOT NULL, mean_speed REAL NOT NULL,
    arrived INTEGER NOT NULL, mean_neighbours REAL NOT NULL, outside_zones INTEGER NOT NULL,
    mean_hunger REAL, mean_energy REAL, decisions INTEGER, refused INTEGER, trades INTEGER, talks INTEGER,
    ties INTEGER, mean_degree REAL
);
CREATE TABLE IF NOT EXISTS zone_counts (
    tick INTEGER NOT NULL, zone INTEGER NOT NULL, agents INTEGER NOT NULL, PRIMARY KEY (tick, zone)
);
CREATE TABLE IF NOT EXISTS items (
    tick INTEGER NOT NULL, item TEXT NOT NULL, total REAL NOT NULL, price REAL NOT NULL, PRIMARY KEY (tick, item)
);
CREATE TABLE IF NOT EXISTS decisions (
    tick INTEGER NOT NULL, agent INTEGER NOT NULL, action TEXT NOT NULL, target_kind TEXT, target INTEGER,
    item INTEGER, amount REAL, item2 INTEGER, amount2 REAL, text TEXT, source TEXT NOT NULL,
    prompt_hash TEXT, tokens_in INTEGER, tokens_out INTEGER, latency_ms REAL, replica INTEGER, steer INTEGER
);
CREATE INDEX IF NOT EXISTS decisions_tick ON decisions (tick);
CREATE TABLE IF NOT EXISTS events (
    tick INTEGER NOT NULL, agent INTEGER NOT NULL, kind TEXT NOT NULL, ok INTEGER NOT NULL, reason TEXT NOT NULL,
    zone INTEGER, other INTEGER, item INTEGER, amount REAL, text TEXT
);
CREATE INDEX IF NOT EXISTS events_tick ON events (tick);
CREATE TABLE IF NOT EXISTS messages (
    tick INTEGER NOT NULL, speaker INTEGER NOT NULL, listener INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_tick ON messages (tick);
CREATE TABLE IF NOT EXISTS snapshots (
    tick INTEGER NOT NULL, agent INTEGER NOT NULL, x REAL, y REAL, zone INTEGER, hunger REAL, energy REAL,
    inventory TEXT, PRIMARY KEY (tick, agent)
);
CREATE TABLE IF NOT EXISTS social (
    tick INTEGER PRIMARY KEY, edges INTEGER, mean_degree REAL, clustering REAL, communities INTEGER
);
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY, tick INTEGER NOT NULL, guesses INTEGER, average REAL, target REAL,
    winner INTEGER, winners INTEGER, winning_guess REAL
);
CREATE TABLE IF NOT EXISTS tracks (tick INTEGER PRIMARY KEY, xy BLOB NOT NULL, heading BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS scene_edits (
    tick INTEGER NOT NULL, label TEXT NOT NULL, scene TEXT NOT NULL, agents_before INTEGER NOT NULL,
    agents_after INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS steering (bucket INTEGER PRIMARY KEY, coefficients TEXT NOT NULL, agents INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (tick INTEGER PRIMARY KEY, state BLOB NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS timings (
    tick INTEGER PRIMARY KEY, step_ms REAL, hash_ms REAL, perception_ms REAL, motion_ms REAL, zones_ms REAL
);
"""
TICK_TABLES = (
    "ticks",
    "zone_counts",
    "items",
    "decisions",
    "events",
    "messages",
    "snapshots",
    "social",
    "tracks",
    "rounds",
    "checkpoints",
    "timings",
    "scene_edits",
)

MIN_FREE_BYTES = 64 * 1024 * 1024
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def default_run_name(scene: Scene) -> str:
    """`<scene>-<YYYYmmdd-HHMMSS>`, a usable folder name whatever the scene's name (`RunStore.create` with
    `unique` adds ``-02``, ``-03``, ... when two runs start in the same second)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", scene.name).strip("-._")[:64].rstrip("-._") or "run"
    return f"{base}-{time.strftime('%Y%m%d-%H%M%S')}"


def _check_space(folder: Path) -> None:
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise RunError(
            f"only {free // (1024 * 1024)} MiB free under {folder}; a run needs at least "
            f"{MIN_FREE_BYTES // (1024 * 1024)} MiB."
        )


class RunStore:
    """Creates (or reopens) a run folder and writes a run into it.

    All checks (name, existing folder, writable parent, free space) happen
    before the run starts, so a failure never leaves a half-made store.
    """

    def __init__(self, folder: Path, conn: sqlite3.Connection, lock=None):
        self.folder = folder
        self.conn = conn
        self._lock = lock  # open file holding an exclusive flock while this process writes the run
        self._writer: _WriterProcess | None = None

    @classmethod
    def create(cls, runs_dir: str | Path, name: str, scene: Scene, *, unique: bool = False) -> "RunStore":
        """Make ``runs_dir/name`` with the scene copy and an empty store.

        With `unique` (a name the user did not choose), a taken name gets a suffix (``-02``, ``-03``, ...), taken
        atomically, so two runs started in the same second get two folders that still sort by time.
        """
        if not NAME_RE.match(name):
            raise RunError(
                f"run name {name!r} is not usable as a folder name: start with an ASCII letter or digit, then use "
                "ASCII letters, digits, '.', '_' and '-', at most 100 characters."
            )
        runs_dir = Path(runs_dir)
        folder = runs_dir / name
        if folder.exists() and not unique:
            raise RunError(
                f"run folder {folder} exists already; pick another --name, remove it, "
                f"or continue it with --resume {folder}."
            )
        make_folder(runs_dir, what="the runs folder", option="--runs-dir")
        if not os.access(runs_dir, os.W_OK):
            raise RunError(f"the runs folder {runs_dir} is not writable; pass --runs-dir to a writable place.")
        _check_space(runs_dir)
        folder = _make_folder(runs_dir, name, unique)  # before the try: its cleanup removes only this new folder
        try:
            lock = lock_folder(folder)
            scene.save(folder / SCENE_FILE)
            conn = _connect(folder / STORE_FILE)
            conn.execute(f"PRAGMA user_version = {STORE_VERSION}")
            with conn:
                conn.executemany(
                    "INSERT INTO zones VALUES (?, ?, ?)", [(i, z.name, z.kind) for i, z in enumerate(scene.zones)]
                )
        except (OSError, sqlite3.Error) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise RunError(f"cannot write the run folder {folder}: {exc}.") from None
        return cls(folder, conn, lock)

    @classmethod
    def reopen(cls, folder: str | Path) -> "RunStore":
        """Open an existing run folder to continue it."""
        folder = Path(folder)
        db = folder / STORE_FILE
        RunFolder.open(folder).close()  # the one check of a run folder (and of its store's version)
        if not (folder / MANIFEST_FILE).is_file():
            raise RunError(f"{folder} has no {MANIFEST_FILE}, so it cannot be continued; record the run again.")
        if not os.access(folder, os.W_OK) or not os.access(db, os.W_OK):
            raise RunError(f"{folder} is not writable; a resumed run writes into it.")
        _check_space(folder)
        lock = lock_folder(folder)
        try:
            return cls(folder, _connect(db), lock)
        except sqlite3.Error as exc:
            lock.close()
            raise RunError(f"cannot open {db}: {exc}.") from None

    # ------------------------------------------------------------ reading

    def manifest(self) -> dict:
        try:
            return json.loads((self.folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"cannot read {self.folder / 'manifest.json'}: {exc}.") from None

    def last_checkpoint(self) -> tuple[int, dict[str, np.ndarray], str] | None:
        """The newest checkpoint (tick, arrays, meta JSON), or None."""
        row = self.conn.execute("SELECT tick, state, meta FROM checkpoints ORDER BY tick DESC LIMIT 1").fetchone()
        if row is None:
            return None
        with np.load(io.BytesIO(row[1]), allow_pickle=False) as npz:
            return row[0], {k: npz[k] for k in npz.files}, row[2]

    def conn_ticks(self) -> int:
        """The last tick committed to the store (0 if none), read from the file."""
        with sqlite3.connect(f"file:{self.folder / 'run.sqlite'}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT coalesce(max(tick), 0) FROM timings").fetchone()[0])

    def scene_edits(self, until: int) -> list[tuple[int, str, dict]]:
        """Live edits made before tick `until` and earlier: (tick, label, scene data), in the order made."""
        rows = self.conn.execute(
            "SELECT tick, label, scene FROM scene_edits WHERE tick <= ? ORDER BY rowid", (until,)
        ).fetchall()
        return [(int(t), label, json.loads(scene)) for t, label, scene in rows]

    def truncate_after(self, tick: int, *, agents: int | None = None) -> None:
        """Forget every row written after `tick` (they will be written again, identically), and the agents from
        id `agents` on (those who joined later)."""
        if agents is not None:
            with self.conn:
                self.conn.execute("DELETE FROM agents WHERE agent >= ?", (agents,))
        with self.conn:
            for table in TICK_TABLES:
                self.conn.execute(f"DELETE FROM {table} WHERE tick > ?", (tick,))  # noqa: S608 (fixed names)

    # ------------------------------------------------------------ writing

    def write_tick(self, sim, result, *, checkpoint: bool = False, snapshot: bool = False, track: bool = False) -> None:
        """Record one tick in one transaction (metrics, decisions, events, messages, ...).

        `checkpoint`, `snapshot` and `track` add this tick's checkpoint, agent
        snapshot and position track (`tick_recorder` decides them from the scene).

        With a writer process (`start_writer`), this only takes copies of
        what the tick produced and queues them; the writer commits them in
        order, one transaction per tick.
        """
        record = capture_tick(sim, result, checkpoint=checkpoint, snapshot=snapshot, track=track)
        if self._writer is None:
            self._write(record)
            return
        self._writer.put(record)

    def start_writer(self) -> None:
        """Commit ticks in a writer process, so the simulation waits neither for the disk nor for row-building.

        From here on the writer owns the store; this object only queues ticks.
        """
        self.conn.close()
        self.conn = None
        self._writer = _WriterProcess(self.folder)

    def _write(self, rec: dict) -> None:
        tick, metrics = rec["tick"], rec["metrics"]
        try:
            with self.conn:
                c = self.conn
                if metrics is not None:
                    c.execute(
                        "INSERT INTO ticks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            tick,
                            rec["sim_time"],
                            metrics["moving"],
                            metrics["mean_speed"],
                            metrics["arrived"],
                            metrics["mean_neighbours"],
                            metrics["outside_zones"],
                            metrics["mean_hunger"],
                            metrics["mean_energy"],
                            metrics["decisions"],
                            metrics["refused"],
                            metrics["trades"],
                            metrics["talks"],
                            metrics["ties"],
                            metrics["mean_degree"],
                        ),
                    )
                    c.executemany(
                        "INSERT INTO zone_counts VALUES (?, ?, ?)",
                        [(tick, z, n) for z, n in enumerate(metrics["zone_counts"])],
                    )
                    prices = metrics["prices"]
                    c.executemany(
                        "INSERT INTO items VALUES (?, ?, ?, ?)",
                        [(tick, it, tot, prices[it]) for it, tot in zip(ITEMS, metrics["item_totals"], strict=False)],
                    )
                if rec["decisions"] is not None and len(rec["decisions"]):
                    c.executemany(
                        "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        decision_rows(tick, rec["decisions"]),
                    )
                for ev in rec["events"]:
                    c.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", event_rows(ev))
                if rec["messages"]:
                    c.executemany("INSERT INTO messages VALUES (?, ?, ?, ?)", rec["messages"])
                r = rec["game_round"]
                if r is not None:
                    c.execute(
                        "INSERT INTO rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (r.round, r.tick, r.guesses, r.average, r.target, r.winner, r.winners, r.winning_guess),
                    )
                if rec["snapshot"] is not None:
                    snap = rec["snapshot"]
                    c.executemany("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)", snapshot_rows(tick, snap))
                    g = snap["social"].summary(seed=rec["seed"])
                    c.execute(
                        "INSERT INTO social VALUES (?, ?, ?, ?, ?)",
                        (tick, g["edges"], g["mean_degree"], g["clustering"], g["communities"]),
                    )
                if rec["track"] is not None:
                    t = rec["track"]
                    c.execute(
                        "INSERT INTO tracks VALUES (?, ?, ?)", (tick, *track_blobs(t["pos"], t["heading"], t["size"]))
                    )
                for edit in rec["edits"]:
                    c.execute("INSERT INTO scene_edits VALUES (?, ?, ?, ?, ?)", edit)
                if rec["agents"]:
                    c.executemany(f"INSERT OR REPLACE INTO agents VALUES ({AGENT_MARKS})", rec["agents"])
                if rec["checkpoint"] is not None:
                    state, meta = rec["checkpoint"]
                    buf = io.BytesIO()
                    np.savez_compressed(buf, **state)
                    c.execute("INSERT INTO checkpoints VALUES (?, ?, ?)", (tick, buf.getvalue(), meta))
                s = rec["stage_ms"]
                c.execute(
                    "INSERT INTO timings VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        tick,
                        rec["step_ms"],
                        s.get("hash_ms"),
                        s.get("perception_ms"),
                        s.get("motion_ms"),
                        s.get("zones_ms"),
                    ),
                )
        except sqlite3.Error as exc:
            raise RunError(
                f"cannot write tick {tick} to {self.folder / 'run.sqlite'}: {exc}. Ticks before it are kept."
            ) from None

    def write_agents(self, sim) -> None:
        """Record who the built simulation's agents are (the `agents` table), once, before its first tick.

        Agents that join later (a live edit) are added with the tick they join at."""
        try:  # its own short connection, as for the manifest: a writer process may own the main one
            with sqlite3.connect(self.folder / STORE_FILE, timeout=30) as conn:
                conn.execute("DELETE FROM agents")
                conn.executemany(f"INSERT INTO agents VALUES ({AGENT_MARKS})", agent_rows(sim))
                conn.execute("DELETE FROM steering")
                conn.executemany("INSERT INTO steering VALUES (?, ?, ?)", steering_rows(sim))
            conn.close()
        except sqlite3.Error as exc:
            raise RunError(f"cannot record the agents in {self.folder / STORE_FILE}: {exc}.") from None

    def write_manifest(self, manifest: dict) -> None:
        """Write (or rewrite) manifest.json atomically, and the same into the `runs` table."""
        text = json.dumps(manifest, indent=2, sort_keys=True)
        path = self.folder / MANIFEST_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
        try:  # its own short connection: a writer process may own the main one
            with sqlite3.connect(self.folder / STORE_FILE, timeout=30) as conn:
                conn.execute("INSERT OR REPLACE INTO runs VALUES (1, ?)", (text,))
            conn.close()
        except sqlite3.Error as exc:
            raise RunError(f"cannot record the manifest in {self.folder / 'run.sqlite'}: {exc}.") from None

    def close(self) -> None:
        """Wait for queued ticks to be committed, then close the store."""
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            self._writer = None
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            if self._lock is not None:
                self._lock.close()  # releases the flock
                self._lock = None


AGENT_MARKS = ", ".join("?" * (6 + len(TRAITS)))  # the agents table's columns


def steering_rows(sim) -> list[tuple]:
    """Rows of the `steering` table: each steering profile (bucket), its coefficients (JSON, TRAITS order) and how
    many agents hold it; none without steering."""
    minds = sim.minds
    if minds is None or minds.steer is None:
        return []
    counts = np.bincount(minds.bucket[minds.agents], minlength=len(minds.bucket_profiles))
    return [
        (b, json.dumps([round(float(c), 4) + 0.0 for c in coef]), int(counts[b]))
        for b, coef in enumerate(minds.bucket_profiles)
    ]


def agent_rows(sim, first: int = 0) -> list[tuple]:
    """Rows of the `agents` table for the simulation's agents from id `first` on."""
    a = sim.world.agents
    groups = sim.scene.groups
    model = sim.minds.is_model if sim.minds is not None else np.zeros(a.n, bool)
    ids = range(first, a.n)
    group = a.group[first:].tolist()
    return list(
        zip(
            ids,
            group,
            [groups[g].name for g in group],
            [ARCHETYPES[k] for k in a.archetype[first:].tolist()],
            *a.traits[first:].astype(np.float64).T.tolist(),
            [agent_name(i) for i in ids],
            model[first:].astype(int).tolist(),
            strict=True,
        )
    )


def capture_tick(sim, result, *, checkpoint: bool, snapshot: bool, track: bool = False) -> dict:
    """Copies of everything a tick writes, safe to hand to another thread."""
    from tokenworld.world.social import SocialGraph

    rec = {
        "tick": result.tick,
        "sim_time": sim.sim_time,
        "metrics": result.metrics,
        "decisions": result.decisions,
        "events": result.events,
        "messages": result.messages,
        "game_round": result.game_round,
        "step_ms": result.step_ms,
        "stage_ms": result.stage_ms,
        "seed": sim.seed,
        "snapshot": None,
        "checkpoint": None,
        "track": None,
        "edits": [(e.tick, e.label, e.scene_json(), e.agents_before, e.agents_after) for e in result.edits],
        "agents": agent_rows(sim, min(e.agents_before for e in result.edits)) if result.edits else [],
    }
    if snapshot:
        w = sim.world
        social = SocialGraph(w.n_agents)
        social.restore({k: v.copy() for k, v in w.social.state().items()})
        rec["snapshot"] = {
            **w.engine.snapshot(("pos", "zone")),
            "hunger": w.economy.hunger.copy(),
            "energy": w.economy.energy.copy(),
            "inventory": w.economy.inventory.copy(),
            "social": social,
        }
    if track:  # encoded by whoever commits the tick (the writer process), not here
        rec["track"] = {**sim.world.engine.snapshot(("pos", "heading")), "size": tuple(sim.scene.world.size)}
    if checkpoint:
        state, meta = sim.checkpoint()
        rec["checkpoint"] = ({k: np.array(v, copy=True) for k, v in state.items()}, meta)
    return rec


class _WriterProcess:
    """A child process that commits the ticks it is sent, in order, one transaction each.

    A process, not a thread: turning arrays into SQLite rows holds Python's
    GIL, which a thread would take from the simulation. Ticks go down its
    stdin as pickles (the pipe's buffer bounds how far it may lag); it dies
    with its parent, so a killed run stops writing at once; its first error
    surfaces here on the next `put` or on `close`.
    """

    def __init__(self, folder: Path):
        import subprocess
        import sys

        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tokenworld.sim.writer", str(folder), str(os.getpid())],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def _failed(self) -> RunError:
        self._proc.wait()
        message = self._proc.stderr.read().decode(errors="replace").strip().splitlines()
        return RunError(
            message[-1] if message else f"the run store's writer stopped (exit code {self._proc.returncode})."
        )

    def put(self, rec: dict) -> None:
        import pickle

        if self._proc.poll() is not None:
            raise self._failed()
        try:
            pickle.dump(rec, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise self._failed() from None

    def close(self) -> None:
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass
        if self._proc.wait() != 0:
            raise self._failed()


def _make_folder(runs_dir: Path, name: str, unique: bool) -> Path:
    """Create ``runs_dir/name`` (or, with `unique`, the first free ``name-NN``) with one atomic mkdir each."""
    for k in range(1, 100 if unique else 2):
        folder = runs_dir / (name if k == 1 else f"{name}-{k:02d}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            if not unique:
                raise RunError(f"run folder {folder} exists already; pick another --name.") from None
        except OSError as exc:
            raise RunError(
                f"cannot create the run folder {folder}: {exc.strerror}; pass --runs-dir to a writable place."
            ) from None
    raise RunError(f"{runs_dir} holds 99 runs named {name}; wait a second or pass --name.")


def lock_folder(folder: Path, what: str = "that run"):
    """Take the folder's lock (released when the returned file closes or the process dies), or say who holds it
    (`what`: the work the holder is doing, for the error)."""
    import fcntl

    handle = open(folder / ".lock", "a+", encoding="utf-8")  # noqa: SIM115 (held for the run's lifetime)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RunError(
            f"{folder} is being written by {holder}; wait for {what} to end (or stop it) before resuming."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()}")
    handle.flush()
    return handle


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable across a killed process, no fsync per tick
    conn.executescript(SCHEMA)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(decisions)")}
    added = [c for c in ("replica", "steer") if c not in columns]  # a store of an older version, continued
    for column in added:
        conn.execute(f"ALTER TABLE decisions ADD COLUMN {column} INTEGER")
    if added:
        conn.execute(f"PRAGMA user_version = {STORE_VERSION}")
    return conn
