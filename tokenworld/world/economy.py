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


class Economy:
    """Per-agent needs and inventories, resource nodes, zone pools and market prices."""

    def __init__(self, scene: Scene, agents: AgentTable, rng: np.random.Generator):
        n, ni = agents.n, len(ITEMS)
        self.options = scene.economy
        self.inventory = np.zeros((n, ni), np.float32)
        for g_index, g in enumerate(scene.groups):
            rows = agents.group == g_index
            for item, amount in g.inventory.items():
                self.inventory[rows, ITEM_INDEX[item]] = amount
        self.hunger = rng.uniform(0.0, 0.3, n).astype(np.float32)
        self.energy = rng.uniform(0.7, 1.0, n).astype(np.float32)
        # Resource nodes: entities of kind "resource".
        nodes = [(i, e) for i, e in enumerate(scene.entities) if e.kind == "resource"]
        self.node_entity = np.array([i for i, _ in nodes], np.int32)
        self.node_item = np.array([ITEM_INDEX[e.properties["resource"]] for _, e in nodes], np.int16)
        self.node_stock = np.array([float(e.properties.get("stock", 0.0)) for _, e in nodes], np.float64)
        self.node_max = np.array(
            [float(e.properties.get("max_stock", e.properties.get("stock", 0.0))) for _, e in nodes], np.float64
        )
        self.node_regen = np.array([float(e.properties.get("regen", 0.0)) for _, e in nodes], np.float64)
        self.node_of_entity = np.full(len(scene.entities), -1, np.int32)
        self.node_of_entity[self.node_entity] = np.arange(len(nodes), dtype=np.int32)
        # Zone pools.
        self.pool = np.zeros((len(scene.zones), ni), np.float64)
        for z, zone in enumerate(scene.zones):
            for item, amount in zone.resources.items():
                self.pool[z, ITEM_INDEX[item]] = amount
        self.pool_max = self.pool.copy()
        self.log_price = np.log(np.array([BASE_PRICE[i] for i in ITEMS], np.float64))
        self.trade_volume = np.zeros(ni, np.float64)  # this tick
        self.ledger = {k: np.zeros(ni, np.float64) for k in ("regenerated", "produced", "consumed")}

    # ------------------------------------------------------------ queries

    def totals(self) -> np.ndarray:
        """Every item in the world: inventories, node stocks and zone pools."""
        out = self.inventory.sum(axis=0, dtype=np.float64) + self.pool.sum(axis=0)
        np.add.at(out, self.node_item.astype(np.int64), self.node_stock)
        return out

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
