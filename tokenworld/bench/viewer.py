"""`tokenworld bench viewer`: frame time of the 3D viewer with N agents, with and without the simulation and the model.

Each size is the synthetic town of `tokenworld bench world` (0.05 agents per
square metre), shown in an offscreen buffer (EGL; no display needed) at the
default camera, panels drawn. Three cases per size:

- `render`: the simulation paused; frames redraw the same world (the cost of drawing);
- `sim`: the simulation stepping beside the viewer at 4x real time (its thread competes for the CPU);
- `sim+model` (at the sizes given by `--model-agents-at`): the same with the
  embedded model deciding for up to 32 agents, its inference thread busy the whole time.

Frame time is wall time between the starts of two frames (everything the
viewer does in a frame); medians and p95 over the measured frames, after warm-up.

`scenes` adds shipped (or any) scene files as they are, with their zones'
props, entities and people (cases `render` and `sim`): the village and the
metropolis by default.
"""

from __future__ import annotations

import time

import numpy as np

from tokenworld.bench.machine import describe_machine, prepare_report_path, write_report

MODEL_AGENTS = 32


def _scene(n: int, *, model: bool):
    from tokenworld.bench.world import town_scene
    from tokenworld.scene.schema import Scene

    scene = town_scene(n)
    if not model:
        return scene
    data = scene.to_dict()
    data["mind"] = {
        **data.get("mind", {}),
        "backend": "llama_cpp",
        "model": "gemma3-270m",
        "mode": "score",
        "decide_every": 10,
        "llm_fraction": min(1.0, MODEL_AGENTS / max(data["groups"][0]["count"], 1)),
    }
    data["groups"][0]["mind"] = "model"
    data["sim"] = {**data.get("sim", {}), "max_decisions_per_tick": 16}
    return Scene.from_dict(data)


def measure_case(
    n: int,
    case: str,
    *,
    frames: int,
    warmup: int,
    size: tuple[int, int],
    arch: str | None,
    model_seconds: float = 60.0,
    scene_file: str | None = None,
) -> dict:
    """Open the viewer on an `n`-agent town (or on `scene_file`, `n` ignored), run `case`, and return frame-time
    figures."""
    from tokenworld.sim.live_source import LiveSource
    from tokenworld.viewer.app import Viewer

    if scene_file is not None:
        from tokenworld.scene import Scene
        from tokenworld.scene.shipped import find_scene

        scene = Scene.load(find_scene(scene_file))
        n = scene.agent_count
    else:
        scene = _scene(n, model=case == "sim+model")
    feed = LiveSource(scene, seed=1, arch=arch, speed=4.0, playing=case != "render")
    feed.sim.preflight()
    feed.start()
    viewer = None
    try:
        feed.wait_ready()
        viewer = Viewer(feed, scene, offscreen=True, size=size, vsync=False)
        if case == "sim+model":  # the model's first answers (loading, first batch) before measuring
            t_end = time.perf_counter() + 60
            while (feed.inference or {}).get("requests", 0) < 1 and time.perf_counter() < t_end:
                viewer.render()
        viewer.render(warmup)
        tick0 = feed.frame.tick
        asked0 = (feed.inference or {}).get("requests", 0)
        viewer.frame_times.clear()
        t0 = time.perf_counter()
        viewer.render(frames)
        while case == "sim+model" and time.perf_counter() - t0 < model_seconds:  # long enough for batches to finish
            viewer.render()
        wall = time.perf_counter() - t0
        frames = len(viewer.frame_times)
        ms = np.array(viewer.frame_times[1:] or [0.0])
        out = {
            **({"scene": scene.name} if scene_file is not None else {}),  # town rows have none (older files alike)
            "agents": n,
            "case": case,
            "frames": frames,
            "frame_ms_median": round(float(np.median(ms)), 3),
            "frame_ms_p95": round(float(np.percentile(ms, 95)), 3),
            "fps": round(frames / wall, 2),
            "ticks_during": feed.frame.tick - tick0,
            "tick_ms": round(feed.tick_ms, 3) if feed.tick_ms > 0 else None,
        }
        if feed.inference:  # model answers (decisions and reflections) while the frames were measured
            out["model_answers"] = feed.inference.get("requests", 0) - asked0
            out["model_answers_per_s"] = round(out["model_answers"] / wall, 3)
            out["queue_depth"] = feed.inference.get("queue_depth", 0)
        return out
    finally:
        if viewer is not None:
            viewer.close()
        feed.close()


def run_viewer_bench(
    agents: list[int],
    *,
    frames: int = 300,
    warmup: int = 30,
    size: tuple[int, int] = (1280, 720),
    model_at: list[int] = (10000,),
    scenes: list[str] = (),
    arch: str | None = None,
    json_path: str | None = None,
) -> dict:
    """Run the viewer suite (cases `render` and `sim` at every size and for every scene in `scenes`, `sim+model`
    at `model_at`); print a table; optionally write JSON. `tick_ms` is the simulation's last tick (None in
    `render`, where nothing ticks)."""
    from rich.console import Console
    from rich.table import Table

    from tokenworld.engine import arch as engine_arch
    from tokenworld.scene.shipped import find_scene

    prepare_report_path(json_path)
    files = {name: str(find_scene(name)) for name in scenes}  # a wrong name fails now, not after minutes of measuring
    console = Console(stderr=True)
    rows = []
    for n in agents:
        cases = ["render", "sim"] + (["sim+model"] if n in model_at else [])
        for case in cases:
            console.print(f"viewer: {n:,} agents, {case} ...", style="dim")
            rows.append(measure_case(n, case, frames=frames, warmup=warmup, size=size, arch=arch))
    for name, file in files.items():
        for case in ("render", "sim"):
            console.print(f"viewer: scene {name}, {case} ...", style="dim")
            rows.append(measure_case(0, case, frames=frames, warmup=warmup, size=size, arch=arch, scene_file=file))
    by = {(r["agents"], r["case"]): r for r in rows}
    for r in rows:
        if r["case"] == "sim+model" and (r["agents"], "sim") in by:
            base = by[(r["agents"], "sim")]["frame_ms_p95"]
            r["p95_rise_vs_sim"] = round(r["frame_ms_p95"] / base - 1.0, 4) if base else None
    report = {
        "suite": "viewer",
        "arch": engine_arch.current(),
        "machine": describe_machine(arch=engine_arch.current()),
        "size": list(size),
        "frames": frames,
        "warmup": warmup,
        "rows": rows,
    }
    table = Table(title=f"viewer frame time ({size[0]}x{size[1]} offscreen, panels on)")
    for col in ("scene", "agents", "case", "median ms", "p95 ms", "FPS", "ticks", "note"):
        table.add_column(col, justify="right")
    for r in rows:
        note = f"p95 +{r['p95_rise_vs_sim'] * 100:.0f}% vs sim" if r.get("p95_rise_vs_sim") is not None else ""
        if "model_answers" in r:
            note += f", model {r['model_answers_per_s']:.1f} answers/s"
        table.add_row(
            r.get("scene", "town"),
            f"{r['agents']:,}",
            r["case"],
            f"{r['frame_ms_median']:.1f}",
            f"{r['frame_ms_p95']:.1f}",
            f"{r['fps']:.1f}",
            str(r["ticks_during"]),
            note,
        )
    console.print(table)
    write_report(report, json_path, console)
    return report
