"""The run folder: a copy of the scene, a manifest, and the run store (SQLite).

``runs/<name>/`` holds:

- ``scene.toml``: the scene as run, self-contained (``extends`` resolved);
- ``manifest.json``: version, seed, arch, agents, timings, command;
- ``run.sqlite``: SQLite in WAL mode, one transaction per tick. Tables:
  ``ticks`` (tick, sim_time, moving, mean_speed, arrived, mean_neighbours,
  outside_zones), ``zone_counts`` (tick, zone, agents), ``zones`` (zone, name,
  kind) and ``timings`` (tick and wall milliseconds per stage; the only table
  that differs between two runs of the same seed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path

from tokenworld.errors import RunError
from tokenworld.scene.schema import Scene

SCHEMA = """
CREATE TABLE IF NOT EXISTS zones (zone INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ticks (
    tick INTEGER PRIMARY KEY, sim_time REAL NOT NULL, moving INTEGER NOT NULL, mean_speed REAL NOT NULL,
    arrived INTEGER NOT NULL, mean_neighbours REAL NOT NULL, outside_zones INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS zone_counts (
    tick INTEGER NOT NULL, zone INTEGER NOT NULL, agents INTEGER NOT NULL, PRIMARY KEY (tick, zone)
);
CREATE TABLE IF NOT EXISTS timings (
    tick INTEGER PRIMARY KEY, step_ms REAL, hash_ms REAL, perception_ms REAL, motion_ms REAL, zones_ms REAL
);
"""

MIN_FREE_BYTES = 64 * 1024 * 1024
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def default_run_name(scene: Scene) -> str:
    """`<scene>-<YYYYmmdd-HHMMSS>`, safe as a folder name."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", scene.name).strip("-") or "run"
    return f"{base}-{time.strftime('%Y%m%d-%H%M%S')}"


class RunStore:
    """Creates a run folder and writes a run into it.

    All checks (name, existing folder, writable parent, free space) happen in
    `create`, before the run starts, so a failure never leaves a half-made store.
    """

    def __init__(self, folder: Path, conn: sqlite3.Connection):
        self.folder = folder
        self.conn = conn

    @classmethod
    def create(cls, runs_dir: str | Path, name: str, scene: Scene) -> "RunStore":
        """Make ``runs_dir/name`` with the scene copy and an empty store."""
        if not NAME_RE.match(name):
            raise RunError(f"run name {name!r} is not usable as a folder name; use letters, digits, '.', '_' and '-'.")
        runs_dir = Path(runs_dir)
        folder = runs_dir / name
        if folder.exists():
            raise RunError(f"run folder {folder} exists already; pick another --name or remove it.")
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create the runs folder {runs_dir}: {exc.strerror}. Pass --runs-dir to a writable place.") from None
        if not os.access(runs_dir, os.W_OK):
            raise RunError(f"the runs folder {runs_dir} is not writable; pass --runs-dir to a writable place.")
        free = shutil.disk_usage(runs_dir).free
        if free < MIN_FREE_BYTES:
            raise RunError(f"only {free // (1024 * 1024)} MiB free under {runs_dir}; a run needs at least {MIN_FREE_BYTES // (1024 * 1024)} MiB.")
        try:
            folder.mkdir()
            scene.save(folder / "scene.toml")
            conn = sqlite3.connect(folder / "run.sqlite")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            with conn:
                conn.executemany("INSERT INTO zones VALUES (?, ?, ?)", [(i, z.name, z.kind) for i, z in enumerate(scene.zones)])
        except (OSError, sqlite3.Error) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise RunError(f"cannot write the run folder {folder}: {exc}.") from None
        return cls(folder, conn)

    def write_tick(self, tick: int, sim_time: float, metrics: dict | None, step_ms: float, stage_ms: dict) -> None:
        """Record one tick in one transaction."""
        try:
            with self.conn:
                if metrics is not None:
                    self.conn.execute(
                        "INSERT INTO ticks VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (tick, sim_time, metrics["moving"], metrics["mean_speed"], metrics["arrived"],
                         metrics["mean_neighbours"], metrics["outside_zones"]),
                    )  # fmt: skip
                    self.conn.executemany(
                        "INSERT INTO zone_counts VALUES (?, ?, ?)",
                        [(tick, z, c) for z, c in enumerate(metrics["zone_counts"])],
                    )
                self.conn.execute(
                    "INSERT INTO timings VALUES (?, ?, ?, ?, ?, ?)",
                    (tick, step_ms, stage_ms.get("hash_ms"), stage_ms.get("perception_ms"),
                     stage_ms.get("motion_ms"), stage_ms.get("zones_ms")),
                )  # fmt: skip
        except sqlite3.Error as exc:
            raise RunError(f"cannot write tick {tick} to {self.folder / 'run.sqlite'}: {exc}. Ticks before it are kept.") from None

    def write_manifest(self, manifest: dict) -> None:
        """Write (or rewrite) manifest.json atomically."""
        path = self.folder / "manifest.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def close(self) -> None:
        self.conn.close()
