"""`RunReplay` reads a real recorded run back: positions at any tick, states, feed lines, series and agent cards.

One short run of the shipped village (25 agents, rules brain, 120 ticks, a
snapshot every 50) is made with the real CLI; tests that change the store
work on copies of its folder.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.sim.runs_lab import query, small_village, tw
from tokenworld.errors import TokenWorldError
from tokenworld.mind.personas import persona
from tokenworld.scene.schema import ARCHETYPES, ITEMS, TRAITS, Scene
from tokenworld.sim.cards import AgentCard
from tokenworld.sim.frames import BUSY, IDLE, SERIES, TALKING, WALKING
from tokenworld.sim.replay import TALK_TICKS, RunReplay

TICKS, SNAPSHOT_EVERY, AT = 120, 50, 30


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A finished 120-tick run of the village, with tracks every tick and snapshots every 50."""
    scene = small_village(
        tmp_path_factory.mktemp("scenes"), ticks=TICKS, checkpoint_every=0, snapshot_every=SNAPSHOT_EVERY
    )
    runs = tmp_path_factory.mktemp("runs")
    r = tw("run", str(scene), "--runs-dir", str(runs), "--name", "v", "--no-progress")
    assert r.returncode == 0, r.stderr
    return runs / "v"


@pytest.fixture(scope="module")
def replay(run):
    rp = RunReplay(run)
    yield rp
    rp.close()


@pytest.fixture(scope="module")
def engine(run) -> dict:
    """What a Simulation of the same scene and seed holds at tick AT: positions, headings, traits."""
    from tokenworld.sim import Simulation

    seed = json.loads((run / "manifest.json").read_text())["seed"]
    sim = Simulation(Scene.load(run / "scene.toml"), seed=seed).build()
    try:
        sim.run(AT)
        return {**sim.world.engine.snapshot(("pos", "heading")), "traits": sim.world.agents.traits.copy()}
    finally:
        sim.close()


def copy_of(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest)
    return dest


def writer(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(folder / "run.sqlite")


def circular_gap(a, b) -> np.ndarray:
    return np.abs(np.angle(np.exp(1j * (np.asarray(a, np.float64) - np.asarray(b, np.float64)))))


# ------------------------------------------------------------------ positions


def test_replay_covers_the_run(replay):
    """Every tick has a track; the range, agent count and scene are the run's."""
    assert replay.source == "tracks"
    assert replay.n_agents == 25 and replay.scene.agent_count == 25
    assert (replay.first_tick, replay.last_tick) == (1, TICKS)
    assert replay.ticks.tolist() == list(range(1, TICKS + 1))


def test_frame_at_a_recorded_tick_is_what_the_engine_had(replay, engine):
    """frame(t) at a recorded tick equals a Simulation's positions and headings at t, within quantisation."""
    f = replay.frame(AT)
    w = max(replay.scene.world.size)
    assert f.tick == AT and f.n == 25 and f.interval == 0
    assert f.pos.dtype == np.float32 and f.heading.dtype == np.float32 and f.state.dtype == np.int8
    assert np.abs(f.pos - engine["pos"]).max() < 1e-4 * w
    assert circular_gap(f.heading, engine["heading"]).max() <= np.pi / 256 + 1e-5
    assert f.sim_time == pytest.approx(AT * replay.scene.sim.dt)


def test_frame_agrees_with_the_snapshots(replay, run):
    """At a snapshot tick, positions equal the snapshots table's and zones the engine's zones."""
    rows = query(
        run / "run.sqlite", "SELECT x, y, zone FROM snapshots WHERE tick = ? ORDER BY agent", (SNAPSHOT_EVERY,)
    )
    f = replay.frame(SNAPSHOT_EVERY)
    assert np.abs(f.pos - np.array([r[:2] for r in rows], np.float32)).max() < 0.01
    assert f.zone.tolist() == [r[2] for r in rows]
    assert (
        replay.zone_counts(SNAPSHOT_EVERY).tolist()
        == np.bincount([r[2] for r in rows if r[2] >= 0], minlength=len(replay.scene.zones)).tolist()
    )


def test_fractional_tick_is_interpolated_and_clamped(replay):
    """frame(30.25) lies a quarter of the way from tick 30 to 31; prev_pos a tick earlier; ticks outside are clamped."""
    p30, p31 = replay.frame(AT).pos, replay.frame(AT + 1).pos
    f = replay.frame(AT + 0.25)
    assert np.allclose(f.pos, p30 + 0.25 * (p31 - p30), atol=1e-4)
    assert np.array_equal(replay.positions(AT + 0.25), f.pos)
    assert np.allclose(f.prev_pos, replay.frame(AT - 0.75).pos, atol=1e-4)
    assert np.array_equal(replay.frame(AT).prev_pos, replay.frame(AT - 1).pos)
    assert np.array_equal(replay.frame(-10).pos, replay.frame(1).pos)
    assert np.array_equal(replay.frame(10**9).pos, replay.frame(TICKS).pos)
    with pytest.raises(TokenWorldError, match="tick must be"):
        replay.frame(float("nan"))


def test_heading_is_interpolated_the_short_way_round(run, tmp_path):
    """Between 351.6 and 8.4 degrees the halfway heading is about 0, not 180."""
    folder = copy_of(run, tmp_path / "turn")
    with writer(folder) as w:
        for tick, code in ((10, 250), (11, 6)):
            blob = bytearray(w.execute("SELECT heading FROM tracks WHERE tick = ?", (tick,)).fetchone()[0])
            blob[0] = code
            w.execute("UPDATE tracks SET heading = ? WHERE tick = ?", (bytes(blob), tick))
    with RunReplay(folder) as rp:
        assert circular_gap(rp.frame(10.5).heading[0], 0.0) < 0.02


def test_states_follow_talks_moves_and_actions(replay, run):
    """Speakers and listeners are TALKING for 5 ticks; movers WALKING; agents in a timed action (gather, eat) BUSY."""
    db = run / "run.sqlite"
    tick, speaker, listener = query(
        db, "SELECT tick, speaker, listener FROM messages WHERE speaker >= 0 ORDER BY tick LIMIT 1"
    )[0]
    s = replay.frame(tick).state
    assert s[speaker] == TALKING and s[listener] == TALKING
    later = query(
        db,
        "SELECT count(*) FROM messages WHERE tick > ? AND tick <= ? AND ? IN (speaker, listener)",
        (tick, tick + TALK_TICKS, speaker),
    )[0][0]
    if later == 0:
        assert replay.frame(tick + TALK_TICKS).state[speaker] != TALKING
    for t in (AT, 90):
        f, before = replay.frame(t), replay.frame(t - 1)
        moved = np.linalg.norm(f.pos - before.pos, axis=1) > 0.05
        talking = f.state == TALKING
        assert (f.state[moved & ~talking] == WALKING).all()
        assert np.isin(f.state[~moved & ~talking], [IDLE, BUSY]).all()
    timed = query(
        db,
        "SELECT tick, agent FROM decisions WHERE action IN ('gather', 'craft', 'eat', 'rest', 'trade') ORDER BY tick",
    )
    assert timed, "the village gathers, crafts, eats, rests or trades within 120 ticks"
    t, a = timed[0]
    assert replay.frame(t + 1).state[a] in (BUSY, TALKING)


def test_entities_include_structures_built_during_the_run(run, tmp_path):
    """A build event adds an entity where its builder stood, from its tick on."""
    folder = copy_of(run, tmp_path / "built")
    with RunReplay(folder) as rp:
        m = len(rp.scene.entities)
        where = rp.frame(60).pos[3]
    with writer(folder) as w:
        w.execute("INSERT INTO events VALUES (60, 3, 'build', 1, 'ok', 0, ?, 0, 0.0, '')", (m,))
    with RunReplay(folder) as rp:
        assert len(rp.frame(59).entity_pos) == m
        f = rp.frame(60)
        assert len(f.entity_pos) == len(f.entity_radius) == len(f.entity_kind) == m + 1
        assert (
            np.allclose(f.entity_pos[m], where)
            and f.entity_kind[m] == "building"
            and f.entity_name[m] == "hut of agent 3"
        )


# ------------------------------------------------------------------ feed, series, cards


def test_lines_hold_the_conversations_and_events(replay, run):
    """Talk lines carry what was said; events say what happened; lines are oldest first, up to the tick."""
    db = run / "run.sqlite"
    said = query(db, "SELECT tick, speaker, listener, text FROM messages ORDER BY tick, rowid")
    talk = replay.lines(TICKS, kinds={"talk"})
    assert [(x.tick, x.agent, x.other, x.text) for x in talk] == said and said
    everything = replay.lines(TICKS)
    assert [x.tick for x in everything] == sorted(x.tick for x in everything)
    assert {x.kind for x in everything} >= {"talk", "trade"}
    items = "|".join(ITEMS)
    traded = replay.lines(TICKS, kinds=["trade"])
    assert traded and all(
        re.fullmatch(rf"traded [\d.]+ ({items}) for [\d.]+ ({items}) with \S+", x.text) for x in traded
    )
    assert all(x.tick <= said[0][0] for x in replay.lines(said[0][0]))
    assert replay.lines(said[0][0] - 1, kinds={"talk"}) == []


def test_lines_filters_and_limit(replay):
    """limit keeps the newest lines; agent and zone filters keep only the lines they name."""
    everything = replay.lines(TICKS)
    assert replay.lines(TICKS, limit=1) == everything[-1:]
    assert replay.lines(TICKS, limit=3) == everything[-3:]
    assert replay.lines(TICKS, limit=0) == []
    a = everything[0].agent
    mine = replay.lines(TICKS, agent=a)
    assert mine and all(a in (x.agent, x.other) for x in mine)
    assert mine == [x for x in everything if a in (x.agent, x.other)]
    z = next(x.zone for x in everything if x.zone >= 0)
    assert replay.lines(TICKS, zone=z) == [x for x in everything if x.zone == z]
    with pytest.raises(TokenWorldError, match="no agent"):
        replay.lines(TICKS, agent=25)
    with pytest.raises(TokenWorldError, match="limit"):
        replay.lines(TICKS, limit=-1)


def test_series_has_every_plot_with_equal_lengths(replay):
    """series() offers SERIES plus price_/total_ per item, every (ticks, values) pair of one length."""
    s = replay.series()
    assert set(SERIES) <= set(s)
    assert {f"{k}_{it}" for it in ITEMS for k in ("price", "total")} <= set(s)
    assert all(len(t) == len(v) == TICKS for t, v in s.values())
    ticks, hunger = s["mean_hunger"]
    assert ticks.tolist() == list(range(1, TICKS + 1)) and np.isfinite(hunger).all()
    assert all(len(t) == AT for t, _ in replay.series(AT).values())


def test_agent_card_is_read_from_the_store(replay, engine):
    """A replayed AgentCard holds who the agent is (the agents table: the traits the run drew) and what it did."""
    a = 7
    info = replay.agent_card(a, AT)
    assert isinstance(info, AgentCard)
    assert info.id == a and info.name and info.mind == "rules"
    assert info.traits == {t: float(engine["traits"][a, i]) for i, t in enumerate(TRAITS)}
    assert info.persona == persona(a, ARCHETYPES.index(info.archetype), engine["traits"][a])
    assert np.array_equal(replay.traits, engine["traits"])
    assert ARCHETYPES[replay.archetype[a]] == info.archetype and replay.archetype.shape == (25,)
    assert info.needs is None and info.inventory is None  # no snapshot before tick 50
    later = replay.agent_card(a, TICKS)
    assert set(later.needs) == {"hunger", "energy"} and set(later.inventory) == set(ITEMS)
    assert later.last_answer.endswith("(rules)") and 1 <= len(later.recent) <= 5
    assert len(later.memories) <= 8 and all(isinstance(x, str) for x in later.memories)
    assert all(isinstance(n, str) and c >= 1 for n, c in later.ties)
    for bad in (-1, 25, "7"):
        with pytest.raises(TokenWorldError, match="no agent"):
            replay.agent_card(bad, AT)
    assert replay.inference_stats() is None  # the rules brain decided


# ------------------------------------------------------------------ folders that are not (yet) replayable


def test_missing_or_wrong_folders_are_clear_errors(run, tmp_path):
    """A missing folder, a folder that is not a run, and a damaged store each say what is wrong and what to do."""
    with pytest.raises(TokenWorldError, match=r"no run folder .* `tokenworld run SCENE` first"):
        RunReplay(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenWorldError, match="is not a run folder"):
        RunReplay(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(run / "scene.toml", broken / "scene.toml")
    (broken / "run.sqlite").write_text("this is not a database\n")
    with pytest.raises(TokenWorldError, match=r"cannot read .*damaged"):
        RunReplay(broken)


def test_run_without_tracks_falls_back_to_snapshots(run, tmp_path):
    """Without tracks (older runs, track_every = 0) positions come from the snapshots, heading 0."""
    folder = copy_of(run, tmp_path / "old")
    with writer(folder) as w:
        w.execute("DELETE FROM tracks")
    with RunReplay(folder) as rp, RunReplay(run) as tracked:
        assert rp.source == "snapshots" and rp.ticks.tolist() == [50, 100]
        assert (rp.frame(75).heading == 0).all()
        assert np.abs(rp.frame(50).pos - tracked.frame(50).pos).max() < 0.01
        assert np.allclose(rp.frame(75).pos, (rp.frame(50).pos + rp.frame(100).pos) / 2, atol=1e-4)
        assert rp.last_tick == TICKS


def test_run_without_positions_is_a_clear_error(run, tmp_path):
    """A run with neither tracks nor snapshots says so and how to record one that replays."""
    folder = copy_of(run, tmp_path / "bare")
    with writer(folder) as w:
        for table in ("tracks", "snapshots", "social"):
            w.execute(f"DELETE FROM {table}")
    with pytest.raises(TokenWorldError, match=r"no agent positions.*track_every = 1"):
        RunReplay(folder)


def test_a_run_still_being_written_shows_new_ticks(run, tmp_path):
    """A tick committed by another connection after the replay opened is seen at once."""
    folder = copy_of(run, tmp_path / "live")
    with RunReplay(folder) as rp:
        assert rp.last_tick == TICKS
        before = rp.frame(TICKS).pos.copy()
        with writer(folder) as w:
            xy, heading = w.execute("SELECT xy, heading FROM tracks WHERE tick = ?", (TICKS,)).fetchone()
            w.execute("INSERT INTO tracks VALUES (?, ?, ?)", (TICKS + 1, xy, heading))
        assert rp.last_tick == TICKS + 1 and rp.ticks[-1] == TICKS + 1
        assert np.array_equal(rp.frame(TICKS + 1).pos, before)
    with pytest.raises(TokenWorldError, match="closed"):
        rp.frame(1)
