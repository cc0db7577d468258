"""Headless runs: simulate a scene into a run folder (a `Recording`) with a progress bar or the live view.

Also continues a recorded run.
"""

from __future__ import annotations

import time
from pathlib import Path

from tokenworld.engine import arch as engine_arch
from tokenworld.errors import RunError
from tokenworld.scene.schema import Scene
from tokenworld.sim.recording import Recording
from tokenworld.sim.simulation import Simulation, TickResult

BUILDING = (
    "building {n:,} agents (the first run on a machine also compiles the engine's kernels, about half a minute) ..."
)


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
    sim = Simulation(scene, seed=seed, arch=arch, profile=True)
    sim.preflight()  # a missing GPU, model file or extra fails here, before any folder is made
    rec = Recording.create(sim, runs_dir=runs_dir, name=name, ticks=ticks, command=command)
    return _drive(rec, arch, progress, live=live, color=color)


def resume_headless(
    folder: str | Path,
    *,
    ticks: int | None = None,
    arch: str | None = None,
    progress: bool = True,
    live: bool = False,
    color: bool = True,
) -> Path:
    """Continue the run in `folder` from its last checkpoint, to `ticks` ticks in all (default: as first asked).

    `progress`, `live` and `color` are as for `run_headless`.
    """
    console = _console(color)
    rec = Recording.resume(
        folder, ticks=ticks, arch=arch, on_build=lambda sim: console.print(BUILDING.format(n=sim.n_agents), style="dim")
    )
    return _drive(rec, arch, progress, live=live, color=color)


def _console(color: bool):
    from rich.console import Console

    return Console(stderr=True, no_color=not color)


def _drive(rec: Recording, arch: str | None, progress: bool, *, live: bool = False, color: bool = True) -> Path:
    """Build if needed, run to the ticks asked for writing every tick, finish the recording however it ends."""
    console = _console(color)
    sim = rec.sim
    status = "failed"
    try:
        try:
            if not sim.built:
                console.print(BUILDING.format(n=sim.n_agents), style="dim")
                sim.build()
            rec.started()
            if engine_arch.requested_arch(arch) == "auto":
                console.print(f"arch: auto chose {sim.arch}", style="dim")
            total = rec.ticks_requested
            remaining = max(0, total - sim.tick)
            if live:  # the live view shows the progress too, so it wins over `progress`
                _run_live(sim, total, remaining, rec.record, console)
            elif progress:
                _run_with_progress(sim, total, remaining, rec.record, console)
            else:
                sim.run(remaining, on_tick=rec.record)
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            try:
                manifest = rec.finish(status)
            except RunError as exc:
                console.print(f"error: {exc}")
                manifest = rec.manifest
    finally:
        sim.close()
    _summary(manifest, rec.folder, console)
    return rec.folder


def _summary(manifest: dict, folder: Path, console) -> None:
    """The lines a finished run prints: ticks, speed, and the model's figures."""
    t = manifest.get("timings", {})
    console.print(
        f"[bold]{manifest['scene']}[/]: {manifest['ticks_done']} ticks, "
        f"{manifest['agents']:,} agents on {manifest.get('arch')}, "
        f"{t.get('ticks_per_second', 0)} ticks/s (median tick {t.get('step_ms_median', 0)} ms). Run folder: {folder}"
    )
    inf = manifest.get("inference")
    if inf:
        console.print(
            f"model ({inf['backend']}): {inf['decisions']:,} decisions and {inf['reflections']:,} reflections, "
            + (f"{inf['guesses']:,} guesses, " if inf.get("guesses") else "")
            + f"{inf['fallbacks']:,} requests fell back to the rules brain, "
            f"{inf['cache_hits']:,} answered from the cache; "
            f"{inf['tokens_in']:,} tokens in ({inf['prefill_saved']:,} saved by the shared prefix), "
            f"{inf['tokens_out']:,} out; "
            f"latency p50 {inf['latency_p50_ms']:.0f} ms, p95 {inf['latency_p95_ms']:.0f} ms; "
            f"the model made {100 * inf.get('model_share', 0):.0f}% of the model-driven agents' decisions "
            f"(the rest followed plans or fell back), "
            f"wait p50 {inf.get('wait_p50_ms', 0):.0f} ms, p95 {inf.get('wait_p95_ms', 0):.0f} ms"
        )
        if inf.get("last_error"):
            console.print(f"warning: model requests failed; the last because: {inf['last_error']}")


def _run_with_progress(sim: Simulation, total: int, remaining: int, record, console) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

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
