"""The rules brain: a utility policy over every deciding agent at once.

For each agent it scores a handful of intents (eat, forage, rest, gather wood
or stone, craft, build, talk, trade, help a hungry neighbour, explore, idle) from its needs, inventory,
traits, archetype and surroundings, adds seeded noise, takes the best feasible
one and turns it into an action of the world's table: do it here if it can be
done here, otherwise walk to where it can. Numpy throughout: the only Python
loops run over intents, items and zones, never over agents.

Personality shows: extraverts talk, conscientious agents gather, open ones
explore and build, agreeable ones trade and help, neurotic ones idle more; archetypes
weight the same intents (merchants trade, craftspeople craft, farmers farm for a
stock, ...).

Trading is worth what the deal at hand brings (`tokenworld.mind.offers`: buy what
one wants, sell what a neighbour wants, with what each can spare, at market
prices); with no deal at hand, one with goods and a reason to trade walks to the
nearest market (the stall standing in a zone of kind `market`, else the zone),
where merchants keep shop.
"""

from __future__ import annotations

import numpy as np

from tokenworld.mind.offers import Offers, best_offers, spare, wants
from tokenworld.scene.schema import ARCHETYPES
from tokenworld.world.actions import ACTION_INDEX as A
from tokenworld.world.decisions import SOURCES, TARGET_KINDS, Decisions
from tokenworld.world.items import BUILD_INDEX, CRAFT_INDEX, ITEM_INDEX, RECIPES

INTENTS = ("eat", "forage", "rest", "wood", "stone", "craft", "build", "talk", "trade", "help", "explore", "idle")
I = {name: i for i, name in enumerate(INTENTS)}  # noqa: E741
# Trait columns: openness, conscientiousness, extraversion, agreeableness, neuroticism (`TRAITS` order).
OPENNESS, C, E, AG, N = range(5)
FOOD, WOOD, STONE = (ITEM_INDEX[k] for k in ("food", "wood", "stone"))

# Archetype weights for: wood, stone, craft, build, trade, explore, forage.
_W = {
    "citizen": (1.0, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0),
    "farmer": (0.6, 0.3, 0.3, 0.5, 0.8, 0.4, 1.8),
    "merchant": (0.3, 0.3, 0.3, 0.3, 2.2, 0.8, 0.8),
    "craftsperson": (1.5, 1.5, 2.2, 1.0, 0.8, 0.4, 0.8),
    "leader": (0.5, 0.5, 0.5, 2.0, 1.2, 0.8, 0.8),
    "explorer": (0.8, 0.8, 0.5, 0.5, 0.6, 2.5, 1.0),
}
ARCH_W = np.array([_W[a] for a in ARCHETYPES], np.float32)

PHRASES = (
    "Good day to you!",
    "The harvest looks fine this year.",
    "Do you need any wood?",
    "Meet me at the market later.",
    "Have you seen the well lately?",
    "We should build more huts.",
    "I could use some stone.",
    "Fair trades make good neighbours.",
    "The forest is quiet today.",
    "How is your family?",
)
PHRASE_ARRAY = np.array(PHRASES, dtype=object)
NOISE = 0.15
NEEDS = [I["eat"], I["forage"], I["rest"]]
URGENT = 1.0  # a need whose utility beats a plan step's by this much comes first
HUT = RECIPES["hut"]
FARM_STOCK = 8.0  # food a farmer farms for (beyond its own meals: a stock to trade)
MARKET_SHARE = 0.8  # a walk to the market is worth this share of a deal at hand
TRADE_PARTNERS = 4  # the nearest neighbours one looks for a deal with
MARKET_GOODS = 2.0  # market value of spare goods worth carrying to the market


def trade_base(traits: np.ndarray, arch: np.ndarray) -> np.ndarray:
    """The taste for trading itself (merchants and agreeable agents), before what a deal brings."""
    return 0.3 * arch[:, 4] * (0.5 + 0.5 * traits[:, AG])


class RulesBrain:
    """Decides for many agents at once from their situation.

    Args:
        world: the `World` it decides in (read only, except its own random generator).
        rng: the brain's random generator (seeded by the simulation).
    """

    def __init__(self, world, rng: np.random.Generator):
        self.world = world
        self.rng = rng
        self.scene_changed()

    def scene_changed(self) -> None:
        """Read the world's zones and markets again (at the start, and after a live edit of the scene)."""
        from tokenworld.scene.geometry import zone_polygon

        zones = self.world.scene.zones
        self.zone_centre = np.array([zone_polygon(z).mean(axis=0) for z in zones], np.float32).reshape(-1, 2)
        self._find_markets()

    def decide(
        self, agents: np.ndarray, *, random_choice: np.ndarray | None = None, follow: np.ndarray | None = None
    ) -> Decisions:
        """One decision per agent in `agents` (ascending ids).

        Agents flagged in `random_choice` pick uniformly among their feasible
        intents instead of the best one (the `random` mind). `follow` gives an
        intent (column of INTENTS, -1 for none) per agent that it carries out
        when feasible: a language-model mind's plan step.
        """
        agents = np.asarray(agents, np.int32)
        m = len(agents)
        d = Decisions.empty(m)
        d.agent[:] = agents
        if m == 0:
            return d
        u, feasible, ctx = self.utilities(agents)
        inv, zone, nbr = ctx["inv"], ctx["zone"], ctx["nbr"]
        u += NOISE * self.rng.gumbel(size=u.shape).astype(np.float32)
        if random_choice is not None and random_choice.any():
            u[random_choice] = self.rng.random((int(random_choice.sum()), len(INTENTS)), dtype=np.float32)
        u[~feasible] = -np.inf
        intent = u.argmax(axis=1)
        d.source[:] = SOURCES.index("rules")
        if follow is not None:  # plan steps that can be done now are done (source `plan`), unless a need is pressing
            rows, step = np.arange(m), np.maximum(follow, 0)
            need = np.where(feasible[:, NEEDS], u[:, NEEDS], -np.inf).max(axis=1)
            ok = (follow >= 0) & feasible[rows, step] & ~(need > u[rows, step] + URGENT)
            intent[ok] = follow[ok]
            d.source[ok] = SOURCES.index("plan")
        if random_choice is not None:
            d.source[random_choice] = SOURCES.index("random")
        self._fill(d, intent, agents, inv, zone, nbr, ctx["offers"])
        return d

    def utilities(self, agents: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        """Noise-free utility and feasibility of every intent (columns of INTENTS) for `agents`.

        Also returns what was read on the way (inventory, zone, nearest neighbour) for reuse.
        """
        w, eco = self.world, self.world.economy
        m = len(agents)
        inv = eco.inventory[agents]
        hunger, energy = eco.hunger[agents], eco.energy[agents]
        traits = w.agents.traits[agents]
        arch = ARCH_W[w.agents.archetype[agents]]
        zone = w.engine.read("zone", agents)
        near = w.engine.read("nbr", agents)
        nbr = near[:, 0]
        has_nbr = nbr >= 0
        want = wants(inv, hunger, traits, arch)
        offers = best_offers(w, agents, near[:, :TRADE_PARTNERS], want, ARCH_W)
        market, far_from_market = self._market_trip(agents, inv, want, arch, zone)
        u = np.empty((m, len(INTENTS)), np.float32)
        u[:, I["eat"]] = 3.0 * hunger**2 + 0.5 * hunger
        # Everyone forages when short of food; farmers also farm for a stock to trade.
        farming = traits[:, C] * np.maximum(arch[:, 6] - 1.0, 0.0) * (inv[:, FOOD] < FARM_STOCK)
        u[:, I["forage"]] = (2.5 * hunger + 0.3 * arch[:, 6]) * (inv[:, FOOD] < 2) + farming
        u[:, I["rest"]] = 3.0 * (1.0 - energy) ** 2
        u[:, I["wood"]] = 0.6 * traits[:, C] * arch[:, 0] * (inv[:, WOOD] < 10)
        u[:, I["stone"]] = 0.5 * traits[:, C] * arch[:, 1] * (inv[:, STONE] < 6)
        u[:, I["craft"]] = 0.8 * traits[:, C] * arch[:, 2]
        u[:, I["build"]] = 0.9 * traits[:, OPENNESS] * arch[:, 3]
        u[:, I["talk"]] = 0.7 * traits[:, E] + 0.2 * traits[:, AG]
        # Trade: a deal with a neighbour, valued by how much one wants what it asks for;
        # without one, a walk to the market stall, worth less.
        base = trade_base(traits, arch)
        u[:, I["trade"]] = np.where(offers.ok, base + offers.strength, MARKET_SHARE * (base + market))
        nbr_hunger = np.where(has_nbr, eco.hunger[np.maximum(nbr, 0)], 0.0)
        u[:, I["help"]] = 1.5 * traits[:, AG] * nbr_hunger
        u[:, I["explore"]] = 0.5 * traits[:, OPENNESS] * arch[:, 5]
        u[:, I["idle"]] = 0.2 + 0.3 * traits[:, N]
        shop = np.maximum(arch[:, 4] - 1.0, 0.0) * ((market > 0) & ~far_from_market)
        u[:, I["idle"]] += 0.5 * shop  # merchants with goods keep shop at the market, waiting for customers
        feasible = np.ones_like(u, bool)
        feasible[:, I["eat"]] = inv[:, FOOD] >= 1
        feasible[:, I["craft"]] = (inv[:, WOOD] >= 2) & (inv[:, STONE] >= 1)
        feasible[:, I["build"]] = (
            (inv[:, WOOD] >= HUT.inputs["wood"]) & (inv[:, STONE] >= HUT.inputs["stone"]) & (zone >= 0)
        )
        feasible[:, I["talk"]] = has_nbr
        feasible[:, I["trade"]] = offers.ok | ((market > 0) & far_from_market)
        feasible[:, I["help"]] = has_nbr & (inv[:, FOOD] >= 2) & (nbr_hunger > 0.5)
        feasible[:, I["explore"]] = len(w.scene.zones) > 0
        return u, feasible, {"inv": inv, "zone": zone, "nbr": nbr, "offers": offers}

    # ----------------------------------------------------------------

    def _fill(self, d: Decisions, intent, agents, inv, zone, nbr, offers: Offers) -> None:
        simple = {"eat": "eat", "rest": "rest", "idle": "idle"}
        for name, action in simple.items():
            d.action[intent == I[name]] = A[action]
        self._gather_or_go(d, intent == I["forage"], FOOD, agents, zone)
        self._gather_or_go(d, intent == I["wood"], WOOD, agents, zone)
        self._gather_or_go(d, intent == I["stone"], STONE, agents, zone)
        sel = intent == I["craft"]
        d.action[sel], d.item[sel] = A["craft"], CRAFT_INDEX["tools"]
        sel = intent == I["build"]
        d.action[sel], d.item[sel] = A["build"], BUILD_INDEX["hut"]
        sel = np.flatnonzero(intent == I["talk"])
        d.action[sel], d.target_kind[sel], d.target[sel] = A["talk"], TARGET_KINDS.index("agent"), nbr[sel]
        d.text[sel] = PHRASE_ARRAY[self.rng.integers(0, len(PHRASES), len(sel))]
        self._trade(d, np.flatnonzero(intent == I["trade"]), agents, offers)
        sel = np.flatnonzero(intent == I["help"])  # give a hungry neighbour one food
        d.action[sel], d.target_kind[sel], d.target[sel] = A["give"], TARGET_KINDS.index("agent"), nbr[sel]
        d.item[sel], d.amount[sel] = FOOD, 1.0
        sel = np.flatnonzero(intent == I["explore"])
        nz = len(self.world.scene.zones)
        if len(sel) and nz:
            dest = self.rng.integers(0, nz, len(sel))
            dest = np.where(dest == zone[sel], (dest + 1) % nz, dest) if nz > 1 else dest
            d.action[sel], d.target_kind[sel], d.target[sel] = A["move_to"], TARGET_KINDS.index("zone"), dest

    def _gather_or_go(self, d: Decisions, sel: np.ndarray, item: int, agents, zone) -> None:
        """Gather `item` where it can be had here; otherwise walk to the nearest zone (or node) that has it."""
        sel = np.flatnonzero(sel)
        if not len(sel):
            return
        eco, w = self.world.economy, self.world
        here = np.zeros(len(sel), bool)
        z = zone[sel]
        if eco.pool.size:
            here |= (z >= 0) & (eco.pool[np.maximum(z, 0), item] > 0)
        if len(eco.node_entity):
            ent = w.engine.read("ent", agents[sel])
            node = np.where(ent >= 0, eco.node_of_entity[np.maximum(ent, 0)], -1)
            safe = np.maximum(node, 0)
            here |= ((node >= 0) & (eco.node_item[safe] == item) & (eco.node_stock[safe] > 0)).any(axis=1)
        g = sel[here]
        d.action[g], d.item[g] = A["gather"], item
        go = sel[~here]
        if not len(go):
            return
        pools = np.flatnonzero(eco.pool[:, item] > 0) if eco.pool.size else np.zeros(0, np.int64)
        if len(pools):
            pos = w.engine.read("pos", agents[go])
            dist = np.linalg.norm(pos[:, None, :] - self.zone_centre[pools][None, :, :], axis=2)
            d.action[go], d.target_kind[go] = A["move_to"], TARGET_KINDS.index("zone")
            d.target[go] = pools[dist.argmin(axis=1)]
            return
        nodes = np.flatnonzero((eco.node_item == item) & (eco.node_stock > 0)) if len(eco.node_item) else np.zeros(0)
        if len(nodes):
            d.action[go], d.target_kind[go] = A["move_to"], TARGET_KINDS.index("entity")
            d.target[go] = eco.node_entity[nodes[self.rng.integers(0, len(nodes), len(go))]]
        else:
            d.action[go] = A["idle"]

    def _trade(self, d: Decisions, sel: np.ndarray, agents, offers: Offers) -> None:
        """The deal at hand (see `tokenworld.mind.offers`), or else a walk to the nearest market."""
        if not len(sel):
            return
        deal = sel[offers.ok[sel]]
        d.action[deal], d.target_kind[deal] = A["trade"], TARGET_KINDS.index("agent")
        d.target[deal] = offers.partner[deal]
        d.item[deal], d.amount[deal] = offers.give[deal], offers.give_amount[deal]
        d.item2[deal], d.amount2[deal] = offers.want[deal], offers.want_amount[deal]
        go = sel[~offers.ok[sel]]
        if len(go):
            k = self._nearest_market(agents[go])
            d.action[go], d.target_kind[go], d.target[go] = A["move_to"], self.market_kind[k], self.market_target[k]

    def _find_markets(self) -> None:
        """Where traders meet: the first entity standing in each zone of kind `market` (a stall), or the zone."""
        from tokenworld.scene.geometry import points_in_zone

        w = self.world
        kinds, targets, pos = [], [], []
        scene_entities = w.entity_pos[: len(w.scene.entities)]  # built structures never make a market
        for z, zone in enumerate(w.scene.zones):
            if zone.kind != "market":
                continue
            inside = np.flatnonzero(points_in_zone(scene_entities, zone)) if len(scene_entities) else []
            if len(inside):
                kinds.append(TARGET_KINDS.index("entity"))
                targets.append(int(inside[0]))
                pos.append(w.entity_pos[inside[0]])
            else:
                kinds.append(TARGET_KINDS.index("zone"))
                targets.append(z)
                pos.append(self.zone_centre[z])
        self.market_kind = np.array(kinds, np.int8)
        self.market_target = np.array(targets, np.int32)
        self.market_pos = np.array(pos, np.float32).reshape(-1, 2)

    def market_walks(self, agents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For menus: whether each agent has a reason to walk to a market to trade and stands away from
        every one, the nearest market (target kind, target) and the walk's utility."""
        w, eco = self.world, self.world.economy
        agents = np.asarray(agents, np.int32)
        inv, traits = eco.inventory[agents], w.agents.traits[agents]
        arch = ARCH_W[w.agents.archetype[agents]]
        want = wants(inv, eco.hunger[agents], traits, arch)
        reason, away = self._market_trip(agents, inv, want, arch, w.engine.read("zone", agents))
        kind, target = np.full(len(agents), -1, np.int8), np.full(len(agents), -1, np.int32)
        if len(self.market_pos):
            k = self._nearest_market(agents)
            kind, target = self.market_kind[k], self.market_target[k]
        return (reason > 0) & away, kind, target, MARKET_SHARE * (trade_base(traits, arch) + reason)

    def _nearest_market(self, agents: np.ndarray) -> np.ndarray:
        pos = self.world.engine.read("pos", agents)
        return np.linalg.norm(pos[:, None, :] - self.market_pos[None, :, :], axis=2).argmin(axis=1)

    def _market_trip(self, agents, inv, want, arch, zone) -> tuple[np.ndarray, np.ndarray]:
        """Why each agent would walk to a market (0: no reason) and whether it stands away from every one.

        One goes with spare goods worth carrying (`MARKET_GOODS`) and something it wants,
        or goods enough to be worth selling; a merchant goes whenever it has goods, the
        market being where it works.
        """
        m = len(agents)
        if not len(self.market_pos):
            return np.zeros(m, np.float32), np.zeros(m, bool)
        w = self.world
        value = (spare(inv) * np.exp(w.economy.log_price)).sum(axis=1)
        merchant = 0.3 * np.maximum(arch[:, 4] - 1.0, 0.0)
        motive = np.maximum.reduce([want.max(axis=1), merchant, np.minimum(0.08 * value, 0.6)])
        reason = (value >= MARKET_GOODS) * motive
        pos = w.engine.read("pos", agents)
        away = np.ones(m, bool)
        for k in range(len(self.market_pos)):  # a handful of markets
            if self.market_kind[k] == TARGET_KINDS.index("entity"):
                t = self.market_target[k]
                gap = np.linalg.norm(pos - w.entity_pos[t], axis=1) - w.entity_radius[t]
                away &= gap > w.scene.engine.entity_reach
            else:
                away &= zone != self.market_target[k]
        return reason.astype(np.float32), away
