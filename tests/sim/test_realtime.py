"""Realtime minds never wait on the model: agents carry on while requests are in flight, stale answers are not
applied, and nobody reflects in a burst at the start.

The slow backend is the real embedded model answering each batch late (as a busy CPU or a slow server would).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.paths import ROOT
from tokenworld.inference import make_backend
from tokenworld.inference.rules import RulesBackend
from tokenworld.mind.protocol import Answer
from tokenworld.scene.schema import Scene
from tokenworld.sim.simulation import LONGEST_ACTION, Simulation
from tokenworld.world.decisions import SOURCES
from tokenworld.world.items import ITEM_INDEX

FOOD = ITEM_INDEX["food"]
MODEL = SOURCES.index("model")


class Late:
    """The real embedded model behind the backend protocol, answering every batch `delay` seconds late."""

    def __init__(self, inner, delay: float):
        self.inner, self.delay = inner, delay
        self.name, self.answer_style, self.settings = inner.name, inner.answer_style, inner.settings

    def decide(self, batch):
        time.sleep(self.delay)
        return self.inner.decide(batch)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def prepare(self, shared, calibrations) -> None:
        self.inner.prepare(shared, calibrations)

    def close(self) -> None:
        self.inner.close()


def village(**mind) -> Scene:
    scene = Scene.load(ROOT / "scenes" / "village.toml")
    for k, v in mind.items():
        setattr(scene.mind, k, v)
    return scene


def late_sim(delay: float, **mind) -> Simulation:
    scene = village(**mind)
    backend = Late(make_backend(scene.mind, seed=3, batch_invariant=False), delay)
    return Simulation(scene, seed=3, clock="realtime", backend=backend).build()


@pytest.mark.slow
def test_agents_eat_and_keep_acting_while_the_model_is_slow():
    """Hungry villagers with food eat although every model answer comes late; agents with a request in flight act
    on their plan once it is overdue; the model's answers still land and count."""
    sim = late_sim(1.5, max_wait_s=0.3)
    try:
        eco = sim.world.economy
        eco.hunger[:] = 0.8
        eco.inventory[:, FOOD] = 3.0
        carried_on = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (sim.tick < 240 or sim.mind_counts[MODEL] < 3):
            sim.step()
            p = sim.pending
            carried_on += int((sim.scheduler.waiting[p.agent] & (p.source != MODEL)).sum())
            if sim.tick == 240:
                hunger = eco.hunger.copy()
            time.sleep(0.02)
        stats = sim.mind_stats()
        assert float(hunger.max()) < 0.8 and float(hunger.mean()) < 0.6, hunger  # nobody went without eating
        assert carried_on > 0  # acted while its request was in flight
        assert stats["by_source"].get("model", 0) > 0, stats  # late answers still applied
        assert stats["wait_p95_ms"] >= 1500  # the waits were real
        assert stats["by_source"].get("plan", 0) + stats["by_source"].get("rules", 0) > stats["by_source"]["model"]
    finally:
        sim.close()


def test_an_answer_whose_option_is_gone_is_stale_and_one_still_on_the_menu_is_rebound():
    """A landed answer applies only if its option is still on the agent's menu now (rebound to the new menu's
    numbering); otherwise the agent is counted stale and asked again."""
    scene = village()
    sim = Simulation(scene, seed=3, backend=RulesBackend()).build()
    try:
        eco, minds = sim.world.economy, sim.minds
        eco.inventory[4, FOOD], eco.hunger[4] = 3.0, 0.7
        (req,) = minds.requests(np.array([4]), np.zeros(0, np.int64), sim.tick, np.array([3]))
        ans = Answer(4, sim.tick, "decide", req.options.index("eat"))
        kept, answers, stale = minds.recheck([req], [ans])
        assert stale == [] and kept[0].options[ans.choice] == "eat"
        assert minds.menu(req).labels[answers[0].choice] == "eat"
        eco.inventory[4, FOOD] = 0.0  # eaten meanwhile: "eat" is gone
        kept, answers, stale = minds.recheck([req], [ans])
        assert stale == [4] and kept == [] and minds.menu(req) is None
    finally:
        sim.close()


def test_an_answer_held_past_its_agents_long_action_is_dropped_as_stale():
    """Realtime: an answer landing while its agent is busy waits for it, at most the longest action; past that it
    is stale, makes no decision, and the agent is asked again."""
    scene = village(max_wait_s=60.0)
    sim = Simulation(scene, seed=3, clock="realtime", backend=RulesBackend()).build()
    try:
        while not sim.scheduler.waiting.any():
            sim.step()
        agent = int(np.flatnonzero(sim.scheduler.waiting)[0])
        sim.world.busy_until[agent] = sim.tick + 10 * LONGEST_ACTION  # a long task holds it
        deadline = time.monotonic() + 30
        while sim.scheduler.waiting[agent] and time.monotonic() < deadline:
            time.sleep(0.01)
            sim.step()
        assert not sim.scheduler.waiting[agent] and agent in sim._ready  # landed, held
        decided = []
        for _ in range(LONGEST_ACTION + 2):
            sim.step()
            decided += (sim.pending.agent[sim.pending.source == MODEL]).tolist()
        assert agent not in sim._ready and sim.stale >= 1
        assert agent not in decided
    finally:
        sim.close()


def test_first_plans_come_from_the_persona_and_reflections_are_spread():
    """Every model-driven agent starts with a plan (no model needed), and first reflections fall on different
    ticks over `reflect_every`, never in a burst at the start."""
    scene = village(reflect_every=400, decide_every=10)
    sim = Simulation(scene, seed=3, backend=RulesBackend()).build()
    try:
        minds, sched = sim.minds, sim.scheduler
        assert not minds.plan_done()[minds.agents].any()
        assert all(minds.plan_text(int(a)) for a in minds.agents)
        idle = np.ones(sim.n_agents, bool)
        none = np.zeros(sim.n_agents, bool)
        reflecting = []
        for tick in range(1, 401):
            due = sched.pick(tick, idle, spoken_to=none, event=none, plan_done=none, last_reflect=minds.last_reflect)
            reflecting.append(len(due.reflect))
            minds.last_reflect[due.reflect] = tick
        assert sum(reflecting) == len(minds.agents)  # each agent once in the span
        assert max(reflecting) == 1 and reflecting[0] == 0
    finally:
        sim.close()


def test_what_an_agent_hears_becomes_its_news_and_the_rules_backend_retells_it():
    """A fact told to an agent is its News in its next prompt, and a backend without a model says it when it talks."""
    scene = village()
    sim = Simulation(scene, seed=3, backend=RulesBackend()).build()
    try:
        fact = "The mayor will hold a feast at the well tonight"
        sim.send_message(0, fact)
        sim.step()
        assert sim.minds.news(0, sim.tick) == fact
        assert sim.minds.memory.shared_with(0, fact) == {-1}  # the Narrator has it; nobody else is known to
        (req,) = sim.minds.requests(np.array([0]), np.zeros(0, np.int64), sim.tick, np.array([0]))
        assert f"News: {fact}" in req.personal and req.news == fact
        assert "move_to well" in req.options  # the place it heard of is on its menu
        talk = [i for i, t in enumerate(req.talk) if t]
        if talk:
            req.prior[:] = 0.0
            req.prior[talk[0]] = 1.0
            (ans,) = RulesBackend().decide([req])
            assert ans.say == fact
    finally:
        sim.close()


def test_scripted_news_is_heard_at_its_tick():
    """A scene's `[[tell]]` lines reach their agent (or everyone in their zone) at their tick, as the Narrator's."""
    scene = Scene.load(ROOT / "scenes" / "village_news.toml")
    (line,) = scene.tell
    sim = Simulation(scene, seed=3, backend=RulesBackend()).build()
    try:
        heard = [(r.tick, m[1:]) for r in (sim.step() for _ in range(2)) for m in r.messages if m[1] == -1]
        assert heard == [(line.tick, (-1, line.agent, line.text))]
        assert sim.minds.news(line.agent, sim.tick) == line.text
    finally:
        sim.close()


def test_closing_during_the_warm_up_stops_it_safely():
    """A simulation closed while its backend is still warming up (the viewer closed at once) stops the warm-up
    between pages and frees the model only after its thread is done (it crashed in llama.cpp before)."""
    scene = village()
    sim = Simulation(scene, seed=3, clock="realtime").build()
    worker = sim.worker
    time.sleep(0.2)  # the warm-up is under way
    sim.close()
    assert worker._thread is None and worker.backend._ctx is None  # joined, then the model was freed
