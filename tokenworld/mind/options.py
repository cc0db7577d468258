"""Each agent's feasible options: what a language model may choose from.

A model only ever sees choices that pass their action's preconditions and
change something: no walking to the zone it stands in, no gathering what is not
within reach, no talking to nobody, no eating without food. Each option is a
label in the grammar's syntax (`tokenworld.mind.grammar`) and a ready decision
row, plus the rules brain's utility for it (the `rules` backend's choice and a
tie-breaker). Menus are built only for the agents deciding this tick (at most
`mind.max_decisions_per_tick`), from arrays read once for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenworld.mind.grammar import format_amount, label
from tokenworld.mind.offers import best_offers, wants_of
from tokenworld.mind.personas import agent_name
from tokenworld.mind.rules_brain import ARCH_W, RulesBrain, trade_base
from tokenworld.mind.rules_brain import I as INTENT
from tokenworld.scene.schema import ITEMS
from tokenworld.world.actions import ACTION_INDEX as A
from tokenworld.world.decisions import TARGET_KINDS, Decisions
from tokenworld.world.items import BUILD_RECIPES, CRAFT_RECIPES, ITEM_INDEX

MAX_TALK = 2  # neighbours one may talk to
MAX_ZONES = 2  # zones one may walk to (those with resources first, the nearest first)
MAX_TRADES = 2  # deals one is offered (the most wanted, with different partners)
MAX_OPTIONS = 9  # the most an agent is offered (the best by the rules brain's utility, in menu order)
FOOD, WOOD, STONE, TOOLS = (ITEM_INDEX[k] for k in ("food", "wood", "stone", "tools"))
ZONE, ENTITY, AGENT = TARGET_KINDS.index("zone"), TARGET_KINDS.index("entity"), TARGET_KINDS.index("agent")
GATHER_INTENT = {FOOD: INTENT["forage"], WOOD: INTENT["wood"], STONE: INTENT["stone"]}


@dataclass
class Menu:
    """One agent's options: labels, whether each takes a spoken line, decision rows, rules utilities."""

    agent: int
    labels: list[str]
    talk: list[bool]
    rows: Decisions
    prior: np.ndarray  # float32
    zone: int = -1  # where the agent stands (read with everything else; prompts reuse it)
    near: tuple[int, ...] = ()  # its nearest neighbours, nearest first

    def by_action(self) -> "Menu":
        """The best option of each action (the highest prior, the first of equals), in menu order: in number
        style a decision answers with its action's number, and the option's target follows the rules brain."""
        best: dict[int, int] = {}
        for i, a in enumerate(self.rows.action.tolist()):
            if a not in best or self.prior[i] > self.prior[best[a]]:
                best[a] = i
        keep = sorted(best.values())
        if len(keep) == len(self.labels):
            return self
        return Menu(
            self.agent,
            [self.labels[i] for i in keep],
            [self.talk[i] for i in keep],
            self.rows.take(keep),
            self.prior[keep],
            self.zone,
            self.near,
        )

    def decision(self, choice: int, say: str = "") -> Decisions:
        """The decision row of option `choice`, with the spoken line for talk."""
        d = self.rows.take([choice])
        if self.talk[choice]:
            d.text[0] = say
        return d


class MenuBuilder:
    """Builds menus for agents of one world (reads, never writes, the world)."""

    def __init__(self, world, brain: RulesBrain):
        self.world = world
        self.brain = brain

    @property
    def zone_names(self) -> list[str]:
        return [z.name for z in self.world.scene.zones]

    def build(self, agents: np.ndarray, wanted: dict[int, list[int]] | None = None) -> list[Menu]:
        """One menu per agent in `agents` (ids); `wanted`: per agent, zones it heard of (news, an announced
        event), offered as places to walk to beside the usual ones."""
        w = self.world
        agents = np.asarray(agents, np.int32)
        if not len(agents):
            return []
        eco = w.economy
        u, _, ctx = self.brain.utilities(agents)
        inv, zone = ctx["inv"], ctx["zone"]
        hunger, energy = eco.hunger[agents], eco.energy[agents]
        perceived = w.engine.read("nbr", agents)  # every neighbour in perception range, nearest first
        nearest = perceived[:, :3]
        walks = self.brain.market_walks(agents)  # where each would walk to trade when no deal is at hand
        nbrs = nearest[:, :MAX_TALK]
        pos = w.engine.read("pos", agents)
        here = self._gatherable(agents, zone)
        centres = self.brain.zone_centre
        pool_any = eco.pool.sum(axis=1) > 0 if eco.pool.size else np.zeros(len(self.zone_names), bool)
        menus = []
        for r, a in enumerate(agents.tolist()):
            opts: list[tuple] = []  # (label, talk, prior, action, target_kind, target, item, amount, item2, amount2)
            ur = u[r]
            if inv[r, FOOD] >= 1 and hunger[r] >= 0.1:
                opts.append(("eat", False, ur[INTENT["eat"]], A["eat"], 0, -1, -1, 0, -1, 0))
            if energy[r] < 0.9:
                opts.append(("rest", False, ur[INTENT["rest"]], A["rest"], 0, -1, -1, 0, -1, 0))
            for item in np.flatnonzero(here[r]).tolist():
                prior = ur[GATHER_INTENT.get(item, INTENT["idle"])]
                opts.append((label("gather", ITEMS[item]), False, prior, A["gather"], 0, -1, item, 0, -1, 0))
            for k, rec in enumerate(CRAFT_RECIPES):
                if all(inv[r, ITEM_INDEX[i]] >= q for i, q in rec.inputs.items()):
                    opts.append((label("craft", rec.name), False, ur[INTENT["craft"]], A["craft"], 0, -1, k, 0, -1, 0))
            if zone[r] >= 0:
                for k, rec in enumerate(BUILD_RECIPES):
                    if all(inv[r, ITEM_INDEX[i]] >= q for i, q in rec.inputs.items()):
                        opts.append(
                            (label("build", rec.name), False, ur[INTENT["build"]], A["build"], 0, -1, k, 0, -1, 0)
                        )
            near = [int(b) for b in nbrs[r] if b >= 0]
            for b in near:
                opts.append((label("talk", agent_name(b)), True, ur[INTENT["talk"]], A["talk"], AGENT, b, -1, 0, -1, 0))
            opts.extend(self._exchanges(a, near, perceived[r], tuple(x[r] for x in walks), ur))
            heard_of = [z for z in (wanted or {}).get(a, []) if z != zone[r]][:1]
            for z in sorted(
                set(self._zones(pos[r], zone[r], centres, pool_any, MAX_ZONES - len(heard_of))) | set(heard_of)
            ):
                prior = 0.9 * max(ur[INTENT["explore"]], self._zone_prior(z, ur, eco))
                if z in heard_of:  # news draws people: as worth it as talking
                    prior = max(prior, float(ur[INTENT["talk"]]))
                opts.append((label("move_to", self.zone_names[z]), False, prior, A["move_to"], ZONE, z, -1, 0, -1, 0))
            if not opts:  # nothing else is possible: waiting is the one honest option
                opts.append(("idle", False, ur[INTENT["idle"]], A["idle"], 0, -1, -1, 0, -1, 0))
            menu = self._menu(a, opts)
            menu.zone, menu.near = int(zone[r]), tuple(int(b) for b in nearest[r] if b >= 0)
            menus.append(menu)
        return menus

    # ------------------------------------------------------------------

    def _gatherable(self, agents: np.ndarray, zone: np.ndarray) -> np.ndarray:
        """(m, items) mask: what each agent could gather where it stands."""
        w, eco = self.world, self.world.economy
        here = np.zeros((len(agents), len(ITEMS)), bool)
        if eco.pool.size:
            here |= (zone[:, None] >= 0) & (eco.pool[np.maximum(zone, 0)] > 0)
        if len(eco.node_entity):
            ent = w.engine.read("ent", agents)
            node = np.where(ent >= 0, eco.node_of_entity[np.maximum(ent, 0)], -1)
            safe = np.maximum(node, 0)
            stocked = (node >= 0) & (eco.node_stock[safe] > 0)
            for item in range(len(ITEMS)):
                here[:, item] |= (stocked & (eco.node_item[safe] == item)).any(axis=1)
        here[:, TOOLS] = False  # tools are made, not gathered
        return here

    def _zones(
        self, pos: np.ndarray, zone: int, centres: np.ndarray, pool_any: np.ndarray, count: int = MAX_ZONES
    ) -> list[int]:
        """Up to `count` zones worth walking to: those with resources and the nearest others, never the current one."""
        if not len(centres) or count <= 0:
            return []
        d = np.linalg.norm(centres - pos[None, :], axis=1)
        order = np.argsort(d, kind="stable")
        picked = [int(z) for z in order if z != zone and pool_any[z]][:count]
        for z in order.tolist():
            if len(picked) >= count:
                break
            if z != zone and z not in picked:
                picked.append(z)
        return sorted(picked)

    def _zone_prior(self, z: int, ur: np.ndarray, eco) -> float:
        if not eco.pool.size:
            return 0.0
        best = 0.0
        for item, intent in GATHER_INTENT.items():
            if eco.pool[z, item] > 0:
                best = max(best, float(ur[intent]))
        return best

    def _exchanges(
        self, agent: int, near: list[int], perceived: np.ndarray, walk: tuple, ur: np.ndarray
    ) -> list[tuple]:
        """Trades and help. The best deal with each perceived agent (`tokenworld.mind.offers`: something
        one can spare for something one wants and the partner can spare, at market prices, one the partner
        accepts), the `MAX_TRADES` most wanted; without any, a walk to the market when the rules brain would
        go there to trade (`walk`: the agent's row of `RulesBrain.market_walks`); one food for a hungry nearest
        neighbour."""
        w, out = self.world, []
        eco, one = w.economy, np.array([agent], np.int32)
        around = perceived[perceived >= 0].astype(np.int64)
        agents = np.full(len(around), agent, np.int64)
        offers = best_offers(w, agents, around[:, None], wants_of(w, agents, ARCH_W), ARCH_W)
        base = float(trade_base(w.agents.traits[one], ARCH_W[w.agents.archetype[one]])[0])
        deals = np.flatnonzero(offers.ok)
        for j in deals[np.argsort(-offers.strength[deals], kind="stable")][:MAX_TRADES].tolist():
            partner, give, want = int(around[j]), int(offers.give[j]), int(offers.want[j])
            qg, qw = float(offers.give_amount[j]), float(offers.want_amount[j])
            text = label("trade", agent_name(partner), ITEMS[give], format_amount(qg), ITEMS[want], format_amount(qw))
            out.append((text, False, base + offers.strength[j], A["trade"], AGENT, partner, give, qg, want, qw))
        go, kind, target, prior = walk
        if not len(deals) and go and kind == ENTITY:  # a stall (walking to a market zone is among the zones offered)
            out.append(
                (label("move_to", w.entity_name[target]), False, prior, A["move_to"], ENTITY, int(target), -1, 0, -1, 0)
            )
        if near and eco.inventory[agent, FOOD] >= 2 and eco.hunger[near[0]] > 0.5:
            text = label("give", agent_name(near[0]), "food", "1")
            out.append((text, False, ur[INTENT["help"]], A["give"], AGENT, near[0], FOOD, 1.0, -1, 0))
        return out

    @staticmethod
    def _menu(agent: int, opts: list[tuple]) -> Menu:
        if len(opts) > MAX_OPTIONS:
            best = sorted(np.argsort([-o[2] for o in opts], kind="stable")[:MAX_OPTIONS].tolist())
            opts = [opts[i] for i in best]
        m = len(opts)
        rows = Decisions.empty(m)
        rows.agent[:] = agent
        cols = list(zip(*opts, strict=False))
        rows.action[:], rows.target_kind[:], rows.target[:] = cols[3], cols[4], cols[5]
        rows.item[:], rows.amount[:], rows.item2[:], rows.amount2[:] = cols[6], cols[7], cols[8], cols[9]
        return Menu(agent, list(cols[0]), list(cols[1]), rows, np.asarray(cols[2], np.float32))
