"""`tokenworld bench alive`: the viewer's first seconds on the village, per second, and the goal figures."""

from __future__ import annotations

import math

from tests.bench.bench_lab import suite_report
from tokenworld.bench.alive import GOALS, goal_figures
from tokenworld.bench.suites import suite_sizes

PER_SECOND = (
    "t",
    "frames",
    "fps",
    "frames_total",
    "frame_ms_max",
    "tick",
    "model_decisions",
    "answers",
    "requests",
    "talk_lines",
    "talk_pairs",
    "wait_p50_ms",
    "wait_p95_ms",
    "model_share",
    "in_flight",
    "in_flight_cap",
    "queue_depth",
    "stale",
    "model_cpu_s",
    "draw_cpu_s",
)


def _second(t: float, **kw) -> dict:
    row = dict.fromkeys(PER_SECOND, 0)
    return {**row, "t": t, "frames": 40, "fps": 40.0, **kw}


def test_quick_run_records_every_second_and_the_goal_figures(quick_all):
    """Quick mode: one run, a sample per second with every figure, the four goals judged, CPU by part, the table row."""
    r = suite_report(quick_all, "alive", may_skip=True)
    quick = suite_sizes("alive", quick=True)
    assert r["scene"] == "village" and r["size"] == list(quick["size"]) and r["speed"] == 4.0
    assert r["threads"] >= 1 and r["fps_cap"] > 0 and set(r["goals"]) == set(GOALS)
    (run,) = r["runs"]
    ticks = [s["tick"] for s in run["per_second"]]
    assert len(run["per_second"]) == math.ceil(quick["seconds"]) and ticks == sorted(ticks) and ticks[-1] > 0
    for s in run["per_second"]:
        assert set(PER_SECOND) <= set(s) and s["frames"] > 0 and s["in_flight"] <= s["in_flight_cap"], s
    assert run["per_second"][-1]["frames_total"] == sum(s["frames"] for s in run["per_second"])
    assert set(run["goals"]["pass"]) == set(GOALS) and run["goals"]["passed"] == sum(run["goals"]["pass"].values())
    assert run["startup_s"] > 0 and run["cpu_s"]["draw"] > 0 and run["load_avg"][0] >= 0
    assert run["draw_cpu_ms_per_frame"] > 0 and run["goals"]["figures"]["model_cpu_s"] >= 0
    assert [s["draw_cpu_s"] for s in run["per_second"]] == sorted(s["draw_cpu_s"] for s in run["per_second"])
    assert r["rows"][0]["fps_mean"] == run["goals"]["figures"]["fps_mean"] > 0
    assert "## alive" in (quick_all[1] / "report.md").read_text()


def test_goal_figures_read_at_the_goal_second_and_judge_each_goal():
    """Figures are read at the last sample within the goal window; a wait p95 with no answer landed is a miss."""
    seconds = [_second(t) for t in (1.0, 2.0, 3.0)]
    seconds[1].update(model_decisions=2, talk_lines=3, answers=2, wait_p95_ms=2500.0)
    seconds[2].update(model_decisions=9, talk_lines=9, answers=9, wait_p95_ms=4000.0, frames=10, fps=10.0)
    g = goal_figures(seconds, 2.0)
    assert g["at_s"] == 2.0 and g["figures"]["model_decisions"] == 2 and g["figures"]["wait_p95_s"] == 2.5
    assert g["figures"]["fps_mean"] == 40.0
    assert g["pass"] == {"model_decisions": False, "talk_lines": True, "wait_p95_s": True, "fps_mean": True}
    g = goal_figures(seconds, 3.0)
    assert g["pass"] == {"model_decisions": True, "talk_lines": True, "wait_p95_s": False, "fps_mean": True}
    assert g["figures"]["fps_mean"] == 30.0 and g["figures"]["fps_min"] == 10.0
    none = goal_figures([_second(1.0), _second(2.0)], 2.0)
    assert none["figures"]["wait_p95_s"] is None and none["pass"]["wait_p95_s"] is False and none["passed"] == 1
