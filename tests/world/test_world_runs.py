"""Whole simulations with the rules brain: conservation, well-formed decisions, determinism, personality."""

from __future__ import annotations

import numpy as np
import pytest

import tokenworld
from tokenworld.scene.schema import ITEMS
from tokenworld.world.actions import ACTION_INDEX, ACTIONS
from tokenworld.world.decisions import SOURCES, TARGET_KINDS
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES

A = ACTION_INDEX
NONE_T, ZONE_T, ENTITY_T, AGENT_T = range(len(TARGET_KINDS))


def hamlet(seed: int = 3) -> tokenworld.Scene:
    """40 agents of four archetypes, zone pools and regrowing nodes: every action happens."""
    return tokenworld.Scene.from_dict(
        {
            "name": "hamlet",
            "world": {"size": [80.0, 80.0]},
            "sim": {"seed": seed, "dt": 0.5, "metrics_every": 100},
            "mind": {"decide_every": 5},
            "economy": {"hunger_rate": 0.01, "energy_rate": 0.005},
            "zones": [
                {"name": "farm", "rect": [5.0, 5.0, 35.0, 35.0], "resources": {"food": 40.0}},
                {"name": "forest", "rect": [45.0, 5.0, 75.0, 35.0], "resources": {"wood": 30.0}},
                {"name": "square", "rect": [20.0, 45.0, 60.0, 75.0]},
            ],
            "entities": [
                {
                    "kind": "resource",
                    "name": "rock",
                    "pos": [40.0, 60.0],
                    "properties": {"resource": "stone", "stock": 20, "regen": 0.2},
                },
                {
                    "kind": "resource",
                    "name": "rock2",
                    "pos": [30.0, 50.0],
                    "properties": {"resource": "stone", "stock": 5, "regen": 0.1, "max_stock": 8},
                },
                {
                    "kind": "resource",
                    "name": "berries",
                    "pos": [50.0, 70.0],
                    "properties": {"resource": "food", "stock": 10, "regen": 0.05},
                },
            ],
            "groups": [
                {
                    "name": "crafters",
                    "count": 10,
                    "archetype": "craftsperson",
                    "spawn_zone": "square",
                    "inventory": {"wood": 4, "stone": 2, "food": 2},
                },
                {
                    "name": "merchants",
                    "count": 10,
                    "archetype": "merchant",
                    "spawn_zone": "square",
                    "inventory": {"wood": 6, "stone": 3, "food": 5, "water": 4},
                    "traits": {"agreeableness": {"mean": 0.9, "std": 0.05}},
                },
                {
                    "name": "leaders",
                    "count": 10,
                    "archetype": "leader",
                    "spawn_zone": "square",
                    "inventory": {"wood": 8, "stone": 3},
                    "traits": {"openness": {"mean": 0.9, "std": 0.05}},
                },
                {"name": "farmers", "count": 10, "archetype": "farmer", "spawn_zone": "farm", "inventory": {"food": 1}},
            ],
        }
    )


@pytest.fixture(scope="module")
def hamlet_run():
    """600 ticks of the hamlet, with what each tick applied and the economy checked after each tick."""
    sim = tokenworld.Simulation(hamlet(), seed=11, arch="cpu", profile=False).build()
    eco = sim.world.economy
    initial = eco.totals().copy()
    run = {"decisions": [], "events": [], "min_inventory": [], "ledger_gap": []}
    for _ in range(600):
        r = sim.step()
        run["decisions"].append(r.decisions)
        run["events"].extend(r.events)
        run["min_inventory"].append(float(eco.inventory.min()))
        expected = eco.ledger["regenerated"] + eco.ledger["produced"] - eco.ledger["consumed"]
        run["ledger_gap"].append(np.abs(eco.totals() - initial - expected).max())
    run["sim"], run["initial"] = sim, initial
    yield run
    sim.close()


def _done(events, action: str) -> int:
    return sum(int(((e.action == A[action]) & (e.reason == 0)).sum()) for e in events)


def test_the_hamlet_exercises_the_economy(hamlet_run):
    """The run the economy tests rely on gathers, eats, crafts, builds, trades, talks and regrows."""
    events = hamlet_run["events"]
    for action in ("gather", "eat", "craft", "build", "trade", "talk", "move_to", "rest"):
        assert _done(events, action) > 0, action
    ledger = hamlet_run["sim"].world.economy.ledger
    assert ledger["regenerated"].sum() > 0 and ledger["produced"].sum() > 0 and ledger["consumed"].sum() > 0


def test_items_are_conserved_by_the_ledger(hamlet_run):
    """totals - initial == regenerated + produced - consumed, per item, after every tick (to 1e-3)."""
    eco = hamlet_run["sim"].world.economy
    expected = eco.ledger["regenerated"] + eco.ledger["produced"] - eco.ledger["consumed"]
    np.testing.assert_allclose(eco.totals() - hamlet_run["initial"], expected, atol=1e-3)
    assert max(hamlet_run["ledger_gap"]) < 1e-3


def test_no_inventory_or_stock_ever_goes_negative(hamlet_run):
    """No agent's inventory is negative at any tick; stocks and pools end non-negative."""
    assert min(hamlet_run["min_inventory"]) >= 0.0
    eco = hamlet_run["sim"].world.economy
    assert (eco.node_stock >= 0).all() and (eco.pool >= 0).all()


def test_rules_brain_decisions_are_well_formed(hamlet_run):
    """Every decision the rules brain made in 600 ticks names a valid action, target, item or recipe."""
    w = hamlet_run["sim"].world
    n, n_zones = w.n_agents, len(w.scene.zones)
    n_ents = len(w.entity_pos)  # entities only ever get added, so the final count bounds every tick's
    total = 0
    for d in hamlet_run["decisions"]:
        total += len(d)
        if not len(d):
            continue
        assert np.all(np.diff(d.agent) > 0), "one decision per agent, ascending ids"
        assert ((d.agent >= 0) & (d.agent < n)).all()
        assert ((d.action >= 0) & (d.action < len(ACTIONS))).all()
        assert (d.source == SOURCES.index("rules")).all()
        kind, tgt = d.target_kind, d.target
        assert ((kind >= 0) & (kind < len(TARGET_KINDS))).all()
        assert (tgt[kind == NONE_T] == -1).all()
        assert ((tgt[kind == ZONE_T] >= 0) & (tgt[kind == ZONE_T] < n_zones)).all()
        assert ((tgt[kind == ENTITY_T] >= 0) & (tgt[kind == ENTITY_T] < n_ents)).all()
        at = kind == AGENT_T
        assert ((tgt[at] >= 0) & (tgt[at] < n) & (tgt[at] != d.agent[at])).all()
        # Per action: what it needs filled in.
        act = d.action
        assert (kind[act == A["move_to"]] != NONE_T).all()
        for a in ("talk", "trade"):
            assert (kind[act == A[a]] == AGENT_T).all()
        talk = act == A["talk"]
        assert all(isinstance(t, str) and t for t in d.text[talk])
        assert all(t == "" for t in d.text[~talk])
        g = act == A["gather"]
        assert ((d.item[g] >= 0) & (d.item[g] < len(ITEMS))).all()
        assert ((d.item[act == A["craft"]] >= 0) & (d.item[act == A["craft"]] < len(CRAFT_RECIPES))).all()
        assert ((d.item[act == A["build"]] >= 0) & (d.item[act == A["build"]] < len(BUILD_RECIPES))).all()
        t = act == A["trade"]
        for col in (d.item[t], d.item2[t]):
            assert ((col >= 0) & (col < len(ITEMS))).all()
        assert (d.item[t] != d.item2[t]).all()
        assert (d.amount[t] > 0).all() and (d.amount2[t] > 0).all()
        assert np.isfinite(d.amount).all() and np.isfinite(d.amount2).all()
    assert total > 500


# ------------------------------------------------------------------ determinism


def _run(scene, seed: int, ticks: int):
    sim = tokenworld.Simulation(scene, seed=seed, arch="cpu", profile=False).build()
    decisions = [sim.step().decisions for _ in range(ticks)]
    w = sim.world
    final = {
        "inventory": w.economy.inventory.copy(),
        "pos": sim.snapshot()["pos"],
        "keys": w.social.keys.copy(),
        "weight": w.social.weight.copy(),
        "hunger": w.economy.hunger.copy(),
        "entity_pos": w.entity_pos.copy(),
    }
    sim.close()
    return decisions, final


def _same_decisions(a, b) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for name in vars(x):
            if not np.array_equal(getattr(x, name), getattr(y, name)):
                return False
    return True


def test_same_seed_same_run_different_seed_different_run():
    """Two runs with the same scene and seed make identical decisions and end identical; another seed differs."""
    scene = hamlet()
    d1, f1 = _run(scene, 21, 300)
    d2, f2 = _run(scene, 21, 300)
    assert sum(len(d) for d in d1) > 300
    assert _same_decisions(d1, d2)
    for k in f1:
        assert np.array_equal(f1[k], f2[k]), k
    d3, f3 = _run(scene, 22, 100)
    assert not _same_decisions(d1[:100], d3)
    assert not np.array_equal(f1["pos"], f3["pos"])


# ------------------------------------------------------------------ personality


def _two_groups(trait: str, zones: list, ticks: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """Two groups of 30, identical but for `trait` (0.95 vs 0.05), packed together; done events per agent and action."""
    fixed = {
        t: {"mean": 0.5, "std": 0.0}
        for t in ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
    }
    groups = []
    for name, value in (("high", 0.95), ("low", 0.05)):
        traits = {**fixed, trait: {"mean": value, "std": 0.0}}
        groups.append(
            {
                "name": name,
                "count": 30,
                "spawn_area": [20.0, 20.0, 40.0, 40.0],
                "traits": traits,
                "flocking": {"wander": 0.0},
            }
        )
    scene = tokenworld.Scene.from_dict(
        {
            "name": "pairs",
            "world": {"size": [60.0, 60.0]},
            "sim": {"seed": 4, "metrics_every": 1000},
            "mind": {"decide_every": 5},
            "zones": zones,
            "groups": groups,
        }
    )
    sim = tokenworld.Simulation(scene, seed=4, arch="cpu", profile=False).build()
    done = np.zeros((sim.world.n_agents, len(ACTIONS)), np.int64)
    for _ in range(ticks):
        for e in sim.step().events:
            ok = e.reason == 0
            np.add.at(done, (e.agent[ok], e.action[ok]), 1)
    group = sim.world.agents.group
    sim.close()
    return done[group == 0].sum(axis=0), done[group == 1].sum(axis=0)


def test_extraverts_talk_more():
    """A group with extraversion 0.95 talks far more than an otherwise identical one at 0.05."""
    high, low = _two_groups("extraversion", zones=[])
    assert high[A["talk"]] >= 30
    assert high[A["talk"]] > 3 * max(low[A["talk"]], 1)


def test_conscientious_agents_gather_more():
    """A group with conscientiousness 0.95 gathers far more than an otherwise identical one at 0.05."""
    pit = {"name": "pit", "rect": [10.0, 10.0, 50.0, 50.0], "resources": {"wood": 1000.0, "stone": 1000.0}}
    high, low = _two_groups("conscientiousness", zones=[pit])
    assert high[A["gather"]] >= 30
    assert high[A["gather"]] > 3 * max(low[A["gather"]], 1)
