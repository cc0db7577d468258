"""Needs, inventories, resource stocks and prices, as arrays.

Conservation: items enter the world only by regeneration of stocks and by
recipe outputs, and leave it only as recipe inputs (eating included).
Gathering and trading move them. `ledger` counts every entry and exit per item,
so `totals() - initial == regenerated + produced - consumed` holds exactly up
to float rounding.
"""

from __future__ import annotations

import numpy as np

from tokenworld.scene.schema import ITEMS, Scene
from tokenworld.world.agents import AgentTable
from tokenworld.world.items import BASE_PRICE, ITEM_INDEX

ZONE_REGEN_SHARE = 0.002  # of a pool's starting size, per second


def zone_pools(zones: list) -> np.ndarray:
    """(zones, items) starting resource pools of `zones`."""
    pool = np.zeros((len(zones), len(ITEMS)), np.float64)
    for z, zone in enumerate(zones):
        for item, amount in zone.resources.items():
            pool[z, ITEM_INDEX[item]] = amount
    return pool


def node_capacity(entities: list) -> np.ndarray:
    """(nodes,) maximum stock of each resource node of `entities` (those of kind "resource", in order):
    `properties["max_stock"]`, else the starting `stock`."""
    return np.array(
        [
            float(e.properties.get("max_stock", e.properties.get("stock", 0.0)))
            for e in entities
            if e.kind == "resource"
        ],
        np.float64,
    )


def starting_nodes(entities: list) -> tuple[np.ndarray, np.ndarray]:
    """The resource nodes of `entities` as a scene starts them: (nodes,) starting stocks, and (entities,) int32
    node row of each entity (-1: no node)."""
    rows = [i for i, e in enumerate(entities) if e.kind == "resource"]
    stock = np.array([float(entities[i].properties.get("stock", 0.0)) for i in rows], np.float64)
    node_of_entity = np.full(len(entities), -1, np.int32)
    node_of_entity[rows] = np.arange(len(rows), dtype=np.int32)
    return stock, node_of_entity


def entity_stock_fraction(
    node_stock: np.ndarray, node_max: np.ndarray, node_of_entity: np.ndarray, m: int
) -> np.ndarray:
    """(m,) float32: each entity's resource stock as a fraction of its maximum, in [0, 1].

    Entities that are no resource nodes (buildings, built structures, rows past `node_of_entity`) read 1.0;
    a node whose maximum is 0 reads 1.0 while it holds anything, else 0.0.
    """
    out = np.ones(m, np.float32)
    node = np.asarray(node_of_entity[:m], np.int64)
    rows = np.flatnonzero(node >= 0)
    if len(rows):
        stock, top = node_stock[node[rows]], node_max[node[rows]]
        safe = np.where(top > 0, top, 1.0)
        out[rows] = np.where(top > 0, np.clip(stock / safe, 0.0, 1.0), (stock > 0).astype(np.float64))
    return out


def zone_stock_fraction(pool: np.ndarray, pool_max: np.ndarray) -> np.ndarray:
    """(zones,) float32: what remains of each zone's pools as a fraction of what the scene gave it (sum over its
    items of remaining / sum of initial), in [0, 1]; 1.0 for zones without resources."""
    left, full = pool.sum(axis=1), pool_max.sum(axis=1)
    return np.where(full > 0, np.clip(left / np.where(full > 0, full, 1.0), 0.0, 1.0), 1.0).astype(np.float32)


class Economy:
    """Per-agent needs and inventories, resource nodes, zone pools and market prices."""

    def __init__(self, scene: Scene, agents: AgentTable, rng: np.random.Generator):
        n, ni = agents.n, len(ITEMS)
        self.options = scene.economy
        self.inventory = np.zeros((n, ni), np.float32)
        self._starting_inventory(scene, agents, 0)
        self.hunger = rng.uniform(0.0, 0.3, n).astype(np.float32)
        self.energy = rng.uniform(0.7, 1.0, n).astype(np.float32)
        self._set_node_table(scene.entities, 0)
        self.pool = zone_pools(scene.zones)
        self.pool_max = self.pool.copy()
        self.log_price = np.log(np.array([BASE_PRICE[i] for i in ITEMS], np.float64))
        self.trade_volume = np.zeros(ni, np.float64)  # this tick
        self.ledger = {k: np.zeros(ni, np.float64) for k in ("regenerated", "produced", "consumed")}

    def _starting_inventory(self, scene: Scene, agents: AgentTable, first: int) -> None:
        """What each group's agents carry at the start, for the agents from row `first` on."""
        for g_index, g in enumerate(scene.groups):
            rows = first + np.flatnonzero(agents.group == g_index)
            for item, amount in g.inventory.items():
                self.inventory[rows, ITEM_INDEX[item]] = amount

    def _set_node_table(self, entities: list, built: int) -> None:
        """Resource nodes (entities of kind "resource") at their starting stocks; `built` structures follow the
        scene's entities and are no nodes."""
        nodes = [(i, e) for i, e in enumerate(entities) if e.kind == "resource"]
        self.node_entity = np.array([i for i, _ in nodes], np.int32)
        self.node_item = np.array([ITEM_INDEX[e.properties["resource"]] for _, e in nodes], np.int16)
        self.node_stock = starting_nodes(entities)[0]
        self.node_max = node_capacity(entities)
        self.node_regen = np.array([float(e.properties.get("regen", 0.0)) for _, e in nodes], np.float64)
        self.node_of_entity = np.full(len(entities) + built, -1, np.int32)
        self.node_of_entity[self.node_entity] = np.arange(len(nodes), dtype=np.int32)

    # ------------------------------------------------------------ live edits

    def grow(self, scene: Scene, more: AgentTable, first: int, rng: np.random.Generator) -> None:
        """`more` agents join at rows `first` on, with their groups' inventories and fresh needs."""
        n, k = first + more.n, more.n
        inventory = np.zeros((n, len(ITEMS)), np.float32)
        inventory[:first] = self.inventory
        self.inventory = inventory
        self._starting_inventory(scene, more, first)
        self.ledger["regenerated"] += self.inventory[first:].sum(axis=0, dtype=np.float64)  # it enters the world
        self.hunger = np.concatenate([self.hunger, rng.uniform(0.0, 0.3, k).astype(np.float32)])
        self.energy = np.concatenate([self.energy, rng.uniform(0.7, 1.0, k).astype(np.float32)])

    def set_nodes(self, old: list, new: list, moved: np.ndarray, built: int) -> None:
        """The scene's entities changed from `old` to `new` (`moved`: old row -> new row, -1 removed): the node
        table is rebuilt; a node that stays keeps its stock (capped by its new maximum) unless its resource or
        starting stock was edited. What a removed node held leaves the world (counted as consumed)."""
        stock, item = self.node_stock, self.node_item
        old_node = self.node_of_entity[: len(old)]
        self._set_node_table(new, built)
        for i in np.flatnonzero(old_node >= 0).tolist():
            j = int(moved[i])
            was = old[i].properties
            node = self.node_of_entity[j] if j >= 0 else -1
            if (
                node >= 0
                and new[j].properties.get("resource") == was.get("resource")
                and new[j].properties.get("stock") == was.get("stock")
            ):
                self.node_stock[node] = min(stock[old_node[i]], self.node_max[node])
            else:
                self.ledger["consumed"][item[old_node[i]]] += stock[old_node[i]]
                if node >= 0:
                    self.ledger["regenerated"][self.node_item[node]] += self.node_stock[node]
        were_nodes = set(moved[old_node >= 0].tolist())
        for j in np.flatnonzero(self.node_of_entity[: len(new)] >= 0).tolist():
            if j not in were_nodes:  # a new node: its stock enters the world
                node = self.node_of_entity[j]
                self.ledger["regenerated"][self.node_item[node]] += self.node_stock[node]

    def set_zones(self, old: list, new: list, moved: np.ndarray) -> None:
        """The zones changed from `old` to `new` (`moved`: old index -> new index, -1 removed): a zone that stays
        with the same resources keeps its pools; the others start from their resources (entering or leaving
        the world through the ledger, so conservation still holds)."""
        pool = zone_pools(new)
        pool_max = pool.copy()
        kept = np.zeros(len(new), bool)
        for i, j in enumerate(moved.tolist()):
            if j >= 0 and new[j].resources == old[i].resources:
                pool[j], pool_max[j], kept[j] = self.pool[i], self.pool_max[i], True
            else:
                self.ledger["consumed"] += self.pool[i]
        self.ledger["regenerated"] += pool[~kept].sum(axis=0)
        self.pool, self.pool_max = pool, pool_max

    # ------------------------------------------------------------ queries

    def totals(self) -> np.ndarray:
        """Every item in the world: inventories, node stocks and zone pools."""
        out = self.inventory.sum(axis=0, dtype=np.float64) + self.pool.sum(axis=0)
        np.add.at(out, self.node_item.astype(np.int64), self.node_stock)
        return out

    def entity_stock(self, m: int) -> np.ndarray:
        """(m,) float32 stock fraction of each of the world's `m` entities (see `entity_stock_fraction`)."""
        return entity_stock_fraction(self.node_stock, self.node_max, self.node_of_entity, m)

    def zone_stock(self) -> np.ndarray:
        """(zones,) float32 remaining fraction of each zone's pools (see `zone_stock_fraction`)."""
        return zone_stock_fraction(self.pool, self.pool_max)

    def prices(self) -> dict[str, float]:
        """Market price of each item (food = 1)."""
        p = np.exp(self.log_price - self.log_price[ITEM_INDEX["food"]])
        return {item: round(float(v), 4) for item, v in zip(ITEMS, p, strict=False)}

    # ------------------------------------------------------------ updates

    def update_needs(self, seconds: float, walking: np.ndarray) -> None:
        """Hunger grows and energy drains with time; walking drains faster."""
        o = self.options
        self.hunger += np.float32(o.hunger_rate * seconds)
        np.minimum(self.hunger, 1.0, out=self.hunger)
        drain = np.where(walking, o.energy_rate * o.walk_energy_factor, o.energy_rate).astype(np.float32) * np.float32(
            seconds
        )
        self.energy -= drain
        np.maximum(self.energy, 0.0, out=self.energy)

    def regenerate(self, seconds: float) -> None:
        """Nodes and pools grow back towards their starting size."""
        grown = (
            np.minimum(self.node_stock + self.node_regen * seconds, np.maximum(self.node_max, self.node_stock))
            - self.node_stock
        )
        self.node_stock += grown
        np.add.at(self.ledger["regenerated"], self.node_item.astype(np.int64), grown)
        pool_grown = np.minimum(self.pool + self.pool_max * ZONE_REGEN_SHARE * seconds, self.pool_max)
        pool_grown = np.maximum(pool_grown - self.pool, 0.0)
        self.pool += pool_grown
        self.ledger["regenerated"] += pool_grown.sum(axis=0)

    def record_trades(
        self, give: np.ndarray, give_amount: np.ndarray, want: np.ndarray, want_amount: np.ndarray
    ) -> None:
        """Move log prices towards the exchange ratios of this tick's trades."""
        w = self.options.price_memory
        for a, qa, b, qb in zip(give, give_amount, want, want_amount, strict=False):  # per trade, trades are few
            if a == b or qa <= 0 or qb <= 0:
                continue
            # The trade says price[a] * qa == price[b] * qb.
            gap = np.log(qb / qa) - (self.log_price[a] - self.log_price[b])
            self.log_price[a] += w * gap / 2
            self.log_price[b] -= w * gap / 2
            self.trade_volume[a] += qa
            self.trade_volume[b] += qb
