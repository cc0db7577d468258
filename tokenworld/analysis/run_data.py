"""`RunData`: a run folder opened read-only for analysis, with its manifest, scene and one consistent view of the store.

The store (``run.sqlite``, see `tokenworld.sim.store`) may still be being
written by the run (SQLite in WAL mode). It is opened read-only and every
query runs inside one read transaction, so the whole report sees the same
committed ticks even while new ones land; opening the folder again sees the
ticks committed since.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Self

import numpy as np

from tokenworld.errors import RunError
from tokenworld.scene.schema import Scene

NEEDED_TABLES = frozenset({"ticks", "decisions", "events", "items", "zones"})
STATUS_TEXT = {
    "running": "still running",
    "finished": "finished",
    "interrupted": "interrupted (stopped before the ticks it asked for)",
    "failed": "failed (see the run's output); the ticks it committed are analysed",
}


class RunData:
    """A run folder opened for reading: manifest, scene and read-only queries on its store.

    Args:
        folder: a run folder written by ``tokenworld run`` (``runs/<name>``).

    Raises:
        RunError: the folder is missing, is not a run folder, or its store is damaged.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.db = self.folder / "run.sqlite"
        if not self.folder.is_dir():
            raise RunError(
                f"no run folder at {self.folder}: record a run with `tokenworld run SCENE` first, then pass its folder (runs/<name>)."
            )
        if not self.db.is_file() or not (self.folder / "scene.toml").is_file():
            raise RunError(
                f"{self.folder} is not a run folder (it needs run.sqlite and scene.toml, which `tokenworld run SCENE` writes); "
                "pass a folder under runs/."
            )
        self.conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, isolation_level=None)
        try:
            self.conn.execute("BEGIN")  # one snapshot of the store for the whole report
            self.tables = {r[0] for r in self.q("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not NEEDED_TABLES <= self.tables:
                missing = ", ".join(sorted(NEEDED_TABLES - self.tables))
                raise RunError(
                    f"{self.db} is not a Token World run store (no table {missing}); record the run again with `tokenworld run SCENE`."
                )
            self.manifest = self._manifest()
            self.scene = Scene.load(self.folder / "scene.toml")
            self.last_tick = int(self.scalar("SELECT coalesce(max(tick), 0) FROM ticks"))
            self.sim_time = float(self.scalar("SELECT coalesce(max(sim_time), 0) FROM ticks"))
        except BaseException:
            self.conn.close()
            raise
        self.zone_names = [z.name for z in self.scene.zones]
        self.n_agents = int(self.manifest.get("agents") or self.scene.agent_count)

    # ------------------------------------------------------------ queries

    def q(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of `sql`; a damaged store raises `RunError` naming the file."""
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise RunError(
                f"cannot read {self.db}: {exc}. The store is damaged or is not a Token World run store; "
                "record the run again with `tokenworld run SCENE` (a copy with `sqlite3 run.sqlite .recover` may save what is left)."
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
        cols = list(zip(*rows))
        out = []
        for i, col in enumerate(cols):
            dtype = dtypes[i] if i < len(dtypes) else np.float64
            if np.issubdtype(np.dtype(dtype), np.floating):
                out.append(np.array([np.nan if v is None else v for v in col], dtype))
            else:
                out.append(np.array(col, dtype))
        return out

    def has_rows(self, table: str) -> bool:
        """Whether `table` exists in the store and holds at least one row."""
        return table in self.tables and self.scalar(f"SELECT EXISTS (SELECT 1 FROM {table})") == 1

    # ------------------------------------------------------------ the run

    @property
    def name(self) -> str:
        return self.folder.resolve().name

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

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _manifest(self) -> dict:
        """manifest.json, or the same JSON kept in the store's `runs` table; {} when neither exists."""
        path = self.folder / "manifest.json"
        try:
            if path.is_file():
                return json.loads(path.read_text(encoding="utf-8"))
            if "runs" in self.tables:
                row = self.q("SELECT manifest FROM runs WHERE id = 1")
                if row:
                    return json.loads(row[0][0])
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(
                f"cannot read the manifest of {self.folder}: {exc}. Record the run again with `tokenworld run SCENE`."
            ) from None
        return {}


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
