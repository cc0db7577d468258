"""Decision pages as transcripts: each page extends the agent's last one by a turn of what is new."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from tests.mind.mind_lab import VILLAGE, through_npz
from tokenworld import Scene, Simulation
from tokenworld.inference.rules import RulesBackend
from tokenworld.mind import transcript
from tokenworld.mind.minds import LOG_SKIP, ModelMinds
from tokenworld.mind.prompts import inventory_words, needs_words

SHORT = 3  # MAX_TURNS in these runs: many restarts in few ticks
TICKS = 120


class NumberRules(RulesBackend):
    """The rules brain's answers to number-style pages, counting one token a word."""

    answer_style = "number"

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def model_village() -> Simulation:
    """The shipped village, its model agents answered by `NumberRules`, memories never replaced, no reflections."""
    scene = Scene.load(VILLAGE)
    scene.mind.reflect_every = 0
    scene.mind.memory_size = 512
    return Simulation(scene, seed=1, profile=False, backend=NumberRules()).build()


def turns(req) -> list[str]:
    return [text for name, text in req.blocks if name == "turn"]


def fields(text: str) -> dict[str, str]:
    """The situation lines of a page's text, the last of each field kept: field -> line."""
    out = {}
    for line in text.splitlines():
        head = line.split(":", 1)[0]
        if head in ("Plan", "News", "Needs", "Has", "At", "Near", "Last"):
            out[head] = line
    return out


@pytest.fixture(scope="module")
def run():
    """A village run whose decide requests are kept per agent with what was true when they were asked: the
    agent's memory log since its transcript began, its needs and goods in words."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transcript, "MAX_TURNS", SHORT)
        sim = model_village()
        minds = sim.minds
        asked = defaultdict(list)  # agent -> [(request, {what was true})]
        since = {}  # agent -> tick its transcript began
        ask = minds.requests

        def recording(decide, reflect, tick, priority):
            out = ask(decide, reflect, tick, priority)
            eco = sim.world.economy
            for r in out:
                if len(turns(r)) == 1:
                    since[r.agent] = tick
                log = [line for _, line in minds.memory.log(r.agent, since[r.agent], LOG_SKIP)]
                needs = needs_words(float(eco.hunger[r.agent]), float(eco.energy[r.agent]))
                now = {"log": log, "Needs": f"Needs: {needs}", "Has": f"Has: {inventory_words(eco.inventory[r.agent])}"}
                asked[r.agent].append((r, now))
            return out

        minds.requests = recording
        try:
            sim.run(TICKS)
            yield sim, asked
        finally:
            sim.close()


def test_each_page_extends_the_last_until_max_turns(run):
    """An agent's next page is its last page plus one turn block; after MAX_TURNS turns it begins again (a new
    head and one turn); no page goes past MAX_TURNS turns or the budget."""
    sim, asked = run
    extended = restarted = 0
    for pages in asked.values():
        for (prev, _), (req, _) in zip(pages, pages[1:], strict=False):
            assert len(turns(req)) <= SHORT
            assert sim.minds.transcripts.count(req.personal) <= sim.minds.transcripts.budget
            if len(turns(prev)) < SHORT:
                assert req.blocks[: len(prev.blocks)] == prev.blocks, (prev.personal, req.personal)
                assert len(req.blocks) == len(prev.blocks) + 1 and req.blocks[-1][0] == "turn"
                extended += 1
            else:
                assert len(turns(req)) == 1 and req.blocks[0] == prev.blocks[0]
                restarted += 1
    assert extended >= 20 and restarted >= 5


def test_a_turn_lists_only_new_memories_and_changed_lines(run):
    """Over a transcript, the turns' memory lines are the agent's memory log since it began, each line once and in
    order; a turn's situation lines are only those that changed, and the page read to its end tells the agent's
    needs and goods as they are."""
    _, asked = run
    checked = 0
    for pages in asked.values():
        first = None
        for req, now in pages:
            if len(turns(req)) == 1:
                first = now["log"]
                continue
            listed = [line[2:] for t in turns(req) for line in t.splitlines() if line.startswith("- ")]
            assert first + listed == now["log"], req.personal
            before = fields("".join(text for _, text in req.blocks[:-1]))
            for line in turns(req)[-1].splitlines():
                head = line.split(":", 1)[0]
                if head in ("Plan", "News", "Needs", "Has", "At", "Near", "Last"):
                    assert before.get(head) != line, (line, req.personal)
                else:
                    assert line == "" or line.startswith("- ") or line == "Choice: ", line
            shown = fields(req.personal)
            assert shown["Needs"] == now["Needs"] and shown["Has"] == now["Has"], req.personal
            checked += 1
    assert checked >= 20


def ask(minds: ModelMinds, agents, tick: int) -> list:
    agents = np.asarray(agents, np.int64)
    return minds.requests(agents, np.zeros(0, np.int64), tick, np.zeros(len(agents), np.int8))


def test_uncommitted_turns_checkpoints_and_scene_edits():
    """A request whose answer is not used (`forget`) leaves no turn; minds restored from a checkpoint write the
    same next pages; an edited scene begins every transcript anew."""
    sim = model_village()
    try:
        sim.run(40)
        sim.scheduler.cap = 0  # from now on only this test asks the minds (the world goes on, they remember)
        minds, agents = sim.minds, sim.minds.agents
        minds.transcripts.clear()  # every page below one turn from the first: none reaches MAX_TURNS
        first = ask(minds, agents, sim.tick)
        minds.resolve(first, sim.worker.backend.decide(first), sim.tick)
        sim.run(10)
        dropped = ask(minds, agents, sim.tick)
        for r in dropped:
            minds.forget(r)
        sim.run(10)
        # 1. the forgotten turn is not on the next page; the new turn tells what it told, and more
        restored = ModelMinds(sim.world, sim.brain, agents, sim.scene.mind, "number", NumberRules().count_tokens)
        restored.restore(through_npz(minds.state()))
        nxt = ask(minds, agents, sim.tick)
        retold = newer = 0
        for a, d, n in zip(first, dropped, nxt, strict=True):
            assert d.blocks[: len(a.blocks)] == a.blocks == n.blocks[: len(a.blocks)]
            assert len(n.blocks) == len(a.blocks) + 1
            told = [line for line in d.blocks[-1][1].splitlines() if line.startswith("- ")]
            now = [line for line in n.blocks[-1][1].splitlines() if line.startswith("- ")]
            assert now[: len(told)] == told
            retold += bool(told)
            newer += len(now) > len(told)
        assert retold >= 2 and newer >= 2  # the world went on: some turns have more to tell
        # 2. a checkpoint's minds write the same pages
        assert [r.blocks for r in ask(restored, agents, sim.tick)] == [r.blocks for r in nxt]
        # 3. a scene edit: every page begins again
        minds.resolve(nxt, sim.worker.backend.decide(nxt), sim.tick)
        minds.scene_changed(np.arange(len(sim.scene.zones)))
        again = ask(minds, agents, sim.tick)
        for n, g in zip(nxt, again, strict=True):
            assert len(turns(g)) == 1 and g.blocks[0] == n.blocks[0]
            assert {"Needs", "Has", "At"} <= set(fields(turns(g)[0]))
    finally:
        sim.close()


class Keeping(NumberRules):
    """`NumberRules` that keeps every request it answers."""

    def __init__(self):
        self.asked = []

    def decide(self, batch):
        self.asked.extend(batch)
        return super().decide(batch)


def test_pages_stay_within_the_budget_beginning_again_with_fewer_memories():
    """Past the personal budget a page begins again, dropping memories (the oldest first) until it fits; only a
    head and situation that alone are over the budget are sent over it."""
    scene = Scene.load(VILLAGE)
    scene.mind.reflect_every = 0
    backend = Keeping()
    sim = Simulation(scene, seed=1, profile=False, backend=backend).build()
    try:
        budget = sim.minds.transcripts.budget = 90  # words: a head, its memories and a few turns
        for _ in range(TICKS):
            sim.step()
    finally:
        sim.close()
    pages = [r for r in backend.asked if r.kind == "decide"]
    assert len(pages) >= 40
    over = [r for r in pages if len(r.personal.split()) > budget]
    for r in over:  # nothing left to drop: no memories, the first turn
        assert [name for name, _ in r.blocks if name in ("memory", "turn")] == ["turn"], r.personal
    begun = [r for r in pages if len(turns(r)) == 1]
    trimmed = [r for r in begun if 0 < sum(name == "memory" for name, _ in r.blocks) and "Remembers:" in r.personal]
    assert len(begun) > len({r.agent for r in pages})  # pages began again, not only each agent's first
    assert trimmed  # and kept some memories within the budget
