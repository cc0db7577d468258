"""Menus of feasible options: every option offered goes ahead when applied, and none is pointless."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.mind.mind_lab import frozen, village
from tokenworld.mind.options import MAX_OPTIONS, MAX_TALK, MenuBuilder
from tokenworld.mind.personas import agent_name
from tokenworld.scene.schema import ITEMS
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.decisions import REASONS, TARGET_KINDS
from tokenworld.world.items import ITEM_INDEX

FOOD, WATER, WOOD, STONE = (ITEM_INDEX[k] for k in ("food", "water", "wood", "stone"))
ZONE_T, ENTITY_T, AGENT_T = (TARGET_KINDS.index(k) for k in ("zone", "entity", "agent"))
TICKS = (1, 30, 200)  # moments of the village run: clustered at home, spreading out, at work


def enrich(w, tick: int, rng: np.random.Generator) -> None:
    """Vary needs and inventories so that every kind of option turns up (eat, craft, build, trade, give).

    Everyone is made idle at `tick`: a menu is only built for agents about to decide.
    """
    n = w.n_agents
    inv = w.economy.inventory
    rich = rng.random(n) < 0.5
    inv[rich, FOOD] += 3.0
    inv[rich, WOOD] += 12.0
    inv[rich, STONE] += 5.0
    inv[~rich, WATER] += 8.0
    inv[~rich, FOOD] += rng.integers(0, 2, int((~rich).sum()))
    w.economy.hunger[:] = rng.uniform(0.0, 1.0, n)
    w.economy.energy[:] = rng.uniform(0.3, 1.0, n)
    w.busy_until[:] = tick


def restore(sim, state, meta) -> None:
    """Put the simulation back to `state`, perception included.

    A checkpoint holds no perception (the next step perceives anew), so it is computed
    from the restored positions, as it was when the menus were built.
    """
    sim.restore(frozen(state), meta)
    sim.world.engine.build_hash()
    sim.world.engine.perceive()


@pytest.fixture(scope="module")
def moments():
    """(sim, [(state, meta, menus)]) at a few moments of an enriched village run; the state is restorable."""
    sim = village()
    out = []
    try:
        for k, t in enumerate(TICKS):
            sim.run(t - sim.tick)
            enrich(sim.world, sim.tick, np.random.default_rng(k))
            sim.world.engine.build_hash()
            sim.world.engine.perceive()
            state, meta = sim.checkpoint()
            menus = MenuBuilder(sim.world, sim.brain).build(np.arange(sim.world.n_agents))
            out.append((frozen(state), meta, menus))
        yield sim, out
    finally:
        sim.close()


def verbs(menus) -> Counter:
    return Counter(lab.split(" ", 1)[0] for m in menus for lab in m.labels)


def test_the_moments_offer_every_kind_of_option(moments):
    """The scenarios below are not vacuous: between them they offer every action a menu can hold."""
    _, out = moments
    seen = sum((verbs(menus) for _, _, menus in out), Counter())
    assert set(seen) >= {"eat", "rest", "gather", "craft", "build", "talk", "trade", "give", "move_to"}, seen


def outcomes(moments) -> list[tuple[str, str]]:
    """(label, reason) of every option of every menu, each applied alone to the world its menu was built from."""
    sim, out = moments
    got = []
    for state, meta, menus in out:
        for menu in menus:
            for i, lab in enumerate(menu.labels):
                restore(sim, state, meta)
                ev = sim.world.apply(menu.decision(i, "hi"), sim.tick)
                assert len(ev) == 1 and ev.agent[0] == menu.agent
                got.append((f"{agent_name(menu.agent)} at tick {sim.tick}: {lab}", REASONS[ev.reason[0]]))
    return got


@pytest.fixture(scope="module")
def applied(moments):
    return outcomes(moments)


def test_every_option_but_trade_goes_ahead_when_applied(applied):
    """Every option applied alone to its world goes ahead; a trade may only be refused by the partner."""
    assert len(applied) > 300
    refused = [
        (lab, why) for lab, why in applied if why != "ok" and not (": trade " in lab and why == "partner refused")
    ]
    assert not refused, refused
    assert any(": trade " in lab and why == "ok" for lab, why in applied)


def test_trade_options_are_accepted_by_the_partner(applied):
    """Trade options, like the others, go ahead when applied."""
    trades = [(lab, why) for lab, why in applied if ": trade " in lab]
    assert trades
    assert all(why == "ok" for _, why in trades), [t for t in trades if t[1] != "ok"]


def test_applied_options_do_what_their_label_says(moments):
    """Spot checks of effects: eating uses a food, gathering adds the item, a gift moves it, talk is heard."""
    sim, out = moments
    checked = Counter()
    for state, meta, menus in out:
        for menu in menus:
            a = menu.agent
            for i, lab in enumerate(menu.labels):
                verb = lab.split(" ", 1)[0]
                if verb not in ("eat", "gather", "give", "talk"):
                    continue
                restore(sim, state, meta)
                w = sim.world
                before = w.economy.inventory.copy()
                w.inbox.clear()
                w.apply(menu.decision(i, "hello there"), sim.tick)
                after = w.economy.inventory
                row = menu.rows.take([i])
                if verb == "eat":
                    assert after[a, FOOD] == before[a, FOOD] - 1
                elif verb == "gather":
                    item = ITEMS.index(lab.split(" ", 1)[1])
                    assert after[a, item] > before[a, item]
                elif verb == "give":
                    b = int(row.target[0])
                    assert after[b, FOOD] == before[b, FOOD] + 1 and after[a, FOOD] == before[a, FOOD] - 1
                else:
                    assert list(w.inbox)[-1][1:] == (a, int(row.target[0]), "hello there")
                checked[verb] += 1
    assert set(checked) == {"eat", "gather", "give", "talk"}, checked


def test_no_option_is_pointless(moments):
    """No walk to one's own zone, no gathering what is absent, no talk without a neighbour, no eating without food."""
    sim, out = moments
    for state, meta, menus in out:
        restore(sim, state, meta)
        w, eco = sim.world, sim.world.economy
        for menu in menus:
            a = menu.agent
            ids = np.array([a], np.int32)
            zone = int(w.engine.read("zone", ids)[0])
            around = [int(b) for b in w.engine.read("nbr", ids)[0] if b >= 0]
            nbrs = set(around[:MAX_TALK])
            ents = [int(e) for e in w.engine.read("ent", ids)[0] if e >= 0]
            pos = w.engine.read("pos", ids)[0]
            for i, lab in enumerate(menu.labels):
                row = menu.rows.take([i])
                act = int(row.action[0])
                if act == ACTION_INDEX["move_to"] and row.target_kind[0] == ENTITY_T:  # a market stall, to trade
                    e = int(row.target[0])
                    assert lab == f"move_to {w.entity_name[e]}" and e not in ents, lab
                elif act == ACTION_INDEX["move_to"]:
                    assert row.target_kind[0] == ZONE_T and int(row.target[0]) != zone, lab
                    assert lab == f"move_to {w.scene.zones[int(row.target[0])].name}"
                elif act == ACTION_INDEX["gather"]:
                    item = int(row.item[0])
                    in_pool = zone >= 0 and eco.pool[zone, item] > 0
                    nodes = [eco.node_of_entity[e] for e in ents if e < len(eco.node_of_entity)]
                    at_node = any(k >= 0 and eco.node_item[k] == item and eco.node_stock[k] > 0 for k in nodes)
                    assert in_pool or at_node, (agent_name(a), lab)
                    assert ITEMS[item] != "tools"
                elif act in (ACTION_INDEX["talk"], ACTION_INDEX["trade"], ACTION_INDEX["give"]):
                    b = int(row.target[0])
                    near = set(around) if act == ACTION_INDEX["trade"] else nbrs  # one trades with anyone perceived
                    assert row.target_kind[0] == AGENT_T and b != a and b in near, lab
                    far = np.linalg.norm(w.engine.read("pos", np.array([b], np.int32))[0] - pos)
                    assert far <= w.scene.engine.perception_radius, lab
                    assert agent_name(b) in lab
                elif act == ACTION_INDEX["eat"]:
                    assert eco.inventory[a, FOOD] >= 1, lab


def test_menus_are_bounded_unique_and_consistent(moments):
    """At most MAX_OPTIONS options, unique labels, one talk flag, decision row and prior per label."""
    sizes = []
    _, out = moments
    for _, _, menus in out:
        assert [m.agent for m in menus] == list(range(len(menus)))
        for m in menus:
            sizes.append(len(m.labels))
            assert 1 <= len(m.labels) <= MAX_OPTIONS
            assert len(set(m.labels)) == len(m.labels), m.labels
            assert len(m.talk) == len(m.rows) == len(m.prior) == len(m.labels)
            assert (m.rows.agent == m.agent).all()
            assert m.talk == [lab.startswith("talk ") for lab in m.labels]
            assert m.prior.dtype == np.float32 and np.isfinite(m.prior).all()
    assert max(sizes) == MAX_OPTIONS  # the cap is reached in these scenarios, so it was applied


def test_only_talk_rows_carry_the_spoken_line(moments):
    """`Menu.decision(i, say)` fills the text of a talk row only, and returns a single row of that agent."""
    _, out = moments
    for _, _, menus in out:
        for m in menus:
            for i, t in enumerate(m.talk):
                d = m.decision(i, "hi")
                assert len(d) == 1 and d.agent[0] == m.agent
                assert d.text[0] == ("hi" if t else "")
                assert m.rows.text[i] == ""  # the menu's own rows stay blank


def test_food_and_hunger_decide_whether_eat_is_offered(moments):
    """Eat is offered to a hungry agent with food, and to nobody without food or without hunger."""
    sim, out = moments
    state, meta, _ = out[0]
    restore(sim, state, meta)
    w = sim.world
    n = w.n_agents
    half = np.arange(n) < n // 2
    w.economy.inventory[:, FOOD] = np.where(half, 2.0, 0.0)
    w.economy.hunger[:] = np.where(np.arange(n) % 2 == 0, 0.8, 0.0)
    menus = MenuBuilder(w, sim.brain).build(np.arange(n))
    offered = np.array(["eat" in m.labels for m in menus])
    assert (offered == (half & (np.arange(n) % 2 == 0))).all()


def test_building_menus_leaves_the_world_unchanged(moments):
    """The builder reads the world and never writes it."""
    sim, out = moments
    state, meta, _ = out[-1]
    restore(sim, state, meta)
    before = frozen(sim.world.state())
    MenuBuilder(sim.world, sim.brain).build(np.arange(sim.world.n_agents))
    after = sim.world.state()
    assert before.keys() == after.keys()
    for k in before:
        assert np.array_equal(before[k], after[k]), k


def test_no_agents_no_menus(moments):
    """An empty id list gives an empty list of menus."""
    sim, _ = moments
    assert MenuBuilder(sim.world, sim.brain).build(np.zeros(0, np.int32)) == []
