"""The viewer's parts that need no rendering: picking, the orbit camera, daylight, frames, feed lines, the live feed.

Picking works on hand-made projection matrices (a camera at the origin
looking along +y with +z up, Panda3D's convention); the live feed runs the
real village in its background thread, with no viewer reading it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time

import numpy as np
import pytest

from tests.viewer.view_lab import VILLAGE, wait_until
from tokenworld.errors import TokenWorldError
from tokenworld.mind.personas import NARRATOR, agent_name
from tokenworld.scene.schema import Scene
from tokenworld.sim.frames import IDLE, SERIES, FeedLine, Frame, describe
from tokenworld.viewer.camera import OrbitCamera
from tokenworld.viewer.picking import on_screen, pick, project

SIZE = (800, 600)


def perspective(
    fov_y_deg: float = 60.0, aspect: float = 800 / 600, near: float = 0.5, far: float = 1000.0
) -> np.ndarray:
    """World-to-clip matrix (row vectors) of a camera at the origin looking along +y, +z up, +x right."""
    f = 1.0 / math.tan(math.radians(fov_y_deg) / 2)
    a, b = (far + near) / (far - near), -2 * far * near / (far - near)
    return np.array([[f / aspect, 0, 0, 0], [0, 0, a, 1], [0, f, 0, 0], [0, 0, b, 0]], np.float64)


VP = perspective()

# ------------------------------------------------------------------ picking


def test_project_puts_the_view_axis_at_the_centre_and_keeps_directions():
    """A point straight ahead lands mid-screen; right of it is right, above it is up (smaller y), w is its depth."""
    px, w = project(np.array([[0, 10, 0], [1, 10, 0], [0, 10, 1], [-1, 10, -1]], np.float32), VP, SIZE)
    assert px[0] == pytest.approx([400, 300])
    assert px[1, 0] > 400 and px[1, 1] == pytest.approx(300)
    assert px[2, 1] < 300 and px[2, 0] == pytest.approx(400)
    assert px[3, 0] < 400 and px[3, 1] > 300
    assert w == pytest.approx([10, 10, 10, 10])
    # Twice as far, half as far from the centre.
    far = project(np.array([[2, 20, 2]], np.float32), VP, SIZE)[0][0]
    near = project(np.array([[2, 10, 2]], np.float32), VP, SIZE)[0][0]
    assert (far - [400, 300]) == pytest.approx((near - [400, 300]) / 2)


def test_pick_takes_the_point_under_the_pointer():
    """The point whose projection is within the radius is picked; one just outside it is not; per-point radii count."""
    pts = np.array([[0, 10, 0], [3, 10, 0]], np.float32)
    px = project(pts, VP, SIZE)[0]
    assert pick(pts, VP, SIZE, tuple(px[1])) == 1
    assert pick(pts, VP, SIZE, (px[0, 0] + 13, px[0, 1]), 12.0) == -1
    assert pick(pts, VP, SIZE, (px[0, 0] + 11, px[0, 1]), 12.0) == 0
    assert pick(pts, VP, SIZE, (px[0, 0] + 13, px[0, 1]), np.array([14.0, 1.0])) == 0
    assert pick(pts[:0], VP, SIZE, (400, 300)) == -1


def test_pick_never_takes_a_point_behind_the_camera():
    """A point behind the camera projects to the same pixel as its mirror in front, but is never picked."""
    front = np.array([2, 10, 1], np.float32)
    behind = -front  # clip coordinates negate: same pixel, negative w
    px = project(np.stack([front, behind]), VP, SIZE)[0]
    assert px[0] == pytest.approx(px[1], abs=1e-3)
    assert pick(behind[None], VP, SIZE, tuple(px[0])) == -1
    assert pick(np.stack([behind, front]), VP, SIZE, tuple(px[0])) == 1
    assert not on_screen(behind[None], VP, SIZE)[0] and on_screen(front[None], VP, SIZE)[0]


def test_pick_prefers_the_point_nearest_the_camera():
    """Of points drawn over one another, the one nearest the camera is picked, whatever their order."""
    ray = np.array([1, 10, 0.5], np.float32)
    pts = np.stack([ray * 3, ray, ray * 2])
    mouse = tuple(project(ray[None], VP, SIZE)[0][0] + 2)
    assert pick(pts, VP, SIZE, mouse) == 1
    assert pick(pts[::-1], VP, SIZE, mouse) == 1


def test_on_screen_masks_points_outside_the_picture():
    """on_screen keeps points in front and inside the picture (plus a margin)."""
    px = project(np.array([[0, 10, 0]], np.float32), VP, SIZE)[0][0]
    half_width_at_10 = 10 * (800 / 600) * math.tan(math.radians(30))  # metres from the centre to the edge at depth 10
    pts = np.array([[0, 10, 0], [half_width_at_10 * 1.05, 10, 0], [half_width_at_10 * 0.95, 10, 0]], np.float32)
    assert px == pytest.approx([400, 300])
    assert on_screen(pts, VP, SIZE).tolist() == [True, False, True]
    assert on_screen(pts, VP, SIZE, margin=40.0).tolist() == [True, True, True]


# ------------------------------------------------------------------ the orbit camera


def test_camera_starts_over_the_whole_world():
    """The camera starts looking at the world's centre from far enough to see all of it, distance metres away."""
    cam = OrbitCamera((200.0, 100.0))
    assert cam.target[:2].tolist() == [100.0, 50.0]
    assert np.linalg.norm(cam.position() - cam.target) == pytest.approx(cam.distance)
    assert cam.distance >= 200 and cam.position()[2] > 0


def test_camera_zoom_stays_within_its_limits():
    """Zooming in brings the camera closer, down to 3 m; zooming out stops at four world spans."""
    cam = OrbitCamera((200.0, 200.0))
    d = cam.distance
    cam.zoom(1)
    assert cam.distance == pytest.approx(d * 0.85)
    cam.zoom(1000)
    assert cam.distance == cam.min_distance == 3.0
    cam.zoom(-1000)
    assert cam.distance == cam.max_distance == 800.0


def test_camera_orbit_clamps_pitch_and_wraps_yaw():
    """Orbiting never goes under the ground nor past straight down; yaw wraps around."""
    cam = OrbitCamera((200.0, 200.0))
    cam.orbit(0, 10_000)
    assert cam.pitch == cam.MAX_PITCH
    cam.orbit(0, -10_000)
    assert cam.pitch == cam.MIN_PITCH and cam.position()[2] > cam.target[2]
    cam.orbit(1300, 0)  # 390 degrees
    assert cam.yaw == pytest.approx(30.0)


def test_camera_top_down_toggle_restores_the_pitch():
    """T looks straight down; T again returns to the pitch from before."""
    cam = OrbitCamera((200.0, 200.0))
    cam.orbit(0, -40)
    before = cam.pitch
    cam.toggle_top_down()
    assert cam.top_down and cam.pitch == cam.MAX_PITCH
    top = cam.position() - cam.target
    assert math.hypot(top[0], top[1]) < 0.01 * cam.distance  # right above the target
    cam.toggle_top_down()
    assert not cam.top_down and cam.pitch == before


def test_camera_move_stays_over_the_world_and_stops_following():
    """Flying moves the target along the ground relative to the view, never off the world, and ends following."""
    cam = OrbitCamera((200.0, 100.0))
    cam.follow = 4
    cam.move(10, 0)  # yaw 0: right is +x
    assert cam.target[:2].tolist() == pytest.approx([110.0, 50.0]) and cam.follow is None
    cam.yaw = 90.0  # looking along +x: forward is +x, right is -y
    cam.move(0, 5)
    cam.move(5, 0)
    assert cam.target[:2].tolist() == pytest.approx([115.0, 45.0])
    cam.move(1e6, -1e6)
    assert cam.target[:2].tolist() == [0.0, 0.0]
    cam.move(-1e6, 1e6)
    assert cam.target[:2].tolist() == [200.0, 100.0]


def test_camera_pan_drags_the_ground_with_the_pointer():
    """Dragging right moves the target left (the ground follows the pointer), more per pixel when far away."""
    cam = OrbitCamera((200.0, 200.0))
    x0 = cam.target[0]
    cam.pan(100, 0, 720)
    far_step = x0 - cam.target[0]
    assert far_step > 0
    cam.focus(np.array([100.0, 100.0, 0.0]), distance=10)
    cam.pan(100, 0, 720)
    assert 0 < 100 - cam.target[0] < far_step / 5


# ------------------------------------------------------------------ daylight


def test_daylight_hours_and_brightness():
    """The clock starts at 9:00 and a simulated minute is an hour; noon is lit, midnight is dark."""
    from tokenworld.viewer.app import Daylight

    day = Daylight()
    assert day.hour_text(0) == "09:00"
    assert day.hour_text(90) == "10:30"
    assert day.hour_text(15 * 60) == "00:00"  # 9:00 + 15 h
    noon, midnight = day.light(3 * 60), day.light(15 * 60)
    assert sum(noon["sun_color"]) > 1.0 and sum(midnight["sun_color"]) < 0.05
    assert sum(noon["background"]) > 2 * sum(midnight["background"])
    assert sum(noon["sky_color"]) > sum(midnight["sky_color"])
    assert noon["sun_dir"][2] > 0.9 * np.linalg.norm(noon["sun_dir"])  # high in the sky
    evening = day.light(8.5 * 60)  # 17:30: the sun is low and red
    assert evening["sun_color"][0] > evening["sun_color"][2]


# ------------------------------------------------------------------ frames and feed lines


def frame(pos, prev, *, wall=100.0, interval=1.0) -> Frame:
    n = len(pos)
    return Frame(
        tick=5,
        sim_time=2.5,
        pos=np.float32(pos),
        prev_pos=np.float32(prev),
        heading=np.zeros(n, np.float32),
        state=np.full(n, IDLE, np.int8),
        zone=np.full(n, -1, np.int32),
        entity_pos=np.zeros((0, 2), np.float32),
        entity_radius=np.zeros(0, np.float32),
        wall=wall,
        interval=interval,
    )


def test_frame_positions_move_smoothly_over_one_interval():
    """Positions go from the last tick to this one over `interval` wall seconds, then stay; no interval, no motion."""
    f = frame([[10, 0], [0, 4]], [[0, 0], [0, 0]])
    assert f.positions_at(99.0).tolist() == [[0, 0], [0, 0]]
    assert f.positions_at(100.25).tolist() == [[2.5, 0], [0, 1]]
    assert f.positions_at(100.5).tolist() == [[5, 0], [0, 2]]
    assert f.positions_at(103.0).tolist() == [[10, 0], [0, 4]]
    still = frame([[10, 0], [0, 4]], [[0, 0], [0, 0]], interval=0.0)
    assert still.positions_at(100.0).tolist() == [[10, 0], [0, 4]]
    assert f.n == 2


@pytest.mark.parametrize(
    "line, reads",
    [
        (FeedLine(3, "talk", 0, 1, 2, "Hello"), 'Ada said to Ben: "Hello"'),
        (FeedLine(3, "talk", 2, -1, 2, "Anyone?"), 'Cleo said to everyone near: "Anyone?"'),
        (FeedLine(3, "intervention", NARRATOR, 3, -1, "Go home"), 'the Narrator said to Dan: "Go home"'),
        (FeedLine(3, "trade", 0, 1, 4, "traded 1 wood with Ben"), "Ada traded 1 wood with Ben"),
        (FeedLine(3, "gather", 1, -1, 4, "gathered 2 wood"), "Ben gathered 2 wood"),
        (FeedLine(3, "craft", 1, -1, 4, "crafted 1 tools"), "Ben crafted 1 tools"),
        (FeedLine(3, "build", 1, -1, 4, "built a house"), "Ben built a house"),
        (FeedLine(3, "give", 1, 0, 4, "gave 1 food to Ada"), "Ben gave 1 food to Ada"),
        (
            FeedLine(3, "refused", 1, 0, 4, "could not trade with Ada: partner busy"),
            "Ben could not trade with Ada: partner busy",
        ),
        (
            FeedLine(9, "round", -2, 4, -1, "round 1: average 50.00, target 33.33, 1 winner(s)"),
            "round 1: average 50.00, target 33.33, 1 winner(s)",
        ),
    ],
)
def test_describe_reads_each_kind_of_line(line, reads):
    """Feed lines read as a person would say them: who said what to whom, who did what, a round's result."""
    assert describe(line) == reads


def test_describe_names_the_zone_of_an_announcement():
    """An announcement (the Narrator to a zone) reads with the zone's name in it."""
    line = FeedLine(3, "intervention", NARRATOR, -1, 4, "[market] Fire! (3 hear it)")
    assert describe(line).startswith("the Narrator said to ") and "market" in describe(line)


# ------------------------------------------------------------------ the live feed, without a viewer


@pytest.fixture(scope="module")
def feed():
    """The village playing live at 8x real time in its background thread."""
    from tokenworld.sim.live_source import LiveSource

    f = LiveSource(Scene.load(VILLAGE), seed=1, speed=8).start()
    try:
        f.wait_ready()
        yield f
    finally:
        f.close()


def pause(f) -> int:
    f.set_playing(False)
    wait_until(lambda: f.status == "paused", "the feed to pause")
    return f.frame.tick


def test_live_feed_starts_and_plays(feed):
    """After wait_ready the feed has a frame of every agent, knows their archetypes and arch, and ticks advance."""
    f0 = feed.frame
    assert f0.n == feed.n_agents == 25 and f0.pos.shape == (25, 2) and f0.pos.dtype == np.float32
    assert len(feed.archetype) == 25 and feed.arch in ("cpu", "cuda", "vulkan")
    feed.set_playing(True)
    wait_until(lambda: feed.frame.tick >= f0.tick + 3, "three ticks to play")
    assert feed.status == "running" and feed.frame is not f0
    assert feed.tick_range == (0, feed.frame.tick)


def test_paused_feed_stays_put_and_steps_one_tick_at_a_time(feed):
    """Paused, no tick passes; step_once advances exactly one tick (or n) and stays paused."""
    tick = pause(feed)
    time.sleep(0.3)
    assert feed.frame.tick == tick
    feed.step_once()
    wait_until(lambda: feed.frame.tick == tick + 1, "one step")
    wait_until(lambda: feed.status == "paused", "the feed to pause after the step")
    time.sleep(0.3)
    assert feed.frame.tick == tick + 1 and not feed.playing
    feed.step_once(3)
    wait_until(lambda: feed.frame.tick >= tick + 4 and feed.status == "paused", "three steps")
    time.sleep(0.2)
    assert feed.frame.tick == tick + 4


def test_speed_sets_ticks_per_wall_second(feed):
    """At speed s the feed plays s / dt ticks a second: 2 ticks/s at speed 1, about 32 at speed 16."""
    dt = feed.scene.sim.dt

    def ticks_in(seconds: float) -> int:
        t0 = feed.frame.tick
        time.sleep(seconds)
        return feed.frame.tick - t0

    pause(feed)
    feed.set_speed(1.0)
    feed.set_playing(True)
    slow = ticks_in(1.5)
    feed.set_speed(16.0)
    ticks_in(0.2)
    fast = ticks_in(1.0)
    pause(feed)
    assert feed.speed == 16.0
    assert 1.5 / dt - 2 <= slow <= 1.5 / dt + 2
    assert fast >= 0.6 * 16 / dt
    feed.set_speed(-3)
    wait_until(lambda: feed.speed == 0.0, "a negative speed to become 0 (as fast as it goes)")
    feed.set_speed(8)


def test_inspect_fills_the_card_and_follows_the_agent(feed):
    """inspect(agent) fills `card` (an AgentCard built by the simulation) for that agent, refreshed each tick."""
    pause(feed)
    feed.inspect(7)
    wait_until(lambda: feed.card is not None and feed.card.id == 7, "agent 7's card")
    card = feed.card
    assert card.name == agent_name(7) and card.persona.startswith(agent_name(7))
    assert set(card.needs) == {"hunger", "energy"} and card.zone in [z.name for z in feed.scene.zones] + ["outside"]
    assert card.state in ("idle", "walking", "busy", "talking") and card.traits is not None and card.recent is not None
    feed.inspect(2)
    wait_until(lambda: feed.card.id == 2, "the card to switch to agent 2")
    feed.inspect(None)


def test_recent_lines_filter_by_agent_zone_and_kind(feed):
    """Interventions become feed lines; recent_lines keeps the newest last, filters by agent, zone, kind and limit."""
    tick = pause(feed)
    zone = feed.frame.zone
    z = int(np.bincount(zone[zone >= 0]).argmax())
    feed.send_message(2, "first")
    feed.send_message(5, "second")
    feed.announce(z, "Market day")
    wait_until(lambda: len(feed.recent_lines(kinds={"intervention"})) >= 3, "three intervention lines")
    mine = [line for line in feed.recent_lines(kinds={"intervention"}) if line.tick >= tick]
    assert [(m.agent, m.other, m.text) for m in mine] == [
        (NARRATOR, 2, "first"),
        (NARRATOR, 5, "second"),
        (NARRATOR, -1, f"[{feed.scene.zones[z].name}] Market day ({int((zone == z).sum())} hear it)"),
    ]
    assert [line.text for line in feed.recent_lines(agent=2, kinds={"intervention"})][-1:] == ["first"]
    assert all(2 in (line.agent, line.other) for line in feed.recent_lines(agent=2))
    assert feed.recent_lines(zone=z, kinds={"intervention"})[-1].text.endswith(
        f"Market day ({(zone == z).sum()} hear it)"
    )
    assert all(line.zone == z for line in feed.recent_lines(zone=z))
    assert [line.text for line in feed.recent_lines(1, kinds={"intervention"})] == [mine[-1].text]
    assert not feed.recent_lines(kinds={"round"})  # no game in the village
    ticks = [line.tick for line in feed.recent_lines()]
    assert ticks == sorted(ticks)


def test_event_lines_read_as_sentences(feed):
    """What agents do reaches the feed as lines that read 'Name gathered 1 food'."""
    pause(feed)
    feed.set_speed(0)  # as fast as it goes: the first gathering comes after a hundred ticks or so
    feed.set_playing(True)
    try:
        wait_until(lambda: feed.recent_lines(1, kinds={"gather"}), "someone to gather something", timeout=60)
    finally:
        pause(feed)
        feed.set_speed(8)
    line = feed.recent_lines(1, kinds={"gather"})[0]
    assert re.fullmatch(rf"{agent_name(line.agent)} gathered \d+(\.\d+)? (food|water|wood|stone|tools)", describe(line))
    assert 0 <= line.zone < len(feed.scene.zones)


def test_series_hold_every_plotted_metric(feed):
    """series() gives (ticks, values) of the same length, ticks rising, for every metric the Plots panel draws."""
    feed.set_playing(True)
    wait_until(lambda: len(feed.series().get("mean_hunger", ((), ()))[0]) >= 3, "a few metric points")
    pause(feed)
    series = feed.series()
    assert set(SERIES) <= set(series)
    assert {f"total_{item}" for item in ("food", "water", "wood", "stone", "tools")} <= set(series)
    for name, (ticks, values) in series.items():
        assert len(ticks) == len(values) > 0, name
        assert np.all(np.diff(ticks) > 0), name
    hunger = series["mean_hunger"][1]
    assert np.all((hunger >= 0) & (hunger <= 1))


def test_close_stops_the_thread_and_a_failed_build_says_why(feed):
    """close() ends the sim thread; a scene that cannot start fails wait_ready with the reason; status says failed."""
    from tokenworld.sim.live_source import LiveSource

    scene = Scene.load(VILLAGE)
    bad = dataclasses.replace(
        scene, mind=dataclasses.replace(scene.mind, backend="llama_cpp", model="/nowhere/model.gguf")
    )
    broken = LiveSource(bad, seed=1).start()
    try:
        with pytest.raises(TokenWorldError, match="/nowhere/model.gguf"):
            broken.wait_ready(120)
        assert broken.status == "failed" and "/nowhere/model.gguf" in broken.error
    finally:
        broken.close()
    feed.close()
    assert feed.status in ("stopped", "finished")
    assert not [t for t in threading.enumerate() if t.name == "tokenworld-sim"], "a sim thread outlived close()"
    tick = feed.frame.tick
    feed.step_once()
    time.sleep(0.2)
    assert feed.frame.tick == tick  # commands after close do nothing
