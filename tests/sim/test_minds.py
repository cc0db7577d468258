"""Model-driven agents in whole runs: lockstep equals one at a time, realtime never waits, faults fall back."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from tests.paths import ROOT
from tests.sim.runs_lab import query, tw, village_variant
from tokenworld.scene.schema import Scene
from tokenworld.sim.simulation import Simulation
from tokenworld.world.decisions import SOURCES

pytestmark = pytest.mark.slow


def model_village(**mind) -> Scene:
    """The shipped (model-driven) village with a few mind options changed."""
    sc = Scene.load(ROOT / "scenes" / "village.toml")
    for k, v in mind.items():
        setattr(sc.mind, k, v)
    return sc


def run_decisions(scene: Scene, ticks: int) -> tuple[list[tuple], dict]:
    sim = Simulation(scene, seed=5).build()
    rows = []
    try:
        for _ in range(ticks):
            r = sim.step()
            d = r.decisions
            if d is not None:
                rows += list(
                    zip(
                        [r.tick] * len(d),
                        d.agent.tolist(),
                        d.action.tolist(),
                        d.target.tolist(),
                        d.item.tolist(),
                        d.source.tolist(),
                        strict=True,
                    )
                )
        return rows, {**sim.worker.stats(), "agent_cache": sim.worker.backend.agent_cache.stats()}
    finally:
        sim.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lockstep_batched_run_equals_deciding_one_agent_at_a_time():
    # no reflections: every idle agent asks the model on turn ticks (plans would send most of them walking)
    batched, stats = run_decisions(model_village(batch_size=16, reflect_every=0), 45)
    single, _ = run_decisions(model_village(batch_size=1, reflect_every=0), 45)
    assert batched == single
    model = SOURCES.index("model")
    assert sum(1 for r in batched if r[-1] == model) >= 10  # the model really decided
    assert stats["fallbacks"] == 0 and stats["mean_batch"] > 1.5
    assert stats["agent_cache"]["hits"] > 0  # pages extended the agents' kept KV caches


def test_realtime_ticks_do_not_wait_for_the_model():
    sim = Simulation(model_village(), seed=5, clock="realtime").build()
    try:
        sim.step()  # every agent asks for a plan: 25 requests go to the worker
        assert sim.worker.stats()["decisions"] < 25  # the tick came back before the model answered them all
        deadline = time.monotonic() + 120
        model_rows = 0
        while model_rows == 0 and time.monotonic() < deadline:
            r = sim.step()
            model_rows += int((r.decisions.source == SOURCES.index("model")).sum()) if r.decisions is not None else 0
            time.sleep(0.05)
        assert model_rows > 0  # answers land at a later tick boundary
    finally:
        sim.close()


def test_an_unreachable_server_falls_back_to_the_rules_brain_and_the_run_goes_on(tmp_path):
    scene = village_variant(
        tmp_path,
        "dead",
        "[sim]\nticks = 25\n"
        f'[mind]\nbackend = "openai"\nendpoint = "http://127.0.0.1:{free_port()}/v1"\ntimeout_s = 2.0\n',
    )
    r = tw("run", str(scene), "--runs-dir", str(tmp_path / "runs"), "--name", "d", "--no-progress")
    assert r.returncode == 0, r.stderr
    db = tmp_path / "runs" / "d" / "run.sqlite"
    sources = dict(query(db, "SELECT source, COUNT(*) FROM decisions GROUP BY source"))
    assert sources.get("fallback", 0) > 0
    assert "model" not in sources and "rules" not in sources and "plan" not in sources  # every failure says so
    assert query(db, "SELECT MAX(tick) FROM ticks")[0][0] == 25
    assert "fell back" in r.stderr
    assert "warning: model requests failed" in r.stderr and "127.0.0.1" in r.stderr  # says why


def test_a_missing_model_file_fails_before_any_folder_is_made(tmp_path):
    scene = village_variant(tmp_path, "nomodel", '[mind]\nmodel = "models/missing.gguf"\n')
    r = tw("run", str(scene), "--runs-dir", str(tmp_path / "runs"), "--name", "x", "--no-progress")
    assert r.returncode == 2
    assert "missing.gguf" in r.stderr and "was not found" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "runs" / "x").exists()


def test_model_columns_and_memories_survive_a_checkpoint():
    sc = model_village()
    sim = Simulation(sc, seed=5).build()
    try:
        sim.run(25)
        state, meta = sim.checkpoint()
        state = {k: np.array(v, copy=True) for k, v in state.items()}  # checkpoint() hands out live arrays
        after = [sim.step().decisions for _ in range(12)]
        mem_before = sim.minds.memory.count(0)
        sim2 = Simulation(sc, seed=5).build()
        try:
            sim2.restore(state, meta)
            again = [sim2.step().decisions for _ in range(12)]
            assert sim2.minds.memory.count(0) == mem_before
        finally:
            sim2.close()
    finally:
        sim.close()
    for a, b in zip(after, again, strict=True):
        assert np.array_equal(a.action, b.action) and np.array_equal(a.agent, b.agent)
        assert np.array_equal(a.tokens_in > 0, b.tokens_in > 0)


def test_scene_check_catches_a_missing_model_file_and_names_the_key(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    scene = village_variant(tmp_path, "m", f'[mind]\nmodel = "{fake.as_posix()}"\n')
    r = tw("scene", "check", str(scene))
    assert r.returncode == 2 and "`mind.model`" in r.stderr and "GGUF" in r.stderr and "Traceback" not in r.stderr


def test_agents_on_screen_are_asked_first_when_the_cap_bites():
    sc = model_village(reflect_every=0)
    sc.sim.max_decisions_per_tick = 3
    sim = Simulation(sc, seed=5).build()
    try:
        sim.set_focus(np.array([20, 21, 22]))
        sim.run(9)
        r = sim.step()  # tick 10: every idle agent's turn; only 3 may ask the model
        r = sim.step()  # their decisions land at the next boundary
        asked = sorted(r.decisions.agent[r.decisions.source == SOURCES.index("model")].tolist())
        assert asked == [20, 21, 22]
    finally:
        sim.close()
