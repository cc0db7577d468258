"""Shared helpers for the run tests: the CLI in a subprocess, read-only queries, a small village scene."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

VILLAGE = ROOT / "scenes" / "village_rules.toml"  # the village decided by the rules brain (fast)


def tw(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m tokenworld ARGS` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "tokenworld", *args], check=False, capture_output=True, text=True, timeout=timeout
    )


def ro(db: Path) -> sqlite3.Connection:
    """A read-only connection, safe to open while another process writes."""
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of `sql` on the store at `db`, read-only."""
    conn = ro(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def village_variant(folder: Path, name: str, overrides: str, *, extends: str = "village.toml") -> Path:
    """`folder/<name>.toml`: a shipped village (`extends`) with `overrides` (TOML tables), beside copies of the
    shipped files it extends (`extends` is relative to the file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for base in ("base.toml", "village.toml", "village_rules.toml"):
        shutil.copy(ROOT / "scenes" / base, folder / base)
    path = folder / f"{name}.toml"
    path.write_text(f'extends = "{extends}"\nname = "{name}"\n' + overrides, encoding="utf-8")
    return path


def small_village(
    folder: Path, *, name: str = "small", ticks: int, checkpoint_every: int, snapshot_every: int, extra: str = ""
) -> Path:
    """The shipped rules village copied into `folder` with an override file: ticks, checkpoints, snapshots."""
    return village_variant(
        folder,
        name,
        f"[sim]\nticks = {ticks}\n"
        f"[store]\ncheckpoint_every = {checkpoint_every}\nsnapshot_every = {snapshot_every}\n" + extra,
        extends="village_rules.toml",
    )
