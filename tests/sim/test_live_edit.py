"""Live edits: an edited scene taken by a running simulation, its engine, run store, replay and resume.

Runs are real (the rules-driven village, a real SQLite run store written by the
writer process); one slow test runs the embedded language model to see that
its prompts describe the edited world.
"""

from __future__ import annotations

import dataclasses
import sqlite3

import numpy as np
import pytest

from tests.paths import ROOT
from tokenworld.scene.schema import Entity, Scene, Zone
from tokenworld.sim.live_edit import plan_live_change, rebase
from tokenworld.sim.live_source import LiveSource
from tokenworld.sim.recording import Recording
from tokenworld.sim.replay import RunReplay
from tokenworld.sim.simulation import Simulation

VILLAGE = ROOT / "scenes" / "village_rules.toml"
EDIT_AFTER = 5  # ticks run before the edit
TICKS = 14
NOT_COMPARED = {"timings", "checkpoints", "runs"}  # wall time, binary states, the manifest


def village(**store) -> Scene:
    sc = Scene.load(VILLAGE)
    sc = dataclasses.replace(sc, store=dataclasses.replace(sc.store, **store)) if store else sc
    return sc


def edited(sc: Scene, sim: Simulation | None = None) -> Scene:
    """A stone heap (solid) beside agent 0 when `sim` is given, a plaza zone, and three newcomers."""
    at = (20.0, 20.0)
    if sim is not None:
        at = tuple(float(v) + 1.5 for v in sim.world.engine.read("pos", np.array([0], np.int32))[0])
    heap = Entity(kind="resource", name="stone heap", pos=at, radius=1.0, solid=True, properties={"resource": "stone"})
    heap.properties["stock"] = 30.0
    plaza = Zone(name="plaza", kind="market", rect=(1.0, 1.0, 9.0, 9.0))
    newcomers = dataclasses.replace(sc.groups[0], name="newcomers", count=3)
    return dataclasses.replace(
        sc, entities=[*sc.entities, heap], zones=[*sc.zones, plaza], groups=[*sc.groups, newcomers]
    )


def test_what_applies_live_and_what_needs_a_restart():
    sc = village()
    change = plan_live_change(sc, edited(sc))
    assert change.applied == ["zones", "entities", "groups"] and not change.restart_needed
    assert change.added_agents == 3 and change.scene.agent_count == sc.agent_count + 3

    bigger = dataclasses.replace(sc, world=dataclasses.replace(sc.world, size=(300.0, 300.0)))
    change = plan_live_change(sc, bigger)
    assert not change.any and "world's size or terrain" in change.restart_needed[0]
    assert change.scene.world == sc.world

    fewer = dataclasses.replace(sc, groups=[dataclasses.replace(sc.groups[0], count=sc.groups[0].count - 1)])
    change = plan_live_change(sc, fewer)
    assert "fewer agents" in change.message() and change.scene.groups == sc.groups

    richer = dataclasses.replace(sc, economy=dataclasses.replace(sc.economy, gather_amount=5.0))
    assert plan_live_change(sc, richer).applied == ["economy"]


def test_an_edit_keeps_the_settings_a_runner_made_its_own():
    given = village()
    running = dataclasses.replace(given, mind=dataclasses.replace(given.mind, threads=3))
    wanted = rebase(running, given, edited(given))
    assert wanted.mind.threads == 3 and len(wanted.zones) == len(given.zones) + 1
    assert plan_live_change(running, wanted).restart_needed == []


def test_a_live_edit_reaches_the_engine_the_store_and_a_replay(tmp_path):
    sc = village()
    sim = Simulation(sc, seed=4, profile=False)
    rec = Recording.create(sim, runs_dir=tmp_path, name="edited")
    sim.build()
    rec.started()
    n = sim.n_agents
    try:
        for _ in range(EDIT_AFTER):
            rec.record(sim.step())
        change = sim.apply_scene(edited(sc, sim), "a heap, a plaza and newcomers")
        assert change.added_agents == 3 and sim.world.engine.n == n + 3
        heap = len(sc.entities)
        for _ in range(3):
            rec.record(sim.step())
        seen = sim.world.engine.snapshot(("ent", "ent_n"))
        perceived = seen["ent"][0, : seen["ent_n"][0]]
        assert heap in perceived.tolist(), "agent 0 stands beside the new heap but does not perceive it"
        assert sim.world.economy.node_stock[sim.world.economy.node_of_entity[heap]] <= 30.0
    finally:
        rec.finish("finished")
        sim.close()

    db = sqlite3.connect(rec.folder / "run.sqlite")
    assert db.execute("SELECT tick, label, agents_before, agents_after FROM scene_edits").fetchall() == [
        (EDIT_AFTER + 1, "a heap, a plaza and newcomers", n, n + 3)
    ]
    assert db.execute("SELECT count(*), max(agent) FROM agents").fetchone() == (n + 3, n + 2)
    assert db.execute("SELECT group_name FROM agents WHERE agent = ?", (n,)).fetchone() == ("newcomers",)
    db.close()

    with RunReplay(rec.folder) as replay:
        before, after = replay.frame(EDIT_AFTER), replay.frame(EDIT_AFTER + 2)
        assert before.n == n and after.n == n + 3
        assert len(before.entity_pos) == len(sc.entities) and len(after.entity_pos) == len(sc.entities) + 1
        assert [z.name for z in replay.scene_at(EDIT_AFTER + 1).zones][-1] == "plaza"
        assert replay.scene_at(EDIT_AFTER).zones == sc.zones
        between = replay.frame(EDIT_AFTER + 0.5)  # interpolated across the edit: newcomers show where first seen
        assert between.n == n + 3
        lines = replay.lines(EDIT_AFTER + 3, kinds={"edit"})
        assert [(line.tick, line.text) for line in lines] == [(EDIT_AFTER + 1, "a heap, a plaza and newcomers")]


def _run(folder_root, name: str, stop_at: int | None = None):
    sc = village(checkpoint_every=4)
    sim = Simulation(sc, seed=9, profile=False)
    rec = Recording.create(sim, runs_dir=folder_root, name=name)
    sim.build()
    rec.started()
    try:
        while sim.tick < (stop_at or TICKS):
            if sim.tick == EDIT_AFTER:
                sim.apply_scene(edited(sc), "grow")
            rec.record(sim.step())
    finally:
        rec.finish("finished" if stop_at is None else "stopped")
        sim.close()
    return rec.folder


def _tables(folder) -> dict[str, list]:
    db = sqlite3.connect(folder / "run.sqlite")
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    out = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in names if t not in NOT_COMPARED}
    db.close()
    return out


def test_an_edited_run_resumes_exactly(tmp_path):
    whole = _run(tmp_path, "whole")
    cut = _run(tmp_path, "cut", stop_at=10)  # the last checkpoint is at 8, after the edit at 6
    rec = Recording.resume(cut, ticks=TICKS)
    try:
        assert rec.sim.n_agents == rec.sim.scene.agent_count == village().agent_count + 3
        while rec.sim.tick < TICKS:
            rec.record(rec.sim.step())
    finally:
        rec.finish("finished")
        rec.sim.close()
    a, b = _tables(whole), _tables(cut)
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], f"table {table} differs after resuming an edited run"


def test_a_live_source_applies_an_edit_while_paused():
    sc = village()
    source = LiveSource(sc, seed=2, speed=0, playing=False).start()
    try:
        source.wait_ready()
        first = source.frame
        change = source.apply_scene(edited(sc), "newcomers")
        assert change.added_agents == 3
        t_end = __import__("time").perf_counter() + 30
        while source.frame is first or source.frame.n != sc.agent_count + 3:
            assert __import__("time").perf_counter() < t_end, "the edit never showed"
            __import__("time").sleep(0.01)
        assert source.scene.zones[-1].name == "plaza" and len(source.traits) == sc.agent_count + 3
        assert source.recent_lines(kinds={"edit"})[-1].text == "newcomers"
        wider = dataclasses.replace(sc, world=dataclasses.replace(sc.world, size=(400.0, 400.0)))
        assert source.apply_scene(wider, "wider").restart_needed
    finally:
        source.close()


@pytest.mark.slow
def test_model_prompts_describe_the_edited_world():
    sc = Scene.load(ROOT / "scenes" / "village.toml")
    sim = Simulation(sc, seed=5, profile=False).build()
    try:
        sim.run(2)
        assert "plaza" not in sim.minds.prompts.shared
        sim.apply_scene(edited(sc), "a plaza")
        assert "plaza (market)" in sim.minds.prompts.shared
        joined = np.flatnonzero(sim.minds.is_model[sc.agent_count :])
        sim.run(3)
        if len(joined):  # newcomers the model decides for have plans and memories
            a = sc.agent_count + int(joined[0])
            assert sim.minds.memory.count(a) > 0
    finally:
        sim.close()
