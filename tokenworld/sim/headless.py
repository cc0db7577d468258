"""A headless run: simulate a scene, write a run folder, show a progress bar."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

import tokenworld
from tokenworld.engine import arch as engine_arch
from tokenworld.scene.schema import Scene
from tokenworld.sim.simulation import Simulation
from tokenworld.sim.store import RunStore, default_run_name


def run_headless(
    scene: Scene,
    *,
    ticks: int | None = None,
    seed: int | None = None,
    arch: str | None = None,
    runs_dir: str | Path = "runs",
    name: str | None = None,
    progress: bool = True,
    command: list[str] | None = None,
) -> Path:
    """Run `scene` for `ticks` ticks and return the run folder it wrote."""
    from rich.console import Console

    console = Console(stderr=True)
    ticks = scene.sim.ticks if ticks is None else ticks
    t_start = time.perf_counter()
    sim = Simulation(scene, seed=seed, arch=arch, profile=True)
    engine_arch.init(arch, seed=sim.seed)  # a missing GPU fails here, before any folder is made
    store = RunStore.create(runs_dir, name or default_run_name(scene), scene)
    manifest = {
        "tokenworld_version": tokenworld.__version__,
        "scene": scene.name,
        "scene_source": str(getattr(scene, "source", "")),
        "seed": sim.seed,
        "seed_given": sim.seed_was_given,
        "agents": scene.agent_count,
        "ticks_requested": ticks,
        "ticks_done": 0,
        "status": "running",
        "requested_arch": arch or "auto/env",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": command or sys.argv,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    store.write_manifest(manifest)
    steps_ms: list[float] = []
    try:
        sim.build()
        manifest["arch"] = sim.arch
        if engine_arch.requested_arch(arch) == "auto":
            console.print(f"arch: auto chose {sim.arch}", style="dim")
        manifest["build_seconds"] = round(sim.build_seconds, 4)
        store.write_manifest(manifest)

        def record(r) -> None:
            store.write_tick(r.tick, sim.sim_time, r.metrics, r.step_ms, r.stage_ms)
            steps_ms.append(r.step_ms)

        t_run = time.perf_counter()
        if progress:
            _run_with_progress(sim, ticks, record, console)
        else:
            sim.run(ticks, on_tick=record)
        run_seconds = time.perf_counter() - t_run
        manifest["status"] = "finished"
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        run_seconds = time.perf_counter() - t_run if "t_run" in locals() else 0.0
        raise
    finally:
        done = len(steps_ms)
        manifest["ticks_done"] = done
        manifest["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if done:
            manifest["timings"] = {
                "run_seconds": round(run_seconds, 4),
                "ticks_per_second": round(done / run_seconds, 3) if run_seconds > 0 else None,
                "step_ms_median": round(float(np.median(steps_ms)), 4),
                "step_ms_p95": round(float(np.percentile(steps_ms, 95)), 4),
                "total_seconds": round(time.perf_counter() - t_start, 4),
            }
        store.write_manifest(manifest)
        store.close()
        sim.close()
    t = manifest.get("timings", {})
    console.print(
        f"[bold]{scene.name}[/]: {done} ticks, {scene.agent_count:,} agents on {manifest.get('arch')}, "
        f"{t.get('ticks_per_second', 0)} ticks/s (median step {t.get('step_ms_median', 0)} ms). "
        f"Run folder: {store.folder}"
    )
    return store.folder


def _run_with_progress(sim: Simulation, ticks: int, record, console) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ticks  {task.fields[rate]:>8.1f} ticks/s  {task.fields[agents]:,} agents"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(sim.scene.name, total=ticks, rate=0.0, agents=sim.n_agents)
        t0 = time.perf_counter()

        def on_tick(r) -> None:
            record(r)
            elapsed = time.perf_counter() - t0
            bar.update(task, advance=1, rate=r.tick / elapsed if elapsed > 0 else 0.0)

        sim.run(ticks, on_tick=on_tick)
