"""Items and recipes: the economy's vocabulary, as data.

Items are columns of every inventory array; recipes turn inputs into outputs
(crafting) or into a new entity (building). Eating is a recipe with no output.
These are the only ways items appear or vanish besides gathering (which moves
them out of a resource node or a zone's pool) and regeneration of those stocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenworld.scene.schema import ITEMS

ITEM_INDEX = {name: i for i, name in enumerate(ITEMS)}
BASE_PRICE = {"food": 1.0, "water": 0.5, "wood": 1.0, "stone": 1.5, "tools": 5.0}


@dataclass(frozen=True)
class Recipe:
    """Inputs consumed and outputs produced (items), or a structure built."""

    name: str
    inputs: dict[str, float]
    outputs: dict[str, float] = field(default_factory=dict)
    builds: str | None = None  # entity kind made by a build recipe
    radius: float = 0.0  # footprint of what it builds, m
    doc: str = ""


CRAFT_RECIPES = (
    Recipe("tools", {"wood": 2.0, "stone": 1.0}, {"tools": 1.0}, doc="a set of tools; doubles what its owner gathers"),
)
BUILD_RECIPES = (
    Recipe("hut", {"wood": 6.0, "stone": 2.0}, builds="building", radius=2.0, doc="a small dwelling"),
    Recipe("storehouse", {"wood": 10.0}, builds="building", radius=3.0, doc="a wooden store"),
    Recipe("well", {"stone": 4.0}, builds="obstacle", radius=1.0, doc="a stone well"),
)
EAT = Recipe("eat", {"food": 1.0}, doc="eating one food lowers hunger")
RECIPES = {r.name: r for r in (*CRAFT_RECIPES, *BUILD_RECIPES)}
CRAFT_INDEX = {r.name: i for i, r in enumerate(CRAFT_RECIPES)}
BUILD_INDEX = {r.name: i for i, r in enumerate(BUILD_RECIPES)}
