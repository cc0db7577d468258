"""`tokenworld bench alive`: is the village alive from the first second in the viewer?

It opens the real viewer on a scene (default: the shipped village) exactly as
`tokenworld view` does: the same live source (realtime clock, speed 4, the
model's threads set as the viewer sets them, the inference thread niced,
recording into a run folder, here a temporary one) and the same viewer, in an
offscreen buffer; frames are paced at the rate the window's clock limits them
to (`Viewer.max_fps`: 60, or 33 with a software renderer). Before measuring,
one short unmeasured opening warms the caches a second `tokenworld view` finds
warm (Taichi's kernel cache, the model file, the shaders).

A suite of its own (not a case of `bench viewer`, which measures frame time
by agent count): it follows one scene through time, as a person opening the
viewer sees it.

From the first frame drawn it records, each second, for `seconds` (30 by
default): frames drawn and FPS, the simulation's tick, model decisions applied
(source `model`), conversations in the feed (talk lines, and distinct pairs of
people who talked), the inference wait p50/p95 (submitted to landed, over every
answer landed so far, as the panel shows it), `model_share`, and requests in
flight against the pacer's cap. It also records the CPU seconds each part of
the process used (drawing, llvmpipe's threads, the simulation, the model; the
model's and the drawing's each second too), the CPU a frame cost, the model's
CPU seconds until its first answer (its warm-up and first batch), the longest
frame of each second and the load average: to tell a model starved by the
frames from one starved by a busy machine.

The goal figures, at `goal_seconds` (10) after the first frame, are reported
with pass or miss (never asserted): at least 5 model decisions, at least 3
talk lines, a wait p95 of at most 3 s (a miss when no answer landed), at least
30 FPS on average.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from tokenworld.bench.machine import describe_machine, prepare_report_path, write_report

GOALS = {  # figure -> (comparison, threshold), read at `goal_seconds`
    "model_decisions": (">=", 5),
    "talk_lines": (">=", 3),
    "wait_p95_s": ("<=", 3.0),
    "fps_mean": (">=", 30.0),
}


def run_alive_bench(
    *,
    scene: str | None = None,
    runs: int = 3,
    seconds: float = 30.0,
    goal_seconds: float = 10.0,
    size: tuple[int, int] = (1280, 720),
    speed: float = 4.0,
    threads: int | None = None,
    fps_cap: float | None = None,
    warmup: bool = True,
    arch: str | None = None,
    json_path: str | None = None,
) -> dict:
    """Open the viewer on `scene` `runs` times and record its first `seconds`; print a table, optionally write JSON.

    Args:
        scene: a scene file (default: the shipped village, as `tokenworld view` opens it).
        runs: measured openings (each a new live source and viewer in this process).
        seconds: how long each is recorded after its first frame.
        goal_seconds: when the goal figures are read.
        size: the offscreen buffer's size (the window's default).
        speed: simulated seconds per wall second (`tokenworld view --speed`).
        threads: the model's CPU threads (`mind.threads`); None leaves it as the viewer sets it.
        fps_cap: most frames drawn a second (default: the window's limit, `Viewer.max_fps`).
        warmup: one unmeasured short opening first.
        arch: Taichi arch (default: $TOKENWORLD_ARCH or auto).
        json_path: write the report here.
    """
    from rich.console import Console

    from tokenworld.engine import arch as engine_arch
    from tokenworld.scene.schema import Scene
    from tokenworld.scene.shipped import find_scene
    from tokenworld.viewer import DEFAULT_SCENE

    prepare_report_path(json_path)
    console = Console(stderr=True)
    path = find_scene(scene or DEFAULT_SCENE)
    loaded = Scene.load(path)
    if threads is not None:
        import dataclasses

        loaded = dataclasses.replace(loaded, mind=dataclasses.replace(loaded.mind, threads=int(threads)))
    if warmup:
        console.print("alive: warming up (unmeasured) ...", style="dim")
        measure_opening(
            loaded,
            seconds=min(3.0, seconds),
            goal_seconds=min(3.0, goal_seconds),
            size=size,
            speed=speed,
            arch=arch,
            fps_cap=fps_cap,
        )
    results = []
    for i in range(runs):
        console.print(f"alive: {loaded.name}, run {i + 1} of {runs}, {seconds:g} s ...", style="dim")
        results.append(
            measure_opening(
                loaded, seconds=seconds, goal_seconds=goal_seconds, size=size, speed=speed, arch=arch, fps_cap=fps_cap
            )
        )
    rows = [
        {
            "run": i + 1,
            **r["goals"]["figures"],
            "passed": r["goals"]["passed"],
            "startup_s": r["startup_s"],
            "draw_cpu_ms_per_frame": r["draw_cpu_ms_per_frame"],
            "load_avg_1m": r["load_avg"][0],
        }
        for i, r in enumerate(results)
    ]
    report = {
        "suite": "alive",
        "scene": loaded.name,
        "arch": engine_arch.current(),
        "machine": describe_machine(arch=engine_arch.current(), inference=_model_info(loaded)),
        "size": list(size),
        "speed": speed,
        "seconds": seconds,
        "goal_seconds": goal_seconds,
        "fps_cap": results[0]["fps_cap"] if results else fps_cap,
        "threads": results[0]["threads"] if results else None,
        "goals": {k: f"{op} {v}" for k, (op, v) in GOALS.items()},
        "rows": rows,
        "runs": results,
        "summary": _summary(results),
    }
    _print(console, report)
    write_report(report, json_path, console)
    return report


def _model_info(scene) -> dict | None:
    m = scene.mind
    return {"model": m.model, "backend": m.backend, "mode": m.mode} if m.backend != "rules" else None


def measure_opening(
    scene,
    *,
    seconds: float,
    goal_seconds: float,
    size: tuple[int, int],
    speed: float,
    arch: str | None,
    fps_cap: float | None = None,
) -> dict:
    """One opening of the viewer on `scene` as `tokenworld view` does; per-second figures from its first frame."""
    from rich.console import Console

    from tokenworld.viewer import ViewOptions, open_source, open_viewer

    runs_dir = tempfile.mkdtemp(prefix="tokenworld-alive-")
    opts = ViewOptions(target=str(scene.source), size=size, speed=speed, arch=arch, runs_dir=runs_dir, offscreen=True)
    t_start = time.perf_counter()
    source = viewer = None
    try:
        source = open_source(opts, Path(opts.target), scene, record=True, console=Console(stderr=True, quiet=True))
        viewer = open_viewer(source, opts, offscreen=True)
        fps_cap = fps_cap or viewer.max_fps
        viewer.render()
        t0 = time.perf_counter()  # the first frame is drawn
        startup_s = t0 - t_start
        cpu0, load0 = _thread_cpu(source), os.getloadavg()
        per_second = _record(viewer, source, t0, seconds, fps_cap, cpu0)
        cpu1, load1 = _thread_cpu(source), os.getloadavg()
        wall = time.perf_counter() - t0
        threads, nice = source.scene.mind.threads, _nice(source)
    finally:
        if viewer is not None:
            viewer.close()
        if source is not None:
            source.close()
        shutil.rmtree(runs_dir, ignore_errors=True)
    cpu = {k: round(cpu1.get(k, 0.0) - cpu0.get(k, 0.0), 2) for k in cpu1}
    return {
        "startup_s": round(startup_s, 2),
        "wall_s": round(wall, 2),
        "threads": threads,
        "fps_cap": fps_cap,
        "lp_num_threads": os.environ.get("LP_NUM_THREADS"),
        "inference_nice": nice,
        "load_avg": [round(x, 2) for x in load1],
        "load_avg_before": [round(x, 2) for x in load0],
        "cpu_s": cpu,
        "cpu_share": {k: round(v / wall, 3) for k, v in cpu.items()} if wall > 0 else {},
        "draw_cpu_ms_per_frame": round(
            1000 * (cpu["draw"] + cpu["llvmpipe"]) / max(per_second[-1]["frames_total"], 1), 1
        ),
        "model_cpu_s_to_first_answer": next((s["model_cpu_s"] for s in per_second if s["answers"]), None),
        "per_second": per_second,
        "goals": goal_figures(per_second, goal_seconds),
    }


def _record(viewer, source, t0: float, seconds: float, fps_cap: float, cpu0: dict) -> list[dict]:
    """Render, at most `fps_cap` frames a second, until `seconds` after `t0`, sampling the figures each second
    (a frame that takes longer delays the sample: each covers at least a second); CPU seconds count from `cpu0`."""
    out: list[dict] = []
    frames_before = len(viewer.frame_times)
    next_frame, next_sample, last_t, last_frames = t0, t0 + 1.0, t0, frames_before
    while True:
        now = time.perf_counter()
        if now >= next_sample or now >= t0 + seconds:
            frames = len(viewer.frame_times)
            longest = max(viewer.frame_times[last_frames:frames], default=0.0)
            s = _sample(source, now - t0, frames - last_frames, now - last_t, frames - frames_before, longest)
            cpu = _thread_cpu(source)
            s["model_cpu_s"] = round(cpu["model"] - cpu0["model"], 2)
            s["draw_cpu_s"] = round(cpu["draw"] + cpu["llvmpipe"] - cpu0["draw"] - cpu0["llvmpipe"], 2)
            out.append(s)
            last_t, last_frames = now, frames
            next_sample = max(next_sample + 1.0, now + 0.5)
            if now >= t0 + seconds - 0.5:
                return out
        if now >= next_frame:
            viewer.render()
            next_frame = max(next_frame + 1.0 / fps_cap, now)
        else:
            time.sleep(max(min(next_frame, next_sample) - now, 0.0))


def _sample(source, t: float, frames: int, span: float, frames_total: int, longest_ms: float) -> dict:
    """The figures at one second mark (`longest_ms`: the longest frame since the last one)."""
    inf = source.inference or {}
    talk = [ln for ln in list(source.lines) if ln.kind == "talk"]
    pairs = {(min(ln.agent, ln.other), max(ln.agent, ln.other)) for ln in talk}
    frame = source.frame
    return {
        "t": round(t, 2),
        "frames": frames,
        "fps": round(frames / span, 2) if span > 0 else 0.0,
        "frames_total": frames_total,
        "frame_ms_max": round(longest_ms, 1),
        "tick": frame.tick if frame is not None else 0,
        "model_decisions": int((inf.get("by_source") or {}).get("model", 0)),
        "answers": int(inf.get("decisions", 0)),
        "requests": int(inf.get("requests", 0)),
        "talk_lines": len(talk),
        "talk_pairs": len(pairs),
        "wait_p50_ms": round(float(inf.get("wait_p50_ms", 0.0)), 1),
        "wait_p95_ms": round(float(inf.get("wait_p95_ms", 0.0)), 1),
        "model_share": round(float(inf.get("model_share", 0.0)), 3),
        "in_flight": int(inf.get("in_flight", 0)),
        "in_flight_cap": int(inf.get("in_flight_cap", 0)),
        "queue_depth": int(inf.get("queue_depth", 0)),
        "stale": int(inf.get("stale", 0)),
    }


def goal_figures(per_second: list[dict], goal_seconds: float) -> dict:
    """The goal figures at `goal_seconds` (the last sample at or before it) and whether each meets its goal."""
    within = [s for s in per_second if s["t"] <= goal_seconds + 0.5] or per_second[:1]
    if not within:
        return {"at_s": None, "figures": {}, "pass": {}, "passed": 0}
    at = within[-1]
    frames = sum(s["frames"] for s in within)
    fps_mean = frames / at["t"] if at["t"] > 0 else 0.0
    landed = at["answers"] > 0
    figures = {
        "model_decisions": at["model_decisions"],
        "talk_lines": at["talk_lines"],
        "talk_pairs": at["talk_pairs"],
        "wait_p95_s": round(at["wait_p95_ms"] / 1000.0, 3) if landed else None,
        "wait_p50_s": round(at["wait_p50_ms"] / 1000.0, 3) if landed else None,
        "fps_mean": round(fps_mean, 2),
        "fps_min": min(s["fps"] for s in within),
        "frame_ms_max": max(s.get("frame_ms_max", 0.0) for s in within),
        "answers": at["answers"],
        "model_cpu_s": at.get("model_cpu_s"),
        "model_share": at["model_share"],
    }
    verdict = {k: _meets(figures[k], op, v) for k, (op, v) in GOALS.items()}
    return {"at_s": at["t"], "figures": figures, "pass": verdict, "passed": sum(verdict.values())}


def _meets(value, op: str, goal) -> bool:
    if value is None:
        return False
    return value >= goal if op == ">=" else value <= goal


def _summary(results: list[dict]) -> dict:
    """Across runs: the median of each goal figure and how many runs met each goal."""
    if not results:
        return {}
    out = {}
    for key in GOALS:
        values = [r["goals"]["figures"].get(key) for r in results]
        known = [v for v in values if v is not None]
        out[key] = {
            "median": round(float(np.median(known)), 3) if known else None,
            "runs_met": sum(r["goals"]["pass"][key] for r in results),
            "runs": len(results),
        }
    return out


# ------------------------------------------------------------------ where the CPU went


def _thread_cpu(source) -> dict[str, float]:
    """CPU seconds so far of this process's threads, by part: drawing (the main thread), llvmpipe, the simulation,
    the model (the inference thread and any it started), the rest; and the run store's writer process."""
    tick = os.sysconf("SC_CLK_TCK")
    sim_tid = getattr(source._thread, "native_id", None)
    worker = source.sim.worker
    inf_tid = getattr(getattr(worker, "_thread", None), "native_id", None)
    main_tid = os.getpid()
    out = {"draw": 0.0, "llvmpipe": 0.0, "sim": 0.0, "model": 0.0, "other": 0.0}
    for tid_s in _listdir("/proc/self/task"):
        tid = int(tid_s)
        stat = _read(f"/proc/self/task/{tid_s}/stat")
        if stat is None:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        part = (
            "draw"
            if tid == main_tid
            else "sim"
            if tid == sim_tid
            else "model"
            if tid == inf_tid
            else "llvmpipe"
            if name.startswith("llvmpipe")
            else "other"
        )
        out[part] += seconds
    writer = getattr(getattr(getattr(source, "store", None), "_writer", None), "pid", None)
    stat = _read(f"/proc/{writer}/stat") if writer else None
    if stat is not None:
        fields = stat[stat.rindex(")") + 2 :].split()
        out["recorder"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _nice(source) -> int | None:
    worker = source.sim.worker if source is not None else None
    tid = getattr(getattr(worker, "_thread", None), "native_id", None)
    if tid is None:
        return None
    with contextlib.suppress(OSError):
        return os.getpriority(os.PRIO_PROCESS, tid)
    return None


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _print(console, report: dict) -> None:
    from rich.table import Table

    goals = ", ".join(f"{k} {op} {v:g}" for k, (op, v) in GOALS.items())
    table = Table(title=f"alive: {report['scene']}, {report['goal_seconds']:g} s after the first frame ({goals})")
    for col in (
        "run",
        "model decisions",
        "talk lines",
        "wait p95 s",
        "FPS",
        "to first frame s",
        "model CPU s",
        "CPU ms/frame",
        "load 1m",
        "goals met",
    ):
        table.add_column(col, justify="right")
    for r in report["rows"]:
        p95 = "-" if r["wait_p95_s"] is None else f"{r['wait_p95_s']:.2f}"
        table.add_row(
            str(r["run"]),
            str(r["model_decisions"]),
            str(r["talk_lines"]),
            p95,
            f"{r['fps_mean']:.1f}",
            f"{r['startup_s']:.1f}",
            f"{r['model_cpu_s'] or 0:.1f}",
            f"{r['draw_cpu_ms_per_frame']:.1f}",
            f"{r['load_avg_1m']:.2f}",
            f"{r['passed']} of {len(GOALS)}",
        )
    console.print(table)
