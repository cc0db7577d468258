"""Recording videos of the 3D view.

`record(RecordOptions(...))` is `tokenworld record`: a scene (stepped in lockstep
here, a fixed number of ticks per frame) or a run folder (a playhead moved a
fixed time per frame), drawn offscreen with a camera move and overlays, each
frame handed to a writer (MP4, GIF or PNG frames; tokenworld/record). The
viewer's clock is the video's: frame i is drawn at i / fps seconds, never at the
wall clock's time, so the same command writes the same frames.

`ScreenRecorder` records what a viewer shows as it runs, in wall time (a frame
drawn late fills the slots it missed): the Record button, F9, and the headless
demo of `tokenworld view`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenworld.errors import TokenWorldError
from tokenworld.record import BackgroundWriter, RecordError, even_size, kind_of, open_writer
from tokenworld.scene.schema import Scene
from tokenworld.viewer.overlays import DEFAULT_OVERLAYS, OVERLAYS

DEFAULT_SECONDS = 10.0
DEFAULT_FPS = 30
SIM_SECONDS_PER_S = 4.0  # default speed: simulated seconds per second of video (as the viewer's default)


@dataclass
class RecordOptions:
    """What `tokenworld record` records, and how.

    Attributes:
        target: a scene file (or a shipped scene's name), a run folder, or a `Scene`.
        out: the output file: .mp4 (H.264), .gif, or .png (numbered frames: demo.png -> demo-00000.png ...).
        seconds: length of the video.
        fps: frames a second of video.
        size: (width, height) in pixels; an MP4's odd width or height is rounded down to even (and said).
        speed: ticks per second of video; None: 4 simulated seconds a second (40 ticks at dt 0.1 s).
        camera: 'orbit', 'follow', 'top-down', or a camera path file (docs/recording.md).
        follow: the agent `camera='follow'` follows; None: the busiest agent.
        overlays: which of OVERLAYS to draw ('title', 'clock', 'captions', 'plots').
        title: the title overlay's text (default: the scene's name).
        seed, arch, agents: as for `tokenworld run` (a scene only).
        progress: show a progress bar (frames, ETA) on stderr.
    """

    target: str | Scene
    out: str
    seconds: float = DEFAULT_SECONDS
    fps: int = DEFAULT_FPS
    size: tuple[int, int] = (1280, 720)
    speed: float | None = None
    camera: str = "orbit"
    follow: int | None = None
    overlays: tuple[str, ...] = DEFAULT_OVERLAYS
    title: str | None = None
    seed: int | None = None
    arch: str | None = None
    agents: int | None = None
    progress: bool = True


@dataclass
class Recorded:
    """What `record` wrote."""

    path: Path
    frames: int
    size: tuple[int, int]
    fps: int
    ticks: tuple[int, int]  # first and last tick shown
    wall_s: float  # seconds it took, building included
    render_s: float  # seconds of the frame loop (simulation, drawing, encoding)
    stage_s: dict[str, float] = dataclasses.field(default_factory=dict)  # the frame loop by stage, seconds in all

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.render_s if self.render_s > 0 else 0.0


def _say(console, text: str) -> None:
    if console is not None:
        console.print(text, highlight=False)


def _check(opts: RecordOptions, console):
    """Everything a user can get wrong, checked before anything is built: (size, frames, camera path or None)."""
    from tokenworld.viewer.camera_moves import MOVES
    from tokenworld.viewer.camera_path import CameraPath

    kind = kind_of(opts.out)
    if not (opts.seconds > 0 and math.isfinite(opts.seconds)):
        raise RecordError(f"--seconds must be above 0, found {opts.seconds:g}.")
    if not 1 <= opts.fps <= 240:
        raise RecordError(f"--fps must be 1 to 240, found {opts.fps}.")
    if opts.speed is not None and not (opts.speed > 0 and math.isfinite(opts.speed)):
        raise RecordError(f"--speed (ticks per second of video) must be above 0, found {opts.speed:g}.")
    unknown = [o for o in opts.overlays if o not in OVERLAYS]
    if unknown:
        raise RecordError(f"unknown overlay {', '.join(unknown)}: choose from {', '.join(OVERLAYS)} (or none).")
    size = (int(opts.size[0]), int(opts.size[1]))
    if kind == ".mp4" and size != even_size(size):
        rounded = even_size(size)
        _say(
            console,
            f"--size {size[0]}x{size[1]} rounded to {rounded[0]}x{rounded[1]}: H.264 video needs an even width and "
            "height.",
        )
        size = rounded
    path = None
    if opts.camera not in MOVES:
        if not Path(opts.camera).suffix and not Path(opts.camera).exists():
            raise RecordError(f"--camera {opts.camera}: not a camera move ({', '.join(MOVES)}) nor a camera path file.")
        path = CameraPath.load(opts.camera)
    if opts.follow is not None and opts.camera != "follow":
        raise RecordError(f"--follow {opts.follow} goes with --camera follow (the camera is {opts.camera}).")
    frames = max(1, round(opts.seconds * opts.fps))
    return size, frames, path


def _open_source(opts: RecordOptions, ticks_per_s: float | None, frames: int, console):
    """(source, ticks per second of video, frames to draw): a synchronous LiveSource of a scene, or a ReplaySource."""
    from tokenworld.sim.run_folder import is_run_folder

    target = Path(opts.target) if not isinstance(opts.target, Scene) else None
    if target is not None and target.is_dir():
        if not is_run_folder(target):
            raise TokenWorldError(
                f"{target} is a folder but not a run folder (it needs run.sqlite and scene.toml): pass a scene "
                "file, or runs/<name> written by `tokenworld run`."
            )
        if opts.seed is not None or opts.agents is not None or opts.arch is not None:
            raise TokenWorldError("--seed, --agents and --arch are for a scene; a run folder replays as it was.")
        from tokenworld.sim.replay_source import ReplaySource

        source = ReplaySource(target, playing=False)
        dt = source.scene.sim.dt
        ticks_per_s = ticks_per_s or SIM_SECONDS_PER_S / dt
        source.set_speed(ticks_per_s * dt)
        lo, hi = source.tick_range
        can = int((hi - lo) / ticks_per_s * opts.fps) + 1
        if can < frames:
            _say(
                console,
                f"the run has ticks {lo} to {hi}: at {ticks_per_s:g} ticks a second the video ends after "
                f"{can} frames ({can / opts.fps:.1f} s) instead of {frames}.",
            )
            frames = can
        source.set_playing(True)
        return source, ticks_per_s, frames
    from tokenworld.scene.shipped import find_scene
    from tokenworld.sim.live_source import LiveSource

    scene = opts.target if target is None else Scene.load(find_scene(target))
    if opts.agents is not None:
        from tokenworld.scene.population import with_agents

        scene = with_agents(scene, opts.agents)
    ticks_per_s = ticks_per_s or SIM_SECONDS_PER_S / scene.sim.dt
    needed = math.ceil(frames / opts.fps * ticks_per_s) + 1
    if scene.sim.ticks < needed:  # the video asked for: the run goes on past the scene's sim.ticks
        scene = dataclasses.replace(scene, sim=dataclasses.replace(scene.sim, ticks=needed))
    source = LiveSource(scene, seed=opts.seed, arch=opts.arch, speed=ticks_per_s * scene.sim.dt, synchronous=True)
    source.sim.preflight()
    _say(console, f"building {scene.agent_count:,} agents ...")
    return source.start(), ticks_per_s, frames


def record(opts: RecordOptions, console=None) -> Recorded:
    """Render `opts.target` offscreen into `opts.out`, one fixed time step per frame; returns what was written.

    Raises `TokenWorldError` (a `RecordError` for recording options) for anything the user can fix.
    """
    from tokenworld.viewer.app import Viewer, WindowError
    from tokenworld.viewer.camera_moves import make_move
    from tokenworld.viewer.overlays import Overlays

    t_start = time.perf_counter()
    size, frames, path = _check(opts, console)
    source, ticks_per_s, frames = _open_source(opts, opts.speed, frames, console)
    if opts.follow is not None and not 0 <= opts.follow < source.scene.agent_count:
        source.close()
        raise RecordError(
            f"--follow {opts.follow}: no such agent; the scene has {source.scene.agent_count:,} "
            f"(0 to {source.scene.agent_count - 1})."
        )
    clock = _VideoClock()
    viewer = writer = None
    _fresh_glyphs()
    try:
        try:
            viewer = Viewer(source, source.scene, offscreen=True, size=size, panels=False, vsync=False, clock=clock)
        except WindowError as exc:
            raise TokenWorldError(
                f"cannot render offscreen ({exc}). Recording needs OpenGL through EGL: Mesa's libEGL and libGL "
                "(tools/bootstrap.sh installs them with apt)."
            ) from None
        move = make_move(viewer, "path" if path is not None else opts.camera, follow=opts.follow, path=path)
        overlays = Overlays(viewer, opts.overlays, title=opts.title, ticks_per_s=ticks_per_s) if opts.overlays else None
        writer = open_writer(opts.out, fps=opts.fps, size=size)
        first_tick = source.frame.tick if source.frame is not None else 0
        stages = {"step and submit": 0.0, "rasterize and read back": 0.0, "encode": 0.0}
        t_loop = time.perf_counter()
        with _progress(opts.progress, frames, console) as advance:
            for i in range(frames):
                t0 = time.perf_counter()
                clock.t = i / opts.fps
                move.apply(viewer, clock.t)
                viewer.render()  # the source steps the ticks due by clock.t, then the frame is drawn
                if source.status == "failed":
                    raise TokenWorldError(f"the simulation failed: {source.error}")
                t1 = time.perf_counter()
                image = viewer.image()
                t2 = time.perf_counter()
                writer.add(image)
                t3 = time.perf_counter()
                stages["step and submit"] += t1 - t0
                stages["rasterize and read back"] += t2 - t1
                stages["encode"] += t3 - t2
                advance()
        render_s = time.perf_counter() - t_loop
        last_tick = source.frame.tick if source.frame is not None else 0
        out = writer.close()
        if overlays is not None:
            overlays.close()
    finally:
        if writer is not None:
            writer.close()
        if viewer is not None:
            viewer.close()
        source.close()
    wall_s = time.perf_counter() - t_start
    return Recorded(out, frames, size, opts.fps, (first_tick, last_tick), wall_s, render_s, stages)


def _fresh_glyphs() -> None:
    """Empty the glyph pages of Panda3D's default font: they live as long as the process, and glyphs laid out by
    an earlier recording (or window) would place this one's text on other texels, changing a few pixels."""
    from panda3d.core import DynamicTextFont, TextProperties

    font = TextProperties.get_default_font()
    if isinstance(font, DynamicTextFont):
        font.clear()


class _VideoClock:
    """The viewer's clock during a recording: seconds of video, set by the recorder before each frame."""

    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class _progress:
    """A progress bar of frames with ETA (rich, on stderr), or nothing."""

    def __init__(self, show: bool, frames: int, console):
        self.show, self.frames, self.console = show, frames, console

    def __enter__(self):
        if not self.show:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("recording"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.bar.__enter__()
        task = self.bar.add_task("frames", total=self.frames)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.show:
            self.bar.__exit__(*exc)


class ScreenRecorder:
    """Records what `viewer` shows into `path` (MP4, GIF or PNG frames), in wall time, until `stop()`.

    A task grabs the frame last drawn at the start of every viewer frame; a frame drawn late fills the video's
    slots it missed, so the video lasts as long as the recording did. An MP4's odd window size is cropped by a
    pixel to even.
    """

    def __init__(self, viewer, path: str | Path, *, fps: int = DEFAULT_FPS):
        self.viewer = viewer
        self.fps = int(fps)
        self.size = even_size(viewer.size) if kind_of(path) == ".mp4" else tuple(viewer.size)
        self.writer = BackgroundWriter(open_writer(path, fps=self.fps, size=self.size))  # frames keep their pace
        self.path = self.writer.path
        self._next: float | None = None
        self._last: np.ndarray | None = None
        self._task = viewer.base.taskMgr.add(self._grab, "tokenworld-record", sort=-20)

    def _grab(self, task):
        self.capture()
        return task.cont

    def _image(self) -> np.ndarray:
        img = self.viewer.image()
        w, h = self.size
        if img.shape[0] >= h and img.shape[1] >= w:
            return img[:h, :w]
        out = np.zeros((h, w, 3), np.uint8)  # the window shrank: the picture in the corner, black around it
        out[: min(h, img.shape[0]), : min(w, img.shape[1])] = img[:h, :w]
        return out

    def capture(self) -> None:
        """Write the frame last drawn if a video frame is due (and repeat the one before for slots missed)."""
        now = self.viewer.clock()
        if self._next is None:
            self._next = now
        if now < self._next:
            return
        step = 1.0 / self.fps
        while self._last is not None and now >= self._next + step:
            self.writer.add(self._last)
            self._next += step
        self._last = self._image()
        self.writer.add(self._last)
        self._next += step

    @property
    def frames(self) -> int:
        return self.writer.frames

    def stop(self) -> Path:
        """Stop recording (the frame last drawn is the last one) and finish the file; returns its path."""
        self.viewer.base.taskMgr.remove(self._task)
        if self._last is None:
            self.capture()
        return self.writer.close()
