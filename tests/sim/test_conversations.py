"""Conversations carry what agents know: a fact told to one villager reaches another's memory through talk that
the real embedded model writes."""

from __future__ import annotations

import pytest

from tests.paths import ROOT
from tokenworld.mind.memory import HEARD, carries
from tokenworld.scene.schema import Scene
from tokenworld.sim.simulation import Simulation
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.decisions import SOURCES

FACT = "The mayor will hold a feast at the well tonight"


@pytest.mark.slow
def test_a_fact_told_to_one_villager_reaches_another_by_model_written_talk():
    """The Narrator tells agent 0 a fact; within a few decisions another villager remembers hearing it from a
    villager (not from the Narrator), in a line the model wrote."""
    scene = Scene.load(ROOT / "scenes" / "village.toml")
    for g in scene.groups:  # everyone starts around the well, so that neighbours are at hand
        g.spawn_zone, g.spawn_area = None, (92.0, 68.0, 108.0, 84.0)
    scene.tell = []
    sim = Simulation(scene, seed=3).build()
    try:
        sim.send_message(0, FACT)
        mem = sim.minds.memory
        retold = []
        for _ in range(60):
            r = sim.step()
            retold += [(s, a, text) for _, s, a, text in r.messages if s >= 0 and carries(text, FACT)]
            if retold:
                break
        assert retold, "nobody passed the fact on"
        speaker, listener, text = retold[0]
        assert speaker >= 0 and listener != 0  # a villager told someone who had not been told by the Narrator
        d = r.decisions  # the decisions applied this tick: the talk that carried the fact, written by the model
        said = (d.agent == speaker) & (d.action == ACTION_INDEX["talk"]) & (d.text == text)
        assert (d.source[said] == SOURCES.index("model")).any()
        row = mem.row[listener]
        heard = {
            (int(mem.other[row, s]), str(mem.text[row, s])) for s in range(mem.capacity) if mem.kind[row, s] == HEARD
        }
        assert (speaker, text) in heard
        assert sim.minds.news(listener, sim.tick) == text  # now the listener's news, to pass on in turn
    finally:
        sim.close()
