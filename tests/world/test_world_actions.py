"""Every action's preconditions and effects, applied to small hand-placed worlds."""

from __future__ import annotations

import numpy as np
import pytest

from tests.world.world_lab import (
    IN_FIELD_POS,
    IN_TOWN_POS,
    OPEN,
    POOL_FOOD,
    QUARRY,
    QUARRY_POS,
    TOWN,
    TREE,
    TREE_POS,
    decide,
    lab_world,
    near,
    one,
    reasons_of,
    trade,
)
from tokenworld.scene.schema import GameOptions
from tokenworld.world import rules
from tokenworld.world.actions import ACTION_INDEX, ACTIONS
from tokenworld.world.game import GuessAverage
from tokenworld.world.items import BUILD_INDEX, CRAFT_INDEX, ITEM_INDEX

FOOD, WATER, WOOD, STONE, TOOLS = (ITEM_INDEX[k] for k in ("food", "water", "wood", "stone", "tools"))
IN_FIELD, IN_TOWN = IN_FIELD_POS, IN_TOWN_POS


def test_every_action_has_a_rule_and_every_rule_an_action():
    """The action table and rules.APPLY name exactly the same actions."""
    assert set(rules.APPLY) == {a.name for a in ACTIONS}
    assert len(ACTION_INDEX) == len(ACTIONS)


# ------------------------------------------------------------------ needs


def test_idle_changes_nothing_but_keeps_the_agent_busy():
    """idle goes ahead and only sets the agent busy for its duration."""
    w = lab_world([OPEN])
    inv = w.economy.inventory.copy()
    reason, _ = one(w, tick=5, agent=0, action="idle")
    assert reason == "ok"
    assert w.busy_until[0] == 5 + ACTIONS[ACTION_INDEX["idle"]].duration
    assert np.array_equal(w.economy.inventory, inv)


def test_rest_raises_energy_capped_at_one():
    """rest adds rest_gain to energy and never goes above 1."""
    w = lab_world([OPEN, near(OPEN, 10)])
    w.economy.energy[:] = [0.2, 0.9]
    ev = w.apply(decide(dict(agent=0, action="rest"), dict(agent=1, action="rest")), 1)
    assert (ev.reason == 0).all()
    assert w.economy.energy[0] == pytest.approx(0.2 + w.scene.economy.rest_gain)
    assert w.economy.energy[1] == 1.0


def test_eat_uses_one_food_and_lowers_hunger():
    """eat consumes one food (ledger too) and lowers hunger by eat_relief, not below 0."""
    w = lab_world([OPEN, near(OPEN, 10)])
    eco = w.economy
    eco.inventory[:, FOOD] = 2.0
    eco.hunger[:] = [0.8, 0.1]
    ev = w.apply(decide(dict(agent=0, action="eat"), dict(agent=1, action="eat")), 1)
    assert (ev.reason == 0).all()
    assert list(eco.inventory[:, FOOD]) == [1.0, 1.0]
    assert eco.hunger[0] == pytest.approx(0.8 - w.scene.economy.eat_relief)
    assert eco.hunger[1] == 0.0
    assert eco.ledger["consumed"][FOOD] == 2.0


def test_eat_without_food_is_refused():
    """eat with no food is refused as "not enough food"."""
    w = lab_world([OPEN])
    assert one(w, agent=0, action="eat")[0] == "not enough food"


def test_a_busy_agent_is_refused():
    """An agent still busy with an earlier action is refused whatever it asks."""
    w = lab_world([OPEN])
    w.busy_until[0] = 10
    assert one(w, tick=5, agent=0, action="rest")[0] == "busy with another action"
    assert one(w, tick=10, agent=0, action="rest")[0] == "ok"


# ------------------------------------------------------------------ moving


def _target(w, agent):
    return w.engine.snapshot(("target", "flags"))["target"][agent]


def test_move_to_zone_sets_a_target_inside_it():
    """move_to a zone sends the agent walking to a point inside that zone."""
    w = lab_world([OPEN])
    reason, _ = one(w, agent=0, action="move_to", kind="zone", target=1)
    assert reason == "ok"
    x, y = _target(w, 0)
    assert TOWN[0] <= x < TOWN[2] and TOWN[1] <= y < TOWN[3]
    assert w.walking[0] and w.busy_until[0] == 0


def test_move_to_entity_stops_just_outside_it():
    """move_to an entity targets a point at radius + 0.8 m from its centre, on the agent's side."""
    w = lab_world([near(QUARRY_POS, 0, 10)])
    assert one(w, agent=0, action="move_to", kind="entity", target=QUARRY)[0] == "ok"
    assert np.allclose(_target(w, 0), near(QUARRY_POS, 0, 1.8), atol=1e-5)
    assert w.walking[0]


def test_move_to_agent_targets_its_position():
    """move_to another agent targets where that agent stands."""
    w = lab_world([OPEN, near(OPEN, 8, 3)])
    assert one(w, agent=0, action="move_to", kind="agent", target=1)[0] == "ok"
    assert np.allclose(_target(w, 0), near(OPEN, 8, 3))
    assert w.walking[0] and not w.walking[1]


@pytest.mark.parametrize(
    "where, kind, target",
    [(IN_TOWN, "zone", 1), (near(TREE_POS, 0, 3), "entity", TREE), (OPEN, "agent", 1)],
)
def test_move_to_where_one_already_is_is_refused(where, kind, target):
    """move_to the zone one stands in, an entity within reach, or an agent within 2 m: "already there"."""
    w = lab_world([where, near(OPEN, 1.5)])
    assert one(w, agent=0, action="move_to", kind=kind, target=target)[0] == "already there"
    assert not w.walking[0]


@pytest.mark.parametrize(
    "kind, target",
    [("zone", 2), ("zone", -1), ("entity", 3), ("entity", -1), ("agent", 0), ("agent", 2), ("agent", -1), ("none", 0)],
)
def test_move_to_a_missing_target_is_refused(kind, target):
    """move_to a zone/entity/agent id that does not exist, or to oneself: "no such target"."""
    w = lab_world([OPEN, near(OPEN, 10)])
    assert one(w, agent=0, action="move_to", kind=kind, target=target)[0] == "no such target"


# ------------------------------------------------------------------ gathering


def test_gather_from_a_node_within_reach():
    """gather next to a node moves gather_amount from its stock into the inventory."""
    w = lab_world([near(TREE_POS, 0, 3)])
    reason, ev = one(w, agent=0, action="gather", item=WOOD)
    assert reason == "ok"
    assert w.economy.node_stock[TREE] == 4.0
    assert w.economy.inventory[0, WOOD] == 1.0
    assert ev.other[0] == TREE and ev.amount[0] == 1.0


def test_tools_double_the_yield():
    """An agent holding tools gathers twice gather_amount."""
    w = lab_world([near(TREE_POS, 0, 3)])
    w.economy.inventory[0, TOOLS] = 1.0
    assert one(w, agent=0, action="gather", item=WOOD)[0] == "ok"
    assert w.economy.inventory[0, WOOD] == 2.0
    assert w.economy.node_stock[TREE] == 3.0
    assert w.economy.inventory[0, TOOLS] == 1.0  # tools are not used up


def test_gather_from_the_zone_pool():
    """gather inside a zone with a pool of the item takes it from the pool."""
    w = lab_world([IN_FIELD])
    assert one(w, agent=0, action="gather", item=FOOD)[0] == "ok"
    assert w.economy.pool[0, FOOD] == POOL_FOOD - 1
    assert w.economy.inventory[0, FOOD] == 1.0


@pytest.mark.parametrize(
    "where, item",
    [
        (OPEN, "wood"),
        (IN_TOWN, "food"),
        (IN_FIELD, "wood"),
        (near(TREE_POS, 0, 3), "stone"),
        (near(TREE_POS, 0, 6), "wood"),
    ],
)
def test_gather_where_there_is_nothing_is_refused(where, item):
    """gather away from any node or pool of the item: "nothing to gather here"."""
    w = lab_world([where])
    assert one(w, agent=0, action="gather", item=ITEM_INDEX[item])[0] == "nothing to gather here"


def test_gather_from_an_empty_node_is_refused():
    """A node whose stock is gone yields nothing."""
    w = lab_world([near(TREE_POS, 0, 3)], tree_stock=0.0)
    assert one(w, agent=0, action="gather", item=WOOD)[0] == "nothing to gather here"


# ------------------------------------------------------------------ crafting and building


def test_craft_tools_consumes_inputs_and_adds_output():
    """craft tools takes 2 wood and 1 stone and gives 1 tools (and the ledger says so)."""
    w = lab_world([OPEN])
    eco = w.economy
    eco.inventory[0, [WOOD, STONE]] = [3.0, 1.0]
    assert one(w, agent=0, action="craft", item=CRAFT_INDEX["tools"])[0] == "ok"
    assert list(eco.inventory[0, [WOOD, STONE, TOOLS]]) == [1.0, 0.0, 1.0]
    assert eco.ledger["consumed"][[WOOD, STONE]].tolist() == [2.0, 1.0]
    assert eco.ledger["produced"][TOOLS] == 1.0


def test_craft_without_inputs_is_refused():
    """craft with too little stone is refused as "not enough stone"; a bad recipe as "no such target"."""
    w = lab_world([OPEN])
    w.economy.inventory[0, WOOD] = 5.0
    assert one(w, agent=0, action="craft", item=CRAFT_INDEX["tools"])[0] == "not enough stone"
    assert one(w, agent=0, action="craft", item=7)[0] == "no such target"


def test_build_a_hut_in_a_zone():
    """build consumes the hut's inputs and adds an entity where the agent stands, known to the engine."""
    w = lab_world([IN_TOWN])
    eco = w.economy
    eco.inventory[0, [WOOD, STONE]] = [7.0, 2.0]
    n_ents = len(w.entity_pos)
    reason, ev = one(w, agent=0, action="build", item=BUILD_INDEX["hut"])
    assert reason == "ok"
    assert list(eco.inventory[0, [WOOD, STONE]]) == [1.0, 0.0]
    assert len(w.entity_pos) == n_ents + 1 and ev.other[0] == n_ents
    assert np.allclose(w.entity_pos[-1], IN_TOWN)
    assert w.entity_kind[-1] == "building" and w.entity_radius[-1] == 2.0
    assert len(w.engine._entities[0]) == n_ents + 1
    w.engine.perceive()
    assert n_ents in w.engine.read("ent", np.array([0]))[0]  # the engine perceives it
    assert len(w.economy.node_of_entity) == n_ents + 1 and w.economy.node_of_entity[-1] == -1


def test_build_outside_a_zone_or_without_inputs_is_refused():
    """build outside every zone: "not in a zone"; in a zone without the inputs: "not enough stone"."""
    w = lab_world([OPEN, IN_TOWN])
    w.economy.inventory[0, [WOOD, STONE]] = [6.0, 2.0]
    w.economy.inventory[1, [WOOD, STONE]] = [6.0, 1.0]
    ev = w.apply(decide(dict(agent=0, action="build", item=0), dict(agent=1, action="build", item=0)), 1)
    assert reasons_of(ev) == {0: "not in a zone", 1: "not enough stone"}


# ------------------------------------------------------------------ talking


def test_talk_within_range_is_heard_and_ties_the_pair():
    """talk to a nearby agent lands in the inbox and creates a tie of weight 0.05."""
    w = lab_world([OPEN, near(OPEN, 4)])
    reason, ev = one(w, tick=3, agent=1, action="talk", kind="agent", target=0, text="hello")
    assert reason == "ok"
    assert w.inbox == [(3, 1, 0, "hello")]
    assert ev.text[0] == "hello"
    assert w.social.edges == 1
    assert list(w.social.ties_of(0)[0]) == [1]
    assert w.social.weight[0] == pytest.approx(0.05)


def test_talk_beyond_perception_is_refused():
    """talk to an agent farther than the perception radius: "too far"; to oneself: "no such target"."""
    w = lab_world([OPEN, near(OPEN, 6.5)])
    assert one(w, agent=0, action="talk", kind="agent", target=1, text="hey")[0] == "too far"
    assert one(w, agent=0, action="talk", kind="agent", target=0, text="hey")[0] == "no such target"
    assert w.inbox == [] and w.social.edges == 0


# ------------------------------------------------------------------ trading


def _traders(n=2):
    w = lab_world([near(OPEN, 3 * i) for i in range(n)])
    w.economy.inventory[:, [WOOD, STONE]] = [10.0, 10.0]
    return w


def test_fair_trade_swaps_items_ties_and_moves_prices():
    """An accepted trade swaps exactly the amounts, ties the pair by 0.2 and moves prices towards the deal."""
    w = _traders()
    eco = w.economy
    before = eco.log_price.copy()
    reason, _ = one(w, **trade(0, 1, "stone", 3.0, "wood", 2.0))  # 3 stone (4.5) for 2 wood (2.0)
    assert reason == "ok"
    assert eco.inventory[0, [WOOD, STONE]].tolist() == [12.0, 7.0]
    assert eco.inventory[1, [WOOD, STONE]].tolist() == [8.0, 13.0]
    assert w.social.edges == 1 and w.social.weight[0] == pytest.approx(0.2)
    # The deal prices stone at 2/3 of wood, below the market's 1.5: stone falls, wood rises.
    assert eco.log_price[STONE] < before[STONE] and eco.log_price[WOOD] > before[WOOD]
    assert eco.log_price[[FOOD, WATER, TOOLS]].tolist() == before[[FOOD, WATER, TOOLS]].tolist()
    assert eco.trade_volume[[WOOD, STONE]].tolist() == [2.0, 3.0]
    assert w.busy_until[0] > 1 and w.busy_until[1] == 0  # only the initiator is busy


@pytest.mark.parametrize(
    "offer, expected",
    [
        ((0, 1, "wood", 1.0, "stone", 3.0), "partner refused"),
        ((0, 1, "wood", 11.0, "stone", 1.0), "not enough wood"),
        ((0, 1, "wood", 6.0, "stone", 11.0), "partner has not enough"),
        ((0, 2, "stone", 3.0, "wood", 2.0), "too far"),
        ((0, 0, "stone", 3.0, "wood", 2.0), "no such target"),
        ((0, 1, "stone", 0.0, "wood", 2.0), "no such target"),
    ],
)
def test_bad_trades_are_refused(offer, expected):
    """Unfair offers, missing items on either side, a far or missing partner are refused with the right reason."""
    w = lab_world([OPEN, near(OPEN, 3), near(OPEN, 20)])
    w.economy.inventory[:, [WOOD, STONE]] = [10.0, 10.0]
    assert one(w, **trade(*offer))[0] == expected


def test_a_partner_takes_one_trade_per_tick():
    """Of two offers to one partner in a tick the lower initiator's goes ahead, the other is "partner busy"."""
    w = _traders(3)
    ev = w.apply(decide(trade(2, 1, "stone", 3.0, "wood", 2.0), trade(0, 1, "stone", 3.0, "wood", 2.0)), 1)
    assert reasons_of(ev) == {0: "ok", 2: "partner busy"}
    assert w.economy.inventory[:, STONE].tolist() == [7.0, 13.0, 10.0]


def test_a_partner_still_in_a_trade_refuses_another():
    """An offer to a partner still in a trade of its own is refused as "partner busy"."""
    w = _traders()
    w.busy_until[1], w.last_action[1] = 5, ACTION_INDEX["trade"]
    assert one(w, tick=2, **trade(0, 1, "stone", 3.0, "wood", 2.0))[0] == "partner busy"


@pytest.mark.parametrize("action", ["gather", "rest", "idle"])
def test_a_partner_busy_with_another_action_stops_to_trade(action):
    """A partner gathering, resting or waiting hands the goods over: the trade goes ahead."""
    w = _traders()
    w.busy_until[1], w.last_action[1] = 5, ACTION_INDEX[action]
    assert one(w, tick=2, **trade(0, 1, "stone", 3.0, "wood", 2.0))[0] == "ok"


def test_trades_see_inventories_after_own_actions():
    """Trades come after every agent's own action of the tick: food the partner just ate is gone."""
    w = _traders()
    w.economy.inventory[1, FOOD] = 1.0
    ev = w.apply(decide(trade(0, 1, "stone", 3.0, "food", 1.0), dict(agent=1, action="eat")), 1)
    assert reasons_of(ev) == {0: "partner has not enough", 1: "ok"}


# ------------------------------------------------------------------ guessing


def test_guess_without_a_game_is_refused():
    """guess in a world without a game: "no round is open"."""
    w = lab_world([OPEN])
    assert one(w, agent=0, action="guess", amount=10.0)[0] == "no round is open"


def test_guess_in_an_open_round_is_recorded():
    """With a round open at this tick a guess in range is taken, one out of range is refused."""
    w = lab_world([OPEN, near(OPEN, 10)])
    w.game = GuessAverage(GameOptions(kind="guess_average", max_value=100.0), w.n_agents)
    w.game.open_round(4)
    ev = w.apply(decide(dict(agent=0, action="guess", amount=42.0), dict(agent=1, action="guess", amount=101.0)), 4)
    assert reasons_of(ev) == {0: "ok", 1: "value out of range"}
    assert w.game.guess[0] == 42.0 and np.isnan(w.game.guess[1])


# ------------------------------------------------------------------ batches


def test_the_last_of_several_decisions_for_one_agent_wins():
    """A batch with two rows for one agent applies only the last one; events come one per agent, in id order."""
    w = lab_world([OPEN, near(OPEN, 10)])
    w.economy.inventory[0, FOOD] = 1.0
    ev = w.apply(decide(dict(agent=1, action="rest"), dict(agent=0, action="eat"), dict(agent=0, action="rest")), 1)
    assert ev.agent.tolist() == [0, 1]
    assert ev.action.tolist() == [ACTION_INDEX["rest"]] * 2
    assert w.economy.inventory[0, FOOD] == 1.0  # the eat row was superseded


def test_two_builders_in_one_tick_get_their_own_entities():
    """Two agents building in the same tick each add their own entity where they stand."""
    w = lab_world([near(IN_TOWN, 5), IN_TOWN])
    w.economy.inventory[:, [WOOD, STONE]] = [10.0, 2.0]
    n_ents = len(w.entity_pos)
    ev = w.apply(
        decide(
            dict(agent=1, action="build", item=BUILD_INDEX["hut"]),
            dict(agent=0, action="build", item=BUILD_INDEX["storehouse"]),
        ),
        1,
    )
    assert (ev.reason == 0).all()
    assert len(w.entity_pos) == n_ents + 2
    built = dict(zip(ev.agent.tolist(), ev.other.tolist(), strict=True))
    assert sorted(built.values()) == [n_ents, n_ents + 1]
    assert np.allclose(w.entity_pos[built[0]], near(IN_TOWN, 5)) and np.allclose(w.entity_pos[built[1]], IN_TOWN)
    assert w.entity_radius[built[0]] == 3.0 and w.entity_radius[built[1]] == 2.0
    assert w.economy.inventory[:, [WOOD, STONE]].tolist() == [[0.0, 2.0], [4.0, 0.0]]
