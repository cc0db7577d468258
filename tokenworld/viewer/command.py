"""`tokenworld view`: open a scene live, or replay a run folder, in the Panda3D viewer (the command's orchestration).

Panda3D and ImGui are imported only here and below (never by the simulation).
Without a display the command still does its main job headless: it runs the
scene for a short while with a terminal status line and the conversations as
they happen, renders offscreen and records a demo video with the viewer's
`ScreenRecorder` (in wall time: a frame drawn late fills the slots it missed)
and a screenshot, and says where they are.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tokenworld.errors import TokenWorldError
from tokenworld.scene.shipped import find_scene
from tokenworld.sim.run_folder import is_run_folder
from tokenworld.sim.source import FrameSource

DEFAULT_SCENE = "village"  # a shipped scene (tokenworld.scene.shipped)
HEADLESS_SECONDS = 20.0  # how long the no-display demo runs
DEMO_FPS = 15


@dataclass
class ViewOptions:
    target: str | None = None  # scene file or run folder; None = the village
    frames: int | None = None  # render this many frames and exit (offscreen)
    screenshot: str | None = None  # save the last frame here
    size: tuple[int, int] = (1280, 720)
    speed: float = 4.0  # simulated seconds per wall second
    seed: int | None = None
    arch: str | None = None
    agents: int | None = None
    runs_dir: str = "runs"
    name: str | None = None
    record: bool | None = None  # write a run folder (default: yes, except with --frames)
    offscreen: bool = False
    seconds: float = HEADLESS_SECONDS  # the no-display demo's length


def has_display() -> bool:
    """Whether a window can be opened (an X or Wayland display on Linux; assumed elsewhere)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def view(opts: ViewOptions) -> int:
    """Run the viewer as `opts` says; returns the process exit code."""
    from rich.console import Console

    from tokenworld.viewer.app import WindowError

    console = Console(stderr=True, soft_wrap=True)  # paths in messages stay whole in logs
    target = Path(opts.target) if opts.target else find_scene(DEFAULT_SCENE)
    replay = target.is_dir()
    if replay and not is_run_folder(target):
        raise TokenWorldError(
            f"{target} is a folder but not a run folder (it needs run.sqlite and scene.toml): pass a scene file, "
            "or runs/<name> written by `tokenworld run`."
        )
    scene = None if replay else _load_scene(find_scene(target), opts)  # a bad scene is reported before anything starts
    scripted = opts.frames is not None
    offscreen = opts.offscreen or scripted
    headless = not offscreen and not has_display()
    if headless:
        console.print(
            "[bold]No display found[/] (DISPLAY is not set), so no window can open. Running headless instead: "
            f"the scene plays for {opts.seconds:g} s with a status line and the conversations here, "
            "rendered offscreen to a demo video and a screenshot. "
            "To use the viewer, run this on a desktop, or under a virtual display: "
            "xvfb-run -s '-screen 0 1280x720x24' tokenworld view ..."
        )
    record = opts.record if opts.record is not None else not scripted
    source = open_source(opts, target, scene, record=record, console=console)
    try:
        if headless:
            return _headless_demo(source, opts, console)
        try:
            viewer = open_viewer(source, opts, offscreen)
        except WindowError as exc:
            if offscreen:
                raise TokenWorldError(
                    f"cannot render offscreen ({exc}). The viewer needs OpenGL through EGL: Mesa's libEGL and libGL "
                    "(tools/bootstrap.sh installs them with apt)."
                ) from None
            console.print(f"[bold]Could not open a window[/] ({exc}). Running headless instead.")
            return _headless_demo(source, opts, console)
        try:
            path = drive(viewer, opts.frames, opts.screenshot)
            if path is not None:
                console.print(f"screenshot: {path} (tick {source.frame.tick if source.frame else 0})")
        finally:
            viewer.close()
    finally:
        source.close()
        _report(source, console)
    return 1 if source.status == "failed" else 0


def drive(viewer, frames: int | None, screenshot: str | None) -> Path | None:
    """Run `viewer`: `frames` frames (scripted, offscreen) or until its window closes; then save `screenshot`
    if asked and the viewer is still open. Returns the screenshot's path, or None."""
    if frames is not None:
        viewer.render(max(frames, 1))
    else:
        viewer.run()
    if screenshot and not viewer.closed:
        return viewer.screenshot(screenshot)
    return None


def _load_scene(target: Path, opts: ViewOptions):
    from tokenworld.scene.schema import Scene

    scene = Scene.load(target)
    if opts.agents is not None:
        from tokenworld.scene.population import with_agents

        scene = with_agents(scene, opts.agents)
    return scene


def open_source(opts: ViewOptions, target: Path, scene, *, record: bool, console) -> FrameSource:
    """A `ReplaySource` of run folder `target` (`scene` None), or a started `LiveSource` of `scene` (recording into
    a run folder under `opts.runs_dir` if asked), as `tokenworld view` opens them (`tokenworld bench alive` too)."""
    if scene is None:
        from tokenworld.sim.replay_source import ReplaySource

        return ReplaySource(target, speed=opts.speed)
    from tokenworld.sim.live_source import LiveSource

    source = LiveSource(scene, seed=opts.seed, arch=opts.arch, speed=opts.speed)
    source.sim.preflight()  # a missing GPU or model fails here, before any folder is made
    if record:
        folder = source.record_into(opts.runs_dir, opts.name)
        console.print(f"recording into {folder} (replay it with: tokenworld view {folder})", style="dim")
    console.print(f"building {scene.agent_count:,} agents ...", style="dim")
    return source.start()


def open_viewer(source: FrameSource, opts: ViewOptions, offscreen: bool):
    """The viewer on `source` (a live one once its first frame is published), as `tokenworld view` opens it."""
    from tokenworld.viewer.app import Viewer

    source.wait_ready()
    if source.live and source.scene.uses_model:
        leave_cores_for_the_model(source.scene.mind.threads)
    return Viewer(source, source.scene, offscreen=offscreen, size=opts.size)


def leave_cores_for_the_model(model_threads: int) -> None:
    """Software GL (Mesa's llvmpipe) rasterizes on the cores the model's `model_threads` leave, at least one
    (`LP_NUM_THREADS`, unless it is set): on 2 cores one rasterizer thread draws a frame with less CPU than two
    and leaves the model its core. Call it before the first window opens; hardware GL ignores it."""
    os.environ.setdefault("LP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) - max(int(model_threads), 0))))


def _headless_demo(source, opts: ViewOptions, console) -> int:
    """No display: play the source for a while offscreen, writing a demo video and a screenshot."""
    from tokenworld.viewer.app import WindowError

    folder = source.folder or Path(opts.runs_dir) / "views" / time.strftime("%Y%m%d-%H%M%S")
    video_path, shot_path = folder / "demo.mp4", folder / "demo.png"
    try:
        viewer = open_viewer(source, opts, offscreen=True)
        if source.frame is not None and source.frame.n:
            viewer.select(0)  # the demo shows an agent's card (persona, needs, memories) in the Inspector
    except WindowError as exc:
        console.print(f"[bold]No OpenGL either[/] ({exc}): the scene runs without pictures.")
        viewer = None
    try:
        _play_headless(source, viewer, video_path, opts.seconds, console)
        if viewer is not None:
            viewer.screenshot(shot_path)
    finally:
        if viewer is not None:
            viewer.close()
    if viewer is not None:
        console.print(f"demo video: {video_path}\nscreenshot: {shot_path}")
    return 0


def _play_headless(source, viewer, video_path: Path, seconds: float, console) -> None:
    from rich.live import Live
    from rich.text import Text

    from tokenworld.viewer.recorder import ScreenRecorder

    recorder = ScreenRecorder(viewer, video_path, fps=DEMO_FPS) if viewer is not None else None
    t0 = time.perf_counter()
    next_frame, said = t0, set()
    try:
        with Live(Text("starting ..."), console=console, refresh_per_second=4, transient=False) as live:
            while time.perf_counter() - t0 < seconds and source.status not in (
                "failed",
                "finished",
                "end of recording",
            ):
                now = time.perf_counter()
                if viewer is not None and now >= next_frame:
                    viewer.render()  # the recorder takes the frame before it (in wall time, missed slots filled)
                    next_frame += 1.0 / DEMO_FPS
                else:
                    time.sleep(min(0.01, max(next_frame - now, 0.0)))
                _print_talk(source, said, live.console)
                live.update(Text(_status_line(source, now - t0)))
        console.print()
    finally:
        if recorder is not None:
            recorder.capture()  # the last frame drawn
            recorder.stop()


def _print_talk(source, said: set, console) -> None:
    """Print the conversations not printed yet (above the status line), as the feed panel words them."""
    from tokenworld.sim.frames import describe

    for line in source.recent_lines(20, kinds={"talk"}):
        key = (line.tick, line.agent, line.other, line.text)
        if key not in said:
            said.add(key)
            console.print(f"tick {line.tick:,}  {describe(line)}", highlight=False)


def _status_line(source, elapsed: float) -> str:
    f = source.frame
    tick = f.tick if f is not None else 0
    parts = [f"{elapsed:5.1f} s", f"tick {tick:,}", f"{source.ticks_per_s:5.1f} ticks/s", source.status]
    inf = source.inference
    if inf:
        parts.append(
            f"model {inf.get('decisions', 0):,} decisions ({100 * inf.get('model_share', 0):.0f}%), "
            f"wait p95 {inf.get('wait_p95_ms', 0):.0f} ms"
        )
    return "  ".join(parts)


def _report(source, console) -> None:
    if source.status == "failed":
        console.print(f"[bold red]error:[/] the simulation failed: {source.error}")
        trace = getattr(source, "_trace", None)
        if trace and os.environ.get("TOKENWORLD_DEBUG"):
            console.print(trace)
