"""`tokenworld export RUN --parquet DIR`: every table of a run store as a Parquet file.

Runs are real `python -m tokenworld run` subprocesses over a copy of the shipped
village (25 agents), 200 ticks, a checkpoint every 20 ticks.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.sim.runs_lab import query, small_village, tw

TICKS = 200
# Tables keyed by tick that every tick writes a row (or rows) into, in one transaction.
PER_TICK = ("ticks", "zone_counts", "items", "timings")


def columns(db: Path, table: str) -> list[str]:
    return [r[1] for r in query(db, f"PRAGMA table_info({table})")]


def store_tables(db: Path) -> list[str]:
    return [r[0] for r in query(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]


def start_run(scene: Path, runs_dir: Path, name: str, ticks: int, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "tokenworld",
        "run",
        str(scene),
        "--ticks",
        str(ticks),
        "--runs-dir",
        str(runs_dir),
        "--name",
        name,
        "--no-progress",
    ]
    with log.open("w") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)


def wait_for_ticks(proc: subprocess.Popen, db: Path, at: int, timeout: float = 120) -> int:
    """Wait until the store `db` (written by `proc`) has tick `at`; return the tick it has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.is_file():
            try:
                last = query(db, "SELECT max(tick) FROM ticks")[0][0]
            except sqlite3.OperationalError:
                last = None
            if last is not None and last >= at:
                return last
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before tick {at}"
        time.sleep(0.005)
    pytest.fail(f"tick {at} not reached within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=60)


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    return small_village(tmp_path_factory.mktemp("scenes"), ticks=TICKS, checkpoint_every=20, snapshot_every=50)


@pytest.fixture(scope="module")
def run(scene, tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    r = tw("run", str(scene), "--runs-dir", str(runs), "--name", "e", "--no-progress")
    assert r.returncode == 0, r.stderr
    return runs / "e"


def test_export_writes_one_parquet_per_table_but_checkpoints(run, tmp_path):
    """Export writes <table>.parquet for every table except checkpoints, with SQLite's rows and columns."""
    out = tmp_path / "pq"
    r = tw("export", str(run), "--parquet", str(out))
    assert r.returncode == 0, r.stderr
    db = run / "run.sqlite"
    expected = [t for t in store_tables(db) if t != "checkpoints"]
    assert "checkpoints" in store_tables(db) and "ticks" in expected
    assert sorted(p.stem for p in out.iterdir()) == sorted(expected)
    assert all(p.suffix == ".parquet" for p in out.iterdir())
    for table in expected:
        t = pq.read_table(out / f"{table}.parquet")
        assert t.num_rows == query(db, f"SELECT count(*) FROM {table}")[0][0], table
        assert t.column_names == columns(db, table), table
    # Values come through unchanged, not only the counts.
    ticks = pq.read_table(out / "ticks.parquet").to_pylist()
    assert [tuple(row.values()) for row in ticks] == query(db, "SELECT * FROM ticks ORDER BY tick")
    assert pq.read_table(out / "ticks.parquet").num_rows == TICKS
    # The run folder itself is not changed by an export.
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith("run.sqlite-")) == [
        ".lock",
        "manifest.json",
        "run.sqlite",
        "scene.toml",
    ]


@pytest.mark.parametrize("kind", ["empty-folder", "missing-folder", "not-a-database"])
def test_export_of_something_that_is_not_a_run_is_exit_2(tmp_path, kind):
    """Exporting a folder that is not a run exits 2 with a message naming it, never a traceback."""
    target = tmp_path / "target"
    if kind == "empty-folder":
        target.mkdir()
    elif kind == "not-a-database":
        target.mkdir()
        (target / "run.sqlite").write_text("this is not a database\n")
    r = tw("export", str(target), "--parquet", str(tmp_path / "out"))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and str(target) in r.stderr


@pytest.mark.slow
def test_export_of_a_run_being_written(scene, tmp_path):
    """Exporting a run that is still going works, and the run goes on to finish intact."""
    db = tmp_path / "live" / "run.sqlite"
    proc = start_run(scene, tmp_path, "live", 600, tmp_path / "live.log")
    try:
        before = wait_for_ticks(proc, db, 10)
        r = tw("export", str(tmp_path / "live"), "--parquet", str(tmp_path / "pq"))
        assert r.returncode == 0, r.stderr
        running = proc.poll() is None
        assert proc.wait(timeout=120) == 0, (tmp_path / "live.log").read_text()
    finally:
        stop(proc)
    assert running, "the run finished before the export did; the test proves nothing"
    for table in PER_TICK:
        t = pq.read_table(tmp_path / "pq" / f"{table}.parquet")
        assert t.num_rows > 0 and t.column_names == columns(db, table)
        got = t.column("tick").to_pylist()
        assert before <= max(got) < 600, table
    assert query(db, "SELECT count(*), max(tick) FROM ticks") == [(600, 600)]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


@pytest.mark.slow
def test_export_of_a_run_being_written_is_one_consistent_snapshot(scene, tmp_path):
    """Every table of an export taken mid-run stops at the same tick (the export reads one snapshot of the store)."""
    from tokenworld.sim.export import export_parquet

    folder = tmp_path / "live"
    proc = start_run(scene, tmp_path, "live", 400, tmp_path / "live.log")
    torn = []
    exports = 0
    try:
        wait_for_ticks(proc, folder / "run.sqlite", 1)
        while proc.poll() is None and exports < 60:
            out = tmp_path / f"pq{exports}"
            export_parquet(folder, out)
            exports += 1
            ticks = {t: sorted(set(pq.read_table(out / f"{t}.parquet").column("tick").to_pylist())) for t in PER_TICK}
            lasts = {t: (v[-1] if v else 0) for t, v in ticks.items()}
            if len(set(lasts.values())) > 1:
                torn.append(lasts)
            shutil.rmtree(out)
    finally:
        stop(proc)
    assert exports >= 5, "too few exports while the run was going"
    assert torn == [], f"{len(torn)} of {exports} exports mix ticks from different moments, e.g. {torn[0]}"
