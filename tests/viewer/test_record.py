"""Recording videos: `tokenworld record` and `record()` render a scene or a run folder offscreen (real EGL
rendering, real encoding) into the frames, size and rate asked for, the same frames every time; camera path
files; the viewer's Record button; and the clear errors a user gets for bad input."""

from __future__ import annotations

import av
import numpy as np
import pytest

from tests.sim.runs_lab import small_village
from tests.viewer.view_lab import VILLAGE, changed, mostly_uniform, tw
from tokenworld.record import RecordError
from tokenworld.viewer.camera_path import CameraPath
from tokenworld.viewer.recorder import RecordOptions, record


def decode(path) -> tuple[list[np.ndarray], object, tuple[int, int]]:
    """(frames, average frame rate, (width, height)) of a video file."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)], s.average_rate, (s.width, s.height)


def test_recording_a_scene_writes_the_frames_size_and_rate_asked_for(tmp_path):
    """An MP4 of the village decodes to seconds x fps frames of the size and rate asked for; with the camera
    still (top-down) and no overlays, frames change only in small spots: where agents walked."""
    out = tmp_path / "v.mp4"
    done = record(
        RecordOptions(
            str(VILLAGE), str(out), seconds=1.5, fps=12, size=(480, 270), camera="top-down", overlays=(), progress=False
        )
    )
    frames, rate, size = decode(out)
    assert (len(frames), rate, size) == (18, 12, (480, 270))
    assert done.frames == 18 and done.ticks[1] > done.ticks[0]
    assert not mostly_uniform(frames[0])
    moved = changed(frames[0], frames[-1])
    assert 20 < moved.sum() < 0.03 * moved.size, moved.sum()  # agents moved; ground, zones and sky did not


def test_two_recordings_of_one_lockstep_run_are_identical(tmp_path):
    """The same command twice (orbiting camera, every overlay) writes the same frames: no wall clock anywhere."""
    outs = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    for out in outs:
        r = tw(
            "record", str(VILLAGE), "--out", str(out), "--seconds", "1", "--fps", "10", "--size", "320x180",
            "--speed", "40", "--overlays", "title,clock,captions,plots", "--no-progress",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
    fa, fb = decode(outs[0])[0], decode(outs[1])[0]
    assert len(fa) == len(fb) == 10
    for i, (x, y) in enumerate(zip(fa, fb, strict=True)):
        assert np.array_equal(x, y), f"frame {i} differs"
    assert not np.array_equal(fa[0], fa[-1])  # the camera turned and agents moved


@pytest.mark.slow
def test_recording_a_run_folder_is_deterministic_and_stops_at_its_end(tmp_path):
    """A run folder replays into PNG frames, the same by the command and by `record()` in a process that recorded
    before; asked for more than the run holds, the video ends with the run (and says so)."""
    from tests.sim.runs_lab import tw as run_tw

    scene = small_village(tmp_path / "scenes", ticks=30, checkpoint_every=0, snapshot_every=10)
    r = run_tw("run", str(scene), "--runs-dir", str(tmp_path / "runs"), "--name", "v", "--no-progress")
    assert r.returncode == 0, r.stderr
    folder, shots = tmp_path / "runs" / "v", []
    r = tw(
        "record", str(folder), "--out", str(tmp_path / "a" / "f.png"), "--seconds", "3", "--fps", "10",
        "--speed", "20", "--size", "256x144", "--camera", "follow", "--no-progress",
    )  # fmt: skip
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 0, out
    assert "the video ends after" in out and "instead of 30" in out  # 30 ticks at 20 ticks a second: 1.5 s
    shots.append(sorted((tmp_path / "a").iterdir()))
    # Again in this process, after other recordings in it (their glyphs must not move this one's text).
    record(RecordOptions(str(folder), str(tmp_path / "b" / "f.png"), seconds=3, fps=10, speed=20, size=(256, 144),
                         camera="follow", progress=False))  # fmt: skip
    shots.append(sorted((tmp_path / "b").iterdir()))
    assert 10 <= len(shots[0]) == len(shots[1]) < 30
    for x, y in zip(*shots, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_camera_path_passes_through_its_keyframes_and_names_a_bad_line(tmp_path):
    """Keyframes are reached at their times and held outside them; a bad keyframe's error names file and line."""
    path = CameraPath.parse(
        "# t  pos  look\n0  0 -50 40  0 0 0\n2, 50,0,40, 0,0,0  # comma-separated too\n4 0 50 40 0 0 0\n"
    )
    for t, pos in ((0, (0, -50, 40)), (2, (50, 0, 40)), (4, (0, 50, 40)), (9, (0, 50, 40))):
        assert np.allclose(path.at(t)[0], pos)
    mid = path.at(1.0)[0]
    assert 0 < mid[0] < 50 and -50 < mid[1] < 0  # between keyframes, on a curve
    bad = {
        "0 0 0 10 0 0 0\n1 5 5 10 0 0\n": "line 2: a keyframe is 7 numbers",
        "0 0 0 10 0 0 0\n\n# later\n1 5 x 10 0 0 0\n": "line 4: 'x' is not a number",
        "0 0 0 10 0 0 0\n2 5 5 10 0 0 0\n1 5 5 10 0 0 0\n": "line 3: time 1 s is not after the keyframe before it",
        "0 0 0 10 0 0 0\n": "at least two keyframes",
        "0 0 0 10 0 0 0\n1 1 1 1 1 1 1\n": "line 2: the camera's position and its look-at point are the same",
    }
    for text, says in bad.items():
        with pytest.raises(RecordError, match=says):
            CameraPath.parse(text, "cam.path")
    f = tmp_path / "fly.path"
    f.write_text("0 0 -50 40 0 0 0\n3 50 nan 40 0 0 0\n")
    r = tw("record", str(VILLAGE), "--out", str(tmp_path / "x.mp4"), "--camera", str(f))
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2 and "Traceback" not in out, out
    assert f"{f}, line 2: 'nan' is not a finite number" in out


@pytest.mark.parametrize(
    "args, says",
    [
        (["missing.toml", "--out", "OUT.mp4"], "missing.toml: no such file"),
        (["VILLAGE", "--out", "OUT.avi"], "cannot write a '.avi' file; end the name with .mp4"),
        (["VILLAGE", "--out", "OUT.mp4", "--camera", "sideways"], "not a camera move (orbit, follow, top-down)"),
        (["VILLAGE", "--out", "OUT.mp4", "--follow", "99"], "--follow 99: no such agent; the scene has 25"),
        (["VILLAGE", "--out", "OUT.mp4", "--overlays", "title,logo"], "unknown overlay logo"),
        (["VILLAGE", "--out", "OUT.mp4", "--size", "10x10"], "window size 10x10 is out of range"),
    ],
)
def test_record_rejects_bad_input_with_a_message(tmp_path, args, says):
    """Bad targets and options end with exit code 2 and a message saying what is wrong, never a traceback."""
    args = [{"VILLAGE": str(VILLAGE)}.get(a, a.replace("OUT", str(tmp_path / "out"))) for a in args]
    r = tw("record", *args, "--seconds", "0.1", timeout=120)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2, out
    assert says in out and "Traceback" not in out, out


def test_record_command_rounds_an_odd_mp4_size_and_writes_gif(tmp_path):
    """`--size 321x181` for an MP4 is rounded to 320x180 and said; a .gif keeps the size; both print the path."""
    mp4, gif = tmp_path / "odd.mp4", tmp_path / "odd.gif"
    said = {}
    for out in (mp4, gif):
        r = tw("record", str(VILLAGE), "--out", str(out), "--size", "321x181", "--seconds", "0.5", "--fps", "6")
        said[out] = " ".join((r.stdout + r.stderr).split())
        assert r.returncode == 0 and "Traceback" not in said[out], said[out]
        assert f"wrote {out}: 3 frames" in said[out]
    assert "--size 321x181 rounded to 320x180: H.264 video needs an even width and height" in said[mp4]
    assert "rounded" not in said[gif]
    frames, _, size = decode(mp4)
    assert size == (320, 180) and len(frames) == 3
    frames, _, size = decode(gif)
    assert size == (321, 181) and len(frames) == 3


def test_record_button_records_what_is_on_screen(tmp_path):
    """The Record button's toggle (F9) records the viewer's frames, panels and all, and says where the file is."""
    from tokenworld.scene.schema import Scene
    from tokenworld.sim.live_source import LiveSource
    from tokenworld.viewer.app import Viewer

    scene = Scene.load(VILLAGE)
    feed = LiveSource(scene, seed=1, speed=8).start()
    feed.wait_ready()
    v = Viewer(feed, scene, offscreen=True, size=(640, 360))
    try:
        v.render(2)
        assert v.toggle_recording(tmp_path / "screen.mp4") is None and v.recorder is not None
        v.render(8)
        path = v.toggle_recording()
        v.render()
        assert path == tmp_path / "screen.mp4" == v.last_recording and v.recorder is None
    finally:
        v.close()
        feed.close()
    frames, _, size = decode(path)
    assert size == (640, 360) and len(frames) >= 1 and not mostly_uniform(frames[-1])
