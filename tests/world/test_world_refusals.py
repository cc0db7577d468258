"""Refused actions change nothing; contended resources go to the lowest agent ids."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.world.world_lab import (
    BUSH,
    BUSH_POS,
    IN_FIELD_POS,
    IN_TOWN_POS,
    OPEN,
    QUARRY,
    TREE_POS,
    changed,
    decide,
    lab_world,
    near,
    reasons_of,
    trade,
    world_state,
)
from tokenworld.scene.schema import GameOptions
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.decisions import REASONS
from tokenworld.world.game import GuessAverage
from tokenworld.world.items import ITEM_INDEX

FOOD, WOOD, STONE, TOOLS = (ITEM_INDEX[k] for k in ("food", "wood", "stone", "tools"))
IN_TOWN = IN_TOWN_POS
FAR = near(OPEN, 20)
CLOSE = near(OPEN, 3)


def _setup_busy(w):
    w.busy_until[0] = 50


def _setup_busy_partner(w):
    w.busy_until[1], w.last_action[1] = 50, ACTION_INDEX["trade"]  # still in a trade of its own


def _setup_game_closed(w):
    w.game = GuessAverage(GameOptions(kind="guess_average"), w.n_agents)
    w.game.open_round(0)  # open at another tick than the guess


def _setup_game_open(w):
    w.game = GuessAverage(GameOptions(kind="guess_average", max_value=100.0), w.n_agents)
    w.game.open_round(1)


# (name, agent 0's position, partner position, decision row, expected reason, setup)
CASES = [
    ("eat without food", OPEN, FAR, dict(action="eat"), "not enough food", None),
    ("busy", OPEN, FAR, dict(action="rest"), "busy with another action", _setup_busy),
    ("move_to the zone one is in", IN_TOWN, FAR, dict(action="move_to", kind="zone", target=1), "already there", None),
    (
        "move_to an entity in reach",
        near(TREE_POS, 0, 3),
        FAR,
        dict(action="move_to", kind="entity", target=0),
        "already there",
        None,
    ),
    (
        "move_to a near agent",
        OPEN,
        near(OPEN, 1),
        dict(action="move_to", kind="agent", target=1),
        "already there",
        None,
    ),
    ("move_to a bad zone", OPEN, FAR, dict(action="move_to", kind="zone", target=9), "no such target", None),
    ("move_to oneself", OPEN, FAR, dict(action="move_to", kind="agent", target=0), "no such target", None),
    ("gather with nothing here", OPEN, FAR, dict(action="gather", item=WOOD), "nothing to gather here", None),
    (
        "gather the wrong item at a node",
        near(TREE_POS, 0, 3),
        FAR,
        dict(action="gather", item=STONE),
        "nothing to gather here",
        None,
    ),
    ("craft without inputs", OPEN, FAR, dict(action="craft", item=0), "not enough wood", None),
    ("build outside a zone", OPEN, FAR, dict(action="build", item=0), "not in a zone", None),
    ("build without inputs", IN_TOWN, FAR, dict(action="build", item=2), "not enough stone", None),
    ("talk too far", OPEN, FAR, dict(action="talk", kind="agent", target=1, text="hi"), "too far", None),
    ("trade unfair", OPEN, CLOSE, trade(0, 1, "wood", 1.0, "stone", 3.0), "partner refused", None),
    ("trade not enough", OPEN, CLOSE, trade(0, 1, "wood", 2.0, "stone", 1.0), "not enough wood", None),
    (
        "trade partner has not enough",
        OPEN,
        CLOSE,
        trade(0, 1, "stone", 2.0, "wood", 1.0),
        "partner has not enough",
        None,
    ),
    ("trade too far", OPEN, FAR, trade(0, 1, "stone", 2.0, "wood", 1.0), "too far", None),
    ("trade partner busy", OPEN, CLOSE, trade(0, 1, "stone", 2.0, "wood", 1.0), "partner busy", _setup_busy_partner),
    ("guess without a game", OPEN, FAR, dict(action="guess", amount=5.0), "no round is open", None),
    (
        "guess outside the open round",
        OPEN,
        FAR,
        dict(action="guess", amount=5.0),
        "no round is open",
        _setup_game_closed,
    ),
    ("guess out of range", OPEN, FAR, dict(action="guess", amount=150.0), "value out of range", _setup_game_open),
]


@pytest.mark.parametrize("name, pos, partner, row, expected, setup", CASES, ids=[c[0] for c in CASES])
def test_a_refused_action_leaves_the_world_untouched(name, pos, partner, row, expected, setup):
    """A refused decision changes no inventory, need, stock, pool, tie, entity, target or busy time."""
    w = lab_world([pos, partner])
    eco = w.economy
    eco.inventory[0, [FOOD, WOOD, STONE]] = [0.0, 1.0, 2.0]  # agent 0: no food, too little for any recipe
    eco.inventory[1, [FOOD, WOOD, STONE]] = [3.0, 0.0, 5.0]  # partner: no wood
    w.social.strengthen(np.array([0]), np.array([1]), 0.5)  # an existing tie that must not move
    if setup is not None:
        setup(w)
    before = world_state(w)
    events = w.apply(decide({"agent": 0, **row}), 1)
    assert REASONS[int(events.reason[0])] == expected
    assert changed(before, world_state(w)) == []
    assert REASONS[int(w.last_reason[0])] == expected


def test_a_refused_trade_between_strangers_creates_no_tie():
    """A refused offer does not make the two agents socially tied (no edge, degree stays 0)."""
    w = lab_world([OPEN, CLOSE])
    w.economy.inventory[:, [WOOD, STONE]] = 10.0
    ev = w.apply(decide(trade(0, 1, "wood", 1.0, "stone", 3.0)), 1)
    assert REASONS[int(ev.reason[0])] == "partner refused"
    assert w.social.edges == 0
    assert w.social.degree().tolist() == [0, 0]


# ------------------------------------------------------------------ contention


def _crowd_at_bush(order, tools_for=()):
    """Three agents within reach of the bush (food stock 2), deciding to gather, rows in `order`."""
    w = lab_world([near(BUSH_POS, 0, 2.5), near(BUSH_POS, 2.5, 0), near(BUSH_POS, -2.5, 0)])
    for a in tools_for:
        w.economy.inventory[a, TOOLS] = 1.0
    d = decide(*[dict(agent=a, action="gather", item=FOOD) for a in order])
    return w, w.apply(d, 1)


def test_the_lowest_ids_win_a_scarce_node():
    """Stock 2, three gatherers of 1: agents 0 and 1 get one each, agent 2 is refused."""
    w, ev = _crowd_at_bush([0, 1, 2])
    assert reasons_of(ev) == {0: "ok", 1: "ok", 2: "nothing to gather here"}
    assert w.economy.inventory[:, FOOD].tolist() == [1.0, 1.0, 0.0]
    assert w.economy.node_stock[BUSH] == 0.0
    assert ev.amount.tolist() == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("order", list(itertools.permutations([0, 1, 2])))
def test_contention_does_not_depend_on_row_order(order):
    """Shuffling the rows of the batch gives the same events and inventories."""
    w_ref, ev_ref = _crowd_at_bush([0, 1, 2], tools_for=(1,))
    w, ev = _crowd_at_bush(list(order), tools_for=(1,))
    for name in ("agent", "action", "reason", "other", "item", "amount"):
        assert np.array_equal(getattr(ev, name), getattr(ev_ref, name)), name
    assert np.array_equal(w.economy.inventory, w_ref.economy.inventory)
    assert np.array_equal(w.economy.node_stock, w_ref.economy.node_stock)
    # Agent 0 takes 1, agent 1 (tools) would take 2 but only 1 is left, agent 2 gets nothing.
    assert w.economy.inventory[:, FOOD].tolist() == [1.0, 1.0, 0.0]


def test_a_pool_is_shared_out_in_agent_order():
    """Four gatherers at a pool of 3, the first with tools: 2, 1, then two refusals; other nodes untouched."""
    w = lab_world([IN_FIELD_POS, near(IN_FIELD_POS, 3), near(IN_FIELD_POS, 6), near(IN_FIELD_POS, 9)])
    w.economy.inventory[0, TOOLS] = 1.0
    stock = w.economy.node_stock.copy()
    ev = w.apply(decide(*[dict(agent=a, action="gather", item=FOOD) for a in (3, 1, 0, 2)]), 1)
    assert reasons_of(ev) == {0: "ok", 1: "ok", 2: "nothing to gather here", 3: "nothing to gather here"}
    assert w.economy.inventory[:, FOOD].tolist() == [2.0, 1.0, 0.0, 0.0]
    assert w.economy.pool[0, FOOD] == 0.0
    assert np.array_equal(w.economy.node_stock, stock)


def test_separate_sources_do_not_compete():
    """Gatherers at different nodes each get their full amount."""
    w = lab_world([near(TREE_POS, 0, 3), near(BUSH_POS, 0, 3), near((50.0, 45.0), 0, -3)])
    ev = w.apply(
        decide(
            dict(agent=0, action="gather", item=WOOD),
            dict(agent=1, action="gather", item=FOOD),
            dict(agent=2, action="gather", item=STONE),
        ),
        1,
    )
    assert (ev.reason == 0).all()
    assert w.economy.node_stock[[0, BUSH, QUARRY]].tolist() == [4.0, 1.0, 3.0]


def test_social_summary_survives_talks_and_refused_trades():
    """Two talks and five refused offers between one pair (weights cancel to 0) still give a summary."""
    w = lab_world([OPEN, CLOSE])
    w.economy.inventory[:, [WOOD, STONE]] = 10.0
    talk = dict(agent=0, action="talk", kind="agent", target=1, text="hi")
    unfair = trade(0, 1, "wood", 1.0, "stone", 3.0)
    for t, row in enumerate([talk, unfair, talk, unfair, unfair, unfair, unfair]):
        w.apply(decide(row), 100 * (t + 1))
    assert w.social.edges == 1
    summary = w.social.summary()  # ZeroDivisionError inside networkx's louvain when the weights sum to 0
    assert summary["edges"] == 1 and summary["communities"] >= 1
