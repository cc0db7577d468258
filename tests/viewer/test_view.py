"""The viewer as a person uses it: agents drawn where the engine puts them, panels, clicks, interventions, replay, CLI.

Rendering runs the real viewer through Panda3D in an offscreen EGL buffer
(Mesa llvmpipe, no display needed); one test opens a real window under Xvfb.
A Panda3D ShowBase exists once per process at a time, so each class holds one
viewer for its tests (class-scoped fixtures close it before the next opens).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.paths import ROOT
from tests.viewer.view_lab import (
    SIZE,
    VILLAGE,
    changed,
    chroma,
    count_video_frames,
    env_without_display,
    inside,
    isolated,
    mostly_uniform,
    panel_rect,
    read_image,
    settle,
    step_and_settle,
    tw,
    under_panels,
    wait_until,
    window,
    xvfb,
    yellow,
)
from tokenworld.mind.personas import NARRATOR, agent_name
from tokenworld.scene.schema import Scene
from tokenworld.viewer.command import DEMO_FPS

SEED = 1


def ro_query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of `sql` on a run store, read-only (safe while its writer process commits)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def agents_hidden(v) -> np.ndarray:
    """The frame rendered again without the agents (their layers, near and far, out of the scene graph two frames)."""
    layers = [layer for layer in (v.agents, getattr(v, "far_agents", None)) if layer is not None]
    for layer in layers:
        layer.np.stash()
    try:
        v.render(2)
        return v.image()
    finally:
        for layer in layers:
            layer.np.unstash()
        v.render(2)


def assert_agents_drawn_at(v, px: np.ndarray, archetype: np.ndarray) -> np.ndarray:
    """Check that with the panels and labels hidden, agents are drawn at screen points `px` and nowhere else.

    Hiding the agents changes pixels only within 20 px of some point; at least 80% of the points in view and apart
    from each other show a change (the rest may stand behind a house or a tree), in their archetype's hue (lighting
    scales brightness, so hues are compared). Returns the picture with the agents.
    """
    from tokenworld.viewer.app import ARCHETYPE_COLORS

    v.gui.hide()
    v.show_labels = False
    v.render(2)
    shown = v.image()
    diff = changed(shown, agents_hidden(v))
    ys, xs = np.nonzero(diff)
    assert len(xs), "hiding the agents changed nothing on screen"
    nearest = np.linalg.norm(np.column_stack([xs, ys])[:, None] - px[None], axis=2).min(axis=1)
    assert nearest.max() < 20, f"agent pixels {nearest.max():.0f} px away from every agent's position"
    candidates = np.flatnonzero(inside(px, v.size, 10) & isolated(px, 14))
    assert len(candidates) >= 10, f"only {len(candidates)} agents in view"
    seen = [int(i) for i in candidates if window(diff, px[i], 3).sum() >= 6]
    assert len(seen) >= 0.8 * len(candidates), f"agents {sorted(set(candidates) - set(seen))} not drawn where they are"
    palette = chroma(ARCHETYPE_COLORS)
    wrong_hue = []
    for i in seen:
        colour = np.median(window(shown, px[i], 3)[window(diff, px[i], 3)], axis=0)
        if np.argmin(np.linalg.norm(palette - chroma(colour), axis=1)) != archetype[i]:
            wrong_hue.append((i, colour.tolist(), int(archetype[i])))
    assert not wrong_hue, f"agents drawn in another archetype's colour (agent, rgb, archetype): {wrong_hue}"
    return shown


# ------------------------------------------------------------------ a live village in the viewer


@pytest.fixture(scope="class")
def live(tmp_path_factory):
    """The village playing live (recorded into a run store), in an offscreen viewer of the default size."""
    from tokenworld.sim.live_source import LiveSource
    from tokenworld.viewer.app import Viewer

    scene = Scene.load(VILLAGE)
    feed = LiveSource(scene, seed=SEED, speed=8)
    folder = feed.record_into(tmp_path_factory.mktemp("runs"), "live")
    feed.start()
    viewer = None
    try:
        feed.wait_ready()
        viewer = Viewer(feed, scene, offscreen=True, size=SIZE)
        viewer.render(10)  # a few ticks played
        yield SimpleNamespace(feed=feed, v=viewer, scene=scene, db=folder / "run.sqlite")
    finally:
        if viewer is not None:
            viewer.close()
        feed.close()


@pytest.fixture
def calm(live):
    """The live viewer paused and settled, panels shown, nothing selected, the camera as it was."""
    v, feed = live.v, live.feed
    cam = v.camera
    saved = (cam.target.copy(), cam.distance, cam.yaw, cam.pitch)
    v.gui.show()
    v.select(-1)
    settle(feed, v)
    yield live
    cam.target, cam.distance, cam.yaw, cam.pitch = saved[0], saved[1], saved[2], saved[3]
    v.gui.show()
    v.show_labels = True
    v.panels.kinds = dict.fromkeys(v.panels.kinds, True)
    v.select(-1)


def only_interventions(v) -> None:
    """Untick every kind but 'intervention' in the Conversations panel, as a person filtering it would."""
    v.panels.kinds = {kind: kind == "intervention" for kind in v.panels.kinds}


def pickable(v, margin: float = 30, gap: float = 25) -> np.ndarray:
    """Agents well inside the 3D view, clear of every panel and of each other (ids, nearest the centre first)."""
    sp = v.screen_positions()
    ok = inside(sp, v.size, margin) & ~under_panels(sp, margin=12) & isolated(sp, gap)
    ids = np.flatnonzero(ok)
    return ids[np.argsort(np.linalg.norm(sp[ids] - np.float32(v.size) / 2, axis=1))]


@pytest.mark.slow
class TestLive:
    def test_agents_are_drawn_where_the_engine_puts_them(self, calm):
        """Hiding the agents changes the picture only around the engine's positions, in their archetype's colours."""
        v, feed = calm.v, calm.feed
        assert_agents_drawn_at(v, v.screen_positions(), feed.archetype)

    def test_panels_are_drawn_and_show_the_feed(self, calm):
        """The Simulation panel darkens its corner and shows the feed's tick and status; Zones counts agents."""
        v, feed = calm.v, calm.feed
        v.render(2)
        with_panels = v.image()
        v.gui.hide()
        v.render(2)
        without = v.image()
        v.gui.show()
        v.render(2)
        x0, y0, x1, y1 = (int(c) for c in panel_rect("Simulation"))
        assert x0 < 40 and y0 < 40 and x1 - x0 >= 300 and y1 - y0 >= 200  # top left, where the layout puts it
        region, bare = with_panels[y0:y1, x0:x1], without[y0:y1, x0:x1]
        assert np.median(region.mean(axis=2)) < 60, "the Simulation panel is not a dark ImGui window"
        assert changed(region, bare).mean() > 0.8, "the panel region looks the same without the panels"
        outside = with_panels[300:400, 500:700], without[300:400, 500:700]  # the middle of the 3D view
        assert changed(*outside).mean() < 0.02
        shown = v.panels.shown
        assert shown["simulation"]["tick"] == feed.frame.tick and shown["simulation"]["status"] == "paused"
        zone = feed.frame.zone
        counts = np.bincount(zone[zone >= 0], minlength=len(calm.scene.zones))
        assert shown["zones"] == {z.name: int(c) for z, c in zip(calm.scene.zones, counts, strict=True)}
        step_and_settle(feed, v)
        assert v.panels.shown["simulation"]["tick"] == feed.frame.tick

    def test_click_selects_the_agent_under_the_pointer(self, calm):
        """A click on an agent selects it (name in the Inspector, a yellow ring and body); empty ground clears it."""
        v, feed = calm.v, calm.feed
        ids = pickable(v)
        assert len(ids), "no agent clear of the panels to click"
        i = int(ids[0])
        sp = v.screen_positions()
        before = v.image()
        assert v.panels.shown["inspector"] == {}
        v.click(*sp[i])
        assert v.selected == i
        name = agent_name(i)
        wait_until(
            lambda: (v.render(), v.panels.shown["inspector"].get("name"))[1] == name, f"the Inspector to name {name}"
        )
        assert v.panels.shown["inspector"] == {"agent": i, "name": name}
        after = v.image()
        x0, y0, x1, y1 = (int(c) for c in panel_rect("Inspector"))
        assert changed(before[y0:y1, x0:x1], after[y0:y1, x0:x1]).mean() > 0.03, (
            "the Inspector looks as before the click"
        )
        new_yellow = yellow(window(after, sp[i], 30)) & ~yellow(window(before, sp[i], 30))
        assert new_yellow.sum() >= 20, f"only {new_yellow.sum()} new yellow pixels around the selected agent"
        ys, xs = np.nonzero(yellow(after) & ~yellow(before))
        stray = np.column_stack([xs, ys])[~under_panels(np.column_stack([xs, ys]), 2)]
        assert (np.linalg.norm(stray - sp[i], axis=1) > 40).sum() < 10, "yellow appeared away from the selected agent"
        # Empty ground: far from every agent and entity, clear of the panels.
        from tokenworld.viewer.picking import project

        f = feed.frame
        things = np.concatenate(
            [sp, project(np.column_stack([f.entity_pos, v.ground.height(f.entity_pos)]), v.view_proj(), v.size)[0]]
        )
        gx, gy = np.meshgrid(np.arange(360, 880, 20), np.arange(40, 500, 20))
        grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float64)
        far = grid[(np.linalg.norm(grid[:, None] - things[None], axis=2).min(axis=1) > 60) & ~under_panels(grid, 20)]
        assert len(far), "no empty ground in view"
        v.click(*far[0])
        assert v.selected == -1 and v.selected_entity == -1
        v.render(2)
        assert v.panels.shown["inspector"] == {}
        cleared = v.image()
        assert (yellow(window(cleared, sp[i], 30)) & ~yellow(window(before, sp[i], 30))).sum() < 5, "the ring stayed"

    def test_click_on_a_panel_does_not_select_the_agent_behind_it(self, calm):
        """An agent under the (blank) Inspector panel is pickable there, but a click on the panel leaves it alone."""
        v = calm.v
        x0, y0, x1, y1 = panel_rect("Inspector")
        goal = np.array([(x0 + x1) / 2, y0 + 0.75 * (y1 - y0)])
        sp = v.screen_positions()
        ids = np.flatnonzero(isolated(sp, 25))
        i = int(ids[np.argmin(np.linalg.norm(sp[ids] - goal, axis=1))])  # the least camera travel
        for _ in range(20):  # drag the ground until the agent sits under the panel (half steps: pan is rough)
            sp = v.screen_positions()[i]
            if np.linalg.norm(goal - sp) < 8:
                break
            v.camera.pan(*(0.5 * (goal - sp)), v.size[1])
            v.render()
        sp = v.screen_positions()[i]
        assert under_panels(sp[None])[0] and np.linalg.norm(goal - sp) < 8, (
            f"agent {i} did not move under the Inspector"
        )
        v.click(*sp)
        assert v.selected == -1, "the click went through the panel to the agent"
        assert v.panels.shown["inspector"] == {}
        v.pick_at(*sp)  # the same spot picked without the panel in the way
        assert v.selected == i

    def test_dragging_moves_the_ground_with_the_pointer(self, calm):
        """Right-dragging the view 100 px moves the ground under the pointer about 100 px (camera.pan's promise)."""
        from tokenworld.viewer.picking import project

        v = calm.v
        v.render()
        spot = v.camera.target.copy()  # the ground point mid-screen
        for drag in ((100.0, 0.0), (0.0, 100.0)):
            before = project(spot[None], v.view_proj(), v.size)[0][0]
            v.camera.pan(*drag, v.size[1])
            v.render()
            moved = project(spot[None], v.view_proj(), v.size)[0][0] - before
            assert np.linalg.norm(moved - drag) < 30, f"dragging {drag} px moved the ground {moved.round()} px"

    def test_clicks_reach_the_view_after_hiding_the_panels(self, calm):
        """After Tab hides the panels (the pointer over one), a click on an agent selects it."""
        v = calm.v
        i = int(pickable(v)[0])
        sp = v.screen_positions()[i]
        x0, y0, x1, y1 = panel_rect("Inference")
        v.move_pointer((x0 + x1) / 2, (y0 + y1) / 2)  # resting over a panel, as when pressing Tab
        v.render(2)
        v.gui.hide()
        v.render(2)
        v.click(*sp)
        assert v.selected == i

    def test_message_to_an_agent_is_heard_from_the_narrator(self, calm):
        """`send_message` shows an intervention line in Conversations; the run records it, speaker -1, the next tick."""
        v, feed = calm.v, calm.feed
        agent = 3
        only_interventions(v)
        tick = feed.frame.tick
        feed.send_message(agent, "hello   there")
        step_and_settle(feed, v)
        v.render(2)
        lines = feed.recent_lines(kinds={"intervention"})
        assert lines and (lines[-1].agent, lines[-1].other, lines[-1].text) == (NARRATOR, agent, "hello there")
        said = f'the Narrator said to {agent_name(agent)}: "hello there"'
        assert v.panels.shown["conversations"]["last"] == said
        assert [line.other for line in lines if line.text == "hello there"] == [agent]
        rows = []
        wait_until(
            lambda: (
                rows.extend(
                    ro_query(
                        calm.db, "SELECT tick, speaker, listener, text FROM messages WHERE instr(text, 'hello') > 0"
                    )
                )
                or rows
            ),
            "the message in the run store",
        )
        assert rows == [(tick + 1, NARRATOR, agent, "hello there")]

    def test_announcement_reaches_everyone_in_the_zone(self, calm):
        """`announce` reaches exactly the agents in the zone: a Narrator message each, a line saying how many heard."""
        v, feed, scene = calm.v, calm.feed, calm.scene
        zone_of = feed.frame.zone.copy()
        z = int(np.bincount(zone_of[zone_of >= 0]).argmax())
        inside_zone = sorted(np.flatnonzero(zone_of == z).tolist())
        assert 1 < len(inside_zone) < len(zone_of)
        only_interventions(v)
        tick = feed.frame.tick
        feed.announce(z, "The well is dry")
        step_and_settle(feed, v)
        text = f"[{scene.zones[z].name}] The well is dry"
        line = feed.recent_lines(kinds={"intervention"})[-1]
        assert (line.agent, line.zone, line.text) == (NARRATOR, z, f"{text} ({len(inside_zone)} hear it)")
        v.render(2)
        assert v.panels.shown["conversations"]["last"].endswith(f'"{text} ({len(inside_zone)} hear it)"')
        rows = []
        query = "SELECT tick, speaker, listener FROM messages WHERE text = ?"
        wait_until(lambda: rows.extend(ro_query(calm.db, query, (text,))) or rows, "the announcement in the run store")
        assert {r[0] for r in rows} == {tick + 1} and {r[1] for r in rows} == {NARRATOR}
        assert sorted(r[2] for r in rows) == inside_zone


# ------------------------------------------------------------------ replaying a recorded run

REPLAY_TICKS, AT = 40, 20


@pytest.fixture(scope="class")
def recorded(tmp_path_factory) -> Path:
    """A 40-tick run of the village made with the real `tokenworld run`."""
    runs = tmp_path_factory.mktemp("recorded")
    r = tw("run", str(VILLAGE), "--ticks", str(REPLAY_TICKS), "--runs-dir", str(runs), "--name", "r", "--no-progress")
    assert r.returncode == 0, r.stderr
    return runs / "r"


@pytest.fixture(scope="class")
def engine_at(recorded) -> np.ndarray:
    """Positions a Simulation of the same scene and seed holds after AT ticks."""
    from tokenworld.sim import Simulation

    seed = json.loads((recorded / "manifest.json").read_text())["seed"]
    sim = Simulation(Scene.load(recorded / "scene.toml"), seed=seed).build()
    try:
        sim.run(AT)
        return sim.world.engine.snapshot(("pos",))["pos"].copy()
    finally:
        sim.close()


@pytest.fixture(scope="class")
def replayed(recorded):
    """The recorded run opened in an offscreen viewer, paused."""
    from tokenworld.sim.replay_source import ReplaySource
    from tokenworld.viewer.app import Viewer

    pb = ReplaySource(recorded)
    v = None
    try:
        pb.set_playing(False)
        v = Viewer(pb, pb.scene, offscreen=True, size=SIZE)
        yield SimpleNamespace(pb=pb, v=v)
    finally:
        if v is not None:
            v.close()
        pb.close()


@pytest.mark.slow
class TestReplay:
    def test_seek_shows_the_positions_the_simulation_had(self, replayed, engine_at):
        """After seek(20) the viewer draws every agent where a Simulation of the same scene and seed was at tick 20."""
        from tokenworld.viewer.picking import project

        pb, v = replayed.pb, replayed.v
        pb.seek(AT)
        v.render(3)
        assert pb.frame.tick == AT and pb.status == "paused"
        quantum = max(pb.scene.world.size) / 65535 * 2
        assert np.abs(pb.frame.pos - engine_at).max() <= quantum
        z = v.ground.height(engine_at) + np.float32(0.9 * v.agent_scale())
        expected = project(np.column_stack([engine_at, z]), v.view_proj(), v.size)[0]
        sp = v.screen_positions()
        assert np.abs(sp - expected).max() < 0.5
        # And the pixels: agents are where those positions project.
        shown = assert_agents_drawn_at(v, expected, pb.archetype)
        # Seeking elsewhere moves them: the picture at tick 40 is not the one at tick 20.
        pb.seek(REPLAY_TICKS)
        v.render(2)
        moved = np.linalg.norm(pb.frame.pos - engine_at, axis=1) > 1.0
        assert moved.sum() >= 3 and changed(shown, v.image()).mean() > 0.0005


# ------------------------------------------------------------------ the `tokenworld view` command


@pytest.mark.slow
def test_view_frames_writes_a_screenshot_and_records_nothing(tmp_path):
    """`tokenworld view SCENE --frames 20 --screenshot out.png` renders offscreen, saves a picture, writes no run."""
    shot, runs = tmp_path / "out.png", tmp_path / "runs"
    r = tw(
        "view", str(VILLAGE), "--frames", "20", "--screenshot", str(shot), "--runs-dir", str(runs), "--size", "800x450"
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    img = read_image(shot)
    assert img.shape == (450, 800, 3)
    assert not mostly_uniform(img)
    assert str(shot) in r.stderr
    assert not runs.exists() or not any(runs.iterdir()), "--frames recorded a run"


@pytest.mark.slow
def test_view_without_a_display_plays_a_headless_demo(tmp_path):
    """Without DISPLAY, `tokenworld view` says so, records a run folder with a demo video and a screenshot, exits 0."""
    runs = tmp_path / "runs"
    r = tw(
        "view", str(VILLAGE), "--seconds", "3", "--runs-dir", str(runs), "--size", "960x540", env=env_without_display()
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "No display found" in out and "Traceback" not in out
    folders = [p for p in runs.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    folder = folders[0]
    video, shot = folder / "demo.mp4", folder / "demo.png"
    assert video.stat().st_size > 0 and count_video_frames(video) >= (3 - 0.2) * DEMO_FPS  # wall time, however slow
    assert not mostly_uniform(read_image(shot))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] != "running" and manifest["ticks_done"] > 0
    assert str(video) in "".join(out.split())  # says where the video is (rich wraps long paths mid-word)


@pytest.mark.parametrize(
    "args, says",
    [
        (["missing.toml"], "missing.toml: no such file"),
        (["tests"], "not a run folder"),
        (["--size", "10x10"], "--size: window size 10x10 is out of range"),
        (["DAMAGED"], "not valid TOML"),
        (["MISSPELT"], "did you mean `world`"),
    ],
)
def test_view_rejects_bad_input_with_a_message(tmp_path, args, says):
    """Bad targets and options end with exit code 2 and a message saying what is wrong, never a traceback."""
    (tmp_path / "damaged.toml").write_text('name = "x"\n[world\nsize = ')
    (tmp_path / "misspelt.toml").write_text('name = "x"\n[wrld]\nsize = [10.0, 10.0]\n')
    args = [
        {"DAMAGED": str(tmp_path / "damaged.toml"), "MISSPELT": str(tmp_path / "misspelt.toml")}.get(a, a) for a in args
    ]
    r = tw("view", *args, "--runs-dir", str(tmp_path / "runs"), "--frames", "1", timeout=120)
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 2, out
    assert says in out and "Traceback" not in out
    assert not (tmp_path / "runs").exists()


WINDOW_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from tests.viewer.view_lab import inside, isolated, settle, under_panels
    from tokenworld.scene.schema import Scene
    from tokenworld.viewer.app import Viewer
    from tokenworld.sim.live_source import LiveSource

    scene = Scene.load({scene!r})
    feed = LiveSource(scene, seed=1, speed=8).start()
    feed.wait_ready()
    v = Viewer(feed, scene, offscreen=False, size=(1280, 720))
    try:
        v.render(10)
        settle(feed, v)
        sp = v.screen_positions()
        ok = np.flatnonzero(inside(sp, v.size, 30) & ~under_panels(sp, 12) & isolated(sp, 25))
        i = int(ok[0])
        v.click(*sp[i])
        img = v.image()
        print(json.dumps({{"window": type(v.base.win).__name__, "size": list(img.shape), "agent": i,
                          "selected": v.selected, "pipe": v.base.pipe.get_type().get_name()}}))
    finally:
        v.close()
        feed.close()
    """
)


@pytest.mark.slow
@pytest.mark.skipif(
    not __import__("shutil").which("Xvfb"), reason="Xvfb is not on PATH: no virtual display for the window test"
)
def test_real_window_under_xvfb_selects_on_click(tmp_path):
    """Under an X display the viewer opens a real GraphicsWindow, and a click on an agent selects it."""
    script = tmp_path / "window.py"
    script.write_text(WINDOW_SCRIPT.format(scene=str(VILLAGE)))
    with xvfb() as display:
        env = {**env_without_display(), "DISPLAY": display, "PYTHONPATH": str(ROOT)}  # the script imports tests.viewer
        r = subprocess.run(
            [sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=180, env=env
        )
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["window"] == "GraphicsWindow", got
    assert got["size"] == [720, 1280, 3]
    assert got["selected"] == got["agent"] >= 0


# ------------------------------------------------------------------ the command in awkward places


@pytest.mark.slow
def test_python_m_tokenworld_view_from_the_repository_root(tmp_path):
    """`python -m tokenworld view SCENE --frames 2 --screenshot` from the repository root saves the screenshot."""
    shot, runs = tmp_path / "shot.png", tmp_path / "runs"
    r = tw(
        "view",
        str(VILLAGE),
        "--frames",
        "2",
        "--screenshot",
        str(shot),
        "--size",
        "640x360",
        "--seconds",
        "1",
        "--runs-dir",
        str(runs),
        module=True,
    )
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 0, out
    assert "Could not open" not in out and "No OpenGL" not in out, out
    assert shot.is_file() and not runs.exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["demo", None])
def test_view_falls_back_to_one_headless_recording_when_no_window_opens(tmp_path, name):
    """With a DISPLAY no window can open on, `tokenworld view` plays the headless demo into one run folder."""
    from tests.viewer.view_lab import free_display

    n = free_display()
    if n is None:
        pytest.skip("no unused X display number to point DISPLAY at")
    runs = tmp_path / "runs"
    args = ["view", str(VILLAGE), "--seconds", "1", "--size", "640x360", "--runs-dir", str(runs)] + (
        ["--name", name] if name else []
    )
    r = tw(*args, env={**env_without_display(), "DISPLAY": f":{n}"})
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == 0, out
    folders = [p for p in runs.iterdir() if p.is_dir()]
    assert len(folders) == 1, f"{len(folders)} run folders: {[p.name for p in folders]}"
    assert (folders[0] / "demo.mp4").is_file()


@pytest.mark.slow
def test_view_renders_a_small_window(tmp_path):
    """`tokenworld view --frames 3 --size 320x200` (a size --size accepts) renders and exits 0."""
    shot = tmp_path / "small.png"
    r = tw("view", str(VILLAGE), "--frames", "3", "--size", "320x200", "--screenshot", str(shot))
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Traceback" not in out, out[-2000:]
    assert read_image(shot).shape == (200, 320, 3)
