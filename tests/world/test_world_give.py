"""give: helping a nearby agent with items (the social "help" interaction)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.world.world_lab import OPEN, changed, decide, lab_world, near, one, reasons_of, world_state
from tokenworld.world.items import ITEM_INDEX

FOOD = ITEM_INDEX["food"]


def test_give_moves_items_and_ties_the_pair_strongly():
    """give to a nearby agent moves exactly the items and adds a 0.3 tie; no item is created or lost."""
    w = lab_world([OPEN, near(OPEN, 3)])
    w.economy.inventory[0, FOOD] = 3.0
    before = w.economy.totals().copy()
    reason, ev = one(w, agent=0, action="give", kind="agent", target=1, item=FOOD, amount=2.0)
    assert reason == "ok"
    assert w.economy.inventory[:, FOOD].tolist()[:2] == [1.0, 2.0]
    assert np.allclose(w.economy.totals(), before)
    assert w.social.weight[0] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("case", "expected"),
    [("far", "too far"), ("self", "no such target"), ("short", "not enough food"), ("zero", "no such target")],
)
def test_refused_give_changes_nothing(case, expected):
    """A refused give (too far, to oneself, not enough, nothing) leaves the world untouched."""
    w = lab_world([OPEN, near(OPEN, 3 if case != "far" else 7)])
    w.economy.inventory[0, FOOD] = 1.0
    row = dict(agent=0, action="give", kind="agent", target=1, item=FOOD, amount=1.0)
    if case == "self":
        row["target"] = 0
    if case == "short":
        row["amount"] = 2.0
    if case == "zero":
        row["amount"] = 0.0
    before = world_state(w)
    assert one(w, **row)[0] == expected
    assert changed(before, world_state(w)) == []


def test_two_givers_to_one_taker_both_count():
    """Two agents giving to the same neighbour in one tick both arrive."""
    w = lab_world([OPEN, near(OPEN, 2), near(OPEN, -2)])
    w.economy.inventory[[1, 2], FOOD] = 1.0
    ev = w.apply(
        decide(*(dict(agent=a, action="give", kind="agent", target=0, item=FOOD, amount=1.0) for a in (1, 2))), 1
    )
    assert set(reasons_of(ev).values()) == {"ok"}
    assert w.economy.inventory[0, FOOD] == 2.0


def test_agreeable_agents_feed_hungry_neighbours():
    """The rules brain has an agreeable agent with food give some to a starving neighbour."""
    from tokenworld.mind.rules_brain import RulesBrain
    from tokenworld.world.actions import ACTION_INDEX

    w = lab_world([OPEN, near(OPEN, 2)])
    w.agents.traits[0] = [0.1, 0.1, 0.1, 1.0, 0.1]  # agreeable, little else
    w.economy.inventory[0, FOOD] = 5.0
    w.economy.hunger[:] = [0.0, 0.95]
    w.economy.energy[:] = 1.0
    brain = RulesBrain(w, np.random.default_rng(0))
    gives = [brain.decide(np.array([0])) for _ in range(20)]
    share = np.mean([d.action[0] == ACTION_INDEX["give"] for d in gives])
    assert share > 0.5
    assert all(d.target[0] == 1 and d.item[0] == FOOD for d in gives if d.action[0] == ACTION_INDEX["give"])
