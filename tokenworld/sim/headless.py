"""Headless runs: simulate a scene into a run folder with a progress bar or the live view, or continue one."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

import tokenworld
from tokenworld.engine import arch as engine_arch
from tokenworld.errors import RunError
from tokenworld.scene.schema import Scene
from tokenworld.sim.simulation import Simulation, TickResult
from tokenworld.sim.store import RunStore, default_run_name


BUILDING = "building {n:,} agents (the first run on a machine also compiles the engine's kernels, about half a minute) ..."


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
    live: bool = False,
    color: bool = True,
) -> Path:
    """Run `scene` for `ticks` ticks and return the run folder it wrote.

    `progress` shows a progress bar; `live` shows the live view instead (figures and a feed of
    events and conversations, see `tokenworld.sim.live_view`); `color=False` prints no colours (for logs).
    """
    ticks = scene.sim.ticks if ticks is None else ticks
    sim = Simulation(scene, seed=seed, arch=arch, profile=True)
    engine_arch.init(arch, seed=sim.seed)  # a missing GPU fails here, before any folder is made
    if sim.uses_model:
        from tokenworld.inference import preflight

        preflight(scene.mind)  # so does a missing model file or extra
    store = RunStore.create(runs_dir, name or default_run_name(scene), scene)
    manifest = {
        "tokenworld_version": tokenworld.__version__,
        "scene": scene.name,
        "scene_source": str(scene.source),
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
        "resumes": [],
    }
    store.write_manifest(manifest)  # before building: a run killed while it builds can still be resumed
    return _drive(sim, store, manifest, ticks, arch, progress, live=live, color=color)


def resume_headless(
    folder: str | Path, *, ticks: int | None = None, arch: str | None = None, progress: bool = True, live: bool = False,
    color: bool = True,
) -> Path:
    """Continue the run in `folder` from its last checkpoint, to `ticks` ticks in all (default: as first asked).

    `progress`, `live` and `color` are as for `run_headless`.
    """
    store = RunStore.reopen(folder)
    try:
        manifest = store.manifest()
        scene = Scene.load(Path(folder) / "scene.toml")
        total = manifest.get("ticks_requested", scene.sim.ticks) if ticks is None else ticks
        sim = Simulation(scene, seed=int(manifest["seed"]), arch=arch, profile=True)
        engine_arch.init(arch, seed=sim.seed)
        from rich.console import Console

        Console(stderr=True, no_color=not color).print(BUILDING.format(n=sim.n_agents), style="dim")
        sim.build()
        found = store.last_checkpoint()
        start = 0
        if found is not None:
            start, state, meta = found
            sim.restore(state, meta)
        recorded = store.conn_ticks()
        if total < recorded:
            raise RunError(
                f"{folder} already holds {recorded} ticks; --ticks {total} would throw some away. "
                f"Pass --ticks {recorded} or more (or leave it out to finish the run as first asked)."
            )
        store.truncate_after(start)
    except BaseException:
        store.close()
        raise
    manifest["ticks_requested"] = total
    manifest["status"] = "running"
    manifest.setdefault("resumes", []).append({"from_tick": start, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return _drive(sim, store, manifest, total, arch, progress, live=live, color=color)


def tick_recorder(sim: Simulation, store: RunStore, steps_ms: list | None = None) -> Callable[[TickResult], None]:
    """A `Simulation.run` callback that writes each tick to `store` as the scene's `[store]` options ask.

    Checkpoints, snapshots and position tracks are added on the ticks that are
    multiples of `checkpoint_every`, `snapshot_every` and `track_every` (0: never).

    Args:
        sim: the simulation whose ticks are recorded.
        store: the run store to write to.
        steps_ms: if given, each tick's `step_ms` is appended to it.
    """
    opts = sim.scene.store

    def due(every: int, tick: int) -> bool:
        return bool(every) and tick % every == 0

    def record(r: TickResult) -> None:
        store.write_tick(
            sim, r, checkpoint=due(opts.checkpoint_every, r.tick), snapshot=due(opts.snapshot_every, r.tick),
            track=due(opts.track_every, r.tick),
        )  # fmt: skip
        if steps_ms is not None:
            steps_ms.append(r.step_ms)

    return record


def _drive(
    sim: Simulation, store: RunStore, manifest: dict, total: int, arch: str | None, progress: bool, *,
    live: bool = False, color: bool = True,
) -> Path:
    """Build if needed, run to `total` ticks writing every tick, keep the manifest true."""
    from rich.console import Console

    console = Console(stderr=True, no_color=not color)
    steps_ms: list[float] = []
    t_start = time.perf_counter()
    t_run = t_start
    try:
        if not sim.built:
            console.print(BUILDING.format(n=sim.n_agents), style="dim")
            sim.build()
        manifest["arch"] = sim.arch
        manifest["build_seconds"] = round(sim.build_seconds, 4)
        store.write_manifest(manifest)
        store.start_writer()
        if engine_arch.requested_arch(arch) == "auto":
            console.print(f"arch: auto chose {sim.arch}", style="dim")
        record = tick_recorder(sim, store, steps_ms)
        t_run = time.perf_counter()
        remaining = max(0, total - sim.tick)
        if live:  # the live view shows the progress too, so it wins over `progress`
            _run_live(sim, total, remaining, record, console)
        elif progress:
            _run_with_progress(sim, total, remaining, record, console)
        else:
            sim.run(remaining, on_tick=record)
        manifest["status"] = "finished"
        if sim.worker is not None:
            manifest["inference"] = sim.mind_stats()
    except KeyboardInterrupt:
        manifest["status"] = "interrupted"
        raise
    except BaseException:
        manifest["status"] = "failed"
        raise
    finally:
        run_seconds = time.perf_counter() - t_run
        try:
            store.close()  # commits what the writer still holds
        except RunError as exc:
            manifest["status"] = "failed"
            console.print(f"error: {exc}")
        manifest["ticks_done"] = store.conn_ticks()  # what is committed, whatever stopped the run
        manifest["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if steps_ms:
            manifest["timings"] = {
                "run_seconds": round(run_seconds, 4),
                "ticks_per_second": round(len(steps_ms) / run_seconds, 3) if run_seconds > 0 else None,
                "step_ms_median": round(float(np.median(steps_ms)), 4),
                "step_ms_p95": round(float(np.percentile(steps_ms, 95)), 4),
                "total_seconds": round(time.perf_counter() - t_start, 4),
            }
        store.write_manifest(manifest)
        sim.close()
    t = manifest.get("timings", {})
    console.print(
        f"[bold]{manifest['scene']}[/]: {manifest['ticks_done']} ticks, {manifest['agents']:,} agents on {manifest.get('arch')}, "
        f"{t.get('ticks_per_second', 0)} ticks/s (median tick {t.get('step_ms_median', 0)} ms). Run folder: {store.folder}"
    )
    inf = manifest.get("inference")
    if inf:
        console.print(
            f"model ({inf['backend']}): {inf['decisions']:,} decisions and {inf['reflections']:,} reflections, "
            f"{inf['fallbacks']:,} requests fell back to the rules brain, {inf['cache_hits']:,} answered from the cache; "
            f"{inf['tokens_in']:,} tokens in ({inf['prefill_saved']:,} saved by the shared prefix), {inf['tokens_out']:,} out; "
            f"latency p50 {inf['latency_p50_ms']:.0f} ms, p95 {inf['latency_p95_ms']:.0f} ms; "
            f"the model made {100 * inf.get('model_share', 0):.0f}% of the model-driven agents' decisions "
            f"(the rest followed plans or fell back), wait p50 {inf.get('wait_p50_ms', 0):.0f} ms, p95 {inf.get('wait_p95_ms', 0):.0f} ms"
        )
        if inf.get("last_error"):
            console.print(f"warning: model requests failed; the last because: {inf['last_error']}")
    return store.folder


def _run_with_progress(sim: Simulation, total: int, remaining: int, record, console) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ticks  {task.fields[rate]:>8.1f} ticks/s  {task.fields[agents]:,} agents{task.fields[model]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(sim.scene.name, total=total, completed=sim.tick, rate=0.0, agents=sim.n_agents, model="")
        t0, first = time.perf_counter(), sim.tick

        def on_tick(r) -> None:
            record(r)
            elapsed = time.perf_counter() - t0
            model = ""
            if r.inference:
                i = r.inference
                model = f"  model {i['decisions']:,}, {i['fallbacks']} fb"
            bar.update(task, advance=1, rate=(r.tick - first) / elapsed if elapsed > 0 else 0.0, model=model)

        sim.run(remaining, on_tick=on_tick)


def _run_live(sim: Simulation, total: int, remaining: int, record, console) -> None:
    from tokenworld.sim.live_view import LiveView

    with LiveView(sim, total=total, console=console) as view:

        def on_tick(r: TickResult) -> None:
            record(r)
            view.update(r)

        sim.run(remaining, on_tick=on_tick)
