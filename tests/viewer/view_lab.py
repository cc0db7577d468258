"""Shared helpers for the viewer tests: the CLI in a subprocess, pausing a live feed, reading what is on screen.

Pixel helpers take images from `Viewer.image()`: (h, w, 3) uint8, top row
first, so `img[y, x]` is the pixel a person sees at (x, y).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.paths import ROOT

VILLAGE = ROOT / "scenes" / "village_rules.toml"  # 25 villagers, rules brain (fast)
SIZE = (1280, 720)  # the viewer's default window size


def tw(
    *args: str, env: dict | None = None, cwd: Path | None = None, module: bool = False, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the `tokenworld` command with ARGS from `cwd` (the repository root by default) and capture its output.

    `module`: run it as `python -m tokenworld` instead of the installed console script.
    `env` replaces the environment.
    """
    script = Path(sys.executable).parent / "tokenworld"
    cmd = [sys.executable, "-m", "tokenworld"] if module or not script.is_file() else [str(script)]
    return subprocess.run(
        [*cmd, *args], check=False, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd or ROOT
    )


def wait_until(condition, what: str, timeout: float = 30.0, every: float = 0.01) -> None:
    """Poll `condition()` until it is true, or fail saying `what` did not happen."""
    t_end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > t_end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def settle(feed, viewer=None, frames: int = 3) -> None:
    """Pause `feed`, wait until its last frame's interpolation is over, then render `frames` frames.

    After this, what is drawn is `feed.frame.pos` exactly (no tick moves agents in between).
    """
    feed.set_playing(False)
    wait_until(lambda: feed.status == "paused", "the feed to pause")
    f = feed.frame
    wait_until(lambda: time.perf_counter() > f.wall + f.interval, "the frame's interpolation to end")
    if viewer is not None:
        viewer.render(frames)


def step_and_settle(feed, viewer=None, n: int = 1) -> None:
    """Step a paused feed `n` ticks, wait until they are published, then settle."""
    tick = feed.frame.tick
    feed.step_once(n)
    wait_until(lambda: feed.frame.tick >= tick + n and feed.status == "paused", f"{n} tick(s) to be stepped")
    settle(feed, viewer)


def panel_rect(name: str) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in pixels of the ImGui window titled `name`, as ImGui placed it (a viewer must be open)."""
    from imgui_bundle import imgui

    win = imgui.internal.find_window_by_name(name)
    assert win is not None, f"no panel called {name!r}"
    return win.pos.x, win.pos.y, win.pos.x + win.size.x, win.pos.y + win.size.y


PANELS = ("Simulation", "Inference", "Plots", "Inspector", "Zones", "Conversations and events")


def under_panels(points: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Mask of screen points (n, 2) inside (or within `margin` px of) any panel."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    out = np.zeros(len(pts), bool)
    for name in PANELS:
        x0, y0, x1, y1 = panel_rect(name)
        out |= (
            (pts[:, 0] >= x0 - margin)
            & (pts[:, 0] <= x1 + margin)
            & (pts[:, 1] >= y0 - margin)
            & (pts[:, 1] <= y1 + margin)
        )
    return out


def inside(points: np.ndarray, size: tuple[int, int], margin: float) -> np.ndarray:
    """Mask of screen points at least `margin` px inside the image."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    return (
        (pts[:, 0] >= margin) & (pts[:, 0] < size[0] - margin) & (pts[:, 1] >= margin) & (pts[:, 1] < size[1] - margin)
    )


def isolated(points: np.ndarray, gap: float) -> np.ndarray:
    """Mask of points with no other point within `gap` px."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1) > gap


def window(img: np.ndarray, xy, r: int) -> np.ndarray:
    """The (2r+1)-pixel square of `img` centred on screen point `xy` (clipped at the edges)."""
    x, y = round(float(xy[0])), round(float(xy[1]))
    return img[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1]


def changed(a: np.ndarray, b: np.ndarray, threshold: int = 40) -> np.ndarray:
    """Mask of pixels whose colours differ clearly (sum of channel differences above `threshold`)."""
    return np.abs(a.astype(np.int32) - b.astype(np.int32)).sum(axis=-1) > threshold


def chroma(rgb: np.ndarray) -> np.ndarray:
    """Colours with brightness divided out (r, g, b summing to 1): lighting scales brightness, not hue."""
    rgb = np.asarray(rgb, np.float64)
    return rgb / np.maximum(rgb.sum(axis=-1, keepdims=True), 1e-9)


def yellow(img: np.ndarray) -> np.ndarray:
    """Mask of pixels of the selection colour (app.SELECTED, lit): bright, red close to green, little blue."""
    rgb = img.astype(np.int32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return (r > 90) & (g > 0.86 * r) & (g < 1.1 * r) & (b < 0.35 * g)


def mostly_uniform(img: np.ndarray) -> bool:
    """Whether an image is (nearly) one colour: a blank or failed render."""
    flat = img.reshape(-1, img.shape[-1]).astype(np.int32)
    return bool((np.abs(flat - np.median(flat, axis=0)).sum(axis=1) > 30).mean() < 0.01)


def read_image(path: Path) -> np.ndarray:
    """The first picture of an image or video file as an (h, w, 3) uint8 array (decoded with PyAV)."""
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def count_video_frames(path: Path) -> int:
    """How many frames a video file decodes to."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def free_display() -> int | None:
    """An X display number in 90..99 nobody uses, or None."""
    for n in range(90, 100):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    return None


@contextlib.contextmanager
def xvfb(width: int = 1280, height: int = 720):
    """A virtual X display for the duration of the block; yields its DISPLAY string."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise RuntimeError("Xvfb is not on PATH")
    n = free_display()
    if n is None:
        raise RuntimeError("no free X display number in 90..99")
    proc = subprocess.Popen(
        [exe, f":{n}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(
            lambda: Path(f"/tmp/.X11-unix/X{n}").exists() or proc.poll() is not None, "Xvfb to start", timeout=20
        )
        if proc.poll() is not None:
            raise RuntimeError(f"Xvfb :{n} exited: {proc.stderr.read().decode(errors='replace')[-500:]}")
        yield f":{n}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def env_without_display() -> dict:
    """This process's environment minus DISPLAY and WAYLAND_DISPLAY."""
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
