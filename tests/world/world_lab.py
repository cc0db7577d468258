"""Small worlds for the world tests: a lab scene, exact placement, decision rows, state copies.

Everything here uses the real components (scene loader, Simulation, World,
engine); nothing is mocked. Building a world after the first one in a process
takes a few tens of milliseconds, so tests build a fresh one each.
"""

from __future__ import annotations

import copy

import numpy as np

import tokenworld
from tokenworld.world.actions import ACTION_INDEX
from tokenworld.world.decisions import REASON_INDEX, REASONS, TARGET_KINDS, Decisions
from tokenworld.world.items import ITEM_INDEX

# The lab: a 100 m square with two zones and three resource nodes outside them.
FIELD = (10.0, 10.0, 40.0, 40.0)  # zone 0, a food pool
TOWN = (60.0, 60.0, 90.0, 90.0)  # zone 1, no pool
TREE, QUARRY, BUSH = 0, 1, 2  # entity ids (also node ids)
TREE_POS, QUARRY_POS, BUSH_POS = (50.0, 20.0), (50.0, 45.0), (75.0, 30.0)
OPEN = (50.0, 55.0)  # outside every zone and out of reach of every entity
IN_FIELD_POS = (25.0, 25.0)
IN_TOWN_POS = (75.0, 75.0)
POOL_FOOD = 3.0


def lab_scene(n: int = 6, *, tree_stock: float = 5.0, bush_stock: float = 2.0, **economy) -> tokenworld.Scene:
    """The lab scene with `n` agents (agreeableness fixed at 0.5, so trades are judged at market value)."""
    return tokenworld.Scene.from_dict(
        {
            "name": "lab",
            "world": {"size": [100.0, 100.0]},
            "sim": {"seed": 1},
            "economy": economy,
            "zones": [
                {"name": "field", "rect": list(FIELD), "resources": {"food": POOL_FOOD}},
                {"name": "town", "rect": list(TOWN)},
            ],
            "entities": [
                {
                    "kind": "resource",
                    "name": "tree",
                    "pos": list(TREE_POS),
                    "radius": 1.0,
                    "properties": {"resource": "wood", "stock": tree_stock, "regen": 0},
                },
                {
                    "kind": "resource",
                    "name": "quarry",
                    "pos": list(QUARRY_POS),
                    "radius": 1.0,
                    "properties": {"resource": "stone", "stock": 4, "regen": 0},
                },
                {
                    "kind": "resource",
                    "name": "bush",
                    "pos": list(BUSH_POS),
                    "radius": 1.0,
                    "properties": {"resource": "food", "stock": bush_stock, "regen": 0},
                },
            ],
            "groups": [
                {
                    "name": "lab",
                    "count": n,
                    "spawn_area": [45.0, 50.0, 55.0, 60.0],
                    "traits": {"agreeableness": {"mean": 0.5, "std": 0.0}},
                    "flocking": {"wander": 0.0},
                },
            ],
        }
    )


def lab_world(positions, **scene_kw):
    """A fresh lab world with agent i standing exactly at positions[i], perception up to date."""
    pos = np.asarray(positions, np.float32).reshape(-1, 2)
    sim = tokenworld.Simulation(lab_scene(len(pos), **scene_kw), seed=1, arch="cpu", profile=False).build()
    w = sim.world
    place(w, pos)
    w.economy.inventory[:] = 0.0
    w.economy.hunger[:] = 0.5
    w.economy.energy[:] = 0.5
    return w


def place(w, pos) -> None:
    """Put every agent at `pos` and refresh hash, perception and zones."""
    pos = np.asarray(pos, np.float32).reshape(w.n_agents, 2)
    w.engine.set_state(pos, w.agents.max_speed, w.agents.group)
    w.engine.build_hash()
    w.engine.perceive()
    w.engine._zones_now()


def near(centre, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
    return (centre[0] + dx, centre[1] + dy)


def decide(*rows: dict) -> Decisions:
    """A Decisions batch from dicts like {agent, action, kind, target, item, amount, item2, amount2, text}."""
    d = Decisions.empty(len(rows))
    for r, row in enumerate(rows):
        d.agent[r] = row["agent"]
        d.action[r] = ACTION_INDEX[row["action"]]
        if "kind" in row:
            d.target_kind[r] = TARGET_KINDS.index(row["kind"])
        d.target[r] = row.get("target", -1)
        d.item[r] = row.get("item", -1)
        d.amount[r] = row.get("amount", 0.0)
        d.item2[r] = row.get("item2", -1)
        d.amount2[r] = row.get("amount2", 0.0)
        d.text[r] = row.get("text", "")
    return d


def one(w, tick: int = 1, **row):
    """Apply a single decision; return its event row as (reason name, event)."""
    ev = w.apply(decide(row), tick)
    assert len(ev) == 1
    return REASONS[int(ev.reason[0])], ev


def trade(agent, partner, give, give_amount, want, want_amount) -> dict:
    return dict(
        agent=agent,
        action="trade",
        kind="agent",
        target=partner,
        item=ITEM_INDEX[give],
        amount=give_amount,
        item2=ITEM_INDEX[want],
        amount2=want_amount,
    )


def reasons_of(events) -> dict[int, str]:
    """Agent id -> reason name."""
    return {int(a): REASONS[int(r)] for a, r in zip(events.agent, events.reason, strict=True)}


def world_state(w) -> dict:
    """Deep copies of everything an action may change (last_action/last_reason left out)."""
    eco = w.economy
    snap = w.engine.snapshot(("pos", "target", "flags"))
    state = {
        "inventory": eco.inventory,
        "hunger": eco.hunger,
        "energy": eco.energy,
        "node_stock": eco.node_stock,
        "pool": eco.pool,
        "log_price": eco.log_price,
        "trade_volume": eco.trade_volume,
        "social_keys": w.social.keys,
        "social_weight": w.social.weight,
        "entity_pos": w.entity_pos,
        "entity_radius": w.entity_radius,
        "busy_until": w.busy_until,
        "walking": w.walking,
        "node_of_entity": eco.node_of_entity,
        "engine_target": snap["target"],
        "engine_flags": snap["flags"],
        "engine_pos": snap["pos"],
        "engine_entities": w.engine._entities[0],
        **{f"ledger_{k}": v for k, v in eco.ledger.items()},
    }
    state = {k: np.array(v, copy=True) for k, v in state.items()}
    state["inbox"] = copy.deepcopy(w.inbox)
    state["entity_kind"] = list(w.entity_kind)
    state["game"] = None if w.game is None else np.array(w.game.guess, copy=True)
    return state


def changed(before: dict, after: dict) -> list[str]:
    """Names of the parts of the state that differ."""
    out = []
    for k, v in before.items():
        a = after[k]
        if isinstance(v, np.ndarray):
            if v.shape != a.shape or not np.array_equal(v, a, equal_nan=v.dtype.kind == "f"):
                out.append(k)
        elif v != a:
            out.append(k)
    return out


OK = REASON_INDEX["ok"]
