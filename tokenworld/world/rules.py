"""Applying decisions at a tick boundary: preconditions, effects and events.

The outcome never depends on the order decisions arrived in: they are sorted
by agent id, then applied action by action in the order of the action table,
each action's check-and-apply function working on all its decisions at once
(arrays, no Python loop per agent). Where agents compete for the same thing
(the last wood of a tree, a partner wanted by two traders) the lower agent id
wins. Trades come last, after every agent's own actions (gifts included), and
check both inventories again at that moment. A refused decision changes
nothing but its event, which says why, and the agent's `last_reason`.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tokenworld.scene.geometry import sample_in_zone, zone_bounds
from tokenworld.world.actions import ACTION_INDEX, ACTIONS
from tokenworld.world.decisions import REASON_INDEX as R
from tokenworld.world.decisions import TARGET_KINDS, Decisions, Events
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES, EAT, ITEM_INDEX, ITEMS

NEAR_AGENT = 2.0  # m: closer than this to an agent counts as "there"
ZONE_T, ENTITY_T, AGENT_T = (TARGET_KINDS.index(k) for k in ("zone", "entity", "agent"))
FOOD, TOOLS = ITEM_INDEX["food"], ITEM_INDEX["tools"]
FOOD_RESERVE = 2.0  # food an agent keeps for itself; below it, food is worth more the hungrier it is


def partner_accepts(world, partner, give, give_amount, want, want_amount) -> np.ndarray:
    """Whether each partner accepts an offer (arrays, one row per offer).

    What it gets must be worth what it gives, by market prices, softened by its
    agreeableness (an agreeable partner takes a slightly worse deal). Food it cannot
    spare (it would hold, or holds, less than `FOOD_RESERVE`) is worth more to it the
    hungrier it is: a hungry partner keeps its last food and pays more for food.
    """
    eco = world.economy
    price = np.exp(eco.log_price)
    food, hunger_weight = eco.inventory[partner, FOOD], 1.0 + 2.0 * eco.hunger[partner]
    dear_in = (give == FOOD) & (food < FOOD_RESERVE)
    dear_out = (want == FOOD) & (food - want_amount < FOOD_RESERVE)
    value_in = price[give] * give_amount * np.where(dear_in, hunger_weight, 1.0)
    value_out = price[want] * want_amount * np.where(dear_out, hunger_weight, 1.0)
    return value_in * (0.8 + 0.4 * world.agents.traits[partner, 3]) >= value_out


def apply_decisions(world, decisions: Decisions, tick: int) -> Events:
    """Check and apply `decisions` to `world` at `tick`; return one event per decision."""
    d = decisions.in_agent_order()
    m = len(d)
    eng = world.engine
    c = SimpleNamespace(
        d=d,
        tick=tick,
        pos=eng.read("pos", d.agent),
        zone=eng.read("zone", d.agent),
        reason=np.zeros(m, np.int8),
        other=d.target.copy(),
        item=d.item.copy(),
        amount=d.amount.copy(),
    )
    c.reason[world.busy_until[d.agent] > tick] = R["busy with another action"]
    for action in ACTIONS:
        if action.name == "trade":
            continue
        rows = np.flatnonzero((d.action == ACTION_INDEX[action.name]) & (c.reason == 0))
        if len(rows):
            APPLY[action.name](world, c, rows)
    rows = np.flatnonzero((d.action == ACTION_INDEX["trade"]) & (c.reason == 0))
    if len(rows):
        _trade(world, c, rows)
    # Durations: accepted actions keep their agent busy (and standing still).
    duration = np.array([a.duration for a in ACTIONS], np.int64)[d.action]
    busy = (c.reason == 0) & (duration > 0)
    world.set_busy(d.agent[busy], tick + duration[busy])
    world.last_action[d.agent] = d.action
    world.last_reason[d.agent] = c.reason
    # What an agent carries: what a gather gave it, kept while it walks, put down by any other action.
    gathered = (d.action == ACTION_INDEX["gather"]) & (c.reason == 0)
    walks = d.action == ACTION_INDEX["move_to"]
    world.carrying[d.agent] = np.where(gathered, d.item, np.where(walks, world.carrying[d.agent], -1))
    texts = np.where(d.action == ACTION_INDEX["talk"], d.text, "").astype(object)
    return Events(tick, d.agent, d.action, c.reason, c.zone, c.other, c.item, c.amount.astype(np.float32), texts)


# ------------------------------------------------------------------ helpers


def _refuse(c, rows: np.ndarray, mask: np.ndarray, reason: str) -> np.ndarray:
    """Mark rows[mask] refused (unless already refused); return the rows still going ahead."""
    hit = rows[mask]
    c.reason[hit] = np.where(c.reason[hit] == 0, R[reason], c.reason[hit])
    return rows[~mask]


def _partners_in_range(world, c, rows: np.ndarray) -> np.ndarray:
    """Rows whose partner is another existing agent within perception range; refuse the rest."""
    partner = c.d.target[rows]
    bad = (
        (c.d.target_kind[rows] != AGENT_T) | (partner < 0) | (partner >= world.n_agents) | (partner == c.d.agent[rows])
    )
    rows = _refuse(c, rows, bad, "no such target")
    ppos = world.engine.read("pos", c.d.target[rows])
    far = np.linalg.norm(ppos - c.pos[rows], axis=1) > world.scene.engine.perception_radius
    return _refuse(c, rows, far, "too far")


def _clear_points(world, zone, m: int, tries: int = 8) -> np.ndarray:
    """`m` points in `zone` at least a metre clear of solid entities (when the zone leaves room)."""
    pts = sample_in_zone(world.rng, zone, m)
    x0, y0, x1, y1 = zone_bounds(zone)
    ep, er = world.entity_pos, world.entity_radius
    reach = er + 1.0
    solid = np.flatnonzero(
        world.entity_solid
        & (ep[:, 0] + reach >= x0)
        & (ep[:, 0] - reach <= x1)
        & (ep[:, 1] + reach >= y0)
        & (ep[:, 1] - reach <= y1)
    )
    for _ in range(tries):
        if not len(solid) or not m:
            break
        gap = (
            np.linalg.norm(pts[:, None, :] - world.entity_pos[solid][None, :, :], axis=2)
            - world.entity_radius[solid][None, :]
        )
        bad = np.flatnonzero((gap < 1.0).any(axis=1))
        if not len(bad):
            break
        pts[bad] = sample_in_zone(world.rng, zone, len(bad))
    return pts


def _refuse_lacking(world, c, rows: np.ndarray, agents: np.ndarray, item: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Refuse rows whose agent holds less than `amount` of `item` ("not enough wood"); return the rest."""
    short = world.economy.inventory[agents, item] < amount
    for it in np.unique(item[short]):
        _refuse(c, rows, short & (item == it), f"not enough {ITEMS[it]}")
    return rows[~short]


def _refuse_without(world, c, rows: np.ndarray, need: dict[str, float]) -> np.ndarray:
    """Refuse rows whose agent lacks any input of a recipe (naming the first it lacks); return the rest."""
    for item, amount in need.items():
        agents = c.d.agent[rows]
        rows = _refuse_lacking(world, c, rows, agents, np.full(len(rows), ITEM_INDEX[item]), np.float32(amount))
    return rows


def _use_recipe(world, agents: np.ndarray, recipe) -> None:
    eco = world.economy
    for item, amount in recipe.inputs.items():
        eco.inventory[agents, ITEM_INDEX[item]] -= amount
        eco.ledger["consumed"][ITEM_INDEX[item]] += amount * len(agents)
    for item, amount in recipe.outputs.items():
        eco.inventory[agents, ITEM_INDEX[item]] += amount
        eco.ledger["produced"][ITEM_INDEX[item]] += amount * len(agents)


# ------------------------------------------------------------------ actions


def _idle(world, c, rows):
    pass


def _rest(world, c, rows):
    eco = world.economy
    agents = c.d.agent[rows]
    eco.energy[agents] = np.minimum(1.0, eco.energy[agents] + eco.options.rest_gain)


def _eat(world, c, rows):
    eco = world.economy
    rows = _refuse_without(world, c, rows, EAT.inputs)
    agents = c.d.agent[rows]
    _use_recipe(world, agents, EAT)
    eco.hunger[agents] = np.maximum(0.0, eco.hunger[agents] - eco.options.eat_relief)
    c.item[rows], c.amount[rows] = FOOD, 1.0


def _craft(world, c, rows):
    recipe = c.d.item[rows]
    rows = _refuse(c, rows, (recipe < 0) | (recipe >= len(CRAFT_RECIPES)), "no such target")
    for r, spec in enumerate(CRAFT_RECIPES):
        sel = rows[c.d.item[rows] == r]
        sel = _refuse_without(world, c, sel, spec.inputs)
        _use_recipe(world, c.d.agent[sel], spec)
        (out_item, out_amount), *_ = spec.outputs.items()
        c.item[sel], c.amount[sel] = ITEM_INDEX[out_item], out_amount  # the event says what was made


def _build(world, c, rows):
    recipe = c.d.item[rows]
    rows = _refuse(c, rows, (recipe < 0) | (recipe >= len(BUILD_RECIPES)), "no such target")
    rows = _refuse(c, rows, c.zone[rows] < 0, "not in a zone")
    for r, spec in enumerate(BUILD_RECIPES):
        sel = rows[c.d.item[rows] == r]
        sel = _refuse_without(world, c, sel, spec.inputs)
        if len(sel):
            _use_recipe(world, c.d.agent[sel], spec)
            c.other[sel] = world.add_structures(spec, c.pos[sel], c.d.agent[sel], c.tick)


def _talk(world, c, rows):
    rows = _partners_in_range(world, c, rows)
    speakers, listeners = c.d.agent[rows], c.d.target[rows]
    world.hear(speakers, listeners, c.d.text[rows], c.tick)
    world.social.strengthen(speakers, listeners, 0.05)


def _give(world, c, rows):
    d, inv = c.d, world.economy.inventory
    rows = _partners_in_range(world, c, rows)
    rows = _refuse(c, rows, (d.item[rows] < 0) | (d.item[rows] >= len(ITEMS)) | ~(d.amount[rows] > 0), "no such target")
    rows = _refuse_lacking(world, c, rows, d.agent[rows], d.item[rows].astype(np.int64), d.amount[rows])
    # Several givers may give to one agent, and a giver may also receive: add.at keeps every transfer.
    giver, taker, item, amount = (
        d.agent[rows],
        d.target[rows],
        d.item[rows].astype(np.int64),
        d.amount[rows].astype(np.float32),
    )
    np.add.at(inv, (giver, item), -amount)
    np.add.at(inv, (taker, item), amount)
    world.social.strengthen(giver, taker, 0.3)


def _move_to(world, c, rows):
    d = c.d
    kind, tgt = d.target_kind[rows], d.target[rows]
    n_zones, n_ents = len(world.scene.zones), len(world.entity_pos)
    bad = ~(
        ((kind == ZONE_T) & (tgt >= 0) & (tgt < n_zones))
        | ((kind == ENTITY_T) & (tgt >= 0) & (tgt < n_ents))
        | ((kind == AGENT_T) & (tgt >= 0) & (tgt < world.n_agents) & (tgt != d.agent[rows]))
    )
    rows = _refuse(c, rows, bad, "no such target")
    kind, tgt = d.target_kind[rows], d.target[rows]
    dest = np.zeros((len(rows), 2), np.float32)
    there = np.zeros(len(rows), bool)
    z = kind == ZONE_T
    there[z] = c.zone[rows[z]] == tgt[z]
    for zone in np.unique(tgt[z & ~there]):
        sel = np.flatnonzero(z & ~there & (tgt == zone))
        dest[sel] = _clear_points(world, world.scene.zones[zone], len(sel))
    e = np.flatnonzero(kind == ENTITY_T)
    if len(e):
        epos, erad = world.entity_pos[tgt[e]], world.entity_radius[tgt[e]]
        away = c.pos[rows[e]] - epos
        dist = np.linalg.norm(away, axis=1)
        there[e] = dist - erad <= world.scene.engine.entity_reach
        unit = np.where(dist[:, None] > 1e-6, away / np.maximum(dist, 1e-6)[:, None], np.array([1.0, 0.0], np.float32))
        dest[e] = epos + unit * (erad + 0.8)[:, None]
    a = np.flatnonzero(kind == AGENT_T)
    if len(a):
        dest[a] = world.engine.read("pos", tgt[a])
        there[a] = np.linalg.norm(dest[a] - c.pos[rows[a]], axis=1) <= NEAR_AGENT
    rows_ok = _refuse(c, rows, there, "already there")
    keep = ~there
    w, h = world.scene.world.size
    dest = np.clip(dest[keep], 0.0, np.nextafter(np.float32([w, h]), np.float32(0)))
    world.start_walks(d.agent[rows_ok], dest)


def _gather(world, c, rows):
    eco, d = world.economy, c.d
    rows = _refuse(c, rows, (d.item[rows] < 0) | (d.item[rows] >= len(ITEMS)), "no such target")
    agents, item = d.agent[rows], d.item[rows].astype(np.int64)
    # A node of that item with stock within reach (the engine's perception), else the zone's pool.
    ent = world.engine.read("ent", agents)
    node = np.full(ent.shape, -1, np.int64)
    if len(eco.node_of_entity):
        node = np.where(ent >= 0, eco.node_of_entity[np.maximum(ent, 0)], -1)
    safe = np.maximum(node, 0)
    ok = (
        (node >= 0) & (eco.node_item[safe] == item[:, None]) & (eco.node_stock[safe] > 0)
        if len(eco.node_item)
        else node >= 0
    )
    has_node = ok.any(axis=1)
    chosen = np.where(has_node, node[np.arange(len(rows)), ok.argmax(axis=1)], -1)
    zone = c.zone[rows].astype(np.int64)
    in_pool = ~has_node & (zone >= 0)
    in_pool[in_pool] = eco.pool[zone[in_pool], item[in_pool]] > 0
    possible = has_node | in_pool
    _refuse(c, rows, ~possible, "nothing to gather here")
    rows, agents, item, zone, chosen, has_node = (a[possible] for a in (rows, agents, item, zone, chosen, has_node))
    # Sources: node k -> k; the pool of (zone, item) -> -(zone * items + item) - 1.
    source = np.where(has_node, chosen, -(zone * len(ITEMS) + item) - 1)
    want = np.float64(eco.options.gather_amount) * (1 + (eco.inventory[agents, TOOLS] >= 1))
    # Share each source out in agent order (rows are in agent order; the sort is stable).
    order = np.argsort(source, kind="stable")
    src, amt = source[order], want[order]
    start = np.ones(len(order), bool)
    start[1:] = src[1:] != src[:-1]
    cum = np.cumsum(amt)
    before = cum - amt - np.maximum.accumulate(np.where(start, cum - amt, 0.0))
    pool_key = np.maximum(-src - 1, 0)
    avail = np.where(
        src >= 0,
        eco.node_stock[np.maximum(src, 0)] if len(eco.node_stock) else 0.0,
        eco.pool[pool_key // len(ITEMS), pool_key % len(ITEMS)] if eco.pool.size else 0.0,
    )
    granted = np.empty(len(order))
    granted[order] = np.clip(avail - before, 0.0, amt)
    got = granted > 0
    np.add.at(eco.node_stock, source[got & has_node], -granted[got & has_node])
    pz = got & ~has_node
    np.add.at(eco.pool, (zone[pz], item[pz]), -granted[pz])
    np.add.at(eco.inventory, (agents[got], item[got]), granted[got].astype(np.float32))
    c.amount[rows] = granted
    c.other[rows] = np.where(has_node, eco.node_entity[np.maximum(chosen, 0)] if len(eco.node_entity) else -1, -1)
    _refuse(c, rows, ~got, "nothing to gather here")


def _trade(world, c, rows):
    eco, d = world.economy, c.d
    rows = _partners_in_range(world, c, rows)
    give, want = d.item[rows], d.item2[rows]
    bad = (
        (give < 0)
        | (give >= len(ITEMS))
        | (want < 0)
        | (want >= len(ITEMS))
        | (d.amount[rows] <= 0)
        | (d.amount2[rows] <= 0)
    )
    rows = _refuse(c, rows, bad, "no such target")
    # One deal at a time: a trade goes ahead only where both sides appear for the
    # first time this tick in agent order (as initiator or as partner), and the
    # partner is not still in a trade of its own. A partner busy with another
    # action (gathering, resting, waiting) stops to hand the goods over.
    seen = np.stack([d.agent[rows], d.target[rows]], 1).ravel()
    first = np.zeros(len(seen), bool)
    first[np.unique(seen, return_index=True)[1]] = True
    par = d.target[rows]
    trading = (world.busy_until[par] > c.tick) & (world.last_action[par] == ACTION_INDEX["trade"])
    clash = ~first.reshape(-1, 2).all(axis=1) | trading
    rows = _refuse(c, rows, clash, "partner busy")
    inv = eco.inventory
    rows = _refuse_lacking(world, c, rows, d.agent[rows], d.item[rows].astype(np.int64), d.amount[rows])
    rows = _refuse(c, rows, inv[d.target[rows], d.item2[rows]] < d.amount2[rows], "partner has not enough")
    ini, par = d.agent[rows], d.target[rows]
    give, want = d.item[rows].astype(np.int64), d.item2[rows].astype(np.int64)
    qg, qw = d.amount[rows].astype(np.float32), d.amount2[rows].astype(np.float32)
    accept = partner_accepts(world, par, give, qg, want, qw)
    _refuse(c, rows, ~accept, "partner refused")
    ini, par, give, want, qg, qw = (a[accept] for a in (ini, par, give, want, qg, qw))
    np.add.at(inv, (ini, give), -qg)
    np.add.at(inv, (par, give), qg)
    np.add.at(inv, (par, want), -qw)
    np.add.at(inv, (ini, want), qw)
    eco.record_trades(give, qg, want, qw)
    world.social.strengthen(ini, par, 0.2)


def _guess(world, c, rows):
    game = world.game
    if game is None:
        _refuse(c, rows, np.ones(len(rows), bool), "no round is open")
        return
    reasons = game.accept_guesses(c.d.agent[rows], c.d.amount[rows], c.tick)
    c.reason[rows] = np.where(c.reason[rows] == 0, reasons, c.reason[rows])


APPLY = {
    "idle": _idle,
    "move_to": _move_to,
    "gather": _gather,
    "craft": _craft,
    "trade": _trade,
    "talk": _talk,
    "build": _build,
    "give": _give,
    "eat": _eat,
    "rest": _rest,
    "guess": _guess,
}
