"""`RunFolder`: a run folder opened read-only, the one reader every tool uses (replay, analysis, export, resume).

A run folder (``runs/<name>/``, see `tokenworld.sim.store`) is a folder holding
``run.sqlite`` and ``scene.toml``; its manifest is ``manifest.json``, or the
same JSON kept in the store's ``runs`` table. The store carries its schema
version in ``PRAGMA user_version`` (`STORE_VERSION`); a folder written by
another version is refused with a message saying which.

The store may still be being written by the run (SQLite in WAL mode): it is
opened read-only, so any number of readers can look while the run goes on.
With ``snapshot=True`` every query runs inside one read transaction, so a whole
report sees the same committed ticks even while new ones land.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from tokenworld.errors import RunError, SceneError
from tokenworld.scene.schema import ARCHETYPES, TRAITS, Scene

STORE_VERSION = 4  # PRAGMA user_version of the run store; raise it when the tables change
READABLE_VERSIONS = (1, 2, 3, 4)  # 1: no scene_edits table; 2: no `decisions.replica`; 3: no steering
STORE_FILE = "run.sqlite"
SCENE_FILE = "scene.toml"
MANIFEST_FILE = "manifest.json"
NEEDED_TABLES = frozenset({"ticks", "timings", "decisions", "events", "messages", "items", "zones", "agents"})
STATUS_TEXT = {
    "running": "still running",
    "finished": "finished",
    "interrupted": "interrupted (stopped before the ticks it asked for)",
    "failed": "failed (see the run's output); the ticks it committed are analysed",
}
RECORD_AGAIN = "record the run again with `tokenworld run SCENE`"


@dataclass(frozen=True)
class RecordedAgents:
    """Who the agents of a run were, as its `agents` table recorded them at build time (agent id = row)."""

    group: np.ndarray  # (n,) int32, row of scene.groups
    archetype: np.ndarray  # (n,) int8, index into ARCHETYPES
    traits: np.ndarray  # (n, 5) float32, columns in TRAITS order
    name: list[str]
    model: np.ndarray  # (n,) bool: a language model decided for the agent

    @property
    def n(self) -> int:
        return len(self.group)


def is_run_folder(path: str | Path) -> bool:
    """Whether `path` looks like a run folder: a folder with a run store and a scene.

    `RunFolder.open` checks the rest.
    """
    path = Path(path)
    return path.is_dir() and (path / STORE_FILE).is_file() and (path / SCENE_FILE).is_file()


def make_folder(path: Path, *, what: str = "", option: str = "") -> None:
    """Create `path` and its parents for a tool to write into, or raise a `RunError` saying why.

    Args:
        path: the folder to create; one that exists is fine.
        what: how the message names the folder ('the report folder'); empty names the path alone.
        option: the command-line option that picks another place ('--out'), told in the message.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        named = f"{what} {path}" if what else str(path)
        fix = f" Pass {option} to a writable place." if option else ""
        raise RunError(f"cannot create {named}: {exc.strerror}.{fix}") from None


class RunFolder:
    """A run folder opened for reading: its manifest, scene, agents and read-only queries on its store.

    Open one with `RunFolder.open(folder)`; close it (or use `with`) when done.
    """

    def __init__(self, folder: Path, conn: sqlite3.Connection, tables: set[str], scene: Scene, manifest: dict):
        self.folder = folder
        self.conn = conn
        self.tables = tables
        self.scene = scene
        self.manifest = manifest
        self._agents: RecordedAgents | None = None
        self._edits: list | None = None

    @classmethod
    def open(cls, folder: str | Path, *, snapshot: bool = False) -> RunFolder:
        """Open `folder` read-only.

        Args:
            folder: a run folder written by `tokenworld run` or the viewer (``runs/<name>``).
            snapshot: read every query from one moment of the store (one read transaction), for reports
                that must add up while the run is still writing.

        Raises:
            RunError: the folder is missing, is not a run folder, was written by another store version,
                or its store or scene is damaged.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise RunError(
                f"no run folder at {folder}: record a run with `tokenworld run SCENE` first, "
                "then pass its folder (runs/<name>)."
            )
        if not is_run_folder(folder):
            raise RunError(
                f"{folder} is not a run folder (it needs {STORE_FILE} and {SCENE_FILE}, which `tokenworld run SCENE` "
                "writes); pass a folder under runs/."
            )
        db = folder / STORE_FILE
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        try:
            version, tables = _store_layout(conn, db)
            if "ticks" in tables and "runs" in tables:  # a run store: of this version?
                check_version(version, folder)
            if not NEEDED_TABLES <= tables:
                missing = ", ".join(sorted(NEEDED_TABLES - tables))
                raise RunError(f"{db} is not a Token World run store (no table {missing}); {RECORD_AGAIN}.")
            if snapshot:
                conn.execute("BEGIN")
            manifest = _manifest(folder, conn, tables)
            scene = Scene.load(folder / SCENE_FILE)
        except BaseException:
            conn.close()
            raise
        return cls(folder, conn, tables, scene, manifest)

    # ------------------------------------------------------------ queries

    @property
    def db(self) -> Path:
        """The run store's file."""
        return self.folder / STORE_FILE

    def q(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Rows of `sql`; a damaged store raises `RunError` naming the file."""
        if self.conn is None:
            raise RunError(f"{self.folder} is closed; open it again with RunFolder.open.")
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise RunError(
                f"cannot read {self.db}: {exc}. The store is damaged or is not a Token World run store; "
                f"{RECORD_AGAIN} (a copy with `sqlite3 run.sqlite .recover` may save what is left)."
            ) from None

    def scalar(self, sql: str, params: tuple = ()):
        """The first column of the first row of `sql` (None when there is no row)."""
        rows = self.q(sql, params)
        return rows[0][0] if rows else None

    def columns(self, sql: str, params: tuple = (), dtypes: tuple = ()) -> list[np.ndarray]:
        """The columns of `sql` as numpy arrays (one per selected expression, `dtypes` in order; float64 by default).

        NULLs become NaN in float columns.
        """
        rows = self.q(sql, params)
        width = len(dtypes) if dtypes else (len(rows[0]) if rows else 0)
        if not rows:
            return [np.zeros(0, dtypes[i] if dtypes else np.float64) for i in range(width)]
        out = []
        for i, col in enumerate(zip(*rows, strict=True)):
            dtype = dtypes[i] if i < len(dtypes) else np.float64
            if np.issubdtype(np.dtype(dtype), np.floating):
                out.append(np.array([np.nan if v is None else v for v in col], dtype))
            else:
                out.append(np.array(col, dtype))
        return out

    def has_rows(self, table: str) -> bool:
        """Whether `table` exists in the store and holds at least one row."""
        return table in self.tables and self.scalar(f"SELECT EXISTS (SELECT 1 FROM {table})") == 1

    def table_rows(self, table: str) -> tuple[list[str], list[tuple]]:
        """A whole table: its column names and rows (`export` writes these)."""
        if table not in self.tables:
            raise RunError(f"{self.db} has no table {table!r}.")
        try:
            cur = self.conn.execute(f"SELECT * FROM {table}")  # noqa: S608 (names from sqlite_master)
            return [c[0] for c in cur.description], cur.fetchall()
        except sqlite3.DatabaseError as exc:
            raise RunError(f"cannot read {self.db}: {exc}; {RECORD_AGAIN}.") from None

    # ------------------------------------------------------------ the run

    @property
    def name(self) -> str:
        return self.folder.resolve().name

    @property
    def n_agents(self) -> int:
        """Agents at the end of the run (live edits may have added some to the scene's)."""
        edits = self.scene_edits
        return edits[-1].agents_after if edits else self.scene.agent_count

    @property
    def scene_edits(self) -> list:
        """The live edits the run recorded (`SceneEdit`s, in the order made; read once)."""
        if self._edits is None:
            from tokenworld.sim.live_edit import SceneEdit

            self._edits = []
            if "scene_edits" in self.tables:
                rows = self.q("SELECT tick, label, scene, agents_before, agents_after FROM scene_edits ORDER BY rowid")
                for tick, label, data, before, after in rows:
                    try:
                        scene = Scene.from_dict(json.loads(data), source=f"{self.folder / SCENE_FILE} (edited)")
                    except (ValueError, SceneError) as exc:
                        raise RunError(f"{self.db} holds a damaged scene edit at tick {tick}: {exc}") from None
                    self._edits.append(SceneEdit(int(tick), label, scene, int(before), int(after)))
        return self._edits

    @property
    def final_scene(self) -> Scene:
        """The scene as it ran last (after every live edit; its groups name every agent's group)."""
        edits = self.scene_edits
        return edits[-1].scene if edits else self.scene

    def agents_at(self, tick: int) -> int:
        """Agents in the world at `tick` (live edits may add some during a run)."""
        n = self.scene.agent_count
        for edit in self.scene_edits:
            if edit.tick > tick:
                break
            n = edit.agents_after
        return n

    def scene_at(self, tick: int) -> Scene:
        """The scene the run ran at `tick` (the last live edit made before it, or the scene it started with)."""
        scene = self.scene
        for edit in self.scene_edits:
            if edit.tick > tick:
                break
            scene = edit.scene
        return scene

    @property
    def zone_names(self) -> list[str]:
        return [z.name for z in self.scene.zones]

    @property
    def last_tick(self) -> int:
        """The last tick whose metrics are committed (0 before the first)."""
        return int(self.scalar("SELECT coalesce(max(tick), 0) FROM ticks"))

    @property
    def sim_time(self) -> float:
        """Simulated seconds at the last committed tick."""
        return float(self.scalar("SELECT coalesce(max(sim_time), 0) FROM ticks"))

    @property
    def seed(self) -> int | None:
        """The seed the run used (None when it did not say)."""
        seed = self.manifest.get("seed", self.scene.sim.seed)
        return None if seed is None else int(seed)

    @property
    def agents(self) -> RecordedAgents:
        """The run's agents as recorded when it was built (read once)."""
        if self._agents is None:
            self._agents = read_agents(self)
        return self._agents

    @property
    def status(self) -> str:
        """The manifest's status in words ('still running', 'finished', ...), checked against the run's lock."""
        raw = str(self.manifest.get("status", "unknown"))
        if raw == "running" and writer_alive(self.folder) is False:
            return (
                "stopped without finishing (the manifest says running but no process is writing the run: it was "
                f"probably killed; continue it with `tokenworld run --resume {self.folder}`)"
            )
        return STATUS_TEXT.get(raw, raw)

    @property
    def running(self) -> bool:
        """True while a process is still writing the run (as far as the manifest and the lock tell)."""
        return self.manifest.get("status") == "running" and writer_alive(self.folder) is not False

    def reread_manifest(self) -> dict:
        """The manifest as it is now (a run still going rewrites it)."""
        self.manifest = _manifest(self.folder, self.conn, self.tables)
        return self.manifest

    def close(self) -> None:
        """Close the store (nothing can be read afterwards)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_version(version: int, folder: Path) -> None:
    """Refuse a store of another schema version, saying which wrote it and what to do."""
    if version in READABLE_VERSIONS:
        return
    wrote = "an older Token World, before run stores carried a version" if version == 0 else f"store version {version}"
    if version > STORE_VERSION:
        raise RunError(
            f"{folder} was written by a newer Token World (store version {version}); this Token World reads "
            f"store version {STORE_VERSION}. Update Token World to read it."
        )
    raise RunError(
        f"{folder} was written by {wrote}; this Token World reads store version {STORE_VERSION}. "
        f"Replay or analyse it with the Token World that wrote it, or {RECORD_AGAIN}."
    )


def read_agents(run: RunFolder) -> RecordedAgents:
    """The `agents` table as arrays, checked against the scene's population."""
    cols = ", ".join(["agent", "grp", "archetype", *TRAITS, "name", "model"])
    rows = run.q(f"SELECT {cols} FROM agents ORDER BY agent")
    n = run.n_agents
    if len(rows) != n or (rows and (rows[0][0] != 0 or rows[-1][0] != n - 1)):
        raise RunError(f"{run.db} records {len(rows)} agents but its scene has {n}; the run folder is damaged.")
    k = len(TRAITS)
    table = list(zip(*rows, strict=True)) if rows else [() for _ in range(k + 5)]
    archetype = np.array([ARCHETYPES.index(a) if a in ARCHETYPES else 0 for a in table[2]], np.int8)
    return RecordedAgents(
        group=np.array(table[1], np.int32),
        archetype=archetype,
        traits=np.array(table[3 : 3 + k], np.float32).T.reshape(n, k).copy(),
        name=list(table[3 + k]),
        model=np.array(table[4 + k], bool),
    )


def writer_alive(folder: Path) -> bool | None:
    """Whether a process holds the run folder's lock (True), nobody does (False), or it cannot be told (None).

    A run holds an exclusive `flock` on ``.lock`` while it writes; taking a
    shared lock without waiting tells whether it is still held.
    """
    import fcntl

    lock = folder / ".lock"
    try:
        with open(lock, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return None


def _store_layout(conn: sqlite3.Connection, db: Path) -> tuple[int, set[str]]:
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise RunError(
            f"cannot read {db}: {exc}. It is damaged or is not a Token World run store; {RECORD_AGAIN}."
        ) from None
    return version, tables


def _manifest(folder: Path, conn: sqlite3.Connection, tables: set[str]) -> dict:
    """manifest.json, or the same JSON kept in the store's `runs` table; {} when neither exists."""
    path = folder / MANIFEST_FILE
    try:
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        if "runs" in tables:
            row = conn.execute("SELECT manifest FROM runs WHERE id = 1").fetchone()
            if row:
                return json.loads(row[0])
    except (OSError, json.JSONDecodeError, sqlite3.DatabaseError) as exc:
        raise RunError(f"cannot read the manifest of {folder}: {exc}. {RECORD_AGAIN.capitalize()}.") from None
    return {}
