"""The report's Trait steering section on a real steered run: profiles and effects plotted, a baseline beside it,
and loud notices when a steered run shows no sign of steering."""

from __future__ import annotations

import sqlite3

import pytest

from tests.paths import ROOT
from tokenworld.analysis import analyze
from tokenworld.scene.schema import Scene
from tokenworld.sim.headless import run_headless


def village(steer: bool) -> Scene:
    sc = Scene.load(ROOT / "scenes" / "village.toml")
    sc.mind.reflect_every = 0
    sc.mind.decide_every = 10
    if steer:
        sc.mind.steering.vectors = "packaged"
    return sc


@pytest.mark.slow
def test_steering_section_on_a_real_run_and_its_checks(tmp_path):
    runs = tmp_path / "runs"
    steered = run_headless(village(True), ticks=24, seed=2, runs_dir=runs, name="steered", progress=False)
    plain = run_headless(village(False), ticks=24, seed=2, runs_dir=runs, name="plain", progress=False)
    with sqlite3.connect(steered / "run.sqlite") as c:
        profiles = c.execute("SELECT count(*), sum(agents) FROM steering").fetchone()
        marked = c.execute("SELECT count(*) FROM decisions WHERE source = 'model' AND steer IS NOT NULL").fetchone()
    assert profiles[0] > 1 and profiles[1] == 25 and marked[0] > 0
    report = analyze(steered, baseline=plain).read_text()
    assert (steered / "report" / "steering.png").stat().st_size > 10_000
    assert "extraversion on talk" in report and "baseline" in report and "STEERING NOT ACTIVE" not in report
    assert "No plot: the run was not steered" in analyze(plain).read_text()  # nothing to show without a baseline
    with sqlite3.connect(steered / "run.sqlite") as c:  # as if the vectors had not been applied
        c.execute("UPDATE decisions SET steer = NULL")
    assert "STEERING NOT ACTIVE" in analyze(steered).read_text()
    with sqlite3.connect(steered / "run.sqlite") as c:
        c.execute("UPDATE decisions SET steer = 0")
        c.execute("DELETE FROM steering WHERE bucket > 0")
    assert "STEERING CONSTANT" in analyze(steered).read_text()
