"""A sweep on a local Ray: four small runs complete; killed part-way, it continues without redoing finished runs."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.sim.runs_lab import query
from tokenworld.sweep import run_sweep

ray = pytest.importorskip("ray", reason="Ray is the `cluster` extra")

TICKS = 1500
SWEEP = f"""
[sweep]
name = "four"
scene = "village_rules"
ticks = {TICKS}
seeds = [1, 2]
parallel = 1

[grid]
agents = [10, 20]
"""


def manifest(folder) -> dict:
    return json.loads(query(folder / "run.sqlite", "SELECT manifest FROM runs")[0][0])


def committed(folder) -> int:
    try:
        return query(folder / "run.sqlite", "SELECT coalesce(max(tick), 0) FROM ticks")[0][0]
    except Exception:  # not made yet, or being made
        return 0


@pytest.mark.slow
def test_sweep_completes_and_resumes_after_a_kill(tmp_path):
    path = tmp_path / "four.toml"
    path.write_text(SWEEP, encoding="utf-8")
    runs_dir = tmp_path / "runs"
    # 1. the sweep in its own process (with its own local Ray), killed while its second run is going
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenworld", "sweep", str(path), "--runs-dir", str(runs_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    from tokenworld.sweep import load_sweep

    names = [r.name for r in load_sweep(path).runs]
    folders = [runs_dir / "sweeps" / "four" / "runs" / n for n in names]
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if committed(folders[1]) >= 300:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert committed(folders[1]) >= 300, "the second run did not get going in time"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(1.0)  # the killed workers' locks go with them
    first = manifest(folders[0])
    assert first["status"] == "finished"
    assert manifest(folders[1])["status"] == "running" and committed(folders[1]) < TICKS
    first_db = (folders[0] / "run.sqlite").stat().st_mtime_ns

    # 2. started again: the finished run is kept as it is, the killed one continues, the others start
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = run_sweep(path, runs_dir=runs_dir)
    finally:
        ray.shutdown()
    assert [r["status"] for r in result.rows] == ["finished"] * 4 and not result.failed
    assert manifest(folders[0]) == first and (folders[0] / "run.sqlite").stat().st_mtime_ns == first_db
    resumed = manifest(folders[1])
    assert len(resumed["resumes"]) == 1 and resumed["ticks_done"] == TICKS
    for folder in folders:
        ticks = query(folder / "run.sqlite", "SELECT count(*), count(DISTINCT tick), max(tick) FROM ticks")[0]
        assert ticks == (TICKS, TICKS, TICKS)  # no tick lost or written twice
        assert not manifest(folder).get("resumes") or folder == folders[1]

    # 3. the summary: one row per run with its varied key, seed and figures; the report names every run
    out = result.folder
    with open(out / "summary.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["run"] for r in rows] == names
    assert [(int(r["agents"]), int(r["seed"])) for r in rows] == [(10, 1), (10, 2), (20, 1), (20, 2)]
    assert all(int(r["ticks"]) == TICKS and int(r["decisions"]) > 0 for r in rows)
    import pyarrow.parquet as pq

    table = pq.read_table(out / "summary.parquet")
    assert table.num_rows == 4 and table.column("agents").to_pylist() == [10, 10, 20, 20]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert all(n in report for n in names) and (out / "figures.png").stat().st_size > 10_000
